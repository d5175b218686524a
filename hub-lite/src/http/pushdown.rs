//! Filter push-down bookkeeping: the filters of the open streams, and their union pushed to the
//! agents whenever it changes, so agents send only entries some dashboard wants.
//!
//! The union is empty ("everything") while any stream has no filter; otherwise `(f1) or (f2) ...`
//! over the distinct filters in the order the streams opened. A union the filter language would
//! refuse (too long, too many regexes) is replaced by the empty filter: agents then send
//! everything and each stream still filters for itself. When the last stream closes the agents keep
//! the last union.

use crate::agents::AgentPool;
use node_agent::filter::Filter;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The registry of open streams' filters.
pub struct StreamFilters {
    pool: Arc<AgentPool>,
    inner: Mutex<Inner>,
}

struct Inner {
    next_id: u64,
    open: BTreeMap<u64, Filter>,
    /// The union last given to the pool.
    pushed: Option<String>,
}

/// An open stream's place in the registry; dropping it removes the stream's filter.
pub struct StreamSlot {
    id: u64,
    registry: Arc<StreamFilters>,
}

impl StreamFilters {
    pub fn new(pool: Arc<AgentPool>) -> Arc<StreamFilters> {
        Arc::new(StreamFilters { pool, inner: Mutex::new(Inner { next_id: 0, open: BTreeMap::new(), pushed: None }) })
    }

    /// Registers a new stream with `filter`.
    pub fn open(self: &Arc<Self>, filter: &Filter) -> StreamSlot {
        let mut inner = self.lock();
        let id = inner.next_id;
        inner.next_id += 1;
        inner.open.insert(id, filter.clone());
        self.push(&mut inner);
        StreamSlot { id, registry: Arc::clone(self) }
    }

    /// How many streams are open.
    pub fn open_count(&self) -> usize {
        self.lock().open.len()
    }

    /// The union last pushed to the agents (None before the first stream opened).
    pub fn pushed(&self) -> Option<String> {
        self.lock().pushed.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Pushes the union of the open filters if it changed. Called with the lock held, so pushes
    /// reach the pool in the order the registry changed.
    fn push(&self, inner: &mut Inner) {
        if inner.open.is_empty() {
            return;
        }
        let union = union(inner.open.values());
        if inner.pushed.as_deref() != Some(union.as_str()) {
            self.pool.set_filter(&union);
            inner.pushed = Some(union);
        }
    }
}

impl StreamSlot {
    /// The stream changed its filter.
    pub fn set(&self, filter: &Filter) {
        let mut inner = self.registry.lock();
        inner.open.insert(self.id, filter.clone());
        self.registry.push(&mut inner);
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut inner = self.registry.lock();
        inner.open.remove(&self.id);
        self.registry.push(&mut inner);
    }
}

/// The filter matching what any of `filters` matches (see the module doc).
pub fn union<'a>(filters: impl IntoIterator<Item = &'a Filter>) -> String {
    let mut distinct: Vec<&str> = Vec::new();
    for f in filters {
        if f.is_match_all() {
            return String::new();
        }
        let text = f.source().trim();
        if !distinct.contains(&text) {
            distinct.push(text);
        }
    }
    let text = match distinct.as_slice() {
        [] => return String::new(),
        [one] => one.to_string(),
        many => many.iter().map(|t| format!("({t})")).collect::<Vec<_>>().join(" or "),
    };
    // The agents must be able to compile it; if they could not, everything is the safe answer.
    if Filter::parse(&text).is_ok() {
        text
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{EntryStore, StoreLimits};

    fn f(text: &str) -> Filter {
        Filter::parse(text).expect("valid filter")
    }

    #[test]
    fn union_rules() {
        assert_eq!(union([&f("http")]), "http");
        assert_eq!(union([&f("http"), &f("dns")]), "(http) or (dns)");
        assert_eq!(union([&f("http"), &f(" http "), &f("dns")]), "(http) or (dns)");
        assert_eq!(union([&f("http"), &f("")]), "");
        assert_eq!(union([]), "");
        // 17 distinct regexes exceed what one filter may hold: fall back to everything.
        let many: Vec<Filter> = (0..17).map(|i| f(&format!("summary =~ \"x{i}\""))).collect();
        assert_eq!(union(&many), "");
    }

    /// The union is equivalent to "any of the filters" on real entries.
    #[test]
    fn union_matches_what_any_filter_matches() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/demo.pcapng");
        let mut entries = Vec::new();
        let run = node_agent::pipeline::run_files(&[path], Default::default(), &mut |e| entries.push(e));
        assert!(run.error.is_none(), "{:?}", run.error);
        let filters = [f("dns and response.rcode == \"NXDOMAIN\""), f("http and request.method == \"HEAD\"")];
        let u = f(&union(&filters));
        let mut matched = 0;
        for e in &entries {
            let any = filters.iter().any(|x| x.matches(e));
            assert_eq!(u.matches(e), any, "{}", e.id);
            matched += usize::from(any);
        }
        assert!(matched > 0 && matched < entries.len(), "the filters must split the sample: {matched}");
    }

    #[test]
    fn registry_pushes_changes_and_keeps_the_last_union() {
        let pool = AgentPool::new(Arc::new(EntryStore::new(StoreLimits::default())));
        let reg = StreamFilters::new(pool);
        assert_eq!(reg.pushed(), None);
        let a = reg.open(&f("http"));
        assert_eq!(reg.pushed().as_deref(), Some("http"));
        let b = reg.open(&f("dns"));
        assert_eq!(reg.pushed().as_deref(), Some("(http) or (dns)"));
        b.set(&f(""));
        assert_eq!(reg.pushed().as_deref(), Some(""));
        b.set(&f("dns"));
        drop(a);
        assert_eq!(reg.pushed().as_deref(), Some("dns"));
        assert_eq!(reg.open_count(), 1);
        drop(b);
        assert_eq!(reg.open_count(), 0);
        assert_eq!(reg.pushed().as_deref(), Some("dns"));
    }
}
