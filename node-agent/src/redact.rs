//! Redaction of credentials in entries (docs/api.md, "Redaction"): values that carry credentials
//! become [`REDACTED`] before an entry is stored, filtered or served. Each protocol declares where
//! its secrets are ([`Secrets`], in its registration); this module applies the declarations.
//!
//! What HTTP declares, and why no more:
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
//! Entries of protocols without secrets (DNS) pass through unchanged; entries of a protocol this
//! build does not know (from a newer agent) get HTTP's declaration. Nothing is allocated unless a
//! value is actually replaced.

use crate::dissect::registry;
use crate::entry::Entry;
use serde_json::Value;

/// The text a redacted value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Header names whose values are credentials (compared without regard to ASCII case).
pub const SENSITIVE_HEADERS: [&str; 5] = ["Authorization", "Cookie", "Set-Cookie", "Proxy-Authorization", "X-Api-Key"];

/// Where a protocol's request and response objects keep credentials.
#[derive(Clone, Copy)]
pub struct Secrets {
    /// Keys of the object that hold `[name, value]` pairs (headers, trailers, metadata).
    pub pair_lists: &'static [&'static str],
    /// Whether a pair's name marks its value as a credential.
    pub is_secret_name: fn(&str) -> bool,
    /// Keys of the object whose whole value is a credential (e.g. a password field).
    pub fields: &'static [&'static str],
    /// Protocol logic for the rest: JSON pointers (RFC 6901, relative to the object) of further
    /// credential values, e.g. the password argument of a Redis `AUTH`.
    pub find: Option<fn(&Value) -> Vec<String>>,
}

impl Secrets {
    /// A protocol without credentials.
    pub const NONE: Secrets = Secrets { pair_lists: &[], is_secret_name: |_| false, fields: &[], find: None };
    /// HTTP's: the values of [`SENSITIVE_HEADERS`] in `headers` and `trailers`.
    pub const HTTP_HEADERS: Secrets =
        Secrets { pair_lists: &["headers", "trailers"], is_secret_name: is_sensitive, fields: &[], find: None };

    /// Replaces the credentials in one request or response object; returns how many values changed.
    pub fn redact(&self, message: &mut Value) -> usize {
        let pointers = self.find.map(|find| find(message)).unwrap_or_default();
        let Value::Object(map) = message else { return 0 };
        let mut count = 0;
        for key in self.pair_lists {
            if let Some(Value::Array(pairs)) = map.get_mut(*key) {
                count += redact_pairs(pairs, self.is_secret_name);
            }
        }
        for key in self.fields {
            if let Some(v) = map.get_mut(*key) {
                count += redact_value(v);
            }
        }
        for pointer in pointers {
            if let Some(v) = message.pointer_mut(&pointer) {
                count += redact_value(v);
            }
        }
        count
    }

    /// Whether [`Secrets::redact`] would change the object.
    pub fn needs(&self, message: &Value) -> bool {
        let Value::Object(map) = message else { return false };
        let pairs =
            self.pair_lists.iter().filter_map(|key| map.get(*key)).filter_map(Value::as_array).flatten().any(|pair| {
                matches!(pair.as_array().map(Vec::as_slice),
                Some([Value::String(name), Value::String(value)]) if (self.is_secret_name)(name) && value != REDACTED)
            });
        pairs
            || self.fields.iter().filter_map(|key| map.get(*key)).any(is_unredacted)
            || self.find.is_some_and(|find| find(message).iter().filter_map(|p| message.pointer(p)).any(is_unredacted))
    }
}

/// The secrets declaration for entries of `protocol`.
fn secrets_of(protocol: &str) -> Secrets {
    registry::protocol(protocol).map_or(Secrets::HTTP_HEADERS, |p| p.secrets)
}

/// Replaces the credentials in the entry's request and response by [`REDACTED`], as its protocol
/// declares them; returns how many values were replaced. A value that already reads [`REDACTED`]
/// is not counted, so redacting twice returns 0 the second time. Values of unexpected shapes are
/// skipped.
pub fn redact_entry(entry: &mut Entry) -> usize {
    let secrets = secrets_of(&entry.protocol);
    let mut count = secrets.redact(&mut entry.request);
    if let Some(response) = entry.response.as_mut() {
        count += secrets.redact(response);
    }
    count
}

/// Whether [`redact_entry`] would change the entry (lets a caller that holds a shared entry skip
/// the copy in the common case).
pub fn needs_redaction(entry: &Entry) -> bool {
    let secrets = secrets_of(&entry.protocol);
    secrets.needs(&entry.request) || entry.response.as_ref().is_some_and(|r| secrets.needs(r))
}

/// Whether `name` is one of [`SENSITIVE_HEADERS`].
pub fn is_sensitive(name: &str) -> bool {
    SENSITIVE_HEADERS.iter().any(|s| s.eq_ignore_ascii_case(name))
}

fn is_unredacted(v: &Value) -> bool {
    !matches!(v, Value::Null) && v.as_str() != Some(REDACTED)
}

fn redact_value(v: &mut Value) -> usize {
    if is_unredacted(v) {
        *v = Value::String(REDACTED.to_owned());
        1
    } else {
        0
    }
}

fn redact_pairs(pairs: &mut [Value], is_secret: fn(&str) -> bool) -> usize {
    let mut count = 0;
    for pair in pairs {
        let Value::Array(pair) = pair else { continue };
        let [Value::String(name), Value::String(value)] = pair.as_mut_slice() else { continue };
        if is_secret(name) && value.as_str() != REDACTED {
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
            outcome: Default::default(),
            tls: false,
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

    #[test]
    fn declared_fields_and_found_pointers_are_redacted_once() {
        let secrets = Secrets {
            pair_lists: &["metadata"],
            is_secret_name: |n| n.contains("token"),
            fields: &["password"],
            find: Some(|v| if v["command"] == "AUTH" { vec!["/args/1".to_owned()] } else { vec![] }),
        };
        let mut m = json!({"command": "AUTH", "args": ["user", "hunter2"], "password": 42,
                           "metadata": [["x-token", "t"], ["x-other", "o"]]});
        assert!(secrets.needs(&m));
        assert_eq!(secrets.redact(&mut m), 3);
        assert_eq!(
            m,
            json!({"command": "AUTH", "args": ["user", REDACTED], "password": REDACTED,
                             "metadata": [["x-token", REDACTED], ["x-other", "o"]]})
        );
        assert!(!secrets.needs(&m));
        assert_eq!(secrets.redact(&mut m), 0);
        let mut other = json!({"command": "GET", "args": ["k"], "password": null});
        assert!(!secrets.needs(&other));
        assert_eq!(secrets.redact(&mut other), 0);
    }
}
