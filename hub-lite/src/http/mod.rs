//! The hub's HTTP side: one hyper HTTP/1 server on the session's address serving the dashboard
//! assets and the API of docs/api.md, the browsers' WebSocket stream, and token auth.
//!
//! Modules, one job each:
//! - `server`: accepting connections, limits and timeouts, graceful shutdown.
//! - `routes`: dispatching a request (Host check, auth, the routes of /api/v1, assets).
//! - `stream`: the `/api/v1/stream` WebSocket session (replay, follow, filter changes, health).
//! - `auth`, `query`: tokens, Host/Origin checks, query strings.
//! - `rows`, `select`: rows of entries, choosing entries.
//! - `response`: response builders and the API error type.

pub mod auth;
pub mod query;
pub mod response;
pub mod routes;
pub mod rows;
pub mod select;
pub mod server;
pub mod stream;

use crate::agents::{Agents, FilterRegistry};
use crate::hub::Mode;
use crate::store::EntryStore;
use std::sync::Arc;
use tokio::sync::watch;

pub use response::ApiError;

/// Everything a request handler needs, shared by all connections of one hub.
pub struct AppState {
    pub store: Arc<EntryStore>,
    /// The agents: entries come from them, pcap exports and health are asked of them.
    pub agents: Arc<Agents>,
    /// The session token.
    pub token: String,
    pub mode: Mode,
    pub redact: bool,
    pub hosts: auth::HostPolicy,
    /// The open streams' filters, pushed down to the agents.
    pub streams: Arc<FilterRegistry>,
    /// Becomes true when the hub shuts down.
    pub shutdown: watch::Receiver<bool>,
    /// Connection and WebSocket tasks, awaited on shutdown.
    pub tasks: Arc<server::TaskSet>,
}
