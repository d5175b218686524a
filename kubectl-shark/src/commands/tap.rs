//! `kubectl shark tap`: preflight, create a session, wait for it, attach (or detach), and on a
//! signal delete everything it created and wait until it is gone.

use super::attach::{attach, runtime, say};
use crate::cli::{session_plan, TapArgs};
use crate::error::CliError;
use crate::k8s::client::connect;
use crate::k8s::error::K8sError;
use crate::k8s::manifest::{self, Plan, Tokens};
use crate::k8s::names::{self, SessionId};
use crate::k8s::scope::{Namespaces, Scope};
use crate::k8s::signals::Signals;
use crate::k8s::teardown::{self, Waited, Which};
use crate::k8s::{apply, lease, preflight, wait};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, ListParams, PostParams};
use std::time::Duration;

/// Orphan timeout when attached and none is given.
const DEFAULT_ORPHAN_TIMEOUT: Duration = Duration::from_secs(120);

pub fn run(args: TapArgs) -> Result<(), CliError> {
    let rt = runtime()?;
    rt.block_on(tap(args)).map_err(CliError::from)
}

async fn tap(args: TapArgs) -> Result<(), K8sError> {
    let mut signals = Signals::new()?;
    let conn = connect(&args.cluster.target()).await?;
    let client = &conn.client;
    let scope = Scope::new(
        args.pod_regex.as_deref(),
        &args.namespaces,
        args.all_namespaces,
        &args.exclude_namespaces,
        &conn.default_namespace,
    )?;
    let id = SessionId::generate().map_err(|e| K8sError::Session(format!("no randomness for a session id: {e}")))?;
    preflight::check(client, &id, &scope).await?;
    let holder = lease::holder_identity();
    let orphan_timeout = match (args.orphan_timeout, args.detach) {
        (Some(t), _) => t,
        (None, true) => Duration::ZERO,
        (None, false) => DEFAULT_ORPHAN_TIMEOUT,
    };
    let plan = Plan {
        orphan_timeout_secs: orphan_timeout.as_secs(),
        created_by: user_name(client).await.unwrap_or_else(|| holder.clone()),
        holder: holder.clone(),
        agent_port: free_agent_port(client).await?,
        extra_hub_args: args.hub_args.clone(),
        ..session_plan(id.clone(), scope.clone(), &args.image, &args.capture, &args.agents)
    };
    let pods = pods_in_scope(client, &scope).await?;
    if args.dry_run {
        print_dry_run(&plan, &pods);
        return Ok(());
    }
    say(format!("session {id}: {} ({} pod(s) now; pods created later are captured too)", scope.describe(), pods.len()));
    let tokens = Tokens {
        dashboard: hub_lite::token::generate().map_err(|e| K8sError::Session(e.to_string()))?,
        agent: hub_lite::token::generate().map_err(|e| K8sError::Session(e.to_string()))?,
    };
    let mut objects = manifest::render(&plan, &tokens);
    objects.pull_secrets =
        crate::k8s::pull_secrets::copies(client, &args.image.image_pull_secrets, &conn.default_namespace, &id).await?;
    let progress = MultiProgress::new();
    let started = std::time::Instant::now();
    let ready = async {
        let count = objects.describe().len() as u64;
        let style = ProgressStyle::with_template("{spinner} objects created {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        let bar = progress.add(ProgressBar::new(count).with_style(style));
        apply::create_all(client, &mut objects, |what| {
            bar.inc(1);
            bar.set_message(what.to_string());
        })
        .await?;
        bar.finish_with_message(String::new());
        wait::until_ready(client, &id, args.timeout, &progress, &mut signals).await
    };
    if let Err(e) = ready.await {
        say(format!("session {id} did not start; removing it"));
        // A fresh listener: the signal that interrupted may come again to stop waiting.
        let mut signals = Signals::new()?;
        if let Err(cleanup) = teardown::delete_and_wait(client, &Which::One(id.clone()), &mut signals).await {
            say(format!("cleaning up: {cleanup} (run `kubectl shark clean --session {id}`)"));
        }
        return match e {
            K8sError::Interrupted => Ok(()),
            e => Err(e),
        };
    }
    say(format!("session {id} ready in {:.1}s", started.elapsed().as_secs_f64()));
    if args.detach {
        let timeout = if orphan_timeout.is_zero() {
            "it stays until `kubectl shark clean`".to_string()
        } else {
            format!("the hub removes it {}s after the last attached CLI leaves", orphan_timeout.as_secs())
        };
        say(format!("detached: session {id} keeps running ({timeout})"));
        say(format!("attach with: kubectl shark proxy --session {id}"));
        say(format!("remove with: kubectl shark clean --session {id}"));
        return Ok(());
    }
    let attached = attach(client, &id, &holder, &args.attach, &mut signals).await;
    if let Err(e) = &attached {
        say(format!("{e}"));
    }
    say(format!("ending session {id}"));
    match teardown::delete_and_wait(client, &Which::One(id.clone()), &mut signals).await? {
        Waited::Gone => say(format!("session {id} removed")),
        Waited::Stopped => say(format!("stopped waiting; the API server finishes removing session {id}")),
    }
    attached
}

/// An agent port no other session in the cluster uses (they share the nodes' network).
async fn free_agent_port(client: &kube::Client) -> Result<u16, K8sError> {
    let namespaces = Api::<Namespace>::all(client.clone())
        .list_metadata(&ListParams::default().labels(&names::all_sessions_selector()))
        .await
        .map_err(K8sError::api("listing the other sessions (for a free agent port)"))?;
    let used: Vec<u16> = namespaces
        .items
        .iter()
        .filter_map(|n| n.metadata.annotations.as_ref()?.get(names::ANN_AGENT_PORT)?.parse().ok())
        .collect();
    names::pick_agent_port(&used)
        .map_err(|e| K8sError::Session(format!("no randomness for the agent port: {e}")))?
        .ok_or_else(|| {
            K8sError::Session(format!("every agent port ({:?}) is taken by other sessions", names::AGENT_PORTS))
        })
}

/// The Kubernetes user name (SelfSubjectReview), None when the cluster does not say.
async fn user_name(client: &kube::Client) -> Option<String> {
    let api: Api<SelfSubjectReview> = Api::all(client.clone());
    let review = api.create(&PostParams::default(), &SelfSubjectReview::default()).await.ok()?;
    review.status?.user_info?.username
}

/// (namespace, name, node) of the pods in scope now.
async fn pods_in_scope(client: &kube::Client, scope: &Scope) -> Result<Vec<(String, String, String)>, K8sError> {
    let lists = match &scope.namespaces {
        Namespaces::All { .. } => vec![Api::<Pod>::all(client.clone())],
        Namespaces::Only(list) => list.iter().map(|ns| Api::<Pod>::namespaced(client.clone(), ns)).collect(),
    };
    let mut out = Vec::new();
    for api in lists {
        let pods = api.list(&ListParams::default()).await.map_err(K8sError::api("listing pods in scope"))?;
        for p in pods.items {
            let ns = p.metadata.namespace.clone().unwrap_or_default();
            let name = p.metadata.name.clone().unwrap_or_default();
            if scope.matches(&ns, &name) {
                let node = p.spec.and_then(|s| s.node_name).unwrap_or_else(|| "(unscheduled)".into());
                out.push((ns, name, node));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn print_dry_run(plan: &Plan, pods: &[(String, String, String)]) {
    println!("scope: {}", plan.scope.describe());
    println!("{} pod(s) in scope now:", pods.len());
    let w_ns = pods.iter().map(|p| p.0.len()).max().unwrap_or(0).max("NAMESPACE".len());
    let w_name = pods.iter().map(|p| p.1.len()).max().unwrap_or(0).max("NAME".len());
    println!("  {:<w_ns$}  {:<w_name$}  NODE", "NAMESPACE", "NAME");
    for (ns, name, node) in pods {
        println!("  {ns:<w_ns$}  {name:<w_name$}  {node}");
    }
    let tokens = Tokens { dashboard: String::new(), agent: String::new() };
    println!("would create (dry run, nothing created):");
    for object in manifest::render(plan, &tokens).describe() {
        println!("  {object}");
    }
    println!("image: {} (pull policy {})", plan.image, plan.pull_policy);
}
