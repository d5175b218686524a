//! Commands and replies to the entry's JSON (shape in the module docs and docs/entry.md).

use super::command::Command;
use super::resp::{Aggregate, Blob, Message, Value};
use base64::Engine;
use serde_json::{json, Map, Value as Json};

/// Characters of the key shown in the summary.
pub const SUMMARY_KEY_CHARS: usize = 80;

/// A string: JSON text when it is complete UTF-8; otherwise an object with `text` (the valid UTF-8
/// prefix of a truncated string) or `base64`, `size` and `truncated`.
pub fn blob(b: &Blob) -> Json {
    let truncated = !b.is_complete();
    match std::str::from_utf8(&b.kept) {
        Ok(s) if !truncated => Json::String(s.to_owned()),
        Ok(s) => json!({"text": s, "size": b.size, "truncated": true}),
        // A truncated string may end inside a character: the prefix before it is still text.
        Err(e) if truncated && e.error_len().is_none() => {
            json!({"text": String::from_utf8_lossy(&b.kept[..e.valid_up_to()]), "size": b.size, "truncated": true})
        }
        Err(_) => json!({
            "base64": base64::engine::general_purpose::STANDARD.encode(&b.kept),
            "size": b.size, "truncated": truncated,
        }),
    }
}

/// A value. Aggregates are arrays (maps: arrays of `[key, value]` pairs); a nested aggregate that
/// was not kept whole is `{"items": [...], "len": N, "truncated": true}`.
pub fn value(v: &Value) -> Json {
    match v {
        Value::Simple(b) | Value::Error(b) | Value::Bulk(b) | Value::BlobError(b) | Value::Verbatim(_, b) => blob(b),
        Value::Integer(i) => Json::from(*i),
        Value::Null => Json::Null,
        Value::Double(d) => {
            d.parse::<f64>().ok().filter(|f| f.is_finite()).map_or_else(|| Json::String(d.clone()), Json::from)
        }
        Value::Boolean(b) => Json::Bool(*b),
        Value::BigNumber(n) => Json::String(n.clone()),
        Value::Array(a) | Value::Set(a) | Value::Push(a) | Value::Map(a) => {
            let items = items(v, a);
            if kept_whole(v, a) {
                items
            } else {
                json!({"items": items, "len": a.len, "truncated": true})
            }
        }
    }
}

fn kept_whole(v: &Value, a: &Aggregate) -> bool {
    let kept = a.items.len() as u64;
    if matches!(v, Value::Map(_)) {
        kept == a.len * 2
    } else {
        kept == a.len
    }
}

/// The kept elements, maps as pairs.
fn items(v: &Value, a: &Aggregate) -> Json {
    if matches!(v, Value::Map(_)) {
        pairs(a)
    } else {
        Json::Array(a.items.iter().map(value).collect())
    }
}

fn pairs(a: &Aggregate) -> Json {
    Json::Array(a.items.chunks(2).map(|kv| Json::Array(kv.iter().map(value).collect())).collect())
}

/// The request object of a command.
pub fn request(c: &Command) -> Json {
    let mut m = Map::new();
    m.insert("command".into(), Json::String(c.name.clone()));
    if let Some(sub) = &c.subcommand {
        m.insert("subcommand".into(), Json::String(sub.clone()));
    }
    if let Some(key) = c.key() {
        m.insert("key".into(), blob(key));
    }
    let args: Vec<Json> = c.argv.iter().skip(1).map(blob).collect();
    let argc = c.argc.saturating_sub(1);
    m.insert("args".into(), Json::Array(args));
    m.insert("argc".into(), Json::from(argc));
    if c.inline {
        m.insert("inline".into(), Json::Bool(true));
    }
    Json::Object(m)
}

/// The response object of one reply: `type`, `value`, exact `size` (strings) or `len`
/// (aggregates), `truncated`, `format` (verbatim strings), `attributes` (RESP3).
pub fn response(message: &Message) -> Map<String, Json> {
    let mut m = Map::new();
    let v = &message.value;
    m.insert("type".into(), Json::String(v.type_name().to_owned()));
    match v {
        Value::Simple(b) | Value::Error(b) | Value::Bulk(b) | Value::BlobError(b) | Value::Verbatim(_, b) => {
            m.insert("value".into(), blob(b));
            m.insert("size".into(), Json::from(b.size));
            if let Value::Verbatim(format, _) = v {
                m.insert("format".into(), Json::String(format.clone()));
            }
        }
        Value::Array(a) | Value::Set(a) | Value::Push(a) | Value::Map(a) => {
            m.insert("value".into(), items(v, a));
            m.insert("len".into(), Json::from(a.len));
            if !kept_whole(v, a) {
                m.insert("truncated".into(), Json::Bool(true));
            }
        }
        _ => {
            m.insert("value".into(), value(v));
        }
    }
    if let Some(attributes) = &message.attributes {
        m.insert("attributes".into(), pairs(attributes));
    }
    m
}

/// Text for a summary: lossy, at most `max` characters.
pub fn short_text(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.into_owned(),
    }
}
