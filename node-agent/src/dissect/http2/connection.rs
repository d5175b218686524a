//! One HTTP/2 connection as a pure model: complete frames of each direction in, events out.
//!
//! It assembles header blocks (HEADERS or PUSH_PROMISE plus CONTINUATIONs) and decodes them with
//! one HPACK decoder per direction, follows the settings that change decoding (header table size,
//! maximum frame size: applied when the peer acknowledges them), and counts the frames that only
//! matter to flow control or liveness. It keeps no per-stream state: pairing requests with
//! responses is the session's job.

use std::collections::VecDeque;

use super::codes::{ErrorCode, SettingId};
use super::frame::{Frame, FrameError, FrameHeader, FrameType, Settings, DEFAULT_MAX_FRAME_SIZE, MAX_FRAME_SIZE_LIMIT};
use super::hpack::{self, Decoder, HeaderList, HpackError};
use crate::dissect::Direction;

/// Memory bounds of one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub hpack: hpack::Limits,
    /// Longest compressed header block kept while its CONTINUATIONs arrive; beyond it the block
    /// is decoded from what was kept and the direction's decoder loses track.
    pub max_header_block: usize,
    /// SETTINGS frames of one side waiting for the other side's ACK that are remembered.
    pub max_pending_settings: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { hpack: hpack::Limits::default(), max_header_block: 128 << 10, max_pending_settings: 8 }
    }
}

/// Where the capture of a connection starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// At the connection's beginning: settings and the HPACK tables are known from the start.
    Beginning,
    /// Somewhere in the middle: the decoders start without their tables (see
    /// [`hpack::Decoder::mid_stream`]) and settings are unknown until seen.
    MidStream,
}

/// Something a peer did wrong, or that the model could not follow. For notes; never fatal.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Anomaly {
    /// The header block could not be decoded completely (see the error for why).
    #[error(transparent)]
    Hpack(#[from] HpackError),
    #[error("http2: header block longer than {max} bytes; decoded its start only")]
    HeaderBlockTooLarge { max: usize },
    /// A frame other than a CONTINUATION of the same stream arrived while a header block was open.
    #[error("http2: header block of stream {stream_id} interrupted by {by} on stream {by_stream_id}")]
    HeaderBlockInterrupted { stream_id: u32, by: FrameType, by_stream_id: u32 },
    /// A header block ended without its END_HEADERS (the direction ended or had a gap).
    #[error("http2: header block of stream {stream_id} cut short")]
    HeaderBlockCut { stream_id: u32 },
    /// A CONTINUATION without an open header block.
    #[error("http2: CONTINUATION on stream {stream_id} without a header block")]
    UnexpectedContinuation { stream_id: u32 },
    /// A malformed frame, skipped.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// A frame other than DATA larger than the reader buffers, skipped.
    #[error("http2: {frame_type} frame of {length} bytes is larger than the {max} bytes buffered; skipped")]
    FrameTooLargeToBuffer { frame_type: FrameType, length: u32, max: usize },
    /// The client's first bytes are not the connection preface.
    #[error("http2: the client did not start with the connection preface")]
    BadPreface,
}

/// What a frame meant. Slices borrow the frame's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A complete header block of HEADERS (+ CONTINUATION): request or response headers, or
    /// trailers. `undecodable`: some or all fields are missing (an [`Event::Anomaly`] before it
    /// says why); the fields that could be decoded are there.
    Headers {
        dir: Direction,
        stream_id: u32,
        headers: HeaderList,
        end_stream: bool,
        undecodable: bool,
    },
    /// A PUSH_PROMISE (+ CONTINUATION): the request the server promises to answer on
    /// `promised_stream_id`.
    PushPromise {
        dir: Direction,
        stream_id: u32,
        promised_stream_id: u32,
        headers: HeaderList,
        undecodable: bool,
    },
    Data {
        dir: Direction,
        stream_id: u32,
        data: &'a [u8],
        end_stream: bool,
    },
    Reset {
        dir: Direction,
        stream_id: u32,
        error_code: ErrorCode,
    },
    GoAway {
        dir: Direction,
        last_stream_id: u32,
        error_code: ErrorCode,
        debug_data: &'a [u8],
    },
    Anomaly {
        dir: Direction,
        stream_id: u32,
        anomaly: Anomaly,
    },
}

/// Frames of one direction that produce no event, counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub frames: u64,
    /// DATA payload bytes including padding (what flow control counts).
    pub data_bytes: u64,
    pub settings: u64,
    pub settings_acks: u64,
    pub pings: u64,
    pub ping_acks: u64,
    pub window_updates: u64,
    pub priorities: u64,
    pub unknown_frames: u64,
}

/// Settings one side sent that take effect when the other side acknowledges them.
#[derive(Clone, Copy, Debug)]
struct SentSettings {
    header_table_size: Option<u32>,
    max_frame_size: Option<u32>,
}

#[derive(Clone, Copy, Debug)]
enum BlockKind {
    Headers { end_stream: bool },
    PushPromise { promised_stream_id: u32 },
}

/// A header block waiting for its CONTINUATIONs.
#[derive(Debug)]
struct OpenBlock {
    stream_id: u32,
    kind: BlockKind,
    fragments: Vec<u8>,
    /// Bytes beyond `max_header_block` were dropped.
    overflowed: bool,
}

/// One HTTP/2 connection's frames, both directions. See the module documentation.
#[derive(Debug)]
pub struct H2Connection {
    limits: Limits,
    /// Indexed by the sending direction.
    decoders: [Decoder; 2],
    open_blocks: [Option<OpenBlock>; 2],
    /// SETTINGS sent by a direction, oldest first, until the other direction's ACK.
    sent_settings: [VecDeque<SentSettings>; 2],
    /// Largest frame payload each direction may send (the peer's acknowledged setting).
    max_frame_size: [u32; 2],
    counters: [Counters; 2],
}

impl H2Connection {
    pub fn new(start: Start, limits: Limits) -> Self {
        let (decoder, frame_size): (fn(hpack::Limits) -> Decoder, u32) = match start {
            Start::Beginning => (Decoder::new, DEFAULT_MAX_FRAME_SIZE),
            Start::MidStream => (Decoder::mid_stream, MAX_FRAME_SIZE_LIMIT),
        };
        H2Connection {
            limits,
            decoders: [decoder(limits.hpack), decoder(limits.hpack)],
            open_blocks: [None, None],
            sent_settings: [VecDeque::new(), VecDeque::new()],
            max_frame_size: [frame_size; 2],
            counters: [Counters::default(); 2],
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The largest frame payload `sender` may send: the SETTINGS_MAX_FRAME_SIZE its peer set
    /// (acknowledged), 16384 by default, or 2^24-1 when the connection was seen mid-way.
    pub fn max_frame_size(&self, sender: Direction) -> u32 {
        self.max_frame_size[sender.index()]
    }

    pub fn counters(&self, dir: Direction) -> &Counters {
        &self.counters[dir.index()]
    }

    /// The decoder of the header blocks `sender` sends.
    pub fn decoder(&self, sender: Direction) -> &Decoder {
        &self.decoders[sender.index()]
    }

    /// Heap bytes held: open header blocks and the dynamic tables.
    pub fn buffered_bytes(&self) -> usize {
        let blocks: usize = self.open_blocks.iter().flatten().map(|b| b.fragments.capacity()).sum();
        blocks + self.decoders.iter().map(|d| d.table_size()).sum::<usize>()
    }

    /// An upper bound of [`H2Connection::buffered_bytes`].
    pub fn max_buffered_bytes(&self) -> usize {
        2 * (self.limits.max_header_block + self.limits.hpack.max_table_size)
    }

    /// Processes one complete frame `dir` sent, in order.
    pub fn on_frame<'a>(&mut self, dir: Direction, frame: Frame<'a>, emit: &mut dyn FnMut(Event<'a>)) {
        let d = dir.index();
        self.counters[d].frames += 1;
        if let Some(open) = &self.open_blocks[d] {
            let continues = matches!(frame, Frame::Continuation { stream_id, .. } if stream_id == open.stream_id);
            if !continues {
                let anomaly = Anomaly::HeaderBlockInterrupted {
                    stream_id: open.stream_id,
                    by: frame.frame_type(),
                    by_stream_id: frame.stream_id(),
                };
                self.cut_block(dir, anomaly, emit);
            }
        }
        match frame {
            Frame::Data { stream_id, data, end_stream, pad_len } => {
                let padding = pad_len.map_or(0, |p| u64::from(p) + 1);
                self.counters[d].data_bytes += data.len() as u64 + padding;
                emit(Event::Data { dir, stream_id, data, end_stream });
            }
            Frame::Headers { stream_id, fragment, end_stream, end_headers, .. } => {
                self.start_block(dir, stream_id, BlockKind::Headers { end_stream }, fragment, end_headers, emit);
            }
            Frame::PushPromise { stream_id, promised_stream_id, fragment, end_headers, .. } => {
                let kind = BlockKind::PushPromise { promised_stream_id };
                self.start_block(dir, stream_id, kind, fragment, end_headers, emit);
            }
            Frame::Continuation { stream_id, fragment, end_headers } => {
                self.continue_block(dir, stream_id, fragment, end_headers, emit);
            }
            Frame::RstStream { stream_id, error_code } => emit(Event::Reset { dir, stream_id, error_code }),
            Frame::GoAway { last_stream_id, error_code, debug_data } => {
                emit(Event::GoAway { dir, last_stream_id, error_code, debug_data });
            }
            Frame::Settings { ack: false, settings } => {
                self.counters[d].settings += 1;
                let queue = &mut self.sent_settings[d];
                if queue.len() >= self.limits.max_pending_settings.max(1) {
                    queue.pop_front();
                }
                queue.push_back(SentSettings {
                    header_table_size: settings.get(SettingId::HEADER_TABLE_SIZE),
                    max_frame_size: settings.get(SettingId::MAX_FRAME_SIZE),
                });
            }
            Frame::Settings { ack: true, .. } => {
                self.counters[d].settings_acks += 1;
                // `dir` acknowledges its peer's settings: they bound what `dir` sends from now on.
                if let Some(s) = self.sent_settings[dir.reverse().index()].pop_front() {
                    if let Some(size) = s.header_table_size {
                        self.decoders[d].set_table_size_bound(size);
                    }
                    if let Some(size) = s.max_frame_size {
                        self.max_frame_size[d] = size.clamp(DEFAULT_MAX_FRAME_SIZE, MAX_FRAME_SIZE_LIMIT);
                    }
                }
            }
            Frame::Ping { ack: false, .. } => self.counters[d].pings += 1,
            Frame::Ping { ack: true, .. } => self.counters[d].ping_acks += 1,
            Frame::WindowUpdate { .. } => self.counters[d].window_updates += 1,
            Frame::Priority { .. } => self.counters[d].priorities += 1,
            Frame::Unknown { .. } => self.counters[d].unknown_frames += 1,
        }
    }

    /// A frame of `dir` was skipped (malformed or too large; `anomaly` says which). If it may have
    /// carried part of a header block, the open block is cut and the decoder loses track.
    pub fn on_skipped_frame(
        &mut self,
        dir: Direction,
        header: &FrameHeader,
        anomaly: Anomaly,
        emit: &mut dyn FnMut(Event<'_>),
    ) {
        self.counters[dir.index()].frames += 1;
        emit(Event::Anomaly { dir, stream_id: header.stream_id, anomaly });
        if matches!(header.frame_type, FrameType::Headers | FrameType::PushPromise | FrameType::Continuation) {
            if let Some(open) = &self.open_blocks[dir.index()] {
                let anomaly = Anomaly::HeaderBlockCut { stream_id: open.stream_id };
                self.cut_block(dir, anomaly, emit);
            }
            self.decoders[dir.index()].desynchronize();
        }
    }

    /// Part of a DATA frame too large to buffer, passed on as it arrives: `first` for the piece
    /// that starts the frame (a header block still open is interrupted by it), `end_stream` only
    /// on the last piece of a frame with END_STREAM. `flow_len` are the frame bytes this piece
    /// stands for (padding included).
    #[allow(clippy::too_many_arguments)]
    pub fn on_data_piece<'a>(
        &mut self,
        dir: Direction,
        stream_id: u32,
        piece: &'a [u8],
        end_stream: bool,
        flow_len: usize,
        first: bool,
        emit: &mut dyn FnMut(Event<'a>),
    ) {
        let d = dir.index();
        if first {
            self.counters[d].frames += 1;
            if let Some(open) = &self.open_blocks[d] {
                let anomaly = Anomaly::HeaderBlockInterrupted {
                    stream_id: open.stream_id,
                    by: FrameType::Data,
                    by_stream_id: stream_id,
                };
                self.cut_block(dir, anomaly, emit);
            }
        }
        self.counters[d].data_bytes += flow_len as u64;
        if !piece.is_empty() || end_stream {
            emit(Event::Data { dir, stream_id, data: piece, end_stream });
        }
    }

    /// The settings a client sent in the `HTTP2-Settings` header of an HTTP/1.1 upgrade request:
    /// the server's 101 acknowledged them (RFC 7540 §3.2.1), so they bound what the server sends.
    pub fn on_upgrade_settings(&mut self, settings: Settings<'_>) {
        let server = Direction::ServerToClient.index();
        if let Some(size) = settings.get(SettingId::HEADER_TABLE_SIZE) {
            self.decoders[server].set_table_size_bound(size);
        }
        if let Some(size) = settings.get(SettingId::MAX_FRAME_SIZE) {
            self.max_frame_size[server] = size.clamp(DEFAULT_MAX_FRAME_SIZE, MAX_FRAME_SIZE_LIMIT);
        }
    }

    /// The client's first bytes were not the connection preface.
    pub fn on_bad_preface(&mut self, dir: Direction, emit: &mut dyn FnMut(Event<'_>)) {
        emit(Event::Anomaly { dir, stream_id: 0, anomaly: Anomaly::BadPreface });
    }

    /// Bytes `dir` sent were not captured: its open header block is cut short, its decoder loses
    /// track of the dynamic table, and settings in flight can no longer be matched with their ACKs.
    pub fn on_gap(&mut self, dir: Direction, emit: &mut dyn FnMut(Event<'_>)) {
        if let Some(open) = &self.open_blocks[dir.index()] {
            let anomaly = Anomaly::HeaderBlockCut { stream_id: open.stream_id };
            self.cut_block(dir, anomaly, emit);
        }
        self.decoders[dir.index()].desynchronize();
        for decoder in &mut self.decoders {
            decoder.forget_table_size_bound();
        }
        for queue in &mut self.sent_settings {
            queue.clear();
        }
    }

    /// `dir` ended (or the connection closed): a header block still open is cut short.
    pub fn on_end(&mut self, dir: Direction, emit: &mut dyn FnMut(Event<'_>)) {
        if let Some(open) = &self.open_blocks[dir.index()] {
            let anomaly = Anomaly::HeaderBlockCut { stream_id: open.stream_id };
            self.cut_block(dir, anomaly, emit);
        }
    }

    fn start_block<'a>(
        &mut self,
        dir: Direction,
        stream_id: u32,
        kind: BlockKind,
        fragment: &[u8],
        end_headers: bool,
        emit: &mut dyn FnMut(Event<'a>),
    ) {
        if end_headers {
            // The usual case: the whole block in one frame, decoded in place.
            self.decode_block(dir, stream_id, kind, fragment, None, emit);
            return;
        }
        let mut open = OpenBlock { stream_id, kind, fragments: Vec::new(), overflowed: false };
        self.append(&mut open, fragment);
        self.open_blocks[dir.index()] = Some(open);
    }

    fn continue_block<'a>(
        &mut self,
        dir: Direction,
        stream_id: u32,
        fragment: &[u8],
        end_headers: bool,
        emit: &mut dyn FnMut(Event<'a>),
    ) {
        let Some(mut open) = self.open_blocks[dir.index()].take() else {
            // Mid-way, the HEADERS was before the capture; otherwise the peer erred. Either way
            // the fragment may have changed the dynamic table.
            self.decoders[dir.index()].desynchronize();
            emit(Event::Anomaly { dir, stream_id, anomaly: Anomaly::UnexpectedContinuation { stream_id } });
            return;
        };
        self.append(&mut open, fragment);
        if !end_headers {
            self.open_blocks[dir.index()] = Some(open);
            return;
        }
        let anomaly = open.overflowed.then_some(Anomaly::HeaderBlockTooLarge { max: self.limits.max_header_block });
        self.decode_block(dir, open.stream_id, open.kind, &open.fragments, anomaly, emit);
    }

    fn append(&self, open: &mut OpenBlock, fragment: &[u8]) {
        let room = self.limits.max_header_block.saturating_sub(open.fragments.len());
        let take = fragment.get(..room.min(fragment.len())).unwrap_or_default();
        open.fragments.extend_from_slice(take);
        open.overflowed |= take.len() < fragment.len();
    }

    /// Ends the open block of `dir` without its END_HEADERS: decodes what arrived, then forgets
    /// the dynamic table (the rest of the block may have changed it).
    fn cut_block<'a>(&mut self, dir: Direction, anomaly: Anomaly, emit: &mut dyn FnMut(Event<'a>)) {
        if let Some(open) = self.open_blocks[dir.index()].take() {
            self.decode_block(dir, open.stream_id, open.kind, &open.fragments, Some(anomaly), emit);
        }
    }

    /// Decodes a header block and emits it. With `cut` (why the block is incomplete) the block is
    /// decoded as far as it goes and the decoder forgets its table afterwards.
    fn decode_block<'a>(
        &mut self,
        dir: Direction,
        stream_id: u32,
        kind: BlockKind,
        block: &[u8],
        cut: Option<Anomaly>,
        emit: &mut dyn FnMut(Event<'a>),
    ) {
        let decoder = &mut self.decoders[dir.index()];
        let mut headers = HeaderList::new();
        let result = decoder.decode(block, &mut headers);
        let undecodable = cut.is_some() || result.is_err();
        match (cut, result) {
            (Some(anomaly), _) => {
                decoder.desynchronize();
                emit(Event::Anomaly { dir, stream_id, anomaly });
            }
            (None, Err(e)) => emit(Event::Anomaly { dir, stream_id, anomaly: Anomaly::Hpack(e) }),
            (None, Ok(())) => {}
        }
        emit(match kind {
            BlockKind::Headers { end_stream } => Event::Headers { dir, stream_id, headers, end_stream, undecodable },
            BlockKind::PushPromise { promised_stream_id } => {
                Event::PushPromise { dir, stream_id, promised_stream_id, headers, undecodable }
            }
        });
    }
}
