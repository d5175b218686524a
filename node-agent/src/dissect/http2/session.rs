//! The per-connection HTTP/2 state: a [`FrameInput`] per direction feeding one [`H2Connection`],
//! and the streams its events build, one entry each.
//!
//! Rules:
//! - a stream starts with the client's HEADERS (its request), or with a PUSH_PROMISE (the
//!   promised request, an entry of its own noted "pushed"), or, on a connection seen mid-way,
//!   with the server's HEADERS (the request was not captured); DATA of a stream never started is
//!   ignored;
//! - the server's 1xx heads are interim, the next head the response, a later one the trailers;
//! - a stream is reported when both directions ended (END_STREAM) or it was reset (RST_STREAM:
//!   without a response its error code is the status and the outcome `error`); a GOAWAY reports
//!   the streams above its last stream id that got no response as not answered; the connection's
//!   end reports every stream as it stands;
//! - at most `max_streams` streams are open; beyond it the oldest is reported as it stands;
//! - the entry's time is the first byte of the request's HEADERS, its end the last byte of the
//!   response; sizes are the stream's HEADERS, CONTINUATION and DATA frames each way, frame
//!   headers included;
//! - streams whose `content-type` is `application/grpc*` become gRPC calls
//!   ([`crate::dissect::grpc::exchange`]) when gRPC is enabled.

use super::connection::{Event, H2Connection, Limits as ConnLimits, Start};
use super::frame::{FrameType, Settings};
use super::hpack::{HeaderList, Known};
use super::json::{self, HttpStream};
use super::wire::{FrameInput, Input};
use crate::dissect::grpc::exchange::{is_grpc_content_type, CallParts, GrpcCall, GrpcContext, HeadParts};
use crate::dissect::http1::body::BodyCapture;
use crate::dissect::{Direction, ExchangeSink, StreamSession, Upgrade};
use crate::time::Timestamp;
use base64::Engine as _;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Notes one stream keeps.
const MAX_NOTES: usize = 16;
/// Notes kept for streams not open yet (an anomaly before the HEADERS that opens the stream).
const MAX_EARLY_NOTES: usize = 16;

/// Bounds of one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Decoded body bytes kept per message (gRPC: rendered payload bytes per direction).
    pub body_limit: usize,
    /// Streams open at once; beyond it the oldest is reported as it stands.
    pub max_streams: usize,
    /// Frames longer than this are not buffered (see [`FrameInput::new`]).
    pub max_frame: usize,
    pub connection: ConnLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_limit: 1 << 20,
            max_streams: 256,
            max_frame: super::wire::MIN_BUFFERED_FRAME,
            connection: ConnLimits::default(),
        }
    }
}

impl Limits {
    /// An upper bound of [`StreamSession::buffered_bytes`] between calls, whatever the input.
    pub fn max_buffered(&self) -> usize {
        let framers = 2 * self.max_frame.max(super::wire::MIN_BUFFERED_FRAME);
        let conn = 2 * (self.connection.max_header_block + self.connection.hpack.max_table_size);
        // Per stream: HTTP keeps two bodies; gRPC per direction a partial message and the rendered
        // payloads (the body limit, and the last message may pass it by one message).
        let per_stream = 6 * self.body_limit.max(1);
        framers + conn + self.max_streams.max(1) * per_stream
    }
}

/// What the streams of one connection carry.
enum Payload {
    Http([BodyCapture; 2]),
    Grpc(Box<GrpcCall>),
}

struct Stream {
    /// Creation order (the oldest is evicted first).
    seq: u64,
    ts: Timestamp,
    end_ts: Option<Timestamp>,
    request: Option<HeadParts>,
    upgrade_request: Option<serde_json::Value>,
    response: Option<HeadParts>,
    interim: Vec<u16>,
    trailers: [Vec<crate::dissect::http1::parser::Header>; 2],
    /// The response's first head ended the stream (gRPC trailers-only).
    response_ended_with_head: bool,
    ended: [bool; 2],
    sizes: [u64; 2],
    reset: Option<(Direction, String)>,
    payload: Payload,
    notes: Vec<String>,
}

impl Stream {
    fn note(&mut self, note: String) {
        if self.notes.len() < MAX_NOTES {
            self.notes.push(note);
        }
    }

    fn buffered(&self) -> usize {
        match &self.payload {
            Payload::Http([a, b]) => a.buffered() + b.buffered(),
            Payload::Grpc(call) => call.buffered_bytes(),
        }
    }

    fn done(&self) -> bool {
        self.reset.is_some() || (self.ended[0] && self.ended[1])
    }
}

/// What a dissector's sessions share.
pub(crate) struct Shared {
    pub limits: Limits,
    /// gRPC calls become gRPC entries (gRPC is enabled).
    pub grpc: Option<Arc<GrpcContext>>,
    /// Streams that are not gRPC calls become HTTP entries (HTTP is enabled).
    pub http: bool,
}

pub struct Http2Session {
    shared: Arc<Shared>,
    conn: H2Connection,
    inputs: [FrameInput; 2],
    streams: Streams,
}

/// The streams of a connection and what the frames of each direction left pending for them.
struct Streams {
    shared: Arc<Shared>,
    open: BTreeMap<u32, Stream>,
    next_seq: u64,
    /// Per direction: capture time of the first byte of the header block being read, and its
    /// frames' bytes so far.
    block_ts: [Timestamp; 2],
    block_bytes: [u64; 2],
    /// Capture time of the data being processed (the last byte of a frame completed by it).
    now: Timestamp,
    /// Anomalies about streams not open yet, by stream id.
    early_notes: Vec<(u32, String)>,
}

impl Http2Session {
    pub(crate) fn new(shared: Arc<Shared>, mid_way: bool) -> Self {
        let limits = shared.limits;
        let (start, inputs) = if mid_way {
            let i = || FrameInput::resynchronising(limits.max_frame);
            (Start::MidStream, [i(), i()])
        } else {
            (Start::Beginning, [FrameInput::new(true, limits.max_frame), FrameInput::new(false, limits.max_frame)])
        };
        Http2Session {
            conn: H2Connection::new(start, limits.connection),
            inputs,
            streams: Streams {
                shared: shared.clone(),
                open: BTreeMap::new(),
                next_seq: 0,
                block_ts: [Timestamp::ZERO; 2],
                block_bytes: [0; 2],
                now: Timestamp::ZERO,
                early_notes: Vec::new(),
            },
            shared,
        }
    }

    /// The session after an HTTP/1.1 `Upgrade: h2c` (RFC 7540 §3.2): the upgrade request is
    /// stream 1, whose response the server sends first; the client sends the preface next. The
    /// `HTTP2-Settings` the client sent count as acknowledged.
    pub(crate) fn after_upgrade(shared: Arc<Shared>, upgrade: &Upgrade) -> Self {
        let mut s = Http2Session::new(shared, false);
        if let Some(payload) = upgrade
            .request_header("http2-settings")
            .and_then(|v| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(v.trim().trim_end_matches('=')).ok())
        {
            if let Some(settings) = Settings::from_payload(&payload) {
                s.conn.on_upgrade_settings(settings);
            }
        }
        let ts = upgrade.request_ts.unwrap_or_default();
        let payload = Payload::Http([BodyCapture::new(0), BodyCapture::new(s.shared.limits.body_limit)]);
        let mut stream = s.streams.stream(ts, payload);
        stream.upgrade_request = upgrade.request.clone();
        stream.ended[0] = true;
        stream.sizes[0] = upgrade.request_size;
        stream.note("request sent as HTTP/1.1 with Upgrade: h2c".into());
        s.streams.open.insert(1, stream);
        s
    }

    /// Frames that count for nothing but flow control and liveness, per direction.
    pub fn counters(&self, dir: Direction) -> &super::connection::Counters {
        self.conn.counters(dir)
    }
}

/// The request and response heads' parts, with the count of fields that could not be decoded.
fn head_parts(headers: &HeaderList) -> (HeadParts, usize) {
    let mut parts = HeadParts::default();
    let mut unknown = 0;
    for f in headers.iter() {
        if f.known != Known::All {
            unknown += 1;
            continue;
        }
        let name = String::from_utf8_lossy(f.name).into_owned();
        let value = match f.value {
            // gRPC's binary metadata sent raw ("true binary", a 0 byte first, as grpc-core does
            // with peers that allow it) is shown as base64, as other peers send it.
            [0, raw @ ..] if name.ends_with("-bin") => base64::engine::general_purpose::STANDARD.encode(raw),
            v => String::from_utf8_lossy(v).into_owned(),
        };
        if name.starts_with(':') {
            parts.pseudo.push((name, value));
        } else {
            parts.headers.push((name, value));
        }
    }
    (parts, unknown)
}

fn what(dir: Direction) -> &'static str {
    match dir {
        Direction::ClientToServer => "request",
        Direction::ServerToClient => "response",
    }
}

impl Streams {
    fn stream(&mut self, ts: Timestamp, payload: Payload) -> Stream {
        self.next_seq += 1;
        Stream {
            seq: self.next_seq,
            ts,
            end_ts: None,
            request: None,
            upgrade_request: None,
            response: None,
            interim: Vec::new(),
            trailers: [Vec::new(), Vec::new()],
            response_ended_with_head: false,
            ended: [false; 2],
            sizes: [0; 2],
            reset: None,
            payload,
            notes: Vec::new(),
        }
    }

    fn payload_for(&self, head: &HeadParts) -> Payload {
        match &self.shared.grpc {
            Some(ctx) if head.header("content-type").is_some_and(is_grpc_content_type) => {
                Payload::Grpc(Box::new(GrpcCall::new(ctx, head.pseudo(":path"))))
            }
            _ => {
                let limit = self.shared.limits.body_limit;
                Payload::Http([BodyCapture::new(limit), BodyCapture::new(limit)])
            }
        }
    }

    /// Opens stream `id`, making room first.
    fn open(&mut self, id: u32, mut stream: Stream, out: &mut dyn ExchangeSink) {
        let max = self.shared.limits.max_streams.max(1);
        while self.open.len() >= max {
            let Some(oldest) = self.open.iter().min_by_key(|(_, s)| s.seq).map(|(id, _)| *id) else { break };
            if let Some(mut s) = self.open.remove(&oldest) {
                s.note(format!("reported before its end: more than {max} streams were open"));
                self.emit(oldest, s, out);
            }
        }
        let mut i = 0;
        while i < self.early_notes.len() {
            if self.early_notes[i].0 == id {
                let (_, note) = self.early_notes.remove(i);
                stream.note(note);
            } else {
                i += 1;
            }
        }
        self.open.insert(id, stream);
    }

    fn emit(&self, id: u32, s: Stream, out: &mut dyn ExchangeSink) {
        let Stream { ts, end_ts, request, upgrade_request, response, interim, trailers, ended, sizes, reset, .. } = s;
        match s.payload {
            Payload::Grpc(call) => {
                let [request_trailers, response_trailers] = trailers;
                let trailers_only = s.response_ended_with_head;
                let parts = CallParts {
                    stream_id: id,
                    ts,
                    end_ts,
                    request,
                    response,
                    trailers_only,
                    request_trailers,
                    trailers: (!trailers_only && ended[1]).then_some(response_trailers),
                    reset,
                    ended,
                    request_size: sizes[0],
                    response_size: sizes[1],
                    notes: s.notes,
                };
                if self.shared.grpc.is_some() {
                    out.emit(call.finish(parts));
                }
            }
            Payload::Http(bodies) => {
                if !self.shared.http {
                    return;
                }
                out.emit(json::exchange(HttpStream {
                    stream_id: id,
                    ts,
                    end_ts,
                    request,
                    upgrade_request,
                    response,
                    interim,
                    trailers,
                    bodies,
                    ended,
                    reset,
                    sizes,
                    notes: s.notes,
                }));
            }
        }
    }

    /// Reports stream `id` if it is over.
    fn finish_if_done(&mut self, id: u32, out: &mut dyn ExchangeSink) {
        if self.open.get(&id).is_some_and(Stream::done) {
            if let Some(s) = self.open.remove(&id) {
                self.emit(id, s, out);
            }
        }
    }

    fn early_note(&mut self, id: u32, note: String) {
        if self.early_notes.len() < MAX_EARLY_NOTES {
            self.early_notes.push((id, note));
        }
    }

    fn on_input(&mut self, dir: Direction, input: Input<'_>, out: &mut dyn ExchangeSink) {
        let d = dir.index();
        match input {
            Input::Frame { header, ts, wire } => match header.frame_type {
                FrameType::Headers | FrameType::PushPromise => {
                    self.block_ts[d] = ts;
                    self.block_bytes[d] = wire;
                }
                FrameType::Continuation => self.block_bytes[d] += wire,
                FrameType::Data => {
                    if let Some(s) = self.open.get_mut(&header.stream_id) {
                        s.sizes[d] += wire;
                    }
                }
                _ => {}
            },
            Input::Event(e) => self.on_event(e, out),
            Input::Preface => {}
            Input::DataLost { stream_id, lost } => {
                if let Some(s) = self.open.get_mut(&stream_id) {
                    match &mut s.payload {
                        Payload::Http(bodies) => bodies[d].lose(lost),
                        Payload::Grpc(call) => call.lose(dir, lost),
                    }
                    s.note(format!("{} body: {lost} bytes lost to a capture gap", what(dir)));
                }
            }
            Input::Skipped { bytes } => {
                for s in self.open.values_mut().filter(|s| !s.ended[d]) {
                    match &mut s.payload {
                        Payload::Http(bodies) => bodies[d].lose(0),
                        Payload::Grpc(call) => call.lose(dir, 0),
                    }
                    s.note(format!("{bytes} bytes of the connection's {} frames lost to a capture gap", what(dir)));
                }
            }
            Input::Lost { skipped } => {
                for s in self.open.values_mut().filter(|s| !s.ended[d]) {
                    s.note(format!("{} frames not found again after {skipped} bytes; the rest is missing", what(dir)));
                }
            }
        }
    }

    fn on_event(&mut self, event: Event<'_>, out: &mut dyn ExchangeSink) {
        match event {
            Event::Headers { dir, stream_id, headers, end_stream, undecodable } => {
                self.on_headers(dir, stream_id, &headers, end_stream, undecodable, out);
            }
            Event::PushPromise { dir, stream_id, promised_stream_id, headers, undecodable } => {
                let (head, unknown) = head_parts(&headers);
                let payload = {
                    let limit = self.shared.limits.body_limit;
                    Payload::Http([BodyCapture::new(limit), BodyCapture::new(limit)])
                };
                let mut s = self.stream(self.block_ts[dir.index()], payload);
                s.request = Some(head);
                s.ended[0] = true;
                s.sizes[0] = std::mem::take(&mut self.block_bytes[dir.index()]);
                s.note(format!("pushed: promised by the server on stream {stream_id}"));
                if undecodable || unknown > 0 {
                    s.note(format!("promised request: {unknown} header field(s) could not be decoded"));
                }
                self.open(promised_stream_id, s, out);
            }
            Event::Data { dir, stream_id, data, end_stream } => {
                let now = self.now;
                let Some(s) = self.open.get_mut(&stream_id) else { return };
                match &mut s.payload {
                    Payload::Http(bodies) => bodies[dir.index()].push(data),
                    Payload::Grpc(call) => call.push(dir, data),
                }
                if dir == Direction::ServerToClient {
                    s.end_ts = Some(now);
                }
                if end_stream {
                    s.ended[dir.index()] = true;
                    self.finish_if_done(stream_id, out);
                }
            }
            Event::Reset { dir, stream_id, error_code } => {
                let Some(s) = self.open.get_mut(&stream_id) else { return };
                s.reset = Some((dir, error_code.to_string()));
                self.finish_if_done(stream_id, out);
            }
            Event::GoAway { dir, last_stream_id, error_code, .. } => {
                // Streams the receiver of the GOAWAY opened above its last id were not processed.
                let receiver_opened_odd = dir == Direction::ServerToClient;
                let unanswered: Vec<u32> = self
                    .open
                    .iter()
                    .filter(|(id, s)| {
                        **id > last_stream_id && (**id % 2 == 1) == receiver_opened_odd && s.response.is_none()
                    })
                    .map(|(id, _)| *id)
                    .collect();
                let who = if dir == Direction::ServerToClient { "server" } else { "client" };
                for id in unanswered {
                    if let Some(mut s) = self.open.remove(&id) {
                        s.note(format!(
                            "not answered: the {who} sent GOAWAY ({error_code}) with last stream {last_stream_id}"
                        ));
                        self.emit(id, s, out);
                    }
                }
            }
            Event::Anomaly { stream_id, anomaly, .. } => match self.open.get_mut(&stream_id) {
                Some(s) => s.note(anomaly.to_string()),
                None => self.early_note(stream_id, anomaly.to_string()),
            },
        }
    }

    fn on_headers(
        &mut self,
        dir: Direction,
        stream_id: u32,
        headers: &HeaderList,
        end_stream: bool,
        undecodable: bool,
        out: &mut dyn ExchangeSink,
    ) {
        let d = dir.index();
        let (head, unknown) = head_parts(headers);
        let block_bytes = std::mem::take(&mut self.block_bytes[d]);
        let block_ts = self.block_ts[d];
        let now = self.now;
        if !self.open.contains_key(&stream_id) {
            let pseudo = match dir {
                Direction::ClientToServer => ":method",
                Direction::ServerToClient => ":status",
            };
            if head.pseudo(pseudo).is_none() && !undecodable {
                // Trailers of a stream already reported (or begun before the capture).
                return;
            }
            // A request opens a stream; so does a response whose request was not captured.
            let payload = self.payload_for(&head);
            let mut s = self.stream(block_ts, payload);
            // A response whose request was not captured: nothing more is expected of the client.
            s.ended[0] = dir == Direction::ServerToClient;
            self.open(stream_id, s, out);
        }
        let Some(s) = self.open.get_mut(&stream_id) else { return };
        s.sizes[d] += block_bytes;
        if undecodable || unknown > 0 {
            s.note(format!(
                "{} header block: {unknown} field(s) could not be decoded (HPACK state from before the capture, or a damaged block)",
                what(dir)
            ));
        }
        match dir {
            Direction::ClientToServer if s.request.is_none() && s.upgrade_request.is_none() && s.response.is_none() => {
                if let Payload::Grpc(call) = &mut s.payload {
                    call.set_encoding(dir, head.header("grpc-encoding"));
                }
                s.request = Some(head);
            }
            Direction::ServerToClient if s.response.is_none() => {
                let status = head.pseudo(":status").and_then(|v| v.trim().parse::<u16>().ok());
                match status {
                    Some(code @ 100..=199) if code != 101 && !end_stream => s.interim.push(code),
                    _ => {
                        if let Payload::Grpc(call) = &mut s.payload {
                            call.set_encoding(dir, head.header("grpc-encoding"));
                        }
                        s.response_ended_with_head = end_stream;
                        s.response = Some(head);
                    }
                }
            }
            _ => {
                let mut fields = head.headers;
                if !head.pseudo.is_empty() {
                    s.note(format!("{} trailers with pseudo-header fields", what(dir)));
                }
                s.trailers[d].append(&mut fields);
            }
        }
        if dir == Direction::ServerToClient {
            s.end_ts = Some(now);
        }
        if end_stream {
            s.ended[d] = true;
            self.finish_if_done(stream_id, out);
        }
    }

    /// Reports every open stream as it stands, oldest first.
    fn drain(&mut self, out: &mut dyn ExchangeSink) {
        let mut all: Vec<(u32, Stream)> = std::mem::take(&mut self.open).into_iter().collect();
        all.sort_by_key(|(_, s)| s.seq);
        for (id, mut s) in all {
            if s.response.is_some() && !s.ended[1] && s.reset.is_none() {
                s.note("response incomplete: the connection ended first".into());
            }
            self.emit(id, s, out);
        }
        self.early_notes.clear();
    }
}

impl StreamSession for Http2Session {
    fn on_data(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink) {
        if data.is_empty() {
            // No bytes: nothing happened at `ts` (it must not become the time of a later event).
            return;
        }
        let Http2Session { conn, inputs, streams, .. } = self;
        streams.now = ts;
        inputs[dir.index()].push(conn, dir, data, ts, &mut |input| streams.on_input(dir, input, out));
    }

    fn on_gap(&mut self, dir: Direction, len: u64, out: &mut dyn ExchangeSink) {
        let Http2Session { conn, inputs, streams, .. } = self;
        inputs[dir.index()].gap(conn, dir, len, &mut |input| streams.on_input(dir, input, out));
    }

    fn on_end(&mut self, dir: Direction, _ts: Timestamp, out: &mut dyn ExchangeSink) {
        let Http2Session { conn, inputs, streams, .. } = self;
        inputs[dir.index()].end(conn, dir, &mut |input| streams.on_input(dir, input, out));
    }

    fn on_close(&mut self, _ts: Timestamp, out: &mut dyn ExchangeSink) {
        for dir in [Direction::ClientToServer, Direction::ServerToClient] {
            self.on_end(dir, Timestamp::ZERO, out);
        }
        self.streams.drain(out);
        // Nothing more comes: release the tables and partial frames.
        let limits = self.shared.limits;
        self.conn = H2Connection::new(Start::Beginning, limits.connection);
        self.inputs = [FrameInput::new(false, limits.max_frame), FrameInput::new(false, limits.max_frame)];
    }

    fn buffered_bytes(&self) -> usize {
        let streams: usize = self.streams.open.values().map(Stream::buffered).sum();
        self.inputs.iter().map(FrameInput::buffered).sum::<usize>() + self.conn.buffered_bytes() + streams
    }
}
