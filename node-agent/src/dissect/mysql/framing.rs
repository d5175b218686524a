//! MySQL packet framing on top of the shared [`Framer`]: the 3-byte length and sequence id, the
//! joining of payloads of 16 MiB and more (sent as packets of 0xFFFFFF bytes and one shorter
//! packet), and where a packet plausibly starts after a capture gap.
//!
//! Only a bounded head of each payload is kept: a packet longer than the framer's limit comes
//! as its head and a streamed tail (which nobody reads), a joined payload keeps its first
//! [`KEPT_PAYLOAD`] bytes. The whole length is still known for sizes.

use super::packet::{self, ColumnDef, ErrPacket, OkPacket, HEADER_LEN, MAX_PAYLOAD};
use crate::dissect::framing::{FrameFormat, FrameLength, Framed, Framer, NotAFrame, Resync};
use crate::dissect::Direction;
use crate::time::Timestamp;

/// Bytes of one packet the framer holds whole (header included); longer ones stream through.
pub const MAX_FRAME: usize = 64 * 1024 + HEADER_LEN;
/// Bytes of a joined (16 MiB and more) payload that are kept.
pub const KEPT_PAYLOAD: usize = 64 * 1024;
/// Bytes a direction may search for a packet start after a gap before it gives up.
pub const RESYNC_BUDGET: u64 = 1 << 20;

/// One logical packet: `payload` is its first bytes (all of them unless `len` is larger).
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    pub payload: &'a [u8],
    /// The whole payload length (joined, for payloads of 16 MiB and more).
    pub len: usize,
    /// Sequence id of its first packet.
    pub seq: u8,
    /// Capture time of its first byte.
    pub ts: Timestamp,
    /// Bytes on the wire, headers included.
    pub wire: u64,
}

/// What a direction hands the session.
#[derive(Debug)]
pub enum Event<'a> {
    Packet(Packet<'a>),
    /// Bytes of this direction were lost to a capture gap.
    Lost,
    /// The direction could not be followed any more.
    Stopped,
}

/// The frame format: any 4-byte header is a frame; after a gap, a start is looked for with the
/// shape of what the direction sends first in a command (the client) or a response (the server).
struct Format {
    dir: Direction,
}

impl FrameFormat for Format {
    fn frame_length(&mut self, head: &[u8]) -> Result<FrameLength, NotAFrame> {
        match packet::header(head) {
            Some((len, _)) => Ok(FrameLength::Total(HEADER_LEN + len)),
            None => Ok(FrameLength::NeedHeader(HEADER_LEN)),
        }
    }

    fn resync(&mut self, data: &[u8]) -> Resync {
        for at in 0..data.len() {
            let rest = data.get(at..).unwrap_or_default();
            let answer = match self.dir {
                Direction::ClientToServer => command_start(rest),
                Direction::ServerToClient => response_start(rest),
            };
            match answer {
                Candidate::Yes => return Resync::At(at),
                Candidate::NeedMore => return Resync::NeedMore(at),
                Candidate::No => {}
            }
        }
        Resync::NotBefore(data.len())
    }
}

/// Whether bytes start a packet of the kind looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Candidate {
    Yes,
    No,
    NeedMore,
}

/// Bytes (up to 48) of SQL or a name that must be printable text for a command to be believed.
const TEXT_CHECK: usize = 48;

fn printable(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b >= 0x20 && b != 0x7F || b == b'\n' || b == b'\r' || b == b'\t' || b >= 0x80)
}

/// A client command packet (sequence 0) of a command the dissector resynchronises on.
pub fn command_start(data: &[u8]) -> Candidate {
    let Some((len, seq)) = packet::header(data) else { return Candidate::NeedMore };
    if seq != 0 || len == 0 {
        return Candidate::No;
    }
    let Some(&cmd) = data.get(HEADER_LEN) else { return Candidate::NeedMore };
    let body = data.get(HEADER_LEN + 1..).unwrap_or_default();
    match cmd {
        packet::COM_PING | packet::COM_QUIT if len == 1 => Candidate::Yes,
        packet::COM_STMT_CLOSE | packet::COM_STMT_RESET if len == 5 => Candidate::Yes,
        packet::COM_STMT_EXECUTE if len >= 10 => {
            let Some(fixed) = body.get(4..9) else { return Candidate::NeedMore };
            // Flags (a cursor type) and an iteration count of 1.
            if fixed[0] <= 0x0F && fixed[1..] == [1, 0, 0, 0] {
                Candidate::Yes
            } else {
                Candidate::No
            }
        }
        packet::COM_QUERY | packet::COM_STMT_PREPARE | packet::COM_INIT_DB if len >= 2 => {
            let need = (len - 1).min(TEXT_CHECK);
            let text = body.get(..need.min(body.len())).unwrap_or_default();
            let first_ok = text.first().is_none_or(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace());
            if !first_ok || !printable(text) {
                Candidate::No
            } else if text.len() < need {
                Candidate::NeedMore
            } else {
                Candidate::Yes
            }
        }
        _ => Candidate::No,
    }
}

/// The first packet of a response (sequence 1): a well-formed OK or ERR, or a column count
/// followed by a column definition.
pub fn response_start(data: &[u8]) -> Candidate {
    let Some((len, seq)) = packet::header(data) else { return Candidate::NeedMore };
    if seq != 1 || len == 0 {
        return Candidate::No;
    }
    let Some(&first) = data.get(HEADER_LEN) else { return Candidate::NeedMore };
    match first {
        0x00 if (7..=256).contains(&len) => {
            let Some(payload) = data.get(HEADER_LEN..HEADER_LEN + len) else { return Candidate::NeedMore };
            match OkPacket::parse(payload) {
                Ok(ok) if ok.status & !0x7FFF == 0 && printable(ok.info) => Candidate::Yes,
                _ => Candidate::No,
            }
        }
        0xFF if (9..=1024).contains(&len) => {
            let Some(payload) = data.get(HEADER_LEN..HEADER_LEN + len) else { return Candidate::NeedMore };
            match ErrPacket::parse(payload) {
                Ok(e)
                    if (1000..5000).contains(&e.code)
                        && e.sqlstate.is_some_and(|s| s.iter().all(u8::is_ascii_alphanumeric))
                        && printable(e.message) =>
                {
                    Candidate::Yes
                }
                _ => Candidate::No,
            }
        }
        1..=0xFA if len == 1 => {
            // A column count, then the first column definition (sequence 2, catalog "def").
            let next = data.get(HEADER_LEN + 1..).unwrap_or_default();
            let Some(head) = next.get(..HEADER_LEN + 4) else { return Candidate::NeedMore };
            match packet::header(head) {
                Some((_, 2)) if ColumnDef::looks_like(head.get(HEADER_LEN..).unwrap_or_default()) => Candidate::Yes,
                _ => Candidate::No,
            }
        }
        _ => Candidate::No,
    }
}

/// A payload of 16 MiB or more being joined.
#[derive(Debug)]
struct Joining {
    head: Vec<u8>,
    len: usize,
    seq: u8,
    ts: Timestamp,
    wire: u64,
}

/// One direction: the framer, its format, and a payload being joined.
pub struct PacketStream {
    framer: Framer,
    format: Format,
    joining: Option<Joining>,
}

impl PacketStream {
    pub fn new(dir: Direction, resync_first: bool) -> Self {
        let framer = Framer::new(MAX_FRAME).with_resync_budget(RESYNC_BUDGET);
        let framer = if resync_first { framer.resynchronising() } else { framer };
        PacketStream { framer, format: Format { dir }, joining: None }
    }

    pub fn buffered(&self) -> usize {
        self.framer.buffered() + self.joining.as_ref().map_or(0, |j| j.head.len())
    }

    pub fn is_stopped(&self) -> bool {
        self.framer.is_stopped()
    }

    pub fn stop(&mut self) {
        self.framer.stop();
        self.joining = None;
    }

    pub fn end(&mut self) {
        self.framer.end();
        self.joining = None;
    }

    pub fn push(&mut self, data: &[u8], ts: Timestamp, on: &mut dyn FnMut(Event<'_>)) {
        let joining = &mut self.joining;
        self.framer.push(&mut self.format, data, ts, &mut |framed| on_framed(joining, framed, on));
    }

    pub fn gap(&mut self, len: u64, on: &mut dyn FnMut(Event<'_>)) {
        let joining = &mut self.joining;
        if joining.take().is_some() {
            on(Event::Lost);
        }
        self.framer.gap(len, &mut |framed| on_framed(joining, framed, on));
        // A gap inside a packet that was not damaged (the framer was resynchronising or
        // skipping) loses bytes all the same.
        on(Event::Lost);
    }
}

fn on_framed(joining: &mut Option<Joining>, framed: Framed<'_>, on: &mut dyn FnMut(Event<'_>)) {
    let (bytes, ts) = match framed {
        Framed::Frame { bytes, ts } => (bytes, ts),
        Framed::Oversized { prefix, ts, .. } => (prefix, ts),
        Framed::Tail { .. } | Framed::Invalid { .. } => return,
        Framed::Damaged { .. } => {
            *joining = None;
            on(Event::Lost);
            return;
        }
        // Bytes skipped to the next packet start: lost to a gap (reported by `gap` already) or
        // the rest of something whose start was not captured (nothing lost that was followed).
        Framed::Skipped { .. } => return,
        Framed::Lost { .. } => {
            *joining = None;
            on(Event::Stopped);
            return;
        }
    };
    let Some((len, seq)) = packet::header(bytes) else { return };
    let payload = bytes.get(HEADER_LEN..).unwrap_or_default();
    let wire = (HEADER_LEN + len) as u64;
    if let Some(j) = joining.as_mut() {
        let room = KEPT_PAYLOAD.saturating_sub(j.head.len());
        j.head.extend_from_slice(payload.get(..room.min(payload.len())).unwrap_or_default());
        j.len = j.len.saturating_add(len);
        j.wire += wire;
        if len < MAX_PAYLOAD {
            if let Some(j) = joining.take() {
                on(Event::Packet(Packet { payload: &j.head, len: j.len, seq: j.seq, ts: j.ts, wire: j.wire }));
            }
        }
        return;
    }
    if len == MAX_PAYLOAD {
        let keep = payload.get(..KEPT_PAYLOAD.min(payload.len())).unwrap_or_default();
        *joining = Some(Joining { head: keep.to_vec(), len, seq, ts, wire });
        return;
    }
    on(Event::Packet(Packet { payload, len, seq, ts, wire }));
}
