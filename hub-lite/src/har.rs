//! HAR 1.2 (HTTP Archive) of stored HTTP entries, for `GET /api/v1/har` (docs/api.md). Chrome
//! DevTools' Network panel and other HAR viewers import it. An entry is an HTTP exchange when its
//! protocol's registration says so ([`has_http_semantics`]: HTTP/1, HTTP/2, ...); the others are
//! left out.
//!
//! How an entry maps to a HAR entry:
//! - `startedDateTime` is the entry's `ts` with milliseconds; `time` is `elapsed_us` in
//!   milliseconds (0 without response). The capture does not split the exchange into phases, so
//!   `timings` is `{send: 0, wait: time, receive: 0}`, which keeps `time` the sum of the timings.
//! - `request.url` is the scheme + the Host header (else HTTP/2's `:authority` pseudo-header; the
//!   server's `ip:port` when neither is present or the value is not a plain authority) + the
//!   request target; an absolute-form target is used as is. The asterisk form (`OPTIONS *`)
//!   becomes `/`. The scheme is `https://` when the entry was read from a TLS library (`tls`),
//!   else `http://`.
//! - `httpVersion` is the request's `version` (`HTTP/1.1`, `HTTP/2`), else the response's.
//! - `cookies` are empty: the Cookie and Set-Cookie headers are in `headers` (and are usually
//!   redacted). Trailers and 1xx interim responses have no place in HAR and are left out.
//! - Bodies: `response.content.text` is the decoded body, or its base64 with `encoding: "base64"`
//!   when it is not UTF-8; `content.size` is the decoded length, `response.bodySize` the bytes on
//!   the wire (before content decoding). HAR has no `encoding` for `postData`, so a binary request
//!   body is put as base64 in `postData.text` with the custom field `_encoding: "base64"` and a
//!   `comment` saying so. A body the engine cut at its limit gets a `comment` too.
//! - An entry without response gets `response.status` 0 and `_error`, as Chrome writes failed
//!   requests. A response whose request was not captured gets an empty `method` and a `comment`.
//! - Custom fields (HAR allows names starting with `_`): `_kubectl_shark: {id, src, dst}` on each
//!   entry, `_transferSize` (response bytes on the wire, as Chrome names it) on the response.
//!
//! Entry content came from the network: every field is read defensively (wrong types are treated
//! as absent) and nothing here panics on it.

use node_agent::dissect::registry::has_http_semantics;
use node_agent::{Endpoint, Entry, Timestamp};
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;

/// The HAR version written.
pub const HAR_VERSION: &str = "1.2";
/// `log.creator.name`.
pub const CREATOR: &str = "kubectl-shark";

/// Media type assumed for a body sent without Content-Type (RFC 9110, 8.3).
const OCTET_STREAM: &str = "application/octet-stream";
/// Media type of a response without body and without Content-Type (what Chrome writes).
const UNKNOWN_MIME: &str = "x-unknown";

/// The HAR document of the HTTP entries among `entries`, in their order; other protocols are left out
/// (see the module doc).
pub fn build(entries: &[Arc<Entry>]) -> Value {
    let har_entries: Vec<Value> = http_entries(entries).map(har_entry).collect();
    let mut log = log_head();
    log.insert("entries".into(), Value::Array(har_entries));
    json!({ "log": log })
}

/// Writes the same document as [`build`] to `out` (compact JSON), one entry at a time: besides
/// the output, at most one HAR entry is held in memory, so a large store is not copied whole.
pub fn write<W: std::io::Write>(entries: &[Arc<Entry>], mut out: W) -> std::io::Result<()> {
    let head = serde_json::to_string(&log_head())?;
    // `head` is a JSON object, "{...}": reopen it to append the entries.
    let head = head.strip_suffix('}').unwrap_or(&head);
    out.write_all(b"{\"log\":")?;
    out.write_all(head.as_bytes())?;
    out.write_all(b",\"entries\":[")?;
    for (i, e) in http_entries(entries).enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut out, &har_entry(e))?;
    }
    out.write_all(b"]}}")?;
    out.flush()
}

fn http_entries(entries: &[Arc<Entry>]) -> impl Iterator<Item = &Entry> {
    entries.iter().map(|e| &**e).filter(|e| has_http_semantics(&e.protocol))
}

/// The fields of `log` other than `entries`.
fn log_head() -> Map<String, Value> {
    let mut log = Map::new();
    log.insert("version".into(), json!(HAR_VERSION));
    log.insert("creator".into(), json!({"name": CREATOR, "version": env!("CARGO_PKG_VERSION")}));
    log.insert("pages".into(), json!([]));
    log
}

fn har_entry(e: &Entry) -> Value {
    let time = e.elapsed_us.map_or(0.0, |us| us as f64 / 1000.0);
    let mut m = Map::new();
    m.insert("startedDateTime".into(), Value::String(rfc3339_millis(e.ts)));
    m.insert("time".into(), json!(time));
    m.insert("request".into(), request(e));
    m.insert("response".into(), response(e));
    m.insert("cache".into(), json!({}));
    m.insert("timings".into(), json!({"send": 0, "wait": time, "receive": 0}));
    m.insert("serverIPAddress".into(), Value::String(e.dst.ip.to_string()));
    m.insert("connection".into(), Value::String(e.src.port.to_string()));
    if !e.notes.is_empty() {
        m.insert("comment".into(), Value::String(e.notes.join("; ")));
    }
    let endpoint = |p: &Endpoint| serde_json::to_value(p).unwrap_or_default();
    m.insert("_kubectl_shark".into(), json!({"id": e.id, "src": endpoint(&e.src), "dst": endpoint(&e.dst)}));
    Value::Object(m)
}

fn request(e: &Entry) -> Value {
    let req = &e.request;
    let captured = req.is_object();
    let method = str_field(req, "method").unwrap_or_default();
    let path = str_field(req, "path").unwrap_or_default();
    let headers = pairs(req.get("headers"));
    let header = |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| *v);
    let host = header("host").or_else(|| header(":authority"));
    let version = str_field(req, "version").or_else(|| e.response.as_ref().and_then(|r| str_field(r, "version")));
    let body = req.get("body");

    let mut m = Map::new();
    m.insert("method".into(), Value::String(method.to_owned()));
    m.insert("url".into(), Value::String(url(method, path, host, &e.dst, e.tls)));
    m.insert("httpVersion".into(), Value::String(version.unwrap_or_default().to_owned()));
    m.insert("cookies".into(), json!([]));
    m.insert("headers".into(), name_values(&headers));
    m.insert("queryString".into(), name_values(&pairs(req.get("query"))));
    if let Some(post) = body.and_then(|b| post_data(b, content_type(&headers))) {
        m.insert("postData".into(), post);
    }
    m.insert("headersSize".into(), json!(-1));
    let body_size = if captured { json!(body_size(body)) } else { json!(-1) };
    m.insert("bodySize".into(), body_size);
    if !captured {
        m.insert("comment".into(), json!("request not captured"));
    }
    Value::Object(m)
}

fn response(e: &Entry) -> Value {
    let Some(resp) = e.response.as_ref().filter(|r| r.is_object()) else {
        let error = if e.notes.is_empty() { "no response captured".to_owned() } else { e.notes.join("; ") };
        return json!({
            "status": 0, "statusText": "", "httpVersion": "", "cookies": [], "headers": [],
            "content": {"size": 0, "mimeType": UNKNOWN_MIME}, "redirectURL": "",
            "headersSize": -1, "bodySize": -1, "_error": error,
        });
    };
    let headers = pairs(resp.get("headers"));
    let status = resp.get("status").and_then(Value::as_u64).unwrap_or(0);
    let location = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("location")).map_or("", |(_, v)| v);
    let body = resp.get("body");

    let mut m = Map::new();
    m.insert("status".into(), json!(status));
    m.insert("statusText".into(), json!(str_field(resp, "reason").unwrap_or_default()));
    m.insert("httpVersion".into(), json!(str_field(resp, "version").unwrap_or_default()));
    m.insert("cookies".into(), json!([]));
    m.insert("headers".into(), name_values(&headers));
    m.insert("content".into(), content(body, content_type(&headers)));
    m.insert("redirectURL".into(), json!(location));
    m.insert("headersSize".into(), json!(-1));
    m.insert("bodySize".into(), json!(body_size(body)));
    m.insert("_transferSize".into(), json!(e.response_size));
    Value::Object(m)
}

/// `response.content`: size is the decoded length, the text the decoded body (or its base64).
fn content(body: Option<&Value>, content_type: Option<&str>) -> Value {
    let decoded = body.map(decoded_body).unwrap_or(Decoded::None);
    let size = decoded.len();
    let wire = body_size(body);
    let mut m = Map::new();
    m.insert("size".into(), json!(size));
    let encoded = body.and_then(|b| str_field(b, "encoding")).is_some();
    if encoded && !truncated(body) && size >= wire {
        m.insert("compression".into(), json!(size - wire));
    }
    let mime = content_type.or_else(|| body.and_then(|b| str_field(b, "mime")));
    let fallback = if size == 0 && wire == 0 { UNKNOWN_MIME } else { OCTET_STREAM };
    m.insert("mimeType".into(), json!(mime.unwrap_or(fallback)));
    match decoded {
        Decoded::Text(t) => {
            m.insert("text".into(), json!(t));
        }
        Decoded::Base64(b) => {
            m.insert("text".into(), json!(b));
            m.insert("encoding".into(), json!("base64"));
        }
        Decoded::None => {}
    }
    if truncated(body) {
        m.insert("comment".into(), json!(format!("text cut by kubectl-shark: the first {size} bytes are kept")));
    }
    Value::Object(m)
}

/// `request.postData`, when the request has a body.
fn post_data(body: &Value, content_type: Option<&str>) -> Option<Value> {
    let decoded = decoded_body(body);
    if body_size(Some(body)) == 0 && decoded.len() == 0 {
        return None;
    }
    let mime = content_type.or_else(|| str_field(body, "mime")).unwrap_or(OCTET_STREAM);
    let mut m = Map::new();
    m.insert("mimeType".into(), json!(mime));
    let mut comments = Vec::new();
    match decoded {
        Decoded::Text(t) => {
            m.insert("text".into(), json!(t));
        }
        Decoded::Base64(b) => {
            m.insert("text".into(), json!(b));
            m.insert("_encoding".into(), json!("base64"));
            comments.push("text is the base64 of a binary body".to_owned());
        }
        Decoded::None => {
            m.insert("text".into(), json!(""));
        }
    }
    if truncated(Some(body)) {
        comments.push(format!("text cut by kubectl-shark: the first {} bytes are kept", decoded.len()));
    }
    if !comments.is_empty() {
        m.insert("comment".into(), json!(comments.join("; ")));
    }
    Some(Value::Object(m))
}

/// The kept body of an entry body object (docs/entry.md: `text` or `base64`).
enum Decoded<'a> {
    Text(&'a str),
    Base64(&'a str),
    None,
}

impl Decoded<'_> {
    /// Bytes of the decoded body.
    fn len(&self) -> u64 {
        match self {
            Decoded::Text(t) => t.len() as u64,
            Decoded::Base64(b) => base64_decoded_len(b),
            Decoded::None => 0,
        }
    }
}

fn decoded_body(body: &Value) -> Decoded<'_> {
    if let Some(t) = str_field(body, "text") {
        Decoded::Text(t)
    } else if let Some(b) = str_field(body, "base64") {
        Decoded::Base64(b)
    } else {
        Decoded::None
    }
}

/// Bytes encoded by a standard base64 string (padded or not), without decoding it.
fn base64_decoded_len(b: &str) -> u64 {
    let data = b.trim_end_matches('=').len() as u64;
    data * 3 / 4
}

fn body_size(body: Option<&Value>) -> u64 {
    body.and_then(|b| b.get("size")).and_then(Value::as_u64).unwrap_or(0)
}

fn truncated(body: Option<&Value>) -> bool {
    body.and_then(|b| b.get("truncated")).and_then(Value::as_bool).unwrap_or(false)
}

fn content_type<'a>(headers: &[(&'a str, &'a str)]) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("content-type")).map(|(_, v)| *v)
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The `[name, value]` string pairs of a list; anything else in it is skipped.
fn pairs(list: Option<&Value>) -> Vec<(&str, &str)> {
    let Some(Value::Array(items)) = list else { return Vec::new() };
    items
        .iter()
        .filter_map(|p| match p.as_array().map(Vec::as_slice) {
            Some([Value::String(n), Value::String(v)]) => Some((n.as_str(), v.as_str())),
            _ => None,
        })
        .collect()
}

fn name_values(pairs: &[(&str, &str)]) -> Value {
    Value::Array(pairs.iter().map(|(n, v)| json!({"name": n, "value": v})).collect())
}

/// The URL of a request (see the module doc).
fn url(method: &str, target: &str, host: Option<&str>, dst: &Endpoint, tls: bool) -> String {
    if starts_with_ignore_case(target, "http://") || starts_with_ignore_case(target, "https://") {
        return target.to_owned();
    }
    let scheme = if tls { "https" } else { "http" };
    if method.eq_ignore_ascii_case("CONNECT") && is_authority(target) {
        return format!("{scheme}://{target}");
    }
    let authority = match host.map(str::trim).filter(|h| is_authority(h)) {
        Some(h) => Cow::Borrowed(h),
        None => Cow::Owned(SocketAddr::new(dst.ip, dst.port).to_string()),
    };
    let path = if target.starts_with('/') { target } else { "/" };
    format!("{scheme}://{authority}{path}")
}

/// Whether `s` can stand as the authority of a URL: non-empty, no whitespace, controls or
/// delimiters of other URL parts.
fn is_authority(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| !c.is_whitespace() && !c.is_control() && !matches!(c, '/' | '?' | '#' | '@' | '\\'))
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len()).is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// `ts` as RFC 3339 with milliseconds: `2026-11-21T05:31:02.123Z`.
fn rfc3339_millis(ts: Timestamp) -> String {
    let full = ts.to_string(); // ...SS.nnnnnnnnnZ
    match full.find('.') {
        Some(dot) if full.len() >= dot + 4 => format!("{}Z", &full[..dot + 4]),
        _ => full,
    }
}

#[cfg(test)]
mod tests;
