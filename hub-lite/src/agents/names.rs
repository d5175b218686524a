//! The hub's names of endpoints ([`NameFeed`]) and how they reach the agents: every change is
//! kept in a bounded journal, so each agent connection gets only what changed since it last sent
//! (at most [`NAMES_INTERVAL`] apart), or the whole table when it is new or fell too far behind.
//! The `names` messages are cut at about [`MAX_NAMES_MESSAGE_BYTES`] (docs/agent-protocol.md).

use node_agent::link::protocol::MAX_NAMES_MESSAGE_BYTES;
use node_agent::resolve::{NameError, NameKey, NameTable, Names, Resolver};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// An agent connection sends name changes at most this often (4 per second).
pub const NAMES_INTERVAL: Duration = Duration::from_millis(250);
/// Changes the journal keeps; a connection further behind gets the whole table.
pub const MAX_JOURNAL: usize = 100_000;

/// One change: a key's new names, or `None` when it was removed.
type Change = (NameKey, Option<Arc<Names>>);

struct Journal {
    /// Counts the changes made (each `set`, `update`, `remove`, `replace_all` is one).
    generation: u64,
    /// The oldest generation the journal can bring up to date.
    base: u64,
    changes: VecDeque<(u64, Change)>,
}

/// The names the hub knows (in a cluster, from the Kubernetes API). Agents get every change; the
/// hub also fills entries from it on receipt. Bounded like any [`NameTable`].
pub struct NameFeed {
    table: NameTable,
    journal: Mutex<Journal>,
    changed: watch::Sender<u64>,
}

/// What a connection at some generation needs to catch up.
#[derive(Debug, PartialEq)]
pub(crate) enum Delta {
    Same,
    Full(Vec<(NameKey, Arc<Names>)>),
    Changes { set: Vec<(NameKey, Arc<Names>)>, remove: Vec<NameKey> },
}

impl NameFeed {
    /// A feed whose table holds at most `capacity` records.
    pub fn new(capacity: usize) -> NameFeed {
        NameFeed {
            table: NameTable::with_capacity(capacity),
            journal: Mutex::new(Journal { generation: 0, base: 0, changes: VecDeque::new() }),
            changed: watch::channel(0).0,
        }
    }

    fn journal(&self) -> std::sync::MutexGuard<'_, Journal> {
        self.journal.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records `changes` as one generation and wakes the connections.
    fn record(&self, journal: &mut Journal, changes: Vec<Change>) {
        journal.generation += 1;
        let generation = journal.generation;
        journal.changes.extend(changes.into_iter().map(|c| (generation, c)));
        while journal.changes.len() > MAX_JOURNAL {
            if let Some((dropped, _)) = journal.changes.pop_front() {
                journal.base = journal.base.max(dropped);
            }
        }
        self.changed.send_replace(generation);
    }

    /// Sets the names of one key.
    pub fn set(&self, key: NameKey, names: Names) -> Result<(), NameError> {
        self.update(vec![(key, names)], &[])
    }

    /// Forgets one key; true when it was there.
    pub fn remove(&self, key: NameKey) -> bool {
        let mut journal = self.journal();
        let removed = self.table.remove(key);
        if removed {
            self.record(&mut journal, vec![(key, None)]);
        }
        removed
    }

    /// Removes `remove`, then sets `set`, as one change (see [`NameTable::update`]).
    pub fn update(&self, set: Vec<(NameKey, Names)>, remove: &[NameKey]) -> Result<(), NameError> {
        let mut journal = self.journal();
        let changes: Vec<Change> =
            remove.iter().map(|k| (*k, None)).chain(set.iter().map(|(k, n)| (*k, Some(Arc::new(n.clone()))))).collect();
        self.table.update(set, remove)?;
        self.record(&mut journal, changes);
        Ok(())
    }

    /// Replaces the whole table; every agent gets it whole.
    pub fn replace_all(&self, records: Vec<(NameKey, Names)>) -> Result<(), NameError> {
        let mut journal = self.journal();
        self.table.replace_all(records)?;
        journal.changes.clear();
        self.record(&mut journal, Vec::new());
        journal.base = journal.generation;
        Ok(())
    }

    /// The record of exactly this key.
    pub fn get(&self, key: NameKey) -> Option<Names> {
        self.table.get(key)
    }

    /// Records held now.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The generation now and what a connection at `generation` (`None`: one that has nothing yet)
    /// needs to catch up to it.
    pub(crate) fn since(&self, generation: Option<u64>) -> (u64, Delta) {
        let journal = self.journal();
        let now = journal.generation;
        let delta = match generation {
            Some(g) if g == now => Delta::Same,
            Some(g) if g >= journal.base && g < now => {
                let mut last: HashMap<NameKey, Option<Arc<Names>>> = HashMap::new();
                for (_, (key, names)) in journal.changes.iter().filter(|(at, _)| *at > g) {
                    last.insert(*key, names.clone());
                }
                let mut set = Vec::new();
                let mut remove = Vec::new();
                for (key, names) in last {
                    match names {
                        Some(n) => set.push((key, n)),
                        None => remove.push(key),
                    }
                }
                set.sort_by_key(|(k, _)| *k);
                remove.sort();
                Delta::Changes { set, remove }
            }
            _ => Delta::Full(self.table.snapshot()),
        };
        (now, delta)
    }

    /// Changes with every change of the table.
    pub(crate) fn watch(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}

impl Resolver for NameFeed {
    fn names(&self, ip: IpAddr, port: u16) -> Option<Names> {
        self.table.names(ip, port)
    }
}

/// The `names` messages of one delta, made one at a time so a whole table is never encoded at once.
pub(crate) struct NamesMessages {
    reset: bool,
    set: Vec<(NameKey, Arc<Names>)>,
    remove: Vec<NameKey>,
    set_at: usize,
    remove_at: usize,
    first: bool,
}

#[derive(serde::Serialize)]
struct RecordRef<'a> {
    #[serde(flatten)]
    key: &'a NameKey,
    #[serde(flatten)]
    names: &'a Names,
}

impl NamesMessages {
    /// The messages for `delta`; none for [`Delta::Same`].
    pub fn new(delta: Delta) -> NamesMessages {
        let (reset, set, remove) = match delta {
            Delta::Same => (false, Vec::new(), Vec::new()),
            Delta::Full(set) => (true, set, Vec::new()),
            Delta::Changes { set, remove } => (false, set, remove),
        };
        let first = reset || !set.is_empty() || !remove.is_empty();
        NamesMessages { reset, set, remove, set_at: 0, remove_at: 0, first }
    }

    /// The next message's JSON text, or `None` when all are made.
    pub fn next_message(&mut self) -> Result<Option<String>, serde_json::Error> {
        let done = self.set_at == self.set.len() && self.remove_at == self.remove.len();
        if done && !self.first {
            return Ok(None);
        }
        let mut removes = Vec::new();
        while self.remove_at < self.remove.len() && removes.len() < MAX_NAMES_MESSAGE_BYTES {
            if !removes.is_empty() {
                removes.push(b',');
            }
            serde_json::to_writer(&mut removes, &self.remove[self.remove_at])?;
            self.remove_at += 1;
        }
        let mut sets = Vec::new();
        while self.set_at < self.set.len() && removes.len() + sets.len() < MAX_NAMES_MESSAGE_BYTES {
            if !sets.is_empty() {
                sets.push(b',');
            }
            let (key, names) = &self.set[self.set_at];
            serde_json::to_writer(&mut sets, &RecordRef { key, names })?;
            self.set_at += 1;
        }
        let more = self.set_at < self.set.len() || self.remove_at < self.remove.len();
        let reset = self.reset && self.first;
        self.first = false;
        let mut out = format!(r#"{{"type":"names","reset":{reset},"more":{more},"set":["#);
        // Both parts are JSON that serde_json wrote, hence UTF-8.
        out.push_str(&String::from_utf8_lossy(&sets));
        out.push_str(r#"],"remove":["#);
        out.push_str(&String::from_utf8_lossy(&removes));
        out.push_str("]}");
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use node_agent::link::names::NamesReceiver;
    use node_agent::link::protocol::HubMessage;

    fn key(i: u32) -> NameKey {
        NameKey::ip(IpAddr::from((0x0a00_0000 + i).to_be_bytes()))
    }

    fn pod(name: &str) -> Names {
        Names { pod: Some(name.into()), ..Names::default() }
    }

    /// Sends `delta` through real messages into an agent's receiver, as a connection does.
    fn deliver(delta: Delta, agent: &NameTable) -> usize {
        let mut messages = NamesMessages::new(delta);
        let mut receiver = NamesReceiver::default();
        let mut count = 0;
        while let Some(text) = messages.next_message().unwrap() {
            assert!(text.len() < MAX_NAMES_MESSAGE_BYTES + 4096, "{}", text.len());
            let HubMessage::Names { reset, more, set, remove } = serde_json::from_str(&text).unwrap() else {
                panic!("{text}")
            };
            receiver.take(agent, reset, more, set, remove).unwrap();
            count += 1;
        }
        count
    }

    fn contents(t: &NameTable) -> Vec<(NameKey, Names)> {
        t.snapshot().into_iter().map(|(k, n)| (k, Names::clone(&n))).collect()
    }

    #[test]
    fn agents_catch_up_from_the_journal_or_get_the_whole_table() {
        let feed = NameFeed::new(1_000_000);
        let agent = NameTable::new();
        let (g0, delta) = feed.since(None);
        assert_eq!(delta, Delta::Full(vec![]));
        assert_eq!(deliver(delta, &agent), 1, "an empty table is still sent (it resets the agent's)");

        feed.set(key(1), pod("a")).unwrap();
        feed.set(key(2), pod("b")).unwrap();
        feed.set(key(1), pod("a2")).unwrap();
        assert!(feed.remove(key(2)));
        assert!(!feed.remove(key(2)));
        let (g1, delta) = feed.since(Some(g0));
        assert_eq!(delta, Delta::Changes { set: vec![(key(1), Arc::new(pod("a2")))], remove: vec![key(2)] });
        deliver(delta, &agent);
        assert_eq!(contents(&agent), contents(&feed.table));
        assert_eq!(feed.since(Some(g1)).1, Delta::Same);

        feed.replace_all(vec![(key(7), pod("x"))]).unwrap();
        let (g2, delta) = feed.since(Some(g1));
        assert!(matches!(delta, Delta::Full(_)), "a replaced table goes whole");
        deliver(delta, &agent);
        assert_eq!(contents(&agent), vec![(key(7), pod("x"))]);

        // More changes than the journal keeps: a connection that far behind gets the whole table.
        for i in 0..(MAX_JOURNAL as u32 + 10) {
            feed.set(key(100 + i % 50), pod(&format!("p{i}"))).unwrap();
        }
        let (_, delta) = feed.since(Some(g2));
        assert!(matches!(delta, Delta::Full(ref all) if all.len() == 51), "{:?}", std::mem::discriminant(&delta));
        deliver(delta, &agent);
        assert_eq!(contents(&agent), contents(&feed.table));
    }

    #[test]
    fn a_large_table_goes_in_several_bounded_messages_applied_as_one() {
        let feed = NameFeed::new(1_000_000);
        let long = "p".repeat(200);
        let records: Vec<_> = (0..20_000).map(|i| (key(i), pod(&format!("{long}-{i}")))).collect();
        feed.replace_all(records).unwrap();
        let agent = NameTable::new();
        agent.set(key(999_999), pod("stale")).unwrap();
        let messages = deliver(feed.since(None).1, &agent);
        assert!(messages >= 4, "{messages} messages for ~4.5 MB");
        assert_eq!(contents(&agent), contents(&feed.table), "the stale record is gone, every new one is there");
        // A large incremental change too.
        let (g, _) = feed.since(None);
        let removes: Vec<_> = (0..15_000).map(key).collect();
        feed.update(vec![(key(50_000), pod("new"))], &removes).unwrap();
        let messages = deliver(feed.since(Some(g)).1, &agent);
        assert!(messages >= 1);
        assert_eq!(contents(&agent), contents(&feed.table));
        assert_eq!(agent.len(), 5_001);
    }

    #[test]
    fn a_refused_change_is_not_journaled() {
        let feed = NameFeed::new(1);
        feed.set(key(1), pod("a")).unwrap();
        let (g, _) = feed.since(None);
        assert!(feed.set(key(2), pod("b")).is_err());
        assert_eq!(feed.since(Some(g)).1, Delta::Same);
        let mut w = feed.watch();
        w.borrow_and_update();
        feed.set(key(1), pod("c")).unwrap();
        assert!(w.has_changed().unwrap());
    }
}
