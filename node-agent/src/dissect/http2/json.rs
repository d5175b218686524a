//! An HTTP/2 stream as an `"http"` entry, shaped like HTTP/1's (docs/entry.md, "HTTP/2"):
//!
//! ```text
//! request:  {"method", "path", "authority", "scheme", "version": "HTTP/2", "stream_id",
//!            "headers": [[name, value], ...], "body": BODY, "query"?, "trailers"?, "protocol"?}
//! response: {"status", "version": "HTTP/2", "headers", "body": BODY, "interim"?: [{"status"}],
//!            "trailers"?}
//! ```
//!
//! Pseudo-header fields (`:method`, `:path`, ...) are fields of their own, not in `headers`. A
//! field the decoder could not know (HPACK state from before the capture) is left out and counted
//! in the notes. The body object is HTTP/1's (content-coding decoded, bounded).

use super::super::grpc::exchange::{pairs_json, HeadParts};
use super::super::http1::body::{body_json, BodyCapture};
use super::super::http1::json::{query_pairs, summary, ORPHAN_SUMMARY};
use super::super::http1::status_outcome;
use crate::dissect::http1::parser::Header;
use crate::dissect::{Direction, Exchange};
use crate::entry::Outcome;
use crate::time::Timestamp;
use serde_json::{Map, Value};

/// An HTTP/2 stream, finished or abandoned, as the session hands it over.
#[derive(Debug)]
pub(crate) struct HttpStream {
    pub stream_id: u32,
    pub ts: Timestamp,
    pub end_ts: Option<Timestamp>,
    pub request: Option<HeadParts>,
    /// The request JSON of an h2c upgrade (stream 1), which HTTP/1 already rendered.
    pub upgrade_request: Option<Value>,
    pub response: Option<HeadParts>,
    pub interim: Vec<u16>,
    pub trailers: [Vec<Header>; 2],
    pub bodies: [BodyCapture; 2],
    /// Each direction's END_STREAM was seen.
    pub ended: [bool; 2],
    pub reset: Option<(Direction, String)>,
    pub sizes: [u64; 2],
    pub notes: Vec<String>,
}

pub(crate) fn exchange(s: HttpStream) -> Exchange {
    let HttpStream { stream_id, ts, end_ts, request, upgrade_request, response, interim, trailers, bodies, .. } = s;
    let [req_body, resp_body] = bodies;
    let [req_trailers, resp_trailers] = trailers;
    let mut notes = s.notes;
    let (summary, request) = match (upgrade_request, request) {
        (Some(Value::Object(mut m)), _) => {
            let text = format!(
                "{} {}",
                m.get("method").and_then(Value::as_str).unwrap_or("?"),
                m.get("path").and_then(Value::as_str).unwrap_or("?")
            );
            m.insert("stream_id".into(), Value::from(stream_id));
            (text, Value::Object(m))
        }
        (_, Some(head)) => {
            let method = head.pseudo(":method").unwrap_or("?");
            let path = head.pseudo(":path").unwrap_or("?");
            (summary(method, path), request_json(head, stream_id, req_body, req_trailers, &mut notes))
        }
        (_, None) => (ORPHAN_SUMMARY.to_owned(), Value::Null),
    };
    let status = response.as_ref().and_then(|r| r.pseudo(":status")).and_then(|s| s.trim().parse::<u16>().ok());
    let (status_text, mut outcome) = match (&response, status) {
        (Some(_), Some(code)) => (Some(code.to_string()), status_outcome(code)),
        (Some(_), None) => {
            notes.push("response without a readable :status".into());
            (None, Outcome::Error)
        }
        (None, _) => (None, Outcome::NoResponse),
    };
    let mut status_text = status_text;
    if let Some((by, code)) = &s.reset {
        let who = match by {
            Direction::ClientToServer => "client",
            Direction::ServerToClient => "server",
        };
        let complete = s.ended[1];
        if response.is_none() {
            status_text = Some(code.clone());
            outcome = Outcome::Error;
            notes.push(format!("stream reset by the {who} ({code}) before a response"));
        } else if !complete && code != "NO_ERROR" {
            outcome = Outcome::Error;
            notes.push(format!("stream reset by the {who} ({code}) before the response ended"));
        } else if !complete {
            notes.push(format!("stream reset by the {who} ({code}) before the response ended"));
        }
    } else if response.is_some() && !s.ended[1] {
        notes.push("response incomplete: the stream did not end".into());
    }
    let response = response.map(|head| response_json(head, &interim, resp_body, resp_trailers, &mut notes));
    Exchange {
        protocol: "http",
        ts,
        end_ts: response.as_ref().and(end_ts),
        summary,
        status: status_text,
        outcome,
        request_size: s.sizes[0],
        response_size: s.sizes[1],
        request,
        response,
        notes,
    }
}

fn insert_opt(m: &mut Map<String, Value>, key: &str, v: Option<&str>) {
    m.insert(key.into(), v.map_or(Value::Null, |s| Value::String(s.to_owned())));
}

fn request_json(
    head: HeadParts,
    stream_id: u32,
    body: BodyCapture,
    trailers: Vec<Header>,
    notes: &mut Vec<String>,
) -> Value {
    let body = body_json(body, &head.headers, "request", notes);
    let mut m = Map::new();
    let path = head.pseudo(":path");
    if let Some(q) = path.and_then(query_pairs) {
        m.insert("query".into(), pairs_json(&q));
    }
    insert_opt(&mut m, "method", head.pseudo(":method"));
    insert_opt(&mut m, "path", path);
    insert_opt(&mut m, "authority", head.pseudo(":authority"));
    insert_opt(&mut m, "scheme", head.pseudo(":scheme"));
    if let Some(p) = head.pseudo(":protocol") {
        m.insert("protocol".into(), Value::String(p.to_owned()));
    }
    m.insert("version".into(), Value::String("HTTP/2".into()));
    m.insert("stream_id".into(), Value::from(stream_id));
    m.insert("headers".into(), pairs_json(&head.headers));
    if !trailers.is_empty() {
        m.insert("trailers".into(), pairs_json(&trailers));
    }
    m.insert("body".into(), body);
    Value::Object(m)
}

fn response_json(
    head: HeadParts,
    interim: &[u16],
    body: BodyCapture,
    trailers: Vec<Header>,
    notes: &mut Vec<String>,
) -> Value {
    let body = body_json(body, &head.headers, "response", notes);
    let mut m = Map::new();
    let status = head.pseudo(":status").and_then(|s| s.trim().parse::<u16>().ok());
    m.insert("status".into(), status.map_or(Value::Null, Value::from));
    m.insert("version".into(), Value::String("HTTP/2".into()));
    m.insert("headers".into(), pairs_json(&head.headers));
    if !interim.is_empty() {
        let list = interim
            .iter()
            .map(|s| {
                let mut i = Map::new();
                i.insert("status".into(), Value::from(*s));
                Value::Object(i)
            })
            .collect();
        m.insert("interim".into(), Value::Array(list));
    }
    if !trailers.is_empty() {
        m.insert("trailers".into(), pairs_json(&trailers));
    }
    m.insert("body".into(), body);
    Value::Object(m)
}
