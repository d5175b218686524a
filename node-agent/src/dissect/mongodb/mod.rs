//! MongoDB's wire protocol (`"protocol": "mongodb"`): OP_MSG (flag bits, body and document
//! sequences, checksum), OP_COMPRESSED (snappy, zlib, zstd; output capped), and the legacy
//! OP_QUERY/OP_REPLY of the first handshake. Documents are shown as Relaxed Extended JSON.
//!
//! Modules, one job each: [`bson`] (bounded BSON reader), [`wire`] (message layout, probing),
//! [`compress`], [`errors`] (error-code names and outcomes), `message` (one message to the
//! entry's JSON), `session` (framing and pairing per connection).
//!
//! # Exchanges
//!
//! One per command: `summary` "<command> <db>.<collection>" ("find shop.orders", "hello admin"),
//! `status` "OK" or the failure's `codeName` (also for write errors inside an `ok: 1` reply; named
//! from the error-code table when the reply carries only the number), sizes the whole messages.
//!
//! ```json
//! "request": {
//!   "command": "find", "database": "shop", "collection": "orders",
//!   "document": {"find": "orders", "filter": {"sku": "a"}, "$db": "shop"},
//!   "sequences": [{"identifier": "documents", "count": 250, "documents": [ ...first 10... ]}],
//!   "wire": {"op": "OP_MSG", "request_id": 7, "flags": ["exhaustAllowed"], "compressor": "zlib"}
//! },
//! "response": {
//!   "cursor": {"id": 0, "ns": "shop.orders", "firstBatch": [ ...first 10... ], "count": 101},
//!   "ok": 1.0, "n": 3, "errmsg": "...", "code": 11000, "codeName": "DuplicateKey", "writeErrors": [..],
//!   "wire": {"op": "OP_MSG", "request_id": 9, "response_to": 7}
//! }
//! ```
//! The response holds the reply document's own fields. Credentials (SASL payloads,
//! `authenticate` keys, `pwd` of user commands, speculative authentication) are redacted by the
//! registration's [`SECRETS`].

pub mod bson;
pub mod compress;
pub mod errors;
pub mod wire;

mod message;
mod session;

#[cfg(test)]
mod tests;

pub use message::{decode, reply_status, Decoded, DOCS_SHOWN};
pub use session::{MongoSession, MAX_PENDING};

use super::registry::Protocol;
use super::settings::ProtocolSettings;
use super::{FlowInfo, Probe, StreamDissector, StreamSession};
use crate::redact::Secrets;
use serde_json::Value;

/// The entries' protocol name.
pub const NAME: &str = "mongodb";

/// MongoDB's registration.
pub const PROTOCOL: Protocol = Protocol {
    about: "MongoDB wire protocol: OP_MSG, OP_COMPRESSED, legacy handshake; BSON as extended JSON",
    secrets: SECRETS,
    stream: Some(dissector),
    ..Protocol::named(NAME)
};

/// Where MongoDB entries keep credentials (found by [`find_secrets`]).
pub const SECRETS: Secrets =
    Secrets { pair_lists: &[], is_secret_name: |_| false, fields: &[], find: Some(find_secrets) };

/// Commands whose document carries credentials, and the fields that hold them.
const CREDENTIAL_FIELDS: &[(&str, &[&str])] = &[
    ("saslStart", &["payload"]),
    ("saslContinue", &["payload"]),
    ("authenticate", &["key", "nonce"]),
    ("createUser", &["pwd"]),
    ("updateUser", &["pwd"]),
    ("copydbsaslstart", &["payload"]),
];

/// JSON pointers of the credentials in a request or response object.
pub fn find_secrets(message: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let Value::Object(m) = message else { return found };
    if let Some(command) = m.get("command").and_then(Value::as_str) {
        let doc = m.get("document");
        for (name, fields) in CREDENTIAL_FIELDS {
            if command.eq_ignore_ascii_case(name) {
                for f in *fields {
                    if doc.and_then(|d| d.get(f)).is_some() {
                        found.push(format!("/document/{f}"));
                    }
                }
            }
        }
        if doc.and_then(|d| d.pointer("/speculativeAuthenticate/payload")).is_some() {
            found.push("/document/speculativeAuthenticate/payload".into());
        }
    } else {
        // A reply: SASL conversations carry the server's challenge in `payload`.
        if m.contains_key("conversationId") && m.contains_key("payload") {
            found.push("/payload".into());
        }
        if message.pointer("/speculativeAuthenticate/payload").is_some() {
            found.push("/speculativeAuthenticate/payload".into());
        }
    }
    found
}

/// The largest message kept whole (and decompressed), from the body limit.
pub fn max_frame(settings: &ProtocolSettings) -> usize {
    settings.body_limit.clamp(64 * 1024, wire::MAX_MESSAGE_LEN)
}

fn dissector(settings: &ProtocolSettings) -> Box<dyn StreamDissector> {
    Box::new(MongoDissector { max_frame: max_frame(settings) })
}

/// MongoDB over TCP, recognised by content on any port.
pub struct MongoDissector {
    pub max_frame: usize,
}

impl StreamDissector for MongoDissector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn probe(&self, _flow: &FlowInfo, data: &[u8]) -> Probe {
        match wire::plausible_start(data) {
            wire::Plausible::No => Probe::No,
            wire::Plausible::NeedMore => Probe::NeedMore,
            wire::Plausible::Client => Probe::Client,
            wire::Plausible::Server => Probe::Server,
        }
    }

    fn new_session(&self, flow: &FlowInfo) -> Box<dyn StreamSession> {
        Box::new(MongoSession::new(self.max_frame, !flow.saw_handshake))
    }
}
