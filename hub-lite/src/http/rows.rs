//! Rows: the list form of an entry (docs/api.md "Rows") — the entry without `request`, `response`
//! and `notes`, plus the hub sequence number and `method` and `path` when the request has them as
//! strings (HTTP, gRPC, ...: whatever the protocol, nothing here names one). Rows are serialized
//! straight from the shared entry (nothing big is cloned), appended to one buffer per batch.

use node_agent::{Endpoint, Entry, Outcome, Timestamp, Transport};
use serde::Serialize;

#[derive(Serialize)]
struct Row<'a> {
    seq: u64,
    id: &'a str,
    protocol: &'a str,
    transport: Transport,
    ts: Timestamp,
    elapsed_us: Option<u64>,
    src: &'a Endpoint,
    dst: &'a Endpoint,
    summary: &'a str,
    status: Option<&'a str>,
    outcome: Outcome,
    tls: bool,
    request_size: u64,
    response_size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
}

impl<'a> Row<'a> {
    fn of(seq: u64, e: &'a Entry) -> Self {
        let text = |field| e.request.get(field).and_then(|v| v.as_str());
        Row {
            seq,
            id: &e.id,
            protocol: &e.protocol,
            transport: e.transport,
            ts: e.ts,
            elapsed_us: e.elapsed_us,
            src: &e.src,
            dst: &e.dst,
            summary: &e.summary,
            status: e.status.as_deref(),
            outcome: e.outcome,
            tls: e.tls,
            request_size: e.request_size,
            response_size: e.response_size,
            method: text("method"),
            path: text("path"),
        }
    }
}

/// Appends the row of `entry` (sequence number `seq`) as JSON to `out`.
pub fn write_row(out: &mut Vec<u8>, seq: u64, entry: &Entry) -> Result<(), serde_json::Error> {
    serde_json::to_writer(out, &Row::of(seq, entry))
}

/// Appends `{"entries":[ROW,...],"missed":N}` (the body of `/api/v1/entries`).
pub fn write_list<'e>(
    out: &mut Vec<u8>,
    rows: impl IntoIterator<Item = (u64, &'e Entry)>,
    missed: u64,
) -> Result<(), serde_json::Error> {
    out.extend_from_slice(b"{\"entries\":[");
    for (i, (seq, e)) in rows.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_row(out, seq, e)?;
    }
    out.extend_from_slice(format!("],\"missed\":{missed}}}").as_bytes());
    Ok(())
}

/// A whole entry with its hub sequence number.
#[derive(Serialize)]
struct WithSeq<'a> {
    seq: u64,
    #[serde(flatten)]
    entry: &'a Entry,
}

/// One whole entry (docs/entry.md) plus `"seq"`.
pub fn entry_json(seq: u64, entry: &Entry) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&WithSeq { seq, entry })
}

/// Appends one whole entry plus `"seq"` to `out` (the stream's `full=1` form).
pub fn write_entry(out: &mut Vec<u8>, seq: u64, entry: &Entry) -> Result<(), serde_json::Error> {
    serde_json::to_writer(out, &WithSeq { seq, entry })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(protocol: &str, request: serde_json::Value) -> Entry {
        Entry {
            id: "n-1".into(),
            protocol: protocol.into(),
            transport: Transport::Tcp,
            ts: Timestamp::from_secs_nanos(1_700_000_000, 5),
            elapsed_us: Some(7),
            src: Endpoint::new("10.0.0.1".parse().expect("ip"), 1000),
            dst: Endpoint::new("10.0.0.2".parse().expect("ip"), 80),
            summary: "GET /x".into(),
            status: Some("503".into()),
            outcome: Outcome::ServerError,
            tls: true,
            request_size: 10,
            response_size: 20,
            request,
            response: Some(serde_json::json!({"status": 200})),
            notes: vec!["a note".into()],
        }
    }

    /// The row must equal the entry's own JSON minus request/response/notes, plus seq/method/path.
    #[test]
    fn row_is_the_entry_without_the_big_parts() {
        let e = entry("http", serde_json::json!({"method": "GET", "path": "/x?y=1", "headers": []}));
        let mut out = Vec::new();
        write_row(&mut out, 42, &e).expect("row");
        let row: serde_json::Value = serde_json::from_slice(&out).expect("json");
        let mut expected = serde_json::to_value(&e).expect("entry json");
        let obj = expected.as_object_mut().expect("object");
        for k in ["request", "response", "notes"] {
            obj.remove(k);
        }
        obj.insert("seq".into(), 42.into());
        obj.insert("method".into(), "GET".into());
        obj.insert("path".into(), "/x?y=1".into());
        assert_eq!(row, expected);
    }

    #[test]
    fn method_and_path_come_from_the_request_whatever_the_protocol() {
        let row = |protocol, request| {
            let mut out = Vec::new();
            write_row(&mut out, 1, &entry(protocol, request)).expect("row");
            serde_json::from_slice::<serde_json::Value>(&out).expect("json")
        };
        let r = row("grpc", serde_json::json!({"method": "POST", "path": "/shop.Cart/Add"}));
        assert_eq!((r["method"].as_str(), r["path"].as_str()), (Some("POST"), Some("/shop.Cart/Add")), "{r}");
        assert_eq!((r["outcome"].as_str(), r["tls"].as_bool()), (Some("server_error"), Some(true)), "{r}");
        // Absent, or not strings: left out.
        let r = row("dns", serde_json::json!({"questions": []}));
        assert!(r.get("method").is_none() && r.get("path").is_none(), "{r}");
        let r = row("http", serde_json::json!({"method": 7, "path": ["/"]}));
        assert!(r.get("method").is_none() && r.get("path").is_none(), "{r}");
        let r = row("http", serde_json::Value::Null);
        assert!(r.get("method").is_none() && r.get("path").is_none(), "{r}");
    }

    #[test]
    fn whole_entry_has_seq() {
        let e = entry("http", serde_json::json!({"method": "GET"}));
        let v: serde_json::Value = serde_json::from_slice(&entry_json(9, &e).expect("json")).expect("parse");
        let mut expected = serde_json::to_value(&e).expect("entry json");
        expected.as_object_mut().expect("object").insert("seq".into(), 9.into());
        assert_eq!(v, expected);
        let list = {
            let mut out = Vec::new();
            write_list(&mut out, [(1, &e), (2, &e)], 3).expect("list");
            serde_json::from_slice::<serde_json::Value>(&out).expect("parse")
        };
        assert_eq!(list["entries"].as_array().map(Vec::len), Some(2));
        assert_eq!(list["missed"], 3);
    }
}
