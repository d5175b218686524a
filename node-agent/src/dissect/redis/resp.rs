//! An incremental RESP2/RESP3 reader: one direction's bytes, in any chunking, into top-level
//! [`Message`]s. Nothing is buffered whole: lines and bulk payloads are read as they come and only
//! a bounded prefix of each string and a bounded number of elements of each aggregate are kept
//! ([`Limits`]); sizes and lengths are always exact. RESP3 attributes (`|`) are read and attached to
//! the top-level value they precede (nested ones are skipped).
//!
//! The client direction also accepts inline commands (a line that does not start with `*`), split
//! on spaces as the server does; an empty inline line is no command (the server ignores it).
//!
//! A byte sequence that cannot be RESP gives a [`RespError`]; the reader is then in an undefined
//! place of the stream and must be [`Reader::reset`] at a new boundary.

use thiserror::Error;

/// How much of a message is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes kept of each string (bulk, simple, error, verbatim).
    pub max_string: usize,
    /// Elements kept of each aggregate (a map's pairs count twice).
    pub max_items: usize,
    /// String bytes kept in one message, all strings together.
    pub max_kept: usize,
    /// Values kept in one message.
    pub max_values: usize,
}

impl Limits {
    /// Commands: they wait in the pending queue, so they keep less.
    pub const REQUEST: Limits = Limits { max_string: 512, max_items: 64, max_kept: 4096, max_values: 128 };
    /// Replies are reported as soon as they are complete.
    pub const REPLY: Limits = Limits { max_string: 1024, max_items: 64, max_kept: 16384, max_values: 512 };
}

/// Nesting deeper than this is refused (real replies nest a few levels).
pub const MAX_DEPTH: usize = 64;
/// Longest inline command (the server's own limit, PROTO_INLINE_MAX_SIZE).
pub const MAX_INLINE: u64 = 64 * 1024;
/// Longest simple string or error line accepted.
pub const MAX_SIMPLE: u64 = 1 << 20;
/// Longest number line (`:`, `$`, `*`, `,`, ...), type byte excluded.
const MAX_NUMBER_LINE: u64 = 64;
/// Longest big number line.
const MAX_BIG_NUMBER: u64 = 4096;
/// Largest bulk string accepted (the server's default proto-max-bulk-len).
pub const MAX_BULK: i64 = 512 * 1024 * 1024;
/// Largest aggregate length accepted.
const MAX_AGGREGATE: i64 = 1 << 32;

/// A string as far as it was kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Blob {
    /// The first bytes (all of them unless `kept.len() < size`).
    pub kept: Vec<u8>,
    /// The exact size on the wire (payload only).
    pub size: u64,
}

impl Blob {
    pub fn is_complete(&self) -> bool {
        self.kept.len() as u64 == self.size
    }
    pub fn from_bytes(bytes: &[u8]) -> Blob {
        Blob { kept: bytes.to_vec(), size: bytes.len() as u64 }
    }
}

/// An aggregate as far as it was kept.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Aggregate {
    /// The first elements (a map's keys and values alternate).
    pub items: Vec<Value>,
    /// The exact number of elements (a map's pairs).
    pub len: u64,
}

/// One RESP value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `+`
    Simple(Blob),
    /// `-`
    Error(Blob),
    /// `:`
    Integer(i64),
    /// `$`
    Bulk(Blob),
    /// `$-1`, `*-1` (RESP2) and `_` (RESP3)
    Null,
    /// `,` as written on the wire (`1.5`, `inf`, `nan`)
    Double(String),
    /// `#`
    Boolean(bool),
    /// `(` as written on the wire
    BigNumber(String),
    /// `!`
    BlobError(Blob),
    /// `=`: the three-letter format (`txt`, `mkd`) and the text after `fmt:`
    Verbatim(String, Blob),
    /// `*`
    Array(Aggregate),
    /// `~`
    Set(Aggregate),
    /// `%`
    Map(Aggregate),
    /// `>`
    Push(Aggregate),
}

impl Value {
    /// The RESP type name as entries show it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Simple(_) => "simple_string",
            Value::Error(_) => "error",
            Value::Integer(_) => "integer",
            Value::Bulk(_) => "bulk_string",
            Value::Null => "null",
            Value::Double(_) => "double",
            Value::Boolean(_) => "boolean",
            Value::BigNumber(_) => "big_number",
            Value::BlobError(_) => "blob_error",
            Value::Verbatim(..) => "verbatim_string",
            Value::Array(_) => "array",
            Value::Set(_) => "set",
            Value::Map(_) => "map",
            Value::Push(_) => "push",
        }
    }

    /// The error text of an error reply.
    pub fn error_text(&self) -> Option<&Blob> {
        match self {
            Value::Error(b) | Value::BlobError(b) => Some(b),
            _ => None,
        }
    }

    /// The bytes of a string-like value (kept part).
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Simple(b) | Value::Bulk(b) | Value::Verbatim(_, b) => Some(&b.kept),
            _ => None,
        }
    }

    /// The elements of an array, set or push.
    pub fn elements(&self) -> Option<&Aggregate> {
        match self {
            Value::Array(a) | Value::Set(a) | Value::Push(a) => Some(a),
            _ => None,
        }
    }
}

/// A complete top-level value.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub value: Value,
    /// RESP3 attributes sent just before the value.
    pub attributes: Option<Aggregate>,
    /// Bytes on the wire, attributes included.
    pub size: u64,
    /// A client's inline command (the value is an array of its words).
    pub inline: bool,
}

/// Bytes that cannot be RESP, and where: `at` bytes of the data given to [`Reader::read`] were
/// consumed, up to and including the byte where the problem was found (the same stream position
/// however the data was cut).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{error} (at byte {at} of the data read)")]
pub struct ReadError {
    pub at: usize,
    pub error: RespError,
}

/// Why bytes cannot be RESP.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RespError {
    #[error("unknown RESP type byte 0x{0:02x}")]
    UnknownType(u8),
    #[error("a RESP line does not end with CRLF")]
    MissingCr,
    #[error("a {0} line longer than {1} bytes")]
    LineTooLong(&'static str, u64),
    #[error("a malformed {0}")]
    BadNumber(&'static str),
    #[error("a length of {0} out of range")]
    BadLength(i64),
    #[error("a bulk payload not followed by CRLF")]
    BadPayloadEnd,
    #[error("values nested deeper than {MAX_DEPTH}")]
    TooDeep,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AggKind {
    Array,
    Set,
    Map,
    Push,
    Attribute,
}

struct Frame {
    kind: AggKind,
    /// Elements still to come (a map's pairs count twice).
    remaining: u64,
    agg: Aggregate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BlobKind {
    Bulk,
    BlobError,
    Verbatim,
}

enum State {
    /// Expecting the first byte of a value.
    Start,
    /// Reading a line; `kind` is the type byte (0 for an inline command).
    Line { kind: u8, kept: Vec<u8>, len: u64, cr: bool },
    /// Reading `remaining` payload bytes of a bulk-like string.
    Payload { kind: BlobKind, remaining: u64, blob: Blob },
    /// Expecting the CRLF after a payload; `seen` bytes of it arrived.
    PayloadEnd { kind: BlobKind, blob: Blob, seen: u8 },
}

/// One direction's RESP reader.
pub struct Reader {
    limits: Limits,
    /// Lines that do not start with `*` are inline commands (the client direction).
    client: bool,
    state: State,
    stack: Vec<Frame>,
    attributes: Option<Aggregate>,
    /// Bytes of the current message so far.
    size: u64,
    kept: usize,
    values: usize,
    /// The current message is an inline command.
    inline: bool,
    /// The line just read was an empty inline line (no message: its bytes count for none).
    skipped_line: bool,
}

impl Reader {
    pub fn new(client: bool, limits: Limits) -> Reader {
        Reader {
            limits,
            client,
            state: State::Start,
            stack: Vec::new(),
            attributes: None,
            size: 0,
            kept: 0,
            values: 0,
            inline: false,
            skipped_line: false,
        }
    }

    /// Whether the next byte starts a new message.
    pub fn at_boundary(&self) -> bool {
        matches!(self.state, State::Start) && self.stack.is_empty() && self.attributes.is_none()
    }

    /// Forgets the partial message (after a gap or an error).
    pub fn reset(&mut self) {
        self.state = State::Start;
        self.stack.clear();
        self.attributes = None;
        self.size = 0;
        self.kept = 0;
        self.values = 0;
        self.inline = false;
    }

    /// Bytes held for the partial message (an upper bound).
    pub fn buffered_bytes(&self) -> usize {
        let line = match &self.state {
            State::Line { kept, .. } => kept.capacity(),
            State::Payload { blob, .. } | State::PayloadEnd { blob, .. } => blob.kept.capacity(),
            State::Start => 0,
        };
        line + self.kept + self.values * std::mem::size_of::<Value>()
    }

    /// Reads from `data` until a message is complete or the data is used up; returns the bytes
    /// consumed and the message, if one was completed.
    pub fn read(&mut self, data: &[u8]) -> Result<(usize, Option<Message>), ReadError> {
        let mut at = 0;
        while at < data.len() {
            let (used, done) = self.step(&data[at..]).map_err(|(used, error)| ReadError { at: at + used, error })?;
            at += used;
            self.size += used as u64;
            if std::mem::take(&mut self.skipped_line) {
                // An empty inline line is no message: the next one starts after it, so the caller
                // takes its start time from the data that carries it (whatever the segmentation).
                self.size = 0;
                return Ok((at, None));
            }
            if let Some(value) = done {
                if let Some(message) = self.complete(value) {
                    return Ok((at, Some(message)));
                }
            }
        }
        Ok((at, None))
    }

    /// Consumes some bytes; returns a value when one (maybe nested) is complete. An error comes
    /// with the bytes consumed up to and including the one where it was found.
    fn step(&mut self, data: &[u8]) -> Result<(usize, Option<Value>), (usize, RespError)> {
        match &mut self.state {
            State::Start => {
                let Some(&first) = data.first() else { return Ok((0, None)) };
                if self.client && self.stack.is_empty() && self.attributes.is_none() && first != b'*' {
                    self.state = State::Line { kind: 0, kept: Vec::new(), len: 0, cr: false };
                    return Ok((0, None));
                }
                if !is_type_byte(first) {
                    return Err((1, RespError::UnknownType(first)));
                }
                self.state = State::Line { kind: first, kept: Vec::new(), len: 0, cr: false };
                Ok((1, None))
            }
            State::Line { kind, kept, len, cr } => {
                let kind = *kind;
                let (max_len, keep) = line_bounds(kind, &self.limits, self.kept);
                let end = data.iter().position(|&b| b == b'\n');
                let body = &data[..end.unwrap_or(data.len())];
                // The line may be `max_len` bytes and a CR: the byte past that is the error.
                let allowed = (max_len + 1).saturating_sub(*len);
                if body.len() as u64 > allowed {
                    return Err((allowed as usize + 1, RespError::LineTooLong(type_label(kind), max_len)));
                }
                let room = keep.saturating_sub(kept.len());
                kept.extend_from_slice(&body[..body.len().min(room)]);
                *len += body.len() as u64;
                if let Some(&last) = body.last() {
                    *cr = last == b'\r';
                }
                let Some(end) = end else { return Ok((data.len(), None)) };
                if !*cr && kind != 0 {
                    return Err((end + 1, RespError::MissingCr));
                }
                let line_len = *len - u64::from(*cr);
                let mut line = std::mem::take(kept);
                line.truncate(line_len.min(line.len() as u64) as usize);
                self.state = State::Start;
                let value = self.finish_line(kind, line, line_len).map_err(|e| (end + 1, e))?;
                Ok((end + 1, value))
            }
            State::Payload { kind, remaining, blob } => {
                let take = (*remaining).min(data.len() as u64) as usize;
                let chunk = &data[..take];
                let room = self.limits.max_string.min(self.limits.max_kept.saturating_sub(self.kept));
                let room = room.saturating_sub(blob.kept.len());
                let keep = chunk.len().min(room);
                blob.kept.extend_from_slice(&chunk[..keep]);
                self.kept += keep;
                *remaining -= take as u64;
                if *remaining == 0 {
                    let (kind, blob) = (*kind, std::mem::take(blob));
                    self.state = State::PayloadEnd { kind, blob, seen: 0 };
                }
                Ok((take, None))
            }
            State::PayloadEnd { kind, blob, seen } => {
                let mut used = 0;
                for &b in data {
                    let expected = if *seen == 0 { b'\r' } else { b'\n' };
                    if b != expected {
                        return Err((used + 1, RespError::BadPayloadEnd));
                    }
                    used += 1;
                    *seen += 1;
                    if *seen == 2 {
                        let (kind, blob) = (*kind, std::mem::take(blob));
                        self.state = State::Start;
                        return Ok((used, Some(blob_value(kind, blob))));
                    }
                }
                Ok((used, None))
            }
        }
    }

    /// A complete line: a value, or the start of a payload or an aggregate.
    fn finish_line(&mut self, kind: u8, line: Vec<u8>, len: u64) -> Result<Option<Value>, RespError> {
        let value = match kind {
            0 => {
                if len > MAX_INLINE {
                    return Err(RespError::LineTooLong("inline command", MAX_INLINE));
                }
                let words = split_inline(&line);
                if words.is_empty() {
                    // The server skips an empty line: not a message, and not part of the next one.
                    self.skipped_line = true;
                    return Ok(None);
                }
                let len = words.len() as u64;
                let mut items = Vec::new();
                for w in words.into_iter().take(self.limits.max_items) {
                    let room = self.limits.max_string.min(self.limits.max_kept.saturating_sub(self.kept));
                    let kept = &w[..w.len().min(room)];
                    self.kept += kept.len();
                    items.push(Value::Bulk(Blob { kept: kept.to_vec(), size: w.len() as u64 }));
                }
                self.inline = true;
                Value::Array(Aggregate { len, items })
            }
            b'+' | b'-' => {
                self.kept += line.len();
                let blob = Blob { kept: line, size: len };
                if kind == b'+' {
                    Value::Simple(blob)
                } else {
                    Value::Error(blob)
                }
            }
            b':' => Value::Integer(parse_int(&line).ok_or(RespError::BadNumber("integer"))?),
            b'_' => {
                if !line.is_empty() {
                    return Err(RespError::BadNumber("null"));
                }
                Value::Null
            }
            b'#' => match line.as_slice() {
                b"t" => Value::Boolean(true),
                b"f" => Value::Boolean(false),
                _ => return Err(RespError::BadNumber("boolean")),
            },
            b',' => {
                if !is_double(&line) {
                    return Err(RespError::BadNumber("double"));
                }
                Value::Double(String::from_utf8_lossy(&line).into_owned())
            }
            b'(' => {
                let digits = line.strip_prefix(b"-").or_else(|| line.strip_prefix(b"+")).unwrap_or(&line);
                if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                    return Err(RespError::BadNumber("big number"));
                }
                Value::BigNumber(String::from_utf8_lossy(&line).into_owned())
            }
            b'$' | b'!' | b'=' => {
                let n = parse_int(&line).ok_or(RespError::BadNumber("length"))?;
                let blob_kind = match kind {
                    b'$' => BlobKind::Bulk,
                    b'!' => BlobKind::BlobError,
                    _ => BlobKind::Verbatim,
                };
                if n == -1 && kind == b'$' {
                    Value::Null
                } else if !(0..=MAX_BULK).contains(&n) || (blob_kind == BlobKind::Verbatim && n < 4) {
                    return Err(RespError::BadLength(n));
                } else if n == 0 {
                    self.state = State::PayloadEnd { kind: blob_kind, blob: Blob::default(), seen: 0 };
                    return Ok(None);
                } else {
                    let blob = Blob { kept: Vec::new(), size: n as u64 };
                    self.state = State::Payload { kind: blob_kind, remaining: n as u64, blob };
                    return Ok(None);
                }
            }
            b'*' | b'~' | b'%' | b'>' | b'|' => {
                let n = parse_int(&line).ok_or(RespError::BadNumber("length"))?;
                if n == -1 && kind == b'*' {
                    Value::Null
                } else if !(0..=MAX_AGGREGATE).contains(&n) {
                    return Err(RespError::BadLength(n));
                } else {
                    let agg_kind = match kind {
                        b'*' => AggKind::Array,
                        b'~' => AggKind::Set,
                        b'%' => AggKind::Map,
                        b'>' => AggKind::Push,
                        _ => AggKind::Attribute,
                    };
                    let pairs = matches!(agg_kind, AggKind::Map | AggKind::Attribute);
                    let remaining = if pairs { n as u64 * 2 } else { n as u64 };
                    let agg = Aggregate { items: Vec::new(), len: n as u64 };
                    if remaining == 0 {
                        if agg_kind == AggKind::Attribute {
                            return Ok(None);
                        }
                        aggregate_value(agg_kind, agg)
                    } else {
                        if self.stack.len() >= MAX_DEPTH {
                            return Err(RespError::TooDeep);
                        }
                        self.stack.push(Frame { kind: agg_kind, remaining, agg });
                        return Ok(None);
                    }
                }
            }
            other => return Err(RespError::UnknownType(other)),
        };
        Ok(Some(value))
    }

    /// Puts a complete value in its aggregate; returns the message when the top level is done.
    fn complete(&mut self, mut value: Value) -> Option<Message> {
        loop {
            let Some(frame) = self.stack.last_mut() else {
                let message = Message {
                    value,
                    attributes: self.attributes.take(),
                    size: self.size,
                    inline: std::mem::take(&mut self.inline),
                };
                self.size = 0;
                self.kept = 0;
                self.values = 0;
                return Some(message);
            };
            if frame.agg.items.len() < self.limits.max_items && self.values < self.limits.max_values {
                frame.agg.items.push(value);
                self.values += 1;
            }
            frame.remaining -= 1;
            if frame.remaining > 0 {
                return None;
            }
            let frame = self.stack.pop()?;
            if frame.kind == AggKind::Attribute {
                // An attribute is not an element: it describes the value that follows.
                if self.stack.is_empty() {
                    self.attributes = Some(frame.agg);
                }
                return None;
            }
            value = aggregate_value(frame.kind, frame.agg);
        }
    }
}

fn aggregate_value(kind: AggKind, agg: Aggregate) -> Value {
    match kind {
        AggKind::Array | AggKind::Attribute => Value::Array(agg),
        AggKind::Set => Value::Set(agg),
        AggKind::Map => Value::Map(agg),
        AggKind::Push => Value::Push(agg),
    }
}

fn blob_value(kind: BlobKind, blob: Blob) -> Value {
    match kind {
        BlobKind::Bulk => Value::Bulk(blob),
        BlobKind::BlobError => Value::BlobError(blob),
        BlobKind::Verbatim => {
            // `fmt:` then the text; the size counts the text only.
            let format = String::from_utf8_lossy(blob.kept.get(..3).unwrap_or_default()).into_owned();
            let kept = blob.kept.get(4..).unwrap_or_default().to_vec();
            Value::Verbatim(format, Blob { kept, size: blob.size.saturating_sub(4) })
        }
    }
}

/// The longest accepted line of a type and the bytes of it kept.
fn line_bounds(kind: u8, limits: &Limits, kept_so_far: usize) -> (u64, usize) {
    let string_room = limits.max_string.min(limits.max_kept.saturating_sub(kept_so_far));
    match kind {
        0 => (MAX_INLINE, MAX_INLINE as usize),
        b'+' | b'-' => (MAX_SIMPLE, string_room),
        b'(' => (MAX_BIG_NUMBER, MAX_BIG_NUMBER as usize),
        _ => (MAX_NUMBER_LINE, MAX_NUMBER_LINE as usize),
    }
}

fn type_label(kind: u8) -> &'static str {
    match kind {
        0 => "inline command",
        b'+' => "simple string",
        b'-' => "error",
        b'(' => "big number",
        _ => "length or number",
    }
}

/// The first bytes of RESP2 and RESP3 values.
pub fn is_type_byte(b: u8) -> bool {
    matches!(b, b'+' | b'-' | b':' | b'$' | b'*' | b'_' | b',' | b'#' | b'(' | b'!' | b'=' | b'%' | b'~' | b'>' | b'|')
}

/// A decimal integer as RESP writes it (optional sign, digits, nothing else).
pub fn parse_int(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(i64::from(d - b'0'))?;
    }
    Some(if negative { -n } else { n })
}

fn is_double(s: &[u8]) -> bool {
    matches!(s, b"inf" | b"-inf" | b"nan" | b"-nan")
        || (!s.is_empty()
            && s.iter().any(u8::is_ascii_digit)
            && s.iter().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E')))
}

/// Splits an inline command into words: on spaces and tabs, with `"..."` (backslash escapes,
/// `\xHH`) and `'...'` quoting as the server's sdssplitargs does. An unbalanced quote leaves the
/// rest as one word (the server would refuse the line; the words are still shown).
fn split_inline(line: &[u8]) -> Vec<&[u8]> {
    // Words are shown as written, quotes and escapes included: cheap, and nothing is invented.
    let mut words = Vec::new();
    let mut at = 0;
    while at < line.len() {
        while at < line.len() && matches!(line[at], b' ' | b'\t' | b'\r') {
            at += 1;
        }
        if at >= line.len() {
            break;
        }
        let start = at;
        let quote = matches!(line[at], b'"' | b'\'').then_some(line[at]);
        if let Some(q) = quote {
            at += 1;
            while at < line.len() && line[at] != q {
                if line[at] == b'\\' && q == b'"' {
                    at += 1;
                }
                at += 1;
            }
            let end = at.min(line.len());
            words.push(line.get(start + 1..end).unwrap_or_default());
            at = end + 1;
        } else {
            while at < line.len() && !matches!(line[at], b' ' | b'\t' | b'\r') {
                at += 1;
            }
            words.push(&line[start..at]);
        }
    }
    words
}
