//! Starting a hub on the caller's tokio runtime: the store, the agent pool, the filter push-down
//! registry and the HTTP server on one address; and stopping it gracefully.

use crate::agents::{AgentConfig, Agents, AgentsError, AgentsOptions, NameFeed};
use crate::http::auth::HostPolicy;
use crate::http::server::{self, TaskSet};
use crate::http::{query, AppState};
use crate::store::{EntryStore, StoreLimits};
use crate::token::{self, TokenError};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What kind of session the hub serves (reported by `/api/v1/session`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    View,
    Local,
    Tap,
}

/// How to start a hub.
#[derive(Clone, Debug)]
pub struct HubConfig {
    /// Where to listen; port 0 picks a free port. Default 127.0.0.1:0.
    pub bind: SocketAddr,
    /// The session token; None generates 32 random bytes (base64url).
    pub token: Option<String>,
    pub mode: Mode,
    /// Whether secrets in headers are redacted (done by the agents; reported in /session).
    pub redact: bool,
    pub store: StoreLimits,
    /// Answer requests for any Host name. Off, only loopback names and the bound address are
    /// answered (a defence against DNS rebinding); an in-cluster hub reached through a port-forward
    /// under another name needs it on.
    pub allow_any_host: bool,
    /// The agents to connect to (more can be added later, see [`HubHandle::agents`]).
    pub agents: Vec<AgentConfig>,
    /// Filters the agents apply before any dashboard stream opens (empty: everything).
    pub initial_filters: Vec<node_agent::filter::Filter>,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            token: None,
            mode: Mode::Local,
            redact: true,
            store: StoreLimits::default(),
            allow_any_host: false,
            agents: Vec::new(),
            initial_filters: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("the hub must be started inside a tokio runtime")]
    NoRuntime,
    #[error("listening on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("the session token is empty or has characters other than printable ASCII without spaces, ';' or ','")]
    BadToken,
    #[error("the HTTP server task failed: {0}")]
    Server(String),
}

/// Starting hubs.
pub struct Hub;

impl Hub {
    /// Binds `config.bind` and serves on the current tokio runtime until [`HubHandle::shutdown`].
    pub fn start(config: HubConfig) -> Result<HubHandle, HubError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| HubError::NoRuntime)?;
        let token = match config.token {
            Some(t) if t.is_empty() || !token::is_token_text(&t) => return Err(HubError::BadToken),
            Some(t) => t,
            None => token::generate()?,
        };
        let bind_err = |source| HubError::Bind { addr: config.bind, source };
        let std_listener = std::net::TcpListener::bind(config.bind).map_err(bind_err)?;
        std_listener.set_nonblocking(true).map_err(bind_err)?;
        let local_addr = std_listener.local_addr().map_err(bind_err)?;
        let listener = {
            let _enter = runtime.enter();
            tokio::net::TcpListener::from_std(std_listener).map_err(bind_err)?
        };
        let store = Arc::new(EntryStore::new(config.store));
        let agents = {
            let _enter = runtime.enter();
            let options = AgentsOptions {
                redact: config.redact,
                initial_filters: config.initial_filters,
                ..AgentsOptions::default()
            };
            Arc::new(Agents::start(config.agents, Arc::clone(&store), options))
        };
        let streams = Arc::clone(agents.filters());
        let (stop, shutdown) = watch::channel(false);
        let state = Arc::new(AppState {
            store: Arc::clone(&store),
            agents: Arc::clone(&agents),
            token: token.clone(),
            mode: config.mode,
            redact: config.redact,
            hosts: HostPolicy { allow_any: config.allow_any_host, bound: local_addr.ip() },
            streams: Arc::clone(&streams),
            shutdown,
            tasks: TaskSet::new(),
        });
        let server = runtime.spawn(server::serve(listener, state));
        Ok(HubHandle { local_addr, token, store, agents, stop, server })
    }
}

/// A running hub.
pub struct HubHandle {
    local_addr: SocketAddr,
    token: String,
    store: Arc<EntryStore>,
    agents: Arc<Agents>,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
}

impl HubHandle {
    /// The address the hub listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The session token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The dashboard URL with the token, e.g. `http://127.0.0.1:PORT/?token=...` (a hub bound to
    /// the unspecified address is named by loopback).
    pub fn url(&self) -> String {
        let ip = match self.local_addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}/?token={}", SocketAddr::new(ip, self.local_addr.port()), query::encode(&self.token))
    }

    pub fn store(&self) -> Arc<EntryStore> {
        Arc::clone(&self.store)
    }

    pub fn agents(&self) -> Arc<Agents> {
        Arc::clone(&self.agents)
    }

    /// Connects to one more agent while the hub runs (see [`Agents::add`]).
    pub fn add_agent(&self, config: AgentConfig) -> Result<(), AgentsError> {
        self.agents.add(config)
    }

    /// Disconnects from an agent; its health row goes, its stored entries stay (see
    /// [`Agents::remove`]).
    pub fn remove_agent(&self, name: &str) -> bool {
        self.agents.remove(name)
    }

    /// The names of endpoints: changes reach every agent and fill entries on receipt. Stored
    /// entries are not rewritten when names change.
    pub fn names(&self) -> Arc<NameFeed> {
        Arc::clone(self.agents.names())
    }

    /// What every agent captures, now and after any reconnect (default: everything).
    pub fn set_capture_scope(&self, scope: node_agent::scope::Scope) {
        self.agents.set_capture_scope(scope);
    }

    /// The filters pushed down to the agents now (empty: everything).
    pub fn pushed_filters(&self) -> Vec<String> {
        self.agents.filters().in_force()
    }

    /// How many dashboard streams are open.
    pub fn open_streams(&self) -> usize {
        self.agents.filters().open_count()
    }

    /// Starts a graceful shutdown: the listener closes, in-flight requests finish, streams get a
    /// close frame, the agent pool stops. Await [`HubHandle::wait`] for the end.
    pub fn shutdown(&self) {
        self.stop.send_replace(true);
        self.agents.shutdown();
    }

    /// Waits until the server has stopped (after [`HubHandle::shutdown`], or a failure).
    pub async fn wait(self) -> Result<(), HubError> {
        self.server.await.map_err(|e| HubError::Server(e.to_string()))
    }
}
