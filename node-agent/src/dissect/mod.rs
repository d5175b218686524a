//! The dissector contract. A protocol is one module implementing [`StreamDissector`] (TCP) or
//! [`DatagramDissector`] (UDP), plus one line in [`registry`]. The engine knows nothing of protocols:
//! it probes the registered dissectors with the first bytes of a flow, then feeds the chosen
//! dissector's session with reassembled, in-order data (or datagrams) and collects [`Exchange`]s.

pub mod dns;
pub mod http1;
pub mod registry;
pub mod websocket;

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
    pub request_size: u64,
    pub response_size: u64,
    pub request: serde_json::Value,
    pub response: Option<serde_json::Value>,
    pub notes: Vec<String>,
}

/// Where a session puts finished exchanges.
pub trait ExchangeSink {
    fn emit(&mut self, exchange: Exchange);
}

impl ExchangeSink for Vec<Exchange> {
    fn emit(&mut self, exchange: Exchange) {
        self.push(exchange);
    }
}

/// A TCP protocol: probes first bytes and creates per-connection sessions. Stateless and shared.
pub trait StreamDissector: Send + Sync {
    /// Lowercase protocol name as it appears in entries.
    fn name(&self) -> &'static str;
    /// Looks at the first bytes that one direction of a connection sent (in order, from the start
    /// of the captured stream, possibly not the start of the connection).
    fn probe(&self, flow: &FlowInfo, data: &[u8]) -> Probe;
    fn new_session(&self, flow: &FlowInfo) -> Box<dyn StreamSession>;
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
    /// Stop dissecting this connection (e.g. after an HTTP Upgrade): the engine then drops its data.
    fn is_done(&self) -> bool {
        false
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
