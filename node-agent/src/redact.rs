//! Redaction of credentials in entries (docs/api.md, "Redaction"): the values of the headers that
//! carry credentials become [`REDACTED`] before an entry is stored, filtered or served.
//!
//! What is redacted, and why no more:
//! - the values of [`SENSITIVE_HEADERS`] (any case) in `request.headers`, `response.headers`,
//!   and in `request.trailers` / `response.trailers` (a trailer is a header sent after the body;
//!   the same name carries the same secret there);
//! - `response.interim` holds only `{status, reason}` of 1xx responses, so there is nothing to
//!   redact in it;
//! - query parameters are left alone: which names are secret (`token`, `key`, `sig`, ...) is a
//!   guess, and hiding them would also mean rewriting `path` and `summary`, which the filter
//!   language and the dashboard show as on the wire. The contract names headers only.
//! - bodies are left alone for the same reason (no reliable notion of "the secret" in a body).
//!
//! Entries of protocols without headers (DNS) have no `headers` key and pass through unchanged.
//! Nothing is allocated unless a value is actually replaced.

use crate::entry::Entry;
use serde_json::Value;

/// The text a redacted value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Header names whose values are credentials (compared without regard to ASCII case).
pub const SENSITIVE_HEADERS: [&str; 5] = ["Authorization", "Cookie", "Set-Cookie", "Proxy-Authorization", "X-Api-Key"];

/// The keys of a request or response object that hold `[name, value]` header pairs.
const HEADER_LISTS: [&str; 2] = ["headers", "trailers"];

/// Replaces the values of credential headers in the entry's request and response by [`REDACTED`];
/// returns how many values were replaced. A value that already reads [`REDACTED`] is not counted,
/// so redacting twice returns 0 the second time. Pairs that are not `[string, string]` are skipped.
pub fn redact_entry(entry: &mut Entry) -> usize {
    let mut count = redact_message(&mut entry.request);
    if let Some(response) = entry.response.as_mut() {
        count += redact_message(response);
    }
    count
}

/// Whether [`redact_entry`] would change the entry (lets a caller that holds a shared entry skip
/// the copy in the common case).
pub fn needs_redaction(entry: &Entry) -> bool {
    fn message(message: Option<&Value>) -> bool {
        let Some(Value::Object(map)) = message else { return false };
        HEADER_LISTS.iter().filter_map(|key| map.get(*key)).filter_map(Value::as_array).flatten().any(|pair| {
            matches!(pair.as_array().map(Vec::as_slice),
                Some([Value::String(name), Value::String(value)]) if is_sensitive(name) && value != REDACTED)
        })
    }
    message(Some(&entry.request)) || message(entry.response.as_ref())
}

/// Whether `name` is one of [`SENSITIVE_HEADERS`].
pub fn is_sensitive(name: &str) -> bool {
    SENSITIVE_HEADERS.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// Redacts the header lists of one request or response object.
fn redact_message(message: &mut Value) -> usize {
    let Value::Object(map) = message else { return 0 };
    let mut count = 0;
    for key in HEADER_LISTS {
        if let Some(Value::Array(pairs)) = map.get_mut(key) {
            count += redact_pairs(pairs);
        }
    }
    count
}

fn redact_pairs(pairs: &mut [Value]) -> usize {
    let mut count = 0;
    for pair in pairs {
        let Value::Array(pair) = pair else { continue };
        let [Value::String(name), Value::String(value)] = pair.as_mut_slice() else { continue };
        if is_sensitive(name) && value.as_str() != REDACTED {
            *value = REDACTED.to_owned();
            count += 1;
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{Endpoint, Transport};
    use crate::time::Timestamp;
    use serde_json::json;

    fn entry(request: Value, response: Option<Value>) -> Entry {
        Entry {
            id: "t-1".into(),
            protocol: "http".into(),
            transport: Transport::Tcp,
            ts: Timestamp(1),
            elapsed_us: Some(5),
            src: Endpoint::new([10, 0, 0, 1].into(), 40000),
            dst: Endpoint::new([10, 0, 0, 2].into(), 80),
            summary: "GET /".into(),
            status: Some("200".into()),
            request_size: 10,
            response_size: 10,
            request,
            response,
            notes: vec![],
        }
    }

    #[test]
    fn redacts_every_listed_header_in_any_case_and_nothing_else() {
        let request = json!({
            "method": "GET", "path": "/?token=abc",
            "query": [["token", "abc"]],
            "headers": [
                ["Host", "svc"], ["authorization", "Bearer s1"], ["COOKIE", "a=1"],
                ["Proxy-Authorization", "Basic s2"], ["x-api-key", "k"], ["X-Api-Keys", "not-listed"],
                ["Accept", "*/*"]
            ],
            "trailers": [["X-API-KEY", "k2"]],
            "body": {"size": 0, "text": "Authorization: stays"}
        });
        let response = json!({
            "status": 200,
            "headers": [["Set-Cookie", "sid=1"], ["set-cookie", "b=2"], ["Content-Type", "text/plain"]],
            "interim": [{"status": 100, "reason": "Continue"}],
            "body": {"size": 0, "text": ""}
        });
        let mut e = entry(request.clone(), Some(response.clone()));
        assert_eq!(redact_entry(&mut e), 7);

        let mut want_req = request;
        for i in [1, 2, 3, 4] {
            want_req["headers"][i][1] = json!(REDACTED);
        }
        want_req["trailers"][0][1] = json!(REDACTED);
        let mut want_resp = response;
        for i in [0, 1] {
            want_resp["headers"][i][1] = json!(REDACTED);
        }
        assert_eq!(e.request, want_req);
        assert_eq!(e.response, Some(want_resp));
        // Idempotent: nothing left to replace.
        assert_eq!(redact_entry(&mut e), 0);
    }

    #[test]
    fn needs_redaction_agrees_with_redact_entry() {
        let mut e = entry(json!({"headers": [["cookie", "a=1"]]}), Some(json!({"trailers": [["X-API-KEY", "k"]]})));
        assert!(needs_redaction(&e));
        assert_eq!(redact_entry(&mut e), 2);
        assert!(!needs_redaction(&e));
        let plain = entry(json!({"headers": [["Accept", "*/*"]]}), None);
        assert!(!needs_redaction(&plain));
    }

    #[test]
    fn entries_without_headers_are_untouched() {
        let dns_req = json!({"id": 7, "opcode": "QUERY", "flags": ["rd"],
                             "questions": [{"name": "cookie", "type": "A", "class": "IN"}]});
        let dns_resp = json!({"id": 7, "rcode": "NOERROR", "answers": [{"name": "Authorization", "data": "1.2.3.4"}]});
        let mut e = entry(dns_req, Some(dns_resp));
        e.protocol = "dns".into();
        let before = e.clone();
        assert_eq!(redact_entry(&mut e), 0);
        assert_eq!(e, before);

        // Orphan HTTP response (request null), no response, malformed pairs: no panic, nothing changed.
        let mut e = entry(Value::Null, None);
        assert_eq!(redact_entry(&mut e), 0);
        let odd = json!({"headers": [["Cookie"], ["Cookie", 5], "Cookie", ["Cookie", "x", "y"], {"Cookie": "x"}]});
        let mut e = entry(odd.clone(), Some(json!({"headers": "Set-Cookie"})));
        assert_eq!(redact_entry(&mut e), 0);
        assert_eq!(e.request, odd);
    }
}
