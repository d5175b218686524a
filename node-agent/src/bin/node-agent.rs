//! The node agent: captures on this node and streams entries as JSON lines on stdout, or, with
//! `--listen`, serves them to hubs over the agent-to-hub protocol (docs/agent-protocol.md).

#[cfg(target_os = "linux")]
fn main() {
    use clap::Parser;
    use node_agent::dissect::settings::ProtocolSettings;
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
        /// Serve hubs on this address (e.g. 127.0.0.1:8475) instead of writing JSON lines.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// A file whose content (trimmed) hubs must send as `Authorization: Bearer`.
        #[arg(long, env = "SHARK_LINK_TOKEN_FILE")]
        token_file: Option<std::path::PathBuf>,
        /// Entries kept for hubs that are slow or reconnecting.
        #[arg(long, default_value_t = 20_000)]
        buffer_entries: usize,
        /// With --listen, what is captured until a hub sends a capture scope: `all`, or `none` (in a
        /// cluster, where the hub always sends one: nothing outside the tap's scope is dissected, and
        /// no exchange is seen both before and after kube-proxy's DNAT, docs/tap.md).
        #[arg(long, value_enum, default_value_t = InitialScope::All)]
        initial_scope: InitialScope,
        /// Dissect only these protocols, comma-separated: `all` or names the engine knows (an unknown
        /// name is refused with the list of known ones).
        #[arg(long, value_name = "LIST", default_value = "all", value_parser = parse_protocols)]
        protocols: Enabled,
    }

    /// The entry protocol names `--protocols` enables; `None`: all.
    #[derive(Clone, Debug)]
    struct Enabled(Option<Vec<String>>);

    fn parse_protocols(list: &str) -> Result<Enabled, String> {
        node_agent::dissect::registry::parse_enabled(list).map(Enabled).map_err(|e| e.to_string())
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
    enum InitialScope {
        All,
        None,
    }

    let args = Args::parse();
    let protocols = ProtocolSettings { enabled: args.protocols.0.clone(), ..ProtocolSettings::default() };
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let _ = signal_hook_register(sig, &stop);
    }
    if let Some(listen) = args.listen {
        let token = match &args.token_file {
            Some(path) => match std::fs::read_to_string(path) {
                Ok(t) if !t.trim().is_empty() => Some(t.trim().to_string()),
                Ok(_) => fail(&format!("token file {} is empty", path.display())),
                Err(e) => fail(&format!("reading token file {}: {e}", path.display())),
            },
            None => None,
        };
        let identity = match node_agent::link::AgentIdentity::new_run(&args.source_id) {
            Ok(i) => i,
            Err(e) => fail(&format!("no randomness for the run tag: {e}")),
        };
        let storage = (args.storage_limit > 0).then_some((args.storage_dir, args.storage_limit));
        let limits = node_agent::link::LogLimits { max_entries: args.buffer_entries, ..Default::default() };
        let state = Arc::new(node_agent::link::AgentState::new(
            identity.clone(),
            limits,
            storage.as_ref().map(|s| s.0.clone()),
        ));
        if args.initial_scope == InitialScope::None {
            match node_agent::scope::Scope::only([]) {
                Ok(nothing) => state.scope.set(nothing),
                Err(e) => fail(&e.to_string()),
            }
        }
        let options = LiveOptions {
            capture: LiveConfig { interfaces: args.interfaces, ..LiveConfig::default() },
            engine: EngineConfig { source_id: identity.id_prefix.clone(), protocols, ..EngineConfig::default() },
            storage,
            duration: None,
            progress_interval: std::time::Duration::from_millis(500),
            // The hub's `capture` messages decide what is captured.
            scope: Some(Arc::clone(&state.scope) as Arc<dyn node_agent::scope::PacketScope>),
        };
        let config = node_agent::link::ServerConfig { token, ..Default::default() };
        match serve_link(listen, options, state, config, &stop) {
            Ok(summary) => eprintln!("node-agent: {}", serde_json::to_string(&summary).unwrap_or_default()),
            Err(e) => fail(&e),
        }
        return;
    }
    let options = LiveOptions {
        capture: LiveConfig { interfaces: args.interfaces, ..LiveConfig::default() },
        engine: EngineConfig { source_id: args.source_id, protocols, ..EngineConfig::default() },
        storage: (args.storage_limit > 0).then_some((args.storage_dir, args.storage_limit)),
        duration: None,
        progress_interval: std::time::Duration::from_millis(500),
        scope: None,
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

    fn fail(message: &str) -> ! {
        eprintln!("node-agent: error: {message}");
        std::process::exit(1);
    }

    /// Captures on this thread into the agent's buffer while a runtime serves hubs on `listen`.
    fn serve_link(
        listen: std::net::SocketAddr,
        options: LiveOptions,
        state: Arc<node_agent::link::AgentState>,
        config: node_agent::link::ServerConfig,
        stop: &AtomicBool,
    ) -> Result<node_agent::pipeline::LiveSummary, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("starting the async runtime: {e}"))?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(listen))
            .map_err(|e| format!("listening on {listen}: {e}"))?;
        let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
        let report: Arc<dyn Fn(String) + Send + Sync> = Arc::new(|m| eprintln!("node-agent: {m}"));
        runtime.spawn(node_agent::link::serve(listener, Arc::clone(&state), config, shutdown_rx, report));
        eprintln!("node-agent: serving hubs on ws://{listen}{}", node_agent::link::protocol::LINK_PATH);
        let result =
            run_live(options, stop, &mut node_agent::link::LinkSink(Arc::clone(&state))).map_err(|e| e.to_string());
        shutdown.send_replace(true);
        runtime.shutdown_timeout(std::time::Duration::from_secs(2));
        result
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
