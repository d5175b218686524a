//! Shell completion: the scripts of `kubectl shark completion SHELL` (clap_complete, for the
//! binary `kubectl-shark` called directly), and for `kubectl shark <TAB>` the plugin completion
//! kubectl (1.26 and later) runs: an executable `kubectl_complete-shark` on PATH, called with the
//! words after `kubectl shark`, which answers in Cobra's protocol (engine.rs) through
//! `kubectl-shark __complete WORDS...`.

pub mod bash;
pub mod engine;

use clap::CommandFactory;
use clap_complete::Shell;

/// The hidden first argument that asks for completions (as Cobra programs spell it).
pub const COMPLETE_ARG: &str = "__complete";

/// `kubectl_complete-shark`: runs the `kubectl-shark` beside it (krew links both into the same
/// bin directory; the release archive holds both), else the one on PATH.
pub const KUBECTL_PLUGIN_SCRIPT: &str = r#"#!/bin/sh
# kubectl_complete-shark: kubectl (1.26 and later) runs this for `kubectl shark <TAB>` when it is an
# executable on PATH, with the words after `kubectl shark` (the last one is being completed), and
# reads candidates one per line, then `:<directive>` (Cobra's protocol).
# Written by `kubectl shark completion kubectl-plugin`.
here=$(dirname "$0")
if [ -x "$here/kubectl-shark" ]; then
  exec "$here/kubectl-shark" __complete "$@"
fi
exec kubectl-shark __complete "$@"
"#;

/// The script for `shell`, completing the command `kubectl-shark`: ours for bash (bash.rs),
/// clap_complete's for the others.
pub fn script(shell: Shell) -> Vec<u8> {
    if shell == Shell::Bash {
        return bash::SCRIPT.as_bytes().to_vec();
    }
    // The CLI calls itself `kubectl shark` in help; the scripts complete the binary's own name
    // (with the space, subcommands would be looked up under a `kubectl` command).
    let mut cmd = crate::cli::Cli::command().bin_name("kubectl-shark");
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "kubectl-shark", &mut out);
    out
}

/// The answer to `kubectl-shark __complete WORDS...`.
pub fn answer(words: &[String]) -> String {
    engine::complete(&crate::cli::Cli::command(), words).to_cobra()
}
