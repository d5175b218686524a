//! Accepting and serving connections: a bounded number of connections, hyper's HTTP/1 with
//! upgrades, a header read timeout (a client that trickles its headers, or idles between
//! requests, is dropped), and a graceful shutdown that lets in-flight requests finish.

use super::{routes, AppState};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

/// Most HTTP connections at once (WebSocket streams are limited separately).
pub const MAX_CONNECTIONS: usize = 256;
/// Time a client has to send a request's headers, also between requests on a kept-alive connection.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// Read buffer per connection: bounds the request head (URI with filter, headers).
pub const MAX_BUF: usize = 64 * 1024;
/// How long shutdown waits for connections to finish before cutting them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The tasks of one server: connections and WebSocket sessions. Finished tasks are reaped on every
/// spawn, so the set stays as small as the number of live tasks.
pub struct TaskSet {
    /// None once the server drains: later tasks are not started.
    set: Mutex<Option<JoinSet<()>>>,
}

impl TaskSet {
    pub fn new() -> Arc<TaskSet> {
        Arc::new(TaskSet { set: Mutex::new(Some(JoinSet::new())) })
    }

    /// Runs `task` on the current runtime, unless the server is draining.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let mut guard = self.set.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(set) = guard.as_mut() {
            while set.try_join_next().is_some() {}
            set.spawn(task);
        }
    }

    /// Waits up to `grace` for every task, then aborts the rest.
    pub async fn drain(&self, grace: Duration) {
        let taken = self.set.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut set) = taken {
            let _ = tokio::time::timeout(grace, async { while set.join_next().await.is_some() {} }).await;
            set.shutdown().await;
        }
    }
}

/// Serves `listener` until the hub's shutdown signal, then drains.
pub async fn serve(listener: TcpListener, state: Arc<AppState>) {
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut shutdown = state.shutdown.clone();
    loop {
        tokio::select! {
            _ = stopped(&mut shutdown) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    // Over the limit the connection is closed at once; memory stays bounded.
                    let Ok(permit) = Arc::clone(&limit).try_acquire_owned() else { continue };
                    let _ = stream.set_nodelay(true);
                    state.tasks.spawn(connection(stream, Arc::clone(&state), permit));
                }
                // Out of file descriptors and the like: wait instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
        }
    }
    drop(listener);
    state.tasks.drain(SHUTDOWN_GRACE).await;
}

/// Resolves once the hub shuts down (also when the hub is gone).
pub async fn stopped(shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    // The guard wait_for returns is not Send: drop it here, not across the caller's awaits.
    let _ = shutdown.wait_for(|stop| *stop).await.is_ok();
}

async fn connection(stream: TcpStream, state: Arc<AppState>, _permit: OwnedSemaphorePermit) {
    let mut shutdown = state.shutdown.clone();
    let handler_state = Arc::clone(&state);
    let service = service_fn(move |req| {
        let state = Arc::clone(&handler_state);
        async move { Ok::<_, Infallible>(routes::handle(state, req).await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_BUF)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stopped(&mut shutdown) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
