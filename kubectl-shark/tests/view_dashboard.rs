//! `kubectl shark view` run as a process on the bundled capture. In dashboard mode: `--max-entries`
//! below one is refused as a usage error, and the "serving N entries" line says what the dashboard
//! holds (the entries the filter kept, the newest `--max-entries` of them). The counts come from a
//! separate `view --output json` run on the same file, with the same filter. `--output har` names
//! what it left out (entries of protocols without HTTP semantics).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

fn shark() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kubectl-shark"))
}

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../samples/demo.pcapng")
}

/// Entries `view -o json` writes for the demo capture with these extra arguments.
fn json_count(extra: &[&str]) -> u64 {
    let out = shark().arg("view").arg(demo()).args(["-o", "json", "--quiet"]).args(extra).output().expect("run view");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.trim().is_empty()).count() as u64
}

/// Kills the dashboard when the test ends, whatever happens.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The "serving ..." line of a dashboard-mode `view` with these extra arguments.
fn serving_line(extra: &[&str]) -> String {
    let child = shark()
        .arg("view")
        .arg(demo())
        .args(["--no-browser", "--port", "0", "--quiet"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start view");
    let mut serving = Serving(child);
    let stderr = serving.0.stderr.take().expect("stderr");
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("stderr line");
        if line.contains("serving") {
            return line;
        }
    }
    panic!("view ended without a serving line");
}

#[test]
fn max_entries_of_zero_is_a_usage_error() {
    let out = shark().arg("view").arg(demo()).args(["--max-entries", "0"]).output().expect("run view");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--max-entries") && err.contains("at least 1"), "{err}");
}

#[test]
fn the_serving_line_counts_what_the_dashboard_holds() {
    let all = json_count(&[]);
    assert!(all > 3, "the demo capture has entries");
    assert_eq!(serving_line(&[]), format!("kubectl-shark: serving {all} entries; Ctrl-C to stop"));
    assert_eq!(
        serving_line(&["--max-entries", "3"]),
        format!("kubectl-shark: serving the newest 3 of {all} entries (--max-entries); Ctrl-C to stop")
    );
    // A filter keeps fewer: the line counts those, not every entry the file gave.
    let dns = json_count(&["--filter", "dns"]);
    assert!(dns > 0 && dns < all);
    assert_eq!(serving_line(&["--filter", "dns"]), format!("kubectl-shark: serving {dns} entries; Ctrl-C to stop"));
}

#[test]
fn har_says_which_entries_it_cannot_hold() {
    let dns = json_count(&["--filter", "dns"]);
    assert!(dns > 0);
    let out =
        shark().arg("view").arg(demo()).args(["-o", "har", "--quiet", "--filter", "dns"]).output().expect("run view");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let har: serde_json::Value = serde_json::from_slice(&out.stdout).expect("HAR JSON");
    assert_eq!(har["log"]["entries"].as_array().map(Vec::len), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("HAR holds HTTP exchanges only; left out {dns} entries ({dns} dns)")), "{err}");
    // With only HTTP entries there is nothing to say.
    let out =
        shark().arg("view").arg(demo()).args(["-o", "har", "--quiet", "--filter", "http"]).output().expect("run view");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("HAR holds"));
}
