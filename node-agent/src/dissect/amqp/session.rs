//! One AMQP connection: each direction cut into frames by the shared
//! [`Framer`](crate::dissect::framing), methods paired per channel, content joined to the method
//! it follows.
//!
//! - A synchronous method waits (in [`Session::pending`], at most `max_streams` for the whole
//!   connection) for the first method from the other side, on its channel, that answers it; the
//!   requests of that side on that channel still waiting before it are reported without response
//!   (AMQP answers in order on a channel, so theirs was lost). A `channel.close` answers every
//!   request waiting on its channel, a `connection.close` every request of the connection; the
//!   close itself then waits for its `close-ok`. A synchronous method sent with `no-wait` is
//!   reported at once.
//! - A content-bearing method (`basic.publish`, `deliver`, `return`, `get-ok`) waits for its
//!   content header and body frames on its channel and direction; the body keeps at most
//!   `body_limit` bytes (for all messages in progress on the connection together).
//! - Every other method is reported at once, with no response.
//! - After a capture gap a direction resynchronises at the next method frame or heartbeat; the
//!   messages it was receiving are reported as they stand (truncated).

use super::probe::{self, Candidate, MAX_FRAME};
use super::wire::{
    self, ContentHeader, Method, MethodSpec, FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_HEADER_TYPE, FRAME_HEARTBEAT,
    FRAME_METHOD, PROTOCOL_HEADER,
};
use super::{close_outcome, PROTOCOL_NAME};
use crate::dissect::framing::{FrameFormat, FrameLength, Framed, Framer, NotAFrame, Resync};
use crate::dissect::{Direction, Exchange, ExchangeSink, StreamSession};
use crate::entry::Outcome;
use crate::time::Timestamp;
use base64::Engine as _;
use serde_json::{Map, Value};
use std::collections::VecDeque;

/// Bytes of candidate frames a direction may decode while resynchronising before it gives up.
pub const RESYNC_WORK_BUDGET: u64 = 8 * 1024 * 1024;
/// Bytes a direction may discard while looking for a frame boundary before giving up.
pub const RESYNC_BUDGET: u64 = 1024 * 1024;

/// AMQP framing: the protocol header, or a frame whose frame-end octet is where its size says.
#[derive(Default)]
struct AmqpFrames {
    work: u64,
}

impl FrameFormat for AmqpFrames {
    fn frame_length(&mut self, head: &[u8]) -> Result<FrameLength, NotAFrame> {
        // Each answer is given once the bytes it asked for are all there (the framer does not
        // ask again before), so the result cannot depend on segmentation.
        if head.first() == Some(&b'A') {
            return match head.get(..PROTOCOL_HEADER.len()) {
                None => Ok(FrameLength::NeedHeader(PROTOCOL_HEADER.len())),
                Some(h) if h == PROTOCOL_HEADER => Ok(FrameLength::Total(PROTOCOL_HEADER.len())),
                Some(_) => Err(NotAFrame("not the AMQP 0-9-1 protocol header")),
            };
        }
        let Some((kind, channel, size)) = wire::frame_header(head) else {
            return Ok(FrameLength::NeedHeader(FRAME_HEADER));
        };
        match kind {
            FRAME_METHOD | FRAME_HEADER_TYPE | FRAME_BODY => {}
            FRAME_HEARTBEAT if channel == 0 && size == 0 => {}
            FRAME_HEARTBEAT => return Err(NotAFrame("a heartbeat frame with a channel or a payload")),
            _ => return Err(NotAFrame("an unknown frame type")),
        }
        let total = FRAME_HEADER + size as usize + 1;
        if total > MAX_FRAME {
            // Streams through (a large body frame); its frame-end is not checked.
            return Ok(FrameLength::Total(total));
        }
        match head.get(total - 1) {
            None => Ok(FrameLength::NeedHeader(total)),
            Some(&FRAME_END) => Ok(FrameLength::Total(total)),
            Some(_) => Err(NotAFrame("no frame-end octet where the frame size says")),
        }
    }

    fn resync(&mut self, data: &[u8]) -> Resync {
        let mut at = 0;
        while at < data.len() {
            if self.work > RESYNC_WORK_BUDGET {
                return Resync::NotBefore(data.len());
            }
            match probe::candidate(&data[at..], true) {
                Candidate::Frame { .. } => return Resync::At(at),
                Candidate::Incomplete => return Resync::NeedMore(at),
                Candidate::No => {
                    self.work += probe::decode_cost(&data[at..]);
                    at += 1;
                }
            }
        }
        Resync::NotBefore(at)
    }
}

/// A body frame longer than [`MAX_FRAME`] streaming through.
struct BigBody {
    channel: u16,
    /// Total frame length (header, payload, frame-end).
    len: usize,
}

struct Half {
    framer: Framer,
    format: AmqpFrames,
    big: Option<BigBody>,
}

/// A synchronous method waiting for its answer.
struct Pending {
    from: Direction,
    channel: u16,
    method: Method,
    ts: Timestamp,
    size: u64,
}

/// What a message in progress belongs to.
enum Owner {
    /// A method of its own (`basic.publish`, `deliver`, `return`).
    Own,
    /// The answer (`basic.get-ok`) to this request, or to one not captured.
    Answer(Option<Pending>),
}

/// A content-bearing method waiting for its content.
struct Content {
    dir: Direction,
    channel: u16,
    method: Method,
    owner: Owner,
    ts: Timestamp,
    /// Bytes of this method and its content frames so far.
    size: u64,
    header: Option<ContentHeader>,
    body: Vec<u8>,
    received: u64,
    truncated: bool,
    notes: Vec<String>,
}

impl Content {
    /// A method whose content header and body frames are still to come.
    fn awaiting(dir: Direction, channel: u16, method: Method, owner: Owner, ts: Timestamp, size: u64) -> Content {
        Content {
            dir,
            channel,
            method,
            owner,
            ts,
            size,
            header: None,
            body: Vec::new(),
            received: 0,
            truncated: false,
            notes: Vec::new(),
        }
    }
}

/// Limits of one connection.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Body bytes kept for the messages in progress, together.
    pub body_limit: usize,
    /// Synchronous methods waiting, and messages in progress.
    pub max_pending: usize,
}

pub struct Session {
    halves: [Half; 2],
    state: State,
}

/// Everything but the framing: what waits for an answer or for its content.
struct State {
    pending: VecDeque<Pending>,
    contents: Vec<Content>,
    limits: Limits,
}

fn from_str(dir: Direction) -> &'static str {
    match dir {
        Direction::ClientToServer => "client",
        Direction::ServerToClient => "server",
    }
}

impl Session {
    /// `resync_first`: the connection was picked up mid-way, so frame boundaries must be found.
    pub fn new(limits: Limits, resync_first: bool) -> Self {
        let half = || {
            let framer = Framer::new(MAX_FRAME).with_resync_budget(RESYNC_BUDGET);
            let framer = if resync_first { framer.resynchronising() } else { framer };
            Half { framer, format: AmqpFrames::default(), big: None }
        };
        let state = State { pending: VecDeque::new(), contents: Vec::new(), limits };
        Session { halves: [half(), half()], state }
    }

    fn feed(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink) {
        let Half { framer, format, big } = &mut self.halves[dir.index()];
        let state = &mut self.state;
        framer.push(format, data, ts, &mut |framed| match framed {
            Framed::Frame { bytes, ts: start } => state.on_frame(dir, bytes, start, ts, out),
            Framed::Oversized { prefix, len, .. } => {
                if let Some((FRAME_BODY, channel, _)) = wire::frame_header(prefix) {
                    *big = Some(BigBody { channel, len });
                    state.on_body(
                        dir,
                        channel,
                        prefix.get(FRAME_HEADER..).unwrap_or_default(),
                        prefix.len() as u64,
                        ts,
                        out,
                    );
                } else {
                    *big = None;
                }
            }
            Framed::Tail { bytes, offset, len, .. } => {
                if let Some(b) = big.as_ref().filter(|b| b.len == len) {
                    // The last byte of the frame is its frame-end, not body.
                    let keep = len.saturating_sub(1).saturating_sub(offset).min(bytes.len());
                    state.on_body(dir, b.channel, bytes.get(..keep).unwrap_or_default(), bytes.len() as u64, ts, out);
                }
            }
            // Where framing broke (in stream order, whatever the segmentation): the messages
            // this side was sending cannot be followed further.
            Framed::Damaged { .. } => state.cut_contents(dir, "body bytes lost to a capture gap", out),
            Framed::Invalid { reason } => state.cut_contents(dir, reason, out),
            Framed::Skipped { .. } | Framed::Lost { .. } => {}
        });
        if format.work > RESYNC_WORK_BUDGET {
            framer.stop();
        }
    }
}

impl State {
    fn on_frame(&mut self, dir: Direction, bytes: &[u8], start: Timestamp, now: Timestamp, out: &mut dyn ExchangeSink) {
        let Some(frame) = wire::frame(bytes) else { return };
        let size = bytes.len() as u64;
        match frame.kind {
            FRAME_METHOD => {
                // A method that does not decode is not reported (probing and resync refuse it too).
                if let Ok(method) = wire::parse_method(frame.payload) {
                    self.on_method(dir, frame.channel, method, start, now, size, out);
                }
            }
            FRAME_HEADER_TYPE => self.on_content_header(dir, frame.channel, frame.payload, size, now, out),
            FRAME_BODY => self.on_body(dir, frame.channel, frame.payload, size, now, out),
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_method(
        &mut self,
        dir: Direction,
        channel: u16,
        method: Method,
        ts: Timestamp,
        now: Timestamp,
        size: u64,
        out: &mut dyn ExchangeSink,
    ) {
        // A method ends any content this side was sending on the channel.
        if let Some(i) = self.contents.iter().position(|c| c.dir == dir && c.channel == channel) {
            let c = self.contents.remove(i);
            self.finish_content(c, Some("content cut off by the next method"), now, out);
        }
        let spec = method.spec;
        if let Some(request) = wire::request_of(spec) {
            let Some(pending) = self.take_pending(dir, channel, spec, now, out) else {
                // Its request was not captured (mid-connection pickup, or a capture gap).
                let orphan = Pending {
                    from: dir.reverse(),
                    channel,
                    method: Method { spec: request, args: Map::new() },
                    ts,
                    size: 0,
                };
                return self.answer(Some(orphan), dir, channel, method, ts, now, size, out);
            };
            return self.answer(Some(pending), dir, channel, method, ts, now, size, out);
        }
        if is_close(spec) {
            let whole_connection = spec.class == 10;
            let mut i = 0;
            while i < self.pending.len() {
                let p = &self.pending[i];
                if p.from == dir.reverse() && (whole_connection || p.channel == channel) && !is_close(p.method.spec) {
                    if let Some(p) = self.pending.remove(i) {
                        let answer = Answer { method: clone_method(&method), size: 0, message: None };
                        out.emit(exchange_of(p, Some(answer), now, Vec::new()));
                    }
                } else {
                    i += 1;
                }
            }
        }
        if spec.content {
            self.bound_contents(now, out);
            self.contents.push(Content::awaiting(dir, channel, method, Owner::Own, ts, size));
            return;
        }
        let pending = Pending { from: dir, channel, method, ts, size };
        if spec.responses.is_empty() {
            return out.emit(exchange_of(pending, None, now, Vec::new()));
        }
        if pending.method.no_wait() {
            let notes = vec!["no-wait: no response expected".to_owned()];
            let mut x = exchange_of(pending, None, now, notes);
            x.status = Some("OK".into());
            x.outcome = Outcome::Ok;
            return out.emit(x);
        }
        if self.pending.len() >= self.limits.max_pending {
            if let Some(old) = self.pending.pop_front() {
                out.emit(exchange_of(
                    old,
                    None,
                    now,
                    vec!["too many requests waiting: reported before its response".into()],
                ));
            }
        }
        self.pending.push_back(pending);
    }

    /// The waiting request `response` (sent by `dir` on `channel`) answers; earlier requests of the
    /// same side and channel are reported without response.
    fn take_pending(
        &mut self,
        dir: Direction,
        channel: u16,
        response: &MethodSpec,
        now: Timestamp,
        out: &mut dyn ExchangeSink,
    ) -> Option<Pending> {
        let same = |p: &Pending| p.from == dir.reverse() && p.channel == channel;
        let found = self.pending.iter().position(|p| {
            same(p) && p.method.spec.class == response.class && p.method.spec.responses.contains(&response.method)
        })?;
        let mut i = 0;
        let mut seen = 0;
        while seen < found {
            seen += 1;
            if self.pending.get(i).is_some_and(same) {
                if let Some(p) = self.pending.remove(i) {
                    out.emit(exchange_of(p, None, now, vec!["response not seen (a later one was)".into()]));
                }
            } else {
                i += 1;
            }
        }
        self.pending.remove(i)
    }

    /// `method` (from `dir`) answers `request`: at once, or once its content is there.
    #[allow(clippy::too_many_arguments)]
    fn answer(
        &mut self,
        request: Option<Pending>,
        dir: Direction,
        channel: u16,
        method: Method,
        ts: Timestamp,
        now: Timestamp,
        size: u64,
        out: &mut dyn ExchangeSink,
    ) {
        if method.spec.content {
            self.bound_contents(now, out);
            self.contents.push(Content::awaiting(dir, channel, method, Owner::Answer(request), ts, size));
            return;
        }
        if let Some(p) = request {
            let notes = if p.size == 0 { vec!["request not captured".to_owned()] } else { Vec::new() };
            out.emit(exchange_of(p, Some(Answer { method, size, message: None }), now, notes));
        }
    }

    fn on_content_header(
        &mut self,
        dir: Direction,
        channel: u16,
        payload: &[u8],
        size: u64,
        now: Timestamp,
        out: &mut dyn ExchangeSink,
    ) {
        let Some(i) = self.contents.iter().position(|c| c.dir == dir && c.channel == channel && c.header.is_none())
        else {
            return;
        };
        match wire::parse_content_header(payload) {
            Ok(header) => {
                let c = &mut self.contents[i];
                c.size += size;
                let done = header.body_size == 0;
                c.header = Some(header);
                if done {
                    let c = self.contents.remove(i);
                    self.finish_content(c, None, now, out);
                }
            }
            Err(e) => {
                let c = self.contents.remove(i);
                self.finish_content(c, Some(&format!("content header not decoded: {e}")), now, out);
            }
        }
    }

    /// Body bytes; `frame_size`: the bytes on the wire they came with (frame header and end).
    fn on_body(
        &mut self,
        dir: Direction,
        channel: u16,
        bytes: &[u8],
        frame_size: u64,
        now: Timestamp,
        out: &mut dyn ExchangeSink,
    ) {
        let Some(i) = self.contents.iter().position(|c| c.dir == dir && c.channel == channel && c.header.is_some())
        else {
            return;
        };
        let kept: usize = self.contents.iter().map(|c| c.body.len()).sum();
        let room = self.limits.body_limit.saturating_sub(kept);
        let c = &mut self.contents[i];
        c.size += frame_size;
        c.received += bytes.len() as u64;
        let take = room.min(bytes.len());
        c.body.extend_from_slice(&bytes[..take]);
        if take < bytes.len() && !c.truncated {
            c.truncated = true;
            c.notes.push(format!("body truncated at {} bytes", c.body.len()));
        }
        let declared = c.header.as_ref().map_or(0, |h| h.body_size);
        if c.received >= declared {
            let c = self.contents.remove(i);
            self.finish_content(c, None, now, out);
        }
    }

    /// Keeps the messages in progress within `max_pending`.
    fn bound_contents(&mut self, now: Timestamp, out: &mut dyn ExchangeSink) {
        while self.contents.len() >= self.limits.max_pending.max(1) {
            let c = self.contents.remove(0);
            self.finish_content(c, Some("too many messages in progress: reported before its end"), now, out);
        }
    }

    /// Reports the messages `dir` was sending as they stand.
    fn cut_contents(&mut self, dir: Direction, why: &str, out: &mut dyn ExchangeSink) {
        let mut i = 0;
        while i < self.contents.len() {
            if self.contents[i].dir == dir {
                let c = self.contents.remove(i);
                let ts = c.ts;
                self.finish_content(c, Some(why), ts, out);
            } else {
                i += 1;
            }
        }
    }

    /// Reports a content-bearing method with its message; `cut`: why it is incomplete.
    fn finish_content(&mut self, mut c: Content, cut: Option<&str>, now: Timestamp, out: &mut dyn ExchangeSink) {
        if let Some(why) = cut {
            c.notes.push(why.to_owned());
            c.truncated = true;
        }
        let message = message_json(&c);
        let mut notes = std::mem::take(&mut c.notes);
        match c.owner {
            Owner::Own => {
                let p = Pending { from: c.dir, channel: c.channel, method: c.method, ts: c.ts, size: c.size };
                let mut x = exchange_of(p, None, now, notes);
                x.summary.push_str(&format!(" {} B", c.header.as_ref().map_or(0, |h| h.body_size)));
                if let Value::Object(req) = &mut x.request {
                    req.insert("message".into(), message);
                }
                if cut.is_some() {
                    x.outcome = Outcome::Error;
                }
                out.emit(x);
            }
            Owner::Answer(request) => {
                let p = request.unwrap_or_else(|| {
                    notes.push("request not captured".into());
                    let spec = wire::request_of(c.method.spec).unwrap_or(c.method.spec);
                    Pending {
                        from: c.dir.reverse(),
                        channel: c.channel,
                        method: Method { spec, args: Map::new() },
                        ts: c.ts,
                        size: 0,
                    }
                });
                if p.size == 0 && !notes.iter().any(|n| n == "request not captured") {
                    notes.push("request not captured".into());
                }
                let answer = Answer { method: c.method, size: c.size, message: Some(message) };
                let mut x = exchange_of(p, Some(answer), now, notes);
                if cut.is_some() {
                    x.outcome = Outcome::Error;
                }
                out.emit(x);
            }
        }
    }
}

/// The answer of an exchange: the method and, for `basic.get-ok`, its message.
struct Answer {
    method: Method,
    size: u64,
    message: Option<Value>,
}

fn is_close(spec: &MethodSpec) -> bool {
    matches!((spec.class, spec.method), (10, 50) | (20, 40))
}

fn clone_method(m: &Method) -> Method {
    Method { spec: m.spec, args: m.args.clone() }
}

fn method_json(from: Option<Direction>, channel: Option<u16>, m: Method) -> Map<String, Value> {
    let mut obj = Map::new();
    obj.insert("method".into(), m.spec.name.into());
    if let Some(channel) = channel {
        obj.insert("channel".into(), channel.into());
    }
    if let Some(from) = from {
        obj.insert("from".into(), from_str(from).into());
    }
    obj.extend(m.args);
    obj
}

/// The close reply code of a close method, and whether the server sent it.
fn close_code(m: &Method, from: Direction) -> Option<(u64, bool)> {
    if !is_close(m.spec) {
        return None;
    }
    m.u64_arg("reply_code").map(|code| (code, from == Direction::ServerToClient))
}

/// The one-line summary: the method, what it names, the close reason or message size.
fn summary(m: &Method) -> String {
    let mut s = String::from(m.spec.name);
    if is_close(m.spec) {
        if let Some(code) = m.u64_arg("reply_code") {
            s.push_str(&format!(" {code} {}", m.str_arg("reply_text").unwrap_or_default()));
        }
        return s;
    }
    for (key, label) in [("queue", "queue"), ("exchange", "exchange"), ("routing_key", "key"), ("consumer_tag", "tag")]
    {
        if let Some(v) = m.str_arg(key) {
            if key == "exchange" || !v.is_empty() {
                s.push_str(&format!(" {label}={v:?}"));
            }
        }
    }
    if let Some(tag) = m.u64_arg("delivery_tag") {
        s.push_str(&format!(" delivery_tag={tag}"));
    }
    s
}

/// The entry of a request and its answer (or none).
fn exchange_of(p: Pending, answer: Option<Answer>, now: Timestamp, notes: Vec<String>) -> Exchange {
    let request_close = close_code(&p.method, p.from);
    let summary = summary(&p.method);
    let sync = !p.method.spec.responses.is_empty();
    let returned = (p.method.spec.class, p.method.spec.method) == (60, 50);
    let return_code = p.method.u64_arg("reply_code");
    let request = Value::Object(method_json(Some(p.from), Some(p.channel), p.method));
    let Some(answer) = answer else {
        let (status, outcome) = if sync {
            (None, Outcome::NoResponse)
        } else if returned {
            (return_code.map(|c| c.to_string()), Outcome::ClientError)
        } else {
            (Some("OK".to_owned()), Outcome::Ok)
        };
        return Exchange {
            protocol: PROTOCOL_NAME,
            ts: p.ts,
            end_ts: None,
            summary,
            status,
            outcome,
            request_size: p.size,
            response_size: 0,
            request,
            response: None,
            notes,
        };
    };
    let response_close = close_code(&answer.method, p.from.reverse());
    let (status, outcome) = match (request_close, response_close) {
        (Some((code, by_server)), _) | (None, Some((code, by_server))) => {
            (code.to_string(), close_outcome(code, by_server))
        }
        _ => ("OK".to_owned(), Outcome::Ok),
    };
    let mut response = method_json(None, None, answer.method);
    if let Some(message) = answer.message {
        response.insert("message".into(), message);
    }
    Exchange {
        protocol: PROTOCOL_NAME,
        ts: p.ts,
        end_ts: Some(now),
        summary,
        status: Some(status),
        outcome,
        request_size: p.size,
        response_size: answer.size,
        request,
        response: Some(Value::Object(response)),
        notes,
    }
}

/// `{"properties": {...}, "body": BODY}` of a message, BODY shaped like an HTTP body.
fn message_json(c: &Content) -> Value {
    let mut message = Map::new();
    let (props, declared) = match &c.header {
        Some(h) => (Value::Object(h.properties.clone()), h.body_size),
        None => (Value::Null, 0),
    };
    let prop = |name: &str| c.header.as_ref().and_then(|h| h.properties.get(name)).cloned().unwrap_or(Value::Null);
    let mut body = Map::new();
    body.insert("size".into(), declared.into());
    body.insert("mime".into(), prop("content_type"));
    body.insert("encoding".into(), prop("content_encoding"));
    match std::str::from_utf8(&c.body) {
        Ok(text) => body.insert("text".into(), text.into()),
        Err(_) => body.insert("base64".into(), base64::engine::general_purpose::STANDARD.encode(&c.body).into()),
    };
    body.insert("truncated".into(), (c.truncated || c.received < declared).into());
    message.insert("properties".into(), props);
    message.insert("body".into(), Value::Object(body));
    Value::Object(message)
}

impl StreamSession for Session {
    fn on_data(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink) {
        self.feed(dir, data, ts, out);
    }

    fn on_gap(&mut self, dir: Direction, len: u64, out: &mut dyn ExchangeSink) {
        let Half { framer, format, big } = &mut self.halves[dir.index()];
        format.work = 0;
        *big = None;
        framer.gap(len, &mut |_| {});
        self.state.cut_contents(dir, "body bytes lost to a capture gap", out);
    }

    fn on_end(&mut self, dir: Direction, ts: Timestamp, out: &mut dyn ExchangeSink) {
        self.halves[dir.index()].framer.end();
        let state = &mut self.state;
        let mut i = 0;
        while i < state.contents.len() {
            if state.contents[i].dir == dir {
                let c = state.contents.remove(i);
                state.finish_content(c, Some("the connection ended before the message did"), ts, out);
            } else {
                i += 1;
            }
        }
    }

    fn on_close(&mut self, ts: Timestamp, out: &mut dyn ExchangeSink) {
        let state = &mut self.state;
        for c in std::mem::take(&mut state.contents) {
            state.finish_content(c, Some("the connection ended before the message did"), ts, out);
        }
        for p in std::mem::take(&mut state.pending) {
            out.emit(exchange_of(p, None, ts, vec!["no response before the connection closed".into()]));
        }
        for h in &mut self.halves {
            h.framer.end();
        }
    }

    fn is_done(&self) -> bool {
        self.halves.iter().all(|h| h.framer.is_stopped())
    }

    fn buffered_bytes(&self) -> usize {
        self.halves.iter().map(|h| h.framer.buffered()).sum::<usize>()
            + self.state.contents.iter().map(|c| c.body.len()).sum::<usize>()
    }
}
