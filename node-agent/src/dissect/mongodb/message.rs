//! One framed message to what an entry shows of it: the request side (command, database,
//! collection, the command document and document sequences) or the reply side (the reply's fields,
//! the cursor batch bounded with its exact count, the status). OP_COMPRESSED is unwrapped here.

use super::bson::{doc_to_json, elem_json, Budget, Doc, Elem, Limits};
use super::compress::{compressor_name, decompress};
use super::errors::{code_name, outcome_of};
use super::wire::{self, flag_names, parse_body, Body, Header, WireError, HEADER_LEN};
use crate::entry::Outcome;
use serde_json::{Map, Value};

/// JSON values one message's documents may produce, and string/binary bytes they may show.
pub const MESSAGE_VALUES: usize = 1000;
pub const MESSAGE_BYTES: usize = 64 * 1024;
/// Documents shown of a document sequence or a cursor batch (the count stays exact).
pub const DOCS_SHOWN: usize = 10;

/// What one message says, ready for an entry.
#[derive(Debug)]
pub struct Decoded {
    pub header: Header,
    /// OP_MSG flag bits (0 for other opcodes).
    pub flags: u32,
    /// The request or response object of the entry.
    pub json: Value,
    /// Requests: the command name and namespace, for the summary and the filter.
    pub command: Option<String>,
    pub database: Option<String>,
    pub collection: Option<String>,
    /// Replies: the status ("OK" or the failure's code name) and its outcome; `None` when the
    /// reply was cut before it said.
    pub status: Option<(String, Outcome)>,
    pub notes: Vec<String>,
    /// Opcodes the dissector frames but does not report (legacy writes).
    pub legacy: bool,
}

impl Decoded {
    pub fn more_to_come(&self) -> bool {
        self.flags & wire::MORE_TO_COME != 0
    }
}

/// A message's content after its header, decompressed if it was OP_COMPRESSED.
struct Content<'a> {
    op: i32,
    bytes: &'a [u8],
    /// Cut by the frame or decompression limit.
    cut: bool,
    compressor: Option<&'static str>,
}

/// The message's content after its header, decompressed if it was OP_COMPRESSED.
fn unwrap_compressed<'a>(
    header: &Header,
    rest: &'a [u8],
    partial: bool,
    cap: usize,
    owned: &'a mut Vec<u8>,
    notes: &mut Vec<String>,
) -> Result<Content<'a>, WireError> {
    if header.op != wire::OP_COMPRESSED {
        return Ok(Content { op: header.op, bytes: rest, cut: partial, compressor: None });
    }
    let Body::Compressed { original_op, uncompressed_size, compressor, data } = parse_body(header.op, rest, false)?
    else {
        return Err(WireError::UnknownOpcode(header.op));
    };
    let name = compressor_name(compressor);
    if partial {
        notes.push(format!("{name}-compressed message larger than the limit: not decoded"));
        return Ok(Content { op: original_op, bytes: &[], cut: true, compressor: Some(name) });
    }
    match decompress(compressor, data, cap) {
        Ok((bytes, cut)) => {
            if cut {
                notes.push(format!("decompressed message larger than {cap} bytes: only its start is decoded"));
            } else if bytes.len() != uncompressed_size {
                notes.push(format!(
                    "uncompressedSize says {uncompressed_size} bytes, decompression gave {}",
                    bytes.len()
                ));
            }
            *owned = bytes;
            Ok(Content { op: original_op, bytes: owned.as_slice(), cut, compressor: Some(name) })
        }
        Err(e) => {
            notes.push(format!("OP_COMPRESSED: {e}"));
            Ok(Content { op: original_op, bytes: &[], cut: true, compressor: Some(name) })
        }
    }
}

fn wire_json(header: &Header, op: i32, flags: u32, compressor: Option<&str>, reply: bool) -> Value {
    let mut w = Map::new();
    w.insert("op".into(), Value::from(wire::op_name(op).unwrap_or("unknown")));
    w.insert("request_id".into(), Value::from(header.request_id));
    if reply {
        w.insert("response_to".into(), Value::from(header.response_to));
    }
    if flags != 0 {
        w.insert("flags".into(), Value::from(flag_names(flags)));
    }
    if let Some(c) = compressor {
        w.insert("compressor".into(), Value::from(c));
    }
    Value::Object(w)
}

/// Decodes one message. `frame` is the whole message (or its first bytes when `partial`), `cap`
/// the most bytes a decompressed message may take. `reply` says which side sent it.
pub fn decode(frame: &[u8], partial: bool, cap: usize, reply: bool) -> Result<Decoded, WireError> {
    let header = Header::read(frame).ok_or(WireError::Short("message"))?;
    let rest = frame.get(HEADER_LEN..).unwrap_or_default();
    let mut notes = Vec::new();
    if partial {
        notes.push(format!(
            "message of {} bytes larger than the limit: only its first {} bytes are decoded",
            header.length,
            frame.len()
        ));
    }
    let mut owned = Vec::new();
    let Content { op, bytes: content, cut, compressor } =
        unwrap_compressed(&header, rest, partial, cap, &mut owned, &mut notes)?;
    let mut d = Decoded {
        header,
        flags: 0,
        json: Value::Null,
        command: None,
        database: None,
        collection: None,
        status: None,
        notes,
        legacy: false,
    };
    if content.is_empty() && cut {
        // Nothing decodable (a compressed message that could not be opened).
        d.json = object_with_wire(Map::new(), wire_json(&header, op, 0, compressor, reply));
        return Ok(d);
    }
    let limits = Limits::DEFAULT;
    let mut budget = Budget::new(MESSAGE_VALUES, MESSAGE_BYTES);
    match parse_body(op, content, cut)? {
        Body::Msg { flags, body, sequences, checksum } => {
            d.flags = flags;
            if let (Some(sum), None) = (checksum, compressor) {
                let covered = frame.get(..frame.len().saturating_sub(4)).unwrap_or_default();
                if wire::crc32c(covered) != sum {
                    d.notes.push("OP_MSG checksum does not match".into());
                }
            }
            let wire = wire_json(&header, op, flags, compressor, reply);
            if reply {
                d.json = reply_json(body, wire, &limits, &mut budget);
                d.status = reply_status(body);
            } else {
                let mut req = command_json(body, &mut d, &limits, &mut budget);
                if !sequences.is_empty() {
                    let seqs = sequences
                        .iter()
                        .map(|s| {
                            let mut m = Map::new();
                            m.insert("identifier".into(), Value::from(s.identifier));
                            let mut shown = Vec::new();
                            let mut count = 0usize;
                            for doc in s.documents() {
                                if shown.len() < DOCS_SHOWN {
                                    shown.push(doc_to_json(doc, &limits, &mut budget));
                                }
                                count += 1;
                            }
                            m.insert("count".into(), Value::from(count));
                            m.insert("documents".into(), Value::Array(shown));
                            Value::Object(m)
                        })
                        .collect();
                    req.insert("sequences".into(), Value::Array(seqs));
                }
                d.json = object_with_wire(req, wire);
            }
        }
        Body::Query { collection, query, .. } => {
            let wire = wire_json(&header, op, 0, compressor, reply);
            // A command is `{$query: {cmd...}, $readPreference: ...}` or the command itself.
            let command = match query.get("$query").or_else(|| query.get("query")) {
                Some(Elem::Document(b)) if query.first_key().is_some_and(|k| k == "$query" || k == "query") => {
                    Doc::partial(b)
                }
                _ => query,
            };
            let (db, coll) = collection.split_once('.').unwrap_or((collection, ""));
            let mut req = if coll == "$cmd" {
                command_json(command, &mut d, &limits, &mut budget)
            } else {
                // A legacy query on a collection (servers before 3.6).
                d.command = Some("OP_QUERY".into());
                d.collection = Some(coll.to_owned());
                let mut m = Map::new();
                m.insert("command".into(), Value::from("OP_QUERY"));
                m.insert("collection".into(), Value::from(coll));
                m.insert("document".into(), doc_to_json(query, &limits, &mut budget));
                m
            };
            d.database = Some(db.to_owned());
            req.insert("database".into(), Value::from(db));
            d.json = object_with_wire(req, wire);
        }
        Body::Reply { cursor_id, returned, docs, .. } => {
            let mut wire = wire_json(&header, op, 0, compressor, reply);
            if let Value::Object(w) = &mut wire {
                w.insert("cursor_id".into(), Value::from(cursor_id));
                w.insert("returned".into(), Value::from(returned));
            }
            let first = Doc::partial(docs);
            if docs.len() < 5 {
                d.json = object_with_wire(Map::new(), wire);
                d.status = Some(("OK".into(), Outcome::Ok));
            } else {
                d.json = reply_json(first, wire, &limits, &mut budget);
                d.status = reply_status(first).or(Some(("OK".into(), Outcome::Ok)));
            }
        }
        Body::Compressed { .. } => return Err(WireError::UnknownOpcode(op)),
        Body::Legacy => {
            d.legacy = true;
            d.command = wire::op_name(op).map(str::to_owned);
            d.json = object_with_wire(Map::new(), wire_json(&header, op, 0, compressor, reply));
        }
    }
    if budget.elided {
        d.notes.push("documents shortened to fit the entry".into());
    }
    if let Some(e) = budget.error {
        d.notes.push(format!("malformed BSON: {e}"));
    }
    Ok(d)
}

fn object_with_wire(mut m: Map<String, Value>, wire: Value) -> Value {
    m.insert("wire".into(), wire);
    Value::Object(m)
}

/// The request object of a command document; fills the decoded command and namespace.
fn command_json(body: Doc<'_>, d: &mut Decoded, limits: &Limits, budget: &mut Budget) -> Map<String, Value> {
    let mut m = Map::new();
    let command = body.first_key();
    let database = body.get_str("$db");
    let collection = collection_of(body);
    if let Some(c) = command {
        m.insert("command".into(), Value::from(c));
    }
    if let Some(db) = database {
        m.insert("database".into(), Value::from(db));
    }
    if let Some(c) = collection {
        m.insert("collection".into(), Value::from(c));
    }
    m.insert("document".into(), doc_to_json(body, limits, budget));
    d.command = command.map(str::to_owned);
    d.database = database.map(str::to_owned);
    d.collection = collection.map(str::to_owned);
    m
}

/// The collection a command names: the string value of its first element (`{find: "orders"}`),
/// getMore's `collection`, or that of the command inside `explain`.
fn collection_of<'a>(body: Doc<'a>) -> Option<&'a str> {
    let (key, first) = body.iter().next()?.ok()?;
    match (key, first) {
        ("getMore", _) => body.get_str("collection"),
        ("explain", Elem::Document(b)) => Doc::parse(b).ok().and_then(|(inner, _)| collection_of(inner)),
        (_, Elem::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// The reply's fields as JSON, the cursor's batch bounded to [`DOCS_SHOWN`] with its exact count.
fn reply_json(doc: Doc<'_>, wire: Value, limits: &Limits, budget: &mut Budget) -> Value {
    let mut m = Map::new();
    for item in doc.iter() {
        let Ok((key, elem)) = item else {
            if let Err(e) = item {
                budget.error.get_or_insert(e);
            }
            break;
        };
        if budget.values == 0 && key != "ok" {
            budget.elided = true;
            continue;
        }
        let v = match (key, elem) {
            ("cursor", Elem::Document(b)) => cursor_json(Doc::partial(b), limits, budget),
            _ => elem_json(elem, limits, budget),
        };
        m.insert(key.to_owned(), v);
    }
    object_with_wire(m, wire)
}

fn cursor_json(cursor: Doc<'_>, limits: &Limits, budget: &mut Budget) -> Value {
    let mut m = Map::new();
    for (key, elem) in cursor.iter().map_while(Result::ok) {
        match (key, elem) {
            ("firstBatch" | "nextBatch", Elem::Array(b)) => {
                let mut shown = Vec::new();
                let mut count = 0usize;
                for (_, e) in Doc::partial(b).iter().map_while(Result::ok) {
                    if shown.len() < DOCS_SHOWN {
                        shown.push(elem_json(e, limits, budget));
                    }
                    count += 1;
                }
                m.insert(key.to_owned(), Value::Array(shown));
                m.insert("count".into(), Value::from(count));
            }
            _ => {
                m.insert(key.to_owned(), elem_json(elem, limits, budget));
            }
        }
    }
    Value::Object(m)
}

/// The name of a failure document's error: its `codeName`, else the name of its `code`.
fn failure_name(doc: Doc<'_>) -> Option<String> {
    if let Some(name) = doc.get_str("codeName").filter(|n| !n.is_empty()) {
        return Some(name.to_owned());
    }
    doc.get("code").and_then(|c| c.as_i64()).map(code_name)
}

/// "OK", or the name of the failure: a command that failed (`ok: 0`), a legacy `$err`, or an
/// `ok: 1` reply carrying write errors or a write concern error.
pub fn reply_status(doc: Doc<'_>) -> Option<(String, Outcome)> {
    let failed = |name: String| {
        let outcome = outcome_of(&name);
        Some((name, outcome))
    };
    let ok = doc.get("ok").and_then(|v| v.as_f64());
    if ok == Some(0.0) || doc.get("$err").is_some() {
        return failed(failure_name(doc).unwrap_or_else(|| "Error".into()));
    }
    if let Some(first) = doc.get_doc("writeErrors").and_then(|errors| errors.get_doc("0")) {
        return failed(failure_name(first).unwrap_or_else(|| "Error".into()));
    }
    if let Some(wce) = doc.get_doc("writeConcernError") {
        return failed(failure_name(wce).unwrap_or_else(|| "WriteConcernFailed".into()));
    }
    match ok {
        Some(_) => Some(("OK".into(), Outcome::Ok)),
        None if doc.is_partial() => None,
        None => Some(("OK".into(), Outcome::Ok)),
    }
}
