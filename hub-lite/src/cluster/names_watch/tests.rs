use super::*;
use node_agent::resolve::{NameTable, Resolver};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn pod(ns: &str, name: &str, node: &str, addr: &str) -> PodInfo {
    PodInfo {
        name: name.into(),
        namespace: ns.into(),
        node: Some(node.into()),
        ips: vec![ip(addr)],
        host_network: false,
        deleting: false,
        created: 100,
    }
}

fn keyed<T>(items: Vec<(&str, T)>) -> HashMap<String, T> {
    items.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn names(pod: Option<&str>, ns: Option<&str>, service: Option<&str>, node: Option<&str>) -> Names {
    let s = |v: Option<&str>| v.map(str::to_string);
    Names { pod: s(pod), namespace: s(ns), service: s(service), node: s(node) }
}

type Objects =
    (HashMap<String, PodInfo>, HashMap<String, ServiceInfo>, HashMap<String, SliceInfo>, HashMap<String, NodeInfo>);

/// A node, a client and a server pod, a Service `web` (ClusterIP 10.96.0.10:80 → 8080) backed by the
/// server, an agent on the host network, and the API server behind the `kubernetes` Service.
fn cluster() -> Objects {
    let mut agent = pod("shark-abc123", "shark-agent-x", "n1", "192.168.1.10");
    agent.host_network = true;
    let pods = keyed(vec![
        ("t/client", pod("t", "client", "n1", "10.1.0.7")),
        ("t/server-1", pod("t", "server-1", "n1", "10.1.0.6")),
        ("shark-abc123/shark-agent-x", agent),
    ]);
    let services = keyed(vec![
        (
            "t/web",
            ServiceInfo {
                name: "web".into(),
                namespace: "t".into(),
                cluster_ips: vec![ip("10.96.0.10")],
                ports: vec![80],
            },
        ),
        (
            "default/kubernetes",
            ServiceInfo {
                name: "kubernetes".into(),
                namespace: "default".into(),
                cluster_ips: vec![ip("10.96.0.1")],
                ports: vec![443],
            },
        ),
    ]);
    let slices = keyed(vec![
        (
            "t/web-x1",
            SliceInfo {
                namespace: "t".into(),
                service: "web".into(),
                ports: vec![8080],
                addresses: vec![ip("10.1.0.6")],
            },
        ),
        (
            "default/kubernetes",
            SliceInfo {
                namespace: "default".into(),
                service: "kubernetes".into(),
                ports: vec![6443],
                addresses: vec![ip("192.168.1.10")],
            },
        ),
    ]);
    let nodes = keyed(vec![("/n1", NodeInfo { name: "n1".into(), addresses: vec![ip("192.168.1.10")] })]);
    (pods, services, slices, nodes)
}

#[test]
fn pods_services_and_nodes_are_named_by_address_and_port() {
    let (pods, services, slices, nodes) = cluster();
    let table = name_table(&pods, &services, &slices, &nodes);
    let want: BTreeMap<NameKey, Names> = [
        (NameKey::ip(ip("10.1.0.6")), names(Some("server-1"), Some("t"), Some("web"), Some("n1"))),
        (NameKey::ip(ip("10.1.0.7")), names(Some("client"), Some("t"), None, Some("n1"))),
        (NameKey::ip(ip("192.168.1.10")), names(None, None, None, Some("n1"))),
        (NameKey::addr(ip("10.1.0.6"), 8080), names(None, Some("t"), Some("web"), None)),
        (NameKey::addr(ip("10.96.0.1"), 443), names(None, Some("default"), Some("kubernetes"), None)),
        (NameKey::addr(ip("10.96.0.10"), 80), names(None, Some("t"), Some("web"), None)),
        (NameKey::addr(ip("192.168.1.10"), 6443), names(None, Some("default"), Some("kubernetes"), None)),
    ]
    .into_iter()
    .collect();
    assert_eq!(table, want);
}

#[test]
fn an_agents_table_resolves_clusterip_and_pod_endpoints() {
    // The table as the agents hold it (node_agent::resolve), looked up as entries are.
    let (pods, services, slices, nodes) = cluster();
    let agent = NameTable::new();
    agent.replace_all(name_table(&pods, &services, &slices, &nodes).into_iter().collect()).unwrap();
    assert_eq!(agent.names(ip("10.96.0.10"), 80), Some(names(None, Some("t"), Some("web"), None)));
    assert_eq!(agent.names(ip("10.96.0.10"), 81), None, "a ClusterIP names its ports only");
    assert_eq!(agent.names(ip("10.1.0.6"), 8080), Some(names(Some("server-1"), Some("t"), Some("web"), Some("n1"))));
    assert_eq!(agent.names(ip("10.1.0.7"), 41234), Some(names(Some("client"), Some("t"), None, Some("n1"))));
    assert_eq!(
        agent.names(ip("192.168.1.10"), 6443),
        Some(names(None, Some("default"), Some("kubernetes"), Some("n1"))),
        "a host-network backend: the node, and the service on its port"
    );
}

#[test]
fn an_address_of_two_services_names_each_on_its_port_and_conflicts_are_settled() {
    let (mut pods, services, mut slices, nodes) = cluster();
    slices.insert(
        "t/admin-1".into(),
        SliceInfo {
            namespace: "t".into(),
            service: "admin".into(),
            ports: vec![9090],
            addresses: vec![ip("10.1.0.6")],
        },
    );
    // A pod being deleted whose address was given to a new one, and a finished pod's stale address.
    let mut old = pod("t", "old", "n1", "10.1.0.7");
    old.deleting = true;
    old.created = 500;
    pods.insert("t/old".into(), old);
    let table = name_table(&pods, &services, &slices, &nodes);
    assert_eq!(table[&NameKey::ip(ip("10.1.0.6"))].service, None, "two services: none by address alone");
    assert_eq!(table[&NameKey::addr(ip("10.1.0.6"), 9090)].service.as_deref(), Some("admin"));
    assert_eq!(table[&NameKey::addr(ip("10.1.0.6"), 8080)].service.as_deref(), Some("web"));
    assert_eq!(table[&NameKey::ip(ip("10.1.0.7"))].pod.as_deref(), Some("client"), "the pod not being deleted");
}

#[test]
fn a_diff_turns_the_old_table_into_the_new_one() {
    let (pods, services, slices, nodes) = cluster();
    let old = name_table(&pods, &services, &slices, &nodes);
    let (mut pods2, mut services2, slices2, nodes2) = cluster();
    pods2.remove("t/client");
    pods2.insert("t/client-2".into(), pod("t", "client-2", "n1", "10.1.0.9"));
    services2.remove("default/kubernetes");
    let new = name_table(&pods2, &services2, &slices2, &nodes2);
    let (set, remove) = diff(&old, &new);
    assert_eq!(set, vec![(NameKey::ip(ip("10.1.0.9")), names(Some("client-2"), Some("t"), None, Some("n1")))]);
    assert_eq!(remove, vec![NameKey::ip(ip("10.1.0.7")), NameKey::addr(ip("10.96.0.1"), 443)]);
    // Applied to a real table, the result equals the new table.
    let agent = NameTable::new();
    agent.replace_all(old.clone().into_iter().collect()).unwrap();
    agent.update(set, &remove).unwrap();
    let got: BTreeMap<NameKey, Names> = agent.snapshot().into_iter().map(|(k, n)| (k, Names::clone(&n))).collect();
    assert_eq!(got, new);
    assert_eq!(diff(&new, &new), (vec![], vec![]));
}
