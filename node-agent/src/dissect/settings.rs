//! What the user chose about protocols, in one place: which are enabled (`--protocols`) and the
//! limits every dissector applies (body bytes kept, concurrent streams or pending requests per
//! connection), plus protocol-specific inputs such as gRPC schemas. The registry hands these to
//! each dissector it builds.

use std::path::PathBuf;
use thiserror::Error;

/// Protocol settings shared by all dissectors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolSettings {
    /// Entry protocol names to dissect (`"http"`, `"dns"`, ...); `None` means all of them.
    pub enabled: Option<Vec<String>>,
    /// Decoded body (payload) bytes kept per message; the size still counts every byte.
    pub body_limit: usize,
    /// Exchanges in progress per connection (HTTP/1 pipelined requests, HTTP/2 streams, ...):
    /// beyond it the oldest is reported as it stands.
    pub max_streams: usize,
    /// Directory of `.proto` files for gRPC bodies with field names (`--proto-path`).
    pub proto_path: Option<PathBuf>,
}

impl Default for ProtocolSettings {
    fn default() -> Self {
        ProtocolSettings { enabled: None, body_limit: 1 << 20, max_streams: 256, proto_path: None }
    }
}

/// A `--protocols` list that names something the registry does not know.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("unknown protocol {name:?} in --protocols (known: {known})")]
pub struct UnknownProtocol {
    pub name: String,
    pub known: String,
}

impl ProtocolSettings {
    /// Whether the protocol whose entries are named `name` is enabled.
    pub fn is_enabled(&self, name: &str) -> bool {
        self.enabled.as_ref().is_none_or(|list| list.iter().any(|n| n == name))
    }

    /// Parses a comma-separated `--protocols` list against the known names (`all` enables every
    /// protocol). Names are case-insensitive; an empty list is an error, not "nothing".
    pub fn parse_enabled(list: &str, known: &[&str]) -> Result<Option<Vec<String>>, UnknownProtocol> {
        let mut names: Vec<String> = Vec::new();
        for raw in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let name = raw.to_ascii_lowercase();
            if name == "all" {
                return Ok(None);
            }
            if !known.contains(&name.as_str()) {
                return Err(UnknownProtocol { name: raw.to_owned(), known: known.join(", ") });
            }
            if !names.contains(&name) {
                names.push(name);
            }
        }
        if names.is_empty() {
            return Err(UnknownProtocol { name: list.to_owned(), known: known.join(", ") });
        }
        Ok(Some(names))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_refuses_unknown_names() {
        let known = ["http", "dns", "grpc"];
        assert_eq!(
            ProtocolSettings::parse_enabled("http, DNS,http", &known),
            Ok(Some(vec!["http".into(), "dns".into()]))
        );
        assert_eq!(ProtocolSettings::parse_enabled("all", &known), Ok(None));
        let err = ProtocolSettings::parse_enabled("http,smtp", &known).unwrap_err();
        assert_eq!(err.name, "smtp");
        assert!(err.to_string().contains("known: http, dns, grpc"), "{err}");
        assert!(ProtocolSettings::parse_enabled(" , ", &known).is_err());
    }

    #[test]
    fn everything_is_enabled_by_default() {
        let s = ProtocolSettings::default();
        assert!(s.is_enabled("http") && s.is_enabled("anything"));
        let s = ProtocolSettings { enabled: Some(vec!["dns".into()]), ..ProtocolSettings::default() };
        assert!(s.is_enabled("dns") && !s.is_enabled("http"));
    }
}
