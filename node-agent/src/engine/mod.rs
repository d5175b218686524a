//! The pipeline from captured frames to entries: decode, drop cross-interface copies, track flows,
//! reassemble TCP, pick a dissector by content, and turn the dissectors' exchanges into [`Entry`]s.
//! Nothing here knows any protocol: dissectors come from [`crate::dissect::registry`].

mod ack_order;
mod byte_stream;
mod config;
mod context;
mod dissection;
mod entries;
mod flow_key;
mod probing;
mod stats;
mod tcp_flow;
mod udp_flow;

pub use byte_stream::{StreamInput, StreamKey};
pub use config::EngineConfig;
pub use stats::EngineStats;

use crate::dedup::Deduplicator;
use crate::dissect::{registry, DatagramDissector, StreamDissector};
use crate::entry::Entry;
use crate::packet::{self, TransportHeader};
use crate::reassembly::MemoryBudget;
use crate::source::RawPacket;
use crate::time::Timestamp;
use byte_stream::ByteStream;
use context::{Emit, FlowCtx};
use entries::EntryFactory;
use flow_key::FlowKey;
use std::collections::HashMap;
use tcp_flow::TcpFlow;
use udp_flow::UdpFlow;

/// The context flows borrow from the engine: built from its fields (not through a method) so that
/// the flow tables stay borrowable beside it.
macro_rules! flow_ctx {
    ($engine:ident, $out:expr) => {
        FlowCtx {
            dissectors: &$engine.stream_dissectors,
            config: &$engine.config,
            budget: &mut $engine.budget,
            emit: Emit { entries: &mut $engine.entries, stats: &mut $engine.stats, out: $out },
        }
    };
}

macro_rules! emit {
    ($engine:ident, $out:expr) => {
        Emit { entries: &mut $engine.entries, stats: &mut $engine.stats, out: $out }
    };
}

/// What the engine did with one frame; callers store only `Kept` frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// A TCP or UDP packet the engine processed.
    Kept,
    /// The same IP packet was already seen at another capture point.
    Duplicate,
    /// Valid, but nothing for us (ARP, ICMP, fragments, ...).
    Ignored,
    /// The frame could not be decoded.
    Malformed,
}

pub struct Engine {
    config: EngineConfig,
    stream_dissectors: Vec<Box<dyn StreamDissector>>,
    datagram_dissectors: Vec<Box<dyn DatagramDissector>>,
    tcp: HashMap<FlowKey, TcpFlow, ahash::RandomState>,
    udp: HashMap<FlowKey, UdpFlow, ahash::RandomState>,
    /// Connections fed as in-order byte streams (not packets), e.g. TLS plaintext from eBPF.
    streams: HashMap<StreamKey, ByteStream, ahash::RandomState>,
    budget: MemoryBudget,
    dedup: Deduplicator,
    entries: EntryFactory,
    stats: EngineStats,
    last_sweep: Timestamp,
    now: Timestamp,
}

impl Engine {
    /// An engine with every registered protocol.
    pub fn new(config: EngineConfig) -> Self {
        let (stream, datagram) =
            (registry::stream_dissectors(&config.protocols), registry::datagram_dissectors(&config.protocols));
        Self::with_dissectors(config, stream, datagram)
    }

    /// An engine with a chosen set of protocols.
    pub fn with_dissectors(
        config: EngineConfig,
        stream_dissectors: Vec<Box<dyn StreamDissector>>,
        datagram_dissectors: Vec<Box<dyn DatagramDissector>>,
    ) -> Self {
        Engine {
            stream_dissectors,
            datagram_dissectors,
            tcp: HashMap::default(),
            udp: HashMap::default(),
            streams: HashMap::default(),
            budget: MemoryBudget::new(config.memory_limit),
            dedup: Deduplicator::new(config.dedup_window_nanos, config.dedup_capacity),
            entries: EntryFactory::new(config.source_id.clone()),
            stats: EngineStats::default(),
            last_sweep: Timestamp::ZERO,
            now: Timestamp::ZERO,
            config,
        }
    }

    /// Processes one captured frame; finished exchanges go to `out`.
    pub fn process(&mut self, raw: &RawPacket<'_>, out: &mut dyn FnMut(Entry)) -> Disposition {
        self.stats.packets += 1;
        self.stats.bytes += raw.orig_len as u64;
        if raw.ts > self.now {
            self.now = raw.ts;
        }
        let decoded = match packet::decode(raw) {
            Ok(Some(d)) => d,
            Ok(None) => {
                self.stats.ignored_packets += 1;
                return Disposition::Ignored;
            }
            Err(_) => {
                self.stats.malformed_packets += 1;
                return Disposition::Malformed;
            }
        };
        if self.config.dedup && self.dedup.is_duplicate(raw.capture_point, raw.ts, decoded.ip_packet) {
            return Disposition::Duplicate;
        }
        match decoded.transport {
            TransportHeader::Tcp(tcp) => self.on_tcp(&decoded, &tcp, out),
            TransportHeader::Udp => self.on_udp(&decoded, out),
        }
        if self.now.as_nanos().saturating_sub(self.last_sweep.as_nanos()) >= self.config.sweep_interval_nanos {
            self.sweep(self.now, out);
        }
        Disposition::Kept
    }

    /// Feeds a connection that a byte-stream source reports (in order, no reassembly needed);
    /// `tls` marks its entries as read from a TLS library. The connection starts at its first input.
    pub fn stream_input(&mut self, key: &StreamKey, tls: bool, input: StreamInput<'_>, out: &mut dyn FnMut(Entry)) {
        let ts = match input {
            StreamInput::Data { ts, .. } | StreamInput::End { ts, .. } => ts,
            StreamInput::Gap { .. } => self.now,
        };
        if ts > self.now {
            self.now = ts;
        }
        if !self.streams.contains_key(key) {
            if self.streams.len() >= self.config.max_flows {
                self.stats.flows_rejected += 1;
                return;
            }
            self.streams.insert(*key, ByteStream::new(key, tls, ts));
            self.stats.tcp_flows_total += 1;
        }
        if let Some(stream) = self.streams.get_mut(key) {
            stream.on_input(input, &mut flow_ctx!(self, out));
        }
    }

    /// A byte-stream connection ended (closed by either side): what is pending is reported.
    pub fn stream_close(&mut self, key: &StreamKey, ts: Timestamp, out: &mut dyn FnMut(Entry)) {
        if let Some(mut stream) = self.streams.remove(key) {
            stream.close(ts.max(self.now), &mut flow_ctx!(self, out));
        }
    }

    /// Lets time pass without packets (live capture): times out idle flows and unanswered requests.
    pub fn tick(&mut self, now: Timestamp, out: &mut dyn FnMut(Entry)) {
        if now > self.now {
            self.now = now;
        }
        self.sweep(self.now, out);
    }

    /// Ends every flow (end of file or of capture) and emits everything pending.
    pub fn finish(&mut self, out: &mut dyn FnMut(Entry)) {
        let now = self.now;
        let mut tcp: Vec<_> = self.tcp.drain().collect();
        tcp.sort_by_key(|(_, f)| f.first_seen());
        for (_, mut flow) in tcp {
            self.close_tcp_flow(&mut flow, now, out);
        }
        let mut streams: Vec<_> = self.streams.drain().collect();
        streams.sort_by_key(|(_, s)| s.first_seen());
        for (_, mut stream) in streams {
            stream.close(now, &mut flow_ctx!(self, out));
        }
        let mut udp: Vec<_> = self.udp.drain().collect();
        udp.sort_by_key(|(_, f)| f.first_seen());
        for (_, mut flow) in udp {
            flow.close(now, &mut emit!(self, out));
        }
        self.stats.tcp_flows_active = 0;
        self.stats.udp_flows_active = 0;
    }

    pub fn stats(&self) -> EngineStats {
        let mut s = self.stats;
        s.memory_buffered = self.budget.used() as u64;
        s.tcp_flows_active = (self.tcp.len() + self.streams.len()) as u64;
        s.udp_flows_active = self.udp.len() as u64;
        s.duplicate_packets = self.dedup.dropped();
        s
    }

    fn on_tcp(&mut self, d: &packet::Decoded<'_>, tcp: &packet::TcpHeader, out: &mut dyn FnMut(Entry)) {
        let key = FlowKey::new(d.src_ip, d.src_port, d.dst_ip, d.dst_port);
        let fresh_syn = tcp.syn && !tcp.ack_flag;
        if let Some(flow) = self.tcp.get_mut(&key) {
            if fresh_syn {
                if flow.is_new_connection_syn(d, tcp.seq) {
                    // The old connection ended without us seeing it (or the port was reused): close it first.
                    if let Some(mut old) = self.tcp.remove(&key) {
                        self.close_tcp_flow(&mut old, d.ts, out);
                    }
                } else {
                    flow.adopt_late_syn(tcp.seq);
                }
            }
        }
        if !self.tcp.contains_key(&key) {
            // Pure ACKs and RSTs of connections we never saw carry nothing: do not start a flow for them.
            if !tcp.syn && d.payload.is_empty() {
                return;
            }
            if self.tcp.len() >= self.config.max_flows {
                self.stats.flows_rejected += 1;
                return;
            }
            self.tcp.insert(key, TcpFlow::new(d, tcp, self.config.reassembly));
            self.stats.tcp_flows_total += 1;
        }
        let Some(flow) = self.tcp.get_mut(&key) else { return };
        flow.on_segment(d, tcp, &mut flow_ctx!(self, out));
        // A reset connection stays in the table until the closing timeout sweeps it (or a new SYN
        // replaces it): segments captured after its RST (a retransmission, or packets the capture
        // reordered) land on it and are discarded, instead of starting a connection of their own
        // that would report its bytes a second time. Both FINs reached close it at once.
        if flow.is_finished() && !flow.reset_seen() {
            if let Some(mut flow) = self.tcp.remove(&key) {
                self.close_tcp_flow(&mut flow, d.ts, out);
            }
        }
    }

    fn on_udp(&mut self, d: &packet::Decoded<'_>, out: &mut dyn FnMut(Entry)) {
        let key = FlowKey::new(d.src_ip, d.src_port, d.dst_ip, d.dst_port);
        if !self.udp.contains_key(&key) {
            if self.udp.len() >= self.config.max_flows {
                self.stats.flows_rejected += 1;
                return;
            }
            self.udp.insert(key, UdpFlow::new(d));
            self.stats.udp_flows_total += 1;
        }
        if let Some(flow) = self.udp.get_mut(&key) {
            flow.on_datagram(d, &self.datagram_dissectors, &self.config, &mut emit!(self, out));
        }
    }

    fn close_tcp_flow(&mut self, flow: &mut TcpFlow, now: Timestamp, out: &mut dyn FnMut(Entry)) {
        flow.close(now, &mut flow_ctx!(self, out));
    }

    fn sweep(&mut self, now: Timestamp, out: &mut dyn FnMut(Entry)) {
        self.last_sweep = now;
        for flow in self.tcp.values_mut() {
            flow.release_stale(now, &mut flow_ctx!(self, out));
        }
        let (tcp_idle, tcp_closing) = (self.config.tcp_idle_timeout_nanos, self.config.tcp_closing_timeout_nanos);
        let idle_tcp: Vec<FlowKey> = self
            .tcp
            .iter()
            .filter(|(_, f)| {
                let quiet = now.as_nanos().saturating_sub(f.last_seen().as_nanos());
                quiet >= tcp_idle || (f.is_closing() && quiet >= tcp_closing)
            })
            .map(|(k, _)| *k)
            .collect();
        for key in idle_tcp {
            if let Some(mut flow) = self.tcp.remove(&key) {
                self.stats.tcp_flows_timed_out += 1;
                self.close_tcp_flow(&mut flow, now, out);
            }
        }
        let idle_streams: Vec<StreamKey> = self
            .streams
            .iter()
            .filter(|(_, s)| now.as_nanos().saturating_sub(s.last_seen().as_nanos()) >= tcp_idle)
            .map(|(k, _)| *k)
            .collect();
        for key in idle_streams {
            if let Some(mut stream) = self.streams.remove(&key) {
                self.stats.tcp_flows_timed_out += 1;
                stream.close(now, &mut flow_ctx!(self, out));
            }
        }
        let udp_idle = self.config.udp_idle_timeout_nanos;
        let mut idle_udp = Vec::new();
        for (key, flow) in self.udp.iter_mut() {
            flow.tick(now, &mut emit!(self, out));
            if now.as_nanos().saturating_sub(flow.last_seen().as_nanos()) >= udp_idle && flow.is_idle() {
                idle_udp.push(*key);
            }
        }
        for key in idle_udp {
            if let Some(mut flow) = self.udp.remove(&key) {
                flow.close(now, &mut emit!(self, out));
            }
        }
    }
}

#[cfg(test)]
mod tests;
