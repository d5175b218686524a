//! The session's entry store: at most `max_entries` entries and about `max_bytes` of them, oldest
//! out first, so a firehose of entries cannot grow the hub. Every stored entry gets a hub sequence
//! number (1, 2, ...); readers follow the store by sequence and are woken through a watch channel.

use node_agent::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, RwLock};
use tokio::sync::watch;

/// Bounds of the store.
#[derive(Clone, Copy, Debug)]
pub struct StoreLimits {
    pub max_entries: usize,
    /// Approximate bytes of entry content (strings and numbers of the JSON), see [`Entry::approx_size`].
    pub max_bytes: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits { max_entries: 100_000, max_bytes: 512 * 1024 * 1024 }
    }
}

/// Counters of the store, for the health view.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct StoreStats {
    pub stored: usize,
    pub bytes: usize,
    pub capacity: usize,
    pub max_bytes: usize,
    /// Entries pushed since the start.
    pub received: u64,
    /// Entries dropped to stay within the limits.
    pub evicted: u64,
}

struct Inner {
    entries: VecDeque<(Arc<Entry>, usize)>,
    /// Sequence number of `entries[0]`.
    first_seq: u64,
    by_id: HashMap<Arc<str>, u64>,
    bytes: usize,
    received: u64,
    evicted: u64,
}

pub struct EntryStore {
    limits: StoreLimits,
    inner: RwLock<Inner>,
    latest: watch::Sender<u64>,
}

/// What a reader gets after a given sequence number.
pub struct Batch {
    /// `(seq, entry)`, ascending.
    pub entries: Vec<(u64, Arc<Entry>)>,
    /// Entries after the cursor that were evicted before they could be read.
    pub missed: u64,
}

impl EntryStore {
    pub fn new(limits: StoreLimits) -> Self {
        let inner =
            Inner { entries: VecDeque::new(), first_seq: 1, by_id: HashMap::new(), bytes: 0, received: 0, evicted: 0 };
        EntryStore { limits, inner: RwLock::new(inner), latest: watch::channel(0).0 }
    }

    /// Stores an entry and wakes readers; returns its sequence number. An entry whose id is already
    /// stored is ignored (returns `None`), so a resent entry is never shown twice.
    pub fn push(&self, entry: Entry) -> Option<u64> {
        let size = entry.approx_size();
        let seq = {
            let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
            if inner.by_id.contains_key(entry.id.as_str()) {
                return None;
            }
            inner.received += 1;
            let seq = inner.first_seq + inner.entries.len() as u64;
            inner.by_id.insert(Arc::from(entry.id.as_str()), seq);
            inner.bytes += size;
            inner.entries.push_back((Arc::new(entry), size));
            while inner.entries.len() > self.limits.max_entries.max(1)
                || (inner.bytes > self.limits.max_bytes && inner.entries.len() > 1)
            {
                let Some((old, old_size)) = inner.entries.pop_front() else { break };
                inner.first_seq += 1;
                inner.bytes -= old_size;
                inner.evicted += 1;
                inner.by_id.remove(old.id.as_str());
            }
            seq
        };
        self.latest.send_replace(seq);
        Some(seq)
    }

    /// The stored entry with this id.
    pub fn get(&self, id: &str) -> Option<Arc<Entry>> {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let seq = *inner.by_id.get(id)?;
        inner.entries.get((seq - inner.first_seq) as usize).map(|(e, _)| Arc::clone(e))
    }

    /// The stored entry with this id and its sequence number.
    pub fn get_with_seq(&self, id: &str) -> Option<(u64, Arc<Entry>)> {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let seq = *inner.by_id.get(id)?;
        inner.entries.get((seq - inner.first_seq) as usize).map(|(e, _)| (seq, Arc::clone(e)))
    }

    /// Up to `max` entries with a sequence number greater than `after`.
    pub fn after(&self, after: u64, max: usize) -> Batch {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let start = after + 1;
        let missed = inner.first_seq.saturating_sub(start);
        let from = start.max(inner.first_seq);
        let skip = (from - inner.first_seq) as usize;
        let entries = inner
            .entries
            .iter()
            .skip(skip)
            .take(max)
            .enumerate()
            .map(|(i, (e, _))| (from + i as u64, Arc::clone(e)))
            .collect();
        Batch { entries, missed }
    }

    /// Every stored entry, oldest first (cheap: the entries are shared).
    pub fn snapshot(&self) -> Vec<Arc<Entry>> {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        inner.entries.iter().map(|(e, _)| Arc::clone(e)).collect()
    }

    /// The sequence number of the newest entry (0 when none yet).
    pub fn latest_seq(&self) -> u64 {
        *self.latest.borrow()
    }

    /// A receiver that changes whenever an entry is stored; its value is the newest sequence number.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.latest.subscribe()
    }

    pub fn stats(&self) -> StoreStats {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        StoreStats {
            stored: inner.entries.len(),
            bytes: inner.bytes,
            capacity: self.limits.max_entries,
            max_bytes: self.limits.max_bytes,
            received: inner.received,
            evicted: inner.evicted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use node_agent::{Endpoint, Timestamp, Transport};

    fn entry(id: &str, body: usize) -> Entry {
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
    fn keeps_at_most_max_entries_and_reports_what_a_slow_reader_missed() {
        let store = EntryStore::new(StoreLimits { max_entries: 3, max_bytes: usize::MAX });
        for i in 0..10 {
            store.push(entry(&format!("a-{i}"), 0));
        }
        let s = store.stats();
        assert_eq!((s.stored, s.received, s.evicted), (3, 10, 7));
        let batch = store.after(0, 100);
        assert_eq!(batch.missed, 7);
        let ids: Vec<_> = batch.entries.iter().map(|(seq, e)| (*seq, e.id.clone())).collect();
        assert_eq!(ids, vec![(8, "a-7".into()), (9, "a-8".into()), (10, "a-9".into())]);
        assert!(store.get("a-6").is_none());
        assert_eq!(store.get("a-8").map(|e| e.id.clone()), Some("a-8".into()));
        assert_eq!(store.get_with_seq("a-8").map(|(seq, e)| (seq, e.id.clone())), Some((9, "a-8".into())));
        assert!(store.get_with_seq("a-6").is_none());
        assert_eq!(store.after(9, 100).entries.len(), 1);
        assert_eq!(store.after(10, 100).entries.len(), 0);
    }

    #[test]
    fn byte_limit_evicts_large_entries() {
        let store = EntryStore::new(StoreLimits { max_entries: 1000, max_bytes: 10_000 });
        for i in 0..20 {
            store.push(entry(&format!("a-{i}"), 3000));
        }
        let s = store.stats();
        assert!(s.bytes <= 10_000, "{s:?}");
        assert!(s.stored >= 2 && s.stored < 20, "{s:?}");
    }

    #[test]
    fn an_entry_pushed_twice_is_stored_once() {
        let store = EntryStore::new(StoreLimits::default());
        assert_eq!(store.push(entry("n1-5", 0)), Some(1));
        assert_eq!(store.push(entry("n1-5", 0)), None);
        assert_eq!(store.stats().stored, 1);
        assert_eq!(store.latest_seq(), 1);
    }
}
