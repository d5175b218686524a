#![no_main]
// Placeholder: the packet_decode target is written with its module.
libfuzzer_sys::fuzz_target!(|_data: &[u8]| {});
