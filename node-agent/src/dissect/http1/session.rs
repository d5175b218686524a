//! The per-connection HTTP/1 state: two message readers (one per direction) and the pairing of
//! responses with requests, in order (FIFO), pipelining included.
//!
//! Pairing rules:
//! - a final response answers the oldest request that has none; a response that arrives while no
//!   request is waiting answers a request that was not captured. Arrival order, not capture
//!   time, decides: the engine delivers data only after the peer data it acknowledges, and
//!   timestamps of a reordered capture say nothing about causality;
//! - 1xx responses (but 101) are interim: kept and attached to the next final response;
//! - 101, or a 2xx to CONNECT, ends HTTP on the connection and hands it on ([`Handoff`]):
//!   `Upgrade: websocket` to WebSocket, `Upgrade: h2c` to HTTP/2 (the upgrade request is its
//!   stream 1), anything else (a `CONNECT` tunnel, an unknown upgrade) to probing again; the
//!   bytes after the switch go on unconsumed;
//! - a response may arrive before its request's body is complete: it waits for the request;
//! - client bytes after a request that asks to switch (`Upgrade`, `CONNECT`) are held, not read,
//!   until its response: a client may send the next protocol's first bytes before the switch
//!   arrives. They go on with the hand-off, or are read as HTTP when the answer is not a switch
//!   (at most `max_head` bytes are held; beyond that they are read as HTTP at once);
//! - a response-direction gap makes the pending requests unpairable: they are reported without
//!   a response;
//! - at most `max_pending` requests wait for a response; older ones are reported without one.

use super::body::BodyCapture;
use super::json;
use super::message::{Interim, RequestMsg, ResponseMsg};
use super::parser::{request_framing, response_kind, Framing, Header, ResponseKind};
use super::reader::{FinishOutcome, GapOutcome, Head, Reader, Step};
use super::{Limits, Role};
use crate::dissect::{Continuation, Direction, ExchangeSink, Handoff, StreamSession, Upgrade};
use crate::time::Timestamp;
use std::collections::VecDeque;

/// Notes kept per direction for the next message; later ones are dropped.
const MAX_PENDING_NOTES: usize = 8;
/// Interim responses kept for one final response.
const MAX_INTERIM: usize = 16;

/// A request waiting for its response (or for the rest of its body).
#[derive(Debug)]
struct Slot {
    id: u64,
    req: RequestMsg,
    complete: bool,
    /// A response that came before the request's body was complete.
    answer: Option<ResponseMsg>,
}

/// The response being read and the request it answers (None: not captured).
#[derive(Debug)]
struct InFlight {
    msg: ResponseMsg,
    answers: Option<u64>,
}

pub struct Http1Session {
    limits: Limits,
    client: Reader,
    server: Reader,
    queue: VecDeque<Slot>,
    next_id: u64,
    response: Option<InFlight>,
    /// The current server message is an interim (1xx) response.
    in_interim: bool,
    interim: Vec<Interim>,
    /// Notes for the next message of each direction.
    notes: [Vec<String>; 2],
    /// Requests dropped from a full queue whose responses have not started yet.
    owed: u64,
    done: bool,
    /// The connection switched protocols: what follows, until the engine takes it.
    handoff: Option<Handoff>,
    /// Client bytes held while a request that asks to switch waits for its answer.
    held: Option<Held>,
}

/// Client bytes after a request that asked to switch protocols, kept until its response tells
/// whether they are HTTP or the next protocol's.
#[derive(Debug)]
struct Held {
    /// The request that asked.
    request: u64,
    /// The bytes, with the capture time of each piece.
    chunks: Vec<(Timestamp, Vec<u8>)>,
    len: usize,
}

/// The request asks the server to switch protocols (RFC 9110 section 7.8) or to open a tunnel.
fn asks_to_switch(req: &RequestMsg) -> bool {
    req.head.method == "CONNECT" || header(&req.head.headers, "upgrade").is_some()
}

fn push_note(notes: &mut Vec<String>, note: String) {
    if notes.len() < MAX_PENDING_NOTES {
        notes.push(note);
    }
}

impl Http1Session {
    pub(crate) fn new(limits: Limits) -> Self {
        Http1Session {
            limits,
            client: Reader::new(Role::Request, limits.max_head),
            server: Reader::new(Role::Response, limits.max_head),
            queue: VecDeque::new(),
            next_id: 0,
            response: None,
            in_interim: false,
            interim: Vec::new(),
            notes: [Vec::new(), Vec::new()],
            owed: 0,
            done: false,
            handoff: None,
            held: None,
        }
    }

    fn reader(&mut self, dir: Direction) -> &mut Reader {
        match dir {
            Direction::ClientToServer => &mut self.client,
            Direction::ServerToClient => &mut self.server,
        }
    }

    /// The request whose body is being read.
    fn reading_request(&mut self) -> Option<&mut Slot> {
        self.queue.back_mut().filter(|s| !s.complete)
    }

    fn on_client_step(&mut self, step: Step<'_>, out: &mut dyn ExchangeSink) {
        match step {
            Step::NeedMore => {}
            Step::Head { head: Head::Request(head), start, end, wire } => {
                let framing = request_framing(&head);
                let mut notes = std::mem::take(&mut self.notes[0]);
                if let Err(e) = &framing {
                    notes.push(format!("request body: {e}"));
                }
                let req = RequestMsg {
                    head,
                    body: BodyCapture::new(self.limits.body_limit),
                    trailers: Vec::new(),
                    ts: start,
                    end,
                    wire,
                    notes,
                };
                self.make_room(out);
                self.queue.push_back(Slot { id: self.next_id, req, complete: false, answer: None });
                self.next_id += 1;
                match framing {
                    Ok(f) => self.client.set_framing(f),
                    Err(_) => {
                        self.client.resync_after_head();
                        self.request_done(end, wire, Vec::new(), out);
                    }
                }
            }
            Step::Head { head: Head::Response(_), .. } => {}
            Step::Body(data) => {
                if let Some(slot) = self.reading_request() {
                    slot.req.body.push(data);
                }
            }
            Step::End { end, wire, trailers } => self.request_done(end, wire, trailers, out),
            Step::BodyError { error, end, wire } => {
                if let Some(slot) = self.reading_request() {
                    slot.req.notes.push(error.to_string());
                }
                self.request_done(end, wire, Vec::new(), out);
            }
            Step::Garbage(e) => push_note(&mut self.notes[0], format!("request data dropped: {e}")),
            Step::Resynced { skipped } => {
                push_note(&mut self.notes[0], format!("{skipped} bytes skipped to find this request's start"))
            }
        }
    }

    /// Keeps the queue under its limit: the oldest request is reported without a response.
    fn make_room(&mut self, out: &mut dyn ExchangeSink) {
        while self.queue.len() >= self.limits.max_pending {
            let Some(mut slot) = self.queue.pop_front() else {
                break;
            };
            let answered_now = self.response.as_ref().is_some_and(|r| r.answers == Some(slot.id));
            if !answered_now && slot.answer.is_none() {
                self.owed += 1;
            }
            slot.req.notes.push(format!(
                "response not paired: more than {} requests were waiting for responses",
                self.limits.max_pending
            ));
            out.emit(json::exchange(Some(slot.req), slot.answer));
        }
    }

    fn request_done(&mut self, end: Timestamp, wire: u64, trailers: Vec<Header>, out: &mut dyn ExchangeSink) {
        if let Some(slot) = self.reading_request() {
            slot.complete = true;
            slot.req.end = end;
            slot.req.wire = wire;
            slot.req.trailers = trailers;
            if slot.answer.is_none() && asks_to_switch(&slot.req) {
                let request = slot.id;
                self.held = Some(Held { request, chunks: Vec::new(), len: 0 });
            }
        }
        self.flush_answered(out);
    }

    /// Keeps client bytes while a request that asked to switch waits for its answer; false when
    /// nothing is held (or the bytes would exceed the bound, and the held ones were read).
    fn hold(&mut self, data: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink) -> bool {
        let Some(h) = &mut self.held else { return false };
        if h.len + data.len() > self.limits.max_head {
            self.release_held(out);
            return false;
        }
        if !data.is_empty() {
            h.len += data.len();
            h.chunks.push((ts, data.to_vec()));
        }
        true
    }

    /// The request that asked to switch did not (or its answer is lost): the held client bytes
    /// are read as HTTP after all.
    fn release_held(&mut self, out: &mut dyn ExchangeSink) {
        let Some(h) = self.held.take() else { return };
        for (ts, bytes) in h.chunks {
            self.feed(Direction::ClientToServer, &bytes, ts, out);
        }
    }

    /// Releases the held bytes once the request they wait for was answered without a switch (or
    /// reported without an answer): checked after every step, so that they are read before the
    /// next response is paired.
    fn check_held(&mut self, out: &mut dyn ExchangeSink) {
        let Some(h) = &self.held else { return };
        if !self.queue.iter().any(|s| s.id == h.request && s.answer.is_none()) {
            self.release_held(out);
        }
    }

    /// Reads one direction's bytes (held ones included, when released).
    fn feed(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink) {
        let mut pos = 0;
        while !self.done {
            let rest = data.get(pos..).unwrap_or_default();
            if dir == Direction::ClientToServer && self.held.is_some() && self.hold(rest, ts, out) {
                pos = data.len();
                break;
            }
            let (n, step) = self.reader(dir).next(rest, ts);
            pos += n;
            if matches!(step, Step::NeedMore) {
                break;
            }
            match dir {
                Direction::ClientToServer => self.on_client_step(step, out),
                Direction::ServerToClient => self.on_server_step(step, out),
            }
            self.check_held(out);
        }
        // What came after the switch in this segment belongs to the next protocol.
        if let (Some(h), Some(rest)) = (&mut self.handoff, data.get(pos..)) {
            h.pending[dir.index()].extend_from_slice(rest);
        }
    }

    /// Emits the oldest requests that are complete and answered.
    fn flush_answered(&mut self, out: &mut dyn ExchangeSink) {
        while self.queue.front().is_some_and(|s| s.complete && s.answer.is_some()) {
            if let Some(slot) = self.queue.pop_front() {
                out.emit(json::exchange(Some(slot.req), slot.answer));
            }
        }
    }

    fn on_server_step(&mut self, step: Step<'_>, out: &mut dyn ExchangeSink) {
        match step {
            Step::NeedMore => {}
            Step::Head { head: Head::Response(head), start, end, wire } => {
                self.response_head(head, (start, end), wire, out)
            }
            Step::Head { head: Head::Request(_), .. } => {}
            Step::Body(data) => {
                if let Some(r) = &mut self.response {
                    r.msg.body.push(data);
                }
            }
            Step::End { end, wire, trailers } => {
                if std::mem::take(&mut self.in_interim) {
                    return;
                }
                self.response_done(end, wire, trailers, out);
            }
            Step::BodyError { error, end, wire } => {
                if let Some(r) = &mut self.response {
                    r.msg.notes.push(error.to_string());
                }
                self.response_done(end, wire, Vec::new(), out);
            }
            Step::Garbage(e) => push_note(&mut self.notes[1], format!("response data dropped: {e}")),
            Step::Resynced { skipped } => {
                push_note(&mut self.notes[1], format!("{skipped} bytes skipped to find this response's start"))
            }
        }
    }

    fn response_head(
        &mut self,
        head: super::parser::ResponseHead,
        (start, end): (Timestamp, Timestamp),
        wire: u64,
        out: &mut dyn ExchangeSink,
    ) {
        let mut notes = std::mem::take(&mut self.notes[1]);
        let answers = if self.owed > 0 {
            self.owed -= 1;
            notes.push("its request was reported earlier without a response (too many pending)".to_owned());
            None
        } else {
            match self.queue.front() {
                Some(s) if s.answer.is_none() => Some(s.id),
                _ => None,
            }
        };
        let method = answers.and(self.queue.front()).map(|s| s.req.head.method.as_str());
        let kind = response_kind(&head, method);
        if let Err(e) = &kind {
            notes.push(format!("response body: {e}"));
        }
        if kind == Ok(ResponseKind::Interim) {
            if self.interim.len() < MAX_INTERIM {
                self.interim.push(Interim { status: head.status, reason: head.reason, wire });
            }
            self.in_interim = true;
            self.server.set_framing(Framing::Empty);
            return;
        }
        let msg = ResponseMsg {
            head,
            body: BodyCapture::new(self.limits.body_limit),
            trailers: Vec::new(),
            interim: std::mem::take(&mut self.interim),
            ts: start,
            end,
            wire,
            notes,
        };
        self.response = Some(InFlight { msg, answers });
        match kind {
            Ok(ResponseKind::Final(f)) => self.server.set_framing(f),
            Ok(ResponseKind::Interim) => {}
            Ok(ResponseKind::Switch) => self.switch(end, wire, out),
            Err(_) => {
                self.server.resync_after_head();
                self.response_done(end, wire, Vec::new(), out);
            }
        }
    }

    fn response_done(&mut self, end: Timestamp, wire: u64, trailers: Vec<Header>, out: &mut dyn ExchangeSink) {
        let Some(InFlight { mut msg, answers }) = self.response.take() else {
            return;
        };
        msg.end = end;
        msg.wire = wire;
        msg.trailers = trailers;
        match self.queue.front_mut() {
            Some(slot) if Some(slot.id) == answers => {
                slot.answer = Some(msg);
                self.flush_answered(out);
            }
            _ => out.emit(json::exchange(None, Some(msg))),
        }
    }

    /// Reports every request still waiting (with its early answer, if any), oldest first.
    fn drain_queue(&mut self, note: Option<&str>, keep_reading: bool, out: &mut dyn ExchangeSink) {
        let keep = if keep_reading { self.queue.back().filter(|s| !s.complete).map(|s| s.id) } else { None };
        let mut kept = None;
        while let Some(mut slot) = self.queue.pop_front() {
            if Some(slot.id) == keep {
                kept = Some(slot);
                continue;
            }
            if slot.answer.is_none() {
                if let Some(n) = note {
                    slot.req.notes.push(n.to_owned());
                }
                if !self.interim.is_empty() {
                    let seen: Vec<String> =
                        self.interim.drain(..).map(|i| format!("{} {}", i.status, i.reason)).collect();
                    slot.req.notes.push(format!("only interim responses seen: {}", seen.join(", ")));
                }
            }
            out.emit(json::exchange(Some(slot.req), slot.answer));
        }
        self.queue.extend(kept);
    }

    /// The response in flight switched protocols (101, or 2xx to CONNECT): reports the switching
    /// exchange, ends HTTP, and prepares the hand-off to what continues the connection.
    fn switch(&mut self, end: Timestamp, wire: u64, out: &mut dyn ExchangeSink) {
        let Some(InFlight { mut msg, answers }) = self.response.take() else { return };
        msg.end = end;
        msg.wire = wire;
        // The server switches only after the whole request (RFC 9110 §7.8), so the front request
        // is complete unless its end was not captured.
        let slot = match self.queue.front() {
            Some(s) if Some(s.id) == answers => self.queue.pop_front(),
            _ => None,
        };
        let next = match slot.as_ref().map(|s| s.req.head.method.as_str()) {
            Some("CONNECT") => Continuation::Probe,
            _ => next_protocol(header(&msg.head.headers, "upgrade")),
        };
        let mut upgrade = Upgrade {
            response_headers: msg.head.headers.clone(),
            request_headers: slot.as_ref().map(|s| s.req.head.headers.clone()).unwrap_or_default(),
            request_ts: slot.as_ref().map(|s| s.req.ts),
            request_size: slot.as_ref().map_or(0, |s| s.req.wire),
            ..Upgrade::default()
        };
        let exchange = json::exchange(slot.map(|s| s.req), Some(msg));
        upgrade.request = Some(exchange.request.clone()).filter(|r| !r.is_null());
        upgrade.entry_id = out.emit_with_id(exchange);
        self.stop(out);
        let mut client_pending = self.client.take_unconsumed();
        for (_, bytes) in self.held.take().map(|h| h.chunks).unwrap_or_default() {
            client_pending.extend_from_slice(&bytes);
        }
        let pending = [client_pending, Vec::new()];
        self.handoff = Some(Handoff { next, pending, ts: end, upgrade });
    }

    /// HTTP is over on this connection (Upgrade or CONNECT).
    fn stop(&mut self, out: &mut dyn ExchangeSink) {
        self.done = true;
        self.client.stop();
        self.server.stop();
        self.drain_queue(None, false, out);
        self.interim.clear();
        self.notes = [Vec::new(), Vec::new()];
    }

    fn finish_direction(&mut self, dir: Direction, out: &mut dyn ExchangeSink) {
        let outcome = self.reader(dir).finish();
        let what = match dir {
            Direction::ClientToServer => "request",
            Direction::ServerToClient => "response",
        };
        let (end, wire, cut) = match outcome {
            FinishOutcome::Nothing | FinishOutcome::PartialHead { .. } => return,
            FinishOutcome::End { end, wire } => (end, wire, false),
            FinishOutcome::Cut { end, wire } => (end, wire, true),
        };
        let note = cut.then(|| format!("{what} body incomplete: the connection ended first"));
        match dir {
            Direction::ClientToServer => {
                if let (Some(slot), Some(n)) = (self.reading_request(), note) {
                    slot.req.notes.push(n);
                }
                self.request_done(end, wire, Vec::new(), out);
            }
            Direction::ServerToClient => {
                if self.in_interim {
                    self.in_interim = false;
                    return;
                }
                if let (Some(r), Some(n)) = (&mut self.response, note) {
                    r.msg.notes.push(n);
                }
                self.response_done(end, wire, Vec::new(), out);
            }
        }
    }
}

impl StreamSession for Http1Session {
    fn on_data(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink) {
        self.feed(dir, data, ts, out);
    }

    fn on_gap(&mut self, dir: Direction, len: u64, out: &mut dyn ExchangeSink) {
        if self.done {
            return;
        }
        if dir == Direction::ClientToServer {
            // Held bytes come before the gap: the next protocol could not start after it anyway.
            self.release_held(out);
        }
        let outcome = self.reader(dir).gap(len);
        match dir {
            Direction::ClientToServer => match outcome {
                GapOutcome::BodySkipped => {
                    if let Some(slot) = self.reading_request() {
                        slot.req.body.lose(len);
                        push_note(&mut slot.req.notes, format!("request body: {len} bytes lost to a capture gap"));
                    }
                }
                GapOutcome::MessageCut { end, wire } => {
                    if let Some(slot) = self.reading_request() {
                        slot.req.body.lose(0);
                        slot.req.notes.push("request body cut by a capture gap".into());
                    }
                    self.request_done(end, wire, Vec::new(), out);
                }
                GapOutcome::Resyncing => push_note(
                    &mut self.notes[0],
                    format!("{len} bytes of requests lost to a capture gap before this one"),
                ),
            },
            Direction::ServerToClient => {
                match outcome {
                    GapOutcome::BodySkipped => {
                        if let Some(r) = &mut self.response {
                            r.msg.body.lose(len);
                            push_note(&mut r.msg.notes, format!("response body: {len} bytes lost to a capture gap"));
                        }
                        return;
                    }
                    GapOutcome::MessageCut { end, wire } => {
                        if self.in_interim {
                            self.in_interim = false;
                        } else {
                            if let Some(r) = &mut self.response {
                                r.msg.body.lose(0);
                                r.msg.notes.push("response body cut by a capture gap".into());
                            }
                            self.response_done(end, wire, Vec::new(), out);
                        }
                    }
                    GapOutcome::Resyncing => {}
                }
                // Which response answers which request can no longer be told.
                self.interim.clear();
                self.owed = 0;
                self.drain_queue(Some("response lost to a capture gap"), true, out);
                self.check_held(out);
            }
        }
    }

    fn on_end(&mut self, dir: Direction, _ts: Timestamp, out: &mut dyn ExchangeSink) {
        if self.done {
            return;
        }
        if dir == Direction::ClientToServer {
            self.release_held(out);
        }
        self.finish_direction(dir, out);
        self.check_held(out);
    }

    fn on_close(&mut self, _ts: Timestamp, out: &mut dyn ExchangeSink) {
        if self.done {
            return;
        }
        self.release_held(out);
        self.finish_direction(Direction::ClientToServer, out);
        self.finish_direction(Direction::ServerToClient, out);
        if let Some(r) = self.response.take() {
            out.emit(json::exchange(None, Some(r.msg)));
        }
        self.drain_queue(None, false, out);
        self.interim.clear();
        self.notes = [Vec::new(), Vec::new()];
        // A request completed by the close itself may have started a hold: nothing follows it.
        self.held = None;
    }

    fn is_done(&self) -> bool {
        self.done && self.handoff.is_none()
    }

    fn take_handoff(&mut self) -> Option<Handoff> {
        self.handoff.take()
    }

    fn buffered_bytes(&self) -> usize {
        let queued: usize =
            self.queue.iter().map(|s| s.req.body.buffered() + s.answer.as_ref().map_or(0, |a| a.body.buffered())).sum();
        let response = self.response.as_ref().map_or(0, |r| r.msg.body.buffered());
        let held = self.held.as_ref().map_or(0, |h| h.len);
        self.client.buffered() + self.server.buffered() + queued + response + held
    }
}

/// The first value of a header, any case.
fn header<'h>(headers: &'h [Header], name: &str) -> Option<&'h str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// What continues a connection after `101 Switching Protocols` with this `Upgrade` header.
fn next_protocol(upgrade: Option<&str>) -> Continuation {
    let mut tokens = upgrade.unwrap_or("").split(',').map(|t| t.trim().to_ascii_lowercase());
    match tokens.next().as_deref() {
        Some("websocket") => Continuation::Protocol("websocket"),
        Some("h2c") => Continuation::Protocol("http2"),
        _ => Continuation::Probe,
    }
}
