//! Rendering an exchange to the entry format (docs: the HTTP section of the entry JSON):
//!
//! ```text
//! request:  {"method", "path", "version", "headers": [[name, value], ...], "body": BODY,
//!            "query"?: [[key, value], ...], "trailers"?: [[name, value], ...]}
//! response: {"status", "reason", "version", "headers", "body": BODY,
//!            "interim"?: [{"status", "reason"}, ...], "trailers"?: [...]}
//! BODY:     {"size", "mime", "encoding", "text" | "base64", "truncated"}
//! ```
//!
//! A response whose request was not captured has `request: null`. Each exchange's JSON is built
//! once, moving the parsed strings into it.

use super::body::body_json;
use super::message::{Interim, RequestMsg, ResponseMsg};
use super::parser::Header;
use crate::dissect::Exchange;
use crate::entry::Outcome;
use serde_json::{Map, Value};

/// Longest request target kept in a summary, in characters.
const SUMMARY_TARGET: usize = 200;
/// Summary of an exchange whose request was not captured.
pub(crate) const ORPHAN_SUMMARY: &str = "(request not captured)";

pub(crate) fn exchange(req: Option<RequestMsg>, resp: Option<ResponseMsg>) -> Exchange {
    let mut notes = Vec::new();
    let (ts, summary, request_size, request) = match req {
        Some(mut r) => {
            notes.append(&mut r.notes);
            let summary = summary(&r.head.method, &r.head.target);
            (r.ts, summary, r.wire, request_json(r, &mut notes))
        }
        None => (resp.as_ref().map(|r| r.ts).unwrap_or_default(), ORPHAN_SUMMARY.to_owned(), 0, Value::Null),
    };
    let (end_ts, status, outcome, response_size, response) = match resp {
        Some(mut r) => {
            notes.append(&mut r.notes);
            let size = r.wire + r.interim.iter().map(|i| i.wire).sum::<u64>();
            let outcome = super::status_outcome(r.head.status);
            (Some(r.end), Some(r.head.status.to_string()), outcome, size, Some(response_json(r, &mut notes)))
        }
        None => (None, None, Outcome::NoResponse, 0, None),
    };
    Exchange {
        protocol: "http",
        ts,
        end_ts,
        summary,
        status,
        outcome,
        request_size,
        response_size,
        request,
        response,
        notes,
    }
}

/// "METHOD target", the target cut at [`SUMMARY_TARGET`] characters.
pub(crate) fn summary(method: &str, target: &str) -> String {
    let cut = if target.len() <= SUMMARY_TARGET {
        target
    } else {
        target.char_indices().nth(SUMMARY_TARGET).map_or(target, |(i, _)| &target[..i])
    };
    let mut s = String::with_capacity(method.len() + 1 + cut.len() + 3);
    s.push_str(method);
    s.push(' ');
    s.push_str(cut);
    if cut.len() < target.len() {
        s.push('…');
    }
    s
}

fn version(minor: u8) -> Value {
    Value::String(match minor {
        0 => "HTTP/1.0".to_owned(),
        1 => "HTTP/1.1".to_owned(),
        m => format!("HTTP/1.{m}"),
    })
}

fn pairs_json(pairs: Vec<Header>) -> Value {
    Value::Array(pairs.into_iter().map(|(n, v)| Value::Array(vec![Value::String(n), Value::String(v)])).collect())
}

// Keys are inserted in descending order: the map is a B-tree, and a key smaller than all the
// others is placed after one comparison (this halves the cost of building the objects).

fn request_json(r: RequestMsg, notes: &mut Vec<String>) -> Value {
    let body = body_json(r.body, &r.head.headers, "request", notes);
    let query = query_pairs(&r.head.target);
    let mut m = Map::new();
    m.insert("version".into(), version(r.head.minor));
    if !r.trailers.is_empty() {
        m.insert("trailers".into(), pairs_json(r.trailers));
    }
    if let Some(q) = query {
        m.insert("query".into(), pairs_json(q));
    }
    m.insert("path".into(), Value::String(r.head.target));
    m.insert("method".into(), Value::String(r.head.method));
    m.insert("headers".into(), pairs_json(r.head.headers));
    m.insert("body".into(), body);
    Value::Object(m)
}

fn response_json(r: ResponseMsg, notes: &mut Vec<String>) -> Value {
    let body = body_json(r.body, &r.head.headers, "response", notes);
    let mut m = Map::new();
    m.insert("version".into(), version(r.head.minor));
    if !r.trailers.is_empty() {
        m.insert("trailers".into(), pairs_json(r.trailers));
    }
    m.insert("status".into(), Value::from(r.head.status));
    m.insert("reason".into(), Value::String(r.head.reason));
    if !r.interim.is_empty() {
        let interim = r.interim.into_iter().map(interim_json).collect();
        m.insert("interim".into(), Value::Array(interim));
    }
    m.insert("headers".into(), pairs_json(r.head.headers));
    m.insert("body".into(), body);
    Value::Object(m)
}

fn interim_json(i: Interim) -> Value {
    let mut m = Map::new();
    m.insert("status".into(), Value::from(i.status));
    m.insert("reason".into(), Value::String(i.reason));
    Value::Object(m)
}

/// The query of a request target as decoded pairs (`+` is a space, `%XX` a byte, UTF-8 lossy);
/// None when the target has no `?`.
pub(crate) fn query_pairs(target: &str) -> Option<Vec<Header>> {
    let (_, query) = target.split_once('?')?;
    let query = query.split('#').next().unwrap_or_default();
    Some(
        query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect(),
    )
}

fn percent_decode(s: &str) -> String {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return s.to_owned();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'+' => out.push(b' '),
            b'%' => match (b.get(i + 1).and_then(hex), b.get(i + 2).and_then(hex)) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            _ => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: &u8) -> Option<u8> {
    (*c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<Header> {
        pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    #[test]
    fn query_decoding() {
        assert_eq!(query_pairs("/a"), None);
        assert_eq!(query_pairs("/a?"), Some(vec![]));
        assert_eq!(
            query_pairs("/s?q=a+b%20c&x&empty=&pct=%zz%4&utf=%C3%A9&&k%3D=v#frag"),
            Some(p(&[("q", "a b c"), ("x", ""), ("empty", ""), ("pct", "%zz%4"), ("utf", "é"), ("k=", "v")]))
        );
        assert_eq!(query_pairs("/?bad=%ff"), Some(p(&[("bad", "\u{fffd}")])));
    }

    #[test]
    fn summary_cuts_long_targets_on_char_boundaries() {
        assert_eq!(summary("GET", "/x?y=1"), "GET /x?y=1");
        let long = format!("/{}", "é".repeat(300));
        let s = summary("GET", &long);
        assert_eq!(s.chars().count(), 4 + SUMMARY_TARGET + 1);
        assert!(s.ends_with('…'));
    }
}
