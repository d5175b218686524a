//! Redaction of credentials (docs/api.md, "Redaction"): the values of the headers that carry them
//! are replaced by `[REDACTED]` before an entry is filtered, stored or served.

use crate::entry::Entry;
use serde_json::Value;

/// Headers whose values are credentials (compared ignoring ASCII case).
pub const REDACTED_HEADERS: [&str; 5] = ["authorization", "cookie", "set-cookie", "proxy-authorization", "x-api-key"];
/// What a redacted value becomes.
pub const REDACTED: &str = "[REDACTED]";

fn is_secret(name: &str) -> bool {
    REDACTED_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// The `[name, value]` pairs of a message's `headers`, when it has that shape.
fn headers(message: Option<&Value>) -> impl Iterator<Item = &Vec<Value>> {
    message.and_then(|m| m.get("headers")).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_array)
}

/// Whether [`redact`] would change the entry (lets callers skip a copy in the common case).
pub fn needs_redaction(entry: &Entry) -> bool {
    let secret = |pair: &Vec<Value>| {
        pair.first().and_then(Value::as_str).is_some_and(is_secret)
            && pair.get(1).is_some_and(|v| v.as_str() != Some(REDACTED))
    };
    headers(Some(&entry.request)).any(secret) || headers(entry.response.as_ref()).any(secret)
}

/// Replaces the values of credential headers in the request and response by [`REDACTED`].
pub fn redact(entry: &mut Entry) {
    fn message(m: &mut Value) {
        let Some(list) = m.get_mut("headers").and_then(Value::as_array_mut) else { return };
        for pair in list.iter_mut().filter_map(Value::as_array_mut) {
            if pair.first().and_then(Value::as_str).is_some_and(is_secret) {
                if let Some(v) = pair.get_mut(1) {
                    *v = Value::String(REDACTED.into());
                }
            }
        }
    }
    message(&mut entry.request);
    if let Some(r) = entry.response.as_mut() {
        message(r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{Endpoint, Transport};
    use crate::time::Timestamp;
    use serde_json::json;

    fn entry(request: Value, response: Option<Value>) -> Entry {
        Entry {
            id: "a-1".into(),
            protocol: "http".into(),
            transport: Transport::Tcp,
            ts: Timestamp::ZERO,
            elapsed_us: None,
            src: Endpoint::new("10.0.0.1".parse().unwrap(), 1000),
            dst: Endpoint::new("10.0.0.2".parse().unwrap(), 80),
            summary: "GET /".into(),
            status: None,
            request_size: 0,
            response_size: 0,
            request,
            response,
            notes: vec![],
        }
    }

    #[test]
    fn credential_headers_of_both_messages_are_replaced_and_others_kept() {
        let mut e = entry(
            json!({"headers": [["Host", "a"], ["AUTHORIZATION", "Bearer s3"], ["x-Api-Key", "k"], ["Cookie", "c=1"],
                               ["Proxy-Authorization", "Basic x"]]}),
            Some(json!({"headers": [["Set-Cookie", "sid=2"], ["Content-Type", "text/plain"]]})),
        );
        assert!(needs_redaction(&e));
        redact(&mut e);
        assert_eq!(
            e.request["headers"],
            json!([
                ["Host", "a"],
                ["AUTHORIZATION", REDACTED],
                ["x-Api-Key", REDACTED],
                ["Cookie", REDACTED],
                ["Proxy-Authorization", REDACTED]
            ])
        );
        assert_eq!(
            e.response.as_ref().unwrap()["headers"],
            json!([["Set-Cookie", REDACTED], ["Content-Type", "text/plain"]])
        );
        assert!(!needs_redaction(&e));
        assert!(!serde_json::to_string(&e).unwrap().contains("s3"));
    }

    #[test]
    fn entries_of_other_shapes_are_left_alone() {
        let dns = json!({"id": 1, "questions": [{"name": "authorization", "type": "A"}]});
        let mut e = entry(dns.clone(), None);
        assert!(!needs_redaction(&e));
        redact(&mut e);
        assert_eq!(e.request, dns);
        let odd = json!({"headers": [["Cookie"], "x", 3, ["Cookie", 7]]});
        let mut e = entry(odd, None);
        redact(&mut e);
        assert_eq!(e.request["headers"], json!([["Cookie"], "x", 3, ["Cookie", REDACTED]]));
    }
}
