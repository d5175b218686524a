//! Dispatching one request: the Host/Origin check (403), the token (401: JSON under /api, a page
//! elsewhere), then the routes of docs/api.md and the dashboard assets (unknown non-API paths get
//! `index.html`, for the dashboard's client-side routes).

use super::auth::{self, Presented};
use super::query::{self, Query};
use super::response::{self, ApiError, Body};
use super::{rows, select, stream, AppState};
use crate::agents::{AgentHealth, PcapExport};
use crate::store::StoreStats;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CACHE_CONTROL, SET_COOKIE};
use hyper::{Method, Request, Response, StatusCode};
use node_agent::filter::Filter;
use std::sync::Arc;
use std::time::Duration;

/// Default and largest `limit` of `/api/v1/entries`.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 10_000;

/// Answers one request.
pub async fn handle(state: Arc<AppState>, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_string();
    let is_api = path == "/api" || path.starts_with("/api/");
    // Liveness for the kubelet's readiness probe (any Host, no token; it reveals nothing).
    if path == "/healthz" {
        return response::json_bytes(StatusCode::OK, b"{\"ok\":true}".to_vec());
    }
    if let Err(why) = state.hosts.check(req.headers()) {
        return ApiError::Forbidden(why).into_response();
    }
    let query = Query::parse(req.uri().query());
    let Some(presented) = auth::authorize(&state.token, &query, req.headers()) else {
        return if is_api { ApiError::Unauthorized.into_response() } else { response::unauthorized_page() };
    };
    let mut resp = if req.method() != Method::GET && req.method() != Method::HEAD {
        ApiError::MethodNotAllowed.into_response()
    } else if is_api {
        api(&state, req, &path, &query).await.unwrap_or_else(ApiError::into_response)
    } else {
        asset(&path)
    };
    if presented == Presented::Query {
        if let Ok(v) = HeaderValue::from_str(&auth::session_cookie(&state.token)) {
            resp.headers_mut().append(SET_COOKIE, v);
        }
    }
    resp
}

async fn api(state: &Arc<AppState>, req: Request<Incoming>, path: &str, q: &Query) -> Result<Response<Body>, ApiError> {
    let Some(route) = path.strip_prefix("/api/v1/") else {
        return Err(ApiError::NotFound(format!("no API at {path}; this hub serves /api/v1/")));
    };
    match route {
        "session" => session(state),
        "protocols" => protocols(),
        "filter/check" => filter_check(q),
        "entries" => entries(state, q).await,
        "pcap" => pcap_all(state, q).await,
        "har" => har(state, q).await,
        "stats" => stats(state, q).await,
        "service-map" => service_map(state, q).await,
        "health" => Ok(response::json_bytes(StatusCode::OK, health_json(state, false)?)),
        "stream" => stream::upgrade(Arc::clone(state), req, q),
        _ => match route.strip_prefix("entries/") {
            Some(rest) => match rest.strip_suffix("/pcap") {
                Some(id) => entry_pcap(state, &query::decode(id)).await,
                None => entry(state, &query::decode(rest)),
            },
            None => Err(ApiError::NotFound(format!("no API at {path}"))),
        },
    }
}

/// The filter of parameter `q` (empty or absent: everything).
pub fn filter_param(q: &Query) -> Result<Filter, ApiError> {
    Filter::parse(q.get("q").unwrap_or("")).map_err(|source| ApiError::Filter { param: "q", source })
}

/// A numeric parameter, None when absent.
pub fn number_param<T: std::str::FromStr>(q: &Query, name: &str) -> Result<Option<T>, ApiError> {
    match q.get(name) {
        None | Some("") => Ok(None),
        Some(v) => {
            v.trim().parse().map(Some).map_err(|_| ApiError::BadRequest(format!("`{name}` is not a number: {v:?}")))
        }
    }
}

/// Runs CPU-bound work (filtering, views over the whole store) off the async workers.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| ApiError::Internal(format!("worker failed: {e}")))
}

fn session(state: &AppState) -> Result<Response<Body>, ApiError> {
    response::json(&serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "api": 1,
        "mode": state.mode,
        "redact": state.redact,
        "store": state.store.stats(),
    }))
}

/// The protocols this hub's engine knows, from the registry, so that clients (the dashboard) ask
/// what a protocol is instead of naming protocols themselves.
fn protocols() -> Result<Response<Body>, ApiError> {
    response::json(&crate::protocols::catalogue())
}

fn filter_check(q: &Query) -> Result<Response<Body>, ApiError> {
    match Filter::parse(q.get("q").unwrap_or("")) {
        Ok(_) => response::json(&serde_json::json!({ "ok": true })),
        Err(e) => response::json(&serde_json::json!({ "ok": false, "column": e.column, "error": e.message })),
    }
}

async fn entries(state: &AppState, q: &Query) -> Result<Response<Body>, ApiError> {
    let filter = filter_param(q)?;
    let limit = number_param::<usize>(q, "limit")?.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
    let before = number_param::<u64>(q, "before")?;
    let store = Arc::clone(&state.store);
    let body = blocking(move || {
        let found = select::newest(&store, &filter, before, limit);
        let mut out = Vec::with_capacity(found.entries.len() * 320 + 32);
        let evicted = before.map_or(found.evicted, |b| found.evicted.min(b.saturating_sub(1)));
        rows::write_list(&mut out, found.entries.iter().map(|(s, e)| (*s, &**e)), evicted).map(|()| out)
    })
    .await??;
    Ok(response::json_bytes(StatusCode::OK, body))
}

fn entry(state: &AppState, id: &str) -> Result<Response<Body>, ApiError> {
    let (seq, e) = state.store.get_with_seq(id).ok_or_else(|| unknown_entry(id))?;
    Ok(response::json_bytes(StatusCode::OK, rows::entry_json(seq, &e)?))
}

fn unknown_entry(id: &str) -> ApiError {
    ApiError::NotFound(format!("no stored entry with id {id:?}"))
}

async fn entry_pcap(state: &AppState, id: &str) -> Result<Response<Body>, ApiError> {
    let e = state.store.get(id).ok_or_else(|| unknown_entry(id))?;
    let export = state.agents.export_entry(&e).await?;
    require_packets(&export, || format!("the packets of entry {id:?} are no longer stored"))?;
    Ok(response::download(export.data, "application/vnd.tcpdump.pcap", &format!("{id}.pcapng")))
}

async fn pcap_all(state: &AppState, q: &Query) -> Result<Response<Body>, ApiError> {
    let filter = filter_param(q)?;
    let store = Arc::clone(&state.store);
    let entries = blocking(move || select::all(&store, &filter)).await?;
    if entries.is_empty() {
        return Err(ApiError::NotFound("no stored entry matches the filter".into()));
    }
    let export = state.agents.export_entries(&entries).await?;
    require_packets(&export, || "the packets of the matching entries are no longer stored".into())?;
    Ok(response::download(export.data, "application/vnd.tcpdump.pcap", "kubectl-shark.pcapng"))
}

/// 404 when an export holds no packet.
fn require_packets(export: &PcapExport, gone: impl FnOnce() -> String) -> Result<(), ApiError> {
    if export.packets == 0 {
        return Err(ApiError::NotFound(gone()));
    }
    Ok(())
}

async fn har(state: &AppState, q: &Query) -> Result<Response<Body>, ApiError> {
    let filter = filter_param(q)?;
    let store = Arc::clone(&state.store);
    let body = blocking(move || {
        // har::build keeps the entries whose protocol has HTTP semantics.
        serde_json::to_vec(&crate::har::build(&select::all(&store, &filter)))
    })
    .await??;
    Ok(response::download(body, "application/json", "kubectl-shark.har"))
}

async fn stats(state: &AppState, q: &Query) -> Result<Response<Body>, ApiError> {
    let filter = filter_param(q)?;
    let bucket = match number_param::<f64>(q, "bucket")? {
        None => None,
        Some(s) if s.is_finite() && (0.001..=1e9).contains(&s) => Some(Duration::from_secs_f64(s)),
        Some(s) => return Err(ApiError::BadRequest(format!("`bucket` must be 0.001 to 1e9 seconds, not {s}"))),
    };
    let store = Arc::clone(&state.store);
    let body =
        blocking(move || serde_json::to_vec(&crate::stats::compute(&select::all(&store, &filter), bucket))).await??;
    Ok(response::json_bytes(StatusCode::OK, body))
}

async fn service_map(state: &AppState, q: &Query) -> Result<Response<Body>, ApiError> {
    let filter = filter_param(q)?;
    let store = Arc::clone(&state.store);
    let body =
        blocking(move || serde_json::to_vec(&crate::service_map::compute(&select::all(&store, &filter)))).await??;
    Ok(response::json_bytes(StatusCode::OK, body))
}

/// The body of `/api/v1/health`; with `as_message` it is the stream's `{"type": "health", ...}`.
pub fn health_json(state: &AppState, as_message: bool) -> Result<Vec<u8>, serde_json::Error> {
    #[derive(serde::Serialize)]
    struct Health {
        #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
        kind: Option<&'static str>,
        agents: Vec<AgentHealth>,
        store: StoreStats,
        clients: usize,
    }
    serde_json::to_vec(&Health {
        kind: as_message.then_some("health"),
        agents: state.agents.health(),
        store: state.store.stats(),
        clients: state.streams.open_count(),
    })
}

/// A dashboard file; `index.html` for `/` and for paths that are not files (client-side routes).
fn asset(path: &str) -> Response<Body> {
    let name = path.trim_start_matches('/');
    let found = if name.is_empty() { None } else { crate::assets::get(name) };
    let is_file = found.is_some();
    match found.or_else(|| crate::assets::get("index.html")) {
        Some((bytes, mime)) => {
            let body = match bytes {
                std::borrow::Cow::Borrowed(b) => Bytes::from_static(b),
                std::borrow::Cow::Owned(v) => Bytes::from(v),
            };
            let mut r = response::with_type(StatusCode::OK, body, mime);
            // Vite names built assets by content hash: they may be cached; the page may not.
            if is_file && name.starts_with("assets/") {
                r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("private, max-age=31536000, immutable"));
            }
            r
        }
        None => ApiError::NotFound("the dashboard is not built into this hub".into()).into_response(),
    }
}
