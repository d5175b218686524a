//! The hub's side of the agent-to-hub protocol (docs/agent-protocol.md): one task per agent keeps
//! a connection (reconnecting and resuming without duplicates), stores what the agent sends, and
//! runs pcap exports; the open dashboard streams' filters are pushed down to every agent.
//!
//! Modules, one job each:
//! - `connection`: one agent's connection loop.
//! - `filters`: the registry of open streams' filters and their union.
//! - `health`: per-agent state for the health view.
//! - `pcap`: exports waiting for their agent.

mod connection;
mod filters;
mod health;
mod pcap;

pub use connection::{AgentConfig, LinkError};
pub use filters::{FilterRegistry, StreamFilter};
pub use health::AgentHealth;
pub use pcap::{PcapError, PcapExport};

use crate::store::EntryStore;
use health::HealthState;
use node_agent::filter::Filter;
use node_agent::link::protocol::{PcapConnection, MAX_PCAP_CONNECTIONS};
use node_agent::Entry;
use pcap::PcapRequest;
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
}

impl Default for AgentsOptions {
    fn default() -> Self {
        AgentsOptions { redact: true, max_pcap_bytes: 256 * 1024 * 1024, initial_filters: Vec::new() }
    }
}

struct AgentHandle {
    health: Arc<Mutex<HealthState>>,
    requests: mpsc::Sender<PcapRequest>,
}

/// The hub's agents. Dropping it (or [`Agents::shutdown`]) ends every connection.
pub struct Agents {
    agents: Vec<AgentHandle>,
    filters: Arc<FilterRegistry>,
    shutdown: watch::Sender<bool>,
}

impl Agents {
    /// Starts a connection task per agent; call within a Tokio runtime. Entries go to `store`.
    pub fn start(configs: Vec<AgentConfig>, store: Arc<EntryStore>, options: AgentsOptions) -> Agents {
        let filters = FilterRegistry::new(options.initial_filters.clone());
        let (shutdown, _) = watch::channel(false);
        let mut agents = Vec::with_capacity(configs.len());
        for config in configs {
            let health = Arc::new(Mutex::new(HealthState::new(&config.name, &config.url)));
            let (requests_tx, requests) = mpsc::channel(16);
            let link = connection::Link {
                config,
                store: Arc::clone(&store),
                filters: filters.watch(),
                health: Arc::clone(&health),
                requests,
                redact: options.redact,
                max_pcap_bytes: options.max_pcap_bytes,
                shutdown: shutdown.subscribe(),
            };
            tokio::spawn(link.run());
            agents.push(AgentHandle { health, requests: requests_tx });
        }
        Agents { agents, filters, shutdown }
    }

    /// Where dashboard streams register their filters.
    pub fn filters(&self) -> &Arc<FilterRegistry> {
        &self.filters
    }

    /// One line per agent, in the order they were given.
    pub fn health(&self) -> Vec<AgentHealth> {
        self.agents.iter().map(|a| a.health.lock().unwrap_or_else(|e| e.into_inner()).view.clone()).collect()
    }

    /// Ends every agent connection.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// The agent whose current run produced the entry with this id (`<id_prefix>-<n>`).
    fn agent_of(&self, id: &str) -> Option<&AgentHandle> {
        let (prefix, _) = id.rsplit_once('-')?;
        self.agents
            .iter()
            .find(|a| a.health.lock().unwrap_or_else(|e| e.into_inner()).id_prefix.as_deref() == Some(prefix))
    }

    /// The packets of one entry's connection, from the agent that saw it (docs/api.md). An entry
    /// of an agent run that is gone is [`PcapError::UnknownEntry`]; `packets == 0` in the answer
    /// means the ring no longer holds them.
    pub async fn export_entry(&self, entry: &Entry) -> Result<PcapExport, PcapError> {
        let agent = self.agent_of(&entry.id).ok_or_else(|| PcapError::UnknownEntry(entry.id.clone()))?;
        export(agent, vec![PcapConnection::of_entry(entry, PCAP_MARGIN_NANOS)]).await
    }

    /// The packets of the connections of `entries` (at most [`MAX_PCAP_CONNECTIONS`], the rest are
    /// left out), one pcapng section per agent, agents in configuration order. Entries of agent
    /// runs that are gone are left out; an agent that fails fails the whole export.
    pub async fn export_entries(&self, entries: &[Arc<Entry>]) -> Result<PcapExport, PcapError> {
        let prefixes: Vec<Option<String>> =
            self.agents.iter().map(|a| a.health.lock().unwrap_or_else(|e| e.into_inner()).id_prefix.clone()).collect();
        let per_agent = connections_per_agent(entries, &prefixes);
        let mut all = PcapExport::default();
        for (agent, connections) in self.agents.iter().zip(per_agent) {
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
