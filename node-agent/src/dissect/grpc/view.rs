//! One message payload shown the best way available: with its type when the schema has it, else
//! schema-less ([`protobuf_raw`](super::protobuf_raw)), else as bytes; a note says why each better
//! way was not taken.
//!
//! JSON forms ([`MessageView::to_json`]):
//! ```text
//! {"type": "package.Message", "json": PROTO3_JSON}       decoded with the schema
//! {"raw": RAW_JSON, "fields_truncated"?: true}           schema-less (protobuf_raw's shape)
//! {"base64": "..."}                                      not a protobuf message
//! ```

use super::protobuf_raw::{decode_raw, RawLimits};
use super::schema::{decode_json, DEFAULT_MAX_JSON};
use base64::Engine as _;
use prost_reflect::MessageDescriptor;
use serde_json::{Map, Value};

/// Bounds of [`view_message`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ViewLimits {
    pub raw: RawLimits,
    /// Longest JSON form of a message decoded with the schema.
    pub max_json: usize,
}

impl Default for ViewLimits {
    fn default() -> Self {
        ViewLimits { raw: RawLimits::default(), max_json: DEFAULT_MAX_JSON }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum MessageView {
    /// Decoded with its type: the proto3 JSON mapping.
    Schema { type_name: String, json: Value },
    /// Decoded without a schema; `fields_truncated` when fields past the limit were left out.
    Raw { json: Value, fields_truncated: bool },
    /// Not a protobuf message: the bytes.
    Bytes { base64: String },
}

impl MessageView {
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        match self {
            MessageView::Schema { type_name, json } => {
                m.insert("type".into(), Value::String(type_name.clone()));
                m.insert("json".into(), json.clone());
            }
            MessageView::Raw { json, fields_truncated } => {
                m.insert("raw".into(), json.clone());
                if *fields_truncated {
                    m.insert("fields_truncated".into(), Value::Bool(true));
                }
            }
            MessageView::Bytes { base64 } => {
                m.insert("base64".into(), Value::String(base64.clone()));
            }
        }
        Value::Object(m)
    }
}

/// Shows `payload` (a whole, decompressed message) as a `message` when given, else without a
/// schema; notes go to `notes`.
pub fn view_message(
    payload: &[u8],
    message: Option<&MessageDescriptor>,
    limits: &ViewLimits,
    notes: &mut Vec<String>,
) -> MessageView {
    if let Some(desc) = message {
        match decode_json(desc, payload, limits.max_json) {
            Ok(d) => {
                if d.unknown_fields > 0 {
                    notes.push(format!(
                        "{} field(s) not in {} (is the schema out of date?)",
                        d.unknown_fields,
                        desc.full_name()
                    ));
                }
                return MessageView::Schema { type_name: desc.full_name().to_owned(), json: d.json };
            }
            Err(e) => notes.push(format!("{e}; shown without the schema")),
        }
    }
    match decode_raw(payload, &limits.raw) {
        Ok(d) => {
            if d.truncated {
                notes.push(format!("only the first {} protobuf fields are shown", limits.raw.max_fields));
            }
            MessageView::Raw { json: d.message.to_json(), fields_truncated: d.truncated }
        }
        Err(e) => {
            notes.push(format!("not a protobuf message ({e}); shown as bytes"));
            MessageView::Bytes { base64: base64::engine::general_purpose::STANDARD.encode(payload) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::schema::ProtoSchema;
    use super::*;
    use serde_json::json;
    use std::path::Path;

    #[test]
    fn falls_back_from_schema_to_raw_to_bytes() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/dissect/grpc/testdata/protos");
        let schema = ProtoSchema::load(&dir).expect("protos compile");
        let money = schema.message("kshark.test.v1.Money").expect("Money");
        let limits = ViewLimits::default();
        let mut notes = Vec::new();
        // Money{currency_code: "EUR", units: 3}
        let v = view_message(b"\x0a\x03EUR\x10\x03", Some(&money), &limits, &mut notes);
        assert_eq!(v.to_json(), json!({"type": "kshark.test.v1.Money", "json": {"currencyCode": "EUR", "units": "3"}}));
        assert!(notes.is_empty());
        // An unknown field 9 is noted.
        view_message(b"\x48\x01", Some(&money), &limits, &mut notes);
        assert_eq!(notes, ["1 field(s) not in kshark.test.v1.Money (is the schema out of date?)"]);
        notes.clear();
        // Field 1 as a varint does not match: raw, with a note.
        let v = view_message(b"\x08\x01", Some(&money), &limits, &mut notes);
        assert_eq!(v.to_json(), json!({"raw": {"1": 1}}));
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].starts_with("message does not decode as kshark.test.v1.Money")
                && notes[0].ends_with("; shown without the schema")
        );
        notes.clear();
        // No schema, too many fields, not protobuf.
        let tight = ViewLimits { raw: RawLimits { max_fields: 1, max_text: 100 }, ..limits };
        let v = view_message(b"\x08\x01\x10\x02", None, &tight, &mut notes);
        assert_eq!(v.to_json(), json!({"raw": {"1": 1}, "fields_truncated": true}));
        assert_eq!(notes, ["only the first 1 protobuf fields are shown"]);
        notes.clear();
        let v = view_message(b"\x00\xff", None, &limits, &mut notes);
        assert_eq!(v.to_json(), json!({"base64": "AP8="}));
        assert_eq!(notes, ["not a protobuf message (zero tag at byte 0); shown as bytes"]);
    }
}
