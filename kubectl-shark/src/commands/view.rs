//! `kubectl shark view FILE...`: dissect capture files.

use crate::cli::ViewArgs;
use crate::error::CliError;
use crate::output::{is_broken_pipe, EntryOutput};
use node_agent::engine::EngineConfig;
use node_agent::pipeline::{run_files, OfflineSummary};

pub fn run(args: ViewArgs) -> Result<(), CliError> {
    let mut output = EntryOutput::spawn(args.output, Box::new(std::io::stdout()), 512);
    let mut open = true;
    let run = run_files(&args.files, EngineConfig::default(), &mut |entry| {
        if open {
            open = output.push(entry);
        }
    });
    let written = output.finish();
    if !args.quiet {
        print_summary(&run.summary, written.as_ref().ok().copied());
    }
    if let Some(e) = run.error {
        return Err(e.into());
    }
    match written {
        Err(e) if !is_broken_pipe(&e) => Err(CliError::Output(e)),
        _ => Ok(()),
    }
}

fn print_summary(s: &OfflineSummary, written: Option<u64>) {
    let e = &s.engine;
    let mut counters = vec![
        ("packets", s.source.packets),
        ("bytes", s.source.bytes),
        ("entries", e.entries),
        ("tcp_flows", e.tcp_flows_total),
        ("udp_flows", e.udp_flows_total),
        ("unrecognised_tcp_flows", e.tcp_flows_unrecognised),
        ("malformed", e.malformed_packets),
        ("ignored", e.ignored_packets),
        ("duplicates", e.duplicate_packets),
        ("gaps", e.reassembly.gaps),
        ("gap_bytes", e.reassembly.gap_bytes),
    ];
    if let Some(w) = written {
        counters.push(("written", w));
    }
    eprintln!("{}", crate::output::counters_line(&counters));
}
