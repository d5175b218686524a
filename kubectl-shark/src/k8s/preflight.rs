//! Checks up front, with SelfSubjectAccessReview, that the user may do everything `tap` does,
//! and names each missing permission (RBAC would otherwise fail half-way through).

use super::error::K8sError;
use super::names::SessionId;
use super::scope::{Namespaces, Scope};
use k8s_openapi::api::authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec};
use kube::api::{Api, PostParams};

/// One permission: a verb on a resource, in a namespace or cluster-wide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub verb: &'static str,
    pub group: &'static str,
    pub resource: &'static str,
    pub subresource: Option<&'static str>,
    /// None: cluster-wide (or a cluster-scoped resource).
    pub namespace: Option<String>,
    pub name: Option<String>,
}

impl std::fmt::Display for Permission {
    /// `cannot create clusterroles.rbac.authorization.k8s.io`, `... pods/portforward in namespace x`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot {} {}", self.verb, self.resource)?;
        if let Some(sub) = self.subresource {
            write!(f, "/{sub}")?;
        }
        if !self.group.is_empty() {
            write!(f, ".{}", self.group)?;
        }
        if let Some(name) = &self.name {
            write!(f, " {name:?}")?;
        }
        match &self.namespace {
            Some(ns) => write!(f, " in namespace {ns}"),
            None if CLUSTER_SCOPED.contains(&self.resource) => Ok(()),
            None => write!(f, " in all namespaces"),
        }
    }
}

const CLUSTER_SCOPED: [&str; 4] = ["namespaces", "nodes", "clusterroles", "clusterrolebindings"];

fn perm(verb: &'static str, group: &'static str, resource: &'static str, namespace: Option<&str>) -> Permission {
    Permission { verb, group, resource, subresource: None, namespace: namespace.map(str::to_string), name: None }
}

/// Everything `tap` needs for session `id` capturing `scope`.
pub fn required(id: &SessionId, scope: &Scope) -> Vec<Permission> {
    let ns = id.namespace();
    let session = Some(ns.as_str());
    let mut list = vec![
        perm("create", "", "namespaces", None),
        Permission { name: Some(ns.clone()), ..perm("delete", "", "namespaces", None) },
        perm("create", "rbac.authorization.k8s.io", "clusterroles", None),
        perm("create", "rbac.authorization.k8s.io", "clusterrolebindings", None),
        perm("delete", "rbac.authorization.k8s.io", "clusterroles", None),
        perm("delete", "rbac.authorization.k8s.io", "clusterrolebindings", None),
    ];
    // The hub's ClusterRole grants these; RBAC lets a user grant only what they hold.
    for (group, resource) in
        [("", "pods"), ("", "services"), ("", "nodes"), ("", "namespaces"), ("discovery.k8s.io", "endpointslices")]
    {
        for verb in ["get", "list", "watch"] {
            list.push(perm(verb, group, resource, None));
        }
    }
    for (group, resource) in [
        ("", "secrets"),
        ("", "serviceaccounts"),
        ("rbac.authorization.k8s.io", "roles"),
        ("rbac.authorization.k8s.io", "rolebindings"),
        ("coordination.k8s.io", "leases"),
        ("apps", "deployments"),
        ("apps", "daemonsets"),
    ] {
        list.push(perm("create", group, resource, session));
    }
    list.extend([
        perm("get", "", "secrets", session),
        // The hub's Role grants these on leases; the CLI renews with patch.
        perm("get", "coordination.k8s.io", "leases", session),
        perm("list", "coordination.k8s.io", "leases", session),
        perm("watch", "coordination.k8s.io", "leases", session),
        perm("update", "coordination.k8s.io", "leases", session),
        perm("patch", "coordination.k8s.io", "leases", session),
        perm("get", "apps", "deployments", session),
        perm("get", "apps", "daemonsets", session),
        perm("list", "", "events", session),
        Permission { subresource: Some("portforward"), ..perm("create", "", "pods", session) },
    ]);
    // Listing the pods in scope (dry-run and the summary).
    match &scope.namespaces {
        Namespaces::All { .. } => {}
        Namespaces::Only(names) => {
            for n in names {
                list.push(perm("list", "", "pods", Some(n)));
            }
        }
    }
    list
}

/// Asks the API server about every permission; returns the ones refused.
pub async fn missing(client: &kube::Client, wanted: &[Permission]) -> Result<Vec<Permission>, K8sError> {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let checks = wanted.iter().map(|p| {
        let api = api.clone();
        async move {
            let review = SelfSubjectAccessReview {
                spec: SelfSubjectAccessReviewSpec {
                    resource_attributes: Some(ResourceAttributes {
                        verb: Some(p.verb.into()),
                        group: Some(p.group.into()),
                        resource: Some(p.resource.into()),
                        subresource: p.subresource.map(str::to_string),
                        namespace: p.namespace.clone(),
                        name: p.name.clone(),
                        ..ResourceAttributes::default()
                    }),
                    ..SelfSubjectAccessReviewSpec::default()
                },
                ..SelfSubjectAccessReview::default()
            };
            let answer = api
                .create(&PostParams::default(), &review)
                .await
                .map_err(K8sError::api("asking the API server what this user may do (SelfSubjectAccessReview)"))?;
            Ok::<_, K8sError>((p, answer.status.is_some_and(|s| s.allowed)))
        }
    });
    let answers = futures_util::future::join_all(checks).await;
    let mut refused = Vec::new();
    for answer in answers {
        let (p, allowed) = answer?;
        if !allowed {
            refused.push(p.clone());
        }
    }
    Ok(refused)
}

/// Fails with every missing permission named.
pub async fn check(client: &kube::Client, id: &SessionId, scope: &Scope) -> Result<(), K8sError> {
    let refused = missing(client, &required(id, scope)).await?;
    if refused.is_empty() {
        Ok(())
    } else {
        Err(K8sError::Forbidden(refused.iter().map(Permission::to_string).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_read_like_kubectl_auth_can_i() {
        assert_eq!(
            perm("create", "rbac.authorization.k8s.io", "clusterroles", None).to_string(),
            "cannot create clusterroles.rbac.authorization.k8s.io"
        );
        assert_eq!(perm("list", "", "pods", None).to_string(), "cannot list pods in all namespaces");
        assert_eq!(
            Permission { subresource: Some("portforward"), ..perm("create", "", "pods", Some("shark-x")) }.to_string(),
            "cannot create pods/portforward in namespace shark-x"
        );
        assert_eq!(
            Permission { name: Some("shark-x".into()), ..perm("delete", "", "namespaces", None) }.to_string(),
            "cannot delete namespaces \"shark-x\""
        );
        assert_eq!(
            perm("create", "apps", "daemonsets", Some("shark-x")).to_string(),
            "cannot create daemonsets.apps in namespace shark-x"
        );
    }

    #[test]
    fn required_covers_every_object_created_and_the_scope() {
        let id = SessionId::parse("ab12cd").expect("id");
        let scope = Scope::new(None, &["a".to_string(), "b".to_string()], false, &[], "d").expect("scope");
        let list = required(&id, &scope);
        let creates: Vec<&str> =
            list.iter().filter(|p| p.verb == "create" && p.subresource.is_none()).map(|p| p.resource).collect();
        // One create per kind rendered by manifest::render.
        assert_eq!(
            creates,
            vec![
                "namespaces",
                "clusterroles",
                "clusterrolebindings",
                "secrets",
                "serviceaccounts",
                "roles",
                "rolebindings",
                "leases",
                "deployments",
                "daemonsets"
            ]
        );
        for ns in ["a", "b"] {
            assert!(list.contains(&perm("list", "", "pods", Some(ns))), "{ns}");
        }
        assert!(list.iter().all(|p| p.namespace.as_deref().is_none_or(|n| ["a", "b", "shark-ab12cd"].contains(&n))));
    }
}
