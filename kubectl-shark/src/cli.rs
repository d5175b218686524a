//! Command-line interface definition.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::sync::LazyLock;

#[derive(Parser, Debug)]
#[command(
    name = "kubectl-shark",
    bin_name = "kubectl shark",
    version = crate::build_info::LONG_VERSION,
    about = "See what pods in a Kubernetes cluster say to each other",
    long_about = "See what pods say to each other: capture traffic, reassemble TCP, and dissect HTTP and DNS.\n\
                  Without a cluster: `view` dissects capture files and `local` captures on this machine."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Dissect capture files (pcap or pcapng).
    View(ViewArgs),
    /// Capture live on this machine (needs root or CAP_NET_RAW; Linux only).
    Local(LocalArgs),
    /// Capture what pods in a cluster say: deploys a session (hub + node agents) and opens the dashboard.
    Tap(Box<TapArgs>),
    /// Attach to a running session (e.g. one started with `tap --detach`): forward, dashboard, Lease renewal.
    Proxy(ProxyArgs),
    /// List the sessions in the cluster.
    List(ListArgs),
    /// Remove every session in the cluster (or one), and wait until it is gone.
    Clean(CleanArgs),
    /// Print this CLI's version and commit, the image it deploys, the cluster's version and each session's.
    Version(VersionArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell), or kubectl's plugin completion file.
    #[command(long_about = "Print a shell completion script for `kubectl-shark`, e.g.\n\
        \x20 source <(kubectl-shark completion bash)\n\
        or `kubectl-plugin`: the file kubectl_complete-shark that makes `kubectl shark <TAB>` work (kubectl 1.26 and\n\
        later); put it on PATH, executable:\n\
        \x20 kubectl-shark completion kubectl-plugin > ~/.local/bin/kubectl_complete-shark\n\
        \x20 chmod +x ~/.local/bin/kubectl_complete-shark")]
    Completion(CompletionArgs),
    /// Print what `tap` creates, as YAML for a persistent install (kubectl apply -f), review or GitOps.
    Manifests(Box<ManifestsArgs>),
    /// Replace this binary by the latest release (not for krew installs: `kubectl krew upgrade shark`).
    SelfUpdate(SelfUpdateArgs),
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// One JSON entry per line (the format is in docs/entry.md).
    Json,
    /// One readable line per entry.
    Table,
}

/// What `view` can write instead of serving the dashboard.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewOutput {
    /// One JSON entry per line (the format is in docs/entry.md).
    Json,
    /// One readable line per entry.
    Table,
    /// HAR 1.2 of the HTTP entries (Chrome DevTools imports it).
    Har,
}

/// Serving the dashboard (when no `--output` is given).
#[derive(clap::Args, Debug, Clone)]
pub struct DashboardArgs {
    /// Port of the dashboard on 127.0.0.1 (0: a free port).
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    pub port: u16,
    /// Print the dashboard's address but do not open a browser.
    #[arg(long)]
    pub no_browser: bool,
    /// Most entries the dashboard keeps for the session (the oldest fall out); at least 1.
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = parse_max_entries)]
    pub max_entries: usize,
}

#[derive(clap::Args, Debug)]
pub struct ViewArgs {
    /// Capture files; several are merged by packet time.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Write entries to stdout in this format instead of serving the dashboard.
    #[arg(short, long, value_enum)]
    pub output: Option<ViewOutput>,
    /// Only entries matching this filter (docs/filter.md), e.g. 'http and response.status >= 500'.
    #[arg(short, long, value_name = "EXPR", value_parser = parse_filter)]
    pub filter: Option<node_agent::filter::Filter>,
    /// Show the values of Authorization, Cookie, Set-Cookie, Proxy-Authorization and X-Api-Key headers.
    #[arg(long)]
    pub no_redact: bool,
    #[arg(long, value_name = "LIST", value_parser = parse_protocols, help = PROTOCOLS_HELP.as_str())]
    pub protocols: Option<ProtocolList>,
    #[command(flatten)]
    pub dashboard: DashboardArgs,
    /// Print no counters on stderr at the end.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(clap::Args, Debug)]
pub struct LocalArgs {
    /// Interface to capture on (repeat for several); all interfaces when none is given.
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interfaces: Vec<String>,
    /// Write entries to stdout in this format instead of serving the dashboard.
    #[arg(short, long, value_enum)]
    pub output: Option<OutputFormat>,
    /// Only entries matching this filter (docs/filter.md), e.g. 'dns and response.rcode == "NXDOMAIN"'.
    #[arg(short, long, value_name = "EXPR", value_parser = parse_filter)]
    pub filter: Option<node_agent::filter::Filter>,
    /// Show the values of Authorization, Cookie, Set-Cookie, Proxy-Authorization and X-Api-Key headers.
    #[arg(long)]
    pub no_redact: bool,
    #[arg(long, value_name = "LIST", value_parser = parse_protocols, help = PROTOCOLS_HELP.as_str())]
    pub protocols: Option<ProtocolList>,
    #[command(flatten)]
    pub dashboard: DashboardArgs,
    /// Stop after this long (e.g. 30s, 5m, 1h30m); otherwise on Ctrl-C or SIGTERM.
    #[arg(short, long, value_name = "DURATION", value_parser = crate::units::parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// Size limit of the on-disk packet ring (oldest packets out first), e.g. 200MB, 1GiB; 0 stores nothing.
    #[arg(long, value_name = "SIZE", default_value = "200MB", value_parser = crate::units::parse_size)]
    pub storage_limit: u64,
    /// Directory of the packet ring (default: a per-user directory under the system's temp dir).
    #[arg(long, value_name = "DIR")]
    pub storage_dir: Option<PathBuf>,
    /// Print no counters on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Which cluster, as kubectl takes it (KUBECONFIG is read too).
#[derive(clap::Args, Debug, Clone)]
pub struct ClusterArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: the current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

impl ClusterArgs {
    /// Where to connect, as these flags say.
    pub fn target(&self) -> crate::k8s::client::Target {
        crate::k8s::client::Target { kubeconfig: self.kubeconfig.clone(), context: self.context.clone() }
    }
}

/// The image pull policy of the session's pods.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PullPolicy {
    #[value(name = "IfNotPresent")]
    IfNotPresent,
    #[value(name = "Always")]
    Always,
    #[value(name = "Never")]
    Never,
}

impl PullPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Always => "Always",
            PullPolicy::Never => "Never",
        }
    }
}

/// The image of a session's pods and how it is pulled (`tap`, `manifests`).
#[derive(clap::Args, Debug, Clone)]
pub struct ImageArgs {
    /// Image holding node-agent and hub-lite (default: this CLI's version).
    #[arg(long, value_name = "IMAGE", default_value = crate::build_info::DEFAULT_IMAGE)]
    pub image: String,
    /// Pull the image from this registry instead (a mirror with the same repository path), e.g.
    /// registry.example.com:5000.
    #[arg(long, value_name = "HOST[:PORT][/PATH]", value_parser = crate::k8s::image::parse_registry)]
    pub registry: Option<String>,
    /// Secret of type kubernetes.io/dockerconfigjson to pull the image with (repeatable). `tap` copies
    /// it into the session from NS (default: the context's namespace); `manifests` refers to NAME in
    /// the session namespace, where you create it.
    #[arg(long = "image-pull-secret", value_name = "[NS/]NAME", value_parser = parse_pull_secret)]
    pub image_pull_secrets: Vec<PullSecretRef>,
    /// Image pull policy of the session's pods.
    #[arg(long, value_enum, default_value = "IfNotPresent")]
    pub pull_policy: PullPolicy,
}

/// `--image-pull-secret [NS/]NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullSecretRef {
    pub namespace: Option<String>,
    pub name: String,
}

impl ImageArgs {
    /// The image the pods run: `--image`, moved to `--registry` when given.
    pub fn image(&self) -> String {
        match &self.registry {
            Some(r) => crate::k8s::image::with_registry(&self.image, r),
            None => self.image.clone(),
        }
    }

    /// The names of the pull Secrets in the session namespace.
    pub fn pull_secret_names(&self) -> Vec<String> {
        self.image_pull_secrets.iter().map(|s| s.name.clone()).collect()
    }
}

fn parse_pull_secret(text: &str) -> Result<PullSecretRef, String> {
    // DNS-1123 subdomain for the name, label for the namespace.
    let name_ok = |n: &str, max: usize| {
        !n.is_empty()
            && n.len() <= max
            && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            && n.starts_with(|c: char| c.is_ascii_alphanumeric())
            && n.ends_with(|c: char| c.is_ascii_alphanumeric())
    };
    let (namespace, name) = match text.split_once('/') {
        Some((ns, name)) => (Some(ns), name),
        None => (None, text),
    };
    if !name_ok(name, 253) || namespace.is_some_and(|ns| !name_ok(ns, 63) || ns.contains('.')) {
        return Err(format!("{text:?} is not [NAMESPACE/]NAME of a Secret"));
    }
    Ok(PullSecretRef { namespace: namespace.map(String::from), name: name.to_string() })
}

/// What `tap` and `proxy` write instead of opening the dashboard.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TapOutput {
    /// One JSON entry per line (docs/entry.md), with pod, namespace, service and node names.
    Json,
}

/// How an attached CLI shows the session.
#[derive(clap::Args, Debug, Clone)]
pub struct AttachArgs {
    /// Local port of the dashboard on 127.0.0.1 (0: a free port); it stays the same all session.
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    pub port: u16,
    /// Print the dashboard's address but do not open a browser.
    #[arg(long)]
    pub no_browser: bool,
    /// Write entries to stdout instead of opening the dashboard.
    #[arg(short, long, value_enum)]
    pub output: Option<TapOutput>,
    /// With --output json: only entries matching this filter (docs/filter.md).
    #[arg(short, long, value_name = "EXPR", value_parser = check_filter)]
    pub filter: Option<String>,
}

/// What a session keeps and how it shows headers (`tap`, `manifests`). A struct of its own, apart
/// from [`AgentResourcesArgs`], because `tap` lists other flags between the two groups in its help.
#[derive(clap::Args, Debug, Clone)]
pub struct CaptureArgs {
    /// Size of each agent's on-disk packet ring (e.g. 200MB, 1GiB); 0 stores no packets.
    #[arg(long, value_name = "SIZE", default_value = "200MB", value_parser = crate::units::parse_size)]
    pub storage_limit: u64,
    /// Most entries the hub keeps (the oldest fall out); at least 1.
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = parse_max_entries)]
    pub max_entries: usize,
    /// Show the values of Authorization, Cookie, Set-Cookie, Proxy-Authorization and X-Api-Key headers.
    #[arg(long)]
    pub no_redact: bool,
    // The agents dissect only these: passed to them when it leaves some protocol out.
    #[arg(long, value_name = "LIST", value_parser = parse_protocols, help = PROTOCOLS_HELP.as_str())]
    pub protocols: Option<ProtocolList>,
}

/// The requests and limits of each agent (`tap`, `manifests`).
#[derive(clap::Args, Debug, Clone)]
pub struct AgentResourcesArgs {
    /// CPU request of each agent.
    #[arg(long, value_name = "QUANTITY", default_value = "100m")]
    pub cpu_request: String,
    /// CPU limit of each agent.
    #[arg(long, value_name = "QUANTITY", default_value = "1")]
    pub cpu_limit: String,
    /// Memory request of each agent.
    #[arg(long, value_name = "QUANTITY", default_value = "128Mi")]
    pub memory_request: String,
    /// Memory limit of each agent.
    #[arg(long, value_name = "QUANTITY", default_value = "256Mi")]
    pub memory_limit: String,
}

/// A session's plan from the flags `tap` and `manifests` share: image, capture and agent resources.
/// What only the caller knows is left empty, to set with `Plan { .., ..session_plan(..) }`:
/// `created_by` and `agent_port` (always), `orphan_timeout_secs` (0: never), `holder` (none) and
/// `extra_hub_args` (none).
pub fn session_plan(
    id: crate::k8s::names::SessionId,
    scope: crate::k8s::scope::Scope,
    image: &ImageArgs,
    capture: &CaptureArgs,
    agents: &AgentResourcesArgs,
) -> crate::k8s::manifest::Plan {
    crate::k8s::manifest::Plan {
        id,
        scope,
        image: image.image(),
        pull_policy: image.pull_policy.as_str().into(),
        storage_limit: capture.storage_limit,
        max_entries: capture.max_entries,
        orphan_timeout_secs: 0,
        agent_resources: crate::k8s::manifest::Resources {
            cpu_request: agents.cpu_request.clone(),
            cpu_limit: agents.cpu_limit.clone(),
            memory_request: agents.memory_request.clone(),
            memory_limit: agents.memory_limit.clone(),
        },
        no_redact: capture.no_redact,
        protocols: capture.protocols.as_ref().and_then(ProtocolList::narrowing),
        created_by: String::new(),
        holder: String::new(),
        agent_port: 0,
        extra_hub_args: Vec::new(),
        image_pull_secrets: image.pull_secret_names(),
    }
}

#[derive(clap::Args, Debug)]
pub struct TapArgs {
    /// Regular expression the names of the captured pods must contain a match of (default: every pod).
    #[arg(value_name = "POD_REGEX")]
    pub pod_regex: Option<String>,
    /// Namespace to capture in (repeat for several; default: the context's namespace).
    #[arg(short = 'n', long = "namespace", value_name = "NS")]
    pub namespaces: Vec<String>,
    /// Capture in all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// With -A: leave this namespace out (repeatable).
    #[arg(long = "exclude-namespace", value_name = "NS")]
    pub exclude_namespaces: Vec<String>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub attach: AttachArgs,
    #[command(flatten)]
    pub image: ImageArgs,
    #[command(flatten)]
    pub capture: CaptureArgs,
    /// List the pods in scope and the objects that would be created; create nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Leave the session running and return (attach with `kubectl shark proxy`).
    #[arg(long)]
    pub detach: bool,
    /// The hub deletes the session when no CLI renewed its Lease for this long (default 2m; with
    /// --detach: never, unless given).
    #[arg(long, value_name = "DURATION", value_parser = crate::units::parse_duration)]
    pub orphan_timeout: Option<std::time::Duration>,
    /// How long to wait for the agents and the hub to become ready.
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = crate::units::parse_duration)]
    pub timeout: std::time::Duration,
    #[command(flatten)]
    pub agents: AgentResourcesArgs,
    /// Extra argument for hub-lite, appended after the agreed ones (repeatable; for development
    /// and tests, e.g. `--hub-arg=--agent --hub-arg=n1=ws://10.0.0.1:{agent-port}/link/v1`;
    /// `{agent-port}` stands for the session's agent port).
    #[arg(long = "hub-arg", value_name = "ARG", hide = true, allow_hyphen_values = true)]
    pub hub_args: Vec<String>,
}

#[derive(clap::Args, Debug)]
pub struct ProxyArgs {
    /// The session (as `kubectl shark list` shows it); not needed when there is only one.
    #[arg(long, value_name = "ID", value_parser = parse_session)]
    pub session: Option<crate::k8s::names::SessionId>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub attach: AttachArgs,
}

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(clap::Args, Debug)]
pub struct CleanArgs {
    /// Only this session (default: every session in the cluster).
    #[arg(long, value_name = "ID", value_parser = parse_session)]
    pub session: Option<crate::k8s::names::SessionId>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// What `completion` prints.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    #[value(name = "powershell")]
    PowerShell,
    /// `kubectl_complete-shark`, for `kubectl shark <TAB>` through kubectl's completion.
    KubectlPlugin,
}

#[derive(clap::Args, Debug)]
pub struct CompletionArgs {
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: CompletionShell,
}

#[derive(clap::Args, Debug)]
pub struct ManifestsArgs {
    /// Regular expression the names of the captured pods must contain a match of (default: every pod).
    #[arg(value_name = "POD_REGEX")]
    pub pod_regex: Option<String>,
    /// Namespace to capture in (repeat for several; default: all namespaces).
    #[arg(short = 'n', long = "namespace", value_name = "NS")]
    pub namespaces: Vec<String>,
    /// Capture in all namespaces (the default without -n).
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Leave this namespace out (repeatable).
    #[arg(long = "exclude-namespace", value_name = "NS")]
    pub exclude_namespaces: Vec<String>,
    /// Session id (6 characters a-z, 0-9): namespace shark-ID.
    #[arg(long, value_name = "ID", default_value = crate::k8s::static_install::DEFAULT_SESSION, value_parser = parse_session)]
    pub session: crate::k8s::names::SessionId,
    /// The agents' port on every node (hostNetwork); must differ from other sessions' (tap picks
    /// theirs among 9781-9980 avoiding the ones in use).
    #[arg(long, value_name = "PORT", default_value_t = 9980)]
    pub agent_port: u16,
    #[command(flatten)]
    pub image: ImageArgs,
    #[command(flatten)]
    pub capture: CaptureArgs,
    #[command(flatten)]
    pub agents: AgentResourcesArgs,
}

#[derive(clap::Args, Debug)]
pub struct SelfUpdateArgs {
    /// GitHub's API (GitHub Enterprise: https://HOST/api/v3; or a mirror serving the same JSON).
    #[arg(long, value_name = "URL", default_value = "https://api.github.com")]
    pub base_url: String,
    /// The repository whose releases to use.
    #[arg(long, value_name = "OWNER/NAME", default_value = "kubectl-shark/kubectl-shark")]
    pub repository: String,
    /// Only say whether a newer release exists.
    #[arg(long)]
    pub check: bool,
}

/// How `version` prints.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionOutput {
    /// One JSON object (client, cluster or cluster_error, warnings).
    Json,
}

#[derive(clap::Args, Debug)]
pub struct VersionArgs {
    /// Only this CLI's part; do not contact the cluster.
    #[arg(long)]
    pub client: bool,
    /// Print JSON instead of text (warnings are then in it, not on stderr).
    #[arg(short, long, value_enum)]
    pub output: Option<VersionOutput>,
    /// How long to wait for the cluster before saying it is not reachable.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = crate::units::parse_duration)]
    pub request_timeout: std::time::Duration,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

fn parse_session(text: &str) -> Result<crate::k8s::names::SessionId, String> {
    crate::k8s::names::SessionId::parse(text)
}

/// Checks a filter for clap and keeps its text (it is sent to the hub).
fn check_filter(text: &str) -> Result<String, String> {
    node_agent::filter::Filter::parse(text).map(|_| text.to_string()).map_err(|e| e.to_string())
}

/// Parses `--max-entries`: a count of at least one (a store of none would show nothing).
fn parse_max_entries(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1 (the dashboard keeps the newest N entries)".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("not a count of entries: {e}")),
    }
}

/// Parses a filter for clap, with the column of the error in the message.
fn parse_filter(text: &str) -> Result<node_agent::filter::Filter, String> {
    node_agent::filter::Filter::parse(text).map_err(|e| e.to_string())
}

/// The help of `--protocols`, naming the protocols the engine's registry knows.
static PROTOCOLS_HELP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "Dissect only these protocols, comma-separated: `all` (the default) or some of {}",
        node_agent::dissect::registry::names().join(", ")
    )
});

/// A `--protocols` list, checked against the engine's registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolList {
    /// The entry protocol names to dissect, lowercase, without repeats; `None`: all of them.
    enabled: Option<Vec<String>>,
}

impl ProtocolList {
    /// The protocol settings of the engine with this list and default limits.
    pub fn settings(list: Option<&ProtocolList>) -> node_agent::dissect::settings::ProtocolSettings {
        node_agent::dissect::settings::ProtocolSettings {
            enabled: list.and_then(|l| l.enabled.clone()),
            ..Default::default()
        }
    }

    /// The list to pass on to an agent's `--protocols`, when it leaves a protocol out (`all` is the
    /// agents' default, so passing nothing keeps the default rendering of a session unchanged).
    pub fn narrowing(&self) -> Option<String> {
        self.enabled.as_ref().map(|names| names.join(","))
    }
}

/// Parses `--protocols` for clap: an unknown name is a usage error that lists the known ones.
fn parse_protocols(text: &str) -> Result<ProtocolList, String> {
    node_agent::dissect::registry::parse_enabled(text)
        .map(|enabled| ProtocolList { enabled })
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use node_agent::dissect::registry;

    fn parse(args: &[&str]) -> Result<Command, clap::Error> {
        Cli::try_parse_from(std::iter::once("kubectl-shark").chain(args.iter().copied())).map(|cli| cli.command)
    }

    #[test]
    fn protocols_parse_against_the_registry() {
        let names = registry::names();
        let first = names.first().copied().unwrap_or_default();
        // Case and repeats do not matter; `all` means no restriction.
        let list = parse_protocols(&format!(" {}, {first}", first.to_uppercase())).expect("a known name");
        assert_eq!(list.narrowing(), Some(first.to_string()));
        assert_eq!(ProtocolList::settings(Some(&list)).enabled, Some(vec![first.to_string()]));
        let every = names.join(",");
        assert_eq!(parse_protocols(&every).expect("all names").narrowing(), Some(every));
        let all = parse_protocols("all").expect("all");
        assert_eq!(all.narrowing(), None);
        assert_eq!(ProtocolList::settings(Some(&all)), ProtocolList::settings(None));
        assert_eq!(ProtocolList::settings(None).enabled, None);
    }

    #[test]
    fn unknown_or_empty_protocol_lists_are_usage_errors_naming_the_known_ones() {
        let known = registry::names().join(", ");
        for bad in ["smtp", "http,smtp", "", " , "] {
            let err = parse_protocols(bad).expect_err(bad);
            assert!(err.contains(&format!("(known: {known})")), "{bad:?}: {err}");
        }
        let err = parse(&["view", "x.pcap", "--protocols", "http,gopher"]).expect_err("unknown name");
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
        assert_eq!(err.exit_code(), crate::error::exit::USAGE);
        assert!(err.to_string().contains("\"gopher\""), "{err}");
    }

    #[test]
    fn view_local_tap_and_manifests_take_protocols() {
        let name = registry::names().first().copied().unwrap_or_default();
        let Command::View(v) = parse(&["view", "x.pcap", "--protocols", name]).expect("view") else { panic!() };
        assert_eq!(v.protocols.and_then(|p| p.narrowing()), Some(name.to_string()));
        let Command::Local(l) = parse(&["local", "--protocols", "all"]).expect("local") else { panic!() };
        assert_eq!(l.protocols.map(|p| p.narrowing()), Some(None));
        let Command::Tap(t) = parse(&["tap", "--protocols", name]).expect("tap") else { panic!() };
        assert_eq!(t.capture.protocols.and_then(|p| p.narrowing()), Some(name.to_string()));
        let Command::Manifests(m) = parse(&["manifests"]).expect("manifests") else { panic!() };
        assert_eq!(m.capture.protocols, None, "not given: agents keep their default");
    }
}
