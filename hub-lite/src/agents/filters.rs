//! Filter push-down (docs/api.md, "stream"): every open dashboard stream registers its filter here;
//! the agents are told to send what matches at least one of them, or everything while one stream
//! has no filter. When the last stream closes, the filters in force stay.

use node_agent::filter::Filter;
use node_agent::link::protocol::MAX_FILTERS;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// The registry of open streams' filters and the filter list pushed to agents (empty: everything).
pub struct FilterRegistry {
    streams: Mutex<Streams>,
    pushed: watch::Sender<Vec<String>>,
}

struct Streams {
    next_id: u64,
    filters: BTreeMap<u64, Filter>,
}

impl FilterRegistry {
    /// A registry whose agents start with `initial` (e.g. the CLI's `--filter`; empty: everything).
    pub fn new(initial: Vec<Filter>) -> Arc<FilterRegistry> {
        Arc::new(FilterRegistry {
            streams: Mutex::new(Streams { next_id: 0, filters: BTreeMap::new() }),
            pushed: watch::channel(union(initial.iter())).0,
        })
    }

    /// Registers a stream with its filter; the stream's filter counts until the guard is dropped.
    pub fn open(self: &Arc<Self>, filter: Filter) -> StreamFilter {
        let id = {
            let mut s = self.streams.lock().unwrap_or_else(|e| e.into_inner());
            s.next_id += 1;
            let id = s.next_id;
            s.filters.insert(id, filter);
            self.recompute(&s);
            id
        };
        StreamFilter { registry: Arc::clone(self), id }
    }

    /// How many streams are open.
    pub fn open_count(&self) -> usize {
        self.streams.lock().unwrap_or_else(|e| e.into_inner()).filters.len()
    }

    /// The filters agents are asked to apply now (empty: everything passes).
    pub fn in_force(&self) -> Vec<String> {
        self.pushed.borrow().clone()
    }

    /// Changes whenever the filters in force change.
    pub fn watch(&self) -> watch::Receiver<Vec<String>> {
        self.pushed.subscribe()
    }

    fn recompute(&self, s: &Streams) {
        if s.filters.is_empty() {
            return; // The last stream closed: keep what is in force.
        }
        let new = union(s.filters.values());
        self.pushed.send_if_modified(|old| {
            let changed = *old != new;
            if changed {
                *old = new;
            }
            changed
        });
    }
}

/// The filter texts to push for these filters: none when one matches all, or when there are more
/// distinct ones than an agent takes (then everything passes, a superset of what is wanted).
fn union<'a>(filters: impl Iterator<Item = &'a Filter>) -> Vec<String> {
    let mut texts = std::collections::BTreeSet::new();
    for f in filters {
        if f.is_match_all() {
            return Vec::new();
        }
        texts.insert(f.source().trim().to_string());
    }
    if texts.len() > MAX_FILTERS {
        return Vec::new();
    }
    texts.into_iter().collect()
}

/// An open stream's place in the registry.
pub struct StreamFilter {
    registry: Arc<FilterRegistry>,
    id: u64,
}

impl StreamFilter {
    /// Replaces this stream's filter.
    pub fn set(&self, filter: Filter) {
        let mut s = self.registry.streams.lock().unwrap_or_else(|e| e.into_inner());
        s.filters.insert(self.id, filter);
        self.registry.recompute(&s);
    }
}

impl Drop for StreamFilter {
    fn drop(&mut self) {
        let mut s = self.registry.streams.lock().unwrap_or_else(|e| e.into_inner());
        s.filters.remove(&self.id);
        self.registry.recompute(&s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(text: &str) -> Filter {
        Filter::parse(text).unwrap()
    }

    #[test]
    fn agents_get_the_union_of_open_streams_and_keep_it_when_the_last_closes() {
        let reg = FilterRegistry::new(vec![f("http")]);
        assert_eq!(reg.in_force(), vec!["http"]);
        let a = reg.open(f("dns"));
        assert_eq!(reg.in_force(), vec!["dns"]);
        let b = reg.open(f("response.status >= 500"));
        assert_eq!(reg.in_force(), vec!["dns", "response.status >= 500"]);
        let c = reg.open(f("dns"));
        assert_eq!(reg.in_force().len(), 2, "the same text counts once");
        let d = reg.open(f(""));
        assert!(reg.in_force().is_empty(), "a stream without filter wants everything");
        drop(d);
        assert_eq!(reg.in_force(), vec!["dns", "response.status >= 500"]);
        b.set(f("http"));
        assert_eq!(reg.in_force(), vec!["dns", "http"]);
        drop(a);
        drop(c);
        assert_eq!(reg.in_force(), vec!["http"]);
        drop(b);
        assert_eq!(reg.in_force(), vec!["http"], "the last filter stays in force");
    }

    #[test]
    fn too_many_distinct_filters_push_everything() {
        let reg = FilterRegistry::new(vec![]);
        let guards: Vec<_> = (0..=MAX_FILTERS).map(|i| reg.open(f(&format!("request_size == {i}")))).collect();
        assert!(reg.in_force().is_empty());
        drop(guards);
    }

    #[test]
    fn watchers_see_changes_only() {
        let reg = FilterRegistry::new(vec![]);
        let mut w = reg.watch();
        let a = reg.open(f("dns"));
        assert!(w.has_changed().unwrap());
        assert_eq!(*w.borrow_and_update(), vec!["dns"]);
        let b = reg.open(f("dns"));
        assert!(!w.has_changed().unwrap());
        drop((a, b));
    }
}
