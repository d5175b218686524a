//! gRPC (over HTTP/2) message content, independent of any session: the length-prefixed message
//! framing of a stream's DATA bytes and its decompression ([`message`]), schema-less protobuf
//! decoding like `protoc --decode_raw` ([`protobuf_raw`]), decoding with the user's .proto files
//! ([`schema`]), the choice between them for one message ([`view`]), and the status, message,
//! timeout and metadata helpers ([`status`]).

pub mod message;
pub mod protobuf_raw;
pub mod schema;
pub mod status;
pub mod view;
