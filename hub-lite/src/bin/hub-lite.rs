//! The hub binary used in the cluster: serves the dashboard and API (docs/api.md) and connects to
//! the node agents given with `--agent`, or, with `--kubernetes`, to the session's agents found
//! through the Kubernetes API (docs/tap.md). Stops gracefully on SIGTERM or Ctrl-C, and after
//! deleting an orphaned session.

use clap::Parser;
use hub_lite::agents::AgentConfig;
use hub_lite::cluster::control::Control;
use hub_lite::cluster::scope::TapScope;
use hub_lite::cluster::ClusterConfig;
use hub_lite::hub::{Hub, HubConfig, Mode};
use hub_lite::store::StoreLimits;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(name = "hub-lite", version, about = "kubectl-shark hub: merges node agents' entries, serves the dashboard")]
struct Args {
    /// Address to serve the dashboard and API on (kubectl port-forward reaches the pod's loopback).
    #[arg(long, default_value = "127.0.0.1:8899")]
    listen: SocketAddr,
    /// File holding the session token (e.g. a mounted Secret). Without it a random token is made
    /// and the dashboard URL is printed.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// A node agent to connect to, as NAME=URL (e.g. node-1=ws://10.0.0.5:8898/). Repeatable.
    #[arg(long = "agent", value_name = "NAME=URL", value_parser = parse_agent)]
    agents: Vec<(String, String)>,
    /// File holding the token the agents expect.
    #[arg(long)]
    agent_token_file: Option<PathBuf>,
    /// Most entries kept in the hub's store (oldest out first).
    #[arg(long, default_value_t = StoreLimits::default().max_entries)]
    max_entries: usize,
    /// Report that header secrets are not redacted (the agents must be started the same way).
    #[arg(long)]
    no_redact: bool,
    /// Answer any Host name (default: loopback names and the listen address only).
    #[arg(long)]
    allow_any_host: bool,
    /// Run in a `kubectl shark tap` session: find the agents, names and scope with the Kubernetes
    /// API (in-cluster ServiceAccount); needs --session and a scope.
    #[arg(long, requires = "session")]
    kubernetes: bool,
    /// The session id; the session namespace is `shark-<ID>`.
    #[arg(long, value_name = "ID")]
    session: Option<String>,
    /// Pods whose names match this regex (unanchored) are captured.
    #[arg(long, default_value = ".*", value_name = "RE")]
    scope_regex: String,
    /// A namespace in scope. Repeatable.
    #[arg(long = "scope-namespace", value_name = "NS")]
    scope_namespaces: Vec<String>,
    /// Every namespace is in scope (but --exclude-namespace and session namespaces).
    #[arg(long)]
    all_namespaces: bool,
    /// A namespace left out with --all-namespaces. Repeatable.
    #[arg(long = "exclude-namespace", value_name = "NS")]
    exclude_namespaces: Vec<String>,
    /// Delete the session namespace when its Lease was not renewed for this many seconds (0: never).
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    orphan_timeout: u64,
    /// The port the node agents serve the link on.
    #[arg(long, default_value_t = 9781)]
    agent_port: u16,
}

fn parse_agent(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, url)) if !name.is_empty() && !url.is_empty() => Ok((name.to_string(), url.to_string())),
        _ => Err(format!("expected NAME=URL, got {s:?}")),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hub-lite: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hub-lite: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The in-cluster configuration of `--kubernetes`, checked before anything starts.
fn cluster_config(args: &Args) -> Result<Option<ClusterConfig>, Box<dyn std::error::Error>> {
    if !args.kubernetes {
        return Ok(None);
    }
    let session = args.session.as_deref().unwrap_or_default();
    if session.is_empty() || !session.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
        return Err(format!("--session {session:?}: expected lowercase letters and digits").into());
    }
    let scope =
        TapScope::new(&args.scope_regex, &args.scope_namespaces, args.all_namespaces, &args.exclude_namespaces)?;
    Ok(Some(ClusterConfig {
        namespace: format!("shark-{session}"),
        scope,
        orphan_timeout: Duration::from_secs(args.orphan_timeout),
        agent_port: args.agent_port,
    }))
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let cluster = cluster_config(&args)?;
    let client = match cluster {
        Some(_) => Some(kube::Client::try_default().await.map_err(|e| format!("the Kubernetes API client: {e}"))?),
        None => None,
    };
    let token = args.token_file.as_deref().map(hub_lite::token::read_file).transpose()?;
    let agent_token = args.agent_token_file.as_deref().map(hub_lite::token::read_file).transpose()?;
    let generated = token.is_none();
    let config = HubConfig {
        bind: args.listen,
        token,
        mode: Mode::Tap,
        redact: !args.no_redact,
        store: StoreLimits { max_entries: args.max_entries, ..StoreLimits::default() },
        allow_any_host: args.allow_any_host,
        agents: args
            .agents
            .into_iter()
            .map(|(name, url)| AgentConfig { name, url, token: agent_token.clone() })
            .collect(),
        initial_filters: Vec::new(),
    };
    let hub = Hub::start(config)?;
    eprintln!("hub-lite: serving on {}", hub.local_addr());
    if generated {
        eprintln!("hub-lite: dashboard: {}", hub.url());
    }
    match (cluster, client) {
        (Some(config), Some(client)) => {
            let control = Control::new(hub.agents(), agent_token);
            tokio::select! {
                r = wait_for_signal() => r?,
                orphaned = hub_lite::cluster::run(client, config, control) => {
                    eprintln!(
                        "hub-lite: deleted orphaned session {} (Lease not renewed for {} s); exiting",
                        orphaned.namespace,
                        orphaned.silent.as_secs()
                    );
                }
            }
        }
        _ => wait_for_signal().await?,
    }
    eprintln!("hub-lite: stopping");
    hub.shutdown();
    hub.wait().await?;
    Ok(())
}

#[cfg(unix)]
async fn wait_for_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> std::io::Result<()> {
    tokio::signal::ctrl_c().await
}
