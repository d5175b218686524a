//! The sessions in a cluster, read from the session namespaces' labels and annotations, the agent
//! pods' nodes and the Lease (`kubectl shark list`, and finding the session `proxy` attaches to).

use super::error::K8sError;
use super::names::{self, SessionId};
use super::scope::Scope;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams};

/// A Lease renewed within this long counts as attached (the CLI renews every 5 s).
pub const ATTACHED_WITHIN_SECS: i64 = 15;

/// One session as `list` shows it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub id: SessionId,
    pub created: Option<Timestamp>,
    pub scope: Option<Scope>,
    pub created_by: Option<String>,
    pub orphan_timeout_secs: Option<u64>,
    pub nodes: Vec<String>,
    pub lease_renewed: Option<Timestamp>,
    pub terminating: bool,
}

/// The namespaces labelled as sessions, with their session ids (namespaces whose label is not a
/// valid id are left out).
pub async fn session_namespaces(client: &kube::Client) -> Result<Vec<(SessionId, Namespace)>, K8sError> {
    let namespaces = Api::<Namespace>::all(client.clone())
        .list(&ListParams::default().labels(&names::all_sessions_selector()))
        .await
        .map_err(K8sError::api("listing session namespaces"))?;
    Ok(namespaces
        .items
        .into_iter()
        .filter_map(|ns| {
            let id = ns.metadata.labels.as_ref()?.get(names::SESSION).and_then(|s| SessionId::parse(s).ok())?;
            Some((id, ns))
        })
        .collect())
}

/// Every session in the cluster, oldest first.
pub async fn list(client: &kube::Client) -> Result<Vec<SessionInfo>, K8sError> {
    let mut out = Vec::new();
    for (id, ns) in session_namespaces(client).await? {
        let annotations = ns.metadata.annotations.clone().unwrap_or_default();
        let pods = Api::<Pod>::namespaced(client.clone(), &id.namespace())
            .list(&ListParams::default().labels(&names::component_selector(&id, names::COMPONENT_AGENT)))
            .await
            .map_err(K8sError::api(format!("listing the agents of session {id}")))?;
        let mut nodes: Vec<String> = pods.items.into_iter().filter_map(|p| p.spec.and_then(|s| s.node_name)).collect();
        nodes.sort();
        nodes.dedup();
        let lease = Api::<Lease>::namespaced(client.clone(), &id.namespace())
            .get_opt(names::LEASE)
            .await
            .map_err(K8sError::api(format!("reading the Lease of session {id}")))?;
        out.push(SessionInfo {
            created: ns.metadata.creation_timestamp.map(|t| t.0),
            scope: Scope::from_annotations(&annotations),
            created_by: annotations.get(names::ANN_CREATED_BY).cloned(),
            orphan_timeout_secs: annotations.get(names::ANN_ORPHAN_TIMEOUT).and_then(|s| s.parse().ok()),
            nodes,
            lease_renewed: lease.and_then(|l| l.spec).and_then(|s| s.renew_time).map(|t| t.0),
            terminating: ns.metadata.deletion_timestamp.is_some(),
            id,
        });
    }
    out.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}

/// The session to attach to: the one named, or the only one there is.
pub async fn pick(client: &kube::Client, wanted: Option<SessionId>) -> Result<SessionId, K8sError> {
    let all = list(client).await?;
    match wanted {
        Some(id) if all.iter().any(|s| s.id == id && !s.terminating) => Ok(id),
        Some(id) => Err(K8sError::Session(format!("no session {id} in this cluster (see `kubectl shark list`)"))),
        None => {
            let live: Vec<&SessionInfo> = all.iter().filter(|s| !s.terminating).collect();
            match live.as_slice() {
                [one] => Ok(one.id.clone()),
                [] => Err(K8sError::Session("no session in this cluster; start one with `kubectl shark tap`".into())),
                many => Err(K8sError::Session(format!(
                    "{} sessions in this cluster ({}); name one with --session",
                    many.len(),
                    many.iter().map(|s| s.id.as_str()).collect::<Vec<_>>().join(", ")
                ))),
            }
        }
    }
}

/// `1h2m`, `5m`, `40s`.
pub fn human_age(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{}", s / 60, if s % 60 == 0 { String::new() } else { format!("{}s", s % 60) }),
        s if s < 86_400 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d{}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// The table `list` prints.
pub fn table(sessions: &[SessionInfo], now: Timestamp) -> String {
    let age = |t: Option<Timestamp>| t.map_or("?".to_string(), |t| human_age(now.as_second() - t.as_second()));
    let mut rows = vec![["ID", "AGE", "ATTACHED", "ORPHAN-TIMEOUT", "NODES", "CREATED-BY", "SCOPE"].map(String::from)];
    for s in sessions {
        let attached = match (s.terminating, s.lease_renewed) {
            (true, _) => "terminating".to_string(),
            (false, Some(t)) if now.as_second() - t.as_second() <= ATTACHED_WITHIN_SECS => {
                format!("yes ({} ago)", age(Some(t)))
            }
            (false, Some(t)) => format!("no (lease {} ago)", age(Some(t))),
            (false, None) => "no (no lease)".to_string(),
        };
        let orphan = match s.orphan_timeout_secs {
            Some(0) => "never".to_string(),
            Some(n) => human_age(i64::try_from(n).unwrap_or(i64::MAX)),
            None => "?".to_string(),
        };
        rows.push([
            s.id.to_string(),
            age(s.created),
            attached,
            orphan,
            if s.nodes.is_empty() { "-".to_string() } else { s.nodes.join(",") },
            s.created_by.clone().unwrap_or_else(|| "?".into()),
            s.scope.as_ref().map_or("?".to_string(), Scope::describe),
        ]);
    }
    let widths: Vec<usize> = (0..7).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for r in &rows {
        let line: Vec<String> = r.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(human_age(0), "0s");
        assert_eq!(human_age(59), "59s");
        assert_eq!(human_age(120), "2m");
        assert_eq!(human_age(125), "2m5s");
        assert_eq!(human_age(3 * 3600 + 7 * 60 + 5), "3h7m");
        assert_eq!(human_age(2 * 86_400 + 3600), "2d1h");
        assert_eq!(human_age(-5), "0s", "clock skew");
    }

    #[test]
    fn the_table_says_who_is_attached() {
        let now = Timestamp::from_second(1_000_000).expect("time");
        let at = |ago: i64| Some(Timestamp::from_second(1_000_000 - ago).expect("time"));
        let scope = Scope::new(Some("web"), &["shop".to_string()], false, &[], "d").expect("scope");
        let s = |id: &str, lease: Option<Timestamp>, timeout: u64, terminating: bool| SessionInfo {
            id: SessionId::parse(id).expect("id"),
            created: at(3700),
            scope: Some(scope.clone()),
            created_by: Some("alice".into()),
            orphan_timeout_secs: Some(timeout),
            nodes: vec!["n1".into(), "n2".into()],
            lease_renewed: lease,
            terminating,
        };
        let text =
            table(&[s("aaaaaa", at(3), 120, false), s("bbbbbb", at(600), 0, false), s("cccccc", None, 120, true)], now);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("ID "), "{text}");
        assert!(lines[1].starts_with("aaaaaa  1h1m  yes (3s ago)"), "{text}");
        assert!(
            lines[1].contains("2m") && lines[1].contains("n1,n2") && lines[1].ends_with("pods ~ \"web\" in shop"),
            "{text}"
        );
        assert!(lines[2].contains("no (lease 10m ago)") && lines[2].contains("never"), "{text}");
        assert!(lines[3].contains("terminating"), "{text}");
    }
}
