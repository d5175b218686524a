//! `kubectl shark manifests`: the objects `tap` would create, as multi-document YAML for review,
//! GitOps and air-gapped installs, deterministic for the same flags (the default rendering is
//! committed in manifests/ and a test compares it with this output).
//!
//! What differs from `tap`, because plain YAML cannot hold per-apply values:
//! - the session id is fixed (`--session`, default `static`: namespace `shark-static`);
//! - no random tokens: the Secret `shark-tokens` is replaced by two Secrets of type
//!   `kubernetes.io/service-account-token`, which Kubernetes fills with a fresh token of their own
//!   ServiceAccount when they are applied (`shark-dashboard-token`, `shark-agent-token`). Those
//!   ServiceAccounts have no roles; the tokens are only ever presented to the hub and the agents.
//!   The hub mounts both, the agents only theirs, at the paths `tap` uses;
//! - no orphan timeout (the install stays until `kubectl shark clean` or `kubectl delete -f`), and
//!   the Lease has no holder until `kubectl shark proxy` renews it;
//! - the ClusterRole and ClusterRoleBinding have no ownerReference (the namespace's uid is not
//!   known in advance): `kubectl shark clean` deletes them by label, as it does for every session.

use super::manifest::{self, Objects, Plan, Tokens};
use super::names;
use k8s_openapi::api::coordination::v1::LeaseSpec;
use k8s_openapi::api::core::v1::{
    KeyToPath, ProjectedVolumeSource, Secret, SecretProjection, ServiceAccount, Volume, VolumeProjection,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;

/// The default session id of `manifests`.
pub const DEFAULT_SESSION: &str = "static";
/// Who the namespace says created it.
pub const CREATED_BY: &str = "kubectl shark manifests";
/// The Secrets Kubernetes fills with a token (key `token`), and their ServiceAccounts (same names).
pub const DASHBOARD_TOKEN_SECRET: &str = "shark-dashboard-token";
pub const AGENT_TOKEN_SECRET: &str = "shark-agent-token";
/// The key a service-account-token Secret holds the token under.
pub const TOKEN_KEY: &str = "token";

/// Every document, in apply order (a ServiceAccount before the token Secret naming it).
pub fn documents(plan: &Plan) -> Result<Vec<String>, serde_saphyr::ser::Error> {
    let o = objects(plan);
    let mut docs = Vec::new();
    let mut push = |yaml: Result<String, serde_saphyr::ser::Error>| -> Result<(), serde_saphyr::ser::Error> {
        docs.push(yaml?);
        Ok(())
    };
    push(serde_saphyr::to_string(&o.objects.namespace))?;
    for account in &o.token_accounts {
        push(serde_saphyr::to_string(account))?;
    }
    for secret in &o.token_secrets {
        push(serde_saphyr::to_string(secret))?;
    }
    push(serde_saphyr::to_string(&o.objects.hub_account))?;
    push(serde_saphyr::to_string(&o.objects.agent_account))?;
    push(serde_saphyr::to_string(&o.objects.cluster_role))?;
    push(serde_saphyr::to_string(&o.objects.cluster_role_binding))?;
    push(serde_saphyr::to_string(&o.objects.role))?;
    push(serde_saphyr::to_string(&o.objects.role_binding))?;
    push(serde_saphyr::to_string(&o.objects.lease))?;
    push(serde_saphyr::to_string(&o.objects.hub))?;
    push(serde_saphyr::to_string(&o.objects.agents))?;
    Ok(docs)
}

/// The documents as one multi-document YAML file, with a header saying what it is.
pub fn yaml(plan: &Plan, command_line: &str) -> Result<String, serde_saphyr::ser::Error> {
    let mut out = format!(
        "# kubectl-shark {} session {:?}: what `kubectl shark tap` creates, as a persistent install.\n\
         # Rendered by: {command_line}\n\
         # Apply: kubectl apply -f THIS_FILE; attach: kubectl shark proxy --session {}; remove: kubectl shark \
         clean --session {}\n",
        crate::build_info::VERSION,
        plan.id.as_str(),
        plan.id.as_str(),
        plan.id.as_str(),
    );
    for doc in documents(plan)? {
        out.push_str("---\n");
        out.push_str(&doc);
        if !doc.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}

/// The session's objects for a static install.
pub struct StaticObjects {
    pub objects: Objects,
    pub token_accounts: Vec<ServiceAccount>,
    pub token_secrets: Vec<Secret>,
}

pub fn objects(plan: &Plan) -> StaticObjects {
    // The Secret of `tap` is not used: its tokens would be fixed strings in a file.
    let mut o = manifest::render(plan, &Tokens { dashboard: String::new(), agent: String::new() });
    let ns = plan.id.namespace();
    if let Some(a) = o.namespace.metadata.annotations.as_mut() {
        a.insert(names::ANN_CREATED_BY.into(), CREATED_BY.into());
    }
    // No holder and no times until a `proxy` renews it.
    o.lease.spec = Some(LeaseSpec::default());
    let token_meta = |name: &str| ObjectMeta {
        name: Some(name.into()),
        namespace: Some(ns.clone()),
        labels: Some(names::labels(&plan.id, names::COMPONENT_SESSION)),
        ..ObjectMeta::default()
    };
    let token_accounts = [DASHBOARD_TOKEN_SECRET, AGENT_TOKEN_SECRET]
        .map(|name| ServiceAccount {
            metadata: token_meta(name),
            // Nothing runs as these accounts; they exist for their token Secrets.
            automount_service_account_token: Some(false),
            ..ServiceAccount::default()
        })
        .to_vec();
    let token_secrets = [DASHBOARD_TOKEN_SECRET, AGENT_TOKEN_SECRET]
        .map(|name| {
            let mut metadata = token_meta(name);
            metadata.annotations =
                Some(BTreeMap::from([("kubernetes.io/service-account.name".to_string(), name.to_string())]));
            Secret { metadata, type_: Some("kubernetes.io/service-account-token".into()), ..Secret::default() }
        })
        .to_vec();
    let hub_tokens = projected(&[
        (DASHBOARD_TOKEN_SECRET, names::SECRET_DASHBOARD_KEY),
        (AGENT_TOKEN_SECRET, names::SECRET_AGENT_KEY),
    ]);
    let agent_tokens = projected(&[(AGENT_TOKEN_SECRET, names::SECRET_AGENT_KEY)]);
    replace_tokens_volume(o.hub.spec.as_mut().and_then(|s| s.template.spec.as_mut()), hub_tokens);
    replace_tokens_volume(o.agents.spec.as_mut().and_then(|s| s.template.spec.as_mut()), agent_tokens);
    StaticObjects { objects: o, token_accounts, token_secrets }
}

/// A volume `tokens` with each Secret's `token` key at the given file name.
fn projected(sources: &[(&str, &str)]) -> Volume {
    Volume {
        name: "tokens".into(),
        projected: Some(ProjectedVolumeSource {
            default_mode: Some(0o444),
            sources: Some(
                sources
                    .iter()
                    .map(|(secret, file)| VolumeProjection {
                        secret: Some(SecretProjection {
                            name: secret.to_string(),
                            items: Some(vec![KeyToPath { key: TOKEN_KEY.into(), path: file.to_string(), mode: None }]),
                            optional: Some(false),
                        }),
                        ..VolumeProjection::default()
                    })
                    .collect(),
            ),
        }),
        ..Volume::default()
    }
}

fn replace_tokens_volume(spec: Option<&mut k8s_openapi::api::core::v1::PodSpec>, volume: Volume) {
    if let Some(volumes) = spec.and_then(|s| s.volumes.as_mut()) {
        for v in volumes.iter_mut().filter(|v| v.name == volume.name) {
            *v = volume.clone();
        }
    }
}

#[cfg(test)]
mod tests;
