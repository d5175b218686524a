//! Connections whose bytes come in order from a source other than packets: the eBPF TLS source
//! reads plaintext at the TLS library, per connection and direction. They feed the same probing,
//! sessions and hand-offs as reassembled TCP ([`super::dissection`]); only reassembly is skipped.

use super::context::FlowCtx;
use super::dissection::{Dissection, Dissector, Roles};
use crate::dissect::Direction;
use crate::entry::Transport;
use crate::time::Timestamp;
use std::net::IpAddr;

/// A connection as a byte-stream source identifies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StreamKey {
    /// The side that opened the connection, as far as the source knows (a dissector may decide
    /// the other way round from the content).
    pub client: (IpAddr, u16),
    pub server: (IpAddr, u16),
    /// Tells apart connections that reuse the same addresses and ports (e.g. a socket cookie).
    pub conn_id: u64,
}

/// What a byte-stream source reports about a connection.
#[derive(Clone, Copy, Debug)]
pub enum StreamInput<'a> {
    /// The next bytes `dir` sent, in order.
    Data { dir: Direction, data: &'a [u8], ts: Timestamp },
    /// `len` bytes of `dir` were not captured (the source lost them).
    Gap { dir: Direction, len: u64 },
    /// `dir` will send no more (shutdown).
    End { dir: Direction, ts: Timestamp },
}

/// One byte-stream connection: who is who, and the dissection state.
pub struct ByteStream {
    roles: Roles,
    dissection: Dissection,
    first_seen: Timestamp,
    last_seen: Timestamp,
}

impl ByteStream {
    pub fn new(key: &StreamKey, tls: bool, ts: Timestamp) -> Self {
        ByteStream {
            // The source saw the connection from its start: the roles are known.
            roles: Roles::new(key.client, key.server, true, tls),
            dissection: Dissection::default(),
            first_seen: ts,
            last_seen: ts,
        }
    }

    pub fn first_seen(&self) -> Timestamp {
        self.first_seen
    }

    pub fn last_seen(&self) -> Timestamp {
        self.last_seen
    }

    pub fn on_input(&mut self, input: StreamInput<'_>, ctx: &mut FlowCtx<'_>) {
        let mut d = self.dissector(ctx);
        match input {
            StreamInput::Data { dir, data, ts } => {
                self.last_seen = self.last_seen.max(ts);
                d.on_data(&mut self.dissection, dir, data, ts);
            }
            StreamInput::Gap { dir, len } => d.on_gap(&mut self.dissection, dir, len),
            StreamInput::End { dir, ts } => {
                self.last_seen = self.last_seen.max(ts);
                d.on_end(&mut self.dissection, dir, ts);
            }
        }
        self.roles = d.roles;
    }

    /// The connection is gone: the session reports what is pending.
    pub fn close(&mut self, now: Timestamp, ctx: &mut FlowCtx<'_>) {
        let mut d = self.dissector(ctx);
        d.close(&mut self.dissection, now);
        self.roles = d.roles;
    }

    fn dissector<'c, 'e>(&self, ctx: &'c mut FlowCtx<'e>) -> Dissector<'c, 'e> {
        Dissector {
            roles: self.roles,
            dissectors: ctx.dissectors,
            config: ctx.config,
            emit: &mut ctx.emit,
            transport: Transport::Tcp,
        }
    }
}
