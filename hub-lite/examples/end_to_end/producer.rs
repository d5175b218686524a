//! The capture side: pushes the entries into the agent's buffer from a thread of its own, as the
//! capture thread of a real agent does, either as fast as the pipeline takes them (with at most a
//! window of entries not yet seen by the client, so nothing is evicted and the rate measured is one
//! the pipeline sustains) or at a fixed rate (as traffic arrives). Records when each entry went in.

use crate::input::Input;
use node_agent::link::AgentState;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::PREFIX;

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

/// Pushes entries 1..=n of `input` (made one by one, see [`Input::entry`]) and returns, per entry, the
/// time of its push in nanoseconds since `t0` (index 0 unused). `acked`: the index of the newest
/// entry the client received.
pub fn run(agent: &AgentState, input: &Input, n: usize, pace: Pace, acked: &AtomicU64, t0: Instant) -> Vec<u64> {
    let mut pushed_at = vec![0u64; n + 1];
    let nanos = |t: Instant| u64::try_from(t.duration_since(t0).as_nanos()).unwrap_or(u64::MAX);
    match pace {
        Pace::Window(window) => {
            for (i, at) in pushed_at.iter_mut().enumerate().skip(1) {
                let e = input.entry(i, PREFIX);
                while (i as u64).saturating_sub(acked.load(Ordering::Acquire)) > window {
                    std::thread::sleep(Duration::from_micros(100));
                }
                *at = nanos(Instant::now());
                agent.push(e);
            }
        }
        Pace::Rate(rate) => {
            let mut i = 1;
            while i <= n {
                // Entries due by now: entry i is due at (i - 1) / rate seconds.
                let due = ((t0.elapsed().as_secs_f64() * rate) as usize + 1).min(n);
                while i <= due {
                    let e = input.entry(i, PREFIX);
                    pushed_at[i] = nanos(Instant::now());
                    agent.push(e);
                    i += 1;
                }
                std::thread::sleep(Duration::from_micros(500));
            }
        }
    }
    pushed_at
}
