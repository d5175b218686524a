//! `kubectl shark`: see what pods say to each other.

mod build_info;
mod cli;
mod commands;
mod completion;
mod dashboard;
mod error;
mod k8s;
mod output;
mod select;
mod signals;
mod units;
mod update;

use clap::Parser;
use cli::{Cli, Command};

/// The engine allocates each entry on its thread and the output thread frees it; glibc's malloc
/// serialises that on an arena lock (a fifth of the time of `view` in a profile), mimalloc does not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // `kubectl-shark __complete WORDS...` (from kubectl_complete-shark) is answered before clap
    // parses anything: the words are a partial command line, not one to run.
    let mut argv = std::env::args_os().skip(1);
    if argv.next().is_some_and(|a| a == completion::COMPLETE_ARG) {
        let words: Vec<String> = argv.map(|w| w.to_string_lossy().into_owned()).collect();
        print!("{}", completion::answer(&words));
        return;
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::View(args) => commands::view::run(args),
        Command::Local(args) => commands::local::run(args),
        Command::Tap(args) => commands::tap::run(*args),
        Command::Proxy(args) => commands::proxy::run(args),
        Command::List(args) => commands::list::run(args),
        Command::Clean(args) => commands::clean::run(args),
        Command::Version(args) => commands::version::run(args),
        Command::Completion(args) => commands::completion::run(args),
        Command::SelfUpdate(args) => commands::self_update::run(args),
        Command::Manifests(args) => commands::manifests::run(*args),
    };
    if let Err(e) = result {
        eprintln!("kubectl-shark: error: {e}");
        std::process::exit(e.exit_code());
    }
}
