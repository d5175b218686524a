//! One TCP connection: its reassembler, who is client and server, and the dissection state.

use super::ack_order::{acknowledges_undelivered, AckOrder, HeldSegment};
use super::context::FlowCtx;
use super::dissection::{Dissection, Dissector, Roles};
use crate::dissect::Direction;
use crate::entry::Transport;
use crate::packet::{Decoded, TcpHeader};
use crate::reassembly::{Limits, MemoryBudget, TcpReassembler};
use crate::time::Timestamp;

pub struct TcpFlow {
    /// The side the reassembler calls `ClientToServer` is the roles' `wire_client`.
    roles: Roles,
    client_isn: Option<u32>,
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
            roles: Roles::new(client, server, saw_handshake, false),
            client_isn: if tcp.syn && !tcp.ack_flag { Some(tcp.seq) } else { None },
            reassembler: TcpReassembler::new(limits),
            dissection: Dissection::default(),
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
        self.roles.saw_handshake = true;
    }

    fn wire_dir_of(&self, d: &Decoded<'_>) -> Direction {
        if (d.src_ip, d.src_port) == self.roles.wire_client {
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
        let mut events = Dissector { roles: self.roles, dissectors, config, emit, transport: Transport::Tcp };
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
        self.roles = events.roles;
    }

    /// Releases segments that have been held too long while the connection was quiet.
    pub fn release_stale(&mut self, now: Timestamp, ctx: &mut FlowCtx<'_>) {
        if !self.ack_order.timed_out(now) {
            return;
        }
        let FlowCtx { dissectors, config, budget, emit } = ctx;
        let mut events = Dissector { roles: self.roles, dissectors, config, emit, transport: Transport::Tcp };
        let TcpFlow { reassembler, dissection, ack_order, .. } = self;
        feed_held(reassembler, budget, &mut events, dissection, ack_order.drain());
        self.roles = events.roles;
    }

    /// Ends the connection: delivers what is held (holes become gaps) and lets the session report
    /// what is pending.
    pub fn close(&mut self, now: Timestamp, ctx: &mut FlowCtx<'_>) {
        let FlowCtx { dissectors, config, budget, emit } = ctx;
        let mut events = Dissector { roles: self.roles, dissectors, config, emit, transport: Transport::Tcp };
        let TcpFlow { reassembler, dissection, ack_order, .. } = self;
        events.emit.stats.segments_held_for_ack_order += ack_order.reordered;
        feed_held(reassembler, budget, &mut events, dissection, ack_order.drain());
        reassembler.flush(budget, &mut |ev| events.handle(dissection, ev));
        events.emit.stats.reassembly += reassembler.stats();
        events.close(dissection, now);
        self.roles = events.roles;
    }
}

/// Hands held segments to the reassembler, as if they arrived now.
fn feed_held(
    reassembler: &mut TcpReassembler,
    budget: &mut MemoryBudget,
    events: &mut Dissector<'_, '_>,
    dissection: &mut Dissection,
    held: impl IntoIterator<Item = HeldSegment>,
) {
    for h in held {
        reassembler.on_segment(h.dir, &h.tcp, &h.payload, h.ts, budget, &mut |ev| events.handle(dissection, ev));
    }
}
