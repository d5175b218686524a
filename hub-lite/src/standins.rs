//! STAND-INS for modules other helpers write in parallel (issue #3). Each submodule has the same name
//! and public interface as the real one, so `crate::agents::AgentPool` etc. resolve here until the
//! lead merges the real `agents` (helper "link"), `har`, `stats`, `service_map` (helper "views") and
//! `assets` (helper "dashboard"). To swap: delete this file and its two lines in lib.rs, add the real
//! `pub mod` lines. Nothing here is meant to survive the merge.

/// Stand-in for `hub_lite::agents` (helper "link"): remembers what it is told, connects to nobody.
pub mod agents {
    use crate::store::EntryStore;
    use node_agent::storage::ConnectionFilter;
    use std::sync::{Arc, Mutex};

    /// Where an agent listens.
    #[derive(Clone, Debug)]
    pub struct AgentAddress {
        pub name: String,
        pub url: String,
        pub token: Option<String>,
    }

    /// One agent's row of `/api/v1/health`.
    #[derive(Clone, Debug, serde::Serialize)]
    pub struct AgentHealth {
        pub name: String,
        pub url: String,
        pub connected: bool,
        pub last_error: Option<String>,
        pub filter: String,
    }

    #[derive(Debug, thiserror::Error)]
    pub enum PoolError {
        #[error("no agent named {0:?} is connected")]
        NoAgent(String),
    }

    pub struct AgentPool {
        _store: Arc<EntryStore>,
        agents: Mutex<Vec<AgentAddress>>,
        filter: Mutex<String>,
    }

    impl AgentPool {
        pub fn new(store: Arc<EntryStore>) -> Arc<AgentPool> {
            Arc::new(AgentPool { _store: store, agents: Mutex::new(Vec::new()), filter: Mutex::new(String::new()) })
        }

        pub fn add(&self, agent: AgentAddress) {
            self.agents.lock().unwrap_or_else(|e| e.into_inner()).push(agent);
        }

        pub fn set_filter(&self, filter: &str) {
            *self.filter.lock().unwrap_or_else(|e| e.into_inner()) = filter.to_string();
        }

        pub fn health(&self) -> Vec<AgentHealth> {
            let filter = self.filter.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
            agents
                .iter()
                .map(|a| AgentHealth {
                    name: a.name.clone(),
                    url: a.url.clone(),
                    connected: false,
                    last_error: Some("stand-in pool: not connected".into()),
                    filter: filter.clone(),
                })
                .collect()
        }

        pub async fn export_pcap(&self, requests: Vec<(String, Vec<ConnectionFilter>)>) -> Result<Vec<u8>, PoolError> {
            Err(PoolError::NoAgent(requests.into_iter().next().map(|(name, _)| name).unwrap_or_default()))
        }

        /// The agent source id of an entry id `<source id>-<seq>` (split at the last '-').
        pub fn agent_of(entry_id: &str) -> &str {
            entry_id.rsplit_once('-').map_or(entry_id, |(source, _)| source)
        }

        pub fn shutdown(&self) {}
    }
}

/// Stand-in for `hub_lite::har` (helper "views"): a HAR log with one minimal entry per HTTP entry.
pub mod har {
    use node_agent::Entry;
    use std::sync::Arc;

    pub fn build(entries: &[Arc<Entry>]) -> serde_json::Value {
        let list: Vec<_> = entries
            .iter()
            .filter(|e| e.protocol == "http")
            .map(|e| serde_json::json!({ "startedDateTime": e.ts, "comment": e.id }))
            .collect();
        serde_json::json!({ "log": { "version": "1.2", "creator": { "name": "kubectl-shark" }, "entries": list } })
    }
}

/// Stand-in for `hub_lite::stats` (helper "views"): totals only.
pub mod stats {
    use node_agent::Entry;
    use std::sync::Arc;
    use std::time::Duration;

    #[derive(Debug, serde::Serialize)]
    pub struct Stats {
        pub total: Total,
        pub bucket_seconds: Option<f64>,
    }

    #[derive(Debug, serde::Serialize)]
    pub struct Total {
        pub entries: u64,
        pub bytes: u64,
    }

    pub fn compute(entries: &[Arc<Entry>], bucket: Option<Duration>) -> Stats {
        let bytes = entries.iter().map(|e| e.request_size + e.response_size).sum();
        Stats { total: Total { entries: entries.len() as u64, bytes }, bucket_seconds: bucket.map(|b| b.as_secs_f64()) }
    }
}

/// Stand-in for `hub_lite::service_map` (helper "views"): an empty map.
pub mod service_map {
    use node_agent::Entry;
    use std::sync::Arc;

    #[derive(Debug, serde::Serialize)]
    pub struct ServiceMap {
        pub nodes: Vec<serde_json::Value>,
        pub edges: Vec<serde_json::Value>,
    }

    pub fn compute(_entries: &[Arc<Entry>]) -> ServiceMap {
        ServiceMap { nodes: Vec::new(), edges: Vec::new() }
    }
}

/// Stand-in for `hub_lite::assets` (helper "dashboard"): only an `index.html`.
pub mod assets {
    use std::borrow::Cow;

    const INDEX: &[u8] = b"<!doctype html><html><head><meta charset=\"utf-8\"><title>kubectl-shark</title></head>\
<body><div id=\"app\">kubectl-shark dashboard (stand-in)</div></body></html>\n";

    pub fn get(path: &str) -> Option<(Cow<'static, [u8]>, &'static str)> {
        (path == "index.html").then_some((Cow::Borrowed(INDEX), "text/html; charset=utf-8"))
    }
}
