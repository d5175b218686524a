//! One agent, from the hub: connect, say what to send and from where, tell it the capture scope
//! and the names of endpoints, take entries into the store (filling names the agent did not know),
//! keep health, push filter, scope and name changes, run pcap exports; on any failure reconnect
//! with backoff and resume after the last entry received, so nothing is stored twice and little
//! is lost.

use super::health::HealthState;
use super::names::{Delta, NameFeed, NamesMessages, NAMES_INTERVAL};
use super::pcap::{PcapRequest, PendingExports};
use crate::store::EntryStore;
use futures_util::{Sink as WsSink, SinkExt, StreamExt};
use node_agent::link::protocol::{
    parse_pcap_chunk, AgentMessage, HubMessage, LINK_PATH, MAX_AGENT_MESSAGE, PROTOCOL_VERSION,
};
use node_agent::redact::{needs_redaction, redact_entry};
use node_agent::scope::Scope;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

/// Time to connect and complete the WebSocket handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// An agent sends stats every second; this much silence means the connection is dead.
const AGENT_SILENCE_LIMIT: Duration = Duration::from_secs(30);
/// The hub pings this often so the agent knows it is alive.
const PING_INTERVAL: Duration = Duration::from_secs(10);
const MIN_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Where an agent is and how to get in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentConfig {
    /// The name shown in health (the node name in a cluster).
    pub name: String,
    /// `ws://host:port/link/v1`.
    pub url: String,
    /// Sent as `Authorization: Bearer <token>` when set.
    pub token: Option<String>,
}

impl AgentConfig {
    /// An agent at `host:port` (e.g. a local end of a port-forward).
    pub fn at(name: &str, address: std::net::SocketAddr, token: Option<String>) -> AgentConfig {
        AgentConfig { name: name.into(), url: format!("ws://{address}{LINK_PATH}"), token }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("connecting to {url}: {source}")]
    Connect { url: String, source: tungstenite::Error },
    #[error("connecting to {url}: the agent answered HTTP {status}{hint}")]
    Refused { url: String, status: u16, hint: &'static str },
    #[error("connecting to {url}: no answer within {timeout:?}")]
    ConnectTimeout { url: String, timeout: Duration },
    #[error("agent {agent}: {source}")]
    WebSocket { agent: String, source: tungstenite::Error },
    #[error("agent {agent}: sent nothing for {0:?}", AGENT_SILENCE_LIMIT)]
    Silent { agent: String },
    #[error("agent {agent}: closed the connection")]
    Closed { agent: String },
    #[error("agent {agent}: speaks protocol {got}, this hub {PROTOCOL_VERSION}")]
    Version { agent: String, got: u32 },
    #[error("agent {agent}: protocol violation: {what}")]
    Protocol { agent: String, what: String },
    #[error("agent {agent}: encoding a message: {source}")]
    Encode { agent: String, source: serde_json::Error },
}

/// What an agent's task needs; it owns the receiving ends.
pub(crate) struct Link {
    pub config: AgentConfig,
    pub store: Arc<EntryStore>,
    pub filters: watch::Receiver<Vec<String>>,
    pub health: Arc<Mutex<HealthState>>,
    pub requests: mpsc::Receiver<PcapRequest>,
    pub redact: bool,
    pub max_pcap_bytes: u64,
    pub shutdown: watch::Receiver<bool>,
    pub names: Arc<NameFeed>,
    pub scope: watch::Receiver<Arc<Scope>>,
    /// Where to resume, shared with the pool so that an agent removed and added again resumes.
    pub resume: Arc<Mutex<Resume>>,
}

/// Where to resume: the agent run and the last of its sequence numbers received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Resume {
    run: Option<String>,
    after: u64,
}

impl Link {
    fn health(&self) -> std::sync::MutexGuard<'_, HealthState> {
        self.health.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs until shutdown: connects, serves the connection, and reconnects after failures.
    pub async fn run(mut self) {
        let mut resume = self.resume.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut backoff = MIN_BACKOFF;
        let mut first = true;
        loop {
            if *self.shutdown.borrow() {
                return;
            }
            if !first {
                self.health().view.reconnects += 1;
            }
            first = false;
            let mut pending = PendingExports::new(&self.config.name, self.max_pcap_bytes);
            let mut greeted = false;
            let result = self.connection(&mut resume, &mut pending, &mut greeted).await;
            pending.disconnected();
            self.health().disconnected(result.err().map(|e| e.to_string()));
            if greeted {
                backoff = MIN_BACKOFF;
            }
            // Wait before the next attempt; exports asked meanwhile fail at once.
            let until = Instant::now() + backoff;
            loop {
                tokio::select! {
                    _ = stopped(&mut self.shutdown) => return,
                    _ = sleep_until(until) => break,
                    request = self.requests.recv() => match request {
                        Some(r) => {
                            let agent = self.config.name.clone();
                            let _ = r.reply.send(Err(super::pcap::PcapError::Disconnected { agent }));
                        }
                        None => return,
                    },
                }
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// One connection, to its end. `Ok` only when the hub shuts down.
    async fn connection(
        &mut self,
        resume: &mut Resume,
        pending: &mut PendingExports,
        greeted: &mut bool,
    ) -> Result<(), LinkError> {
        let agent = self.config.name.clone();
        let ws_err = |source| LinkError::WebSocket { agent: agent.clone(), source };
        let ws = self.connect().await?;
        let (mut tx, mut rx) = ws.split();

        // hello
        let deadline = Instant::now() + AGENT_SILENCE_LIMIT;
        let hello = loop {
            let message = tokio::select! {
                _ = stopped(&mut self.shutdown) => return Ok(()),
                m = rx.next() => m,
                _ = sleep_until(deadline) => return Err(LinkError::Silent { agent }),
            };
            match message {
                None | Some(Ok(Message::Close(_))) => return Err(LinkError::Closed { agent }),
                Some(Err(e)) => return Err(ws_err(e)),
                Some(Ok(Message::Text(t))) => break parse(&agent, &t)?,
                Some(Ok(Message::Binary(_))) => {
                    return Err(LinkError::Protocol { agent, what: "binary message before hello".into() })
                }
                Some(Ok(_)) => {}
            }
        };
        let AgentMessage::Hello { protocol, run, id_prefix, .. } = hello else {
            return Err(LinkError::Protocol { agent, what: "the first message is not hello".into() });
        };
        if protocol != PROTOCOL_VERSION {
            return Err(LinkError::Version { agent, got: protocol });
        }
        if resume.run.as_deref() != Some(run.as_str()) {
            // A new agent run (or the first connection): its numbers start over, and without a run
            // of its own in `subscribe` the agent sends from its oldest buffered entry.
            *resume = Resume { run: None, after: 0 };
            self.save(resume);
        }
        let filters = self.filters.borrow_and_update().clone();
        let m = subscribe(&agent, resume.run.clone(), resume.after, filters.clone(), self.redact)?;
        tx.send(m).await.map_err(ws_err)?;
        resume.run = Some(run.clone());
        // Filter lists sent and not yet acknowledged, by id (the subscription is id 0).
        let mut unacked: VecDeque<(u64, Vec<String>)> = VecDeque::from([(0, filters)]);
        let mut next_filter_id = 0u64;
        self.health().connected(&run, &id_prefix);
        *greeted = true;

        // The agent gets this hub's capture scope and names, whatever it had before.
        let mut next_capture_id = 0u64;
        let mut scopes_sent: VecDeque<(u64, Option<u64>)> = VecDeque::new();
        let scope = Arc::clone(&self.scope.borrow_and_update());
        next_capture_id += 1;
        tx.send(encode(&agent, &capture(next_capture_id, &scope))?).await.map_err(ws_err)?;
        scopes_sent.push_back((next_capture_id, scope.address_count().map(|n| n as u64)));
        let mut names_changed = self.names.watch();
        names_changed.borrow_and_update();
        let (mut names_generation, delta) = self.names.since(None);
        send_names(&mut tx, &agent, delta).await?;
        let mut names_sent_at = Instant::now();
        // When changed names are due to be sent (at most every NAMES_INTERVAL).
        let mut names_due: Option<Instant> = None;

        let mut silence_deadline = Instant::now() + AGENT_SILENCE_LIMIT;
        let mut ping = tokio::time::interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
        loop {
            tokio::select! {
                biased;
                _ = stopped(&mut self.shutdown) => {
                    let _ = tx.send(Message::Close(None)).await;
                    return Ok(());
                }
                message = rx.next() => {
                    silence_deadline = Instant::now() + AGENT_SILENCE_LIMIT;
                    match message {
                        None | Some(Ok(Message::Close(_))) => return Err(LinkError::Closed { agent }),
                        Some(Err(e)) => return Err(ws_err(e)),
                        Some(Ok(Message::Text(t))) => {
                            let m = parse(&agent, &t)?;
                            let sink = Sink {
                                store: &self.store,
                                health: &self.health,
                                names: &self.names,
                                resume: &self.resume,
                                redact: self.redact,
                                agent: &agent,
                            };
                            sink.take(m, resume, pending, &mut unacked, &mut scopes_sent)?;
                        }
                        Some(Ok(Message::Binary(b))) => match parse_pcap_chunk(&b) {
                            Some((id, data)) => pending.data(id, data),
                            None => return Err(LinkError::Protocol { agent, what: "a binary message without id".into() }),
                        },
                        Some(Ok(_)) => {}
                    }
                }
                changed = self.filters.changed() => {
                    if changed.is_err() {
                        return Ok(()); // the hub is going away
                    }
                    next_filter_id += 1;
                    let filters = self.filters.borrow_and_update().clone();
                    let m = HubMessage::Filter { id: next_filter_id, filters: filters.clone() };
                    tx.send(encode(&agent, &m)?).await.map_err(ws_err)?;
                    unacked.push_back((next_filter_id, filters));
                    // An agent that never acknowledges cannot make the hub remember without bound.
                    while unacked.len() > 64 {
                        unacked.pop_front();
                    }
                }
                changed = self.scope.changed() => {
                    if changed.is_err() {
                        return Ok(()); // the hub is going away
                    }
                    let scope = Arc::clone(&self.scope.borrow_and_update());
                    next_capture_id += 1;
                    tx.send(encode(&agent, &capture(next_capture_id, &scope))?).await.map_err(ws_err)?;
                    scopes_sent.push_back((next_capture_id, scope.address_count().map(|n| n as u64)));
                    while scopes_sent.len() > 64 {
                        scopes_sent.pop_front();
                    }
                }
                changed = names_changed.changed() => {
                    if changed.is_err() {
                        return Ok(()); // the hub is going away
                    }
                    if names_due.is_none() {
                        names_due = Some((names_sent_at + NAMES_INTERVAL).max(Instant::now()));
                    }
                }
                _ = sleep_until(names_due.unwrap_or_else(Instant::now)), if names_due.is_some() => {
                    names_due = None;
                    let (generation, delta) = self.names.since(Some(names_generation));
                    names_generation = generation;
                    names_sent_at = Instant::now();
                    send_names(&mut tx, &agent, delta).await?;
                }
                request = self.requests.recv() => {
                    let Some(request) = request else { return Ok(()) };
                    if let Some(id) = pending.start(request.reply) {
                        let m = HubMessage::Pcap { id, connections: request.connections, max_bytes: self.max_pcap_bytes };
                        tx.send(encode(&agent, &m)?).await.map_err(ws_err)?;
                    }
                }
                _ = ping.tick() => tx.send(Message::Ping(Default::default())).await.map_err(ws_err)?,
                _ = sleep_until(silence_deadline) => return Err(LinkError::Silent { agent }),
            }
        }
    }

    /// Shares the resume point with the pool.
    fn save(&self, resume: &Resume) {
        *self.resume.lock().unwrap_or_else(|e| e.into_inner()) = resume.clone();
    }

    async fn connect(
        &self,
    ) -> Result<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>, LinkError>
    {
        let url = self.config.url.clone();
        let mut request =
            url.as_str().into_client_request().map_err(|source| LinkError::Connect { url: url.clone(), source })?;
        if let Some(token) = &self.config.token {
            let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| LinkError::Connect {
                url: url.clone(),
                source: tungstenite::Error::HttpFormat(e.into()),
            })?;
            request.headers_mut().insert("authorization", value);
        }
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_AGENT_MESSAGE))
            .max_frame_size(Some(MAX_AGENT_MESSAGE));
        let connect = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
        match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
            Err(_) => Err(LinkError::ConnectTimeout { url, timeout: CONNECT_TIMEOUT }),
            Ok(Ok((ws, _))) => Ok(ws),
            Ok(Err(tungstenite::Error::Http(response))) => {
                let status = response.status().as_u16();
                let hint = if status == 401 { " (missing or wrong token)" } else { "" };
                Err(LinkError::Refused { url, status, hint })
            }
            Ok(Err(source)) => Err(LinkError::Connect { url, source }),
        }
    }
}

/// Where the messages of an established connection go.
struct Sink<'a> {
    store: &'a EntryStore,
    health: &'a Mutex<HealthState>,
    names: &'a NameFeed,
    /// The resume point the pool sees, moved past a batch before the batch is stored (so a pool
    /// that saw an entry stored never resumes before it).
    resume: &'a Mutex<Resume>,
    redact: bool,
    agent: &'a str,
}

impl Sink<'_> {
    fn health(&self) -> std::sync::MutexGuard<'_, HealthState> {
        self.health.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes one message of an established connection.
    fn take(
        &self,
        message: AgentMessage,
        resume: &mut Resume,
        pending: &mut PendingExports,
        unacked: &mut VecDeque<(u64, Vec<String>)>,
        scopes_sent: &mut VecDeque<(u64, Option<u64>)>,
    ) -> Result<(), LinkError> {
        match message {
            AgentMessage::Entries { entries } => {
                if let Some(last) = entries.iter().map(|e| e.seq).max().filter(|&last| last > resume.after) {
                    let mut shared = self.resume.lock().unwrap_or_else(|e| e.into_inner());
                    *shared = Resume { run: resume.run.clone(), after: last };
                }
                let mut received = 0;
                for item in entries {
                    if item.seq <= resume.after {
                        continue; // already have it
                    }
                    resume.after = item.seq;
                    let mut entry = item.entry;
                    if self.redact && needs_redaction(&entry) {
                        redact_entry(&mut entry);
                    }
                    // Names the agent did not know (an older agent, or names learned since).
                    node_agent::resolve::apply(self.names, &mut entry);
                    if self.store.push(entry).is_some() {
                        received += 1;
                    }
                }
                self.health().view.received += received;
            }
            AgentMessage::Missed { count } => self.health().view.missed += count,
            AgentMessage::Stats(stats) => self.health().stats(stats),
            AgentMessage::Filter { id, ok, column, error } => {
                while unacked.front().is_some_and(|(i, _)| *i < id) {
                    unacked.pop_front();
                }
                let filters = unacked.front().filter(|(i, _)| *i == id).map(|(_, f)| f.clone());
                let mut health = self.health();
                if ok {
                    health.view.filter = filters.map(|f| join(&f)).unwrap_or_default();
                } else {
                    let at = column.map(|c| format!(" at column {c}")).unwrap_or_default();
                    health.view.last_error =
                        Some(format!("the agent refused the filter{at}: {}", error.unwrap_or_default()));
                }
            }
            AgentMessage::Capture { id, ok, error } => {
                while scopes_sent.front().is_some_and(|(i, _)| *i < id) {
                    scopes_sent.pop_front();
                }
                let sent = scopes_sent.front().filter(|(i, _)| *i == id).map(|(_, n)| *n);
                let mut health = self.health();
                if !ok {
                    health.view.last_error =
                        Some(format!("the agent refused the capture scope: {}", error.unwrap_or_default()));
                } else if let Some(addresses) = sent {
                    health.view.scope = addresses;
                }
            }
            AgentMessage::PcapEnd { id, packets, .. } => pending.finish(id, packets),
            AgentMessage::PcapError { id, error } => pending.agent_error(id, error),
            AgentMessage::Error { error } => self.health().view.last_error = Some(format!("the agent says: {error}")),
            AgentMessage::Hello { .. } => {
                let agent = self.agent.to_string();
                return Err(LinkError::Protocol { agent, what: "a second hello".into() });
            }
        }
        Ok(())
    }
}

/// Resolves once `shutdown` is true (or its sender is gone), holding no borrow of the value.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|&stop| stop).await;
}

/// The filters as one filter text: `a` or `(a) or (b)`.
fn join(filters: &[String]) -> String {
    match filters {
        [one] => one.clone(),
        many => many.iter().map(|f| format!("({f})")).collect::<Vec<_>>().join(" or "),
    }
}

fn parse(agent: &str, text: &str) -> Result<AgentMessage, LinkError> {
    AgentMessage::from_json(text).map_err(|e| LinkError::Protocol {
        agent: agent.into(),
        what: format!("unreadable message ({e}): {}", text.chars().take(80).collect::<String>()),
    })
}

fn encode(agent: &str, message: &HubMessage) -> Result<Message, LinkError> {
    serde_json::to_string(message)
        .map(Message::text)
        .map_err(|source| LinkError::Encode { agent: agent.into(), source })
}

/// The `capture` message for `scope`.
fn capture(id: u64, scope: &Scope) -> HubMessage {
    HubMessage::Capture {
        id,
        all: scope.is_all(),
        addresses: scope.addresses().unwrap_or_default(),
        exclude: scope.excluded(),
    }
}

/// Sends the `names` messages of `delta` (none when nothing changed).
async fn send_names<S>(tx: &mut S, agent: &str, delta: Delta) -> Result<(), LinkError>
where
    S: WsSink<Message, Error = tungstenite::Error> + Unpin,
{
    let mut messages = NamesMessages::new(delta);
    loop {
        let next = messages.next_message().map_err(|source| LinkError::Encode { agent: agent.into(), source })?;
        let Some(text) = next else { return Ok(()) };
        tx.send(Message::text(text)).await.map_err(|source| LinkError::WebSocket { agent: agent.into(), source })?;
    }
}

fn subscribe(
    agent: &str,
    run: Option<String>,
    after: u64,
    filters: Vec<String>,
    redact: bool,
) -> Result<Message, LinkError> {
    encode(agent, &HubMessage::Subscribe { run, after, filters, redact, id: 0 })
}
