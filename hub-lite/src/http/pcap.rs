//! The packets behind entries: which connection and time range to ask an agent for, grouping many
//! entries' connections per agent, and checking that an exported pcapng holds any packet at all.

use crate::agents::AgentPool;
use node_agent::storage::ConnectionFilter;
use node_agent::{Entry, Timestamp};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

/// Most connections in one `/api/v1/pcap` export.
pub const MAX_CONNECTIONS: usize = 10_000;
/// Margin before the first request byte and after the last response byte.
const MARGIN_NANOS: u64 = 1_000_000_000;

/// The entry's connection (both directions) from its first request byte − 1 s to its last
/// response byte + 1 s (first request byte + 1 s without a response).
pub fn connection_of(e: &Entry) -> ConnectionFilter {
    let elapsed_nanos = e.elapsed_us.unwrap_or(0).saturating_mul(1_000);
    ConnectionFilter {
        a: (e.src.ip, e.src.port),
        b: (e.dst.ip, e.dst.port),
        from: Timestamp(e.ts.as_nanos().saturating_sub(MARGIN_NANOS)),
        to: e.ts.saturating_add_nanos(elapsed_nanos.saturating_add(MARGIN_NANOS)),
    }
}

/// Export requests per agent for `entries` (oldest first): one filter per distinct connection and
/// agent, covering the time ranges of all its entries; at most [`MAX_CONNECTIONS`], the newest
/// entries' connections first. Agents in name order, connections by start time.
pub fn group_by_agent(entries: &[Arc<Entry>]) -> Vec<(String, Vec<ConnectionFilter>)> {
    type Key<'a> = (&'a str, (IpAddr, u16), (IpAddr, u16));
    let mut merged: HashMap<Key<'_>, ConnectionFilter> = HashMap::new();
    for e in entries.iter().rev() {
        let c = connection_of(e);
        let (lo, hi) = if c.a <= c.b { (c.a, c.b) } else { (c.b, c.a) };
        let key = (AgentPool::agent_of(&e.id), lo, hi);
        if let Some(m) = merged.get_mut(&key) {
            m.from = m.from.min(c.from);
            m.to = m.to.max(c.to);
        } else if merged.len() < MAX_CONNECTIONS {
            merged.insert(key, c);
        }
    }
    let mut by_agent: BTreeMap<&str, Vec<ConnectionFilter>> = BTreeMap::new();
    for ((agent, _, _), c) in merged {
        by_agent.entry(agent).or_default().push(c);
    }
    by_agent
        .into_iter()
        .map(|(agent, mut cs)| {
            cs.sort_by_key(|c| (c.from, c.to, c.a, c.b));
            (agent.to_string(), cs)
        })
        .collect()
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PcapngError {
    #[error("pcapng block at byte {0} has an impossible length")]
    BadBlock(usize),
    #[error("pcapng ends inside a block at byte {0}")]
    Truncated(usize),
}

/// How many packet blocks (enhanced, simple or obsolete packet blocks) a pcapng (possibly several
/// concatenated sections) holds.
pub fn count_packets(pcapng: &[u8]) -> Result<u64, PcapngError> {
    const SHB: u32 = 0x0A0D_0D0A;
    let mut big_endian = false;
    let mut pos = 0usize;
    let mut packets = 0u64;
    while pos < pcapng.len() {
        let word = |at: usize, big: bool| -> Option<u32> {
            let b: [u8; 4] = pcapng.get(at..at + 4)?.try_into().ok()?;
            Some(if big { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) })
        };
        let kind = word(pos, big_endian).ok_or(PcapngError::Truncated(pos))?;
        if kind == SHB {
            // The byte-order magic decides how this section's numbers are read.
            let magic = pcapng.get(pos + 8..pos + 12).ok_or(PcapngError::Truncated(pos))?;
            big_endian = magic == [0x1A, 0x2B, 0x3C, 0x4D];
        }
        let len = word(pos + 4, big_endian).ok_or(PcapngError::Truncated(pos))? as usize;
        if len < 12 || !len.is_multiple_of(4) {
            return Err(PcapngError::BadBlock(pos));
        }
        let end = pos.checked_add(len).ok_or(PcapngError::BadBlock(pos))?;
        if end > pcapng.len() {
            return Err(PcapngError::Truncated(pos));
        }
        if matches!(kind, 2 | 3 | 6) {
            packets += 1;
        }
        pos = end;
    }
    Ok(packets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use node_agent::{Endpoint, Transport};

    fn entry(id: &str, client_port: u16, secs: u64, elapsed_us: Option<u64>) -> Arc<Entry> {
        Arc::new(Entry {
            id: id.into(),
            protocol: "http".into(),
            transport: Transport::Tcp,
            ts: Timestamp::from_secs_nanos(secs, 0),
            elapsed_us,
            src: Endpoint::new("10.0.0.1".parse().expect("ip"), client_port),
            dst: Endpoint::new("10.0.0.2".parse().expect("ip"), 80),
            summary: String::new(),
            status: None,
            request_size: 0,
            response_size: 0,
            request: serde_json::Value::Null,
            response: None,
            notes: vec![],
        })
    }

    #[test]
    fn connection_range_has_a_second_of_margin() {
        let c = connection_of(&entry("n-1", 5000, 100, Some(2_500_000)));
        assert_eq!(c.from, Timestamp::from_secs_nanos(99, 0));
        assert_eq!(c.to, Timestamp::from_secs_nanos(103, 500_000_000));
        let c = connection_of(&entry("n-1", 5000, 0, None));
        assert_eq!((c.from, c.to), (Timestamp::ZERO, Timestamp::from_secs_nanos(1, 0)));
    }

    #[test]
    fn connections_are_merged_per_agent() {
        let entries = vec![
            entry("node-a-1", 5000, 100, Some(0)),
            entry("node-a-2", 5000, 110, Some(1_000_000)),
            entry("node-a-3", 5001, 120, Some(0)),
            entry("node-b-1", 5000, 130, Some(0)),
        ];
        let groups = group_by_agent(&entries);
        let names: Vec<_> = groups.iter().map(|(n, cs)| (n.as_str(), cs.len())).collect();
        assert_eq!(names, vec![("node-a", 2), ("node-b", 1)]);
        let first = &groups[0].1[0];
        assert_eq!(first.a.1, 5000);
        assert_eq!((first.from, first.to), (Timestamp::from_secs_nanos(99, 0), Timestamp::from_secs_nanos(112, 0)));
    }

    #[test]
    fn at_most_max_connections_newest_first() {
        let entries: Vec<_> =
            (0..MAX_CONNECTIONS as u64 + 5).map(|i| entry(&format!("n-{i}"), (i % 60000) as u16, i, None)).collect();
        let groups = group_by_agent(&entries);
        let cs = &groups[0].1;
        assert_eq!(cs.len(), MAX_CONNECTIONS);
        // The 5 oldest entries' connections were left out.
        assert_eq!(cs[0].from, Timestamp::from_secs_nanos(4, 0));
    }

    /// A pcapng written by the engine's own writer from the demo capture: the count must equal the
    /// number of packets written.
    #[test]
    fn counts_packets_of_a_real_pcapng() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/demo.pcapng");
        let mut file = node_agent::source::file::CaptureFile::open(&path).expect("demo capture");
        let mut writer = node_agent::storage::PcapngWriter::new(Vec::new()).expect("writer");
        let mut written = 0u64;
        while let Some(p) = file.next_packet() {
            let p = p.expect("packet");
            writer.write_packet(&p).expect("write");
            written += 1;
            if written == 57 {
                break;
            }
        }
        let one = writer.into_inner();
        assert_eq!(count_packets(&one), Ok(57));
        let mut two = one.clone();
        two.extend_from_slice(&one);
        assert_eq!(count_packets(&two), Ok(114));
        let empty = node_agent::storage::PcapngWriter::new(Vec::new()).expect("writer").into_inner();
        assert_eq!(count_packets(&empty), Ok(0));
        assert!(count_packets(&one[..one.len() - 3]).is_err());
        assert_eq!(count_packets(&[]), Ok(0));
    }
}
