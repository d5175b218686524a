//! One direction of a connection: maps sequence numbers to stream offsets, delivers bytes in
//! order, holds what arrives early, and decides when a hole is permanent.
//!
//! Invariants (checked by the tests): every held piece starts after `next` (so a piece at `next`
//! is always delivered at once), held pieces never overlap, and nothing is held at or beyond a
//! known FIN.

use super::budget::MemoryBudget;
use super::segment_buffer::{SegmentBuffer, Span};
use super::seq::{SeqSpace, MAX_WINDOW};
use super::{GapPolicy, Limits, ReassemblyStats, StreamEvent};
use crate::dissect::Direction;
use crate::time::Timestamp;

/// Consecutive segments with implausible sequence numbers (outside any window around the next
/// expected byte) after which a direction gives up on its old position and re-anchors on the
/// sender's current numbers: the capture lost so much that the stream moved on.
pub(crate) const RESYNC_AFTER: u32 = 8;

/// What a direction needs from its connection while it works.
pub(crate) struct Ctx<'a> {
    pub(crate) limits: &'a Limits,
    pub(crate) policy: &'a GapPolicy,
    pub(crate) budget: &'a mut MemoryBudget,
    pub(crate) stats: &'a mut ReassemblyStats,
    pub(crate) out: &'a mut dyn FnMut(StreamEvent<'_>),
}

#[derive(Clone, Copy, Debug)]
struct Fin {
    /// Stream offset of the FIN (one past the last data byte).
    offset: u64,
    ts: Timestamp,
}

/// A hole at `next` that the peer has acknowledged entirely, first noticed at segment `segment`
/// of the connection at capture time `ts`.
#[derive(Clone, Copy, Debug)]
struct HoleMark {
    next: u64,
    segment: u64,
    ts: Timestamp,
}

#[derive(Debug)]
pub(crate) struct HalfStream {
    dir: Direction,
    /// None until the direction's SYN or first segment carrying data or FIN.
    space: Option<SeqSpace>,
    /// Offset of the next byte to deliver (bytes before it were delivered or skipped).
    next: u64,
    fin: Option<Fin>,
    /// End was emitted.
    ended: bool,
    buf: SegmentBuffer,
    /// Highest plausible acknowledgement the peer sent for this direction.
    peer_ack: Option<u32>,
    hole_mark: Option<HoleMark>,
    implausible_run: u32,
}

impl HalfStream {
    pub(crate) fn new(dir: Direction) -> Self {
        HalfStream {
            dir,
            space: None,
            next: 0,
            fin: None,
            ended: false,
            buf: SegmentBuffer::default(),
            peer_ack: None,
            hole_mark: None,
            implausible_run: 0,
        }
    }

    pub(crate) fn is_open(&self) -> bool {
        self.space.is_some()
    }

    pub(crate) fn ended(&self) -> bool {
        self.ended
    }

    pub(crate) fn fin_seen(&self) -> bool {
        self.fin.is_some()
    }

    pub(crate) fn buffered_bytes(&self) -> usize {
        self.buf.bytes()
    }

    pub(crate) fn held_pieces(&self) -> usize {
        self.buf.pieces()
    }

    pub(crate) fn next_seq(&self) -> Option<u32> {
        Some(self.space?.seq_at(self.next))
    }

    /// A SYN with initial sequence number `isn`. False when it contradicts the stream already
    /// seen in this direction (the segment is then ignored).
    pub(crate) fn on_syn(&mut self, isn: u32) -> bool {
        let first = isn.wrapping_add(1);
        match self.space {
            Some(space) if space.seq_at(0) == first => true,
            Some(_) if !(self.next == 0 && self.buf.is_empty() && self.fin.is_none()) => false,
            _ => {
                // First SYN, or a SYN with a new ISN before anything was delivered: start over.
                self.space = Some(SeqSpace::starting_at(first));
                self.next = 0;
                self.hole_mark = None;
                true
            }
        }
    }

    /// Opens a direction whose SYN was not seen at the first segment carrying data or FIN.
    pub(crate) fn open_midstream(&mut self, seq: u32) {
        if self.space.is_none() {
            self.space = Some(SeqSpace::starting_at(seq));
        }
    }

    /// A keep-alive probe: at most one byte, one before the next expected byte. A direction not
    /// yet open recognises it by the peer having acknowledged that byte already.
    pub(crate) fn is_keepalive(&self, seq: u32, len: usize) -> bool {
        len <= 1
            && match self.space {
                Some(space) => seq == space.seq_at(self.next).wrapping_sub(1),
                None => len == 0 || self.peer_ack == Some(seq.wrapping_add(1)),
            }
    }

    /// An acknowledgement from the peer for this direction.
    pub(crate) fn on_ack(&mut self, ack: u32) {
        let plausible = |a: u32| match self.space {
            Some(space) => space.distance_from(self.next, a).abs() <= MAX_WINDOW,
            None => true,
        };
        if !plausible(ack) {
            return;
        }
        if self.peer_ack.is_none_or(|old| !plausible(old) || super::seq::after(ack, old)) {
            self.peer_ack = Some(ack);
        }
    }

    /// The peer's acknowledgement as a stream offset, when it is ahead of `next`.
    fn peer_ack_offset(&self) -> Option<u64> {
        let space = self.space?;
        let d = space.distance_from(self.next, self.peer_ack?);
        if d <= 0 || d > MAX_WINDOW {
            return None;
        }
        Some(self.next + d.unsigned_abs())
    }

    /// Whether a RST with sequence number `seq` from this direction is in window.
    pub(crate) fn rst_in_window(&self, seq: u32) -> bool {
        match self.space {
            Some(space) => (0..=MAX_WINDOW).contains(&space.distance_from(self.next, seq)),
            None => true,
        }
    }

    /// A segment carrying `payload` whose first byte has sequence number `seq`, with or without
    /// FIN. The direction is open.
    pub(crate) fn on_data(&mut self, ctx: &mut Ctx<'_>, seq: u32, payload: &[u8], fin: bool, ts: Timestamp) {
        let Some(space) = self.space else {
            ctx.stats.discarded_bytes += payload.len() as u64;
            return;
        };
        let len = payload.len() as u64;
        if space.distance_from(self.next, seq).abs() > MAX_WINDOW {
            self.implausible_run += 1;
            if self.ended || self.implausible_run < RESYNC_AFTER {
                ctx.stats.discarded_bytes += len;
                return;
            }
            self.resync(ctx, seq);
            if self.ended {
                ctx.stats.discarded_bytes += len;
                return;
            }
        }
        self.implausible_run = 0;
        let rel = space.distance_from(self.next, seq);
        // Offsets of the segment; it may start before offset 0 in a stream seen mid-way.
        let start = i128::from(self.next) + i128::from(rel);
        let end = start + i128::from(len);
        if fin {
            self.record_fin(ctx, end, ts);
        }
        let limit = self.fin.map_or(end, |f| i128::from(f.offset));
        let data_end = end.min(limit);
        let data_start = start.max(0);
        // Bytes past the FIN cannot be part of the stream.
        let beyond_fin = (end - data_end.max(start)).clamp(0, i128::from(len));
        ctx.stats.discarded_bytes += beyond_fin as u64;
        if data_start >= data_end {
            ctx.stats.duplicate_bytes += len - beyond_fin as u64;
        } else {
            let from = (data_start - start) as usize;
            let to = (data_end - start) as usize;
            match payload.get(from..to) {
                Some(data) => self.place(ctx, data_start as u64, data, ts, from as u64),
                None => ctx.stats.discarded_bytes += len - beyond_fin as u64,
            }
        }
        self.deliver_ready(ctx);
    }

    fn record_fin(&mut self, ctx: &mut Ctx<'_>, end: i128, ts: Timestamp) {
        if self.fin.is_some() {
            return;
        }
        match u64::try_from(end) {
            Ok(offset) if offset >= self.next => {
                self.fin = Some(Fin { offset, ts });
                let (bytes, pieces) = self.buf.truncate_from(offset);
                ctx.budget.release(SegmentBuffer::cost(bytes, pieces));
                ctx.stats.discarded_bytes += bytes as u64;
            }
            // A FIN before bytes already delivered contradicts the stream: ignore it.
            _ => {}
        }
    }

    /// Delivers or holds `data` (stream offsets from `start`); `known` bytes of the segment were
    /// already found to be old.
    fn place(&mut self, ctx: &mut Ctx<'_>, mut start: u64, mut data: &[u8], ts: Timestamp, mut known: u64) {
        let mut new = 0u64;
        loop {
            let end = start + data.len() as u64;
            if end <= self.next {
                known += data.len() as u64;
                break;
            }
            if start < self.next {
                let old = self.next - start;
                known += old;
                data = data.get(old as usize..).unwrap_or_default();
                start = self.next;
            }
            if start == self.next {
                let fresh = self.deliver_in_order(ctx, data, ts);
                new += fresh;
                known += data.len() as u64 - fresh;
                break;
            }
            match self.hold(ctx, start, data, ts) {
                Some(fresh) => {
                    new += fresh;
                    known += data.len() as u64 - fresh;
                    if fresh > 0 {
                        ctx.stats.out_of_order_segments += 1;
                    }
                    break;
                }
                // No room: give up on the hole before this segment or before the first held
                // piece, whichever is first, and try again.
                None => {
                    let target = self.buf.first_start().map_or(start, |h| h.min(start));
                    if target <= self.next {
                        // Cannot happen while held pieces start after `next`; never loop on it.
                        debug_assert!(false, "held piece at or before next");
                        ctx.stats.discarded_bytes += data.len() as u64;
                        break;
                    }
                    self.skip_to(ctx, target, true);
                }
            }
        }
        if new == 0 {
            ctx.stats.duplicate_bytes += known;
        } else {
            ctx.stats.overlap_bytes += known;
        }
    }

    /// Delivers `data`, which starts at `next`, letting held bytes it overlaps win. Returns the
    /// bytes of `data` delivered.
    fn deliver_in_order(&mut self, ctx: &mut Ctx<'_>, data: &[u8], ts: Timestamp) -> u64 {
        let start = self.next;
        let end = start + data.len() as u64;
        let mut fresh = 0u64;
        while self.next < end {
            match self.buf.first_start() {
                Some(held) if held <= self.next => {
                    debug_assert_eq!(held, self.next, "held piece before next");
                    self.deliver_first_piece(ctx);
                }
                held => {
                    let stop = held.map_or(end, |h| h.min(end));
                    if stop <= self.next {
                        break;
                    }
                    let Some(chunk) = data.get((self.next - start) as usize..(stop - start) as usize) else {
                        break;
                    };
                    fresh += chunk.len() as u64;
                    self.emit_data(ctx, chunk, ts);
                }
            }
        }
        fresh
    }

    /// Holds the parts of `data` (at `start`, after `next`) not held yet. Returns the new bytes
    /// held, or None when a limit leaves no room for them (nothing is held then).
    fn hold(&mut self, ctx: &mut Ctx<'_>, start: u64, data: &[u8], ts: Timestamp) -> Option<u64> {
        let mut parts = Vec::new();
        self.buf.uncovered(Span { start, end: start + data.len() as u64 }, &mut parts);
        let fresh: usize = parts.iter().map(|p| p.len() as usize).sum();
        if fresh == 0 {
            return Some(0);
        }
        let fits = self.buf.bytes().saturating_add(fresh) <= ctx.limits.max_buffered_per_direction
            && self.buf.pieces().saturating_add(parts.len()) <= ctx.limits.max_segments_per_direction
            && ctx.budget.try_charge(SegmentBuffer::cost(fresh, parts.len()));
        if !fits {
            return None;
        }
        for part in parts {
            let from = (part.start - start) as usize;
            let to = (part.end - start) as usize;
            if let Some(chunk) = data.get(from..to) {
                self.buf.insert(part.start, chunk, ts);
            }
        }
        Some(fresh as u64)
    }

    fn emit_data(&mut self, ctx: &mut Ctx<'_>, data: &[u8], ts: Timestamp) {
        if data.is_empty() {
            return;
        }
        (ctx.out)(StreamEvent::Data { dir: self.dir, data, ts });
        ctx.stats.bytes_delivered += data.len() as u64;
        self.next += data.len() as u64;
    }

    fn deliver_first_piece(&mut self, ctx: &mut Ctx<'_>) {
        if let Some((_, piece)) = self.buf.pop_first() {
            ctx.budget.release(SegmentBuffer::cost(piece.data.len(), 1));
            self.emit_data(ctx, &piece.data, piece.ts);
        }
    }

    /// Delivers held pieces that are now in order, then End when the FIN is reached.
    fn deliver_ready(&mut self, ctx: &mut Ctx<'_>) {
        while self.buf.first_start() == Some(self.next) {
            self.deliver_first_piece(ctx);
        }
        if let Some(fin) = self.fin {
            if !self.ended && self.next >= fin.offset {
                self.ended = true;
                self.hole_mark = None;
                (ctx.out)(StreamEvent::End { dir: self.dir, ts: fin.ts });
                self.discard_held(ctx);
            }
        }
    }

    /// Declares the bytes from `next` to `target` lost, then delivers what follows them.
    fn skip_to(&mut self, ctx: &mut Ctx<'_>, target: u64, by_limit: bool) {
        if target > self.next {
            let len = target - self.next;
            (ctx.out)(StreamEvent::Gap { dir: self.dir, len });
            ctx.stats.gaps += 1;
            ctx.stats.gap_bytes += len;
            if by_limit {
                ctx.stats.dropped_by_limit_bytes += len;
            }
            self.next = target;
            self.hole_mark = None;
        }
        self.deliver_ready(ctx);
    }

    /// Applies the acknowledgement rule to the hole at `next`, if any: a hole is given up on once
    /// the peer has acknowledged all of it and it has then persisted, without `next` moving, for
    /// `policy.confirm_segments` segments of the connection or `policy.confirm_nanos` of capture
    /// time. `segment` numbers the current segment within the connection.
    pub(crate) fn check_hole(&mut self, ctx: &mut Ctx<'_>, segment: u64, ts: Timestamp) {
        let Some(hole_end) = self.acknowledged_hole_end() else {
            self.hole_mark = None;
            return;
        };
        if let Some(mark) = self.hole_mark.filter(|m| m.next == self.next) {
            let segments = segment.saturating_sub(mark.segment);
            let nanos = ts.as_nanos().saturating_sub(mark.ts.as_nanos());
            if segments < ctx.policy.confirm_segments && nanos < ctx.policy.confirm_nanos {
                return;
            }
            self.skip_to(ctx, hole_end, false);
            if self.acknowledged_hole_end().is_none() {
                return;
            }
            // The same acknowledgement covers the next hole too: time it from now.
        }
        self.hole_mark = Some(HoleMark { next: self.next, segment, ts });
    }

    /// End of the hole at `next` when there is one (data or the FIN seen after it) and the peer
    /// has acknowledged all of it.
    fn acknowledged_hole_end(&self) -> Option<u64> {
        if self.ended {
            return None;
        }
        let hole_end = match (self.buf.first_start(), self.fin) {
            (Some(held), _) => held,
            (None, Some(fin)) if fin.offset > self.next => fin.offset,
            _ => return None,
        };
        self.peer_ack_offset().filter(|&ack| ack >= hole_end).map(|_| hole_end)
    }

    /// Delivers everything held, holes becoming gaps, up to the FIN if it was seen.
    pub(crate) fn flush(&mut self, ctx: &mut Ctx<'_>) {
        while let Some(held) = self.buf.first_start() {
            if held > self.next {
                self.skip_to(ctx, held, false);
            } else {
                self.deliver_first_piece(ctx);
                self.deliver_ready(ctx);
            }
        }
        if let Some(fin) = self.fin {
            self.skip_to(ctx, fin.offset, false);
        }
        self.hole_mark = None;
    }

    /// Drops everything held (counted as discarded).
    pub(crate) fn discard_held(&mut self, ctx: &mut Ctx<'_>) {
        let charged = self.buf.charged();
        let (bytes, _) = self.buf.clear();
        ctx.budget.release(charged);
        ctx.stats.discarded_bytes += bytes as u64;
    }

    /// Re-anchors on sequence number `seq` after the capture lost track of the stream: delivers
    /// what is held, then skips to `seq`. The skipped length is only known modulo 2^32.
    fn resync(&mut self, ctx: &mut Ctx<'_>, seq: u32) {
        self.flush(ctx);
        if let (false, Some(space)) = (self.ended, self.space) {
            let len = u64::from(seq.wrapping_sub(space.seq_at(self.next)));
            self.skip_to(ctx, self.next + len, false);
        }
        self.implausible_run = 0;
    }
}
