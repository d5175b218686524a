//! `kubectl shark view FILE...`: dissect capture files.

use crate::cli::ViewArgs;
use crate::error::CliError;
use crate::output::{is_broken_pipe, EntryOutput};
use node_agent::engine::EngineConfig;
use node_agent::pipeline::{run_files, OfflineSummary};

pub fn run(args: ViewArgs) -> Result<(), CliError> {
    let mut output = EntryOutput::spawn(args.output, Box::new(std::io::stdout()), 512);
    let mut open = true;
    let result = run_files(&args.files, EngineConfig::default(), &mut |entry| {
        if open {
            open = output.push(entry);
        }
    });
    let written = output.finish();
    let (summary, error) = match result {
        Ok(s) => (s, None),
        Err((e, s)) => (s, Some(e)),
    };
    if !args.quiet {
        print_summary(&summary, written.as_ref().ok().copied());
    }
    if let Some(e) = error {
        return Err(e.into());
    }
    match written {
        Err(e) if !is_broken_pipe(&e) => Err(CliError::Output(e)),
        _ => Ok(()),
    }
}

fn print_summary(s: &OfflineSummary, written: Option<u64>) {
    let e = &s.engine;
    eprintln!(
        "kubectl-shark: {} packets ({} bytes), {} entries{}; {} TCP and {} UDP flows ({} TCP unrecognised); \
         {} malformed, {} ignored, {} duplicate packets; {} gaps ({} bytes lost to capture)",
        s.source.packets,
        s.source.bytes,
        e.entries,
        written.map(|w| if w == e.entries { String::new() } else { format!(" ({w} written)") }).unwrap_or_default(),
        e.tcp_flows_total,
        e.udp_flows_total,
        e.tcp_flows_unrecognised,
        e.malformed_packets,
        e.ignored_packets,
        e.duplicate_packets,
        e.reassembly.gaps,
        e.reassembly.gap_bytes,
    );
}
