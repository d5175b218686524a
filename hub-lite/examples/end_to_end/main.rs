//! End-to-end throughput of the dashboard pipeline, one agent to one browser stream, all real parts
//! on loopback: entries of a real capture (dissected by the offline pipeline, cycled and renumbered
//! to N) are pushed by a producer thread into a `node_agent::link::AgentState`, served by
//! `node_agent::link::serve`; a hub (`Hub::start`) connects to it (through a byte-counting relay) and
//! stores what it gets; one tokio-tungstenite client follows `/api/v1/stream` and parses and checks
//! every row. Measured from the first push to the last row received:
//!
//! - `all`: empty filter, the producer as fast as the pipeline takes entries (window below the
//!   agent's buffer, so nothing is evicted);
//! - `10%`: the stream's filter `id endsWith "0"` (exactly every tenth entry), pushed down to the agent;
//! - `rate R`: empty filter, the producer at R entries/s; push-to-row latency p50/p99.
//!
//! `cargo run --release -p hub-lite --example end_to_end -- [--capture FILE] [--entries N]
//!  [--rate R]... [--json FILE]`. Numbers, plus the row checks: the run fails (exit status 1) when a
//! case's rows received plus the `missed` counts (stream and agent) are not the rows expected, or a
//! row was bad; the first indices that never arrived are printed.

mod client;
mod input;
mod producer;
mod relay;
mod report;

use clap::Parser;
use client::Expect;
use hub_lite::agents::AgentConfig;
use hub_lite::hub::{Hub, HubConfig, HubHandle};
use node_agent::link::state::run_tag;
use node_agent::link::{AgentIdentity, AgentState, LogLimits, PacketStore, ServerConfig};
use producer::Pace;
use report::CaseResult;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The allocator of kubectl-shark, whose `view` and `local` run this pipeline in one process.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The agent's name and the prefix of the entries' ids.
pub const PREFIX: &str = "bench";
/// The filter of the `10%` case and the share of entries it passes.
const TENTH_FILTER: &str = "id endsWith \"0\"";
const TENTH: u64 = 10;

#[derive(Parser)]
#[command(about = "End-to-end throughput: agent -> hub -> one dashboard stream")]
struct Args {
    /// Capture whose entries are fed (default: samples/demo.pcapng).
    #[arg(long)]
    capture: Option<PathBuf>,
    /// Entries pushed per case.
    #[arg(long, default_value_t = 200_000)]
    entries: usize,
    /// Leave out entries whose JSON is larger (the demo capture has bodies up to 1 MB).
    #[arg(long, default_value_t = 8192)]
    max_entry_bytes: usize,
    /// Entries pushed beyond the last one the client received, in the as-fast-as-possible cases.
    #[arg(long, default_value_t = 10_000)]
    window: u64,
    /// Fixed producer rates (entries/s) for the latency cases.
    #[arg(long = "rate", default_values_t = [20_000.0, 50_000.0])]
    rates: Vec<f64>,
    /// Run only the cases whose names start with one of these (`all`, `10%`, `fixed`).
    #[arg(long)]
    only: Vec<String>,
    /// Connect the hub straight to the agent (no relay, so no byte count).
    #[arg(long)]
    direct: bool,
    /// Also write the results as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(serde::Serialize)]
struct Output<'a> {
    capture: String,
    entries_in_capture: usize,
    distinct_entries_used: usize,
    mean_entry_json_bytes: f64,
    nproc: usize,
    loadavg_start: Option<String>,
    cases: &'a [CaseResult],
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let capture = args
        .capture
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../samples/demo.pcapng"));
    let loadavg_start = std::fs::read_to_string("/proc/loadavg").ok().map(|s| s.trim().to_string());
    eprintln!("dissecting {} ...", capture.display());
    let input = Arc::new(input::load(&capture, args.max_entry_bytes)?);
    eprintln!(
        "{} entries ({} kept, mean {:.0} bytes of JSON), cycled to {} per case",
        input.dissected,
        input.base.len(),
        input.mean_json_bytes,
        args.entries
    );
    let n = args.entries;
    let mut cases = vec![
        ("all".to_string(), String::new(), Pace::Window(args.window)),
        ("10% (pushed-down filter)".to_string(), TENTH_FILTER.to_string(), Pace::Window(args.window)),
    ];
    for &r in &args.rates {
        cases.push((format!("fixed {} entries/s", r as u64), String::new(), Pace::Rate(r)));
    }
    if !args.only.is_empty() {
        cases.retain(|(name, _, _)| args.only.iter().any(|o| name.starts_with(o.as_str())));
    }
    let mut results = Vec::new();
    for (name, filter, pace) in cases {
        eprintln!("case {name} ...");
        let result = run_case(&name, &filter, pace, Arc::clone(&input), n, args.direct).await?;
        eprintln!("  {:.0} entries/s", result.entries_per_s);
        results.push(result);
    }
    println!("{}", report::table(&results));
    let mut failed = false;
    for c in &results {
        let accounted = c.rows_received + c.missed_stream + c.missed_agent;
        if accounted != c.rows_expected || c.bad_rows > 0 {
            failed = true;
            eprintln!(
                "case {}: {} rows expected, {} received + {} missed (stream) + {} missed (agent) = {accounted}; \
                 {} never arrived, the first: {:?}; {} bad rows: {:?}",
                c.name,
                c.rows_expected,
                c.rows_received,
                c.missed_stream,
                c.missed_agent,
                c.gaps,
                c.first_gaps,
                c.bad_rows,
                c.problems
            );
        }
    }
    if let Some(path) = &args.json {
        let out = Output {
            capture: capture.display().to_string(),
            entries_in_capture: input.dissected,
            distinct_entries_used: input.base.len(),
            mean_entry_json_bytes: input.mean_json_bytes,
            nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
            loadavg_start,
            cases: &results,
        };
        std::fs::write(path, serde_json::to_vec_pretty(&out)?)?;
    }
    if failed {
        std::process::exit(1);
    }
    Ok(())
}

/// A fresh agent, relay and hub on loopback.
struct Pipeline {
    agent: Arc<AgentState>,
    agent_stop: tokio::sync::watch::Sender<bool>,
    relay: Option<relay::Relay>,
    hub: HubHandle,
}

impl Pipeline {
    async fn start(direct: bool) -> Result<Pipeline, Box<dyn std::error::Error>> {
        let identity = AgentIdentity {
            agent: PREFIX.into(),
            run: run_tag().map_err(|e| format!("no randomness for the run tag: {e}"))?,
            id_prefix: PREFIX.into(),
        };
        let agent = Arc::new(AgentState::new(identity, LogLimits::default(), PacketStore::None));
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let agent_addr = listener.local_addr()?;
        let token = hub_lite::token::generate()?;
        let (agent_stop, stopped) = tokio::sync::watch::channel(false);
        let config = ServerConfig { token: Some(token.clone()), ..ServerConfig::default() };
        let report: Arc<dyn Fn(String) + Send + Sync> = Arc::new(|m| eprintln!("agent: {m}"));
        tokio::spawn(node_agent::link::serve(listener, Arc::clone(&agent), config, stopped, report));
        let relay = if direct { None } else { Some(relay::start(agent_addr).await?) };
        let hub_sees = relay.as_ref().map_or(agent_addr, |r| r.addr);
        let hub = Hub::start(HubConfig {
            agents: vec![AgentConfig::at(PREFIX, hub_sees, Some(token))],
            ..HubConfig::default()
        })?;
        Ok(Pipeline { agent, agent_stop, relay, hub })
    }

    /// Waits until the agent is connected and has acknowledged `filter` (empty: everything).
    async fn ready(&self, filter: &str) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let health = self.hub.agents().health();
            if health.first().is_some_and(|h| h.connected && h.filter == filter) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("the agent did not get ready with filter {filter:?}: {health:?}"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(self) {
        self.hub.shutdown();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.hub.wait()).await;
        self.agent_stop.send_replace(true);
    }
}

async fn run_case(
    name: &str,
    filter: &str,
    pace: Pace,
    input: Arc<input::Input>,
    entries: usize,
    direct: bool,
) -> Result<CaseResult, Box<dyn std::error::Error>> {
    let n = entries as u64;
    let every = if filter.is_empty() { 1 } else { TENTH };
    let expect = Expect { n, every, prefix: PREFIX.into(), input: Arc::clone(&input) };
    let pipeline = Pipeline::start(direct).await?;
    let mut ws = client::connect(&pipeline.hub, filter).await?;
    pipeline.ready(filter).await?;

    let acked = Arc::new(AtomicU64::new(0));
    let cpu0 = report::cpu_seconds();
    let t0 = Instant::now();
    let producer = {
        let (agent, acked) = (Arc::clone(&pipeline.agent), Arc::clone(&acked));
        std::thread::spawn(move || {
            let pushed_at = producer::run(&agent, &input, entries, pace, &acked, t0);
            (pushed_at, t0.elapsed())
        })
    };
    let got = client::receive(&mut ws, &expect, t0, &acked, Duration::from_secs(30)).await;
    let seconds = t0.elapsed().as_secs_f64();
    let cpu = report::cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
    let (pushed_at, push_time) =
        tokio::task::spawn_blocking(move || producer.join()).await?.map_err(|_| "the producer thread panicked")?;
    let got = got?;
    let end = got.arrived_at.iter().copied().max().unwrap_or(0) as f64 / 1e9;
    let seconds = if end > 0.0 { end } else { seconds };
    let latencies =
        (1..=n as usize).filter(|&i| got.arrived_at[i] > 0).map(|i| got.arrived_at[i].saturating_sub(pushed_at[i]));
    // The agent's counters come with its stats message, once a second.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let health = pipeline.hub.agents().health().into_iter().next().unwrap_or_default();
    let bytes = |c: &AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    let agent_bytes = pipeline.relay.as_ref().map(|r| bytes(&r.to_hub));
    let hub_to_agent_bytes = pipeline.relay.as_ref().map(|r| bytes(&r.to_agent));
    drop(ws);
    pipeline.stop().await;
    Ok(CaseResult {
        name: name.into(),
        filter: filter.into(),
        pace,
        entries: n,
        rows_expected: expect.count(),
        rows_received: got.rows,
        missed_stream: got.missed,
        missed_agent: health.missed,
        bad_rows: got.bad_rows,
        problems: got.first_problems,
        gaps: got.gaps,
        first_gaps: got.first_gaps,
        seconds,
        entries_per_s: n as f64 / seconds,
        rows_per_s: got.rows as f64 / seconds,
        push_seconds: push_time.as_secs_f64(),
        agent_bytes,
        agent_bytes_per_entry: agent_bytes.map(|b| b as f64 / n as f64),
        hub_to_agent_bytes,
        agent_sent: health.sent,
        agent_filtered_out: health.filtered_out,
        client_bytes: got.bytes,
        cpu_seconds: cpu,
        latency: report::latency(latencies.collect()),
    })
}
