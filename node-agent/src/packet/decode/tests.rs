//! Frames are built from etherparse's PacketBuilder (IP and transport) and hand-written link
//! headers, so every expectation below comes from the bytes we put in, not from the decoder.

use super::decode;
use crate::packet::{DecodeError, Decoded, TcpHeader, TransportHeader};
use crate::source::{LinkType, RawPacket};
use crate::time::Timestamp;
use etherparse::PacketBuilder;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const V4_SRC: [u8; 4] = [10, 1, 2, 3];
const V4_DST: [u8; 4] = [192, 168, 7, 9];
const V6_SRC: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const V6_DST: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd];
const PAYLOAD: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
const TS: Timestamp = Timestamp(1_700_000_000_123_456_789);

fn raw(link_type: LinkType, data: &[u8]) -> RawPacket<'_> {
    RawPacket { ts: TS, link_type, capture_point: 7, data, orig_len: data.len() as u32 }
}

fn decode_ok(link_type: LinkType, data: &[u8]) -> Decoded<'_> {
    match decode(&raw(link_type, data)) {
        Ok(Some(d)) => d,
        other => panic!("expected a decoded packet, got {other:?}"),
    }
}

// ---- IP packets (PacketBuilder, starting at the IP header) ----

/// IPv4 + TCP (SYN+ACK, no options): header lengths 20 + 20.
fn ipv4_tcp(payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ipv4(V4_SRC, V4_DST, 64).tcp(40000, 80, 0x01020304, 512).syn().ack(0x0a0b0c0d);
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

fn ipv4_udp(payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ipv4(V4_SRC, V4_DST, 64).udp(5353, 53);
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

/// IPv6 + TCP with 12 bytes of options: header lengths 40 + 32.
fn ipv6_tcp_opts(payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ipv6(V6_SRC, V6_DST, 64)
        .tcp(443, 51000, 7, 1000)
        .fin()
        .rst()
        .options_raw(&[1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2])
        .unwrap();
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

fn ipv6_udp(payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ipv6(V6_SRC, V6_DST, 64).udp(1234, 4321);
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

// ---- link headers, by hand ----

fn ethernet(ether_type: u16) -> Vec<u8> {
    let mut h = vec![0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 1, 2, 3, 4, 5, 6];
    h.extend_from_slice(&ether_type.to_be_bytes());
    h
}

/// Ethernet with VLAN tags: `tpids` are the tag protocol ids, outermost first.
fn ethernet_vlan(tpids: &[u16], ether_type: u16) -> Vec<u8> {
    let Some((first, rest)) = tpids.split_first() else {
        return ethernet(ether_type);
    };
    let mut h = ethernet(*first);
    let mut next = rest.iter().copied().chain(std::iter::once(ether_type));
    for (i, _) in tpids.iter().enumerate() {
        h.extend_from_slice(&(100 + i as u16).to_be_bytes()); // PCP 0, DEI 0, VID 100+i
        h.extend_from_slice(&next.next().unwrap().to_be_bytes());
    }
    h
}

fn sll(protocol: u16) -> Vec<u8> {
    let mut h = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0];
    h.extend_from_slice(&protocol.to_be_bytes());
    h
}

fn sll2(protocol: u16) -> Vec<u8> {
    let mut h = protocol.to_be_bytes().to_vec();
    h.extend_from_slice(&[0, 0, 0, 0, 0, 3, 0, 1, 4, 6, 1, 2, 3, 4, 5, 6, 0, 0]);
    h
}

fn cat(a: &[u8], b: &[u8]) -> Vec<u8> {
    [a, b].concat()
}

fn ether_type_of(ip: &[u8]) -> u16 {
    if ip[0] >> 4 == 4 {
        0x0800
    } else {
        0x86DD
    }
}

/// Link-level headers in order: (layer name, length).
type LinkLayers = Vec<(&'static str, usize)>;

/// One frame with its known layer boundaries.
struct Case {
    name: String,
    link_type: LinkType,
    link_layers: LinkLayers,
    frame: Vec<u8>,
    ip_layer: &'static str,
    ip_header_len: usize,
    transport_layer: &'static str,
    transport_header_len: usize,
    payload: Vec<u8>,
}

impl Case {
    fn link_len(&self) -> usize {
        self.link_layers.iter().map(|(_, l)| l).sum()
    }
    fn transport_offset(&self) -> usize {
        self.link_len() + self.ip_header_len
    }
}

/// Every link type (and VLAN variant) x {IPv4 TCP, IPv4 UDP, IPv6 TCP with options, IPv6 UDP}.
fn all_cases() -> Vec<Case> {
    let payload = PAYLOAD.to_vec();
    let ips: Vec<(Vec<u8>, &str, usize, &str, usize)> = vec![
        (ipv4_tcp(&payload), "ipv4", 20, "tcp", 20),
        (ipv4_udp(&payload), "ipv4", 20, "udp", 8),
        (ipv6_tcp_opts(&payload), "ipv6", 40, "tcp", 32),
        (ipv6_udp(&payload), "ipv6", 40, "udp", 8),
    ];
    let mut cases = Vec::new();
    for (ip, ip_layer, ip_header_len, transport_layer, transport_header_len) in ips {
        let et = ether_type_of(&ip);
        let is_v6 = et == 0x86DD;
        let links: Vec<(&str, LinkType, Vec<u8>, LinkLayers)> = vec![
            ("ethernet", LinkType::Ethernet, ethernet(et), vec![("ethernet", 14)]),
            ("802.1Q", LinkType::Ethernet, ethernet_vlan(&[0x8100], et), vec![("ethernet", 14), ("vlan", 4)]),
            (
                "QinQ 802.1ad",
                LinkType::Ethernet,
                ethernet_vlan(&[0x88A8, 0x8100], et),
                vec![("ethernet", 14), ("vlan", 4), ("vlan", 4)],
            ),
            (
                "QinQ 0x9100",
                LinkType::Ethernet,
                ethernet_vlan(&[0x9100, 0x8100], et),
                vec![("ethernet", 14), ("vlan", 4), ("vlan", 4)],
            ),
            ("sll", LinkType::LinuxSll, sll(et), vec![("linux sll", 16)]),
            ("sll2", LinkType::LinuxSll2, sll2(et), vec![("linux sll2", 20)]),
            ("raw", LinkType::RawIp, vec![], vec![]),
            (
                "null le",
                LinkType::Null,
                if is_v6 { 30u32.to_le_bytes() } else { 2u32.to_le_bytes() }.to_vec(),
                vec![("null", 4)],
            ),
            (
                "null be",
                LinkType::Null,
                if is_v6 { 10u32.to_be_bytes() } else { 2u32.to_be_bytes() }.to_vec(),
                vec![("null", 4)],
            ),
        ];
        for (link_name, link_type, header, link_layers) in links {
            cases.push(Case {
                name: format!("{link_name} {ip_layer} {transport_layer}"),
                link_type,
                link_layers,
                frame: cat(&header, &ip),
                ip_layer,
                ip_header_len,
                transport_layer,
                transport_header_len,
                payload: payload.clone(),
            });
        }
    }
    cases
}

#[test]
fn every_link_type_decodes_to_the_input() {
    for c in all_cases() {
        let d = decode_ok(c.link_type, &c.frame);
        let ip = &c.frame[c.link_len()..];
        assert_eq!(d.ts, TS, "{}", c.name);
        assert_eq!(d.payload, &c.payload[..], "{}", c.name);
        assert!(!d.truncated, "{}", c.name);
        assert_eq!(d.ip_packet, ip, "{}", c.name);
        match c.ip_layer {
            "ipv4" => {
                assert_eq!(d.src_ip, IpAddr::V4(Ipv4Addr::from(V4_SRC)), "{}", c.name);
                assert_eq!(d.dst_ip, IpAddr::V4(Ipv4Addr::from(V4_DST)), "{}", c.name);
            }
            _ => {
                assert_eq!(d.src_ip, IpAddr::V6(Ipv6Addr::from(V6_SRC)), "{}", c.name);
                assert_eq!(d.dst_ip, IpAddr::V6(Ipv6Addr::from(V6_DST)), "{}", c.name);
            }
        }
        let expected = match (c.ip_layer, c.transport_layer) {
            ("ipv4", "tcp") => (
                40000,
                80,
                TransportHeader::Tcp(TcpHeader {
                    seq: 0x01020304,
                    ack: 0x0a0b0c0d,
                    syn: true,
                    ack_flag: true,
                    fin: false,
                    rst: false,
                    window: 512,
                }),
            ),
            ("ipv4", "udp") => (5353, 53, TransportHeader::Udp),
            ("ipv6", "tcp") => (
                443,
                51000,
                TransportHeader::Tcp(TcpHeader {
                    seq: 7,
                    ack: 0,
                    syn: false,
                    ack_flag: false,
                    fin: true,
                    rst: true,
                    window: 1000,
                }),
            ),
            _ => (1234, 4321, TransportHeader::Udp),
        };
        assert_eq!((d.src_port, d.dst_port, d.transport), expected, "{}", c.name);
    }
}

/// Cutting a frame at every length never panics; inside a header it names that header, its
/// offset, the bytes it needs and the bytes left; past the headers it returns the captured part
/// of the payload flagged as truncated.
#[test]
fn every_truncation_length_gives_the_right_answer() {
    for c in all_cases() {
        for cut in 0..=c.frame.len() {
            let data = &c.frame[..cut];
            let p =
                RawPacket { ts: TS, link_type: c.link_type, capture_point: 0, data, orig_len: c.frame.len() as u32 };
            let got = decode(&p);
            let trunc = |layer, offset: usize, needed| DecodeError::TruncatedHeader {
                layer,
                offset,
                needed,
                available: cut - offset,
            };
            // Where does `cut` fall?
            let mut offset = 0;
            let mut expected_err = None;
            for &(layer, len) in &c.link_layers {
                if expected_err.is_none() && cut < offset + len {
                    expected_err = Some(trunc(layer, offset, len));
                }
                offset += len;
            }
            let ip_off = c.link_len();
            let t_off = c.transport_offset();
            if expected_err.is_none() {
                if cut == ip_off {
                    expected_err = Some(trunc("ip", ip_off, 1));
                } else if cut < t_off {
                    expected_err = Some(trunc(c.ip_layer, ip_off, c.ip_header_len));
                } else if cut < t_off + c.transport_header_len {
                    // TCP: the fixed 20 bytes first, then the data offset tells the full length.
                    let needed = if cut - t_off < 20 { c.transport_header_len.min(20) } else { c.transport_header_len };
                    expected_err = Some(trunc(c.transport_layer, t_off, needed));
                }
            }
            match (expected_err, got) {
                (Some(e), Err(g)) => assert_eq!(g, e, "{} cut at {cut}", c.name),
                (None, Ok(Some(d))) => {
                    let kept = cut - t_off - c.transport_header_len;
                    assert_eq!(d.payload, &c.payload[..kept], "{} cut at {cut}", c.name);
                    assert_eq!(d.truncated, cut < c.frame.len(), "{} cut at {cut}", c.name);
                    assert_eq!(d.ip_packet, &c.frame[ip_off..cut], "{} cut at {cut}", c.name);
                }
                (e, g) => panic!("{} cut at {cut}: expected {e:?}, got {g:?}", c.name),
            }
        }
    }
}

#[test]
fn ethernet_padding_is_removed() {
    // A 3-byte UDP payload makes a 45-byte frame; Ethernet pads it to 60.
    let ip = ipv4_udp(b"abc");
    let mut frame = cat(&ethernet(0x0800), &ip);
    frame.resize(60, 0);
    let d = decode_ok(LinkType::Ethernet, &frame);
    assert_eq!(d.payload, b"abc");
    assert_eq!(d.ip_packet, &ip[..]);
    assert!(!d.truncated);

    // Same for TCP over IPv6 (padding after the IP length, e.g. a trailer or FCS).
    let ip = ipv6_tcp_opts(b"x");
    let mut frame = cat(&ethernet(0x86DD), &ip);
    frame.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    let d = decode_ok(LinkType::Ethernet, &frame);
    assert_eq!(d.payload, b"x");
    assert_eq!(d.ip_packet, &ip[..]);
}

#[test]
fn snap_length_cut_is_flagged_and_payload_is_what_was_captured() {
    let ip = ipv4_tcp(PAYLOAD);
    let frame = cat(&ethernet(0x0800), &ip);
    let cut = 14 + 20 + 20 + 5;
    let p = RawPacket {
        ts: TS,
        link_type: LinkType::Ethernet,
        capture_point: 0,
        data: &frame[..cut],
        orig_len: frame.len() as u32,
    };
    let d = decode(&p).unwrap().unwrap();
    assert_eq!(d.payload, &PAYLOAD[..5]);
    assert!(d.truncated);
}

#[test]
fn zero_ip_length_falls_back_to_captured_length() {
    // Segmentation offload: the kernel hands out IPv4 packets with total length 0.
    let mut ip = ipv4_tcp(PAYLOAD);
    ip[2] = 0;
    ip[3] = 0;
    let frame = cat(&ethernet(0x0800), &ip);
    let d = decode_ok(LinkType::Ethernet, &frame);
    assert_eq!(d.payload, PAYLOAD);
    assert!(!d.truncated);
    // ... and if the capture was cut, that is truncation.
    let p = RawPacket { ts: TS, link_type: LinkType::Ethernet, capture_point: 0, data: &frame[..60], orig_len: 9000 };
    let d = decode(&p).unwrap().unwrap();
    assert_eq!(d.payload, &PAYLOAD[..6]);
    assert!(d.truncated);
}

#[test]
fn fragments_are_not_decoded() {
    // IPv4 "more fragments" flag.
    let mut ip = ipv4_udp(PAYLOAD);
    ip[6] |= 0x20;
    assert!(decode(&raw(LinkType::RawIp, &ip)).unwrap().is_none());
    // IPv4 non-zero fragment offset.
    let mut ip = ipv4_udp(PAYLOAD);
    ip[7] = 3;
    assert!(decode(&raw(LinkType::RawIp, &ip)).unwrap().is_none());

    // IPv6 fragment header (next header 44), offset 0 with M set, then offset 8 without M.
    for (frag_off_m, fragmented) in [(0x0001u16, true), (0x0040, true), (0x0000, false)] {
        let ip = ipv6_udp(PAYLOAD);
        let mut frame = ip[..40].to_vec();
        frame[6] = 44;
        let plen = u16::from_be_bytes([ip[4], ip[5]]) + 8;
        frame[4..6].copy_from_slice(&plen.to_be_bytes());
        frame.extend_from_slice(&[17, 0]);
        frame.extend_from_slice(&frag_off_m.to_be_bytes());
        frame.extend_from_slice(&[0xca, 0xfe, 0xba, 0xbe]);
        frame.extend_from_slice(&ip[40..]);
        let got = decode(&raw(LinkType::RawIp, &frame)).unwrap();
        if fragmented {
            assert!(got.is_none(), "fragment {frag_off_m:#06x}");
        } else {
            // An atomic fragment (offset 0, no M) is a whole packet.
            assert_eq!(got.expect("atomic fragment").payload, PAYLOAD);
        }
    }
}

/// Hop-by-hop + destination options before TCP; and errors inside them.
#[test]
fn ipv6_extension_headers() {
    let ip = ipv6_tcp_opts(PAYLOAD);
    let mut pkt = ip[..40].to_vec();
    pkt[6] = 0; // hop-by-hop
    let plen = u16::from_be_bytes([ip[4], ip[5]]) + 16;
    pkt[4..6].copy_from_slice(&plen.to_be_bytes());
    pkt.extend_from_slice(&[60, 0, 1, 4, 0, 0, 0, 0]); // -> destination options, PadN
    pkt.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]); // -> TCP, PadN
    pkt.extend_from_slice(&ip[40..]);
    let frame = cat(&sll2(0x86DD), &pkt);
    let d = decode_ok(LinkType::LinuxSll2, &frame);
    assert_eq!((d.src_port, d.dst_port, d.payload), (443, 51000, PAYLOAD));
    assert_eq!(d.ip_packet, &pkt[..]);

    // Cut inside the hop-by-hop header.
    let p =
        RawPacket { ts: TS, link_type: LinkType::LinuxSll2, capture_point: 0, data: &frame[..20 + 44], orig_len: 999 };
    assert_eq!(
        decode(&p).err(),
        Some(DecodeError::TruncatedHeader { layer: "ipv6 hop-by-hop", offset: 60, needed: 8, available: 4 })
    );
    // Cut inside the destination options header.
    let p =
        RawPacket { ts: TS, link_type: LinkType::LinuxSll2, capture_point: 0, data: &frame[..20 + 50], orig_len: 999 };
    assert_eq!(
        decode(&p).err(),
        Some(DecodeError::TruncatedHeader { layer: "ipv6 destination options", offset: 68, needed: 8, available: 2 })
    );

    // A hop-by-hop header after another extension header is malformed.
    let mut bad = pkt.clone();
    bad[6] = 60; // destination options first ...
    bad[40] = 0; // ... then hop-by-hop
    let err = decode(&raw(LinkType::RawIp, &bad)).unwrap_err();
    assert!(matches!(err, DecodeError::Malformed { layer: "ipv6 hop-by-hop", offset: 0, .. }), "{err:?}");
}

#[test]
fn non_tcp_udp_frames_are_none() {
    // ARP.
    let mut frame = ethernet(0x0806);
    frame.extend_from_slice(&[0; 28]);
    assert!(decode(&raw(LinkType::Ethernet, &frame)).unwrap().is_none());
    // LLC (802.3 length instead of EtherType).
    let mut frame = ethernet(46);
    frame.extend_from_slice(&[0x42; 46]);
    assert!(decode(&raw(LinkType::Ethernet, &frame)).unwrap().is_none());
    // ICMP echo over IPv4 and IPv6.
    let mut v = Vec::new();
    PacketBuilder::ipv4(V4_SRC, V4_DST, 9).icmpv4_echo_request(1, 2).write(&mut v, b"ping").unwrap();
    assert!(decode(&raw(LinkType::RawIp, &v)).unwrap().is_none());
    let mut v = Vec::new();
    PacketBuilder::ipv6(V6_SRC, V6_DST, 9).icmpv6_echo_request(1, 2).write(&mut v, b"ping").unwrap();
    assert!(decode(&raw(LinkType::RawIp, &v)).unwrap().is_none());
    // Netlink over SLL / SLL2 (ARPHRD 824): the protocol field is not an EtherType.
    let mut frame = sll(0x0800);
    frame[2..4].copy_from_slice(&824u16.to_be_bytes());
    frame.extend_from_slice(&ipv4_udp(b"x"));
    assert!(decode(&raw(LinkType::LinuxSll, &frame)).unwrap().is_none());
    let mut frame = sll2(0x0800);
    frame[8..10].copy_from_slice(&824u16.to_be_bytes());
    frame.extend_from_slice(&ipv4_udp(b"x"));
    assert!(decode(&raw(LinkType::LinuxSll2, &frame)).unwrap().is_none());
    // BSD null with a family that is not IP (AF_APPLETALK = 16), both byte orders.
    for af in [16u32.to_le_bytes(), 16u32.to_be_bytes()] {
        let frame = cat(&af, &ipv4_udp(b"x"));
        assert!(decode(&raw(LinkType::Null, &frame)).unwrap().is_none());
    }
}

#[test]
fn null_accepts_every_ipv6_family_in_both_byte_orders() {
    let ip = ipv6_udp(b"hello");
    for af in [10u32, 24, 28, 30] {
        for header in [af.to_le_bytes(), af.to_be_bytes()] {
            let frame = cat(&header, &ip);
            assert_eq!(decode_ok(LinkType::Null, &frame).payload, b"hello", "AF {af} {header:?}");
        }
    }
}

#[test]
fn malformed_headers_are_named() {
    // IHL 4.
    let mut ip = ipv4_tcp(PAYLOAD);
    ip[0] = 0x44;
    let frame = cat(&ethernet(0x0800), &ip);
    assert_eq!(
        decode(&raw(LinkType::Ethernet, &frame)).err(),
        Some(DecodeError::Ipv4HeaderLength { offset: 14, ihl: 4 })
    );
    // TCP data offset 3.
    let mut ip = ipv4_tcp(PAYLOAD);
    ip[20 + 12] = 0x30;
    let frame = cat(&sll(0x0800), &ip);
    assert_eq!(
        decode(&raw(LinkType::LinuxSll, &frame)).err(),
        Some(DecodeError::TcpDataOffset { offset: 36, data_offset: 3 })
    );
    // EtherType IPv6, IPv4 inside.
    let frame = cat(&ethernet_vlan(&[0x8100], 0x86DD), &ipv4_tcp(PAYLOAD));
    assert_eq!(
        decode(&raw(LinkType::Ethernet, &frame)).err(),
        Some(DecodeError::IpVersionMismatch { link: "vlan", offset: 18, expected: 6, found: 4 })
    );
    // Raw IP with version 5.
    let mut ip = ipv4_tcp(PAYLOAD);
    ip[0] = 0x55;
    assert_eq!(decode(&raw(LinkType::RawIp, &ip)).err(), Some(DecodeError::UnknownIpVersion { offset: 0, version: 5 }));
    // Nine VLAN tags.
    let frame = cat(&ethernet_vlan(&[0x8100; 9], 0x0800), &ipv4_tcp(PAYLOAD));
    assert_eq!(
        decode(&raw(LinkType::Ethernet, &frame)).err(),
        Some(DecodeError::Malformed { layer: "vlan", offset: 14 + 8 * 4, what: "more than 8 stacked VLAN tags" })
    );
    // TCP header longer than the IP packet says (IP total length covers only 10 TCP bytes).
    let mut ip = ipv4_tcp(PAYLOAD);
    ip[2..4].copy_from_slice(&30u16.to_be_bytes());
    assert_eq!(
        decode(&raw(LinkType::RawIp, &ip)).err(),
        Some(DecodeError::TruncatedHeader { layer: "tcp", offset: 20, needed: 20, available: 10 })
    );
}

#[test]
fn udp_length_delimits_the_payload() {
    // UDP length says 8 + 3 although the IP packet carries 8 + 5: the UDP length wins.
    let mut ip = ipv4_udp(b"abcde");
    ip[24..26].copy_from_slice(&11u16.to_be_bytes());
    assert_eq!(decode_ok(LinkType::RawIp, &ip).payload, b"abc");
}

/// Random frames for every link type, half of them with a plausible IP start so that the deeper
/// layers are reached: no panic, and every returned slice lies inside the frame.
#[test]
fn random_frames_never_panic() {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let links = [LinkType::Ethernet, LinkType::LinuxSll, LinkType::LinuxSll2, LinkType::RawIp, LinkType::Null];
    let mut decoded = 0;
    for i in 0..40_000 {
        let len = (next() % 120) as usize;
        let mut frame: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let link_type = links[i % links.len()];
        let (net, proto_at) = match link_type {
            LinkType::Ethernet => (14, Some(12)),
            LinkType::LinuxSll => (16, Some(14)),
            LinkType::LinuxSll2 => (20, Some(0)),
            LinkType::RawIp => (0, None),
            LinkType::Null => (4, None),
        };
        if i % 2 == 0 && frame.len() > net + 10 {
            let v6 = next() % 2 == 0;
            if let Some(at) = proto_at {
                frame[at..at + 2].copy_from_slice(if v6 { &[0x86, 0xDD] } else { &[0x08, 0x00] });
            }
            if link_type == LinkType::Null {
                frame[..4].copy_from_slice(&if v6 { 10u32 } else { 2 }.to_le_bytes());
            }
            if link_type == LinkType::LinuxSll2 {
                frame[8] = 0;
            }
            frame[net] = if v6 { 0x60 } else { 0x45 };
            let proto = if next() % 2 == 0 { 6 } else { 17 };
            if v6 {
                frame[net + 6] = proto;
            } else if frame.len() > net + 9 {
                frame[net + 9] = proto;
                frame[net + 6] = 0;
                frame[net + 7] = 0;
            }
        }
        let p = RawPacket { ts: TS, link_type, capture_point: 0, data: &frame, orig_len: next() as u32 };
        if let Ok(Some(d)) = decode(&p) {
            decoded += 1;
            let range = frame.as_ptr_range();
            for s in [d.payload, d.ip_packet] {
                assert!(range.start <= s.as_ptr() && s.as_ptr_range().end <= range.end);
            }
        }
    }
    assert!(decoded > 100, "the generator should reach the transport layer now and then ({decoded})");
}

/// `addresses` reads the same addresses `decode` finds for every link type, also from frames cut
/// just after the IP addresses (where `decode` gives up), and nothing from frames cut inside them
/// or from non-IP frames.
#[test]
fn addresses_agree_with_decode_and_need_only_the_ip_header() {
    use super::addresses;
    for c in all_cases() {
        let d = decode_ok(c.link_type, &c.frame);
        assert_eq!(addresses(&raw(c.link_type, &c.frame)), Some((d.src_ip, d.dst_ip)), "{}", c.name);
        let addresses_end = c.link_len() + if c.ip_layer == "ipv4" { 20 } else { 40 };
        let cut = &c.frame[..addresses_end];
        assert_eq!(addresses(&raw(c.link_type, cut)), Some((d.src_ip, d.dst_ip)), "{} cut after", c.name);
        let short = &c.frame[..addresses_end - 1];
        assert_eq!(addresses(&raw(c.link_type, short)), None, "{} cut inside", c.name);
    }
    let arp = cat(&ethernet(0x0806), &[0u8; 28]);
    assert_eq!(addresses(&raw(LinkType::Ethernet, &arp)), None);
    // An IPv6 header behind an EtherType that announces IPv4 is not read as IPv4.
    let mismatched = cat(&ethernet(0x0800), &ipv6_udp(PAYLOAD));
    assert_eq!(addresses(&raw(LinkType::Ethernet, &mismatched)), None);
}
