//! DNS over TCP (RFC 7766): each message behind a 2-byte length, several per connection,
//! pipelined and answered in any order (pairing is by id and question, see `pairing`).
//!
//! Each direction frames its own bytes and buffers at most one message (64 KiB + 2).
//!
//! After a capture gap the partial message is dropped. When the gap fell inside a message whose
//! length was known, the next boundary is known too: the rest of that message is skipped and
//! the message at the boundary must still look like DNS. Otherwise the direction *resynchronises*:
//! it scans for an offset where a 2-byte length is followed by a plausible header and a message
//! that parses completely and cleanly (the probe's test), and carries on from there. If no such
//! offset turns up within [`RESYNC_BUDGET`] bytes the direction stops being dissected; once both
//! directions have stopped the session reports its waiting queries and says it is done.
//! A session created for a connection seen without its handshake starts resynchronising too,
//! so a direction that was picked up mid-message finds its first boundary the same way.
//! Messages found while resynchronising carry the time of the segment that completed the scan.
//!
//! Segmentation never changes the result: framing and scanning are defined on each direction's
//! byte stream. After every segment the buffer is worked off until it needs more bytes (a
//! resynchronisation that buffered several messages is followed through even when the segment
//! is used up), and every decision waits until the bytes it depends on are all there.

use super::pairing::{sane_header, Tracker};
use super::parser::{Header, HEADER_LEN};
use super::probe;
use crate::dissect::{Direction, ExchangeSink, StreamSession};
use crate::time::Timestamp;

/// The largest buffer a direction holds: one maximal message and its length prefix.
pub const MAX_BUFFER: usize = 2 + u16::MAX as usize;
/// Bytes a direction may discard while looking for a message boundary before giving up.
pub const RESYNC_BUDGET: u64 = 256 * 1024;
/// Bytes of candidate messages a direction may parse while resynchronising before giving up
/// (bounds the work crafted input can cause: each candidate costs up to a 64 KiB parse).
pub const RESYNC_WORK_BUDGET: u64 = 8 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// At a boundary or inside a message whose length is in the buffer.
    Framed,
    /// Discarding the rest of a message broken by a gap; then `Resync`.
    Skip(u64),
    /// Looking for a boundary: bytes discarded and candidate bytes parsed so far.
    Resync { discarded: u64, work: u64 },
    /// Gave up on this direction.
    Stopped,
}

struct Half {
    mode: Mode,
    buf: Vec<u8>,
    /// Time of the segment carrying the first byte in `buf`.
    start_ts: Timestamp,
}

impl Mode {
    const RESYNC: Mode = Mode::Resync { discarded: 0, work: 0 };
}

impl Half {
    fn new(mode: Mode) -> Self {
        Half { mode, buf: Vec::new(), start_ts: Timestamp::ZERO }
    }

    /// The length prefix of the message at the front of the buffer (0 before it is complete).
    fn msg_len(&self) -> usize {
        self.buf.get(..2).map_or(0, |l| u16::from_be_bytes([l[0], l[1]]) as usize)
    }

    /// Bytes the current message still needs (prefix included) while framed.
    fn needed(&self) -> usize {
        if self.buf.len() < 2 {
            2 - self.buf.len()
        } else {
            (2 + self.msg_len()).saturating_sub(self.buf.len())
        }
    }
}

pub struct DnsTcpSession {
    halves: [Half; 2],
    tracker: Tracker,
}

impl DnsTcpSession {
    /// `resync_first`: the connection was picked up mid-way, so boundaries must be found.
    pub fn new(timeout_ns: u64, resync_first: bool) -> Self {
        let mode = if resync_first { Mode::RESYNC } else { Mode::Framed };
        DnsTcpSession { halves: [Half::new(mode), Half::new(mode)], tracker: Tracker::new(timeout_ns) }
    }

    fn feed(&mut self, dir: Direction, mut data: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink) {
        let tracker = &mut self.tracker;
        let h = &mut self.halves[dir.index()];
        while h.mode != Mode::Stopped {
            if let Mode::Skip(n) = h.mode {
                if data.is_empty() {
                    break;
                }
                let k = (data.len() as u64).min(n);
                data = &data[k as usize..];
                h.mode = if k == n { Mode::RESYNC } else { Mode::Skip(n - k) };
                continue;
            }
            // Framed, the buffer takes only the rest of the message at its front (so that a gap
            // knows where the next one starts); resynchronising, as much as fits.
            let room = if h.mode == Mode::Framed { h.needed() } else { MAX_BUFFER - h.buf.len() };
            let k = room.min(data.len());
            if h.buf.is_empty() && k > 0 {
                h.start_ts = ts;
            }
            h.buf.extend_from_slice(&data[..k]);
            data = &data[k..];
            // Also when the input is used up: what the buffer holds is always judged in full.
            h.work_off(dir, ts, tracker, out);
            if data.is_empty() {
                break;
            }
            if k == 0 {
                // Not reachable: a worked-off buffer always has room for the bytes it waits for.
                // Never spin on it.
                h.buf = Vec::new();
                h.mode = Mode::Stopped;
            }
        }
        if self.is_done() {
            self.tracker.flush("no response seen: the connection could not be followed after a capture gap", out);
        }
    }
}

impl Half {
    /// Works off the buffer as far as its bytes allow: emits the whole messages at its front,
    /// scans for a boundary while resynchronising (and carries on framed once one is found),
    /// and keeps only what needs more input. Every append is followed by this, so the state
    /// after a stretch of the stream depends on its bytes alone, not on where segments ended.
    /// The front is drained once at the end (buffered messages cost no quadratic moves).
    fn work_off(&mut self, dir: Direction, ts: Timestamp, tracker: &mut Tracker, out: &mut dyn ExchangeSink) {
        let mut at = 0;
        loop {
            match self.mode {
                Mode::Framed => {
                    let rest = &self.buf[at..];
                    let Some(l) = rest.get(..2) else {
                        break;
                    };
                    let len = u16::from_be_bytes([l[0], l[1]]) as usize;
                    if len < HEADER_LEN {
                        // A length below the header size cannot frame DNS: the boundary is lost
                        // (the scan starts on this prefix and discards it).
                        tracker.ignore();
                        self.mode = Mode::RESYNC;
                        continue;
                    }
                    let Some(msg) = rest.get(2..2 + len) else {
                        break;
                    };
                    if Header::parse(msg).is_ok_and(|hd| sane_header(&hd, len)) {
                        tracker.on_message(dir, msg, self.start_ts, ts, out);
                        at += 2 + len;
                        // Several messages are buffered only after a resynchronisation; they all
                        // carry the time of the segment that completed the scan.
                        self.start_ts = ts;
                    } else {
                        // Framing led to something that is not DNS: look for a boundary.
                        tracker.ignore();
                        at += 1;
                        self.mode = Mode::Resync { discarded: 1, work: 0 };
                    }
                }
                Mode::Resync { discarded, work } => {
                    let mut budget = Budget { discarded, work };
                    let outcome = scan(&self.buf[at..], &mut budget);
                    at += (budget.discarded - discarded) as usize;
                    match outcome {
                        Scan::Found => {
                            self.mode = Mode::Framed;
                            self.start_ts = ts;
                        }
                        Scan::Wait => {
                            self.mode = Mode::Resync { discarded: budget.discarded, work: budget.work };
                            break;
                        }
                        Scan::GiveUp => {
                            self.buf = Vec::new();
                            self.mode = Mode::Stopped;
                            return;
                        }
                    }
                }
                Mode::Skip(_) | Mode::Stopped => break,
            }
        }
        self.buf.drain(..at);
    }
}

/// What resynchronising has used so far.
struct Budget {
    /// Bytes discarded.
    discarded: u64,
    /// Bytes of candidate messages parsed.
    work: u64,
}

enum Scan {
    /// A complete, clean message starts at the front of what is left.
    Found,
    /// Need more bytes (too few to judge, or a plausible candidate is incomplete).
    Wait,
    /// The budget ran out.
    GiveUp,
}

/// Discards bytes from the front of `buf` (counting them in `budget`) until a complete, clean
/// DNS message starts there, a plausible candidate waits for more bytes, or the budget runs out.
/// The budget is checked candidate by candidate, so the outcome does not depend on how the
/// stream was cut into segments.
fn scan(buf: &[u8], budget: &mut Budget) -> Scan {
    let mut at = 0;
    while at + 2 + HEADER_LEN <= buf.len() {
        match probe::framed_candidate(&buf[at..]) {
            probe::Candidate::Message { .. } => return Scan::Found,
            probe::Candidate::Incomplete => return Scan::Wait,
            probe::Candidate::No { parsed } => {
                budget.work += parsed as u64;
                budget.discarded += 1;
                at += 1;
                if budget.discarded > RESYNC_BUDGET || budget.work > RESYNC_WORK_BUDGET {
                    return Scan::GiveUp;
                }
            }
        }
    }
    Scan::Wait
}

impl StreamSession for DnsTcpSession {
    fn on_data(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink) {
        self.tracker.expire(ts, out);
        self.feed(dir, data, ts, out);
    }

    fn on_gap(&mut self, dir: Direction, len: u64, _out: &mut dyn ExchangeSink) {
        let h = &mut self.halves[dir.index()];
        h.mode = match h.mode {
            Mode::Stopped => Mode::Stopped,
            Mode::Framed if h.buf.len() >= 2 => {
                // The boundary after the broken message is still known.
                let rest = h.needed() as u64;
                if len < rest {
                    Mode::Skip(rest - len)
                } else {
                    Mode::RESYNC
                }
            }
            Mode::Skip(n) if len < n => Mode::Skip(n - len),
            _ => Mode::RESYNC,
        };
        h.buf.clear();
    }

    fn on_end(&mut self, dir: Direction, _ts: Timestamp, _out: &mut dyn ExchangeSink) {
        // A message cut by the FIN can never complete.
        self.halves[dir.index()].buf = Vec::new();
    }

    fn on_close(&mut self, ts: Timestamp, out: &mut dyn ExchangeSink) {
        self.tracker.expire(ts, out);
        self.tracker.flush("no response before the connection closed", out);
        for h in &mut self.halves {
            h.buf = Vec::new();
        }
    }

    fn is_done(&self) -> bool {
        self.halves.iter().all(|h| h.mode == Mode::Stopped)
    }

    fn buffered_bytes(&self) -> usize {
        self.halves.iter().map(|h| h.buf.len()).sum()
    }
}
