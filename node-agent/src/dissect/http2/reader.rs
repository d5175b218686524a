//! One direction's bytes into frames for [`H2Connection`]: the preface, partial frames across
//! segments, DATA frames too large to buffer (passed on in pieces), skipping malformed or
//! oversized frames, and finding frames again after a gap.

use super::connection::{Anomaly, Event, H2Connection};
use super::frame::{
    frame_chain, match_preface, parse_payload, FrameError, FrameHeader, FrameType, PrefaceMatch, CHAIN, CLIENT_PREFACE,
    DEFAULT_MAX_FRAME_SIZE, FRAME_HEADER_LEN,
};
use crate::dissect::Direction;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The client's preface is expected (held in `buf`).
    Preface,
    /// Between frames; `buf` holds the start of the next header.
    Header,
    /// `buf` holds the header and part of the payload of a frame to parse whole.
    Payload { header: FrameHeader },
    /// Inside a DATA frame passed on in pieces.
    Data { header: FrameHeader, pad_length_due: bool, data_left: usize, padding_left: usize, first: bool },
    /// Inside a frame being skipped.
    Skip { remaining: usize },
    /// After a gap: `buf` holds bytes in which to find frames again; offsets before `scan_from`
    /// were ruled out (and dropped).
    Resync,
}

/// The frame reader of one direction. Holds at most `max_buffered` bytes.
#[derive(Debug)]
pub struct FrameReader {
    buf: Vec<u8>,
    state: State,
    max_buffered: usize,
}

impl FrameReader {
    /// `expect_preface`: the client side of a connection seen from its start. `max_buffered`
    /// (at least a default-size frame) bounds the frame kept whole; larger DATA frames are passed
    /// on in pieces, larger frames of other types skipped.
    pub fn new(expect_preface: bool, max_buffered: usize) -> Self {
        let state = if expect_preface { State::Preface } else { State::Header };
        let max_buffered = max_buffered.max(FRAME_HEADER_LEN + DEFAULT_MAX_FRAME_SIZE as usize);
        FrameReader { buf: Vec::new(), state, max_buffered }
    }

    /// A reader for bytes that may start anywhere (the middle of a connection, of a frame):
    /// it looks for frames first, as after a gap.
    pub fn resyncing(max_buffered: usize) -> Self {
        FrameReader { state: State::Resync, ..FrameReader::new(false, max_buffered) }
    }

    /// Heap bytes held.
    pub fn buffered_bytes(&self) -> usize {
        self.buf.capacity()
    }

    /// The most [`FrameReader::buffered_bytes`] can be.
    pub fn max_buffered(&self) -> usize {
        self.max_buffered
    }

    /// True while looking for frames after a gap.
    pub fn is_resyncing(&self) -> bool {
        self.state == State::Resync
    }

    /// Reads `data` (what `dir` sent next) and passes its frames to `conn`.
    pub fn feed(&mut self, conn: &mut H2Connection, dir: Direction, mut input: &[u8], emit: &mut dyn FnMut(Event<'_>)) {
        while !input.is_empty() {
            match self.state {
                State::Preface => {
                    let take = (CLIENT_PREFACE.len() - self.buf.len()).min(input.len());
                    let (head, rest) = input.split_at(take);
                    self.buf.extend_from_slice(head);
                    input = rest;
                    match match_preface(&self.buf) {
                        PrefaceMatch::Partial => {}
                        PrefaceMatch::Complete => {
                            self.release();
                            self.state = State::Header;
                        }
                        PrefaceMatch::Mismatch => {
                            conn.on_bad_preface(dir, emit);
                            let held = std::mem::take(&mut self.buf);
                            self.state = State::Resync;
                            self.feed(conn, dir, &held, emit);
                        }
                    }
                }
                State::Header if self.buf.is_empty() => {
                    let Some(header) = FrameHeader::parse(input) else {
                        self.buf.extend_from_slice(input);
                        return;
                    };
                    if !self.on_header(conn, dir, header, emit) {
                        input = input.get(FRAME_HEADER_LEN..).unwrap_or_default();
                    } else if let Some((frame, rest)) = input.split_at_checked(header.frame_len()) {
                        // The usual case: the whole frame is in the input; nothing is copied.
                        self.state = State::Header;
                        self.parse(conn, dir, &header, frame.get(FRAME_HEADER_LEN..).unwrap_or_default(), emit);
                        input = rest;
                    } else {
                        // Shorter than the frame, which fits in `max_buffered`.
                        self.buf.extend_from_slice(input);
                        return;
                    }
                }
                State::Header => {
                    let take = (FRAME_HEADER_LEN - self.buf.len()).min(input.len());
                    let (head, rest) = input.split_at(take);
                    self.buf.extend_from_slice(head);
                    input = rest;
                    if let Some(header) = FrameHeader::parse(&self.buf) {
                        let whole = self.on_header(conn, dir, header, emit);
                        if !whole {
                            self.release();
                        } else if header.length == 0 {
                            self.state = State::Header;
                            self.release();
                            self.parse(conn, dir, &header, &[], emit);
                        }
                    }
                }
                State::Payload { header } => {
                    let take = (header.frame_len() - self.buf.len()).min(input.len());
                    let (head, rest) = input.split_at(take);
                    self.buf.extend_from_slice(head);
                    input = rest;
                    if self.buf.len() == header.frame_len() {
                        let frame = std::mem::take(&mut self.buf);
                        self.state = State::Header;
                        self.parse(conn, dir, &header, frame.get(FRAME_HEADER_LEN..).unwrap_or_default(), emit);
                        self.buf = frame;
                        self.buf.clear();
                        if self.buf.capacity() > self.max_buffered {
                            self.release();
                        }
                    }
                }
                State::Data { header, pad_length_due: true, data_left, first, .. } => {
                    let Some((&pad, rest)) = input.split_first() else { return };
                    input = rest;
                    let pad = usize::from(pad);
                    if pad > data_left {
                        let e = FrameError::Padding { header, pad_len: pad as u8 };
                        conn.on_skipped_frame(dir, &header, Anomaly::Frame(e), emit);
                        self.state = State::Skip { remaining: data_left };
                        continue;
                    }
                    conn.on_data_piece(dir, header.stream_id, &[], false, 1, first, emit);
                    self.state = State::Data {
                        header,
                        pad_length_due: false,
                        data_left: data_left - pad,
                        padding_left: pad,
                        first: false,
                    };
                }
                State::Data { header, pad_length_due: false, data_left, padding_left, first } => {
                    let (piece, rest) = input.split_at(data_left.min(input.len()));
                    input = rest;
                    let data_left = data_left - piece.len();
                    let end = data_left == 0;
                    let end_stream = end && header.flags & super::frame::flags::END_STREAM != 0;
                    let flow = piece.len() + if end { padding_left } else { 0 };
                    conn.on_data_piece(dir, header.stream_id, piece, end_stream, flow, first, emit);
                    self.state = match (end, padding_left) {
                        (false, _) => {
                            State::Data { header, pad_length_due: false, data_left, padding_left, first: false }
                        }
                        (true, 0) => State::Header,
                        (true, remaining) => State::Skip { remaining },
                    };
                }
                State::Skip { remaining } => {
                    let n = remaining.min(input.len());
                    input = input.get(n..).unwrap_or_default();
                    self.state = if n == remaining { State::Header } else { State::Skip { remaining: remaining - n } };
                }
                State::Resync => {
                    let take = (self.max_buffered + 1).saturating_sub(self.buf.len()).min(input.len()).max(1);
                    let (head, rest) = input.split_at(take.min(input.len()));
                    self.buf.reserve_exact(head.len());
                    self.buf.extend_from_slice(head);
                    input = rest;
                    if let Some(held) = self.resync() {
                        self.state = State::Header;
                        self.feed(conn, dir, &held, emit);
                    }
                }
            }
        }
    }

    /// Looks for frames in `buf`; on success returns the bytes from there (and empties `buf`).
    ///
    /// Offsets are judged in order, each on at most `max_buffered` bytes from it, and only once
    /// the judgement is final, so the result does not depend on how the bytes arrived: an offset
    /// is taken when [`CHAIN`] plausible frames follow from it, or at least two fill its window;
    /// it is ruled out when something is implausible or its window is full with fewer.
    fn resync(&mut self) -> Option<Vec<u8>> {
        let mut from = 0;
        let found = loop {
            let Some(window) = self.buf.get(from..(from + self.max_buffered).min(self.buf.len())) else { break false };
            if window.is_empty() {
                break false;
            }
            let full = window.len() == self.max_buffered;
            match frame_chain(window) {
                Some(CHAIN) => break true,
                Some(n) if full && n >= 2 => break true,
                Some(_) if !full => break false,
                _ => from += 1,
            }
        };
        self.buf.drain(..from);
        found.then(|| std::mem::take(&mut self.buf))
    }

    /// `dir` lost bytes (a capture gap): frames are found again in what follows.
    pub fn on_gap(&mut self, conn: &mut H2Connection, dir: Direction, emit: &mut dyn FnMut(Event<'_>)) {
        self.release();
        self.state = State::Resync;
        conn.on_gap(dir, emit);
    }

    /// `dir` ended: a partial frame is dropped, an open header block cut.
    pub fn on_end(&mut self, conn: &mut H2Connection, dir: Direction, emit: &mut dyn FnMut(Event<'_>)) {
        self.release();
        self.state = State::Header;
        conn.on_end(dir, emit);
    }

    fn release(&mut self) {
        self.buf = Vec::new();
    }

    /// Decides what to do with the frame whose header was just read: returns true to parse it
    /// whole (state `Payload`), else sets the state to stream or skip its payload.
    fn on_header(
        &mut self,
        conn: &mut H2Connection,
        dir: Direction,
        header: FrameHeader,
        emit: &mut dyn FnMut(Event<'_>),
    ) -> bool {
        let max = conn.max_frame_size(dir);
        let length = header.length as usize;
        if header.length > max {
            let e = FrameError::TooLarge { header, max };
            conn.on_skipped_frame(dir, &header, Anomaly::Frame(e), emit);
        } else if header.frame_len() <= self.max_buffered {
            self.state = State::Payload { header };
            self.buf.reserve_exact(header.frame_len().saturating_sub(self.buf.len()));
            return true;
        } else if header.frame_type == FrameType::Data && header.stream_id != 0 {
            let padded = header.flags & super::frame::flags::PADDED != 0;
            self.state = State::Data {
                header,
                pad_length_due: padded,
                data_left: length - usize::from(padded),
                padding_left: 0,
                first: true,
            };
            return false;
        } else {
            let anomaly = Anomaly::FrameTooLargeToBuffer {
                frame_type: header.frame_type,
                length: header.length,
                max: self.max_buffered,
            };
            conn.on_skipped_frame(dir, &header, anomaly, emit);
        }
        self.state = if length == 0 { State::Header } else { State::Skip { remaining: length } };
        false
    }

    fn parse(
        &mut self,
        conn: &mut H2Connection,
        dir: Direction,
        header: &FrameHeader,
        payload: &[u8],
        emit: &mut dyn FnMut(Event<'_>),
    ) {
        match parse_payload(header, payload) {
            Ok(frame) => conn.on_frame(dir, frame, emit),
            Err(e) => conn.on_skipped_frame(dir, header, Anomaly::Frame(e), emit),
        }
    }
}
