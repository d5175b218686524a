//! `kubectl shark view FILE...`: dissect capture files, and serve them in the dashboard or write
//! the entries to stdout (`--output json|table|har`).

use crate::cli::{OutputFormat, ProtocolList, ViewArgs, ViewOutput};
use crate::dashboard::{Session, SessionSpec};
use crate::error::CliError;
use crate::output::{is_broken_pipe, EntryOutput};
use crate::select::Selection;
use hub_lite::hub::Mode;
use node_agent::dissect::registry::has_http_semantics;
use node_agent::engine::EngineConfig;
use node_agent::link::PacketStore;
use node_agent::pipeline::{run_files, OfflineRun, OfflineSummary};
use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Entry ids of `view` are `e-<n>`, in the dashboard as in `--output json`.
const ID_PREFIX: &str = "e";

pub fn run(args: ViewArgs) -> Result<(), CliError> {
    let selection = Selection { filter: args.filter.clone(), redact: !args.no_redact };
    match args.output {
        None => serve(&args, &selection),
        Some(ViewOutput::Har) => write_har(&args, &selection),
        Some(ViewOutput::Json) => write_entries(&args, &selection, OutputFormat::Json),
        Some(ViewOutput::Table) => write_entries(&args, &selection, OutputFormat::Table),
    }
}

fn engine_config(args: &ViewArgs) -> EngineConfig {
    EngineConfig {
        source_id: ID_PREFIX.into(),
        protocols: ProtocolList::settings(args.protocols.as_ref()),
        ..EngineConfig::default()
    }
}

fn write_entries(args: &ViewArgs, selection: &Selection, format: OutputFormat) -> Result<(), CliError> {
    let mut output = EntryOutput::spawn(format, Box::new(std::io::stdout()), 512);
    let mut open = true;
    let run = run_files(&args.files, engine_config(args), &mut |entry| {
        if open {
            if let Some(entry) = selection.apply(entry) {
                open = output.push(entry);
            }
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

/// HAR 1.2 of the HTTP entries (of protocols with HTTP semantics) on stdout (what came before damage
/// in a corrupt file included).
fn write_har(args: &ViewArgs, selection: &Selection) -> Result<(), CliError> {
    let mut entries = Vec::new();
    // Entries the filter kept that HAR cannot hold (not HTTP exchanges), by protocol.
    let mut left_out: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    let run = run_files(&args.files, engine_config(args), &mut |entry| {
        if has_http_semantics(&entry.protocol) {
            if let Some(entry) = selection.apply(entry) {
                entries.push(Arc::new(entry));
            }
        } else if let Some(entry) = selection.apply(entry) {
            *left_out.entry(entry.protocol).or_default() += 1;
        }
    });
    if !left_out.is_empty() {
        let counts: Vec<String> = left_out.iter().map(|(p, n)| format!("{n} {p}")).collect();
        eprintln!(
            "kubectl-shark: HAR holds HTTP exchanges only; left out {} entries ({}): use --output json for them",
            left_out.values().sum::<u64>(),
            counts.join(", ")
        );
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = hub_lite::har::write(&entries, &mut out).and_then(|()| out.flush());
    if !args.quiet {
        print_summary(&run.summary, Some(entries.len() as u64));
    }
    if let Some(e) = run.error {
        return Err(e.into());
    }
    match written {
        Err(e) if !is_broken_pipe(&e) => Err(CliError::Output(e)),
        _ => Ok(()),
    }
}

/// Serves the files' entries in the dashboard until Ctrl-C. A damaged file still shows what came
/// before the damage; its error is reported at once and decides the exit code.
fn serve(args: &ViewArgs, selection: &Selection) -> Result<(), CliError> {
    let stop = Arc::new(AtomicBool::new(false));
    crate::signals::stop_on_termination(&stop);
    let spec = SessionSpec {
        mode: Mode::View,
        id_prefix: ID_PREFIX,
        packets: PacketStore::Files(args.files.clone()),
        redact: selection.redact,
    };
    let session = Session::start(spec, &args.dashboard)?;
    let agent = Arc::clone(session.agent());
    let mut pushed: u64 = 0;
    let OfflineRun { summary, error } = run_files(&args.files, engine_config(args), &mut |entry| {
        if let Some(entry) = selection.apply(entry) {
            pushed += 1;
            agent.push(entry);
        }
    });
    agent.set_counters(node_agent::link::CaptureCounters {
        packets: summary.source.packets,
        bytes: summary.source.bytes,
        drops: 0,
        out_of_scope: summary.out_of_scope,
        entries: summary.engine.entries,
    });
    if !args.quiet {
        print_summary(&summary, None);
    }
    if let Some(e) = &error {
        eprintln!("kubectl-shark: error: {e} (the dashboard shows what came before it)");
    }
    // What the dashboard holds: the entries the filter kept, the newest --max-entries of them.
    let kept = pushed.min(args.dashboard.max_entries as u64);
    if kept < pushed {
        eprintln!("kubectl-shark: serving the newest {kept} of {pushed} entries (--max-entries); Ctrl-C to stop");
    } else {
        eprintln!("kubectl-shark: serving {kept} entries; Ctrl-C to stop");
    }
    session.serve_until(&stop);
    match error {
        Some(e) => Err(e.into()),
        None => Ok(()),
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
