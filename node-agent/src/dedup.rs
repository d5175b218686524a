//! Dropping the copies of one packet seen at several capture points (a pod's veth and the node
//! bridge, say), while keeping genuine duplicates (retransmissions) seen at one capture point.
//!
//! A packet is identified by a 64-bit hash of its IP bytes with the fields routers change left
//! out (IPv4 TTL and header checksum, IPv6 hop limit), plus its length. Two different packets are
//! taken for copies only on a 64-bit hash collision of equal-length packets seen within the
//! window: negligible at the capacities used here (about capacity / 2^64 per packet).
//!
//! Memory is `capacity` entries (under 100 bytes each with the hash table headroom), allocated up
//! front; the oldest entry is evicted when full.

use crate::time::Timestamp;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

/// Fixed seeds: identical packets must hash alike across runs and processes.
const SEEDS: [u64; 4] = [0x243F_6A88_85A3_08D3, 0x1319_8A2E_0370_7344, 0xA409_3822_299F_31D0, 0x082E_FA98_EC4E_6C89];

/// Remembers recent packets by hash and tells copies from other capture points.
pub struct Deduplicator {
    window_nanos: u64,
    capacity: usize,
    hasher: ahash::RandomState,
    /// Packet hash -> where and when it was last accepted.
    seen: HashMap<u64, Seen, BuildHasherDefault<IdentityHasher>>,
    /// Insertion order for eviction: (hash, generation of the entry it inserted).
    order: VecDeque<(u64, u64)>,
    generation: u64,
    dropped: u64,
}

#[derive(Clone, Copy, Debug)]
struct Seen {
    ts: Timestamp,
    capture_point: u32,
    len: u32,
    /// Which insertion in `order` this entry belongs to (older queue items for the same hash are stale).
    generation: u64,
}

impl Deduplicator {
    /// `window_nanos`: how far apart in time two copies may be. Keep it below the shortest
    /// retransmission timeout (200 ms on Linux) so a retransmission seen only at a second capture
    /// point is not mistaken for a copy. `capacity`: packets remembered (at least 1).
    pub fn new(window_nanos: u64, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Deduplicator {
            window_nanos,
            capacity,
            hasher: ahash::RandomState::with_seeds(SEEDS[0], SEEDS[1], SEEDS[2], SEEDS[3]),
            // Twice the entries: removals leave tombstones, and with this headroom the table
            // rehashes in place instead of growing (no allocation in steady state).
            seen: HashMap::with_capacity_and_hasher(capacity.saturating_mul(2), BuildHasherDefault::default()),
            order: VecDeque::with_capacity(capacity),
            generation: 0,
            dropped: 0,
        }
    }

    /// True when the same IP packet was accepted at a different capture point within the window:
    /// the caller should drop this copy. Otherwise the packet is remembered and false returned.
    pub fn is_duplicate(&mut self, capture_point: u32, ts: Timestamp, ip_packet: &[u8]) -> bool {
        let hash = self.hash(ip_packet);
        let len = u32::try_from(ip_packet.len()).unwrap_or(u32::MAX);
        if let Some(seen) = self.seen.get_mut(&hash) {
            let within = seen.ts.as_nanos().abs_diff(ts.as_nanos()) <= self.window_nanos;
            if within && seen.len == len && seen.capture_point != capture_point {
                self.dropped += 1;
                return true;
            }
            // A genuine repeat (same capture point, or too late): it becomes the copy later
            // copies are compared with.
            self.generation += 1;
            *seen = Seen { ts, capture_point, len, generation: self.generation };
        } else {
            self.generation += 1;
            self.seen.insert(hash, Seen { ts, capture_point, len, generation: self.generation });
        }
        if self.order.len() == self.capacity {
            self.evict_oldest();
        }
        self.order.push_back((hash, self.generation));
        false
    }

    /// Copies dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    fn evict_oldest(&mut self) {
        if let Some((hash, generation)) = self.order.pop_front() {
            // Only if that queue item is the entry's latest insertion.
            if self.seen.get(&hash).is_some_and(|s| s.generation == generation) {
                self.seen.remove(&hash);
            }
        }
    }

    /// Hash of the IP packet without the fields that change hop by hop.
    fn hash(&self, p: &[u8]) -> u64 {
        let mut h = self.hasher.build_hasher();
        match p.first().map(|b| b >> 4) {
            // IPv4: skip TTL (byte 8) and header checksum (bytes 10-11).
            Some(4) if p.len() >= 20 => {
                h.write(p.get(..8).unwrap_or_default());
                h.write(p.get(9..10).unwrap_or_default());
                h.write(p.get(12..).unwrap_or_default());
            }
            // IPv6: skip the hop limit (byte 7).
            Some(6) if p.len() >= 40 => {
                h.write(p.get(..7).unwrap_or_default());
                h.write(p.get(8..).unwrap_or_default());
            }
            _ => h.write(p),
        }
        h.finish()
    }
}

/// The keys are already hashes.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed; this path folds bytes for completeness.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    const MS: u64 = 1_000_000;

    fn ipv4(ttl: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], ttl).udp(1000, 53).write(&mut v, payload).unwrap();
        v
    }

    fn ipv6(hop_limit: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        PacketBuilder::ipv6([1; 16], [2; 16], hop_limit).tcp(1, 2, 3, 4).write(&mut v, payload).unwrap();
        v
    }

    fn t(ms: u64) -> Timestamp {
        Timestamp(1_700_000_000_000_000_000 + ms * MS)
    }

    #[test]
    fn copy_at_another_capture_point_is_dropped_once() {
        let mut d = Deduplicator::new(50 * MS, 1024);
        let p = ipv4(64, b"query");
        assert!(!d.is_duplicate(1, t(0), &p));
        assert!(d.is_duplicate(2, t(1), &p));
        // A third interface on the path: also a copy.
        assert!(d.is_duplicate(3, t(2), &p));
        assert_eq!(d.dropped(), 2);
        // A different packet is not.
        assert!(!d.is_duplicate(2, t(3), &ipv4(64, b"other")));
    }

    #[test]
    fn repeats_at_the_same_capture_point_are_kept() {
        let mut d = Deduplicator::new(50 * MS, 1024);
        let p = ipv6(64, b"segment");
        assert!(!d.is_duplicate(1, t(0), &p));
        assert!(!d.is_duplicate(1, t(1), &p));
        assert!(!d.is_duplicate(1, t(2), &p));
        assert_eq!(d.dropped(), 0);
        // The copy of the latest repeat seen elsewhere is still dropped.
        assert!(d.is_duplicate(9, t(3), &p));
    }

    #[test]
    fn copies_outside_the_window_are_kept() {
        let mut d = Deduplicator::new(50 * MS, 1024);
        let p = ipv4(64, b"late");
        assert!(!d.is_duplicate(1, t(0), &p));
        assert!(!d.is_duplicate(2, t(51), &p));
        // ... and became the reference: a copy of it within the window is dropped.
        assert!(d.is_duplicate(1, t(60), &p));
        // Out-of-order copies (earlier timestamp) within the window count too.
        assert!(d.is_duplicate(3, t(20), &p));
        assert!(!d.is_duplicate(3, t(0), &p)); // 51 ms before the reference
    }

    #[test]
    fn ttl_checksum_and_hop_limit_are_ignored() {
        let mut d = Deduplicator::new(50 * MS, 1024);
        let (a, b) = (ipv4(64, b"x"), ipv4(63, b"x"));
        assert_ne!(a, b);
        assert_ne!(a[10..12], b[10..12], "the header checksum differs too");
        assert!(!d.is_duplicate(1, t(0), &a));
        assert!(d.is_duplicate(2, t(0), &b));
        let (a, b) = (ipv6(64, b"y"), ipv6(1, b"y"));
        assert!(!d.is_duplicate(1, t(0), &a));
        assert!(d.is_duplicate(2, t(0), &b));
        // Any other difference makes another packet (here the IPv4 identification field).
        let mut c = ipv4(64, b"x");
        c[4] ^= 1;
        assert!(!d.is_duplicate(3, t(0), &c));
    }

    #[test]
    fn capacity_bounds_memory_and_evicts_the_oldest() {
        let mut d = Deduplicator::new(1_000 * MS, 4);
        let pkts: Vec<Vec<u8>> = (0..6u8).map(|i| ipv4(64, &[i])).collect();
        for p in &pkts {
            assert!(!d.is_duplicate(1, t(0), p));
        }
        assert!(d.seen.len() <= 4 && d.order.len() <= 4);
        // The two oldest were forgotten; the newest four are remembered.
        assert!(!d.is_duplicate(2, t(1), &pkts[0]));
        assert!(d.is_duplicate(2, t(1), &pkts[5]));
        // Repeats do not grow the table beyond its capacity either.
        for i in 0..100 {
            d.is_duplicate(1, t(2 + i), &pkts[i as usize % 6]);
        }
        assert!(d.seen.len() <= 4 && d.order.len() <= 4);
        assert!(d.seen.capacity() >= 4);
    }

    #[test]
    fn short_and_non_ip_input_does_not_panic() {
        let mut d = Deduplicator::new(MS, 8);
        for p in [&[][..], &[0x45], &[0x60, 1, 2], &[0xff; 3]] {
            assert!(!d.is_duplicate(1, t(0), p));
            assert!(d.is_duplicate(2, t(0), p));
        }
    }
}
