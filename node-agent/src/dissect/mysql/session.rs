//! One MySQL connection: the handshake, then commands paired with their responses in order.
//!
//! Phases: the server's greeting and the client's login (or SSL request: one entry saying the
//! session is encrypted, then the connection is left alone), the authentication exchange (ends
//! with OK or ERR: the login entry; a negotiated compressed protocol is reported and the
//! connection left alone), then commands. A connection picked up mid-way starts at the commands,
//! each direction resynchronising at its next packet start (a client command with sequence 0, a
//! server response with sequence 1).
//!
//! Each command waits in a bounded queue for its response, which [`super::response`] follows
//! packet by packet (only bounded summaries are kept, so a result set of any size streams
//! through). Commands without a response (COM_QUIT, COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA) are
//! reported at once. Prepared statements map their id to their SQL and parameter types so that
//! executions show both.

use super::framing::{Event, Packet, PacketStream};
use super::json::{self, LoginRecord, Request};
use super::packet::{self, Greeting, Login, Reader};
use super::response::{Column, Expect, Progress, Response};
use super::values;
use super::Limits;
use crate::dissect::{Direction, ExchangeSink, StreamSession};
use crate::time::Timestamp;
use std::collections::{HashMap, VecDeque};

/// Statements remembered per connection (prepared and not closed).
pub const MAX_STATEMENTS: usize = 256;
/// The statement id of MariaDB's execute-direct: the last prepared statement.
pub const DIRECT_STATEMENT: u32 = u32::MAX;

/// A prepared statement as far as the capture showed it.
#[derive(Debug, Clone, Default)]
pub struct Statement {
    pub sql: String,
    pub params: u16,
    /// Parameter types bound by the last execution that sent them.
    pub types: Vec<(u8, bool)>,
    /// The result columns the prepare described.
    pub columns: Vec<Column>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing seen yet: a greeting starts the handshake, a command the command phase.
    Start,
    /// Greeting seen, waiting for the client's login.
    Login,
    /// Login sent, waiting for the server's verdict.
    Auth,
    Commands,
    /// Not followed any more (TLS, compression, or lost).
    Done,
}

/// A command waiting for its response.
struct Pending {
    request: Request,
    response: Response,
}

pub struct MysqlSession {
    streams: [PacketStream; 2],
    state: State,
}

struct State {
    limits: Limits,
    phase: Phase,
    login: Option<LoginRecord>,
    /// Capabilities of the server (greeting) and the client (login), when seen.
    server_caps: Option<u32>,
    client_caps: Option<u32>,
    queue: VecDeque<Pending>,
    statements: HashMap<u32, Statement>,
    /// Client bytes were lost since the last command: a response without a command is reported.
    client_lost: bool,
    /// Server bytes were lost: the response at the front is gone.
    server_lost: bool,
    /// The client is sending a LOAD DATA LOCAL file (packets until an empty one).
    infile: bool,
    /// A response that answers no captured command, followed only to know where it ends.
    orphan: Option<Pending>,
    /// The id of the last statement prepared.
    last_prepared: Option<u32>,
}

impl MysqlSession {
    pub fn new(limits: Limits, saw_handshake: bool) -> Self {
        MysqlSession {
            streams: [
                PacketStream::new(Direction::ClientToServer, !saw_handshake),
                PacketStream::new(Direction::ServerToClient, !saw_handshake),
            ],
            state: State {
                limits,
                phase: if saw_handshake { Phase::Start } else { Phase::Commands },
                login: None,
                server_caps: None,
                client_caps: None,
                queue: VecDeque::new(),
                statements: HashMap::new(),
                client_lost: false,
                server_lost: false,
                infile: false,
                orphan: None,
                last_prepared: None,
            },
        }
    }

    fn stop_if_done(&mut self, ts: Timestamp, out: &mut dyn ExchangeSink) {
        if self.state.phase == Phase::Done {
            for s in &mut self.streams {
                s.stop();
            }
            self.state.flush(ts, "no response: the connection was not followed further", out);
        }
    }
}

impl Statement {
    pub fn held_bytes(&self) -> usize {
        self.sql.len() + 2 * self.types.len() + 16 + self.columns.iter().map(|c| c.name.len() + 32).sum::<usize>()
    }
}

impl StreamSession for MysqlSession {
    fn on_data(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink) {
        let state = &mut self.state;
        self.streams[dir.index()].push(data, ts, &mut |event| state.on_event(dir, event, ts, out));
        self.stop_if_done(ts, out);
    }

    fn on_gap(&mut self, dir: Direction, len: u64, out: &mut dyn ExchangeSink) {
        let state = &mut self.state;
        self.streams[dir.index()].gap(len, &mut |event| state.on_event(dir, event, Timestamp::ZERO, out));
    }

    fn on_end(&mut self, dir: Direction, _ts: Timestamp, _out: &mut dyn ExchangeSink) {
        self.streams[dir.index()].end();
    }

    fn on_close(&mut self, ts: Timestamp, out: &mut dyn ExchangeSink) {
        for s in &mut self.streams {
            s.end();
        }
        self.state.flush(ts, "no response before the connection closed", out);
        self.state.statements = HashMap::new();
    }

    fn is_done(&self) -> bool {
        self.state.phase == Phase::Done || self.streams.iter().all(PacketStream::is_stopped)
    }

    fn buffered_bytes(&self) -> usize {
        self.streams.iter().map(PacketStream::buffered).sum::<usize>()
            + self.state.queue.iter().map(|p| p.response.held_bytes() + p.request.held_bytes()).sum::<usize>()
            + self.state.orphan.as_ref().map_or(0, |p| p.response.held_bytes())
            + self.state.statements.values().map(Statement::held_bytes).sum::<usize>()
    }
}

impl State {
    fn on_event(&mut self, dir: Direction, event: Event<'_>, seg_ts: Timestamp, out: &mut dyn ExchangeSink) {
        match (dir, event) {
            (Direction::ClientToServer, Event::Packet(p)) => self.on_client(p, seg_ts, out),
            (Direction::ServerToClient, Event::Packet(p)) => self.on_server(p, seg_ts, out),
            (Direction::ClientToServer, Event::Lost) => {
                self.client_lost = true;
                self.infile = false;
            }
            (Direction::ServerToClient, Event::Lost) => {
                if !self.queue.is_empty() || self.orphan.is_some() {
                    self.server_lost = true;
                }
                self.orphan = None;
                if let Some(login) = self.login.as_mut() {
                    login.notes.push("the server's answer was lost to a capture gap".into());
                }
            }
            (_, Event::Stopped) => {}
        }
        if self.phase != Phase::Auth && self.phase != Phase::Login {
            if let Some(login) = self.login.take() {
                out.emit(json::login_exchange(login));
            }
        }
    }

    /// Reports every command still waiting, without response.
    fn flush(&mut self, ts: Timestamp, why: &str, out: &mut dyn ExchangeSink) {
        if let Some(mut login) = self.login.take() {
            login.notes.push(why.to_owned());
            out.emit(json::login_exchange(login));
        }
        let _ = ts;
        while let Some(p) = self.queue.pop_front() {
            out.emit(json::exchange(p.request, None, Some(why)));
        }
        self.orphan = None;
    }

    fn on_client(&mut self, p: Packet<'_>, seg_ts: Timestamp, out: &mut dyn ExchangeSink) {
        match self.phase {
            Phase::Start if p.seq == 0 && p.payload.first().is_some_and(|&c| packet::command_name(c).is_some()) => {
                self.phase = Phase::Commands;
                self.command(p, seg_ts, out);
            }
            Phase::Login if p.seq == 1 => self.login(p),
            Phase::Commands => self.command(p, seg_ts, out),
            // Authentication data (never shown), or bytes before the handshake was understood.
            _ => {}
        }
    }

    fn login(&mut self, p: Packet<'_>) {
        let Some(record) = self.login.as_mut() else { return };
        record.request_size += p.wire;
        match Login::parse(p.payload) {
            Ok(login) => {
                record.client_caps = Some(login.capabilities);
                record.user = login.user.map(|u| packet::text(u, 256).0);
                record.database = login.database.map(|d| packet::text(d, 256).0);
                record.client_plugin = login.auth_plugin.map(|a| packet::text(a, 64).0);
                self.client_caps = Some(login.capabilities);
                if login.ssl_request {
                    record.tls = true;
                    self.phase = Phase::Done;
                } else {
                    self.phase = Phase::Auth;
                }
            }
            Err(e) => {
                record.notes.push(e.to_string());
                self.phase = Phase::Auth;
            }
        }
    }

    fn command(&mut self, p: Packet<'_>, seg_ts: Timestamp, out: &mut dyn ExchangeSink) {
        if self.infile {
            // The file of a LOAD DATA LOCAL, ended by an empty packet.
            if let Some(front) = self.queue.front_mut() {
                front.request.size += p.wire;
            }
            if p.len == 0 {
                self.infile = false;
            }
            return;
        }
        if p.seq != 0 {
            // Authentication data of COM_CHANGE_USER, or the rest of something not followed.
            return;
        }
        let Some(&code) = p.payload.first() else { return };
        let Some(name) = packet::command_name(code) else {
            self.client_lost = true;
            return;
        };
        self.client_lost = false;
        let mut request = Request::new(name, code, p.ts, p.wire);
        let body = p.payload.get(1..).unwrap_or_default();
        let body_cut = p.len > p.payload.len();
        let mut expect = Expect::Generic;
        match code {
            packet::COM_QUERY | packet::COM_STMT_PREPARE => {
                let (sql, cut) = packet::text(body, self.limits.query);
                request.query_truncated = cut || body_cut;
                if code == packet::COM_STMT_PREPARE {
                    expect = Expect::Prepare { sql: sql.clone() };
                }
                request.query = Some(sql);
            }
            packet::COM_INIT_DB => request.database = Some(packet::text(body, 256).0),
            packet::COM_STMT_EXECUTE => expect = self.execute(&mut request, body),
            packet::COM_STMT_CLOSE
            | packet::COM_STMT_RESET
            | packet::COM_STMT_SEND_LONG_DATA
            | packet::COM_STMT_FETCH => {
                let id = Reader::new(body, "statement id").u32().ok();
                request.statement_id = id;
                if let Some(st) = id.and_then(|id| self.statements.get(&id)) {
                    request.query = Some(st.sql.clone());
                }
                if code == packet::COM_STMT_CLOSE {
                    if let Some(id) = id {
                        self.statements.remove(&id);
                    }
                }
                if code == packet::COM_STMT_FETCH {
                    expect = Expect::Fetch;
                }
            }
            packet::COM_STATISTICS => expect = Expect::Text,
            packet::COM_FIELD_LIST => expect = Expect::FieldList,
            packet::COM_CHANGE_USER => {
                request.user = Reader::new(body, "COM_CHANGE_USER").nul_str().ok().map(|u| packet::text(u, 256).0);
                expect = Expect::Auth;
            }
            packet::COM_BINLOG_DUMP | packet::COM_BINLOG_DUMP_GTID => {
                request.notes.push("replication stream: not dissected".into());
                out.emit(json::exchange(request, None, None));
                self.phase = Phase::Done;
                return;
            }
            _ => {}
        }
        if matches!(code, packet::COM_QUIT | packet::COM_STMT_CLOSE | packet::COM_STMT_SEND_LONG_DATA) {
            // No response in the protocol.
            out.emit(json::exchange(request, None, None));
            return;
        }
        let _ = seg_ts;
        if self.queue.len() >= self.limits.max_pending {
            if let Some(old) = self.queue.pop_front() {
                out.emit(json::exchange(old.request, None, Some("no response: too many commands waiting")));
            }
        }
        let response = Response::new(expect, self.limits);
        self.queue.push_back(Pending { request, response });
    }

    /// COM_STMT_EXECUTE: the statement's SQL and the parameters decoded with its types.
    fn execute(&mut self, request: &mut Request, body: &[u8]) -> Expect {
        let mut r = Reader::new(body, "COM_STMT_EXECUTE");
        let Ok(id) = r.u32() else {
            request.notes.push("COM_STMT_EXECUTE too short for its statement id".into());
            return Expect::Binary { cached: Vec::new() };
        };
        request.statement_id = Some(id);
        let (Ok(_flags), Ok(_iterations)) = (r.u8(), r.u32()) else { return Expect::Binary { cached: Vec::new() } };
        let mut id = id;
        if id == DIRECT_STATEMENT {
            // MariaDB's "execute direct": the statement of the last prepare, which may still be
            // waiting for its answer (sent in the same breath): then the parameters are decoded
            // once that answer says how many there are.
            if let Some(sql) = self.queue.iter().rev().find_map(|p| p.response.prepare_sql()) {
                request.query = Some(sql.to_owned());
                let rest = r.remaining();
                request.deferred_params =
                    Some(rest.get(..self.limits.query.min(rest.len())).unwrap_or_default().to_vec());
                return Expect::Binary { cached: Vec::new() };
            }
            match self.last_prepared {
                Some(last) => id = last,
                None => {
                    request.notes.push("execute-direct of a statement prepared before the capture".into());
                    return Expect::Binary { cached: Vec::new() };
                }
            }
        }
        let Some(st) = self.statements.get_mut(&id) else {
            request.notes.push("statement prepared before the capture: its SQL and parameters are not known".into());
            return Expect::Binary { cached: Vec::new() };
        };
        request.query = Some(st.sql.clone());
        match values::execute_params(&mut r, usize::from(st.params), &mut st.types, self.limits.cell) {
            Ok(params) => request.params = Some(params.into_iter().take(self.limits.params).collect()),
            Err(e) => request.notes.push(format!("parameters not decoded: {e}")),
        }
        Expect::Binary { cached: st.columns.clone() }
    }

    fn on_server(&mut self, p: Packet<'_>, seg_ts: Timestamp, out: &mut dyn ExchangeSink) {
        match self.phase {
            Phase::Start if p.seq == 0 && p.payload.first() == Some(&10) => self.greeting(p),
            Phase::Start if p.seq != 0 => {
                // The greeting was not seen (lost to a gap): commands are under way.
                self.phase = Phase::Commands;
                self.response(p, seg_ts, out);
            }
            Phase::Auth | Phase::Login => self.auth(p, seg_ts),
            Phase::Commands => self.response(p, seg_ts, out),
            _ => {}
        }
    }

    fn greeting(&mut self, p: Packet<'_>) {
        let mut record = LoginRecord::new(p.ts);
        record.response_size = p.wire;
        match Greeting::parse(p.payload) {
            Ok(g) => {
                record.server_version = Some(packet::text(g.server_version, 128).0);
                record.connection_id = Some(g.connection_id);
                record.server_caps = Some(g.capabilities);
                record.server_plugin = g.auth_plugin.map(|a| packet::text(a, 64).0);
                self.server_caps = Some(g.capabilities);
            }
            Err(e) => record.notes.push(e.to_string()),
        }
        self.login = Some(record);
        self.phase = Phase::Login;
    }

    fn auth(&mut self, p: Packet<'_>, seg_ts: Timestamp) {
        let Some(record) = self.login.as_mut() else { return };
        record.response_size += p.wire;
        record.end_ts = Some(seg_ts);
        match p.payload.first() {
            Some(0x00) if self.phase == Phase::Auth => {
                let caps = self.client_caps.unwrap_or(0) & self.server_caps.unwrap_or(0);
                if caps & (packet::CLIENT_COMPRESS | packet::CLIENT_ZSTD_COMPRESSION) != 0 {
                    record.compressed = true;
                    self.phase = Phase::Done;
                } else {
                    record.ok = true;
                    self.phase = Phase::Commands;
                }
            }
            Some(0xFF) => {
                if let Ok(e) = packet::ErrPacket::parse(p.payload) {
                    record.error = Some(json::error_record(&e));
                }
                // The server closes the connection after a failed login.
                self.phase = Phase::Done;
            }
            // Auth switch (0xFE) and more data (0x01): the exchange goes on.
            _ => {}
        }
    }

    fn response(&mut self, p: Packet<'_>, seg_ts: Timestamp, out: &mut dyn ExchangeSink) {
        if let Some(orphan) = self.orphan.as_mut() {
            if orphan.response.push(&p, seg_ts) == Progress::Done {
                if let Some(o) = self.orphan.take() {
                    if o.request.command.is_some() {
                        out.emit(json::exchange(o.request, Some(o.response), None));
                    }
                }
            }
            return;
        }
        let starts = self.queue.front().is_none_or(|f| !f.response.started());
        if starts {
            if p.seq != 1 {
                // The rest of something not followed (a response cut by a gap, a late EOF).
                return;
            }
            if self.server_lost {
                self.server_lost = false;
                if let Some(lost) = self.queue.pop_front() {
                    out.emit(json::exchange(lost.request, None, Some("response lost to a capture gap")));
                }
            }
            if self.queue.is_empty() {
                // A response to no captured command: followed to its end, reported only when the
                // command was lost to a gap (without its text).
                let mut request = Request::unknown(p.ts);
                if self.client_lost {
                    request.notes.push("command lost to a capture gap".into());
                } else {
                    request.command = None;
                }
                self.client_lost = false;
                let mut orphan = Pending { request, response: Response::new(Expect::Generic, self.limits) };
                if orphan.response.push(&p, seg_ts) == Progress::Done {
                    if orphan.request.command.is_some() {
                        out.emit(json::exchange(orphan.request, Some(orphan.response), None));
                    }
                } else {
                    self.orphan = Some(orphan);
                }
                return;
            }
        } else if self.server_lost {
            // The response in progress lost packets.
            self.server_lost = false;
            if let Some(lost) = self.queue.pop_front() {
                out.emit(json::exchange(lost.request, None, Some("response lost to a capture gap")));
            }
            return;
        }
        let Some(front) = self.queue.front_mut() else { return };
        let progress = front.response.push(&p, seg_ts);
        if progress == Progress::LocalInfile {
            self.infile = true;
        }
        if progress != Progress::Done {
            return;
        }
        let Some(done) = self.queue.pop_front() else { return };
        if let Some((id, statement)) = done.response.prepared() {
            self.last_prepared = Some(id);
            // An execute-direct that waited for this answer: its parameters, now.
            if let Some(next) = self.queue.front_mut() {
                if let Some(raw) = next.request.deferred_params.take() {
                    let mut types = Vec::new();
                    let mut r = Reader::new(&raw, "COM_STMT_EXECUTE");
                    match values::execute_params(&mut r, usize::from(statement.params), &mut types, self.limits.cell) {
                        Ok(params) => next.request.params = Some(params.into_iter().take(self.limits.params).collect()),
                        Err(e) => next.request.notes.push(format!("parameters not decoded: {e}")),
                    }
                    next.response.set_cached(statement.columns.clone());
                }
            }
            if self.statements.len() < MAX_STATEMENTS || self.statements.contains_key(&id) {
                self.statements.insert(id, statement);
            }
        }
        out.emit(json::exchange(done.request, Some(done.response), None));
    }
}
