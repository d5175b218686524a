//! Decoding with the user's schema (`--proto-path DIR`): every .proto file under DIR is compiled
//! at run time with protox (no protoc binary) into one descriptor pool; a gRPC method is looked up
//! from its HTTP/2 path (`/package.Service/Method`), and its request and response messages are
//! decoded to the proto3 JSON mapping (prost-reflect's serde support: lowerCamelCase JSON names,
//! 64-bit integers as strings, enums by name, bytes as base64, default values left out), as
//! protobuf's own `MessageToJson` does.
//!
//! Problems are reported, never fatal: a file that does not compile is left out (the others are
//! kept, and [`ProtoSchema::problems`] says what went wrong where); an unknown method or a
//! message that does not match its type is an error the caller answers with the schema-less
//! decoding.

use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, MethodDescriptor, SerializeOptions, Value};
use serde_json::Value as Json;
use std::io;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Directory levels searched under the proto path (symbolic links are followed, so loops end here).
const MAX_DIR_DEPTH: usize = 32;
/// Most .proto files compiled from one proto path.
const MAX_FILES: usize = 10_000;
/// Longest JSON form of one message; a longer one is an error (the caller shows it raw).
pub const DEFAULT_MAX_JSON: usize = 8 << 20;

#[derive(Debug, Error)]
pub enum SchemaError {
    #[error("--proto-path {}: {source}", dir.display())]
    ReadDir { dir: PathBuf, source: io::Error },
    #[error("--proto-path {}: no .proto file in it", .0.display())]
    NoProtoFiles(PathBuf),
    #[error("--proto-path {}: more than {MAX_FILES} .proto files", .0.display())]
    TooManyFiles(PathBuf),
    #[error("--proto-path {}: none of its .proto files compiled; first problem: {first}", dir.display())]
    NothingCompiled { dir: PathBuf, first: String },
    #[error("gRPC path {0:?} is not of the form /package.Service/Method")]
    BadPath(String),
    #[error("no service {0} in the .proto files")]
    UnknownService(String),
    #[error("service {service} has no method {method}")]
    UnknownMethod { service: String, method: String },
    #[error("message does not decode as {message}: {detail}")]
    Mismatch { message: String, detail: String },
    #[error("{message} as JSON is longer than {limit} bytes")]
    JsonTooLarge { message: String, limit: usize },
}

/// The descriptors compiled from a proto path.
#[derive(Clone, Debug)]
pub struct ProtoSchema {
    pool: DescriptorPool,
    /// Files that did not compile: "file:line:column: what" (or as precise as protox tells).
    problems: Vec<String>,
}

impl ProtoSchema {
    /// Compiles every `.proto` file under `dir` (recursively; imports are resolved from `dir`, and
    /// the google/protobuf well-known files are built in). Files that fail are left out and listed
    /// in [`ProtoSchema::problems`]; it is an error only when none compiles.
    pub fn load(dir: &Path) -> Result<ProtoSchema, SchemaError> {
        let mut files = Vec::new();
        find_protos(dir, 0, &mut files).map_err(|source| SchemaError::ReadDir { dir: dir.to_owned(), source })?;
        if files.len() > MAX_FILES {
            return Err(SchemaError::TooManyFiles(dir.to_owned()));
        }
        if files.is_empty() {
            return Err(SchemaError::NoProtoFiles(dir.to_owned()));
        }
        files.sort();
        let mut compiler = protox::Compiler::new([dir])
            .map_err(|e| SchemaError::ReadDir { dir: dir.to_owned(), source: io_error(e) })?;
        compiler.include_imports(true);
        let mut problems = Vec::new();
        let mut compiled = 0;
        for file in &files {
            match compiler.open_file(file) {
                Ok(_) => compiled += 1,
                // protox's Debug form is the precise one: "file.proto:3:5: what".
                Err(e) => problems.push(format!("{e:?}")),
            }
        }
        if compiled == 0 {
            let first = problems.first().cloned().unwrap_or_default();
            return Err(SchemaError::NothingCompiled { dir: dir.to_owned(), first });
        }
        Ok(ProtoSchema { pool: compiler.descriptor_pool(), problems })
    }

    /// A schema over an existing descriptor pool.
    pub fn from_pool(pool: DescriptorPool) -> ProtoSchema {
        ProtoSchema { pool, problems: Vec::new() }
    }

    /// The files that did not compile, and why.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    pub fn pool(&self) -> &DescriptorPool {
        &self.pool
    }

    /// The method of a gRPC request's `:path`, `/package.Service/Method`.
    pub fn method(&self, path: &str) -> Result<MethodSchema, SchemaError> {
        let (service, method) = path
            .strip_prefix('/')
            .and_then(|p| p.split_once('/'))
            .filter(|(s, m)| !s.is_empty() && !m.is_empty() && !m.contains('/'))
            .ok_or_else(|| SchemaError::BadPath(path.to_owned()))?;
        let svc =
            self.pool.get_service_by_name(service).ok_or_else(|| SchemaError::UnknownService(service.to_owned()))?;
        let found = svc.methods().find(|m| m.name() == method);
        let descriptor = found
            .ok_or_else(|| SchemaError::UnknownMethod { service: service.to_owned(), method: method.to_owned() })?;
        Ok(MethodSchema { descriptor })
    }

    /// A message type by its full name (`package.Message`).
    pub fn message(&self, full_name: &str) -> Option<MessageDescriptor> {
        self.pool.get_message_by_name(full_name)
    }
}

/// Adds the .proto files under `dir` to `out` (stopping once there are more than [`MAX_FILES`]).
fn find_protos(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        if out.len() > MAX_FILES {
            return Ok(());
        }
        let path = entry?.path();
        // Follows symbolic links; a dangling one is skipped.
        let Ok(meta) = std::fs::metadata(&path) else { continue };
        if meta.is_dir() && depth < MAX_DIR_DEPTH {
            find_protos(&path, depth + 1, out)?;
        } else if meta.is_file() && path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
    Ok(())
}

fn io_error(e: protox::Error) -> io::Error {
    io::Error::other(format!("{e:?}"))
}

/// Which message of a method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Request,
    Response,
}

/// A method found in the schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MethodSchema {
    descriptor: MethodDescriptor,
}

impl MethodSchema {
    /// `package.Service`.
    pub fn service(&self) -> &str {
        self.descriptor.parent_service().full_name()
    }

    pub fn name(&self) -> &str {
        self.descriptor.name()
    }

    pub fn client_streaming(&self) -> bool {
        self.descriptor.is_client_streaming()
    }

    pub fn server_streaming(&self) -> bool {
        self.descriptor.is_server_streaming()
    }

    /// The message type of the request or the response.
    pub fn message(&self, role: Role) -> MessageDescriptor {
        match role {
            Role::Request => self.descriptor.input(),
            Role::Response => self.descriptor.output(),
        }
    }
}

/// A message decoded with its type.
#[derive(Clone, Debug, PartialEq)]
pub struct SchemaDecoded {
    /// The proto3 JSON form.
    pub json: Json,
    /// Fields (at any depth) whose numbers the type does not have: a sign of an outdated or wrong
    /// schema. They are not in `json`.
    pub unknown_fields: usize,
}

/// Decodes `bytes` as a `message` into the proto3 JSON mapping, at most `max_json` bytes of it.
pub fn decode_json(message: &MessageDescriptor, bytes: &[u8], max_json: usize) -> Result<SchemaDecoded, SchemaError> {
    let mismatch = |detail: String| SchemaError::Mismatch { message: message.full_name().to_owned(), detail };
    let decoded = DynamicMessage::decode(message.clone(), bytes).map_err(|e| mismatch(e.to_string()))?;
    let mut out = LimitedWriter { buf: Vec::new(), limit: max_json };
    let mut serializer = serde_json::Serializer::new(&mut out);
    // The defaults are the proto3 JSON mapping of MessageToJson.
    if let Err(e) = decoded.serialize_with_options(&mut serializer, &SerializeOptions::new()) {
        return Err(match e.is_io() {
            true => SchemaError::JsonTooLarge { message: message.full_name().to_owned(), limit: max_json },
            false => mismatch(e.to_string()),
        });
    }
    // Through text, so that a float keeps its shortest form (1.1, not 1.100000023841858).
    let json = serde_json::from_slice(&out.buf).map_err(|e| mismatch(e.to_string()))?;
    Ok(SchemaDecoded { json, unknown_fields: count_unknown(&decoded) })
}

/// Unknown fields of a message and of the messages in it.
fn count_unknown(message: &DynamicMessage) -> usize {
    let mut n = message.unknown_fields().count();
    for (_, value) in message.fields() {
        n += count_unknown_in(value);
    }
    n
}

fn count_unknown_in(value: &Value) -> usize {
    match value {
        Value::Message(m) => count_unknown(m),
        Value::List(items) => items.iter().map(count_unknown_in).sum(),
        Value::Map(entries) => entries.values().map(count_unknown_in).sum(),
        _ => 0,
    }
}

/// A writer that fails past `limit` bytes.
struct LimitedWriter {
    buf: Vec<u8>,
    limit: usize,
}

impl io::Write for LimitedWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > self.limit {
            return Err(io::Error::other("JSON output limit reached"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testdata() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/dissect/grpc/testdata/protos")
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
    }

    #[derive(serde::Deserialize)]
    struct Case {
        name: String,
        method: String,
        role: String,
        message: String,
        hex: String,
        json: Json,
    }

    /// Python-encoded messages decode through the compiled .proto files to the JSON that
    /// protobuf's `json_format.MessageToJson` gives for them.
    #[test]
    fn json_equals_python_message_to_json() {
        let schema = ProtoSchema::load(&testdata()).expect("protos compile");
        assert_eq!(schema.problems(), &[] as &[String]);
        let cases: Vec<Case> = serde_json::from_str(include_str!("testdata/schema.json")).expect("fixture");
        assert!(cases.len() >= 10);
        for c in &cases {
            let method = schema.method(&c.method).expect(&c.method);
            let role = if c.role == "request" { Role::Request } else { Role::Response };
            let desc = method.message(role);
            assert_eq!(desc.full_name(), c.message, "{}", c.name);
            let d = decode_json(&desc, &unhex(&c.hex), DEFAULT_MAX_JSON).expect(&c.name);
            assert_eq!(d.json, c.json, "{}", c.name);
            assert_eq!(d.unknown_fields, 0, "{}", c.name);
        }
    }

    #[test]
    fn methods_by_path() {
        let schema = ProtoSchema::load(&testdata()).expect("protos compile");
        let m = schema.method("/kshark.test.v1.Catalog/Watch").expect("Watch");
        assert_eq!(
            (m.service(), m.name(), m.client_streaming(), m.server_streaming()),
            ("kshark.test.v1.Catalog", "Watch", true, true)
        );
        assert_eq!(m.message(Role::Response).full_name(), "kshark.test.v1.Item");
        let legacy = schema.method("/kshark.legacy.LegacyService/Call").expect("Call");
        assert!(!legacy.client_streaming() && !legacy.server_streaming());
        let err = |p: &str| schema.method(p).expect_err(p).to_string();
        assert_eq!(err("/kshark.test.v1.Catalog/Nope"), "service kshark.test.v1.Catalog has no method Nope");
        assert_eq!(err("/kshark.Nope/GetItem"), "no service kshark.Nope in the .proto files");
        for bad in ["", "/", "kshark.test.v1.Catalog/GetItem", "/kshark.test.v1.Catalog", "/a/b/c", "//GetItem"] {
            assert!(matches!(schema.method(bad), Err(SchemaError::BadPath(_))), "{bad:?}");
        }
        assert!(schema.message("kshark.test.v1.Money").is_some());
    }

    #[test]
    fn mismatches_and_limits_are_errors() {
        let schema = ProtoSchema::load(&testdata()).expect("protos compile");
        let money = schema.message("kshark.test.v1.Money").expect("Money");
        // Field 1 (a string) sent as a varint: the wire type does not match.
        let e = decode_json(&money, b"\x08\x01", DEFAULT_MAX_JSON).expect_err("wrong wire type");
        assert!(e.to_string().starts_with("message does not decode as kshark.test.v1.Money: "), "{e}");
        assert!(decode_json(&money, b"\x0a\x05ab", DEFAULT_MAX_JSON).is_err(), "truncated");
        // Unknown fields are counted, at any depth, and left out.
        let item = schema.message("kshark.test.v1.Item").expect("Item");
        let d = decode_json(&item, b"\xa8\x06\x01\xba\x01\x03\xa0\x06\x02", DEFAULT_MAX_JSON).expect("unknown");
        assert_eq!((d.json, d.unknown_fields), (serde_json::json!({"parent": {}}), 2));
        // The JSON limit.
        let long = [&b"\x0a\x80\x08"[..], &[b'a'; 1024]].concat();
        let e = decode_json(&money, &long, 100).expect_err("too long");
        assert_eq!(e.to_string(), "kshark.test.v1.Money as JSON is longer than 100 bytes");
        assert!(decode_json(&money, &long, 2000).is_ok());
    }

    #[test]
    fn bad_files_are_reported_and_the_rest_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        };
        assert!(matches!(ProtoSchema::load(dir.path()), Err(SchemaError::NoProtoFiles(_))));
        write("bad.proto", "syntax = \"proto3\";\nmessage Broken {\n  int32 x = ;\n}\n");
        let e = ProtoSchema::load(dir.path()).expect_err("nothing compiles");
        assert!(matches!(e, SchemaError::NothingCompiled { .. }), "{e}");
        assert!(e.to_string().contains("bad.proto:3:"), "{e}");
        write(
            "sub/good.proto",
            "syntax = \"proto3\";\npackage p;\nmessage M { int32 x = 1; }\nservice S { rpc Get(M) returns (M); }\n",
        );
        write("imports_missing.proto", "syntax = \"proto3\";\nimport \"nowhere.proto\";\n");
        write("not-proto.txt", "ignored");
        let schema = ProtoSchema::load(dir.path()).expect("good.proto compiles");
        assert!(schema.method("/p.S/Get").is_ok());
        let problems = schema.problems().join("\n");
        assert_eq!(schema.problems().len(), 2, "{problems}");
        assert!(problems.contains("bad.proto:3:") && problems.contains("nowhere.proto"), "{problems}");
        let missing = ProtoSchema::load(&dir.path().join("absent")).expect_err("absent dir");
        assert!(missing.to_string().starts_with("--proto-path "), "{missing}");
    }
}
