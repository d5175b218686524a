//! `kubectl shark self-update [--base-url URL] [--repository OWNER/NAME] [--check]`.

use super::attach::runtime;
use crate::cli::SelfUpdateArgs;
use crate::error::CliError;
use crate::update::error::UpdateError;
use crate::update::{self, Outcome, Request};

pub fn run(args: SelfUpdateArgs) -> Result<(), CliError> {
    let exe = std::env::current_exe().and_then(|p| p.canonicalize()).map_err(|source| UpdateError::Io {
        what: "finding this binary",
        path: "/proc/self/exe".into(),
        source,
    })?;
    let request = Request {
        api_base: args.base_url,
        repository: args.repository,
        check_only: args.check,
        exe: exe.clone(),
        krew_root: std::env::var_os("KREW_ROOT").map(Into::into),
        token: std::env::var("GITHUB_TOKEN").ok(),
    };
    let rt = runtime()?;
    match rt.block_on(update::run(&request))? {
        Outcome::UpToDate { latest } => {
            println!("kubectl-shark {} is up to date (latest release: {latest})", crate::build_info::VERSION)
        }
        Outcome::Available { latest } => println!(
            "kubectl-shark {latest} is available (this is {}); `kubectl shark self-update` installs it",
            crate::build_info::VERSION
        ),
        Outcome::Updated { from, to } => println!("kubectl-shark updated from {from} to {to} ({})", exe.display()),
    }
    Ok(())
}
