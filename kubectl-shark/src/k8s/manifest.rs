//! The objects of a session, rendered from the command line (pure: no API calls). The contract
//! with the hub side (names, labels, flags) is docs/tap.md.

use super::names::{self, SessionId};
use super::scope::Scope;
use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec, Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource, HTTPGetAction, KeyToPath,
    LocalObjectReference, Namespace, ObjectFieldSelector, PodSecurityContext, PodSpec, PodTemplateSpec, Probe,
    ResourceRequirements, SeccompProfile, Secret, SecretVolumeSource, SecurityContext, ServiceAccount, TCPSocketAction,
    Toleration, Volume, VolumeMount,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, MicroTime, ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

/// CPU and memory of a container (Kubernetes quantities, e.g. `100m`, `256Mi`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    pub cpu_request: String,
    pub cpu_limit: String,
    pub memory_request: String,
    pub memory_limit: String,
}

/// Everything the objects are rendered from.
#[derive(Debug, Clone)]
pub struct Plan {
    pub id: SessionId,
    pub scope: Scope,
    pub image: String,
    pub pull_policy: String,
    /// Bytes of the agents' packet ring.
    pub storage_limit: u64,
    pub max_entries: usize,
    /// Seconds without Lease renewal before the hub deletes the session; 0: never.
    pub orphan_timeout_secs: u64,
    pub agent_resources: Resources,
    pub no_redact: bool,
    /// The agents' `--protocols` (comma-separated entry protocol names); `None`: their default, all.
    pub protocols: Option<String>,
    /// Who created the session (the Kubernetes user name when known).
    pub created_by: String,
    /// The Lease holder: `user@host/pid` of the attached CLI.
    pub holder: String,
    /// The agents' port on the node (unique among the cluster's sessions).
    pub agent_port: u16,
    /// Extra hub arguments (hidden `--hub-arg`, for development), after the agreed ones.
    pub extra_hub_args: Vec<String>,
    /// Secrets in the session namespace the pods pull their image with (`--image-pull-secret`).
    pub image_pull_secrets: Vec<String>,
}

/// The random tokens of a session (stored in the Secret).
#[derive(Clone)]
pub struct Tokens {
    pub dashboard: String,
    pub agent: String,
}

/// Every object of a session, in creation order.
#[derive(Debug, Clone)]
pub struct Objects {
    pub namespace: Namespace,
    pub secret: Secret,
    pub hub_account: ServiceAccount,
    pub agent_account: ServiceAccount,
    pub cluster_role: ClusterRole,
    pub cluster_role_binding: ClusterRoleBinding,
    pub role: Role,
    pub role_binding: RoleBinding,
    pub lease: Lease,
    pub hub: Deployment,
    pub agents: DaemonSet,
    /// Copies of the user's image pull Secrets, created before the workloads (`tap
    /// --image-pull-secret`); empty from [`render`].
    pub pull_secrets: Vec<Secret>,
}

impl Objects {
    /// `Kind name` of every object, in creation order (for `--dry-run` and progress).
    pub fn describe(&self) -> Vec<String> {
        let ns = self.namespace.metadata.name.clone().unwrap_or_default();
        let named = |kind: &str, m: &ObjectMeta| match &m.namespace {
            Some(n) => format!("{kind} {n}/{}", m.name.as_deref().unwrap_or_default()),
            None => format!("{kind} {}", m.name.as_deref().unwrap_or_default()),
        };
        let mut out = vec![format!("Namespace {ns}"), named("Secret", &self.secret.metadata)];
        out.extend(self.pull_secrets.iter().map(|s| named("Secret", &s.metadata)));
        out.extend([
            named("ServiceAccount", &self.hub_account.metadata),
            named("ServiceAccount", &self.agent_account.metadata),
            named("ClusterRole", &self.cluster_role.metadata),
            named("ClusterRoleBinding", &self.cluster_role_binding.metadata),
            named("Role", &self.role.metadata),
            named("RoleBinding", &self.role_binding.metadata),
            named("Lease", &self.lease.metadata),
            named("Deployment", &self.hub.metadata),
            named("DaemonSet", &self.agents.metadata),
        ]);
        out
    }

    /// Makes the cluster-scoped objects owned by the created namespace (its uid), so deleting
    /// the namespace garbage-collects them.
    pub fn set_namespace_owner(&mut self, uid: &str) {
        let name = self.namespace.metadata.name.clone().unwrap_or_default();
        let owner = OwnerReference {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            name,
            uid: uid.into(),
            ..OwnerReference::default()
        };
        self.cluster_role.metadata.owner_references = Some(vec![owner.clone()]);
        self.cluster_role_binding.metadata.owner_references = Some(vec![owner]);
    }
}

/// Renders the objects of `plan`.
pub fn render(plan: &Plan, tokens: &Tokens) -> Objects {
    let ns = plan.id.namespace();
    Objects {
        namespace: namespace(plan),
        secret: Secret {
            metadata: meta(plan, Some(&ns), names::SECRET, names::COMPONENT_SESSION),
            string_data: Some(BTreeMap::from([
                (names::SECRET_DASHBOARD_KEY.to_string(), tokens.dashboard.clone()),
                (names::SECRET_AGENT_KEY.to_string(), tokens.agent.clone()),
            ])),
            type_: Some("Opaque".into()),
            ..Secret::default()
        },
        hub_account: ServiceAccount {
            metadata: meta(plan, Some(&ns), names::HUB, names::COMPONENT_HUB),
            ..ServiceAccount::default()
        },
        // The agents get no API access at all: the hub tells them what to capture.
        agent_account: ServiceAccount {
            metadata: meta(plan, Some(&ns), names::AGENT, names::COMPONENT_AGENT),
            automount_service_account_token: Some(false),
            ..ServiceAccount::default()
        },
        cluster_role: cluster_role(plan),
        cluster_role_binding: ClusterRoleBinding {
            metadata: meta(plan, None, &plan.id.cluster_role(), names::COMPONENT_HUB),
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "ClusterRole".into(),
                name: plan.id.cluster_role(),
            },
            subjects: Some(vec![hub_subject(&ns)]),
        },
        role: Role {
            metadata: meta(plan, Some(&ns), names::HUB, names::COMPONENT_HUB),
            rules: Some(vec![
                // To find the agents (pods of the DaemonSet) and their nodes' addresses.
                rule("", "pods", &["get", "list", "watch"], None),
                // To watch the CLI's Lease (list: watches start with one).
                rule("coordination.k8s.io", "leases", &["get", "list", "watch", "update"], None),
            ]),
        },
        role_binding: RoleBinding {
            metadata: meta(plan, Some(&ns), names::HUB, names::COMPONENT_HUB),
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "Role".into(),
                name: names::HUB.into(),
            },
            subjects: Some(vec![hub_subject(&ns)]),
        },
        lease: lease(plan, k8s_openapi::jiff::Timestamp::now()),
        hub: hub(plan),
        agents: agents(plan),
        pull_secrets: Vec::new(),
    }
}

/// The Lease the CLI renews while attached, with `renew_time` as its renewal.
pub fn lease(plan: &Plan, renew_time: k8s_openapi::jiff::Timestamp) -> Lease {
    Lease {
        metadata: meta(plan, Some(&plan.id.namespace()), names::LEASE, names::COMPONENT_SESSION),
        spec: Some(LeaseSpec {
            holder_identity: Some(plan.holder.clone()),
            lease_duration_seconds: i32::try_from(plan.orphan_timeout_secs).ok().filter(|&s| s > 0),
            acquire_time: Some(MicroTime(renew_time)),
            renew_time: Some(MicroTime(renew_time)),
            ..LeaseSpec::default()
        }),
    }
}

fn namespace(plan: &Plan) -> Namespace {
    let mut metadata = meta(plan, None, &plan.id.namespace(), names::COMPONENT_SESSION);
    // The agent needs hostNetwork and the NET_RAW/NET_ADMIN capabilities, which the `baseline`
    // and `restricted` Pod Security levels refuse; only this namespace is exempted.
    if let Some(labels) = metadata.labels.as_mut() {
        labels.insert("pod-security.kubernetes.io/enforce".into(), "privileged".into());
    }
    let mut annotations = plan.scope.annotations();
    annotations.insert(names::ANN_CREATED_BY.into(), plan.created_by.clone());
    annotations.insert(names::ANN_CLI_VERSION.into(), crate::build_info::VERSION.into());
    annotations.insert(names::ANN_ORPHAN_TIMEOUT.into(), plan.orphan_timeout_secs.to_string());
    annotations.insert(names::ANN_AGENT_PORT.into(), plan.agent_port.to_string());
    metadata.annotations = Some(annotations);
    Namespace { metadata, ..Namespace::default() }
}

fn cluster_role(plan: &Plan) -> ClusterRole {
    let read = &["get", "list", "watch"];
    ClusterRole {
        metadata: meta(plan, None, &plan.id.cluster_role(), names::COMPONENT_HUB),
        rules: Some(vec![
            // Names for addresses: pods, services (ClusterIPs), endpointslices, nodes; namespaces
            // for the scope (-A with exclusions, pods created later).
            rule("", "pods", read, None),
            rule("", "services", read, None),
            rule("", "nodes", read, None),
            rule("", "namespaces", read, None),
            rule("discovery.k8s.io", "endpointslices", read, None),
            // The orphan watchdog deletes its own session, nothing else.
            rule("", "namespaces", &["delete"], Some(plan.id.namespace())),
        ]),
        ..ClusterRole::default()
    }
}

fn rule(group: &str, resource: &str, verbs: &[&str], name: Option<String>) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec![group.into()]),
        resources: Some(vec![resource.into()]),
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
        resource_names: name.map(|n| vec![n]),
        ..PolicyRule::default()
    }
}

fn hub_subject(ns: &str) -> Subject {
    Subject { kind: "ServiceAccount".into(), name: names::HUB.into(), namespace: Some(ns.into()), ..Subject::default() }
}

fn meta(plan: &Plan, namespace: Option<&str>, name: &str, component: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: namespace.map(str::to_string),
        labels: Some(names::labels(&plan.id, component)),
        ..ObjectMeta::default()
    }
}

fn hub(plan: &Plan) -> Deployment {
    let ns = plan.id.namespace();
    let labels = names::labels(&plan.id, names::COMPONENT_HUB);
    let mut args: Vec<String> = vec![
        "--listen".into(),
        format!("0.0.0.0:{}", names::HUB_PORT),
        "--token-file".into(),
        format!("/etc/shark/{}", names::SECRET_DASHBOARD_KEY),
        "--agent-token-file".into(),
        format!("/etc/shark/{}", names::SECRET_AGENT_KEY),
        // Reached through the API server's port-forward, so the Host is whatever the user's
        // browser sends for 127.0.0.1:PORT; the token still guards everything.
        "--allow-any-host".into(),
        "--kubernetes".into(),
        "--session".into(),
        plan.id.as_str().into(),
    ];
    args.extend(plan.scope.hub_args());
    args.extend(["--orphan-timeout".into(), plan.orphan_timeout_secs.to_string()]);
    args.extend(["--agent-port".into(), plan.agent_port.to_string()]);
    args.extend(["--max-entries".into(), plan.max_entries.to_string()]);
    if plan.no_redact {
        args.push("--no-redact".into());
    }
    // `{agent-port}` in them stands for this session's agent port.
    args.extend(plan.extra_hub_args.iter().map(|a| a.replace("{agent-port}", &plan.agent_port.to_string())));
    let container = Container {
        name: "hub".into(),
        image: Some(plan.image.clone()),
        image_pull_policy: Some(plan.pull_policy.clone()),
        command: Some(vec!["/usr/local/bin/hub-lite".into()]),
        args: Some(args),
        ports: Some(vec![ContainerPort {
            name: Some("http".into()),
            container_port: i32::from(names::HUB_PORT),
            ..ContainerPort::default()
        }]),
        env: Some(vec![field_env("POD_NAMESPACE", "metadata.namespace"), field_env("POD_NAME", "metadata.name")]),
        readiness_probe: Some(Probe {
            http_get: Some(HTTPGetAction {
                path: Some("/healthz".into()),
                port: IntOrString::Int(i32::from(names::HUB_PORT)),
                ..HTTPGetAction::default()
            }),
            period_seconds: Some(2),
            ..Probe::default()
        }),
        resources: Some(resources(&Resources {
            cpu_request: "50m".into(),
            cpu_limit: "1".into(),
            memory_request: "64Mi".into(),
            // The store is bounded by --max-entries and a byte budget (hub_lite::store).
            memory_limit: "1Gi".into(),
        })),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            run_as_user: Some(65534),
            capabilities: Some(Capabilities { drop: Some(vec!["ALL".into()]), add: None }),
            seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".into(), ..SeccompProfile::default() }),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(vec![tokens_mount()]),
        ..Container::default()
    };
    Deployment {
        metadata: meta(plan, Some(&ns), names::HUB, names::COMPONENT_HUB),
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            selector: LabelSelector { match_labels: Some(labels.clone()), ..LabelSelector::default() },
            // One hub at a time: a replaced hub is a new store anyway.
            strategy: Some(DeploymentStrategy { type_: Some("Recreate".into()), ..DeploymentStrategy::default() }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels), ..ObjectMeta::default() }),
                spec: Some(PodSpec {
                    service_account_name: Some(names::HUB.into()),
                    image_pull_secrets: pull_secret_refs(plan),
                    containers: vec![container],
                    volumes: Some(vec![tokens_volume(&[names::SECRET_DASHBOARD_KEY, names::SECRET_AGENT_KEY])]),
                    termination_grace_period_seconds: Some(5),
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    }
}

/// Room in the packet ring's emptyDir beyond the storage limit (the file being written, rotation).
fn ring_size_limit(storage_limit: u64) -> String {
    let margin = (storage_limit / 10).max(32 * 1024 * 1024);
    storage_limit.saturating_add(margin).to_string()
}

fn agents(plan: &Plan) -> DaemonSet {
    let ns = plan.id.namespace();
    let labels = names::labels(&plan.id, names::COMPONENT_AGENT);
    let mut args: Vec<String> = vec![
        "--listen".into(),
        format!("0.0.0.0:{}", plan.agent_port),
        "--token-file".into(),
        format!("/etc/shark/{}", names::SECRET_AGENT_KEY),
        "--storage-dir".into(),
        "/var/lib/shark".into(),
        "--storage-limit".into(),
        plan.storage_limit.to_string(),
        // Capture nothing until the hub sends the capture scope: a replaced agent must not
        // capture the pre-DNAT copies the scope leaves out (docs/tap.md, "One exchange, one entry").
        "--initial-scope".into(),
        "none".into(),
    ];
    // Only when narrowed, so that the default rendering does not change.
    if let Some(list) = &plan.protocols {
        args.extend(["--protocols".into(), list.clone()]);
    }
    let container = Container {
        name: "node-agent".into(),
        image: Some(plan.image.clone()),
        image_pull_policy: Some(plan.pull_policy.clone()),
        command: Some(vec!["/usr/local/bin/node-agent".into()]),
        args: Some(args),
        ports: Some(vec![ContainerPort {
            name: Some("link".into()),
            // The hub reads the agents' port from this named port of their pods.
            container_port: i32::from(plan.agent_port),
            ..ContainerPort::default()
        }]),
        // The agent names its entries after the node (entry ids `<node>.<run>-<n>`).
        env: Some(vec![field_env("NODE_NAME", "spec.nodeName")]),
        readiness_probe: Some(Probe {
            tcp_socket: Some(TCPSocketAction {
                port: IntOrString::Int(i32::from(plan.agent_port)),
                ..TCPSocketAction::default()
            }),
            period_seconds: Some(2),
            ..Probe::default()
        }),
        resources: Some(resources(&plan.agent_resources)),
        security_context: Some(SecurityContext {
            // A capability list instead of `privileged`.
            capabilities: Some(Capabilities {
                add: Some(vec![
                    // NET_RAW: open AF_PACKET sockets to read every frame on the node's interfaces.
                    "NET_RAW".into(),
                    // NET_ADMIN: promiscuous mode on the interfaces and attaching the socket filter.
                    "NET_ADMIN".into(),
                ]),
                drop: Some(vec!["ALL".into()]),
            }),
            privileged: Some(false),
            allow_privilege_escalation: Some(false),
            // root (uid 0): AF_PACKET checks CAP_NET_RAW in the network namespace's owning user
            // namespace, the host's here (hostNetwork); file capabilities on a non-root user would
            // need a setcap'd binary, so the agent runs as root with only these two capabilities.
            run_as_user: Some(0),
            read_only_root_filesystem: Some(true),
            seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".into(), ..SeccompProfile::default() }),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(vec![
            tokens_mount(),
            VolumeMount { name: "packets".into(), mount_path: "/var/lib/shark".into(), ..VolumeMount::default() },
        ]),
        ..Container::default()
    };
    DaemonSet {
        metadata: meta(plan, Some(&ns), names::AGENT, names::COMPONENT_AGENT),
        spec: Some(DaemonSetSpec {
            selector: LabelSelector { match_labels: Some(labels.clone()), ..LabelSelector::default() },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels), ..ObjectMeta::default() }),
                spec: Some(PodSpec {
                    service_account_name: Some(names::AGENT.into()),
                    automount_service_account_token: Some(false),
                    // The node's own interfaces: every pod's veth and the bridge.
                    host_network: Some(true),
                    dns_policy: Some("ClusterFirstWithHostNet".into()),
                    // Every node, whatever its taints (control-plane, NoExecute, ...).
                    tolerations: Some(vec![Toleration { operator: Some("Exists".into()), ..Toleration::default() }]),
                    security_context: Some(PodSecurityContext::default()),
                    image_pull_secrets: pull_secret_refs(plan),
                    containers: vec![container],
                    volumes: Some(vec![
                        tokens_volume(&[names::SECRET_AGENT_KEY]),
                        Volume {
                            name: "packets".into(),
                            empty_dir: Some(EmptyDirVolumeSource {
                                size_limit: Some(Quantity(ring_size_limit(plan.storage_limit))),
                                ..EmptyDirVolumeSource::default()
                            }),
                            ..Volume::default()
                        },
                    ]),
                    termination_grace_period_seconds: Some(5),
                    ..PodSpec::default()
                }),
            },
            ..DaemonSetSpec::default()
        }),
        ..DaemonSet::default()
    }
}

/// `imagePullSecrets` of the pods; absent when none are given.
fn pull_secret_refs(plan: &Plan) -> Option<Vec<LocalObjectReference>> {
    (!plan.image_pull_secrets.is_empty())
        .then(|| plan.image_pull_secrets.iter().map(|n| LocalObjectReference { name: n.clone() }).collect())
}

fn resources(r: &Resources) -> ResourceRequirements {
    let pair = |cpu: &str, mem: &str| {
        BTreeMap::from([("cpu".to_string(), Quantity(cpu.into())), ("memory".to_string(), Quantity(mem.into()))])
    };
    ResourceRequirements {
        requests: Some(pair(&r.cpu_request, &r.memory_request)),
        limits: Some(pair(&r.cpu_limit, &r.memory_limit)),
        ..ResourceRequirements::default()
    }
}

fn field_env(name: &str, path: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector { field_path: path.into(), ..ObjectFieldSelector::default() }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

fn tokens_mount() -> VolumeMount {
    VolumeMount {
        name: "tokens".into(),
        mount_path: "/etc/shark".into(),
        read_only: Some(true),
        ..VolumeMount::default()
    }
}

/// The Secret's `keys` as files in /etc/shark (the agents get only their own token).
fn tokens_volume(keys: &[&str]) -> Volume {
    Volume {
        name: "tokens".into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(names::SECRET.into()),
            items: Some(
                keys.iter().map(|k| KeyToPath { key: k.to_string(), path: k.to_string(), mode: None }).collect(),
            ),
            default_mode: Some(0o444),
            ..SecretVolumeSource::default()
        }),
        ..Volume::default()
    }
}

#[cfg(test)]
mod tests;
