//! One gRPC call (one HTTP/2 stream whose `content-type` is `application/grpc*`) as an entry:
//! the HTTP/2 session feeds the stream's DATA bytes of each direction to a [`GrpcCall`], which
//! cuts them into messages and renders each as it completes (bounded in count and bytes); when the
//! stream is over, [`GrpcCall::finish`] turns the call and the stream's headers and trailers
//! ([`CallParts`]) into the [`Exchange`].
//!
//! Entry JSON (docs/entry.md, "gRPC"):
//! ```text
//! request:  {"path", "service", "method", "authority", "version": "HTTP/2", "stream_id",
//!            "metadata": [[key, value], ...], "encoding", "timeout"?, "messages": [MESSAGE, ...],
//!            "messages_not_shown"?}
//! response: {"status", "code", "message", "http_status", "trailers_only", "metadata",
//!            "trailers", "encoding", "messages": [MESSAGE, ...], "messages_not_shown"?}
//! MESSAGE:  {"compressed", "size", "truncated"?, + one of view::MessageView's forms}
//! ```

use super::message::{Encoding, GrpcMessage, MessageLimits, MessageReader, Unfinished};
use super::schema::{MethodSchema, ProtoSchema, Role};
use super::status::{decode_grpc_message, fault, parse_status, parse_timeout, status_name, Fault};
use super::view::{view_message, ViewLimits};
use crate::dissect::http1::parser::Header;
use crate::dissect::{Direction, Exchange};
use crate::entry::Outcome;
use crate::time::Timestamp;
use base64::Engine as _;
use serde_json::{Map, Value};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// Summary of a call whose request headers were not captured.
const ORPHAN_SUMMARY: &str = "(request not captured)";
/// Notes one call keeps.
const MAX_NOTES: usize = 16;

/// Bounds of one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallLimits {
    pub message: MessageLimits,
    pub view: ViewLimits,
    /// Messages shown per direction; later ones are counted only.
    pub max_messages: usize,
    /// Payload bytes (decompressed) rendered per direction; messages past it are counted only.
    pub max_bytes: usize,
}

impl CallLimits {
    /// Limits from the body limit of the protocol settings: a message is kept whole up to it, and
    /// each direction renders at most that many payload bytes.
    pub fn with_body_limit(body_limit: usize) -> Self {
        let body_limit = body_limit.max(1);
        CallLimits {
            message: MessageLimits {
                max_message: body_limit,
                truncated_prefix: body_limit.min(super::message::DEFAULT_TRUNCATED_PREFIX),
                max_decompressed: body_limit,
            },
            view: ViewLimits::default(),
            max_messages: 64,
            max_bytes: body_limit,
        }
    }
}

/// What every call of a dissector shares: the schema of `--proto-path` (loaded once) and limits.
#[derive(Debug)]
pub struct GrpcContext {
    schema: Option<ProtoSchema>,
    /// Why the schema is missing or partial; told once, in the first call's notes.
    schema_problem: Option<String>,
    problem_told: AtomicBool,
    limits: CallLimits,
}

impl GrpcContext {
    /// Loads the schema from `proto_path` (when given). A directory that does not load leaves the
    /// calls schema-less; the problem is noted once.
    pub fn new(proto_path: Option<&Path>, limits: CallLimits) -> Self {
        let (schema, schema_problem) = match proto_path.map(ProtoSchema::load) {
            None => (None, None),
            Some(Ok(s)) => {
                let problem = s.problems().first().map(|p| {
                    let more = s.problems().len() - 1;
                    let more = if more > 0 { format!(" (and {more} more)") } else { String::new() };
                    format!("--proto-path: a .proto file did not compile: {p}{more}")
                });
                (Some(s), problem)
            }
            Some(Err(e)) => (None, Some(format!("{e}; messages are shown without a schema"))),
        };
        GrpcContext { schema, schema_problem, problem_told: AtomicBool::new(false), limits }
    }

    pub fn limits(&self) -> &CallLimits {
        &self.limits
    }

    pub fn has_schema(&self) -> bool {
        self.schema.is_some()
    }

    /// The schema problem, the first time it is asked for.
    fn untold_problem(&self) -> Option<String> {
        let problem = self.schema_problem.as_ref()?;
        (!self.problem_told.swap(true, Ordering::Relaxed)).then(|| problem.clone())
    }
}

/// Whether a `content-type` makes a stream a gRPC call (`application/grpc`, `application/grpc+proto`, ...).
pub fn is_grpc_content_type(value: &str) -> bool {
    let v = value.trim().to_ascii_lowercase();
    v == "application/grpc" || v.starts_with("application/grpc+") || v.starts_with("application/grpc;")
}

/// The metadata keys whose values are credentials: gRPC's guess by name, and HTTP's headers.
pub fn is_secret_metadata(key: &str) -> bool {
    super::status::is_credential_key(key) || crate::redact::is_sensitive(key)
}

/// One direction of a call.
#[derive(Debug)]
struct Side {
    encoding: Encoding,
    reader: MessageReader,
    messages: Vec<Value>,
    /// Messages completed, shown or not.
    count: u64,
    /// Messages not shown (over the count or byte bound).
    not_shown: u64,
    /// Payload bytes rendered.
    rendered: usize,
    /// A gap took bytes: message boundaries are lost for the rest of the direction.
    lost: bool,
}

impl Side {
    fn new(limits: &CallLimits) -> Self {
        Side {
            encoding: Encoding::Identity,
            reader: MessageReader::new(limits.message),
            messages: Vec::new(),
            count: 0,
            not_shown: 0,
            rendered: 0,
            lost: false,
        }
    }
}

/// The messages of one call, both directions.
#[derive(Debug)]
pub struct GrpcCall {
    method: Option<MethodSchema>,
    sides: [Side; 2],
    notes: Vec<String>,
    limits: CallLimits,
}

/// The parts of a head the entry shows: pseudo-header fields and the others, in wire order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HeadParts {
    pub pseudo: Vec<Header>,
    pub headers: Vec<Header>,
}

impl HeadParts {
    pub fn pseudo(&self, name: &str) -> Option<&str> {
        self.pseudo.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// What the HTTP/2 stream knows of the call besides its messages.
#[derive(Clone, Debug, Default)]
pub struct CallParts {
    pub stream_id: u32,
    /// First byte of the request headers (or of the first frame seen).
    pub ts: Timestamp,
    /// Last byte of the response, when there was one.
    pub end_ts: Option<Timestamp>,
    pub request: Option<HeadParts>,
    pub response: Option<HeadParts>,
    /// The response's HEADERS ended the stream: a trailers-only response (its head holds the status).
    pub trailers_only: bool,
    pub request_trailers: Vec<Header>,
    pub trailers: Option<Vec<Header>>,
    /// The stream was reset: by whom and with what error code name.
    pub reset: Option<(Direction, String)>,
    /// Each direction's END_STREAM was seen.
    pub ended: [bool; 2],
    pub request_size: u64,
    pub response_size: u64,
    pub notes: Vec<String>,
}

impl GrpcCall {
    /// A call to `path` (`/package.Service/Method`, when the request was seen).
    pub fn new(ctx: &GrpcContext, path: Option<&str>) -> Self {
        let mut notes = Vec::new();
        notes.extend(ctx.untold_problem());
        let method = match (&ctx.schema, path) {
            (Some(schema), Some(path)) => match schema.method(path) {
                Ok(m) => Some(m),
                Err(e) => {
                    notes.push(format!("{e}; messages are shown without a schema"));
                    None
                }
            },
            _ => None,
        };
        GrpcCall { method, sides: [Side::new(&ctx.limits), Side::new(&ctx.limits)], notes, limits: ctx.limits }
    }

    /// The `grpc-encoding` a direction's head named.
    pub fn set_encoding(&mut self, dir: Direction, value: Option<&str>) {
        self.sides[dir.index()].encoding = Encoding::from_header(value);
    }

    /// The next DATA bytes of a direction.
    pub fn push(&mut self, dir: Direction, data: &[u8]) {
        let side = &mut self.sides[dir.index()];
        if side.lost {
            return;
        }
        let mut done = Vec::new();
        side.reader.push(data, &mut done);
        for m in done {
            self.render(dir, m);
        }
    }

    /// `len` DATA bytes of a direction were not captured: its later messages cannot be found.
    pub fn lose(&mut self, dir: Direction, len: u64) {
        let side = &mut self.sides[dir.index()];
        if !side.lost {
            side.lost = true;
            side.reader = MessageReader::new(self.limits.message);
            let what = direction_name(dir);
            self.note(format!("{what} messages: {len} bytes lost to a capture gap; later ones not shown"));
        }
    }

    /// Bytes held (partial messages and rendered messages' payloads).
    pub fn buffered_bytes(&self) -> usize {
        self.sides.iter().map(|s| s.reader.buffered_bytes() + s.rendered).sum()
    }

    fn note(&mut self, note: String) {
        if self.notes.len() < MAX_NOTES {
            self.notes.push(note);
        }
    }

    fn render(&mut self, dir: Direction, m: GrpcMessage) {
        let role = match dir {
            Direction::ClientToServer => Role::Request,
            Direction::ServerToClient => Role::Response,
        };
        let limits = self.limits;
        let descriptor = self.method.as_ref().map(|method| method.message(role));
        let side = &mut self.sides[dir.index()];
        side.count += 1;
        let room = limits.max_bytes.saturating_sub(side.rendered);
        if side.messages.len() >= limits.max_messages || room == 0 {
            side.not_shown += 1;
            return;
        }
        let mut notes = Vec::new();
        let mut obj = Map::new();
        obj.insert("compressed".into(), Value::Bool(m.flag == 1));
        obj.insert("size".into(), Value::from(m.length));
        match m.payload(&side.encoding, limits.message.max_decompressed.min(room)) {
            Ok(payload) => {
                side.rendered += payload.bytes.len();
                if payload.partial {
                    obj.insert("truncated".into(), Value::Bool(true));
                    notes.push(format!("message {} shown in part", side.count));
                }
                let view = if payload.partial {
                    // A prefix of a message is no message: show its bytes.
                    super::view::MessageView::Bytes {
                        base64: base64::engine::general_purpose::STANDARD.encode(&payload.bytes),
                    }
                } else {
                    view_message(&payload.bytes, descriptor.as_ref(), &limits.view, &mut notes)
                };
                if let Value::Object(v) = view.to_json() {
                    obj.extend(v);
                }
            }
            Err(e) => {
                side.rendered += m.data.len();
                notes.push(format!("message {}: {e}; shown as sent", side.count));
                let b64 = base64::engine::general_purpose::STANDARD.encode(&m.data);
                obj.insert("base64".into(), Value::String(b64));
            }
        }
        side.messages.push(Value::Object(obj));
        let what = direction_name(dir);
        for n in notes {
            self.note(format!("{what} {n}"));
        }
    }

    /// The entry of the finished (or abandoned) call.
    pub fn finish(mut self, parts: CallParts) -> Exchange {
        for dir in [Direction::ClientToServer, Direction::ServerToClient] {
            let what = direction_name(dir);
            let side = &mut self.sides[dir.index()];
            let unfinished = side.reader.finish();
            let not_shown = side.not_shown;
            if let Some(u) = unfinished {
                let (got, of) = match u {
                    Unfinished::Prefix { received, .. } => (received as u64, 5),
                    Unfinished::Message { received, length, .. } => (u64::from(received), u64::from(length)),
                };
                self.note(format!("{what} ended inside a message ({got} of {of} bytes)"));
            }
            if not_shown > 0 {
                self.note(format!("{not_shown} {what} message(s) not shown (limits)"));
            }
        }
        let CallParts { ts, end_ts, request, response, trailers_only, trailers, reset, .. } = &parts;
        let path = request.as_ref().and_then(|r| r.pseudo(":path")).map(str::to_owned);
        // The status: from the trailers, or from the head of a trailers-only response.
        let status_source = if *trailers_only { response.as_ref().map(|r| &r.headers) } else { trailers.as_ref() };
        let grpc_status = status_source.and_then(|h| header(h, "grpc-status"));
        let code = grpc_status.and_then(parse_status);
        let message = status_source.and_then(|h| header(h, "grpc-message")).map(decode_grpc_message);
        let mut notes = parts.notes.clone();
        notes.append(&mut self.notes);
        if grpc_status.is_some() && code.is_none() {
            notes.push(format!("grpc-status {:?} is not a number", grpc_status.unwrap_or_default()));
        }
        let (status, outcome) = match (code, reset, response) {
            (Some(c), _, _) => {
                let name = status_name(c).map_or_else(|| c.to_string(), str::to_owned);
                let outcome = match fault(c) {
                    Fault::None => Outcome::Ok,
                    Fault::Client => Outcome::ClientError,
                    Fault::Server => Outcome::ServerError,
                };
                (Some(name), outcome)
            }
            (None, Some((by, code)), _) => {
                notes.push(format!("stream reset by the {} ({code}) before a grpc-status", side_name(*by)));
                (Some(code.clone()), Outcome::Error)
            }
            (None, None, Some(r)) => {
                let http = r.pseudo(":status").unwrap_or("?");
                notes.push(format!("no grpc-status in the response (HTTP status {http})"));
                (None, Outcome::Error)
            }
            (None, None, None) => (None, Outcome::NoResponse),
        };
        let summary = match (&path, request) {
            (Some(p), _) if !p.is_empty() => p.clone(),
            (_, Some(_)) => "(no :path)".to_owned(),
            (_, None) => ORPHAN_SUMMARY.to_owned(),
        };
        let [req_side, resp_side] = self.sides;
        let request_json = request.as_ref().map_or(Value::Null, |r| request_json(r, &parts, req_side));
        let response_json = response
            .as_ref()
            .map(|r| response_json(r, &parts, resp_side, grpc_status.is_some().then_some((code, message))));
        Exchange {
            protocol: "grpc",
            ts: *ts,
            end_ts: response_json.as_ref().and(*end_ts),
            summary,
            status,
            outcome,
            request_size: parts.request_size,
            response_size: parts.response_size,
            request: request_json,
            response: response_json,
            notes,
        }
    }
}

fn direction_name(dir: Direction) -> &'static str {
    match dir {
        Direction::ClientToServer => "request",
        Direction::ServerToClient => "response",
    }
}

fn side_name(dir: Direction) -> &'static str {
    match dir {
        Direction::ClientToServer => "client",
        Direction::ServerToClient => "server",
    }
}

fn header<'h>(headers: &'h [Header], name: &str) -> Option<&'h str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

pub(crate) fn pairs_json(pairs: &[Header]) -> Value {
    Value::Array(
        pairs.iter().map(|(n, v)| Value::Array(vec![Value::String(n.clone()), Value::String(v.clone())])).collect(),
    )
}

fn opt_str(v: Option<&str>) -> Value {
    v.map_or(Value::Null, |s| Value::String(s.to_owned()))
}

fn messages_json(m: &mut Map<String, Value>, side: Side) {
    if side.not_shown > 0 {
        m.insert("messages_not_shown".into(), Value::from(side.not_shown));
    }
    m.insert("messages".into(), Value::Array(side.messages));
    m.insert("encoding".into(), Value::String(side.encoding.name().to_owned()));
}

fn request_json(head: &HeadParts, parts: &CallParts, side: Side) -> Value {
    let path = head.pseudo(":path");
    let (service, method) = path
        .and_then(|p| p.strip_prefix('/'))
        .and_then(|p| p.split_once('/'))
        .map_or((None, None), |(s, m)| (Some(s), Some(m)));
    let mut m = Map::new();
    m.insert("path".into(), opt_str(path));
    m.insert("service".into(), opt_str(service));
    m.insert("method".into(), opt_str(method));
    m.insert("authority".into(), opt_str(head.pseudo(":authority")));
    m.insert("version".into(), Value::String("HTTP/2".into()));
    m.insert("stream_id".into(), Value::from(parts.stream_id));
    m.insert("metadata".into(), pairs_json(&head.headers));
    if let Some(t) = head.header("grpc-timeout") {
        let v = match parse_timeout(t) {
            Ok(d) => Value::from(u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
            Err(_) => Value::String(t.to_owned()),
        };
        m.insert("timeout_us".into(), v);
    }
    if !parts.request_trailers.is_empty() {
        m.insert("trailers".into(), pairs_json(&parts.request_trailers));
    }
    messages_json(&mut m, side);
    Value::Object(m)
}

fn response_json(
    head: &HeadParts,
    parts: &CallParts,
    side: Side,
    status: Option<(Option<u32>, Option<String>)>,
) -> Value {
    let mut m = Map::new();
    let (code, message) = status.unwrap_or((None, None));
    m.insert(
        "status".into(),
        code.map_or(Value::Null, |c| Value::String(status_name(c).map_or_else(|| c.to_string(), str::to_owned))),
    );
    m.insert("code".into(), code.map_or(Value::Null, Value::from));
    m.insert("message".into(), message.map_or(Value::Null, Value::String));
    let http_status = head.pseudo(":status").and_then(|s| s.parse::<u16>().ok());
    m.insert("http_status".into(), http_status.map_or(Value::Null, Value::from));
    m.insert("trailers_only".into(), Value::Bool(parts.trailers_only));
    // A trailers-only response's one header block is its trailers.
    let (metadata, trailers) = if parts.trailers_only {
        (&[][..], &head.headers[..])
    } else {
        (&head.headers[..], parts.trailers.as_deref().unwrap_or_default())
    };
    m.insert("metadata".into(), pairs_json(metadata));
    m.insert("trailers".into(), pairs_json(trailers));
    messages_json(&mut m, side);
    Value::Object(m)
}
