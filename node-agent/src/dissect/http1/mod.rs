//! HTTP/1.0 and HTTP/1.1 over TCP.
//!
//! Layout (pure parsing beside the stateful code):
//! - [`parser`]: complete heads into owned values, body framing rules, method and start-line shapes;
//! - `scan`: word-at-a-time byte search and the incremental end-of-head detector;
//! - `chunked`: the chunked transfer coding, incrementally;
//! - `resync`: finding the next message start after a gap or garbage;
//! - `reader`: one direction as a sequence of messages (framing first, each head parsed once);
//! - `session`: request/response pairing per connection, into `message`s;
//! - [`body`]: bounded capture and content-coding decoding; `json`: the entry JSON (its shape is
//!   documented there).

pub mod body;
mod chunked;
pub(crate) mod json;
mod message;
pub mod parser;
mod reader;
mod resync;
mod scan;
mod session;

#[cfg(test)]
mod tests;

use super::registry::Protocol;
use super::settings::ProtocolSettings;
use super::{FlowInfo, Probe, StreamDissector, StreamSession};
use crate::entry::Outcome;
use crate::redact::Secrets;
pub use session::Http1Session;

/// HTTP/1.x's registration (its entries are `"http"`, shared with HTTP/2).
pub const PROTOCOL: Protocol = Protocol {
    about: "HTTP/1.0 and HTTP/1.1 (and HTTP/2, under the same name)",
    http_semantics: true,
    secrets: Secrets::HTTP_HEADERS,
    stream: Some(dissector),
    ..Protocol::named("http")
};

fn dissector(settings: &ProtocolSettings) -> Box<dyn StreamDissector> {
    // A pipeline deeper than 32 requests is not seen in practice; each waiting request may hold a
    // body, so HTTP/1 keeps the smaller of the two bounds.
    let max_pending = settings.max_streams.clamp(1, Limits::default().max_pending);
    Box::new(Http1Dissector::with_limits(Limits { body_limit: settings.body_limit, max_pending, ..Limits::default() }))
}

/// The common outcome of an HTTP status code (HTTP/1 and HTTP/2 alike).
pub fn status_outcome(status: u16) -> Outcome {
    match status {
        400..=499 => Outcome::ClientError,
        500..=599 => Outcome::ServerError,
        100..=399 => Outcome::Ok,
        _ => Outcome::Error,
    }
}

/// Which messages a direction carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Request,
    Response,
}

/// Bytes after which [`Http1Dissector::probe`] stops waiting for a request line to complete.
const PROBE_DECIDE: usize = 16;

/// Memory bounds of one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Decoded body bytes kept per message (the body's size still counts every byte).
    pub body_limit: usize,
    /// Longest head (start line and headers) and trailer section.
    pub max_head: usize,
    /// Requests waiting for a response; older ones are reported without one.
    pub max_pending: usize,
}

impl Limits {
    /// An upper bound of [`StreamSession::buffered_bytes`] between calls, whatever the input:
    /// per direction a partial head, trailer section or resynchronisation candidate, plus the
    /// bodies of the waiting requests, of one early answer and of the response being read, and
    /// the client bytes held while a request that asked to switch protocols waits for its answer.
    pub fn max_buffered(&self) -> usize {
        let per_direction = self.max_head.max(resync::MAX_LINE);
        2 * per_direction + (self.max_pending + 2) * self.body_limit + self.max_head
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits { body_limit: 1 << 20, max_head: 64 << 10, max_pending: 32 }
    }
}

/// The HTTP/1 dissector: detects HTTP/1 from content on any port.
#[derive(Clone, Debug, Default)]
pub struct Http1Dissector {
    limits: Limits,
}

impl Http1Dissector {
    /// Keeps at most `n` decoded bytes of each body (default 1 MiB).
    pub fn with_body_limit(n: usize) -> Self {
        Http1Dissector { limits: Limits { body_limit: n, ..Limits::default() } }
    }

    pub fn with_limits(limits: Limits) -> Self {
        Http1Dissector { limits: Limits { max_pending: limits.max_pending.max(1), ..limits } }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }
}

/// Decides from the first bytes of a direction: a known method and a space make a client,
/// `HTTP/1.` a server. When the request line is already complete it must also end with
/// ` HTTP/1.x`, so that e.g. an inline Redis `GET key` is not taken for HTTP.
pub fn probe(data: &[u8]) -> Probe {
    use parser::{is_request_line, match_method, MethodMatch};
    let line = scan::find_byte(data, b'\n').map(|i| &data[..i]);
    match match_method(data) {
        MethodMatch::Full(_) => {
            return match line {
                Some(l) if !is_request_line(l) => Probe::No,
                _ => Probe::Client,
            }
        }
        MethodMatch::Partial if data.len() < PROBE_DECIDE => return Probe::NeedMore,
        _ => {}
    }
    const STATUS: &[u8] = b"HTTP/1.";
    if data.starts_with(STATUS) {
        Probe::Server
    } else if STATUS.starts_with(data) {
        Probe::NeedMore
    } else {
        Probe::No
    }
}

impl StreamDissector for Http1Dissector {
    fn name(&self) -> &'static str {
        "http1"
    }

    fn probe(&self, _flow: &FlowInfo, data: &[u8]) -> Probe {
        probe(data)
    }

    fn new_session(&self, _flow: &FlowInfo) -> Box<dyn StreamSession> {
        Box::new(Http1Session::new(self.limits))
    }
}
