//! Matching responses to queries within one flow, shared by the UDP and TCP sessions.
//!
//! A query waits in a bounded table keyed by (direction, id, first question); the question's name
//! compares case-insensitively, so 0x20-randomised queries pair with their responses. A response
//! takes the query sent the other way with the same key (or, when it has no question, the only
//! pending query with its id). An identical query before the answer counts as a retransmission of
//! the first. Queries leave the table answered, timed out, evicted (table full) or flushed (flow
//! closed); the last few that left are remembered, so that a duplicate or late response is
//! labelled as such rather than as a response whose query was not captured.

use super::json;
use super::parser::{parse_message, Header, Message, Section, HEADER_LEN};
use super::rdata::{TYPE_AXFR, TYPE_IXFR};
use crate::dissect::{Direction, Exchange, ExchangeSink};
use crate::time::Timestamp;
use std::collections::VecDeque;

/// At most this many queries wait for an answer per flow; the oldest is reported unanswered to make room.
pub const MAX_PENDING: usize = 256;
/// At most this many bytes of query messages wait per flow (parsed, they take a few times that).
pub const MAX_PENDING_BYTES: usize = 256 * 1024;
/// How many finished queries are remembered to explain duplicate and late responses.
pub const MAX_RECENT: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Key {
    id: u16,
    /// Lowercased first question name, type and class.
    question: Option<(String, u16, u16)>,
}

impl Key {
    fn of(m: &Message) -> Key {
        Key { id: m.header.id, question: m.questions.first().map(|q| (q.name.to_ascii_lowercase(), q.qtype, q.qclass)) }
    }
    fn is_zone_transfer(&self) -> bool {
        matches!(&self.question, Some((_, t, _)) if *t == TYPE_AXFR || *t == TYPE_IXFR)
    }
}

struct Pending {
    /// Who sent the query.
    dir: Direction,
    key: Key,
    ts: Timestamp,
    size: usize,
    query: Message,
    retransmissions: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Answered,
    TimedOut,
}

struct Finished {
    dir: Direction,
    key: Key,
    outcome: Outcome,
}

/// Header checks a message must pass to be taken as DNS inside an established session: a known
/// opcode, few questions, and counts that fit in its length. Looser than probing (no Z or
/// rcode checks, zero questions allowed, as in AXFR continuations and cookie-only queries).
pub fn sane_header(h: &Header, len: usize) -> bool {
    let min = HEADER_LEN + 5 * h.qdcount as usize + 11 * (h.ancount as usize + h.nscount as usize + h.arcount as usize);
    matches!(h.opcode(), 0..=2 | 4..=6) && h.qdcount <= 4 && min <= len
}

pub struct Tracker {
    pending: VecDeque<Pending>,
    pending_bytes: usize,
    recent: VecDeque<Finished>,
    /// Messages that did not look like DNS since the last exchange was emitted.
    ignored: u64,
    timeout_ns: u64,
}

impl Tracker {
    pub fn new(timeout_ns: u64) -> Self {
        Tracker { pending: VecDeque::new(), pending_bytes: 0, recent: VecDeque::new(), ignored: 0, timeout_ns }
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Counts messages the caller dropped as not DNS; the count goes into the next exchange's notes.
    pub fn ignore(&mut self) {
        self.ignored += 1;
    }

    /// One complete message that `dir` sent, its first byte at `ts` and its last at `end_ts`.
    pub fn on_message(
        &mut self,
        dir: Direction,
        bytes: &[u8],
        ts: Timestamp,
        end_ts: Timestamp,
        out: &mut dyn ExchangeSink,
    ) {
        let msg = match parse_message(bytes) {
            Ok(m) => m,
            Err(_) => return self.ignore(),
        };
        let questions_broken = matches!(&msg.stopped, Some(e) if e.section == Section::Question);
        if !sane_header(&msg.header, bytes.len()) || questions_broken {
            return self.ignore();
        }
        if msg.header.qr() {
            self.on_response(dir, msg, bytes.len(), end_ts, out);
        } else {
            self.on_query(dir, msg, bytes.len(), ts, out);
        }
    }

    fn on_query(&mut self, dir: Direction, query: Message, size: usize, ts: Timestamp, out: &mut dyn ExchangeSink) {
        let key = Key::of(&query);
        if let Some(p) = self.pending.iter_mut().find(|p| p.dir == dir && p.key == key) {
            p.retransmissions = p.retransmissions.saturating_add(1);
            return;
        }
        while !self.pending.is_empty()
            && (self.pending.len() >= MAX_PENDING || self.pending_bytes + size > MAX_PENDING_BYTES)
        {
            if let Some(p) = self.pop_front() {
                let why = format!(
                    "no response seen: dropped from the pending-query table ({MAX_PENDING} queries or {} KiB outstanding)",
                    MAX_PENDING_BYTES / 1024
                );
                self.emit_unanswered(p, why, out);
            }
        }
        self.pending_bytes += size;
        self.pending.push_back(Pending { dir, key, ts, size, query, retransmissions: 0 });
    }

    fn pop_front(&mut self) -> Option<Pending> {
        let p = self.pending.pop_front()?;
        self.pending_bytes -= p.size;
        Some(p)
    }

    fn on_response(
        &mut self,
        dir: Direction,
        resp: Message,
        size: usize,
        end_ts: Timestamp,
        out: &mut dyn ExchangeSink,
    ) {
        let key = Key::of(&resp);
        let qdir = dir.reverse();
        let mut idx = self.pending.iter().position(|p| p.dir == qdir && p.key == key);
        if idx.is_none() && key.question.is_none() {
            // FORMERR and the like may come without the question: take the id if it is unambiguous.
            let mut same_id = self.pending.iter().enumerate().filter(|(_, p)| p.dir == qdir && p.key.id == key.id);
            if let (Some((i, _)), None) = (same_id.next(), same_id.next()) {
                idx = Some(i);
            }
        }
        if let Some(p) = idx.and_then(|i| self.pending.remove(i)) {
            self.pending_bytes -= p.size;
            self.remember(qdir, p.key.clone(), Outcome::Answered);
            let mut notes = self.take_ignored();
            json::problems(&p.query, "query", &mut notes);
            json::problems(&resp, "response", &mut notes);
            out.emit(Exchange {
                protocol: "dns",
                ts: p.ts,
                end_ts: Some(end_ts),
                summary: json::summary(&p.query),
                status: Some(json::rcode(&resp)),
                outcome: super::rcode_outcome(resp.rcode()),
                request_size: p.size as u64,
                response_size: size as u64,
                request: json::request(&p.query, p.retransmissions),
                response: Some(json::response(&resp)),
                notes,
            });
            return;
        }
        let earlier = self.recent.iter().rev().find(|f| {
            f.dir == qdir && f.key.id == key.id && (key.question.is_none() || f.key.question == key.question)
        });
        let why = match earlier {
            Some(f) if f.outcome == Outcome::Answered && f.key.is_zone_transfer() => {
                "zone transfer continuation: the query was already answered"
            }
            Some(f) if f.outcome == Outcome::Answered => "duplicate response: the query was already answered",
            Some(_) => "late response: the query was already reported unanswered",
            None => "query not captured",
        };
        let mut notes = self.take_ignored();
        notes.push(why.to_string());
        json::problems(&resp, "response", &mut notes);
        out.emit(Exchange {
            protocol: "dns",
            ts: end_ts,
            end_ts: Some(end_ts),
            summary: json::summary(&resp),
            status: Some(json::rcode(&resp)),
            outcome: super::rcode_outcome(resp.rcode()),
            request_size: 0,
            response_size: size as u64,
            request: json::request_from_response(&resp),
            response: Some(json::response(&resp)),
            notes,
        });
    }

    /// Reports queries older than the timeout at `now` as unanswered.
    pub fn expire(&mut self, now: Timestamp, out: &mut dyn ExchangeSink) {
        while let Some(p) = self.pending.front() {
            if p.ts.saturating_add_nanos(self.timeout_ns) > now {
                break;
            }
            if let Some(p) = self.pop_front() {
                self.remember(p.dir, p.key.clone(), Outcome::TimedOut);
                let why = format!("no response within {}", human(self.timeout_ns));
                self.emit_unanswered(p, why, out);
            }
        }
    }

    /// Reports every waiting query as unanswered, with `why` as the note.
    pub fn flush(&mut self, why: &str, out: &mut dyn ExchangeSink) {
        while let Some(p) = self.pop_front() {
            self.emit_unanswered(p, why.to_string(), out);
        }
    }

    fn remember(&mut self, dir: Direction, key: Key, outcome: Outcome) {
        if self.recent.len() >= MAX_RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(Finished { dir, key, outcome });
    }

    fn take_ignored(&mut self) -> Vec<String> {
        let n = std::mem::take(&mut self.ignored);
        if n == 0 {
            Vec::new()
        } else {
            vec![format!("{n} messages on this flow did not parse as DNS and were skipped")]
        }
    }

    fn emit_unanswered(&mut self, p: Pending, why: String, out: &mut dyn ExchangeSink) {
        let mut notes = self.take_ignored();
        json::problems(&p.query, "query", &mut notes);
        notes.push(why);
        out.emit(Exchange {
            protocol: "dns",
            ts: p.ts,
            end_ts: None,
            summary: json::summary(&p.query),
            status: None,
            outcome: crate::entry::Outcome::NoResponse,
            request_size: p.size as u64,
            response_size: 0,
            request: json::request(&p.query, p.retransmissions),
            response: None,
            notes,
        });
    }
}

/// "5 s", "1500 ms", "250 us".
fn human(ns: u64) -> String {
    if ns.is_multiple_of(1_000_000_000) {
        format!("{} s", ns / 1_000_000_000)
    } else if ns.is_multiple_of(1_000_000) {
        format!("{} ms", ns / 1_000_000)
    } else {
        format!("{} us", ns / 1_000)
    }
}
