//! TCP stream reassembly, per connection and direction.
//!
//! The engine owns the flow table, decides which side is the client and feeds every TCP segment
//! of a connection to its [`TcpReassembler`], which turns them into each direction's bytes in
//! order ([`StreamEvent`]s), whatever the capture did to the packets: reordering, duplicates,
//! overlapping re-sends with other boundaries, losses.
//!
//! # Rules
//!
//! * **Start.** A SYN fixes a direction's initial sequence number; its data starts one after it
//!   (a SYN may carry data, TCP Fast Open). A retransmitted SYN is a no-op; a SYN with a new ISN is
//!   only accepted while nothing was delivered. Without a SYN (connection already open when the
//!   capture started) a direction starts at its first segment carrying data or FIN; pure ACKs and
//!   keep-alives do not start it, as their sequence number is one off.
//! * **Order.** All comparisons are modulo 2^32 around the next expected byte, so sequence
//!   numbers wrap freely. Early segments are held (bounded, see [`Limits`] and [`MemoryBudget`])
//!   and delivered as soon as they are contiguous. Each byte is delivered once, and the first copy
//!   seen wins: re-sent bytes, exact duplicates and keep-alive probes are dropped and counted.
//!   The in-order path hands the segment's own slice to the caller without copying.
//! * **Gaps.** A hole (bytes missing before held data or before the FIN) is declared permanent,
//!   with a [`StreamEvent::Gap`], when
//!   1. the peer has acknowledged the whole hole, *and* the hole then persisted, with no progress
//!      in its direction, for [`GapPolicy::confirm_segments`] further segments of the connection
//!      (default 64) or [`GapPolicy::confirm_nanos`] of capture time (default 1 s). A capture can
//!      show an ACK before the data it acknowledges, so the ACK alone proves nothing. If the
//!      capture moves packets by up to k places, an ACK can come up to 2k segments before the
//!      last of the data it covers, so the default tolerates reordering across 31 packets; in
//!      time, reordering within a capture spans milliseconds. Without the ACK the bytes are in
//!      flight or being retransmitted, so the hole is waited for however long it lasts; or
//!   2. holding a new early segment would exceed the per-direction [`Limits`] or the shared
//!      [`MemoryBudget`]: the oldest hole is skipped at once (`dropped_by_limit_bytes`); or
//!   3. [`TcpReassembler::flush`] is called (idle timeout, end of capture, or a connection that
//!      [`TcpReassembler::is_closing`] after a lingering delay): every hole goes.
//!
//!   Missing bytes at the very end of a direction with nothing seen after them are never
//!   reported. A direction whose segments all land implausibly far from the stream (eight in a
//!   row, beyond any TCP window) re-anchors on them with a gap whose length is only known modulo
//!   2^32: the capture lost track of a fast connection.
//! * **End.** [`StreamEvent::End`] comes when the FIN's sequence number is reached in order;
//!   bytes sent beyond a FIN are discarded. A RST from its sender's window produces
//!   [`StreamEvent::Reset`] (contiguous bytes were delivered already), discards everything held
//!   and ends the connection: later segments are ignored.

mod budget;
mod half;
mod segment_buffer;
mod seq;
mod stats;

#[cfg(test)]
mod property_tests;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

pub use budget::{MemoryBudget, SEGMENT_OVERHEAD};
pub use stats::ReassemblyStats;

use crate::dissect::Direction;
use crate::packet::TcpHeader;
use crate::time::Timestamp;
use half::{Ctx, HalfStream};

/// Per-connection bounds on held out-of-order data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Out-of-order payload bytes held per direction (default 4 MiB).
    pub max_buffered_per_direction: usize,
    /// Out-of-order pieces held per direction (default 4096).
    pub max_segments_per_direction: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_buffered_per_direction: 4 << 20, max_segments_per_direction: 4096 }
    }
}

/// When an acknowledged hole is given up on (rule 1 of the [module docs](self)): after whichever
/// comes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GapPolicy {
    /// Segments of the connection (both directions) seen since the hole was acknowledged.
    pub confirm_segments: u64,
    /// Capture time since the hole was acknowledged, in nanoseconds.
    pub confirm_nanos: u64,
}

impl Default for GapPolicy {
    fn default() -> Self {
        GapPolicy { confirm_segments: 64, confirm_nanos: 1_000_000_000 }
    }
}

/// What reassembly hands out, in order within each direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamEvent<'a> {
    /// The next in-order bytes of `dir`; `ts` is the capture time of the segment carrying them.
    Data { dir: Direction, data: &'a [u8], ts: Timestamp },
    /// `len` bytes of `dir` were never captured; data resumes after them.
    Gap { dir: Direction, len: u64 },
    /// `dir`'s FIN reached in order.
    End { dir: Direction, ts: Timestamp },
    /// RST accepted (in window). Nothing follows.
    Reset { ts: Timestamp },
}

/// Reassembly state of one TCP connection. Holds no heap memory while segments arrive in order.
#[derive(Debug)]
pub struct TcpReassembler {
    limits: Limits,
    policy: GapPolicy,
    halves: [HalfStream; 2],
    stats: ReassemblyStats,
    reset: bool,
    /// The direction whose RST reset the connection (an index of `halves`).
    reset_by: usize,
}

impl TcpReassembler {
    pub fn new(limits: Limits) -> Self {
        Self::with_gap_policy(limits, GapPolicy::default())
    }

    pub fn with_gap_policy(limits: Limits, policy: GapPolicy) -> Self {
        TcpReassembler {
            limits,
            policy,
            halves: [HalfStream::new(Direction::ClientToServer), HalfStream::new(Direction::ServerToClient)],
            stats: ReassemblyStats::default(),
            reset: false,
            reset_by: 0,
        }
    }

    /// `dir` is the direction of this segment as the engine labels it.
    pub fn on_segment(
        &mut self,
        dir: Direction,
        tcp: &TcpHeader,
        payload: &[u8],
        ts: Timestamp,
        budget: &mut MemoryBudget,
        out: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        self.stats.segments += 1;
        let segment = self.stats.segments;
        let len = payload.len() as u64;
        if self.reset {
            // After a reset only the bytes that continue the other side's stream exactly are new:
            // a request the peer sent before its stack saw the RST, which the capture put after
            // it (a reordering). Copies of delivered bytes, anything after a hole, and data from
            // the side that reset are discarded.
            let from_peer = dir.index() & 1 != self.reset_by;
            let half = &mut self.halves[dir.index() & 1];
            let continues = !half.ended() && half.next_seq() == Some(tcp.seq);
            if from_peer && !tcp.rst && !tcp.syn && len > 0 && continues {
                let mut ctx = Ctx { limits: &self.limits, policy: &self.policy, budget, stats: &mut self.stats, out };
                half.on_data(&mut ctx, tcp.seq, payload, false, ts);
            } else {
                self.stats.discarded_bytes += len;
            }
            return;
        }
        let TcpReassembler { limits, policy, halves, stats, reset, reset_by } = self;
        let mut ctx = Ctx { limits, policy, budget, stats, out };
        if tcp.rst {
            if halves[dir.index() & 1].rst_in_window(tcp.seq) {
                for half in halves.iter_mut() {
                    half.discard_held(&mut ctx);
                }
                *reset = true;
                *reset_by = dir.index() & 1;
                (ctx.out)(StreamEvent::Reset { ts });
            }
            ctx.stats.discarded_bytes += len;
            return;
        }
        let [client, server] = halves;
        let (this, peer) = match dir {
            Direction::ClientToServer => (client, server),
            Direction::ServerToClient => (server, client),
        };
        let data_seq = if tcp.syn { tcp.seq.wrapping_add(1) } else { tcp.seq };
        if tcp.syn && !this.on_syn(tcp.seq) {
            ctx.stats.discarded_bytes += len;
            return;
        }
        if !tcp.syn && !tcp.fin && this.is_keepalive(tcp.seq, payload.len()) {
            ctx.stats.duplicate_bytes += len;
        } else if len > 0 || tcp.fin {
            this.open_midstream(data_seq);
            this.on_data(&mut ctx, data_seq, payload, tcp.fin, ts);
        }
        if tcp.ack_flag {
            peer.on_ack(tcp.ack);
        }
        this.check_hole(&mut ctx, segment, ts);
        peer.check_hole(&mut ctx, segment, ts);
    }

    /// Delivers everything still held (holes become Gap events, a FIN after them End), e.g. at
    /// idle timeout or end of capture; nothing is held afterwards. Segments may still follow.
    pub fn flush(&mut self, budget: &mut MemoryBudget, out: &mut dyn FnMut(StreamEvent<'_>)) {
        if self.reset {
            // Nothing is held after a reset, and nothing may follow it (not even End).
            return;
        }
        let TcpReassembler { limits, policy, halves, stats, .. } = self;
        let mut ctx = Ctx { limits, policy, budget, stats, out };
        for half in halves.iter_mut() {
            half.flush(&mut ctx);
        }
    }

    /// Drops everything held without delivering it (counted as discarded), e.g. when the engine
    /// evicts the connection.
    pub fn discard(&mut self, budget: &mut MemoryBudget) {
        let TcpReassembler { limits, policy, halves, stats, .. } = self;
        let mut out = |_: StreamEvent<'_>| {};
        let mut ctx = Ctx { limits, policy, budget, stats, out: &mut out };
        for half in halves.iter_mut() {
            half.discard_held(&mut ctx);
        }
    }

    /// Both directions ended (their FINs reached in order), or the connection was reset.
    pub fn is_finished(&self) -> bool {
        self.reset || self.halves.iter().all(HalfStream::ended)
    }

    /// Both FINs were seen, whether or not holes before them were resolved, or the connection was
    /// reset. A closing connection that is not finished is waiting for lost bytes: the engine may
    /// [flush](Self::flush) it after a short linger instead of a full idle timeout.
    pub fn is_closing(&self) -> bool {
        self.reset || self.halves.iter().all(HalfStream::fin_seen)
    }

    /// Out-of-order payload bytes held (both directions).
    pub fn buffered_bytes(&self) -> usize {
        self.halves.iter().map(HalfStream::buffered_bytes).sum()
    }

    /// Out-of-order pieces held (both directions).
    pub fn buffered_pieces(&self) -> usize {
        self.halves.iter().map(HalfStream::held_pieces).sum()
    }

    /// What this connection holds against the [`MemoryBudget`].
    pub fn charged_bytes(&self) -> usize {
        self.buffered_bytes().saturating_add(self.buffered_pieces().saturating_mul(SEGMENT_OVERHEAD))
    }

    /// Per-connection counters.
    pub fn stats(&self) -> ReassemblyStats {
        self.stats
    }

    /// Whether `dir` has been started (by its SYN or first data).
    pub fn is_open(&self, dir: Direction) -> bool {
        self.halves[dir.index() & 1].is_open()
    }

    /// Sequence number of the next byte `dir` will deliver, once the direction is open.
    pub fn next_seq(&self, dir: Direction) -> Option<u32> {
        self.halves[dir.index() & 1].next_seq()
    }
}
