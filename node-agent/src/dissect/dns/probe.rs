//! Recognising DNS from content alone (ports are not consulted).
//!
//! A message is claimed when its header is plausible — opcode QUERY, IQUERY, STATUS, NOTIFY or
//! UPDATE; Z bit clear; 1 to [`MAX_QUESTIONS`] questions; RCODE 0 in a query; counts whose
//! minimal sizes fit in the length — and the whole message then parses with nothing malformed or
//! left over, every question and record having a non-zero type and a real class (IN, CH, HS,
//! NONE, ANY; IN with the mDNS top bit) and OPT records the root as owner. Over TCP the 2-byte
//! length must frame such a message. Random bytes fail the header checks with high probability
//! and text fails them outright (an ASCII flags byte gives an opcode of 8 or more, or a question
//! count in the thousands).

use super::parser::{parse_message, ErrorKind, Header, Message, HEADER_LEN, ROOT};
use super::rdata::TYPE_OPT;
use crate::dissect::Probe;

/// Most questions a message may have to be claimed (real traffic has exactly one).
pub const MAX_QUESTIONS: u16 = 4;
/// The shortest message with a question: the header, the root name, type and class.
pub const MIN_MESSAGE: usize = HEADER_LEN + 5;
/// A TCP message longer than this is claimed once this many bytes of it parse cleanly.
pub const TCP_PARTIAL_CLAIM: usize = 512;

/// The header checks of the module docs; `len` is the message length.
pub fn plausible_header(h: &Header, len: usize) -> bool {
    let min = HEADER_LEN + 5 * h.qdcount as usize + 11 * (h.ancount as usize + h.nscount as usize + h.arcount as usize);
    matches!(h.opcode(), 0..=2 | 4 | 5)
        && !h.z()
        && (1..=MAX_QUESTIONS).contains(&h.qdcount)
        && (h.qr() || h.rcode() == 0)
        && min <= len
}

fn real_class(c: u16) -> bool {
    matches!(c, 1 | 3 | 4 | 254 | 255 | 0x8001)
}

/// Types and classes of everything parsed so far are believable.
fn plausible_contents(m: &Message) -> bool {
    m.questions.iter().all(|q| q.qtype != 0 && real_class(q.qclass))
        && m.answers.iter().chain(&m.authorities).chain(&m.additionals).all(|r| {
            if r.rtype == TYPE_OPT {
                r.name == ROOT
            } else {
                r.rtype != 0 && real_class(r.class)
            }
        })
}

/// A whole message: Some(is a response) when it is claimed.
pub fn message(msg: &[u8]) -> Option<bool> {
    let h = Header::parse(msg).ok()?;
    if !plausible_header(&h, msg.len()) {
        return None;
    }
    let m = parse_message(msg).ok()?;
    (m.is_clean() && plausible_contents(&m)).then_some(h.qr())
}

/// A probe verdict for one UDP datagram.
pub fn datagram(payload: &[u8]) -> Probe {
    match message(payload) {
        Some(false) => Probe::Client,
        Some(true) => Probe::Server,
        None => Probe::No,
    }
}

/// What the bytes at the front of a length-prefixed stream are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Candidate {
    /// Not a message boundary; `parsed` bytes were parsed to find out.
    No { parsed: usize },
    /// Plausible so far, but the message is not complete.
    Incomplete,
    /// A complete message that [`message`] claims.
    Message { response: bool },
}

/// Checks the header bytes present (up to 12, after the prefix), as if the missing ones were
/// the most plausible values (one question, zero records).
fn plausible_prefix(prefix: &[u8], len: usize) -> bool {
    let mut h = [0u8; HEADER_LEN];
    h[5] = 1;
    let n = prefix.len().min(HEADER_LEN);
    h[..n].copy_from_slice(&prefix[..n]);
    Header::parse(&h).is_ok_and(|h| plausible_header(&h, len))
}

/// Classifies the bytes at the front of `buf`, which starts with a 2-byte length.
pub fn framed_candidate(buf: &[u8]) -> Candidate {
    let Some(l) = buf.get(..2) else {
        return Candidate::Incomplete;
    };
    let len = u16::from_be_bytes([l[0], l[1]]) as usize;
    if len < MIN_MESSAGE || !plausible_prefix(&buf[2..], len) {
        return Candidate::No { parsed: 0 };
    }
    match buf.get(2..2 + len) {
        None => Candidate::Incomplete,
        Some(msg) => match message(msg) {
            Some(response) => Candidate::Message { response },
            None => Candidate::No { parsed: len },
        },
    }
}

/// A probe verdict for the first bytes of one direction of a TCP connection.
pub fn stream(data: &[u8]) -> Probe {
    match framed_candidate(data) {
        Candidate::No { .. } => Probe::No,
        Candidate::Message { response: false } => Probe::Client,
        Candidate::Message { response: true } => Probe::Server,
        Candidate::Incomplete => partial(data),
    }
}

/// A long message not complete yet: claimed when its first [`TCP_PARTIAL_CLAIM`] bytes parse
/// cleanly up to where the bytes run out.
fn partial(data: &[u8]) -> Probe {
    let Some(avail) = data.get(2..) else {
        return Probe::NeedMore;
    };
    if avail.len() < TCP_PARTIAL_CLAIM {
        return Probe::NeedMore;
    }
    let Ok(m) = parse_message(avail) else {
        return Probe::NeedMore;
    };
    let ran_out = matches!(&m.stopped, Some(e) if matches!(e.kind, ErrorKind::Truncated { .. }));
    if ran_out && m.problems.is_empty() && plausible_contents(&m) && !m.questions.is_empty() {
        if m.header.qr() {
            Probe::Server
        } else {
            Probe::Client
        }
    } else {
        Probe::No
    }
}
