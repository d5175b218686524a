//! Choosing stored entries for a request: the newest ones matching a filter below a sequence
//! number, or all matching ones. The store's lock is held only while the shared entries are listed;
//! filtering and serializing happen after.

use crate::store::EntryStore;
use node_agent::filter::Filter;
use node_agent::Entry;
use std::sync::Arc;

/// The newest matching entries, oldest first.
pub struct Newest {
    pub entries: Vec<(u64, Arc<Entry>)>,
    /// Entries evicted from the store before the oldest still stored one (paging further back
    /// cannot return them).
    pub evicted: u64,
    /// The newest sequence number looked at (a follower continues after it).
    pub cursor: u64,
}

/// Up to `limit` of the newest stored entries that match `filter` with a sequence number below
/// `before` (None: any), oldest first.
pub fn newest(store: &EntryStore, filter: &Filter, before: Option<u64>, limit: usize) -> Newest {
    let all = store.after(0, usize::MAX);
    let cursor = all.entries.last().map_or(all.missed, |(seq, _)| *seq);
    let before = before.unwrap_or(u64::MAX);
    let mut entries: Vec<(u64, Arc<Entry>)> =
        all.entries.into_iter().rev().filter(|(seq, e)| *seq < before && filter.matches(e)).take(limit).collect();
    entries.reverse();
    Newest { entries, evicted: all.missed, cursor }
}

/// Every stored entry that matches `filter`, oldest first.
pub fn all(store: &EntryStore, filter: &Filter) -> Vec<Arc<Entry>> {
    let mut entries = store.snapshot();
    if !filter.is_match_all() {
        entries.retain(|e| filter.matches(e));
    }
    entries
}
