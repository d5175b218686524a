//! The dissector contract. A protocol is one module implementing [`StreamDissector`] (TCP, or any
//! in-order byte stream) or [`DatagramDissector`] (UDP), plus one line in [`registry`]. The engine
//! knows nothing of protocols: it probes the registered dissectors with the first bytes of a flow,
//! then feeds the chosen dissector's session with reassembled, in-order data (or datagrams) and
//! collects [`Exchange`]s. A session may end by handing the connection on ([`Handoff`]): HTTP/1.1
//! `Upgrade` to WebSocket or h2c, a tunnel after `CONNECT`.
//!
//! Shared pieces: [`framing`] (buffering and resynchronisation for length-prefixed protocols),
//! [`settings`] (what the user chose: enabled protocols, limits), and the redaction of secrets
//! each protocol declares in its registration ([`crate::redact`]).

pub mod amqp;
pub mod dns;
pub mod framing;
pub mod grpc;
pub mod http1;
pub mod http2;
pub mod kafka;
pub mod mongodb;
pub mod mysql;
pub mod postgresql;
pub mod redis;
pub mod registry;
pub mod settings;
pub mod websocket;

use crate::entry::Outcome;
use crate::time::Timestamp;

/// Which peer sent some bytes, relative to the flow's orientation as the engine knows it.
/// `Client` is the side that opened the connection (sent the SYN) or, for a flow seen mid-way,
/// the side the probing dissector recognised as the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    ClientToServer,
    ServerToClient,
}

impl Direction {
    pub fn reverse(self) -> Direction {
        match self {
            Direction::ClientToServer => Direction::ServerToClient,
            Direction::ServerToClient => Direction::ClientToServer,
        }
    }
    pub fn index(self) -> usize {
        match self {
            Direction::ClientToServer => 0,
            Direction::ServerToClient => 1,
        }
    }
}

/// What a dissector thinks of the first bytes of one direction of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Definitely not this protocol.
    No,
    /// Cannot tell yet; probe again when more bytes have arrived.
    NeedMore,
    /// These bytes are this protocol, sent by the client.
    Client,
    /// These bytes are this protocol, sent by the server.
    Server,
}

/// What the dissector may know about the flow when probing or starting a session.
#[derive(Clone, Copy, Debug)]
pub struct FlowInfo {
    /// Port of the side the engine currently believes to be the server (the SYN's destination).
    pub server_port: u16,
    /// Port of the other side.
    pub client_port: u16,
    /// True when the connection was seen from its SYN (so Direction is known for certain).
    pub saw_handshake: bool,
}

/// What carries on a connection after a session hands it off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Continuation {
    /// The stream dissector of this [`StreamDissector::name`] (e.g. `"websocket"`, `"http2"`).
    Protocol(&'static str),
    /// Not known: probe the following bytes as if the connection started there (a `CONNECT` tunnel).
    Probe,
}

/// A session's last word: the connection goes on in another protocol. The engine starts the next
/// session and feeds it `pending` (bytes the ending session received but did not consume), so no
/// byte is lost or dissected twice.
#[derive(Clone, Debug, PartialEq)]
pub struct Handoff {
    pub next: Continuation,
    /// Unconsumed bytes per direction, indexed by [`Direction::index`].
    pub pending: [Vec<u8>; 2],
    /// Capture time of the data that ended the session.
    pub ts: Timestamp,
    /// What the protocol switch was negotiated with, for the next session.
    pub upgrade: Upgrade,
}

/// The HTTP/1.1 exchange that switched protocols, as far as the next protocol needs it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Upgrade {
    /// Id of the entry that reported the switching exchange (the 101), when the sink assigns ids.
    pub entry_id: Option<String>,
    /// The upgrade request as its entry shows it (h2c: this request is HTTP/2 stream 1).
    pub request: Option<serde_json::Value>,
    /// Capture time of the request's first byte, and its size on the wire.
    pub request_ts: Option<Timestamp>,
    pub request_size: u64,
    /// Headers of the request and of the switching response, `[name, value]` in wire order.
    pub request_headers: Vec<(String, String)>,
    pub response_headers: Vec<(String, String)>,
}

impl Upgrade {
    /// The first value of a response header, any case.
    pub fn response_header(&self, name: &str) -> Option<&str> {
        self.response_headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    /// The first value of a request header, any case.
    pub fn request_header(&self, name: &str) -> Option<&str> {
        self.request_headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A finished exchange as a dissector reports it; the engine adds ids, endpoints and the transport.
#[derive(Clone, Debug, PartialEq)]
pub struct Exchange {
    pub protocol: &'static str,
    /// First byte of the request (or of the response, for a response whose request was not seen).
    pub ts: Timestamp,
    /// Last byte of the response, if there was one.
    pub end_ts: Option<Timestamp>,
    pub summary: String,
    pub status: Option<String>,
    /// The outcome in common words, derived by the protocol from its status.
    pub outcome: Outcome,
    pub request_size: u64,
    pub response_size: u64,
    pub request: serde_json::Value,
    pub response: Option<serde_json::Value>,
    pub notes: Vec<String>,
}

/// Where a session puts finished exchanges.
pub trait ExchangeSink {
    fn emit(&mut self, exchange: Exchange);
    /// Emits and returns the id the entry got, where the sink assigns ids (the engine's does), so a
    /// later exchange can point to this one (WebSocket messages to their handshake).
    fn emit_with_id(&mut self, exchange: Exchange) -> Option<String> {
        self.emit(exchange);
        None
    }
}

impl ExchangeSink for Vec<Exchange> {
    fn emit(&mut self, exchange: Exchange) {
        self.push(exchange);
    }
}

/// A TCP protocol: probes first bytes and creates per-connection sessions. Stateless and shared.
pub trait StreamDissector: Send + Sync {
    /// Unique lowercase name of this dissector (`"http1"`, `"http2"`, `"dns"`): what a
    /// [`Continuation::Protocol`] names. The entries' `protocol` is the dissector's own business.
    fn name(&self) -> &'static str;
    /// Looks at the first bytes that one direction of a connection sent (in order, from the start
    /// of the captured stream, possibly not the start of the connection). A protocol reached only
    /// through a hand-off (WebSocket) answers [`Probe::No`].
    fn probe(&self, flow: &FlowInfo, data: &[u8]) -> Probe;
    fn new_session(&self, flow: &FlowInfo) -> Box<dyn StreamSession>;
    /// The session that continues a connection another session handed off to this dissector.
    fn continue_session(&self, flow: &FlowInfo, _upgrade: &Upgrade) -> Box<dyn StreamSession> {
        self.new_session(flow)
    }
}

/// The per-connection state of a TCP protocol. Receives each direction's bytes in order, and the
/// two directions in causal order: a segment is delivered only after the data of the other
/// direction that it acknowledges (within bounds; see `engine::ack_order`). So a response never
/// arrives before the request it answers, even when the capture shows them the other way round;
/// sessions pair by arrival order and must not compare timestamps across directions.
pub trait StreamSession: Send {
    /// `data` continues what this direction sent before (unless a gap was reported in between).
    /// `ts` is the capture time of the segment that carried these bytes.
    fn on_data(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink);
    /// `len` bytes of this direction were never captured; resynchronise at the next message boundary.
    fn on_gap(&mut self, dir: Direction, len: u64, out: &mut dyn ExchangeSink);
    /// The direction finished (FIN). Bodies that end at close end here.
    fn on_end(&mut self, dir: Direction, ts: Timestamp, out: &mut dyn ExchangeSink);
    /// The connection is gone (both FINs, RST, idle timeout or end of capture): emit what is pending,
    /// requests without a response included.
    fn on_close(&mut self, ts: Timestamp, out: &mut dyn ExchangeSink);
    /// Stop dissecting this connection (it is not this protocol after all): the engine then drops
    /// its data.
    fn is_done(&self) -> bool {
        false
    }
    /// The connection continues in another protocol ([`Handoff`]); asked after every call. Once it
    /// returned `Some`, the session gets no more calls.
    fn take_handoff(&mut self) -> Option<Handoff> {
        None
    }
    /// Bytes this session currently holds (for the engine's memory accounting).
    fn buffered_bytes(&self) -> usize {
        0
    }
}

/// A UDP protocol.
pub trait DatagramDissector: Send + Sync {
    fn name(&self) -> &'static str;
    /// Looks at one datagram of a flow whose protocol is not known yet.
    fn probe(&self, flow: &FlowInfo, payload: &[u8]) -> Probe;
    fn new_session(&self, flow: &FlowInfo) -> Box<dyn DatagramSession>;
}

/// The per-flow state of a UDP protocol (a flow is a pair of addresses and ports).
pub trait DatagramSession: Send {
    fn on_datagram(&mut self, dir: Direction, payload: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink);
    /// Called as time passes (packet time offline, wall time live): report requests that timed out.
    fn on_tick(&mut self, now: Timestamp, out: &mut dyn ExchangeSink);
    /// The flow is gone (idle or end of capture): emit everything pending.
    fn on_close(&mut self, ts: Timestamp, out: &mut dyn ExchangeSink);
    /// True when nothing is pending and the flow can be forgotten.
    fn is_idle(&self) -> bool;
}
