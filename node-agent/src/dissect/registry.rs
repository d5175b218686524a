//! The protocols the engine knows. Adding a protocol: one module under `dissect/` that defines its
//! [`Protocol`] (name, dissectors, secrets, what exports it joins) and one line in [`PROTOCOLS`].
//! Everything downstream — the hub's views, the CLI, redaction, `--protocols` — asks this table
//! instead of naming protocols.

use super::settings::{ProtocolSettings, UnknownProtocol};
use super::{DatagramDissector, StreamDissector};
use crate::redact::Secrets;

/// Builds a protocol's TCP (byte-stream) dissector from the settings.
pub type StreamBuilder = fn(&ProtocolSettings) -> Box<dyn StreamDissector>;
/// Builds a protocol's UDP dissector from the settings.
pub type DatagramBuilder = fn(&ProtocolSettings) -> Box<dyn DatagramDissector>;
/// Names what the client of an entry does, from its request, where the protocol has roles (a broker's
/// producers and consumers): `"produce"`, `"consume"`, or `None` for requests of neither kind.
pub type RoleOf = fn(&serde_json::Value) -> Option<&'static str>;

/// One protocol's registration.
pub struct Protocol {
    /// The entries' `protocol` and the name `--protocols` takes. Several registrations may share a
    /// name (HTTP/1 and HTTP/2 both make `"http"` entries): they are enabled together.
    pub name: &'static str,
    /// One line for `--help` and the docs.
    pub about: &'static str,
    /// Its entries are HTTP exchanges (HAR export, copy as curl).
    pub http_semantics: bool,
    /// Where its entries keep credentials.
    pub secrets: Secrets,
    /// Its TCP (in-order byte stream) dissector, probed in the order of [`PROTOCOLS`].
    pub stream: Option<StreamBuilder>,
    /// Its UDP dissector.
    pub datagram: Option<DatagramBuilder>,
    /// The role of a client in the service map (brokers: producer or consumer), from the request.
    pub role: Option<RoleOf>,
}

impl Protocol {
    /// A registration with nothing but a name: the base of `Protocol { .., ..Protocol::named(n) }`.
    pub const fn named(name: &'static str) -> Protocol {
        Protocol {
            name,
            about: "",
            http_semantics: false,
            secrets: Secrets::NONE,
            stream: None,
            datagram: None,
            role: None,
        }
    }
}

/// Every protocol, in probing order (the first dissector to recognise a connection gets it).
pub static PROTOCOLS: &[Protocol] = &[
    super::http1::PROTOCOL,
    super::http2::PROTOCOL,
    super::grpc::PROTOCOL,
    super::websocket::PROTOCOL,
    super::mysql::PROTOCOL,
    super::redis::PROTOCOL,
    super::postgresql::PROTOCOL,
    super::amqp::PROTOCOL,
    super::kafka::PROTOCOL,
    super::mongodb::PROTOCOL,
    super::dns::PROTOCOL,
];

/// The registration of the protocol whose entries are named `name`.
pub fn protocol(name: &str) -> Option<&'static Protocol> {
    PROTOCOLS.iter().find(|p| p.name == name)
}

/// The distinct entry protocol names, in registration order.
pub fn names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for p in PROTOCOLS {
        if !names.contains(&p.name) {
            names.push(p.name);
        }
    }
    names
}

/// Parses a `--protocols` list into settings' `enabled`.
pub fn parse_enabled(list: &str) -> Result<Option<Vec<String>>, UnknownProtocol> {
    ProtocolSettings::parse_enabled(list, &names())
}

/// Whether entries of this protocol are HTTP exchanges (HAR, copy as curl).
pub fn has_http_semantics(name: &str) -> bool {
    PROTOCOLS.iter().any(|p| p.name == name && p.http_semantics)
}

/// What the client of an entry of protocol `name` does (`"produce"`, `"consume"`), where the protocol
/// says: the service map groups a broker's clients by it.
pub fn role_of(name: &str, request: &serde_json::Value) -> Option<&'static str> {
    PROTOCOLS.iter().filter(|p| p.name == name).find_map(|p| p.role.and_then(|role| role(request)))
}

/// TCP dissectors of the enabled protocols, in probing order.
pub fn stream_dissectors(settings: &ProtocolSettings) -> Vec<Box<dyn StreamDissector>> {
    PROTOCOLS
        .iter()
        .filter(|p| settings.is_enabled(p.name))
        .filter_map(|p| p.stream.map(|make| make(settings)))
        .collect()
}

/// UDP dissectors of the enabled protocols, in probing order.
pub fn datagram_dissectors(settings: &ProtocolSettings) -> Vec<Box<dyn DatagramDissector>> {
    PROTOCOLS
        .iter()
        .filter(|p| settings.is_enabled(p.name))
        .filter_map(|p| p.datagram.map(|make| make(settings)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lowercase_and_dissector_names_unique() {
        for name in names() {
            assert_eq!(name, name.to_ascii_lowercase());
        }
        let settings = ProtocolSettings::default();
        let mut seen = Vec::new();
        for d in stream_dissectors(&settings) {
            assert!(!seen.contains(&d.name()), "two stream dissectors named {}", d.name());
            seen.push(d.name());
        }
    }

    #[test]
    fn disabled_protocols_get_no_dissector() {
        let only_dns = ProtocolSettings { enabled: Some(vec!["dns".into()]), ..ProtocolSettings::default() };
        let names: Vec<_> = stream_dissectors(&only_dns).iter().map(|d| d.name()).collect();
        assert_eq!(names, vec!["dns"]);
        assert_eq!(datagram_dissectors(&only_dns).len(), 1);
        let only_http = ProtocolSettings { enabled: Some(vec!["http".into()]), ..ProtocolSettings::default() };
        assert!(datagram_dissectors(&only_http).is_empty());
    }
}
