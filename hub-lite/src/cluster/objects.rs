//! What the hub keeps of Kubernetes objects: small projections of pods, services, EndpointSlices
//! and nodes with only the fields that name addresses or decide the scope (a whole object with its
//! managed fields is kilobytes; these are a few dozen bytes). Pure functions, no I/O.

use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use std::net::IpAddr;

/// The label an EndpointSlice names its Service with.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// A pod, as far as naming its address and the tap's scope go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodInfo {
    pub name: String,
    pub namespace: String,
    pub node: Option<String>,
    /// The pod's addresses (`status.podIPs`, else `status.podIP`).
    pub ips: Vec<IpAddr>,
    /// A `hostNetwork` pod shares its node's addresses: they name the node, not the pod.
    pub host_network: bool,
    /// Being deleted (`deletionTimestamp` set).
    pub deleting: bool,
    /// `creationTimestamp` in seconds since the epoch (0 when absent): the newest of two pods
    /// claiming one address wins.
    pub created: i64,
}

/// A Service: its cluster IPs and ports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceInfo {
    pub name: String,
    pub namespace: String,
    /// `spec.clusterIPs` (none for headless and ExternalName services).
    pub cluster_ips: Vec<IpAddr>,
    pub ports: Vec<u16>,
}

/// An EndpointSlice: which addresses (and ports) back which Service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SliceInfo {
    pub namespace: String,
    pub service: String,
    pub ports: Vec<u16>,
    /// Every endpoint's addresses, ready or not (a name is harmless; a missing one is not).
    pub addresses: Vec<IpAddr>,
}

/// A node and its addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    pub name: String,
    pub addresses: Vec<IpAddr>,
}

fn ip(text: &str) -> Option<IpAddr> {
    text.trim().parse().ok()
}

fn port(p: i32) -> Option<u16> {
    u16::try_from(p).ok().filter(|p| *p != 0)
}

/// A pod that holds an address: not finished (a Succeeded or Failed pod keeps `podIP` in its
/// status although the address may already belong to another pod). `None` for pods without a name.
pub fn pod(p: &Pod) -> Option<PodInfo> {
    let name = p.metadata.name.clone()?;
    let namespace = p.metadata.namespace.clone().unwrap_or_default();
    let status = p.status.as_ref();
    let finished = matches!(status.and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed"));
    let mut ips: Vec<IpAddr> = Vec::new();
    if !finished {
        if let Some(s) = status {
            let listed = s.pod_ips.iter().flatten().filter_map(|a| ip(&a.ip));
            ips.extend(listed);
            if ips.is_empty() {
                ips.extend(s.pod_ip.as_deref().and_then(ip));
            }
        }
    }
    ips.dedup();
    let spec = p.spec.as_ref();
    Some(PodInfo {
        name,
        namespace,
        node: spec.and_then(|s| s.node_name.clone()).filter(|n| !n.is_empty()),
        ips,
        host_network: spec.and_then(|s| s.host_network).unwrap_or(false),
        deleting: p.metadata.deletion_timestamp.is_some(),
        created: p.metadata.creation_timestamp.as_ref().map(|t| t.0.as_second()).unwrap_or(0),
    })
}

/// A Service's cluster IPs and ports (`None` for a Service without a name).
pub fn service(s: &Service) -> Option<ServiceInfo> {
    let name = s.metadata.name.clone()?;
    let namespace = s.metadata.namespace.clone().unwrap_or_default();
    let spec = s.spec.as_ref();
    let mut texts: Vec<&str> =
        spec.and_then(|s| s.cluster_ips.as_ref()).into_iter().flatten().map(String::as_str).collect();
    if texts.is_empty() {
        texts.extend(spec.and_then(|s| s.cluster_ip.as_deref()));
    }
    // "None" (headless) and "" do not parse as addresses.
    let cluster_ips = texts.into_iter().filter_map(ip).collect();
    let ports = spec.and_then(|s| s.ports.as_ref()).into_iter().flatten().filter_map(|p| port(p.port)).collect();
    Some(ServiceInfo { name, namespace, cluster_ips, ports })
}

/// An EndpointSlice of a Service (`None` for slices without the service-name label, and FQDN
/// slices, whose addresses are names).
pub fn slice(s: &EndpointSlice) -> Option<SliceInfo> {
    if s.address_type == "FQDN" {
        return None;
    }
    let service = s.metadata.labels.as_ref()?.get(SERVICE_NAME_LABEL)?.clone();
    let namespace = s.metadata.namespace.clone().unwrap_or_default();
    let ports = s.ports.iter().flatten().filter_map(|p| p.port.and_then(port)).collect();
    let addresses = s.endpoints.iter().flat_map(|e| e.addresses.iter()).filter_map(|a| ip(a)).collect();
    Some(SliceInfo { namespace, service, ports, addresses })
}

/// A node's internal and external addresses (host names are left out).
pub fn node(n: &Node) -> Option<NodeInfo> {
    let name = n.metadata.name.clone()?;
    let addresses = n
        .status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .into_iter()
        .flatten()
        .filter(|a| a.type_ == "InternalIP" || a.type_ == "ExternalIP")
        .filter_map(|a| ip(&a.address))
        .collect();
    Some(NodeInfo { name, addresses })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn from<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).expect("a valid object")
    }

    #[test]
    fn a_running_pod_has_its_addresses_and_node() {
        let p: Pod = from(json!({
            "metadata": {"name": "web-0", "namespace": "shop", "creationTimestamp": "2024-01-02T03:04:05Z"},
            "spec": {"nodeName": "n1", "containers": []},
            "status": {"phase": "Running", "podIP": "10.1.0.5", "podIPs": [{"ip": "10.1.0.5"}, {"ip": "fd00::5"}]}
        }));
        let info = pod(&p).unwrap();
        assert_eq!(info.name, "web-0");
        assert_eq!(info.namespace, "shop");
        assert_eq!(info.node.as_deref(), Some("n1"));
        assert_eq!(info.ips, vec!["10.1.0.5".parse::<IpAddr>().unwrap(), "fd00::5".parse().unwrap()]);
        assert!(!info.host_network && !info.deleting);
        assert_eq!(info.created, 1_704_164_645);
    }

    #[test]
    fn a_finished_pod_holds_no_address_and_garbage_is_ignored() {
        let done: Pod = from(json!({
            "metadata": {"name": "job-1", "namespace": "a"},
            "status": {"phase": "Succeeded", "podIP": "10.1.0.9"}
        }));
        assert!(pod(&done).unwrap().ips.is_empty());
        let odd: Pod = from(json!({
            "metadata": {"name": "x", "namespace": "a"},
            "spec": {"hostNetwork": true, "nodeName": "", "containers": []},
            "status": {"phase": "Running", "podIP": "not-an-ip"}
        }));
        let info = pod(&odd).unwrap();
        assert!(info.ips.is_empty() && info.host_network && info.node.is_none());
        assert!(pod(&from::<Pod>(json!({"metadata": {}}))).is_none());
    }

    #[test]
    fn services_slices_and_nodes() {
        let s: Service = from(json!({
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "ports": [{"port": 80}, {"port": 443}]}
        }));
        let info = service(&s).unwrap();
        assert_eq!(info.cluster_ips, vec!["10.96.0.10".parse::<IpAddr>().unwrap()]);
        assert_eq!(info.ports, vec![80, 443]);
        let headless: Service =
            from(json!({"metadata": {"name": "h", "namespace": "a"}, "spec": {"clusterIP": "None"}}));
        assert!(service(&headless).unwrap().cluster_ips.is_empty());

        let es: EndpointSlice = from(json!({
            "metadata": {"name": "web-abc", "namespace": "shop", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "ports": [{"port": 8080}, {"port": null}],
            "endpoints": [{"addresses": ["10.1.0.5"]}, {"addresses": ["10.1.0.6", "bogus"]}]
        }));
        let info = slice(&es).unwrap();
        assert_eq!((info.service.as_str(), info.namespace.as_str()), ("web", "shop"));
        assert_eq!(info.ports, vec![8080]);
        assert_eq!(info.addresses.len(), 2);
        let unlabelled: EndpointSlice =
            from(json!({"metadata": {"name": "x", "namespace": "a"}, "addressType": "IPv4", "endpoints": []}));
        assert!(slice(&unlabelled).is_none());

        let n: Node = from(json!({
            "metadata": {"name": "n1"},
            "status": {"addresses": [{"type": "InternalIP", "address": "192.168.1.10"}, {"type": "Hostname", "address": "n1"}]}
        }));
        assert_eq!(node(&n).unwrap().addresses, vec!["192.168.1.10".parse::<IpAddr>().unwrap()]);
    }
}
