#![no_main]
//! Reads the input as a capture file to the end, decoding every packet.

use node_agent::packet::decode;
use node_agent::source::file::CaptureFile;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(mut file) = CaptureFile::from_reader(std::io::Cursor::new(data.to_vec()), "fuzz input".to_string()) else {
        return;
    };
    let (mut packets, mut bytes) = (0u64, 0u64);
    while let Some(p) = file.next_packet() {
        let Ok(p) = p else { break };
        assert!(p.data.len() <= data.len());
        packets += 1;
        bytes += p.data.len() as u64;
        let _ = decode(&p);
    }
    // After the end or an error, nothing more.
    assert!(file.next_packet().is_none());
    assert_eq!((file.stats().packets, file.stats().bytes), (packets, bytes));
});
