//! DNS over TCP (RFC 7766): each message behind a 2-byte length, several per connection,
//! pipelined and answered in any order (pairing is by id and question, see `pairing`).
//!
//! Each direction is cut into messages by the shared [`Framer`](crate::dissect::framing), which
//! buffers at most one message (64 KiB + 2). A frame whose length or header cannot be DNS is not
//! taken: the direction resynchronises from the next byte.
//!
//! After a capture gap the partial message is dropped. When the gap fell inside a message whose
//! length was known, the next boundary is known too: the rest of that message is skipped and
//! the message at the boundary must still have a sane header. Otherwise the direction
//! *resynchronises*: it scans for an offset where a 2-byte length is followed by a plausible
//! header and a message that parses completely and cleanly (the probe's test), and carries on from
//! there. If no such offset turns up within [`RESYNC_BUDGET`] bytes searched (or
//! [`RESYNC_WORK_BUDGET`] bytes of candidates parsed) the direction stops being dissected; once
//! both directions have stopped the session reports its waiting queries and says it is done.
//! A session created for a connection seen without its handshake starts resynchronising too,
//! so a direction that was picked up mid-message finds its first boundary the same way.
//!
//! Segmentation never changes the result: framing and scanning are defined on each direction's
//! byte stream, and every decision waits until the bytes it depends on are all there.

use super::pairing::{sane_header, Tracker};
use super::parser::{Header, HEADER_LEN};
use super::probe;
use crate::dissect::framing::{FrameFormat, FrameLength, Framed, Framer, NotAFrame, Resync};
use crate::dissect::{Direction, ExchangeSink, StreamSession};
use crate::time::Timestamp;

/// The largest buffer a direction holds: one maximal message and its length prefix.
pub const MAX_BUFFER: usize = 2 + u16::MAX as usize;
/// Bytes a direction may discard while looking for a message boundary before giving up.
pub const RESYNC_BUDGET: u64 = 256 * 1024;
/// Bytes of candidate messages a direction may parse while resynchronising before giving up
/// (bounds the work crafted input can cause: each candidate costs up to a 64 KiB parse).
pub const RESYNC_WORK_BUDGET: u64 = 8 * 1024 * 1024;

/// DNS-over-TCP framing: a 2-byte length, then a message whose header must be sane for it.
#[derive(Default)]
struct DnsFrames {
    /// Bytes of candidate messages parsed while resynchronising.
    work: u64,
}

impl FrameFormat for DnsFrames {
    fn frame_length(&mut self, head: &[u8]) -> Result<FrameLength, NotAFrame> {
        let Some(l) = head.get(..2) else { return Ok(FrameLength::NeedHeader(2)) };
        let len = u16::from_be_bytes([l[0], l[1]]) as usize;
        if len < HEADER_LEN {
            return Err(NotAFrame("a length below the DNS header size"));
        }
        let Some(header) = head.get(2..2 + HEADER_LEN) else { return Ok(FrameLength::NeedHeader(2 + HEADER_LEN)) };
        if Header::parse(header).is_ok_and(|hd| sane_header(&hd, len)) {
            Ok(FrameLength::Total(2 + len))
        } else {
            Err(NotAFrame("not a DNS header"))
        }
    }

    /// The next offset where a complete, clean message starts; candidates are judged only when
    /// all their bytes are there, so the answer does not depend on segmentation.
    fn resync(&mut self, data: &[u8]) -> Resync {
        if self.work > RESYNC_WORK_BUDGET {
            return Resync::NotBefore(data.len());
        }
        let mut at = 0;
        while at + 2 + HEADER_LEN <= data.len() {
            match probe::framed_candidate(&data[at..]) {
                probe::Candidate::Message { .. } => return Resync::At(at),
                probe::Candidate::Incomplete => return Resync::NeedMore(at),
                probe::Candidate::No { parsed } => {
                    self.work += parsed as u64;
                    at += 1;
                    if self.work > RESYNC_WORK_BUDGET {
                        return Resync::NotBefore(data.len());
                    }
                }
            }
        }
        Resync::NotBefore(at)
    }
}

struct Half {
    framer: Framer,
    format: DnsFrames,
}

impl Half {
    fn new(resync_first: bool) -> Self {
        let framer = Framer::new(MAX_BUFFER).with_resync_budget(RESYNC_BUDGET);
        let framer = if resync_first { framer.resynchronising() } else { framer };
        Half { framer, format: DnsFrames::default() }
    }
}

pub struct DnsTcpSession {
    halves: [Half; 2],
    tracker: Tracker,
}

impl DnsTcpSession {
    /// `resync_first`: the connection was picked up mid-way, so boundaries must be found.
    pub fn new(timeout_ns: u64, resync_first: bool) -> Self {
        DnsTcpSession { halves: [Half::new(resync_first), Half::new(resync_first)], tracker: Tracker::new(timeout_ns) }
    }

    fn feed(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink) {
        let tracker = &mut self.tracker;
        let Half { framer, format } = &mut self.halves[dir.index()];
        framer.push(format, data, ts, &mut |framed| match framed {
            Framed::Frame { bytes, ts: start } => {
                if let Some(msg) = bytes.get(2..) {
                    tracker.on_message(dir, msg, start, ts, out);
                }
            }
            // A length or header that cannot be DNS: counted where it is, in stream order.
            Framed::Invalid { .. } => tracker.ignore(),
            _ => {}
        });
        if format.work > RESYNC_WORK_BUDGET {
            framer.stop();
        }
        if self.is_done() {
            self.tracker.flush("no response seen: the connection could not be followed after a capture gap", out);
        }
    }
}

impl StreamSession for DnsTcpSession {
    fn on_data(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink) {
        self.tracker.expire(ts, out);
        self.feed(dir, data, ts, out);
    }

    fn on_gap(&mut self, dir: Direction, len: u64, _out: &mut dyn ExchangeSink) {
        let Half { framer, format } = &mut self.halves[dir.index()];
        format.work = 0;
        framer.gap(len, &mut |_| {});
    }

    fn on_end(&mut self, dir: Direction, _ts: Timestamp, _out: &mut dyn ExchangeSink) {
        // A message cut by the FIN can never complete.
        self.halves[dir.index()].framer.end();
    }

    fn on_close(&mut self, ts: Timestamp, out: &mut dyn ExchangeSink) {
        self.tracker.expire(ts, out);
        self.tracker.flush("no response before the connection closed", out);
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
