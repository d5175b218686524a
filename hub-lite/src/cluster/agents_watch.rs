//! Finds the session's node agents: the pods labelled `app.kubernetes.io/component=node-agent` in
//! the session namespace (DaemonSet `shark-agent`, docs/tap.md). A Running pod with an address
//! that is not being deleted is its node's agent (the newest, if a node briefly has two); the
//! hub connects to `ws://<pod IP>:<port>/link/v1` under the node's name, and disconnects when the
//! pod goes or is replaced (a new pod is a new agent run: its entry ids are new, nothing is
//! stored twice).

use super::cache::{self, Cache};
use super::control::Control;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::watcher;
use kube::{Api, Client};
use node_agent::link::protocol::LINK_PATH;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tokio::sync::Notify;

/// The label selector of agent pods.
pub const AGENT_SELECTOR: &str = "app.kubernetes.io/component=node-agent";

/// An agent pod that can be connected to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentPod {
    pub node: String,
    pub ip: IpAddr,
    pub created: i64,
}

/// The pod as an agent to connect to, if it is one now: Running, with an address and a node, not
/// being deleted.
pub fn agent_pod(p: &Pod) -> Option<AgentPod> {
    if p.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let status = p.status.as_ref()?;
    if status.phase.as_deref() != Some("Running") {
        return None;
    }
    let ip = status.pod_ip.as_deref()?.parse().ok()?;
    let node = p.spec.as_ref()?.node_name.clone().filter(|n| !n.is_empty())?;
    let created = p.metadata.creation_timestamp.as_ref().map(|t| t.0.as_second()).unwrap_or(0);
    Some(AgentPod { node, ip, created })
}

/// The link URL of an agent at `ip`.
pub fn url(ip: IpAddr, port: u16) -> String {
    format!("ws://{}{LINK_PATH}", SocketAddr::new(ip, port))
}

/// The agents to be connected to: node name → URL.
pub fn wanted(pods: &HashMap<String, AgentPod>, port: u16) -> BTreeMap<String, String> {
    let mut newest: BTreeMap<&str, &AgentPod> = BTreeMap::new();
    for p in pods.values() {
        newest
            .entry(&p.node)
            .and_modify(|n| {
                if (p.created, p.ip) > (n.created, n.ip) {
                    *n = p
                }
            })
            .or_insert(p);
    }
    newest.into_iter().map(|(node, p)| (node.to_string(), url(p.ip, port))).collect()
}

/// What to do to go from the agents `have` to `want`: names to remove (gone or moved to another
/// URL, which are then added again) and agents to add.
pub fn changes(
    have: &BTreeMap<String, String>,
    want: &BTreeMap<String, String>,
) -> (Vec<String>, Vec<(String, String)>) {
    let remove = have.iter().filter(|(n, u)| want.get(*n) != Some(u)).map(|(n, _)| n.clone()).collect();
    let add = want.iter().filter(|(n, u)| have.get(*n) != Some(u)).map(|(n, u)| (n.clone(), u.clone())).collect();
    (remove, add)
}

/// Watches the agent pods of `namespace` and keeps the hub connected to them; runs until dropped.
pub async fn run(client: Client, namespace: String, port: u16, control: Arc<Control>) {
    let pods = Arc::new(Cache::new("node-agent pods"));
    let changed = Arc::new(Notify::new());
    let api = Api::<Pod>::namespaced(client, &namespace);
    let config = watcher::Config::default().labels(AGENT_SELECTOR).any_semantic();
    let watch = tokio::spawn(cache::follow(api, config, Arc::clone(&pods), agent_pod, Arc::clone(&changed)));
    let _stop_watch = AbortOnDrop(watch);
    let mut have: BTreeMap<String, String> = BTreeMap::new();
    loop {
        changed.notified().await;
        let want = pods.read(|p| wanted(p, port));
        let (remove, add) = changes(&have, &want);
        for name in remove {
            eprintln!("hub-lite: node agent {name}: gone, disconnecting");
            control.remove_agent(&name);
            have.remove(&name);
        }
        for (name, url) in add {
            eprintln!("hub-lite: node agent {name}: connecting to {url}");
            match control.add_agent(&name, &url) {
                Ok(()) => {
                    have.insert(name, url);
                }
                Err(e) => eprintln!("hub-lite: node agent {name}: {e}"),
            }
        }
    }
}

/// Aborts a task when dropped (the watcher ends with the loop that reads it).
pub(crate) struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    fn agent(node: &str, ip: &str, created: i64) -> AgentPod {
        AgentPod { node: node.into(), ip: ip.parse().unwrap(), created }
    }

    #[test]
    fn only_running_pods_with_an_address_on_a_node_are_agents() {
        let running = pod(json!({
            "metadata": {"name": "shark-agent-x", "creationTimestamp": "2024-01-01T00:00:10Z"},
            "spec": {"nodeName": "n1", "containers": []},
            "status": {"phase": "Running", "podIP": "192.168.1.10"}
        }));
        assert_eq!(agent_pod(&running), Some(agent("n1", "192.168.1.10", 1_704_067_210)));
        let pending = pod(
            json!({"metadata": {"name": "a"}, "spec": {"nodeName": "n1", "containers": []}, "status": {"phase": "Pending"}}),
        );
        assert_eq!(agent_pod(&pending), None);
        let deleting = pod(json!({
            "metadata": {"name": "a", "deletionTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"nodeName": "n1", "containers": []},
            "status": {"phase": "Running", "podIP": "192.168.1.10"}
        }));
        assert_eq!(agent_pod(&deleting), None);
        let no_ip = pod(
            json!({"metadata": {"name": "a"}, "spec": {"nodeName": "n1", "containers": []}, "status": {"phase": "Running"}}),
        );
        assert_eq!(agent_pod(&no_ip), None);
    }

    #[test]
    fn one_agent_per_node_the_newest_and_replacements_reconnect() {
        let pods: HashMap<String, AgentPod> = [
            ("s/a".to_string(), agent("n1", "192.168.1.10", 5)),
            ("s/b".to_string(), agent("n1", "192.168.1.11", 9)),
            ("s/c".to_string(), agent("n2", "fd00::2", 1)),
        ]
        .into();
        let want = wanted(&pods, 9781);
        assert_eq!(
            want,
            BTreeMap::from([
                ("n1".to_string(), "ws://192.168.1.11:9781/link/v1".to_string()),
                ("n2".to_string(), "ws://[fd00::2]:9781/link/v1".to_string()),
            ])
        );
        let have = BTreeMap::from([
            ("n1".to_string(), "ws://192.168.1.10:9781/link/v1".to_string()),
            ("n2".to_string(), "ws://[fd00::2]:9781/link/v1".to_string()),
            ("n3".to_string(), "ws://192.168.1.12:9781/link/v1".to_string()),
        ]);
        let (remove, add) = changes(&have, &want);
        assert_eq!(remove, vec!["n1".to_string(), "n3".to_string()]);
        assert_eq!(add, vec![("n1".to_string(), "ws://192.168.1.11:9781/link/v1".to_string())]);
        assert_eq!(changes(&want, &want), (vec![], vec![]));
    }
}
