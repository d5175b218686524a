//! The local end of the dashboard: a listener on 127.0.0.1 whose every connection is forwarded to
//! the session's current Ready hub pod through the API server (kube-rs port-forward, one forward
//! per connection). The hub pod is looked up again for each connection, so a replaced hub is
//! followed; setting up a forward is retried with backoff; the local port never changes.

use super::error::K8sError;
use super::names::{self, SessionId};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// Backoff between attempts to reach the hub for one connection.
pub const BACKOFF_MIN: Duration = Duration::from_millis(100);
pub const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How long one local connection waits for a hub before it is closed.
pub const CONNECT_PATIENCE: Duration = Duration::from_secs(60);

/// A running forward.
pub struct Forward {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Forward {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Listens on 127.0.0.1:`port` (0: a free port) and forwards to the hub of session `id`.
/// `report` receives problems (one line each).
pub async fn start(
    client: kube::Client,
    id: &SessionId,
    port: u16,
    report: Arc<dyn Fn(String) + Send + Sync>,
) -> Result<Forward, K8sError> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
        .map_err(K8sError::io(format!("listening on 127.0.0.1:{port}")))?;
    let addr = listener.local_addr().map_err(K8sError::io("the local listener's address"))?;
    let hubs = HubPods {
        api: Api::namespaced(client, &id.namespace()),
        selector: names::component_selector(id, names::COMPONENT_HUB),
    };
    let task = tokio::spawn(accept_loop(listener, Arc::new(hubs), report));
    Ok(Forward { addr, task })
}

async fn accept_loop(listener: TcpListener, hubs: Arc<HubPods>, report: Arc<dyn Fn(String) + Send + Sync>) {
    loop {
        match listener.accept().await {
            Ok((conn, _)) => {
                let hubs = Arc::clone(&hubs);
                let report = Arc::clone(&report);
                tokio::spawn(async move {
                    if let Err(e) = forward_one(conn, &hubs).await {
                        report(e);
                    }
                });
            }
            // Out of file descriptors and the like: wait a little rather than spin.
            Err(e) => {
                report(format!("accepting a local connection: {e}"));
                tokio::time::sleep(BACKOFF_MIN).await;
            }
        }
    }
}

/// Finding the hub pod.
struct HubPods {
    api: Api<Pod>,
    selector: String,
}

impl HubPods {
    /// The newest Ready, not terminating hub pod.
    async fn ready(&self) -> Result<String, String> {
        let pods = self
            .api
            .list(&ListParams::default().labels(&self.selector))
            .await
            .map_err(|e| format!("looking up the hub pod: {e}"))?;
        pods.items
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none() && is_ready(p))
            .max_by(|a, b| a.metadata.creation_timestamp.cmp(&b.metadata.creation_timestamp))
            .and_then(|p| p.metadata.name)
            .ok_or_else(|| "no hub pod is ready (yet)".to_string())
    }
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Forwards one local connection, retrying the setup with backoff; an error once bytes flowed
/// ends the connection (the client reconnects and gets a fresh forward).
async fn forward_one(mut conn: TcpStream, hubs: &HubPods) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + CONNECT_PATIENCE;
    let mut backoff = BACKOFF_MIN;
    let (mut pf, pod) = loop {
        let attempt = async {
            let pod = hubs.ready().await?;
            let pf = hubs
                .api
                .portforward(&pod, &[names::HUB_PORT])
                .await
                .map_err(|e| format!("port-forward to {pod}: {e}"))?;
            Ok::<_, String>((pf, pod))
        };
        match attempt.await {
            Ok(ok) => break ok,
            Err(e) if tokio::time::Instant::now() + backoff > deadline => {
                return Err(format!("gave up on a local connection after {}s: {e}", CONNECT_PATIENCE.as_secs()))
            }
            Err(_) => {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    };
    let Some(mut upstream) = pf.take_stream(names::HUB_PORT) else {
        return Err(format!("port-forward to {pod} has no stream for port {}", names::HUB_PORT));
    };
    let errors = pf.take_error(names::HUB_PORT);
    let copy = tokio::io::copy_bidirectional(&mut conn, &mut upstream);
    match errors {
        Some(errors) => {
            tokio::pin!(copy);
            tokio::pin!(errors);
            tokio::select! {
                _ = &mut copy => {}
                err = &mut errors => {
                    if let Some(e) = err {
                        return Err(format!("port-forward to {pod}: {e}"));
                    }
                    // The error channel closed without error: the forward ended; finish copying.
                    let _ = copy.await;
                }
            }
        }
        None => {
            let _ = copy.await;
        }
    }
    drop(upstream);
    // Ends the forward's task; its result tells nothing the client did not see already.
    let _ = pf.join().await;
    Ok(())
}
