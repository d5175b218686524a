//! Command-line interface definition.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "kubectl-shark",
    bin_name = "kubectl shark",
    version,
    about = "See what pods in a Kubernetes cluster say to each other",
    long_about = "See what pods say to each other: capture traffic, reassemble TCP, and dissect HTTP and DNS.\n\
                  Without a cluster: `view` dissects capture files and `local` captures on this machine."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Dissect capture files (pcap or pcapng).
    View(ViewArgs),
    /// Capture live on this machine (needs root or CAP_NET_RAW; Linux only).
    Local(LocalArgs),
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// One JSON entry per line (the format is in docs/entry.md).
    Json,
    /// One readable line per entry.
    Table,
}

/// What `view` can write instead of serving the dashboard.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewOutput {
    /// One JSON entry per line (the format is in docs/entry.md).
    Json,
    /// One readable line per entry.
    Table,
    /// HAR 1.2 of the HTTP entries (Chrome DevTools imports it).
    Har,
}

/// Serving the dashboard (when no `--output` is given).
#[derive(clap::Args, Debug, Clone)]
pub struct DashboardArgs {
    /// Port of the dashboard on 127.0.0.1 (0: a free port).
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    pub port: u16,
    /// Print the dashboard's address but do not open a browser.
    #[arg(long)]
    pub no_browser: bool,
    /// Most entries the dashboard keeps for the session (the oldest fall out).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub max_entries: usize,
}

#[derive(clap::Args, Debug)]
pub struct ViewArgs {
    /// Capture files; several are merged by packet time.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Write entries to stdout in this format instead of serving the dashboard.
    #[arg(short, long, value_enum)]
    pub output: Option<ViewOutput>,
    /// Only entries matching this filter (docs/filter.md), e.g. 'http and response.status >= 500'.
    #[arg(short, long, value_name = "EXPR", value_parser = parse_filter)]
    pub filter: Option<node_agent::filter::Filter>,
    /// Show the values of Authorization, Cookie, Set-Cookie, Proxy-Authorization and X-Api-Key headers.
    #[arg(long)]
    pub no_redact: bool,
    #[command(flatten)]
    pub dashboard: DashboardArgs,
    /// Print no counters on stderr at the end.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(clap::Args, Debug)]
pub struct LocalArgs {
    /// Interface to capture on (repeat for several); all interfaces when none is given.
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interfaces: Vec<String>,
    /// Write entries to stdout in this format instead of serving the dashboard.
    #[arg(short, long, value_enum)]
    pub output: Option<OutputFormat>,
    /// Only entries matching this filter (docs/filter.md), e.g. 'dns and response.rcode == "NXDOMAIN"'.
    #[arg(short, long, value_name = "EXPR", value_parser = parse_filter)]
    pub filter: Option<node_agent::filter::Filter>,
    /// Show the values of Authorization, Cookie, Set-Cookie, Proxy-Authorization and X-Api-Key headers.
    #[arg(long)]
    pub no_redact: bool,
    #[command(flatten)]
    pub dashboard: DashboardArgs,
    /// Stop after this long (e.g. 30s, 5m, 1h30m); otherwise on Ctrl-C or SIGTERM.
    #[arg(short, long, value_name = "DURATION", value_parser = crate::units::parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// Size limit of the on-disk packet ring (oldest packets out first), e.g. 200MB, 1GiB; 0 stores nothing.
    #[arg(long, value_name = "SIZE", default_value = "200MB", value_parser = crate::units::parse_size)]
    pub storage_limit: u64,
    /// Directory of the packet ring (default: a per-user directory under the system's temp dir).
    #[arg(long, value_name = "DIR")]
    pub storage_dir: Option<PathBuf>,
    /// Print no counters on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Parses a filter for clap, with the column of the error in the message.
fn parse_filter(text: &str) -> Result<node_agent::filter::Filter, String> {
    node_agent::filter::Filter::parse(text).map_err(|e| e.to_string())
}
