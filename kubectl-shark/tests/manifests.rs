//! `kubectl shark manifests` as a process: the committed default rendering (manifests/) is exactly
//! what the CLI prints, and flags change what they should.

use std::process::Command;

fn manifests(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-shark")).arg("manifests").args(args).output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn the_committed_rendering_is_what_the_cli_prints() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests/kubectl-shark.yaml");
    let committed = std::fs::read_to_string(&path).expect("manifests/kubectl-shark.yaml");
    let printed = manifests(&[]);
    if committed != printed {
        let first = committed.lines().zip(printed.lines()).position(|(a, b)| a != b);
        panic!(
            "manifests/kubectl-shark.yaml differs from `kubectl-shark manifests` (first different line: {}); \
             regenerate it with: cargo run -p kubectl-shark -- manifests > manifests/kubectl-shark.yaml",
            first.map_or("one is longer".to_string(), |i| (i + 1).to_string())
        );
    }
}

#[test]
fn registry_pull_secret_scope_and_session_flags_show_in_the_output() {
    let args = [
        "--registry",
        "registry.airgap.test:5000",
        "--image-pull-secret",
        "regcred",
        "-n",
        "shop",
        "web|api",
        "--session",
        "abc123",
    ];
    let text = manifests(&args);
    let version = env!("SHARK_VERSION");
    let image = format!("image: registry.airgap.test:5000/kubectl-shark/kubectl-shark:{version}");
    assert_eq!(text.matches(&image).count(), 2, "hub and agents: {text}");
    assert!(!text.contains("ghcr.io/kubectl-shark/kubectl-shark:"), "{text}");
    assert_eq!(text.matches("- name: regcred").count(), 2, "{text}");
    assert!(text.contains("name: shark-abc123\n"), "{text}");
    assert!(text.contains("kubectl-shark.io/scope-namespaces: shop\n"), "{text}");
    assert!(text.contains("kubectl-shark.io/scope-regex: web|api\n"), "{text}");
    assert!(text.contains("# Rendered by: kubectl shark manifests --registry registry.airgap.test:5000"), "{text}");
    assert_eq!(text, manifests(&args));
}

#[test]
fn protocols_reach_the_agents_only_when_they_narrow() {
    let default = manifests(&[]);
    assert!(!default.contains("--protocols"), "{default}");
    // `all` is the agents' default: the objects are the same (only the header's command line differs).
    let body = |text: &str| text.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&manifests(&["--protocols", "all"])), body(&default));
    let narrowed = manifests(&["--protocols", "DNS"]);
    assert_eq!(narrowed.matches("- --protocols\n").count(), 1, "{narrowed}");
    assert!(narrowed.contains("- --protocols\n        - dns\n"), "{narrowed}");
}

#[test]
fn bad_flags_are_refused() {
    for args in [
        &["--registry", "https://r.io"][..],
        &["--image-pull-secret", "Bad_Name"],
        &["--session", "toolongid"],
        &["--protocols", "gopher"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_kubectl-shark")).arg("manifests").args(args).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}
