//! Decoding a captured frame down to its transport payload: link layer (Ethernet with VLAN tags,
//! Linux SLL and SLL2, raw IP, BSD null), IPv4 and IPv6, TCP and UDP. Zero-copy: every slice
//! borrows the frame.

mod decode;
mod error;

pub use decode::{addresses, decode};
pub use error::DecodeError;

use crate::time::Timestamp;
use std::net::IpAddr;

/// TCP header fields the reassembler needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpHeader {
    pub seq: u32,
    pub ack: u32,
    pub syn: bool,
    pub ack_flag: bool,
    pub fin: bool,
    pub rst: bool,
    pub window: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportHeader {
    Tcp(TcpHeader),
    Udp,
}

/// A decoded TCP or UDP packet.
#[derive(Clone, Copy, Debug)]
pub struct Decoded<'a> {
    pub ts: Timestamp,
    pub src_ip: IpAddr,
    pub dst_ip: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    pub transport: TransportHeader,
    /// The transport payload, cut to the IP length (Ethernet padding removed) and to what was captured.
    pub payload: &'a [u8],
    /// True when the capture cut the payload short (snap length).
    pub truncated: bool,
    /// The IP packet (header and payload) as captured, for duplicate detection across interfaces.
    pub ip_packet: &'a [u8],
}
