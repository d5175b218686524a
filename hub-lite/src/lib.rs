//! hub-lite: the hub of a kubectl-shark session. It connects to one or more node agents over
//! WebSocket (the agent-to-hub protocol is in docs/agent-protocol.md), merges their entry streams
//! into a bounded store, pushes the dashboard's filter down to the agents, and serves the embedded
//! dashboard and the versioned API (docs/api.md) to browsers on loopback, behind a session token.
//!
//! Modules, one job each:
//! - `store`: the bounded entry store of the session (oldest out) and its change notification.
//! - `agents`: connections to agents: reconnect, resume without duplicates, filter push-down,
//!   health, pcap export requests.
//! - `http`: the HTTP server, token auth, routes of /api/v1 and the dashboard assets.
//! - `cluster`: in a Kubernetes cluster (`--kubernetes`): agents, names and capture scope from
//!   watches, and the orphaned-session watchdog.
//! - `hub`: starting a hub (store, agent pool, HTTP server) and stopping it.
//! - `token`: session tokens (random, from a file, constant-time comparison).
//! - `har`, `stats`, `service_map`: pure views computed from stored entries.
//! - `protocols`: the engine's protocol catalogue, for clients that must not name protocols.
//! - `assets`: the dashboard, built by Vite and embedded at compile time.

pub mod agents;
pub mod assets;
pub mod cluster;
pub mod har;
pub mod http;
pub mod hub;
pub mod protocols;
pub mod service_map;
pub mod stats;
pub mod store;
pub mod token;
