//! Serving the dashboard for `view` and `local`: an agent and a hub in this process, talking over a
//! loopback WebSocket with the same protocol as in the cluster (docs/agent-protocol.md). The hub
//! listens on 127.0.0.1 only and guards everything with a per-session token (docs/api.md).

use crate::cli::DashboardArgs;
use crate::error::CliError;
use hub_lite::agents::AgentConfig;
use hub_lite::hub::{Hub, HubConfig, HubHandle, Mode};
use hub_lite::store::StoreLimits;
use node_agent::link::{AgentIdentity, AgentState, LogLimits, PacketStore, ServerConfig};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A running agent + hub pair.
pub struct Session {
    runtime: tokio::runtime::Runtime,
    hub: HubHandle,
    agent: Arc<AgentState>,
    agent_stop: tokio::sync::watch::Sender<bool>,
}

/// What the session is for.
pub struct SessionSpec<'a> {
    pub mode: Mode,
    /// The agent's name in health, and the prefix of entry ids (`e` for view, `local` for local),
    /// the same as `--output json` uses.
    pub id_prefix: &'a str,
    pub packets: PacketStore,
    pub redact: bool,
}

impl Session {
    /// Starts the agent server and the hub, prints the dashboard URL on stderr and opens the
    /// browser unless `--no-browser`.
    pub fn start(spec: SessionSpec<'_>, args: &DashboardArgs) -> Result<Session, CliError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hub")
            .enable_all()
            .build()
            .map_err(|e| CliError::Dashboard(format!("starting the async runtime: {e}")))?;
        let run = node_agent::link::state::run_tag()
            .map_err(|e| CliError::Dashboard(format!("no randomness for the session: {e}")))?;
        let identity = AgentIdentity { agent: spec.id_prefix.into(), run, id_prefix: spec.id_prefix.into() };
        // The agent keeps as many entries as the hub, so a hub that lags behind a fast file run
        // still ends with the newest `max_entries`.
        let limits = LogLimits { max_entries: args.max_entries.max(1), max_bytes: StoreLimits::default().max_bytes };
        let agent = Arc::new(AgentState::new(identity, limits, spec.packets));
        let agent_token = hub_lite::token::generate().map_err(|e| CliError::Dashboard(e.to_string()))?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))))
            .map_err(|e| CliError::Dashboard(format!("listening for the hub on 127.0.0.1: {e}")))?;
        let agent_addr =
            listener.local_addr().map_err(|e| CliError::Dashboard(format!("the agent's own address: {e}")))?;
        let (agent_stop, agent_stopped) = tokio::sync::watch::channel(false);
        let report: Arc<dyn Fn(String) + Send + Sync> = Arc::new(|m| eprintln!("kubectl-shark: agent: {m}"));
        let config = ServerConfig { token: Some(agent_token.clone()), ..ServerConfig::default() };
        runtime.spawn(node_agent::link::serve(listener, Arc::clone(&agent), config, agent_stopped, report));

        let hub_config = HubConfig {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)),
            mode: spec.mode,
            redact: spec.redact,
            store: StoreLimits { max_entries: args.max_entries.max(1), ..StoreLimits::default() },
            agents: vec![AgentConfig::at(spec.id_prefix, agent_addr, Some(agent_token))],
            ..HubConfig::default()
        };
        let hub = {
            let _enter = runtime.enter();
            Hub::start(hub_config).map_err(|e| CliError::Dashboard(e.to_string()))?
        };
        let url = hub.url();
        eprintln!("kubectl-shark: dashboard at {url}");
        if !args.no_browser {
            if let Err(e) = open::that_detached(&url) {
                eprintln!("kubectl-shark: could not open a browser ({e}); open the address above");
            }
        }
        Ok(Session { runtime, hub, agent, agent_stop })
    }

    /// The agent the capture feeds.
    pub fn agent(&self) -> &Arc<AgentState> {
        &self.agent
    }

    /// Serves until `stop` is set (Ctrl-C, SIGTERM, SIGHUP), then shuts down cleanly.
    pub fn serve_until(self, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
        }
        self.shutdown();
    }

    /// Closes the dashboard's connections and the agent link.
    pub fn shutdown(self) {
        let Session { runtime, hub, agent_stop, .. } = self;
        hub.shutdown();
        let waited = runtime.block_on(async { tokio::time::timeout(Duration::from_secs(3), hub.wait()).await });
        if let Ok(Err(e)) = waited {
            eprintln!("kubectl-shark: {e}");
        }
        agent_stop.send_replace(true);
        runtime.shutdown_timeout(Duration::from_secs(2));
    }
}
