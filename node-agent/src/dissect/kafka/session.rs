//! One Kafka connection: each direction cut into size-prefixed messages by the shared
//! [`Framer`], requests remembered by correlation id until their response arrives. A broker
//! answers a connection's requests in order, so when a response answers a later request, the
//! requests before it were answered in bytes the capture lost: they are reported without response.
//!
//! Resynchronisation (after a gap that cannot be placed, or a connection picked up mid-way):
//! the client direction looks for the next offset where a request passes the probe's checks
//! (header, and the whole body when it is short); the server direction for the next offset where
//! a size is followed by the correlation id of a request still waiting, whose body decodes as
//! that request's response. Nothing is reported from bytes before the boundary.
//!
//! Memory: at most [`MAX_FRAME`] bytes buffered per direction (a longer message is reported from
//! its first bytes) and [`ProtocolSettings::max_streams`] requests waiting.

use super::exchange::{self, Request};
use super::probe::{self, Candidate, MAX_CHECKED, MAX_SIZE};
use super::records::RecordLimits;
use super::schema;
use super::wire::Reader;
use crate::dissect::framing::{FrameFormat, FrameLength, Framed, Framer, NotAFrame, Resync};
use crate::dissect::settings::ProtocolSettings;
use crate::dissect::{Direction, ExchangeSink, StreamSession};
use crate::time::Timestamp;
use std::collections::VecDeque;

/// The longest message kept whole; longer ones are reported from their first bytes.
pub const MAX_FRAME: usize = 4 * 1024 * 1024;
/// Bytes a direction may search for a message boundary before it gives up.
pub const RESYNC_BUDGET: u64 = 1 << 20;
/// Bytes all the record batches of one message may decompress to.
pub const MAX_DECOMPRESSED: usize = 16 * 1024 * 1024;
/// Records shown per message.
pub const MAX_RECORDS_SHOWN: usize = 10;

/// Where requests and responses begin.
struct Frames {
    dir: Direction,
    /// (correlation id, api key, version, number) of the requests waiting, for the server
    /// direction's resynchronisation.
    waiting: Vec<(i32, i16, i16, u64)>,
}

impl Frames {
    /// Brings the copy of the waiting requests up to date. It is kept by changes, never copied
    /// whole: within one push the copy already dropped the requests answered by the responses
    /// whose headers it read, which the session learns only as each response is handed out.
    fn apply(&mut self, changes: &mut Vec<Change>) {
        for c in changes.drain(..) {
            match c {
                Change::Add(seq, id, key, version) => self.waiting.push((id, key, version, seq)),
                Change::Remove(seq) => self.waiting.retain(|w| w.3 != seq),
                Change::Clear => self.waiting.clear(),
            }
        }
    }

    fn response_candidate(&self, buf: &[u8]) -> Candidate {
        let Some(head) = buf.get(..8) else { return Candidate::NeedMore };
        let size = i32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let correlation = i32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        let Ok(size) = usize::try_from(size) else { return Candidate::No };
        if !(4..=MAX_SIZE).contains(&size) {
            return Candidate::No;
        }
        let Some(&(_, key, version, _)) = self.waiting.iter().find(|w| w.0 == correlation) else {
            return Candidate::No;
        };
        let len = size + 4;
        let Some(layout) = schema::api(key) else { return Candidate::Request { len, checked: false } };
        if size > MAX_CHECKED {
            return Candidate::Request { len, checked: false };
        }
        let Some(msg) = buf.get(8..len) else { return Candidate::NeedMore };
        let limits = RecordLimits { value_bytes: 0, max_records: 0, decompressed: 0 };
        let mut r = Reader::new(msg);
        let mut found = Default::default();
        let mut out = Default::default();
        if super::decode::decode_response(layout, version, &mut r, &limits, &mut found, &mut out).is_ok()
            && r.remaining() == 0
        {
            Candidate::Request { len, checked: true }
        } else {
            Candidate::No
        }
    }
}

impl FrameFormat for Frames {
    fn frame_length(&mut self, head: &[u8]) -> Result<FrameLength, NotAFrame> {
        let Some(h) = head.get(..4) else { return Ok(FrameLength::NeedHeader(4)) };
        let size = i32::from_be_bytes([h[0], h[1], h[2], h[3]]);
        let size = usize::try_from(size).map_err(|_| NotAFrame("a negative message size"))?;
        if size > MAX_SIZE {
            return Err(NotAFrame("a message size over 100 MiB"));
        }
        match self.dir {
            Direction::ClientToServer => {
                if size < probe::MIN_REQUEST - 4 {
                    return Err(NotAFrame("a request shorter than its header"));
                }
                let Some(kv) = head.get(4..8) else { return Ok(FrameLength::NeedHeader(8)) };
                let key = i16::from_be_bytes([kv[0], kv[1]]);
                let version = i16::from_be_bytes([kv[2], kv[3]]);
                if !super::codes::known_version(key, version) {
                    return Err(NotAFrame("an unknown API key or version"));
                }
            }
            Direction::ServerToClient => {
                if size < 4 {
                    return Err(NotAFrame("a response shorter than its correlation id"));
                }
                // Keep the list of waiting requests in step with the session within one push:
                // this response answers its request and, responses being in order, those before.
                let Some(c) = head.get(4..8) else { return Ok(FrameLength::NeedHeader(8)) };
                let correlation = i32::from_be_bytes([c[0], c[1], c[2], c[3]]);
                if let Some(k) = self.waiting.iter().position(|w| w.0 == correlation) {
                    self.waiting.drain(..=k);
                }
            }
        }
        Ok(FrameLength::Total(size + 4))
    }

    /// The first offset where a message starts by the probe's checks (stricter ones for
    /// requests: a non-empty client id). Each candidate is judged by its own bytes only, so the
    /// answer does not depend on segmentation.
    fn resync(&mut self, data: &[u8]) -> Resync {
        let mut at = 0;
        while at + 8 <= data.len() {
            let rest = data.get(at..).unwrap_or(&[]);
            let candidate = match self.dir {
                Direction::ClientToServer => probe::resync_candidate(rest),
                Direction::ServerToClient => self.response_candidate(rest),
            };
            match candidate {
                Candidate::Request { .. } => return Resync::At(at),
                Candidate::NeedMore => return Resync::NeedMore(at),
                Candidate::No => at += 1,
            }
        }
        Resync::NotBefore(at)
    }
}

struct Half {
    framer: Framer,
    frames: Frames,
}

/// The connection's requests and what the two directions share.
struct State {
    waiting: VecDeque<Request>,
    max_waiting: usize,
    limits: RecordLimits,
    /// Responses that answered no request seen, not yet reported in a note.
    unmatched: u64,
    /// Capture time of each direction's last segment (a message damaged by a gap is dated by it).
    last_ts: [Timestamp; 2],
    /// Changes to `waiting` not made by responses, for the server direction's copy of it.
    changes: Vec<Change>,
    /// Requests that waited so far (numbers them).
    requests: u64,
}

/// A change to the waiting requests that the server direction's framing must learn of (the
/// answers it learns itself, from each response header it reads).
#[derive(Clone, Copy, Debug)]
enum Change {
    /// A request waits: (its number in the connection, correlation id, api key, version).
    Add(u64, i32, i16, i16),
    /// The request of this number no longer waits.
    Remove(u64),
    Clear,
}

pub struct KafkaSession {
    halves: [Half; 2],
    state: State,
}

impl KafkaSession {
    /// `resync_first`: the connection was picked up mid-way, so boundaries must be found.
    pub fn new(settings: &ProtocolSettings, resync_first: bool) -> Self {
        let half = |dir| {
            let framer = Framer::new(MAX_FRAME).with_resync_budget(RESYNC_BUDGET);
            let framer = if resync_first { framer.resynchronising() } else { framer };
            Half { framer, frames: Frames { dir, waiting: Vec::new() } }
        };
        KafkaSession {
            halves: [half(Direction::ClientToServer), half(Direction::ServerToClient)],
            state: State {
                waiting: VecDeque::new(),
                max_waiting: settings.max_streams.max(1),
                limits: RecordLimits {
                    value_bytes: settings.body_limit,
                    max_records: MAX_RECORDS_SHOWN,
                    decompressed: MAX_DECOMPRESSED,
                },
                unmatched: 0,
                last_ts: [Timestamp::ZERO; 2],
                changes: Vec::new(),
                requests: 0,
            },
        }
    }
}

impl State {
    fn emit(&mut self, mut ex: crate::dissect::Exchange, out: &mut dyn ExchangeSink) {
        if self.unmatched > 0 {
            ex.notes.push(format!("{} earlier responses answered requests that were not captured", self.unmatched));
            self.unmatched = 0;
        }
        out.emit(ex);
    }

    fn on_request(&mut self, msg: &[u8], complete: bool, len: usize, ts: Timestamp, out: &mut dyn ExchangeSink) {
        let Ok(req) = exchange::request(msg, complete, len as u64, ts, &self.limits) else { return };
        if req.no_response_expected {
            let ex = exchange::exchange(req, None, None);
            self.emit(ex, out);
            return;
        }
        if self.waiting.len() >= self.max_waiting {
            if let Some(old) = self.waiting.pop_front() {
                self.changes.push(Change::Remove(old.seq));
                let ex = exchange::exchange(old, None, Some("no response before too many later requests waited"));
                self.emit(ex, out);
            }
        }
        let mut req = req;
        self.requests += 1;
        req.seq = self.requests;
        self.changes.push(Change::Add(req.seq, req.correlation_id, req.api_key, req.api_version));
        self.waiting.push_back(req);
    }

    fn on_response(&mut self, msg: &[u8], complete: bool, len: usize, ts: Timestamp, out: &mut dyn ExchangeSink) {
        let Some(id) = msg.get(..4).map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]])) else { return };
        let Some(k) = self.waiting.iter().position(|r| r.correlation_id == id) else {
            self.unmatched += 1;
            return;
        };
        // Responses come in request order: the requests before this one lost theirs to a gap.
        for _ in 0..k {
            if let Some(old) = self.waiting.pop_front() {
                let ex = exchange::exchange(old, None, Some("no response seen: lost in a capture gap"));
                self.emit(ex, out);
            }
        }
        let Some(req) = self.waiting.pop_front() else { return };
        let resp = exchange::response(msg, complete, &req, &self.limits);
        let ex = exchange::exchange(req, Some((resp, ts, len as u64)), None);
        self.emit(ex, out);
    }

    fn flush(&mut self, why: &str, out: &mut dyn ExchangeSink) {
        self.changes.push(Change::Clear);
        while let Some(req) = self.waiting.pop_front() {
            let ex = exchange::exchange(req, None, Some(why));
            self.emit(ex, out);
        }
    }

    /// A message the framer handed out: `first` is the capture time of its first byte, `last`
    /// of the segment that completed it.
    fn framed(&mut self, dir: Direction, framed: Framed<'_>, last: Timestamp, out: &mut dyn ExchangeSink) {
        let (frame, complete, len, first) = match framed {
            Framed::Frame { bytes, ts } => (bytes, true, bytes.len(), ts),
            Framed::Oversized { prefix, len, ts } => (prefix, false, len, ts),
            Framed::Damaged { head, len, .. } => (head, false, len, last),
            _ => return,
        };
        let msg = frame.get(4..).unwrap_or(&[]);
        match dir {
            Direction::ClientToServer => self.on_request(msg, complete, len, first, out),
            Direction::ServerToClient => self.on_response(msg, complete, len, last, out),
        }
    }
}

impl StreamSession for KafkaSession {
    fn on_data(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink) {
        let Half { framer, frames } = &mut self.halves[dir.index()];
        let state = &mut self.state;
        state.last_ts[dir.index()] = ts;
        if dir == Direction::ServerToClient {
            frames.apply(&mut state.changes);
        }
        framer.push(frames, data, ts, &mut |framed| state.framed(dir, framed, ts, out));
        if self.is_done() {
            self.state.flush("no response seen: the connection could not be followed after a capture gap", out);
        }
    }

    fn on_gap(&mut self, dir: Direction, len: u64, out: &mut dyn ExchangeSink) {
        let Half { framer, .. } = &mut self.halves[dir.index()];
        let state = &mut self.state;
        // A message damaged by the gap is dated by the last segment that carried some of it.
        let last = state.last_ts[dir.index()];
        framer.gap(len, &mut |framed| state.framed(dir, framed, last, out));
    }

    fn on_end(&mut self, dir: Direction, _ts: Timestamp, _out: &mut dyn ExchangeSink) {
        self.halves[dir.index()].framer.end();
    }

    fn on_close(&mut self, _ts: Timestamp, out: &mut dyn ExchangeSink) {
        self.state.flush("no response before the connection closed", out);
        for h in &mut self.halves {
            h.framer.end();
        }
    }

    fn is_done(&self) -> bool {
        self.halves.iter().all(|h| h.framer.is_stopped())
    }

    fn buffered_bytes(&self) -> usize {
        self.halves.iter().map(|h| h.framer.buffered()).sum()
    }
}
