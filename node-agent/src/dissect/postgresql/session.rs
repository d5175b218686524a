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

mod report;

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

    // ---- client messages ----

    fn on_client(&mut self, msg: Message<'_>, size: u64, ts: Timestamp, out: &mut dyn ExchangeSink) {
        match msg {
            Message::Startup { code, body } => self.on_startup_packet(code, body, size, ts, out),
            Message::Typed { tag, body } => self.on_client_typed(tag, body, size, ts, out),
            Message::EncryptionAnswer(_) => {}
        }
    }

    fn on_startup_packet(&mut self, code: u32, body: &[u8], size: u64, ts: Timestamp, out: &mut dyn ExchangeSink) {
        match code {
            wire::SSL_REQUEST | wire::GSSENC_REQUEST => {
                // The answer is the server's next byte, before anything else it sends: a server
                // that already sent (or began) a message owes none.
                let server = &mut self.halves[1];
                if self.server_bytes == self.answers_seen && !server.format.typed_seen {
                    server.format.ssl_answers_due = server.format.ssl_answers_due.saturating_add(1);
                }
                self.push_op(Op::Encryption { gss: code == wire::GSSENC_REQUEST, ts, size }, out);
            }
            wire::CANCEL_REQUEST => {
                let mut r = wire::Reader::new(body);
                let (pid, _key) = (r.u32(), r.u32());
                let mut request = self.base_request();
                request.insert("cancel".into(), json!({"backend_pid": pid}));
                out.emit(Exchange {
                    protocol: super::NAME,
                    ts,
                    end_ts: None,
                    summary: format!("CANCEL {}", pid.unwrap_or(0)),
                    status: None,
                    outcome: Outcome::Ok,
                    request_size: size,
                    response_size: 0,
                    request: Value::Object(request),
                    response: None,
                    notes: vec!["a cancel request gets no response: the server closes the connection".into()],
                });
            }
            _ => {
                let mut request = Map::new();
                let mut parameters = Map::new();
                for (k, v) in wire::parse_startup_params(body).unwrap_or_default() {
                    let (k, v) = (lossy(k), values::text(v));
                    match k.as_str() {
                        "user" => self.user = Some(v.clone()),
                        "database" => self.database = Some(v.clone()),
                        _ => {}
                    }
                    parameters.insert(k, Value::String(v));
                }
                if self.database.is_none() {
                    // The server's default database is the user's name.
                    self.database = self.user.clone();
                }
                request.extend(self.base_request());
                if let Some(app) = parameters.get("application_name") {
                    request.insert("application_name".into(), app.clone());
                }
                request.insert("protocol_version".into(), Value::from(format!("{}.{}", code >> 16, code & 0xffff)));
                request.insert("parameters".into(), Value::Object(parameters));
                if let Some(what) = self.encryption_refused.take() {
                    request.insert("encryption_refused".into(), Value::from(what));
                }
                let startup = Startup {
                    ts,
                    size,
                    request,
                    auth: Vec::new(),
                    server_params: Map::new(),
                    backend_pid: None,
                    auth_code: 0,
                    result: ResultSet::default(),
                };
                self.push_op(Op::Startup(Box::new(startup)), out);
            }
        }
    }

    fn on_client_typed(&mut self, tag: u8, body: &[u8], size: u64, ts: Timestamp, out: &mut dyn ExchangeSink) {
        let mut r = wire::Reader::new(body);
        // After an error the server skips messages until Sync: the maps still follow what the
        // client meant (so a skipped Execute shows its SQL), but nothing waits for an answer.
        let skipping = self.skip_until_sync;
        match tag {
            b'Q' => {
                // An oversized Query arrives cut: its text is what came.
                let sql = values_sql(r.cstr().unwrap_or(body));
                self.push_op(Op::Query(Box::new(Query { ts, size, sql, done: Vec::new(), current: None })), out);
            }
            b'P' => {
                let name = r.cstr().map(lossy).unwrap_or_default();
                let sql: Arc<str> = r.cstr().map(values_sql).unwrap_or_default().into();
                let n = r.u16().unwrap_or(0) as usize;
                let types: Vec<u32> = (0..n.min(wire::MAX_VALUES)).map_while(|_| r.u32()).collect();
                self.statements.insert(name, Statement { sql: sql.clone(), param_types: types.into(), columns: None });
                self.add_pre(ts, size);
                if !skipping {
                    self.push_op(Op::Parse { sql, ts, size }, out);
                }
            }
            b'B' => {
                self.add_pre(ts, size);
                let Some(bind) = wire::parse_bind(body) else { return };
                let stmt = self.statements.get(&lossy(bind.statement)).cloned();
                let types = stmt.as_ref().map(|s| s.param_types.clone()).unwrap_or_else(|| Arc::from([]));
                let params: Vec<Value> = bind
                    .params
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        values::decode(*v, wire::format_of(&bind.param_formats, i), types.get(i).copied().unwrap_or(0))
                    })
                    .collect();
                let portal = Portal {
                    statement: lossy(bind.statement),
                    sql: stmt.as_ref().map(|s| s.sql.clone()),
                    params: Arc::new(params),
                    result_formats: bind.result_formats.into(),
                    columns: stmt.and_then(|s| s.columns),
                };
                let name = lossy(bind.portal);
                let (sql, params) = (portal.sql.clone(), portal.params.clone());
                self.portals.insert(name, portal);
                if !skipping {
                    self.push_op(Op::Bind { sql, params, ts, size }, out);
                }
            }
            b'D' => {
                self.add_pre(ts, size);
                let statement = r.u8() == Some(b'S');
                let name = r.cstr().map(lossy).unwrap_or_default();
                if !skipping {
                    self.push_op(Op::Describe { statement, name }, out);
                }
            }
            b'E' => {
                let portal = r.cstr().map(lossy).unwrap_or_default();
                let exec = self.exec_for(&portal, ts, size);
                if skipping {
                    self.emit_exec(exec, Some(NOT_EXECUTED), out);
                } else {
                    self.push_op(Op::Execute(Box::new(exec)), out);
                }
            }
            b'C' => {
                let statement = r.u8() == Some(b'S');
                let name = r.cstr().map(lossy).unwrap_or_default();
                if statement {
                    self.statements.remove(&name);
                } else {
                    self.portals.remove(&name);
                }
                if !skipping {
                    self.push_op(Op::Close, out);
                }
            }
            b'S' => {
                self.skip_until_sync = false;
                self.push_op(Op::Sync, out);
            }
            b'F' => {
                let oid = r.u32().unwrap_or(0);
                let nf = r.u16().unwrap_or(0);
                let _ = r.skip(nf as usize * 2);
                let args = r.u16().unwrap_or(0) as usize;
                let f = Function { ts, size, oid, args, value: None, result: ResultSet::default() };
                self.push_op(Op::Function(Box::new(f)), out);
            }
            b'd' | b'c' | b'f' => {
                if let Some(copy) = self.ops.iter_mut().find_map(copy_in_of) {
                    match tag {
                        b'd' => copy.data(body),
                        b'f' => copy.failed = r.cstr().map(values::text),
                        _ => {}
                    }
                }
            }
            b'p' => self.on_password(body),
            _ => {}
        }
    }

    /// A PasswordMessage, SASLInitialResponse or SASLResponse: kept only as fields the
    /// registration declares secret.
    fn on_password(&mut self, body: &[u8]) {
        let Some(Op::Startup(s)) = self.ops.iter_mut().find(|op| matches!(op, Op::Startup(_))) else { return };
        let mut r = wire::Reader::new(body);
        match s.auth_code {
            10 => {
                let mechanism = r.cstr().map(lossy).unwrap_or_default();
                s.request.insert("sasl_mechanism".into(), Value::from(mechanism));
                let data = r.value().flatten().map(values::text);
                s.request.insert("sasl_data".into(), Value::from(data));
            }
            11 => {
                s.request.insert("sasl_data".into(), Value::from(values::text(body)));
            }
            _ => {
                s.request.insert("password".into(), Value::from(r.cstr().map(values::text)));
            }
        }
    }

    /// The Execute of `portal` as the maps know it now.
    fn exec_for(&mut self, portal: &str, ts: Timestamp, size: u64) -> Exec {
        let (ts, size) = self.take_pre(ts, size);
        let p = self.portals.get(portal);
        let mut notes = Vec::new();
        if p.is_none() {
            notes.push("the Bind of this portal was not captured: its SQL is not known".into());
        }
        Exec {
            ts,
            size,
            sql: p.and_then(|p| p.sql.clone()),
            params: p.map(|p| p.params.clone()).unwrap_or_default(),
            statement: p.map(|p| p.statement.clone()).unwrap_or_default(),
            portal: portal.to_owned(),
            result_formats: p.map_or_else(|| Arc::from([]), |p| p.result_formats.clone()),
            result: ResultSet { columns: p.and_then(|p| p.columns.clone()), ..ResultSet::default() },
            notes,
        }
    }

    // ---- server messages ----

    fn on_server(&mut self, msg: Message<'_>, size: u64, ts: Timestamp, out: &mut dyn ExchangeSink) {
        let (tag, body) = match msg {
            Message::EncryptionAnswer(b) => {
                self.answers_seen += 1;
                self.on_encryption_answer(b, size, ts, out);
                return;
            }
            Message::Typed { tag, body } => (tag, body),
            Message::Startup { .. } => return,
        };
        match tag {
            b'A' => return self.on_notification(body, size, ts, out),
            b'S' if !matches!(self.ops.front(), Some(Op::Startup(_))) => return,
            _ => {}
        }
        if let Some(Op::Marker { saw_ready }) = self.ops.front() {
            let saw_ready = *saw_ready;
            if !(saw_ready && self.resynchronise(tag, out)) {
                if tag == b'Z' {
                    self.answered_unseen(out);
                    if let Some(Op::Marker { saw_ready }) = self.ops.front_mut() {
                        *saw_ready = true;
                    }
                } else if let Some(Op::Marker { saw_ready }) = self.ops.front_mut() {
                    *saw_ready = false;
                }
                return;
            }
        }
        if tag == b'N' {
            return self.on_notice(body, size, ts, out);
        }
        let Some(front) = self.ops.front_mut() else {
            if tag == b'E' {
                self.emit_orphan_error(body, size, ts, out);
            }
            return;
        };
        match front {
            Op::Marker { .. } => {}
            Op::Encryption { .. } => {
                // An ErrorResponse instead of the one-byte answer (a server too old for the request).
                if let Some(Op::Encryption { ts: t0, size: s0, .. }) = self.ops.pop_front() {
                    let mut result = ResultSet { size, end_ts: Some(ts), ..ResultSet::default() };
                    if tag == b'E' {
                        result.set_error(body);
                    }
                    self.halves[1].format.ssl_answers_due = 0;
                    self.emit(t0, s0, "SSLRequest".into(), self.base_request(), result, Vec::new(), out);
                }
            }
            Op::Startup(s) => {
                s.result.size += size;
                s.result.end_ts = Some(ts);
                let mut r = wire::Reader::new(body);
                match tag {
                    b'R' => {
                        let code = r.u32().unwrap_or(u32::MAX);
                        s.auth_code = code;
                        let name = match code {
                            0 => "ok".to_owned(),
                            2 => "KerberosV5".into(),
                            3 => "cleartext password".into(),
                            5 => "MD5 password".into(),
                            7 => "GSSAPI".into(),
                            8 => "GSSAPI continue".into(),
                            9 => "SSPI".into(),
                            10 => {
                                let mut mechs = Vec::new();
                                while let Some(m) = r.cstr().filter(|m| !m.is_empty()) {
                                    mechs.push(lossy(m));
                                }
                                format!("SASL {}", mechs.join(" "))
                            }
                            11 => "SASL continue".into(),
                            12 => "SASL final".into(),
                            other => format!("auth request {other}"),
                        };
                        if s.auth.len() < 16 {
                            s.auth.push(name);
                        }
                    }
                    b'S' => {
                        if let (Some(k), Some(v)) = (r.cstr(), r.cstr()) {
                            if s.server_params.len() < 64 {
                                s.server_params.insert(lossy(k), Value::from(values::text(v)));
                            }
                        }
                    }
                    b'K' => s.backend_pid = r.u32(),
                    b'E' => {
                        s.result.set_error(body);
                        self.finish_startup(out);
                    }
                    b'Z' => self.finish_startup(out),
                    _ => {}
                }
            }
            Op::Query(q) if tag == b'Z' => {
                if let Some(last) = q.current.as_mut().or(q.done.last_mut()) {
                    last.size += size;
                }
                if let Some(Op::Query(q)) = self.ops.pop_front() {
                    self.emit_query(*q, out, None);
                }
            }
            Op::Query(q) => {
                let current = q.current.get_or_insert_with(ResultSet::default);
                current.size += size;
                current.end_ts = Some(ts);
                match tag {
                    b'T' => {
                        if let Some((cols, n)) = wire::parse_row_description(body) {
                            current.columns = Some(cols.into());
                            current.column_count = n;
                        }
                    }
                    b'D' => current.row(body, &[]),
                    b'd' => {
                        if let Some(c) = current.copy.as_mut() {
                            c.data(body)
                        }
                    }
                    b'G' | b'H' => current.copy = Some(copy_start(tag, body)),
                    b'C' | b'E' | b'I' => {
                        match tag {
                            b'C' => current.command_tag = wire::Reader::new(body).cstr().map(lossy),
                            b'E' => current.set_error(body),
                            _ => current.empty_query = true,
                        }
                        if let Some(done) = q.current.take() {
                            // Memory stays bounded however many results one Query gets.
                            if q.done.len() < MAX_STATEMENTS {
                                q.done.push(done);
                            }
                        }
                    }
                    _ => {}
                }
            }
            Op::Execute(e) => {
                let result = &mut e.result;
                result.size += size;
                result.end_ts = Some(ts);
                match tag {
                    b'D' => result.row(body, &e.result_formats),
                    b'd' => {
                        if let Some(c) = result.copy.as_mut() {
                            c.data(body)
                        }
                    }
                    b'G' | b'H' => result.copy = Some(copy_start(tag, body)),
                    b'C' | b'I' | b's' => {
                        match tag {
                            b'C' => result.command_tag = wire::Reader::new(body).cstr().map(lossy),
                            b'I' => result.empty_query = true,
                            _ => result.suspended = true,
                        }
                        if let Some(Op::Execute(e)) = self.ops.pop_front() {
                            self.emit_exec(*e, None, out);
                        }
                    }
                    b'E' => self.on_extended_error(body, size, ts, out),
                    _ => {}
                }
            }
            Op::Parse { .. } | Op::Bind { .. } | Op::Close => match tag {
                b'1' | b'2' | b'3' => {
                    self.ops.pop_front();
                }
                b'E' => self.on_extended_error(body, size, ts, out),
                _ => {}
            },
            Op::Describe { statement, name } => match tag {
                b't' => {
                    let mut r = wire::Reader::new(body);
                    let n = r.u16().unwrap_or(0) as usize;
                    let types: Arc<[u32]> = (0..n.min(wire::MAX_VALUES)).map_while(|_| r.u32()).collect();
                    if *statement {
                        if let Some(s) = self.statements.get_mut(name) {
                            s.param_types = types;
                        }
                    }
                }
                b'T' | b'n' => {
                    let cols: Option<Columns> =
                        if tag == b'T' { wire::parse_row_description(body).map(|(c, _)| c.into()) } else { None };
                    let (statement, name) = (*statement, std::mem::take(name));
                    self.ops.pop_front();
                    if let Some(cols) = cols {
                        self.describe_columns(statement, &name, cols);
                    }
                }
                b'E' => self.on_extended_error(body, size, ts, out),
                _ => {}
            },
            Op::Sync => {
                if tag == b'Z' {
                    self.ops.pop_front();
                }
            }
            Op::Function(f) => {
                f.result.size += size;
                f.result.end_ts = Some(ts);
                match tag {
                    b'V' => {
                        let v = wire::Reader::new(body).value().flatten();
                        f.value = Some(values::decode(v, 0, 0)).filter(|_| v.is_some_and(|v| v.is_ascii()));
                        f.result.command_tag = Some("FUNCTION CALL".into());
                    }
                    b'E' => f.result.set_error(body),
                    b'Z' => {
                        if let Some(Op::Function(f)) = self.ops.pop_front() {
                            let mut request = self.base_request();
                            request.insert("function_oid".into(), Value::from(f.oid));
                            request.insert("arguments".into(), Value::from(f.args));
                            let mut result = f.result;
                            if let Some(v) = f.value {
                                result.rows.push(Value::Array(vec![v]));
                                result.row_count = 1;
                            }
                            let summary = format!("FunctionCall {}", f.oid);
                            self.emit(f.ts, f.size, summary, request, result, Vec::new(), out);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// The marker is at the front: whether the server message `tag` starts the answer to the
    /// operation after it (then the marker goes). The message must come at a boundary (after a
    /// ReadyForQuery, or first) and be a first message that operation can get. A startup whose
    /// answer was not captured (a message only a started session gets arrives) is reported unanswered.
    fn resynchronise(&mut self, tag: u8, out: &mut dyn ExchangeSink) -> bool {
        while let Some(next) = self.ops.get(1) {
            let fits = match next {
                Op::Marker { .. } => false,
                Op::Encryption { .. } => false,
                Op::Startup(_) => matches!(tag, b'R' | b'E'),
                Op::Query(_) => matches!(tag, b'T' | b'C' | b'E' | b'I' | b'G' | b'H' | b'Z'),
                Op::Parse { .. } => matches!(tag, b'1' | b'E'),
                Op::Bind { .. } => matches!(tag, b'2' | b'E'),
                Op::Describe { .. } => matches!(tag, b't' | b'T' | b'n' | b'E'),
                Op::Execute(_) => matches!(tag, b'D' | b'C' | b'E' | b'I' | b's' | b'G' | b'H'),
                Op::Close => matches!(tag, b'3' | b'E'),
                Op::Sync => tag == b'Z',
                Op::Function(_) => matches!(tag, b'V' | b'E'),
            };
            if fits {
                self.ops.pop_front();
                return true;
            }
            let phase_over =
                matches!(next, Op::Startup(_) | Op::Encryption { .. }) && !matches!(tag, b'R' | b'S' | b'K');
            if !phase_over {
                return false;
            }
            if let Some(op) = self.ops.remove(1) {
                self.report_unanswered(op, "its response was not captured", out);
            }
        }
        false
    }

    /// A ReadyForQuery went by while the marker was at the front: it ends the answer to the
    /// operations after the marker up to the first one a ReadyForQuery ends (they were sent
    /// before it, and a client waits for ReadyForQuery before it sends more, unless it pipelines),
    /// an answer that was not captured whole.
    fn answered_unseen(&mut self, out: &mut dyn ExchangeSink) {
        while self.ops.len() > 1 && !matches!(self.ops.get(1), Some(Op::Marker { .. })) {
            let Some(op) = self.ops.remove(1) else { break };
            let ends = matches!(op, Op::Sync | Op::Query(_) | Op::Function(_) | Op::Startup(_));
            self.report_unanswered(op, "its response was not captured whole", out);
            if ends {
                break;
            }
        }
    }

    /// Columns a Describe answered: for the statement (and the Executes of its portals waiting),
    /// or for the portal (and its next Execute waiting).
    fn describe_columns(&mut self, statement: bool, name: &str, cols: Columns) {
        if statement {
            if let Some(s) = self.statements.get_mut(name) {
                s.columns = Some(cols.clone());
            }
        } else if let Some(p) = self.portals.get_mut(name) {
            p.columns = Some(cols.clone());
        }
        for op in self.ops.iter_mut() {
            if let Op::Execute(e) = op {
                let matches = if statement { e.statement == name } else { e.portal == name };
                if matches && e.result.columns.is_none() {
                    e.result.columns = Some(cols.clone());
                    e.result.column_count = cols.len();
                    if !statement {
                        break;
                    }
                }
            }
        }
    }

    /// An ErrorResponse to a Parse, Bind, Describe, Close or Execute: reported on the Execute it
    /// stopped (or on the failed message itself when no Execute follows), and everything up to
    /// Sync is skipped by the server.
    fn on_extended_error(&mut self, body: &[u8], size: u64, ts: Timestamp, out: &mut dyn ExchangeSink) {
        let Some(front) = self.ops.pop_front() else { return };
        let mut exec = None;
        let front = match front {
            Op::Execute(e) => {
                exec = Some(*e);
                Op::Close
            }
            other => other,
        };
        if exec.is_none() {
            let next = self
                .ops
                .iter()
                .take_while(|op| !matches!(op, Op::Sync | Op::Marker { .. }))
                .position(|op| matches!(op, Op::Execute(_)));
            if let Some(Op::Execute(e)) = next.and_then(|i| self.ops.remove(i)) {
                let mut e = *e;
                e.notes.push("the error came before the Execute (at Parse, Bind or Describe)".into());
                exec = Some(e);
            }
        }
        let mut exec = match exec {
            Some(e) => e,
            None => {
                // No Execute follows: the failed message itself is the entry (a prepare, a bind).
                let (sql, params, ts0, size0) = match front {
                    Op::Parse { sql, ts, size } => (Some(sql), Arc::new(Vec::new()), ts, size),
                    Op::Bind { sql, params, ts, size } => (sql, params, ts, size),
                    _ => (None, Arc::new(Vec::new()), ts, 0),
                };
                self.pre = None;
                Exec {
                    ts: ts0,
                    size: size0,
                    sql,
                    params,
                    statement: String::new(),
                    portal: String::new(),
                    result_formats: Arc::from([]),
                    result: ResultSet::default(),
                    notes: Vec::new(),
                }
            }
        };
        exec.result.size += size;
        exec.result.end_ts = Some(ts);
        exec.result.set_error(body);
        self.emit_exec(exec, None, out);
        let mut found_sync = false;
        while let Some(op) = self.ops.front() {
            if matches!(op, Op::Sync | Op::Marker { .. }) {
                found_sync = matches!(op, Op::Sync);
                break;
            }
            if let Some(Op::Execute(e)) = self.ops.pop_front() {
                self.emit_exec(*e, Some(NOT_EXECUTED), out);
            }
        }
        if !found_sync {
            self.skip_until_sync = true;
            self.pre = None;
        }
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
