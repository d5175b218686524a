//! The MySQL golden capture (tests/golden/mysql/queries.pcap, recorded by its `record` script
//! from MariaDB) against the clients' own record of it (queries.client.json, written by PyMySQL
//! and mysql-connector-python as they ran): every statement the clients ran appears exactly once,
//! in the clients' order, as the command the client used (COM_QUERY, or COM_STMT_EXECUTE with its
//! bound parameters for prepared statements), with the outcome the client got (OK or the error
//! number), the rows it fetched and the affected-row count it was told.

use node_agent::engine::EngineConfig;
use node_agent::pipeline::run_files;
use serde_json::Value;
use std::path::Path;

fn dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/mysql")
}

fn entries() -> Vec<Value> {
    let mut out = Vec::new();
    let config = EngineConfig { source_id: "e".into(), ..EngineConfig::default() };
    let run = run_files(&[dir().join("queries.pcap")], config, &mut |e| {
        out.push(serde_json::to_value(&e).expect("entry serialises"))
    });
    assert!(run.error.is_none(), "{:?}", run.error);
    out.into_iter().filter(|e| e["protocol"] == "mysql").collect()
}

/// A value as Python's `str()` wrote it in the record.
fn py_str(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn rows_as_strings(rows: &Value) -> Vec<Vec<String>> {
    rows.as_array()
        .unwrap_or_else(|| panic!("rows: {rows}"))
        .iter()
        .map(|r| r.as_array().expect("row").iter().map(py_str).collect())
        .collect()
}

fn is_entry_of(e: &Value, item: &Value) -> bool {
    if let Some(command) = item["command"].as_str() {
        return e["request"]["command"] == command;
    }
    let prepared = item["params"].is_array();
    let command = if prepared { "COM_STMT_EXECUTE" } else { "COM_QUERY" };
    e["request"]["command"] == command && e["request"]["query"] == item["sql"]
}

#[test]
fn every_statement_the_clients_ran_appears_once_in_order_with_their_outcome_and_rows() {
    let text = std::fs::read_to_string(dir().join("queries.client.json")).expect("client record");
    let record: Vec<Value> = serde_json::from_str(&text).expect("client record JSON");
    assert_eq!(record.len(), 13, "the record is the whole workload");
    let entries = entries();
    let mut at = 0;
    for item in &record {
        let matching = entries.iter().filter(|e| is_entry_of(e, item)).count();
        let same_items = record.iter().filter(|i| i["command"] == item["command"] && i["sql"] == item["sql"]).count();
        // Commands (ping) the connector also sends on its own are not counted, only found in order.
        if item["sql"].is_string() {
            assert_eq!(matching, same_items, "{item}: entries {matching}, client ran it {same_items} times");
        }
        let offset =
            entries[at..].iter().position(|e| is_entry_of(e, item)).unwrap_or_else(|| panic!("{item} out of order"));
        let e = &entries[at + offset];
        at += offset + 1;
        let outcome = item["outcome"].as_str().unwrap();
        assert_eq!(e["status"], outcome, "{item} -> {e}");
        assert_eq!(e["outcome"], if outcome == "OK" { "ok" } else { "client_error" }, "{e}");
        if let Some(params) = item["params"].as_array() {
            let got: Vec<String> = e["request"]["params"].as_array().expect("params").iter().map(py_str).collect();
            let want: Vec<String> = params.iter().map(|p| p.as_str().unwrap().to_owned()).collect();
            assert_eq!(got, want, "{e}");
        }
        let response = &e["response"];
        // (mysql-connector reports `[]` for a prepared INSERT, which has no result set.)
        if let Some(rows) = item["rows"].as_array().filter(|r| !r.is_empty() || !response["rows"].is_null()) {
            let want: Vec<Vec<String>> = rows_as_strings(&Value::Array(rows.clone()));
            assert_eq!(rows_as_strings(&response["rows"]), want, "{e}");
            assert_eq!(response["row_count"], rows.len(), "{e}");
        }
        if let Some(n) = item["affected"].as_u64() {
            assert_eq!(response["affected_rows"], n, "{e}");
        }
        if let Some(sets) = item["result_sets"].as_array() {
            assert_eq!(rows_as_strings(&response["rows"]), rows_as_strings(&sets[0]), "{e}");
            let more = response["more_results"].as_array().expect("more_results");
            assert_eq!(more.len() + 1, sets.len(), "{e}");
            for (m, s) in more.iter().zip(&sets[1..]) {
                assert_eq!(rows_as_strings(&m["rows"]), rows_as_strings(s), "{e}");
            }
        }
    }
}

#[test]
fn the_password_and_scramble_never_reach_an_entry() {
    let all = serde_json::to_string(&entries()).unwrap();
    assert!(!all.contains("golden-pass"));
    let logins: Vec<_> = entries().into_iter().filter(|e| e["request"]["command"] == "handshake").collect();
    assert_eq!(logins.len(), 2);
    for l in logins {
        assert_eq!(l["request"]["user"], "shark");
        assert_eq!(l["request"]["database"], "golden");
        assert!(l["response"]["server_version"].as_str().unwrap().contains("MariaDB"));
        assert_eq!(l["status"], "OK");
    }
}

/// The filter examples of docs/entry.md "MySQL", on the golden capture: what each must match is
/// known from the workload (the record script), not from our output.
#[test]
fn the_documented_filter_examples_select_what_they_say() {
    use node_agent::filter::Filter;
    let mut all = Vec::new();
    let config = EngineConfig { source_id: "e".into(), ..EngineConfig::default() };
    run_files(&[dir().join("queries.pcap")], config, &mut |e| all.push(e));
    let count = |f: &str| all.iter().filter(|e| Filter::parse(f).expect(f).matches(e)).count();
    let slow = all
        .iter()
        .filter(|e| e.protocol == "mysql")
        .filter(|e| serde_json::to_value(e).unwrap()["elapsed_us"].as_u64().is_some_and(|us| us > 1000))
        .count();
    assert!(slow > 0, "the CREATE TABLE and the inserts take over 1 ms");
    assert_eq!(count("mysql and elapsed_us > 1000"), slow);
    assert_eq!(count("mysql and elapsed_us > 100000"), 0, "nothing in this workload takes 100 ms");
    assert_eq!(count(r#"mysql and status == "1146""#), 1, "the missing table");
    assert_eq!(count("mysql and response.error.code == 1062"), 2, "the duplicate apple and fig");
    assert_eq!(count(r#"mysql and outcome == "client_error""#), 4, "1146, 1064 and two 1062");
    assert_eq!(count(r#"mysql and request.command == "COM_STMT_EXECUTE""#), 3);
    assert_eq!(count(r#"mysql and request.query contains "missing_table""#), 1);
    assert_eq!(count(r#"mysql and request.params == "fig""#), 2, "both executions bound 'fig'");
    assert_eq!(count("mysql and response.row_count > 1"), 2, "the text and the binary select");
    assert_eq!(count(r#"mysql and request.command == "handshake" and request.user == "shark""#), 2);
}

/// tshark 4's mysql dissector on the golden capture, now (not only when it was recorded): its
/// commands and answers, turned into summaries and statuses by the fixture's oracle.py, equal our
/// entries in order (the golden test compares them as multisets). Needs tshark and python3.
#[test]
fn tshark_sees_the_same_commands_and_statuses_in_the_same_order() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let entries = entries();
    let port = entries[0]["dst"]["port"].as_u64().expect("server port").to_string();
    let pcap = dir().join("queries.pcap");
    let tshark = Command::new("tshark")
        .args(["-o", "tcp.reassemble_out_of_order:TRUE", "-d", &format!("tcp.port=={port},mysql"), "-r"])
        .arg(&pcap)
        .args(["-Y", "mysql", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"])
        .args(["-e", "tcp.srcport", "-e", "mysql.command", "-e", "mysql.query", "-e", "mysql.stmt_id"])
        .args(["-e", "mysql.user", "-e", "mysql.schema", "-e", "mysql.response_code", "-e", "mysql.error_code"])
        .output()
        .expect("tshark is needed (apt-get install tshark)");
    assert!(tshark.status.success(), "{}", String::from_utf8_lossy(&tshark.stderr));
    let mut oracle = Command::new("python3")
        .arg(dir().join("oracle.py"))
        .arg(&port)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is needed");
    oracle.stdin.take().unwrap().write_all(&tshark.stdout).unwrap();
    let out = oracle.wait_with_output().unwrap();
    assert!(out.status.success());
    let mut want: Vec<(String, Option<String>)> = Vec::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        match line.split_once(' ') {
            Some(("summary", s)) => want.push((s.to_owned(), None)),
            Some(("status", s)) => want.last_mut().expect("a summary first").1 = Some(s.to_owned()),
            _ => {}
        }
    }
    let got: Vec<(String, Option<String>)> = entries
        .iter()
        .map(|e| (e["summary"].as_str().unwrap().to_owned(), e["status"].as_str().map(str::to_owned)))
        .collect();
    assert_eq!(got, want);
}
