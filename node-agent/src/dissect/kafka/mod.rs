//! Kafka (the Apache Kafka wire protocol, <https://kafka.apache.org/protocol>), over TCP on any port.
//!
//! Modules, one job each:
//! - [`wire`]: primitive types (classic and compact encodings, varints, tagged fields),
//! - [`codes`]: API key and error code names, the outcome of an error code,
//! - [`schema`]: the layouts of the APIs whose bodies are decoded, per version,
//! - `decode`: headers, and bodies walked along their layout into JSON,
//! - [`records`]: record batches (v2) and legacy message sets, decompression with a cap,
//! - `probe`: recognising a request from content, `exchange`: entries, `session`: pairing.
//!
//! # Exchanges
//!
//! One per request: `summary` is the API and the topics it names ("Produce orders",
//! "Fetch orders, payments", "ApiVersions"); `status` is `"NONE"` or the name of the first
//! non-zero error code in the response, in wire order ("UNKNOWN_TOPIC_OR_PARTITION"); null
//! when there is no response or its body is not decoded. `outcome` follows
//! [`codes::error_outcome`]; a Produce with `acks=0` (no response by design) is `ok` at once.
//! Sizes are whole messages with their 4-byte size prefix.
//!
//! ```json
//! "request": {
//!   "api": "Produce", "api_key": 0, "api_version": 9, "correlation_id": 7, "client_id": "app",
//!   "topics": ["orders"],                      // every topic the request names, in order
//!   "transactional_id": null, "acks": -1, "timeout_ms": 30000,
//!   "topic_data": [{"name": "orders", "partitions": [{"partition": 0, "records": {
//!       "size": 90, "batches": [{"base_offset": 0, "compression": "gzip", "record_count": 1, ...,
//!         "records": [{"offset": 0, "timestamp": 1700000000000, "key": "k1", "value": "v1",
//!                      "headers": [["trace", "abc"]]}]}]}}]}]
//! },
//! "response": {
//!   "correlation_id": 7, "throttle_time_ms": 0,
//!   "topic_data": [{"name": "orders", "partitions": [{"partition": 0, "error_code": 0,
//!                   "base_offset": 42, ...}]}]
//! }
//! ```
//! Bodies are decoded for the APIs of [`schema`] (Produce, Fetch, ListOffsets, Metadata,
//! OffsetCommit, OffsetFetch, FindCoordinator, JoinGroup, Heartbeat, LeaveGroup, SyncGroup,
//! SaslHandshake, ApiVersions, CreateTopics, DeleteTopics, InitProducerId, SaslAuthenticate);
//! their fields are the message definitions' names in snake_case (topic arrays are
//! `topic_data`, partition indexes `partition`), a non-zero `error_code` gets its name beside
//! it (`"error": "NOT_LEADER_OR_FOLLOWER"`). Other APIs show the header fields only. Keys,
//! values and header values are text when UTF-8, else `{"base64": ...}`; those of one message
//! share the body limit (`key_size` / `value_size` give the length of what was cut); `bytes`
//! fields are base64 (first 4 KiB).
//! `auth_bytes` (SaslAuthenticate) is a credential, redacted by default.

pub mod codes;
pub mod records;
pub mod schema;
pub mod wire;

mod decode;
mod exchange;
mod probe;
mod session;

#[cfg(test)]
mod tests;

pub use session::{KafkaSession, MAX_DECOMPRESSED, MAX_FRAME, MAX_RECORDS_SHOWN};

use super::registry::Protocol;
use super::settings::ProtocolSettings;
use super::{FlowInfo, Probe, StreamDissector, StreamSession};
use crate::redact::Secrets;

/// The entries' `protocol`.
pub const NAME: &str = "kafka";

/// Kafka's registration. SASL authentication bytes (PLAIN carries the password) are secrets.
pub const PROTOCOL: Protocol = Protocol {
    about: "Apache Kafka (requests paired with responses, record batches decoded)",
    secrets: Secrets { fields: &["auth_bytes"], ..Secrets::NONE },
    stream: Some(dissector),
    role: Some(role),
    ..Protocol::named(NAME)
};

fn dissector(settings: &ProtocolSettings) -> Box<dyn StreamDissector> {
    Box::new(KafkaDissector { settings: settings.clone() })
}

/// The part a Kafka exchange plays around a broker, for a service map: a Produce request
/// `"produce"`s, a Fetch `"consume"`s (followers fetch too, with a `replica_id` >= 0; those are
/// replication, not consumption, and get none).
pub fn role(entry_request: &serde_json::Value) -> Option<&'static str> {
    match entry_request.get("api_key").and_then(serde_json::Value::as_i64)? {
        0 => Some("produce"),
        1 => {
            let replica = entry_request.get("replica_id").and_then(serde_json::Value::as_i64).unwrap_or(-1);
            (replica < 0).then_some("consume")
        }
        _ => None,
    }
}

pub struct KafkaDissector {
    settings: ProtocolSettings,
}

impl StreamDissector for KafkaDissector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn probe(&self, flow: &FlowInfo, data: &[u8]) -> Probe {
        probe::stream(data, !flow.saw_handshake)
    }

    fn new_session(&self, flow: &FlowInfo) -> Box<dyn StreamSession> {
        Box::new(KafkaSession::new(&self.settings, !flow.saw_handshake))
    }
}
