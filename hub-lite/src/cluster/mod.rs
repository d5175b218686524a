//! The hub in a cluster (`hub-lite --kubernetes`, the session side of `kubectl shark tap`,
//! docs/tap.md), with the pod's ServiceAccount:
//!
//! - `agents_watch`: connects to the session's node agents as their pods come and go.
//! - `names_watch`: pods, services, EndpointSlices and nodes of the cluster → the names of
//!   endpoints, pushed to the agents and applied by the hub on receipt.
//! - `scope`: the tap's scope → the capture scope of the agents (pod addresses in scope, minus the
//!   ClusterIPs whose traffic is also seen after DNAT).
//! - `lease_watchdog`: deletes the session when the CLI stops renewing its Lease.
//! - `cache`: a watched, bounded copy of one kind of object; `objects`: the small forms kept.
//! - `control`: what all of these change in the hub.

pub mod agents_watch;
pub mod cache;
pub mod control;
pub mod lease_watchdog;
pub mod names_watch;
pub mod objects;
pub mod scope;

use agents_watch::AbortOnDrop;
use control::Control;
use names_watch::{NameKey, Names, World};
use scope::{Capture, TapScope};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub use lease_watchdog::Orphaned;

/// Changes are gathered this long before the names and the scope are recomputed.
pub const SETTLE: Duration = Duration::from_millis(200);

/// The session the hub runs in.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// The session namespace (`shark-<id>`).
    pub namespace: String,
    pub scope: TapScope,
    /// Zero: never orphaned.
    pub orphan_timeout: Duration,
    /// The agents' link port (9781).
    pub agent_port: u16,
}

/// Runs the in-cluster side until the session is orphaned (its namespace then is being deleted);
/// with a zero orphan timeout, until dropped.
pub async fn run(client: kube::Client, config: ClusterConfig, control: Control) -> Orphaned {
    let control = Arc::new(control);
    // Nothing is captured until the pods in scope are known.
    if let Err(e) = control.set_capture(&Capture::default()) {
        eprintln!("hub-lite: {e}");
    }
    eprintln!("hub-lite: session {}: capturing {}", config.namespace, config.scope.describe());
    let world = Arc::new(World::new());
    let _watches: Vec<AbortOnDrop> = world.watch(&client).into_iter().map(AbortOnDrop).collect();
    let _sync = AbortOnDrop(tokio::spawn(sync(Arc::clone(&world), config.scope.clone(), Arc::clone(&control))));
    let _agents = AbortOnDrop(tokio::spawn(agents_watch::run(
        client.clone(),
        config.namespace.clone(),
        config.agent_port,
        Arc::clone(&control),
    )));
    lease_watchdog::run(client, config.namespace, config.orphan_timeout).await
}

/// Recomputes the names and the capture scope after changes (gathered for [`SETTLE`]) and pushes
/// what changed.
async fn sync(world: Arc<World>, scope: TapScope, control: Arc<Control>) {
    let mut pushed: BTreeMap<NameKey, Names> = BTreeMap::new();
    let mut capture_pushed: Option<Capture> = None;
    let mut synced_reported = false;
    loop {
        world.changed.notified().await;
        tokio::time::sleep(SETTLE).await;
        let table = world.name_table();
        let (set, remove) = names_watch::diff(&pushed, &table);
        if !set.is_empty() || !remove.is_empty() {
            match control.update_names(set, &remove) {
                Ok(()) => pushed = table,
                Err(e) => eprintln!("hub-lite: names not pushed: {e}"),
            }
        }
        let capture = world.pods.read(|pods| {
            world.services.read(|services| {
                world
                    .slices
                    .read(|slices| world.nodes.read(|nodes| scope::capture(&scope, pods, services, slices, nodes)))
            })
        });
        if capture_pushed.as_ref() != Some(&capture) {
            match control.set_capture(&capture) {
                Ok(()) => {
                    eprintln!(
                        "hub-lite: capture scope: {} pod addresses, {} ClusterIPs left out (seen after DNAT)",
                        capture.addresses.len(),
                        capture.exclude.len()
                    );
                    capture_pushed = Some(capture);
                }
                Err(e) => eprintln!("hub-lite: capture scope not pushed: {e}"),
            }
        }
        if !synced_reported && world.synced() {
            eprintln!("hub-lite: cluster listed: {} names", pushed.len());
            synced_reported = true;
        }
    }
}
