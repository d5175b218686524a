//! HTTP/2 frames (RFC 9113 §4, §6): the 9-byte header and typed payloads borrowing the input,
//! the client connection preface, and a heuristic for frames seen from the middle of a connection.

use std::fmt;

use super::codes::{ErrorCode, SettingId};

/// Bytes of a frame header.
pub const FRAME_HEADER_LEN: usize = 9;
/// SETTINGS_MAX_FRAME_SIZE until the receiver says otherwise (RFC 9113 §6.5.2).
pub const DEFAULT_MAX_FRAME_SIZE: u32 = 16_384;
/// The largest frame payload the protocol can express and a receiver may allow.
pub const MAX_FRAME_SIZE_LIMIT: u32 = (1 << 24) - 1;
/// What a client sends first on every HTTP/2 connection (RFC 9113 §3.4), before its SETTINGS.
pub const CLIENT_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Frame flags (RFC 9113 §6); which apply depends on the frame type.
pub mod flags {
    pub const END_STREAM: u8 = 0x1;
    pub const ACK: u8 = 0x1;
    pub const END_HEADERS: u8 = 0x4;
    pub const PADDED: u8 = 0x8;
    pub const PRIORITY: u8 = 0x20;
}

/// A frame type; types this parser does not know are kept by number (and ignored, RFC 9113 §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameType {
    Data,
    Headers,
    Priority,
    RstStream,
    Settings,
    PushPromise,
    Ping,
    GoAway,
    WindowUpdate,
    Continuation,
    Unknown(u8),
}

impl FrameType {
    pub fn from_u8(t: u8) -> FrameType {
        match t {
            0x0 => FrameType::Data,
            0x1 => FrameType::Headers,
            0x2 => FrameType::Priority,
            0x3 => FrameType::RstStream,
            0x4 => FrameType::Settings,
            0x5 => FrameType::PushPromise,
            0x6 => FrameType::Ping,
            0x7 => FrameType::GoAway,
            0x8 => FrameType::WindowUpdate,
            0x9 => FrameType::Continuation,
            other => FrameType::Unknown(other),
        }
    }

    /// The flags RFC 9113 defines for this type.
    pub fn defined_flags(self) -> u8 {
        use flags::*;
        match self {
            FrameType::Data => END_STREAM | PADDED,
            FrameType::Headers => END_STREAM | END_HEADERS | PADDED | PRIORITY,
            FrameType::Settings | FrameType::Ping => ACK,
            FrameType::PushPromise => END_HEADERS | PADDED,
            FrameType::Continuation => END_HEADERS,
            FrameType::Priority
            | FrameType::RstStream
            | FrameType::GoAway
            | FrameType::WindowUpdate
            | FrameType::Unknown(_) => 0,
        }
    }

    /// Where the type may be sent: `Some(true)` only on stream 0, `Some(false)` never on stream 0,
    /// `None` on any stream.
    pub fn on_connection(self) -> Option<bool> {
        match self {
            FrameType::Settings | FrameType::Ping | FrameType::GoAway => Some(true),
            FrameType::WindowUpdate | FrameType::Unknown(_) => None,
            _ => Some(false),
        }
    }
}

impl fmt::Display for FrameType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            FrameType::Data => "DATA",
            FrameType::Headers => "HEADERS",
            FrameType::Priority => "PRIORITY",
            FrameType::RstStream => "RST_STREAM",
            FrameType::Settings => "SETTINGS",
            FrameType::PushPromise => "PUSH_PROMISE",
            FrameType::Ping => "PING",
            FrameType::GoAway => "GOAWAY",
            FrameType::WindowUpdate => "WINDOW_UPDATE",
            FrameType::Continuation => "CONTINUATION",
            FrameType::Unknown(t) => return write!(f, "frame type 0x{t:02x}"),
        };
        f.write_str(name)
    }
}

/// The 9-byte frame header (RFC 9113 §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Payload length.
    pub length: u32,
    pub frame_type: FrameType,
    pub flags: u8,
    /// The stream identifier without the reserved bit.
    pub stream_id: u32,
    /// The reserved bit (senders set it to 0; receivers ignore it).
    pub reserved: bool,
}

impl FrameHeader {
    /// Reads the header at the start of `buf`, if it holds 9 bytes.
    pub fn parse(buf: &[u8]) -> Option<FrameHeader> {
        let h: &[u8; FRAME_HEADER_LEN] = buf.get(..FRAME_HEADER_LEN)?.try_into().ok()?;
        let stream = u32::from_be_bytes([h[5], h[6], h[7], h[8]]);
        Some(FrameHeader {
            length: u32::from_be_bytes([0, h[0], h[1], h[2]]),
            frame_type: FrameType::from_u8(h[3]),
            flags: h[4],
            stream_id: stream & 0x7fff_ffff,
            reserved: stream & 0x8000_0000 != 0,
        })
    }

    /// Header plus payload bytes.
    pub fn frame_len(&self) -> usize {
        FRAME_HEADER_LEN + self.length as usize
    }

    fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// A stream dependency (RFC 9113 §5.3.2, deprecated but still sent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Priority {
    pub exclusive: bool,
    pub depends_on: u32,
    /// As sent: the weight minus one.
    pub weight: u8,
}

impl Priority {
    fn parse(b: &[u8; 5]) -> Priority {
        let dep = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        Priority { exclusive: dep & 0x8000_0000 != 0, depends_on: dep & 0x7fff_ffff, weight: b[4] }
    }
}

/// The parameters of a SETTINGS frame, in order, as (identifier, value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings<'a>(&'a [u8]);

impl<'a> Settings<'a> {
    /// The parameters of a SETTINGS payload (e.g. decoded from an `HTTP2-Settings` header); None
    /// when its length is not a multiple of 6.
    pub fn from_payload(payload: &'a [u8]) -> Option<Settings<'a>> {
        payload.len().is_multiple_of(6).then_some(Settings(payload))
    }

    pub fn iter(&self) -> impl Iterator<Item = (SettingId, u32)> + 'a {
        self.0.chunks_exact(6).map(|c| {
            let id = u16::from_be_bytes([c[0], c[1]]);
            (SettingId(id), u32::from_be_bytes([c[2], c[3], c[4], c[5]]))
        })
    }

    /// The value of the last occurrence of `id` (later ones override earlier ones).
    pub fn get(&self, id: SettingId) -> Option<u32> {
        self.iter().filter(|&(i, _)| i == id).map(|(_, v)| v).last()
    }

    pub fn len(&self) -> usize {
        self.0.len() / 6
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A frame with its payload interpreted; slices borrow the input. Padding is removed (its length,
/// which counts towards flow control with the pad-length byte, is kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    Data {
        stream_id: u32,
        data: &'a [u8],
        end_stream: bool,
        pad_len: Option<u8>,
    },
    Headers {
        stream_id: u32,
        /// A header block fragment: the whole block when `end_headers`, else CONTINUATIONs follow.
        fragment: &'a [u8],
        end_stream: bool,
        end_headers: bool,
        priority: Option<Priority>,
        pad_len: Option<u8>,
    },
    Priority {
        stream_id: u32,
        priority: Priority,
    },
    RstStream {
        stream_id: u32,
        error_code: ErrorCode,
    },
    Settings {
        ack: bool,
        settings: Settings<'a>,
    },
    PushPromise {
        stream_id: u32,
        promised_stream_id: u32,
        fragment: &'a [u8],
        end_headers: bool,
        pad_len: Option<u8>,
    },
    Ping {
        ack: bool,
        opaque: [u8; 8],
    },
    GoAway {
        last_stream_id: u32,
        error_code: ErrorCode,
        debug_data: &'a [u8],
    },
    WindowUpdate {
        stream_id: u32,
        /// 0 is a protocol error the sender made; it is passed on, not rejected.
        increment: u32,
    },
    Continuation {
        stream_id: u32,
        fragment: &'a [u8],
        end_headers: bool,
    },
    /// A frame type RFC 9113 does not define (an extension): to be ignored.
    Unknown {
        frame_type: u8,
        flags: u8,
        stream_id: u32,
        payload: &'a [u8],
    },
}

impl Frame<'_> {
    /// The stream the frame belongs to (0 for the connection).
    pub fn stream_id(&self) -> u32 {
        match *self {
            Frame::Data { stream_id, .. }
            | Frame::Headers { stream_id, .. }
            | Frame::Priority { stream_id, .. }
            | Frame::RstStream { stream_id, .. }
            | Frame::PushPromise { stream_id, .. }
            | Frame::WindowUpdate { stream_id, .. }
            | Frame::Continuation { stream_id, .. }
            | Frame::Unknown { stream_id, .. } => stream_id,
            Frame::Settings { .. } | Frame::Ping { .. } | Frame::GoAway { .. } => 0,
        }
    }

    pub fn frame_type(&self) -> FrameType {
        match *self {
            Frame::Data { .. } => FrameType::Data,
            Frame::Headers { .. } => FrameType::Headers,
            Frame::Priority { .. } => FrameType::Priority,
            Frame::RstStream { .. } => FrameType::RstStream,
            Frame::Settings { .. } => FrameType::Settings,
            Frame::PushPromise { .. } => FrameType::PushPromise,
            Frame::Ping { .. } => FrameType::Ping,
            Frame::GoAway { .. } => FrameType::GoAway,
            Frame::WindowUpdate { .. } => FrameType::WindowUpdate,
            Frame::Continuation { .. } => FrameType::Continuation,
            Frame::Unknown { frame_type, .. } => FrameType::from_u8(frame_type),
        }
    }
}

/// Why a frame is malformed. Every variant keeps the header, so the frame's extent is known and
/// a reader can skip [`FrameError::frame_len`] bytes and go on with the next frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("http2: {} frame of {} bytes exceeds the maximum frame size {max}", .header.frame_type, .header.length)]
    TooLarge { header: FrameHeader, max: u32 },
    #[error("http2: {} frame on stream {} (allowed {})", .header.frame_type, .header.stream_id,
        if *.connection_only { "only on stream 0" } else { "only on a stream other than 0" })]
    StreamId { header: FrameHeader, connection_only: bool },
    #[error("http2: {} frame of {} bytes (expected {expected})", .header.frame_type, .header.length)]
    Length { header: FrameHeader, expected: &'static str },
    #[error("http2: {} frame of {} bytes with {pad_len} bytes of padding", .header.frame_type, .header.length)]
    Padding { header: FrameHeader, pad_len: u8 },
}

impl FrameError {
    pub fn header(&self) -> &FrameHeader {
        match self {
            FrameError::TooLarge { header, .. }
            | FrameError::StreamId { header, .. }
            | FrameError::Length { header, .. }
            | FrameError::Padding { header, .. } => header,
        }
    }

    /// Bytes the malformed frame takes, header included.
    pub fn frame_len(&self) -> usize {
        self.header().frame_len()
    }

    /// The error code a receiver would answer with (RFC 9113 §4.2, §6).
    pub fn error_code(&self) -> ErrorCode {
        match self {
            FrameError::TooLarge { .. } => ErrorCode::FRAME_SIZE_ERROR,
            FrameError::Length { header, .. } if header.frame_type != FrameType::Settings || header.length % 6 != 0 => {
                ErrorCode::FRAME_SIZE_ERROR
            }
            _ => ErrorCode::PROTOCOL_ERROR,
        }
    }
}

/// Total bytes the frame starting at `buf` takes (header included): 9 until its header is
/// complete, then 9 plus the length it announces.
pub fn bytes_needed(buf: &[u8]) -> usize {
    FrameHeader::parse(buf).map_or(FRAME_HEADER_LEN, |h| h.frame_len())
}

/// Parses the frame at the start of `buf`. `Ok(None)`: more bytes are needed (see
/// [`bytes_needed`]); `Ok(Some((frame, n)))`: the frame took `n` bytes. `max_frame_size` is the
/// receiver's SETTINGS_MAX_FRAME_SIZE; a larger frame is an error before its payload arrives.
pub fn parse_frame(buf: &[u8], max_frame_size: u32) -> Result<Option<(Frame<'_>, usize)>, FrameError> {
    let Some(header) = FrameHeader::parse(buf) else { return Ok(None) };
    if header.length > max_frame_size {
        return Err(FrameError::TooLarge { header, max: max_frame_size });
    }
    let len = header.frame_len();
    let Some(payload) = buf.get(FRAME_HEADER_LEN..len) else { return Ok(None) };
    parse_payload(&header, payload).map(|f| Some((f, len)))
}

/// Interprets a complete payload (exactly `header.length` bytes) for its frame type.
pub fn parse_payload<'a>(header: &FrameHeader, payload: &'a [u8]) -> Result<Frame<'a>, FrameError> {
    let header = *header;
    if payload.len() != header.length as usize {
        return Err(FrameError::Length { header, expected: "the length in its header" });
    }
    let stream_id = header.stream_id;
    match header.frame_type.on_connection() {
        Some(true) if stream_id != 0 => return Err(FrameError::StreamId { header, connection_only: true }),
        Some(false) if stream_id == 0 => return Err(FrameError::StreamId { header, connection_only: false }),
        _ => {}
    }
    let exact = |n: usize, expected: &'static str| {
        if payload.len() == n {
            Ok(())
        } else {
            Err(FrameError::Length { header, expected })
        }
    };
    Ok(match header.frame_type {
        FrameType::Data => {
            let (data, pad_len) = unpad(&header, payload)?;
            Frame::Data { stream_id, data, end_stream: header.has(flags::END_STREAM), pad_len }
        }
        FrameType::Headers => {
            let (rest, pad_len) = unpad(&header, payload)?;
            let (priority, fragment) = if header.has(flags::PRIORITY) {
                let (p, fragment) = rest
                    .split_first_chunk::<5>()
                    .ok_or(FrameError::Length { header, expected: "5 bytes of priority" })?;
                (Some(Priority::parse(p)), fragment)
            } else {
                (None, rest)
            };
            Frame::Headers {
                stream_id,
                fragment,
                end_stream: header.has(flags::END_STREAM),
                end_headers: header.has(flags::END_HEADERS),
                priority,
                pad_len,
            }
        }
        FrameType::Priority => {
            exact(5, "5 bytes")?;
            let p: &[u8; 5] = payload.try_into().map_err(|_| FrameError::Length { header, expected: "5 bytes" })?;
            Frame::Priority { stream_id, priority: Priority::parse(p) }
        }
        FrameType::RstStream => {
            exact(4, "4 bytes")?;
            Frame::RstStream { stream_id, error_code: ErrorCode(be32(payload)) }
        }
        FrameType::Settings => {
            let ack = header.has(flags::ACK);
            if ack && !payload.is_empty() {
                return Err(FrameError::Length { header, expected: "0 bytes for an ACK" });
            }
            if !payload.len().is_multiple_of(6) {
                return Err(FrameError::Length { header, expected: "a multiple of 6 bytes" });
            }
            Frame::Settings { ack, settings: Settings(payload) }
        }
        FrameType::PushPromise => {
            let (rest, pad_len) = unpad(&header, payload)?;
            let (promised, fragment) =
                rest.split_first_chunk::<4>().ok_or(FrameError::Length { header, expected: "a promised stream id" })?;
            Frame::PushPromise {
                stream_id,
                promised_stream_id: u32::from_be_bytes(*promised) & 0x7fff_ffff,
                fragment,
                end_headers: header.has(flags::END_HEADERS),
                pad_len,
            }
        }
        FrameType::Ping => {
            let opaque: [u8; 8] = payload.try_into().map_err(|_| FrameError::Length { header, expected: "8 bytes" })?;
            Frame::Ping { ack: header.has(flags::ACK), opaque }
        }
        FrameType::GoAway => {
            let (fixed, debug_data) =
                payload.split_first_chunk::<8>().ok_or(FrameError::Length { header, expected: "at least 8 bytes" })?;
            Frame::GoAway {
                last_stream_id: be32(fixed) & 0x7fff_ffff,
                error_code: ErrorCode(be32(fixed.get(4..).unwrap_or_default())),
                debug_data,
            }
        }
        FrameType::WindowUpdate => {
            exact(4, "4 bytes")?;
            Frame::WindowUpdate { stream_id, increment: be32(payload) & 0x7fff_ffff }
        }
        FrameType::Continuation => {
            Frame::Continuation { stream_id, fragment: payload, end_headers: header.has(flags::END_HEADERS) }
        }
        FrameType::Unknown(frame_type) => Frame::Unknown { frame_type, flags: header.flags, stream_id, payload },
    })
}

/// The first 4 bytes of `b` as a big-endian number (0 when shorter; callers check lengths).
fn be32(b: &[u8]) -> u32 {
    b.first_chunk::<4>().map_or(0, |c| u32::from_be_bytes(*c))
}

/// Removes the padding of a frame with the PADDED flag (RFC 9113 §6.1).
fn unpad<'a>(header: &FrameHeader, payload: &'a [u8]) -> Result<(&'a [u8], Option<u8>), FrameError> {
    if !header.has(flags::PADDED) {
        return Ok((payload, None));
    }
    let header = *header;
    let (&pad_len, rest) = payload.split_first().ok_or(FrameError::Length { header, expected: "a pad length byte" })?;
    let data_len = rest.len().checked_sub(usize::from(pad_len)).ok_or(FrameError::Padding { header, pad_len })?;
    Ok((rest.get(..data_len).unwrap_or_default(), Some(pad_len)))
}

/// How the start of a client's byte stream compares with [`CLIENT_PREFACE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrefaceMatch {
    /// The whole preface is there; frames follow it.
    Complete,
    /// What is there matches so far (and is shorter than the preface).
    Partial,
    Mismatch,
}

pub fn match_preface(buf: &[u8]) -> PrefaceMatch {
    let n = buf.len().min(CLIENT_PREFACE.len());
    if buf.get(..n) != CLIENT_PREFACE.get(..n) {
        PrefaceMatch::Mismatch
    } else if n == CLIENT_PREFACE.len() {
        PrefaceMatch::Complete
    } else {
        PrefaceMatch::Partial
    }
}

/// Longest payload [`plausible_header`] accepts: real peers rarely allow frames over 1 MiB.
pub const PLAUSIBLE_MAX_LEN: u32 = 1 << 20;

/// Whether a frame header is one a real peer would send: a known type, only flags defined for it,
/// the reserved bit clear, the stream (zero or not) its type requires, a length fitting the type
/// and at most [`PLAUSIBLE_MAX_LEN`].
pub fn plausible_header(h: &FrameHeader) -> bool {
    if matches!(h.frame_type, FrameType::Unknown(_))
        || h.reserved
        || h.flags & !h.frame_type.defined_flags() != 0
        || h.length > PLAUSIBLE_MAX_LEN
    {
        return false;
    }
    match h.frame_type.on_connection() {
        Some(true) if h.stream_id != 0 => return false,
        Some(false) if h.stream_id == 0 => return false,
        _ => {}
    }
    let padded = h.flags & flags::PADDED != 0;
    let len = h.length;
    match h.frame_type {
        FrameType::Priority => len == 5,
        FrameType::RstStream | FrameType::WindowUpdate => len == 4,
        FrameType::Ping => len == 8,
        FrameType::GoAway => len >= 8,
        FrameType::Settings if h.flags & flags::ACK != 0 => len == 0,
        FrameType::Settings => len.is_multiple_of(6),
        FrameType::PushPromise => len >= 4 + u32::from(padded),
        FrameType::Headers => len >= u32::from(padded) + if h.flags & flags::PRIORITY != 0 { 5 } else { 0 },
        FrameType::Data => len >= u32::from(padded),
        FrameType::Continuation | FrameType::Unknown(_) => true,
    }
}

/// What [`looks_like_frames`] concludes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameGuess {
    /// Plausible frames follow each other from the start: [`CHAIN`] of them, or at least two
    /// up to the end of the bytes.
    Frames,
    /// Plausible so far, but the bytes end before a second header.
    NeedMore,
    No,
}

/// Frame headers [`frame_chain`] follows at most (more evidence where the bytes allow).
pub const CHAIN: usize = 4;

/// Whether `buf` starts with HTTP/2 frames (a connection captured after its preface): at least
/// two plausible frame headers follow each other (see [`frame_chain`]).
pub fn looks_like_frames(buf: &[u8]) -> FrameGuess {
    match frame_chain(buf) {
        None => FrameGuess::No,
        Some(n) if n >= 2 => FrameGuess::Frames,
        Some(_) => FrameGuess::NeedMore,
    }
}

/// Widest range of stream ids one chain of frames may touch: concurrent streams of a
/// connection have ids close together.
pub const STREAM_SPAN: u32 = 1 << 16;

/// Follows frames from the start of `buf`: `None` as soon as something is implausible, else the
/// number of plausible headers seen, at most [`CHAIN`] (then the answer is final: no byte after
/// the last of them was looked at). Every header must be plausible ([`plausible_header`]); every
/// frame complete before the last header well-formed and meaningful (no empty DATA without
/// END_STREAM, no empty HEADERS continued, no WINDOW_UPDATE of 0); the stream ids within [`STREAM_SPAN`] of each other; and
/// no DATA or HEADERS on a stream an earlier frame of the chain ended.
pub fn frame_chain(buf: &[u8]) -> Option<usize> {
    let mut rest = buf;
    let mut headers = 0;
    let (mut low, mut high) = (u32::MAX, 0);
    let mut ended = [0u32; CHAIN];
    while headers < CHAIN {
        let Some(header) = FrameHeader::parse(rest) else {
            // A partial header can still be ruled out by its type and flags.
            if let Some(&[t, f]) = rest.get(3..5) {
                let t = FrameType::from_u8(t);
                if matches!(t, FrameType::Unknown(_)) || t.defined_flags() & f != f {
                    return None;
                }
            }
            break;
        };
        if !plausible_header(&header) {
            return None;
        }
        let id = header.stream_id;
        if id != 0 {
            (low, high) = (low.min(id), high.max(id));
            // (A CONTINUATION continues the block of a HEADERS that may end its stream.)
            let carries_stream = matches!(header.frame_type, FrameType::Data | FrameType::Headers);
            if high - low > STREAM_SPAN || (carries_stream && ended.contains(&id)) {
                return None;
            }
        }
        if let Some(slot) = ended.get_mut(headers) {
            let ends = matches!(header.frame_type, FrameType::Data | FrameType::Headers)
                && header.flags & flags::END_STREAM != 0;
            *slot = if ends { id } else { 0 };
        }
        headers += 1;
        if headers == CHAIN {
            break;
        }
        match parse_frame(rest, PLAUSIBLE_MAX_LEN) {
            Err(_) => return None,
            Ok(None) => break,
            Ok(Some((frame, n))) => {
                let pointless = matches!(
                    frame,
                    Frame::Data { data: [], end_stream: false, pad_len: None, .. }
                        | Frame::Headers { fragment: [], end_headers: false, .. }
                        | Frame::WindowUpdate { increment: 0, .. }
                );
                if pointless {
                    return None;
                }
                rest = rest.get(n..).unwrap_or_default();
            }
        }
    }
    Some(headers)
}

/// The first offset in `buf` where [`looks_like_frames`] sees frames: where to pick up a
/// connection after a gap or from the middle of a frame.
pub fn find_frames(buf: &[u8]) -> Option<usize> {
    (0..buf.len()).find(|&i| buf.get(i..).map(looks_like_frames) == Some(FrameGuess::Frames))
}
