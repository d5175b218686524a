//! One direction of an HTTP/1 connection as a sequence of messages: finds head boundaries,
//! parses each complete head once, delimits bodies (length, chunked, to close), and falls back to
//! resynchronisation on garbage or gaps. It knows nothing of pairing: the session tells it how
//! the body of each head is framed.

use super::chunked::{ChunkError, ChunkStep, ChunkedDecoder};
use super::parser::{
    self, is_request_line, is_status_line, is_tchar, parse_trailers, Framing, HeadError, Header,
    RequestHead, ResponseHead,
};
use super::resync::{Resync, ResyncOutcome};
use super::scan::HeadScanner;
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
    Chunk {
        what: &'static str,
        source: ChunkError,
    },
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
    Head {
        head: Head,
        start: Timestamp,
        end: Timestamp,
        wire: u64,
    },
    /// Body bytes (de-chunked).
    Body(&'a [u8]),
    /// The message ended: its last byte's time, its bytes on the wire, its trailers.
    End {
        end: Timestamp,
        wire: u64,
        trailers: Vec<Header>,
    },
    /// The body's framing broke: the message ends here, the reader resynchronises.
    BodyError {
        error: ReadError,
        end: Timestamp,
        wire: u64,
    },
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
                    let skip = rest
                        .iter()
                        .take_while(|&&b| b == b'\r' || b == b'\n')
                        .count();
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
                    return (
                        pos,
                        Step::End {
                            end: self.last,
                            wire: self.wire,
                            trailers: Vec::new(),
                        },
                    );
                }
                State::Length(remaining) => {
                    if rest.is_empty() {
                        return (pos, Step::NeedMore);
                    }
                    let n = usize::try_from(*remaining)
                        .unwrap_or(usize::MAX)
                        .min(rest.len());
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
                            Step::End {
                                end: self.last,
                                wire: self.wire,
                                trailers: parse_trailers(&raw),
                            }
                        }
                        ChunkStep::Error(source) => {
                            let error = ReadError::Chunk {
                                what: self.what(),
                                source,
                            };
                            self.enter_resync(&[]);
                            Step::BodyError {
                                error,
                                end: self.last,
                                wire: self.wire,
                            }
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
                        self.wire = prefix.len() as u64;
                        self.scanner.scan(&prefix);
                        // The prefix's first line was verified by the search.
                        self.first_line_checked = self.scanner.first_line_end().is_some();
                        self.head_buf = prefix;
                        if skipped > 0 {
                            return (pos, Step::Resynced { skipped });
                        }
                    }
                },
            }
        }
    }

    /// Head state: returns the bytes consumed and a step, or None to go on in a new state.
    ///
    /// Whatever the segmentation, a head is judged the same way: first its start (the first line
    /// once complete, else its first bytes), then its size, then the parse of the complete head.
    fn read_head<'a>(&mut self, rest: &[u8], ts: Timestamp) -> (usize, Option<Step<'a>>) {
        if rest.is_empty() {
            return (0, Some(Step::NeedMore));
        }
        self.last = ts;
        let before = self.head_buf.len();
        let end = self.scanner.scan(rest);
        let take = end.unwrap_or(rest.len());
        if before > 0 {
            self.head_buf.extend_from_slice(&rest[..take]);
        }
        let head: &[u8] = if before == 0 {
            &rest[..take]
        } else {
            &self.head_buf
        };
        let what = self.what();
        let start = check_start(
            self.role,
            head,
            self.scanner.first_line_end(),
            &mut self.first_line_checked,
            self.max_head,
        );
        if let Err(e) = start {
            // The bytes after this head's first one may still hold a message start.
            let seed = head.get(1..).unwrap_or_default().to_vec();
            self.enter_resync(&seed);
            return (take, Some(Step::Garbage(e.into())));
        }
        if head.len() > self.max_head {
            let allowed = self.max_head.saturating_sub(before);
            self.enter_resync(&[]);
            return (
                allowed,
                Some(Step::Garbage(
                    HeadError::TooLarge {
                        what,
                        limit: self.max_head,
                    }
                    .into(),
                )),
            );
        }
        if end.is_none() {
            if before == 0 {
                self.head_buf.extend_from_slice(rest);
            }
            return (take, Some(Step::NeedMore));
        }
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
                (
                    take,
                    Some(Step::Head {
                        head,
                        start: self.start,
                        end: self.last,
                        wire,
                    }),
                )
            }
            Err(e) => {
                let seed = head.get(1..).unwrap_or_default().to_vec();
                self.enter_resync(&seed);
                (take, Some(Step::Garbage(e.into())))
            }
        }
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
                let out = GapOutcome::MessageCut {
                    end: self.last,
                    wire: self.wire,
                };
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
            State::UntilClose | State::Length(0) | State::AwaitFraming => FinishOutcome::End {
                end: self.last,
                wire: self.wire,
            },
            State::Length(_) | State::Chunked(_) => FinishOutcome::Cut {
                end: self.last,
                wire: self.wire,
            },
            State::Head => FinishOutcome::PartialHead {
                bytes: self.head_buf.len(),
            },
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

/// Judges the start of a head: its first line once complete (within the head limit), else its
/// first [`PREFIX_CHECK`] bytes. Monotone: bytes that fail never pass with more bytes.
fn check_start(
    role: Role,
    head: &[u8],
    first_line_end: Option<usize>,
    checked: &mut bool,
    max_head: usize,
) -> Result<(), HeadError> {
    if *checked {
        return Ok(());
    }
    let what = match role {
        Role::Request => "request",
        Role::Response => "response",
    };
    if let Some(end) = first_line_end.filter(|&e| e <= max_head) {
        *checked = true;
        let line = head.get(..end.saturating_sub(1)).unwrap_or(head);
        let ok = match role {
            Role::Request => is_request_line(line),
            Role::Response => is_status_line(line),
        };
        return if ok {
            Ok(())
        } else {
            Err(HeadError::NotHttp { what })
        };
    }
    let prefix = head.get(..PREFIX_CHECK).unwrap_or(head);
    let ok = match role {
        Role::Request => match prefix.iter().position(|&b| b == b' ') {
            Some(sp) => sp > 0 && prefix[..sp].iter().all(|&b| is_tchar(b)),
            None => prefix.len() < PREFIX_CHECK && prefix.iter().all(|&b| is_tchar(b)),
        },
        Role::Response => {
            let n = prefix.len().min(7);
            prefix[..n] == b"HTTP/1."[..n]
        }
    };
    if ok {
        Ok(())
    } else {
        Err(HeadError::NotHttp { what })
    }
}
