//! The dissection of one connection, whatever carries its bytes (reassembled TCP or a byte-stream
//! source such as eBPF TLS): probing the first bytes, the chosen session, and hand-offs from one
//! protocol to the next ([`Handoff`]). [`Dissector`] turns stream events into session calls.

use super::config::EngineConfig;
use super::context::Emit;
use super::entries::FlowSink;
use super::probing::{StreamProbe, Verdict};
use crate::dissect::{Continuation, Direction, FlowInfo, Handoff, StreamDissector, StreamSession};
use crate::entry::Transport;
use crate::reassembly::StreamEvent;
use crate::time::Timestamp;
use std::net::IpAddr;

/// Hand-offs one connection may make; a connection that keeps switching (a tunnel inside a
/// tunnel inside ...) is given up after this many.
pub const MAX_HANDOFFS: u8 = 4;

/// Where a connection's dissection stands.
pub enum Dissection {
    Probing(Box<StreamProbe>),
    Active(Box<dyn StreamSession>),
    /// Not a protocol we know, or the dissector gave it up.
    Ignored,
}

impl Default for Dissection {
    fn default() -> Self {
        Dissection::Probing(Box::default())
    }
}

/// Who is client and server, as far as the flow knows. The side the transport calls
/// `ClientToServer` is `wire_client`; a dissector may recognise that the roles are the other way
/// round (`flipped`).
#[derive(Clone, Copy, Debug)]
pub struct Roles {
    pub wire_client: (IpAddr, u16),
    pub wire_server: (IpAddr, u16),
    pub flipped: bool,
    pub saw_handshake: bool,
    /// The bytes are plaintext read from a TLS library.
    pub tls: bool,
    /// Hand-offs made so far.
    pub handoffs: u8,
}

impl Roles {
    pub fn new(client: (IpAddr, u16), server: (IpAddr, u16), saw_handshake: bool, tls: bool) -> Self {
        Roles { wire_client: client, wire_server: server, flipped: false, saw_handshake, tls, handoffs: 0 }
    }

    fn roles(&self) -> ((IpAddr, u16), (IpAddr, u16)) {
        if self.flipped {
            (self.wire_server, self.wire_client)
        } else {
            (self.wire_client, self.wire_server)
        }
    }

    /// The session's view of a direction the transport reports (and back: it is its own inverse).
    fn session_dir(&self, wire_dir: Direction) -> Direction {
        if self.flipped {
            wire_dir.reverse()
        } else {
            wire_dir
        }
    }

    fn info(&self) -> FlowInfo {
        let (client, server) = self.roles();
        FlowInfo { server_port: server.1, client_port: client.1, saw_handshake: self.saw_handshake }
    }
}

/// Turns one connection's stream events into dissector calls.
pub struct Dissector<'c, 'e> {
    pub roles: Roles,
    pub dissectors: &'c [Box<dyn StreamDissector>],
    pub config: &'c EngineConfig,
    pub emit: &'c mut Emit<'e>,
    pub transport: Transport,
}

impl Dissector<'_, '_> {
    fn sink(&mut self) -> FlowSink<'_> {
        let (client, server) = self.roles.roles();
        self.emit.sink(self.transport, client, server, self.roles.tls)
    }

    pub fn handle(&mut self, dissection: &mut Dissection, ev: StreamEvent<'_>) {
        match ev {
            StreamEvent::Data { dir, data, ts } => self.on_data(dissection, dir, data, ts),
            StreamEvent::Gap { dir, len } => self.on_gap(dissection, dir, len),
            StreamEvent::End { dir, ts } => self.on_end(dissection, dir, ts),
            StreamEvent::Reset { .. } => {}
        }
    }

    pub fn on_gap(&mut self, dissection: &mut Dissection, wire_dir: Direction, len: u64) {
        match dissection {
            Dissection::Probing(probe) => {
                if let Verdict::Unrecognised = probe.gap(wire_dir) {
                    self.emit.stats.tcp_flows_unrecognised += 1;
                    *dissection = Dissection::Ignored;
                }
            }
            Dissection::Active(session) => {
                let dir = self.roles.session_dir(wire_dir);
                session.on_gap(dir, len, &mut self.sink());
                self.after_call(dissection, dir);
            }
            Dissection::Ignored => {}
        }
    }

    pub fn on_end(&mut self, dissection: &mut Dissection, wire_dir: Direction, ts: Timestamp) {
        if let Dissection::Active(session) = dissection {
            let dir = self.roles.session_dir(wire_dir);
            session.on_end(dir, ts, &mut self.sink());
            self.after_call(dissection, dir);
        }
    }

    /// The connection is gone: the session reports what is pending.
    pub fn close(&mut self, dissection: &mut Dissection, now: Timestamp) {
        if let Dissection::Active(session) = dissection {
            session.on_close(now, &mut self.sink());
        } else if matches!(dissection, Dissection::Probing(_)) {
            self.emit.stats.tcp_flows_unrecognised += 1;
        }
        *dissection = Dissection::Ignored;
    }

    pub fn on_data(&mut self, dissection: &mut Dissection, wire_dir: Direction, data: &[u8], ts: Timestamp) {
        match dissection {
            Dissection::Active(session) => {
                let dir = self.roles.session_dir(wire_dir);
                session.on_data(dir, data, ts, &mut self.sink());
                self.after_call(dissection, dir);
            }
            Dissection::Ignored => {}
            Dissection::Probing(probe) => {
                let info = self.roles.info();
                let probed_dir = self.roles.session_dir(wire_dir);
                match probe.push(probed_dir, data, ts, self.dissectors, &info, self.config.max_probe_bytes) {
                    Verdict::Undecided => {}
                    Verdict::Unrecognised => {
                        self.emit.stats.tcp_flows_unrecognised += 1;
                        *dissection = Dissection::Ignored;
                    }
                    Verdict::Chosen { index, probed, sender_is_client } => {
                        let probed_by_client = probed == Direction::ClientToServer;
                        let must_flip = probed_by_client != sender_is_client;
                        if must_flip {
                            self.roles.flipped = !self.roles.flipped;
                        }
                        let Some(dissector) = self.dissectors.get(index) else { return };
                        let mut session = dissector.new_session(&self.roles.info());
                        let mut last = probed;
                        // A hand-off during the replay gets the chunks not replayed yet as pending.
                        let mut handoff: Option<Handoff> = None;
                        {
                            let mut sink = self.sink();
                            probe.replay(|dir, bytes, ts| {
                                let dir = if must_flip { dir.reverse() } else { dir };
                                match &mut handoff {
                                    Some(h) => h.pending[dir.index()].extend_from_slice(bytes),
                                    None => {
                                        session.on_data(dir, bytes, ts, &mut sink);
                                        last = dir;
                                        handoff = session.take_handoff();
                                    }
                                }
                            });
                        }
                        *dissection = Dissection::Active(session);
                        self.follow(dissection, handoff, last);
                    }
                }
            }
        }
    }

    /// After a session call: a session that gave up is dropped, one that handed off is followed by
    /// the next protocol's (fed what the first did not consume).
    fn after_call(&mut self, dissection: &mut Dissection, dir: Direction) {
        self.follow(dissection, None, dir);
    }

    /// [`Self::after_call`], starting with a hand-off already taken from the session.
    fn follow(&mut self, dissection: &mut Dissection, mut taken: Option<Handoff>, dir: Direction) {
        loop {
            let Dissection::Active(session) = dissection else { return };
            let handoff = match taken.take() {
                Some(h) => h,
                None if session.is_done() => {
                    *dissection = Dissection::Ignored;
                    return;
                }
                None => match session.take_handoff() {
                    Some(h) => h,
                    None => return,
                },
            };
            self.emit.stats.handoffs += 1;
            if self.roles.handoffs >= MAX_HANDOFFS {
                *dissection = Dissection::Ignored;
                return;
            }
            self.roles.handoffs += 1;
            taken = self.continue_with(dissection, handoff, dir);
        }
    }

    /// Starts what follows a hand-off and feeds it the pending bytes: the other direction's first
    /// (they were received earlier), then the rest of the direction whose data ended the session.
    /// Returns a further hand-off the new session made while being fed.
    fn continue_with(&mut self, dissection: &mut Dissection, handoff: Handoff, dir: Direction) -> Option<Handoff> {
        let Handoff { next, pending, ts, upgrade } = handoff;
        let order = [dir.reverse(), dir];
        match next {
            Continuation::Protocol(name) => {
                let Some(dissector) = self.dissectors.iter().find(|d| d.name() == name) else {
                    // The protocol is disabled (--protocols): nothing more to see here.
                    *dissection = Dissection::Ignored;
                    return None;
                };
                let mut session = dissector.continue_session(&self.roles.info(), &upgrade);
                let mut further: Option<Handoff> = None;
                {
                    let mut sink = self.sink();
                    for d in order {
                        let bytes = &pending[d.index()];
                        match &mut further {
                            Some(h) => h.pending[d.index()].extend_from_slice(bytes),
                            None if !bytes.is_empty() && !session.is_done() => {
                                session.on_data(d, bytes, ts, &mut sink);
                                further = session.take_handoff();
                            }
                            None => {}
                        }
                    }
                }
                *dissection = Dissection::Active(session);
                further
            }
            Continuation::Probe => {
                *dissection = Dissection::default();
                for d in order {
                    let bytes = &pending[d.index()];
                    if !bytes.is_empty() {
                        // `on_data` takes transport directions; session_dir is its own inverse.
                        let wire = self.roles.session_dir(d);
                        self.on_data(dissection, wire, bytes, ts);
                    }
                }
                None
            }
        }
    }
}
