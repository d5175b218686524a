//! `kubectl shark completion SHELL`: prints a completion script on stdout.

use crate::cli::{CompletionArgs, CompletionShell};
use crate::completion;
use crate::error::CliError;
use clap_complete::Shell;
use std::io::Write;

pub fn run(args: CompletionArgs) -> Result<(), CliError> {
    let text = match args.shell {
        CompletionShell::Bash => completion::script(Shell::Bash),
        CompletionShell::Zsh => completion::script(Shell::Zsh),
        CompletionShell::Fish => completion::script(Shell::Fish),
        CompletionShell::PowerShell => completion::script(Shell::PowerShell),
        CompletionShell::KubectlPlugin => completion::KUBECTL_PLUGIN_SCRIPT.as_bytes().to_vec(),
    };
    std::io::stdout().write_all(&text).map_err(CliError::Output)
}
