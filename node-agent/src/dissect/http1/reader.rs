//! One direction of an HTTP/1 connection as a sequence of messages: finds head boundaries,
//! parses each complete head once, delimits bodies (length, chunked, to close), and falls back to
//! resynchronisation on garbage or gaps. It knows nothing of pairing: the session tells it how
//! the body of each head is framed.

use super::chunked::{ChunkError, ChunkStep, ChunkedDecoder};
use super::parser::{
    self, is_request_line, is_status_line, is_tchar, parse_trailers, Framing, HeadError, Header, RequestHead,
    ResponseHead,
};
use super::resync::{Resync, ResyncOutcome};
use super::scan::{find_byte, HeadScanner};
use super::Role;
use crate::time::Timestamp;
use thiserror::Error;

/// Head bytes checked for a plausible message start before the first line is complete (the
/// longest method accepted in a request line, and a space).
const PREFIX_CHECK: usize = super::parser::MAX_METHOD + 1;
/// Head buffer capacity kept between messages; larger buffers are released.
const KEEP_CAPACITY: usize = 8192;

/// Why bytes of a direction were not understood.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ReadError {
    #[error(transparent)]
    Head(#[from] HeadError),
    #[error("{what} body: {source}")]
    Chunk { what: &'static str, source: ChunkError },
}

#[derive(Debug)]
pub(crate) enum Head {
    Request(RequestHead),
    Response(ResponseHead),
}

/// What the next bytes of a direction were.
#[derive(Debug)]
pub(crate) enum Step<'a> {
    /// All input consumed; more is needed.
    NeedMore,
    /// A head (its first and last bytes' times); the reader waits for [`Reader::set_framing`]
    /// before anything else.
    Head { head: Head, start: Timestamp, end: Timestamp, wire: u64 },
    /// Body bytes (de-chunked).
    Body(&'a [u8]),
    /// The message ended: its last byte's time, its bytes on the wire, its trailers.
    End { end: Timestamp, wire: u64, trailers: Vec<Header> },
    /// The body's framing broke: the message ends here, the reader resynchronises.
    BodyError { error: ReadError, end: Timestamp, wire: u64 },
    /// A head could not be parsed and was dropped; the reader resynchronises.
    Garbage(ReadError),
    /// A message start was found again after `skipped` bytes.
    Resynced { skipped: u64 },
}

/// What a capture gap did to the message in progress.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum GapOutcome {
    /// The gap fell inside a body of known extent: the message goes on.
    BodySkipped,
    /// The gap cut a message whose head was complete: it ends here.
    MessageCut { end: Timestamp, wire: u64 },
    /// No head was complete: bytes are dropped until the next message start.
    Resyncing,
}

/// What the end of the direction did to the message in progress.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FinishOutcome {
    Nothing,
    /// A body delimited by the close ended.
    End {
        end: Timestamp,
        wire: u64,
    },
    /// A message whose head was complete ended before its body did.
    Cut {
        end: Timestamp,
        wire: u64,
    },
    /// An incomplete head of `bytes` bytes was dropped.
    PartialHead {
        bytes: usize,
    },
}

#[derive(Debug)]
enum State {
    /// Between messages: line ends are skipped.
    Idle,
    Head,
    AwaitFraming,
    Length(u64),
    Chunked(Box<ChunkedDecoder>),
    UntilClose,
    Resync,
    /// HTTP ended on this connection (Upgrade, CONNECT): everything is ignored.
    Stopped,
}

#[derive(Debug)]
pub(crate) struct Reader {
    role: Role,
    state: State,
    head_buf: Vec<u8>,
    scanner: HeadScanner,
    first_line_checked: bool,
    resync: Resync,
    max_head: usize,
    /// Bytes on the wire of the message in progress.
    wire: u64,
    start: Timestamp,
    last: Timestamp,
}

impl Reader {
    pub(crate) fn new(role: Role, max_head: usize) -> Self {
        Reader {
            role,
            state: State::Idle,
            head_buf: Vec::new(),
            scanner: HeadScanner::default(),
            first_line_checked: false,
            resync: Resync::new(role),
            max_head,
            wire: 0,
            start: Timestamp::ZERO,
            last: Timestamp::ZERO,
        }
    }

    fn what(&self) -> &'static str {
        match self.role {
            Role::Request => "request",
            Role::Response => "response",
        }
    }

    /// Bytes held: a partial head, a resynchronisation candidate, a trailer section.
    pub(crate) fn buffered(&self) -> usize {
        let chunk = match &self.state {
            State::Chunked(d) => d.buffered(),
            _ => 0,
        };
        self.head_buf.len() + self.resync.buffered() + chunk
    }

    pub(crate) fn is_stopped(&self) -> bool {
        matches!(self.state, State::Stopped)
    }

    /// How the body of the head just returned is delimited.
    pub(crate) fn set_framing(&mut self, framing: Framing) {
        self.state = match framing {
            Framing::Empty => State::Length(0),
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Chunked(Box::new(ChunkedDecoder::new(self.max_head))),
            Framing::UntilClose => State::UntilClose,
        };
    }

    /// The head just returned cannot be delimited: drop until the next message start.
    pub(crate) fn resync_after_head(&mut self) {
        self.enter_resync(&[]);
    }

    /// The bytes read but not yet part of a message (a head in progress), for the protocol that
    /// continues the connection after a switch.
    pub(crate) fn take_unconsumed(&mut self) -> Vec<u8> {
        match self.state {
            State::Head => std::mem::take(&mut self.head_buf),
            _ => Vec::new(),
        }
    }

    /// HTTP is over on this connection.
    pub(crate) fn stop(&mut self) {
        self.state = State::Stopped;
        self.head_buf = Vec::new();
        self.resync.seed(&[]);
    }

    fn enter_resync(&mut self, seed: &[u8]) {
        self.resync.seed(seed);
        self.state = State::Resync;
        self.reset_head();
    }

    fn reset_head(&mut self) {
        self.head_buf.clear();
        if self.head_buf.capacity() > KEEP_CAPACITY {
            self.head_buf = Vec::new();
        }
        self.scanner = HeadScanner::default();
        self.first_line_checked = false;
    }

    fn begin_message(&mut self, ts: Timestamp) {
        self.state = State::Head;
        self.wire = 0;
        self.start = ts;
        self.last = ts;
    }

    /// Reads the next step from `input` (which continues what was read before); returns how many
    /// bytes it consumed. Call again with the rest until [`Step::NeedMore`].
    pub(crate) fn next<'a>(&mut self, input: &'a [u8], ts: Timestamp) -> (usize, Step<'a>) {
        let mut pos = 0;
        loop {
            let rest = &input[pos..];
            match &mut self.state {
                State::Stopped => return (input.len(), Step::NeedMore),
                State::Idle => {
                    let skip = rest.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
                    pos += skip;
                    let Some(&first) = rest.get(skip) else {
                        return (pos, Step::NeedMore);
                    };
                    let plausible = match self.role {
                        Role::Request => is_tchar(first),
                        Role::Response => first == b'H',
                    };
                    if plausible {
                        self.begin_message(ts);
                    } else {
                        self.enter_resync(&[]);
                    }
                }
                State::Head => match self.read_head(rest, ts) {
                    (n, Some(step)) => return (pos + n, step),
                    (n, None) => pos += n,
                },
                State::AwaitFraming | State::Length(0) => {
                    self.state = State::Idle;
                    return (pos, Step::End { end: self.last, wire: self.wire, trailers: Vec::new() });
                }
                State::Length(remaining) => {
                    if rest.is_empty() {
                        return (pos, Step::NeedMore);
                    }
                    let n = usize::try_from(*remaining).unwrap_or(usize::MAX).min(rest.len());
                    *remaining -= n as u64;
                    self.wire += n as u64;
                    self.last = ts;
                    return (pos + n, Step::Body(&rest[..n]));
                }
                State::UntilClose => {
                    if rest.is_empty() {
                        return (pos, Step::NeedMore);
                    }
                    self.wire += rest.len() as u64;
                    self.last = ts;
                    return (input.len(), Step::Body(rest));
                }
                State::Chunked(decoder) => {
                    let (n, step) = decoder.feed(rest);
                    self.wire += n as u64;
                    if n > 0 {
                        self.last = ts;
                    }
                    let step = match step {
                        ChunkStep::NeedMore => Step::NeedMore,
                        ChunkStep::Data(data) => Step::Body(data),
                        ChunkStep::Done(raw) => {
                            self.state = State::Idle;
                            Step::End { end: self.last, wire: self.wire, trailers: parse_trailers(&raw) }
                        }
                        ChunkStep::Error(source) => {
                            let error = ReadError::Chunk { what: self.what(), source };
                            self.enter_resync(&[]);
                            Step::BodyError { error, end: self.last, wire: self.wire }
                        }
                    };
                    return (pos + n, step);
                }
                State::Resync => match self.resync.scan(rest) {
                    ResyncOutcome::NeedMore => return (input.len(), Step::NeedMore),
                    ResyncOutcome::Found { consumed, prefix } => {
                        pos += consumed;
                        let skipped = self.resync.skipped();
                        self.resync.seed(&[]);
                        self.begin_message(ts);
                        // A carried prefix holds at most the message's first line, which the
                        // search verified when it is complete.
                        if prefix.contains(&b'\n') {
                            self.scanner.scan(&prefix);
                            self.first_line_checked = true;
                        }
                        self.head_buf = prefix;
                        if skipped > 0 {
                            return (pos, Step::Resynced { skipped });
                        }
                    }
                },
            }
        }
    }

    /// Head state: returns the bytes consumed and a step, or None to go on (in the same or a new
    /// state) with the rest of the input.
    ///
    /// Whatever the segmentation, a head is judged the same way: its first line (or, until that
    /// is complete, its first bytes) before anything after it is read, then its size, then the
    /// parse of the complete head. A head whose first line fails is searched again from its
    /// second byte; one that fails to parse is dropped whole.
    fn read_head<'a>(&mut self, rest: &[u8], ts: Timestamp) -> (usize, Option<Step<'a>>) {
        if rest.is_empty() {
            return (0, Some(Step::NeedMore));
        }
        self.last = ts;
        if !self.first_line_checked {
            return self.read_first_line(rest);
        }
        let before = self.head_buf.len();
        let end = self.scanner.scan(rest);
        let take = end.unwrap_or(rest.len());
        if before + take > self.max_head {
            return self.too_large(before);
        }
        if before > 0 {
            self.head_buf.extend_from_slice(&rest[..take]);
        }
        let Some(n) = end else {
            if before == 0 {
                self.head_buf.extend_from_slice(rest);
            }
            return (take, Some(Step::NeedMore));
        };
        let head: &[u8] = if before == 0 { &rest[..n] } else { &self.head_buf };
        let parsed = match self.role {
            Role::Request => parser::parse_request_head(head).map(Head::Request),
            Role::Response => parser::parse_response_head(head).map(Head::Response),
        };
        let wire = head.len() as u64;
        match parsed {
            Ok(head) => {
                self.reset_head();
                self.wire = wire;
                self.state = State::AwaitFraming;
                let step = Step::Head { head, start: self.start, end: self.last, wire };
                (n, Some(step))
            }
            Err(e) => {
                self.enter_resync(&[]);
                (n, Some(Step::Garbage(e.into())))
            }
        }
    }

    /// The head's first line is not judged yet: read up to its end, and judge it (or judge the
    /// first bytes while it is incomplete).
    fn read_first_line<'a>(&mut self, rest: &[u8]) -> (usize, Option<Step<'a>>) {
        let before = self.head_buf.len();
        let nl = find_byte(rest, b'\n');
        let take = nl.map_or(rest.len(), |i| i + 1);
        let what = self.what();
        let not_http = || Some(Step::Garbage(HeadError::NotHttp { what }.into()));
        // The first bytes, then the size, then the complete line: the order a head split
        // anywhere is judged in too.
        let prefix_ok = if before >= PREFIX_CHECK {
            true
        } else if before == 0 {
            prefix_ok(self.role, &rest[..take])
        } else {
            let mut first = self.head_buf.clone();
            first.extend_from_slice(&rest[..take.min(PREFIX_CHECK)]);
            prefix_ok(self.role, &first)
        };
        if !prefix_ok {
            let mut seed = self.head_buf.get(1..).unwrap_or_default().to_vec();
            seed.extend_from_slice(if before == 0 { rest.get(1..take).unwrap_or_default() } else { &rest[..take] });
            self.enter_resync(&seed);
            return (take, not_http());
        }
        if before + take > self.max_head {
            return self.too_large(before);
        }
        let Some(i) = nl else {
            self.head_buf.extend_from_slice(rest);
            return (rest.len(), Some(Step::NeedMore));
        };
        let line_ok = |line: &[u8]| match self.role {
            Role::Request => is_request_line(line),
            Role::Response => is_status_line(line),
        };
        if before == 0 {
            // The common case: the whole line is here. Judge it in place and let the head be
            // read (and parsed) from the input without a copy.
            if !line_ok(&rest[..i]) {
                self.enter_resync(&rest[1..take]);
                return (take, not_http());
            }
            self.first_line_checked = true;
            return (0, None);
        }
        self.head_buf.extend_from_slice(&rest[..take]);
        let line_len = self.head_buf.len() - 1;
        if !line_ok(&self.head_buf[..line_len]) {
            let seed = self.head_buf[1..].to_vec();
            self.enter_resync(&seed);
            return (take, not_http());
        }
        self.first_line_checked = true;
        self.scanner.scan(&self.head_buf);
        (take, None)
    }

    /// The head grew past the limit: the bytes up to the limit are dropped, the search for the
    /// next message starts after them.
    fn too_large<'a>(&mut self, before: usize) -> (usize, Option<Step<'a>>) {
        let (what, limit) = (self.what(), self.max_head);
        let seed = self.head_buf.get(limit..).unwrap_or_default().to_vec();
        self.enter_resync(&seed);
        let step = Step::Garbage(HeadError::TooLarge { what, limit }.into());
        (limit.saturating_sub(before), Some(step))
    }

    /// `len` bytes of this direction were not captured.
    pub(crate) fn gap(&mut self, len: u64) -> GapOutcome {
        if let State::Chunked(decoder) = &mut self.state {
            if decoder.skip_data(len) {
                self.wire = self.wire.saturating_add(len);
                return GapOutcome::BodySkipped;
            }
        }
        match &mut self.state {
            State::Stopped => GapOutcome::BodySkipped,
            State::Length(remaining) if len <= *remaining => {
                *remaining -= len;
                self.wire = self.wire.saturating_add(len);
                GapOutcome::BodySkipped
            }
            State::UntilClose => {
                self.wire = self.wire.saturating_add(len);
                GapOutcome::BodySkipped
            }
            State::Length(_) | State::Chunked(_) | State::AwaitFraming => {
                let out = GapOutcome::MessageCut { end: self.last, wire: self.wire };
                self.enter_resync(&[]);
                out
            }
            State::Resync => {
                self.resync.break_continuity();
                GapOutcome::Resyncing
            }
            State::Idle | State::Head => {
                self.enter_resync(&[]);
                GapOutcome::Resyncing
            }
        }
    }

    /// The direction ended (FIN, or the connection is gone).
    pub(crate) fn finish(&mut self) -> FinishOutcome {
        let out = match &self.state {
            State::UntilClose | State::Length(0) | State::AwaitFraming => {
                FinishOutcome::End { end: self.last, wire: self.wire }
            }
            State::Length(_) | State::Chunked(_) => FinishOutcome::Cut { end: self.last, wire: self.wire },
            State::Head => FinishOutcome::PartialHead { bytes: self.head_buf.len() },
            State::Idle | State::Resync | State::Stopped => FinishOutcome::Nothing,
        };
        if !self.is_stopped() {
            self.state = State::Idle;
            self.resync.seed(&[]);
            self.reset_head();
        }
        out
    }
}

/// Whether the first bytes of a head (up to [`PREFIX_CHECK`]) can start a message. Monotone:
/// bytes that fail never pass with more bytes, and a valid first line always passes.
fn prefix_ok(role: Role, head: &[u8]) -> bool {
    let prefix = head.get(..PREFIX_CHECK).unwrap_or(head);
    match role {
        Role::Request => match prefix.iter().position(|&b| b == b' ') {
            Some(sp) => sp > 0 && prefix[..sp].iter().all(|&b| is_tchar(b)),
            None => prefix.len() < PREFIX_CHECK && prefix.iter().all(|&b| is_tchar(b)),
        },
        Role::Response => {
            let n = prefix.len().min(7);
            prefix[..n] == b"HTTP/1."[..n]
        }
    }
}
