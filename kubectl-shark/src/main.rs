//! `kubectl shark`: see what pods say to each other.

mod cli;
mod commands;
mod error;
mod output;
mod signals;
mod units;

use clap::Parser;
use cli::{Cli, Command};

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::View(args) => commands::view::run(args),
        Command::Local(args) => commands::local::run(args),
    };
    if let Err(e) = result {
        eprintln!("kubectl-shark: error: {e}");
        std::process::exit(e.exit_code());
    }
}
