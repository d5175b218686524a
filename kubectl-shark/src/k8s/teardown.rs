//! Removing sessions: the namespace (foreground propagation: its pods go first) and the
//! cluster-scoped RBAC objects by label (their ownerReference to the namespace would also collect
//! them, this does not wait for the garbage collector), then waiting until nothing is left.

use super::error::{is_not_found, K8sError};
use super::names::{self, SessionId};
use super::signals::Signals;
use indicatif::ProgressBar;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Api, DeleteParams, ListParams};
use std::time::Duration;

/// Which sessions.
#[derive(Debug, Clone)]
pub enum Which {
    One(SessionId),
    All,
}

impl Which {
    fn selector(&self) -> String {
        match self {
            Which::One(id) => id.selector(),
            Which::All => names::all_sessions_selector(),
        }
    }
}

/// Starts the deletion of everything of `which` (returns once the API server accepted it).
pub async fn delete(client: &kube::Client, which: &Which) -> Result<(), K8sError> {
    let selector = which.selector();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let listed = namespaces
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(K8sError::api("listing session namespaces"))?;
    let mut targets: Vec<String> = listed.items.into_iter().filter_map(|n| n.metadata.name).collect();
    if let Which::One(id) = which {
        // Also when its labels were changed: the name is the session's.
        if !targets.contains(&id.namespace()) {
            targets.push(id.namespace());
        }
    }
    for name in targets {
        match namespaces.delete(&name, &DeleteParams::foreground()).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(K8sError::Api { what: format!("deleting namespace {name}"), source: e }),
        }
    }
    let lp = ListParams::default().labels(&selector);
    Api::<ClusterRoleBinding>::all(client.clone())
        .delete_collection(&DeleteParams::default(), &lp)
        .await
        .map_err(K8sError::api("deleting the sessions' ClusterRoleBindings"))?;
    Api::<ClusterRole>::all(client.clone())
        .delete_collection(&DeleteParams::default(), &lp)
        .await
        .map_err(K8sError::api("deleting the sessions' ClusterRoles"))?;
    Ok(())
}

/// What is left of `which`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Remaining {
    pub namespaces: Vec<String>,
    pub cluster_objects: usize,
}

impl Remaining {
    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty() && self.cluster_objects == 0
    }
}

pub async fn remaining(client: &kube::Client, which: &Which) -> Result<Remaining, K8sError> {
    let lp = ListParams::default().labels(&which.selector());
    let mut namespaces: Vec<String> = Api::<Namespace>::all(client.clone())
        .list_metadata(&lp)
        .await
        .map_err(K8sError::api("listing session namespaces"))?
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    if let Which::One(id) = which {
        let exists = Api::<Namespace>::all(client.clone())
            .get_metadata_opt(&id.namespace())
            .await
            .map_err(K8sError::api(format!("looking up namespace {}", id.namespace())))?
            .is_some();
        if exists && !namespaces.contains(&id.namespace()) {
            namespaces.push(id.namespace());
        }
    }
    let roles = Api::<ClusterRole>::all(client.clone())
        .list_metadata(&lp)
        .await
        .map_err(K8sError::api("listing the sessions' ClusterRoles"))?
        .items
        .len();
    let bindings = Api::<ClusterRoleBinding>::all(client.clone())
        .list_metadata(&lp)
        .await
        .map_err(K8sError::api("listing the sessions' ClusterRoleBindings"))?
        .items
        .len();
    Ok(Remaining { namespaces, cluster_objects: roles + bindings })
}

/// How waiting ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Waited {
    Gone,
    /// A signal stopped the waiting; the API server finishes the deletion.
    Stopped,
}

/// Deletes and waits until nothing of `which` remains, with a spinner; a signal stops waiting.
pub async fn delete_and_wait(client: &kube::Client, which: &Which, signals: &mut Signals) -> Result<Waited, K8sError> {
    delete(client, which).await?;
    let bar = ProgressBar::new_spinner();
    bar.enable_steady_tick(Duration::from_millis(120));
    let result = loop {
        let left = remaining(client, which).await?;
        if left.is_empty() {
            break Waited::Gone;
        }
        bar.set_message(format!(
            "deleting: {} namespace(s) terminating ({}), {} cluster-scoped object(s) (Ctrl-C again to stop waiting)",
            left.namespaces.len(),
            left.namespaces.join(", "),
            left.cluster_objects
        ));
        tokio::select! {
            _ = signals.next() => break Waited::Stopped,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    };
    bar.finish_and_clear();
    Ok(result)
}
