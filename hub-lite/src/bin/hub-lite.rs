//! The hub binary used in the cluster: serves the dashboard and API (docs/api.md) and connects to
//! the node agents given with `--agent`. Stops gracefully on SIGTERM or Ctrl-C.

use clap::Parser;
use hub_lite::agents::AgentConfig;
use hub_lite::hub::{Hub, HubConfig, Mode};
use hub_lite::store::StoreLimits;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

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

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
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
    wait_for_signal().await?;
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
