//! Recognising Redis from content, and the message boundaries a direction resynchronises at.
//!
//! A client's command is unmistakable: `*<n>\r\n$<len>\r\n<NAME>\r\n` where NAME is a command the
//! server's table knows (any case). An inline command is a printable line whose first word is such
//! a command (not an HTTP request line). A server never speaks first, so replies identify a
//! connection only when it was picked up mid-way: then a complete, well-formed reply of a strict
//! shape counts (a short status or error line, an integer, a bulk string, an aggregate).

use super::command::is_known;
use super::resp::{is_type_byte, parse_int, Limits, Reader};
use crate::dissect::{FlowInfo, Probe};

/// What the bytes at some position are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Candidate {
    Yes,
    No,
    NeedMore,
}

/// Longest name of a command (the table's longest is 20 letters).
const MAX_NAME: i64 = 32;
/// Most bytes a command-start candidate needs (`*` 7 digits, `$` 2 digits, a name, three CRLFs).
pub const MAX_COMMAND_CANDIDATE: usize = 1 + 7 + 2 + 1 + 2 + 2 + MAX_NAME as usize + 2;
/// Most bytes of a status or error line a reply candidate may need.
pub const MAX_REPLY_LINE: usize = 512;

/// Whether `data` starts with a RESP command of a known name.
pub fn command_at(data: &[u8]) -> Candidate {
    let Some(rest) = data.strip_prefix(b"*") else { return Candidate::No };
    let (argc, rest) = match number_line(rest, 7) {
        Ok(x) => x,
        Err(c) => return c,
    };
    if !(1..=1_048_576).contains(&argc) {
        return Candidate::No;
    }
    let Some(&first) = rest.first() else { return Candidate::NeedMore };
    if first != b'$' {
        return Candidate::No;
    }
    let (len, rest) = match number_line(&rest[1..], 2) {
        Ok(x) => x,
        Err(c) => return c,
    };
    if !(1..=MAX_NAME).contains(&len) {
        return Candidate::No;
    }
    let len = len as usize;
    let name = &rest[..len.min(rest.len())];
    if !name.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'|')) {
        return Candidate::No;
    }
    match rest.get(len..len + 2) {
        None => Candidate::NeedMore,
        Some(b"\r\n") if is_known(name) => Candidate::Yes,
        Some(_) => Candidate::No,
    }
}

/// `<digits>\r\n` with at most `max_digits` digits: the number and what follows.
fn number_line(data: &[u8], max_digits: usize) -> Result<(i64, &[u8]), Candidate> {
    let digits = data.iter().take_while(|b| b.is_ascii_digit() || **b == b'-').count();
    if digits > max_digits {
        return Err(Candidate::No);
    }
    match data.get(digits..digits + 2) {
        None if data.len() < digits + 2 => Err(Candidate::NeedMore),
        Some(b"\r\n") => parse_int(&data[..digits]).map(|n| (n, &data[digits + 2..])).ok_or(Candidate::No),
        _ => Err(Candidate::No),
    }
}

/// Whether `data` starts with the first line of a well-formed reply (the line only).
pub fn reply_at(data: &[u8]) -> Candidate {
    let Some(&kind) = data.first() else { return Candidate::NeedMore };
    if !is_type_byte(kind) || kind == b'|' {
        return Candidate::No;
    }
    let limit = if matches!(kind, b'+' | b'-') { MAX_REPLY_LINE } else { 24 };
    let window = &data[1..data.len().min(limit + 2)];
    let Some(end) = window.iter().position(|&b| b == b'\n') else {
        return if data.len() >= limit + 2 { Candidate::No } else { Candidate::NeedMore };
    };
    let Some(line) = window[..end].strip_suffix(b"\r") else { return Candidate::No };
    let ok = match kind {
        b'+' => line.iter().all(|b| (0x20..0x7f).contains(b)),
        b'-' => {
            let word = line.iter().take_while(|b| !b.is_ascii_whitespace()).count();
            word > 0
                && line[..word].iter().all(|b| b.is_ascii_uppercase() || *b == b'_')
                && line.iter().all(|b| (0x20..0x7f).contains(b))
        }
        b'_' => line.is_empty(),
        b'#' => line == b"t" || line == b"f",
        b',' => !line.is_empty() && line.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+')),
        _ => parse_int(line).is_some_and(|n| n >= -1),
    };
    if ok {
        Candidate::Yes
    } else {
        Candidate::No
    }
}

/// Whether `data` starts with an inline command line of a known command.
pub fn inline_at(data: &[u8]) -> Candidate {
    let window = &data[..data.len().min(1024)];
    let printable = |b: &u8| (0x20..0x7f).contains(b) || matches!(b, b'\t' | b'\r');
    let Some(end) = window.iter().position(|&b| b == b'\n') else {
        if !window.iter().all(printable) {
            return Candidate::No;
        }
        return if data.len() >= 1024 { Candidate::No } else { Candidate::NeedMore };
    };
    let line = window[..end].strip_suffix(b"\r").unwrap_or(&window[..end]);
    if line.is_empty() || !line.iter().all(|b| (0x20..0x7f).contains(b) || *b == b'\t') {
        return Candidate::No;
    }
    let word = line.split(|b| *b == b' ' || *b == b'\t').next().unwrap_or_default();
    // QUIT is shared with SMTP, FTP and POP3; an HTTP request line names a method Redis also has.
    if word.eq_ignore_ascii_case(b"QUIT") || line.windows(6).any(|w| w == b" HTTP/") || !is_known(word) {
        return Candidate::No;
    }
    Candidate::Yes
}

/// The probe: commands from the start of a connection, or replies of a connection picked up mid-way.
pub fn probe(flow: &FlowInfo, data: &[u8]) -> Probe {
    if data.is_empty() {
        return Probe::NeedMore;
    }
    let command = if data.first() == Some(&b'*') { command_at(data) } else { inline_at(data) };
    match command {
        Candidate::Yes => return Probe::Client,
        Candidate::NeedMore => return Probe::NeedMore,
        Candidate::No => {}
    }
    if flow.saw_handshake {
        return Probe::No;
    }
    match reply_at(data) {
        Candidate::No => Probe::No,
        Candidate::NeedMore => Probe::NeedMore,
        Candidate::Yes => complete_reply(data),
    }
}

/// A reply's first line is plausible: the whole reply must read cleanly (a long one that is still
/// coming counts after a few hundred clean bytes).
fn complete_reply(data: &[u8]) -> Probe {
    let mut reader = Reader::new(false, Limits::REPLY);
    match reader.read(data) {
        Ok((_, Some(_))) => Probe::Server,
        Ok((_, None)) if data.len() >= 512 => Probe::Server,
        Ok((_, None)) => Probe::NeedMore,
        Err(_) => Probe::No,
    }
}
