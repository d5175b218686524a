//! Choosing a stream dissector from a connection's first bytes. Data that arrives while no
//! dissector has decided is kept (bounded) and replayed into the session once one does.

use crate::dissect::{Direction, FlowInfo, Probe, StreamDissector};
use crate::time::Timestamp;

/// The outcome of probing with what has arrived so far.
pub enum Verdict {
    /// Dissector `index` recognised the data; `sender_is_client` tells who sent the probed direction.
    Chosen { index: usize, probed: Direction, sender_is_client: bool },
    /// Keep collecting.
    Undecided,
    /// No dissector will recognise this connection.
    Unrecognised,
}

/// One chunk of data that arrived while probing, in arrival order across both directions.
struct Chunk {
    dir: Direction,
    ts: Timestamp,
    start: usize,
    end: usize,
}

#[derive(Default)]
pub struct StreamProbe {
    buffers: [Vec<u8>; 2],
    chunks: Vec<Chunk>,
    rejected: [bool; 2],
    restarts: u32,
}

/// How often probing may start over after a gap before the connection is given up.
const MAX_RESTARTS: u32 = 8;

impl StreamProbe {
    /// Adds data of one direction and probes with everything that direction sent so far.
    pub fn push(
        &mut self,
        dir: Direction,
        data: &[u8],
        ts: Timestamp,
        dissectors: &[Box<dyn StreamDissector>],
        flow: &FlowInfo,
        max_bytes: usize,
    ) -> Verdict {
        let i = dir.index();
        if self.rejected[i] {
            return self.verdict_after_rejection();
        }
        let room = max_bytes.saturating_sub(self.buffers[i].len());
        let take = data.len().min(room);
        let start = self.buffers[i].len();
        self.buffers[i].extend_from_slice(&data[..take]);
        self.chunks.push(Chunk { dir, ts, start, end: start + take });
        let mut need_more = false;
        for (index, d) in dissectors.iter().enumerate() {
            match d.probe(flow, &self.buffers[i]) {
                Probe::Client => return Verdict::Chosen { index, probed: dir, sender_is_client: true },
                Probe::Server => return Verdict::Chosen { index, probed: dir, sender_is_client: false },
                Probe::NeedMore => need_more = true,
                Probe::No => {}
            }
        }
        if need_more && self.buffers[i].len() < max_bytes && take == data.len() {
            return Verdict::Undecided;
        }
        self.rejected[i] = true;
        self.verdict_after_rejection()
    }

    fn verdict_after_rejection(&self) -> Verdict {
        if self.rejected[0] && self.rejected[1] {
            Verdict::Unrecognised
        } else {
            Verdict::Undecided
        }
    }

    /// Data of `dir` was lost: what was collected for it can no longer be probed as a message start.
    /// Probing starts over with the data after the gap (which often starts a new message).
    pub fn gap(&mut self, dir: Direction) -> Verdict {
        self.restarts += 1;
        if self.restarts > MAX_RESTARTS {
            return Verdict::Unrecognised;
        }
        let i = dir.index();
        self.buffers[i].clear();
        self.chunks.retain(|c| c.dir != dir);
        self.rejected[i] = false;
        Verdict::Undecided
    }

    /// The kept chunks in arrival order, for replay into the chosen session.
    pub fn replay(&self, mut f: impl FnMut(Direction, &[u8], Timestamp)) {
        for c in &self.chunks {
            if let Some(bytes) = self.buffers[c.dir.index()].get(c.start..c.end) {
                if !bytes.is_empty() {
                    f(c.dir, bytes, c.ts);
                }
            }
        }
    }
}
