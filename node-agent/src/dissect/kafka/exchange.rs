//! Requests and responses to the entry's JSON, and paired into exchanges.

use super::codes;
use super::decode::{self, Found};
use super::records::RecordLimits;
use super::schema::{self, PRODUCE_KEY};
use super::wire::{Reader, WireError};
use crate::dissect::Exchange;
use crate::entry::Outcome;
use crate::time::Timestamp;
use serde_json::{Map, Value};

/// A request as far as it was read, waiting for its response.
#[derive(Debug)]
pub struct Request {
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
    /// Produce with `acks` 0: the broker sends no response.
    pub no_response_expected: bool,
    pub json: Map<String, Value>,
    pub summary: String,
    pub notes: Vec<String>,
    pub ts: Timestamp,
    pub size: u64,
    /// Its number among the connection's requests that waited (set by the session).
    pub seq: u64,
}

fn api_label(key: i16) -> String {
    codes::api_name(key).map_or_else(|| format!("ApiKey{key}"), str::to_owned)
}

fn summary(api: &str, topics: &[String]) -> String {
    let mut s = String::from(api);
    for (i, t) in topics.iter().take(3).enumerate() {
        s.push_str(if i == 0 { " " } else { ", " });
        s.push_str(t);
    }
    if topics.len() > 3 {
        s.push_str(&format!(" (+{} topics)", topics.len() - 3));
    }
    s
}

/// Reads a request message (`msg`: the bytes after the size prefix; `complete`: all of them).
/// Fails only when the header cannot be read.
pub fn request(
    msg: &[u8],
    complete: bool,
    size: u64,
    ts: Timestamp,
    limits: &RecordLimits,
) -> Result<Request, WireError> {
    let mut r = Reader::new(msg);
    let h = decode::request_header(&mut r)?;
    let api = api_label(h.api_key);
    let mut json = Map::new();
    json.insert("api".into(), Value::from(api.as_str()));
    json.insert("api_key".into(), Value::from(h.api_key));
    json.insert("api_version".into(), Value::from(h.api_version));
    json.insert("correlation_id".into(), Value::from(h.correlation_id));
    json.insert(
        "client_id".into(),
        h.client_id.map_or(Value::Null, |c| Value::String(String::from_utf8_lossy(c).into_owned())),
    );
    let mut notes = Vec::new();
    let mut found = Found::default();
    let mut body = Map::new();
    match schema::api(h.api_key) {
        Some(layout) if complete => {
            if let Err(e) = decode::decode_request(layout, h.api_version, &mut r, limits, &mut found, &mut body) {
                notes.push(format!("request body not decoded entirely: {e}"));
            } else if r.remaining() > 0 {
                notes.push(format!("{} bytes after the request body not decoded", r.remaining()));
            }
        }
        Some(_) => notes.push("request body not decoded: the message was not captured whole".into()),
        None => {}
    }
    let no_response_expected = h.api_key == PRODUCE_KEY && body.get("acks").and_then(Value::as_i64) == Some(0);
    json.insert("topics".into(), Value::Array(found.topics.iter().map(|t| Value::from(t.as_str())).collect()));
    json.extend(body);
    notes.append(&mut found.records.notes);
    let summary = summary(&api, &found.topics);
    Ok(Request {
        api_key: h.api_key,
        api_version: h.api_version,
        correlation_id: h.correlation_id,
        no_response_expected,
        json,
        summary,
        notes,
        ts,
        size,
        seq: 0,
    })
}

/// A response as far as it was read.
pub struct Response {
    pub json: Map<String, Value>,
    pub first_error: Option<i16>,
    /// Whether the body was decoded (an error code can only be known then).
    pub decoded: bool,
    pub notes: Vec<String>,
}

/// Reads a response message (after the size prefix) to `req`.
pub fn response(msg: &[u8], complete: bool, req: &Request, limits: &RecordLimits) -> Response {
    let mut json = Map::new();
    let mut notes = Vec::new();
    let mut r = Reader::new(msg);
    let Ok(correlation_id) = r.i32("correlation id") else {
        return Response { json, first_error: None, decoded: false, notes };
    };
    json.insert("correlation_id".into(), Value::from(correlation_id));
    let Some(layout) = schema::api(req.api_key) else {
        return Response { json, first_error: None, decoded: false, notes };
    };
    if !complete {
        notes.push("response body not decoded: the message was not captured whole".into());
        return Response { json, first_error: None, decoded: false, notes };
    }
    let body_start = r.clone();
    let mut found = Found::default();
    let mut body = Map::new();
    let mut result = decode::decode_response(layout, req.api_version, &mut r, limits, &mut found, &mut body);
    // A broker that does not support the ApiVersions version asked answers in version 0.
    if req.api_key == schema::API_VERSIONS_KEY && (result.is_err() || r.remaining() > 0) {
        let mut r0 = body_start;
        let mut found0 = Found::default();
        let mut body0 = Map::new();
        if decode::decode_response(layout, 0, &mut r0, limits, &mut found0, &mut body0).is_ok() && r0.remaining() == 0 {
            (r, found, body, result) = (r0, found0, body0, Ok(()));
            notes.push("answered in version 0".into());
        }
    }
    let decoded = match result {
        Err(e) => {
            notes.push(format!("response body not decoded entirely: {e}"));
            false
        }
        Ok(()) => {
            if r.remaining() > 0 {
                notes.push(format!("{} bytes after the response body not decoded", r.remaining()));
            }
            true
        }
    };
    json.extend(body);
    notes.append(&mut found.records.notes);
    Response { json, first_error: found.first_error, decoded: decoded || found.first_error.is_some(), notes }
}

/// The exchange of a request and its response (or none).
pub fn exchange(req: Request, resp: Option<(Response, Timestamp, u64)>, why_none: Option<&str>) -> Exchange {
    let mut notes = req.notes;
    let (status, outcome, end_ts, response_size, response) = match resp {
        Some((resp, end, size)) => {
            notes.extend(resp.notes);
            let (status, outcome) = match resp.first_error {
                Some(code) => (Some(codes::error_name(code).into_owned()), codes::error_outcome(code)),
                None if resp.decoded => (Some("NONE".to_owned()), Outcome::Ok),
                // A response whose body is not decoded: answered, error unknown.
                None => (None, Outcome::Ok),
            };
            (status, outcome, Some(end), size, Some(Value::Object(resp.json)))
        }
        None if req.no_response_expected => {
            notes.push("acks=0: the broker sends no response".into());
            (None, Outcome::Ok, None, 0, None)
        }
        None => {
            if let Some(why) = why_none {
                notes.push(why.to_owned());
            }
            (None, Outcome::NoResponse, None, 0, None)
        }
    };
    Exchange {
        protocol: super::NAME,
        ts: req.ts,
        end_ts,
        summary: req.summary,
        status,
        outcome,
        request_size: req.size,
        response_size,
        request: Value::Object(req.json),
        response,
        notes,
    }
}
