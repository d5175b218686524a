//! HAR tests. The oracle is the input: the entries dissected from samples/demo.pcapng and
//! hand-made entries; the structure is checked by a validator written from the field list of the
//! HAR 1.2 specification (which fields each object has, their JSON types, which are required).

use super::*;
use node_agent::engine::EngineConfig;
use node_agent::pipeline::run_files;
use node_agent::Transport;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Ty {
    Str,
    Num,
    Obj,
    Arr,
    Bool,
}

fn type_of(v: &Value) -> Option<Ty> {
    match v {
        Value::String(_) => Some(Ty::Str),
        Value::Number(_) => Some(Ty::Num),
        Value::Object(_) => Some(Ty::Obj),
        Value::Array(_) => Some(Ty::Arr),
        Value::Bool(_) => Some(Ty::Bool),
        Value::Null => None,
    }
}

const REQ: bool = true;
const OPT: bool = false;

// HAR 1.2 objects: (field, type, required). Fields named `_...` are custom and always allowed.
const LOG: &[(&str, Ty, bool)] = &[
    ("version", Ty::Str, REQ),
    ("creator", Ty::Obj, REQ),
    ("browser", Ty::Obj, OPT),
    ("pages", Ty::Arr, OPT),
    ("entries", Ty::Arr, REQ),
    ("comment", Ty::Str, OPT),
];
const CREATOR_FIELDS: &[(&str, Ty, bool)] =
    &[("name", Ty::Str, REQ), ("version", Ty::Str, REQ), ("comment", Ty::Str, OPT)];
const ENTRY: &[(&str, Ty, bool)] = &[
    ("pageref", Ty::Str, OPT),
    ("startedDateTime", Ty::Str, REQ),
    ("time", Ty::Num, REQ),
    ("request", Ty::Obj, REQ),
    ("response", Ty::Obj, REQ),
    ("cache", Ty::Obj, REQ),
    ("timings", Ty::Obj, REQ),
    ("serverIPAddress", Ty::Str, OPT),
    ("connection", Ty::Str, OPT),
    ("comment", Ty::Str, OPT),
];
const REQUEST: &[(&str, Ty, bool)] = &[
    ("method", Ty::Str, REQ),
    ("url", Ty::Str, REQ),
    ("httpVersion", Ty::Str, REQ),
    ("cookies", Ty::Arr, REQ),
    ("headers", Ty::Arr, REQ),
    ("queryString", Ty::Arr, REQ),
    ("postData", Ty::Obj, OPT),
    ("headersSize", Ty::Num, REQ),
    ("bodySize", Ty::Num, REQ),
    ("comment", Ty::Str, OPT),
];
const RESPONSE: &[(&str, Ty, bool)] = &[
    ("status", Ty::Num, REQ),
    ("statusText", Ty::Str, REQ),
    ("httpVersion", Ty::Str, REQ),
    ("cookies", Ty::Arr, REQ),
    ("headers", Ty::Arr, REQ),
    ("content", Ty::Obj, REQ),
    ("redirectURL", Ty::Str, REQ),
    ("headersSize", Ty::Num, REQ),
    ("bodySize", Ty::Num, REQ),
    ("comment", Ty::Str, OPT),
];
const COOKIE: &[(&str, Ty, bool)] = &[
    ("name", Ty::Str, REQ),
    ("value", Ty::Str, REQ),
    ("path", Ty::Str, OPT),
    ("domain", Ty::Str, OPT),
    ("expires", Ty::Str, OPT),
    ("httpOnly", Ty::Bool, OPT),
    ("secure", Ty::Bool, OPT),
    ("comment", Ty::Str, OPT),
];
const NAME_VALUE: &[(&str, Ty, bool)] = &[("name", Ty::Str, REQ), ("value", Ty::Str, REQ), ("comment", Ty::Str, OPT)];
// `params` and `text` are mutually exclusive (spec); one of them must be there (checked below).
const POST_DATA: &[(&str, Ty, bool)] =
    &[("mimeType", Ty::Str, REQ), ("params", Ty::Arr, OPT), ("text", Ty::Str, OPT), ("comment", Ty::Str, OPT)];
const CONTENT: &[(&str, Ty, bool)] = &[
    ("size", Ty::Num, REQ),
    ("compression", Ty::Num, OPT),
    ("mimeType", Ty::Str, REQ),
    ("text", Ty::Str, OPT),
    ("encoding", Ty::Str, OPT),
    ("comment", Ty::Str, OPT),
];
const CACHE: &[(&str, Ty, bool)] =
    &[("beforeRequest", Ty::Obj, OPT), ("afterRequest", Ty::Obj, OPT), ("comment", Ty::Str, OPT)];
const TIMINGS: &[(&str, Ty, bool)] = &[
    ("blocked", Ty::Num, OPT),
    ("dns", Ty::Num, OPT),
    ("connect", Ty::Num, OPT),
    ("send", Ty::Num, REQ),
    ("wait", Ty::Num, REQ),
    ("receive", Ty::Num, REQ),
    ("ssl", Ty::Num, OPT),
    ("comment", Ty::Str, OPT),
];

/// Checks one object against its field list; returns it for further checks.
fn object<'a>(v: &'a Value, at: &str, fields: &[(&str, Ty, bool)], errors: &mut Vec<String>) -> &'a Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    let Some(m) = v.as_object() else {
        errors.push(format!("{at}: not an object"));
        return EMPTY.get_or_init(Map::new);
    };
    for (name, ty, required) in fields {
        match m.get(*name) {
            None if *required => errors.push(format!("{at}.{name}: missing")),
            None => {}
            Some(x) if type_of(x) != Some(*ty) => errors.push(format!("{at}.{name}: {x} is not {ty:?}")),
            Some(_) => {}
        }
    }
    for key in m.keys() {
        if !key.starts_with('_') && !fields.iter().any(|(n, _, _)| n == key) {
            errors.push(format!("{at}.{key}: not a HAR 1.2 field (custom fields start with _)"));
        }
    }
    m
}

fn each(m: &Map<String, Value>, key: &str, at: &str, fields: &[(&str, Ty, bool)], errors: &mut Vec<String>) {
    for (i, x) in m.get(key).and_then(Value::as_array).into_iter().flatten().enumerate() {
        object(x, &format!("{at}.{key}[{i}]"), fields, errors);
    }
}

fn num(m: &Map<String, Value>, key: &str) -> f64 {
    m.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

/// Every rule of HAR 1.2 that applies to what we write; the list of violations.
fn validate(har: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let root = object(har, "$", &[("log", Ty::Obj, REQ)], &mut errors);
    let log = object(root.get("log").unwrap_or(&Value::Null), "log", LOG, &mut errors);
    if log.get("version") != Some(&json!("1.2")) {
        errors.push("log.version is not 1.2".into());
    }
    object(log.get("creator").unwrap_or(&Value::Null), "log.creator", CREATOR_FIELDS, &mut errors);
    for (i, e) in log.get("entries").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let at = format!("log.entries[{i}]");
        let entry = object(e, &at, ENTRY, &mut errors);
        let started = entry.get("startedDateTime").and_then(Value::as_str).unwrap_or_default();
        let millis = started.len() == 24 && started.as_bytes().get(19) == Some(&b'.');
        if Timestamp::parse_rfc3339(started).is_none() || !millis {
            errors.push(format!("{at}.startedDateTime: {started:?} is not ISO 8601 with milliseconds"));
        }
        let req = object(entry.get("request").unwrap_or(&Value::Null), &format!("{at}.request"), REQUEST, &mut errors);
        for list in ["headers", "queryString"] {
            each(req, list, &format!("{at}.request"), NAME_VALUE, &mut errors);
        }
        each(req, "cookies", &format!("{at}.request"), COOKIE, &mut errors);
        if let Some(p) = req.get("postData") {
            let post = object(p, &format!("{at}.request.postData"), POST_DATA, &mut errors);
            if post.contains_key("params") == post.contains_key("text") {
                errors.push(format!("{at}.request.postData: needs exactly one of params and text"));
            }
        }
        let resp =
            object(entry.get("response").unwrap_or(&Value::Null), &format!("{at}.response"), RESPONSE, &mut errors);
        each(resp, "headers", &format!("{at}.response"), NAME_VALUE, &mut errors);
        each(resp, "cookies", &format!("{at}.response"), COOKIE, &mut errors);
        object(resp.get("content").unwrap_or(&Value::Null), &format!("{at}.response.content"), CONTENT, &mut errors);
        object(entry.get("cache").unwrap_or(&Value::Null), &format!("{at}.cache"), CACHE, &mut errors);
        let timings =
            object(entry.get("timings").unwrap_or(&Value::Null), &format!("{at}.timings"), TIMINGS, &mut errors);
        // send, wait and receive are non-negative; the optional ones are -1 when not applicable;
        // `time` is the sum of the timings that are not -1.
        let mut sum = 0.0;
        for (name, _, required) in TIMINGS.iter().filter(|(_, ty, _)| *ty == Ty::Num) {
            if let Some(v) = timings.get(*name).and_then(Value::as_f64) {
                if v < 0.0 && (*required || v != -1.0) {
                    errors.push(format!("{at}.timings.{name}: {v} is negative"));
                }
                if v >= 0.0 && *name != "ssl" {
                    sum += v; // ssl is included in connect (spec)
                }
            }
        }
        if (num(entry, "time") - sum).abs() > 1e-9 {
            errors.push(format!("{at}.time: {} is not the sum of the timings {sum}", num(entry, "time")));
        }
    }
    errors
}

fn demo_entries() -> Vec<Arc<Entry>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/demo.pcapng");
    let mut out = Vec::new();
    let run = run_files(&[path], EngineConfig::default(), &mut |e| out.push(Arc::new(e)));
    assert!(run.error.is_none(), "{:?}", run.error);
    out
}

#[test]
fn demo_capture_gives_one_valid_har_entry_per_http_entry() {
    let entries = demo_entries();
    let http: Vec<&Arc<Entry>> = entries.iter().filter(|e| has_http_semantics(&e.protocol)).collect();
    assert!(http.len() >= 40 && http.len() < entries.len(), "the demo has HTTP and DNS entries");
    let har = build(&entries);
    assert_eq!(validate(&har), Vec::<String>::new());

    let log = &har["log"];
    assert_eq!(log["creator"]["name"], "kubectl-shark");
    let har_entries = log["entries"].as_array().cloned().unwrap_or_default();
    assert_eq!(har_entries.len(), http.len());
    let mut base64_bodies = 0;
    for (h, e) in har_entries.iter().zip(&http) {
        assert_eq!(h["_kubectl_shark"]["id"], json!(e.id));
        assert_eq!(h["request"]["method"], e.request["method"]);
        let host = e.request["headers"]
            .as_array()
            .and_then(|hs| hs.iter().find(|p| p[0].as_str().is_some_and(|n| n.eq_ignore_ascii_case("host"))))
            .map(|p| p[1].clone());
        let want_url = format!(
            "http://{}{}",
            host.and_then(|h| h.as_str().map(str::to_owned)).unwrap_or_default(),
            e.request["path"].as_str().unwrap_or("?")
        );
        assert_eq!(h["request"]["url"], json!(want_url), "{}", e.id);
        let status = e.response.as_ref().map_or(json!(0), |r| r["status"].clone());
        assert_eq!(h["response"]["status"], status, "{}", e.id);
        assert_eq!(h["response"]["status"].to_string(), e.status.clone().unwrap_or_else(|| "0".into()));
        assert_eq!(h["time"].as_f64(), Some(e.elapsed_us.unwrap_or(0) as f64 / 1000.0));
        assert_eq!(h["serverIPAddress"], json!(e.dst.ip.to_string()));
        assert_eq!(h["connection"], json!(e.src.port.to_string()));
        assert!(e.ts.to_string().starts_with(h["startedDateTime"].as_str().unwrap_or("-").trim_end_matches('Z')));
        // Header lists carry the same pairs in the same order.
        let pairs = |v: &Value| -> Vec<(Value, Value)> {
            v.as_array().into_iter().flatten().map(|p| (p["name"].clone(), p["value"].clone())).collect()
        };
        let entry_pairs = |v: &Value| -> Vec<(Value, Value)> {
            v.as_array().into_iter().flatten().map(|p| (p[0].clone(), p[1].clone())).collect()
        };
        assert_eq!(pairs(&h["request"]["headers"]), entry_pairs(&e.request["headers"]));
        if let Some(r) = &e.response {
            assert_eq!(pairs(&h["response"]["headers"]), entry_pairs(&r["headers"]));
            let content = &h["response"]["content"];
            if let Some(b) = r["body"]["base64"].as_str() {
                base64_bodies += 1;
                assert_eq!((content["text"].as_str(), content["encoding"].as_str()), (Some(b), Some("base64")));
                use base64::Engine as _;
                let bytes = base64::engine::general_purpose::STANDARD.decode(b).unwrap_or_default();
                assert_eq!(content["size"], json!(bytes.len()));
            } else {
                assert_eq!(content["text"], r["body"]["text"]);
                assert_eq!(content.get("encoding"), None);
            }
        }
    }
    assert!(base64_bodies > 0, "the demo has binary bodies");
}

fn entry(request: Value, response: Option<Value>) -> Entry {
    Entry {
        id: "t-1".into(),
        protocol: "http".into(),
        transport: Transport::Tcp,
        ts: Timestamp::from_secs_nanos(1_709_210_096, 123_956_789),
        elapsed_us: Some(2_500),
        src: Endpoint::new([10, 0, 0, 1].into(), 40_000),
        dst: Endpoint::new([10, 0, 0, 2].into(), 8080),
        summary: "x".into(),
        status: response.as_ref().map(|r| r["status"].to_string()),
        outcome: Default::default(),
        tls: false,
        request_size: 100,
        response_size: 200,
        request,
        response,
        notes: vec![],
    }
}

#[test]
fn hand_made_entries_map_field_by_field() {
    let req = json!({
        "method": "POST", "path": "/up?a=1&b=x%20y", "version": "HTTP/1.1",
        "headers": [["Host", "api.shop:8080"], ["Content-Type", "application/octet-stream"]],
        "query": [["a", "1"], ["b", "x y"]],
        "body": {"size": 3, "mime": "application/octet-stream", "encoding": null, "base64": "/wAB", "truncated": false}
    });
    let resp = json!({
        "status": 302, "reason": "Found", "version": "HTTP/1.1",
        "headers": [["Location", "/next"], ["Content-Type", "text/plain; charset=utf-8"], ["Content-Encoding", "gzip"]],
        "body": {"size": 20, "mime": "text/plain", "encoding": "gzip", "text": "hello hello hello hello hello", "truncated": false}
    });
    let har = build(&[Arc::new(entry(req, Some(resp)))]);
    assert_eq!(validate(&har), Vec::<String>::new());
    let h = &har["log"]["entries"][0];
    assert_eq!(h["startedDateTime"], "2024-02-29T12:34:56.123Z");
    assert_eq!((h["time"].clone(), h["timings"]["wait"].clone()), (json!(2.5), json!(2.5)));
    assert_eq!(h["request"]["url"], "http://api.shop:8080/up?a=1&b=x%20y");
    assert_eq!(h["request"]["queryString"], json!([{"name": "a", "value": "1"}, {"name": "b", "value": "x y"}]));
    assert_eq!(
        h["request"]["postData"],
        json!({"mimeType": "application/octet-stream", "text": "/wAB", "_encoding": "base64",
               "comment": "text is the base64 of a binary body"})
    );
    assert_eq!(h["request"]["bodySize"], 3);
    let r = &h["response"];
    assert_eq!((r["status"].clone(), r["statusText"].clone()), (json!(302), json!("Found")));
    assert_eq!(r["redirectURL"], "/next");
    assert_eq!(r["bodySize"], 20);
    assert_eq!(r["_transferSize"], 200);
    assert_eq!(
        r["content"],
        json!({"size": 29, "compression": 9, "mimeType": "text/plain; charset=utf-8",
               "text": "hello hello hello hello hello"})
    );
    assert_eq!(
        h["_kubectl_shark"],
        json!({"id": "t-1", "src": {"ip": "10.0.0.1", "port": 40000},
                                          "dst": {"ip": "10.0.0.2", "port": 8080}})
    );
}

#[test]
fn missing_parts_still_give_valid_har() {
    // No response (Chrome's failed request), no Host (falls back to the server address, IPv6 in
    // brackets), an orphan response without request, an absolute-form target, a hostile Host.
    let mut no_resp = entry(
        json!({"method": "GET", "path": "/a", "version": "HTTP/1.1", "headers": [],
               "body": {"size": 0, "mime": null, "encoding": null, "text": "", "truncated": false}}),
        None,
    );
    no_resp.elapsed_us = None;
    no_resp.dst = Endpoint::new("fd00::2".parse().unwrap_or(std::net::Ipv6Addr::LOCALHOST).into(), 80);
    no_resp.notes = vec!["response lost to a capture gap".into()];
    let orphan = entry(
        Value::Null,
        Some(json!({"status": 200, "reason": "OK", "version": "HTTP/1.0", "headers": [],
                    "body": {"size": 0, "mime": null, "encoding": null, "text": "", "truncated": false}})),
    );
    let absolute =
        entry(json!({"method": "GET", "path": "http://example.com/x", "headers": [["Host", "example.com"]]}), None);
    let hostile = entry(json!({"method": "GET", "path": "/p", "headers": [["Host", "a b/c"], 7, ["Host"]]}), None);
    let mut dns = entry(json!({"questions": []}), None);
    dns.protocol = "dns".into();
    let entries: Vec<Arc<Entry>> = [no_resp, orphan, absolute, hostile, dns].into_iter().map(Arc::new).collect();
    let har = build(&entries);
    assert_eq!(validate(&har), Vec::<String>::new());
    let es = har["log"]["entries"].as_array().cloned().unwrap_or_default();
    assert_eq!(es.len(), 4, "the DNS entry is left out");

    assert_eq!(es[0]["request"]["url"], "http://[fd00::2]:80/a");
    assert_eq!((es[0]["time"].as_f64(), es[0]["response"]["status"].clone()), (Some(0.0), json!(0)));
    assert_eq!(es[0]["response"]["_error"], "response lost to a capture gap");
    assert_eq!(es[0]["comment"], "response lost to a capture gap");
    assert_eq!(es[0]["serverIPAddress"], "fd00::2");

    assert_eq!(es[1]["request"]["method"], "");
    assert_eq!(es[1]["request"]["url"], "http://10.0.0.2:8080/");
    assert_eq!(es[1]["request"]["httpVersion"], "HTTP/1.0");
    assert_eq!(es[1]["request"]["comment"], "request not captured");
    assert_eq!(es[1]["response"]["status"], 200);

    assert_eq!(es[2]["request"]["url"], "http://example.com/x");
    assert_eq!(es[3]["request"]["url"], "http://10.0.0.2:8080/p");
    assert_eq!(es[3]["request"]["headers"], json!([{"name": "Host", "value": "a b/c"}]));
}

#[test]
fn http2_and_tls_entries_say_so() {
    // An HTTP/2 exchange read from a TLS library: no Host header but `:authority`, version HTTP/2.
    let mut h2 = entry(
        json!({"method": "GET", "path": "/v1/items?id=3", "version": "HTTP/2",
               "headers": [[":authority", "api.shop:8443"], ["accept", "*/*"]]}),
        Some(json!({"status": 200, "version": "HTTP/2", "headers": [],
                    "body": {"size": 0, "mime": null, "encoding": null, "text": "", "truncated": false}})),
    );
    h2.tls = true;
    // A plaintext HTTP/1.1 request with both: Host wins.
    let both = entry(
        json!({"method": "GET", "path": "/", "version": "HTTP/1.1",
               "headers": [[":authority", "other"], ["Host", "web.shop"]]}),
        None,
    );
    let har = build(&[Arc::new(h2), Arc::new(both)]);
    assert_eq!(validate(&har), Vec::<String>::new());
    let es = &har["log"]["entries"];
    assert_eq!(es[0]["request"]["url"], "https://api.shop:8443/v1/items?id=3");
    assert_eq!(es[0]["request"]["httpVersion"], "HTTP/2");
    assert_eq!(es[0]["response"]["httpVersion"], "HTTP/2");
    assert_eq!(es[1]["request"]["url"], "http://web.shop/");
}

#[test]
fn only_protocols_with_http_semantics_are_exported() {
    // Whatever the registry says about a name decides, not the name itself.
    let names = node_agent::dissect::registry::names();
    assert!(names.iter().any(|n| has_http_semantics(n)) && names.iter().any(|n| !has_http_semantics(n)));
    let mut entries = Vec::new();
    for name in names.iter().copied().chain(["not-a-registered-protocol"]) {
        let mut e = entry(json!({"method": "GET", "path": "/", "headers": []}), None);
        e.protocol = name.into();
        e.id = name.into();
        entries.push(Arc::new(e));
    }
    let har = build(&entries);
    let ids: Vec<&str> = har["log"]["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["_kubectl_shark"]["id"].as_str())
        .collect();
    let want: Vec<&str> = names.iter().copied().filter(|n| has_http_semantics(n)).collect();
    assert_eq!(ids, want);
}

#[test]
fn empty_input_gives_an_empty_log() {
    let har = build(&[]);
    assert_eq!(validate(&har), Vec::<String>::new());
    assert_eq!(har["log"]["entries"], json!([]));
}

#[test]
fn validator_catches_what_it_should() {
    // The validator must be able to fail: break a good HAR in several ways.
    let entries = vec![Arc::new(entry(json!({"method": "GET", "path": "/", "headers": []}), None))];
    let good = build(&entries);
    let mut bad = good.clone();
    bad["log"]["entries"][0]["request"].as_object_mut().map(|m| m.remove("queryString"));
    bad["log"]["entries"][0]["response"]["status"] = json!("200");
    bad["log"]["entries"][0]["timings"]["wait"] = json!(-1);
    bad["log"]["entries"][0]["startedDateTime"] = json!("2024-02-29T12:34:56Z");
    bad["log"]["entries"][0]["extra"] = json!(1);
    let errors = validate(&bad);
    assert_eq!(errors.len(), 6, "{errors:#?}");
}

#[test]
fn write_streams_the_same_document_as_build() {
    let entries = demo_entries();
    let mut out = Vec::new();
    assert!(write(&entries, &mut out).is_ok());
    let parsed: Value = serde_json::from_slice(&out).unwrap_or_default();
    assert_eq!(parsed, build(&entries));
    let mut out = Vec::new();
    assert!(write(&[], &mut out).is_ok());
    assert_eq!(serde_json::from_slice::<Value>(&out).unwrap_or_default(), build(&[]));
}
