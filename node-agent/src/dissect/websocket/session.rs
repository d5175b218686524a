//! The WebSocket stream dissector: one [`MessageAssembler`] per direction, one entry per message
//! (control frames included), each pointing to the `101 Switching Protocols` entry it follows.
//!
//! WebSocket has no signature of its own in the first bytes, so it is reached only by the hand-off
//! of an HTTP/1.1 upgrade ([`StreamDissector::continue_session`]): the switching response's
//! `Sec-WebSocket-Extensions` says whether permessage-deflate is in use and how.

use super::deflate::{parse_extensions, Extensions, EXTENSION_NAME};
use super::frame::Opcode;
use super::json::{self, Context};
use super::message::{Message, MessageAssembler};
use super::Limits;
use crate::dissect::{Direction, ExchangeSink, FlowInfo, Probe, StreamDissector, StreamSession, Upgrade};
use crate::time::Timestamp;

/// The WebSocket dissector (name `"websocket"`).
#[derive(Clone, Debug, Default)]
pub struct WebSocketDissector {
    limits: Limits,
}

impl WebSocketDissector {
    pub fn with_limits(limits: Limits) -> Self {
        WebSocketDissector { limits }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }
}

impl StreamDissector for WebSocketDissector {
    fn name(&self) -> &'static str {
        "websocket"
    }

    /// Never: a WebSocket connection is recognised by its HTTP handshake, not by its frames.
    fn probe(&self, _flow: &FlowInfo, _data: &[u8]) -> Probe {
        Probe::No
    }

    /// A connection whose handshake was not seen: permessage-deflate is assumed possible, and a
    /// compressed message that refers to history before the capture is reported as not
    /// inflatable instead of inflated wrongly.
    fn new_session(&self, _flow: &FlowInfo) -> Box<dyn StreamSession> {
        Box::new(WebSocketSession::mid_connection(self.limits))
    }

    fn continue_session(&self, _flow: &FlowInfo, upgrade: &Upgrade) -> Box<dyn StreamSession> {
        Box::new(WebSocketSession::after_upgrade(self.limits, upgrade))
    }
}

/// One WebSocket connection.
pub struct WebSocketSession {
    /// Indexed by [`Direction::index`].
    assemblers: [MessageAssembler; 2],
    handshake: Option<String>,
    body_limit: usize,
    /// A Close was seen from each direction.
    closed: [bool; 2],
    /// Notes for the session's first entry (what the handshake said that could not be followed).
    first_notes: Vec<String>,
    /// Messages finished by the current call (kept to reuse the allocation).
    finished: Vec<Message>,
}

impl WebSocketSession {
    /// The connection that the HTTP exchange `upgrade` switched to WebSocket.
    pub fn after_upgrade(limits: Limits, upgrade: &Upgrade) -> Self {
        let offered: Vec<&str> = upgrade
            .response_headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-extensions"))
            .map(|(_, v)| v.as_str())
            .collect();
        let extensions = parse_extensions(&offered.join(", "));
        let mut notes = extensions.problems.clone();
        for other in &extensions.others {
            notes.push(format!("extension {other} not interpreted (it may change what frames carry)"));
        }
        let mut s = Self::new(limits, &extensions, notes);
        s.handshake = upgrade.entry_id.clone();
        s
    }

    /// A connection seen from a frame boundary after its handshake.
    pub fn mid_connection(limits: Limits) -> Self {
        let extensions = parse_extensions(EXTENSION_NAME);
        let notes = vec!["WebSocket handshake not captured: extensions assumed".to_owned()];
        let mut s = Self::new(limits, &extensions, notes);
        for a in &mut s.assemblers {
            a.assume_mid_connection();
        }
        s
    }

    fn new(limits: Limits, extensions: &Extensions, first_notes: Vec<String>) -> Self {
        WebSocketSession {
            assemblers: [
                MessageAssembler::for_extensions(Direction::ClientToServer, extensions, limits),
                MessageAssembler::for_extensions(Direction::ServerToClient, extensions, limits),
            ],
            handshake: None,
            body_limit: limits.max_kept,
            closed: [false, false],
            first_notes,
            finished: Vec::new(),
        }
    }

    /// Runs `step` on the assemblers, then reports the messages it finished, in order.
    fn step(&mut self, out: &mut dyn ExchangeSink, step: impl FnOnce(&mut [MessageAssembler; 2], &mut Vec<Message>)) {
        let mut finished = std::mem::take(&mut self.finished);
        step(&mut self.assemblers, &mut finished);
        for m in finished.drain(..) {
            let mut close_reply = false;
            if m.opcode == Opcode::Close {
                close_reply = self.closed[m.from.reverse().index()];
                self.closed[m.from.index()] = true;
            }
            let ctx = Context { handshake: self.handshake.as_deref(), close_reply, body_limit: self.body_limit };
            out.emit(json::exchange(m, &ctx, std::mem::take(&mut self.first_notes)));
        }
        self.finished = finished;
    }
}

impl StreamSession for WebSocketSession {
    fn on_data(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink) {
        self.step(out, |a, done| a[dir.index()].feed(data, ts, done));
    }

    fn on_gap(&mut self, dir: Direction, len: u64, out: &mut dyn ExchangeSink) {
        self.step(out, |a, done| a[dir.index()].gap(len, done));
    }

    fn on_end(&mut self, dir: Direction, _ts: Timestamp, out: &mut dyn ExchangeSink) {
        self.step(out, |a, done| a[dir.index()].finish(done));
    }

    fn on_close(&mut self, _ts: Timestamp, out: &mut dyn ExchangeSink) {
        self.step(out, |a, done| a.iter_mut().for_each(|a| a.finish(done)));
    }

    /// Both directions lost their framing: nothing more can be followed.
    fn is_done(&self) -> bool {
        self.assemblers.iter().all(|a| a.desync().is_some())
    }

    fn buffered_bytes(&self) -> usize {
        self.assemblers.iter().map(MessageAssembler::buffered_bytes).sum()
    }
}
