//! The versions on the cluster side, for `kubectl shark version`: the API server's, and for each
//! session the CLI version that created it (namespace annotation, docs/tap.md) and the images its
//! hub and agents run.

use super::error::K8sError;
use super::names;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::PodSpec;
use kube::api::Api;
use serde::Serialize;

/// What one session runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionVersion {
    pub id: String,
    /// The `kubectl-shark.io/cli-version` annotation; `None` when absent.
    pub cli_version: Option<String>,
    /// Images of the hub Deployment's containers (empty when it is missing).
    pub hub_images: Vec<String>,
    /// Images of the agent DaemonSet's containers (empty when it is missing).
    pub agent_images: Vec<String>,
}

/// The API server's version (`gitVersion`, e.g. `v1.34.10`).
pub async fn server_version(client: &kube::Client) -> Result<String, K8sError> {
    let info = client.apiserver_version().await.map_err(K8sError::api("reading the API server's version"))?;
    Ok(info.git_version)
}

/// Every session in the cluster (namespaces labelled as sessions), by id.
pub async fn sessions(client: &kube::Client) -> Result<Vec<SessionVersion>, K8sError> {
    let mut out = Vec::new();
    for (id, ns) in super::sessions::session_namespaces(client).await? {
        let cli_version = ns.metadata.annotations.as_ref().and_then(|a| a.get(names::ANN_CLI_VERSION)).cloned();
        let hub = Api::<Deployment>::namespaced(client.clone(), &id.namespace())
            .get_opt(names::HUB)
            .await
            .map_err(K8sError::api(format!("reading the hub Deployment of session {id}")))?;
        let agents = Api::<DaemonSet>::namespaced(client.clone(), &id.namespace())
            .get_opt(names::AGENT)
            .await
            .map_err(K8sError::api(format!("reading the agent DaemonSet of session {id}")))?;
        out.push(SessionVersion {
            id: id.as_str().to_string(),
            cli_version,
            hub_images: images(hub.and_then(|d| d.spec).and_then(|s| s.template.spec).as_ref()),
            agent_images: images(agents.and_then(|d| d.spec).and_then(|s| s.template.spec).as_ref()),
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// The distinct images of a pod template's containers, in order.
fn images(spec: Option<&PodSpec>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for image in spec.into_iter().flat_map(|s| s.containers.iter()).filter_map(|c| c.image.clone()) {
        if !out.contains(&image) {
            out.push(image);
        }
    }
    out
}
