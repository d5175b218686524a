#![no_main]
// Placeholder: the dns_udp target is written with its module.
libfuzzer_sys::fuzz_target!(|_data: &[u8]| {});
