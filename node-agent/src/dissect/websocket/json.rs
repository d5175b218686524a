//! One WebSocket message as an exchange (docs: the WebSocket section of docs/entry.md):
//!
//! ```text
//! request:  {"from": "client" | "server", "opcode", "body": BODY, "frames", "compressed",
//!            "handshake": id of the 101 entry | null, "close"?: {"code", "name", "reason"}}
//! response: null
//! BODY:     {"size", "mime": null, "encoding": "permessage-deflate" | null,
//!            "text" | "base64", "truncated"}   (the HTTP body's shape)
//! ```
//!
//! `status` is the Close code of a Close message (`"1000"`), null otherwise; `outcome` is `ok` but
//! for a message cut off before its end (`error`) and a Close that starts the closing handshake
//! with a failure code (see [`close_outcome`]).

use super::close::{code_name, Close};
use super::frame::Opcode;
use super::message::Message;
use crate::dissect::{Direction, Exchange};
use crate::entry::Outcome;
use base64::Engine as _;
use serde_json::{Map, Value};

/// Characters of a payload shown in a summary.
pub const SUMMARY_CHARS: usize = 80;

/// What the session knows beyond the message itself.
pub(crate) struct Context<'a> {
    /// Id of the `101 Switching Protocols` entry, when the handshake was seen.
    pub handshake: Option<&'a str>,
    /// This Close answers one the peer sent first (the second half of the closing handshake).
    pub close_reply: bool,
    /// Payload bytes kept per message (for the truncation note).
    pub body_limit: usize,
}

pub(crate) fn exchange(m: Message, ctx: &Context<'_>, mut notes: Vec<String>) -> Exchange {
    notes.extend(m.notes.iter().cloned());
    if m.truncated && m.payload.len() >= ctx.body_limit && m.payload_len > m.payload.len() as u64 {
        notes.push(format!("payload truncated at {} bytes", ctx.body_limit));
    }
    let outcome = outcome(&m, ctx.close_reply);
    let status = m.close.as_ref().and_then(|c| c.code).map(|c| c.to_string());
    Exchange {
        protocol: "websocket",
        ts: m.first_ts,
        end_ts: None,
        summary: summary(&m),
        status,
        outcome,
        request_size: m.wire_len,
        response_size: 0,
        request: request_json(m, ctx.handshake),
        response: None,
        notes,
    }
}

/// "client" or "server": who sent the message.
pub fn side(from: Direction) -> &'static str {
    match from {
        Direction::ClientToServer => "client",
        Direction::ServerToClient => "server",
    }
}

fn outcome(m: &Message, close_reply: bool) -> Outcome {
    if m.cut_off {
        return Outcome::Error;
    }
    match &m.close {
        Some(Close { code: Some(code), .. }) if !close_reply => close_outcome(*code, m.from),
        _ => Outcome::Ok,
    }
}

/// The outcome a Close with `code` sent by `from` reports (RFC 6455 section 7.4.1). 1000 and 1001
/// end normally. 1002, 1003 and 1007-1010 say the *peer* sent something wrong (a protocol error,
/// data it cannot take, a policy violation, too big, a missing extension); 1011-1014 say the
/// *sender* failed (internal error, restarting, overloaded, bad gateway). 3000-4999 belong to
/// applications and say nothing the protocol knows. Anything else must not be sent at all.
pub fn close_outcome(code: u16, from: Direction) -> Outcome {
    let (sender_at_fault, peer_at_fault) = match from {
        Direction::ClientToServer => (Outcome::ClientError, Outcome::ServerError),
        Direction::ServerToClient => (Outcome::ServerError, Outcome::ClientError),
    };
    match code {
        1000 | 1001 | 3000..=4999 => Outcome::Ok,
        1002 | 1003 | 1007..=1010 => peer_at_fault,
        1011..=1014 => sender_at_fault,
        _ => Outcome::Error,
    }
}

/// The payload as text, when it is UTF-8 (a kept prefix cut inside a character: up to it).
fn payload_text(m: &Message) -> Option<&str> {
    match std::str::from_utf8(&m.payload) {
        Ok(s) => Some(s),
        Err(e) if m.truncated && e.error_len().is_none() => {
            m.payload.get(..e.valid_up_to()).and_then(|p| std::str::from_utf8(p).ok())
        }
        Err(_) => None,
    }
}

/// `text 42 B: {"op":1}`, `binary 3000 B`, `ping 4 B`, `close 1000 Normal Closure: done`.
fn summary(m: &Message) -> String {
    if let Some(close) = &m.close {
        let mut s = String::from("close");
        if let Some(code) = close.code {
            s.push_str(&format!(" {code}"));
            if let Some(name) = code_name(code) {
                s.push(' ');
                s.push_str(name);
            }
        }
        if !close.reason.is_empty() {
            s.push_str(": ");
            push_preview(&mut s, &close.reason);
        }
        return s;
    }
    let mut s = format!("{} {} B", m.opcode.name(), m.payload_len);
    let preview = match m.opcode {
        Opcode::Binary => None,
        Opcode::Text => m.text(),
        _ => payload_text(m),
    };
    if let Some(text) = preview.filter(|t| !t.is_empty()) {
        s.push_str(": ");
        push_preview(&mut s, text);
    }
    s
}

/// Appends the first [`SUMMARY_CHARS`] characters of `text`, control characters escaped
/// (`\n`, `\u{1}`), and `…` when there was more.
fn push_preview(s: &mut String, text: &str) {
    let mut chars = text.chars();
    for c in chars.by_ref().take(SUMMARY_CHARS) {
        if c.is_control() {
            s.extend(c.escape_default());
        } else {
            s.push(c);
        }
    }
    if chars.next().is_some() {
        s.push('…');
    }
}

// Keys are inserted in descending order (see http1's json: cheaper B-tree inserts).

fn request_json(m: Message, handshake: Option<&str>) -> Value {
    let mut r = Map::new();
    r.insert("opcode".into(), Value::String(m.opcode.name().to_owned()));
    r.insert("handshake".into(), handshake.map_or(Value::Null, |h| Value::String(h.to_owned())));
    r.insert("from".into(), Value::String(side(m.from).to_owned()));
    r.insert("frames".into(), Value::from(m.frames));
    r.insert("compressed".into(), Value::Bool(m.compressed));
    if let Some(c) = &m.close {
        let mut close = Map::new();
        close.insert("reason".into(), Value::String(c.reason.clone()));
        close.insert("name".into(), c.code.and_then(code_name).map_or(Value::Null, |n| Value::String(n.to_owned())));
        close.insert("code".into(), c.code.map_or(Value::Null, Value::from));
        r.insert("close".into(), Value::Object(close));
    }
    r.insert("body".into(), body_json(m));
    Value::Object(r)
}

fn body_json(m: Message) -> Value {
    let mut b = Map::new();
    b.insert("truncated".into(), Value::Bool(m.truncated));
    let text = match m.opcode {
        // A text message that is not UTF-8 was already noted; show it as bytes like any other.
        Opcode::Text => m.text().map(str::to_owned),
        _ => payload_text(&m).map(str::to_owned),
    };
    let base64 = match text {
        Some(t) => {
            b.insert("text".into(), Value::String(t));
            None
        }
        None => Some(base64::engine::general_purpose::STANDARD.encode(&m.payload)),
    };
    b.insert("size".into(), Value::from(m.payload_len));
    b.insert("mime".into(), Value::Null);
    let encoding = if m.compressed { Value::String(super::deflate::EXTENSION_NAME.to_owned()) } else { Value::Null };
    b.insert("encoding".into(), encoding);
    if let Some(data) = base64 {
        b.insert("base64".into(), Value::String(data));
    }
    Value::Object(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_blame_the_side_rfc_6455_names() {
        use Direction::{ClientToServer as C, ServerToClient as S};
        for (code, from, want) in [
            (1000, C, Outcome::Ok),
            (1001, S, Outcome::Ok),
            (1002, C, Outcome::ServerError), // the client saw the server break the protocol
            (1002, S, Outcome::ClientError),
            (1008, S, Outcome::ClientError), // the client violated the server's policy
            (1009, C, Outcome::ServerError), // the server sent the client too much
            (1010, C, Outcome::ServerError), // the server did not negotiate a required extension
            (1011, S, Outcome::ServerError), // the server's internal error
            (1011, C, Outcome::ClientError),
            (1013, S, Outcome::ServerError),
            (1005, S, Outcome::Error), // never sent on the wire
            (1015, C, Outcome::Error),
            (2999, S, Outcome::Error),
            (4000, S, Outcome::Ok),
        ] {
            assert_eq!(close_outcome(code, from), want, "{code} from {from:?}");
        }
    }

    #[test]
    fn previews_escape_controls_and_cut_on_characters() {
        let mut s = String::new();
        push_preview(&mut s, "a\nb\t\u{1}\u{7f}é\"");
        assert_eq!(s, "a\\nb\\t\\u{1}\\u{7f}é\"");
        let mut s = String::new();
        push_preview(&mut s, &"é".repeat(SUMMARY_CHARS + 1));
        assert_eq!(s, format!("{}…", "é".repeat(SUMMARY_CHARS)));
        let mut s = String::new();
        push_preview(&mut s, &"x".repeat(SUMMARY_CHARS));
        assert_eq!(s.chars().count(), SUMMARY_CHARS, "no ellipsis when nothing was left out");
    }
}
