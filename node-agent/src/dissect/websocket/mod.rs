//! WebSocket (RFC 6455) with permessage-deflate (RFC 7692): entries with `"protocol": "websocket"`,
//! one per message, reached by the hand-off of an HTTP/1.1 `Upgrade: websocket`.
//!
//! The session ([`session`]) and its entry JSON (`json`, shape documented there and in
//! docs/entry.md) sit on an I/O-free layer:
//!
//! - [`frame`]: zero-copy frame headers and frames, violations reported, not fatal;
//! - [`mask`]: (un)masking eight bytes at a time;
//! - [`message`]: [`MessageAssembler`], one direction's bytes in any chunking into [`Message`]s
//!   (fragments joined, control frames between them, payloads unmasked, inflated, bounded);
//! - [`deflate`]: the negotiated extension parameters and the per-direction inflater;
//! - [`close`]: Close frame bodies and status codes; `utf8`: incremental text validation.
//!
//! A session starts after the HTTP/1.1 `101 Switching Protocols` response: it reads the response's
//! `Sec-WebSocket-Extensions` with [`parse_extensions`] and creates one assembler per direction
//! with [`MessageAssembler::for_extensions`].

pub mod close;
pub mod deflate;
pub mod frame;
mod json;
pub mod mask;
pub mod message;
pub mod session;
mod utf8;

#[cfg(test)]
mod session_tests;
#[cfg(test)]
mod tests;

pub use close::Close;
pub use deflate::{parse_extensions, DeflateParams, Extensions, InflateParams};
pub use frame::{parse_frame, parse_header, Frame, FrameError, FrameHeader, Opcode, Parsed};
pub use json::{close_outcome, SUMMARY_CHARS};
pub use message::{Desync, DesyncReason, Message, MessageAssembler};
pub use session::{WebSocketDissector, WebSocketSession};

use super::registry::Protocol;
use super::settings::ProtocolSettings;
use super::StreamDissector;
use crate::redact::Secrets;

/// WebSocket's registration. No secrets: what a WebSocket connection carries are message
/// payloads, shown as bodies are, and bodies are not redacted (the same policy as HTTP bodies);
/// the credentials of the handshake (`Authorization`, `Cookie`) are in the HTTP entry of the
/// upgrade, and redacted there.
pub const PROTOCOL: Protocol = Protocol {
    about: "WebSocket messages (after an HTTP/1.1 upgrade), permessage-deflate included",
    secrets: Secrets::NONE,
    stream: Some(dissector),
    ..Protocol::named("websocket")
};

fn dissector(settings: &ProtocolSettings) -> Box<dyn StreamDissector> {
    let max_kept = settings.body_limit;
    // Inflating is work even when nothing is kept: bounded, but never below what is kept.
    let max_inflated = Limits::default().max_inflated.max(max_kept as u64);
    Box::new(WebSocketDissector::with_limits(Limits { max_kept, max_inflated }))
}

/// Memory and work bounds of one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Payload bytes kept per message, after unmasking and inflating (control frames keep their
    /// up to 125 bytes whatever this is). The message's size still counts every byte.
    pub max_kept: usize,
    /// Bytes inflated per compressed message; past that the message is truncated (a decompression
    /// bomb costs at most this much work and no memory beyond `max_kept`).
    pub max_inflated: u64,
}

impl Limits {
    /// An upper bound of [`MessageAssembler::buffered_bytes`] whatever the input: a partial header,
    /// the kept prefix of a data message and of a control frame, the inflater.
    pub fn max_buffered(&self) -> usize {
        frame::MAX_HEADER_LEN
            + self.max_kept
            + self.max_kept.max(frame::MAX_CONTROL_PAYLOAD as usize)
            + deflate::INFLATER_BYTES
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_kept: 1 << 20, max_inflated: 16 << 20 }
    }
}
