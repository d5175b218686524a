//! Measures the hub's views over many entries: HAR (build + serialize, and streamed), stats,
//! service map and redaction. The entries are those of samples/demo.pcapng, repeated with fresh
//! ids and times: first N of the small ones (under 8 KB of JSON, typical API calls), then N/10 of
//! all of them (about 30 KB each on average, with bodies up to 1 MB; the store's default 512 MB
//! holds about that many).
//!
//! `cargo run --release -p hub-lite --example views_bench -- [N] [--har FILE]`
//! N defaults to 100000; `--har FILE` also writes the HAR of the demo capture to FILE.

use hub_lite::{har, service_map, stats};
use node_agent::engine::EngineConfig;
use node_agent::pipeline::run_files;
use node_agent::redact::redact_entry;
use node_agent::{Entry, Timestamp};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut n = 100_000usize;
    let mut har_out = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--har" => har_out = args.next(),
            other => n = other.parse()?,
        }
    }
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/demo.pcapng");
    let mut base = Vec::new();
    let run = run_files(&[demo], EngineConfig::default(), &mut |e| base.push(e));
    if let Some(e) = run.error {
        return Err(e.into());
    }
    if base.is_empty() {
        return Err("the demo capture gave no entries".into());
    }
    if let Some(path) = har_out {
        let shared: Vec<Arc<Entry>> = base.iter().cloned().map(Arc::new).collect();
        std::fs::write(&path, serde_json::to_vec_pretty(&har::build(&shared))?)?;
        println!("wrote the HAR of {} demo entries to {path}", shared.len());
    }
    let small: Vec<Entry> =
        base.iter().filter(|e| serde_json::to_vec(e).is_ok_and(|j| j.len() < 8_192)).cloned().collect();
    measure("small entries", &small, n)?;
    measure("demo mix", &base, n / 10)?;
    Ok(())
}

fn measure(name: &str, base: &[Entry], n: usize) -> Result<(), Box<dyn std::error::Error>> {
    println!("{name}: {n} entries cycling through {} of the demo", base.len());
    if base.is_empty() {
        return Ok(());
    }
    let t0 = base.iter().map(|e| e.ts).min().unwrap_or_default();
    let mut entries: Vec<Entry> = (0..n)
        .map(|i| {
            let mut e = base[i % base.len()].clone();
            e.id = format!("b-{i}");
            // Spread over about an hour.
            e.ts = Timestamp(t0.as_nanos() + (i as u64 * 3_600_000_000_000) / n.max(1) as u64);
            e
        })
        .collect();

    let t = Instant::now();
    let redacted: usize = entries.iter_mut().map(redact_entry).sum();
    println!("  redact       {:>9.1} ms ({redacted} values replaced)", ms(t));
    let entries: Vec<Arc<Entry>> = entries.into_iter().map(Arc::new).collect();

    let t = Instant::now();
    let doc = har::build(&entries);
    let built = ms(t);
    let t = Instant::now();
    let bytes = serde_json::to_vec(&doc)?.len();
    println!("  har build    {built:>9.1} ms, then to_vec {:.1} ms ({:.1} MB)", ms(t), bytes as f64 / 1e6);
    drop(doc);
    let t = Instant::now();
    let mut out = Vec::with_capacity(bytes);
    har::write(&entries, &mut out)?;
    println!("  har write    {:>9.1} ms (streamed, {:.1} MB)", ms(t), out.len() as f64 / 1e6);
    drop(out);

    let t = Instant::now();
    let s = stats::compute(&entries, None);
    println!(
        "  stats        {:>9.1} ms ({} buckets of {} s)",
        ms(t),
        s.timeline.series.values().next().map_or(0, Vec::len),
        s.timeline.bucket_seconds
    );

    let t = Instant::now();
    let m = service_map::compute(&entries);
    println!("  service map  {:>9.1} ms ({} nodes, {} edges)", ms(t), m.nodes.len(), m.edges.len());
    Ok(())
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}
