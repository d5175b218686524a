//! Creating a session's objects in order: the namespace first (its uid becomes the owner of the
//! cluster-scoped RBAC objects), the workloads last.

use super::error::K8sError;
use super::manifest::Objects;
use kube::api::{Api, PostParams};
use kube::Resource;
use serde::{de::DeserializeOwned, Serialize};

/// Creates every object; `created` is called with `Kind name` after each one.
pub async fn create_all(
    client: &kube::Client,
    objects: &mut Objects,
    mut created: impl FnMut(&str),
) -> Result<(), K8sError> {
    let names = objects.describe();
    let mut step = 0;
    let mut done = |step: &mut usize| {
        created(names.get(*step).map_or("", String::as_str));
        *step += 1;
    };
    let namespace = create_cluster(client, &objects.namespace).await?;
    let uid = namespace
        .metadata
        .uid
        .ok_or_else(|| K8sError::Session("the API server returned the namespace without a uid".into()))?;
    objects.set_namespace_owner(&uid);
    done(&mut step);
    let ns = objects.namespace.metadata.name.clone().unwrap_or_default();
    create_in(client, &ns, &objects.secret).await?;
    done(&mut step);
    for pull_secret in &objects.pull_secrets {
        create_in(client, &ns, pull_secret).await?;
        done(&mut step);
    }
    create_in(client, &ns, &objects.hub_account).await?;
    done(&mut step);
    create_in(client, &ns, &objects.agent_account).await?;
    done(&mut step);
    create_cluster(client, &objects.cluster_role).await?;
    done(&mut step);
    create_cluster(client, &objects.cluster_role_binding).await?;
    done(&mut step);
    create_in(client, &ns, &objects.role).await?;
    done(&mut step);
    create_in(client, &ns, &objects.role_binding).await?;
    done(&mut step);
    create_in(client, &ns, &objects.lease).await?;
    done(&mut step);
    create_in(client, &ns, &objects.hub).await?;
    done(&mut step);
    create_in(client, &ns, &objects.agents).await?;
    done(&mut step);
    Ok(())
}

fn what<K: Resource<DynamicType = ()>>(obj: &K) -> String {
    format!("creating {} {}", K::kind(&()), obj.meta().name.as_deref().unwrap_or("?"))
}

async fn create_cluster<K>(client: &kube::Client, obj: &K) -> Result<K, K8sError>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    Api::<K>::all(client.clone()).create(&PostParams::default(), obj).await.map_err(K8sError::api(what(obj)))
}

async fn create_in<K>(client: &kube::Client, ns: &str, obj: &K) -> Result<K, K8sError>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Serialize
        + std::fmt::Debug,
{
    Api::<K>::namespaced(client.clone(), ns).create(&PostParams::default(), obj).await.map_err(K8sError::api(what(obj)))
}
