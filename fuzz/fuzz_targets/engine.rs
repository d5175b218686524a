#![no_main]
// Placeholder: the engine target is written with its module.
libfuzzer_sys::fuzz_target!(|_data: &[u8]| {});
