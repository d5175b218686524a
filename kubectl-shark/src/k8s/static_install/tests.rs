//! The static rendering, read back as data (serde_json values from the YAML documents).

use super::*;
use crate::k8s::manifest::Resources;
use crate::k8s::scope::Scope;
use serde_json::Value;

fn plan() -> Plan {
    Plan {
        id: crate::k8s::names::SessionId::parse(DEFAULT_SESSION).expect("the default session is an id"),
        scope: Scope::new(None, &[], true, &[], "default").expect("scope"),
        image: "ghcr.io/kubectl-shark/kubectl-shark:9.9.9".into(),
        pull_policy: "IfNotPresent".into(),
        storage_limit: 200_000_000,
        max_entries: 100_000,
        orphan_timeout_secs: 0,
        agent_resources: Resources {
            cpu_request: "100m".into(),
            cpu_limit: "1".into(),
            memory_request: "128Mi".into(),
            memory_limit: "256Mi".into(),
        },
        no_redact: false,
        protocols: None,
        created_by: CREATED_BY.into(),
        holder: String::new(),
        agent_port: 9980,
        extra_hub_args: Vec::new(),
        image_pull_secrets: vec!["regcred".into()],
    }
}

fn docs() -> Vec<Value> {
    documents(&plan())
        .expect("renders")
        .iter()
        .map(|d| serde_saphyr::from_str::<Value>(d).expect("each document is YAML"))
        .collect()
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[test]
fn the_rendering_is_the_same_every_time() {
    let a = yaml(&plan(), "kubectl shark manifests").expect("yaml");
    let b = yaml(&plan(), "kubectl shark manifests").expect("yaml");
    assert_eq!(a, b);
    assert!(a.starts_with("# kubectl-shark "), "{a}");
    assert_eq!(a.matches("\n---\n").count(), docs().len());
}

#[test]
fn every_object_carries_the_session_labels_and_none_uses_tap_s_secret() {
    let docs = docs();
    assert_eq!(docs.len(), 14, "namespace, 2 token accounts, 2 token secrets, 2 accounts, 4 RBAC, lease, hub, agents");
    for d in &docs {
        let labels = &d["metadata"]["labels"];
        assert_eq!(labels["app.kubernetes.io/managed-by"], "kubectl-shark", "{d}");
        assert_eq!(labels["kubectl-shark.io/session"], "static", "{d}");
        assert!(!d.to_string().contains(names::SECRET), "{d}");
    }
    assert_eq!(docs[0]["kind"], "Namespace");
    assert_eq!(docs[0]["metadata"]["name"], "shark-static");
}

#[test]
fn token_secrets_are_filled_by_kubernetes_for_their_own_accounts_after_them() {
    let docs = docs();
    for name in [DASHBOARD_TOKEN_SECRET, AGENT_TOKEN_SECRET] {
        let secret = find(&docs, "Secret", name);
        assert_eq!(secret["type"], "kubernetes.io/service-account-token");
        assert_eq!(secret["metadata"]["annotations"]["kubernetes.io/service-account.name"], name);
        assert!(secret.get("data").is_none() && secret.get("stringData").is_none(), "no token in the file");
        let account_at = docs.iter().position(|d| d["kind"] == "ServiceAccount" && d["metadata"]["name"] == name);
        let secret_at = docs.iter().position(|d| d["kind"] == "Secret" && d["metadata"]["name"] == name);
        assert!(account_at < secret_at, "the account is applied first");
        // No role is bound to the token accounts.
        for binding in docs.iter().filter(|d| d["kind"].as_str().is_some_and(|k| k.ends_with("Binding"))) {
            assert!(!binding["subjects"].to_string().contains(name), "{binding}");
        }
    }
}

#[test]
fn the_hub_mounts_both_tokens_and_the_agents_only_theirs_at_tap_s_paths() {
    let docs = docs();
    let volume = |kind: &str, name: &str| {
        let spec = &find(&docs, kind, name)["spec"]["template"]["spec"];
        let tokens = spec["volumes"].as_array().expect("volumes").iter().find(|v| v["name"] == "tokens").cloned();
        (tokens.expect("tokens volume"), spec["imagePullSecrets"].clone())
    };
    let (hub, hub_pull) = volume("Deployment", names::HUB);
    let sources = hub["projected"]["sources"].as_array().expect("sources");
    let pairs: Vec<(String, String)> = sources
        .iter()
        .map(|s| {
            (
                s["secret"]["name"].as_str().unwrap_or_default().to_string(),
                s["secret"]["items"][0]["path"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        vec![
            (DASHBOARD_TOKEN_SECRET.into(), names::SECRET_DASHBOARD_KEY.into()),
            (AGENT_TOKEN_SECRET.into(), names::SECRET_AGENT_KEY.into())
        ]
    );
    let (agent, agent_pull) = volume("DaemonSet", names::AGENT);
    assert_eq!(agent["projected"]["sources"].as_array().map(Vec::len), Some(1));
    assert_eq!(agent["projected"]["sources"][0]["secret"]["name"], AGENT_TOKEN_SECRET);
    assert_eq!(hub_pull, serde_json::json!([{"name": "regcred"}]));
    assert_eq!(agent_pull, hub_pull);
}

#[test]
fn the_install_is_persistent_and_its_lease_unheld() {
    let docs = docs();
    let ns = &docs[0]["metadata"]["annotations"];
    assert_eq!(ns[names::ANN_ORPHAN_TIMEOUT], "0");
    assert_eq!(ns[names::ANN_CREATED_BY], CREATED_BY);
    assert_eq!(ns[names::ANN_AGENT_PORT], "9980");
    let lease = find(&docs, "Lease", names::LEASE);
    assert!(lease["spec"].as_object().is_some_and(|s| s.is_empty()), "{lease}");
    let role = find(&docs, "ClusterRole", "shark-static-hub");
    assert!(role["metadata"].get("ownerReferences").is_none());
}
