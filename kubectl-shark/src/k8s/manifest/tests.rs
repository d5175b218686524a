//! The rendered objects, looked at as the API server receives them (serde JSON).

use super::*;
use serde_json::{json, Value};

fn plan(scope: Scope) -> Plan {
    Plan {
        id: SessionId::parse("ab12cd").expect("id"),
        scope,
        image: "ghcr.io/kubectl-shark/kubectl-shark:9.9.9".into(),
        pull_policy: "IfNotPresent".into(),
        storage_limit: 200_000_000,
        max_entries: 5000,
        orphan_timeout_secs: 120,
        agent_resources: Resources {
            cpu_request: "100m".into(),
            cpu_limit: "1".into(),
            memory_request: "128Mi".into(),
            memory_limit: "256Mi".into(),
        },
        no_redact: false,
        protocols: None,
        created_by: "alice".into(),
        holder: "alice@laptop/42".into(),
        agent_port: 9811,
        extra_hub_args: Vec::new(),
        image_pull_secrets: Vec::new(),
    }
}

fn tokens() -> Tokens {
    Tokens { dashboard: "dash-token".into(), agent: "agent-token-value".into() }
}

fn scope_test() -> Scope {
    Scope::new(Some("server|client"), &["test".to_string()], false, &[], "default").expect("scope")
}

fn all(objects: &Objects) -> Vec<(String, Value)> {
    let to = |v: Result<Value, serde_json::Error>| v.expect("serializes");
    vec![
        ("Namespace".into(), to(serde_json::to_value(&objects.namespace))),
        ("Secret".into(), to(serde_json::to_value(&objects.secret))),
        ("ServiceAccount".into(), to(serde_json::to_value(&objects.hub_account))),
        ("ServiceAccount".into(), to(serde_json::to_value(&objects.agent_account))),
        ("ClusterRole".into(), to(serde_json::to_value(&objects.cluster_role))),
        ("ClusterRoleBinding".into(), to(serde_json::to_value(&objects.cluster_role_binding))),
        ("Role".into(), to(serde_json::to_value(&objects.role))),
        ("RoleBinding".into(), to(serde_json::to_value(&objects.role_binding))),
        ("Lease".into(), to(serde_json::to_value(&objects.lease))),
        ("Deployment".into(), to(serde_json::to_value(&objects.hub))),
        ("DaemonSet".into(), to(serde_json::to_value(&objects.agents))),
    ]
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().expect("array").iter().map(|s| s.as_str().expect("string").to_string()).collect()
}

#[test]
fn every_object_is_labelled_and_namespaced_objects_live_in_the_session_namespace() {
    let objects = render(&plan(scope_test()), &tokens());
    for (kind, v) in all(&objects) {
        let labels = &v["metadata"]["labels"];
        assert_eq!(labels["app.kubernetes.io/managed-by"], "kubectl-shark", "{kind}");
        assert_eq!(labels["kubectl-shark.io/session"], "ab12cd", "{kind}");
        assert!(labels["app.kubernetes.io/component"].is_string(), "{kind}");
        let cluster_scoped = matches!(kind.as_str(), "Namespace" | "ClusterRole" | "ClusterRoleBinding");
        if cluster_scoped {
            assert!(v["metadata"].get("namespace").is_none(), "{kind}");
        } else {
            assert_eq!(v["metadata"]["namespace"], "shark-ab12cd", "{kind}");
        }
    }
    let pods =
        [&objects.hub.spec.as_ref().expect("spec").template, &objects.agents.spec.as_ref().expect("spec").template];
    let components: Vec<_> = pods
        .iter()
        .map(|t| t.metadata.as_ref().and_then(|m| m.labels.as_ref()).and_then(|l| l.get(names::COMPONENT)).cloned())
        .collect();
    assert_eq!(components, vec![Some("hub".to_string()), Some("node-agent".to_string())]);
    assert_eq!(
        objects.describe(),
        vec![
            "Namespace shark-ab12cd",
            "Secret shark-ab12cd/shark-tokens",
            "ServiceAccount shark-ab12cd/shark-hub",
            "ServiceAccount shark-ab12cd/shark-agent",
            "ClusterRole shark-ab12cd-hub",
            "ClusterRoleBinding shark-ab12cd-hub",
            "Role shark-ab12cd/shark-hub",
            "RoleBinding shark-ab12cd/shark-hub",
            "Lease shark-ab12cd/shark-session",
            "Deployment shark-ab12cd/shark-hub",
            "DaemonSet shark-ab12cd/shark-agent",
        ]
    );
}

#[test]
fn the_namespace_admits_the_agent_and_records_the_scope() {
    let p = plan(scope_test());
    let objects = render(&p, &tokens());
    let ns = serde_json::to_value(&objects.namespace).expect("json");
    assert_eq!(ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "privileged");
    let annotations = objects.namespace.metadata.annotations.clone().expect("annotations");
    let scope = Scope::from_annotations(&annotations).expect("scope annotations");
    assert_eq!(scope.describe(), p.scope.describe());
    assert_eq!(annotations.get(names::ANN_CREATED_BY).map(String::as_str), Some("alice"));
    assert_eq!(annotations.get(names::ANN_ORPHAN_TIMEOUT).map(String::as_str), Some("120"));
    assert_eq!(annotations.get(names::ANN_AGENT_PORT).map(String::as_str), Some("9811"));
    assert_eq!(annotations.get(names::ANN_CLI_VERSION).map(String::as_str), Some(crate::build_info::VERSION));
}

#[test]
fn the_secret_holds_both_tokens_and_agents_mount_only_theirs() {
    let objects = render(&plan(scope_test()), &tokens());
    let secret = serde_json::to_value(&objects.secret).expect("json");
    assert_eq!(secret["stringData"], json!({"dashboard-token": "dash-token", "agent-token": "agent-token-value"}));
    let agent = serde_json::to_value(&objects.agents).expect("json");
    let volumes = &agent["spec"]["template"]["spec"]["volumes"];
    let tokens = volumes.as_array().expect("volumes").iter().find(|v| v["name"] == "tokens").expect("tokens volume");
    assert_eq!(tokens["secret"]["items"], json!([{"key": "agent-token", "path": "agent-token"}]));
}

#[test]
fn the_agent_runs_with_two_capabilities_on_the_host_network_and_no_api_access() {
    let objects = render(&plan(scope_test()), &tokens());
    let v = serde_json::to_value(&objects.agents).expect("json");
    let pod = &v["spec"]["template"]["spec"];
    assert_eq!(pod["hostNetwork"], true);
    assert_eq!(pod["dnsPolicy"], "ClusterFirstWithHostNet");
    assert_eq!(pod["tolerations"], json!([{"operator": "Exists"}]));
    assert_eq!(pod["automountServiceAccountToken"], false);
    assert_eq!(pod["serviceAccountName"], "shark-agent");
    let c = &pod["containers"][0];
    let sc = &c["securityContext"];
    assert_eq!(strings(&sc["capabilities"]["add"]), vec!["NET_RAW", "NET_ADMIN"]);
    assert_eq!(strings(&sc["capabilities"]["drop"]), vec!["ALL"]);
    assert_eq!(sc["privileged"], false);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["runAsUser"], 0);
    assert_eq!(
        strings(&c["args"]),
        vec![
            "--listen",
            "0.0.0.0:9811",
            "--token-file",
            "/etc/shark/agent-token",
            "--storage-dir",
            "/var/lib/shark",
            "--storage-limit",
            "200000000",
            "--initial-scope",
            "none"
        ]
    );
    assert_eq!(c["env"], json!([{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]));
    assert_eq!(
        c["resources"],
        json!({"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}})
    );
    let packets = pod["volumes"].as_array().expect("volumes").iter().find(|v| v["name"] == "packets").expect("ring");
    let size: u64 = packets["emptyDir"]["sizeLimit"].as_str().and_then(|s| s.parse().ok()).expect("size in bytes");
    assert!(size > 200_000_000 && size <= 240_000_000, "{size}");
    let sa = serde_json::to_value(&objects.agent_account).expect("json");
    assert_eq!(sa["automountServiceAccountToken"], false);
    assert_eq!(c["ports"], json!([{"name": "link", "containerPort": 9811}]));
    assert_eq!(c["readinessProbe"]["tcpSocket"], json!({"port": 9811}));
}

#[test]
fn the_agents_get_protocols_only_when_narrowed() {
    let agent_args = |p: &Plan| {
        let v = serde_json::to_value(&render(p, &tokens()).agents).expect("json");
        strings(&v["spec"]["template"]["spec"]["containers"][0]["args"])
    };
    let hub_args = |p: &Plan| {
        let v = serde_json::to_value(&render(p, &tokens()).hub).expect("json");
        strings(&v["spec"]["template"]["spec"]["containers"][0]["args"])
    };
    let all = plan(scope_test());
    assert!(!agent_args(&all).contains(&"--protocols".to_string()));
    let mut some = plan(scope_test());
    some.protocols = Some("dns,http".into());
    let mut want = agent_args(&all);
    want.extend(["--protocols".to_string(), "dns,http".to_string()]);
    assert_eq!(agent_args(&some), want);
    assert_eq!(hub_args(&some), hub_args(&all), "the hub shows whatever the agents send");
}

#[test]
fn the_hub_gets_the_agreed_flags() {
    let mut p = plan(Scope::new(None, &[], true, &["kube-system".to_string()], "default").expect("scope"));
    p.no_redact = true;
    let objects = render(&p, &tokens());
    let v = serde_json::to_value(&objects.hub).expect("json");
    assert_eq!(v["spec"]["replicas"], 1);
    let c = &v["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "ghcr.io/kubectl-shark/kubectl-shark:9.9.9");
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(c["ports"], json!([{"name": "http", "containerPort": 8899}]));
    assert_eq!(c["readinessProbe"]["httpGet"], json!({"path": "/healthz", "port": 8899}));
    assert_eq!(
        strings(&c["args"]),
        vec![
            "--listen",
            "0.0.0.0:8899",
            "--token-file",
            "/etc/shark/dashboard-token",
            "--agent-token-file",
            "/etc/shark/agent-token",
            "--allow-any-host",
            "--kubernetes",
            "--session",
            "ab12cd",
            "--scope-regex",
            ".*",
            "--all-namespaces",
            "--exclude-namespace",
            "kube-system",
            "--orphan-timeout",
            "120",
            "--agent-port",
            "9811",
            "--max-entries",
            "5000",
            "--no-redact"
        ]
    );
    assert_eq!(v["spec"]["template"]["spec"]["serviceAccountName"], "shark-hub");
}

#[test]
fn the_hub_may_read_names_and_delete_only_its_own_namespace() {
    let mut objects = render(&plan(scope_test()), &tokens());
    for rule in objects.cluster_role.rules.as_deref().unwrap_or_default() {
        let writes: Vec<_> = rule.verbs.iter().filter(|v| !["get", "list", "watch"].contains(&v.as_str())).collect();
        if !writes.is_empty() {
            assert_eq!(writes, vec!["delete"], "{rule:?}");
            assert_eq!(rule.resources.as_deref(), Some(&["namespaces".to_string()][..]));
            assert_eq!(rule.resource_names.as_deref(), Some(&["shark-ab12cd".to_string()][..]), "only its own");
        }
    }
    let readable: Vec<String> = objects
        .cluster_role
        .rules
        .iter()
        .flatten()
        .filter(|r| r.verbs.iter().any(|v| v == "watch"))
        .flat_map(|r| r.resources.clone().unwrap_or_default())
        .collect();
    assert_eq!(readable, vec!["pods", "services", "nodes", "namespaces", "endpointslices"]);
    let binding = serde_json::to_value(&objects.cluster_role_binding).expect("json");
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": "shark-hub", "namespace": "shark-ab12cd"}])
    );
    assert_eq!(binding["roleRef"]["name"], "shark-ab12cd-hub");

    assert!(objects.cluster_role.metadata.owner_references.is_none(), "no uid before the namespace exists");
    objects.set_namespace_owner("uid-123");
    for owners in
        [&objects.cluster_role.metadata.owner_references, &objects.cluster_role_binding.metadata.owner_references]
    {
        let v = serde_json::to_value(owners).expect("json");
        assert_eq!(v, json!([{"apiVersion": "v1", "kind": "Namespace", "name": "shark-ab12cd", "uid": "uid-123"}]));
    }
}

#[test]
fn the_lease_names_the_holder_and_the_orphan_timeout() {
    let mut p = plan(scope_test());
    let t = k8s_openapi::jiff::Timestamp::from_second(1_700_000_000).expect("time");
    let v = serde_json::to_value(lease(&p, t)).expect("json");
    assert_eq!(v["metadata"]["name"], "shark-session");
    assert_eq!(v["spec"]["holderIdentity"], "alice@laptop/42");
    assert_eq!(v["spec"]["leaseDurationSeconds"], 120);
    assert_eq!(v["spec"]["renewTime"], "2023-11-14T22:13:20.000000Z");
    p.orphan_timeout_secs = 0;
    let v = serde_json::to_value(lease(&p, t)).expect("json");
    assert!(v["spec"].get("leaseDurationSeconds").is_none(), "0: never expires");
}
