//! Completion through the real consumers: bash sourcing `completion bash`, and kubectl (when one is
//! on PATH) running `kubectl_complete-shark` for `kubectl shark <TAB>`. The subcommands expected
//! are read from `kubectl-shark --help`, not from the completion code.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-shark");

/// The subcommand names listed under `Commands:` in `--help`.
fn subcommands_from_help() -> Vec<String> {
    let out = Command::new(BIN).arg("--help").output().expect("run --help");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    text.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect()
}

fn script(shell: &str) -> String {
    let out = Command::new(BIN).args(["completion", shell]).output().expect("run completion");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// COMPREPLY of bash's completion function for `words` (the last one is being completed).
fn bash_complete(script_path: &Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        r#"source '{}'
spec=$(complete -p kubectl-shark) || exit 3
fn=$(sed -E 's/.*-F ([^ ]+).*/\1/' <<<"$spec")
COMP_WORDS=({words})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
"$fn" kubectl-shark "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
        script_path.display(),
        words = quoted.join(" ")
    );
    // The script runs the program the user typed (`kubectl-shark`, found on PATH).
    let bin_dir = plugin_dir();
    let out =
        Command::new("bash").arg("-c").arg(program).env("PATH", path_with(bin_dir.path())).output().expect("run bash");
    assert!(out.status.success(), "bash: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn bash_completes_subcommands_and_flag_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kubectl-shark.bash");
    std::fs::write(&path, script("bash")).expect("write script");
    let mut got = bash_complete(&path, &["kubectl-shark", ""]);
    let mut want = subcommands_from_help();
    assert!(want.contains(&"tap".to_string()) && want.contains(&"completion".to_string()), "{want:?}");
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(bash_complete(&path, &["kubectl-shark", "ta"]), vec!["tap"]);
    assert_eq!(bash_complete(&path, &["kubectl-shark", "tap", "--pull-policy", "N"]), vec!["Never"]);
    assert_eq!(bash_complete(&path, &["kubectl-shark", "view", "-o", "h"]), vec!["har"]);
    // Bash splits `--flag=value` at `=`: the words come as `--flag` `=` `value`.
    assert_eq!(bash_complete(&path, &["kubectl-shark", "tap", "--pull-policy", "=", "A"]), vec!["Always"]);
    let mut after_eq = bash_complete(&path, &["kubectl-shark", "tap", "--pull-policy", "="]);
    after_eq.sort();
    assert_eq!(after_eq, vec!["Always", "IfNotPresent", "Never"]);
    // Files where the command takes files: the shell lists them.
    let files = tempfile::tempdir().expect("tempdir");
    std::fs::write(files.path().join("capture.pcapng"), b"").expect("write");
    let prefix = files.path().join("cap").display().to_string();
    assert_eq!(
        bash_complete(&path, &["kubectl-shark", "view", &prefix]),
        vec![files.path().join("capture.pcapng").display().to_string()]
    );
    // No files where a command takes none.
    assert_eq!(bash_complete(&path, &["kubectl-shark", "list", &prefix]), Vec::<String>::new());
}

/// What fish offers for `line` with the script of `completion fish` loaded; `None` without fish.
fn fish_complete(line: &str) -> Option<Vec<String>> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kubectl-shark.fish");
    std::fs::write(&path, script("fish")).expect("write");
    let program = format!("source '{}'; complete -C '{line}'", path.display());
    let out = Command::new("fish").arg("-c").arg(program).output().ok()?;
    assert!(out.status.success(), "fish: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    Some(text.lines().map(|l| l.split('\t').next().unwrap_or_default().to_string()).collect())
}

#[test]
fn fish_completes_subcommands_and_flag_values() {
    let Some(mut subs) = fish_complete("kubectl-shark ") else {
        eprintln!("fish not installed: its completion is not checked");
        return;
    };
    let mut want = subcommands_from_help();
    subs.sort();
    want.sort();
    // fish also offers the top-level flags (-h, --help, -V, --version) after a space.
    let subs: Vec<String> = subs.into_iter().filter(|s| !s.starts_with('-')).collect();
    assert_eq!(subs, want);
    assert_eq!(
        fish_complete("kubectl-shark tap --pull-policy ").expect("fish"),
        vec!["Always", "IfNotPresent", "Never"]
    );
    assert_eq!(fish_complete("kubectl-shark version --cl").expect("fish"), vec!["--client"]);
}

#[test]
fn zsh_fish_and_powershell_scripts_name_the_program() {
    assert!(script("zsh").starts_with("#compdef kubectl-shark"));
    assert!(script("fish").contains("complete -c kubectl-shark"));
    assert!(script("powershell").contains("'kubectl-shark'"));
    // A shell at hand checks the syntax of its script.
    for (shell, name) in [("zsh", "zsh"), ("fish", "fish")] {
        if let Ok(out) = Command::new(shell).arg("-n").arg("-c").arg(script(name)).output() {
            assert!(out.status.success(), "{shell} -n: {}", String::from_utf8_lossy(&out.stderr));
        } else {
            eprintln!("{shell} not installed: its script's syntax is not checked");
        }
    }
}

/// A directory with `kubectl-shark` and `kubectl_complete-shark`, as krew's bin or the archive has them.
fn plugin_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(BIN, dir.path().join("kubectl-shark")).expect("link binary");
    let script_path = dir.path().join("kubectl_complete-shark");
    std::fs::write(&script_path, script("kubectl-plugin")).expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script_path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// PATH with `dir` first.
fn path_with(dir: &Path) -> std::ffi::OsString {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&rest))).expect("PATH")
}

/// Candidates and directive of a Cobra answer.
fn cobra(text: &str) -> (Vec<String>, String) {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let directive = lines.pop().unwrap_or_default();
    (lines.into_iter().map(|l| l.split('\t').next().unwrap_or_default().to_string()).collect(), directive)
}

#[test]
fn the_kubectl_plugin_file_answers_in_cobras_protocol() {
    let dir = plugin_dir();
    let out = Command::new(dir.path().join("kubectl_complete-shark")).arg("").output().expect("run");
    let (mut got, directive) = cobra(&String::from_utf8(out.stdout).expect("utf-8"));
    let mut want = subcommands_from_help();
    got.sort();
    want.sort();
    assert_eq!((got, directive.as_str()), (want, ":4"));
}

#[test]
fn kubectl_completes_kubectl_shark_through_the_plugin_file() {
    let Some(kubectl) = std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join("kubectl")).find(|k| k.is_file()))
    else {
        eprintln!("no kubectl on PATH: kubectl's plugin completion is not checked");
        return;
    };
    let dir = plugin_dir();
    let path = std::env::join_paths(
        std::iter::once(dir.path().to_path_buf())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .expect("PATH");
    let run = |words: &[&str]| {
        let out = Command::new(&kubectl)
            .arg("__complete")
            .arg("shark")
            .args(words)
            .env("PATH", &path)
            .output()
            .expect("run kubectl");
        cobra(&String::from_utf8(out.stdout).expect("utf-8"))
    };
    let (mut got, directive) = run(&[""]);
    let mut want = subcommands_from_help();
    got.sort();
    want.sort();
    assert_eq!((got, directive.as_str()), (want, ":4"), "kubectl shark <TAB>");
    assert_eq!(
        run(&["tap", "--pull-policy", ""]),
        (vec!["IfNotPresent".into(), "Always".into(), "Never".into()], ":4".into())
    );
    assert_eq!(run(&["version", "--cl"]), (vec!["--client".into()], ":4".into()));
}
