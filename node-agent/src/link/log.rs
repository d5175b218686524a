//! The agent's buffer of recent entries, numbered 1, 2, ... in the order the engine produced them.
//! Hub connections read it by sequence number, each at its own pace, so a slow or reconnecting hub
//! never slows capture: the buffer keeps at most `max_entries` entries and about `max_bytes`, oldest
//! out first, and a reader that fell behind learns how many it missed.

use crate::entry::Entry;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Bounds of the buffer.
#[derive(Clone, Copy, Debug)]
pub struct LogLimits {
    pub max_entries: usize,
    /// Approximate bytes of entry content, see [`Entry::approx_size`].
    pub max_bytes: usize,
}

impl Default for LogLimits {
    fn default() -> Self {
        LogLimits { max_entries: 20_000, max_bytes: 64 * 1024 * 1024 }
    }
}

struct Inner {
    entries: VecDeque<(Arc<Entry>, usize)>,
    /// Sequence number of `entries[0]` (the next one to be pushed when empty).
    first_seq: u64,
    bytes: usize,
}

pub struct EntryLog {
    limits: LogLimits,
    inner: Mutex<Inner>,
    latest: watch::Sender<u64>,
}

/// What a reader gets after a sequence number.
#[derive(Debug, Default)]
pub struct LogBatch {
    /// `(seq, entry, approximate size)` ([`Entry::approx_size`], computed once when pushed), ascending
    /// and consecutive.
    pub entries: Vec<(u64, Arc<Entry>, usize)>,
    /// Entries after the cursor that were evicted before they could be read.
    pub missed: u64,
}

impl EntryLog {
    pub fn new(limits: LogLimits) -> Self {
        let inner = Inner { entries: VecDeque::new(), first_seq: 1, bytes: 0 };
        EntryLog { limits, inner: Mutex::new(inner), latest: watch::channel(0).0 }
    }

    /// Appends an entry, evicting the oldest while over the limits; returns its sequence number.
    pub fn push(&self, entry: Entry) -> u64 {
        let size = entry.approx_size();
        let seq = {
            let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            let seq = inner.first_seq + inner.entries.len() as u64;
            inner.bytes += size;
            inner.entries.push_back((Arc::new(entry), size));
            while inner.entries.len() > self.limits.max_entries.max(1)
                || (inner.bytes > self.limits.max_bytes && inner.entries.len() > 1)
            {
                let Some((_, old_size)) = inner.entries.pop_front() else { break };
                inner.first_seq += 1;
                inner.bytes -= old_size;
            }
            seq
        };
        self.latest.send_replace(seq);
        seq
    }

    /// Up to `max` entries with a sequence number greater than `after`.
    pub fn after(&self, after: u64, max: usize) -> LogBatch {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let start = after.saturating_add(1);
        let missed = inner.first_seq.saturating_sub(start);
        let from = start.max(inner.first_seq);
        let skip = usize::try_from(from - inner.first_seq).unwrap_or(usize::MAX);
        let entries = inner
            .entries
            .iter()
            .skip(skip)
            .take(max)
            .zip(from..)
            .map(|((e, size), seq)| (seq, Arc::clone(e), *size))
            .collect();
        LogBatch { entries, missed }
    }

    /// `(first, last)`: the sequence number of the oldest buffered entry (the next one when none
    /// is buffered) and of the newest entry produced (0 when none).
    pub fn bounds(&self) -> (u64, u64) {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (inner.first_seq, inner.first_seq + inner.entries.len() as u64 - 1)
    }

    /// Entries buffered now.
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sequence number of the newest entry (0 when none yet).
    pub fn latest_seq(&self) -> u64 {
        *self.latest.borrow()
    }

    /// A receiver that changes whenever an entry is pushed.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.latest.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{Endpoint, Transport};
    use crate::time::Timestamp;

    pub(crate) fn entry(id: &str, body: usize) -> Entry {
        Entry {
            id: id.into(),
            protocol: "http".into(),
            transport: Transport::Tcp,
            ts: Timestamp::from_secs_nanos(0, 0),
            elapsed_us: None,
            src: Endpoint::new("10.0.0.1".parse().unwrap(), 1000),
            dst: Endpoint::new("10.0.0.2".parse().unwrap(), 80),
            summary: "GET /".into(),
            status: None,
            outcome: Default::default(),
            tls: false,
            request_size: 0,
            response_size: 0,
            request: serde_json::json!({ "body": "x".repeat(body) }),
            response: None,
            notes: vec![],
        }
    }

    #[test]
    fn readers_get_what_follows_their_cursor_and_count_what_was_evicted() {
        let log = EntryLog::new(LogLimits { max_entries: 4, max_bytes: usize::MAX });
        assert_eq!(log.bounds(), (1, 0));
        for i in 1..=10 {
            assert_eq!(log.push(entry(&format!("a-{i}"), 0)), i);
        }
        assert_eq!(log.bounds(), (7, 10));
        let b = log.after(0, 100);
        assert_eq!(b.missed, 6);
        let got: Vec<_> = b.entries.iter().map(|(s, e, _)| (*s, e.id.as_str())).collect();
        assert_eq!(got, vec![(7, "a-7"), (8, "a-8"), (9, "a-9"), (10, "a-10")]);
        let b = log.after(8, 1);
        assert_eq!((b.missed, b.entries.len(), b.entries[0].0), (0, 1, 9));
        assert!(b.entries.iter().all(|(_, e, size)| *size == e.approx_size() && *size > 0));
        assert!(log.after(10, 100).entries.is_empty());
        // A cursor from the future (another run's numbers) gets nothing rather than a panic.
        assert!(log.after(u64::MAX, 100).entries.is_empty());
    }

    #[test]
    fn the_byte_limit_bounds_the_buffer() {
        let log = EntryLog::new(LogLimits { max_entries: 1000, max_bytes: 20_000 });
        for i in 0..50 {
            log.push(entry(&format!("a-{i}"), 4000));
        }
        let n = log.len();
        assert!((2..50).contains(&n), "{n}");
        assert!(n * 4000 <= 20_000, "{n}");
    }
}
