//! What a session captures: pods whose names match a regex, in some namespaces or all of them
//! minus excluded ones. Parsed from the command line, written to the namespace's annotations and
//! the hub's flags, read back by `list`.

use super::names;
use regex::Regex;
use std::collections::BTreeMap;

/// Errors in a scope given on the command line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScopeError {
    #[error("pod name pattern {pattern:?} is not a regular expression: {reason}")]
    Regex { pattern: String, reason: String },
    #[error("{0:?} is not a namespace name (lowercase letters, digits and '-', at most 63)")]
    Namespace(String),
    #[error("-A (all namespaces) and -n/--namespace exclude each other")]
    AllAndSome,
    #[error("--exclude-namespace only makes sense with -A (all namespaces)")]
    ExcludeWithoutAll,
}

/// Which namespaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Namespaces {
    All { exclude: Vec<String> },
    Only(Vec<String>),
}

/// A session's scope.
#[derive(Debug, Clone)]
pub struct Scope {
    pub pattern: String,
    regex: Regex,
    pub namespaces: Namespaces,
}

/// The pattern used when none is given (every pod).
pub const MATCH_ALL: &str = ".*";

impl Scope {
    /// From the command line: `pattern` (unanchored, as `grep`), `-n` namespaces, `-A`, and
    /// `--exclude-namespace`; no namespace at all means `default_namespace` (kubectl's rule).
    pub fn new(
        pattern: Option<&str>,
        namespaces: &[String],
        all: bool,
        exclude: &[String],
        default_namespace: &str,
    ) -> Result<Scope, ScopeError> {
        let pattern = pattern.filter(|p| !p.is_empty()).unwrap_or(MATCH_ALL).to_string();
        let regex =
            Regex::new(&pattern).map_err(|e| ScopeError::Regex { pattern: pattern.clone(), reason: e.to_string() })?;
        for ns in namespaces.iter().chain(exclude) {
            if !is_dns_label(ns) {
                return Err(ScopeError::Namespace(ns.clone()));
            }
        }
        let namespaces = match (all, namespaces.is_empty(), exclude.is_empty()) {
            (true, false, _) => return Err(ScopeError::AllAndSome),
            (false, _, false) => return Err(ScopeError::ExcludeWithoutAll),
            (true, true, _) => Namespaces::All { exclude: dedup(exclude) },
            (false, true, true) => Namespaces::Only(vec![default_namespace.to_string()]),
            (false, false, true) => Namespaces::Only(dedup(namespaces)),
        };
        Ok(Scope { pattern, regex, namespaces })
    }

    /// Whether pod `name` in `namespace` is captured. Session namespaces are never in scope.
    pub fn matches(&self, namespace: &str, name: &str) -> bool {
        let ns_ok = match &self.namespaces {
            Namespaces::All { exclude } => {
                !exclude.iter().any(|e| e == namespace) && super::names::SessionId::parse(namespace).is_err()
            }
            Namespaces::Only(list) => list.iter().any(|n| n == namespace),
        };
        ns_ok && self.regex.is_match(name)
    }

    /// The hub's flags for this scope.
    pub fn hub_args(&self) -> Vec<String> {
        let mut args = vec!["--scope-regex".to_string(), self.pattern.clone()];
        match &self.namespaces {
            Namespaces::All { exclude } => {
                args.push("--all-namespaces".into());
                for ns in exclude {
                    args.extend(["--exclude-namespace".to_string(), ns.clone()]);
                }
            }
            Namespaces::Only(list) => {
                for ns in list {
                    args.extend(["--scope-namespace".to_string(), ns.clone()]);
                }
            }
        }
        args
    }

    /// The namespace annotations recording this scope.
    pub fn annotations(&self) -> BTreeMap<String, String> {
        let (namespaces, exclude) = match &self.namespaces {
            Namespaces::All { exclude } => ("*".to_string(), exclude.join(",")),
            Namespaces::Only(list) => (list.join(","), String::new()),
        };
        BTreeMap::from([
            (names::ANN_SCOPE_REGEX.to_string(), self.pattern.clone()),
            (names::ANN_SCOPE_NAMESPACES.to_string(), namespaces),
            (names::ANN_EXCLUDE_NAMESPACES.to_string(), exclude),
        ])
    }

    /// Reads a scope back from namespace annotations (None when they are missing or damaged).
    pub fn from_annotations(annotations: &BTreeMap<String, String>) -> Option<Scope> {
        let pattern = annotations.get(names::ANN_SCOPE_REGEX)?;
        let namespaces = annotations.get(names::ANN_SCOPE_NAMESPACES)?;
        let split = |s: &str| s.split(',').filter(|n| !n.is_empty()).map(str::to_string).collect::<Vec<_>>();
        let exclude = annotations.get(names::ANN_EXCLUDE_NAMESPACES).map(|s| split(s)).unwrap_or_default();
        if namespaces == "*" {
            Scope::new(Some(pattern), &[], true, &exclude, "").ok()
        } else {
            let list = split(namespaces);
            if list.is_empty() {
                return None;
            }
            Scope::new(Some(pattern), &list, false, &[], "").ok()
        }
    }

    /// One line for people: `"server|client" in test` / `every pod in all namespaces except a, b`.
    pub fn describe(&self) -> String {
        let pods =
            if self.pattern == MATCH_ALL { "every pod".to_string() } else { format!("pods ~ {:?}", self.pattern) };
        match &self.namespaces {
            Namespaces::All { exclude } if exclude.is_empty() => format!("{pods} in all namespaces"),
            Namespaces::All { exclude } => format!("{pods} in all namespaces except {}", exclude.join(", ")),
            Namespaces::Only(list) => format!("{pods} in {}", list.join(", ")),
        }
    }
}

/// RFC 1123 label: what a namespace name must be.
fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

fn dedup(list: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for n in list {
        if !out.contains(n) {
            out.push(n.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn default_namespace_applies_without_n_or_a() {
        let scope = Scope::new(None, &[], false, &[], "team-a").expect("scope");
        assert_eq!(scope.namespaces, Namespaces::Only(s(&["team-a"])));
        assert!(scope.matches("team-a", "anything"));
        assert!(!scope.matches("team-b", "anything"));
        assert_eq!(scope.hub_args(), s(&["--scope-regex", ".*", "--scope-namespace", "team-a"]));
    }

    #[test]
    fn the_pattern_searches_unanchored_like_grep() {
        let scope = Scope::new(Some("server|client"), &s(&["test", "test"]), false, &[], "default").expect("scope");
        assert_eq!(scope.namespaces, Namespaces::Only(s(&["test"])), "duplicates dropped");
        assert!(scope.matches("test", "server-7d9f-abcde"));
        assert!(scope.matches("test", "my-client"));
        assert!(!scope.matches("test", "database-0"));
        assert!(!scope.matches("default", "server"));
        let anchored = Scope::new(Some("^api-"), &s(&["x"]), false, &[], "d").expect("scope");
        assert!(anchored.matches("x", "api-1") && !anchored.matches("x", "my-api-1"));
    }

    #[test]
    fn all_namespaces_exclude_the_excluded_and_sessions() {
        let scope = Scope::new(None, &[], true, &s(&["kube-system"]), "default").expect("scope");
        assert!(scope.matches("default", "p"));
        assert!(!scope.matches("kube-system", "p"));
        assert!(!scope.matches("shark-ab12cd", "shark-hub-xyz"), "never capture a session's own pods");
        assert_eq!(
            scope.hub_args(),
            s(&["--scope-regex", ".*", "--all-namespaces", "--exclude-namespace", "kube-system"])
        );
    }

    #[test]
    fn bad_scopes_are_refused_with_the_reason() {
        assert!(matches!(Scope::new(Some("(unclosed"), &[], false, &[], "d"), Err(ScopeError::Regex { .. })));
        assert_eq!(
            Scope::new(None, &s(&["Bad_NS"]), false, &[], "d").err(),
            Some(ScopeError::Namespace("Bad_NS".into()))
        );
        assert_eq!(Scope::new(None, &s(&["a"]), true, &[], "d").err(), Some(ScopeError::AllAndSome));
        assert_eq!(Scope::new(None, &[], false, &s(&["a"]), "d").err(), Some(ScopeError::ExcludeWithoutAll));
        assert_eq!(Scope::new(None, &s(&["-a"]), false, &[], "d").err(), Some(ScopeError::Namespace("-a".into())));
        let long = "a".repeat(64);
        assert_eq!(
            Scope::new(None, std::slice::from_ref(&long), false, &[], "d").err(),
            Some(ScopeError::Namespace(long))
        );
    }

    #[test]
    fn annotations_round_trip() {
        for scope in [
            Scope::new(Some("web|api"), &s(&["a", "b"]), false, &[], "d").expect("scope"),
            Scope::new(None, &[], true, &s(&["kube-system", "x"]), "d").expect("scope"),
            Scope::new(None, &[], true, &[], "d").expect("scope"),
        ] {
            let back = Scope::from_annotations(&scope.annotations()).expect("readable");
            assert_eq!(back.pattern, scope.pattern);
            assert_eq!(back.namespaces, scope.namespaces);
            assert_eq!(back.describe(), scope.describe());
        }
        assert!(Scope::from_annotations(&BTreeMap::new()).is_none());
        let mut damaged = Scope::new(None, &[], true, &[], "d").expect("scope").annotations();
        damaged.insert(names::ANN_SCOPE_REGEX.into(), "(".into());
        assert!(Scope::from_annotations(&damaged).is_none());
    }

    #[test]
    fn descriptions() {
        let scope = Scope::new(Some("web"), &s(&["a", "b"]), false, &[], "d").expect("scope");
        assert_eq!(scope.describe(), "pods ~ \"web\" in a, b");
        let all = Scope::new(None, &[], true, &s(&["kube-system"]), "d").expect("scope");
        assert_eq!(all.describe(), "every pod in all namespaces except kube-system");
    }
}
