#![no_main]
// Placeholder: the capture_file target is written with its module.
libfuzzer_sys::fuzz_target!(|_data: &[u8]| {});
