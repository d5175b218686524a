//! One connection: each direction framed by the shared [`Framer`], client messages queued as
//! operations in the order the server answers them, server messages applied to the operation at
//! the front of the queue. Entries come out when an operation completes: a simple Query at its
//! ReadyForQuery (one entry per statement), an Execute at CommandComplete / EmptyQueryResponse /
//! PortalSuspended / ErrorResponse, the startup at ReadyForQuery or its error.
//!
//! Named statements and portals live in per-connection maps (bounded) so that an Execute knows
//! its SQL and bound parameters. After an ErrorResponse in an extended-query pipeline the server
//! skips everything up to Sync: the skipped Executes are reported as not executed.
//!
//! Synchronisation: a connection picked up mid-way, or one that lost bytes to a capture gap,
//! carries a marker in the queue (after what was queued before the gap). Server messages are
//! dropped while the marker is at the front, until one that can start the answer to the next
//! queued operation comes right after a ReadyForQuery seen there. A ReadyForQuery that goes by
//! while operations wait after the marker ends their answer (clients wait for it before sending
//! more, unless they pipeline): they are reported as not captured whole. So responses to requests
//! that were not captured are never paired with requests that were, and no SQL is invented; the
//! price is that the first request after a pickup or a gap may be reported without its answer.

use super::sql;
use super::values;
use super::wire::{self, Column, Message, PgFrames};
use crate::dissect::framing::{Framed, Framer};
use crate::dissect::{Direction, Exchange, ExchangeSink, StreamSession};
use crate::entry::Outcome;
use crate::time::Timestamp;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

mod client;
mod report;
mod server;

/// Rows kept per result set (the count stays exact).
pub const MAX_ROWS: usize = 10;
/// Notices kept per operation.
pub const MAX_NOTICES: usize = 8;
/// Named statements (and portals) remembered per connection; beyond it the oldest... is dropped.
pub const MAX_NAMED: usize = 256;
/// Operations waiting for the server per connection; beyond it the oldest is reported unanswered.
pub const MAX_PENDING: usize = 4096;
/// Bytes of SQL text kept per statement.
pub const MAX_SQL_BYTES: usize = 64 * 1024;
/// Statements reported per simple Query (the rest are counted in a note).
pub const MAX_STATEMENTS: usize = 64;

const NOT_EXECUTED: &str =
    "not executed: an earlier message of the pipeline failed, so the server skipped it (until Sync)";

/// A columns description shared by a statement, its portals and their results.
type Columns = Arc<[Column]>;

#[derive(Clone, Debug)]
struct Statement {
    sql: Arc<str>,
    param_types: Arc<[u32]>,
    columns: Option<Columns>,
}

#[derive(Clone, Debug)]
struct Portal {
    statement: String,
    sql: Option<Arc<str>>,
    params: Arc<Vec<Value>>,
    result_formats: Arc<[u16]>,
    columns: Option<Columns>,
}

/// What the server answered for one statement.
#[derive(Debug, Default)]
struct ResultSet {
    columns: Option<Columns>,
    column_count: usize,
    rows: Vec<Value>,
    row_count: u64,
    command_tag: Option<String>,
    error: Option<Value>,
    sqlstate: Option<String>,
    notices: Vec<Value>,
    copy: Option<Copy>,
    empty_query: bool,
    suspended: bool,
    size: u64,
    end_ts: Option<Timestamp>,
}

#[derive(Debug)]
struct Copy {
    inbound: bool,
    format: u8,
    rows: u64,
    bytes: u64,
    first_rows: Vec<String>,
    /// Text after the last line end of the data so far (only while first rows are collected).
    partial: Vec<u8>,
    failed: Option<String>,
}

impl Copy {
    fn data(&mut self, chunk: &[u8]) {
        self.bytes += chunk.len() as u64;
        if self.format != 0 {
            // Binary COPY: one CopyData per row is what servers send; count messages.
            self.rows += 1;
            return;
        }
        self.rows += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        if self.first_rows.len() >= MAX_ROWS {
            return;
        }
        for &b in chunk {
            if b == b'\n' {
                if self.first_rows.len() < MAX_ROWS {
                    self.first_rows.push(values::text(&self.partial));
                }
                self.partial.clear();
            } else if self.partial.len() <= values::MAX_VALUE_BYTES {
                self.partial.push(b);
            }
        }
    }

    fn json(&self) -> Value {
        let mut m = Map::new();
        m.insert("direction".into(), Value::from(if self.inbound { "in" } else { "out" }));
        m.insert("format".into(), Value::from(if self.format == 0 { "text" } else { "binary" }));
        m.insert("rows".into(), Value::from(self.rows));
        m.insert("bytes".into(), Value::from(self.bytes));
        m.insert("first_rows".into(), Value::from(self.first_rows.clone()));
        if let Some(f) = &self.failed {
            m.insert("failed".into(), Value::from(f.clone()));
        }
        Value::Object(m)
    }
}

#[derive(Debug)]
struct Exec {
    ts: Timestamp,
    size: u64,
    sql: Option<Arc<str>>,
    params: Arc<Vec<Value>>,
    statement: String,
    portal: String,
    result_formats: Arc<[u16]>,
    result: ResultSet,
    notes: Vec<String>,
}

#[derive(Debug)]
enum Op {
    /// Responses up to here belong to requests that were not captured (see the module doc);
    /// `saw_ready`: a ReadyForQuery went by while it was at the front, so the next message may
    /// start an answer.
    Marker {
        saw_ready: bool,
    },
    Encryption {
        gss: bool,
        ts: Timestamp,
        size: u64,
    },
    Startup(Box<Startup>),
    Query(Box<Query>),
    Parse {
        sql: Arc<str>,
        ts: Timestamp,
        size: u64,
    },
    Bind {
        sql: Option<Arc<str>>,
        params: Arc<Vec<Value>>,
        ts: Timestamp,
        size: u64,
    },
    Describe {
        statement: bool,
        name: String,
    },
    Close,
    Sync,
    Execute(Box<Exec>),
    Function(Box<Function>),
}

#[derive(Debug)]
struct Startup {
    ts: Timestamp,
    size: u64,
    request: Map<String, Value>,
    auth: Vec<String>,
    server_params: Map<String, Value>,
    backend_pid: Option<u32>,
    /// The last authentication request code (tells what a PasswordMessage is).
    auth_code: u32,
    result: ResultSet,
}

#[derive(Debug)]
struct Query {
    ts: Timestamp,
    size: u64,
    sql: String,
    done: Vec<ResultSet>,
    current: Option<ResultSet>,
}

#[derive(Debug)]
struct Function {
    ts: Timestamp,
    size: u64,
    oid: u32,
    args: usize,
    value: Option<Value>,
    result: ResultSet,
}

/// A bounded name → value map that forgets its oldest name when full.
#[derive(Debug)]
struct Named<T> {
    map: HashMap<String, T>,
    order: VecDeque<String>,
}

impl<T> Named<T> {
    fn new() -> Self {
        Named { map: HashMap::new(), order: VecDeque::new() }
    }
    fn insert(&mut self, name: String, value: T) {
        if self.map.insert(name.clone(), value).is_none() {
            self.order.push_back(name);
            if self.order.len() > MAX_NAMED {
                if let Some(old) = self.order.pop_front() {
                    self.map.remove(&old);
                }
            }
        }
    }
    fn get(&self, name: &str) -> Option<&T> {
        self.map.get(name)
    }
    fn get_mut(&mut self, name: &str) -> Option<&mut T> {
        self.map.get_mut(name)
    }
    fn remove(&mut self, name: &str) {
        if self.map.remove(name).is_some() {
            self.order.retain(|n| n != name);
        }
    }
}

struct Half {
    framer: Framer,
    format: PgFrames,
}

/// The PostgreSQL session of one connection.
pub struct PgSession {
    halves: [Half; 2],
    ops: VecDeque<Op>,
    statements: Named<Statement>,
    portals: Named<Portal>,
    user: Option<String>,
    database: Option<String>,
    /// An extended-query error: the server skips client messages until Sync.
    skip_until_sync: bool,
    /// The session refused an encrypted connection or otherwise stopped.
    done: bool,
    /// Request bytes of Parse/Bind/Describe messages, and the time of the first, for the next Execute.
    pre: Option<(Timestamp, u64)>,
    /// Bytes the server sent (delivered or lost), and how many of them were one-byte answers to
    /// encryption requests: an answer can only be owed while these are equal.
    server_bytes: u64,
    answers_seen: u64,
    /// The server answered `N` to an encryption request: the startup goes on in clear.
    encryption_refused: Option<&'static str>,
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The common outcome of a SQLSTATE: connection, resource, operator, system and internal errors
/// (classes 08, 53, 57, 58, F0, XX) and transaction rollbacks (40: serialization failures,
/// deadlocks) are the server's; every other error class is the client's (syntax, missing
/// objects, data and constraint violations, authentication).
pub fn sqlstate_outcome(code: &str) -> Outcome {
    match code.get(..2) {
        Some("00" | "01" | "02") => Outcome::Ok,
        Some("08" | "40" | "53" | "57" | "58" | "F0" | "XX") => Outcome::ServerError,
        _ => Outcome::ClientError,
    }
}

fn error_json(f: &wire::Fields<'_>) -> Value {
    let mut m = Map::new();
    let mut put = |k: &str, v: Option<&[u8]>| {
        if let Some(v) = v {
            m.insert(k.into(), Value::String(values::text(v)));
        }
    };
    put("severity", f.severity);
    put("code", f.code);
    put("message", f.message);
    put("detail", f.detail);
    put("hint", f.hint);
    if let Some(p) = f.position.and_then(|p| std::str::from_utf8(p).ok()).and_then(|p| p.parse::<u64>().ok()) {
        m.insert("position".into(), Value::from(p));
    }
    Value::Object(m)
}

impl ResultSet {
    fn row(&mut self, body: &[u8], formats: &[u16]) {
        self.row_count += 1;
        if self.rows.len() >= MAX_ROWS {
            return;
        }
        let Some(values) = wire::row_values(body) else { return };
        let mut row = Vec::new();
        for (i, v) in values.enumerate().take(wire::MAX_VALUES) {
            let Ok(v) = v else { break };
            let col = self.columns.as_ref().and_then(|c| c.get(i));
            let format = if formats.is_empty() { col.map_or(0, |c| c.format) } else { wire::format_of(formats, i) };
            row.push(values::decode(v, format, col.map_or(0, |c| c.type_oid)));
        }
        self.rows.push(Value::Array(row));
    }

    fn set_error(&mut self, body: &[u8]) {
        if let Some(f) = wire::parse_fields(body) {
            self.sqlstate = f.code.map(lossy);
            self.error = Some(error_json(&f));
        } else {
            self.error = Some(json!({"message": "malformed ErrorResponse"}));
        }
    }

    fn status(&self) -> Option<String> {
        if let Some(code) = &self.sqlstate {
            return Some(code.clone());
        }
        if self.error.is_some() {
            return None;
        }
        self.command_tag.clone()
    }

    fn outcome(&self) -> Outcome {
        match (&self.sqlstate, &self.error) {
            (Some(code), _) => sqlstate_outcome(code),
            (None, Some(_)) => Outcome::Error,
            _ => Outcome::Ok,
        }
    }

    /// The `response` object, or `None` when nothing was answered.
    fn json(&self) -> Value {
        let mut m = Map::new();
        if let Some(tag) = &self.command_tag {
            m.insert("command_tag".into(), Value::from(tag.as_str()));
        }
        if let Some(cols) = &self.columns {
            let cols: Vec<Value> = cols
                .iter()
                .map(|c| {
                    let ty = values::type_name(c.type_oid).map_or_else(|| Value::from(c.type_oid), Value::from);
                    json!({"name": c.name, "type": ty})
                })
                .collect();
            m.insert("columns".into(), Value::Array(cols));
            if self.column_count > wire::MAX_VALUES {
                m.insert("column_count".into(), Value::from(self.column_count));
            }
        }
        if self.columns.is_some() || self.row_count > 0 {
            m.insert("rows".into(), Value::Array(self.rows.clone()));
            m.insert("row_count".into(), Value::from(self.row_count));
        }
        if let Some(c) = &self.copy {
            m.insert("copy".into(), c.json());
        }
        if self.empty_query {
            m.insert("empty_query".into(), Value::Bool(true));
        }
        if self.suspended {
            m.insert("suspended".into(), Value::Bool(true));
        }
        if let Some(e) = &self.error {
            m.insert("error".into(), e.clone());
        }
        if !self.notices.is_empty() {
            m.insert("notices".into(), Value::Array(self.notices.clone()));
        }
        Value::Object(m)
    }
}

impl PgSession {
    /// `mid_connection`: the connection was picked up mid-way, so boundaries must be found and
    /// the first responses may answer requests that were not captured.
    pub fn new(max_frame: usize, mid_connection: bool) -> Self {
        let half = |dir| {
            let framer = Framer::new(max_frame);
            let framer = if mid_connection { framer.resynchronising() } else { framer };
            Half { framer, format: PgFrames::new(dir) }
        };
        let mut ops = VecDeque::new();
        if mid_connection {
            ops.push_back(Op::Marker { saw_ready: false });
        }
        PgSession {
            halves: [half(Direction::ClientToServer), half(Direction::ServerToClient)],
            ops,
            statements: Named::new(),
            portals: Named::new(),
            user: None,
            database: None,
            skip_until_sync: false,
            done: false,
            pre: None,
            encryption_refused: None,
            server_bytes: 0,
            answers_seen: 0,
        }
    }

    fn base_request(&self) -> Map<String, Value> {
        let mut m = Map::new();
        if let Some(d) = &self.database {
            m.insert("database".into(), Value::from(d.as_str()));
        }
        if let Some(u) = &self.user {
            m.insert("user".into(), Value::from(u.as_str()));
        }
        m
    }

    fn push_op(&mut self, op: Op, out: &mut dyn ExchangeSink) {
        if self.ops.len() >= MAX_PENDING {
            if let Some(old) = self.ops.pop_front() {
                self.report_unanswered(old, "no response before the limit of pending requests was reached", out);
            }
        }
        self.ops.push_back(op);
    }

    fn take_pre(&mut self, ts: Timestamp, size: u64) -> (Timestamp, u64) {
        match self.pre.take() {
            Some((t, s)) => (t, s + size),
            None => (ts, size),
        }
    }

    fn add_pre(&mut self, ts: Timestamp, size: u64) {
        let (t, s) = self.pre.unwrap_or((ts, 0));
        self.pre = Some((t, s + size));
    }
}

fn values_sql(b: &[u8]) -> String {
    let shown = b.get(..MAX_SQL_BYTES).unwrap_or(b);
    String::from_utf8_lossy(shown).into_owned()
}

fn copy_start(tag: u8, body: &[u8]) -> Copy {
    Copy {
        inbound: tag == b'G',
        format: body.first().copied().unwrap_or(0),
        rows: 0,
        bytes: 0,
        first_rows: Vec::new(),
        partial: Vec::new(),
        failed: None,
    }
}

/// The COPY FROM STDIN in progress in this operation, if any.
fn copy_in_of(op: &mut Op) -> Option<&mut Copy> {
    let copy = match op {
        Op::Query(q) => q.current.as_mut()?.copy.as_mut()?,
        Op::Execute(e) => e.result.copy.as_mut()?,
        _ => return None,
    };
    copy.inbound.then_some(copy)
}

impl PgSession {
    fn feed(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink) {
        let i = dir.index();
        let mut half = std::mem::replace(&mut self.halves[i], Half::placeholder(dir));
        let mut on = |framed: Framed<'_>| match framed {
            Framed::Frame { bytes, ts } => self.on_frame(dir, bytes, bytes.len() as u64, ts, out),
            Framed::Oversized { prefix, len, ts } => self.on_frame(dir, prefix, len as u64, ts, out),
            Framed::Damaged { .. } | Framed::Skipped { .. } | Framed::Invalid { .. } => {
                if let (Direction::ServerToClient, Some(Op::Marker { saw_ready })) = (dir, self.ops.front_mut()) {
                    *saw_ready = false;
                }
            }
            Framed::Tail { .. } | Framed::Lost { .. } => {}
        };
        half.framer.push(&mut half.format, data, ts, &mut on);
        self.halves[i] = half;
        if self.halves.iter().all(|h| h.framer.is_stopped()) && !self.done {
            self.stop(out);
        }
    }

    fn on_frame(&mut self, dir: Direction, bytes: &[u8], size: u64, ts: Timestamp, out: &mut dyn ExchangeSink) {
        if self.done {
            return;
        }
        let Some(msg) = wire::message(bytes, bytes.len() == 1) else { return };
        match dir {
            Direction::ClientToServer => self.on_client(msg, size, ts, out),
            Direction::ServerToClient => self.on_server(msg, size, ts, out),
        }
    }
}

impl Half {
    fn placeholder(dir: Direction) -> Half {
        Half { framer: Framer::new(1), format: PgFrames::new(dir) }
    }
}

impl StreamSession for PgSession {
    fn on_data(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink) {
        if dir == Direction::ServerToClient {
            self.server_bytes += data.len() as u64;
        }
        if !self.done {
            self.feed(dir, data, ts, out);
        }
    }

    fn on_gap(&mut self, dir: Direction, len: u64, out: &mut dyn ExchangeSink) {
        if dir == Direction::ServerToClient {
            self.server_bytes += len;
        }
        if self.done {
            return;
        }
        self.halves[dir.index()].framer.gap(len, &mut |_| {});
        match dir {
            Direction::ServerToClient => {
                // Responses were lost: what waits cannot be paired any more.
                self.flush("its response was lost to a capture gap", out);
            }
            Direction::ClientToServer => {
                self.pre = None;
                self.skip_until_sync = false;
            }
        }
        match self.ops.back_mut() {
            Some(Op::Marker { saw_ready }) => *saw_ready = false,
            _ => self.ops.push_back(Op::Marker { saw_ready: false }),
        }
    }

    fn on_end(&mut self, dir: Direction, _ts: Timestamp, _out: &mut dyn ExchangeSink) {
        self.halves[dir.index()].framer.end();
    }

    fn on_close(&mut self, _ts: Timestamp, out: &mut dyn ExchangeSink) {
        self.flush("no response before the connection closed", out);
        for h in &mut self.halves {
            h.framer.end();
        }
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn buffered_bytes(&self) -> usize {
        self.halves.iter().map(|h| h.framer.buffered()).sum()
    }
}
