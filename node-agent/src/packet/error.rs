//! Why a frame could not be decoded. Every variant names the layer and the byte offset in the frame
//! where the problem starts, so a report can point at the exact bytes.

/// A frame that claims to carry IP (by its link header) but whose headers are malformed or cut short.
///
/// Frames that are well-formed but carry nothing we decode (ARP, ICMP, IP fragments, ...) are not
/// errors: [`super::decode`] returns `Ok(None)` for them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The frame ends (or the enclosing IP length ends) inside a header.
    #[error(
        "{layer} header at frame offset {offset} is cut short: it needs {needed} bytes, only {available} are there"
    )]
    TruncatedHeader {
        /// The header that is incomplete, e.g. "ethernet", "ipv4", "tcp".
        layer: &'static str,
        /// Offset of that header's first byte in the frame.
        offset: usize,
        /// Bytes the header needs (as far as could be determined).
        needed: usize,
        /// Bytes available for it (captured, or allowed by the enclosing IP length).
        available: usize,
    },
    /// The IP version nibble is neither 4 nor 6 (raw-IP frames, where it is the only indication).
    #[error("IP header at frame offset {offset} has version {version}, expected 4 or 6")]
    UnknownIpVersion { offset: usize, version: u8 },
    /// The link header announced one IP version and the IP header has another.
    #[error("{link} header announces IPv{expected} but the IP header at frame offset {offset} has version {found}")]
    IpVersionMismatch { link: &'static str, offset: usize, expected: u8, found: u8 },
    /// IPv4 IHL below 5 (the header would be shorter than its fixed part).
    #[error("ipv4 header at frame offset {offset}: header length field (IHL) is {ihl}, the minimum is 5")]
    Ipv4HeaderLength { offset: usize, ihl: u8 },
    /// TCP data offset below 5 (the payload would start inside the header).
    #[error("tcp header at frame offset {offset}: data offset is {data_offset}, the minimum is 5")]
    TcpDataOffset { offset: usize, data_offset: u8 },
    /// Any other structural problem, described in words.
    #[error("{layer} header at frame offset {offset}: {what}")]
    Malformed { layer: &'static str, offset: usize, what: &'static str },
}

impl DecodeError {
    /// The layer the error is about ("ethernet", "vlan", "linux sll", "ipv4", "tcp", ...).
    pub fn layer(&self) -> &'static str {
        match self {
            DecodeError::TruncatedHeader { layer, .. } | DecodeError::Malformed { layer, .. } => layer,
            DecodeError::UnknownIpVersion { .. } | DecodeError::IpVersionMismatch { .. } => "ip",
            DecodeError::Ipv4HeaderLength { .. } => "ipv4",
            DecodeError::TcpDataOffset { .. } => "tcp",
        }
    }
}
