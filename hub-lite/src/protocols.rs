//! The protocol catalogue, for `GET /api/v1/protocols` (docs/api.md): what the engine's registry
//! (`node_agent::dissect::registry`) knows, one element per entry protocol name in registration
//! order. Clients ask this instead of naming protocols: the dashboard offers "copy as curl" for the
//! protocols with HTTP semantics, and a protocol added to the registry shows up here by itself.

use node_agent::dissect::registry::{self, Protocol};
use serde::Serialize;

/// One entry protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProtocolInfo {
    /// The entries' `protocol`.
    pub name: &'static str,
    /// One line about it (the first non-empty one among registrations sharing the name).
    pub about: &'static str,
    /// Its entries are HTTP exchanges (HAR export, copy as curl).
    pub http_semantics: bool,
}

/// The registry's distinct entry protocol names, in registration order.
pub fn catalogue() -> Vec<ProtocolInfo> {
    catalogue_of(registry::PROTOCOLS)
}

/// The catalogue of `protocols`: registrations sharing a name (HTTP/1 and HTTP/2 both make `http`
/// entries) are one element, with HTTP semantics when any of them has them.
fn catalogue_of(protocols: &[Protocol]) -> Vec<ProtocolInfo> {
    let mut out: Vec<ProtocolInfo> = Vec::new();
    for p in protocols {
        match out.iter_mut().find(|i| i.name == p.name) {
            Some(info) => {
                info.http_semantics |= p.http_semantics;
                if info.about.is_empty() {
                    info.about = p.about;
                }
            }
            None => out.push(ProtocolInfo { name: p.name, about: p.about, http_semantics: p.http_semantics }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_element_per_name_in_registration_order() {
        let got = catalogue();
        let names: Vec<&str> = got.iter().map(|p| p.name).collect();
        assert_eq!(names, registry::names());
        for p in &got {
            assert_eq!(p.http_semantics, registry::has_http_semantics(p.name), "{}", p.name);
        }
    }

    #[test]
    fn registrations_sharing_a_name_merge() {
        let table = [
            Protocol { about: "HTTP/1.x", http_semantics: true, ..Protocol::named("web") },
            Protocol { about: "a resolver", ..Protocol::named("names") },
            Protocol { about: "HTTP/2", http_semantics: false, ..Protocol::named("web") },
            Protocol::named("quiet"),
            Protocol { about: "found later", ..Protocol::named("quiet") },
        ];
        let got = serde_json::to_value(catalogue_of(&table)).unwrap_or_default();
        let want = serde_json::json!([
            {"name": "web", "about": "HTTP/1.x", "http_semantics": true},
            {"name": "names", "about": "a resolver", "http_semantics": false},
            {"name": "quiet", "about": "found later", "http_semantics": false}
        ]);
        assert_eq!(got, want);
    }
}
