//! Packet sources: capture files (pcap, pcapng) and, on Linux, live AF_PACKET capture.

pub mod file;
#[cfg(target_os = "linux")]
pub mod live;

use crate::time::Timestamp;

/// The link-layer framing of a packet's bytes (pcap LINKTYPE_* values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// LINKTYPE_ETHERNET (1), possibly with 802.1Q / 802.1ad VLAN tags.
    Ethernet,
    /// LINKTYPE_LINUX_SLL (113), "Linux cooked" v1.
    LinuxSll,
    /// LINKTYPE_LINUX_SLL2 (276).
    LinuxSll2,
    /// LINKTYPE_RAW (101, also DLT_RAW 12/14), LINKTYPE_IPV4 (228) and LINKTYPE_IPV6 (229): bare IP.
    RawIp,
    /// LINKTYPE_NULL (0) / LINKTYPE_LOOP (108): BSD loopback with a 4-byte address family.
    Null,
}

impl LinkType {
    /// Maps a pcap/pcapng link-type number; `None` for link types we cannot decode.
    pub fn from_linktype_number(n: u32) -> Option<LinkType> {
        match n {
            1 => Some(LinkType::Ethernet),
            113 => Some(LinkType::LinuxSll),
            276 => Some(LinkType::LinuxSll2),
            101 | 12 | 14 | 228 | 229 => Some(LinkType::RawIp),
            0 | 108 => Some(LinkType::Null),
            _ => None,
        }
    }

    pub fn linktype_number(self) -> u32 {
        match self {
            LinkType::Ethernet => 1,
            LinkType::LinuxSll => 113,
            LinkType::LinuxSll2 => 276,
            LinkType::RawIp => 101,
            LinkType::Null => 0,
        }
    }
}

/// One captured frame as a source hands it out. `data` borrows the source's buffer.
#[derive(Clone, Copy, Debug)]
pub struct RawPacket<'a> {
    pub ts: Timestamp,
    pub link_type: LinkType,
    /// Where the packet was seen: an interface index for live capture, an interface id for pcapng,
    /// or 0 when the file does not say. Used to tell copies of one packet on several interfaces apart
    /// from genuine duplicates.
    pub capture_point: u32,
    /// Bytes captured (may be shorter than `orig_len` when a snap length cut the packet).
    pub data: &'a [u8],
    pub orig_len: u32,
}

/// Counters a source keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SourceStats {
    pub packets: u64,
    pub bytes: u64,
    /// Packets the kernel dropped because the ring was full (live capture only).
    pub kernel_drops: u64,
}
