//! A bounded, always-current copy of one kind of Kubernetes object, kept as small projections
//! ([`super::objects`]) by a kube-runtime watcher. The watcher re-lists after errors (with
//! backoff); a re-list replaces the copy whole when it is complete, so objects deleted while the
//! watch was down disappear too. Every change wakes the [`Notify`] given to [`follow`].

use futures_util::StreamExt;
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Most objects of one kind kept (more are left out, with a log line): bounds the hub's memory in
/// a cluster of any size.
pub const MAX_OBJECTS: usize = 500_000;
/// A failing watch is reported at most this often.
const ERROR_LOG_INTERVAL: Duration = Duration::from_secs(30);

struct State<T> {
    objects: HashMap<String, T>,
    /// The objects of a re-list in progress (between `Init` and `InitDone`).
    relist: Option<HashMap<String, T>>,
    /// A complete list has been seen.
    synced: bool,
    /// Objects left out because the cache was full (reported once per re-list).
    dropped: usize,
}

/// The current objects of one kind, by `namespace/name`.
pub struct Cache<T> {
    kind: &'static str,
    max: usize,
    state: Mutex<State<T>>,
}

impl<T: PartialEq> Cache<T> {
    pub fn new(kind: &'static str) -> Cache<T> {
        Cache::with_capacity(kind, MAX_OBJECTS)
    }

    pub fn with_capacity(kind: &'static str, max: usize) -> Cache<T> {
        Cache {
            kind,
            max,
            state: Mutex::new(State { objects: HashMap::new(), relist: None, synced: false, dropped: 0 }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the current objects.
    pub fn read<R>(&self, f: impl FnOnce(&HashMap<String, T>) -> R) -> R {
        f(&self.state().objects)
    }

    /// Whether a complete list has been seen since the start.
    pub fn synced(&self) -> bool {
        self.state().synced
    }

    /// Applies one watch event (`project` makes the kept form; `None`: not kept); true when the
    /// current objects changed.
    pub fn apply<K: ResourceExt>(&self, event: Event<K>, project: impl Fn(&K) -> Option<T>) -> bool {
        let key = |o: &K| format!("{}/{}", o.namespace().unwrap_or_default(), o.name_any());
        let mut guard = self.state();
        let s = &mut *guard;
        let max = self.max;
        match event {
            Event::Apply(o) => {
                let k = key(&o);
                match project(&o) {
                    Some(v) => insert(&mut s.objects, k, v, max, &mut s.dropped, self.kind),
                    None => s.objects.remove(&k).is_some(),
                }
            }
            Event::Delete(o) => s.objects.remove(&key(&o)).is_some(),
            Event::Init => {
                s.relist = Some(HashMap::new());
                s.dropped = 0;
                false
            }
            Event::InitApply(o) => {
                if let Some(v) = project(&o) {
                    if let Some(relist) = s.relist.as_mut() {
                        insert(relist, key(&o), v, max, &mut s.dropped, self.kind);
                    }
                }
                false
            }
            Event::InitDone => {
                s.synced = true;
                match s.relist.take() {
                    Some(new) if new != s.objects => {
                        s.objects = new;
                        true
                    }
                    // The first list of an empty kind changes nothing but is news: it is complete.
                    Some(_) => true,
                    None => false,
                }
            }
        }
    }
}

/// Inserts unless the map is full; true when the map changed.
fn insert<T: PartialEq>(
    map: &mut HashMap<String, T>,
    key: String,
    value: T,
    max: usize,
    dropped: &mut usize,
    kind: &str,
) -> bool {
    if let Some(old) = map.get_mut(&key) {
        if *old == value {
            return false;
        }
        *old = value;
        return true;
    }
    if map.len() >= max {
        if *dropped == 0 {
            eprintln!("hub-lite: more than {max} {kind}; the others are not named or scoped");
        }
        *dropped += 1;
        return false;
    }
    map.insert(key, value);
    true
}

/// Follows `api` with a watcher (re-listing with backoff after errors) into `cache` until the task
/// is dropped; wakes `changed` on every change.
pub async fn follow<K, T>(
    api: Api<K>,
    config: watcher::Config,
    cache: Arc<Cache<T>>,
    project: fn(&K) -> Option<T>,
    changed: Arc<Notify>,
) where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
    K::DynamicType: Default,
    T: PartialEq,
{
    let mut events = watcher::watcher(api, config).default_backoff().boxed();
    let mut last_error: Option<Instant> = None;
    while let Some(event) = events.next().await {
        match event {
            Ok(event) => {
                if cache.apply(event, project) {
                    changed.notify_one();
                }
            }
            Err(e) => {
                if last_error.is_none_or(|t| t.elapsed() >= ERROR_LOG_INTERVAL) {
                    eprintln!("hub-lite: watching {}: {e} (retrying)", cache.kind);
                    last_error = Some(Instant::now());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::ObjectMeta;

    fn cm(name: &str, value: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta { name: Some(name.into()), namespace: Some("ns".into()), ..ObjectMeta::default() },
            data: Some([("v".to_string(), value.to_string())].into()),
            ..ConfigMap::default()
        }
    }

    fn value(c: &ConfigMap) -> Option<String> {
        c.data.as_ref()?.get("v").cloned().filter(|v| !v.is_empty())
    }

    fn contents(cache: &Cache<String>) -> Vec<(String, String)> {
        let mut all = cache.read(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>());
        all.sort();
        all
    }

    #[test]
    fn applies_deletes_and_relists_replace_the_copy_whole() {
        let cache = Cache::new("configmaps");
        assert!(!cache.synced());
        assert!(!cache.apply(Event::Init, value));
        assert!(!cache.apply(Event::InitApply(cm("a", "1")), value));
        assert!(!cache.apply(Event::InitApply(cm("b", "2")), value));
        assert!(contents(&cache).is_empty(), "a list takes effect when complete");
        assert!(cache.apply(Event::InitDone, value));
        assert!(cache.synced());
        assert_eq!(contents(&cache), vec![("ns/a".into(), "1".into()), ("ns/b".into(), "2".into())]);

        assert!(!cache.apply(Event::Apply(cm("a", "1")), value), "the same object again changes nothing");
        assert!(cache.apply(Event::Apply(cm("a", "3")), value));
        assert!(cache.apply(Event::Apply(cm("b", "")), value), "an object no longer kept goes");
        assert!(cache.apply(Event::Apply(cm("c", "4")), value));
        assert!(cache.apply(Event::Delete(cm("c", "4")), value));
        assert!(!cache.apply(Event::Delete(cm("zz", "4")), value));
        assert_eq!(contents(&cache), vec![("ns/a".into(), "3".into())]);

        // A re-list after the watch broke: "a" was deleted meanwhile, "d" created.
        cache.apply(Event::Init, value);
        cache.apply(Event::InitApply(cm("d", "5")), value);
        assert!(cache.apply(Event::InitDone, value));
        assert_eq!(contents(&cache), vec![("ns/d".into(), "5".into())]);
    }

    #[test]
    fn the_copy_is_bounded() {
        let cache = Cache::with_capacity("configmaps", 2);
        for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
            cache.apply(Event::Apply(cm(name, &i.to_string())), value);
        }
        assert_eq!(contents(&cache).len(), 2);
        assert!(cache.apply(Event::Apply(cm("a", "9")), value), "objects held still change");
        cache.apply(Event::Init, value);
        for name in ["x", "y", "z"] {
            cache.apply(Event::InitApply(cm(name, "1")), value);
        }
        cache.apply(Event::InitDone, value);
        assert_eq!(contents(&cache).len(), 2);
    }
}
