//! Turning a dissector's [`Exchange`] into an [`Entry`]: ids, endpoints, transport, elapsed time.

use super::stats::EngineStats;
use crate::dissect::{Exchange, ExchangeSink};
use crate::entry::{Endpoint, Entry, Transport};
use std::net::IpAddr;

pub struct EntryFactory {
    source_id: String,
    next: u64,
}

impl EntryFactory {
    pub fn new(source_id: String) -> Self {
        EntryFactory { source_id, next: 0 }
    }

    pub fn make(
        &mut self,
        x: Exchange,
        transport: Transport,
        client: (IpAddr, u16),
        server: (IpAddr, u16),
        tls: bool,
    ) -> Entry {
        self.next += 1;
        Entry {
            id: format!("{}-{}", self.source_id, self.next),
            protocol: x.protocol.to_string(),
            transport,
            ts: x.ts,
            elapsed_us: x.end_ts.map(|end| x.ts.micros_until(end)),
            src: Endpoint::new(client.0, client.1),
            dst: Endpoint::new(server.0, server.1),
            summary: x.summary,
            status: x.status,
            outcome: x.outcome,
            tls,
            request_size: x.request_size,
            response_size: x.response_size,
            request: x.request,
            response: x.response,
            notes: x.notes,
        }
    }
}

/// An [`ExchangeSink`] that turns each exchange of one flow into an entry and hands it on.
pub struct FlowSink<'a> {
    pub factory: &'a mut EntryFactory,
    pub stats: &'a mut EngineStats,
    pub transport: Transport,
    pub client: (IpAddr, u16),
    pub server: (IpAddr, u16),
    pub tls: bool,
    pub out: &'a mut dyn FnMut(Entry),
}

impl ExchangeSink for FlowSink<'_> {
    fn emit(&mut self, exchange: Exchange) {
        self.stats.entries += 1;
        (self.out)(self.factory.make(exchange, self.transport, self.client, self.server, self.tls));
    }

    fn emit_with_id(&mut self, exchange: Exchange) -> Option<String> {
        self.stats.entries += 1;
        let entry = self.factory.make(exchange, self.transport, self.client, self.server, self.tls);
        let id = entry.id.clone();
        (self.out)(entry);
        Some(id)
    }
}
