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
mod json;
mod message;
pub mod parser;
mod reader;
mod resync;
mod scan;
mod session;

#[cfg(test)]
mod tests;

use super::{FlowInfo, Probe, StreamDissector, StreamSession};
pub use session::Http1Session;

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
    /// bodies of the waiting requests, of one early answer and of the response being read.
    pub fn max_buffered(&self) -> usize {
        let per_direction = self.max_head.max(resync::MAX_LINE);
        2 * per_direction + (self.max_pending + 2) * self.body_limit
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
        "http"
    }

    fn probe(&self, _flow: &FlowInfo, data: &[u8]) -> Probe {
        probe(data)
    }

    fn new_session(&self, _flow: &FlowInfo) -> Box<dyn StreamSession> {
        Box::new(Http1Session::new(self.limits))
    }
}
