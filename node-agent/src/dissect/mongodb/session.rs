//! One MongoDB connection: each direction cut into messages by the shared [`Framer`] (the
//! 16-byte header gives the length), requests paired with replies by `requestID`/`responseTo`.
//!
//! - A request with `moreToCome` (an unacknowledged write) expects no reply: it is reported at
//!   once, with no status.
//! - Exhaust cursors: a reply with `moreToCome` is followed by more replies, each answering the
//!   previous reply's `requestID`; every one of them is an entry (request: the getMore that
//!   started the stream, marked `exhaust`).
//! - At most [`MAX_PENDING`] requests wait per connection; beyond it the oldest is reported
//!   without response.
//! - Capture gaps: a message cut by a gap is dropped (a request's first bytes are still read for
//!   its command; a reply cut by a gap leaves its request `no_response`), and the framer
//!   resynchronises at the next plausible header. A connection seen without its handshake starts
//!   resynchronising too.

use super::message::{decode, Decoded};
use super::wire::{plausible_start, Header, Plausible, HEADER_LEN};
use crate::dissect::framing::{FrameFormat, FrameLength, Framed, Framer, NotAFrame, Resync};
use crate::dissect::{Direction, Exchange, ExchangeSink, StreamSession};
use crate::entry::Outcome;
use crate::time::Timestamp;
use serde_json::Value;
use std::collections::VecDeque;

/// Requests waiting for a reply, per connection.
pub const MAX_PENDING: usize = 32;
/// Bytes a direction may skip looking for a message boundary before it is given up.
pub const RESYNC_BUDGET: u64 = 1 << 20;

/// The wire protocol's framing: a sane header gives the length.
struct MongoFrames {
    max_frame: usize,
}

impl FrameFormat for MongoFrames {
    fn frame_length(&mut self, head: &[u8]) -> Result<FrameLength, NotAFrame> {
        let Some(h) = Header::read(head) else { return Ok(FrameLength::NeedHeader(HEADER_LEN)) };
        if h.is_sane() {
            Ok(FrameLength::Total(h.length))
        } else {
            Err(NotAFrame("not a MongoDB message header"))
        }
    }

    /// The next offset where a plausible message starts whose bytes, when they fit the limit,
    /// also parse as a whole message.
    fn resync(&mut self, data: &[u8]) -> Resync {
        let mut at = 0;
        while at + HEADER_LEN <= data.len() {
            let here = &data[at..];
            match plausible_start(here) {
                Plausible::NeedMore => return Resync::NeedMore(at),
                Plausible::No => {}
                Plausible::Client | Plausible::Server => {
                    let len = Header::read(here).map_or(0, |h| h.length);
                    if len > self.max_frame {
                        return Resync::At(at);
                    }
                    match here.get(..len) {
                        None => return Resync::NeedMore(at),
                        Some(msg) => {
                            let reply = plausible_start(msg) == Plausible::Server;
                            if decode(msg, false, self.max_frame, reply).is_ok() {
                                return Resync::At(at);
                            }
                        }
                    }
                }
            }
            at += 1;
        }
        Resync::NotBefore(at)
    }
}

struct Half {
    framer: Framer,
    format: MongoFrames,
}

/// A request waiting for its reply.
struct Pending {
    /// The requestID the reply answers (a reply's own id, for the next reply of an exhaust stream).
    id: i32,
    request: Value,
    summary: String,
    ts: Timestamp,
    size: u64,
    notes: Vec<String>,
    /// Later replies of an exhaust stream: the first reply ended the request itself.
    exhaust: bool,
    /// A capture gap in the server's bytes came while this request waited.
    gap: bool,
}

pub struct MongoSession {
    halves: [Half; 2],
    pairing: Pairing,
}

/// Requests waiting for replies.
struct Pairing {
    pending: VecDeque<Pending>,
    max_frame: usize,
}

/// "find shop.orders", "hello admin", "ping".
fn summary(d: &Decoded) -> String {
    let command = d.command.as_deref().unwrap_or("?");
    match (&d.database, &d.collection) {
        (Some(db), Some(c)) => format!("{command} {db}.{c}"),
        (Some(db), None) => format!("{command} {db}"),
        (None, Some(c)) => format!("{command} {c}"),
        (None, None) => command.to_owned(),
    }
}

impl MongoSession {
    /// `max_frame`: the largest message kept whole (and decompressed); `resync_first`: the
    /// connection was picked up mid-way.
    pub fn new(max_frame: usize, resync_first: bool) -> Self {
        let half = || {
            let framer = Framer::new(max_frame).with_resync_budget(RESYNC_BUDGET);
            let framer = if resync_first { framer.resynchronising() } else { framer };
            Half { framer, format: MongoFrames { max_frame } }
        };
        MongoSession { halves: [half(), half()], pairing: Pairing { pending: VecDeque::new(), max_frame } }
    }

    fn feed(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink) {
        let MongoSession { halves, pairing } = self;
        let Half { framer, format } = &mut halves[dir.index()];
        framer.push(format, data, ts, &mut |framed| match (framed, dir) {
            (Framed::Frame { bytes, ts: start }, Direction::ClientToServer) => {
                pairing.on_request(bytes, false, start, out)
            }
            (Framed::Frame { bytes, .. }, Direction::ServerToClient) => pairing.on_reply(bytes, false, ts, out),
            (Framed::Oversized { prefix, ts: start, .. }, Direction::ClientToServer) => {
                pairing.on_request(prefix, true, start, out)
            }
            (Framed::Oversized { prefix, .. }, Direction::ServerToClient) => pairing.on_reply(prefix, true, ts, out),
            (Framed::Damaged { head, .. }, Direction::ClientToServer) => pairing.on_damaged_request(head, ts, out),
            (Framed::Damaged { head, .. }, Direction::ServerToClient) => pairing.on_damaged_reply(head, out),
            _ => {}
        });
    }
}

impl Pairing {
    /// The first bytes of a request a capture gap cut: its command is still worth showing.
    fn on_damaged_request(&mut self, head: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink) {
        let Some(h) = Header::read(head) else { return };
        self.on_request(head, true, ts, out);
        if let Some(p) = self.pending.back_mut().filter(|p| p.id == h.request_id) {
            p.notes.retain(|n| !n.starts_with("message of "));
            p.notes.push("request cut by a capture gap".into());
        }
    }

    /// A reply a capture gap cut: its request is reported without response.
    fn on_damaged_reply(&mut self, head: &[u8], out: &mut dyn ExchangeSink) {
        let Some(h) = Header::read(head) else { return };
        if let Some(i) = self.pending.iter().position(|p| p.id == h.response_to) {
            if let Some(p) = self.pending.remove(i) {
                emit_unanswered(p, "reply lost to a capture gap", out);
            }
        }
    }

    fn on_request(&mut self, frame: &[u8], partial: bool, ts: Timestamp, out: &mut dyn ExchangeSink) {
        let size = Header::read(frame).map_or(frame.len(), |h| h.length) as u64;
        let d = match decode(frame, partial, self.max_frame, false) {
            Ok(d) => d,
            Err(e) => {
                // Framed but unreadable: say so on an entry of its own if a reply pairs with it.
                let Some(h) = Header::read(frame) else { return };
                self.push(Pending {
                    id: h.request_id,
                    request: Value::Null,
                    summary: "?".into(),
                    ts,
                    size,
                    notes: vec![format!("request not decoded: {e}")],
                    exhaust: false,
                    gap: false,
                });
                return;
            }
        };
        if d.legacy {
            return;
        }
        let more_to_come = d.more_to_come();
        let pending = Pending {
            id: d.header.request_id,
            summary: summary(&d),
            request: d.json,
            ts,
            size,
            notes: d.notes,
            exhaust: false,
            gap: false,
        };
        if more_to_come {
            let mut notes = pending.notes;
            notes.push("no reply expected (moreToCome)".into());
            out.emit(Exchange {
                protocol: super::NAME,
                ts,
                end_ts: None,
                summary: pending.summary,
                status: None,
                outcome: Outcome::Ok,
                request_size: size,
                response_size: 0,
                request: pending.request,
                response: None,
                notes,
            });
            return;
        }
        self.push(pending);
        if self.pending.len() > MAX_PENDING {
            if let Some(oldest) = self.pending.pop_front() {
                emit_unanswered(oldest, "no reply seen among the next requests (too many waiting)", out);
            }
        }
    }

    fn push(&mut self, p: Pending) {
        // A reused id replaces the older request (it can no longer be answered distinctly).
        self.pending.retain(|q| q.id != p.id);
        self.pending.push_back(p);
    }

    fn on_reply(&mut self, frame: &[u8], partial: bool, end: Timestamp, out: &mut dyn ExchangeSink) {
        let size = Header::read(frame).map_or(frame.len(), |h| h.length) as u64;
        let Some(h) = Header::read(frame) else { return };
        let decoded = decode(frame, partial, self.max_frame, true);
        if decoded.as_ref().is_ok_and(|d| d.legacy) {
            return;
        }
        let at = self.pending.iter().position(|p| p.id == h.response_to);
        let mut p = match at.and_then(|i| self.pending.remove(i)) {
            Some(p) => p,
            None => Pending {
                id: h.response_to,
                request: Value::Null,
                summary: format!("reply to {}", h.response_to),
                ts: end,
                size: 0,
                notes: vec!["request not captured".into()],
                exhaust: false,
                gap: false,
            },
        };
        let (status, outcome, response) = match decoded {
            Ok(d) => {
                if d.more_to_come() {
                    // An exhaust stream: the next reply answers this one.
                    let mut request = p.request.clone();
                    if let Value::Object(m) = &mut request {
                        m.insert("exhaust".into(), Value::Bool(true));
                    }
                    self.push(Pending {
                        id: h.request_id,
                        request,
                        summary: p.summary.clone(),
                        ts: end,
                        size: 0,
                        notes: vec!["a further reply of an exhaust cursor (moreToCome)".into()],
                        exhaust: true,
                        gap: false,
                    });
                }
                p.notes.extend(d.notes);
                match d.status {
                    Some((s, o)) => (Some(s), o, d.json),
                    None => (None, Outcome::Error, d.json),
                }
            }
            Err(e) => {
                p.notes.push(format!("reply not decoded: {e}"));
                (None, Outcome::Error, Value::Null)
            }
        };
        out.emit(Exchange {
            protocol: super::NAME,
            ts: p.ts,
            end_ts: Some(end),
            summary: p.summary,
            status,
            outcome,
            request_size: p.size,
            response_size: size,
            request: p.request,
            response: Some(response),
            notes: p.notes,
        });
    }
}

fn emit_unanswered(p: Pending, why: &str, out: &mut dyn ExchangeSink) {
    if p.exhaust {
        // The stream of an exhaust cursor ended with the previous reply or the connection.
        return;
    }
    let mut notes = p.notes;
    notes.push(why.to_owned());
    out.emit(Exchange {
        protocol: super::NAME,
        ts: p.ts,
        end_ts: None,
        summary: p.summary,
        status: None,
        outcome: Outcome::NoResponse,
        request_size: p.size,
        response_size: 0,
        request: p.request,
        response: None,
        notes,
    });
}

impl StreamSession for MongoSession {
    fn on_data(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink) {
        self.feed(dir, data, ts, out);
    }

    fn on_gap(&mut self, dir: Direction, len: u64, _out: &mut dyn ExchangeSink) {
        if dir == Direction::ServerToClient {
            for p in &mut self.pairing.pending {
                p.gap = true;
            }
        }
        let Half { framer, .. } = &mut self.halves[dir.index()];
        framer.gap(len, &mut |_| {});
    }

    fn on_end(&mut self, dir: Direction, _ts: Timestamp, _out: &mut dyn ExchangeSink) {
        self.halves[dir.index()].framer.end();
    }

    fn on_close(&mut self, _ts: Timestamp, out: &mut dyn ExchangeSink) {
        while let Some(p) = self.pairing.pending.pop_front() {
            let why = if p.gap {
                "no reply seen: a capture gap in the server's bytes may have taken it"
            } else {
                "no reply before the connection closed"
            };
            emit_unanswered(p, why, out);
        }
        for h in &mut self.halves {
            h.framer.end();
        }
    }

    fn is_done(&self) -> bool {
        self.halves.iter().all(|h| h.framer.is_stopped())
    }

    fn buffered_bytes(&self) -> usize {
        self.halves.iter().map(|h| h.framer.buffered()).sum()
    }
}
