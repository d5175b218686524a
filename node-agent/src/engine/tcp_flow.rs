//! One TCP connection: its reassembler, who is client and server, and the dissection state.

use super::ack_order::{acknowledges_undelivered, AckOrder, HeldSegment};
use super::config::EngineConfig;
use super::context::{Emit, FlowCtx};
use super::entries::FlowSink;
use super::probing::{StreamProbe, Verdict};
use crate::dissect::{Direction, FlowInfo, StreamDissector, StreamSession};
use crate::entry::Transport;
use crate::packet::{Decoded, TcpHeader};
use crate::reassembly::{Limits, MemoryBudget, StreamEvent, TcpReassembler};
use crate::time::Timestamp;
use std::net::IpAddr;

enum Dissection {
    Probing(Box<StreamProbe>),
    Active(Box<dyn StreamSession>),
    /// Not a protocol we know, or the dissector is done with it (e.g. after an HTTP Upgrade).
    Ignored,
}

pub struct TcpFlow {
    /// The side the reassembler calls `ClientToServer` is `wire_client`; the dissector may later
    /// recognise that the roles are the other way round (`flipped`).
    wire_client: (IpAddr, u16),
    wire_server: (IpAddr, u16),
    flipped: bool,
    client_isn: Option<u32>,
    saw_handshake: bool,
    reassembler: TcpReassembler,
    dissection: Dissection,
    /// FINs (per wire direction) and RST seen, to know when an ignored connection ends.
    fin_seen: [bool; 2],
    rst_seen: bool,
    /// A SYN (or SYN-ACK) was seen from this wire direction.
    syn_seen: [bool; 2],
    /// Segments held back until the data they acknowledge has been delivered.
    ack_order: AckOrder,
    first_seen: Timestamp,
    last_seen: Timestamp,
}

/// A port in the range operating systems hand out for outgoing connections.
fn looks_ephemeral(port: u16) -> bool {
    port >= 32768
}

impl TcpFlow {
    pub fn new(d: &Decoded<'_>, tcp: &TcpHeader, limits: Limits) -> Self {
        let src = (d.src_ip, d.src_port);
        let dst = (d.dst_ip, d.dst_port);
        // Orientation: the SYN's sender is the client; without a handshake, guess from the ports
        // (an ephemeral port talking to a non-ephemeral one is the client), else the first sender.
        let (client, server, saw_handshake) = if tcp.syn && !tcp.ack_flag {
            (src, dst, true)
        } else if tcp.syn && tcp.ack_flag {
            (dst, src, true)
        } else if looks_ephemeral(d.dst_port) && !looks_ephemeral(d.src_port) {
            (dst, src, false)
        } else {
            (src, dst, false)
        };
        TcpFlow {
            wire_client: client,
            wire_server: server,
            flipped: false,
            client_isn: if tcp.syn && !tcp.ack_flag { Some(tcp.seq) } else { None },
            saw_handshake,
            reassembler: TcpReassembler::new(limits),
            dissection: Dissection::Probing(Box::default()),
            fin_seen: [false; 2],
            rst_seen: false,
            syn_seen: [false; 2],
            ack_order: AckOrder::default(),
            first_seen: d.ts,
            last_seen: d.ts,
        }
    }

    pub fn first_seen(&self) -> Timestamp {
        self.first_seen
    }

    pub fn last_seen(&self) -> Timestamp {
        self.last_seen
    }

    pub fn is_finished(&self) -> bool {
        match self.dissection {
            Dissection::Ignored => self.rst_seen || self.fin_seen == [true, true],
            _ => self.reassembler.is_finished(),
        }
    }

    /// A RST was seen (in window or not).
    pub fn reset_seen(&self) -> bool {
        self.rst_seen
    }

    /// Both FINs or a RST were seen, but holes may still hold back the end of the stream.
    pub fn is_closing(&self) -> bool {
        self.rst_seen || self.fin_seen == [true, true] || self.reassembler.is_closing()
    }

    /// A SYN that starts a different connection on the same ports: not a retransmitted SYN, and
    /// not this connection's own SYN captured late (reordered behind the first data), whose
    /// sequence number lies just before the data already seen from its sender.
    pub fn is_new_connection_syn(&self, d: &Decoded<'_>, seq: u32) -> bool {
        if let Some(isn) = self.client_isn {
            return isn != seq;
        }
        if self.is_closing() {
            return true;
        }
        let dir = self.wire_dir_of(d);
        match self.reassembler.next_seq(dir) {
            // Up to 1 GiB before the next byte: the SYN of the data already seen.
            Some(next) => next.wrapping_sub(seq.wrapping_add(1)) >= 1 << 30,
            None => false,
        }
    }

    /// Records a late SYN that belongs to this connection (see [`Self::is_new_connection_syn`]).
    pub fn adopt_late_syn(&mut self, seq: u32) {
        self.client_isn = Some(seq);
        self.saw_handshake = true;
    }

    fn wire_dir_of(&self, d: &Decoded<'_>) -> Direction {
        if (d.src_ip, d.src_port) == self.wire_client {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        }
    }

    pub fn on_segment(&mut self, d: &Decoded<'_>, tcp: &TcpHeader, ctx: &mut FlowCtx<'_>) {
        self.last_seen = self.last_seen.max(d.ts);
        let wire_dir = self.wire_dir_of(d);
        self.fin_seen[wire_dir.index()] |= tcp.fin;
        self.rst_seen |= tcp.rst;
        if matches!(self.dissection, Dissection::Ignored) {
            // Nothing to reassemble: the flags above tell when the connection ends. Release
            // whatever the reassembler still holds from before the flow was given up.
            if self.reassembler.buffered_bytes() > 0 {
                self.reassembler.discard(ctx.budget);
            }
            return;
        }
        self.syn_seen[wire_dir.index()] |= tcp.syn;
        let FlowCtx { dissectors, config, budget, emit } = ctx;
        let mut events = EventHandler { flow_state: FlowState::of(self), dissectors, config, emit };
        let TcpFlow { reassembler, dissection, ack_order, syn_seen, .. } = self;
        ack_order.tick();
        if tcp.rst {
            // A reset ends the connection: nothing held back for the other direction's bytes
            // will get them now (e.g. a request that acknowledges the server's FIN, which the
            // server's stack answers with this RST), so it goes first, as captured before it.
            feed_held(reassembler, budget, &mut events, dissection, ack_order.drain());
        }
        let carries_data = !d.payload.is_empty() || tcp.fin;
        let anchored = |dir: Direction, r: &TcpReassembler| syn_seen[dir.index()] || r.is_open(dir);
        let must_wait = carries_data
            && (!anchored(wire_dir, reassembler)
                || acknowledges_undelivered(tcp, reassembler.next_seq(wire_dir.reverse())));
        if !(must_wait && ack_order.hold(wire_dir, tcp, d.payload, d.ts)) {
            reassembler.on_segment(wire_dir, tcp, d.payload, d.ts, budget, &mut |ev| events.handle(dissection, ev));
        }
        // Whatever was waiting for what just arrived may go now; what waited too long goes anyway.
        loop {
            let ready = |h: &HeldSegment| {
                anchored(h.dir, reassembler) && !acknowledges_undelivered(&h.tcp, reassembler.next_seq(h.dir.reverse()))
            };
            if let Some(h) = ack_order.release_ready(ready) {
                feed_held(reassembler, budget, &mut events, dissection, [h]);
            } else if ack_order.timed_out(d.ts) {
                feed_held(reassembler, budget, &mut events, dissection, ack_order.drain());
            } else {
                break;
            }
        }
        self.flipped = events.flow_state.flipped;
    }

    /// Releases segments that have been held too long while the connection was quiet.
    pub fn release_stale(&mut self, now: Timestamp, ctx: &mut FlowCtx<'_>) {
        if !self.ack_order.timed_out(now) {
            return;
        }
        let FlowCtx { dissectors, config, budget, emit } = ctx;
        let mut events = EventHandler { flow_state: FlowState::of(self), dissectors, config, emit };
        let TcpFlow { reassembler, dissection, ack_order, .. } = self;
        feed_held(reassembler, budget, &mut events, dissection, ack_order.drain());
        self.flipped = events.flow_state.flipped;
    }

    /// Ends the connection: delivers what is held (holes become gaps) and lets the session report
    /// what is pending.
    pub fn close(&mut self, now: Timestamp, ctx: &mut FlowCtx<'_>) {
        let FlowCtx { dissectors, config, budget, emit } = ctx;
        let mut events = EventHandler { flow_state: FlowState::of(self), dissectors, config, emit };
        let TcpFlow { reassembler, dissection, ack_order, .. } = self;
        events.emit.stats.segments_held_for_ack_order += ack_order.reordered;
        feed_held(reassembler, budget, &mut events, dissection, ack_order.drain());
        reassembler.flush(budget, &mut |ev| events.handle(dissection, ev));
        events.emit.stats.reassembly += reassembler.stats();
        if let Dissection::Active(session) = dissection {
            session.on_close(now, &mut events.sink());
        } else if matches!(dissection, Dissection::Probing(_)) {
            events.emit.stats.tcp_flows_unrecognised += 1;
        }
        *dissection = Dissection::Ignored;
    }
}

/// Hands held segments to the reassembler, as if they arrived now.
fn feed_held(
    reassembler: &mut TcpReassembler,
    budget: &mut MemoryBudget,
    events: &mut EventHandler<'_, '_>,
    dissection: &mut Dissection,
    held: impl IntoIterator<Item = HeldSegment>,
) {
    for h in held {
        reassembler.on_segment(h.dir, &h.tcp, &h.payload, h.ts, budget, &mut |ev| events.handle(dissection, ev));
    }
}

/// The parts of a flow the event handler needs while the reassembler is borrowed.
struct FlowState {
    wire_client: (IpAddr, u16),
    wire_server: (IpAddr, u16),
    flipped: bool,
    saw_handshake: bool,
}

impl FlowState {
    fn of(flow: &TcpFlow) -> Self {
        FlowState {
            wire_client: flow.wire_client,
            wire_server: flow.wire_server,
            flipped: flow.flipped,
            saw_handshake: flow.saw_handshake,
        }
    }

    fn roles(&self) -> ((IpAddr, u16), (IpAddr, u16)) {
        if self.flipped {
            (self.wire_server, self.wire_client)
        } else {
            (self.wire_client, self.wire_server)
        }
    }

    /// The session's view of a direction the reassembler reports.
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

/// Turns the reassembler's events into dissector calls for one flow.
struct EventHandler<'c, 'e> {
    flow_state: FlowState,
    dissectors: &'c [Box<dyn StreamDissector>],
    config: &'c EngineConfig,
    emit: &'c mut Emit<'e>,
}

impl EventHandler<'_, '_> {
    fn sink(&mut self) -> FlowSink<'_> {
        let (client, server) = self.flow_state.roles();
        self.emit.sink(Transport::Tcp, client, server)
    }

    fn handle(&mut self, dissection: &mut Dissection, ev: StreamEvent<'_>) {
        match ev {
            StreamEvent::Data { dir, data, ts } => self.on_data(dissection, dir, data, ts),
            StreamEvent::Gap { dir, len } => match dissection {
                Dissection::Probing(probe) => {
                    if let Verdict::Unrecognised = probe.gap(dir) {
                        self.emit.stats.tcp_flows_unrecognised += 1;
                        *dissection = Dissection::Ignored;
                    }
                }
                Dissection::Active(session) => {
                    let dir = self.flow_state.session_dir(dir);
                    session.on_gap(dir, len, &mut self.sink());
                }
                Dissection::Ignored => {}
            },
            StreamEvent::End { dir, ts } => {
                if let Dissection::Active(session) = dissection {
                    let dir = self.flow_state.session_dir(dir);
                    session.on_end(dir, ts, &mut self.sink());
                }
            }
            StreamEvent::Reset { .. } => {}
        }
        if let Dissection::Active(session) = dissection {
            if session.is_done() {
                *dissection = Dissection::Ignored;
            }
        }
    }

    fn on_data(&mut self, dissection: &mut Dissection, wire_dir: Direction, data: &[u8], ts: Timestamp) {
        match dissection {
            Dissection::Active(session) => {
                let dir = self.flow_state.session_dir(wire_dir);
                session.on_data(dir, data, ts, &mut self.sink());
            }
            Dissection::Ignored => {}
            Dissection::Probing(probe) => {
                let info = self.flow_state.info();
                let probed_dir = self.flow_state.session_dir(wire_dir);
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
                            self.flow_state.flipped = !self.flow_state.flipped;
                        }
                        let Some(dissector) = self.dissectors.get(index) else { return };
                        let mut session = dissector.new_session(&self.flow_state.info());
                        {
                            let mut sink = self.sink();
                            probe.replay(|dir, bytes, ts| {
                                let dir = if must_flip { dir.reverse() } else { dir };
                                session.on_data(dir, bytes, ts, &mut sink);
                            });
                        }
                        *dissection = Dissection::Active(session);
                    }
                }
            }
        }
    }
}
