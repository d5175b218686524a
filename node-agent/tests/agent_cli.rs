//! The node-agent binary's command line, as a process: `--protocols` takes the registry's names
//! (what `kubectl shark tap` passes in the DaemonSet) and refuses others as a usage error.
#![cfg(target_os = "linux")]

use node_agent::dissect::registry;
use std::process::{Command, Output};

fn agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_node-agent")).args(args).output().expect("run node-agent")
}

#[test]
fn protocols_take_the_registry_names() {
    let every = registry::names().join(",");
    // `--version` ends the run after the arguments before it were parsed (and checked).
    for list in ["all", every.as_str(), &every.to_uppercase()] {
        let out = agent(&["--protocols", list, "--version"]);
        assert!(out.status.success(), "{list}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let help = String::from_utf8_lossy(&agent(&["--help"]).stdout).into_owned();
    assert!(help.contains("--protocols <LIST>"), "{help}");
}

#[test]
fn unknown_protocols_are_a_usage_error_listing_the_known_ones() {
    for list in ["gopher", "dns,gopher", ""] {
        let out = agent(&["--protocols", list, "--version"]);
        assert_eq!(out.status.code(), Some(2), "{list:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("(known: {})", registry::names().join(", "))), "{list:?}: {err}");
    }
}
