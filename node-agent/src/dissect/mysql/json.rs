//! Commands, responses and the login as the entry shows them (docs/entry.md, "MySQL").

use super::packet::{self, ErrPacket};
use super::response::{Response, ResultSet};
use crate::dissect::Exchange;
use crate::entry::Outcome;
use crate::time::Timestamp;
use serde_json::{Map, Value};

/// Characters of SQL in the summary.
const SUMMARY_SQL: usize = 120;

/// An ERR packet's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRecord {
    pub code: u16,
    pub sqlstate: Option<String>,
    pub message: String,
}

pub fn error_record(e: &ErrPacket<'_>) -> ErrorRecord {
    ErrorRecord {
        code: e.code,
        sqlstate: e.sqlstate.map(|s| String::from_utf8_lossy(s).into_owned()),
        message: packet::text(e.message, 1024).0,
    }
}

/// Whose fault an error is, from its SQLSTATE class: connection problems (08), transaction
/// rollbacks such as deadlocks (40), and the general class HY (lock wait timeouts, out of memory,
/// disk full) are the server's; every other class (syntax and access 42, integrity 23, data 22,
/// authorization 28, no database 3D, ...) is the client's. Without a SQLSTATE nobody is named.
pub fn error_outcome(e: &ErrorRecord) -> Outcome {
    match e.sqlstate.as_deref().and_then(|s| s.get(..2)) {
        None => Outcome::Error,
        Some("08" | "40" | "HY" | "XX" | "53" | "57" | "58") => Outcome::ServerError,
        Some(_) => Outcome::ClientError,
    }
}

fn error_json(e: &ErrorRecord) -> Value {
    let mut m = Map::new();
    m.insert("code".into(), e.code.into());
    m.insert("sqlstate".into(), e.sqlstate.clone().map_or(Value::Null, Value::String));
    m.insert("message".into(), Value::String(e.message.clone()));
    Value::Object(m)
}

/// A command as the client sent it.
#[derive(Debug, Clone)]
pub struct Request {
    /// `COM_QUERY`, ...; `None` for a response whose command was not captured and is not reported.
    pub command: Option<&'static str>,
    pub code: u8,
    pub ts: Timestamp,
    pub size: u64,
    pub query: Option<String>,
    pub query_truncated: bool,
    pub params: Option<Vec<Value>>,
    pub statement_id: Option<u32>,
    pub database: Option<String>,
    pub user: Option<String>,
    pub notes: Vec<String>,
    /// The raw parameters of an execute-direct, until the prepare's answer tells their count.
    pub deferred_params: Option<Vec<u8>>,
}

impl Request {
    pub fn new(name: &'static str, code: u8, ts: Timestamp, size: u64) -> Self {
        Request {
            command: Some(name),
            code,
            ts,
            size,
            query: None,
            query_truncated: false,
            params: None,
            statement_id: None,
            database: None,
            user: None,
            notes: Vec::new(),
            deferred_params: None,
        }
    }

    /// The command of a response whose command was lost: nothing of it is known.
    pub fn unknown(ts: Timestamp) -> Self {
        Request { command: Some("unknown"), ..Request::new("unknown", 0xFF, ts, 0) }
    }

    pub fn held_bytes(&self) -> usize {
        self.query.as_ref().map_or(0, String::len)
            + self.params.as_ref().map_or(0, |p| p.len() * 32)
            + self.deferred_params.as_ref().map_or(0, Vec::len)
    }

    fn summary(&self) -> String {
        let command = self.command.unwrap_or("unknown");
        let short = command.strip_prefix("COM_").unwrap_or(command);
        let arg = self.query.as_deref().or(self.database.as_deref()).or(self.user.as_deref());
        let Some(arg) = arg else {
            return match self.statement_id {
                Some(id) => format!("{short} #{id}"),
                None => short.to_owned(),
            };
        };
        let one_line: String = arg.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut cut: String = one_line.chars().take(SUMMARY_SQL).collect();
        if cut.len() < one_line.len() {
            cut.push('…');
        }
        if cut.is_empty() {
            short.to_owned()
        } else if self.code == packet::COM_QUERY {
            cut
        } else {
            format!("{short} {cut}")
        }
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("command".into(), self.command.map_or(Value::Null, |c| Value::String(c.into())));
        if let Some(q) = &self.query {
            m.insert("query".into(), Value::String(q.clone()));
            if self.query_truncated {
                m.insert("query_truncated".into(), Value::Bool(true));
            }
        }
        if let Some(p) = &self.params {
            m.insert("params".into(), Value::Array(p.clone()));
        }
        if let Some(id) = self.statement_id {
            m.insert("statement_id".into(), id.into());
        }
        if let Some(d) = &self.database {
            m.insert("database".into(), Value::String(d.clone()));
        }
        if let Some(u) = &self.user {
            m.insert("user".into(), Value::String(u.clone()));
        }
        Value::Object(m)
    }
}

fn result_json(m: &mut Map<String, Value>, r: &ResultSet) {
    if r.is_result_set {
        let columns = r
            .columns
            .iter()
            .map(|c| {
                let mut col = Map::new();
                col.insert("name".into(), Value::String(c.name.clone()));
                col.insert("type".into(), Value::String(packet::type_name(c.type_code).into()));
                Value::Object(col)
            })
            .collect();
        m.insert("columns".into(), Value::Array(columns));
        m.insert("rows".into(), Value::Array(r.rows.iter().map(|row| Value::Array(row.clone())).collect()));
        m.insert("row_count".into(), r.row_count.into());
    }
    if let Some(n) = r.affected_rows {
        m.insert("affected_rows".into(), n.into());
    }
    if let Some(n) = r.last_insert_id {
        m.insert("last_insert_id".into(), n.into());
    }
    if r.is_result_set || r.affected_rows.is_some() {
        m.insert("warnings".into(), r.warnings.into());
    }
    if let Some(i) = &r.info {
        m.insert("info".into(), Value::String(i.clone()));
    }
    if let Some(f) = &r.local_infile {
        m.insert("local_infile".into(), Value::String(f.clone()));
    }
}

fn response_json(r: &Response) -> Value {
    let mut m = Map::new();
    // The first result at the top, the others in `more_results`.
    let mut all: Vec<&ResultSet> = r.results.iter().collect();
    let current_counts = r.current.is_result_set || r.current.affected_rows.is_some();
    if current_counts {
        all.push(&r.current);
    }
    if let Some(first) = all.first() {
        result_json(&mut m, first);
    }
    if all.len() > 1 {
        let more = all
            .iter()
            .skip(1)
            .map(|res| {
                let mut o = Map::new();
                result_json(&mut o, res);
                Value::Object(o)
            })
            .collect();
        m.insert("more_results".into(), Value::Array(more));
    }
    if r.result_count > 1 {
        m.insert("result_count".into(), r.result_count.into());
    }
    if let Some(ok) = r.prepare {
        m.insert("statement_id".into(), ok.statement_id.into());
        m.insert("params".into(), ok.params.into());
        m.insert("columns".into(), ok.columns.into());
        m.insert("warnings".into(), ok.warnings.into());
    }
    if let Some(t) = &r.text {
        m.insert("text".into(), Value::String(t.clone()));
    }
    if let Some(e) = &r.error {
        m.insert("error".into(), error_json(e));
    }
    Value::Object(m)
}

/// The entry of a command and its response (`None`: no response; `why` says why, unless the
/// protocol has none for this command).
pub fn exchange(request: Request, response: Option<Response>, why: Option<&str>) -> Exchange {
    let mut notes = request.notes.clone();
    let summary = request.summary();
    let (status, outcome, end_ts, size, response_json) = match &response {
        Some(r) => {
            notes.extend(r.notes.iter().cloned());
            let (status, outcome) = match &r.error {
                Some(e) => (e.code.to_string(), error_outcome(e)),
                None => ("OK".to_owned(), Outcome::Ok),
            };
            (Some(status), outcome, r.end_ts, r.size, Some(response_json(r)))
        }
        None => match why {
            Some(why) => {
                notes.push(why.to_owned());
                (None, Outcome::NoResponse, None, 0, None)
            }
            // A command the protocol does not answer (COM_QUIT, COM_STMT_CLOSE): done when sent.
            None => (None, Outcome::Ok, None, 0, None),
        },
    };
    Exchange {
        protocol: "mysql",
        ts: request.ts,
        end_ts,
        summary,
        status,
        outcome,
        request_size: request.size,
        response_size: size,
        request: request.to_json(),
        response: response_json,
        notes,
    }
}

/// The handshake as far as it was seen.
#[derive(Debug, Clone, Default)]
pub struct LoginRecord {
    pub ts: Timestamp,
    pub end_ts: Option<Timestamp>,
    pub request_size: u64,
    pub response_size: u64,
    pub server_version: Option<String>,
    pub connection_id: Option<u32>,
    pub server_caps: Option<u32>,
    pub server_plugin: Option<String>,
    pub client_caps: Option<u32>,
    pub client_plugin: Option<String>,
    pub user: Option<String>,
    pub database: Option<String>,
    pub tls: bool,
    pub compressed: bool,
    pub ok: bool,
    pub error: Option<ErrorRecord>,
    pub notes: Vec<String>,
}

impl LoginRecord {
    pub fn new(ts: Timestamp) -> Self {
        LoginRecord { ts, ..LoginRecord::default() }
    }
}

/// The login entry: `request.command` is `"handshake"`; the greeting is its response's
/// `server_version`, `connection_id` and `capabilities`.
pub fn login_exchange(l: LoginRecord) -> Exchange {
    let mut request = Map::new();
    request.insert("command".into(), Value::String("handshake".into()));
    if let Some(u) = &l.user {
        request.insert("user".into(), Value::String(u.clone()));
    }
    if let Some(d) = &l.database {
        request.insert("database".into(), Value::String(d.clone()));
    }
    if let Some(c) = l.client_caps {
        request.insert("capabilities".into(), packet::capability_names(c).into());
    }
    if let Some(p) = &l.client_plugin {
        request.insert("auth_plugin".into(), Value::String(p.clone()));
    }
    if l.tls {
        request.insert("tls".into(), Value::Bool(true));
    }
    let mut response = Map::new();
    if let Some(v) = &l.server_version {
        response.insert("server_version".into(), Value::String(v.clone()));
    }
    if let Some(id) = l.connection_id {
        response.insert("connection_id".into(), id.into());
    }
    if let Some(c) = l.server_caps {
        response.insert("capabilities".into(), packet::capability_names(c).into());
    }
    if let Some(p) = &l.server_plugin {
        response.insert("auth_plugin".into(), Value::String(p.clone()));
    }
    let mut notes = l.notes.clone();
    let (status, outcome) = if let Some(e) = &l.error {
        response.insert("error".into(), error_json(e));
        (Some(e.code.to_string()), error_outcome(e))
    } else if l.tls {
        response.insert("encrypted".into(), Value::Bool(true));
        notes.push("the session switched to TLS: not dissected further".into());
        (Some("OK".to_owned()), Outcome::Ok)
    } else if l.compressed {
        response.insert("compressed".into(), Value::Bool(true));
        notes.push("the session uses the compressed protocol: not dissected further".into());
        (Some("OK".to_owned()), Outcome::Ok)
    } else if l.ok {
        (Some("OK".to_owned()), Outcome::Ok)
    } else {
        (None, Outcome::NoResponse)
    };
    let mut summary = String::from("handshake");
    if let Some(u) = &l.user {
        summary.push(' ');
        summary.push_str(u);
    }
    if let Some(d) = &l.database {
        summary.push('@');
        summary.push_str(d);
    }
    if l.tls {
        summary.push_str(" (TLS)");
    }
    Exchange {
        protocol: "mysql",
        ts: l.ts,
        end_ts: l.end_ts,
        summary,
        status,
        outcome,
        request_size: l.request_size,
        response_size: l.response_size,
        request: Value::Object(request),
        response: Some(Value::Object(response)),
        notes,
    }
}
