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

use super::bson::Doc;
use super::message::{decode, Decoded};
use super::wire::{self, plausible_start, Header, Plausible, HEADER_LEN};
use crate::dissect::framing::{FrameFormat, FrameLength, Framed, Framer, NotAFrame, Resync};
use crate::dissect::{Direction, Exchange, ExchangeSink, StreamSession};
use crate::entry::Outcome;
use crate::time::Timestamp;
use serde_json::Value;
use std::collections::VecDeque;

/// Requests waiting for a reply, per connection.
pub const MAX_PENDING: usize = 32;
/// Replies kept waiting for a request that has not been seen (yet).
pub const MAX_ORPHANS: usize = 8;
/// Bytes a direction may skip looking for a message boundary before it is given up.
pub const RESYNC_BUDGET: u64 = 1 << 20;

/// Bytes of candidate messages a direction may check while resynchronising before it gives up
/// (bounds the work crafted input can cause: each candidate costs a walk of up to a whole message).
pub const RESYNC_WORK_BUDGET: u64 = 8 << 20;

/// The wire protocol's framing: a sane header gives the length.
struct MongoFrames {
    max_frame: usize,
    /// Bytes of candidates checked while resynchronising.
    work: u64,
}

/// Whether a whole candidate message reads cleanly: its layout and every element of its documents
/// (no JSON is built; compressed payloads are not opened).
fn reads_cleanly(msg: &[u8]) -> bool {
    let Some(h) = Header::read(msg) else { return false };
    let Some(rest) = msg.get(HEADER_LEN..) else { return false };
    match wire::parse_body(h.op, rest, false) {
        Ok(wire::Body::Msg { body, sequences, .. }) => {
            body.iter().all(|e| e.is_ok())
                && sequences.iter().all(|s| s.documents().all(|d| d.iter().all(|e| e.is_ok())))
        }
        Ok(wire::Body::Query { query, .. }) => query.iter().all(|e| e.is_ok()),
        Ok(wire::Body::Reply { docs, .. }) => {
            docs.is_empty() || Doc::parse(docs).is_ok_and(|(d, _)| d.iter().all(|e| e.is_ok()))
        }
        Ok(wire::Body::Compressed { .. }) => true,
        Ok(wire::Body::Legacy) | Err(_) => false,
    }
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
        if self.work > RESYNC_WORK_BUDGET {
            return Resync::NotBefore(data.len());
        }
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
                            if reads_cleanly(msg) {
                                return Resync::At(at);
                            }
                            self.work += len as u64;
                            if self.work > RESYNC_WORK_BUDGET {
                                return Resync::NotBefore(data.len());
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
    /// Capture time of each direction's last segment.
    last_ts: [Timestamp; 2],
}

/// Requests waiting for replies, and replies waiting for their requests.
struct Pairing {
    pending: VecDeque<Pending>,
    orphans: VecDeque<Reply>,
    max_frame: usize,
}

/// "find shop.orders", "hello admin", "ping".
fn summary(d: &Decoded) -> String {
    let command = d.command.as_deref().filter(|c| !c.is_empty()).unwrap_or("?");
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
            Half { framer, format: MongoFrames { max_frame, work: 0 } }
        };
        MongoSession {
            halves: [half(), half()],
            last_ts: [Timestamp::ZERO; 2],
            pairing: Pairing { pending: VecDeque::new(), orphans: VecDeque::new(), max_frame },
        }
    }

    fn feed(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink) {
        self.last_ts[dir.index()] = ts;
        let MongoSession { halves, pairing, .. } = self;
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
                self.push(
                    Pending {
                        id: h.request_id,
                        request: Value::Null,
                        summary: "?".into(),
                        ts,
                        size,
                        notes: vec![format!("request not decoded: {e}")],
                        exhaust: false,
                        gap: false,
                    },
                    out,
                );
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
        self.push(pending, out);
        if self.pending.len() > MAX_PENDING {
            if let Some(oldest) = self.pending.pop_front() {
                emit_unanswered(oldest, "no reply seen among the next requests (too many waiting)", out);
            }
        }
    }

    /// A request starts waiting, unless its reply came already.
    fn push(&mut self, p: Pending, out: &mut dyn ExchangeSink) {
        if let Some(i) = self.orphans.iter().position(|r| r.header.response_to == p.id) {
            if let Some(reply) = self.orphans.remove(i) {
                self.complete(p, reply, out);
                return;
            }
        }
        // A reused id replaces the older request (it can no longer be answered distinctly).
        self.pending.retain(|q| q.id != p.id);
        self.pending.push_back(p);
    }

    fn on_reply(&mut self, frame: &[u8], partial: bool, end: Timestamp, out: &mut dyn ExchangeSink) {
        let Some(h) = Header::read(frame) else { return };
        let size = h.length as u64;
        let (more_to_come, status, outcome, json, notes) = match decode(frame, partial, self.max_frame, true) {
            Ok(d) if d.legacy => return,
            Ok(d) => {
                let more = d.more_to_come();
                match d.status {
                    Some((s, o)) => (more, Some(s), o, d.json, d.notes),
                    None => (more, None, Outcome::Error, d.json, d.notes),
                }
            }
            Err(e) => (false, None, Outcome::Error, Value::Null, vec![format!("reply not decoded: {e}")]),
        };
        let reply = Reply { header: h, more_to_come, status, outcome, json, notes, end, size };
        match self.pending.iter().position(|p| p.id == h.response_to).and_then(|i| self.pending.remove(i)) {
            Some(p) => self.complete(p, reply, out),
            None => {
                // Its request may still come (a capture that delivers the two directions out of
                // order); beyond the bound, the oldest is reported without its request.
                self.orphans.push_back(reply);
                if self.orphans.len() > MAX_ORPHANS {
                    if let Some(r) = self.orphans.pop_front() {
                        emit_orphan(r, out);
                    }
                }
            }
        }
    }

    /// A request and its reply make an entry; a reply with `moreToCome` leaves its request waiting
    /// for the next reply of the exhaust stream.
    fn complete(&mut self, mut p: Pending, reply: Reply, out: &mut dyn ExchangeSink) {
        if reply.more_to_come {
            let mut request = p.request.clone();
            if let Value::Object(m) = &mut request {
                m.insert("exhaust".into(), Value::Bool(true));
            }
            self.push(
                Pending {
                    id: reply.header.request_id,
                    request,
                    summary: p.summary.clone(),
                    ts: reply.end,
                    size: 0,
                    notes: vec!["a further reply of an exhaust cursor (moreToCome)".into()],
                    exhaust: true,
                    gap: false,
                },
                out,
            );
        }
        p.notes.extend(reply.notes);
        out.emit(Exchange {
            protocol: super::NAME,
            ts: p.ts,
            end_ts: Some(reply.end),
            summary: p.summary,
            status: reply.status,
            outcome: reply.outcome,
            request_size: p.size,
            response_size: reply.size,
            request: p.request,
            response: Some(reply.json),
            notes: p.notes,
        });
    }
}

/// A decoded reply.
struct Reply {
    header: Header,
    more_to_come: bool,
    status: Option<String>,
    outcome: Outcome,
    json: Value,
    notes: Vec<String>,
    end: Timestamp,
    size: u64,
}

/// A reply whose request was never seen.
fn emit_orphan(r: Reply, out: &mut dyn ExchangeSink) {
    let mut notes = vec!["request not captured".to_owned()];
    notes.extend(r.notes);
    out.emit(Exchange {
        protocol: super::NAME,
        ts: r.end,
        end_ts: Some(r.end),
        summary: format!("reply to {}", r.header.response_to),
        status: r.status,
        outcome: r.outcome,
        request_size: 0,
        response_size: r.size,
        request: Value::Null,
        response: Some(r.json),
        notes,
    });
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

    fn on_gap(&mut self, dir: Direction, len: u64, out: &mut dyn ExchangeSink) {
        if dir == Direction::ServerToClient {
            for p in &mut self.pairing.pending {
                p.gap = true;
            }
        }
        let MongoSession { halves, pairing, last_ts } = self;
        // A message the gap cut began at the latest in the last segment of the direction.
        let ts = last_ts[dir.index()];
        halves[dir.index()].format.work = 0;
        halves[dir.index()].framer.gap(len, &mut |framed| match (framed, dir) {
            (Framed::Damaged { head, .. }, Direction::ClientToServer) => pairing.on_damaged_request(head, ts, out),
            (Framed::Damaged { head, .. }, Direction::ServerToClient) => pairing.on_damaged_reply(head, out),
            _ => {}
        });
    }

    fn on_end(&mut self, dir: Direction, _ts: Timestamp, _out: &mut dyn ExchangeSink) {
        self.halves[dir.index()].framer.end();
    }

    fn on_close(&mut self, _ts: Timestamp, out: &mut dyn ExchangeSink) {
        while let Some(r) = self.pairing.orphans.pop_front() {
            emit_orphan(r, out);
        }
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
