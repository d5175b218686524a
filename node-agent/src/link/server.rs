//! The agent's WebSocket server: accepts hubs on [`LINK_PATH`], checks the shared token when the
//! agent has one, and runs a session per connection (a few at once).

use super::protocol::{LINK_PATH, MAX_HUB_MESSAGE};
use super::session::{run_session, stopped};
use super::state::AgentState;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// How long a client has to complete the WebSocket handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// When set, a hub must send `Authorization: Bearer <token>` in its upgrade request.
    pub token: Option<String>,
    /// Hub connections served at once; more are refused with 503.
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig { token: None, max_connections: 4 }
    }
}

/// Equality that takes the same time wherever the first difference is (the length may leak).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn refuse(status: StatusCode, why: &str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(why.to_string()));
    *response.status_mut() = status;
    response
}

/// Decides on an upgrade request: the right path and, when a token is set, the right token.
fn check_request(request: &Request, token: Option<&str>) -> Result<(), (StatusCode, &'static str)> {
    if request.uri().path() != LINK_PATH {
        return Err((StatusCode::NOT_FOUND, "the agent serves its hub link on /link/v1 only"));
    }
    if let Some(token) = token {
        let given = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !constant_time_eq(given.as_bytes(), token.as_bytes()) {
            return Err((StatusCode::UNAUTHORIZED, "missing or wrong token"));
        }
    }
    Ok(())
}

/// Serves hubs on `listener` until `shutdown` becomes true; open sessions end then too.
/// Problems of single connections are reported to `on_error` and never end the server.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AgentState>,
    config: ServerConfig,
    mut shutdown: watch::Receiver<bool>,
    on_error: Arc<dyn Fn(String) + Send + Sync>,
) {
    let active = Arc::new(AtomicUsize::new(0));
    loop {
        let (stream, peer) = tokio::select! {
            _ = stopped(&mut shutdown) => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // E.g. out of file descriptors: wait a little instead of spinning.
                    on_error(format!("accepting a hub connection: {e}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (state, config, shutdown, on_error, active) =
            (Arc::clone(&state), config.clone(), shutdown.clone(), Arc::clone(&on_error), Arc::clone(&active));
        tokio::spawn(async move {
            let slot = Slot::take(&active, config.max_connections);
            if let Err(e) = connection(stream, slot.is_some(), state, &config, shutdown).await {
                on_error(format!("hub connection from {peer}: {e}"));
            }
        });
    }
}

/// One place among the `max_connections`; given back when dropped.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(active: &Arc<AtomicUsize>, max: usize) -> Option<Slot> {
        let taken = active.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1)).is_ok();
        taken.then(|| Slot(Arc::clone(active)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[derive(Debug, thiserror::Error)]
enum ConnectionError {
    #[error("handshake: {0}")]
    Handshake(tokio_tungstenite::tungstenite::Error),
    #[error("handshake took longer than {0:?}")]
    HandshakeTimeout(Duration),
    #[error(transparent)]
    Session(#[from] super::session::SessionError),
}

// The handshake callback's error type is tungstenite's (an HTTP response), large but not ours to shrink.
#[allow(clippy::result_large_err)]
async fn connection(
    stream: TcpStream,
    has_slot: bool,
    state: Arc<AgentState>,
    config: &ServerConfig,
    shutdown: watch::Receiver<bool>,
) -> Result<(), ConnectionError> {
    let _ = stream.set_nodelay(true);
    let ws_config =
        WebSocketConfig::default().max_message_size(Some(MAX_HUB_MESSAGE)).max_frame_size(Some(MAX_HUB_MESSAGE));
    let token = config.token.as_deref();
    let callback = |request: &Request, response: Response| {
        check_request(request, token).map_err(|(status, why)| refuse(status, why))?;
        if !has_slot {
            return Err(refuse(StatusCode::SERVICE_UNAVAILABLE, "too many hub connections"));
        }
        Ok(response)
    };
    let handshake = tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(ws_config));
    let ws = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Err(_) => return Err(ConnectionError::HandshakeTimeout(HANDSHAKE_TIMEOUT)),
        Ok(Err(e)) => return Err(ConnectionError::Handshake(e)),
        Ok(Ok(ws)) => ws,
    };
    run_session(ws, state, shutdown).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str, auth: Option<&str>) -> Request {
        let mut b = Request::builder().uri(path);
        if let Some(a) = auth {
            b = b.header("Authorization", a);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn requests_need_the_path_and_the_token_when_one_is_set() {
        assert!(check_request(&request("/link/v1", None), None).is_ok());
        assert_eq!(check_request(&request("/other", None), None).unwrap_err().0, StatusCode::NOT_FOUND);
        let t = Some("s3cret");
        assert!(check_request(&request("/link/v1", Some("Bearer s3cret")), t).is_ok());
        for bad in [None, Some("Bearer s3cres"), Some("s3cret"), Some("Bearer s3cret "), Some("Bearer ")] {
            let e = check_request(&request("/link/v1", bad), t).unwrap_err();
            assert_eq!(e.0, StatusCode::UNAUTHORIZED, "{bad:?}");
        }
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }
}
