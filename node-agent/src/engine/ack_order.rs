//! Holding segments back until the connection is ready for them, for captures that show packets
//! in another order than they were sent:
//! - a segment that acknowledges bytes of the other direction that have not been delivered yet
//!   waits until they have been, so data is delivered only after the data it answers (reassembly
//!   alone orders each direction, not the two against each other);
//! - the first data of a direction whose SYN has not been seen waits, so that a SYN captured late
//!   (or earlier bytes) can still anchor the stream.
//!
//! Bounded: when the oldest held segment has waited `MAX_WAIT_SEGMENTS` later segments or
//! `MAX_WAIT_NANOS` of capture time, everything held is released (in sequence order per
//! direction); at most `MAX_HELD` segments / `MAX_HELD_BYTES` bytes wait per connection.

use crate::dissect::Direction;
use crate::packet::TcpHeader;
use crate::time::Timestamp;
use std::collections::VecDeque;

pub const MAX_HELD: usize = 64;
pub const MAX_HELD_BYTES: usize = 1 << 20;
pub const MAX_WAIT_SEGMENTS: u64 = 64;
pub const MAX_WAIT_NANOS: u64 = 500_000_000;

/// A segment copied out of its packet while it waits.
pub struct HeldSegment {
    pub dir: Direction,
    pub tcp: TcpHeader,
    pub payload: Vec<u8>,
    pub ts: Timestamp,
    /// The connection's segment counter when it was held.
    held_at: u64,
}

#[derive(Default)]
pub struct AckOrder {
    held: VecDeque<HeldSegment>,
    held_bytes: usize,
    segments_seen: u64,
    /// Segments that were held back at least once (for the stats).
    pub reordered: u64,
}

/// `a` comes before `b` in sequence space (wrapping).
fn seq_before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// True when `tcp` (sent in `dir`) acknowledges bytes of the other direction beyond what has been
/// delivered (`other_next` = the other direction's next byte to deliver).
pub fn acknowledges_undelivered(tcp: &TcpHeader, other_next: Option<u32>) -> bool {
    match other_next {
        Some(next) if tcp.ack_flag => seq_before(next, tcp.ack),
        _ => false,
    }
}

impl AckOrder {
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Counts a segment of the connection (held or not).
    pub fn tick(&mut self) {
        self.segments_seen += 1;
    }

    /// Holds a segment if there is room; returns false (and keeps nothing) when there is not.
    pub fn hold(&mut self, dir: Direction, tcp: &TcpHeader, payload: &[u8], ts: Timestamp) -> bool {
        if self.held.len() >= MAX_HELD || self.held_bytes + payload.len() > MAX_HELD_BYTES {
            return false;
        }
        self.held_bytes += payload.len();
        self.reordered += 1;
        self.held.push_back(HeldSegment { dir, tcp: *tcp, payload: payload.to_vec(), ts, held_at: self.segments_seen });
        true
    }

    /// Takes out the first held segment (in arrival order) that may go now.
    pub fn release_ready(&mut self, ready: impl Fn(&HeldSegment) -> bool) -> Option<HeldSegment> {
        let i = self.held.iter().position(ready)?;
        let h = self.held.remove(i)?;
        self.held_bytes -= h.payload.len();
        Some(h)
    }

    /// The oldest held segment has waited long enough (in segments or capture time).
    pub fn timed_out(&self, now: Timestamp) -> bool {
        self.held.front().is_some_and(|h| {
            self.segments_seen.saturating_sub(h.held_at) >= MAX_WAIT_SEGMENTS
                || now.as_nanos().saturating_sub(h.ts.as_nanos()) >= MAX_WAIT_NANOS
        })
    }

    /// Takes out every held segment. The two directions keep their arrival interleaving (the best
    /// evidence left of which came first), but within each direction the segments are put in
    /// sequence order, so the lowest sequence number anchors a stream whose SYN never came.
    pub fn drain(&mut self) -> Vec<HeldSegment> {
        self.held_bytes = 0;
        let arrived: Vec<HeldSegment> = self.held.drain(..).collect();
        let slots: Vec<Direction> = arrived.iter().map(|h| h.dir).collect();
        let mut per_dir: [Vec<HeldSegment>; 2] = [Vec::new(), Vec::new()];
        for h in arrived {
            per_dir[h.dir.index()].push(h);
        }
        for segments in per_dir.iter_mut() {
            let base = segments.first().map(|h| h.tcp.seq).unwrap_or(0);
            segments.sort_by_key(|h| h.tcp.seq.wrapping_sub(base) as i32);
            segments.reverse(); // so that pop() yields them in order
        }
        slots.into_iter().filter_map(|dir| per_dir[dir.index()].pop()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(ack: u32) -> TcpHeader {
        TcpHeader { seq: 0, ack, syn: false, ack_flag: true, fin: false, rst: false, window: 0 }
    }

    #[test]
    fn acknowledging_undelivered_bytes_is_detected_across_wraparound() {
        assert!(acknowledges_undelivered(&hdr(110), Some(100)));
        assert!(!acknowledges_undelivered(&hdr(100), Some(100)));
        assert!(!acknowledges_undelivered(&hdr(90), Some(100)));
        assert!(acknowledges_undelivered(&hdr(5), Some(u32::MAX - 5)));
        assert!(!acknowledges_undelivered(&hdr(110), None));
        let mut no_ack = hdr(110);
        no_ack.ack_flag = false;
        assert!(!acknowledges_undelivered(&no_ack, Some(100)));
    }

    #[test]
    fn held_segments_leave_when_ready_or_after_waiting() {
        let mut order = AckOrder::default();
        assert!(order.hold(Direction::ServerToClient, &hdr(1), b"late", Timestamp(1)));
        assert!(order.release_ready(|_| false).is_none());
        assert_eq!(order.release_ready(|_| true).map(|h| h.payload), Some(b"late".to_vec()));
        assert!(order.is_empty());

        assert!(order.hold(Direction::ServerToClient, &hdr(1), b"x", Timestamp(1)));
        assert!(!order.timed_out(Timestamp(1)));
        for _ in 0..MAX_WAIT_SEGMENTS {
            order.tick();
        }
        assert!(order.timed_out(Timestamp(1)));
        let mut by_time = AckOrder::default();
        assert!(by_time.hold(Direction::ServerToClient, &hdr(1), b"x", Timestamp(1)));
        assert!(by_time.timed_out(Timestamp(1 + MAX_WAIT_NANOS)));
    }

    #[test]
    fn drain_orders_each_direction_by_sequence_across_wraparound() {
        let mut order = AckOrder::default();
        let seg = |seq: u32| TcpHeader { seq, ..hdr(0) };
        for seq in [5u32, u32::MAX - 10, 100] {
            assert!(order.hold(Direction::ClientToServer, &seg(seq), b"c", Timestamp(1)));
        }
        assert!(order.hold(Direction::ServerToClient, &seg(7), b"s", Timestamp(1)));
        assert!(order.hold(Direction::ClientToServer, &seg(50), b"c", Timestamp(1)));
        let seqs: Vec<(usize, u32)> = order.drain().iter().map(|h| (h.dir.index(), h.tcp.seq)).collect();
        // Relative to the first held (5): MAX-10 is 16 before it, 100 is after it; the server's
        // segment keeps its arrival slot between the client's.
        assert_eq!(seqs, vec![(0, u32::MAX - 10), (0, 5), (0, 50), (1, 7), (0, 100)]);
    }

    #[test]
    fn holding_is_bounded() {
        let mut order = AckOrder::default();
        for _ in 0..MAX_HELD {
            assert!(order.hold(Direction::ClientToServer, &hdr(1), b"x", Timestamp(1)));
        }
        assert!(!order.hold(Direction::ClientToServer, &hdr(1), b"x", Timestamp(1)));
        let big = vec![0u8; MAX_HELD_BYTES + 1];
        assert!(!AckOrder::default().hold(Direction::ClientToServer, &hdr(1), &big, Timestamp(1)));
    }
}
