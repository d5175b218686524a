//! One direction of a WebSocket connection as a sequence of messages (RFC 6455 section 5.4-5.6).
//!
//! [`MessageAssembler`] takes the direction's bytes in chunks of any size and yields [`Message`]s:
//! fragments joined, control frames (which may come between fragments) reported on their own,
//! payloads unmasked and, under permessage-deflate, inflated. Frames are streamed: only a header
//! (at most 14 bytes) and the kept prefix of each payload are held, so a frame announcing 2^63
//! bytes costs nothing until its bytes arrive, and then only the prefix is kept.
//!
//! What the RFC forbids but can be stepped over is a note on the message it concerns. Only framing
//! that cannot be followed (a 64-bit length with the top bit set, a gap outside a payload) stops
//! the assembler: see [`MessageAssembler::desync`].

use super::close::Close;
use super::deflate::{Extensions, InflateError, InflateParams, Inflater};
use super::frame::{parse_header, FrameError, FrameHeader, Opcode, Parsed, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN};
use super::mask::unmask_into;
use super::utf8::Utf8Stream;
use super::Limits;
use crate::dissect::Direction;
use crate::time::Timestamp;
use std::fmt;

/// Notes kept per message; later ones are dropped.
const MAX_NOTES: usize = 8;
/// Unmasking works through a stack buffer of this size (a small one for small pieces).
const SCRATCH: usize = 4096;
const SMALL_SCRATCH: usize = 64;

/// A complete message (or what could be seen of one).
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub from: Direction,
    /// Text, Binary, Close, Ping or Pong; a reserved opcode for a frame with one; Continuation for
    /// fragments whose first frame was not seen.
    pub opcode: Opcode,
    /// The payload, unmasked and inflated: at most [`Limits::max_kept`] bytes of it (all of a
    /// control frame's up to 125 bytes).
    pub payload: Vec<u8>,
    /// The payload's length: for a compressed message the inflated bytes, counted until the end or
    /// until inflation stopped (limit, error); otherwise the frames' payload lengths added up.
    pub payload_len: u64,
    /// Bytes on the wire of this message's frames, headers included (control frames between
    /// fragments not included).
    pub wire_len: u64,
    pub frames: u64,
    /// Sent compressed with permessage-deflate (RSV1 on the first frame).
    pub compressed: bool,
    /// `payload` holds less than the message had: over the limit, bytes lost, inflation stopped,
    /// or the message was cut off.
    pub truncated: bool,
    /// The message stopped before the end of its final frame: the stream ended, framing was
    /// lost, or a new message began first. (Not set for bytes lost inside a payload or an
    /// inflation that stopped: the message itself went by whole.)
    pub cut_off: bool,
    /// For a Close: its status code and reason.
    pub close: Option<Close>,
    /// Protocol violations and problems, e.g. "text is not valid UTF-8".
    pub notes: Vec<String>,
    /// Timestamps of the chunks that carried the first and the last byte of the message.
    pub first_ts: Timestamp,
    pub last_ts: Timestamp,
    /// Offsets in this direction's stream (from the first byte fed): first byte of the first
    /// frame, and one past the last byte of the last frame.
    pub start_offset: u64,
    pub end_offset: u64,
}

impl Message {
    pub fn is_control(&self) -> bool {
        self.opcode.is_control()
    }

    /// A Text message's kept payload as text; when truncated inside a code point, up to it.
    /// None for other opcodes and for invalid UTF-8.
    pub fn text(&self) -> Option<&str> {
        if self.opcode != Opcode::Text {
            return None;
        }
        match std::str::from_utf8(&self.payload) {
            Ok(s) => Some(s),
            Err(e) if self.truncated && e.error_len().is_none() => {
                self.payload.get(..e.valid_up_to()).and_then(|p| std::str::from_utf8(p).ok())
            }
            Err(_) => None,
        }
    }
}

/// Where and why the assembler stopped following the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Desync {
    /// Stream offset of the frame header (or of the gap) that could not be followed.
    pub offset: u64,
    pub reason: DesyncReason,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DesyncReason {
    Frame(FrameError),
    /// Bytes lost outside a frame payload (or more than the rest of one): frame boundaries unknown.
    Gap {
        len: u64,
    },
}

impl fmt::Display for Desync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            DesyncReason::Frame(e) => write!(f, "framing lost at stream offset {}: {e}", self.offset),
            DesyncReason::Gap { len } => {
                write!(f, "framing lost at stream offset {}: {len} bytes not captured", self.offset)
            }
        }
    }
}

/// A message being assembled.
struct Pending {
    opcode: Opcode,
    compressed: bool,
    /// Still inflating (compressed and the inflater has not given up on it).
    inflating: bool,
    first_ts: Timestamp,
    last_ts: Timestamp,
    start_offset: u64,
    end_offset: u64,
    frames: u64,
    wire_len: u64,
    payload: Vec<u8>,
    payload_len: u64,
    keep_limit: usize,
    /// False once bytes were lost: the kept bytes must be a prefix of the payload.
    keeping: bool,
    truncated: bool,
    /// Not all of the payload went through (cut off, inflation stopped): UTF-8 validity is only
    /// judged on what was seen.
    cut: bool,
    /// The message's own end was not seen (see [`Message::cut_off`]).
    cut_off: bool,
    /// Text messages: validation, dropped once bytes are lost.
    utf8: Option<Utf8Stream>,
    notes: Vec<String>,
}

impl Pending {
    fn new(opcode: Opcode, keep_limit: usize, ts: Timestamp, start_offset: u64) -> Pending {
        Pending {
            opcode,
            compressed: false,
            inflating: false,
            first_ts: ts,
            last_ts: ts,
            start_offset,
            end_offset: start_offset,
            frames: 0,
            wire_len: 0,
            payload: Vec::new(),
            payload_len: 0,
            keep_limit,
            keeping: true,
            truncated: false,
            cut: false,
            cut_off: false,
            utf8: (opcode == Opcode::Text).then(Utf8Stream::default),
            notes: Vec::new(),
        }
    }

    fn note(&mut self, note: String) {
        if self.notes.len() < MAX_NOTES && !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    /// Payload bytes (unmasked, inflated) in order.
    fn accept(&mut self, bytes: &[u8]) {
        self.payload_len = self.payload_len.saturating_add(bytes.len() as u64);
        if self.keeping {
            let room = self.keep_limit.saturating_sub(self.payload.len());
            let (kept, rest) = bytes.split_at(room.min(bytes.len()));
            self.payload.extend_from_slice(kept);
            if !rest.is_empty() {
                self.truncated = true;
            }
        }
        if let Some(v) = self.utf8.as_mut() {
            v.push(bytes);
        }
    }

    fn cut_short(&mut self) {
        self.truncated = true;
        self.cut = true;
    }

    /// The last `len` bytes its frames announced never came: they are not counted on the wire.
    fn unsent(&mut self, len: u64) {
        self.wire_len = self.wire_len.saturating_sub(len);
        self.end_offset = self.end_offset.saturating_sub(len);
    }

    /// The message ends here without its final frame.
    fn cut_off(&mut self) {
        self.cut_short();
        self.cut_off = true;
    }

    /// Whether payload bytes need to be looked at (kept or validated), as opposed to counted.
    fn wants_bytes(&self) -> bool {
        self.inflating || self.utf8.is_some() || (self.keeping && self.payload.len() < self.keep_limit)
    }

    /// `len` payload bytes were not captured.
    fn lose(&mut self, len: u64) {
        if !self.compressed {
            self.payload_len = self.payload_len.saturating_add(len);
        }
        self.keeping = false;
        self.truncated = true;
        self.utf8 = None;
        self.note(format!("{len} payload bytes not captured"));
    }

    fn into_message(mut self, from: Direction) -> Message {
        if let Some(v) = self.utf8.take() {
            let verdict = if self.cut { v.invalid_at().map_or(Ok(()), Err) } else { v.finish() };
            if let Err(at) = verdict {
                self.note(format!("text is not valid UTF-8 (at payload byte {at})"));
            }
        }
        let close = (self.opcode == Opcode::Close).then(|| Close::parse(&self.payload, !self.truncated));
        if let Some(c) = &close {
            for p in &c.problems {
                self.note(p.clone());
            }
        }
        Message {
            from,
            opcode: self.opcode,
            payload: self.payload,
            payload_len: self.payload_len,
            wire_len: self.wire_len,
            frames: self.frames,
            compressed: self.compressed,
            truncated: self.truncated,
            cut_off: self.cut_off,
            close,
            notes: self.notes,
            first_ts: self.first_ts,
            last_ts: self.last_ts,
            start_offset: self.start_offset,
            end_offset: self.end_offset,
        }
    }
}

/// Which message a frame's payload goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// The data message (text, binary, or fragments of one).
    Data,
    /// A frame that is a message on its own: control frames, reserved opcodes.
    Single,
}

/// The frame whose payload is being read.
#[derive(Clone, Copy, Debug)]
struct InPayload {
    remaining: u64,
    /// Offset within the frame's payload (for the mask phase).
    pos: u64,
    key: Option<[u8; 4]>,
    fin: bool,
    target: Target,
}

/// Assembles one direction's messages from its bytes, fed in order in chunks of any size.
pub struct MessageAssembler {
    from: Direction,
    limits: Limits,
    /// Some when permessage-deflate is in use.
    inflater: Option<Inflater>,
    /// A header split across chunks.
    header: [u8; MAX_HEADER_LEN],
    header_len: usize,
    header_ts: Timestamp,
    header_offset: u64,
    payload: Option<InPayload>,
    data: Option<Pending>,
    single: Option<Pending>,
    /// Bytes fed and lost so far.
    offset: u64,
    close_seen: bool,
    desync: Option<Desync>,
    finished: bool,
}

impl MessageAssembler {
    /// The messages `from` sends; `deflate` when permessage-deflate was negotiated (see
    /// [`super::deflate::DeflateParams::inflate_params`]). Assumes the stream starts at the start
    /// of the WebSocket connection (right after the handshake).
    pub fn new(from: Direction, deflate: Option<InflateParams>, limits: Limits) -> MessageAssembler {
        MessageAssembler {
            from,
            limits,
            inflater: deflate.map(Inflater::new),
            header: [0; MAX_HEADER_LEN],
            header_len: 0,
            header_ts: Timestamp::ZERO,
            header_offset: 0,
            payload: None,
            data: None,
            single: None,
            offset: 0,
            close_seen: false,
            desync: None,
            finished: false,
        }
    }

    /// [`MessageAssembler::new`] with the extensions of the handshake's response.
    pub fn for_extensions(from: Direction, extensions: &Extensions, limits: Limits) -> MessageAssembler {
        MessageAssembler::new(from, extensions.deflate.map(|d| d.inflate_params(from)), limits)
    }

    /// The stream does not start at the connection's start (it starts at a frame boundary, but
    /// earlier messages were not seen): compressed messages referring to them are reported as not
    /// inflatable instead of being inflated wrongly.
    pub fn assume_mid_connection(&mut self) {
        if let Some(inf) = self.inflater.as_mut() {
            inf.lose_history();
        }
    }

    pub fn direction(&self) -> Direction {
        self.from
    }

    /// Bytes fed or lost so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Set once framing was lost; all later bytes are ignored.
    pub fn desync(&self) -> Option<&Desync> {
        self.desync.as_ref()
    }

    /// True while a message or a frame is partly read.
    pub fn in_message(&self) -> bool {
        self.header_len > 0 || self.payload.is_some() || self.data.is_some() || self.single.is_some()
    }

    /// Bytes held: partial header, kept payload prefixes, the inflater's window. Bounded by
    /// [`Limits::max_buffered`].
    pub fn buffered_bytes(&self) -> usize {
        self.header_len
            + self.data.as_ref().map_or(0, |d| d.payload.len())
            + self.single.as_ref().map_or(0, |d| d.payload.len())
            + self.inflater.as_ref().map_or(0, Inflater::buffered_bytes)
    }

    /// The next bytes of the direction, carried by a segment captured at `ts`. Finished messages
    /// are appended to `out`.
    pub fn feed(&mut self, mut data: &[u8], ts: Timestamp, out: &mut Vec<Message>) {
        if self.desync.is_some() || self.finished {
            self.offset = self.offset.saturating_add(data.len() as u64);
            return;
        }
        while !data.is_empty() {
            match self.payload {
                Some(mut p) => {
                    let n = usize::try_from(p.remaining).unwrap_or(usize::MAX).min(data.len());
                    let (piece, rest) = data.split_at(n);
                    data = rest;
                    self.payload_piece(&p, piece, ts);
                    self.offset = self.offset.saturating_add(n as u64);
                    p.remaining -= n as u64;
                    p.pos += n as u64;
                    self.payload = Some(p);
                    if p.remaining == 0 {
                        self.payload = None;
                        self.end_frame(p, out);
                    }
                }
                None => {
                    data = self.read_header(data, ts, out);
                    if self.desync.is_some() {
                        self.offset = self.offset.saturating_add(data.len() as u64);
                        return;
                    }
                }
            }
        }
    }

    /// `len` bytes of the direction were not captured. Inside a frame payload the framing is kept
    /// (the message is marked truncated); anywhere else it is lost.
    pub fn gap(&mut self, len: u64, out: &mut Vec<Message>) {
        if self.desync.is_some() || self.finished || len == 0 {
            self.offset = self.offset.saturating_add(len);
            return;
        }
        match self.payload {
            Some(mut p) if self.header_len == 0 && len <= p.remaining => {
                let pending = match p.target {
                    Target::Data => self.data.as_mut(),
                    Target::Single => self.single.as_mut(),
                };
                if let Some(m) = pending {
                    if m.inflating {
                        m.inflating = false;
                        if let Some(inf) = self.inflater.as_mut() {
                            inf.lose_input();
                            m.note(InflateError::Gap.to_string());
                        }
                    }
                    m.lose(len);
                }
                self.offset = self.offset.saturating_add(len);
                p.remaining -= len;
                p.pos += len;
                self.payload = if p.remaining == 0 { None } else { Some(p) };
                if p.remaining == 0 {
                    self.end_frame(p, out);
                }
            }
            _ => {
                let desync = Desync { offset: self.offset, reason: DesyncReason::Gap { len } };
                self.offset = self.offset.saturating_add(len);
                self.lose_sync(desync, out);
            }
        }
    }

    /// The direction ended (FIN, or the connection is gone): reports what is partly assembled and
    /// frees everything held. Later bytes are ignored.
    pub fn finish(&mut self, out: &mut Vec<Message>) {
        if self.finished {
            return;
        }
        self.finished = true;
        // The rest of the frame being read never came: it is not on the wire as far as anyone saw.
        let cut = self.payload.take();
        let unsent = |target: Target| cut.filter(|p| p.target == target).map_or(0, |p| p.remaining);
        if let Some(mut m) = self.single.take() {
            m.cut_off();
            m.unsent(unsent(Target::Single));
            m.note("stream ended inside the frame".to_owned());
            out.push(m.into_message(self.from));
        }
        if let Some(mut m) = self.data.take() {
            m.cut_off();
            let unsent = unsent(Target::Data);
            m.unsent(unsent);
            m.note(if cut.is_some_and(|p| p.target == Target::Data) {
                "stream ended inside the frame".to_owned()
            } else {
                "stream ended before the message's final fragment".to_owned()
            });
            out.push(m.into_message(self.from));
        }
        self.header_len = 0;
        if let Some(inf) = self.inflater.as_mut() {
            inf.release();
        }
    }

    /// Reads (part of) a frame header from the start of `data`; returns the bytes after it.
    fn read_header<'d>(&mut self, mut data: &'d [u8], ts: Timestamp, out: &mut Vec<Message>) -> &'d [u8] {
        if self.header_len == 0 {
            self.header_ts = ts;
            self.header_offset = self.offset;
        }
        loop {
            let buf = if self.header_len == 0 { data } else { self.header.get(..self.header_len).unwrap_or_default() };
            match parse_header(buf) {
                Err(e) => {
                    let desync = Desync { offset: self.header_offset, reason: DesyncReason::Frame(e) };
                    self.header_len = 0;
                    self.lose_sync(desync, out);
                    return data;
                }
                Ok(Parsed::Complete { value, len }) => {
                    if self.header_len == 0 {
                        data = data.get(len..).unwrap_or_default();
                        self.offset = self.offset.saturating_add(len as u64);
                    }
                    self.header_len = 0;
                    self.start_frame(value, out);
                    return data;
                }
                Ok(Parsed::Incomplete { needed }) => {
                    let want = usize::try_from(needed).unwrap_or(MAX_HEADER_LEN).min(MAX_HEADER_LEN);
                    let take = want.saturating_sub(self.header_len).min(data.len());
                    let (head, rest) = data.split_at(take);
                    if let Some(slot) = self.header.get_mut(self.header_len..self.header_len + take) {
                        slot.copy_from_slice(head);
                    }
                    self.header_len += take;
                    self.offset = self.offset.saturating_add(take as u64);
                    data = rest;
                    if self.header_len < want {
                        // All of `data` was taken and the header is still short.
                        return data;
                    }
                }
            }
        }
    }

    /// A frame header was read: checks it, attaches the frame to its message.
    fn start_frame(&mut self, h: FrameHeader, out: &mut Vec<Message>) {
        let ts = self.header_ts;
        let mut notes: Vec<String> = h.violations().iter().map(ToString::to_string).collect();
        match (self.from, h.mask.is_some()) {
            (Direction::ClientToServer, false) => notes.push("client frame not masked".to_owned()),
            (Direction::ServerToClient, true) => notes.push("server frame masked".to_owned()),
            _ => {}
        }
        let deflate = self.inflater.is_some();
        if h.rsv1() {
            match h.opcode {
                Opcode::Text | Opcode::Binary if deflate => {}
                Opcode::Continuation if deflate => notes.push("RSV1 set on a continuation frame".to_owned()),
                _ if deflate => notes.push(format!("RSV1 set on a {} frame", h.opcode.name())),
                _ => notes.push("RSV1 set without permessage-deflate".to_owned()),
            }
        }
        if h.rsv2() || h.rsv3() {
            notes.push("RSV2/RSV3 set (no extension known to use them)".to_owned());
        }
        if self.close_seen {
            notes.push("frame after this peer's Close".to_owned());
        }
        let target = match h.opcode {
            Opcode::Text | Opcode::Binary => {
                if let Some(mut prev) = self.data.take() {
                    prev.cut_off();
                    prev.note("a new message started before this one's final fragment".to_owned());
                    self.abandon_inflation(&mut prev);
                    out.push(prev.into_message(self.from));
                }
                let mut m = Pending::new(h.opcode, self.limits.max_kept, ts, self.header_offset);
                if h.rsv1() {
                    if let Some(inf) = self.inflater.as_mut() {
                        m.compressed = true;
                        m.inflating = true;
                        inf.begin_message(self.limits.max_inflated);
                    }
                }
                self.data = Some(m);
                Target::Data
            }
            Opcode::Continuation => {
                if self.data.is_none() {
                    let mut m = Pending::new(h.opcode, self.limits.max_kept, ts, self.header_offset);
                    m.truncated = true;
                    m.note("continuation without a first fragment (message began before the capture)".to_owned());
                    self.data = Some(m);
                }
                Target::Data
            }
            _ => {
                // Control frames and reserved opcodes: a message on their own.
                let keep = self.limits.max_kept.max(MAX_CONTROL_PAYLOAD as usize);
                self.single = Some(Pending::new(h.opcode, keep, ts, self.header_offset));
                Target::Single
            }
        };
        let Some(m) = (match target {
            Target::Data => self.data.as_mut(),
            Target::Single => self.single.as_mut(),
        }) else {
            return;
        };
        for n in notes {
            m.note(n);
        }
        m.frames += 1;
        m.wire_len = m.wire_len.saturating_add(h.frame_len());
        m.last_ts = ts;
        m.end_offset = self.header_offset.saturating_add(h.frame_len());
        let p = InPayload { remaining: h.payload_len, pos: 0, key: h.mask, fin: h.fin, target };
        if h.payload_len == 0 {
            self.end_frame(p, out);
        } else {
            self.payload = Some(p);
        }
    }

    /// Bytes of the current frame's payload, as on the wire.
    fn payload_piece(&mut self, p: &InPayload, piece: &[u8], ts: Timestamp) {
        let (m, inflater) = match p.target {
            Target::Data => (self.data.as_mut(), self.inflater.as_mut()),
            Target::Single => (self.single.as_mut(), None),
        };
        let Some(m) = m else { return };
        m.last_ts = ts;
        if !m.wants_bytes() {
            // Nothing more is kept: the payload is over the limit, or bytes were lost before.
            if !m.compressed {
                m.payload_len = m.payload_len.saturating_add(piece.len() as u64);
            }
            m.truncated |= !piece.is_empty();
            return;
        }
        let inflater = if m.compressed { inflater } else { None };
        // Zeroing a 4 KiB buffer for every tiny piece would dominate small writes.
        if piece.len() <= SMALL_SCRATCH {
            route(m, inflater, p, piece, &mut [0u8; SMALL_SCRATCH]);
        } else {
            route(m, inflater, p, piece, &mut [0u8; SCRATCH]);
        }
    }

    /// The current frame's payload is complete.
    fn end_frame(&mut self, p: InPayload, out: &mut Vec<Message>) {
        match p.target {
            Target::Single => {
                if let Some(m) = self.single.take() {
                    if m.opcode == Opcode::Close {
                        self.close_seen = true;
                    }
                    out.push(m.into_message(self.from));
                }
            }
            Target::Data if p.fin => {
                let Some(mut m) = self.data.take() else { return };
                if m.inflating {
                    if let Some(inf) = self.inflater.as_mut() {
                        match inf.end_message(&mut |o: &[u8]| m.accept(o)) {
                            Ok(0) => {}
                            Ok(n) => m.note(format!("{n} compressed bytes after the final DEFLATE block")),
                            Err(e) => {
                                m.cut_short();
                                m.note(e.to_string());
                            }
                        }
                    }
                }
                out.push(m.into_message(self.from));
            }
            Target::Data => {}
        }
    }

    /// A message stops before its end while being inflated: the inflater's state is unusable.
    fn abandon_inflation(&mut self, m: &mut Pending) {
        if m.inflating {
            m.inflating = false;
            if let Some(inf) = self.inflater.as_mut() {
                inf.abandon_message();
            }
        }
    }

    fn lose_sync(&mut self, desync: Desync, out: &mut Vec<Message>) {
        let note = desync.to_string();
        for mut m in [self.single.take(), self.data.take()].into_iter().flatten() {
            m.cut_off();
            m.note(note.clone());
            self.abandon_inflation(&mut m);
            out.push(m.into_message(self.from));
        }
        self.payload = None;
        self.header_len = 0;
        if let Some(inf) = self.inflater.as_mut() {
            inf.release();
        }
        self.desync = Some(desync);
    }
}

/// Unmasks `piece` (payload bytes of frame `p`) through `scratch` into the message: inflated when
/// `inflater` is given (the message is compressed), as is otherwise.
fn route(m: &mut Pending, mut inflater: Option<&mut Inflater>, p: &InPayload, piece: &[u8], scratch: &mut [u8]) {
    let mut pos = p.pos;
    for chunk in piece.chunks(scratch.len().max(1)) {
        let bytes = match p.key {
            Some(key) => {
                let n = unmask_into(chunk, scratch, key, pos);
                scratch.get(..n).unwrap_or_default()
            }
            None => chunk,
        };
        pos += chunk.len() as u64;
        match inflater.as_deref_mut() {
            Some(inf) if m.inflating => {
                let res = inf.push(bytes, &mut |o: &[u8]| m.accept(o));
                if let Err(e) = res {
                    m.inflating = false;
                    m.cut_short();
                    m.note(e.to_string());
                }
            }
            Some(_) => return,
            None => m.accept(bytes),
        }
    }
}
