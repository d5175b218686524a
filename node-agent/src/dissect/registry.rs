//! The list of protocols the engine knows. Adding a protocol: one module under `dissect/` and one line here.

use super::{DatagramDissector, StreamDissector};

/// TCP protocols, probed in this order.
pub fn stream_dissectors() -> Vec<Box<dyn StreamDissector>> {
    vec![Box::new(super::http1::Http1Dissector::default()), Box::new(super::dns::DnsTcpDissector)]
}

/// UDP protocols, probed in this order.
pub fn datagram_dissectors() -> Vec<Box<dyn DatagramDissector>> {
    vec![Box::new(super::dns::DnsUdpDissector::default())]
}
