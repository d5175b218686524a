//! The node agent: captures on this node and streams entries as JSON lines on stdout.
//! (Inside the cluster the hub will connect to it instead; see the hub-lite issue.)

#[cfg(target_os = "linux")]
fn main() {
    use clap::Parser;
    use node_agent::engine::EngineConfig;
    use node_agent::pipeline::{run_live, LiveOptions};
    use node_agent::source::live::LiveConfig;
    use std::io::Write;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    #[derive(Parser)]
    #[command(name = "node-agent", version, about = "kubectl-shark node agent: live capture and dissection")]
    struct Args {
        /// Interfaces to capture on; all when none is given.
        #[arg(short = 'i', long = "interface")]
        interfaces: Vec<String>,
        /// Name used as the prefix of entry ids (the node name in a cluster).
        #[arg(long, env = "NODE_NAME", default_value = "agent")]
        source_id: String,
        /// Directory of the on-disk packet ring.
        #[arg(long, default_value = "/var/lib/kubectl-shark/packets")]
        storage_dir: std::path::PathBuf,
        /// Size limit of the packet ring in bytes (0: store nothing).
        #[arg(long, default_value_t = 200_000_000)]
        storage_limit: u64,
    }

    let args = Args::parse();
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let _ = signal_hook_register(sig, &stop);
    }
    let options = LiveOptions {
        capture: LiveConfig { interfaces: args.interfaces, ..LiveConfig::default() },
        engine: EngineConfig { source_id: args.source_id, ..EngineConfig::default() },
        storage: (args.storage_limit > 0).then_some((args.storage_dir, args.storage_limit)),
        duration: None,
        progress_interval: std::time::Duration::from_millis(500),
    };
    struct JsonLines<W: Write> {
        out: W,
        failed: bool,
    }
    impl<W: Write> node_agent::pipeline::LiveSink for JsonLines<W> {
        fn entry(&mut self, entry: node_agent::Entry) {
            if serde_json::to_writer(&mut self.out, &entry).is_err() || self.out.write_all(b"\n").is_err() {
                self.failed = true;
            }
        }
        fn progress(&mut self, _: &node_agent::pipeline::LiveSummary) {
            if self.out.flush().is_err() {
                self.failed = true;
            }
        }
    }
    let stdout = std::io::stdout();
    let mut sink = JsonLines { out: std::io::BufWriter::new(stdout.lock()), failed: false };
    let result = run_live(options, &stop, &mut sink);
    let failed_write = sink.failed || sink.out.flush().is_err();
    match result {
        Ok(summary) => {
            eprintln!("node-agent: {}", serde_json::to_string(&summary).unwrap_or_default());
        }
        Err(e) => {
            eprintln!("node-agent: error: {e}");
            std::process::exit(1);
        }
    }
    if failed_write {
        std::process::exit(1);
    }

    fn signal_hook_register(sig: i32, stop: &Arc<AtomicBool>) -> std::io::Result<()> {
        signal_hook::flag::register(sig, Arc::clone(stop)).map(|_| ())
    }
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("node-agent captures with AF_PACKET and runs on Linux only");
    std::process::exit(1);
}
