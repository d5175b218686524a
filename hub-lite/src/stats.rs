//! Statistics over a set of entries, for `GET /api/v1/stats` (docs/api.md): totals, counts and
//! bytes per protocol, a timeline per protocol, status and outcome counts and latency percentiles.
//!
//! - `bytes` is `request_size + response_size`.
//! - Timeline: buckets start at multiples of the bucket length since the Unix epoch (so they fall
//!   on round times); the first is the one holding the earliest entry, the last the one holding the
//!   latest, and every protocol has every bucket, zeros included. Without a requested length the
//!   bucket is the shortest of 1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10, 15, 30 min, 1, 2, 3, 6, 12 h,
//!   1 day (then whole days) that gives at most [`DEFAULT_MAX_BUCKETS`] buckets. A requested length
//!   that would give more than [`MAX_BUCKETS`] is replaced the same way with that cap, so the
//!   answer stays small whatever the timestamps and the request. `bucket_seconds` says the length
//!   used. Without entries `start` is null and `series` empty.
//! - Status: the entry's `status` as written (`"200"`, `"NXDOMAIN"`), `"none"` for entries without
//!   status; `"none"` is always present.
//! - Outcomes: the entry's common `outcome` (`ok`, `client_error`, `server_error`, `error`,
//!   `no_response`), every one always present, so a reader compares protocols without knowing any
//!   protocol's status words.
//! - Latency: over `elapsed_us` of the entries that have one, by the nearest-rank method: the p-th
//!   percentile of n sorted values is the value at rank ceil(p/100 * n) (1-based). It is always one
//!   of the measured values. Null when there are no values.

use node_agent::{Entry, Outcome, Timestamp};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// At most this many buckets with the default bucket length.
pub const DEFAULT_MAX_BUCKETS: u64 = 300;
/// At most this many buckets with a requested bucket length.
pub const MAX_BUCKETS: u64 = 3_600;

const NANOS_PER_SEC: u64 = 1_000_000_000;
const DAY_SECS: u64 = 86_400;
/// Bucket lengths tried for the default, in seconds.
const NICE_SECS: [u64; 18] =
    [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, DAY_SECS];

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stats {
    pub total: Count,
    pub protocols: BTreeMap<String, Count>,
    pub timeline: Timeline,
    pub status: BTreeMap<String, u64>,
    /// Entries per outcome, keyed by its JSON name; every outcome is present.
    pub outcomes: BTreeMap<&'static str, u64>,
    pub latency_us: Latency,
    pub latency_by_protocol_us: BTreeMap<String, Latency>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Count {
    pub entries: u64,
    pub bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Timeline {
    pub bucket_seconds: f64,
    /// Start of the first bucket; null without entries.
    pub start: Option<Timestamp>,
    /// Per protocol, one element per bucket, in time order.
    pub series: BTreeMap<String, Vec<Bucket>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// Start of the bucket.
    pub t: Timestamp,
    pub entries: u64,
    pub bytes: u64,
}

/// Nearest-rank percentiles of latencies in microseconds (see the module doc).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Latency {
    pub count: u64,
    pub p50: Option<u64>,
    pub p90: Option<u64>,
    pub p95: Option<u64>,
    pub p99: Option<u64>,
    pub max: Option<u64>,
}

impl Latency {
    /// The percentiles of `values`, which this sorts.
    pub fn of(values: &mut [u64]) -> Latency {
        values.sort_unstable();
        Latency {
            count: values.len() as u64,
            p50: nearest_rank(values, 50),
            p90: nearest_rank(values, 90),
            p95: nearest_rank(values, 95),
            p99: nearest_rank(values, 99),
            max: values.last().copied(),
        }
    }
}

/// The `percent`-th percentile (1..=100) of ascending `sorted` by the nearest-rank method: the
/// value at 1-based rank ceil(percent/100 * n). None when `sorted` is empty.
pub fn nearest_rank(sorted: &[u64], percent: u32) -> Option<u64> {
    let n = sorted.len() as u64;
    let rank = (u64::from(percent.clamp(1, 100)) * n).div_ceil(100).max(1);
    sorted.get(usize::try_from(rank - 1).ok()?).copied()
}

/// Stats of `entries`; `bucket` is the requested timeline bucket length (None or zero: the default).
pub fn compute(entries: &[Arc<Entry>], bucket: Option<Duration>) -> Stats {
    let mut total = Count::default();
    let mut protocols: BTreeMap<String, Count> = BTreeMap::new();
    let mut status: BTreeMap<String, u64> = BTreeMap::from([("none".to_owned(), 0)]);
    let mut outcomes: BTreeMap<&'static str, u64> = Outcome::ALL.iter().map(|o| (o.as_str(), 0)).collect();
    let mut latencies: Vec<u64> = Vec::new();
    let mut latencies_by_protocol: BTreeMap<String, Vec<u64>> = BTreeMap::new();

    for e in entries {
        let bytes = e.request_size.saturating_add(e.response_size);
        add(&mut total, bytes);
        add(protocols.entry(e.protocol.clone()).or_default(), bytes);
        *status.entry(e.status.clone().unwrap_or_else(|| "none".to_owned())).or_default() += 1;
        *outcomes.entry(e.outcome.as_str()).or_default() += 1;
        let per_protocol = latencies_by_protocol.entry(e.protocol.clone()).or_default();
        if let Some(us) = e.elapsed_us {
            latencies.push(us);
            per_protocol.push(us);
        }
    }
    Stats {
        total,
        protocols,
        timeline: timeline(entries, bucket),
        status,
        outcomes,
        latency_us: Latency::of(&mut latencies),
        latency_by_protocol_us: latencies_by_protocol.into_iter().map(|(p, mut v)| (p, Latency::of(&mut v))).collect(),
    }
}

fn add(c: &mut Count, bytes: u64) {
    c.entries += 1;
    c.bytes = c.bytes.saturating_add(bytes);
}

fn timeline(entries: &[Arc<Entry>], bucket: Option<Duration>) -> Timeline {
    let requested = bucket.map(|b| u64::try_from(b.as_nanos()).unwrap_or(u64::MAX)).filter(|&ns| ns > 0);
    let (Some(first), Some(last)) = (entries.iter().map(|e| e.ts).min(), entries.iter().map(|e| e.ts).max()) else {
        let step = requested.unwrap_or(NANOS_PER_SEC);
        return Timeline { bucket_seconds: seconds(step), start: None, series: BTreeMap::new() };
    };
    let (first, last) = (first.as_nanos(), last.as_nanos());
    let step = match requested {
        Some(step) if bucket_count(first, last, step) <= MAX_BUCKETS => step,
        Some(_) => nice_step(first, last, MAX_BUCKETS),
        None => nice_step(first, last, DEFAULT_MAX_BUCKETS),
    };
    let start = first - first % step;
    // bucket_count(..) <= MAX_BUCKETS, so this fits in memory and in usize.
    let n = bucket_count(first, last, step) as usize;
    let empty: Vec<Bucket> = (0..n as u64)
        .map(|i| Bucket { t: Timestamp(start.saturating_add(i.saturating_mul(step))), entries: 0, bytes: 0 })
        .collect();
    let mut series: BTreeMap<String, Vec<Bucket>> = BTreeMap::new();
    for e in entries {
        let buckets = series.entry(e.protocol.clone()).or_insert_with(|| empty.clone());
        let i = ((e.ts.as_nanos() - start) / step) as usize;
        if let Some(b) = buckets.get_mut(i) {
            b.entries += 1;
            b.bytes = b.bytes.saturating_add(e.request_size.saturating_add(e.response_size));
        }
    }
    Timeline { bucket_seconds: seconds(step), start: Some(Timestamp(start)), series }
}

/// Buckets of length `step` (aligned to multiples of it) from the one holding `first` to the one holding `last`.
fn bucket_count(first: u64, last: u64, step: u64) -> u64 {
    last / step - first / step + 1
}

/// The shortest default bucket length (see the module doc) giving at most `max` buckets.
fn nice_step(first: u64, last: u64, max: u64) -> u64 {
    for secs in NICE_SECS {
        let step = secs * NANOS_PER_SEC;
        if bucket_count(first, last, step) <= max {
            return step;
        }
    }
    // Whole days. With step >= span/(max-2), floor(last/step) - floor(first/step) <= span/step + 1
    // <= max - 1, so there are at most max buckets however they are aligned.
    let day = DAY_SECS * NANOS_PER_SEC;
    let min_step = (last - first).div_ceil(max.saturating_sub(2).max(1));
    min_step.div_ceil(day).saturating_mul(day).max(day)
}

fn seconds(step_ns: u64) -> f64 {
    step_ns as f64 / NANOS_PER_SEC as f64
}

#[cfg(test)]
mod tests;
