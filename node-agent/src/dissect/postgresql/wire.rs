//! The PostgreSQL v3 wire format, without state beyond one message: framing (a type byte and a
//! 4-byte length; the untyped startup-phase packets of the client; the one-byte answer to
//! SSLRequest), a zero-copy reader of message bodies, and the structural checks the probe and
//! resynchronisation use (a candidate must parse as the message its type byte names).

use crate::dissect::framing::{FrameFormat, FrameLength, NotAFrame, Resync};
use crate::dissect::Direction;

/// Protocol version 3.0 in a StartupMessage.
pub const PROTOCOL_V3: u32 = 196_608;
pub const SSL_REQUEST: u32 = 80_877_103;
pub const GSSENC_REQUEST: u32 = 80_877_104;
pub const CANCEL_REQUEST: u32 = 80_877_102;
/// The server's limit on a startup packet (src/backend/tcop/backend_startup.c, MAX_STARTUP_PACKET_LENGTH).
pub const MAX_STARTUP_LEN: usize = 10_000;
/// The protocol's limit on a message (PqRecvBuffer takes up to 1 GB).
pub const MAX_MESSAGE_LEN: usize = 1 << 30;

/// Type bytes a client sends after the startup phase.
pub const CLIENT_TYPES: &[u8] = b"QPBEDCSHXFdcfp";
/// Type bytes a server sends.
pub const SERVER_TYPES: &[u8] = b"RKSZTDCENA123nstIGHWcdvV";

/// One framed message of either direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// A startup-phase packet of the client: its code (protocol version or request code) and body.
    Startup { code: u32, body: &'a [u8] },
    /// The one-byte answer to SSLRequest / GSSENCRequest (`S`, `G` or `N`).
    EncryptionAnswer(u8),
    /// A regular message: its type byte and its body (after the length).
    Typed { tag: u8, body: &'a [u8] },
}

/// Splits one framed message (as [`PgFrames`] delimited it) into its parts.
pub fn message(frame: &[u8], ssl_answer: bool) -> Option<Message<'_>> {
    match frame {
        [b] if ssl_answer => Some(Message::EncryptionAnswer(*b)),
        [0, ..] => {
            let code = read_u32(frame.get(4..8)?)?;
            Some(Message::Startup { code, body: frame.get(8..)? })
        }
        [tag, rest @ ..] => Some(Message::Typed { tag: *tag, body: rest.get(4..)? }),
        [] => None,
    }
}

fn read_u32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}

/// Framing of one direction. The client's startup packets start with a zero byte (their length
/// is below 2^24), every typed message with a letter or digit, so the two need no mode.
#[derive(Debug)]
pub struct PgFrames {
    pub dir: Direction,
    /// One-byte answers the server owes to encryption requests (set by the session).
    pub ssl_answers_due: u8,
    /// A typed message was delimited: answers to encryption requests come before any.
    pub typed_seen: bool,
}

impl PgFrames {
    pub fn new(dir: Direction) -> Self {
        PgFrames { dir, ssl_answers_due: 0, typed_seen: false }
    }
}

/// The length of the message at the start of `head`, for the direction.
pub fn frame_length(dir: Direction, head: &[u8]) -> Result<FrameLength, NotAFrame> {
    let Some(&first) = head.first() else { return Ok(FrameLength::NeedHeader(1)) };
    if first == 0 {
        if dir == Direction::ServerToClient {
            return Err(NotAFrame("a zero type byte from the server"));
        }
        let Some(total) = head.get(..4).and_then(read_u32) else { return Ok(FrameLength::NeedHeader(4)) };
        let total = total as usize;
        if !(8..=MAX_STARTUP_LEN).contains(&total) {
            return Err(NotAFrame("a startup packet length out of range"));
        }
        return Ok(FrameLength::Total(total));
    }
    let Some(len) = head.get(1..5).and_then(read_u32) else { return Ok(FrameLength::NeedHeader(5)) };
    let types = if dir == Direction::ClientToServer { CLIENT_TYPES } else { SERVER_TYPES };
    if !types.contains(&first) {
        return Err(NotAFrame("not a PostgreSQL message type"));
    }
    let len = len as usize;
    if !(4..=MAX_MESSAGE_LEN).contains(&len) {
        return Err(NotAFrame("a message length out of range"));
    }
    Ok(FrameLength::Total(1 + len))
}

impl FrameFormat for PgFrames {
    fn frame_length(&mut self, head: &[u8]) -> Result<FrameLength, NotAFrame> {
        if self.ssl_answers_due > 0 && self.dir == Direction::ServerToClient {
            if let Some(&b) = head.first() {
                if matches!(b, b'S' | b'N' | b'G') {
                    self.ssl_answers_due -= 1;
                    return Ok(FrameLength::Total(1));
                }
            }
        }
        let length = frame_length(self.dir, head);
        if matches!(length, Ok(FrameLength::Total(_))) {
            self.typed_seen = true;
        }
        length
    }

    /// A message start is a valid header whose whole body passes its type's structural check.
    fn resync(&mut self, data: &[u8]) -> Resync {
        let mut at = 0;
        while at < data.len() {
            // After lost sync only typed messages, and only short ones are waited for: a
            // candidate that holds the direction back would let the other one run ahead.
            let typed = data.get(at).is_some_and(|&b| b != 0);
            let short = data.get(at + 1..at + 5).and_then(read_u32).is_none_or(|len| len as usize <= MAX_RESYNC_WAIT);
            if !typed || (!short && data.len() - at < MAX_RESYNC_WAIT) {
                at += 1;
                continue;
            }
            match candidate(self.dir, &data[at..]) {
                Candidate::Yes(_) => return Resync::At(at),
                Candidate::NeedMore => return Resync::NeedMore(at),
                Candidate::No => at += 1,
            }
        }
        Resync::NotBefore(at)
    }
}

/// What the bytes at some offset are, as a message start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Candidate {
    /// A whole, structurally valid message of this many bytes.
    Yes(usize),
    NeedMore,
    No,
}

/// Longest candidate message resynchronisation waits for.
pub const MAX_RESYNC_WAIT: usize = 4096;

/// Largest message the probe and resynchronisation wait for to judge a candidate.
pub const MAX_CANDIDATE: usize = 64 * 1024;

/// Whether `data` starts with a whole message that parses as its type says (startup packets
/// and typed messages with a checkable body; CopyData and others without structure are refused).
pub fn candidate(dir: Direction, data: &[u8]) -> Candidate {
    let total = match frame_length(dir, data) {
        Ok(FrameLength::Total(t)) => t,
        Ok(FrameLength::NeedHeader(_)) => return Candidate::NeedMore,
        Err(_) => return Candidate::No,
    };
    if total > MAX_CANDIDATE {
        return Candidate::No;
    }
    let Some(frame) = data.get(..total) else { return Candidate::NeedMore };
    let ok = match message(frame, false) {
        Some(Message::Startup { code, body }) => startup_ok(code, body),
        Some(Message::Typed { tag, body }) => body_ok(dir, tag, body),
        _ => false,
    };
    if ok {
        Candidate::Yes(total)
    } else {
        Candidate::No
    }
}

fn startup_ok(code: u32, body: &[u8]) -> bool {
    match code {
        SSL_REQUEST | GSSENC_REQUEST => body.is_empty(),
        CANCEL_REQUEST => body.len() == 8,
        PROTOCOL_V3 => {
            let Some(params) = parse_startup_params(body) else { return false };
            params.iter().any(|(k, _)| *k == b"user")
        }
        _ => false,
    }
}

/// The structural check of a typed message body: it must parse whole as its type says.
fn body_ok(dir: Direction, tag: u8, body: &[u8]) -> bool {
    let mut r = Reader::new(body);
    let whole = |r: Reader<'_>| r.rest().is_empty();
    match (dir, tag) {
        (Direction::ClientToServer, b'Q') => r.cstr().is_some() && whole(r),
        (Direction::ClientToServer, b'P') => {
            r.cstr().is_some()
                && r.cstr().is_some()
                && r.u16().is_some_and(|n| r.skip(n as usize * 4).is_some())
                && whole(r)
        }
        (Direction::ClientToServer, b'B') => parse_bind(body).is_some(),
        (Direction::ClientToServer, b'E') => r.cstr().is_some() && r.u32().is_some() && whole(r),
        (Direction::ClientToServer, b'D' | b'C') => {
            r.u8().is_some_and(|k| k == b'S' || k == b'P') && r.cstr().is_some() && whole(r)
        }
        (Direction::ClientToServer, b'S' | b'H' | b'X' | b'c') => body.is_empty(),
        (Direction::ServerToClient, b'Z') => r.u8().is_some_and(|s| matches!(s, b'I' | b'T' | b'E')) && whole(r),
        (Direction::ServerToClient, b'C') => {
            r.cstr().is_some_and(|t| t.first().is_some_and(u8::is_ascii_uppercase)) && whole(r)
        }
        (Direction::ServerToClient, b'T') => parse_row_description(body).is_some(),
        (Direction::ServerToClient, b'D') => data_row_exact(body),
        (Direction::ServerToClient, b'E' | b'N') => {
            parse_fields(body).is_some_and(|f| f.severity.is_some() && f.code.is_some())
        }
        (Direction::ServerToClient, b'1' | b'2' | b'3' | b'n' | b'I') => body.is_empty(),
        (Direction::ServerToClient, b'S') => r.cstr().is_some() && r.cstr().is_some() && whole(r),
        (Direction::ServerToClient, b'K') => body.len() == 8,
        (Direction::ServerToClient, b'R') => r.u32().is_some_and(|c| c <= 12),
        (Direction::ServerToClient, b't') => r.u16().is_some_and(|n| r.skip(n as usize * 4).is_some()) && whole(r),
        _ => false,
    }
}

fn data_row_exact(body: &[u8]) -> bool {
    let mut r = Reader::new(body);
    let Some(n) = r.u16() else { return false };
    for _ in 0..n {
        match r.i32() {
            Some(-1) => {}
            Some(len) if len >= 0 => {
                if r.skip(len as usize).is_none() {
                    return false;
                }
            }
            _ => return false,
        }
    }
    r.rest().is_empty()
}

/// A cursor over a message body; every read is checked.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }
    pub fn rest(&self) -> &'a [u8] {
        self.data
    }
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = (self.data.get(..n)?, self.data.get(n..)?);
        self.data = tail;
        Some(head)
    }
    pub fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }
    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    pub fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    pub fn u32(&mut self) -> Option<u32> {
        self.take(4).and_then(read_u32)
    }
    pub fn i32(&mut self) -> Option<i32> {
        self.u32().map(|v| v as i32)
    }
    /// A NUL-terminated string (without the NUL).
    pub fn cstr(&mut self) -> Option<&'a [u8]> {
        let end = self.data.iter().position(|&b| b == 0)?;
        let s = self.take(end)?;
        self.skip(1)?;
        Some(s)
    }
    /// A length-prefixed value (Int32 length, -1 for NULL).
    pub fn value(&mut self) -> Option<Option<&'a [u8]>> {
        match self.i32()? {
            -1 => Some(None),
            n if n >= 0 => self.take(n as usize).map(Some),
            _ => None,
        }
    }
}

/// The name/value pairs of a StartupMessage (after the version), which end with an empty name.
pub fn parse_startup_params(body: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let mut r = Reader::new(body);
    let mut out = Vec::new();
    loop {
        let name = r.cstr()?;
        if name.is_empty() {
            return r.rest().is_empty().then_some(out);
        }
        out.push((name, r.cstr()?));
        if out.len() > 64 {
            return None;
        }
    }
}

/// A Bind message.
#[derive(Debug, PartialEq, Eq)]
pub struct Bind<'a> {
    pub portal: &'a [u8],
    pub statement: &'a [u8],
    pub param_formats: Vec<u16>,
    pub params: Vec<Option<&'a [u8]>>,
    pub result_formats: Vec<u16>,
}

/// Format code `i` of a list that has none (all text), one (for all) or one per value.
pub fn format_of(formats: &[u16], i: usize) -> u16 {
    match formats {
        [] => 0,
        [one] => *one,
        many => many.get(i).copied().unwrap_or(0),
    }
}

/// Values kept per Bind / DataRow / RowDescription when parsing (the count stays exact).
pub const MAX_VALUES: usize = 64;

pub fn parse_bind(body: &[u8]) -> Option<Bind<'_>> {
    let mut r = Reader::new(body);
    let portal = r.cstr()?;
    let statement = r.cstr()?;
    let nf = r.u16()? as usize;
    let mut param_formats = Vec::with_capacity(nf.min(MAX_VALUES));
    for _ in 0..nf {
        let f = r.u16()?;
        if param_formats.len() < MAX_VALUES {
            param_formats.push(f);
        }
    }
    let np = r.u16()? as usize;
    let mut params = Vec::with_capacity(np.min(MAX_VALUES));
    for _ in 0..np {
        let v = r.value()?;
        if params.len() < MAX_VALUES {
            params.push(v);
        }
    }
    let nr = r.u16()? as usize;
    let mut result_formats = Vec::with_capacity(nr.min(MAX_VALUES));
    for _ in 0..nr {
        let f = r.u16()?;
        if result_formats.len() < MAX_VALUES {
            result_formats.push(f);
        }
    }
    if !r.rest().is_empty() || (nf > 1 && nf != np) {
        return None;
    }
    Some(Bind { portal, statement, param_formats, params, result_formats })
}

/// A column of a RowDescription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub type_oid: u32,
    pub format: u16,
}

/// The columns of a RowDescription (at most [`MAX_VALUES`]) and their count.
pub fn parse_row_description(body: &[u8]) -> Option<(Vec<Column>, usize)> {
    let mut r = Reader::new(body);
    let n = r.u16()? as usize;
    let mut cols = Vec::with_capacity(n.min(MAX_VALUES));
    for _ in 0..n {
        let name = r.cstr()?;
        r.skip(6)?; // table oid, column number
        let type_oid = r.u32()?;
        r.skip(6)?; // type size, type modifier
        let format = r.u16()?;
        if cols.len() < MAX_VALUES {
            cols.push(Column { name: String::from_utf8_lossy(name).into_owned(), type_oid, format });
        }
    }
    r.rest().is_empty().then_some((cols, n))
}

/// The values of a DataRow, lazily; `None` when the column count is missing.
pub fn row_values(body: &[u8]) -> Option<impl Iterator<Item = Result<Option<&[u8]>, ()>>> {
    let mut r = Reader::new(body);
    let n = r.u16()?;
    Some((0..n).map(move |_| r.value().ok_or(())))
}

/// The fields of an ErrorResponse or NoticeResponse.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fields<'a> {
    pub severity: Option<&'a [u8]>,
    pub code: Option<&'a [u8]>,
    pub message: Option<&'a [u8]>,
    pub detail: Option<&'a [u8]>,
    pub hint: Option<&'a [u8]>,
    pub position: Option<&'a [u8]>,
}

pub fn parse_fields(body: &[u8]) -> Option<Fields<'_>> {
    let mut r = Reader::new(body);
    let mut f = Fields::default();
    let mut localized = None;
    loop {
        let kind = r.u8()?;
        if kind == 0 {
            break;
        }
        let value = r.cstr()?;
        match kind {
            b'V' => f.severity = Some(value),
            b'S' => localized = Some(value),
            b'C' => f.code = Some(value),
            b'M' => f.message = Some(value),
            b'D' => f.detail = Some(value),
            b'H' => f.hint = Some(value),
            b'P' => f.position = Some(value),
            _ => {}
        }
    }
    if f.severity.is_none() {
        f.severity = localized;
    }
    r.rest().is_empty().then_some(f)
}
