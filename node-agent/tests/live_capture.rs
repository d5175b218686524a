//! Live capture against real traffic in private network namespaces.
//!
//! These tests need root (network namespaces, CAP_NET_RAW). Without it they fail; they do not
//! skip. Every namespace is named `kslive-<pid>-<n>` and deleted by a guard, also on panic;
//! namespaces left behind by a killed run are reaped by the next one.
//!
//! The capture runs in the namespaces by opening it on a thread that has entered the namespace
//! with setns(2): a packet socket stays in the namespace it was created in, so the capture can
//! then be used from the test thread. UDP sockets are made the same way. Python is used only to
//! inject hand-built frames (a raw packet socket, a tun device).
#![cfg(target_os = "linux")]

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Once};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use etherparse::{NetSlice, PacketBuilder, SlicedPacket, TransportSlice, VlanId};
use node_agent::source::live::{self, CaptureFilter, InterfaceInfo, LiveCapture, LiveConfig, LiveError};
use node_agent::source::{LinkType, RawPacket};
use node_agent::Timestamp;

// ---------------------------------------------------------------------------------------------
// Namespaces

const NS_PREFIX: &str = "kslive-";
static NEXT_NS: AtomicU32 = AtomicU32::new(0);

fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(euid, 0, "live capture tests need root (network namespaces, CAP_NET_RAW): run them as root");
}

fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap_or_else(|e| panic!("cannot run {args:?}: {e}"));
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Deletes namespaces of earlier runs whose process is gone.
fn reap_stale_namespaces() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for line in sh(&["ip", "netns", "list"]).lines() {
            let Some(name) = line.split_whitespace().next() else {
                continue;
            };
            let Some(pid) = name.strip_prefix(NS_PREFIX).and_then(|r| r.split('-').next()) else {
                continue;
            };
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                let _ = Command::new("ip").args(["netns", "delete", name]).status();
            }
        }
    });
}

/// A private network namespace, deleted on drop.
struct Netns {
    name: String,
}

impl Netns {
    fn new(ipv6: bool) -> Netns {
        require_root();
        reap_stale_namespaces();
        let name = format!("{NS_PREFIX}{}-{}", std::process::id(), NEXT_NS.fetch_add(1, Ordering::SeqCst));
        sh(&["ip", "netns", "add", &name]);
        let ns = Netns { name };
        let v = if ipv6 { "0" } else { "1" };
        ns.exec(&[
            "sysctl",
            "-qw",
            &format!("net.ipv6.conf.all.disable_ipv6={v}"),
            &format!("net.ipv6.conf.default.disable_ipv6={v}"),
        ]);
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    fn ip(&self, args: &[&str]) -> String {
        sh(&[&["ip", "-n", self.name.as_str()], args].concat())
    }

    fn exec(&self, args: &[&str]) -> String {
        sh(&[&["ip", "netns", "exec", self.name.as_str()], args].concat())
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).args(args);
        c
    }

    fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    /// Runs `f` on a thread inside the namespace.
    fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = self.path();
        thread::scope(|s| {
            s.spawn(move || {
                enter(&path);
                f()
            })
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
        })
    }

    /// Starts `f` on a thread inside the namespace.
    fn spawn<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
        let path = self.path();
        thread::spawn(move || {
            enter(&path);
            f()
        })
    }

    fn ifindex(&self, name: &str) -> u32 {
        let all = self.run(|| live::list_interfaces().unwrap());
        all.iter().find(|i| i.name == name).unwrap_or_else(|| panic!("no {name} in {all:?}")).index
    }

    fn open(&self, cfg: &LiveConfig) -> LiveCapture {
        self.run(|| LiveCapture::open(cfg)).unwrap_or_else(|e| panic!("open in {}: {e}", self.name))
    }

    fn udp(&self, addr: &str) -> UdpSocket {
        self.run(|| UdpSocket::bind(addr)).unwrap_or_else(|e| panic!("bind {addr}: {e}"))
    }
}

fn enter(netns_path: &str) {
    let f = File::open(netns_path).unwrap_or_else(|e| panic!("{netns_path}: {e}"));
    // SAFETY: `f` is an open namespace file; setns only changes this thread's network namespace.
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns({netns_path}): {}", std::io::Error::last_os_error());
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "delete", &self.name]).status();
    }
}

const MAC_A: [u8; 6] = [0x02, 0x6b, 0x73, 0, 0, 0x0a];
const MAC_B: [u8; 6] = [0x02, 0x6b, 0x73, 0, 0, 0x0b];
const IP_A: [u8; 4] = [10, 77, 0, 1];
const IP_B: [u8; 4] = [10, 77, 0, 2];

fn mac(m: [u8; 6]) -> String {
    m.map(|b| format!("{b:02x}")).join(":")
}

fn ip4(a: [u8; 4]) -> String {
    a.map(|b| b.to_string()).join(".")
}

/// Namespaces `a` and `b` joined by a veth pair `va` (10.77.0.1, fd00:77::1) — `vb` (10.77.0.2,
/// fd00:77::2), with static neighbours so no ARP or ND is needed.
struct Pair {
    a: Netns,
    b: Netns,
}

impl Pair {
    fn new(ipv6: bool) -> Pair {
        let (a, b) = (Netns::new(ipv6), Netns::new(ipv6));
        a.ip(&[
            "link",
            "add",
            "va",
            "address",
            &mac(MAC_A),
            "type",
            "veth",
            "peer",
            "name",
            "vb",
            "address",
            &mac(MAC_B),
            "netns",
            &b.name,
        ]);
        for (ns, dev, me, peer, peer_mac, me6, peer6) in [
            (&a, "va", IP_A, IP_B, MAC_B, "fd00:77::1", "fd00:77::2"),
            (&b, "vb", IP_B, IP_A, MAC_A, "fd00:77::2", "fd00:77::1"),
        ] {
            ns.ip(&["addr", "add", &format!("{}/24", ip4(me)), "dev", dev]);
            ns.ip(&["link", "set", dev, "up"]);
            ns.ip(&["neigh", "replace", &ip4(peer), "lladdr", &mac(peer_mac), "dev", dev, "nud", "permanent"]);
            if ipv6 {
                ns.ip(&["addr", "add", &format!("{me6}/64"), "dev", dev, "nodad"]);
                ns.ip(&["neigh", "replace", peer6, "lladdr", &mac(peer_mac), "dev", dev, "nud", "permanent"]);
            }
        }
        Pair { a, b }
    }
}

// ---------------------------------------------------------------------------------------------
// Traffic and what the capture saw

/// A small ring (2 MiB) so parallel tests stay light.
fn config(interfaces: &[&str]) -> LiveConfig {
    LiveConfig {
        interfaces: interfaces.iter().map(|s| s.to_string()).collect(),
        block_size: 256 << 10,
        block_count: 8,
        ..LiveConfig::default()
    }
}

fn payload(tag: &str, i: usize) -> Vec<u8> {
    let mut p = format!("kubectl-shark live {tag} #{i:05} ").into_bytes();
    p.resize(64, b'.');
    p
}

fn send_all(sock: &UdpSocket, to: &str, tag: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let p = payload(tag, i);
            assert_eq!(sock.send_to(&p, to).unwrap_or_else(|e| panic!("send to {to}: {e}")), p.len());
            p
        })
        .collect()
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Udp { src: SocketAddr, dst: SocketAddr, payload: Vec<u8> },
    Tcp,
    Icmp4,
    Icmp6,
    Other,
}

#[derive(Clone, Debug)]
struct Seen {
    ifindex: u32,
    link: LinkType,
    ts: Timestamp,
    data: Vec<u8>,
    orig_len: u32,
    vlan: Option<u16>,
    kind: Kind,
}

fn seen(p: RawPacket<'_>) -> Seen {
    let parsed = match p.link_type {
        LinkType::Ethernet => SlicedPacket::from_ethernet(p.data).ok(),
        LinkType::RawIp => SlicedPacket::from_ip(p.data).ok(),
        other => panic!("unexpected link type {other:?}"),
    };
    let vlan = parsed.as_ref().and_then(|s| s.vlan_ids().first().map(|v| v.value()));
    let kind = match &parsed {
        Some(SlicedPacket { net: Some(net), transport: Some(t), .. }) => {
            let (src, dst) = match net {
                NetSlice::Ipv4(v4) => (v4.header().source_addr().into(), v4.header().destination_addr().into()),
                NetSlice::Ipv6(v6) => (v6.header().source_addr().into(), v6.header().destination_addr().into()),
                NetSlice::Arp(_) => (std::net::Ipv4Addr::UNSPECIFIED.into(), std::net::Ipv4Addr::UNSPECIFIED.into()),
            };
            match t {
                TransportSlice::Udp(u) => Kind::Udp {
                    src: SocketAddr::new(src, u.source_port()),
                    dst: SocketAddr::new(dst, u.destination_port()),
                    payload: u.payload().to_vec(),
                },
                TransportSlice::Tcp(_) => Kind::Tcp,
                TransportSlice::Icmpv4(_) => Kind::Icmp4,
                TransportSlice::Icmpv6(_) => Kind::Icmp6,
                _ => Kind::Other,
            }
        }
        _ => Kind::Other,
    };
    Seen {
        ifindex: p.capture_point,
        link: p.link_type,
        ts: p.ts,
        data: p.data.to_vec(),
        orig_len: p.orig_len,
        vlan,
        kind,
    }
}

/// Reads until `done` says so or `limit` passes, then 150 ms more to catch late or duplicate packets.
fn collect(cap: &mut LiveCapture, done: impl Fn(&[Seen]) -> bool, limit: Duration) -> Vec<Seen> {
    let mut out = Vec::new();
    let start = Instant::now();
    while !done(&out) && start.elapsed() < limit {
        cap.next_batch(Duration::from_millis(50), &mut |p| out.push(seen(p))).unwrap();
    }
    let linger = Instant::now() + Duration::from_millis(150);
    while Instant::now() < linger {
        cap.next_batch(Duration::from_millis(30), &mut |p| out.push(seen(p))).unwrap();
    }
    out
}

fn udp_to(seen: &[Seen], port: u16) -> Vec<&Seen> {
    seen.iter().filter(|s| matches!(&s.kind, Kind::Udp { dst, .. } if dst.port() == port)).collect()
}

fn payloads(seen: &[&Seen]) -> Vec<Vec<u8>> {
    seen.iter()
        .map(|s| match &s.kind {
            Kind::Udp { payload, .. } => payload.clone(),
            _ => unreachable!(),
        })
        .collect()
}

/// Every sent payload seen exactly once, nothing else.
fn assert_each_once(mut got: Vec<Vec<u8>>, sent: &[Vec<u8>], what: &str) {
    let mut counts: HashMap<&[u8], usize> = HashMap::new();
    for p in &got {
        *counts.entry(p).or_default() += 1;
    }
    let dups = counts.values().filter(|&&c| c > 1).count();
    let missing = sent.iter().filter(|p| !counts.contains_key(p.as_slice())).count();
    assert!(
        dups == 0 && missing == 0,
        "{what}: {} seen for {} sent, {dups} duplicated, {missing} missing",
        got.len(),
        sent.len()
    );
    got.sort();
    let mut sent = sent.to_vec();
    sent.sort();
    assert_eq!(got, sent, "{what}: unexpected payloads");
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn each_datagram_is_captured_once_on_each_end_of_a_veth() {
    let p = Pair::new(false);
    let mut cap_b = p.b.open(&config(&["vb"]));
    let mut cap_a = p.a.open(&config(&["va"]));
    let (va, vb) = (p.a.ifindex("va"), p.b.ifindex("vb"));
    assert_eq!(cap_b.interfaces(), [InterfaceInfo { name: "vb".into(), index: vb }]);

    let tx = p.a.udp("10.77.0.1:40000");
    let _rx = p.b.udp("10.77.0.2:5000");
    let start = Timestamp::now();
    const N: usize = 500;
    let sent = send_all(&tx, "10.77.0.2:5000", "once", N);

    // a sees them leave (outgoing), b sees them arrive.
    for (cap, ifindex, side) in [(&mut cap_a, va, "va (outgoing)"), (&mut cap_b, vb, "vb (incoming)")] {
        let got = collect(cap, |s| s.len() >= N, Duration::from_secs(10));
        let now = Timestamp::now();
        assert_eq!(
            got.len(),
            N,
            "{side}: only our UDP should pass the default filter: {:?}",
            got.iter().map(|s| &s.kind).collect::<Vec<_>>()
        );
        for s in &got {
            let Kind::Udp { src, dst, .. } = &s.kind else { panic!("{side}: not UDP: {s:?}") };
            assert_eq!((src.to_string().as_str(), dst.to_string().as_str()), ("10.77.0.1:40000", "10.77.0.2:5000"));
            assert_eq!(s.ifindex, ifindex, "{side}");
            assert_eq!(s.link, LinkType::Ethernet);
            assert_eq!(&s.data[..12], &[MAC_B, MAC_A].concat()[..]);
            assert_eq!((s.data.len(), s.orig_len), (14 + 20 + 8 + 64, 14 + 20 + 8 + 64));
            assert!(start <= s.ts && s.ts <= now, "{side}: timestamp {} outside {start}..{now}", s.ts);
        }
        assert_each_once(payloads(&got.iter().collect::<Vec<_>>()), &sent, side);
        let st = cap.detailed_stats();
        assert_eq!((st.packets, st.bytes, st.kernel_drops), (N as u64, (N * 106) as u64, 0), "{side}: {st:?}");
        assert_eq!(st.kernel_packets, N as u64, "{side}: {st:?}");
    }
}

#[test]
fn snaplen_cuts_frames_and_orig_len_keeps_the_wire_length() {
    let p = Pair::new(false);
    let mut cap = p.a.open(&LiveConfig { snaplen: 80, ..config(&["va"]) });
    let tx = p.a.udp("10.77.0.1:40000");
    let sent = send_all(&tx, "10.77.0.2:5000", "snap", 20);
    let got = collect(&mut cap, |s| s.len() >= 20, Duration::from_secs(10));
    assert_eq!(got.len(), 20);
    let mut prefixes: Vec<&[u8]> = got.iter().map(|s| &s.data[42..]).collect();
    prefixes.sort();
    let mut want: Vec<&[u8]> = sent.iter().map(|p| &p[..80 - 42]).collect();
    want.sort();
    assert_eq!(prefixes, want);
    assert!(got.iter().all(|s| s.data.len() == 80 && s.orig_len == 106));
}

/// Two "pods" on a bridge in a "node" namespace: capturing all interfaces of the node sees each
/// packet once on the client's host-side veth and once on the server's.
#[test]
fn all_interfaces_sees_a_packet_on_both_host_side_veths() {
    let (host, client, server) = (Netns::new(false), Netns::new(false), Netns::new(false));
    let (mac_c, mac_s) = ([2, 0x6b, 0x73, 0, 1, 0x0c], [2, 0x6b, 0x73, 0, 1, 0x05]);
    host.ip(&["link", "add", "br0", "type", "bridge"]);
    host.ip(&["link", "set", "br0", "up"]);
    for (pod, dev, hostdev, pod_mac, ip, peer_ip, peer_mac) in [
        (&client, "eth0", "hc", mac_c, "10.78.0.1", "10.78.0.2", mac_s),
        (&server, "eth0", "hs", mac_s, "10.78.0.2", "10.78.0.1", mac_c),
    ] {
        pod.ip(&[
            "link",
            "add",
            dev,
            "address",
            &mac(pod_mac),
            "type",
            "veth",
            "peer",
            "name",
            hostdev,
            "netns",
            &host.name,
        ]);
        host.ip(&["link", "set", hostdev, "master", "br0", "up"]);
        pod.ip(&["addr", "add", &format!("{ip}/24"), "dev", dev]);
        pod.ip(&["link", "set", dev, "up"]);
        pod.ip(&["neigh", "replace", peer_ip, "lladdr", &mac(peer_mac), "dev", dev, "nud", "permanent"]);
    }
    let mut cap = host.open(&config(&[]));
    let names: Vec<&str> = cap.interfaces().iter().map(|i| i.name.as_str()).collect();
    for n in ["lo", "br0", "hc", "hs"] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    let (hc, hs) = (host.ifindex("hc"), host.ifindex("hs"));

    let tx = client.udp("10.78.0.1:40000");
    let _rx = server.udp("10.78.0.2:5000");
    const N: usize = 100;
    let sent = send_all(&tx, "10.78.0.2:5000", "all", N);
    let got = collect(&mut cap, |s| udp_to(s, 5000).len() >= 2 * N, Duration::from_secs(10));
    let ours = udp_to(&got, 5000);
    for (ifindex, name) in [(hc, "hc"), (hs, "hs")] {
        let here: Vec<&Seen> = ours.iter().copied().filter(|s| s.ifindex == ifindex).collect();
        assert_each_once(payloads(&here), &sent, name);
    }
    assert_eq!(
        ours.len(),
        2 * N,
        "copies on other interfaces: {:?}",
        ours.iter().map(|s| s.ifindex).collect::<Vec<_>>()
    );
    // The same bytes on both: a deduplicator can match them.
    let on_hc: HashMap<&[u8], &Seen> = ours.iter().filter(|s| s.ifindex == hc).map(|s| (&s.data[..], *s)).collect();
    assert!(ours.iter().filter(|s| s.ifindex == hs).all(|s| on_hc.contains_key(&s.data[..])));
}

/// Loopback shows each packet leaving and arriving; only one copy is handed out.
#[test]
fn loopback_packets_are_seen_once() {
    let ns = Netns::new(false);
    let mut cap = ns.open(&config(&["lo"]));
    let lo = ns.ifindex("lo");
    let tx = ns.udp("127.0.0.1:40000");
    let _rx = ns.udp("127.0.0.1:5000");
    const N: usize = 50;
    let sent = send_all(&tx, "127.0.0.1:5000", "loopback", N);
    let got = collect(&mut cap, |s| s.len() >= N, Duration::from_secs(10));
    assert!(got.iter().all(|s| s.ifindex == lo && s.link == LinkType::Ethernet));
    assert_each_once(payloads(&got.iter().collect::<Vec<_>>()), &sent, "lo");
    let st = cap.detailed_stats();
    assert_eq!((st.packets, st.loopback_echoes, st.kernel_packets), (N as u64, N as u64, 2 * N as u64), "{st:?}");
}

/// The filter drops excluded ports (IPv4 and IPv6, as source or destination) and non-TCP/UDP in
/// the kernel, and nothing that arrived before it was attached reaches the ring.
#[test]
fn kernel_filter_excludes_ports_and_non_ip_even_during_open() {
    let p = Pair::new(true);
    let tx = p.a.udp("10.77.0.1:40000");
    let tx6 = p.a.udp("[fd00:77::1]:40000");
    let _rx = p.b.udp("10.77.0.2:5000");
    let _rx6 = p.b.udp("[fd00:77::2]:5000");
    let _rx_excluded = p.b.udp("10.77.0.2:7777");
    let _rx_excluded_src = p.b.udp("10.77.0.2:5001");

    // Flood the excluded port while the capture opens: a socket that received before its filter
    // was attached would have some of these in its ring.
    let stop = Arc::new(AtomicBool::new(false));
    let flooded = Arc::new(AtomicU64::new(0));
    let flood = {
        let (stop, flooded) = (stop.clone(), flooded.clone());
        p.a.spawn(move || {
            let s = UdpSocket::bind("10.77.0.1:40001").unwrap();
            while !stop.load(Ordering::Relaxed) {
                if s.send_to(b"excluded flood", "10.77.0.2:7777").is_ok() {
                    flooded.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    while flooded.load(Ordering::Relaxed) < 1000 {
        thread::yield_now();
    }
    let filter = CaptureFilter { ip_tcp_udp_only: true, exclude_ports: vec![7777, 40002] };
    let mut cap = p.b.open(&LiveConfig { filter, ..config(&["vb"]) });
    thread::sleep(Duration::from_millis(50));
    stop.store(true, Ordering::Relaxed);
    flood.join().unwrap();
    assert!(flooded.load(Ordering::Relaxed) > 1000);
    // Opened after the flood, so its ring has room for everything below.
    let unfiltered = CaptureFilter { ip_tcp_udp_only: false, exclude_ports: vec![] };
    let mut everything = p.b.open(&LiveConfig { filter: unfiltered, ..config(&["vb"]) });

    let kept4 = send_all(&tx, "10.77.0.2:5000", "v4 kept", 100);
    let kept6 = send_all(&tx6, "[fd00:77::2]:5000", "v6 kept", 100);
    send_all(&tx, "10.77.0.2:7777", "v4 excluded dst", 50);
    send_all(&tx6, "[fd00:77::2]:7777", "v6 excluded dst", 50);
    // Excluded as the source port: 40002 -> 5001.
    let tx_src = p.a.udp("10.77.0.1:40002");
    send_all(&tx_src, "10.77.0.2:5001", "v4 excluded src", 50);
    // Closed ports: b answers with ICMP port unreachable (leaving through vb).
    send_all(&tx, "10.77.0.2:6000", "icmp trigger", 5);
    send_all(&tx6, "[fd00:77::2]:6000", "icmp6 trigger", 5);

    let got = collect(&mut cap, |s| udp_to(s, 5000).len() >= 200, Duration::from_secs(10));
    let excluded: Vec<&Seen> = got
        .iter()
        .filter(|s| matches!(&s.kind, Kind::Udp { src, dst, .. } if [7777, 40002].contains(&dst.port()) || [7777, 40002].contains(&src.port())))
        .collect();
    assert!(excluded.is_empty(), "{} excluded packets captured, first {:?}", excluded.len(), excluded[0]);
    let not_udp: Vec<&Kind> = got.iter().map(|s| &s.kind).filter(|k| !matches!(k, Kind::Udp { .. })).collect();
    assert!(not_udp.is_empty(), "non-UDP passed the filter: {not_udp:?}");
    let to_5000 = udp_to(&got, 5000);
    assert_each_once(payloads(&to_5000), &[kept4, kept6].concat(), "kept");
    assert_eq!(got.len(), 200 + 10, "only port 5000 and the closed port 6000 should pass");

    // The unfiltered capture sees what the filter removed.
    let all = collect(&mut everything, |s| udp_to(s, 7777).len() >= 100, Duration::from_secs(10));
    assert_eq!(udp_to(&all, 7777).len(), 100);
    assert_eq!(udp_to(&all, 5001).len(), 50);
    assert!(all.iter().any(|s| s.kind == Kind::Icmp4), "no ICMP port unreachable seen without the filter");
    assert!(all.iter().any(|s| s.kind == Kind::Icmp6), "no ICMPv6 seen without the filter");
}

/// tcpdump on the same interface at the same time is the oracle: same packets, same bytes.
#[test]
fn tcpdump_on_the_same_interface_sees_the_same_packets() {
    let p = Pair::new(false);
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("oracle.pcap");
    let mut tcpdump =
        p.b.command(&[
            "tcpdump",
            "-i",
            "vb",
            "-nn",
            "-p",
            "-U",
            "-Z",
            "root",
            "-w",
            pcap.to_str().unwrap(),
            "udp and dst port 5000",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcpdump");
    let lines = lines_of(tcpdump.stderr.take().unwrap());
    wait_for_line(&lines, "listening on", Duration::from_secs(20));

    let mut cap = p.b.open(&config(&["vb"]));
    let tx = p.a.udp("10.77.0.1:40000");
    let _rx = p.b.udp("10.77.0.2:5000");
    const N: usize = 300;
    send_all(&tx, "10.77.0.2:5000", "oracle", N);
    send_all(&tx, "10.77.0.2:5001", "not for tcpdump", 50);
    let ours = collect(&mut cap, |s| s.len() >= N + 50, Duration::from_secs(10));
    // Let tcpdump write them all (-U: the file grows by one record per packet) before stopping it.
    let full = (24 + N * (16 + 106)) as u64;
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(&pcap).map(|m| m.len()).unwrap_or(0) < full && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    let summary = stop_tcpdump(&mut tcpdump, &lines);

    let captured = tcpdump_count(&summary, "packets captured");
    assert_eq!(captured, N as u64, "tcpdump said: {summary}");
    assert_eq!(tcpdump_count(&summary, "packets dropped by kernel"), 0, "tcpdump said: {summary}");
    let mut reader = pcap_file::pcap::PcapReader::new(File::open(&pcap).unwrap()).unwrap();
    let mut oracle: Vec<Vec<u8>> = Vec::new();
    while let Some(pkt) = reader.next_packet() {
        oracle.push(pkt.unwrap().data.into_owned());
    }
    let mut ours_5000: Vec<Vec<u8>> = udp_to(&ours, 5000).iter().map(|s| s.data.clone()).collect();
    assert_eq!(ours_5000.len(), oracle.len());
    ours_5000.sort();
    oracle.sort();
    assert!(ours_5000 == oracle, "captured bytes differ from tcpdump's");
    assert_eq!(ours.len(), N + 50);
}

fn lines_of(stream: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_for_line(lines: &mpsc::Receiver<String>, needle: &str, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(line) => seen.push(line),
            Err(e) => panic!("no line with {needle:?} ({e}); got {seen:?}"),
        }
    }
}

fn stop_tcpdump(child: &mut Child, lines: &mpsc::Receiver<String>) -> String {
    // `ip netns exec` execs tcpdump, so the child's pid is tcpdump's.
    // SAFETY: kill(2) on the pid of a child we spawned and have not yet reaped.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(rc, 0);
    let status = child.wait().unwrap();
    assert!(status.success(), "tcpdump exited with {status}");
    lines.iter().collect::<Vec<_>>().join("\n")
}

fn tcpdump_count(summary: &str, what: &str) -> u64 {
    summary
        .lines()
        .find_map(|l| l.strip_suffix(what).and_then(|n| n.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {what:?} in tcpdump output: {summary}"))
}

#[test]
fn missing_interface_is_reported_with_the_available_ones() {
    let ns = Netns::new(false);
    let err = ns.run(|| LiveCapture::open(&config(&["lo", "nosuch0"]))).unwrap_err();
    match &err {
        LiveError::NoSuchInterface { name, available } => {
            assert_eq!(name, "nosuch0");
            assert_eq!(available, &["lo".to_string()]);
        }
        other => panic!("expected NoSuchInterface, got {other:?}"),
    }
    assert!(err.to_string().contains("\"nosuch0\"") && err.to_string().ends_with("available: lo"), "{err}");
}

#[test]
fn without_cap_net_raw_open_says_permission_denied() {
    let ns = Netns::new(false);
    let err = ns
        .run(|| {
            drop_cap_net_raw_in_this_thread();
            LiveCapture::open(&config(&["lo"]))
        })
        .unwrap_err();
    assert!(matches!(err, LiveError::PermissionDenied { .. }), "{err:?}");
    assert!(err.to_string().contains("root or the CAP_NET_RAW capability"), "{err}");
}

/// Capabilities are per thread on Linux: clear CAP_NET_RAW from this thread's effective set.
fn drop_cap_net_raw_in_this_thread() {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    const CAP_NET_RAW: u32 = 13;
    let mut header = Header { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
    let mut data = [Data::default(); 2];
    // SAFETY: capget/capset with a v3 header and the two data structs v3 requires; pid 0 = this thread.
    unsafe {
        assert_eq!(libc::syscall(libc::SYS_capget, &mut header as *mut Header, data.as_mut_ptr()), 0);
        data[0].effective &= !(1 << CAP_NET_RAW);
        assert_eq!(libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr()), 0);
    }
}

/// A ring of two pages, a burst it cannot hold and nobody reading: the kernel drops, and what we
/// read plus what it dropped is exactly what was sent. Captured on the sending side, where every
/// datagram passes the tap synchronously, so the count sent is exact.
#[test]
fn tiny_ring_counts_kernel_drops_exactly() {
    let p = Pair::new(false);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
    let cfg = LiveConfig { snaplen: 128, block_size: page, block_count: 2, block_timeout_ms: 10, ..config(&["va"]) };
    let mut cap = p.a.open(&cfg);
    let tx = p.a.udp("10.77.0.1:40000");
    let _rx = p.b.udp("10.77.0.2:5000");
    const N: usize = 3000;
    let sent = send_all(&tx, "10.77.0.2:5000", "burst", N);
    thread::sleep(Duration::from_millis(100));

    let got = collect(&mut cap, |_| false, Duration::from_millis(300));
    let st = cap.detailed_stats();
    println!(
        "tiny ring: {N} sent, {} read, {} dropped, ring full {} times",
        st.packets, st.kernel_drops, st.kernel_ring_full
    );
    assert!(st.kernel_drops > 0, "{st:?}");
    assert!(!got.is_empty());
    assert_eq!(st.packets as usize, got.len());
    assert_eq!(st.packets + st.kernel_drops, N as u64, "{st:?}");
    assert_eq!(st.kernel_packets, N as u64, "{st:?}");
    let mut read = payloads(&udp_to(&got, 5000));
    assert_eq!(read.len(), got.len());
    read.sort();
    read.dedup();
    assert_eq!(read.len(), got.len(), "duplicates");
    assert!(read.iter().all(|p| sent.contains(p)));

    // Blocks went back to the kernel: capture carries on without new drops.
    let more = send_all(&tx, "10.77.0.2:5000", "after", 10);
    let got = collect(&mut cap, |s| s.len() >= 10, Duration::from_secs(5));
    assert_each_once(payloads(&udp_to(&got, 5000)), &more, "after draining");
    assert_eq!(cap.stats().kernel_drops, st.kernel_drops);
}

/// Frames with an 802.1Q tag, injected with a raw socket on `va`: on `va` the tag is in the data;
/// on `vb` the receive path moves it into the frame header and we put it back. Both captures must
/// return the injected bytes unchanged, and the filter must see through the tag on both.
#[test]
fn vlan_tags_are_restored_and_filtered() {
    let p = Pair::new(false);
    let filter = CaptureFilter { ip_tcp_udp_only: true, exclude_ports: vec![7777] };
    let mut cap_a = p.a.open(&LiveConfig { filter: filter.clone(), ..config(&["va"]) });
    let mut cap_b = p.b.open(&LiveConfig { filter, ..config(&["vb"]) });
    let frame = |port: u16, i: usize| {
        let mut f = Vec::new();
        PacketBuilder::ethernet2(MAC_A, MAC_B)
            .single_vlan(VlanId::try_new(100).unwrap())
            .ipv4(IP_A, IP_B, 64)
            .udp(40000, port)
            .write(&mut f, &payload("vlan", i))
            .unwrap();
        f
    };
    let kept: Vec<Vec<u8>> = (0..50).map(|i| frame(5000, i)).collect();
    let excluded: Vec<Vec<u8>> = (0..20).map(|i| frame(7777, i)).collect();
    inject_frames(&p.a, "va", &[kept.clone(), excluded].concat());

    for (cap, side) in [(&mut cap_a, "va"), (&mut cap_b, "vb")] {
        let got = collect(cap, |s| s.len() >= kept.len(), Duration::from_secs(10));
        let mut data: Vec<Vec<u8>> = got.iter().map(|s| s.data.clone()).collect();
        data.sort();
        let mut want = kept.clone();
        want.sort();
        assert!(
            data == want,
            "{side}: {} frames captured, differing from the injected ones: {:02x?}",
            data.len(),
            data.first()
        );
        assert!(got.iter().all(|s| s.vlan == Some(100) && s.orig_len as usize == s.data.len()), "{side}");
        let restored = cap.detailed_stats().vlan_tags_restored;
        println!("{side}: {restored} VLAN tags restored");
    }
    assert_eq!(cap_b.detailed_stats().vlan_tags_restored, 50, "vb should have had the tags stripped by the kernel");
}

fn inject_frames(ns: &Netns, iface: &str, frames: &[Vec<u8>]) {
    const SCRIPT: &str = "import socket, sys\n\
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\n\
        s.bind((sys.argv[1], 0))\n\
        for line in sys.stdin:\n    s.send(bytes.fromhex(line.strip()))\n";
    let mut child = ns.command(&["python3", "-c", SCRIPT, iface]).stdin(Stdio::piped()).spawn().expect("python3");
    write_hex_lines(child.stdin.as_mut().unwrap(), frames);
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success(), "frame injection failed");
}

fn write_hex_lines(to: &mut ChildStdin, frames: &[Vec<u8>]) {
    for f in frames {
        let hex: String = f.iter().map(|b| format!("{b:02x}")).collect();
        writeln!(to, "{hex}").unwrap();
    }
    to.flush().unwrap();
}

/// A tun device has no link-layer header: frames come out as raw IP, and the filter's raw-IP
/// path applies.
#[test]
fn tun_device_gives_raw_ip_frames() {
    let ns = Netns::new(false);
    const SCRIPT: &str = "import fcntl, os, struct, sys\n\
        fd = os.open('/dev/net/tun', os.O_RDWR)\n\
        fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH', sys.argv[1].encode(), 0x0001 | 0x1000))\n\
        print('ready', flush=True)\n\
        for line in sys.stdin:\n    line = line.strip()\n    if line == 'quit': break\n    os.write(fd, bytes.fromhex(line))\n";
    let mut tun = ns
        .command(&["python3", "-c", SCRIPT, "tun0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let lines = lines_of(tun.stdout.take().unwrap());
    wait_for_line(&lines, "ready", Duration::from_secs(20));
    ns.ip(&["addr", "add", "10.201.0.1/24", "dev", "tun0"]);
    ns.ip(&["link", "set", "tun0", "up"]);
    let tun0 = ns.ifindex("tun0");
    let mut cap = ns.open(&LiveConfig {
        filter: CaptureFilter { ip_tcp_udp_only: true, exclude_ports: vec![7777] },
        ..config(&["tun0"])
    });

    let packet = |port: u16, i: usize| {
        let mut f = Vec::new();
        PacketBuilder::ipv4([10, 201, 0, 2], [10, 201, 0, 1], 64)
            .udp(4000, port)
            .write(&mut f, &payload("tun", i))
            .unwrap();
        f
    };
    let kept: Vec<Vec<u8>> = (0..40).map(|i| packet(5000, i)).collect();
    let excluded: Vec<Vec<u8>> = (0..10).map(|i| packet(7777, i)).collect();
    let stdin = tun.stdin.as_mut().unwrap();
    write_hex_lines(stdin, &[kept.clone(), excluded].concat());

    let got = collect(&mut cap, |s| s.len() >= kept.len(), Duration::from_secs(10));
    writeln!(stdin, "quit").unwrap();
    drop(tun.stdin.take());
    assert!(tun.wait().unwrap().success());

    assert!(got.iter().all(|s| s.link == LinkType::RawIp && s.ifindex == tun0), "{:?}", got.first());
    let mut data: Vec<Vec<u8>> = got.iter().map(|s| s.data.clone()).collect();
    data.sort();
    let mut want = kept;
    want.sort();
    assert!(data == want, "{} frames captured, differing from the injected ones", data.len());
}

/// Rough capture rates. Run with
/// `cargo test --release --test live_capture -- --ignored --nocapture measure`.
///
/// 1. Live: two senders flood a veth for 5 s while we read: packets/s captured, drops, and the
///    reader thread's CPU time per packet.
/// 2. Drain: the ring is filled while nobody reads, then drained as fast as possible: the
///    user-space side's packets/s on its own.
#[test]
#[ignore = "benchmark: floods a veth for several seconds"]
fn measure_capture_rate() {
    let p = Pair::new(false);
    let _rx = p.b.udp("10.77.0.2:5000");
    let flood = |stop: Arc<AtomicBool>, senders: u16| -> Vec<JoinHandle<u64>> {
        (0..senders)
            .map(|i| {
                let stop = stop.clone();
                p.a.spawn(move || {
                    let s = UdpSocket::bind(format!("10.77.0.1:{}", 41000 + i)).unwrap();
                    s.connect("10.77.0.2:5000").unwrap();
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        n += send_batch(&s);
                    }
                    n
                })
            })
            .collect()
    };

    // 1. Live.
    let mut cap = p.b.open(&LiveConfig { interfaces: vec!["vb".into()], ..LiveConfig::default() });
    let stop = Arc::new(AtomicBool::new(false));
    let senders = flood(stop.clone(), 2);
    let start = Instant::now();
    let cpu_start = thread_cpu_time();
    let (mut captured, mut checksum) = (0u64, 0u64);
    while start.elapsed() < Duration::from_secs(5) {
        captured +=
            cap.next_batch(Duration::from_millis(100), &mut |p| checksum += u64::from(p.orig_len)).unwrap() as u64;
    }
    let cpu = thread_cpu_time() - cpu_start;
    stop.store(true, Ordering::Relaxed);
    let sent: u64 = senders.into_iter().map(|h| h.join().unwrap()).sum();
    let elapsed = start.elapsed().as_secs_f64();
    let tail = collect(&mut cap, |_| false, Duration::from_millis(200)).len() as u64;
    let st = cap.detailed_stats();
    println!(
        "live: sent {sent} in {elapsed:.2}s ({:.0} pps); captured {} ({:.0} pps), kernel drops {}; \
         reader CPU {:.2}s = {:.2} us/packet (checksum {checksum})",
        sent as f64 / elapsed,
        captured + tail,
        captured as f64 / elapsed,
        st.kernel_drops,
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / captured.max(1) as f64,
    );
    assert_eq!(st.packets, captured + tail);
    assert_eq!(st.kernel_packets, st.packets + st.kernel_drops);
    drop(cap);

    // 2. Drain: fill a 64 MiB ring on the sending side, then read it in one go.
    let mut cap = p.a.open(&LiveConfig { interfaces: vec!["va".into()], ..LiveConfig::default() });
    let stop = Arc::new(AtomicBool::new(false));
    let senders = flood(stop.clone(), 2);
    thread::sleep(Duration::from_secs(4));
    stop.store(true, Ordering::Relaxed);
    let sent: u64 = senders.into_iter().map(|h| h.join().unwrap()).sum();
    thread::sleep(Duration::from_millis(100));
    let start = Instant::now();
    let mut drained = 0u64;
    loop {
        let n = cap.next_batch(Duration::ZERO, &mut |p| checksum += u64::from(p.data[p.data.len() - 1])).unwrap();
        if n == 0 {
            break;
        }
        drained += n as u64;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let st = cap.detailed_stats();
    println!(
        "drain: {sent} sent, {drained} read from the ring in {:.1} ms = {:.0} pps ({} dropped while nobody read; checksum {checksum})",
        elapsed * 1e3,
        drained as f64 / elapsed,
        st.kernel_drops
    );
    assert_eq!(st.packets + st.kernel_drops, sent);
}

/// Sends 64 datagrams of 64 bytes with one sendmmsg(2); returns how many went out.
fn send_batch(s: &UdpSocket) -> u64 {
    const BATCH: usize = 64;
    let mut payload = [0x5au8; 64];
    let mut iov = libc::iovec { iov_base: payload.as_mut_ptr().cast(), iov_len: payload.len() };
    // SAFETY: all-zero mmsghdr is valid (null name, no control data); each then points at `iov`.
    let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
    for m in &mut msgs {
        m.msg_hdr.msg_iov = &mut iov;
        m.msg_hdr.msg_iovlen = 1;
    }
    // SAFETY: `msgs` holds BATCH initialised headers whose buffers (`iov`, `payload`) outlive the call.
    let n = unsafe { libc::sendmmsg(s.as_raw_fd(), msgs.as_mut_ptr(), BATCH as libc::c_uint, 0) };
    n.max(0) as u64
}

fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec for clock_gettime to fill.
    assert_eq!(unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) }, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
