//! The capture side: pushes the entries into the agent's buffer from a thread of its own, as the
//! capture thread of a real agent does, either as fast as the pipeline takes them (with at most a
//! window of entries not yet seen by the client, so nothing is evicted and the rate measured is one
//! the pipeline sustains) or at a fixed rate (as traffic arrives). Records when each entry went in.

use node_agent::link::AgentState;
use node_agent::Entry;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How the producer paces itself.
#[derive(Clone, Copy, Debug, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pace {
    /// As fast as possible, with at most this many entries pushed beyond the last one the client
    /// received (keep it below the agent's buffer).
    Window(u64),
    /// This many entries per second, pushed in small bursts (the producer wakes about every 0.5 ms).
    Rate(f64),
}

/// Pushes `entries` (entry `i` is the `i`-th pushed, from 1) and returns, per entry, the time of its
/// push in nanoseconds since `t0` (index 0 unused). `acked`: the index of the newest entry the
/// client received.
pub fn run(agent: &AgentState, entries: Vec<Entry>, pace: Pace, acked: &AtomicU64, t0: Instant) -> Vec<u64> {
    let mut pushed_at = vec![0u64; entries.len() + 1];
    let nanos = |t: Instant| u64::try_from(t.duration_since(t0).as_nanos()).unwrap_or(u64::MAX);
    match pace {
        Pace::Window(window) => {
            for (k, e) in entries.into_iter().enumerate() {
                let i = k as u64 + 1;
                while i.saturating_sub(acked.load(Ordering::Acquire)) > window {
                    std::thread::sleep(Duration::from_micros(100));
                }
                pushed_at[k + 1] = nanos(Instant::now());
                agent.push(e);
            }
        }
        Pace::Rate(rate) => {
            let mut entries = entries.into_iter().enumerate().peekable();
            while entries.peek().is_some() {
                let now = Instant::now();
                let due = (now.duration_since(t0).as_secs_f64() * rate) as usize + 1;
                while let Some((k, e)) = entries.next_if(|(k, _)| *k < due) {
                    pushed_at[k + 1] = nanos(Instant::now());
                    agent.push(e);
                }
                std::thread::sleep(Duration::from_micros(500));
            }
        }
    }
    pushed_at
}
