//! Stats tests on hand-made entries: the oracle is the known input.

use super::*;
use node_agent::{Endpoint, Outcome, Transport};
use serde_json::json;

const S: u64 = NANOS_PER_SEC;

fn entry(protocol: &str, ts_ns: u64, elapsed_us: Option<u64>, status: Option<&str>, req: u64, resp: u64) -> Arc<Entry> {
    Arc::new(Entry {
        id: format!("t-{ts_ns}"),
        protocol: protocol.into(),
        transport: Transport::Tcp,
        ts: Timestamp(ts_ns),
        elapsed_us,
        src: Endpoint::new([10, 0, 0, 1].into(), 40_000),
        dst: Endpoint::new([10, 0, 0, 2].into(), 80),
        summary: String::new(),
        status: status.map(str::to_owned),
        outcome: Default::default(),
        tls: false,
        request_size: req,
        response_size: resp,
        request: serde_json::Value::Null,
        response: None,
        notes: vec![],
    })
}

/// `e` with another outcome.
fn with(e: Arc<Entry>, outcome: Outcome) -> Arc<Entry> {
    Arc::new(Entry { outcome, ..Arc::unwrap_or_clone(e) })
}

#[test]
fn nearest_rank_matches_the_worked_example() {
    // The textbook example of the nearest-rank method: {15, 20, 35, 40, 50}.
    let v = [15, 20, 35, 40, 50];
    let got: Vec<Option<u64>> = [5, 30, 40, 50, 100].iter().map(|&p| nearest_rank(&v, p)).collect();
    assert_eq!(got, [Some(15), Some(20), Some(20), Some(35), Some(50)]);
    assert_eq!(nearest_rank(&[], 50), None);
    assert_eq!(nearest_rank(&[7], 1), Some(7));
}

#[test]
fn latency_percentiles_are_exact() {
    // 1..=100 us in a scrambled order, plus entries without latency that must not count.
    let mut entries: Vec<Arc<Entry>> =
        (0..100u64).map(|i| entry("http", i, Some((i * 37) % 100 + 1), Some("200"), 1, 1)).collect();
    entries.push(entry("http", 5, None, None, 1, 0));
    entries.push(entry("dns", 6, Some(1000), Some("NOERROR"), 30, 60));
    entries.push(entry("dns", 7, Some(10), Some("NOERROR"), 30, 60));
    let s = compute(&entries, None);
    let http = Latency { count: 100, p50: Some(50), p90: Some(90), p95: Some(95), p99: Some(99), max: Some(100) };
    assert_eq!(s.latency_by_protocol_us["http"], http);
    let dns = Latency { count: 2, p50: Some(10), p90: Some(1000), p95: Some(1000), p99: Some(1000), max: Some(1000) };
    assert_eq!(s.latency_by_protocol_us["dns"], dns);
    // Overall: 1..=100, 10, 1000 (102 values). Ranks: p50 -> 51st, p90 -> 92nd, p95 -> 97th, p99 -> 101st.
    // Sorted: 1..=10, 10, 11..=100, 1000: the 51st is 50, the 92nd 91, the 97th 96, the 101st 100.
    let all = Latency { count: 102, p50: Some(50), p90: Some(91), p95: Some(96), p99: Some(100), max: Some(1000) };
    assert_eq!(s.latency_us, all);
}

#[test]
fn totals_protocols_status_and_zero_filled_timeline() {
    let base = 1_000 * S;
    let entries = vec![
        with(entry("http", base + S / 5, Some(900), Some("200"), 100, 400), Outcome::Ok),
        with(entry("http", base + 7 * S / 10, None, None, 50, 0), Outcome::NoResponse),
        with(entry("dns", base + 3 * S + S / 2, Some(60), Some("NXDOMAIN"), 30, 90), Outcome::Ok),
        with(entry("http", base + 3 * S, Some(1200), Some("200"), 10, 20), Outcome::Ok),
    ];
    let s = compute(&entries, Some(Duration::from_secs(1)));
    let want = json!({
        "total": {"entries": 4, "bytes": 700},
        "protocols": {"dns": {"entries": 1, "bytes": 120}, "http": {"entries": 3, "bytes": 580}},
        "timeline": {
            "bucket_seconds": 1.0,
            "start": "1970-01-01T00:16:40.000000000Z",
            "series": {
                "dns": [
                    {"t": "1970-01-01T00:16:40.000000000Z", "entries": 0, "bytes": 0},
                    {"t": "1970-01-01T00:16:41.000000000Z", "entries": 0, "bytes": 0},
                    {"t": "1970-01-01T00:16:42.000000000Z", "entries": 0, "bytes": 0},
                    {"t": "1970-01-01T00:16:43.000000000Z", "entries": 1, "bytes": 120}
                ],
                "http": [
                    {"t": "1970-01-01T00:16:40.000000000Z", "entries": 2, "bytes": 550},
                    {"t": "1970-01-01T00:16:41.000000000Z", "entries": 0, "bytes": 0},
                    {"t": "1970-01-01T00:16:42.000000000Z", "entries": 0, "bytes": 0},
                    {"t": "1970-01-01T00:16:43.000000000Z", "entries": 1, "bytes": 30}
                ]
            }
        },
        "status": {"200": 2, "NXDOMAIN": 1, "none": 1},
        "outcomes": {"ok": 3, "client_error": 0, "server_error": 0, "error": 0, "no_response": 1},
        "latency_us": {"count": 3, "p50": 900, "p90": 1200, "p95": 1200, "p99": 1200, "max": 1200},
        "latency_by_protocol_us": {
            "dns": {"count": 1, "p50": 60, "p90": 60, "p95": 60, "p99": 60, "max": 60},
            "http": {"count": 2, "p50": 900, "p90": 1200, "p95": 1200, "p99": 1200, "max": 1200}
        }
    });
    assert_eq!(serde_json::to_value(&s).unwrap_or_default(), want);

    // Half-second buckets: 8 of them from 1000.0 s to 1003.5 s.
    let s = compute(&entries, Some(Duration::from_millis(500)));
    let counts = |p: &str| s.timeline.series[p].iter().map(|b| b.entries).collect::<Vec<_>>();
    assert_eq!(s.timeline.bucket_seconds, 0.5);
    assert_eq!(counts("http"), [1, 1, 0, 0, 0, 0, 1, 0]);
    assert_eq!(counts("dns"), [0, 0, 0, 0, 0, 0, 0, 1]);
}

#[test]
fn default_bucket_gives_at_most_300_buckets() {
    let at =
        |secs: &[u64]| -> Vec<Arc<Entry>> { secs.iter().map(|&t| entry("http", t * S, None, None, 0, 0)).collect() };
    let bucket = |entries: &[Arc<Entry>]| {
        let s = compute(entries, None);
        (s.timeline.bucket_seconds, s.timeline.series["http"].len())
    };
    assert_eq!(bucket(&at(&[7])), (1.0, 1));
    assert_eq!(bucket(&at(&[0, 299])), (1.0, 300));
    assert_eq!(bucket(&at(&[0, 300])), (2.0, 151));
    // 2 s would need 301 buckets here ([0,2) .. [600,602)), one too many.
    assert_eq!(bucket(&at(&[1, 600])), (5.0, 121));
    assert_eq!(bucket(&at(&[0, 10 * 86_400])), (3600.0, 241));
    // Beyond a day: whole days. 1000 days need ceil(1000/298) = 4 days per bucket: 251 buckets.
    assert_eq!(bucket(&at(&[0, 1000 * 86_400])), (4.0 * 86_400.0, 251));

    // Every span, with awkward alignment, stays within the bound and covers every entry.
    for span in [1u64, 59, 301, 3_599, 86_399, 86_401, 9_000_000, 400_000_000] {
        let entries = at(&[12_345, 12_345 + span]);
        let s = compute(&entries, None);
        let series = &s.timeline.series["http"];
        assert!(series.len() as u64 <= DEFAULT_MAX_BUCKETS, "span {span}: {} buckets", series.len());
        assert_eq!(series.iter().map(|b| b.entries).sum::<u64>(), 2, "span {span}");
    }
    // Hostile timestamps: the extremes of the clock.
    let extremes = vec![entry("http", 0, None, None, 0, 0), entry("http", u64::MAX, None, None, 0, 0)];
    let s = compute(&extremes, None);
    assert!(s.timeline.series["http"].len() as u64 <= DEFAULT_MAX_BUCKETS);
    assert_eq!(s.timeline.series["http"].iter().map(|b| b.entries).sum::<u64>(), 2);
}

#[test]
fn requested_bucket_is_capped() {
    let entries = vec![entry("http", 0, None, None, 0, 0), entry("http", 7_200 * S, None, None, 0, 0)];
    // 1 ms over two hours would be 7.2 million buckets: 1 s (7201) and 2 s (3601) are over the cap; 5 s fits.
    let s = compute(&entries, Some(Duration::from_millis(1)));
    assert_eq!((s.timeline.bucket_seconds, s.timeline.series["http"].len()), (5.0, 1441));
    // A request within the cap is honoured, and a zero bucket means the default.
    let s = compute(&entries, Some(Duration::from_secs(10)));
    assert_eq!((s.timeline.bucket_seconds, s.timeline.series["http"].len()), (10.0, 721));
    let s = compute(&entries, Some(Duration::ZERO));
    assert_eq!((s.timeline.bucket_seconds, s.timeline.series["http"].len()), (30.0, 241));
}

#[test]
fn empty_input() {
    let s = compute(&[], None);
    let want = json!({
        "total": {"entries": 0, "bytes": 0},
        "protocols": {},
        "timeline": {"bucket_seconds": 1.0, "start": null, "series": {}},
        "status": {"none": 0},
        "outcomes": {"ok": 0, "client_error": 0, "server_error": 0, "error": 0, "no_response": 0},
        "latency_us": {"count": 0, "p50": null, "p90": null, "p95": null, "p99": null, "max": null},
        "latency_by_protocol_us": {}
    });
    assert_eq!(serde_json::to_value(&s).unwrap_or_default(), want);
}

#[test]
fn outcomes_are_counted_whatever_the_protocol_and_its_status_words() {
    let entries = vec![
        with(entry("http", 1, Some(5), Some("404"), 1, 1), Outcome::ClientError),
        with(entry("grpc", 2, Some(5), Some("INTERNAL"), 1, 1), Outcome::ServerError),
        with(entry("grpc", 3, Some(5), Some("INTERNAL"), 1, 1), Outcome::ServerError),
        with(entry("a-protocol-nobody-knows", 4, None, Some("RST"), 1, 0), Outcome::Error),
        with(entry("dns", 5, None, None, 1, 0), Outcome::NoResponse),
        // A status that reads like a failure does not make one: only `outcome` counts.
        with(entry("http", 6, Some(5), Some("500"), 1, 1), Outcome::Ok),
    ];
    let s = compute(&entries, None);
    let want = json!({"ok": 1, "client_error": 1, "server_error": 2, "error": 1, "no_response": 1});
    assert_eq!(serde_json::to_value(&s.outcomes).unwrap_or_default(), want);
    assert_eq!(s.outcomes.values().sum::<u64>(), entries.len() as u64);
    assert_eq!(s.outcomes.len(), Outcome::ALL.len());
}
