//! Waiting for a session to become ready, with progress lines (agents per node, hub), failing
//! fast with the pod's events and logs when a pod cannot start (see `diagnose`).

use super::diagnose;
use super::error::K8sError;
use super::names::{self, SessionId};
use super::signals::Signals;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, LogParams};
use std::time::Duration;

/// Poll period while waiting.
const POLL: Duration = Duration::from_millis(500);

/// What the session looks like now.
#[derive(Debug, Default)]
struct Snapshot {
    /// (node, state) of every agent pod, by node.
    agents: Vec<(String, String)>,
    agents_wanted: i32,
    agents_ready: i32,
    hub: String,
    hub_ready: bool,
}

/// Waits until the DaemonSet's pods are ready on every node it wants and the hub is ready.
pub async fn until_ready(
    client: &kube::Client,
    id: &SessionId,
    timeout: Duration,
    progress: &MultiProgress,
    signals: &mut Signals,
) -> Result<(), K8sError> {
    let style = ProgressStyle::with_template("{spinner} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner());
    let agents_bar = progress.add(ProgressBar::new_spinner().with_style(style.clone()));
    let hub_bar = progress.add(ProgressBar::new_spinner().with_style(style));
    agents_bar.enable_steady_tick(Duration::from_millis(120));
    hub_bar.enable_steady_tick(Duration::from_millis(120));
    let deadline = tokio::time::Instant::now() + timeout;
    let result = loop {
        let snap = match look(client, id).await {
            Ok(s) => s,
            Err(e) => break Err(e),
        };
        let per_node: Vec<String> = snap.agents.iter().map(|(n, s)| format!("{n}: {s}")).collect();
        agents_bar.set_message(format!(
            "agents ready {}/{}{}",
            snap.agents_ready,
            snap.agents_wanted,
            if per_node.is_empty() { String::new() } else { format!(" ({})", per_node.join(", ")) }
        ));
        hub_bar.set_message(format!("hub: {}", snap.hub));
        if snap.hub_ready && snap.agents_wanted > 0 && snap.agents_ready >= snap.agents_wanted {
            agents_bar.finish_with_message(format!(
                "agents ready {}/{} ({})",
                snap.agents_ready,
                snap.agents_wanted,
                per_node.join(", ")
            ));
            hub_bar.finish_with_message("hub: Ready");
            break Ok(());
        }
        if let Some(problem) = problem(client, id).await? {
            break Err(K8sError::PodFailed(problem));
        }
        if tokio::time::Instant::now() >= deadline {
            break Err(K8sError::Timeout {
                what: format!("session {id} ({}; hub {})", agents_bar.message(), snap.hub),
                secs: timeout.as_secs(),
            });
        }
        tokio::select! {
            _ = signals.next() => break Err(K8sError::Interrupted),
            _ = tokio::time::sleep(POLL) => {}
        }
    };
    if result.is_err() {
        agents_bar.abandon();
        hub_bar.abandon();
    }
    result
}

async fn look(client: &kube::Client, id: &SessionId) -> Result<Snapshot, K8sError> {
    let ns = id.namespace();
    let ds = Api::<DaemonSet>::namespaced(client.clone(), &ns)
        .get_opt(names::AGENT)
        .await
        .map_err(K8sError::api("reading the agents' DaemonSet"))?;
    let deploy = Api::<Deployment>::namespaced(client.clone(), &ns)
        .get_opt(names::HUB)
        .await
        .map_err(K8sError::api("reading the hub's Deployment"))?;
    let pods = Api::<Pod>::namespaced(client.clone(), &ns)
        .list(&ListParams::default().labels(&id.selector()))
        .await
        .map_err(K8sError::api("listing the session's pods"))?;
    let mut snap = Snapshot::default();
    if let Some(status) = ds.and_then(|d| d.status) {
        snap.agents_wanted = status.desired_number_scheduled;
        snap.agents_ready = status.number_ready;
    }
    let hub_ready = deploy.and_then(|d| d.status).and_then(|s| s.ready_replicas).unwrap_or(0) >= 1;
    let component = |p: &Pod| p.metadata.labels.as_ref().and_then(|l| l.get(names::COMPONENT)).cloned();
    snap.hub = "no pod yet".into();
    for p in &pods.items {
        match component(p).as_deref() {
            Some(names::COMPONENT_AGENT) => {
                let node = p.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_else(|| "unscheduled".into());
                snap.agents.push((node, diagnose::pod_state(p)));
            }
            Some(names::COMPONENT_HUB) if p.metadata.deletion_timestamp.is_none() => {
                snap.hub = diagnose::pod_state(p);
            }
            _ => {}
        }
    }
    snap.agents.sort();
    snap.hub_ready = hub_ready;
    if hub_ready {
        snap.hub = "Ready".into();
    }
    Ok(snap)
}

/// A problem that waiting will not solve, described with the pod's events and its last logs.
pub async fn problem(client: &kube::Client, id: &SessionId) -> Result<Option<String>, K8sError> {
    let ns = id.namespace();
    let events = Api::<Event>::namespaced(client.clone(), &ns)
        .list(&ListParams::default())
        .await
        .map_err(K8sError::api("listing the session's events"))?;
    if let Some(failure) = events.items.iter().find_map(diagnose::create_failure) {
        return Ok(Some(failure));
    }
    let pods = Api::<Pod>::namespaced(client.clone(), &ns);
    let listed = pods
        .list(&ListParams::default().labels(&id.selector()))
        .await
        .map_err(K8sError::api("listing the session's pods"))?;
    for p in &listed.items {
        let Some(failure) = diagnose::pod_failure(p) else { continue };
        let name = p.metadata.name.clone().unwrap_or_default();
        let mut text = failure;
        let related: Vec<String> = events
            .items
            .iter()
            .filter(|e| e.involved_object.name.as_deref() == Some(name.as_str()))
            .map(diagnose::event_line)
            .collect();
        if !related.is_empty() {
            text.push_str(&format!("\nevents of pod {name}:\n  {}", related.join("\n  ")));
        }
        // A crashing container says why in its log.
        let log_params = LogParams { previous: true, tail_lines: Some(20), ..LogParams::default() };
        if let Ok(log) = pods.logs(&name, &log_params).await {
            let log = log.trim();
            if !log.is_empty() {
                text.push_str(&format!(
                    "\nlast log lines of pod {name}:\n  {}",
                    log.lines().collect::<Vec<_>>().join("\n  ")
                ));
            }
        }
        return Ok(Some(text));
    }
    Ok(None)
}
