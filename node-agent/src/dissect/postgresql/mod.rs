//! PostgreSQL, frontend/backend protocol v3 (`"protocol": "postgresql"`).
//!
//! Modules, one job each:
//! - [`wire`]: framing and message bodies (pure, zero-copy), and the structural checks the probe
//!   and resynchronisation use;
//! - [`values`]: parameter and column values (text, and binary of the common types) as JSON;
//! - [`sql`]: a Query string's statements and the one-line summary;
//! - [`session`]: the connection — operations queued in request order, responses applied to
//!   the front one, named statements and portals, synchronisation after gaps.
//!
//! # Entries
//!
//! One entry per SQL statement: each statement of a simple `Query` (several in one string give one
//! entry each), each extended-protocol `Execute` (its SQL and bound parameters looked up through
//! the portal and statement maps), a `FunctionCall`; plus the startup (user, database,
//! parameters, authentication methods), a cancel request, an accepted encryption request (the
//! session is not dissected after it), and `NOTIFY` notifications. `status` is the command tag
//! (`"SELECT 3"`, `"INSERT 0 1"`) or on error the SQLSTATE (`"42P01"`); see
//! [`session::sqlstate_outcome`] for the outcome. Passwords and SASL messages are kept only in
//! the startup's `password` / `sasl_data` fields, which the registration declares secret.
//! docs/entry.md has the fields.

pub mod session;
pub mod sql;
pub mod values;
pub mod wire;

#[cfg(test)]
mod tests;

pub use session::{sqlstate_outcome, PgSession, MAX_ROWS};

use super::registry::Protocol;
use super::settings::ProtocolSettings;
use super::{Direction, FlowInfo, Probe, StreamDissector, StreamSession};
use crate::redact::Secrets;
use wire::Candidate;

/// The entries' `protocol`.
pub const NAME: &str = "postgresql";

/// PostgreSQL's registration.
pub const PROTOCOL: Protocol = Protocol {
    about: "PostgreSQL (frontend/backend v3): simple and extended queries, COPY, NOTIFY",
    secrets: SECRETS,
    stream: Some(dissector),
    ..Protocol::named(NAME)
};

/// The startup entry's password (cleartext or MD5 hash) and SASL messages.
pub const SECRETS: Secrets =
    Secrets { pair_lists: &[], is_secret_name: |_| false, fields: &["password", "sasl_data"], find: None };

/// The largest message kept whole (bigger ones: their first bytes, the rest streams through).
pub const MAX_FRAME_LIMIT: usize = 1 << 20;

fn dissector(settings: &ProtocolSettings) -> Box<dyn StreamDissector> {
    Box::new(PgDissector { max_frame: settings.body_limit.clamp(16 * 1024, MAX_FRAME_LIMIT) })
}

/// PostgreSQL over TCP, on any port.
pub struct PgDissector {
    pub max_frame: usize,
}

impl StreamDissector for PgDissector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn probe(&self, _flow: &FlowInfo, data: &[u8]) -> Probe {
        probe(data)
    }

    fn new_session(&self, flow: &FlowInfo) -> Box<dyn StreamSession> {
        Box::new(PgSession::new(self.max_frame, !flow.saw_handshake))
    }
}

/// Recognises the first bytes of a direction: a startup packet (StartupMessage v3 with a user,
/// SSLRequest, GSSENCRequest, CancelRequest) from the client, or — for a connection picked up
/// mid-way — two whole messages in a row that parse as their types say (a client's, tried first,
/// or a server's); one message is enough when it is a Query or ReadyForQuery and ends the data.
pub fn probe(data: &[u8]) -> Probe {
    let mut need_more = false;
    for (dir, answer) in [(Direction::ClientToServer, Probe::Client), (Direction::ServerToClient, Probe::Server)] {
        match chain(dir, data) {
            Probe::No => {}
            Probe::NeedMore => need_more = true,
            _ => return answer,
        }
    }
    if need_more {
        Probe::NeedMore
    } else {
        Probe::No
    }
}

fn chain(dir: Direction, data: &[u8]) -> Probe {
    let first = match wire::candidate(dir, data) {
        Candidate::Yes(n) => n,
        Candidate::NeedMore => return Probe::NeedMore,
        Candidate::No => return Probe::No,
    };
    if data.first() == Some(&0) {
        // A startup packet: the strongest evidence there is.
        return Probe::Client;
    }
    let rest = data.get(first..).unwrap_or_default();
    if rest.is_empty() {
        let strong = matches!(
            (dir, data.first()),
            (Direction::ClientToServer, Some(b'Q')) | (Direction::ServerToClient, Some(b'Z'))
        );
        return if strong { Probe::Client } else { Probe::NeedMore };
    }
    match wire::candidate(dir, rest) {
        Candidate::Yes(_) => Probe::Client,
        Candidate::NeedMore => Probe::NeedMore,
        Candidate::No => Probe::No,
    }
}
