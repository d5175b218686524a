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

/// Width of the client -> server column and of the summary column.
const ROUTE_WIDTH: usize = 44;
const SUMMARY_WIDTH: usize = 60;

/// `s` cut to `width` characters: a long route keeps both ends around an ellipsis (the client's
/// and the server's names), a long summary its start.
fn fit(s: &str, width: usize, keep_end: bool) -> String {
    let n = s.chars().count();
    if n <= width {
        return s.to_string();
    }
    if keep_end {
        let head = (width - 1) / 2;
        let tail = width - 1 - head;
        let start: String = s.chars().take(head).collect();
        let end: String = s.chars().skip(n - tail).collect();
        format!("{start}…{end}")
    } else {
        let start: String = s.chars().take(width - 1).collect();
        format!("{start}…")
    }
}

/// The header row, aligned with [`write_line`]'s columns.
pub fn write_header(out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "{:<12}  {:<pw$} {:<rw$} {:<sw$} {:>9} {:>8}",
        "TIME (UTC)",
        "PROTOCOL",
        "CLIENT -> SERVER",
        "SUMMARY",
        "STATUS",
        "LATENCY",
        pw = protocol_width(),
        rw = ROUTE_WIDTH,
        sw = SUMMARY_WIDTH
    )
}

pub fn write_line(out: &mut impl Write, e: &Entry) -> io::Result<()> {
    let route = format!("{} -> {}", endpoint(&e.src), endpoint(&e.dst));
    writeln!(
        out,
        "{}  {:<pw$} {:<rw$} {:<sw$} {:>9} {:>8}",
        time_of_day(e),
        e.protocol,
        fit(&route, ROUTE_WIDTH, true),
        fit(&e.summary, SUMMARY_WIDTH, false),
        fit(e.status.as_deref().unwrap_or("-"), 9, false),
        latency(e.elapsed_us),
        pw = protocol_width(),
        rw = ROUTE_WIDTH,
        sw = SUMMARY_WIDTH
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_keep_the_columns_aligned_under_the_header() {
        let line = |src_pod: Option<&str>, summary: &str| {
            let ip = std::net::IpAddr::from([10, 0, 0, 1]);
            let mut src = Endpoint::new(ip, 40_000);
            if let Some(pod) = src_pod {
                src.pod = Some(pod.into());
                src.namespace = Some("shop".into());
            }
            let entry = Entry {
                id: "e-1".into(),
                protocol: "http".into(),
                transport: node_agent::Transport::Tcp,
                ts: node_agent::Timestamp::from_secs_nanos(1_700_000_000, 5_000_000),
                elapsed_us: Some(1_500),
                src,
                dst: Endpoint::new(ip, 8080),
                summary: summary.into(),
                status: Some("200".into()),
                outcome: node_agent::Outcome::Ok,
                tls: false,
                request_size: 0,
                response_size: 0,
                request: serde_json::Value::Null,
                response: None,
                notes: vec![],
            };
            let mut out = Vec::new();
            write_line(&mut out, &entry).unwrap_or_default();
            String::from_utf8(out).unwrap_or_default()
        };
        let mut header = Vec::new();
        write_header(&mut header).unwrap_or_default();
        let header = String::from_utf8(header).unwrap_or_default();
        let short = line(None, "GET /");
        let long = line(Some(&"checkout-worker-".repeat(6)), &format!("GET /{}", "a".repeat(200)));
        // Every column starts at the same character position in the header and in both lines.
        let starts = |s: &str, words: &[&str]| -> Vec<usize> {
            words.iter().map(|w| s.find(w).map(|b| s[..b].chars().count()).unwrap_or(usize::MAX)).collect()
        };
        assert_eq!(header.chars().count(), short.chars().count(), "{header}{short}");
        assert_eq!(short.chars().count(), long.chars().count(), "{short}{long}");
        // STATUS ends where the status column ends (before the latency column and the newline).
        assert_eq!(starts(&header, &["STATUS"]), vec![short.chars().count() - 1 - 8 - 1 - "STATUS".len()]);
        assert_eq!(starts(&short, &[" 200 "]), starts(&long, &[" 200 "]));
        // The long route keeps the client's start and the server's end.
        assert!(long.starts_with("22:13:20.005  http") && long.contains("  shop/checkout-worker-"), "{long}");
        assert!(long.contains("…") && long.contains("-> 10.0.0.1:8080"), "{long}");
        assert!(long.contains("GET /aaaa") && long.contains("a…"), "{long}");
    }
}
