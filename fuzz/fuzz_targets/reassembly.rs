#![no_main]
//! Feeds the reassembler arbitrary segments over a fixed byte pattern and checks its invariants:
//! every delivered byte is the pattern byte of its sequence number, was sent by some segment and is
//! delivered once; nothing follows End; after Reset only data that continues a direction exactly
//! (nothing else); memory stays within the limits and the budget
//! matches what is held; every payload byte is accounted for; flush leaves nothing held.
//!
//! Input: a 16-byte header (ISNs, limits, budget, gap policy), then 8-byte records, one segment
//! each: flags, sequence offset from the direction's ISN, length, acknowledgement offset from the
//! peer's ISN, time step.

use libfuzzer_sys::fuzz_target;
use node_agent::dissect::Direction;
use node_agent::packet::TcpHeader;
use node_agent::reassembly::{GapPolicy, Limits, MemoryBudget, StreamEvent, TcpReassembler};
use node_agent::Timestamp;

/// Sequence offsets reachable from an ISN: 16-bit offset plus a length below 2048.
const SPAN: usize = (1 << 16) + 2048;

/// The byte every segment of `dir` carries at sequence number `seq`.
fn pattern(dir: usize, seq: u32) -> u8 {
    let mut x = u64::from(seq) ^ ((dir as u64) << 40);
    x = (x ^ (x >> 17)).wrapping_mul(0xED5A_D4BB_AC4C_1B51);
    (x ^ (x >> 29)) as u8
}

struct Side {
    isn: u32,
    /// Sequence offsets (from `isn`) some segment carried.
    sent: Vec<bool>,
    /// Sequence offsets delivered.
    delivered: Vec<bool>,
    ended: bool,
}

impl Side {
    fn new(isn: u32) -> Self {
        Side { isn, sent: vec![false; SPAN], delivered: vec![false; SPAN], ended: false }
    }
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b.get(i).copied().unwrap_or(0), b.get(i + 1).copied().unwrap_or(0)])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from(u16_at(b, i)) | (u32::from(u16_at(b, i + 2)) << 16)
}

/// Checks one call's events for `dir`, which were delivered starting at sequence number `start`.
fn check_events(side: &mut Side, dir: usize, start: u32, events: &[Ev]) {
    let mut seq = start;
    for ev in events {
        match ev {
            Ev::Data(bytes) => {
                assert!(!side.ended, "data after End");
                assert!(!bytes.is_empty(), "empty Data");
                for &b in bytes {
                    let off = seq.wrapping_sub(side.isn) as usize;
                    assert!(off < SPAN && side.sent[off], "delivered a byte never sent (offset {off})");
                    assert!(!side.delivered[off], "delivered offset {off} twice");
                    side.delivered[off] = true;
                    assert_eq!(b, pattern(dir, seq), "wrong byte at offset {off}");
                    seq = seq.wrapping_add(1);
                }
            }
            Ev::Gap(len) => {
                assert!(!side.ended, "gap after End");
                assert!(*len > 0, "empty Gap");
                seq = seq.wrapping_add(*len as u32);
            }
            Ev::End => {
                assert!(!side.ended, "End twice");
                side.ended = true;
            }
        }
    }
}

enum Ev {
    Data(Vec<u8>),
    Gap(u64),
    End,
}

/// What one call produced, per direction, plus resets.
#[derive(Default)]
struct Calls {
    dirs: [Vec<Ev>; 2],
    resets: usize,
}

impl Calls {
    fn push(&mut self, ev: StreamEvent<'_>) {
        match ev {
            StreamEvent::Data { dir, data, .. } => self.dirs[dir.index()].push(Ev::Data(data.to_vec())),
            StreamEvent::Gap { dir, len } => self.dirs[dir.index()].push(Ev::Gap(len)),
            StreamEvent::End { dir, .. } => self.dirs[dir.index()].push(Ev::End),
            StreamEvent::Reset { .. } => self.resets += 1,
        }
    }
}

struct Checker {
    r: TcpReassembler,
    budget: MemoryBudget,
    limits: Limits,
    sides: [Side; 2],
    reset: bool,
    payload_bytes: u64,
}

impl Checker {
    /// Runs `call` on the reassembler and checks what it produced.
    fn call(&mut self, call: impl FnOnce(&mut TcpReassembler, &mut MemoryBudget, &mut dyn FnMut(StreamEvent<'_>))) {
        let before = [self.r.next_seq(Direction::ClientToServer), self.r.next_seq(Direction::ServerToClient)];
        let mut got = Calls::default();
        call(&mut self.r, &mut self.budget, &mut |ev| got.push(ev));
        if self.reset {
            // After a reset only data may come (the other side's exact continuation, checked in
            // order below like any data): no gap, no end, no second reset.
            assert!(
                got.dirs.iter().flatten().all(|e| matches!(e, Ev::Data(_))) && got.resets == 0,
                "a gap, an end or a reset after Reset"
            );
        }
        assert!(got.resets <= 1, "two resets in one call");
        if got.resets == 1 {
            self.reset = true;
            assert!(self.r.is_finished());
        }
        for (d, dir) in [Direction::ClientToServer, Direction::ServerToClient].into_iter().enumerate() {
            let events = &got.dirs[d];
            if events.is_empty() {
                continue;
            }
            // Where this call's bytes started: the position before the call, or, for a direction
            // opened by it, the position after it minus what was handed out.
            let start = match before[d] {
                Some(seq) => seq,
                None => {
                    let moved: u64 = events
                        .iter()
                        .map(|e| match e {
                            Ev::Data(b) => b.len() as u64,
                            Ev::Gap(n) => *n,
                            Ev::End => 0,
                        })
                        .sum();
                    let after = self.r.next_seq(dir).expect("a direction with events is open");
                    after.wrapping_sub(moved as u32)
                }
            };
            check_events(&mut self.sides[d], d, start, events);
        }
        if self.sides.iter().all(|s| s.ended) {
            assert!(self.r.is_finished());
        }
        // Memory bounded and accounted for.
        assert!(self.budget.used() <= self.budget.limit());
        assert_eq!(self.budget.used(), self.r.charged_bytes());
        assert!(self.r.buffered_bytes() <= 2 * self.limits.max_buffered_per_direction);
        assert!(self.r.buffered_pieces() <= 2 * self.limits.max_segments_per_direction);
        let s = self.r.stats();
        let accounted = s.bytes_delivered
            + s.duplicate_bytes
            + s.overlap_bytes
            + s.discarded_bytes
            + self.r.buffered_bytes() as u64;
        assert_eq!(accounted, self.payload_bytes, "payload bytes unaccounted for");
        assert!(s.dropped_by_limit_bytes <= s.gap_bytes);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((head, records)) = data.split_at_checked(16) else {
        return;
    };
    let limits = Limits {
        max_buffered_per_direction: usize::from(head[8]) * 64,
        max_segments_per_direction: usize::from(head[9] % 64),
    };
    let policy =
        GapPolicy { confirm_segments: u64::from(head[12] % 80), confirm_nanos: u64::from(u16_at(head, 13)) * 100_000 };
    let mut ck = Checker {
        r: TcpReassembler::with_gap_policy(limits, policy),
        budget: MemoryBudget::new(usize::from(u16_at(head, 10)) * 16),
        limits,
        sides: [Side::new(u32_at(head, 0)), Side::new(u32_at(head, 4))],
        reset: false,
        payload_bytes: 0,
    };
    let mut ts = Timestamp(u64::from(head[15]));
    for rec in records.chunks_exact(8) {
        let flags = rec[0];
        let d = usize::from(flags & 1);
        let dir = if d == 0 { Direction::ClientToServer } else { Direction::ServerToClient };
        let syn = flags & 2 != 0;
        let offset = if syn { 0 } else { u32::from(u16_at(rec, 1)) };
        let seq = ck.sides[d].isn.wrapping_add(offset);
        let len = usize::from(u16_at(rec, 3) % 2048);
        let tcp = TcpHeader {
            seq,
            ack: ck.sides[1 - d].isn.wrapping_add(u32::from(u16_at(rec, 5))),
            syn,
            ack_flag: flags & 16 != 0,
            fin: flags & 4 != 0,
            rst: flags & 8 != 0 && flags & 32 != 0,
            window: 65535,
        };
        let first = if syn { seq.wrapping_add(1) } else { seq };
        let payload: Vec<u8> = (0..len as u32).map(|i| pattern(d, first.wrapping_add(i))).collect();
        for i in 0..len as u32 {
            let off = first.wrapping_add(i).wrapping_sub(ck.sides[d].isn) as usize;
            if let Some(s) = ck.sides[d].sent.get_mut(off) {
                *s = true;
            }
        }
        ts = ts.saturating_add_nanos(u64::from(rec[7]) * 1_000_000);
        if flags & 64 != 0 && flags & 128 != 0 {
            ck.call(|r, budget, out| r.flush(budget, out));
        }
        ck.payload_bytes += len as u64;
        ck.call(|r, budget, out| r.on_segment(dir, &tcp, &payload, ts, budget, out));
    }
    ck.call(|r, budget, out| r.flush(budget, out));
    assert_eq!(ck.r.buffered_bytes(), 0);
    assert_eq!(ck.budget.used(), 0);
});
