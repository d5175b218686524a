//! Golden fixtures: for every protocol, small real captures under `tests/golden/<protocol>/`, each
//! `<case>.pcap` or `<case>.pcapng` beside `<case>.jsonl`, the entries `view --output json` must
//! give for it (one per line, ids and all), and `<case>.oracle`, what tshark saw in it when it was
//! recorded (`summary <summary>` and `status <status>` lines). No root, no tshark, no servers: the
//! captures were recorded once from real servers by `tests/golden/<protocol>/record` (see
//! tests/golden/README.md). The entries must equal the `.jsonl`, and their summaries and statuses
//! must equal tshark's (as multisets: tshark's own pairing is not trusted).
//!
//! `GOLDEN_BLESS=1 cargo test -p node-agent --test golden` rewrites the `.jsonl` files from the
//! current output (then review the diff: it is the change in behaviour).

use node_agent::engine::EngineConfig;
use node_agent::pipeline::run_files;
use std::path::{Path, PathBuf};

fn cases() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut cases = Vec::new();
    for proto in std::fs::read_dir(&root).expect("tests/golden").filter_map(Result::ok) {
        if !proto.path().is_dir() {
            continue;
        }
        for file in std::fs::read_dir(proto.path()).expect("protocol dir").filter_map(Result::ok) {
            let path = file.path();
            if matches!(path.extension().and_then(|e| e.to_str()), Some("pcap" | "pcapng")) {
                cases.push((proto.file_name().to_string_lossy().into_owned(), path));
            }
        }
    }
    cases.sort();
    cases
}

/// The entries as `view --output json` writes them: redacted, one JSON line each.
fn entries_of(capture: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let config = EngineConfig { source_id: "e".into(), ..EngineConfig::default() };
    let run = run_files(&[capture.to_path_buf()], config, &mut |mut e| {
        node_agent::redact::redact_entry(&mut e);
        out.push(serde_json::to_string(&e).expect("entry serialises"))
    });
    assert!(run.error.is_none(), "{}: {:?}", capture.display(), run.error);
    out
}

#[test]
fn every_protocol_has_a_golden_fixture_and_each_gives_its_expected_entries() {
    let cases = cases();
    let bless = std::env::var_os("GOLDEN_BLESS").is_some();
    let mut protocols: Vec<&str> = cases.iter().map(|(p, _)| p.as_str()).collect();
    protocols.dedup();
    for name in node_agent::dissect::registry::names() {
        assert!(protocols.contains(&name), "protocol {name} has no golden fixture under tests/golden/{name}/");
    }
    let mut failures = Vec::new();
    for (proto, capture) in &cases {
        let lines = entries_of(capture);
        let got: Vec<serde_json::Value> = lines.iter().map(|l| serde_json::from_str(l).expect("own JSON")).collect();
        failures.extend(oracle_mismatch(capture, &got));
        assert!(!got.is_empty(), "{}: no entries at all", capture.display());
        let expected_path = capture.with_extension("jsonl");
        if bless {
            let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
            std::fs::write(&expected_path, text).expect("writing the golden file");
            continue;
        }
        let text = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e} (bless with GOLDEN_BLESS=1)", expected_path.display()));
        let expected: Vec<serde_json::Value> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("golden JSON"))
            .collect();
        if got.len() != expected.len() {
            failures.push(format!("{proto}/{}: {} entries, expected {}", capture.display(), got.len(), expected.len()));
        }
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            if g != e {
                failures.push(format!("{}: entry {i} differs:\n  got      {g}\n  expected {e}", capture.display()));
            }
        }
        // Every entry of a protocol's fixture is that protocol's (a fixture shows one protocol).
        for g in &got {
            let p = g["protocol"].as_str().unwrap_or_default();
            if !capture.file_name().is_some_and(|f| f.to_string_lossy().contains("handoff")) && p != proto {
                failures.push(format!("{}: an entry of protocol {p}", capture.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Compares the entries' summaries and statuses with what tshark saw (`<case>.oracle`).
fn oracle_mismatch(capture: &Path, got: &[serde_json::Value]) -> Option<String> {
    let path = capture.with_extension("oracle");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Some(format!("{}: missing (written by the protocol's record script from tshark)", path.display()));
    };
    let mut want: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    for line in text.lines() {
        match line.split_once(' ') {
            Some(("summary", s)) => want[0].push(s.to_owned()),
            Some(("status", s)) => want[1].push(s.to_owned()),
            _ => {}
        }
    }
    let mut have: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    for e in got {
        have[0].push(e["summary"].as_str().unwrap_or_default().to_owned());
        if let Some(s) = e["status"].as_str() {
            have[1].push(s.to_owned());
        }
    }
    for v in want.iter_mut().chain(have.iter_mut()) {
        v.sort();
    }
    (want != have).then(|| {
        format!(
            "{}: tshark saw summaries {:?} statuses {:?}; the entries have {:?} {:?}",
            capture.display(),
            want[0],
            want[1],
            have[0],
            have[1]
        )
    })
}
