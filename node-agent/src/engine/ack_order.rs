//! Ordering the two directions of a connection by acknowledgement. Reassembly puts each direction
//! in order, but a capture can still show a response before the request it answers (reordering
//! on the way to the capture point). A segment that acknowledges bytes of the other direction that
//! have not been delivered yet is held back until they have been: data is delivered only after
//! the data it answers. Bounded: a segment waits at most `MAX_WAIT_SEGMENTS` later segments, and at
//! most `MAX_HELD` segments / `MAX_HELD_BYTES` bytes wait per connection.

use crate::dissect::Direction;
use crate::packet::TcpHeader;
use crate::time::Timestamp;
use std::collections::VecDeque;

pub const MAX_HELD: usize = 64;
pub const MAX_HELD_BYTES: usize = 1 << 20;
pub const MAX_WAIT_SEGMENTS: u64 = 64;

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

    /// Takes out the first held segment that may go now: its acknowledged bytes were delivered
    /// (`ready` says so), or it has waited long enough.
    pub fn release_one(&mut self, ready: impl Fn(&HeldSegment) -> bool) -> Option<HeldSegment> {
        let waited_out = |h: &HeldSegment| self.segments_seen.saturating_sub(h.held_at) >= MAX_WAIT_SEGMENTS;
        let i = self.held.iter().position(|h| ready(h) || waited_out(h))?;
        let h = self.held.remove(i)?;
        self.held_bytes -= h.payload.len();
        Some(h)
    }

    /// Takes out every held segment in arrival order (at close).
    pub fn drain(&mut self) -> Vec<HeldSegment> {
        self.held_bytes = 0;
        self.held.drain(..).collect()
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
        assert!(order.release_one(|_| false).is_none());
        for _ in 0..MAX_WAIT_SEGMENTS {
            order.tick();
        }
        assert_eq!(order.release_one(|_| false).map(|h| h.payload), Some(b"late".to_vec()));
        assert!(order.is_empty());
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
