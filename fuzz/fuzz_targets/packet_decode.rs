#![no_main]
//! Decodes the input as a frame of every link type. The first byte says whether a snap length
//! cut the frame (orig_len larger than what was captured); the rest is the frame.

use node_agent::packet::decode;
use node_agent::source::{LinkType, RawPacket};
use node_agent::Timestamp;

const LINK_TYPES: [LinkType; 5] =
    [LinkType::Ethernet, LinkType::LinuxSll, LinkType::LinuxSll2, LinkType::RawIp, LinkType::Null];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&flags, frame)) = data.split_first() else {
        return;
    };
    let orig_len = frame.len() as u32 + if flags & 1 != 0 { 1000 } else { 0 };
    for link_type in LINK_TYPES {
        let p = RawPacket { ts: Timestamp(1), link_type, capture_point: 0, data: frame, orig_len };
        if let Ok(Some(d)) = decode(&p) {
            // Every slice handed out lies inside the frame, the payload inside the IP packet.
            let inside = |outer: &[u8], inner: &[u8]| {
                let (o, i) = (outer.as_ptr_range(), inner.as_ptr_range());
                o.start <= i.start && i.end <= o.end
            };
            assert!(inside(frame, d.ip_packet));
            assert!(inside(d.ip_packet, d.payload));
            assert_eq!(d.ts, p.ts);
        }
    }
});
