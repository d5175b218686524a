//! Message headers, and bodies walked along their [`schema`](super::schema) into JSON.

use super::codes;
use super::records::{self, RecordLimits, RecordTally};
use super::schema::{Api, Field, Ty, API_VERSIONS_KEY};
use super::wire::{Reader, WireError};
use base64::Engine as _;
use serde_json::{Map, Value};

/// A request header (v1, or v2 in flexible versions; v0 only for ControlledShutdown v0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestHeader<'a> {
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
    /// None when null or absent (header v0).
    pub client_id: Option<&'a [u8]>,
}

/// Reads a request header: api key, version, correlation id, and the client id (a classic
/// nullable string, also in flexible versions). The header's tagged fields, which follow in
/// flexible versions, are read by [`decode_request`].
pub fn request_header<'a>(r: &mut Reader<'a>) -> Result<RequestHeader<'a>, WireError> {
    let api_key = r.i16("api key")?;
    let api_version = r.i16("api version")?;
    let correlation_id = r.i32("correlation id")?;
    let client_id = if api_key == 7 && api_version == 0 { None } else { r.string(false, "client id")? };
    Ok(RequestHeader { api_key, api_version, correlation_id, client_id })
}

/// What a walk found besides the JSON: the topics named, the first error, the records.
#[derive(Debug, Default)]
pub struct Found {
    pub topics: Vec<String>,
    pub first_error: Option<i16>,
    pub records: RecordTally,
}

/// Topic names kept per message for `request.topics`.
const MAX_TOPICS: usize = 1000;
/// Bytes of a `bytes` field shown (base64).
const MAX_BYTES_SHOWN: usize = 4096;

struct Walk<'l> {
    version: i16,
    flexible: bool,
    limits: &'l RecordLimits,
    found: &'l mut Found,
}

fn text(bytes: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(bytes).into_owned())
}

fn uuid(b: [u8; 16]) -> Value {
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{byte:02x}"));
    }
    Value::String(s)
}

/// The smallest encoding of a struct of these fields in this version (bounds array counts).
fn min_size(fields: &[Field], version: i16, flexible: bool) -> usize {
    let one = |ty: &Ty| match ty {
        Ty::Bool | Ty::I8 => 1,
        Ty::I16 | Ty::ErrorCode => 2,
        Ty::I32 => 4,
        Ty::I64 => 8,
        Ty::Uuid => 16,
        Ty::Str | Ty::TopicName => {
            if flexible {
                1
            } else {
                2
            }
        }
        Ty::Bytes | Ty::Records | Ty::I32s | Ty::I64s | Ty::Strs | Ty::TopicNames | Ty::Structs(_) => {
            if flexible {
                1
            } else {
                4
            }
        }
        Ty::Struct(sub) => min_size(sub, version, flexible),
    };
    let fixed: usize = fields.iter().filter(|f| f.tag.is_none() && f.present(version)).map(|f| one(&f.ty)).sum();
    (fixed + usize::from(flexible)).max(1)
}

impl Walk<'_> {
    fn string(&mut self, r: &mut Reader<'_>, field: &Field) -> Result<Option<Vec<u8>>, WireError> {
        Ok(r.string(self.flexible, field.name)?.map(<[u8]>::to_vec))
    }

    fn collect_topic(&mut self, name: &[u8]) {
        if self.found.topics.len() < MAX_TOPICS {
            let name = String::from_utf8_lossy(name);
            if !self.found.topics.iter().any(|t| *t == name) {
                self.found.topics.push(name.into_owned());
            }
        }
    }

    fn value(&mut self, r: &mut Reader<'_>, field: &Field, out: &mut Map<String, Value>) -> Result<(), WireError> {
        let name = field.name;
        let flexible = self.flexible;
        let v = match field.ty {
            Ty::Bool => Value::Bool(r.i8(name)? != 0),
            Ty::I8 => Value::from(r.i8(name)?),
            Ty::I16 => Value::from(r.i16(name)?),
            Ty::I32 => Value::from(r.i32(name)?),
            Ty::I64 => Value::from(r.i64(name)?),
            Ty::Uuid => uuid(r.uuid(name)?),
            Ty::ErrorCode => {
                let code = r.i16(name)?;
                out.insert(name.into(), Value::from(code));
                if code != 0 {
                    self.found.first_error.get_or_insert(code);
                    out.insert(name.trim_end_matches("_code").into(), Value::from(codes::error_name(code)));
                }
                return Ok(());
            }
            Ty::Str => r.string(flexible, name)?.map_or(Value::Null, text),
            Ty::TopicName => match self.string(r, field)? {
                Some(t) => {
                    self.collect_topic(&t);
                    text(&t)
                }
                None => Value::Null,
            },
            Ty::Bytes => match r.bytes(flexible, name)? {
                None => Value::Null,
                Some(b) => {
                    let shown = b.get(..MAX_BYTES_SHOWN).unwrap_or(b);
                    Value::String(base64::engine::general_purpose::STANDARD.encode(shown))
                }
            },
            Ty::Records => match r.bytes(flexible, name)? {
                None => Value::Null,
                Some(b) => records::decode(b, self.limits, &mut self.found.records),
            },
            Ty::I32s | Ty::I64s | Ty::Strs | Ty::TopicNames => {
                let min = match field.ty {
                    Ty::I32s => 4,
                    Ty::I64s => 8,
                    _ if flexible => 1,
                    _ => 2,
                };
                match r.array_len(flexible, min, name)? {
                    None => Value::Null,
                    Some(n) => {
                        let mut items = Vec::with_capacity(n);
                        for _ in 0..n {
                            items.push(match field.ty {
                                Ty::I32s => Value::from(r.i32(name)?),
                                Ty::I64s => Value::from(r.i64(name)?),
                                Ty::TopicNames => match self.string(r, field)? {
                                    Some(t) => {
                                        self.collect_topic(&t);
                                        text(&t)
                                    }
                                    None => Value::Null,
                                },
                                _ => r.string(flexible, name)?.map_or(Value::Null, text),
                            });
                        }
                        Value::Array(items)
                    }
                }
            }
            Ty::Struct(sub) => {
                let mut m = Map::new();
                let result = self.fields(r, sub, &mut m);
                out.insert(name.into(), Value::Object(m));
                return result;
            }
            Ty::Structs(sub) => {
                let min = min_size(sub, self.version, flexible);
                match r.array_len(flexible, min, name)? {
                    None => Value::Null,
                    Some(n) => {
                        let mut items = Vec::with_capacity(n);
                        let mut result = Ok(());
                        for _ in 0..n {
                            let mut m = Map::new();
                            result = self.fields(r, sub, &mut m);
                            items.push(Value::Object(m));
                            if result.is_err() {
                                break;
                            }
                        }
                        out.insert(name.into(), Value::Array(items));
                        return result;
                    }
                }
            }
        };
        out.insert(name.into(), v);
        Ok(())
    }

    /// The fields of a struct present in this version, then (flexible versions) its tagged fields.
    fn fields(&mut self, r: &mut Reader<'_>, fields: &[Field], out: &mut Map<String, Value>) -> Result<(), WireError> {
        let version = self.version;
        for field in fields.iter().filter(|f| f.tag.is_none() && f.present(version)) {
            self.value(r, field, out)?;
        }
        if self.flexible {
            self.tagged(r, fields, out)?;
        }
        Ok(())
    }

    fn tagged(&mut self, r: &mut Reader<'_>, fields: &[Field], out: &mut Map<String, Value>) -> Result<(), WireError> {
        let mut result = Ok(());
        r.tagged_fields(|tag, data| {
            if result.is_err() {
                return;
            }
            if let Some(field) = fields.iter().find(|f| f.tag == Some(tag) && f.present(self.version)) {
                result = self.value(&mut Reader::new(data), field, out);
            }
        })?;
        result
    }
}

/// Decodes a request body (after the header's client id) of an API with a layout.
pub fn decode_request(
    api: &Api,
    version: i16,
    r: &mut Reader<'_>,
    limits: &RecordLimits,
    found: &mut Found,
    out: &mut Map<String, Value>,
) -> Result<(), WireError> {
    let flexible = api.flexible(version);
    let mut walk = Walk { version, flexible, limits, found };
    if flexible {
        walk.tagged(r, &[], out)?; // the header's tagged fields
    }
    walk.fields(r, api.request, out)
}

/// Decodes a response body (after the correlation id) of an API with a layout.
pub fn decode_response(
    api: &Api,
    version: i16,
    r: &mut Reader<'_>,
    limits: &RecordLimits,
    found: &mut Found,
    out: &mut Map<String, Value>,
) -> Result<(), WireError> {
    let flexible = api.flexible(version);
    let mut walk = Walk { version, flexible, limits, found };
    if flexible && api.key != API_VERSIONS_KEY {
        walk.tagged(r, &[], out)?; // the header's tagged fields
    }
    walk.fields(r, api.response, out)
}
