//! Builds the dashboard (hub-lite/dashboard, Vite) into dashboard/dist, which src/assets.rs embeds.
//!
//! - Runs `npm ci` when node_modules is missing or package-lock.json is newer than the installed tree,
//!   then `npm run build` (type check + Vite). Cargo reruns this script only when the dashboard's
//!   sources, package files, Vite config or index.html change.
//! - `SHARK_DASHBOARD_SKIP_BUILD=1` skips npm and uses the existing dist (cross builds, images).
//! - Without npm: an existing dist is used (with a warning); otherwise the build fails and says what to
//!   install.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{exit, Command, Stdio};
use std::time::SystemTime;

/// Inputs of the dashboard build, relative to the dashboard directory.
const INPUTS: &[&str] = &["src", "index.html", "package.json", "package-lock.json", "vite.config.ts", "tsconfig.json"];

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dash = manifest.join("dashboard");
    for input in INPUTS {
        println!("cargo:rerun-if-changed={}", dash.join(input).display());
    }
    println!("cargo:rerun-if-env-changed=SHARK_DASHBOARD_SKIP_BUILD");
    let index = dash.join("dist").join("index.html");

    if env::var_os("SHARK_DASHBOARD_SKIP_BUILD").is_some_and(|v| v == "1") {
        if !index.is_file() {
            fail(&format!(
                "SHARK_DASHBOARD_SKIP_BUILD=1 but {} does not exist: build the dashboard first \
                 (cd hub-lite/dashboard && npm ci && npm run build) or unset the variable",
                index.display()
            ));
        }
        return;
    }

    if !npm_available() {
        if index.is_file() {
            println!(
                "cargo:warning=npm not found: embedding the existing dashboard build in {} (it may be stale)",
                index.parent().unwrap_or(&dash).display()
            );
            return;
        }
        fail(
            "building the dashboard needs Node.js (20.19 or newer) and npm, and neither a build of it \
             (hub-lite/dashboard/dist) exists: install nodejs and npm (e.g. from nodejs.org or NodeSource; \
             Debian 12's nodejs 18 is too old for Vite 8), or build dist elsewhere and set \
             SHARK_DASHBOARD_SKIP_BUILD=1",
        );
    }

    if needs_install(&dash) {
        run(&dash, &["ci", "--no-audit", "--no-fund"], "npm ci (installing the dashboard's pinned dependencies)");
    }
    run(&dash, &["run", "build"], "npm run build (type check and Vite build of the dashboard)");
    if !index.is_file() {
        fail(&format!("npm run build succeeded but {} is missing", index.display()));
    }
}

fn npm_available() -> bool {
    Command::new("npm").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// node_modules is missing, or package-lock.json changed after the last install (npm writes
/// node_modules/.package-lock.json on every install).
fn needs_install(dash: &Path) -> bool {
    let installed = mtime(&dash.join("node_modules").join(".package-lock.json"));
    let lock = mtime(&dash.join("package-lock.json"));
    match (installed, lock) {
        (Some(i), Some(l)) => l > i,
        _ => true,
    }
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Runs npm in the dashboard directory with its output on stderr (stdout is cargo's channel).
fn run(dash: &Path, args: &[&str], what: &str) {
    let status = Command::new("npm").args(args).current_dir(dash).stdout(std::io::stderr()).status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => fail(&format!("{what} failed in {} ({s}); its output is above", dash.display())),
        Err(e) => fail(&format!("{what}: cannot run npm in {}: {e}", dash.display())),
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("error: hub-lite dashboard: {msg}");
    exit(1);
}
