//! Test support: a deterministic PRNG, a generator of TCP conversations with consistent sequence
//! and acknowledgement numbers, the distortions a capture inflicts on them (reordering,
//! duplicates, re-sends with other boundaries, losses), and a collector that checks what the
//! reassembler hands out.

use super::{Limits, MemoryBudget, StreamEvent, TcpReassembler};
use crate::dissect::Direction;
use crate::packet::TcpHeader;
use crate::time::Timestamp;

pub(crate) const C2S: Direction = Direction::ClientToServer;
pub(crate) const S2C: Direction = Direction::ServerToClient;

/// SplitMix64: small, fast, good enough to drive tests, and the same on every platform.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below((hi - lo + 1) as u64) as usize
    }

    /// True with probability `num / den`.
    pub(crate) fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }

    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// A TCP header with only the given flags set.
pub(crate) fn hdr(seq: u32, ack: Option<u32>) -> TcpHeader {
    TcpHeader { seq, ack: ack.unwrap_or(0), syn: false, ack_flag: ack.is_some(), fin: false, rst: false, window: 65535 }
}

/// One captured segment.
#[derive(Clone, Debug)]
pub(crate) struct Seg {
    pub(crate) dir: Direction,
    pub(crate) tcp: TcpHeader,
    pub(crate) payload: Vec<u8>,
    pub(crate) ts: Timestamp,
    /// Stream offset of the first payload byte in its direction.
    pub(crate) offset: u64,
}

impl Seg {
    fn end(&self) -> u64 {
        self.offset + self.payload.len() as u64
    }
}

#[derive(Clone, Debug)]
pub(crate) struct ConvConfig {
    pub(crate) sizes: [usize; 2],
    pub(crate) max_seg: usize,
    /// Start with SYN / SYN-ACK (else the capture starts mid-connection).
    pub(crate) handshake: bool,
    /// End with FIN from both sides and the last ACK.
    pub(crate) close: bool,
    /// Sequence number of each direction's first payload byte.
    pub(crate) first_seq: [u32; 2],
}

impl ConvConfig {
    /// A random conversation shape; a third of them cross 2^32 in at least one direction.
    pub(crate) fn random(rng: &mut Rng) -> Self {
        let sizes = [rng.range(0, 12_000), rng.range(0, 24_000)];
        let max_seg = *[1usize, 7, 100, 536, 1460].get(rng.range(0, 4)).unwrap_or(&1460);
        let mut first_seq = [rng.next_u64() as u32, rng.next_u64() as u32];
        if rng.chance(1, 3) {
            for (seq, size) in first_seq.iter_mut().zip(sizes) {
                *seq = u32::MAX.wrapping_sub(rng.below(size as u64 + 1) as u32);
            }
        }
        ConvConfig { sizes, max_seg, handshake: true, close: true, first_seq }
    }
}

/// A conversation as sent, in send order.
#[derive(Clone, Debug)]
pub(crate) struct Conversation {
    pub(crate) streams: [Vec<u8>; 2],
    pub(crate) segments: Vec<Seg>,
    /// Segments at the front that distortions leave in place (the handshake).
    pub(crate) pinned: usize,
}

/// Generates a conversation: both sides send their stream in segments of 1..=max_seg bytes in
/// random interleaving, each segment acknowledging everything the peer sent before it, with
/// occasional pure ACKs. Segment i has capture time i ms.
pub(crate) fn conversation(rng: &mut Rng, cfg: &ConvConfig) -> Conversation {
    let streams = [rng.bytes(cfg.sizes[0]), rng.bytes(cfg.sizes[1])];
    let mut segments = Vec::new();
    let mut sent = [0usize; 2];
    let seq_at = |d: usize, off: usize| cfg.first_seq[d].wrapping_add(off as u32);
    let push = |segments: &mut Vec<Seg>, d: usize, tcp: TcpHeader, payload: Vec<u8>, offset: usize| {
        let ts = Timestamp(segments.len() as u64 * 1_000_000);
        let dir = if d == 0 { C2S } else { S2C };
        segments.push(Seg { dir, tcp, payload, ts, offset: offset as u64 });
    };
    let mut pinned = 0;
    if cfg.handshake {
        let syn = TcpHeader { syn: true, ..hdr(seq_at(0, 0).wrapping_sub(1), None) };
        push(&mut segments, 0, syn, Vec::new(), 0);
        let syn_ack = TcpHeader { syn: true, ..hdr(seq_at(1, 0).wrapping_sub(1), Some(seq_at(0, 0))) };
        push(&mut segments, 1, syn_ack, Vec::new(), 0);
        pinned = 2;
    }
    let mut d = 0;
    while sent[0] < streams[0].len() || sent[1] < streams[1].len() {
        // Bursts: switch sides now and then, or when this side is done.
        if rng.chance(1, 3) || sent[d] == streams[d].len() {
            d = 1 - d;
        }
        let peer = 1 - d;
        let ack = Some(seq_at(peer, sent[peer]));
        if sent[d] == streams[d].len() {
            push(&mut segments, d, hdr(seq_at(d, sent[d]), ack), Vec::new(), sent[d]);
            continue;
        }
        let len = rng.range(1, cfg.max_seg).min(streams[d].len() - sent[d]);
        let payload = streams[d].get(sent[d]..sent[d] + len).unwrap_or_default().to_vec();
        push(&mut segments, d, hdr(seq_at(d, sent[d]), ack), payload, sent[d]);
        sent[d] += len;
        if rng.chance(1, 4) {
            push(&mut segments, peer, hdr(seq_at(peer, sent[peer]), Some(seq_at(d, sent[d]))), Vec::new(), sent[peer]);
        }
    }
    if cfg.close {
        let fin_c = TcpHeader { fin: true, ..hdr(seq_at(0, sent[0]), Some(seq_at(1, sent[1]))) };
        push(&mut segments, 0, fin_c, Vec::new(), sent[0]);
        let fin_s = TcpHeader { fin: true, ..hdr(seq_at(1, sent[1]), Some(seq_at(0, sent[0] + 1))) };
        push(&mut segments, 1, fin_s, Vec::new(), sent[1]);
        push(&mut segments, 0, hdr(seq_at(0, sent[0] + 1), Some(seq_at(1, sent[1] + 1))), Vec::new(), sent[0] + 1);
    }
    Conversation { streams, segments, pinned }
}

/// Shuffles the segments after the pinned ones within consecutive windows of `window` segments,
/// so that no segment moves by `window` places or more.
pub(crate) fn reorder(rng: &mut Rng, conv: &mut Conversation, window: usize) {
    let pinned = conv.pinned.min(conv.segments.len());
    let (_, rest) = conv.segments.split_at_mut(pinned);
    for chunk in rest.chunks_mut(window.max(1)) {
        rng.shuffle(chunk);
    }
}

/// Inserts an exact copy of about one segment in `one_in` a few places after it (copies may
/// repeat). Returns the payload bytes added.
pub(crate) fn duplicate(rng: &mut Rng, conv: &mut Conversation, one_in: u64) -> u64 {
    let mut out = Vec::with_capacity(conv.segments.len() * 2);
    let mut pending: Vec<(usize, Seg)> = Vec::new();
    let mut added = 0u64;
    for (i, seg) in conv.segments.drain(..).enumerate() {
        if i >= conv.pinned && rng.chance(1, one_in) {
            let copies = rng.range(1, 2);
            for _ in 0..copies {
                added += seg.payload.len() as u64;
                pending.push((i + rng.range(0, 6), seg.clone()));
            }
        }
        out.push(seg);
        pending.retain(|(at, s)| {
            let due = *at <= i;
            if due {
                out.push(s.clone());
            }
            !due
        });
    }
    out.extend(pending.into_iter().map(|(_, s)| s));
    conv.segments = out;
    added
}

/// Adds re-sends of random byte ranges of each direction, with boundaries unrelated to the
/// original segments (spanning, cutting and overlapping them), each a few places after the
/// original segment that carried its last byte. Returns the payload bytes added.
pub(crate) fn resegment(rng: &mut Rng, conv: &mut Conversation, count: usize, max_len: usize) -> u64 {
    let mut added = 0u64;
    for _ in 0..count {
        let d = rng.range(0, 1);
        let stream = &conv.streams[d];
        if stream.is_empty() {
            continue;
        }
        let start = rng.range(0, stream.len() - 1);
        let end = (start + rng.range(1, max_len)).min(stream.len());
        let dir = if d == 0 { C2S } else { S2C };
        // The original segment carrying byte end-1: the re-send copies its header.
        let Some(pos) = conv
            .segments
            .iter()
            .position(|s| s.dir == dir && s.offset < end as u64 && s.end() >= end as u64 && !s.payload.is_empty())
        else {
            continue;
        };
        let Some(orig) = conv.segments.get(pos) else {
            continue;
        };
        let mut seg = orig.clone();
        let shift = (orig.offset as i64 - start as i64) as u32;
        seg.tcp.seq = orig.tcp.seq.wrapping_sub(shift);
        seg.tcp.fin = false;
        seg.offset = start as u64;
        seg.payload = stream.get(start..end).unwrap_or_default().to_vec();
        added += seg.payload.len() as u64;
        let at = (pos + 1 + rng.range(0, 8)).min(conv.segments.len());
        conv.segments.insert(at, seg);
    }
    added
}

/// Removes `count` random segments that carry only data (never SYN or FIN). Returns the removed
/// byte ranges of each direction, merged into maximal runs and sorted.
pub(crate) fn lose(rng: &mut Rng, conv: &mut Conversation, count: usize) -> [Vec<(u64, u64)>; 2] {
    let mut lost: [Vec<(u64, u64)>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..count {
        let candidates: Vec<usize> = (0..conv.segments.len())
            .filter(|&i| conv.segments.get(i).is_some_and(|s| !s.payload.is_empty() && !s.tcp.syn && !s.tcp.fin))
            .collect();
        if candidates.is_empty() {
            break;
        }
        let pick = candidates.get(rng.below(candidates.len() as u64) as usize).copied().unwrap_or(0);
        let seg = conv.segments.remove(pick);
        lost[seg.dir.index()].push((seg.offset, seg.end()));
    }
    for ranges in &mut lost {
        ranges.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::new();
        for &(s, e) in ranges.iter() {
            match merged.last_mut() {
                Some(last) if last.1 == s => last.1 = e,
                _ => merged.push((s, e)),
            }
        }
        *ranges = merged;
    }
    lost
}

/// What one direction delivered, with consecutive data merged (segment boundaries do not matter).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Out {
    Data(Vec<u8>),
    Gap(u64),
    End,
}

/// The expected output of a direction: `stream` with the `lost` ranges as gaps, then End if
/// `ended`.
pub(crate) fn expected(stream: &[u8], lost: &[(u64, u64)], ended: bool) -> Vec<Out> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    for &(s, e) in lost {
        if s as usize > pos {
            out.push(Out::Data(stream.get(pos..s as usize).unwrap_or_default().to_vec()));
        }
        out.push(Out::Gap(e - s));
        pos = e as usize;
    }
    if pos < stream.len() {
        out.push(Out::Data(stream.get(pos..).unwrap_or_default().to_vec()));
    }
    if ended {
        out.push(Out::End);
    }
    out
}

/// Collects events, checking on the way that nothing follows a direction's End or a Reset.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    pub(crate) dirs: [Vec<Out>; 2],
    pub(crate) resets: Vec<Timestamp>,
    /// (direction, length, capture time) of every Data event.
    pub(crate) data_events: Vec<(Direction, usize, Timestamp)>,
    pub(crate) violations: Vec<String>,
}

impl Collector {
    pub(crate) fn push(&mut self, ev: StreamEvent<'_>) {
        // After a reset only data may come: the other side's exact continuation (bytes it sent
        // before it saw the RST, captured after it); no gap, no end, no second reset.
        if !self.resets.is_empty() && !matches!(ev, StreamEvent::Data { .. }) {
            self.violations.push(format!("{ev:?} after reset"));
        }
        let (dir, item) = match ev {
            StreamEvent::Data { dir, data, ts } => {
                if data.is_empty() {
                    self.violations.push("empty data event".into());
                }
                self.data_events.push((dir, data.len(), ts));
                (dir, Out::Data(data.to_vec()))
            }
            StreamEvent::Gap { dir, len } => {
                if len == 0 {
                    self.violations.push("empty gap".into());
                }
                (dir, Out::Gap(len))
            }
            StreamEvent::End { dir, .. } => (dir, Out::End),
            StreamEvent::Reset { ts } => {
                self.resets.push(ts);
                return;
            }
        };
        let list = &mut self.dirs[dir.index()];
        if list.last() == Some(&Out::End) {
            self.violations.push(format!("{item:?} after End in {dir:?}"));
        }
        match (list.last_mut(), item) {
            (Some(Out::Data(prev)), Out::Data(more)) => prev.extend_from_slice(&more),
            (_, item) => list.push(item),
        }
    }
}

/// A reassembler, its budget and a collector, fed segment by segment with the memory invariants
/// checked after every call.
pub(crate) struct Harness {
    pub(crate) r: TcpReassembler,
    pub(crate) budget: MemoryBudget,
    pub(crate) got: Collector,
    pub(crate) limits: Limits,
    pub(crate) payload_bytes: u64,
}

impl Harness {
    pub(crate) fn new(limits: Limits) -> Self {
        Self::with_reassembler(TcpReassembler::new(limits), limits, MemoryBudget::default())
    }

    pub(crate) fn with_reassembler(r: TcpReassembler, limits: Limits, budget: MemoryBudget) -> Self {
        Harness { r, budget, got: Collector::default(), limits, payload_bytes: 0 }
    }

    pub(crate) fn seg(&mut self, dir: Direction, tcp: TcpHeader, payload: &[u8], ts: Timestamp) {
        self.payload_bytes += payload.len() as u64;
        let got = &mut self.got;
        self.r.on_segment(dir, &tcp, payload, ts, &mut self.budget, &mut |ev| got.push(ev));
        self.check_memory();
    }

    pub(crate) fn feed(&mut self, segments: &[Seg]) {
        for s in segments {
            self.seg(s.dir, s.tcp, &s.payload, s.ts);
        }
    }

    pub(crate) fn flush(&mut self) {
        let got = &mut self.got;
        self.r.flush(&mut self.budget, &mut |ev| got.push(ev));
        self.check_memory();
        assert_eq!(self.r.buffered_bytes(), 0, "flush left bytes held");
        assert_eq!(self.budget.used(), 0, "flush left budget charged");
    }

    /// Memory is bounded and accounted for.
    pub(crate) fn check_memory(&self) {
        assert_eq!(self.budget.used(), self.r.charged_bytes(), "budget out of step with what is held");
        assert!(self.budget.used() <= self.budget.limit());
        assert!(self.r.buffered_bytes() <= 2 * self.limits.max_buffered_per_direction);
        assert!(self.r.buffered_pieces() <= 2 * self.limits.max_segments_per_direction);
        assert!(self.got.violations.is_empty(), "{:?}", self.got.violations);
    }

    /// Every payload byte given is delivered, counted as duplicate, overlap or discarded, or held.
    pub(crate) fn check_accounting(&self) {
        let s = self.r.stats();
        let accounted = s.bytes_delivered
            + s.duplicate_bytes
            + s.overlap_bytes
            + s.discarded_bytes
            + self.r.buffered_bytes() as u64;
        assert_eq!(accounted, self.payload_bytes, "bytes unaccounted for: {s:?}");
    }
}
