//! AMQP 0-9-1 (RabbitMQ and its peers), over TCP on any port.
//!
//! Modules, one job each: [`wire`] (frames, methods, field tables, content headers: pure),
//! `probe` (recognising AMQP from content, frame starts after lost sync), `session` (one
//! connection: framing, pairing per channel, content joined to its method).
//!
//! # Entries
//!
//! One entry per method that is not an answer: a synchronous method (`queue.declare`) with the
//! method that answers it (`queue.declare-ok`, or the `channel.close` / `connection.close` that
//! refused it), an asynchronous one (`basic.publish`, `basic.deliver`, `basic.ack`) alone, with
//! its message when it carries one. `request`: `method`, `channel`, `from` (`"client"` or
//! `"server"`: who sent it; `connection.start` and `tune` come from the server), the method's
//! arguments by their specification names in snake case (reserved ones left out), and `message`
//! for content-bearing methods; `response`: `method` and arguments of the answer (`message` for
//! `basic.get-ok`), or null. See docs/entry.md, "AMQP".
//!
//! `status`: the reply code of a close (the close's own entry, and the requests it refused), the
//! reply code of a `basic.return`, `"OK"` otherwise, null without the answer a synchronous method
//! waits for. `outcome` follows [`close_outcome`].

pub mod wire;

mod probe;
mod session;

#[cfg(test)]
mod tests;

pub use probe::MAX_FRAME;
pub use session::{Limits, Session as AmqpSession};

use super::registry::Protocol;
use super::settings::ProtocolSettings;
use super::{FlowInfo, Probe, StreamDissector, StreamSession};
use crate::entry::Outcome;
use crate::redact::Secrets;

/// The entries' `protocol`.
pub const PROTOCOL_NAME: &str = "amqp";

/// AMQP's registration. Its credentials: the SASL response of `connection.start-ok` and
/// `secure-ok` (PLAIN carries the password), the new secret of `connection.update-secret`.
pub const PROTOCOL: Protocol = Protocol {
    about: "AMQP 0-9-1 (RabbitMQ)",
    secrets: Secrets { pair_lists: &[], is_secret_name: |_| false, fields: &["response", "new_secret"], find: None },
    stream: Some(dissector),
    role: Some(role),
    ..Protocol::named(PROTOCOL_NAME)
};

fn dissector(settings: &ProtocolSettings) -> Box<dyn StreamDissector> {
    Box::new(AmqpDissector {
        limits: Limits { body_limit: settings.body_limit, max_pending: settings.max_streams.max(1) },
    })
}

/// The AMQP 0-9-1 stream dissector.
pub struct AmqpDissector {
    pub limits: Limits,
}

impl StreamDissector for AmqpDissector {
    fn name(&self) -> &'static str {
        PROTOCOL_NAME
    }

    fn probe(&self, _flow: &FlowInfo, data: &[u8]) -> Probe {
        probe::probe(data)
    }

    fn new_session(&self, flow: &FlowInfo) -> Box<dyn StreamSession> {
        Box::new(AmqpSession::new(self.limits, !flow.saw_handshake))
    }
}

/// The role of an entry around a broker, for the service map: `"produce"` for `basic.publish`,
/// `"consume"` for `basic.deliver` and `basic.get`; `None` for everything else.
pub fn role(entry_request: &serde_json::Value) -> Option<&'static str> {
    match entry_request.get("method")?.as_str()? {
        "basic.publish" => Some("produce"),
        "basic.deliver" | "basic.get" => Some("consume"),
        _ => None,
    }
}

/// The outcome of a close's reply code (0-9-1 section 1.9, "Constants"), by who sent the close.
/// From the server: 200 (and 0) is a normal close; the soft errors (311-313, 402-406) and the hard
/// errors that blame the client (501-505 protocol errors, 530 not-allowed) are `client_error`;
/// 320 connection-forced, 506 resource-error, 540 not-implemented and 541 internal-error are
/// `server_error`. From the client, a protocol error (501-505) blames the server; any other
/// failure code is `error` (the client gave up, the protocol does not say whose fault).
pub fn close_outcome(code: u64, sent_by_server: bool) -> Outcome {
    match (code, sent_by_server) {
        (0 | 200, _) => Outcome::Ok,
        (501..=505, false) => Outcome::ServerError,
        (_, false) => Outcome::Error,
        (311..=313 | 402..=406 | 501..=505 | 530, true) => Outcome::ClientError,
        (320 | 506 | 540 | 541, true) => Outcome::ServerError,
        _ => Outcome::Error,
    }
}
