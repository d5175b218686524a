//! The service map, for `GET /api/v1/service-map` (docs/api.md): who talks to whom, per protocol,
//! with counts, error rates, latency percentiles and bytes.
//!
//! - A node is named by service when the resolver knows it (`namespace/service`, kind `service`),
//!   else by pod (`namespace/pod`, kind `pod`), else by address (kind `address`): `ip:port` for a
//!   server (`[v6]:port` for IPv6) and `ip` for a client, so the many ephemeral ports of a client
//!   make one node. Empty names count as unknown. Should a pod and a service share a name in a
//!   namespace, they are one node, whose kind is the most specific seen (service, then pod).
//! - An edge is one (source, target, protocol): the client's node, the server's node, the entry's
//!   protocol. `bytes` is request_size + response_size; `p50_us` and `p95_us` are nearest-rank
//!   percentiles of `elapsed_us` (see `stats`), null when no entry of the edge has one.
//! - An entry is an error when its `outcome` is a failure (a server error, an error of unknown
//!   fault, or no response: [`Outcome::is_failure`](node_agent::Outcome::is_failure)), as its
//!   protocol's dissector decided; client errors are the caller's and do not count. `error_rate`
//!   is errors / entries.
//! - `per_s` is the edge's entries per second over the map's window: from the first entry's start to
//!   the last entry's start among all the entries the map is made of (at least one second), so the
//!   rates of edges compare.
//! - `roles` counts an edge's entries by what the client did, where its protocol names roles (a
//!   broker's producers and consumers: `{"produce": 120, "consume": 80}`; see
//!   [`registry::role_of`](node_agent::dissect::registry::role_of)); empty for other protocols.
//! - Nodes are sorted by id and edges by (source, target, protocol), so the same entries always
//!   give the same map (and the dashboard a stable layout), whatever their order.

use crate::stats::nearest_rank;
use node_agent::{Endpoint, Entry};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServiceMap {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Node {
    pub id: String,
    /// The service or pod name, or the address.
    pub label: String,
    pub kind: NodeKind,
    pub namespace: Option<String>,
    /// Entries in which this node is the server.
    pub entries_in: u64,
    /// Entries in which this node is the client.
    pub entries_out: u64,
}

/// What a node stands for; ordered from least to most specific.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    Address,
    Pod,
    Service,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Edge {
    pub source: String,
    pub target: String,
    pub protocol: String,
    pub entries: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub p50_us: Option<u64>,
    pub p95_us: Option<u64>,
    pub bytes: u64,
    /// Entries per second over the map's window.
    pub per_s: f64,
    /// Entries by the client's role, for protocols with roles (producers and consumers of a broker).
    pub roles: BTreeMap<&'static str, u64>,
}

#[derive(Default)]
struct EdgeAcc {
    entries: u64,
    errors: u64,
    latencies: Vec<u64>,
    bytes: u64,
    roles: BTreeMap<&'static str, u64>,
}

/// The map's window in seconds: from the first to the last entry start, at least one second.
fn window_secs(entries: &[Arc<Entry>]) -> f64 {
    let starts = entries.iter().map(|e| e.ts.as_nanos());
    let (first, last) = starts.fold((u64::MAX, 0), |(lo, hi), t| (lo.min(t), hi.max(t)));
    (last.saturating_sub(first) as f64 / 1e9).max(1.0)
}

/// The service map of `entries`.
pub fn compute(entries: &[Arc<Entry>]) -> ServiceMap {
    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
    let mut edges: BTreeMap<(String, String, String), EdgeAcc> = BTreeMap::new();
    for e in entries {
        let source = upsert(&mut nodes, node_of(&e.src, false));
        let target = upsert(&mut nodes, node_of(&e.dst, true));
        if let Some(n) = nodes.get_mut(&source) {
            n.entries_out += 1;
        }
        if let Some(n) = nodes.get_mut(&target) {
            n.entries_in += 1;
        }
        let acc = edges.entry((source, target, e.protocol.clone())).or_default();
        acc.entries += 1;
        acc.errors += u64::from(is_error(e));
        acc.bytes = acc.bytes.saturating_add(e.request_size.saturating_add(e.response_size));
        acc.latencies.extend(e.elapsed_us);
        if let Some(role) = node_agent::dissect::registry::role_of(&e.protocol, &e.request) {
            *acc.roles.entry(role).or_default() += 1;
        }
    }
    let window = window_secs(entries);
    let edges = edges
        .into_iter()
        .map(|((source, target, protocol), mut acc)| {
            acc.latencies.sort_unstable();
            Edge {
                source,
                target,
                protocol,
                entries: acc.entries,
                errors: acc.errors,
                error_rate: acc.errors as f64 / acc.entries.max(1) as f64,
                p50_us: nearest_rank(&acc.latencies, 50),
                p95_us: nearest_rank(&acc.latencies, 95),
                bytes: acc.bytes,
                per_s: acc.entries as f64 / window,
                roles: acc.roles,
            }
        })
        .collect();
    ServiceMap { nodes: nodes.into_values().collect(), edges }
}

/// Whether an entry counts as an error (see the module doc).
pub fn is_error(e: &Entry) -> bool {
    e.outcome.is_failure()
}

/// The node an endpoint belongs to, with zero counts.
fn node_of(ep: &Endpoint, server: bool) -> Node {
    let known = |s: &Option<String>| s.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
    let namespace = known(&ep.namespace);
    let named = |kind: NodeKind, name: String| {
        let id = match &namespace {
            Some(ns) => format!("{ns}/{name}"),
            None => name.clone(),
        };
        Node { id, label: name, kind, namespace: namespace.clone(), entries_in: 0, entries_out: 0 }
    };
    if let Some(service) = known(&ep.service) {
        return named(NodeKind::Service, service);
    }
    if let Some(pod) = known(&ep.pod) {
        return named(NodeKind::Pod, pod);
    }
    let address = if server { SocketAddr::new(ep.ip, ep.port).to_string() } else { ep.ip.to_string() };
    Node { id: address.clone(), label: address, kind: NodeKind::Address, namespace, entries_in: 0, entries_out: 0 }
}

/// Adds `node` unless its id is there; a more specific kind replaces a less specific one. Returns the id.
fn upsert(nodes: &mut BTreeMap<String, Node>, node: Node) -> String {
    let id = node.id.clone();
    match nodes.get_mut(&id) {
        Some(old) if node.kind > old.kind => {
            old.kind = node.kind;
            old.label = node.label;
            old.namespace = node.namespace;
        }
        Some(_) => {}
        None => {
            nodes.insert(id.clone(), node);
        }
    }
    id
}

#[cfg(test)]
mod tests;
