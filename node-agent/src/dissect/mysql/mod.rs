//! MySQL and MariaDB (`"protocol": "mysql"`): the client/server protocol over TCP, any port.
//!
//! Modules, one job each:
//! - [`packet`]: the wire format (header, length-encoded values, greeting, login, OK/ERR/EOF,
//!   column definitions, prepare OK), pure;
//! - [`values`]: binary-protocol values (statement parameters, binary rows) and text rows to JSON;
//! - [`framing`]: packets out of each direction's bytes (the shared framer), 16 MiB payloads
//!   joined, resynchronisation after gaps;
//! - `response`: one command's response followed packet by packet, keeping bounded summaries;
//! - `session`: the handshake, commands paired with responses, prepared statements;
//! - `json`: the entry.
//!
//! Recognised by content: the server's greeting (protocol 10), or, on a connection picked up
//! mid-way, a client command packet (sequence 0, a known command with a plausible body).
//! See docs/entry.md "MySQL" for the entry.

pub mod framing;
pub mod packet;
pub mod values;

mod json;
mod response;
mod session;

#[cfg(test)]
mod tests;

pub use json::{error_outcome, ErrorRecord};
pub use session::{MysqlSession, MAX_STATEMENTS};

use super::registry::Protocol;
use super::settings::ProtocolSettings;
use super::{FlowInfo, Probe, StreamDissector, StreamSession};
use framing::Candidate;

/// MySQL's registration. Passwords never reach the entry (the auth data is skipped), so there
/// is nothing to redact.
pub const PROTOCOL: Protocol = Protocol {
    about: "MySQL / MariaDB: queries, prepared statements with parameters, result sets, errors",
    stream: Some(dissector),
    ..Protocol::named("mysql")
};

fn dissector(settings: &ProtocolSettings) -> Box<dyn StreamDissector> {
    Box::new(MysqlDissector { limits: Limits::from_settings(settings) })
}

/// What one connection keeps at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of SQL kept per command.
    pub query: usize,
    /// Bytes kept per value (cell or parameter).
    pub cell: usize,
    /// Rows kept per result set (all are counted).
    pub rows: usize,
    /// Columns kept per result set.
    pub columns: usize,
    /// Parameters shown per execution.
    pub params: usize,
    /// Results kept per response (all are counted).
    pub results: usize,
    /// Commands waiting for their responses.
    pub max_pending: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { query: 16 * 1024, cell: 256, rows: 10, columns: 256, params: 256, results: 16, max_pending: 256 }
    }
}

impl Limits {
    /// The most a session's [`StreamSession::buffered_bytes`] can be with these limits: the two
    /// framers and joined payloads, the waiting commands, and one response's kept results.
    pub fn max_buffered(&self) -> usize {
        let streams = 2 * (framing::MAX_FRAME + framing::KEPT_PAYLOAD);
        let commands = self.max_pending * (2 * self.query + 4 + self.params * 32 + self.columns * (256 + 32));
        let value = self.cell + 3 + 24;
        let result = self.columns * (256 + 32) + self.rows * self.columns * value;
        let statements = MAX_STATEMENTS * (self.query + 2 * usize::from(u16::MAX) + 16 + self.columns * (256 + 32));
        streams + commands + (self.results + 2) * result + statements
    }

    pub fn from_settings(settings: &ProtocolSettings) -> Self {
        let d = Limits::default();
        Limits { query: d.query.min(settings.body_limit.max(64)), max_pending: settings.max_streams.max(1), ..d }
    }
}

/// The MySQL stream dissector.
#[derive(Default)]
pub struct MysqlDissector {
    pub limits: Limits,
}

impl StreamDissector for MysqlDissector {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn probe(&self, _flow: &FlowInfo, data: &[u8]) -> Probe {
        probe(data)
    }

    fn new_session(&self, flow: &FlowInfo) -> Box<dyn StreamSession> {
        Box::new(MysqlSession::new(self.limits, flow.saw_handshake))
    }
}

/// The first bytes of a direction: a server greeting, or a client command.
pub fn probe(data: &[u8]) -> Probe {
    match greeting_start(data) {
        Candidate::Yes => return Probe::Server,
        Candidate::NeedMore => return Probe::NeedMore,
        Candidate::No => {}
    }
    match framing::command_start(data) {
        Candidate::Yes => Probe::Client,
        Candidate::NeedMore => Probe::NeedMore,
        Candidate::No => Probe::No,
    }
}

/// A protocol-10 greeting: sequence 0, a plausible length, version 10, a printable server version
/// that starts with a digit, then the fixed fields.
fn greeting_start(data: &[u8]) -> Candidate {
    let Some((len, seq)) = packet::header(data) else {
        return if data.len() >= 4 || data.get(3).is_some_and(|&s| s != 0) {
            Candidate::No
        } else {
            Candidate::NeedMore
        };
    };
    if seq != 0 || !(20..=1024).contains(&len) {
        return Candidate::No;
    }
    let Some(&version) = data.get(4) else { return Candidate::NeedMore };
    if version != 10 {
        return Candidate::No;
    }
    let Some(payload) = data.get(4..4 + len) else { return Candidate::NeedMore };
    match packet::Greeting::parse(payload) {
        Ok(g)
            if g.server_version.first().is_some_and(u8::is_ascii_digit)
                && g.server_version.iter().all(|b| b.is_ascii_graphic() || *b == b' ') =>
        {
            Candidate::Yes
        }
        _ => Candidate::No,
    }
}
