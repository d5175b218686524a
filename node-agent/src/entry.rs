//! The entry: one exchange (a request and its response, if any) seen on the wire.
//! The JSON form is documented in docs/entry.md; everything that leaves the engine is an [`Entry`].

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// One side of an exchange. The names are filled by a resolver (in the cluster) and stay absent otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

impl Endpoint {
    pub fn new(ip: IpAddr, port: u16) -> Self {
        Endpoint { ip, port, pod: None, namespace: None, service: None, node: None }
    }
}

/// The transport an exchange travelled on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Tcp,
    Udp,
}

/// Whether an exchange succeeded, the same way for every protocol (docs/entry.md, "Outcome").
/// Set by the protocol's dissector from its own status; everything downstream (service map, stats,
/// the dashboard's colours, the filter's `outcome`) reads this instead of interpreting `status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The exchange did what was asked (HTTP 1xx-3xx, DNS NOERROR/NXDOMAIN, gRPC OK, a message delivered).
    #[default]
    Ok,
    /// It failed, and the protocol says the client is at fault (HTTP 4xx, gRPC INVALID_ARGUMENT).
    ClientError,
    /// It failed, and the protocol says the server is at fault (HTTP 5xx, DNS SERVFAIL, gRPC INTERNAL).
    ServerError,
    /// It failed without the protocol saying whose fault (a reset stream, a cut connection).
    Error,
    /// No response was seen (connection closed, capture ended, timeout, lost to a capture gap).
    NoResponse,
}

impl Outcome {
    pub const ALL: [Outcome; 5] =
        [Outcome::Ok, Outcome::ClientError, Outcome::ServerError, Outcome::Error, Outcome::NoResponse];

    /// The name as it appears in JSON and in filters.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::ClientError => "client_error",
            Outcome::ServerError => "server_error",
            Outcome::Error => "error",
            Outcome::NoResponse => "no_response",
        }
    }

    /// Counted as a failure of the server side in error rates (the service map, stats): a server
    /// error, an error of unknown fault, or no answer at all. Client errors are the caller's.
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::ServerError | Outcome::Error | Outcome::NoResponse)
    }
}

/// One exchange. `request` and `response` are protocol-defined JSON objects (see docs/entry.md);
/// the engine and everything downstream of it treat them as data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Unique within a session: `<source id>-<sequence>`.
    pub id: String,
    /// Lowercase protocol name, e.g. "http", "dns".
    pub protocol: String,
    pub transport: Transport,
    /// Time of the first request byte.
    pub ts: Timestamp,
    /// Microseconds from the first request byte to the last response byte; null without response.
    pub elapsed_us: Option<u64>,
    /// The client (the side that sent the request).
    pub src: Endpoint,
    /// The server.
    pub dst: Endpoint,
    /// One line a person reads in a list: e.g. "GET /api/items" or "A example.com".
    pub summary: String,
    /// The outcome in the protocol's words, e.g. "200" or "NXDOMAIN"; null without response.
    pub status: Option<String>,
    /// The outcome in common words, set by the protocol from `status` (see [`Outcome`]).
    #[serde(default)]
    pub outcome: Outcome,
    /// The bytes were read as plaintext from a TLS library (eBPF), not from packets on the wire.
    #[serde(default)]
    pub tls: bool,
    /// Bytes of the request and response messages on the wire (application layer).
    pub request_size: u64,
    pub response_size: u64,
    pub request: serde_json::Value,
    pub response: Option<serde_json::Value>,
    /// Anything the dissector noticed that a reader should know (e.g. "request body truncated").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Entry {
    /// Approximate heap size of an entry: its strings and the JSON of request and response.
    pub fn approx_size(&self) -> usize {
        fn value(v: &serde_json::Value) -> usize {
            match v {
                serde_json::Value::String(s) => s.len() + 24,
                serde_json::Value::Array(a) => 24 + a.iter().map(value).sum::<usize>(),
                serde_json::Value::Object(o) => 24 + o.iter().map(|(k, v)| k.len() + 24 + value(v)).sum::<usize>(),
                _ => 16,
            }
        }
        let names = |e: &Endpoint| {
            [&e.pod, &e.namespace, &e.service, &e.node].iter().map(|s| s.as_ref().map_or(0, |s| s.len())).sum::<usize>()
        };
        256 + self.id.len()
            + self.summary.len()
            + names(&self.src)
            + names(&self.dst)
            + value(&self.request)
            + self.response.as_ref().map_or(0, value)
            + self.notes.iter().map(|n| n.len() + 24).sum::<usize>()
    }
}
