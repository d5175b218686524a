//! The one-line-per-entry table: time, protocol, client -> server, summary, status, latency.

use node_agent::{Endpoint, Entry};
use std::io::{self, Write};

fn endpoint(e: &Endpoint) -> String {
    if let (Some(pod), Some(ns)) = (&e.pod, &e.namespace) {
        return format!("{ns}/{pod}");
    }
    match e.ip {
        std::net::IpAddr::V6(ip) => format!("[{ip}]:{}", e.port),
        std::net::IpAddr::V4(ip) => format!("{ip}:{}", e.port),
    }
}

fn latency(us: Option<u64>) -> String {
    match us {
        None => "-".to_string(),
        Some(us) if us < 1_000 => format!("{us}us"),
        Some(us) if us < 1_000_000 => format!("{:.1}ms", us as f64 / 1e3),
        Some(us) => format!("{:.2}s", us as f64 / 1e6),
    }
}

/// The time of day (UTC) with milliseconds, from the entry's RFC 3339 timestamp.
fn time_of_day(e: &Entry) -> String {
    let ts = e.ts.to_string();
    ts.get(11..23).unwrap_or(&ts).to_string()
}

/// The protocol column is as wide as the longest registered protocol name.
fn protocol_width() -> usize {
    static WIDTH: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *WIDTH.get_or_init(|| node_agent::dissect::registry::names().iter().map(|n| n.len()).max().unwrap_or(4))
}

pub fn write_line(out: &mut impl Write, e: &Entry) -> io::Result<()> {
    let route = format!("{} -> {}", endpoint(&e.src), endpoint(&e.dst));
    let summary: String = e.summary.chars().take(80).collect();
    writeln!(
        out,
        "{}  {:<pw$} {:<44} {:<60} {:>9} {:>8}",
        time_of_day(e),
        e.protocol,
        route,
        summary,
        e.status.as_deref().unwrap_or("-"),
        latency(e.elapsed_us),
        pw = protocol_width()
    )
}
