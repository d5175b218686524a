//! The agent side of the agent-to-hub protocol (docs/agent-protocol.md): the agent serves a
//! WebSocket, the hub connects, subscribes with a filter and a resume point, and gets entries,
//! counters and pcap exports. The message types are shared with the hub.
//!
//! Modules, one job each:
//! - `protocol`: the messages of both directions and the protocol's limits.
//! - `log`: the bounded, numbered buffer of recent entries that connections read from.
//! - `state`: what the connections share: identity, buffer, capture counters, ring directory.
//! - `names`: the hub's `names` messages, gathered and applied to the agent's name table.
//! - `session`: one hub connection, from `hello` to close.
//! - `pcap`: exports of stored packets, chunked for the connection.
//! - `server`: accepting hubs, the token check.

pub mod log;
pub mod names;
pub mod pcap;
pub mod protocol;
pub mod server;
pub mod session;
pub mod state;

pub use log::{EntryLog, LogLimits};
pub use server::{serve, ServerConfig};
pub use state::{AgentIdentity, AgentState, CaptureCounters, LinkSink, PacketStore};
