//! Link layers: finds where the IP header starts in a frame and which IP version the link header
//! announces. Hand-written because the headers are tiny and the errors must name exact offsets.

use crate::packet::DecodeError;
use crate::source::LinkType;

/// What the link header says about the network layer that follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum IpVersion {
    V4,
    V6,
    /// Raw IP: only the version nibble tells.
    Either,
}

/// The start of the IP header in the frame and the version the link header announced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct NetStart {
    pub offset: usize,
    pub version: IpVersion,
    /// Name of the link layer that announced the version (for error messages).
    pub link: &'static str,
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86DD;
/// 802.1Q customer tag, 802.1ad service tag, and the pre-standard QinQ tag.
const ETHERTYPE_VLAN: [u16; 3] = [0x8100, 0x88A8, 0x9100];
/// Tags beyond this many are treated as malformed (real networks use at most two).
const MAX_VLAN_TAGS: usize = 8;

const ETHERNET_LEN: usize = 14;
const VLAN_TAG_LEN: usize = 4;
const SLL_LEN: usize = 16;
const SLL2_LEN: usize = 20;
const NULL_LEN: usize = 4;
/// ARPHRD_NETLINK: the SLL protocol field then holds a netlink family, not an EtherType.
const ARPHRD_NETLINK: u16 = 824;

/// BSD address families for IPv6 (Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, Darwin 30).
const AF_INET: u32 = 2;
const AF_INET6: [u32; 4] = [10, 24, 28, 30];

/// Finds the IP header. `Ok(None)` when the frame carries something other than IP.
pub(super) fn net_start(link_type: LinkType, frame: &[u8]) -> Result<Option<NetStart>, DecodeError> {
    match link_type {
        LinkType::Ethernet => {
            need(frame, 0, ETHERNET_LEN, "ethernet")?;
            ether_type_dispatch(frame, ETHERNET_LEN, be16(frame, 12), "ethernet")
        }
        LinkType::LinuxSll => {
            need(frame, 0, SLL_LEN, "linux sll")?;
            if be16(frame, 2) == ARPHRD_NETLINK {
                return Ok(None);
            }
            ether_type_dispatch(frame, SLL_LEN, be16(frame, 14), "linux sll")
        }
        LinkType::LinuxSll2 => {
            need(frame, 0, SLL2_LEN, "linux sll2")?;
            if be16(frame, 8) == ARPHRD_NETLINK {
                return Ok(None);
            }
            ether_type_dispatch(frame, SLL2_LEN, be16(frame, 0), "linux sll2")
        }
        LinkType::RawIp => Ok(Some(NetStart { offset: 0, version: IpVersion::Either, link: "raw ip" })),
        LinkType::Null => {
            let Some(&[a, b, c, d]) = frame.get(..NULL_LEN) else {
                return Err(DecodeError::TruncatedHeader {
                    layer: "null",
                    offset: 0,
                    needed: NULL_LEN,
                    available: frame.len(),
                });
            };
            // The family is in the capturing host's byte order; families are small numbers, so a
            // value with bits in the upper half was written in the other order.
            let raw = u32::from_le_bytes([a, b, c, d]);
            let family = if raw & 0xFFFF_0000 != 0 { raw.swap_bytes() } else { raw };
            let version = if family == AF_INET {
                IpVersion::V4
            } else if AF_INET6.contains(&family) {
                IpVersion::V6
            } else {
                return Ok(None);
            };
            Ok(Some(NetStart { offset: NULL_LEN, version, link: "null" }))
        }
    }
}

/// Follows VLAN tags from `offset` (where `ether_type`'s payload starts) to an IP EtherType.
fn ether_type_dispatch(
    frame: &[u8],
    mut offset: usize,
    mut ether_type: u16,
    mut link: &'static str,
) -> Result<Option<NetStart>, DecodeError> {
    let mut tags = 0;
    while ETHERTYPE_VLAN.contains(&ether_type) {
        if tags == MAX_VLAN_TAGS {
            return Err(DecodeError::Malformed { layer: "vlan", offset, what: "more than 8 stacked VLAN tags" });
        }
        need(frame, offset, VLAN_TAG_LEN, "vlan")?;
        ether_type = be16(frame, offset + 2);
        offset += VLAN_TAG_LEN;
        tags += 1;
        link = "vlan";
    }
    let version = match ether_type {
        ETHERTYPE_IPV4 => IpVersion::V4,
        ETHERTYPE_IPV6 => IpVersion::V6,
        _ => return Ok(None),
    };
    Ok(Some(NetStart { offset, version, link }))
}

/// Checks that `len` bytes starting at `offset` are in the frame.
fn need(frame: &[u8], offset: usize, len: usize, layer: &'static str) -> Result<(), DecodeError> {
    let available = frame.len().saturating_sub(offset);
    if available < len {
        Err(DecodeError::TruncatedHeader { layer, offset, needed: len, available })
    } else {
        Ok(())
    }
}

/// Big-endian u16 at `at`; callers have checked the length with [`need`].
fn be16(frame: &[u8], at: usize) -> u16 {
    match frame.get(at..at + 2) {
        Some(&[a, b]) => u16::from_be_bytes([a, b]),
        _ => 0,
    }
}
