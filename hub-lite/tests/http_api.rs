//! The hub's HTTP API and browser stream over real sockets: a hub on a free loopback port, its store
//! filled with the entries of the real demo capture (samples/demo.pcapng), requests written as raw
//! HTTP/1.1 on a TcpStream and WebSockets through tokio-tungstenite's client. Expected results come
//! from the entries as the engine produced them and from `Filter` evaluated here, independently of
//! the hub's code paths.

use futures_util::{SinkExt, StreamExt};
use hub_lite::hub::{Hub, HubConfig, HubHandle, Mode};
use hub_lite::store::StoreLimits;
use node_agent::filter::Filter;
use node_agent::Entry;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

/// Only a guard against hanging forever when something is broken; no test measures time.
const HANG_GUARD: Duration = Duration::from_secs(30);

fn demo_entries() -> Vec<Entry> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../samples/demo.pcapng");
    let mut entries = Vec::new();
    let run = node_agent::pipeline::run_files(&[path], Default::default(), &mut |e| entries.push(e));
    assert!(run.error.is_none(), "{:?}", run.error);
    assert!(entries.len() >= 50, "the demo capture has about 100 entries, got {}", entries.len());
    entries
}

fn start(limits: StoreLimits) -> HubHandle {
    Hub::start(HubConfig { store: limits, mode: Mode::View, ..HubConfig::default() }).expect("hub starts")
}

/// A hub whose store holds all demo entries (sequence numbers 1..=n in capture order).
fn hub_with_demo() -> (HubHandle, Vec<Entry>) {
    let hub = start(StoreLimits::default());
    let entries = demo_entries();
    for e in &entries {
        hub.store().push(e.clone()).expect("new id");
    }
    (hub, entries)
}

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// One GET over a fresh connection, as raw HTTP/1.1 (`Connection: close`, read to the end).
async fn get_with(hub: &HubHandle, target: &str, host: Option<&str>, extra: &[(&str, &str)]) -> Resp {
    let addr = hub.local_addr();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let host = host.map_or_else(|| addr.to_string(), str::to_string);
    let mut req = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (n, v) in extra {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    tokio::time::timeout(HANG_GUARD, stream.read_to_end(&mut raw)).await.expect("response in time").expect("read");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("end of head");
    let head = String::from_utf8(raw[..split].to_vec()).expect("ascii head");
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("status");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect::<Vec<_>>();
    let body = raw[split + 4..].to_vec();
    if let Some(len) = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("content-length")) {
        assert_eq!(len.1.parse::<usize>().ok(), Some(body.len()), "content-length");
    }
    Resp { status, headers, body }
}

/// GET with the token as Bearer.
async fn get(hub: &HubHandle, target: &str) -> Resp {
    let bearer = format!("Bearer {}", hub.token());
    get_with(hub, target, None, &[("Authorization", &bearer)]).await
}

fn enc(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

fn ids(rows: &Value) -> Vec<String> {
    rows.as_array().expect("array").iter().map(|r| r["id"].as_str().expect("id").to_string()).collect()
}

fn matching_ids(entries: &[Entry], q: &str) -> Vec<String> {
    let f = Filter::parse(q).expect("test filter");
    entries.iter().filter(|e| f.matches(e)).map(|e| e.id.clone()).collect()
}

const FILTERS: [&str; 5] = [
    "",
    "http",
    "dns and response.rcode == \"NXDOMAIN\"",
    "http and request.method == \"HEAD\"",
    "elapsed_us > 1ms or status == \"404\"",
];

#[tokio::test]
async fn entries_are_exactly_what_the_filter_selects_newest_last() {
    let (hub, entries) = hub_with_demo();
    for q in FILTERS {
        let expected = matching_ids(&entries, q);
        assert!(
            q.is_empty() || (!expected.is_empty() && expected.len() < entries.len()),
            "{q:?} must split the sample"
        );
        let r = get(&hub, &format!("/api/v1/entries?q={}&limit=10000", enc(q))).await;
        assert_eq!(r.status, 200, "{q}");
        assert_eq!(r.header("content-type"), Some("application/json"));
        let body = r.json();
        assert_eq!(ids(&body["entries"]), expected, "filter {q:?}");
        assert_eq!(body["missed"], 0);
        // Default limit 100, and a small limit keeps the newest.
        let r = get(&hub, &format!("/api/v1/entries?q={}&limit=3", enc(q))).await.json();
        assert_eq!(ids(&r["entries"]), expected[expected.len().saturating_sub(3)..].to_vec(), "limit 3 of {q:?}");
    }
    // `before` pages back: the rows below sequence 11 are entries 1..=10.
    let r = get(&hub, "/api/v1/entries?before=11&limit=4").await.json();
    let want: Vec<String> = entries[6..10].iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids(&r["entries"]), want);
    let seqs: Vec<u64> =
        r["entries"].as_array().expect("rows").iter().map(|r| r["seq"].as_u64().expect("seq")).collect();
    assert_eq!(seqs, vec![7, 8, 9, 10]);
    // A row is the entry without request/response/notes, plus seq and the request's method/path
    // when it has them (whatever the protocol).
    let all = get(&hub, "/api/v1/entries?limit=10000").await.json();
    for (i, (row, e)) in all["entries"].as_array().expect("rows").iter().zip(&entries).enumerate() {
        let mut expected = serde_json::to_value(e).expect("entry json");
        let obj = expected.as_object_mut().expect("object");
        for k in ["request", "response", "notes"] {
            obj.remove(k);
        }
        obj.insert("seq".into(), (i as u64 + 1).into());
        for k in ["method", "path"] {
            if e.request[k].is_string() {
                obj.insert(k.into(), e.request[k].clone());
            }
        }
        assert_eq!(row, &expected);
    }
    assert_eq!(get(&hub, "/api/v1/entries?limit=x").await.status, 400);
}

#[tokio::test]
async fn one_entry_is_the_stored_entry_and_unknown_ids_are_404() {
    let (hub, entries) = hub_with_demo();
    for (i, e) in entries.iter().enumerate().step_by(7) {
        let r = get(&hub, &format!("/api/v1/entries/{}", enc(&e.id))).await;
        assert_eq!(r.status, 200);
        let mut v = r.json();
        assert_eq!(v["seq"].as_u64(), Some(i as u64 + 1));
        v.as_object_mut().expect("object").remove("seq");
        let back: Entry = serde_json::from_value(v).expect("an entry");
        assert_eq!(&back, e);
    }
    for target in ["/api/v1/entries/nope-1", "/api/v1/entries/nope-1/pcap", "/api/v1/nothing", "/api/v2/session"] {
        let r = get(&hub, target).await;
        assert_eq!(r.status, 404, "{target}");
        assert!(r.json()["error"].as_str().is_some_and(|s| !s.is_empty()), "{target}");
    }
}

#[tokio::test]
async fn bad_filters_are_400_with_the_column_and_check_reports_them() {
    let (hub, _) = hub_with_demo();
    for q in ["http and", "response.status >= ", "(dns", "bogus_field == 1"] {
        let err = Filter::parse(q).expect_err("a bad filter");
        for route in ["entries", "har", "stats", "service-map", "pcap"] {
            let r = get(&hub, &format!("/api/v1/{route}?q={}", enc(q))).await;
            assert_eq!(r.status, 400, "{route} {q}");
            let body = r.json();
            assert_eq!(body["column"].as_u64(), Some(err.column as u64), "{route} {q}");
            assert_eq!(body["error"].as_str(), Some(err.message.as_str()));
        }
        let check = get(&hub, &format!("/api/v1/filter/check?q={}", enc(q))).await;
        assert_eq!(check.status, 200);
        let check = check.json();
        assert_eq!(check["ok"], false);
        assert_eq!(check["column"].as_u64(), Some(err.column as u64));
    }
    let ok = get(&hub, &format!("/api/v1/filter/check?q={}", enc("http and status == \"200\""))).await.json();
    assert_eq!(ok, serde_json::json!({"ok": true}));
}

#[tokio::test]
async fn session_health_views_and_downloads() {
    let (hub, entries) = hub_with_demo();
    let s = get(&hub, "/api/v1/session").await.json();
    assert_eq!(s["mode"], "view");
    assert_eq!(s["redact"], true);
    assert_eq!(s["api"], 1);
    assert_eq!(s["store"]["stored"].as_u64(), Some(entries.len() as u64));
    let h = get(&hub, "/api/v1/health").await.json();
    assert_eq!(h["clients"], 0);
    assert!(h["agents"].is_array());
    assert_eq!(h["store"]["received"].as_u64(), Some(entries.len() as u64));

    // The protocol catalogue is the registry's, one element per entry protocol name.
    let protocols = get(&hub, "/api/v1/protocols").await.json();
    let names: Vec<&str> = protocols.as_array().expect("a list").iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, node_agent::dissect::registry::names());
    for p in protocols.as_array().expect("a list") {
        let name = p["name"].as_str().unwrap_or_default();
        assert_eq!(p["http_semantics"].as_bool(), Some(node_agent::dissect::registry::has_http_semantics(name)));
        assert!(p["about"].is_string(), "{p}");
    }

    let har = get(&hub, "/api/v1/har?q=http").await;
    assert_eq!(har.status, 200);
    assert_eq!(har.header("content-type"), Some("application/json"));
    assert_eq!(har.header("content-disposition"), Some("attachment; filename=\"kubectl-shark.har\""));
    assert!(har.json()["log"].is_object());
    assert_eq!(get(&hub, "/api/v1/stats?bucket=5").await.status, 200);
    assert_eq!(get(&hub, "/api/v1/stats?bucket=0").await.status, 400);
    assert_eq!(get(&hub, "/api/v1/stats?bucket=nan").await.status, 400);
    assert_eq!(get(&hub, "/api/v1/service-map?q=dns").await.status, 200);
    // Nothing matches: nothing to export.
    assert_eq!(get(&hub, &format!("/api/v1/pcap?q={}", enc("summary == \"no such\""))).await.status, 404);
    // Plain GETs of the stream are refused (it is a WebSocket).
    assert_eq!(get(&hub, "/api/v1/stream").await.status, 400);
}

/// Reads stream messages until `pred` says stop; returns every message read (health ones left out).
async fn read_until(ws: &mut Ws, mut stop: impl FnMut(&Value) -> bool) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let msg = tokio::time::timeout(HANG_GUARD, ws.next()).await.expect("a message in time");
        let msg = msg.expect("stream open").expect("message");
        let Message::Text(text) = msg else { continue };
        let v: Value = serde_json::from_str(text.as_str()).expect("json message");
        if v["type"] == "health" {
            continue;
        }
        let done = stop(&v);
        seen.push(v);
        if done {
            return seen;
        }
    }
}

fn row_ids(messages: &[Value]) -> Vec<String> {
    messages.iter().filter(|m| m["type"] == "entries").flat_map(|m| ids(&m["entries"])).collect()
}

/// Reads until the row with `id` arrives.
async fn read_rows_until(ws: &mut Ws, id: &str) -> Vec<Value> {
    read_until(ws, |m| m["type"] == "entries" && ids(&m["entries"]).iter().any(|i| i == id)).await
}

async fn connect(hub: &HubHandle, query: &str) -> Ws {
    let url = format!("ws://{}/api/v1/stream?{query}&token={}", hub.local_addr(), hub.token());
    let stream = TcpStream::connect(hub.local_addr()).await.expect("connect");
    let (ws, resp) = tokio_tungstenite::client_async(url, stream).await.expect("upgrade");
    assert_eq!(resp.status(), 101);
    ws
}

/// An entry no other test entry matches, pushed last so a reader knows everything before it arrived.
fn sentinel(id: &str, like: &Entry) -> Entry {
    Entry { id: id.into(), summary: "sentinel".into(), ..like.clone() }
}

fn renumbered(entries: &[Entry], prefix: &str) -> Vec<Entry> {
    entries.iter().enumerate().map(|(i, e)| Entry { id: format!("{prefix}-{i}"), ..e.clone() }).collect()
}

#[tokio::test]
async fn stream_replays_matching_rows_then_follows_the_store() {
    let hub = start(StoreLimits::default());
    let entries = demo_entries();
    // Interleaved halves, so both hold HTTP and DNS.
    let first: Vec<Entry> = entries.iter().step_by(2).cloned().collect();
    let second: Vec<Entry> = entries.iter().skip(1).step_by(2).cloned().collect();
    for e in &first {
        hub.store().push(e.clone());
    }
    let q = "request.method == \"HEAD\" or response.rcode == \"NXDOMAIN\" or request.questions[0].type == \"A\"";
    for half in [&first, &second] {
        let n = matching_ids(half, q).len();
        assert!(n > 0 && n < half.len(), "the filter must split each half: {n} of {}", half.len());
    }
    let mut ws = connect(&hub, &format!("q={}&replay=1000", enc(q))).await;
    let ack = read_until(&mut ws, |_| true).await;
    assert_eq!(ack[0], serde_json::json!({"type": "filter", "q": q, "ok": true}));
    // Replay: exactly the matching entries of the first half, oldest first.
    let want_replay = matching_ids(&first, q);
    let last_replayed = want_replay.last().expect("the first half has matches").clone();
    let replayed = read_rows_until(&mut ws, &last_replayed).await;
    assert_eq!(row_ids(&replayed), want_replay);

    for e in &second {
        hub.store().push(e.clone());
    }
    let like = second.iter().find(|e| Filter::parse(q).expect("filter").matches(e)).expect("a matching entry");
    let matching_sentinel = sentinel("end-1", like);
    hub.store().push(matching_sentinel);
    let followed = read_rows_until(&mut ws, "end-1").await;
    let mut want = matching_ids(&second, q);
    want.push("end-1".into());
    assert_eq!(row_ids(&followed), want, "only matching entries, in order, none twice");
    assert!(followed.iter().all(|m| m["type"] == "entries"), "{followed:?}");
    for m in &followed {
        assert!(m["entries"].as_array().expect("rows").len() <= 1000);
    }
    assert_eq!(hub.open_streams(), 1);
}

#[tokio::test]
async fn the_filter_of_an_open_stream_can_change() {
    let (hub, entries) = hub_with_demo();
    let mut ws = connect(&hub, "q=dns&replay=0").await;
    assert_eq!(read_until(&mut ws, |_| true).await[0]["ok"], true);
    assert_eq!(hub.pushed_filters(), ["dns"]);

    ws.send(Message::text(r#"{"type":"filter","q":"http","replay":5}"#)).await.expect("send");
    let ack = read_until(&mut ws, |m| m["type"] == "filter").await;
    assert_eq!(ack.last(), Some(&serde_json::json!({"type": "filter", "q": "http", "ok": true})));
    let http = matching_ids(&entries, "http");
    let newest5 = http[http.len() - 5..].to_vec();
    let replay = read_rows_until(&mut ws, newest5.last().expect("id")).await;
    assert_eq!(row_ids(&replay), newest5);
    assert_eq!(hub.pushed_filters(), ["http"]);

    // A refused filter is reported with its column; the previous one stays in force.
    ws.send(Message::text(r#"{"type":"filter","q":"http and"}"#)).await.expect("send");
    let refused = read_until(&mut ws, |m| m["type"] == "filter").await;
    let refused = refused.last().expect("ack");
    assert_eq!(refused["ok"], false);
    assert_eq!(refused["column"].as_u64(), Some(Filter::parse("http and").expect_err("bad").column as u64));
    ws.send(Message::text("not json")).await.expect("send");
    assert_eq!(read_until(&mut ws, |m| m["type"] == "error").await.last().expect("error")["type"], "error");

    let more = renumbered(&entries, "more");
    for e in &more {
        hub.store().push(e.clone());
    }
    hub.store().push(sentinel("end-1", entries.iter().find(|e| e.protocol == "http").expect("http")));
    let rows = read_rows_until(&mut ws, "end-1").await;
    let mut want = matching_ids(&more, "http");
    want.push("end-1".into());
    assert_eq!(row_ids(&rows), want);
}

/// The test runtime has one thread: the pushes below all happen before the stream's task runs
/// again, so the tiny store has evicted all but the last 5 when the stream looks.
#[tokio::test]
async fn a_stream_reports_what_the_store_evicted_before_it_could_be_sent() {
    let hub = start(StoreLimits { max_entries: 5, ..StoreLimits::default() });
    let mut ws = connect(&hub, "replay=0").await;
    assert_eq!(read_until(&mut ws, |_| true).await[0]["ok"], true);
    let entries = demo_entries();
    let pushed = &entries[..40];
    for e in pushed {
        hub.store().push(e.clone());
    }
    let last = pushed.last().expect("entry").id.clone();
    let messages = read_rows_until(&mut ws, &last).await;
    assert_eq!(messages[0], serde_json::json!({"type": "missed", "count": 35}));
    let want: Vec<String> = pushed[35..].iter().map(|e| e.id.clone()).collect();
    assert_eq!(row_ids(&messages), want);
}

#[tokio::test]
async fn push_down_is_the_union_of_open_streams() {
    let hub = start(StoreLimits::default());
    assert!(hub.pushed_filters().is_empty());
    let mut a = connect(&hub, "q=http").await;
    read_until(&mut a, |_| true).await;
    let mut b = connect(&hub, &format!("q={}", enc("dns and response.rcode == \"NXDOMAIN\""))).await;
    read_until(&mut b, |_| true).await;
    assert_eq!(hub.pushed_filters(), vec!["dns and response.rcode == \"NXDOMAIN\"".to_string(), "http".to_string()]);
    let mut c = connect(&hub, "q=").await;
    read_until(&mut c, |_| true).await;
    assert!(hub.pushed_filters().is_empty(), "a stream without filter: everything");
    assert_eq!(get(&hub, "/api/v1/health").await.json()["clients"], 3);

    // Closing the match-all stream brings the union back; the hub drops the filter before it
    // answers the close.
    c.close(None).await.expect("close");
    while let Some(Ok(_)) = tokio::time::timeout(HANG_GUARD, c.next()).await.expect("closed in time") {}
    assert_eq!(hub.pushed_filters(), vec!["dns and response.rcode == \"NXDOMAIN\"".to_string(), "http".to_string()]);
    for mut ws in [a, b] {
        ws.close(None).await.expect("close");
        while let Some(Ok(_)) = tokio::time::timeout(HANG_GUARD, ws.next()).await.expect("closed in time") {}
    }
    assert_eq!(hub.open_streams(), 0);
    // The last union stays in force.
    assert_eq!(hub.pushed_filters(), ["dns and response.rcode == \"NXDOMAIN\""]);
}

const ROUTES: [&str; 13] = [
    "/",
    "/some/client/route",
    "/api/v1/session",
    "/api/v1/protocols",
    "/api/v1/filter/check?q=http",
    "/api/v1/entries",
    "/api/v1/entries/e-1",
    "/api/v1/entries/e-1/pcap",
    "/api/v1/pcap",
    "/api/v1/har",
    "/api/v1/stats",
    "/api/v1/service-map",
    "/api/v1/health",
];

#[tokio::test]
async fn without_the_token_nothing_is_served() {
    let (hub, entries) = hub_with_demo();
    let wrong = {
        // Same length as the real token, one character different.
        let mut t = hub.token().to_string();
        let last = if t.ends_with('A') { "B" } else { "A" };
        t.replace_range(t.len() - 1.., last);
        t
    };
    assert_eq!(wrong.len(), hub.token().len());
    let wrong_bearer = format!("Bearer {wrong}");
    let wrong_cookie = format!("shark_token={wrong}");
    for route in ROUTES {
        let sep = if route.contains('?') { '&' } else { '?' };
        let attempts = [
            get_with(&hub, route, None, &[]).await,
            get_with(&hub, route, None, &[("Authorization", &wrong_bearer)]).await,
            get_with(&hub, route, None, &[("Cookie", &wrong_cookie)]).await,
            get_with(&hub, &format!("{route}{sep}token={wrong}"), None, &[]).await,
        ];
        for r in attempts {
            assert_eq!(r.status, 401, "{route}");
            assert!(r.header("set-cookie").is_none());
            let body = String::from_utf8_lossy(&r.body).into_owned();
            assert!(!entries.iter().any(|e| body.contains(&e.id)), "{route} leaks entries");
            if route.starts_with("/api/") {
                assert_eq!(r.header("content-type"), Some("application/json"), "{route}");
                assert!(r.json()["error"].is_string());
            } else {
                assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"), "{route}");
                assert!(body.contains("token"));
            }
        }
    }
    // The WebSocket upgrade too.
    let url = format!("ws://{}/api/v1/stream", hub.local_addr());
    let stream = TcpStream::connect(hub.local_addr()).await.expect("connect");
    match tokio_tungstenite::client_async(url, stream).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 401),
        other => panic!("expected 401, got {:?}", other.map(|(_, r)| r.status())),
    }
    assert_eq!(hub.open_streams(), 0);
}

#[tokio::test]
async fn the_token_in_the_url_sets_a_cookie_that_then_suffices() {
    let hub = start(StoreLimits::default());
    let r = get_with(&hub, &format!("/?token={}", hub.token()), None, &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    let cookie = r.header("set-cookie").expect("cookie set");
    assert_eq!(cookie, format!("shark_token={}; HttpOnly; SameSite=Strict; Path=/", hub.token()));
    let pair = cookie.split(';').next().expect("name=value");
    for route in ROUTES {
        let r = get_with(&hub, route, None, &[("Cookie", &format!("theme=dark; {pair}"))]).await;
        assert_ne!(r.status, 401, "{route}");
        assert_ne!(r.status, 403, "{route}");
        assert!(r.header("set-cookie").is_none(), "only ?token= sets the cookie");
    }
    assert_eq!(get(&hub, "/api/v1/session").await.status, 200);
    // The WebSocket with the cookie alone.
    let mut req = format!("ws://{}/api/v1/stream?replay=0", hub.local_addr()).into_client_request().expect("req");
    req.headers_mut().insert("Cookie", pair.parse().expect("header"));
    let stream = TcpStream::connect(hub.local_addr()).await.expect("connect");
    let (mut ws, _) = tokio_tungstenite::client_async(req, stream).await.expect("upgrade with the cookie");
    assert_eq!(read_until(&mut ws, |_| true).await[0]["type"], "filter");
}

#[tokio::test]
async fn foreign_hosts_and_origins_are_refused() {
    let hub = start(StoreLimits::default());
    let bearer = format!("Bearer {}", hub.token());
    let auth = [("Authorization", bearer.as_str())];
    for host in ["evil.example", "evil.example:80", "127.0.0.1.nip.io"] {
        for route in ["/", "/api/v1/session"] {
            assert_eq!(get_with(&hub, route, Some(host), &auth).await.status, 403, "{host} {route}");
        }
    }
    let port = hub.local_addr().port();
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}"), "[::1]".to_string()] {
        assert_eq!(get_with(&hub, "/api/v1/session", Some(&host), &auth).await.status, 200, "{host}");
    }
    let cross = [("Authorization", bearer.as_str()), ("Origin", "http://evil.example")];
    assert_eq!(get_with(&hub, "/api/v1/session", None, &cross).await.status, 403);
    let same_origin = format!("http://{}", hub.local_addr());
    let same = [("Authorization", bearer.as_str()), ("Origin", same_origin.as_str())];
    assert_eq!(get_with(&hub, "/api/v1/session", None, &same).await.status, 200);
}

#[tokio::test]
async fn shutdown_closes_streams_and_the_listener() {
    let hub = start(StoreLimits::default());
    let addr = hub.local_addr();
    assert!(hub.url().starts_with(&format!("http://{addr}/?token=")));
    let mut ws = connect(&hub, "q=http").await;
    read_until(&mut ws, |_| true).await;
    hub.shutdown();
    let mut closed = false;
    while let Some(msg) = tokio::time::timeout(HANG_GUARD, ws.next()).await.expect("closed in time") {
        match msg {
            Ok(Message::Close(Some(frame))) => {
                assert_eq!(u16::from(frame.code), 1001);
                closed = true;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert!(closed, "the stream got a close frame");
    tokio::time::timeout(HANG_GUARD, hub.wait()).await.expect("stopped in time").expect("clean stop");
    assert!(TcpStream::connect(addr).await.is_err(), "the listener is closed");
}

#[tokio::test]
async fn a_given_token_is_used_and_a_bad_one_refused() {
    let bad = Hub::start(HubConfig { token: Some("has space".into()), ..HubConfig::default() });
    assert!(matches!(bad, Err(hub_lite::hub::HubError::BadToken)));
    let hub = Hub::start(HubConfig { token: Some("t0k&=+".into()), ..HubConfig::default() }).expect("hub");
    assert_eq!(hub.token(), "t0k&=+");
    let url = hub.url();
    assert_eq!(url, format!("http://{}/?token=t0k%26%3D%2B", hub.local_addr()));
    let target = url.split_once(&hub.local_addr().to_string()).expect("path").1;
    let r = get_with(&hub, &format!("{}&x=1", target.replacen("/?", "/api/v1/session?", 1)), None, &[]).await;
    assert_eq!(r.status, 200, "the URL's token authorizes");
    assert_eq!(get_with(&hub, "/api/v1/session?token=t0k", None, &[]).await.status, 401);
}

#[tokio::test]
async fn a_full_stream_carries_whole_entries_equal_to_the_stored_ones() {
    let (hub, entries) = hub_with_demo();
    let mut ws = connect(&hub, "full=1&replay=100000").await;
    let last = entries.last().expect("demo entries").id.clone();
    let got = read_rows_until(&mut ws, &last).await;
    let mut streamed: Vec<Value> = got
        .iter()
        .filter(|m| m["type"] == "entries")
        .flat_map(|m| m["entries"].as_array().expect("list").clone())
        .collect();
    assert_eq!(streamed.len(), entries.len(), "every entry once");
    for (i, (got, want)) in streamed.iter_mut().zip(&entries).enumerate() {
        let obj = got.as_object_mut().expect("entry object");
        assert_eq!(obj.remove("seq"), Some(Value::from(i as u64 + 1)), "seq of {}", want.id);
        // The whole entry (request, response and all), as the engine made it.
        assert_eq!(*got, serde_json::to_value(want).expect("entry json"), "entry {}", want.id);
    }
}

#[tokio::test]
async fn a_bad_full_parameter_is_refused() {
    let (hub, _) = hub_with_demo();
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    let r = get_with(
        &hub,
        &format!("/api/v1/stream?full=yes&token={}", hub.token()),
        None,
        &[
            ("Connection", "Upgrade"),
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", key),
        ],
    )
    .await;
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
}

#[tokio::test]
async fn healthz_answers_without_token_and_for_any_host() {
    let (hub, _) = hub_with_demo();
    let r = get_with(&hub, "/healthz", Some("shark-hub.example:8899"), &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), serde_json::json!({"ok": true}));
    // Everything else still needs the token and a loopback Host.
    assert_eq!(get_with(&hub, "/api/v1/session", None, &[]).await.status, 401);
    assert_eq!(get_with(&hub, "/api/v1/session", Some("shark-hub.example:8899"), &[]).await.status, 403);
}
