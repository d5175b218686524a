//! Turning a ring frame into a [`RawPacket`]: choosing the link type, putting back the VLAN tag
//! the kernel moved out of the packet, and dropping loopback's second copy of each packet.

use super::block::Frame;
use crate::source::{LinkType, RawPacket};
use crate::time::Timestamp;

const ARPHRD_ETHER: u16 = 1;
const ARPHRD_LOOPBACK: u16 = 772;
const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;
const ETH_P_8021Q: u16 = 0x8100;
const PACKET_OUTGOING: u8 = 4;

/// What became of a frame.
#[derive(Debug)]
pub(super) enum Outcome<'s> {
    /// The packet, and whether a VLAN tag was re-inserted.
    Packet(RawPacket<'s>, bool),
    /// A device whose link type we cannot decode.
    Unsupported,
    /// A loopback device shows every packet twice, leaving and arriving; the leaving copy is
    /// dropped (as libpcap does).
    LoopbackEcho,
}

/// The link type of a frame, or `None` when we cannot decode it.
///
/// Ethernet and loopback devices carry an Ethernet header. Any other device type whose frames have
/// no link-layer header at all (`tp_net == tp_mac`: tun, WireGuard, IPIP/SIT/GRE tunnels, PPP...)
/// hands us bare IP. Anything else (e.g. radiotap, InfiniBand, GRE devices with a header) is skipped.
pub(super) fn link_type(hatype: u16, link_header_len: u16) -> Option<LinkType> {
    match hatype {
        ARPHRD_ETHER | ARPHRD_LOOPBACK => Some(LinkType::Ethernet),
        _ if link_header_len == 0 => Some(LinkType::RawIp),
        _ => None,
    }
}

/// The packet for `frame`. When the kernel stripped a VLAN tag into the frame header
/// (`TP_STATUS_VLAN_VALID`), the tag is re-inserted after the MAC addresses, using `scratch` as the
/// buffer; `orig_len` grows by the same 4 bytes, so the packet looks as it did on the wire.
pub(super) fn to_packet<'s, 'f: 's>(frame: &Frame<'f>, scratch: &'s mut Vec<u8>) -> Outcome<'s> {
    if frame.hatype == ARPHRD_LOOPBACK && frame.pkttype == PACKET_OUTGOING {
        return Outcome::LoopbackEcho;
    }
    let Some(link_type) = link_type(frame.hatype, frame.link_header_len) else { return Outcome::Unsupported };
    let ts = Timestamp::from_secs_nanos(u64::from(frame.sec), frame.nsec);
    let capture_point = frame.ifindex as u32;
    let orig_len = frame.len.max(frame.data.len() as u32);
    let tagged = frame.status & TP_STATUS_VLAN_VALID != 0 && link_type == LinkType::Ethernet && frame.data.len() >= 12;
    if !tagged {
        return Outcome::Packet(RawPacket { ts, link_type, capture_point, data: frame.data, orig_len }, false);
    }
    let tpid = match frame.vlan_tpid {
        tpid if frame.status & TP_STATUS_VLAN_TPID_VALID != 0 && tpid != 0 => tpid,
        _ => ETH_P_8021Q,
    };
    scratch.clear();
    scratch.extend_from_slice(&frame.data[..12]);
    scratch.extend_from_slice(&tpid.to_be_bytes());
    scratch.extend_from_slice(&frame.vlan_tci.to_be_bytes());
    scratch.extend_from_slice(&frame.data[12..]);
    let packet =
        RawPacket { ts, link_type, capture_point, data: scratch.as_slice(), orig_len: orig_len.saturating_add(4) };
    Outcome::Packet(packet, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(data: &[u8]) -> Frame<'_> {
        Frame {
            sec: 1_700_000_000,
            nsec: 5,
            len: data.len() as u32 + 100,
            status: 1,
            vlan_tci: 0,
            vlan_tpid: 0,
            ifindex: 3,
            hatype: ARPHRD_ETHER,
            pkttype: 0,
            link_header_len: 14,
            data,
        }
    }

    #[test]
    fn link_types_by_device() {
        assert_eq!(link_type(ARPHRD_ETHER, 14), Some(LinkType::Ethernet));
        assert_eq!(link_type(ARPHRD_LOOPBACK, 14), Some(LinkType::Ethernet));
        assert_eq!(link_type(0xFFFE, 0), Some(LinkType::RawIp)); // ARPHRD_NONE: tun, wireguard
        assert_eq!(link_type(768, 0), Some(LinkType::RawIp)); // ARPHRD_TUNNEL (ipip)
        assert_eq!(link_type(778, 0), Some(LinkType::RawIp)); // ARPHRD_IPGRE without header_ops
        assert_eq!(link_type(778, 24), None); // GRE device with a link header
        assert_eq!(link_type(803, 26), None); // radiotap
    }

    #[test]
    fn plain_frame_is_borrowed_as_is() {
        let data = [0xAAu8; 60];
        let mut scratch = Vec::new();
        let Outcome::Packet(p, restored) = to_packet(&frame(&data), &mut scratch) else { panic!() };
        assert!(!restored);
        assert_eq!(p.data, &data[..]);
        assert_eq!(p.orig_len, 160);
        assert_eq!(p.capture_point, 3);
        assert_eq!(p.ts, Timestamp::from_secs_nanos(1_700_000_000, 5));
    }

    #[test]
    fn vlan_tag_is_reinserted() {
        let mut data = vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x08, 0x00];
        data.extend_from_slice(&[0x45; 20]);
        let mut f = frame(&data);
        f.status |= TP_STATUS_VLAN_VALID;
        f.vlan_tci = 0x2064; // prio 1, VLAN 100
        let mut scratch = Vec::new();
        let Outcome::Packet(p, restored) = to_packet(&f, &mut scratch) else { panic!() };
        assert!(restored);
        assert_eq!(&p.data[..12], &data[..12]);
        assert_eq!(&p.data[12..16], &[0x81, 0x00, 0x20, 0x64]);
        assert_eq!(&p.data[16..], &data[12..]);
        assert_eq!(p.orig_len, f.len + 4);

        f.status |= TP_STATUS_VLAN_TPID_VALID;
        f.vlan_tpid = 0x88a8;
        let Outcome::Packet(p, _) = to_packet(&f, &mut scratch) else { panic!() };
        assert_eq!(&p.data[12..14], &[0x88, 0xa8]);
    }

    #[test]
    fn unsupported_device_is_skipped() {
        let data = [0u8; 40];
        let mut f = frame(&data);
        f.hatype = 803;
        f.link_header_len = 26;
        assert!(matches!(to_packet(&f, &mut Vec::new()), Outcome::Unsupported));
    }

    #[test]
    fn loopback_keeps_only_the_arriving_copy() {
        let data = [0u8; 60];
        let mut f = frame(&data);
        f.hatype = ARPHRD_LOOPBACK;
        f.pkttype = PACKET_OUTGOING;
        assert!(matches!(to_packet(&f, &mut Vec::new()), Outcome::LoopbackEcho));
        f.pkttype = 0; // PACKET_HOST
        assert!(matches!(to_packet(&f, &mut Vec::new()), Outcome::Packet(..)));
        // Outgoing on anything else (a veth) is kept.
        f.hatype = ARPHRD_ETHER;
        f.pkttype = PACKET_OUTGOING;
        assert!(matches!(to_packet(&f, &mut Vec::new()), Outcome::Packet(..)));
    }
}
