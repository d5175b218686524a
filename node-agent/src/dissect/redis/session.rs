//! One Redis connection: commands paired with replies in order, and the messages the server sends
//! on its own (pub/sub messages, RESP3 pushes, MONITOR output) as entries of their own.
//!
//! Pairing rules:
//! - every command gets one reply, in order (pipelined or not; inside `MULTI` the reply is
//!   `QUEUED` and `EXEC` gets the array of results);
//! - `SUBSCRIBE`, `PSUBSCRIBE`, `SSUBSCRIBE` get one confirmation per channel, the `UNSUBSCRIBE`
//!   family one per channel named, or (without arguments) one per subscription until the count of
//!   subscriptions left reaches 0 or another reply comes;
//! - RESP3 pushes (`>`), other than confirmations, and, on a RESP2 connection in subscribed mode,
//!   `message`/`pmessage`/`smessage` arrays, are entries without a request (the client-side
//!   caching `invalidate` push included);
//! - after `MONITOR` is acknowledged, each monitored command line is an entry without a request;
//! - a reply with no command waiting (its command was not captured) is an entry with `request` null.
//!
//! At most [`MAX_PENDING`] commands wait for replies; beyond that commands are counted but not
//! reported (their replies are skipped in order, so pairing stays right), and the next entry says
//! how many.
//!
//! Gaps: a gap in the server direction loses replies: the waiting commands are reported without
//! response. A gap in the client direction loses commands: the commands sent after it are paired
//! as usual but noted as paired across a gap (a lost command's reply may take their place) until
//! no command is waiting. A direction that hit a gap or unreadable bytes, or that was picked up
//! mid-connection, resynchronises: commands at the next `*<n>\r\n$<len>\r\n<known command>\r\n`,
//! replies at the next line start that begins a well-formed reply.

use super::command::Command;
use super::json::{self, short_text, SUMMARY_KEY_CHARS};
use super::probe::{command_at, reply_at, Candidate, MAX_COMMAND_CANDIDATE, MAX_REPLY_LINE};
use super::resp::{Limits, Message, ReadError, Reader, Value, MAX_INLINE};
use super::{error_outcome, status_of};
use crate::dissect::{Direction, Exchange, ExchangeSink, StreamSession};
use crate::entry::Outcome;
use crate::time::Timestamp;
use serde_json::{Map, Value as Json};
use std::collections::VecDeque;

/// Commands waiting for replies that are tracked per connection.
pub const MAX_PENDING: usize = 1024;
/// Confirmations kept per (un)subscribe command.
const MAX_CONFIRMATIONS: usize = 64;

/// An upper bound of [`RedisSession::buffered_bytes`] whatever the input: two readers (an inline
/// line, whose buffer may have doubled, and a message's kept strings and values), two resync
/// carries, the waiting commands' kept words, and the confirmations of the first of them.
pub const MAX_BUFFERED: usize = 2
    * (2 * MAX_INLINE as usize
        + Limits::REPLY.max_kept
        + 2 * Limits::REPLY.max_string
        + Limits::REPLY.max_values * std::mem::size_of::<Value>())
    + 2 * (MAX_REPLY_LINE + 2)
    + MAX_PENDING * (Limits::REQUEST.max_kept + Limits::REQUEST.max_items * 32 + 128)
    + MAX_CONFIRMATIONS * Limits::REPLY.max_kept;

/// What a command waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Reply,
    /// Confirmations whose first element is `kind`; `left` when known.
    Confirmations {
        kind: &'static str,
        left: Option<u64>,
    },
    /// No reply: the client turned replies off (`CLIENT REPLY OFF`/`SKIP`).
    Nothing,
}

/// What `CLIENT REPLY` asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReplyMode {
    On,
    Off,
    SkipNext,
}

struct Pending {
    ts: Timestamp,
    command: Command,
    size: u64,
    expect: Expect,
    replies: Vec<Message>,
    reply_count: u64,
    reply_size: u64,
    end_ts: Option<Timestamp>,
    notes: Vec<String>,
}

enum Slot {
    Command(Box<Pending>),
    /// Commands beyond [`MAX_PENDING`]: their replies are skipped (`left` of `total`).
    Untracked {
        left: u64,
        total: u64,
    },
}

/// Looking for a message boundary in one direction.
#[derive(Default)]
struct Resync {
    /// The tail of the data that might start a boundary once more bytes come.
    carry: Vec<u8>,
    /// The previous byte ended a line (or nothing was seen yet): a reply may start here.
    line_start: bool,
}

/// One direction's reader state.
struct Side {
    reader: Reader,
    start: Option<Timestamp>,
    resync: Option<Resync>,
}

pub struct RedisSession {
    sides: [Side; 2],
    pending: VecDeque<Slot>,
    /// Commands not tracked since the last entry, for its note.
    untracked_note: u64,
    /// RESP2 subscribed mode (pushes are arrays there).
    subscribed: bool,
    monitoring: bool,
    /// Commands after a client-direction gap are paired with a note until the queue drains.
    across_gap: bool,
    reply_mode: ReplyMode,
}

impl RedisSession {
    /// A session; `mid_stream` when the connection was not seen from its start.
    pub fn new(mid_stream: bool) -> RedisSession {
        let side = |client: bool| Side {
            reader: Reader::new(client, if client { Limits::REQUEST } else { Limits::REPLY }),
            start: None,
            resync: mid_stream.then(|| Resync { carry: Vec::new(), line_start: true }),
        };
        RedisSession {
            sides: [side(true), side(false)],
            pending: VecDeque::new(),
            untracked_note: 0,
            subscribed: false,
            monitoring: false,
            across_gap: false,
            reply_mode: ReplyMode::On,
        }
    }

    fn feed(&mut self, dir: Direction, mut data: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink) {
        let i = dir.index();
        while !data.is_empty() {
            let side = &mut self.sides[i];
            if side.reader.at_boundary() {
                side.start = Some(ts);
            }
            match side.reader.read(data) {
                Ok((used, message)) => {
                    data = data.get(used..).unwrap_or_default();
                    if let Some(message) = message {
                        let start = side.start.take().unwrap_or(ts);
                        match dir {
                            Direction::ClientToServer => self.on_command(message, start, out),
                            Direction::ServerToClient => self.on_reply(message, start, ts, out),
                        }
                    }
                }
                Err(ReadError { at, error: e }) => {
                    let side = &mut self.sides[i];
                    side.reader.reset();
                    side.start = None;
                    side.resync = Some(Resync::default());
                    let note = format!("unreadable {} bytes ({e}): resynchronised", side_name(dir));
                    if dir == Direction::ServerToClient {
                        self.flush_pending(&note, out);
                    } else {
                        self.across_gap = true;
                    }
                    // The scan starts after the byte where the problem was found.
                    self.scan(dir, data.get(at..).unwrap_or_default(), ts, out);
                    return;
                }
            }
        }
    }

    /// Looks for a boundary in `data` (after what was carried); feeds from there when found.
    fn scan(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink) {
        let i = dir.index();
        let Some(mut resync) = self.sides[i].resync.take() else {
            return self.feed(dir, data, ts, out);
        };
        let owned;
        let buf: &[u8] = if resync.carry.is_empty() {
            data
        } else {
            owned = [std::mem::take(&mut resync.carry).as_slice(), data].concat();
            &owned
        };
        let client = dir == Direction::ClientToServer;
        let mut at = 0;
        while at < buf.len() {
            let candidate = if client {
                if buf[at] == b'*' {
                    command_at(&buf[at..])
                } else {
                    Candidate::No
                }
            } else if resync.line_start {
                reply_at(&buf[at..])
            } else {
                Candidate::No
            };
            match candidate {
                Candidate::Yes => {
                    let rest = &buf[at..];
                    return self.feed(dir, rest, ts, out);
                }
                Candidate::NeedMore => {
                    let max = if client { MAX_COMMAND_CANDIDATE } else { MAX_REPLY_LINE + 2 };
                    let tail = &buf[at..];
                    resync.carry = tail[..tail.len().min(max)].to_vec();
                    self.sides[i].resync = Some(resync);
                    return;
                }
                Candidate::No => {
                    resync.line_start = buf[at] == b'\n';
                    at += 1;
                }
            }
        }
        self.sides[i].resync = Some(resync);
    }

    fn on_command(&mut self, message: Message, ts: Timestamp, out: &mut dyn ExchangeSink) {
        let size = message.size;
        let Some(command) = Command::from_message(message) else { return };
        if self.pending.len() >= MAX_PENDING {
            match self.pending.back_mut() {
                Some(Slot::Untracked { left, total }) => {
                    *left += 1;
                    *total += 1;
                }
                _ => self.pending.push_back(Slot::Untracked { left: 1, total: 1 }),
            }
            return;
        }
        let mut expect = expectation(&command);
        let mut notes = Vec::new();
        if command.name == "CLIENT" && command.subcommand.as_deref() == Some("REPLY") {
            match command.word_upper(2).as_deref() {
                Some("OFF") => self.reply_mode = ReplyMode::Off,
                Some("SKIP") => self.reply_mode = ReplyMode::SkipNext,
                Some("ON") => self.reply_mode = ReplyMode::On,
                _ => {}
            }
            if self.reply_mode != ReplyMode::On {
                expect = Expect::Nothing;
            }
        } else {
            match self.reply_mode {
                ReplyMode::On => {}
                ReplyMode::Off => expect = Expect::Nothing,
                ReplyMode::SkipNext => {
                    expect = Expect::Nothing;
                    self.reply_mode = ReplyMode::On;
                }
            }
        }
        if expect == Expect::Nothing {
            notes.push("no reply: the client turned replies off (CLIENT REPLY)".to_string());
        }
        if self.across_gap {
            notes.push(
                "paired across a capture gap in the client's direction: the reply may be a lost command's".into(),
            );
        }
        let pending = Pending {
            ts,
            command,
            size,
            expect,
            replies: Vec::new(),
            reply_count: 0,
            reply_size: 0,
            end_ts: None,
            notes,
        };
        self.pending.push_back(Slot::Command(Box::new(pending)));
        self.emit_silent(out);
    }

    /// Reports the commands at the head of the queue that get no reply.
    fn emit_silent(&mut self, out: &mut dyn ExchangeSink) {
        while matches!(self.pending.front(), Some(Slot::Command(p)) if p.expect == Expect::Nothing) {
            if let Some(Slot::Command(p)) = self.pending.pop_front() {
                self.emit_command(*p, out);
            }
        }
    }

    fn on_reply(&mut self, message: Message, start: Timestamp, end: Timestamp, out: &mut dyn ExchangeSink) {
        if let Some(kind) = confirmation(&message.value) {
            if let Some(count) = confirmation_count(&message.value) {
                if matches!(message.value, Value::Array(_)) {
                    self.subscribed = count > 0;
                }
            }
            // An UNSUBSCRIBE without arguments ends when a confirmation of another kind comes.
            if let Some(Slot::Command(p)) = self.pending.front() {
                if matches!(p.expect, Expect::Confirmations { kind: want, left: None } if want != kind)
                    && p.reply_count > 0
                {
                    self.pop_and_emit(out);
                }
            }
            if let Some(Slot::Command(p)) = self.pending.front_mut() {
                if let Expect::Confirmations { kind: want, left } = &mut p.expect {
                    if *want == kind {
                        let count = confirmation_count(&message.value);
                        p.reply_count += 1;
                        p.reply_size += message.size;
                        p.end_ts = Some(end);
                        if p.replies.len() < MAX_CONFIRMATIONS {
                            p.replies.push(message);
                        }
                        let done = match left {
                            Some(n) => {
                                *n = n.saturating_sub(1);
                                *n == 0
                            }
                            None => count == Some(0),
                        };
                        if done {
                            self.pop_and_emit(out);
                        }
                        return;
                    }
                }
            }
            return self.emit_unsolicited(message, start, end, "confirmation", out);
        }
        // An UNSUBSCRIBE without arguments ends when something else comes.
        if let Some(Slot::Command(p)) = self.pending.front() {
            if matches!(p.expect, Expect::Confirmations { left: None, .. }) && p.reply_count > 0 {
                self.pop_and_emit(out);
            }
        }
        if let Some(kind) = self.push_kind(&message.value) {
            return self.emit_unsolicited(message, start, end, kind, out);
        }
        match self.pending.front_mut() {
            None => self.emit_unsolicited(message, start, end, "", out),
            Some(Slot::Untracked { left, total }) => {
                *left -= 1;
                if *left == 0 {
                    self.untracked_note += *total;
                    self.pending.pop_front();
                    self.emit_silent(out);
                }
            }
            Some(Slot::Command(p)) => {
                p.reply_count += 1;
                p.reply_size += message.size;
                p.end_ts = Some(end);
                if p.command.name == "MONITOR" && matches!(message.value, Value::Simple(_)) {
                    self.monitoring = true;
                }
                if p.command.name == "RESET" {
                    self.monitoring = false;
                    self.subscribed = false;
                }
                p.replies.push(message);
                self.pop_and_emit(out);
            }
        }
    }

    /// What a server message that is not a reply is: a RESP3 push, a RESP2 pub/sub message in
    /// subscribed mode, a MONITOR line.
    fn push_kind(&self, v: &Value) -> Option<&'static str> {
        match v {
            Value::Push(a) => Some(match first_word(a).as_deref() {
                Some("message") => "message",
                Some("pmessage") => "pmessage",
                Some("smessage") => "smessage",
                Some("invalidate") => "invalidate",
                _ => "push",
            }),
            Value::Array(a) if self.subscribed => match (first_word(a).as_deref(), a.len) {
                (Some("message"), 3) => Some("message"),
                (Some("pmessage"), 4) => Some("pmessage"),
                (Some("smessage"), 3) => Some("smessage"),
                _ => None,
            },
            Value::Simple(b) if self.monitoring => {
                let is_line = b.kept.first().is_some_and(u8::is_ascii_digit) && b.kept.windows(2).any(|w| w == b" [");
                is_line.then_some("monitor")
            }
            _ => None,
        }
    }

    fn pop_and_emit(&mut self, out: &mut dyn ExchangeSink) {
        if let Some(Slot::Command(p)) = self.pending.pop_front() {
            self.emit_command(*p, out);
        }
        self.emit_silent(out);
        if self.pending.is_empty() {
            self.across_gap = false;
        }
    }

    fn emit_command(&mut self, mut p: Pending, out: &mut dyn ExchangeSink) {
        let request = json::request(&p.command);
        let summary = summary(&p.command);
        if self.untracked_note > 0 {
            p.notes.push(format!(
                "{} command(s) beyond {MAX_PENDING} waiting for replies were not reported",
                std::mem::take(&mut self.untracked_note)
            ));
        }
        let (status, outcome, response) = match p.replies.len() {
            0 if p.expect == Expect::Nothing => (None, Outcome::Ok, None),
            0 if p.reply_count == 0 => (None, Outcome::NoResponse, None),
            _ if matches!(p.expect, Expect::Confirmations { .. }) => {
                let mut m = Map::new();
                let first = p.replies.first().map(|m| m.value.type_name()).unwrap_or("push");
                m.insert("type".into(), Json::String(first.into()));
                m.insert("value".into(), Json::Array(p.replies.iter().map(|r| json::value(&r.value)).collect()));
                m.insert("replies".into(), Json::from(p.reply_count));
                (Some("OK".to_string()), Outcome::Ok, Some(Json::Object(m)))
            }
            _ => {
                let reply = p.replies.first();
                let (status, outcome) = reply.map_or(("OK".to_string(), Outcome::Ok), |r| reply_status(&r.value));
                let mut m = reply.map(json::response).unwrap_or_default();
                if let Some(redirect) = reply.and_then(|r| redirect(&r.value)) {
                    m.insert("redirect".into(), redirect);
                }
                (Some(status), outcome, Some(Json::Object(m)))
            }
        };
        out.emit(Exchange {
            protocol: super::NAME,
            ts: p.ts,
            end_ts: p.end_ts,
            summary,
            status,
            outcome,
            request_size: p.size,
            response_size: p.reply_size,
            request,
            response,
            notes: p.notes,
        });
    }

    /// A server message no command waits for.
    fn emit_unsolicited(
        &mut self,
        message: Message,
        start: Timestamp,
        end: Timestamp,
        kind: &str,
        out: &mut dyn ExchangeSink,
    ) {
        let mut response = json::response(&message);
        let (status, outcome) = reply_status(&message.value);
        let mut notes = Vec::new();
        let summary = match kind {
            "" => {
                notes.push("request not captured".to_string());
                "(request not captured)".to_string()
            }
            "monitor" => format!("MONITOR {}", short_text(message.value.as_bytes().unwrap_or_default(), 120)),
            kind => {
                response.insert("kind".into(), Json::String(kind.into()));
                let elements = message.value.elements();
                let channel = elements.and_then(|a| a.items.get(if kind == "pmessage" { 2 } else { 1 }));
                if matches!(kind, "message" | "pmessage" | "smessage") {
                    if let Some(Value::Bulk(b) | Value::Simple(b)) = channel {
                        response.insert("channel".into(), json::blob(b));
                    }
                    if let Some(Value::Bulk(b) | Value::Simple(b)) =
                        elements.and_then(|a| a.items.get(1)).filter(|_| kind == "pmessage")
                    {
                        response.insert("pattern".into(), json::blob(b));
                    }
                }
                match channel.and_then(Value::as_bytes) {
                    Some(c) if kind != "invalidate" => {
                        format!("{} {}", kind.to_ascii_uppercase(), short_text(c, SUMMARY_KEY_CHARS))
                    }
                    _ => kind.to_ascii_uppercase(),
                }
            }
        };
        if kind == "monitor" {
            response.insert("kind".into(), Json::String("monitor".into()));
        }
        out.emit(Exchange {
            protocol: super::NAME,
            ts: start,
            end_ts: Some(end),
            summary,
            status: Some(status),
            outcome,
            request_size: 0,
            response_size: message.size,
            request: Json::Null,
            response: Some(Json::Object(response)),
            notes,
        });
    }

    /// Reports every waiting command without (more) response.
    fn flush_pending(&mut self, note: &str, out: &mut dyn ExchangeSink) {
        while let Some(slot) = self.pending.pop_front() {
            if let Slot::Command(mut p) = slot {
                if !note.is_empty() && p.reply_count == 0 {
                    p.notes.push(note.to_string());
                }
                self.emit_command(*p, out);
            }
        }
        self.across_gap = false;
    }
}

fn side_name(dir: Direction) -> &'static str {
    match dir {
        Direction::ClientToServer => "client",
        Direction::ServerToClient => "server",
    }
}

/// The entry's summary: the command, its subcommand, its key.
fn summary(c: &Command) -> String {
    let mut s = if c.name.is_empty() { "(empty command)".to_string() } else { c.name.clone() };
    if let Some(sub) = &c.subcommand {
        s.push(' ');
        s.push_str(sub);
    }
    if let Some(key) = c.key() {
        s.push(' ');
        s.push_str(&short_text(&key.kept, SUMMARY_KEY_CHARS));
    }
    s
}

/// Status and outcome of a reply: `OK` unless it is an error, then the error's first word.
pub fn reply_status(v: &Value) -> (String, Outcome) {
    match v.error_text() {
        None => ("OK".to_string(), Outcome::Ok),
        Some(text) => {
            let status = status_of(&text.kept);
            let outcome = error_outcome(&status);
            (status, outcome)
        }
    }
}

/// `MOVED 3999 127.0.0.1:6381` / `ASK ...`: the slot and the address.
fn redirect(v: &Value) -> Option<Json> {
    let text = v.error_text()?;
    let text = std::str::from_utf8(&text.kept).ok()?;
    let mut words = text.split(' ');
    let kind = words.next()?;
    if kind != "MOVED" && kind != "ASK" {
        return None;
    }
    let slot: u64 = words.next()?.parse().ok()?;
    let address = words.next()?;
    Some(serde_json::json!({"kind": kind, "slot": slot, "address": address}))
}

/// What a command waits for.
fn expectation(c: &Command) -> Expect {
    let kind = match c.name.as_str() {
        "SUBSCRIBE" => "subscribe",
        "PSUBSCRIBE" => "psubscribe",
        "SSUBSCRIBE" => "ssubscribe",
        "UNSUBSCRIBE" => "unsubscribe",
        "PUNSUBSCRIBE" => "punsubscribe",
        "SUNSUBSCRIBE" => "sunsubscribe",
        _ => return Expect::Reply,
    };
    let channels = c.argc.saturating_sub(1);
    if channels == 0 && kind.contains("unsub") {
        Expect::Confirmations { kind, left: None }
    } else if channels == 0 {
        // Refused with an error, which is a plain reply.
        Expect::Reply
    } else {
        Expect::Confirmations { kind, left: Some(channels) }
    }
}

/// The first element of an aggregate as lower-case text.
fn first_word(a: &super::resp::Aggregate) -> Option<String> {
    a.items.first().and_then(Value::as_bytes).map(|b| String::from_utf8_lossy(b).to_ascii_lowercase())
}

/// A (un)subscribe confirmation: its kind.
fn confirmation(v: &Value) -> Option<&'static str> {
    let a = match v {
        Value::Push(a) | Value::Array(a) if a.len == 3 => a,
        _ => return None,
    };
    if !matches!(a.items.get(2), Some(Value::Integer(_))) {
        return None;
    }
    Some(match first_word(a)?.as_str() {
        "subscribe" => "subscribe",
        "psubscribe" => "psubscribe",
        "ssubscribe" => "ssubscribe",
        "unsubscribe" => "unsubscribe",
        "punsubscribe" => "punsubscribe",
        "sunsubscribe" => "sunsubscribe",
        _ => return None,
    })
}

fn confirmation_count(v: &Value) -> Option<i64> {
    match v.elements()?.items.get(2)? {
        Value::Integer(n) => Some(*n),
        _ => None,
    }
}

impl StreamSession for RedisSession {
    fn on_data(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink) {
        if self.sides[dir.index()].resync.is_some() {
            self.scan(dir, data, ts, out);
        } else {
            self.feed(dir, data, ts, out);
        }
    }

    fn on_gap(&mut self, dir: Direction, _len: u64, out: &mut dyn ExchangeSink) {
        let side = &mut self.sides[dir.index()];
        side.reader.reset();
        side.start = None;
        side.resync = Some(Resync { carry: Vec::new(), line_start: true });
        match dir {
            Direction::ServerToClient => self.flush_pending("response lost to a capture gap", out),
            Direction::ClientToServer => self.across_gap = true,
        }
    }

    fn on_end(&mut self, _dir: Direction, _ts: Timestamp, _out: &mut dyn ExchangeSink) {}

    fn on_close(&mut self, _ts: Timestamp, out: &mut dyn ExchangeSink) {
        self.flush_pending("", out);
        for side in &mut self.sides {
            side.reader.reset();
            side.resync = None;
        }
    }

    fn buffered_bytes(&self) -> usize {
        let readers: usize =
            self.sides.iter().map(|s| s.reader.buffered_bytes() + s.resync.as_ref().map_or(0, |r| r.carry.len())).sum();
        let pending: usize = self
            .pending
            .iter()
            .map(|s| match s {
                Slot::Command(p) => {
                    p.command.argv.iter().map(|b| b.kept.len() + 32).sum::<usize>()
                        + p.replies.iter().map(|r| r.size.min(Limits::REPLY.max_kept as u64) as usize).sum::<usize>()
                        + 128
                }
                Slot::Untracked { .. } => 16,
            })
            .sum();
        readers + pending
    }
}
