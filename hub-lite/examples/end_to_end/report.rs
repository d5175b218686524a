//! Results of the cases: nearest-rank percentiles, process CPU time, the printed table.

use crate::producer::Pace;

/// Percentiles of latencies in milliseconds.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Latency {
    pub count: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Nearest-rank percentiles of `nanos` (the value at rank ⌈p/100 · n⌉ of the sorted values).
pub fn latency(mut nanos: Vec<u64>) -> Option<Latency> {
    if nanos.is_empty() {
        return None;
    }
    nanos.sort_unstable();
    let rank = |p: f64| {
        let r = ((p / 100.0) * nanos.len() as f64).ceil() as usize;
        nanos[r.clamp(1, nanos.len()) - 1] as f64 / 1e6
    };
    Some(Latency { count: nanos.len(), p50_ms: rank(50.0), p99_ms: rank(99.0), max_ms: rank(100.0) })
}

/// CPU seconds (user + system) this process used so far, all threads (ended ones too).
pub fn cpu_seconds() -> Option<f64> {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return None;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(secs(usage.ru_utime) + secs(usage.ru_stime))
}

/// One case's measurements.
#[derive(Debug, serde::Serialize)]
pub struct CaseResult {
    pub name: String,
    pub filter: String,
    pub pace: Pace,
    /// Entries pushed into the agent.
    pub entries: u64,
    pub rows_expected: u64,
    pub rows_received: u64,
    /// `missed` reported to the client, and by the agent to the hub.
    pub missed_stream: u64,
    pub missed_agent: u64,
    /// Rows that were unknown, out of order, not passing the filter or not equal to the pushed entry.
    pub bad_rows: u64,
    pub problems: Vec<String>,
    /// Expected rows that never arrived, and the first few of their indices.
    pub gaps: u64,
    pub first_gaps: Vec<u64>,
    /// From the first push to the last row received.
    pub seconds: f64,
    /// Entries pushed (and gone through the agent's filter) per second, end to end.
    pub entries_per_s: f64,
    pub rows_per_s: f64,
    /// How long pushing took (for a fixed rate: about entries / rate).
    pub push_seconds: f64,
    /// Bytes the agent sent to the hub (WebSocket frames, counted by the relay); None with `--direct`.
    pub agent_bytes: Option<u64>,
    pub agent_bytes_per_entry: Option<f64>,
    /// Bytes the hub sent to the agent (subscribe, filters, pings).
    pub hub_to_agent_bytes: Option<u64>,
    /// What the agent says it sent and filtered out.
    pub agent_sent: u64,
    pub agent_filtered_out: u64,
    /// Bytes of text messages the client received.
    pub client_bytes: u64,
    /// CPU seconds of the whole process (agent, hub, client, producer) during the case.
    pub cpu_seconds: Option<f64>,
    /// Push to row receipt, per row.
    pub latency: Option<Latency>,
}

fn thousands(x: f64) -> String {
    let s = format!("{:.0}", x);
    let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
    let mut out = String::new();
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

/// A Markdown table of the cases.
pub fn table(cases: &[CaseResult]) -> String {
    let mut t = String::from(
        "| case | entries | rows | seconds | entries/s | rows/s | agent bytes/entry | MB agent → hub | \
         latency p50 / p99 / max ms | CPU s | missed | bad rows |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for c in cases {
        let lat = c.latency.map_or("n/a".into(), |l| format!("{:.1} / {:.1} / {:.1}", l.p50_ms, l.p99_ms, l.max_ms));
        t += &format!(
            "| {} | {} | {} | {:.2} | **{}** | {} | {} | {} | {lat} | {} | {} | {} |\n",
            c.name,
            thousands(c.entries as f64),
            thousands(c.rows_received as f64),
            c.seconds,
            thousands(c.entries_per_s),
            thousands(c.rows_per_s),
            c.agent_bytes_per_entry.map_or("n/a".into(), |b| format!("{b:.0}")),
            c.agent_bytes.map_or("n/a".into(), |b| format!("{:.1}", b as f64 / 1e6)),
            c.cpu_seconds.map_or("n/a".into(), |s| format!("{s:.2}")),
            c.missed_stream + c.missed_agent,
            c.bad_rows,
        );
    }
    t
}
