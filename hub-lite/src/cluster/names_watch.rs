//! Names of the cluster's addresses, from watches of pods, services, EndpointSlices and nodes in
//! every namespace (so that the peer of a pod in scope is named too, whatever its namespace):
//!
//! | key | names |
//! |---|---|
//! | a pod's IP (not `hostNetwork`) | `pod`, `namespace`, `node`; `service` when exactly one Service's EndpointSlices list the address |
//! | a node's IP (also every `hostNetwork` pod's) | `node` |
//! | an EndpointSlice address and port | `service`, `namespace` |
//! | a Service ClusterIP and port | `service`, `namespace` |
//!
//! A lookup by address and port fills first and the address alone fills the rest
//! (`node_agent::resolve`), so a client that spoke to `10.96.0.10:80` gets `dst.service`, and the
//! server pod it reached gets `pod`, `node` and, on the Service's port, `service`.
//!
//! [`World`] keeps the objects; [`name_table`] computes the whole table from them (pure); the
//! hub's loop ([`super::run`]) sends the difference to the last table it pushed ([`diff`]).

use super::cache::{self, Cache};
use super::objects::{self, NodeInfo, PodInfo, ServiceInfo, SliceInfo};
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::watcher;
use kube::{Api, Client};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub use node_agent::resolve::{NameKey, Names};

/// Most records in a computed table (the agents' tables hold at most a million).
pub const MAX_RECORDS: usize = 1_000_000;

/// The watched objects of the whole cluster.
pub struct World {
    pub pods: Arc<Cache<PodInfo>>,
    pub services: Arc<Cache<ServiceInfo>>,
    pub slices: Arc<Cache<SliceInfo>>,
    pub nodes: Arc<Cache<NodeInfo>>,
    /// Woken on every change of any of them.
    pub changed: Arc<Notify>,
}

impl World {
    /// Empty caches (filled by [`World::watch`]).
    pub fn new() -> World {
        World {
            pods: Arc::new(Cache::new("pods")),
            services: Arc::new(Cache::new("services")),
            slices: Arc::new(Cache::new("endpointslices")),
            nodes: Arc::new(Cache::new("nodes")),
            changed: Arc::new(Notify::new()),
        }
    }

    /// Starts one watcher per kind, over all namespaces; abort the handles to stop them.
    pub fn watch(&self, client: &Client) -> Vec<JoinHandle<()>> {
        let config = || watcher::Config::default().any_semantic();
        vec![
            tokio::spawn(cache::follow(
                Api::<Pod>::all(client.clone()),
                config(),
                Arc::clone(&self.pods),
                objects::pod,
                Arc::clone(&self.changed),
            )),
            tokio::spawn(cache::follow(
                Api::<Service>::all(client.clone()),
                config(),
                Arc::clone(&self.services),
                objects::service,
                Arc::clone(&self.changed),
            )),
            tokio::spawn(cache::follow(
                Api::<EndpointSlice>::all(client.clone()),
                config(),
                Arc::clone(&self.slices),
                objects::slice,
                Arc::clone(&self.changed),
            )),
            tokio::spawn(cache::follow(
                Api::<Node>::all(client.clone()),
                config(),
                Arc::clone(&self.nodes),
                objects::node,
                Arc::clone(&self.changed),
            )),
        ]
    }

    /// Whether every kind has been listed completely once.
    pub fn synced(&self) -> bool {
        self.pods.synced() && self.services.synced() && self.slices.synced() && self.nodes.synced()
    }

    /// The name table of the objects now.
    pub fn name_table(&self) -> BTreeMap<NameKey, Names> {
        self.pods.read(|pods| {
            self.services.read(|services| {
                self.slices.read(|slices| self.nodes.read(|nodes| name_table(pods, services, slices, nodes)))
            })
        })
    }
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

/// Of several pods claiming one address, the one that holds it: not being deleted, then the
/// newest, then by name (deterministic).
fn holder<'a>(a: &'a PodInfo, b: &'a PodInfo) -> &'a PodInfo {
    let rank = |p: &PodInfo| (!p.deleting, p.created, std::cmp::Reverse((p.namespace.clone(), p.name.clone())));
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// The whole name table of these objects (see the module documentation), at most
/// [`MAX_RECORDS`] records (addresses first, then address-and-port records, in address order).
pub fn name_table(
    pods: &HashMap<String, PodInfo>,
    services: &HashMap<String, ServiceInfo>,
    slices: &HashMap<String, SliceInfo>,
    nodes: &HashMap<String, NodeInfo>,
) -> BTreeMap<NameKey, Names> {
    let mut by_ip: BTreeMap<IpAddr, Names> = BTreeMap::new();
    for n in nodes.values() {
        for ip in &n.addresses {
            by_ip.insert(*ip, Names { node: Some(n.name.clone()), ..Names::default() });
        }
    }
    let mut holders: HashMap<IpAddr, &PodInfo> = HashMap::new();
    for p in pods.values().filter(|p| !p.host_network) {
        for ip in &p.ips {
            holders.entry(*ip).and_modify(|h| *h = holder(h, p)).or_insert(p);
        }
    }
    for (ip, p) in &holders {
        let names = Names {
            pod: Some(p.name.clone()),
            namespace: Some(p.namespace.clone()),
            service: None,
            node: p.node.clone(),
        };
        by_ip.insert(*ip, names);
    }
    // Services behind each address, and the address-and-port records of EndpointSlices.
    let mut services_of: HashMap<IpAddr, BTreeSet<(&str, &str)>> = HashMap::new();
    let mut by_addr: BTreeMap<(IpAddr, u16), Names> = BTreeMap::new();
    let service_names = |namespace: &str, service: &str| Names {
        namespace: Some(namespace.to_string()),
        service: Some(service.to_string()),
        ..Names::default()
    };
    // In key order, so that an address two services claim on one port is named the same way each time.
    let mut slices: Vec<(&String, &SliceInfo)> = slices.iter().collect();
    slices.sort_by_key(|(k, _)| *k);
    for (_, s) in slices {
        for ip in &s.addresses {
            services_of.entry(*ip).or_default().insert((&s.namespace, &s.service));
            for port in &s.ports {
                by_addr.entry((*ip, *port)).or_insert_with(|| service_names(&s.namespace, &s.service));
            }
        }
    }
    for (ip, names) in by_ip.iter_mut() {
        if names.pod.is_none() {
            continue;
        }
        if let Some(set) = services_of.get(ip).filter(|s| s.len() == 1) {
            names.service = set.first().map(|(_, service)| service.to_string());
        }
    }
    let mut services: Vec<(&String, &ServiceInfo)> = services.iter().collect();
    services.sort_by_key(|(k, _)| *k);
    for (_, s) in services {
        for ip in &s.cluster_ips {
            for port in &s.ports {
                by_addr.insert((*ip, *port), service_names(&s.namespace, &s.name));
            }
        }
    }
    let ips = by_ip.into_iter().map(|(ip, n)| (NameKey::ip(ip), n));
    let addrs = by_addr.into_iter().map(|((ip, port), n)| (NameKey::addr(ip, port), n));
    ips.chain(addrs).take(MAX_RECORDS).collect()
}

/// What turns table `old` into `new`: the records to set (new or changed) and the keys to remove.
pub fn diff(old: &BTreeMap<NameKey, Names>, new: &BTreeMap<NameKey, Names>) -> (Vec<(NameKey, Names)>, Vec<NameKey>) {
    let set = new.iter().filter(|(k, v)| old.get(k) != Some(v)).map(|(k, v)| (*k, v.clone())).collect();
    let remove = old.keys().filter(|k| !new.contains_key(k)).copied().collect();
    (set, remove)
}

#[cfg(test)]
mod tests;
