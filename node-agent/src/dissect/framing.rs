//! Framing for length-prefixed protocols (HTTP/2, gRPC, and next Kafka, PostgreSQL, MySQL,
//! MongoDB, AMQP): one direction's byte stream cut into frames, whatever the segmentation.
//!
//! A protocol describes its frames with a [`FrameFormat`] (how long is the frame that starts
//! here; where might one start after a gap); a [`Framer`] per direction does the rest, the way
//! Pixie's event parser and Suricata's `AppLayerResult::incomplete(consumed, needed)` do:
//! - buffers only a frame that is not complete yet, and only up to what that frame needs (frames
//!   that lie whole inside the received bytes are handed out as slices of them, no copy);
//! - enforces a size limit: a frame longer than `max_frame` is handed out as its first
//!   `max_frame` bytes ([`Framed::Oversized`]) and the rest streams through as it arrives
//!   ([`Framed::Tail`]), never buffered (a protocol that does not want it ignores the tail);
//! - after a capture gap inside a frame of known length, drops that frame
//!   ([`Framed::Damaged`]) and carries on at the next boundary, which the length tells;
//! - after a gap it cannot place, or bytes that cannot start a frame, resynchronises: it asks the
//!   format where a frame plausibly starts and reports what it skipped ([`Framed::Skipped`]),
//!   within a budget of bytes searched (bytes lost to gaps cost no search and do not count),
//!   after which the direction stops ([`Framed::Lost`]).
//!
//! The frames and events depend on the bytes alone, never on where segments ended: the unit
//! tests feed every split, and every protocol's tests do the same through this.

use crate::time::Timestamp;
use thiserror::Error;

/// What the first bytes of a frame say about its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameLength {
    /// The whole frame, header included, is this many bytes.
    Total(usize),
    /// At least this many bytes (from the frame's start) are needed to tell.
    NeedHeader(usize),
}

/// These bytes cannot be the start of a frame of this protocol.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("not a frame start: {0}")]
pub struct NotAFrame(pub &'static str);

/// The answer of [`FrameFormat::resync`] about a buffer of bytes after lost sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resync {
    /// A frame starts at this offset.
    At(usize),
    /// A frame may start at this offset; more bytes are needed to tell (keep them).
    NeedMore(usize),
    /// No frame starts before this offset; the bytes from it on may still begin one.
    NotBefore(usize),
}

/// How a protocol's frames are delimited.
pub trait FrameFormat {
    /// The length of the frame that starts at `head[0]` (`head` may hold more than the frame).
    fn frame_length(&mut self, head: &[u8]) -> Result<FrameLength, NotAFrame>;
    /// Where in `data` (bytes after lost sync) a frame plausibly starts. The default finds none,
    /// so a protocol without a recognisable frame start stops at the first gap it cannot place.
    fn resync(&mut self, data: &[u8]) -> Resync {
        Resync::NotBefore(data.len())
    }
}

/// What a [`Framer`] hands out.
#[derive(Debug, PartialEq, Eq)]
pub enum Framed<'a> {
    /// A whole frame, header included; `ts` is the capture time of its first byte.
    Frame { bytes: &'a [u8], ts: Timestamp },
    /// A frame longer than the limit: its first `prefix.len()` bytes; the rest follows as
    /// [`Framed::Tail`] pieces.
    Oversized { prefix: &'a [u8], len: usize, ts: Timestamp },
    /// The next bytes of an oversized frame of `len` bytes, starting at `offset` within it (an
    /// offset that jumps means a capture gap took the bytes in between).
    Tail { bytes: &'a [u8], offset: usize, len: usize, ts: Timestamp },
    /// A capture gap took `lost` bytes of a frame of `len` bytes; `head` is what arrived of it
    /// before the gap. The frame is dropped; framing continues after it.
    Damaged { head: &'a [u8], len: usize, lost: u64 },
    /// The format said the bytes at the current position cannot start a frame (`reason`); the
    /// framer looks for the next start from the byte after.
    Invalid { reason: &'static str },
    /// Bytes skipped (lost to a gap, or not a frame) before the next frame start was found.
    Skipped { bytes: u64 },
    /// No frame start was found within the budget: this direction is not followed any more.
    Lost { skipped: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Framing,
    /// Skipping the rest of a damaged frame.
    Skip(u64),
    /// Streaming the rest of an oversized frame of `len` bytes, from `offset` on.
    Tail {
        offset: usize,
        len: usize,
    },
    /// Looking for a frame start: `skipped` bytes lost or discarded so far, `scanned` of them
    /// searched (the budget counts these).
    Resync {
        skipped: u64,
        scanned: u64,
    },
    Stopped,
}

/// Why `frame_length`'s answer stops framing here.
fn invalid_reason(answer: Result<FrameLength, NotAFrame>) -> &'static str {
    match answer {
        Err(NotAFrame(reason)) => reason,
        Ok(FrameLength::Total(_)) => "a frame of length 0",
        Ok(FrameLength::NeedHeader(_)) => "a header longer than the frame limit",
    }
}

/// One direction of a connection, cut into frames.
#[derive(Debug)]
pub struct Framer {
    mode: Mode,
    /// An incomplete frame (framing) or the bytes searched for a frame start (resynchronising).
    buf: Vec<u8>,
    /// Where in `buf` the bytes of each capture time begin (the first at 0): bytes that waited in
    /// the buffer keep the time they arrived, whatever was dropped before them.
    buf_ts: Vec<(usize, Timestamp)>,
    /// The total length of the frame at the front of `buf`, once its header was read.
    front_len: Option<usize>,
    max_frame: usize,
    resync_budget: u64,
}

/// Capture times remembered for the bytes of the buffer (beyond it, later bytes share the last).
const MAX_TIME_MARKS: usize = 64;

/// Bytes a direction may skip while resynchronising before it gives up, by default.
pub const DEFAULT_RESYNC_BUDGET: u64 = 1 << 20;

impl Framer {
    /// A framer that keeps frames of up to `max_frame` bytes whole.
    pub fn new(max_frame: usize) -> Self {
        Framer {
            mode: Mode::Framing,
            buf: Vec::new(),
            buf_ts: Vec::new(),
            front_len: None,
            max_frame: max_frame.max(1),
            resync_budget: DEFAULT_RESYNC_BUDGET,
        }
    }

    /// Starts by looking for a frame start (a connection picked up mid-way).
    pub fn resynchronising(mut self) -> Self {
        self.mode = Mode::Resync { skipped: 0, scanned: 0 };
        self
    }

    pub fn with_resync_budget(mut self, bytes: u64) -> Self {
        self.resync_budget = bytes;
        self
    }

    /// Bytes held now (an incomplete frame, or candidates while resynchronising).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The most [`Framer::buffered`] can be between calls.
    pub fn max_buffered(&self) -> usize {
        self.max_frame
    }

    /// This direction is no longer followed.
    pub fn is_stopped(&self) -> bool {
        self.mode == Mode::Stopped
    }

    /// The direction ended: a frame it left incomplete can never complete. Returns the bytes dropped.
    pub fn end(&mut self) -> usize {
        let dropped = self.buf.len();
        self.buf = Vec::new();
        self.front_len = None;
        dropped
    }

    /// Stops following the direction (the protocol gave up on it).
    pub fn stop(&mut self) {
        self.mode = Mode::Stopped;
        self.buf = Vec::new();
        self.buf_ts = Vec::new();
        self.front_len = None;
    }

    /// Feeds the next bytes of the direction, captured at `ts`.
    pub fn push<F: FrameFormat + ?Sized>(
        &mut self,
        format: &mut F,
        mut data: &[u8],
        ts: Timestamp,
        on: &mut dyn FnMut(Framed<'_>),
    ) {
        loop {
            match self.mode {
                Mode::Stopped => return,
                Mode::Skip(n) => {
                    if data.is_empty() {
                        return;
                    }
                    let k = (data.len() as u64).min(n);
                    data = data.get(k as usize..).unwrap_or_default();
                    self.mode = if k == n { Mode::Framing } else { Mode::Skip(n - k) };
                }
                Mode::Tail { offset, len } => {
                    if data.is_empty() {
                        return;
                    }
                    let k = (len - offset).min(data.len());
                    on(Framed::Tail { bytes: &data[..k], offset, len, ts });
                    data = &data[k..];
                    self.mode = if offset + k == len { Mode::Framing } else { Mode::Tail { offset: offset + k, len } };
                }
                Mode::Resync { skipped, scanned } => {
                    let k = self.max_frame.saturating_sub(self.buf.len()).min(data.len());
                    self.append(&data[..k], ts);
                    data = &data[k..];
                    if self.buf.is_empty() || !self.resync_step(format, skipped, scanned, on) && data.is_empty() {
                        return;
                    }
                }
                Mode::Framing if self.buf.is_empty() => {
                    let used = self.frames_in_place(format, data, ts, on);
                    data = &data[used..];
                    if self.mode == Mode::Framing {
                        // What is left starts a frame that is not complete yet.
                        self.append(data, ts);
                        return;
                    }
                }
                Mode::Framing => {
                    let used = self.frames_in_buffer(format, data, ts, on);
                    data = &data[used..];
                    if self.mode == Mode::Framing && !self.buf.is_empty() {
                        // The front frame waits for more input (all of `data` went into it).
                        return;
                    }
                }
            }
        }
    }

    /// `len` bytes of the direction were not captured.
    pub fn gap(&mut self, len: u64, on: &mut dyn FnMut(Framed<'_>)) {
        match self.mode {
            Mode::Stopped => {}
            Mode::Skip(n) if len < n => self.mode = Mode::Skip(n - len),
            Mode::Skip(n) if len == n => self.mode = Mode::Framing,
            Mode::Skip(n) => self.lose_sync(len - n, on),
            Mode::Tail { offset, len: total } => {
                let missing = (total - offset) as u64;
                if len < missing {
                    self.mode = Mode::Tail { offset: offset + len as usize, len: total };
                } else if len == missing {
                    self.mode = Mode::Framing;
                } else {
                    self.lose_sync(len - missing, on);
                }
            }
            Mode::Resync { skipped, .. } => {
                // Candidates cannot continue across the gap; the search starts afresh after it.
                let had = self.buf.len() as u64;
                self.clear_buf();
                self.mode = Mode::Resync { skipped: skipped + had + len, scanned: 0 };
            }
            Mode::Framing => match self.front_len {
                Some(total) if !self.buf.is_empty() => {
                    let missing = total.saturating_sub(self.buf.len()) as u64;
                    on(Framed::Damaged { head: &self.buf, len: total, lost: len.min(missing) });
                    self.clear_buf();
                    self.front_len = None;
                    if len < missing {
                        self.mode = Mode::Skip(missing - len);
                    } else if len > missing {
                        self.lose_sync(len - missing, on);
                    }
                }
                _ => {
                    let had = self.buf.len() as u64;
                    self.lose_sync(len + had, on);
                }
            },
        }
    }

    fn append(&mut self, data: &[u8], ts: Timestamp) {
        if data.is_empty() {
            return;
        }
        if self.buf.is_empty() {
            self.buf_ts.clear();
        }
        if self.buf_ts.last().is_none_or(|&(_, last)| last != ts) && self.buf_ts.len() < MAX_TIME_MARKS {
            self.buf_ts.push((self.buf.len(), ts));
        }
        self.buf.extend_from_slice(data);
    }

    /// Capture time of `buf[0]`.
    fn front_ts(&self) -> Timestamp {
        self.buf_ts.first().map_or(Timestamp::ZERO, |&(_, ts)| ts)
    }

    /// Drops the first `n` bytes of the buffer.
    fn consume(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.buf.drain(..n);
        // The mark in force at `n` becomes the front one.
        let keep_from = self.buf_ts.iter().rposition(|&(at, _)| at <= n).unwrap_or(0);
        self.buf_ts.drain(..keep_from);
        for (i, mark) in self.buf_ts.iter_mut().enumerate() {
            mark.0 = if i == 0 { 0 } else { mark.0 - n };
        }
        if self.buf.is_empty() {
            self.buf_ts.clear();
        }
    }

    fn clear_buf(&mut self) {
        self.buf.clear();
        self.buf_ts.clear();
    }

    /// A gap took `lost` bytes where no frame boundary is known: search for the next start.
    fn lose_sync(&mut self, lost: u64, _on: &mut dyn FnMut(Framed<'_>)) {
        self.clear_buf();
        self.front_len = None;
        self.mode = Mode::Resync { skipped: lost, scanned: 0 };
    }

    fn set_resync(&mut self, skipped: u64, scanned: u64, on: &mut dyn FnMut(Framed<'_>)) {
        if scanned > self.resync_budget {
            self.stop();
            on(Framed::Lost { skipped });
        } else {
            self.mode = Mode::Resync { skipped, scanned };
        }
    }

    /// Bytes at the front of the buffer cannot start a frame: look for the next start, past the
    /// first byte (so that the format's two answers cannot send the framer round in a circle).
    fn invalid_front(&mut self, reason: &'static str, on: &mut dyn FnMut(Framed<'_>)) {
        on(Framed::Invalid { reason });
        self.front_len = None;
        if !self.buf.is_empty() {
            self.consume(1);
        }
        self.set_resync(1, 1, on);
    }

    /// One look for a frame start in the buffer. Returns whether it changed anything (so that the
    /// caller may go on without new input).
    fn resync_step<F: FrameFormat + ?Sized>(
        &mut self,
        format: &mut F,
        skipped: u64,
        scanned: u64,
        on: &mut dyn FnMut(Framed<'_>),
    ) -> bool {
        let full = self.buf.len() >= self.max_frame;
        let (drop, found) = match format.resync(&self.buf) {
            Resync::At(i) => (i.min(self.buf.len()), true),
            Resync::NeedMore(i) | Resync::NotBefore(i) => {
                let i = i.min(self.buf.len());
                // A full buffer that still needs more can never get it: give up its first byte.
                (if i == 0 && full { 1 } else { i }, false)
            }
        };
        self.consume(drop);
        let (skipped, scanned) = (skipped + drop as u64, scanned + drop as u64);
        if found {
            if skipped > 0 {
                on(Framed::Skipped { bytes: skipped });
            }
            self.mode = Mode::Framing;
            self.front_len = None;
            return true;
        }
        self.set_resync(skipped, scanned, on);
        drop > 0
    }

    /// Frames that lie whole in `data` (the buffer is empty), handed out in place. Returns the
    /// bytes used; stops at an incomplete frame, or when the mode changes.
    fn frames_in_place<F: FrameFormat + ?Sized>(
        &mut self,
        format: &mut F,
        data: &[u8],
        ts: Timestamp,
        on: &mut dyn FnMut(Framed<'_>),
    ) -> usize {
        let mut pos = 0;
        while let Some(rest) = data.get(pos..).filter(|r| !r.is_empty()) {
            match format.frame_length(rest) {
                Ok(FrameLength::Total(len)) if len > 0 => {
                    if len > self.max_frame {
                        if rest.len() < self.max_frame {
                            self.front_len = Some(len);
                            return pos;
                        }
                        on(Framed::Oversized { prefix: &rest[..self.max_frame], len, ts });
                        pos += self.max_frame;
                        self.mode = Mode::Tail { offset: self.max_frame, len };
                        return pos;
                    }
                    match rest.get(..len) {
                        Some(bytes) => on(Framed::Frame { bytes, ts }),
                        None => {
                            self.front_len = Some(len);
                            return pos;
                        }
                    }
                    pos += len;
                }
                Ok(FrameLength::NeedHeader(n)) if n > rest.len() && n <= self.max_frame => return pos,
                other => {
                    // Not a frame start (or a format that contradicts itself): resynchronise
                    // from the next byte.
                    on(Framed::Invalid { reason: invalid_reason(other) });
                    self.set_resync(1, 1, on);
                    return pos + 1;
                }
            }
        }
        pos
    }

    /// Works off the buffer: completes the frame at its front from `data` (taking no more than
    /// it needs) and hands out the frames it holds. Returns the bytes of `data` used.
    fn frames_in_buffer<F: FrameFormat + ?Sized>(
        &mut self,
        format: &mut F,
        data: &[u8],
        ts: Timestamp,
        on: &mut dyn FnMut(Framed<'_>),
    ) -> usize {
        let mut used = 0;
        while self.mode == Mode::Framing && !self.buf.is_empty() {
            let target = match self.front_len {
                Some(total) => total.min(self.max_frame),
                None => match format.frame_length(&self.buf) {
                    Ok(FrameLength::Total(total)) if total > 0 => {
                        self.front_len = Some(total);
                        continue;
                    }
                    Ok(FrameLength::NeedHeader(n)) if n > self.buf.len() && n <= self.max_frame => n,
                    other => {
                        self.invalid_front(invalid_reason(other), on);
                        return used;
                    }
                },
            };
            if self.buf.len() < target {
                let k = (target - self.buf.len()).min(data.len() - used);
                self.append(&data[used..used + k], ts);
                used += k;
                if self.buf.len() < target {
                    return used;
                }
            }
            let Some(total) = self.front_len else { continue };
            let ts = self.front_ts();
            if total <= self.max_frame {
                on(Framed::Frame { bytes: &self.buf[..target], ts });
            } else {
                on(Framed::Oversized { prefix: &self.buf[..target], len: total, ts });
            }
            self.front_len = None;
            if total > target {
                // The rest of an oversized frame may already be in the buffer (after resynchronising).
                let from_buf = (self.buf.len() - target).min(total - target);
                if from_buf > 0 {
                    on(Framed::Tail { bytes: &self.buf[target..target + from_buf], offset: target, len: total, ts });
                }
                self.consume(target + from_buf);
                if target + from_buf < total {
                    self.mode = Mode::Tail { offset: target + from_buf, len: total };
                }
            } else {
                self.consume(target);
            }
        }
        used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames of the test protocol: a magic byte 0xAA, a 1-byte payload length, the payload.
    struct Magic;

    impl FrameFormat for Magic {
        fn frame_length(&mut self, head: &[u8]) -> Result<FrameLength, NotAFrame> {
            match head {
                [] | [0xAA] => Ok(FrameLength::NeedHeader(2)),
                [0xAA, len, ..] => Ok(FrameLength::Total(2 + *len as usize)),
                _ => Err(NotAFrame("no magic byte")),
            }
        }
        fn resync(&mut self, data: &[u8]) -> Resync {
            match data.iter().position(|&b| b == 0xAA) {
                Some(i) => Resync::At(i),
                None => Resync::NotBefore(data.len()),
            }
        }
    }

    #[derive(Debug, PartialEq, Eq)]
    enum Ev {
        Frame(Vec<u8>),
        Oversized(Vec<u8>, usize),
        /// Tail pieces of one frame joined (a split must not change what arrives, only in how many pieces).
        Tail(Vec<u8>, usize),
        Damaged(Vec<u8>, usize, u64),
        Skipped(u64),
        Lost(u64),
        Invalid,
    }

    fn record(out: &mut Vec<Ev>) -> impl FnMut(Framed<'_>) + '_ {
        |f| {
            let ev = match f {
                Framed::Frame { bytes, .. } => Ev::Frame(bytes.to_vec()),
                Framed::Oversized { prefix, len, .. } => Ev::Oversized(prefix.to_vec(), len),
                Framed::Tail { bytes, offset, .. } => {
                    if let Some(Ev::Tail(b, start)) = out.last_mut() {
                        if *start + b.len() == offset {
                            b.extend_from_slice(bytes);
                            return;
                        }
                    }
                    Ev::Tail(bytes.to_vec(), offset)
                }
                Framed::Damaged { head, len, lost } => Ev::Damaged(head.to_vec(), len, lost),
                Framed::Skipped { bytes } => Ev::Skipped(bytes),
                Framed::Lost { skipped } => Ev::Lost(skipped),
                Framed::Invalid { .. } => Ev::Invalid,
            };
            out.push(ev);
        }
    }

    /// Feeds `parts` (data, or a gap of n bytes as `Err(n)`), each data part split at `cut`.
    fn run(framer: Framer, parts: &[Result<&[u8], u64>], cuts: &[usize]) -> (Vec<Ev>, Framer) {
        let mut framer = framer;
        let mut out = Vec::new();
        for part in parts {
            match part {
                Ok(data) => {
                    let mut at = 0;
                    for &c in cuts.iter().filter(|&&c| c > 0 && c < data.len()).chain([&data.len()]) {
                        if c > at {
                            framer.push(&mut Magic, &data[at..c], Timestamp::ZERO, &mut record(&mut out));
                            at = c;
                        }
                    }
                }
                Err(n) => framer.gap(*n, &mut record(&mut out)),
            }
            assert!(framer.buffered() <= framer.max_buffered());
        }
        (out, framer)
    }

    /// Every split into two and into single bytes gives the same events as one push.
    fn same_for_every_split(max: usize, parts: &[Result<&[u8], u64>]) -> Vec<Ev> {
        let (whole, _) = run(Framer::new(max), parts, &[]);
        let longest = parts.iter().filter_map(|p| p.as_ref().ok()).map(|d| d.len()).max().unwrap_or(0);
        for cut in 1..longest {
            assert_eq!(run(Framer::new(max), parts, &[cut]).0, whole, "split at {cut}");
        }
        let bytewise: Vec<usize> = (1..longest).collect();
        assert_eq!(run(Framer::new(max), parts, &bytewise).0, whole, "byte by byte");
        whole
    }

    #[test]
    fn frames_come_out_whole_whatever_the_segmentation() {
        let data = [0xAA, 2, b'h', b'i', 0xAA, 0, 0xAA, 3, 1, 2, 3, 0xAA, 1];
        let ev = same_for_every_split(16, &[Ok(&data)]);
        assert_eq!(
            ev,
            vec![Ev::Frame(vec![0xAA, 2, b'h', b'i']), Ev::Frame(vec![0xAA, 0]), Ev::Frame(vec![0xAA, 3, 1, 2, 3])]
        );
    }

    #[test]
    fn oversized_frames_give_their_prefix_and_are_skipped_without_buffering() {
        let mut data = vec![0xAA, 10];
        data.extend(1..=10);
        data.extend([0xAA, 1, 7]);
        let ev = same_for_every_split(5, &[Ok(&data)]);
        assert_eq!(
            ev,
            vec![
                Ev::Oversized(vec![0xAA, 10, 1, 2, 3], 12),
                Ev::Tail((4..=10).collect(), 5),
                Ev::Frame(vec![0xAA, 1, 7])
            ]
        );
        // A gap inside the tail shows as a jump in the offset; framing goes on after the frame.
        let ev = same_for_every_split(5, &[Ok(&data[..7]), Err(3), Ok(&data[10..])]);
        assert_eq!(
            ev,
            vec![
                Ev::Oversized(vec![0xAA, 10, 1, 2, 3], 12),
                Ev::Tail(vec![4, 5], 5),
                Ev::Tail(vec![9, 10], 10),
                Ev::Frame(vec![0xAA, 1, 7])
            ]
        );
    }

    #[test]
    fn a_gap_inside_a_frame_of_known_length_keeps_sync() {
        // Frame of 6 bytes: 3 arrive, 2 are lost, 1 arrives; then a whole frame.
        let ev = same_for_every_split(16, &[Ok(&[0xAA, 4, 1]), Err(2), Ok(&[4, 0xAA, 1, 9])]);
        assert_eq!(ev, vec![Ev::Damaged(vec![0xAA, 4, 1], 6, 2), Ev::Frame(vec![0xAA, 1, 9])]);
        // The gap also takes the next frame's first byte: resynchronise at the next magic byte.
        let ev = same_for_every_split(16, &[Ok(&[0xAA, 1]), Err(2), Ok(&[5, 0xAA, 0])]);
        assert_eq!(ev, vec![Ev::Damaged(vec![0xAA, 1], 3, 1), Ev::Skipped(2), Ev::Frame(vec![0xAA, 0])]);
    }

    #[test]
    fn a_gap_between_frames_resynchronises_and_says_how_much_was_skipped() {
        let ev = same_for_every_split(16, &[Ok(&[0xAA, 0]), Err(5), Ok(&[1, 2, 0xAA, 1, 3])]);
        assert_eq!(ev, vec![Ev::Frame(vec![0xAA, 0]), Ev::Skipped(7), Ev::Frame(vec![0xAA, 1, 3])]);
    }

    #[test]
    fn garbage_is_skipped_to_the_next_frame_start() {
        let ev = same_for_every_split(16, &[Ok(&[1, 2, 3, 0xAA, 0, 9, 0xAA, 1, 5])]);
        assert_eq!(
            ev,
            vec![
                Ev::Invalid,
                Ev::Skipped(3),
                Ev::Frame(vec![0xAA, 0]),
                Ev::Invalid,
                Ev::Skipped(1),
                Ev::Frame(vec![0xAA, 1, 5])
            ]
        );
    }

    #[test]
    fn a_direction_without_frame_starts_is_given_up_within_the_budget() {
        let junk = vec![0x55u8; 100];
        let mut framer = Framer::new(8).with_resync_budget(50);
        let mut out = Vec::new();
        framer.push(&mut Magic, &junk, Timestamp::ZERO, &mut record(&mut out));
        // Given up at the first look past the budget: at most one buffer (8 bytes) beyond it.
        assert!(matches!(out.as_slice(), [Ev::Invalid, Ev::Lost(n)] if (51..=58).contains(n)), "{out:?}");
        assert!(framer.is_stopped() && framer.buffered() == 0);
        framer.push(&mut Magic, &[0xAA, 0], Timestamp::ZERO, &mut record(&mut out));
        assert_eq!(out.len(), 2, "nothing after the direction was given up");
    }

    #[test]
    fn starting_mid_way_finds_the_first_frame() {
        let (ev, _) = run(Framer::new(16).resynchronising(), &[Ok(&[3, 4, 0xAA, 0])], &[]);
        assert_eq!(ev, vec![Ev::Skipped(2), Ev::Frame(vec![0xAA, 0])]);
        let (ev, _) = run(Framer::new(16).resynchronising(), &[Ok(&[0xAA, 0])], &[]);
        assert_eq!(ev, vec![Ev::Frame(vec![0xAA, 0])], "nothing skipped, nothing said");
    }

    #[test]
    fn a_frame_has_the_capture_time_of_its_first_byte_after_bytes_before_it_were_dropped() {
        let times = |framer: &mut Framer, pushes: &[(&[u8], u64)]| {
            let mut ts = Vec::new();
            for (data, t) in pushes {
                framer.push(&mut Magic, data, Timestamp(*t), &mut |f| {
                    if let Framed::Frame { ts: at, .. } = f {
                        ts.push(at.0)
                    }
                });
            }
            ts
        };
        // Garbage kept while resynchronising, then the frame in a later segment.
        assert_eq!(times(&mut Framer::new(16).resynchronising(), &[(&[1, 2], 1), (&[0xAA, 0], 2)]), [2]);
        // A frame that started in the buffer among dropped bytes keeps its own time.
        assert_eq!(times(&mut Framer::new(16).resynchronising(), &[(&[1, 0xAA], 1), (&[1, 5, 0xAA, 0], 2)]), [1, 2]);
        // A frame completed by a later segment has the time of its first byte.
        assert_eq!(times(&mut Framer::new(16), &[(&[0xAA], 1), (&[1, 5], 2), (&[0xAA, 0], 3)]), [1, 3]);
    }

    #[test]
    fn hostile_input_never_panics_and_stays_bounded() {
        // A pseudo-random stream with gaps, fed in pseudo-random pieces.
        let mut x: u32 = 12345;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        for _ in 0..200 {
            let mut framer = Framer::new(1 + (next() % 40) as usize).with_resync_budget(200);
            for _ in 0..50 {
                if next() % 7 == 0 {
                    framer.gap((next() % 30) as u64, &mut |_| {});
                } else {
                    let data: Vec<u8> =
                        (0..next() % 20).map(|_| if next() % 3 == 0 { 0xAA } else { next() as u8 }).collect();
                    framer.push(&mut Magic, &data, Timestamp::ZERO, &mut |_| {});
                }
                assert!(framer.buffered() <= framer.max_buffered());
            }
        }
    }
}
