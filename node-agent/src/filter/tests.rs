//! The filter against real-shaped entries (the JSON shapes of docs/entry.md). Every test checks a
//! matching and a non-matching entry, so none can pass by matching nothing (or everything).

use super::*;
use serde_json::json;

fn entry(v: serde_json::Value) -> Entry {
    serde_json::from_value(v).expect("test entry follows docs/entry.md")
}

/// GET /api/items?page=2 → 200, from the example in docs/entry.md, with cluster names filled in.
fn http_get() -> Entry {
    entry(json!({
        "id": "e-17", "protocol": "http", "transport": "tcp",
        "ts": "2026-11-21T05:31:02.123456789Z", "elapsed_us": 1840,
        "src": {"ip": "10.77.0.3", "port": 40412, "pod": "client-7d9f", "namespace": "shop"},
        "dst": {"ip": "10.77.0.2", "port": 80, "pod": "web-0", "namespace": "shop", "service": "web", "node": "node-a"},
        "summary": "GET /api/items?page=2", "status": "200",
        "request_size": 112, "response_size": 733,
        "request": {
            "method": "GET", "path": "/api/items?page=2", "version": "HTTP/1.1",
            "headers": [["Host", "10.77.0.2"], ["User-Agent", "curl/7.88.1"], ["Accept", "*/*"]],
            "body": {"size": 0, "mime": null, "encoding": null, "text": "", "truncated": false},
            "query": [["page", "2"]]
        },
        "response": {
            "status": 200, "reason": "OK", "version": "HTTP/1.1",
            "headers": [["Content-Type", "application/json"], ["Content-Encoding", "gzip"], ["Transfer-Encoding", "chunked"]],
            "body": {"size": 604, "mime": "application/json", "encoding": "gzip", "text": "{\"items\": [...]}", "truncated": false}
        }
    }))
}

/// POST /api/orders with a JSON body → 503 after 350 ms, from another client outside the cluster.
fn http_post_503() -> Entry {
    entry(json!({
        "id": "e-18", "protocol": "http", "transport": "tcp",
        "ts": "2026-11-21T05:31:05Z", "elapsed_us": 350000,
        "src": {"ip": "192.168.1.20", "port": 51000},
        "dst": {"ip": "10.77.0.9", "port": 8080, "pod": "orders-1", "namespace": "shop"},
        "summary": "POST /api/orders", "status": "503",
        "request_size": 310, "response_size": 95,
        "request": {
            "method": "POST", "path": "/api/orders", "version": "HTTP/1.1",
            "headers": [["Host", "orders"], ["Content-Type", "application/json; charset=utf-8"], ["Content-Length", "42"]],
            "body": {"size": 42, "mime": "application/json", "encoding": null, "text": "{\"sku\": \"A-1\", \"qty\": 3}", "truncated": true}
        },
        "response": {
            "status": 503, "reason": "Service Unavailable", "version": "HTTP/1.1",
            "headers": [["Content-Type", "text/plain"], ["Retry-After", "5"]],
            "body": {"size": 19, "mime": "text/plain", "encoding": null, "text": "Service Unavailable", "truncated": false},
            "interim": [{"status": 100, "reason": "Continue"}]
        },
        "notes": ["request body truncated at 1048576 bytes"]
    }))
}

/// A query for www.example.com answered with a CNAME and two A records.
fn dns_ok() -> Entry {
    entry(json!({
        "id": "e-19", "protocol": "dns", "transport": "udp",
        "ts": "2026-11-21T05:31:03.000001Z", "elapsed_us": 250000,
        "src": {"ip": "10.0.0.1", "port": 53124, "pod": "client-7d9f", "namespace": "shop"},
        "dst": {"ip": "10.96.0.10", "port": 53, "service": "kube-dns", "namespace": "kube-system"},
        "summary": "A www.example.com", "status": "NOERROR",
        "request_size": 33, "response_size": 97,
        "request": {"id": 4660, "opcode": "QUERY", "flags": ["rd"],
                    "questions": [{"name": "www.example.com", "type": "A", "class": "IN"}],
                    "retransmissions": 1},
        "response": {"id": 4660, "rcode": "NOERROR", "flags": ["qr", "rd", "ra"],
                     "answers": [
                        {"name": "www.example.com", "type": "CNAME", "class": "IN", "ttl": 300, "data": "example.com"},
                        {"name": "example.com", "type": "A", "class": "IN", "ttl": 60, "data": "93.184.216.34"},
                        {"name": "example.com", "type": "A", "class": "IN", "ttl": 60, "data": "93.184.216.35"}
                     ],
                     "authorities": [], "additionals": []}
    }))
}

/// An AAAA query answered NXDOMAIN, over TCP.
fn dns_nxdomain() -> Entry {
    entry(json!({
        "id": "e-20", "protocol": "dns", "transport": "tcp",
        "ts": "2026-11-21T05:31:04Z", "elapsed_us": 900,
        "src": {"ip": "10.77.0.3", "port": 40000},
        "dst": {"ip": "fd00::10", "port": 53},
        "summary": "AAAA nope.example", "status": "NXDOMAIN",
        "request_size": 35, "response_size": 35,
        "request": {"id": 7, "opcode": "QUERY", "flags": ["rd"],
                    "questions": [{"name": "nope.example", "type": "AAAA", "class": "IN"}]},
        "response": {"id": 7, "rcode": "NXDOMAIN", "flags": ["qr", "rd", "ra"],
                     "answers": [], "authorities": [], "additionals": []}
    }))
}

/// A DNS query nobody answered: response, status and elapsed_us are null.
fn dns_unanswered() -> Entry {
    entry(json!({
        "id": "e-21", "protocol": "dns", "transport": "udp",
        "ts": "2026-11-21T05:31:06Z", "elapsed_us": null,
        "src": {"ip": "10.77.0.4", "port": 41000},
        "dst": {"ip": "10.96.0.10", "port": 53},
        "summary": "A lost.example", "status": null,
        "request_size": 30, "response_size": 0,
        "request": {"id": 9, "opcode": "QUERY", "flags": ["rd"],
                    "questions": [{"name": "lost.example", "type": "A", "class": "IN"}]},
        "response": null
    }))
}

fn all() -> Vec<(&'static str, Entry)> {
    vec![
        ("http_get", http_get()),
        ("http_post_503", http_post_503()),
        ("dns_ok", dns_ok()),
        ("dns_nxdomain", dns_nxdomain()),
        ("dns_unanswered", dns_unanswered()),
    ]
}

/// The names of the entries `text` matches, in `all()` order.
fn matching(text: &str) -> Vec<&'static str> {
    let f = Filter::parse(text).unwrap_or_else(|e| panic!("{text:?} should parse: {e}"));
    all().into_iter().filter(|(_, e)| f.matches(e)).map(|(name, _)| name).collect()
}

fn err(text: &str) -> String {
    match Filter::parse(text) {
        Ok(f) => panic!("{text:?} should not parse, got {f:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_examples_of_the_docs() {
    assert_eq!(matching(r#"http and response.status >= 500 and request.path =~ "^/api/""#), ["http_post_503"]);
    assert_eq!(matching(r#"dns and response.rcode == "NXDOMAIN""#), ["dns_nxdomain"]);
    assert_eq!(matching("elapsed_us > 200ms"), ["http_post_503", "dns_ok"]);
    assert_eq!(matching(r#"request.headers["content-type"] contains "json""#), ["http_post_503"]);
    assert_eq!(matching(r#"dst.pod == "web-0""#), ["http_get"]);
    assert_eq!(matching(r#"not (dns or src.ip == "10.0.0.1")"#), ["http_get", "http_post_503"]);
    assert_eq!(matching(r#"response.answers.data == "93.184.216.35""#), ["dns_ok"]);
    assert_eq!(matching(r#"src.ip in "192.168.0.0/16""#), ["http_post_503"]);
}

#[test]
fn protocol_and_transport_names() {
    assert_eq!(matching("http"), ["http_get", "http_post_503"]);
    assert_eq!(matching("dns"), ["dns_ok", "dns_nxdomain", "dns_unanswered"]);
    assert_eq!(matching("udp"), ["dns_ok", "dns_unanswered"]);
    assert_eq!(matching("tcp and dns"), ["dns_nxdomain"]);
    // Any lowercase name is a protocol; one nobody speaks matches nothing.
    assert_eq!(matching("grpc or http2"), Vec::<&str>::new());
    assert_eq!(matching("not grpc").len(), 5);
    assert_eq!(matching(r#"protocol == "dns" and transport == "tcp""#), ["dns_nxdomain"]);
    assert_eq!(err("HTTP"), "column 1: unknown field or protocol 'HTTP' (protocol names are lowercase: 'http')");
}

#[test]
fn common_fields_of_the_entry() {
    assert_eq!(matching(r#"id == "e-19""#), ["dns_ok"]);
    assert_eq!(matching(r#"summary startsWith "GET ""#), ["http_get"]);
    assert_eq!(matching("request_size > 100"), ["http_get", "http_post_503"]);
    assert_eq!(matching("response_size == 0"), ["dns_unanswered"]);
    assert_eq!(matching("src.port == 40412"), ["http_get"]);
    assert_eq!(
        matching("dst.port == 53 and dst.port >= 53 and dst.port <= 53"),
        ["dns_ok", "dns_nxdomain", "dns_unanswered"]
    );
    assert_eq!(matching(r#"dst.service == "kube-dns""#), ["dns_ok"]);
    assert_eq!(matching(r#"dst.namespace == "kube-system" or dst.node == "node-a""#), ["http_get", "dns_ok"]);
    assert_eq!(matching(r#"src.namespace == "shop" and src.pod endsWith "7d9f""#), ["http_get", "dns_ok"]);
    assert_eq!(matching(r#"dst.ip == "fd00:0::10""#), ["dns_nxdomain"]);
    assert_eq!(matching(r#"dst.ip startsWith "10.96.""#), ["dns_ok", "dns_unanswered"]);
    assert_eq!(matching(r#"notes contains "truncated""#), ["http_post_503"]);
    assert_eq!(matching(r#"notes[0] startsWith "request body""#), ["http_post_503"]);
}

#[test]
fn status_compares_as_a_number_or_as_text() {
    // entry.status is the string "200"; response.status the number 200.
    assert_eq!(matching("status == 200"), ["http_get"]);
    assert_eq!(matching(r#"status == "200""#), ["http_get"]);
    assert_eq!(matching("response.status == 200"), ["http_get"]);
    assert_eq!(matching(r#"response.status == "200""#), ["http_get"]);
    assert_eq!(matching("status >= 500"), ["http_post_503"]);
    // Quoted numbers order numerically too, and only against numeric text.
    assert_eq!(matching(r#"status > "499""#), ["http_post_503"]);
    assert_eq!(matching(r#"status < "NXDOMAIO" and status > "NOERROR""#), ["dns_nxdomain"]);
    assert_eq!(matching(r#"status == "NXDOMAIN""#), ["dns_nxdomain"]);
    assert_eq!(matching(r#"response.status startsWith "5""#), ["http_post_503"]);
    assert_eq!(matching(r#"response.status =~ "^2\\d\\d$""#), ["http_get"]);
    assert_eq!(matching("response.status in [500, 502, 503]"), ["http_post_503"]);
    assert_eq!(matching(r#"status in ["NXDOMAIN", "SERVFAIL"]"#), ["dns_nxdomain"]);
    assert_eq!(matching("response.status > 199.5 and response.status < 200.5"), ["http_get"]);
}

#[test]
fn missing_fields_are_null() {
    assert_eq!(matching("response == null"), ["dns_unanswered"]);
    assert_eq!(matching("response.status == null and http"), Vec::<&str>::new());
    assert_eq!(matching("response.rcode == null"), ["http_get", "http_post_503", "dns_unanswered"]);
    assert_eq!(matching("elapsed == null"), ["dns_unanswered"]);
    assert_eq!(matching("status != null and dns"), ["dns_ok", "dns_nxdomain"]);
    assert_eq!(matching("src.pod == null"), ["http_post_503", "dns_nxdomain", "dns_unanswered"]);
    // Any other comparison with a missing field is false ...
    assert_eq!(matching("dns and response.id > 0"), ["dns_ok", "dns_nxdomain"]);
    assert_eq!(matching(r#"dns and response.rcode contains "O""#), ["dns_ok", "dns_nxdomain"]);
    assert_eq!(matching("dns and elapsed < 1s"), ["dns_ok", "dns_nxdomain"]);
    // ... and != (the negation of ==) is true.
    assert_eq!(matching(r#"dns and response.rcode != "NOERROR""#), ["dns_nxdomain", "dns_unanswered"]);
    assert_eq!(matching(r#"src.pod != "client-7d9f""#), ["http_post_503", "dns_nxdomain", "dns_unanswered"]);
    assert_eq!(matching("request.nothing.deeper[3] == null").len(), 5);
}

#[test]
fn lists_match_when_any_element_does() {
    assert_eq!(matching(r#"response.answers.type == "CNAME""#), ["dns_ok"]);
    assert_eq!(matching(r#"response.answers.data in "93.184.216.0/24""#), ["dns_ok"]);
    assert_eq!(matching(r#"response.answers[1].data == "93.184.216.34""#), ["dns_ok"]);
    assert_eq!(matching(r#"response.answers[0].data == "93.184.216.34""#), Vec::<&str>::new());
    assert_eq!(matching(r#"response.answers[-1].data == "93.184.216.35""#), ["dns_ok"]);
    assert_eq!(matching(r#"request.questions[0].name == "nope.example""#), ["dns_nxdomain"]);
    assert_eq!(matching(r#"request.questions.type == "AAAA""#), ["dns_nxdomain"]);
    assert_eq!(matching(r#"response.flags == "ra""#), ["dns_ok", "dns_nxdomain"]);
    assert_eq!(matching("response.answers.ttl < 100"), ["dns_ok"]);
    // `!=` is "no element equals"; an empty list has no elements.
    assert_eq!(matching(r#"dns and response.answers.type != "A""#), ["dns_nxdomain", "dns_unanswered"]);
    // A bare list is true when it has an element that is present and not false.
    assert_eq!(matching("dns and response.answers"), ["dns_ok"]);
    // Headers without a name: every name and value.
    assert_eq!(matching(r#"response.headers == "Retry-After""#), ["http_post_503"]);
}

#[test]
fn headers_are_looked_up_by_name_ignoring_case() {
    assert_eq!(matching(r#"request.headers["USER-AGENT"] startsWith "curl/""#), ["http_get"]);
    assert_eq!(matching(r#"request.headers.host == "orders""#), ["http_post_503"]);
    assert_eq!(matching(r#"response.headers["content-type"] == "application/json""#), ["http_get"]);
    assert_eq!(matching(r#"http and request.headers["authorization"] == null"#), ["http_get", "http_post_503"]);
    assert_eq!(matching(r#"request.headers["Content-Length"] > 40"#), ["http_post_503"]);
    assert_eq!(matching(r#"request.query["PAGE"] == 2"#), ["http_get"]);
    // Object keys are exact.
    assert_eq!(matching(r#"request["method"] == "GET""#), ["http_get"]);
    assert_eq!(matching(r#"request["Method"] == "GET""#), Vec::<&str>::new());
}

#[test]
fn text_operators_are_case_sensitive() {
    assert_eq!(matching(r#"request.method contains "OS""#), ["http_post_503"]);
    assert_eq!(matching(r#"request.method contains "os""#), Vec::<&str>::new());
    assert_eq!(matching(r#"request.path startsWith "/api" and request.path endsWith "=2""#), ["http_get"]);
    assert_eq!(matching(r#"request.path.startsWith("/api/o")"#), ["http_post_503"]);
    assert_eq!(matching(r#"request.path.endsWith("2") or summary.contains("AAAA")"#), ["http_get", "dns_nxdomain"]);
    assert_eq!(matching(r#"response.body.text contains "\"items\"""#), ["http_get"]);
    assert_eq!(matching(r#"request.body.text contains 'qty'"#), ["http_post_503"]);
}

#[test]
fn regexes() {
    assert_eq!(matching(r#"request.path =~ r"^/api/items\?page=\d+$""#), ["http_get"]);
    assert_eq!(matching(r#"http and request.path !~ "items""#), ["http_post_503"]);
    assert_eq!(matching(r#"summary =~ "(?i)^aaaa ""#), ["dns_nxdomain"]);
    assert_eq!(matching(r#"request.questions.name =~ r"\.example$""#), ["dns_nxdomain", "dns_unanswered"]);
    // Unanchored: a match anywhere counts.
    assert_eq!(matching(r#"summary =~ "orders""#), ["http_post_503"]);
}

#[test]
fn durations_compare_with_elapsed_in_microseconds() {
    assert_eq!(matching("elapsed_us == 1840"), ["http_get"]);
    assert_eq!(matching("elapsed > 1ms and elapsed < 2ms"), ["http_get"]);
    assert_eq!(matching("elapsed >= 250ms"), ["http_post_503", "dns_ok"]);
    assert_eq!(matching("elapsed > 0.3s"), ["http_post_503"]);
    assert_eq!(matching("elapsed < 900000ns"), Vec::<&str>::new());
    assert_eq!(matching("elapsed <= 900us"), ["dns_nxdomain"]);
    assert_eq!(matching("elapsed > 1m or elapsed > 1h"), Vec::<&str>::new());
}

#[test]
fn timestamps_compare_as_times() {
    assert_eq!(matching(r#"ts >= "2026-11-21T05:31:04Z""#), ["http_post_503", "dns_nxdomain", "dns_unanswered"]);
    assert_eq!(matching(r#"ts < "2026-11-21T05:31:02.5Z""#), ["http_get"]);
    assert_eq!(matching(r#"ts == "2026-11-21T05:31:03.000001Z""#), ["dns_ok"]);
    assert_eq!(matching(r#"ts contains "05:31:06""#), ["dns_unanswered"]);
    // A number is nanoseconds since the epoch: 2026-11-21T05:31:05Z is 1_795_239_065 s.
    assert_eq!(matching("ts > 1795239064999999999 and ts < 1795239065000000001"), ["http_post_503"]);
}

#[test]
fn networks_and_lists() {
    assert_eq!(matching(r#"src.ip in "10.77.0.0/16""#), ["http_get", "dns_nxdomain", "dns_unanswered"]);
    assert_eq!(matching(r#"dst.ip in "fd00::/8""#), ["dns_nxdomain"]);
    assert_eq!(matching(r#"src.ip in "10.0.0.1""#), ["dns_ok"]);
    assert_eq!(matching(r#"src.ip in ["10.0.0.0/24", "192.168.1.20"]"#), ["http_post_503", "dns_ok"]);
    assert_eq!(matching(r#"request.method in ["PUT", "POST"]"#), ["http_post_503"]);
    assert_eq!(matching("response in [null]"), ["dns_unanswered"]);
    assert_eq!(matching("src.port in []"), Vec::<&str>::new());
}

#[test]
fn more_examples_of_the_docs() {
    assert_eq!(matching(r#"request.method in ["POST", "PUT"] and status != 201"#), ["http_post_503"]);
    assert_eq!(matching(r#"response.headers contains "gzip""#), ["http_get"]);
    assert_eq!(matching("response.interim.status == 100"), ["http_post_503"]);
    assert_eq!(matching(r#"request.path.startsWith("/api/items")"#), ["http_get"]);
    assert_eq!(matching(r#"ts startsWith "2026-11-21T05:31:0" and dns and response"#), ["dns_ok", "dns_nxdomain"]);
    // A list element with a '/' that is not a network is plain text; one that is matches both ways.
    assert_eq!(matching(r#"request.path in ["/api/orders", "/x/y"]"#), ["http_post_503"]);
    assert_eq!(matching(r#"request.path in ["1.2.3.4/32"] or src.ip in ["10.0.0.1/32"]"#), ["dns_ok"]);
}

#[test]
fn bare_fields_test_presence() {
    assert_eq!(matching("dns and not response"), ["dns_unanswered"]);
    assert_eq!(matching("request.retransmissions"), ["dns_ok"]);
    assert_eq!(matching("request.body.truncated"), ["http_post_503"]);
    assert_eq!(matching("request.body.truncated == false"), ["http_get"]);
    assert_eq!(matching("response.interim"), ["http_post_503"]);
    assert_eq!(matching("notes"), ["http_post_503"]);
}

#[test]
fn constants_and_the_empty_filter() {
    assert_eq!(matching("").len(), 5);
    assert_eq!(matching("true").len(), 5);
    assert_eq!(matching("false"), Vec::<&str>::new());
    assert_eq!(matching("false or http"), ["http_get", "http_post_503"]);
    for text in ["", "  ", "true", "(true)", "true and true", "not false", "false or true"] {
        assert!(Filter::parse(text).unwrap().is_match_all(), "{text:?}");
    }
    for text in ["http", "false", "true and http", "response == null"] {
        assert!(!Filter::parse(text).unwrap().is_match_all(), "{text:?}");
    }
    assert!(Filter::default().is_match_all());
}

/// `not F` must be exactly the complement of `F` on every entry, including with missing fields and
/// lists; and `!=`/`!~` the complements of `==`/`=~`.
#[test]
fn not_is_the_complement() {
    let filters = [
        "http",
        "dns and response.rcode == \"NXDOMAIN\"",
        "response.status >= 500",
        "response.status < 500",
        "status == 200",
        "response == null",
        "response.answers.data == \"93.184.216.34\"",
        "response.answers.type != \"A\"",
        "request.headers[\"content-type\"] contains \"json\"",
        "request.path =~ \"^/api\"",
        "request.path !~ \"^/api\"",
        "elapsed_us > 200ms",
        "src.ip in \"10.0.0.0/8\"",
        "src.pod == null or dst.pod == \"web-0\"",
        "request.questions[0].name endsWith \"example\"",
        "response.body.truncated",
        "ts > \"2026-11-21T05:31:03Z\"",
        "notes contains \"truncated\"",
        "true",
        "",
    ];
    let entries = all();
    let mut seen_true = 0;
    let mut seen_false = 0;
    for text in filters {
        let f = Filter::parse(text).unwrap();
        let negated = Filter::parse(&format!("not ({text})")).unwrap_or_else(|_| Filter::parse("false").unwrap());
        for (name, e) in &entries {
            let m = f.matches(e);
            if !text.is_empty() {
                assert_eq!(negated.matches(e), !m, "not ({text}) on {name}");
            }
            if m {
                seen_true += 1;
            } else {
                seen_false += 1;
            }
        }
    }
    assert!(seen_true > 20 && seen_false > 20, "the set exercises both outcomes: {seen_true}/{seen_false}");
    for (a, b) in [
        ("response.status == 200", "response.status != 200"),
        ("dst.pod == \"web-0\"", "dst.pod != \"web-0\""),
        ("response.answers.data == \"example.com\"", "response.answers.data != \"example.com\""),
        ("summary =~ \"^A\"", "summary !~ \"^A\""),
        ("response == null", "response != null"),
    ] {
        let (fa, fb) = (Filter::parse(a).unwrap(), Filter::parse(b).unwrap());
        let outcomes: Vec<bool> = entries.iter().map(|(_, e)| fa.matches(e)).collect();
        assert!(outcomes.contains(&true) && outcomes.contains(&false), "{a} splits the entries");
        for (name, e) in &entries {
            assert_eq!(fb.matches(e), !fa.matches(e), "{b} on {name}");
        }
    }
}

#[test]
fn errors_name_the_column() {
    assert_eq!(err("http and response.status >="), "column 28: expected a value after '>=' but found end of filter");
    assert_eq!(err("http and elapsed => 5"), "column 18: unknown operator '=>' (did you mean '>='?)");
    assert_eq!(err(r#"http and request.path =~ "(abc""#), "column 26: invalid regex: unclosed group");
    assert_eq!(err(r#"reqest.path == "/""#), "column 1: unknown field 'reqest' (did you mean 'request'?)");
    assert_eq!(err("response.status < null"), "column 19: null can only be compared with '==' or '!='");
    assert_eq!(err("response.body.truncated > true"), "column 27: true can only be compared with '==' or '!='");
    assert_eq!(err("request.path contains 5"), "column 23: 'contains' takes a string, but found number 5");
    assert_eq!(err("request.path =~ 5"), "column 17: '=~' takes a string, but found number 5");
    assert_eq!(
        err(r#"src.ip == "10.0.0""#),
        r#"column 11: 'src.ip' is an IP address, but found string "10.0.0" (for a network write: src.ip in "10.0.0.0/8")"#
    );
    assert_eq!(
        err(r#"ts > "yesterday""#),
        r#"column 6: 'ts' is a time: write it as RFC 3339 UTC, e.g. "2026-11-21T05:31:02Z", but found string "yesterday""#
    );
    assert_eq!(
        err("ts > 5s"),
        r#"column 6: 'ts' is a time: write it as RFC 3339 UTC, e.g. "2026-11-21T05:31:02Z", but found duration (5000000us)"#
    );
    assert_eq!(err(r#"src.port == "http""#), r#"column 13: 'src.port' is a number, but found string "http""#);
    assert_eq!(err("protocol == true"), "column 13: 'protocol' is never true or false");
    assert_eq!(
        err(r#"src.ip in "ten""#),
        r#"column 11: 'in' takes a list [a, b, ...] or an IP network like "10.0.0.0/8", but found string "ten""#
    );
    assert_eq!(err(r#"src.port in [80, "x"]"#), r#"column 18: 'src.port' is a number, but found string "x""#);
    assert_eq!(
        err("dst == 1"),
        "column 1: 'dst' is an endpoint: use dst.ip, dst.port, dst.pod, dst.namespace, dst.service or dst.node"
    );
    assert_eq!(err("é == 1"), "column 1: unexpected character 'é'");
    assert_eq!(err("\"é\" é"), "column 5: unexpected character 'é'");
}

#[test]
fn limits_give_errors_not_crashes() {
    // Nesting.
    let deep = format!("{}http{}", "(".repeat(10_000), ")".repeat(10_000));
    assert_eq!(
        err(&deep),
        format!("column {}: filter is too long (20004 bytes; the limit is {MAX_FILTER_LEN})", MAX_FILTER_LEN + 1)
    );
    let deep = format!("{}http{}", "(".repeat(1000), ")".repeat(1000));
    assert_eq!(
        err(&deep),
        format!("column {}: filter nests deeper than {MAX_DEPTH} levels of '(' and 'not'", MAX_DEPTH + 1)
    );
    // Length: the column is the first character past the limit.
    let long = format!("http or {}", vec!["dns"; 3000].join(" or "));
    assert_eq!(
        err(&long),
        format!(
            "column {}: filter is too long ({} bytes; the limit is {MAX_FILTER_LEN})",
            MAX_FILTER_LEN + 1,
            long.len()
        )
    );
    let multibyte = "é".repeat(MAX_FILTER_LEN / 2 + 1);
    assert!(err(&multibyte).starts_with(&format!("column {}: filter is too long", MAX_FILTER_LEN / 2 + 1)));
    // A regex that compiles too big.
    let huge = r#"request.path =~ r"\w{1000}{1000}""#;
    let e = err(huge);
    assert!(e.starts_with("column 17: invalid regex: too big once compiled"), "{e}");
    let nested_regex = format!(r#"request.path =~ "{}a{}""#, "(".repeat(200), ")".repeat(200));
    assert!(err(&nested_regex).starts_with("column 17: invalid regex:"));
    // Too many regexes.
    let many = (0..=MAX_REGEXES).map(|i| format!("summary =~ \"{i}\"")).collect::<Vec<_>>().join(" or ");
    assert_eq!(
        err(&many),
        format!(
            "column {}: too many regexes (the limit is {MAX_REGEXES} per filter)",
            many.rfind("summary").unwrap() + "summary =~ ".len() + 1
        )
    );
    // The longest accepted filter still evaluates fine.
    let wide = vec!["dns"; 1100].join(" or ");
    assert!(wide.len() <= MAX_FILTER_LEN);
    assert_eq!(matching(&wide), ["dns_ok", "dns_nxdomain", "dns_unanswered"]);
}

#[test]
fn filter_is_a_shareable_value() {
    fn assert_traits<T: Clone + Send + Sync + std::fmt::Debug + 'static>() {}
    assert_traits::<Filter>();
    let f: Filter = r#"dst.pod == "web-0""#.parse().unwrap();
    assert_eq!(f.source(), r#"dst.pod == "web-0""#);
    assert_eq!(f.to_string(), f.source());
    assert_eq!(format!("{f:?}"), r#"Filter("dst.pod == \"web-0\"")"#);
    let g = f.clone();
    let e = http_get();
    let from_thread = std::thread::spawn(move || g.matches(&e)).join().unwrap();
    assert!(from_thread);
    assert!(!f.matches(&dns_ok()));
}

/// Random token soup and every prefix of valid filters: parsing answers Ok or Err, evaluating answers
/// true or false; nothing panics (the fuzz target does this at scale).
#[test]
fn never_panics_on_odd_input() {
    const PIECES: &[&str] = &[
        "http",
        "dns",
        " and ",
        " or ",
        "not ",
        "!",
        "(",
        ")",
        "[",
        "]",
        ".",
        ",",
        "==",
        "!=",
        "<",
        ">=",
        "=~",
        "!~",
        " contains ",
        " in ",
        "startsWith(",
        "\"a\"",
        "r\"\\d\"",
        "'x",
        "5",
        "-1",
        "1.5s",
        "null",
        "true",
        "request",
        "response",
        "headers",
        "answers",
        "[0]",
        "[-1]",
        "[\"host\"]",
        "src.ip",
        "ts",
        "status",
        "\"10.0.0.0/8\"",
        "é",
        "\\",
        "\"\\u{",
        "=",
        "&&",
        "||",
        "\u{0}",
        "0x",
        "1e400",
        "-",
    ];
    let entries = all();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut parsed = 0;
    for _ in 0..20_000 {
        let n = (next() % 12) as usize;
        let text: String = (0..n).map(|_| PIECES[(next() % PIECES.len() as u64) as usize]).collect();
        if let Ok(f) = Filter::parse(&text) {
            parsed += 1;
            for (_, e) in &entries {
                f.matches(e);
            }
        }
    }
    assert!(parsed > 100, "the soup sometimes parses: {parsed}");
    let valid = r#"http and (response.status >= 500 or request.headers["x"] =~ r"\d") and not src.ip in "10.0.0.0/8""#;
    for (i, _) in valid.char_indices() {
        let _ = Filter::parse(&valid[..i]).map(|f| f.matches(&entries[0].1));
    }
}

/// Evaluations per second of a typical filter on a typical HTTP entry. Run in release:
/// `cargo test --release -p node-agent --lib filter::tests::throughput -- --ignored --nocapture`
#[test]
#[ignore]
fn throughput() {
    let cases = [
        (r#"http and response.status >= 500 and request.path =~ "^/api/""#, http_post_503()),
        (r#"http and response.status >= 500 and request.path =~ "^/api/""#, http_get()),
        (r#"request.headers["content-type"] contains "json""#, http_post_503()),
        (r#"dst.pod == "web-0" and elapsed_us > 1ms"#, http_get()),
        (r#"dns and response.answers.data in "93.184.0.0/16""#, dns_ok()),
        (r#"not (dns or src.ip == "10.0.0.1")"#, http_get()),
    ];
    for (text, entry) in cases {
        let f = Filter::parse(text).unwrap();
        let n = 2_000_000u32;
        let start = std::time::Instant::now();
        let mut hits = 0u32;
        for _ in 0..n {
            hits += u32::from(f.matches(std::hint::black_box(&entry)));
        }
        let secs = start.elapsed().as_secs_f64();
        println!("{:>12.0} evals/s  (match={})  {text}", f64::from(n) / secs, hits > 0);
    }
}

#[test]
fn outcome_and_tls_are_common_fields() {
    use crate::entry::Outcome;
    let mut e = http_get();
    e.outcome = Outcome::ServerError;
    let m = |f: &str, e: &Entry| Filter::parse(f).unwrap_or_else(|err| panic!("{f}: {err}")).matches(e);
    assert!(m(r#"outcome == "server_error""#, &e));
    assert!(!m(r#"outcome == "ok""#, &e));
    assert!(m(r#"outcome in ["server_error", "error"]"#, &e));
    assert!(!m("tls", &e) && m("not tls", &e) && m("tls == false", &e));
    e.tls = true;
    assert!(m("tls and tls == true", &e));
    let err = Filter::parse(r#"outcome == "failed""#).unwrap_err().to_string();
    assert!(err.contains(r#""ok", "client_error", "server_error", "error", "no_response""#), "{err}");
    assert!(Filter::parse(r#"tls == "yes""#).unwrap_err().to_string().contains("true or false"));
}
