//! What a flow borrows from the engine while it handles a packet, a tick or its end.

use super::config::EngineConfig;
use super::entries::{EntryFactory, FlowSink};
use super::stats::EngineStats;
use crate::dissect::StreamDissector;
use crate::entry::{Entry, Transport};
use crate::reassembly::MemoryBudget;
use std::net::IpAddr;

/// Where a flow's exchanges go: turned into entries, counted, handed to the caller.
pub struct Emit<'a> {
    pub entries: &'a mut EntryFactory,
    pub stats: &'a mut EngineStats,
    pub out: &'a mut dyn FnMut(Entry),
}

impl Emit<'_> {
    /// A sink for the exchanges of one flow with these roles.
    pub fn sink(
        &mut self,
        transport: Transport,
        client: (IpAddr, u16),
        server: (IpAddr, u16),
        tls: bool,
    ) -> FlowSink<'_> {
        FlowSink { factory: self.entries, stats: self.stats, transport, client, server, tls, out: &mut *self.out }
    }
}

/// Everything a TCP flow needs from the engine.
pub struct FlowCtx<'a> {
    pub dissectors: &'a [Box<dyn StreamDissector>],
    pub config: &'a EngineConfig,
    pub budget: &'a mut MemoryBudget,
    pub emit: Emit<'a>,
}
