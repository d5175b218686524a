//! Names of the endpoints of entries: which pod, namespace, service and node an address belongs to.
//! The engine knows addresses only; a [`Resolver`] knows names. In a cluster the hub learns them
//! from the Kubernetes API and pushes them to the agents (docs/agent-protocol.md, `names`), which
//! keep them in a [`NameTable`] and fill entries with [`apply`] before filtering, so a filter such
//! as `dst.pod == "web-0"` works on the agent.
//!
//! Lookups go by address and port first (a Service ClusterIP names a service only on its ports; an
//! EndpointSlice can name the service behind one port of a pod), then by address alone (a pod IP
//! names its pod); fields the first leaves empty come from the second.

use crate::entry::{Endpoint, Entry};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};

/// Longest name taken (a DNS subdomain, the longest Kubernetes object name).
pub const MAX_NAME_LEN: usize = 253;
/// Records a [`NameTable`] holds unless told otherwise.
pub const DEFAULT_CAPACITY: usize = 1_000_000;

/// What is known about one endpoint. Every field is optional: a Service ClusterIP has a service
/// and a namespace but no pod.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Names {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

impl Names {
    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        self.fields().iter().all(|(_, v)| v.is_none())
    }

    fn fields(&self) -> [(&'static str, &Option<String>); 4] {
        [("pod", &self.pod), ("namespace", &self.namespace), ("service", &self.service), ("node", &self.node)]
    }

    /// These names, with the fields they lack taken from `other`.
    fn or(mut self, other: &Names) -> Names {
        for (mine, theirs) in [
            (&mut self.pod, &other.pod),
            (&mut self.namespace, &other.namespace),
            (&mut self.service, &other.service),
            (&mut self.node, &other.node),
        ] {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
        self
    }

    /// The first field longer than [`MAX_NAME_LEN`], with its length.
    fn too_long(&self) -> Option<(&'static str, usize)> {
        self.fields().into_iter().find_map(|(f, v)| v.as_ref().filter(|v| v.len() > MAX_NAME_LEN).map(|v| (f, v.len())))
    }
}

/// What names an address. `port` matters: see the module documentation.
pub trait Resolver: Send + Sync {
    fn names(&self, ip: IpAddr, port: u16) -> Option<Names>;
}

/// Where a record applies: one address on every port, or one address and port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NameKey {
    pub ip: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

impl NameKey {
    pub fn ip(ip: IpAddr) -> NameKey {
        NameKey { ip, port: None }
    }

    pub fn addr(ip: IpAddr, port: u16) -> NameKey {
        NameKey { ip, port: Some(port) }
    }
}

impl fmt::Display for NameKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}", SocketAddr::new(self.ip, port)),
            None => write!(f, "{}", self.ip),
        }
    }
}

/// A key and its names, as the `names` message carries them: `{"ip":"10.0.0.5","port":80,"service":"web"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameRecord {
    pub ip: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

impl NameRecord {
    pub fn new(key: NameKey, names: Names) -> NameRecord {
        let Names { pod, namespace, service, node } = names;
        NameRecord { ip: key.ip, port: key.port, pod, namespace, service, node }
    }

    pub fn key(&self) -> NameKey {
        NameKey { ip: self.ip, port: self.port }
    }

    pub fn into_parts(self) -> (NameKey, Names) {
        let NameRecord { ip, port, pod, namespace, service, node } = self;
        (NameKey { ip, port }, Names { pod, namespace, service, node })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("the name table holds at most {capacity} records; this change would make it {wanted}")]
    Full { capacity: usize, wanted: usize },
    #[error("the {field} name of {key} is {len} bytes long; at most {MAX_NAME_LEN}")]
    TooLong { key: NameKey, field: &'static str, len: usize },
}

#[derive(Default)]
struct Tables {
    by_ip: HashMap<IpAddr, Arc<Names>>,
    by_addr: HashMap<(IpAddr, u16), Arc<Names>>,
}

impl Tables {
    fn len(&self) -> usize {
        self.by_ip.len() + self.by_addr.len()
    }

    fn contains(&self, key: &NameKey) -> bool {
        match key.port {
            Some(port) => self.by_addr.contains_key(&(key.ip, port)),
            None => self.by_ip.contains_key(&key.ip),
        }
    }

    fn insert(&mut self, key: NameKey, names: Arc<Names>) {
        match key.port {
            Some(port) => self.by_addr.insert((key.ip, port), names),
            None => self.by_ip.insert(key.ip, names),
        };
    }

    fn remove(&mut self, key: &NameKey) -> bool {
        match key.port {
            Some(port) => self.by_addr.remove(&(key.ip, port)).is_some(),
            None => self.by_ip.remove(&key.ip).is_some(),
        }
    }
}

/// Names by address and by address and port, shared between readers (entries being resolved) and a
/// writer (the hub's updates). At most `capacity` records; a change that would pass it is refused
/// whole, so the table stays bounded whatever a peer sends.
pub struct NameTable {
    capacity: usize,
    tables: RwLock<Tables>,
}

impl Default for NameTable {
    fn default() -> Self {
        NameTable::with_capacity(DEFAULT_CAPACITY)
    }
}

fn check(key: &NameKey, names: &Names) -> Result<(), NameError> {
    match names.too_long() {
        Some((field, len)) => Err(NameError::TooLong { key: *key, field, len }),
        None => Ok(()),
    }
}

impl NameTable {
    pub fn new() -> NameTable {
        NameTable::default()
    }

    pub fn with_capacity(capacity: usize) -> NameTable {
        NameTable { capacity, tables: RwLock::new(Tables::default()) }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Tables> {
        self.tables.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Tables> {
        self.tables.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Records held now.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The record of exactly this key (no merging, unlike [`Resolver::names`]).
    pub fn get(&self, key: NameKey) -> Option<Names> {
        let t = self.read();
        let names = match key.port {
            Some(port) => t.by_addr.get(&(key.ip, port)),
            None => t.by_ip.get(&key.ip),
        };
        names.map(|n| Names::clone(n))
    }

    /// Sets the names of one key (replacing what it had).
    pub fn set(&self, key: NameKey, names: Names) -> Result<(), NameError> {
        self.update(vec![(key, names)], &[])
    }

    /// Forgets one key; true when it was there.
    pub fn remove(&self, key: NameKey) -> bool {
        self.write().remove(&key)
    }

    /// Removes `remove`, then sets `set` (a key in both ends up set), as one change: readers see
    /// the table before or after, and an error leaves it as it was.
    pub fn update(&self, set: Vec<(NameKey, Names)>, remove: &[NameKey]) -> Result<(), NameError> {
        for (key, names) in &set {
            check(key, names)?;
        }
        let mut t = self.write();
        let removed: HashSet<NameKey> = remove.iter().filter(|k| t.contains(k)).copied().collect();
        let mut added = HashSet::new();
        for (key, _) in &set {
            if !t.contains(key) || removed.contains(key) {
                added.insert(*key);
            }
        }
        let wanted = t.len() - removed.len() + added.len();
        if wanted > self.capacity {
            return Err(NameError::Full { capacity: self.capacity, wanted });
        }
        for key in &removed {
            t.remove(key);
        }
        for (key, names) in set {
            t.insert(key, Arc::new(names));
        }
        Ok(())
    }

    /// Replaces the whole table by `records` (later records of the same key win), as one change.
    pub fn replace_all(&self, records: Vec<(NameKey, Names)>) -> Result<(), NameError> {
        let mut new = Tables::default();
        for (key, names) in records {
            check(&key, &names)?;
            new.insert(key, Arc::new(names));
            if new.len() > self.capacity {
                return Err(NameError::Full { capacity: self.capacity, wanted: new.len() });
            }
        }
        *self.write() = new;
        Ok(())
    }

    /// Every record, sorted by key (for sending the table whole).
    pub fn snapshot(&self) -> Vec<(NameKey, Arc<Names>)> {
        let mut all: Vec<(NameKey, Arc<Names>)> = {
            let t = self.read();
            let by_ip = t.by_ip.iter().map(|(ip, n)| (NameKey::ip(*ip), Arc::clone(n)));
            let by_addr = t.by_addr.iter().map(|((ip, port), n)| (NameKey::addr(*ip, *port), Arc::clone(n)));
            by_ip.chain(by_addr).collect()
        };
        all.sort_by_key(|(k, _)| *k);
        all
    }
}

impl Resolver for NameTable {
    fn names(&self, ip: IpAddr, port: u16) -> Option<Names> {
        let t = self.read();
        match (t.by_addr.get(&(ip, port)), t.by_ip.get(&ip)) {
            (Some(exact), Some(host)) => Some(Names::clone(exact).or(host)),
            (Some(only), None) | (None, Some(only)) => Some(Names::clone(only)),
            (None, None) => None,
        }
    }
}

/// Names that would fill empty fields of an entry's endpoints; see [`lookup`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fill {
    src: Option<Names>,
    dst: Option<Names>,
}

/// Whether `names` would set a field `endpoint` lacks.
fn adds(endpoint: &Endpoint, names: &Names) -> bool {
    (endpoint.pod.is_none() && names.pod.is_some())
        || (endpoint.namespace.is_none() && names.namespace.is_some())
        || (endpoint.service.is_none() && names.service.is_some())
        || (endpoint.node.is_none() && names.node.is_some())
}

fn fill(endpoint: &mut Endpoint, names: Names) {
    let Names { pod, namespace, service, node } = names;
    for (field, value) in [
        (&mut endpoint.pod, pod),
        (&mut endpoint.namespace, namespace),
        (&mut endpoint.service, service),
        (&mut endpoint.node, node),
    ] {
        if field.is_none() {
            *field = value;
        }
    }
}

/// What `resolver` would add to `entry`, or `None` when it adds nothing (so a caller holding a
/// shared entry copies it only when names change it).
pub fn lookup(resolver: &dyn Resolver, entry: &Entry) -> Option<Fill> {
    let side = |e: &Endpoint| resolver.names(e.ip, e.port).filter(|n| adds(e, n));
    let fill = Fill { src: side(&entry.src), dst: side(&entry.dst) };
    (fill.src.is_some() || fill.dst.is_some()).then_some(fill)
}

impl Fill {
    /// Sets the fields of `entry`'s endpoints that are empty; names already there stay.
    pub fn apply_to(self, entry: &mut Entry) {
        if let Some(n) = self.src {
            fill(&mut entry.src, n);
        }
        if let Some(n) = self.dst {
            fill(&mut entry.dst, n);
        }
    }
}

/// Fills the empty name fields of `entry`'s source and destination from `resolver`; names already
/// there stay. True when something was filled.
pub fn apply(resolver: &dyn Resolver, entry: &mut Entry) -> bool {
    match lookup(resolver, entry) {
        Some(fill) => {
            fill.apply_to(entry);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests;
