//! gRPC over HTTP/2 (`"protocol": "grpc"`). The HTTP/2 session finds the calls (streams whose
//! `content-type` is `application/grpc*`) and hands their bytes to [`exchange`]; below it, the
//! session-free layer: the length-prefixed message framing of a stream's DATA bytes and its
//! decompression ([`message`]), schema-less protobuf decoding like `protoc --decode_raw`
//! ([`protobuf_raw`]), decoding with the user's .proto files ([`schema`]), the choice between
//! them for one message ([`view`]), and the status, message, timeout and metadata helpers
//! ([`status`]).

pub mod exchange;
pub mod message;
pub mod protobuf_raw;
pub mod schema;
pub mod status;
pub mod view;

use super::http2::Http2Dissector;
use super::registry::Protocol;
use super::settings::ProtocolSettings;
use super::StreamDissector;
use crate::redact::Secrets;

/// gRPC's registration. Its calls are found by the HTTP/2 dissector; its own stream dissector
/// only works when HTTP is disabled (see [`Http2Dissector::grpc_only`]).
pub const PROTOCOL: Protocol = Protocol {
    about: "gRPC over HTTP/2: unary and streaming calls, messages decoded (--proto-path for field names)",
    // Not HTTP exchanges as HAR and curl know them: `request.method` is the RPC's name, and the
    // bodies are length-prefixed protobuf.
    http_semantics: false,
    secrets: SECRETS,
    stream: Some(dissector),
    ..Protocol::named("grpc")
};

/// Metadata, trailers and headers whose keys look like credentials.
pub const SECRETS: Secrets = Secrets {
    pair_lists: &["metadata", "trailers", "headers"],
    is_secret_name: exchange::is_secret_metadata,
    fields: &[],
    find: None,
};

fn dissector(settings: &ProtocolSettings) -> Box<dyn StreamDissector> {
    Box::new(Http2Dissector::grpc_only(settings))
}
