//! The kernel-side capture filter: what to drop before it reaches the ring, compiled to classic BPF.
//!
//! The program first asks the kernel for the device type (`SKF_AD_HATYPE`), because one socket
//! bound to all interfaces sees both Ethernet devices and devices without a link header:
//! - Ethernet / loopback: EtherType at 12, or behind one 802.1Q / 802.1ad tag at 16. Tags the NIC
//!   or the kernel already stripped (the usual case on receive) are not in the packet, so the
//!   program sees the untagged frame. A second (QinQ) tag is not looked through.
//! - any other device: bare IP, version from the first nibble.
//!
//! Then, for IPv4 and IPv6:
//! - `ip_tcp_udp_only`: everything that is not TCP or UDP over IP is dropped (ARP, ICMP, ICMPv6
//!   including MLD behind a hop-by-hop header, ...).
//! - `exclude_ports`: TCP/UDP packets whose source or destination port is listed are dropped.
//!   Ports are read right after the IPv4 header (its IHL honoured), or after the IPv6 header
//!   chain: up to [`IPV6_MAX_EXTENSION_HEADERS`] hop-by-hop, destination-options, routing,
//!   fragment and AH headers are skipped. Fragments other than the first carry no ports and are
//!   kept unchecked, as are IPv6 packets with a longer chain.
//!
//! Accepted packets are cut to the snap length: the program's return value is how the kernel
//! implements it for ring sockets.

use super::cbpf::{
    Asm, AsmError, Insn, To, ABS, ADD, AD_HATYPE, ALU, AND, B, H, IMM, IND, JEQ, JSET, K, LD, LDX, LSH, MEM, MISC, MSH,
    ST, TAX, TXA, W, X,
};

/// At most this many excluded ports, so every jump of the port check stays within cBPF's 255.
pub const MAX_EXCLUDED_PORTS: usize = 100;

/// What the kernel drops before a packet reaches the ring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureFilter {
    /// Keep only TCP and UDP over IPv4/IPv6 (default `true`).
    pub ip_tcp_udp_only: bool,
    /// Drop TCP/UDP packets from or to these ports, e.g. the hub's own port (at most
    /// [`MAX_EXCLUDED_PORTS`] distinct ports).
    pub exclude_ports: Vec<u16>,
}

impl Default for CaptureFilter {
    fn default() -> Self {
        CaptureFilter { ip_tcp_udp_only: true, exclude_ports: Vec::new() }
    }
}

/// Why a filter cannot be compiled.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("{count} excluded ports, at most {MAX_EXCLUDED_PORTS} are supported")]
    TooManyPorts { count: usize },
    #[error("snap length 0 would drop every packet")]
    ZeroSnaplen,
    /// A bug in the program builder; the message names the broken rule.
    #[error("internal error assembling the BPF program: {0}")]
    Assembly(String),
}

const ARPHRD_ETHER: u32 = 1;
const ARPHRD_LOOPBACK: u32 = 772;
const ETH_P_IP: u32 = 0x0800;
const ETH_P_IPV6: u32 = 0x86dd;
const ETH_P_8021Q: u32 = 0x8100;
const ETH_P_8021AD: u32 = 0x88a8;
const IPPROTO_TCP: u32 = 6;
const IPPROTO_UDP: u32 = 17;
const IPV6_HOP_BY_HOP: u32 = 0;
const IPV6_ROUTING: u32 = 43;
const IPV6_FRAGMENT: u32 = 44;
const IPV6_DEST_OPTS: u32 = 60;
const IPV6_AUTH: u32 = 51;
/// IPv6 extension headers the filter looks through before giving up (and keeping the packet).
pub const IPV6_MAX_EXTENSION_HEADERS: usize = 4;

fn assembly(e: AsmError) -> FilterError {
    FilterError::Assembly(format!("{e:?}"))
}

impl CaptureFilter {
    /// The program, accepting up to `snaplen` bytes of each packet it keeps.
    pub(super) fn compile(&self, snaplen: u32) -> Result<Vec<Insn>, FilterError> {
        if snaplen == 0 {
            return Err(FilterError::ZeroSnaplen);
        }
        let mut ports = self.exclude_ports.clone();
        ports.sort_unstable();
        ports.dedup();
        if ports.len() > MAX_EXCLUDED_PORTS {
            return Err(FilterError::TooManyPorts { count: ports.len() });
        }
        let mut a = Asm::default();
        if !self.ip_tcp_udp_only && ports.is_empty() {
            a.ret(snaplen);
            return a.finish().map_err(assembly);
        }
        // What to do with non-IP packets and IP packets that are neither TCP nor UDP.
        let other = if self.ip_tcp_udp_only { 0 } else { snaplen };

        let [eth, vlan, accept, not_ip, not_tcp_udp, port_check] = [(); 6].map(|_| a.label());
        let v4 = [a.label(), a.label(), a.label()];
        let v6 = [a.label(), a.label(), a.label()];
        let v6_chain = a.label();
        const L3_OFFSETS: [u32; 3] = [0, 14, 18];

        a.stmt(LD | W | ABS, AD_HATYPE);
        a.jump(JEQ, ARPHRD_ETHER, To::Label(eth), To::Next);
        a.jump(JEQ, ARPHRD_LOOPBACK, To::Label(eth), To::Next);
        // No link header: IP version in the first nibble.
        a.stmt(LD | B | ABS, 0);
        a.stmt(ALU | AND | K, 0xf0);
        a.jump(JEQ, 0x40, To::Label(v4[0]), To::Next);
        a.jump(JEQ, 0x60, To::Label(v6[0]), To::Label(not_ip));

        a.place(eth);
        a.stmt(LD | H | ABS, 12);
        a.jump(JEQ, ETH_P_IP, To::Label(v4[1]), To::Next);
        a.jump(JEQ, ETH_P_IPV6, To::Label(v6[1]), To::Next);
        a.jump(JEQ, ETH_P_8021Q, To::Label(vlan), To::Next);
        a.jump(JEQ, ETH_P_8021AD, To::Label(vlan), To::Label(not_ip));

        a.place(vlan);
        a.stmt(LD | H | ABS, 16);
        a.jump(JEQ, ETH_P_IP, To::Label(v4[2]), To::Next);
        a.jump(JEQ, ETH_P_IPV6, To::Label(v6[2]), To::Label(not_ip));

        for (i, off) in L3_OFFSETS.into_iter().enumerate() {
            // IPv4 at `off`: protocol, then X = offset of the transport header.
            a.place(v4[i]);
            let ports_v4 = a.label();
            a.stmt(LD | B | ABS, off + 9);
            a.jump(JEQ, IPPROTO_TCP, To::Label(ports_v4), To::Next);
            a.jump(JEQ, IPPROTO_UDP, To::Label(ports_v4), To::Label(not_tcp_udp));
            a.place(ports_v4);
            if ports.is_empty() {
                a.goto(accept);
            } else {
                a.stmt(LD | H | ABS, off + 6);
                a.jump(JSET, 0x1fff, To::Label(accept), To::Next); // later fragment: no ports
                a.stmt(LDX | B | MSH, off); // X = 4 * IHL
                a.stmt(MISC | TXA, 0);
                a.stmt(ALU | ADD | K, off);
                a.stmt(MISC | TAX, 0);
                a.goto(port_check);
            }

            // IPv6 at `off`: X = where the header after the fixed one starts, A = its type.
            a.place(v6[i]);
            a.stmt(LDX | W | IMM, off + 40);
            a.stmt(LD | B | ABS, off + 6);
            a.goto(v6_chain);
        }

        // The IPv6 header chain, unrolled: A = next-header value, X = where that header starts.
        // Local trampolines keep every conditional jump short.
        a.place(v6_chain);
        for _ in 0..IPV6_MAX_EXTENSION_HEADERS {
            let [generic, fragment, auth, advance, to_ports, to_other, to_accept, next] = [(); 8].map(|_| a.label());
            a.jump(JEQ, IPPROTO_TCP, To::Label(to_ports), To::Next);
            a.jump(JEQ, IPPROTO_UDP, To::Label(to_ports), To::Next);
            a.jump(JEQ, IPV6_HOP_BY_HOP, To::Label(generic), To::Next);
            a.jump(JEQ, IPV6_DEST_OPTS, To::Label(generic), To::Next);
            a.jump(JEQ, IPV6_ROUTING, To::Label(generic), To::Next);
            a.jump(JEQ, IPV6_FRAGMENT, To::Label(fragment), To::Next);
            a.jump(JEQ, IPV6_AUTH, To::Label(auth), To::Label(to_other));
            // Hop-by-hop, destination options, routing: length in 8 octets, not counting the first 8.
            a.place(generic);
            a.stmt(LD | B | IND, 0);
            a.stmt(ST, 0);
            a.stmt(LD | B | IND, 1);
            a.stmt(ALU | ADD | K, 1);
            a.stmt(ALU | LSH | K, 3);
            a.goto(advance);
            // AH: length in 4 octets, minus 2.
            a.place(auth);
            a.stmt(LD | B | IND, 0);
            a.stmt(ST, 0);
            a.stmt(LD | B | IND, 1);
            a.stmt(ALU | ADD | K, 2);
            a.stmt(ALU | LSH | K, 2);
            a.goto(advance);
            // Fragment: 8 octets; a fragment other than the first has no transport header.
            a.place(fragment);
            a.stmt(LD | H | IND, 2);
            a.jump(JSET, 0xfff8, To::Label(to_accept), To::Next);
            a.stmt(LD | B | IND, 0);
            a.stmt(ST, 0);
            a.stmt(LD | W | IMM, 8);
            // A = this header's length, M[0] = the next header's type.
            a.place(advance);
            a.stmt(ALU | ADD | X, 0);
            a.stmt(MISC | TAX, 0);
            a.stmt(LD | W | MEM, 0);
            a.goto(next);
            a.place(to_ports);
            a.goto(if ports.is_empty() { accept } else { port_check });
            a.place(to_other);
            a.goto(not_tcp_udp);
            a.place(to_accept);
            a.goto(accept);
            a.place(next);
        }
        // After the last header we skip: TCP/UDP, another extension header (a longer chain than
        // we walk: keep it, unchecked), or something else.
        let ports_or_accept = if ports.is_empty() { accept } else { port_check };
        a.jump(JEQ, IPPROTO_TCP, To::Label(ports_or_accept), To::Next);
        a.jump(JEQ, IPPROTO_UDP, To::Label(ports_or_accept), To::Next);
        for nh in [IPV6_HOP_BY_HOP, IPV6_DEST_OPTS, IPV6_ROUTING, IPV6_FRAGMENT, IPV6_AUTH] {
            a.jump(JEQ, nh, To::Label(accept), To::Next);
        }
        a.goto(not_tcp_udp);

        a.place(accept);
        a.ret(snaplen);
        a.place(not_ip);
        a.ret(other);
        a.place(not_tcp_udp);
        a.ret(other);

        // X = transport header offset. Source port, then destination port.
        a.place(port_check);
        if !ports.is_empty() {
            let drop = a.label();
            for field in [0, 2] {
                a.stmt(LD | H | IND, field);
                for &p in &ports {
                    a.jump(JEQ, u32::from(p), To::Label(drop), To::Next);
                }
            }
            a.ret(snaplen);
            a.place(drop);
            a.ret(0);
        }
        a.finish().map_err(assembly)
    }
}

#[cfg(test)]
mod tests {
    use super::super::cbpf_interp::run;
    use super::*;

    const SNAP: u32 = 262_144;
    const ETHER: u16 = 1;
    const NONE: u16 = 0xFFFE;

    fn ipv4(proto: u8, sport: u16, dport: u16) -> Vec<u8> {
        let mut p = vec![0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        p.extend_from_slice(&sport.to_be_bytes());
        p.extend_from_slice(&dport.to_be_bytes());
        p.extend_from_slice(&[0; 16]);
        p
    }

    fn ipv6(next: u8, sport: u16, dport: u16) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0, 0, 20, next, 64];
        p.extend_from_slice(&[0xfd; 32]);
        p.extend_from_slice(&sport.to_be_bytes());
        p.extend_from_slice(&dport.to_be_bytes());
        p.extend_from_slice(&[0; 16]);
        p
    }

    fn eth(ethertype: u16, l3: &[u8]) -> Vec<u8> {
        let mut p = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
        p.extend_from_slice(&ethertype.to_be_bytes());
        p.extend_from_slice(l3);
        p
    }

    fn vlan(tpid: u16, ethertype: u16, l3: &[u8]) -> Vec<u8> {
        let mut p = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
        p.extend_from_slice(&tpid.to_be_bytes());
        p.extend_from_slice(&[0x00, 0x64]);
        p.extend_from_slice(&ethertype.to_be_bytes());
        p.extend_from_slice(l3);
        p
    }

    fn filter(ip_only: bool, ports: &[u16]) -> Vec<Insn> {
        CaptureFilter { ip_tcp_udp_only: ip_only, exclude_ports: ports.to_vec() }.compile(SNAP).unwrap()
    }

    fn accepted(prog: &[Insn], pkt: &[u8], hatype: u16) -> bool {
        match run(prog, pkt, hatype).unwrap() {
            0 => false,
            SNAP => true,
            other => panic!("unexpected return {other}"),
        }
    }

    /// Every way a TCP/UDP packet can be framed that the filter understands.
    fn framings(l3: &[u8], ethertype: u16) -> Vec<(Vec<u8>, u16)> {
        vec![
            (eth(ethertype, l3), ETHER),
            (eth(ethertype, l3), 772),
            (vlan(0x8100, ethertype, l3), ETHER),
            (vlan(0x88a8, ethertype, l3), ETHER),
            (l3.to_vec(), NONE),
            (l3.to_vec(), 768),
        ]
    }

    #[test]
    fn default_keeps_tcp_and_udp_and_drops_the_rest() {
        let prog = filter(true, &[]);
        for proto in [6, 17] {
            for (pkt, hatype) in
                framings(&ipv4(proto, 1234, 80), 0x0800).into_iter().chain(framings(&ipv6(proto, 1234, 80), 0x86dd))
            {
                assert!(accepted(&prog, &pkt, hatype), "proto {proto} hatype {hatype} {pkt:02x?}");
            }
        }
        // ICMP, ICMPv6, ARP, LLDP, garbage raw packet, QinQ.
        for (pkt, hatype) in framings(&ipv4(1, 0, 0), 0x0800).into_iter().chain(framings(&ipv6(58, 0, 0), 0x86dd)) {
            assert!(!accepted(&prog, &pkt, hatype), "hatype {hatype} {pkt:02x?}");
        }
        assert!(!accepted(&prog, &eth(0x0806, &[0; 28]), ETHER));
        assert!(!accepted(&prog, &eth(0x88cc, &[0; 28]), ETHER));
        assert!(!accepted(&prog, &[0x12; 40], NONE));
        assert!(!accepted(&prog, &vlan(0x88a8, 0x8100, &[0, 100, 8, 0, 0x45]), ETHER));
    }

    #[test]
    fn without_ip_only_everything_passes() {
        let prog = filter(false, &[]);
        assert_eq!(prog.len(), 1);
        assert!(accepted(&prog, &eth(0x0806, &[0; 28]), ETHER));
        assert!(accepted(&prog, &[], ETHER));
    }

    #[test]
    fn excluded_ports_are_dropped_in_both_directions() {
        for ip_only in [true, false] {
            let prog = filter(ip_only, &[9090, 53, 9090]);
            for proto in [6u8, 17] {
                for (sport, dport, keep) in
                    [(1234, 80, true), (9090, 80, false), (80, 9090, false), (53, 5353, false), (9091, 8080, true)]
                {
                    let all = framings(&ipv4(proto, sport, dport), 0x0800)
                        .into_iter()
                        .chain(framings(&ipv6(proto, sport, dport), 0x86dd));
                    for (pkt, hatype) in all {
                        assert_eq!(
                            accepted(&prog, &pkt, hatype),
                            keep,
                            "{sport}->{dport} proto {proto} hatype {hatype} {pkt:02x?}"
                        );
                    }
                }
            }
            // Non-TCP/UDP follows ip_tcp_udp_only even with ports set.
            assert_eq!(accepted(&prog, &eth(0x0800, &ipv4(1, 9090, 9090)), ETHER), !ip_only);
            assert_eq!(accepted(&prog, &eth(0x0806, &[0; 28]), ETHER), !ip_only);
        }
    }

    #[test]
    fn ipv4_options_move_the_ports() {
        let prog = filter(true, &[9090]);
        // IHL 6: four bytes of options; the "ports" at the usual place are the option bytes.
        let mut p = ipv4(17, 0, 0);
        p[0] = 0x46;
        p.splice(20..20, [0x23, 0x82, 0x23, 0x82]); // 9090, 9090 where ports would be without IHL
        p[20 + 4..20 + 8].copy_from_slice(&[0x04, 0xd2, 0x00, 0x50]); // real ports 1234 -> 80
        assert!(accepted(&prog, &eth(0x0800, &p), ETHER));
        p[20 + 6..20 + 8].copy_from_slice(&9090u16.to_be_bytes());
        assert!(!accepted(&prog, &eth(0x0800, &p), ETHER));
    }

    /// IPv6 with extension headers in front of `last` (next-header value and header bytes).
    fn ipv6_chain(chain: &[(u8, Vec<u8>)], last: u8, sport: u16, dport: u16) -> Vec<u8> {
        let first = chain.first().map_or(last, |c| c.0);
        let mut p = ipv6(first, sport, dport);
        let mut headers = Vec::new();
        for (n, (_, body)) in chain.iter().enumerate() {
            let next = chain.get(n + 1).map_or(last, |c| c.0);
            let mut h = body.clone();
            h[0] = next;
            headers.extend(h);
        }
        p.splice(40..40, headers);
        p
    }

    /// Hop-by-hop / destination options / routing header of `units` * 8 + 8 bytes.
    fn generic_ext(units: u8) -> Vec<u8> {
        let mut h = vec![0u8; 8 + 8 * units as usize];
        h[1] = units;
        h
    }

    fn fragment_ext(offset: u16, more: bool) -> Vec<u8> {
        let v = (offset << 3) | u16::from(more);
        let mut h = vec![0, 0, 0, 0, 0, 0, 0, 1];
        h[2..4].copy_from_slice(&v.to_be_bytes());
        h
    }

    /// An AH header of `total` bytes (its length field counts 4-octet units, minus 2).
    fn auth_ext(total: usize) -> Vec<u8> {
        let mut h = vec![0u8; total];
        h[1] = (total / 4 - 2) as u8;
        h
    }

    #[test]
    fn ipv6_extension_headers_are_walked() {
        let prog = filter(true, &[9090]);
        let keep = |p: &[u8]| accepted(&prog, &eth(0x86dd, p), ETHER) && accepted(&prog, p, NONE);
        // MLD report behind hop-by-hop (router alert): ICMPv6, dropped.
        assert!(!keep(&ipv6_chain(&[(0, generic_ext(0))], 58, 0, 0)));
        for chain in [
            vec![(0u8, generic_ext(0))],
            vec![(0, generic_ext(2)), (60, generic_ext(1))],
            vec![(43, generic_ext(3))],
            vec![(44, fragment_ext(0, true))],
            vec![(51, auth_ext(24))],
            vec![(0, generic_ext(0)), (43, generic_ext(1)), (44, fragment_ext(0, true)), (60, generic_ext(0))],
        ] {
            let kinds: Vec<u8> = chain.iter().map(|c| c.0).collect();
            for proto in [6u8, 17] {
                assert!(keep(&ipv6_chain(&chain, proto, 1234, 80)), "{kinds:?} proto {proto}");
                assert!(!keep(&ipv6_chain(&chain, proto, 9090, 80)), "{kinds:?} proto {proto} src excluded");
                assert!(!keep(&ipv6_chain(&chain, proto, 1234, 9090)), "{kinds:?} proto {proto} dst excluded");
            }
            assert!(!keep(&ipv6_chain(&chain, 58, 0, 0)), "{kinds:?} ICMPv6");
            assert!(!keep(&ipv6_chain(&chain, 50, 0, 0)), "{kinds:?} ESP");
        }
        // Later fragments: no ports, kept.
        assert!(keep(&ipv6_chain(&[(44, fragment_ext(185, false))], 17, 9090, 9090)));
        // Chain longer than we walk: kept unchecked.
        let long: Vec<(u8, Vec<u8>)> = (0..=IPV6_MAX_EXTENSION_HEADERS).map(|_| (60, generic_ext(0))).collect();
        assert!(keep(&ipv6_chain(&long, 17, 9090, 9090)));
        assert!(keep(&ipv6_chain(&long, 58, 0, 0)));
        // Exactly as many as we walk: fully checked.
        assert!(!keep(&ipv6_chain(&long[1..], 17, 9090, 9090)));
        assert!(!keep(&ipv6_chain(&long[1..], 58, 0, 0)));
        assert!(keep(&ipv6_chain(&long[1..], 17, 1234, 80)));
        // A header length pointing past the packet: the load fails, the packet is dropped.
        let mut bad = ipv6_chain(&[(0, generic_ext(0))], 17, 1234, 80);
        bad[41] = 200;
        assert!(!keep(&bad));
    }

    #[test]
    fn ipv4_later_fragments_are_kept_unchecked() {
        let prog = filter(true, &[9090]);
        let mut frag = ipv4(17, 9090, 9090);
        frag[6..8].copy_from_slice(&[0x00, 0xb9]); // offset 185 * 8
        assert!(accepted(&prog, &eth(0x0800, &frag), ETHER));
        let mut first = ipv4(17, 9090, 9090);
        first[6..8].copy_from_slice(&[0x20, 0x00]); // MF, offset 0: has ports
        assert!(!accepted(&prog, &eth(0x0800, &first), ETHER));
    }

    #[test]
    fn truncated_packets_are_dropped_not_misread() {
        let prog = filter(true, &[9090]);
        let full = eth(0x0800, &ipv4(17, 1234, 80));
        for cut in 0..34 + 4 {
            assert!(!accepted(&prog, &full[..cut], ETHER), "cut at {cut}");
        }
        assert!(accepted(&prog, &full[..38], ETHER));
    }

    #[test]
    fn snaplen_is_the_accept_value() {
        let prog = CaptureFilter::default().compile(96).unwrap();
        assert_eq!(run(&prog, &eth(0x0800, &ipv4(6, 1, 2)), ETHER), Ok(96));
        assert_eq!(CaptureFilter::default().compile(0), Err(FilterError::ZeroSnaplen));
    }

    #[test]
    fn port_limit() {
        let max: Vec<u16> = (1..=MAX_EXCLUDED_PORTS as u16).collect();
        let prog = filter(true, &max);
        assert!(!accepted(&prog, &eth(0x0800, &ipv4(6, 5000, 100)), ETHER));
        assert!(accepted(&prog, &eth(0x0800, &ipv4(6, 5000, 101)), ETHER));
        let over: Vec<u16> = (1..=MAX_EXCLUDED_PORTS as u16 + 1).collect();
        let err = CaptureFilter { ip_tcp_udp_only: true, exclude_ports: over }.compile(SNAP);
        assert_eq!(err, Err(FilterError::TooManyPorts { count: MAX_EXCLUDED_PORTS + 1 }));
    }
}
