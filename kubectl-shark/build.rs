//! Bakes the version and the git commit of the checkout into the binary (`kubectl shark version`).
//!
//! Order: the `SHARK_GIT_COMMIT` environment variable (set it when building from a source archive
//! that has no `.git`), else `git rev-parse HEAD` of the checkout, else `unknown`. No `-dirty`
//! mark: cargo cannot know when an edited file makes the tree dirty without watching every file,
//! so such a mark would go stale; `scripts/dist` refuses a dirty tree instead.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    // The version the CLI reports: the workspace's, unless SHARK_VERSION says otherwise (scripts/dist
    // --version; the self-update test builds a "next" release with it; real releases bump Cargo.toml).
    println!("cargo:rerun-if-env-changed=SHARK_VERSION");
    let version = match std::env::var("SHARK_VERSION") {
        Ok(v) if !v.trim().is_empty() => {
            let v = v.trim().trim_start_matches('v');
            assert!(
                !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'+'),
                "SHARK_VERSION must look like 1.2.3 (letters, digits, . - +), not {v:?}"
            );
            v.to_string()
        }
        _ => std::env::var("CARGO_PKG_VERSION").unwrap_or_default(),
    };
    println!("cargo:rustc-env=SHARK_VERSION={version}");
    println!("cargo:rerun-if-env-changed=SHARK_GIT_COMMIT");
    let commit = match std::env::var("SHARK_GIT_COMMIT") {
        Ok(given) if !given.trim().is_empty() => {
            let given = given.trim();
            assert!(
                given.len() >= 12 && given.len() <= 40 && given.bytes().all(|b| b.is_ascii_hexdigit()),
                "SHARK_GIT_COMMIT must be a commit id (12 to 40 hex digits), not {given:?}"
            );
            given[..12].to_ascii_lowercase()
        }
        _ => from_git().unwrap_or_else(|| "unknown".to_string()),
    };
    println!("cargo:rustc-env=SHARK_GIT_COMMIT={commit}");
}

/// The commit of HEAD (12 hex digits), and rerun lines for the files
/// that change when HEAD moves; `None` outside a git checkout or without git.
fn from_git() -> Option<String> {
    let full = git(&["rev-parse", "HEAD"])?;
    if full.len() < 12 || !full.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    // HEAD itself, the branch it points at, and packed-refs (where a branch may live after gc).
    for path in ["HEAD", "packed-refs"] {
        if let Some(p) = git(&["rev-parse", "--git-path", path]) {
            rerun_if_changed(PathBuf::from(p));
        }
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        if let Some(p) = git(&["rev-parse", "--git-path", &branch]) {
            rerun_if_changed(PathBuf::from(p));
        }
    }
    Some(full[..12].to_string())
}

fn rerun_if_changed(path: PathBuf) {
    let path = if path.is_relative() {
        match std::env::var_os("CARGO_MANIFEST_DIR") {
            Some(dir) => PathBuf::from(dir).join(path),
            None => path,
        }
    } else {
        path
    };
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// Runs git in the crate's directory; its trimmed stdout when it succeeds.
fn git(args: &[&str]) -> Option<String> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let out = Command::new("git").args(args).current_dir(dir).output().ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8(out.stdout).ok().map(|s| s.trim().to_string())
}
