//! One UDP flow (a pair of addresses and ports): who is client, and the dissection state.

use super::config::EngineConfig;
use super::context::Emit;
use crate::dissect::{DatagramDissector, DatagramSession, Direction, FlowInfo, Probe};
use crate::entry::Transport;
use crate::packet::Decoded;
use crate::time::Timestamp;
use std::net::IpAddr;

enum Dissection {
    Probing { datagrams: u32 },
    Active(Box<dyn DatagramSession>),
    Ignored,
}

pub struct UdpFlow {
    client: (IpAddr, u16),
    server: (IpAddr, u16),
    dissection: Dissection,
    first_seen: Timestamp,
    last_seen: Timestamp,
}

impl UdpFlow {
    /// The first datagram's sender is taken as the client until a dissector says otherwise.
    pub fn new(d: &Decoded<'_>) -> Self {
        UdpFlow {
            client: (d.src_ip, d.src_port),
            server: (d.dst_ip, d.dst_port),
            dissection: Dissection::Probing { datagrams: 0 },
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

    pub fn is_idle(&self) -> bool {
        match &self.dissection {
            Dissection::Active(s) => s.is_idle(),
            _ => true,
        }
    }

    fn info(&self) -> FlowInfo {
        FlowInfo { server_port: self.server.1, client_port: self.client.1, saw_handshake: false }
    }

    pub fn on_datagram(
        &mut self,
        d: &Decoded<'_>,
        dissectors: &[Box<dyn DatagramDissector>],
        config: &EngineConfig,
        emit: &mut Emit<'_>,
    ) {
        self.last_seen = self.last_seen.max(d.ts);
        if let Dissection::Probing { datagrams } = &mut self.dissection {
            *datagrams += 1;
            let seen = *datagrams;
            let info = self.info();
            let sender_is_wire_client = (d.src_ip, d.src_port) == self.client;
            let chosen = dissectors.iter().find_map(|dis| match dis.probe(&info, d.payload) {
                Probe::Client => Some((dis, true)),
                Probe::Server => Some((dis, false)),
                Probe::No | Probe::NeedMore => None,
            });
            match chosen {
                Some((dissector, sender_is_client)) => {
                    if sender_is_client != sender_is_wire_client {
                        std::mem::swap(&mut self.client, &mut self.server);
                    }
                    self.dissection = Dissection::Active(dissector.new_session(&self.info()));
                }
                None if seen >= config.max_probe_datagrams => {
                    emit.stats.udp_flows_unrecognised += 1;
                    self.dissection = Dissection::Ignored;
                }
                None => {}
            }
        }
        let dir =
            if (d.src_ip, d.src_port) == self.client { Direction::ClientToServer } else { Direction::ServerToClient };
        if let Dissection::Active(session) = &mut self.dissection {
            session.on_datagram(dir, d.payload, d.ts, &mut emit.sink(Transport::Udp, self.client, self.server, false));
        }
    }

    pub fn tick(&mut self, now: Timestamp, emit: &mut Emit<'_>) {
        if let Dissection::Active(session) = &mut self.dissection {
            session.on_tick(now, &mut emit.sink(Transport::Udp, self.client, self.server, false));
        }
    }

    pub fn close(&mut self, now: Timestamp, emit: &mut Emit<'_>) {
        if let Dissection::Active(mut session) = std::mem::replace(&mut self.dissection, Dissection::Ignored) {
            session.on_close(now, &mut emit.sink(Transport::Udp, self.client, self.server, false));
        }
    }
}
