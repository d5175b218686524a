//! One direction's bytes into frames for [`H2Connection`], on the shared [`Framer`]: the HTTP/2
//! [`FrameFormat`] (9-byte headers, the client preface as a 24-byte pseudo-frame, finding frames
//! again after a gap with [`frame_chain`]), and the glue that hands complete frames to
//! [`H2Connection::on_frame`] and DATA frames too large to buffer, piece by piece, to
//! [`H2Connection::on_data_piece`].
//!
//! What comes out ([`Input`]) is the connection's events plus what a session needs besides them:
//! where each frame started (for timestamps and sizes), and which stream lost DATA bytes to a
//! capture gap.

use super::connection::{Anomaly, Event, H2Connection};
use super::frame::{
    flags, frame_chain, match_preface, parse_payload, FrameError, FrameHeader, FrameType, PrefaceMatch, CHAIN,
    CLIENT_PREFACE, DEFAULT_MAX_FRAME_SIZE, FRAME_HEADER_LEN,
};
use crate::dissect::framing::{FrameFormat, FrameLength, Framed, Framer, NotAFrame, Resync};
use crate::dissect::Direction;
use crate::time::Timestamp;

/// The least a direction buffers: two default-size frames and a third header, so that after a
/// gap a stream of full-size DATA frames still shows the two frame headers resynchronisation needs.
pub const MIN_BUFFERED_FRAME: usize = 2 * (FRAME_HEADER_LEN + DEFAULT_MAX_FRAME_SIZE as usize) + FRAME_HEADER_LEN;

/// Bytes from a candidate frame start that resynchronisation judges it on (when fewer than
/// [`CHAIN`] frames decide it earlier). Small, so that a quiet connection is picked up soon; a
/// run of large DATA frames is not (they belong to streams whose start was missed anyway).
pub const RESYNC_WINDOW: usize = 4096;

/// Where a client direction is with its preface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Preface {
    /// It comes first (a client direction from its start).
    Expected,
    /// The first bytes were not the preface: the first frame is judged by its plausibility.
    Missing,
    /// Past it (or not a client direction from its start).
    Done,
}

/// HTTP/2 frames as the shared framer sees them.
#[derive(Debug)]
pub struct H2Format {
    preface: Preface,
    /// Bytes a resynchronisation window holds (at most the framer's buffer).
    window: usize,
    /// A direction picked up mid-way whose first captured byte is still at the front of the
    /// resynchronisation buffer (nothing skipped, no gap): see [`starts_with_headers`].
    fresh: bool,
}

impl FrameFormat for H2Format {
    /// Decisions are taken only once the bytes needed for them are there, so that they do not
    /// depend on how the bytes arrived.
    fn frame_length(&mut self, head: &[u8]) -> Result<FrameLength, NotAFrame> {
        if self.preface == Preface::Expected {
            match match_preface(head) {
                PrefaceMatch::Partial => return Ok(FrameLength::NeedHeader(CLIENT_PREFACE.len())),
                PrefaceMatch::Complete => {
                    self.preface = Preface::Done;
                    return Ok(FrameLength::Total(CLIENT_PREFACE.len()));
                }
                PrefaceMatch::Mismatch => self.preface = Preface::Missing,
            }
        }
        if self.preface == Preface::Missing {
            // Frames straight away, or something else: judged as a frame found after a gap is.
            let Some(h) = FrameHeader::parse(head) else { return Ok(FrameLength::NeedHeader(FRAME_HEADER_LEN)) };
            self.preface = Preface::Done;
            return if super::frame::plausible_header(&h) {
                Ok(FrameLength::Total(h.frame_len()))
            } else {
                Err(NotAFrame("neither the client preface nor an HTTP/2 frame"))
            };
        }
        // The preface found by resynchronisation (a capture that starts just before it). What
        // starts like it waits until it can be told (a frame header starting so would announce
        // over 5 MB: no real frame).
        match match_preface(head) {
            PrefaceMatch::Complete => return Ok(FrameLength::Total(CLIENT_PREFACE.len())),
            PrefaceMatch::Partial => return Ok(FrameLength::NeedHeader(CLIENT_PREFACE.len())),
            PrefaceMatch::Mismatch => {}
        }
        Ok(match FrameHeader::parse(head) {
            None => FrameLength::NeedHeader(FRAME_HEADER_LEN),
            Some(h) => FrameLength::Total(h.frame_len()),
        })
    }

    /// Offsets are judged in order, each on the [`RESYNC_WINDOW`] bytes from it, and only once
    /// the judgement is final, so the answer does not depend on how the bytes arrived: an offset
    /// is taken when the preface or [`CHAIN`] plausible frames start there, or at least two fill a
    /// full window; it is ruled out when something is implausible or a full window holds fewer.
    /// (So a direction whose last bytes are fewer than a window and [`CHAIN`] frames is not
    /// picked up before it ends.)
    ///
    /// The first captured byte of a direction picked up mid-way (nothing skipped yet) is taken
    /// as a frame start as soon as a whole HEADERS frame starts there ([`starts_with_headers`]):
    /// a capture starts at a segment boundary, and a client's request often travels alone, so
    /// waiting for [`CHAIN`] frames would let the answers to it be read before it.
    fn resync(&mut self, data: &[u8]) -> Resync {
        if self.fresh {
            let window = data.get(..self.window.min(data.len())).unwrap_or_default();
            if starts_with_headers(window, self.window) == Some(true) {
                self.fresh = false;
                return Resync::At(0);
            }
        }
        let found = self.scan(data);
        // Judged again with more bytes as the first captured byte only while it is still kept.
        self.fresh &= found == Resync::NeedMore(0);
        found
    }
}

impl H2Format {
    /// The window rules of [`FrameFormat::resync`].
    fn scan(&self, data: &[u8]) -> Resync {
        for i in 0..data.len() {
            let rest = data.get(i..).unwrap_or_default();
            let window = rest.get(..self.window.min(rest.len())).unwrap_or_default();
            let full = window.len() >= self.window;
            match match_preface(window) {
                PrefaceMatch::Complete => return Resync::At(i),
                PrefaceMatch::Partial if !full => return Resync::NeedMore(i),
                _ => {}
            }
            match frame_chain(window) {
                None => {}
                Some(CHAIN) => return Resync::At(i),
                Some(n) if full && n >= 2 => return Resync::At(i),
                Some(_) if full => {}
                Some(_) => return Resync::NeedMore(i),
            }
        }
        Resync::NotBefore(data.len())
    }
}

/// Whether `window` starts with a whole, well-formed HEADERS frame of at most `max` bytes
/// (`None`: its first bytes are a plausible HEADERS frame that is not complete yet). Decided on the
/// frame's own bytes only, so the answer does not depend on how they arrived; a frame longer than
/// `max` is left to the window rules, which would rule the offset out before it completes.
fn starts_with_headers(window: &[u8], max: usize) -> Option<bool> {
    let Some(h) = FrameHeader::parse(window) else {
        // A partial header: still possible while what came of it is a HEADERS start.
        return match window.get(3) {
            None => None,
            Some(&t) if FrameType::from_u8(t) == FrameType::Headers => None,
            Some(_) => Some(false),
        };
    };
    if h.frame_type != FrameType::Headers || !super::frame::plausible_header(&h) || h.frame_len() > max {
        return Some(false);
    }
    let bytes = window.get(..h.frame_len())?;
    let payload = bytes.get(FRAME_HEADER_LEN..).unwrap_or_default();
    Some(
        matches!(parse_payload(&h, payload), Ok(super::frame::Frame::Headers { fragment, .. }) if !fragment.is_empty()),
    )
}

/// What one direction's bytes gave, in order.
#[derive(Debug)]
pub enum Input<'a> {
    /// A frame starts being processed (its events follow): its header, the capture time of its
    /// first byte, and its bytes on the wire (header included).
    Frame { header: FrameHeader, ts: Timestamp, wire: u64 },
    /// What the connection model made of the frames.
    Event(Event<'a>),
    /// The client preface went by.
    Preface,
    /// `lost` DATA payload bytes of stream `stream_id` were not captured.
    DataLost { stream_id: u32, lost: u64 },
    /// Bytes skipped before frames were found again (after a gap, or bytes that were no frames).
    Skipped { bytes: u64 },
    /// No frame was found again: the direction is not followed any more.
    Lost { skipped: u64 },
}

/// An oversized DATA frame being passed on in pieces.
#[derive(Clone, Copy, Debug)]
struct Streaming {
    stream_id: u32,
    /// The payload bytes that are data (after the pad length, before the padding), as offsets in
    /// the frame.
    data_start: usize,
    data_end: usize,
    len: usize,
    end_stream: bool,
    /// The END_STREAM was passed on.
    ended: bool,
    /// Offset in the frame of the next byte expected.
    next: usize,
}

impl Streaming {
    /// Data bytes in the frame range `[from, to)`.
    fn data_in(&self, from: usize, to: usize) -> u64 {
        to.min(self.data_end).saturating_sub(from.max(self.data_start)) as u64
    }
}

/// One direction of a connection: its framer and the state of an oversized DATA frame.
#[derive(Debug)]
pub struct FrameInput {
    framer: Framer,
    format: H2Format,
    streaming: Option<Streaming>,
    /// The client preface is expected first and has not been judged yet.
    awaiting_preface: bool,
}

impl FrameInput {
    /// `expect_preface`: the client side of a connection seen from its start. Frames longer than
    /// `max_frame` bytes (at least [`MIN_BUFFERED_FRAME`]) are not buffered: DATA passes in pieces,
    /// other types are skipped.
    pub fn new(expect_preface: bool, max_frame: usize) -> Self {
        let max_frame = max_frame.max(MIN_BUFFERED_FRAME);
        FrameInput {
            framer: Framer::new(max_frame),
            format: H2Format {
                preface: if expect_preface { Preface::Expected } else { Preface::Done },
                window: RESYNC_WINDOW.min(max_frame),
                fresh: false,
            },
            streaming: None,
            awaiting_preface: expect_preface,
        }
    }

    /// A direction whose bytes may start anywhere (a connection seen mid-way): frames (or the
    /// preface) are looked for first.
    pub fn resynchronising(max_frame: usize) -> Self {
        let mut input = FrameInput::new(false, max_frame);
        input.framer = input.framer.resynchronising();
        input.format.fresh = true;
        input
    }

    /// Bytes held (an incomplete frame, or candidates while resynchronising).
    pub fn buffered(&self) -> usize {
        self.framer.buffered()
    }

    /// The most [`FrameInput::buffered`] can be between calls.
    pub fn max_buffered(&self) -> usize {
        self.framer.max_buffered()
    }

    /// Reads `data` (what `dir` sent next, captured at `ts`), passing its frames to `conn`.
    pub fn push(
        &mut self,
        conn: &mut H2Connection,
        dir: Direction,
        data: &[u8],
        ts: Timestamp,
        on: &mut dyn FnMut(Input<'_>),
    ) {
        let FrameInput { framer, format, streaming, awaiting_preface } = self;
        framer.push(format, data, ts, &mut |framed| {
            // A refused position is not an answer about the preface yet: the frame start found
            // after it (or the lack of one) is.
            if !matches!(framed, Framed::Invalid { .. })
                && std::mem::take(awaiting_preface)
                && !matches!(framed, Framed::Frame { bytes, .. } if bytes == CLIENT_PREFACE)
            {
                conn.on_bad_preface(dir, &mut |e| on(Input::Event(e)));
            }
            match framed {
                Framed::Frame { bytes, ts } => frame(conn, dir, bytes, ts, on),
                Framed::Oversized { prefix, len, ts } => *streaming = oversized(conn, dir, prefix, len, ts, on),
                Framed::Tail { bytes, offset, len, .. } => {
                    if let Some(s) = streaming {
                        tail(conn, dir, s, bytes, offset, on);
                        if offset + bytes.len() >= len {
                            *streaming = None;
                        }
                    }
                }
                Framed::Damaged { head, .. } => damaged(conn, dir, head, on),
                Framed::Skipped { bytes } => on(Input::Skipped { bytes }),
                Framed::Lost { skipped } => on(Input::Lost { skipped }),
                // Reported as the bytes skipped once the next frame start is found.
                Framed::Invalid { .. } => {}
            }
        });
    }

    /// `len` bytes `dir` sent were not captured.
    pub fn gap(&mut self, conn: &mut H2Connection, dir: Direction, len: u64, on: &mut dyn FnMut(Input<'_>)) {
        self.awaiting_preface = false;
        self.format.fresh = false;
        conn.on_gap(dir, &mut |e| on(Input::Event(e)));
        if let Some(mut s) = self.streaming.take() {
            // The gap falls inside an oversized DATA frame (the framer keeps its place in it).
            let end = s.next.saturating_add(usize::try_from(len).unwrap_or(usize::MAX)).min(s.len);
            let lost = s.data_in(s.next, end);
            if lost > 0 {
                on(Input::DataLost { stream_id: s.stream_id, lost });
            }
            if end < s.len {
                s.next = end;
                self.streaming = Some(s);
            } else if s.end_stream && !s.ended {
                conn.on_data_piece(dir, s.stream_id, &[], true, 0, false, &mut |e| on(Input::Event(e)));
            }
        }
        self.framer.gap(len, &mut |framed| match framed {
            Framed::Skipped { bytes } => on(Input::Skipped { bytes }),
            Framed::Lost { skipped } => on(Input::Lost { skipped }),
            Framed::Damaged { head, .. } => damaged(conn, dir, head, on),
            Framed::Frame { .. } | Framed::Oversized { .. } | Framed::Tail { .. } | Framed::Invalid { .. } => {}
        });
    }

    /// `dir` ended: an open header block is cut, a partial frame is dropped.
    pub fn end(&mut self, conn: &mut H2Connection, dir: Direction, on: &mut dyn FnMut(Input<'_>)) {
        self.streaming = None;
        conn.on_end(dir, &mut |e| on(Input::Event(e)));
    }
}

/// A complete frame (or the preface).
fn frame(conn: &mut H2Connection, dir: Direction, bytes: &[u8], ts: Timestamp, on: &mut dyn FnMut(Input<'_>)) {
    if bytes == CLIENT_PREFACE {
        on(Input::Preface);
        return;
    }
    let Some(header) = FrameHeader::parse(bytes) else { return };
    on(Input::Frame { header, ts, wire: bytes.len() as u64 });
    let max = conn.max_frame_size(dir);
    if header.length > max {
        conn.on_skipped_frame(dir, &header, Anomaly::Frame(FrameError::TooLarge { header, max }), &mut |e| {
            on(Input::Event(e))
        });
        return;
    }
    match parse_payload(&header, bytes.get(FRAME_HEADER_LEN..).unwrap_or_default()) {
        Ok(f) => conn.on_frame(dir, f, &mut |e| on(Input::Event(e))),
        Err(e) => conn.on_skipped_frame(dir, &header, Anomaly::Frame(e), &mut |e| on(Input::Event(e))),
    }
}

/// The first bytes of a frame too long to buffer: DATA is passed on in pieces (the state to
/// follow it is returned), any other type skipped.
fn oversized(
    conn: &mut H2Connection,
    dir: Direction,
    prefix: &[u8],
    len: usize,
    ts: Timestamp,
    on: &mut dyn FnMut(Input<'_>),
) -> Option<Streaming> {
    let header = FrameHeader::parse(prefix)?;
    on(Input::Frame { header, ts, wire: len as u64 });
    let max = conn.max_frame_size(dir);
    if header.length > max {
        conn.on_skipped_frame(dir, &header, Anomaly::Frame(FrameError::TooLarge { header, max }), &mut |e| {
            on(Input::Event(e))
        });
        return None;
    }
    if header.frame_type != FrameType::Data || header.stream_id == 0 {
        let anomaly =
            Anomaly::FrameTooLargeToBuffer { frame_type: header.frame_type, length: header.length, max: prefix.len() };
        conn.on_skipped_frame(dir, &header, anomaly, &mut |e| on(Input::Event(e)));
        return None;
    }
    let (data_start, padding) = if header.flags & flags::PADDED != 0 {
        (FRAME_HEADER_LEN + 1, usize::from(prefix.get(FRAME_HEADER_LEN).copied().unwrap_or(0)))
    } else {
        (FRAME_HEADER_LEN, 0)
    };
    let Some(data_end) = len.checked_sub(padding).filter(|&end| end >= data_start) else {
        let pad_len = u8::try_from(padding).unwrap_or(u8::MAX);
        conn.on_skipped_frame(dir, &header, Anomaly::Frame(FrameError::Padding { header, pad_len }), &mut |e| {
            on(Input::Event(e))
        });
        return None;
    };
    let end_stream = header.flags & flags::END_STREAM != 0;
    let ended = end_stream && prefix.len() >= data_end;
    let s = Streaming { stream_id: header.stream_id, data_start, data_end, len, end_stream, ended, next: prefix.len() };
    let piece = prefix.get(data_start..data_end.min(prefix.len())).unwrap_or_default();
    let flow = prefix.len() - FRAME_HEADER_LEN;
    conn.on_data_piece(dir, s.stream_id, piece, ended, flow, true, &mut |e| on(Input::Event(e)));
    Some(s)
}

/// The next piece of an oversized DATA frame, at `offset` in it.
fn tail(
    conn: &mut H2Connection,
    dir: Direction,
    s: &mut Streaming,
    bytes: &[u8],
    offset: usize,
    on: &mut dyn FnMut(Input<'_>),
) {
    if offset > s.next {
        let lost = s.data_in(s.next, offset);
        if lost > 0 {
            on(Input::DataLost { stream_id: s.stream_id, lost });
        }
    }
    let end = offset + bytes.len();
    let from = s.data_start.max(offset);
    let to = s.data_end.min(end);
    let piece = if from < to { bytes.get(from - offset..to - offset).unwrap_or_default() } else { &[] };
    let ends = s.end_stream && !s.ended && end >= s.data_end;
    s.ended |= ends;
    s.next = end;
    conn.on_data_piece(dir, s.stream_id, piece, ends, bytes.len(), false, &mut |e| on(Input::Event(e)));
}

/// A frame a capture gap took part of: DATA counts as lost (its END_STREAM still ends the
/// stream), a header block as cut.
fn damaged(conn: &mut H2Connection, dir: Direction, head: &[u8], on: &mut dyn FnMut(Input<'_>)) {
    let Some(header) = FrameHeader::parse(head) else { return };
    match header.frame_type {
        FrameType::Data if header.stream_id != 0 => {
            on(Input::DataLost { stream_id: header.stream_id, lost: u64::from(header.length) });
            if header.flags & flags::END_STREAM != 0 {
                conn.on_data_piece(dir, header.stream_id, &[], true, 0, true, &mut |e| on(Input::Event(e)));
            }
        }
        FrameType::Headers | FrameType::PushPromise | FrameType::Continuation => {
            let anomaly = Anomaly::HeaderBlockCut { stream_id: header.stream_id };
            conn.on_skipped_frame(dir, &header, anomaly, &mut |e| on(Input::Event(e)));
        }
        _ => {}
    }
}
