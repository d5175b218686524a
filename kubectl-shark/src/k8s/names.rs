//! Names, labels and annotations shared by every object of a session, and by the hub side that
//! reads them (docs/tap.md is the contract).

use std::collections::BTreeMap;

/// Label every object kubectl-shark creates carries (also how `clean` finds them).
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY_VALUE: &str = "kubectl-shark";
/// Label naming the session an object belongs to.
pub const SESSION: &str = "kubectl-shark.io/session";
/// Label naming the part: `hub`, `node-agent`, or `session` for the shared objects.
pub const COMPONENT: &str = "app.kubernetes.io/component";
pub const COMPONENT_HUB: &str = "hub";
pub const COMPONENT_AGENT: &str = "node-agent";
pub const COMPONENT_SESSION: &str = "session";

/// Annotations on the session namespace (`list` reads them).
pub const ANN_SCOPE_REGEX: &str = "kubectl-shark.io/scope-regex";
/// Comma-separated namespaces, or `*` for all.
pub const ANN_SCOPE_NAMESPACES: &str = "kubectl-shark.io/scope-namespaces";
/// Comma-separated excluded namespaces (may be empty).
pub const ANN_EXCLUDE_NAMESPACES: &str = "kubectl-shark.io/exclude-namespaces";
pub const ANN_CREATED_BY: &str = "kubectl-shark.io/created-by";
pub const ANN_CLI_VERSION: &str = "kubectl-shark.io/cli-version";
/// Seconds without a Lease renewal after which the hub deletes the session; 0: never.
pub const ANN_ORPHAN_TIMEOUT: &str = "kubectl-shark.io/orphan-timeout-seconds";
/// The port the session's agents listen on (on the node: hostNetwork).
pub const ANN_AGENT_PORT: &str = "kubectl-shark.io/agent-port";

/// Fixed object names inside the session namespace.
pub const SECRET: &str = "shark-tokens";
pub const SECRET_DASHBOARD_KEY: &str = "dashboard-token";
pub const SECRET_AGENT_KEY: &str = "agent-token";
pub const HUB: &str = "shark-hub";
pub const AGENT: &str = "shark-agent";
pub const LEASE: &str = "shark-session";
/// The hub's HTTP port (dashboard, API, /healthz).
pub const HUB_PORT: u16 = 8899;
/// The agents' link ports: on the node's network (hostNetwork), so every session on a node needs
/// its own; a session takes one of these that no other session uses.
pub const AGENT_PORTS: std::ops::RangeInclusive<u16> = 9781..=9980;

/// A random agent port from [`AGENT_PORTS`] not in `used`; None when all are taken.
pub fn pick_agent_port(used: &[u16]) -> Result<Option<u16>, getrandom::Error> {
    let free: Vec<u16> = AGENT_PORTS.filter(|p| !used.contains(p)).collect();
    if free.is_empty() {
        return Ok(None);
    }
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes)?;
    let i = u32::from_le_bytes(bytes) as usize % free.len();
    Ok(free.get(i).copied())
}

/// Length and alphabet of a session id.
const ID_LEN: usize = 6;
const ID_ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A session id: 6 characters of [a-z0-9].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(String);

impl SessionId {
    /// A fresh random id.
    pub fn generate() -> Result<SessionId, getrandom::Error> {
        let mut id = String::with_capacity(ID_LEN);
        while id.len() < ID_LEN {
            let mut bytes = [0u8; 16];
            getrandom::fill(&mut bytes)?;
            // Rejection sampling keeps the distribution uniform (252 = 7 * 36).
            id.extend(bytes.iter().filter(|&&b| b < 252).map(|&b| ID_ALPHABET[usize::from(b % 36)] as char));
        }
        id.truncate(ID_LEN);
        Ok(SessionId(id))
    }

    /// Takes a user-given id, or a session namespace name (`shark-<id>`).
    pub fn parse(text: &str) -> Result<SessionId, String> {
        let id = text.strip_prefix("shark-").unwrap_or(text);
        if id.len() == ID_LEN && id.bytes().all(|b| ID_ALPHABET.contains(&b)) {
            Ok(SessionId(id.to_string()))
        } else {
            Err(format!("{text:?} is not a session id (6 characters a-z, 0-9, as `kubectl shark list` shows)"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The session's namespace.
    pub fn namespace(&self) -> String {
        format!("shark-{}", self.0)
    }

    /// Name of the hub's ClusterRole and ClusterRoleBinding.
    pub fn cluster_role(&self) -> String {
        format!("shark-{}-hub", self.0)
    }

    /// Label selector of every object of this session.
    pub fn selector(&self) -> String {
        format!("{MANAGED_BY}={MANAGED_BY_VALUE},{SESSION}={}", self.0)
    }
}

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Label selector of every object of every session.
pub fn all_sessions_selector() -> String {
    format!("{MANAGED_BY}={MANAGED_BY_VALUE}")
}

/// The labels of an object of `component`.
pub fn labels(id: &SessionId, component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY.to_string(), MANAGED_BY_VALUE.to_string()),
        (SESSION.to_string(), id.0.clone()),
        (COMPONENT.to_string(), component.to_string()),
    ])
}

/// Selector of the pods of `component` in a session.
pub fn component_selector(id: &SessionId, component: &str) -> String {
    format!("{},{COMPONENT}={component}", id.selector())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_six_lowercase_alphanumerics_and_differ() {
        let ids: Vec<SessionId> = (0..50).map(|_| SessionId::generate().expect("randomness")).collect();
        for id in &ids {
            assert_eq!(id.as_str().len(), 6, "{id}");
            assert!(id.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "{id}");
            assert_eq!(SessionId::parse(id.as_str()).as_ref(), Ok(id));
        }
        let distinct: std::collections::BTreeSet<_> = ids.iter().collect();
        // 36^6 ids: 50 draws collide with probability ~6e-7.
        assert_eq!(distinct.len(), ids.len());
    }

    #[test]
    fn ids_parse_from_the_id_or_the_namespace_only() {
        assert_eq!(SessionId::parse("shark-ab12cd").map(|i| i.namespace()), Ok("shark-ab12cd".to_string()));
        assert_eq!(SessionId::parse("ab12cd").map(|i| i.cluster_role()), Ok("shark-ab12cd-hub".to_string()));
        for bad in ["", "AB12CD", "ab12c", "ab12cde", "ab-2cd", "shark-", "kube-system"] {
            assert!(SessionId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn agent_ports_avoid_the_used_ones() {
        let used: Vec<u16> = AGENT_PORTS.filter(|p| *p != 9900).collect();
        assert_eq!(pick_agent_port(&used).expect("randomness"), Some(9900), "the only free one");
        let all: Vec<u16> = AGENT_PORTS.collect();
        assert_eq!(pick_agent_port(&all).expect("randomness"), None);
        for _ in 0..100 {
            let p = pick_agent_port(&[9781]).expect("randomness").expect("a port");
            assert!(AGENT_PORTS.contains(&p) && p != 9781, "{p}");
        }
    }

    #[test]
    fn selectors_name_managed_by_and_session() {
        let id = SessionId::parse("x1y2z3").expect("id");
        assert_eq!(id.selector(), "app.kubernetes.io/managed-by=kubectl-shark,kubectl-shark.io/session=x1y2z3");
        assert_eq!(
            component_selector(&id, COMPONENT_HUB),
            "app.kubernetes.io/managed-by=kubectl-shark,kubectl-shark.io/session=x1y2z3,app.kubernetes.io/component=hub"
        );
        let l = labels(&id, COMPONENT_AGENT);
        assert_eq!(l.get(COMPONENT).map(String::as_str), Some("node-agent"));
        assert_eq!(l.len(), 3);
    }
}
