//! `kubectl shark manifests`: prints the objects of a persistent session as YAML (docs in
//! k8s/static_install.rs and manifests/README.md); contacts no cluster.

use crate::cli::{session_plan, ManifestsArgs};
use crate::error::CliError;
use crate::k8s::error::K8sError;
use crate::k8s::manifest::Plan;
use crate::k8s::scope::Scope;
use crate::k8s::static_install;
use std::io::Write;

pub fn run(args: ManifestsArgs) -> Result<(), CliError> {
    let plan = plan(&args)?;
    let words: Vec<String> = std::env::args().skip(2).map(|a| shell_word(&a)).collect();
    let command_line =
        std::iter::once("kubectl shark manifests".to_string()).chain(words).collect::<Vec<_>>().join(" ");
    let text = static_install::yaml(&plan, &command_line)
        .map_err(|e| CliError::Output(std::io::Error::other(format!("rendering YAML: {e}"))))?;
    std::io::stdout().write_all(text.as_bytes()).map_err(CliError::Output)
}

/// The plan of a static session from the flags: all namespaces unless `-n` is given (no cluster
/// context is read, so the output depends on the flags only).
pub fn plan(args: &ManifestsArgs) -> Result<Plan, K8sError> {
    let all = args.all_namespaces || args.namespaces.is_empty();
    let scope = Scope::new(args.pod_regex.as_deref(), &args.namespaces, all, &args.exclude_namespaces, "default")?;
    Ok(Plan {
        created_by: static_install::CREATED_BY.into(),
        agent_port: args.agent_port,
        ..session_plan(args.session.clone(), scope, &args.image, &args.capture, &args.agents)
    })
}

/// `word` quoted for a shell when it needs it (the header repeats the command line).
fn shell_word(word: &str) -> String {
    if !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_=.,/:@%+".contains(&b)) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''")).replace('\n', " ")
    }
}
