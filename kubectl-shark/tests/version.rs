//! `kubectl shark version` run as a process: the local part against independent sources (git, the
//! workspace's Cargo.toml), and the behaviour without a reachable cluster.

use std::process::Command;

fn shark() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kubectl-shark"))
}

/// `git rev-parse HEAD` of this checkout, `None` when not in one (the binary then says `unknown`).
fn git_head() -> Option<String> {
    let out = Command::new("git").args(["rev-parse", "HEAD"]).current_dir(env!("CARGO_MANIFEST_DIR")).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn client_part_names_the_version_the_commit_and_the_image() {
    let out = shark().args(["version", "--client", "-o", "json"]).output().expect("run kubectl-shark");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let version = env!("SHARK_VERSION");
    assert_eq!(v["client"]["version"], version);
    assert_eq!(v["client"]["image"], format!("ghcr.io/kubectl-shark/kubectl-shark:{version}"));
    let commit = v["client"]["commit"].as_str().expect("commit");
    match (std::env::var("SHARK_GIT_COMMIT"), git_head()) {
        (Ok(given), _) if !given.is_empty() => assert_eq!(commit, &given[..12]),
        // The binary is rebuilt when HEAD moves, so it names the commit checked out now.
        (_, Some(head)) => assert_eq!(commit, &head[..12]),
        (_, None) => assert_eq!(commit, "unknown"),
    }
    assert!(v.get("cluster").is_none() && v.get("cluster_error").is_none(), "--client asks no cluster: {v}");
    let platform = v["client"]["platform"].as_str().expect("platform");
    if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        assert_eq!(platform, "linux/amd64");
    }
}

#[test]
fn text_and_clap_version_agree() {
    let out = shark().args(["version", "--client"]).output().expect("run kubectl-shark");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let long = shark().arg("--version").output().expect("run kubectl-shark");
    let long = String::from_utf8(long.stdout).expect("utf-8");
    // `kubectl-shark 0.1.0 (commit abc)` and `Client:  kubectl-shark 0.1.0 (commit abc, linux/amd64)`
    let short = long.trim().trim_end_matches(')');
    assert!(text.lines().next().is_some_and(|l| l.contains(short)), "{text:?} vs {long:?}");
    assert_eq!(text.lines().count(), 2, "{text}");
}

#[test]
fn without_a_cluster_the_local_part_is_printed_and_the_exit_code_says_so() {
    let home = tempfile::tempdir().expect("tempdir");
    let out = shark()
        .args(["version"])
        .env("HOME", home.path())
        .env("KUBECONFIG", home.path().join("no-such-kubeconfig"))
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .expect("run kubectl-shark");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.starts_with(&format!("Client:  kubectl-shark {} (commit ", env!("SHARK_VERSION"))), "{text}");
    assert!(text.contains("\nServer:  not reachable ("), "{text}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--client"), "the error points at --client");
}

#[test]
fn an_unreachable_server_is_reported_as_the_cluster_error() {
    // A kubeconfig pointing at a closed local port: the connection is refused at once.
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: k\n  cluster: {{server: \
             'http://127.0.0.1:{port}'}}\ncontexts:\n- name: c\n  context: {{cluster: k, user: u}}\nusers:\n- name: \
             u\n  user: {{token: t}}\n"
        ),
    )
    .expect("write kubeconfig");
    let out =
        shark().args(["version", "-o", "json", "--kubeconfig"]).arg(&kubeconfig).output().expect("run kubectl-shark");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["client"]["version"], env!("SHARK_VERSION"));
    assert!(v["cluster_error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
    assert!(v.get("cluster").is_none(), "{v}");
}
