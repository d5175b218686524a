//! `kubectl shark local`: live capture on this machine.

use crate::cli::LocalArgs;
use crate::error::CliError;

#[cfg(not(target_os = "linux"))]
pub fn run(_args: LocalArgs) -> Result<(), CliError> {
    Err(CliError::Unsupported(
        "`kubectl shark local` captures with AF_PACKET and works on Linux only; use `view` with a capture file here"
            .into(),
    ))
}

#[cfg(target_os = "linux")]
pub fn run(args: LocalArgs) -> Result<(), CliError> {
    use crate::output::{is_broken_pipe, EntryOutput};
    use node_agent::engine::EngineConfig;
    use node_agent::pipeline::{run_live, LiveOptions};
    use node_agent::source::live::LiveConfig;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use std::time::Duration;

    let stop = Arc::new(AtomicBool::new(false));
    crate::signals::stop_on_termination(&stop);

    let storage = (args.storage_limit > 0).then(|| {
        let dir = args
            .storage_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join(format!("kubectl-shark-{}", current_uid())).join("local"));
        (dir, args.storage_limit)
    });
    let selection = crate::select::Selection { filter: args.filter.clone(), redact: !args.no_redact };
    let capture = LiveConfig { interfaces: args.interfaces.clone(), ..LiveConfig::default() };
    let options = LiveOptions {
        capture,
        engine: EngineConfig {
            source_id: "local".into(),
            protocols: crate::cli::ProtocolList::settings(args.protocols.as_ref()),
            ..EngineConfig::default()
        },
        storage: storage.clone(),
        duration: args.duration,
        progress_interval: Duration::from_millis(200),
        scope: None,
    };
    if !args.quiet {
        let scope = if args.interfaces.is_empty() { "all interfaces".to_string() } else { args.interfaces.join(", ") };
        let stored = match &storage {
            Some((dir, limit)) => format!("; packets kept in {} (up to {limit} bytes)", dir.display()),
            None => String::new(),
        };
        eprintln!("kubectl-shark: capturing on {scope}{stored}; Ctrl-C to stop");
    }
    let Some(format) = args.output else {
        return serve(&args, options, selection, &stop);
    };
    let mut sink = OutputSink {
        output: EntryOutput::spawn(format, Box::new(std::io::stdout()), 64),
        open: true,
        stop: Arc::clone(&stop),
        selection,
    };
    let result = run_live(options, &stop, &mut sink);
    let written = sink.output.finish();
    let summary = result?;
    if !args.quiet {
        let (c, e) = (&summary.capture, &summary.engine);
        let mut counters = vec![
            ("packets", c.packets),
            ("bytes", c.bytes),
            ("drops", c.kernel_drops),
            ("entries", e.entries),
            ("duplicates", e.duplicate_packets),
            ("tcp_flows", e.tcp_flows_total),
            ("udp_flows", e.udp_flows_total),
            ("gaps", e.reassembly.gaps),
            ("gap_bytes", e.reassembly.gap_bytes),
        ];
        if let Some(s) = &summary.storage {
            counters.extend([("stored_packets", s.packets_written), ("stored_bytes", s.bytes_on_disk)]);
        }
        eprintln!("{}", crate::output::counters_line(&counters));
    }
    match written {
        Err(e) if !is_broken_pipe(&e) => Err(CliError::Output(e)),
        _ => Ok(()),
    }
}

/// Captures into the dashboard until Ctrl-C, SIGTERM or SIGHUP.
#[cfg(target_os = "linux")]
fn serve(
    args: &LocalArgs,
    options: node_agent::pipeline::LiveOptions,
    selection: crate::select::Selection,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<(), CliError> {
    use crate::dashboard::{Session, SessionSpec};
    use node_agent::link::PacketStore;

    let spec = SessionSpec {
        mode: hub_lite::hub::Mode::Local,
        id_prefix: "local",
        packets: PacketStore::from(options.storage.as_ref().map(|(dir, _)| dir.clone())),
        redact: selection.redact,
    };
    let session = Session::start(spec, &args.dashboard)?;
    // The hub's capture scope reaches the capture (everything unless the hub narrows it).
    let scope: std::sync::Arc<dyn node_agent::scope::PacketScope> = session.agent().scope.clone();
    let options = node_agent::pipeline::LiveOptions { scope: Some(scope), ..options };
    let mut sink =
        DashboardSink { link: node_agent::link::LinkSink(std::sync::Arc::clone(session.agent())), selection };
    let result = node_agent::pipeline::run_live(options, stop, &mut sink);
    // The last entries the engine flushed reach the hub before it stops.
    std::thread::sleep(std::time::Duration::from_millis(300));
    session.shutdown();
    let summary = result?;
    if !args.quiet {
        let (c, e) = (&summary.capture, &summary.engine);
        let counters = [
            ("packets", c.packets),
            ("bytes", c.bytes),
            ("drops", c.kernel_drops),
            ("entries", e.entries),
            ("gaps", e.reassembly.gaps),
        ];
        eprintln!("{}", crate::output::counters_line(&counters));
    }
    Ok(())
}

/// Entries, selected, into the in-process agent.
#[cfg(target_os = "linux")]
struct DashboardSink {
    link: node_agent::link::LinkSink,
    selection: crate::select::Selection,
}

#[cfg(target_os = "linux")]
impl node_agent::pipeline::LiveSink for DashboardSink {
    fn entry(&mut self, entry: node_agent::Entry) {
        if let Some(entry) = self.selection.apply(entry) {
            node_agent::pipeline::LiveSink::entry(&mut self.link, entry);
        }
    }
    fn progress(&mut self, summary: &node_agent::pipeline::LiveSummary) {
        node_agent::pipeline::LiveSink::progress(&mut self.link, summary);
    }
}

/// Entries go to the output thread; when the output is gone (closed pipe), capture stops.
#[cfg(target_os = "linux")]
struct OutputSink {
    output: crate::output::EntryOutput,
    open: bool,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    selection: crate::select::Selection,
}

#[cfg(target_os = "linux")]
impl node_agent::pipeline::LiveSink for OutputSink {
    fn entry(&mut self, entry: node_agent::Entry) {
        let Some(entry) = self.selection.apply(entry) else { return };
        if self.open && !self.output.push(entry) {
            self.closed();
        }
    }
    fn progress(&mut self, _: &node_agent::pipeline::LiveSummary) {
        if self.open && !self.output.flush() {
            self.closed();
        }
    }
}

#[cfg(target_os = "linux")]
impl OutputSink {
    fn closed(&mut self) {
        self.open = false;
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The real user id, to keep users' rings apart in a shared temp directory.
#[cfg(target_os = "linux")]
fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}
