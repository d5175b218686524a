//! The tap's scope (`--scope-regex`, `--scope-namespace`, `--all-namespaces`,
//! `--exclude-namespace`: pods whose names match a regex in some namespaces, or in all but some)
//! and the capture scope it gives the agents: the addresses of the pods in scope now, recomputed
//! as pods come and go, so pods created after the start are captured too.
//!
//! The capture scope also lists addresses to leave out whatever the other end: the ClusterIPs of
//! Services whose every endpoint is a pod's own address. kube-proxy rewrites (DNAT) a packet to such
//! a ClusterIP into one to a pod, and the agents, capturing on every interface, see the exchange
//! twice: on the client's side addressed to the ClusterIP, after DNAT addressed to the pod. The
//! second copy names both pods, and through the Service's EndpointSlice the Service too, so the
//! first is left out (docs/tap.md, "One exchange, one entry"). A Service with an endpoint on a
//! node address (a `hostNetwork` backend, e.g. the API server) is kept: traffic delivered to the
//! node itself after DNAT crosses no further interface, and the ClusterIP copy is the only one.

use super::objects::{NodeInfo, PodInfo, ServiceInfo, SliceInfo};
use regex::Regex;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

/// Which namespaces are in scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Namespaces {
    Only(BTreeSet<String>),
    All { exclude: BTreeSet<String> },
}

#[derive(Debug, thiserror::Error)]
pub enum ScopeError {
    #[error("--scope-regex {pattern:?} is not a regular expression: {source}")]
    Regex { pattern: String, source: Box<regex::Error> },
    #[error("the scope has no namespace: give --scope-namespace NS or --all-namespaces")]
    NoNamespace,
    #[error("--all-namespaces and --scope-namespace exclude each other")]
    AllAndSome,
    #[error("--exclude-namespace needs --all-namespaces")]
    ExcludeWithoutAll,
}

/// Pods whose names match `regex` (unanchored, as the CLI's POD_REGEX) in some namespaces.
/// Session namespaces (`shark-` and six letters or digits) are never in scope.
#[derive(Clone, Debug)]
pub struct TapScope {
    regex: Regex,
    namespaces: Namespaces,
}

/// Whether `namespace` is a session's (`shark-xxxxxx`).
pub fn is_session_namespace(namespace: &str) -> bool {
    namespace
        .strip_prefix("shark-")
        .is_some_and(|id| id.len() == 6 && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

impl TapScope {
    pub fn new(pattern: &str, namespaces: &[String], all: bool, exclude: &[String]) -> Result<TapScope, ScopeError> {
        let regex =
            Regex::new(pattern).map_err(|e| ScopeError::Regex { pattern: pattern.to_string(), source: Box::new(e) })?;
        let namespaces = match (all, namespaces.is_empty(), exclude.is_empty()) {
            (true, false, _) => return Err(ScopeError::AllAndSome),
            (false, _, false) => return Err(ScopeError::ExcludeWithoutAll),
            (false, true, true) => return Err(ScopeError::NoNamespace),
            (true, true, _) => Namespaces::All { exclude: exclude.iter().cloned().collect() },
            (false, false, true) => Namespaces::Only(namespaces.iter().cloned().collect()),
        };
        Ok(TapScope { regex, namespaces })
    }

    /// Whether pod `name` in `namespace` is in scope.
    pub fn matches(&self, namespace: &str, name: &str) -> bool {
        let namespace_in = match &self.namespaces {
            Namespaces::Only(list) => list.contains(namespace),
            Namespaces::All { exclude } => !exclude.contains(namespace),
        };
        namespace_in && !is_session_namespace(namespace) && self.regex.is_match(name)
    }

    /// A one-line description for logs.
    pub fn describe(&self) -> String {
        match &self.namespaces {
            Namespaces::Only(list) => format!("pods matching {:?} in {}", self.regex.as_str(), join(list)),
            Namespaces::All { exclude } if exclude.is_empty() => {
                format!("pods matching {:?} in all namespaces", self.regex.as_str())
            }
            Namespaces::All { exclude } => {
                format!("pods matching {:?} in all namespaces but {}", self.regex.as_str(), join(exclude))
            }
        }
    }
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// What the agents capture: packets from or to one of `addresses`, except packets from or to one
/// of `exclude`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capture {
    pub addresses: BTreeSet<IpAddr>,
    pub exclude: BTreeSet<IpAddr>,
}

/// The capture scope of `scope` over these objects (see the module documentation). Pods on the
/// host network are left out: their address is the node's, and would take in all its traffic.
pub fn capture(
    scope: &TapScope,
    pods: &HashMap<String, PodInfo>,
    services: &HashMap<String, ServiceInfo>,
    slices: &HashMap<String, SliceInfo>,
    nodes: &HashMap<String, NodeInfo>,
) -> Capture {
    let addresses = pods
        .values()
        .filter(|p| !p.host_network && !p.ips.is_empty() && scope.matches(&p.namespace, &p.name))
        .flat_map(|p| p.ips.iter().copied())
        .collect();
    let node_addresses: HashSet<IpAddr> = nodes.values().flat_map(|n| n.addresses.iter().copied()).collect();
    let host_pod_addresses: HashSet<IpAddr> =
        pods.values().filter(|p| p.host_network).flat_map(|p| p.ips.iter().copied()).collect();
    // Per service: has it endpoints, and are they all pods' own addresses?
    let mut backed: HashMap<(&str, &str), bool> = HashMap::new();
    for s in slices.values() {
        let pods_only = s.addresses.iter().all(|a| !node_addresses.contains(a) && !host_pod_addresses.contains(a));
        let entry = backed.entry((s.namespace.as_str(), s.service.as_str())).or_insert(true);
        *entry = *entry && pods_only;
    }
    let has_endpoints: HashSet<(&str, &str)> = slices
        .values()
        .filter(|s| !s.addresses.is_empty())
        .map(|s| (s.namespace.as_str(), s.service.as_str()))
        .collect();
    let exclude = services
        .values()
        .filter(|s| {
            let key = (s.namespace.as_str(), s.name.as_str());
            has_endpoints.contains(&key) && backed.get(&key).copied().unwrap_or(false)
        })
        .flat_map(|s| s.cluster_ips.iter().copied())
        .collect();
    Capture { addresses, exclude }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn pod(ns: &str, name: &str, addr: &str) -> (String, PodInfo) {
        let info = PodInfo {
            name: name.into(),
            namespace: ns.into(),
            node: Some("n1".into()),
            ips: vec![ip(addr)],
            host_network: false,
            deleting: false,
            created: 1,
        };
        (format!("{ns}/{name}"), info)
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn scopes_select_by_regex_and_namespace_and_never_a_session() {
        let s = TapScope::new("server|client", &strings(&["test"]), false, &[]).unwrap();
        assert!(s.matches("test", "server-7d9f") && s.matches("test", "my-client"));
        assert!(!s.matches("test", "db-0") && !s.matches("other", "server"));
        let all = TapScope::new("^web-", &[], true, &strings(&["kube-system"])).unwrap();
        assert!(all.matches("a", "web-1") && all.matches("b", "web-2"));
        assert!(!all.matches("kube-system", "web-1") && !all.matches("a", "xweb-1"));
        assert!(!all.matches("shark-ab12cd", "web-1"), "session namespaces are never in scope");
        assert!(all.matches("shark-toolong1", "web-1"), "only shark- and six characters is a session");
        assert!(matches!(TapScope::new("(", &strings(&["a"]), false, &[]), Err(ScopeError::Regex { .. })));
        assert!(matches!(TapScope::new(".*", &[], false, &[]), Err(ScopeError::NoNamespace)));
        assert!(matches!(TapScope::new(".*", &strings(&["a"]), true, &[]), Err(ScopeError::AllAndSome)));
        assert!(matches!(
            TapScope::new(".*", &strings(&["a"]), false, &strings(&["b"])),
            Err(ScopeError::ExcludeWithoutAll)
        ));
    }

    #[test]
    fn the_capture_holds_the_pods_in_scope_and_pod_backed_cluster_ips_are_left_out() {
        let mut host = pod("test", "server-host", "192.168.1.10").1;
        host.host_network = true;
        let pods: HashMap<String, PodInfo> = [
            pod("test", "server-1", "10.1.0.6"),
            pod("test", "client", "10.1.0.7"),
            pod("test", "db", "10.1.0.8"),
            pod("other", "server-9", "10.1.0.9"),
            ("test/server-host".to_string(), host),
        ]
        .into_iter()
        .collect();
        let service = |ns: &str, name: &str, cip: &str| {
            let info =
                ServiceInfo { name: name.into(), namespace: ns.into(), cluster_ips: vec![ip(cip)], ports: vec![80] };
            (format!("{ns}/{name}"), info)
        };
        let services: HashMap<String, ServiceInfo> = [
            service("test", "web", "10.96.0.10"),
            service("default", "kubernetes", "10.96.0.1"),
            service("test", "empty", "10.96.0.11"),
            service("test", "mixed", "10.96.0.12"),
        ]
        .into_iter()
        .collect();
        let slice = |ns: &str, svc: &str, addrs: &[&str]| SliceInfo {
            namespace: ns.into(),
            service: svc.into(),
            ports: vec![8080],
            addresses: addrs.iter().map(|a| ip(a)).collect(),
        };
        let slices: HashMap<String, SliceInfo> = [
            ("test/web-a".to_string(), slice("test", "web", &["10.1.0.6"])),
            ("test/web-b".to_string(), slice("test", "web", &[])),
            ("default/kubernetes".to_string(), slice("default", "kubernetes", &["192.168.1.10"])),
            ("test/empty".to_string(), slice("test", "empty", &[])),
            ("test/mixed-a".to_string(), slice("test", "mixed", &["10.1.0.8"])),
            ("test/mixed-b".to_string(), slice("test", "mixed", &["192.168.1.10"])),
        ]
        .into_iter()
        .collect();
        let nodes: HashMap<String, NodeInfo> =
            [("/n1".to_string(), NodeInfo { name: "n1".into(), addresses: vec![ip("192.168.1.10")] })].into();
        let scope = TapScope::new("server|client", &strings(&["test"]), false, &[]).unwrap();
        let got = capture(&scope, &pods, &services, &slices, &nodes);
        assert_eq!(got.addresses, [ip("10.1.0.6"), ip("10.1.0.7")].into_iter().collect());
        assert_eq!(got.exclude, [ip("10.96.0.10")].into_iter().collect(), "only the service backed by pods alone");
        // A pod created later is in scope as soon as it has an address.
        let mut more = pods.clone();
        more.extend([pod("test", "client-2", "10.1.0.20")]);
        assert!(capture(&scope, &more, &services, &slices, &nodes).addresses.contains(&ip("10.1.0.20")));
    }
}
