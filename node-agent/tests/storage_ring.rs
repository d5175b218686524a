//! The on-disk packet ring: tshark must read what we write, the size limit holds, and the packets
//! that remain are the newest ones, in order.

use etherparse::PacketBuilder;
use node_agent::source::{LinkType, RawPacket};
use node_agent::storage::PcapRing;
use node_agent::Timestamp;
use std::process::Command;

fn udp_frame(n: u32) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .udp(5000, 6000)
        .write(&mut v, format!("packet-{n:08}").as_bytes())
        .expect("build frame");
    v
}

fn raw_ip_frame(n: u32) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ipv6([0xfd; 16], [0xfe; 16], 64)
        .udp(5001, 6001)
        .write(&mut v, format!("packet-{n:08}").as_bytes())
        .expect("build frame");
    v
}

/// tshark's view of a file: (epoch time in ns, payload text) per packet.
fn tshark_payloads(path: &std::path::Path) -> Vec<(String, String)> {
    let out = Command::new("tshark")
        .args(["-r"])
        .arg(path)
        .args(["-T", "fields", "-e", "frame.time_epoch", "-e", "udp.payload"])
        .output()
        .expect("tshark must be installed (tests/setup installs it)");
    assert!(out.status.success(), "tshark failed on {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let mut f = l.split('\t');
            let ts = f.next().unwrap_or("").to_string();
            let hex = f.next().unwrap_or("").replace(':', "");
            let bytes: Vec<u8> =
                (0..hex.len() / 2).filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()).collect();
            (ts, String::from_utf8_lossy(&bytes).to_string())
        })
        .collect()
}

#[test]
fn ring_keeps_the_newest_packets_under_the_limit_and_tshark_reads_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let limit = 200_000u64;
    let mut ring = PcapRing::create(dir.path(), limit).expect("create ring");
    let total = 5_000u32;
    for n in 0..total {
        // Alternate link types within one file: each gets its own interface block.
        let (frame, link_type) =
            if n % 3 == 0 { (raw_ip_frame(n), LinkType::RawIp) } else { (udp_frame(n), LinkType::Ethernet) };
        let raw = RawPacket {
            ts: Timestamp::from_secs_nanos(1_700_000_000 + u64::from(n), 123_456_789),
            link_type,
            capture_point: 0,
            data: &frame,
            orig_len: frame.len() as u32,
        };
        ring.write(&raw).expect("write");
    }
    ring.flush().expect("flush");
    let stats = ring.stats();
    assert_eq!(stats.packets_written, u64::from(total));
    assert!(stats.files_deleted > 0, "the limit must have pushed old files out: {stats:?}");
    let on_disk: u64 = std::fs::read_dir(dir.path())
        .expect("list")
        .flatten()
        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .sum();
    assert_eq!(on_disk, stats.bytes_on_disk, "the ring's account matches the disk");
    assert!(on_disk <= limit, "{on_disk} bytes on disk exceed the {limit} byte limit");

    let mut seen = Vec::new();
    for f in ring.files() {
        seen.extend(tshark_payloads(f));
    }
    assert!(seen.len() > 1000, "most of the limit holds packets: {}", seen.len());
    let first = total as usize - seen.len();
    for (i, (ts, text)) in seen.iter().enumerate() {
        let n = first + i;
        assert_eq!(text, &format!("packet-{n:08}"), "packets are the newest ones, in order");
        assert_eq!(ts, &format!("{}.123456789", 1_700_000_000 + n), "nanosecond timestamps survive");
    }
}

#[test]
fn too_small_a_limit_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(PcapRing::create(dir.path(), 1000).is_err());
}
