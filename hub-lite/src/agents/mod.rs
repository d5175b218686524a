//! The hub's side of the agent-to-hub protocol (docs/agent-protocol.md): one task per agent keeps
//! a connection (reconnecting and resuming without duplicates), stores what the agent sends, and
//! runs pcap exports; the open dashboard streams' filters, the names of endpoints and the capture
//! scope are pushed down to every agent. Agents come and go at runtime ([`Agents::add`],
//! [`Agents::remove`]).
//!
//! Modules, one job each:
//! - `connection`: one agent's connection loop.
//! - `filters`: the registry of open streams' filters and their union.
//! - `health`: per-agent state for the health view.
//! - `names`: the hub's name table, its change journal and the `names` messages.
//! - `pcap`: exports waiting for their agent.

mod connection;
mod filters;
mod health;
mod names;
mod pcap;

pub use connection::{AgentConfig, LinkError};
pub use filters::{FilterRegistry, StreamFilter};
pub use health::AgentHealth;
pub use names::{NameFeed, MAX_JOURNAL, NAMES_INTERVAL};
pub use pcap::{PcapError, PcapExport};

use crate::store::EntryStore;
use connection::Resume;
use health::HealthState;
use node_agent::filter::Filter;
use node_agent::link::protocol::{PcapConnection, MAX_PCAP_CONNECTIONS};
use node_agent::scope::Scope;
use node_agent::Entry;
use pcap::PcapRequest;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot, watch};

/// The packets of an entry are exported from this long before its first request byte to this long
/// after its last response byte (docs/api.md).
pub const PCAP_MARGIN_NANOS: u64 = 1_000_000_000;

/// How the hub treats its agents.
#[derive(Clone, Debug)]
pub struct AgentsOptions {
    /// Replace credential header values (docs/api.md, "Redaction"); the agents do it before
    /// filtering, and the hub again on receipt.
    pub redact: bool,
    /// Largest pcapng taken from one agent for one request.
    pub max_pcap_bytes: u64,
    /// Filters in force before any dashboard stream opens (empty: everything).
    pub initial_filters: Vec<Filter>,
    /// Records the hub's name table holds at most.
    pub max_names: usize,
}

impl Default for AgentsOptions {
    fn default() -> Self {
        AgentsOptions {
            redact: true,
            max_pcap_bytes: 256 * 1024 * 1024,
            initial_filters: Vec::new(),
            max_names: node_agent::resolve::DEFAULT_CAPACITY,
        }
    }
}

struct AgentHandle {
    name: String,
    health: Arc<Mutex<HealthState>>,
    requests: mpsc::Sender<PcapRequest>,
    /// Ends this agent's connection task.
    stop: watch::Sender<bool>,
    resume: Arc<Mutex<Resume>>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AgentsError {
    #[error("an agent named {0:?} is already connected; remove it first")]
    Duplicate(String),
    #[error("the hub is shutting down")]
    ShutDown,
}

/// The agents of the moment, and where removed ones stopped (so one added again resumes there).
struct Pool {
    agents: Vec<Arc<AgentHandle>>,
    retired: HashMap<String, Resume>,
    stopped: bool,
}

/// Resume points of removed agents kept; beyond that the oldest are forgotten (such an agent,
/// added again, is sent its whole buffer, and the store leaves out the entries it still holds).
const MAX_RETIRED: usize = 4096;

/// The hub's agents. Agents can be added and removed while the hub runs (in a cluster, as node
/// agents come and go). Dropping it (or [`Agents::shutdown`]) ends every connection.
pub struct Agents {
    runtime: tokio::runtime::Handle,
    store: Arc<EntryStore>,
    options: AgentsOptions,
    filters: Arc<FilterRegistry>,
    names: Arc<NameFeed>,
    scope: watch::Sender<Arc<Scope>>,
    pool: Mutex<Pool>,
}

impl Agents {
    /// Starts a connection task per agent; call within a Tokio runtime (later [`Agents::add`]s use
    /// it too, from anywhere). Entries go to `store`. Names should be unique: [`Agents::remove`]
    /// removes every agent of a name.
    pub fn start(configs: Vec<AgentConfig>, store: Arc<EntryStore>, options: AgentsOptions) -> Agents {
        let agents = Agents {
            runtime: tokio::runtime::Handle::current(),
            store,
            filters: FilterRegistry::new(options.initial_filters.clone()),
            names: Arc::new(NameFeed::new(options.max_names)),
            scope: watch::channel(Arc::new(Scope::all())).0,
            options,
            pool: Mutex::new(Pool { agents: Vec::new(), retired: HashMap::new(), stopped: false }),
        };
        {
            let mut pool = agents.pool();
            for config in configs {
                let handle = agents.spawn(config, &mut pool);
                pool.agents.push(handle);
            }
        }
        agents
    }

    fn pool(&self) -> std::sync::MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the connection task of one agent, resuming where an agent of that name stopped.
    fn spawn(&self, config: AgentConfig, pool: &mut Pool) -> Arc<AgentHandle> {
        let health = Arc::new(Mutex::new(HealthState::new(&config.name, &config.url)));
        let (requests_tx, requests) = mpsc::channel(16);
        let (stop, shutdown) = watch::channel(pool.stopped);
        let resume = Arc::new(Mutex::new(pool.retired.remove(&config.name).unwrap_or_default()));
        let name = config.name.clone();
        let link = connection::Link {
            config,
            store: Arc::clone(&self.store),
            filters: self.filters.watch(),
            health: Arc::clone(&health),
            requests,
            redact: self.options.redact,
            max_pcap_bytes: self.options.max_pcap_bytes,
            shutdown,
            names: Arc::clone(&self.names),
            scope: self.scope.subscribe(),
            resume: Arc::clone(&resume),
        };
        self.runtime.spawn(link.run());
        Arc::new(AgentHandle { name, health, requests: requests_tx, stop, resume })
    }

    /// Connects to one more agent. Its health row appears at the end; an agent of this name that
    /// was removed before resumes where it stopped (same run), so nothing is stored twice.
    pub fn add(&self, config: AgentConfig) -> Result<(), AgentsError> {
        let mut pool = self.pool();
        if pool.stopped {
            return Err(AgentsError::ShutDown);
        }
        if pool.agents.iter().any(|a| a.name == config.name) {
            return Err(AgentsError::Duplicate(config.name));
        }
        let handle = self.spawn(config, &mut pool);
        pool.agents.push(handle);
        Ok(())
    }

    /// Disconnects from the agent(s) of this name and drops their health rows; their stored
    /// entries stay, pcap exports of them fail as unknown. True when there was one.
    pub fn remove(&self, name: &str) -> bool {
        let mut pool = self.pool();
        let (gone, kept): (Vec<_>, Vec<_>) = pool.agents.drain(..).partition(|a| a.name == name);
        pool.agents = kept;
        for handle in &gone {
            handle.stop.send_replace(true);
            let resume = handle.resume.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if pool.retired.len() >= MAX_RETIRED {
                if let Some(any) = pool.retired.keys().next().cloned() {
                    pool.retired.remove(&any);
                }
            }
            pool.retired.insert(handle.name.clone(), resume);
        }
        !gone.is_empty()
    }

    /// The names of the agents now, in the order they were added.
    pub fn names_of_agents(&self) -> Vec<String> {
        self.pool().agents.iter().map(|a| a.name.clone()).collect()
    }

    fn handles(&self) -> Vec<Arc<AgentHandle>> {
        self.pool().agents.clone()
    }

    /// Where dashboard streams register their filters.
    pub fn filters(&self) -> &Arc<FilterRegistry> {
        &self.filters
    }

    /// The names of endpoints: every change reaches every agent (at most 4 times a second), and
    /// entries are filled from them on receipt (docs/agent-protocol.md, "Names").
    pub fn names(&self) -> &Arc<NameFeed> {
        &self.names
    }

    /// Tells every agent, now and whenever one (re)connects, which packets to capture.
    pub fn set_capture_scope(&self, scope: Scope) {
        self.scope.send_replace(Arc::new(scope));
    }

    /// The capture scope in force.
    pub fn capture_scope(&self) -> Arc<Scope> {
        Arc::clone(&self.scope.borrow())
    }

    /// One line per agent, in the order they were added.
    pub fn health(&self) -> Vec<AgentHealth> {
        self.handles().iter().map(|a| a.health.lock().unwrap_or_else(|e| e.into_inner()).view.clone()).collect()
    }

    /// Ends every agent connection; no agent can be added afterwards.
    pub fn shutdown(&self) {
        let mut pool = self.pool();
        pool.stopped = true;
        for a in &pool.agents {
            a.stop.send_replace(true);
        }
    }

    /// The agent whose current run produced the entry with this id (`<id_prefix>-<n>`).
    fn agent_of(&self, id: &str) -> Option<Arc<AgentHandle>> {
        let (prefix, _) = id.rsplit_once('-')?;
        self.handles()
            .into_iter()
            .find(|a| a.health.lock().unwrap_or_else(|e| e.into_inner()).id_prefix.as_deref() == Some(prefix))
    }

    /// The packets of one entry's connection, from the agent that saw it (docs/api.md). An entry
    /// of an agent run that is gone is [`PcapError::UnknownEntry`]; `packets == 0` in the answer
    /// means the ring no longer holds them.
    pub async fn export_entry(&self, entry: &Entry) -> Result<PcapExport, PcapError> {
        let agent = self.agent_of(&entry.id).ok_or_else(|| PcapError::UnknownEntry(entry.id.clone()))?;
        export(&agent, vec![PcapConnection::of_entry(entry, PCAP_MARGIN_NANOS)]).await
    }

    /// The packets of the connections of `entries` (at most [`MAX_PCAP_CONNECTIONS`], the rest are
    /// left out), one pcapng section per agent, agents in the order they were added. Entries of
    /// agent runs that are gone are left out; an agent that fails fails the whole export.
    pub async fn export_entries(&self, entries: &[Arc<Entry>]) -> Result<PcapExport, PcapError> {
        let agents = self.handles();
        let prefixes: Vec<Option<String>> =
            agents.iter().map(|a| a.health.lock().unwrap_or_else(|e| e.into_inner()).id_prefix.clone()).collect();
        let per_agent = connections_per_agent(entries, &prefixes);
        let mut all = PcapExport::default();
        for (agent, connections) in agents.iter().zip(per_agent) {
            if connections.is_empty() {
                continue;
            }
            let part = export(agent, connections).await?;
            all.data.extend_from_slice(&part.data);
            all.packets += part.packets;
        }
        Ok(all)
    }
}

/// The connections to export for `entries`, per agent (by position in `prefixes`): one per distinct
/// connection, its time range covering all its entries; at most [`MAX_PCAP_CONNECTIONS`] in all,
/// the newest entries' connections first; each agent's sorted by start time.
fn connections_per_agent(entries: &[Arc<Entry>], prefixes: &[Option<String>]) -> Vec<Vec<PcapConnection>> {
    use std::collections::HashMap;
    type Key = (usize, std::net::SocketAddr, std::net::SocketAddr);
    let mut merged: HashMap<Key, PcapConnection> = HashMap::new();
    for entry in entries.iter().rev() {
        let Some((prefix, _)) = entry.id.rsplit_once('-') else { continue };
        let Some(agent) = prefixes.iter().position(|p| p.as_deref() == Some(prefix)) else { continue };
        let c = PcapConnection::of_entry(entry, PCAP_MARGIN_NANOS);
        let key = if c.a <= c.b { (agent, c.a, c.b) } else { (agent, c.b, c.a) };
        if let Some(m) = merged.get_mut(&key) {
            m.from = m.from.min(c.from);
            m.to = m.to.max(c.to);
        } else if merged.len() < MAX_PCAP_CONNECTIONS {
            merged.insert(key, c);
        }
    }
    let mut per_agent: Vec<Vec<PcapConnection>> = vec![Vec::new(); prefixes.len()];
    for ((agent, _, _), c) in merged {
        per_agent[agent].push(c);
    }
    for cs in &mut per_agent {
        cs.sort_by_key(|c| (c.from, c.to, c.a, c.b));
    }
    per_agent
}

impl Drop for Agents {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn export(agent: &AgentHandle, connections: Vec<PcapConnection>) -> Result<PcapExport, PcapError> {
    let name = || agent.health.lock().unwrap_or_else(|e| e.into_inner()).view.name.clone();
    let (reply, answer) = oneshot::channel();
    if agent.requests.send(PcapRequest { connections, reply }).await.is_err() {
        return Err(PcapError::Disconnected { agent: name() });
    }
    answer.await.unwrap_or_else(|_| Err(PcapError::Disconnected { agent: name() }))
}
