//! Scaffolding shared by the agent-link integration tests (agent_link.rs, resolver.rs): the demo
//! capture's entries, real agent servers (node_agent::link) on loopback, fake agents that speak the
//! protocol by hand, and waiting on the hub's store.

// Each test binary that says `mod common;` compiles its own copy of this module, and a helper that
// one of them does not use would otherwise be reported as dead code in that binary.
#![allow(dead_code)]

use futures_util::StreamExt;
use hub_lite::agents::{Agents, AgentsOptions};
use hub_lite::store::EntryStore;
use node_agent::engine::EngineConfig;
use node_agent::link::protocol::{AgentMessage, HubMessage};
use node_agent::link::{serve, AgentIdentity, AgentState, LogLimits, ServerConfig};
use node_agent::Entry;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

/// The bundled demo capture (samples/demo.pcapng).
pub fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/demo.pcapng")
}

/// The entries of the demo capture, with ids of `prefix`.
pub fn demo_entries(prefix: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    let config = EngineConfig { source_id: prefix.into(), ..EngineConfig::default() };
    let run = node_agent::pipeline::run_files(&[demo()], config, &mut |e| entries.push(e));
    assert!(run.error.is_none(), "{:?}", run.error);
    assert!(entries.len() >= 50, "the demo capture has {} entries", entries.len());
    entries
}

/// A running agent server; sending true on `shutdown` stops it and its sessions, and `task` ends
/// once the listening socket is closed.
pub struct AgentServer {
    pub address: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl AgentServer {
    /// Stops the server and waits until its listening socket is closed.
    pub async fn stop(self) {
        self.shutdown.send_replace(true);
        self.task.await.unwrap();
    }
}

/// Starts an agent server for `state` on `address` (default: a free loopback port), requiring
/// `token` from hubs when one is given.
pub async fn start_agent(state: &Arc<AgentState>, address: Option<SocketAddr>, token: Option<&str>) -> AgentServer {
    // SO_REUSEADDR: a restarted agent takes its port again although connections to the old one linger.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_reuseaddr(true).unwrap();
    socket.bind(address.unwrap_or_else(|| "127.0.0.1:0".parse().unwrap())).unwrap();
    let listener: TcpListener = socket.listen(16).unwrap();
    let address = listener.local_addr().unwrap();
    let (shutdown, rx) = watch::channel(false);
    let config = ServerConfig { token: token.map(String::from), ..ServerConfig::default() };
    let task = tokio::spawn(serve(listener, Arc::clone(state), config, rx, Arc::new(|_| {})));
    AgentServer { address, shutdown, task }
}

/// The state of a new agent run on node `name`, with its log limits and packet ring directory.
pub fn new_state(name: &str, limits: LogLimits, storage: Option<PathBuf>) -> Arc<AgentState> {
    Arc::new(AgentState::new(AgentIdentity::new_run(name).unwrap(), limits, storage))
}

/// Agents options without redaction, so that entries arrive exactly as the agent produced them.
pub fn no_redaction() -> AgentsOptions {
    AgentsOptions { redact: false, ..AgentsOptions::default() }
}

/// Waits until `done` holds, polling on the store's notifications (and every 50 ms for what changes
/// without one, such as the agents' one-second stats). The long limit only keeps a broken build from
/// hanging CI; nothing here is a timing assertion.
pub async fn until(
    store: &EntryStore,
    agents: &Agents,
    what: &str,
    mut done: impl FnMut(&EntryStore, &Agents) -> bool,
) {
    let mut changes = store.watch();
    let wait = async {
        while !done(store, agents) {
            let _ = tokio::time::timeout(Duration::from_millis(50), changes.changed()).await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(120), wait).await.is_err() {
        panic!("gave up waiting for: {what}; health: {:?}", agents.health());
    }
}

/// The entries in the store, oldest first.
pub fn stored(store: &EntryStore) -> Vec<Entry> {
    store.snapshot().iter().map(|e| Entry::clone(e)).collect()
}

/// A fake agent: one accepted WebSocket connection on `listener`.
pub async fn accept(listener: &TcpListener) -> tokio_tungstenite::WebSocketStream<tokio::net::TcpStream> {
    let (tcp, _) = listener.accept().await.unwrap();
    tokio_tungstenite::accept_async(tcp).await.unwrap()
}

/// The next text message from the hub, skipping pings.
pub async fn from_hub(ws: &mut tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>) -> HubMessage {
    loop {
        match ws.next().await.expect("open").expect("readable") {
            Message::Text(t) => return serde_json::from_str(&t).expect("the hub sends valid messages"),
            _ => continue,
        }
    }
}

/// A fake agent's message to the hub, as the JSON text message a real agent sends.
pub fn text(m: &AgentMessage) -> Message {
    Message::text(serde_json::to_string(m).unwrap())
}
