//! `tap --image-pull-secret [NS/]NAME`: the session namespace is new, so the user's pull Secrets
//! are read (before anything is created) and copied into it, labelled like every session object;
//! they go with the namespace.

use super::error::K8sError;
use super::names::{self, SessionId};
use crate::cli::PullSecretRef;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::Api;

/// Copies of `refs` for session `id` (`default_namespace` where a ref names none).
pub async fn copies(
    client: &kube::Client,
    refs: &[PullSecretRef],
    default_namespace: &str,
    id: &SessionId,
) -> Result<Vec<Secret>, K8sError> {
    let mut out: Vec<Secret> = Vec::new();
    for r in refs {
        let from = r.namespace.as_deref().unwrap_or(default_namespace);
        if out.iter().any(|s| s.metadata.name.as_deref() == Some(r.name.as_str())) {
            return Err(K8sError::Session(format!("two image pull Secrets are called {}", r.name)));
        }
        let source = Api::<Secret>::namespaced(client.clone(), from)
            .get(&r.name)
            .await
            .map_err(K8sError::api(format!("reading the image pull Secret {from}/{}", r.name)))?;
        out.push(copy(&source, &r.name, id));
    }
    Ok(out)
}

/// `source` as a Secret of session `id`: its type and data, the session's labels, nothing else of
/// its metadata (no uid, owner or resourceVersion).
pub fn copy(source: &Secret, name: &str, id: &SessionId) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(id.namespace()),
            labels: Some(names::labels(id, names::COMPONENT_SESSION)),
            ..ObjectMeta::default()
        },
        type_: source.type_.clone(),
        data: source.data.clone(),
        ..Secret::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use std::collections::BTreeMap;

    #[test]
    fn a_copy_keeps_type_and_data_and_takes_the_session_labels() {
        let id = SessionId::parse("abc123").expect("id");
        let source = Secret {
            metadata: ObjectMeta {
                name: Some("regcred".into()),
                namespace: Some("team".into()),
                uid: Some("u-1".into()),
                resource_version: Some("7".into()),
                labels: Some(BTreeMap::from([("owner".to_string(), "team".to_string())])),
                ..ObjectMeta::default()
            },
            type_: Some("kubernetes.io/dockerconfigjson".into()),
            data: Some(BTreeMap::from([(".dockerconfigjson".to_string(), ByteString(b"{}".to_vec()))])),
            ..Secret::default()
        };
        let c = copy(&source, "regcred", &id);
        assert_eq!(c.metadata.namespace.as_deref(), Some("shark-abc123"));
        assert_eq!(c.metadata.uid, None);
        assert_eq!(c.metadata.resource_version, None);
        assert_eq!(c.metadata.labels, Some(names::labels(&id, names::COMPONENT_SESSION)));
        assert_eq!(c.type_, source.type_);
        assert_eq!(c.data, source.data);
    }
}
