//! Being attached to a session (`tap` after it started, `proxy`): renew the Lease, forward a
//! local port to the hub, then open the dashboard or print entries, until a signal.

use crate::cli::{AttachArgs, TapOutput};
use crate::k8s::error::K8sError;
use crate::k8s::names::{self, SessionId};
use crate::k8s::signals::Signals;
use crate::k8s::{forward, json_stream, lease};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use std::sync::Arc;

/// Prints a line on stderr, prefixed like every CLI message.
pub fn say(line: String) {
    eprintln!("kubectl-shark: {line}");
}

/// The dashboard token from the session's Secret: `shark-tokens` of a `tap` session, else the
/// service-account-token Secret of an install from `kubectl shark manifests` (k8s/static_install.rs).
pub async fn dashboard_token(client: &kube::Client, id: &SessionId) -> Result<String, K8sError> {
    let api = Api::<Secret>::namespaced(client.clone(), &id.namespace());
    let (secret_name, key, secret) = match api.get_opt(names::SECRET).await.map_err(K8sError::api(format!(
        "reading Secret {}/{}",
        id.namespace(),
        names::SECRET
    )))? {
        Some(secret) => (names::SECRET, names::SECRET_DASHBOARD_KEY, secret),
        None => {
            let name = crate::k8s::static_install::DASHBOARD_TOKEN_SECRET;
            let secret = api.get(name).await.map_err(K8sError::api(format!(
                "reading Secret {}/{} (nor is there {})",
                id.namespace(),
                name,
                names::SECRET
            )))?;
            (name, crate::k8s::static_install::TOKEN_KEY, secret)
        }
    };
    let bytes = secret
        .data
        .and_then(|mut d| d.remove(key))
        .ok_or_else(|| K8sError::Session(format!("Secret {secret_name} has no {key} (yet)")))?;
    String::from_utf8(bytes.0)
        .map(|t| t.trim().to_string())
        .map_err(|_| K8sError::Session(format!("the {key} in Secret {secret_name} is not text")))
}

/// Stays attached until a signal (or, with `--output json`, until writing fails).
pub async fn attach(
    client: &kube::Client,
    id: &SessionId,
    holder: &str,
    args: &AttachArgs,
    signals: &mut Signals,
) -> Result<(), K8sError> {
    let renewing = tokio::spawn(lease::keep_renewing(client.clone(), id.clone(), holder.to_string(), say));
    let _stop_renewing = AbortOnDrop(renewing);
    let token = dashboard_token(client, id).await?;
    let report: Arc<dyn Fn(String) + Send + Sync> = Arc::new(|m| say(format!("forward: {m}")));
    let fwd = forward::start(client.clone(), id, args.port, report).await?;
    let url = format!("http://{}/?token={}", fwd.addr, json_stream::encode(&token));
    match args.output {
        None => {
            say(format!("dashboard at {url}"));
            if !args.no_browser {
                if let Err(e) = open::that_detached(&url) {
                    say(format!("could not open a browser ({e}); open the address above"));
                }
            }
            say("Ctrl-C ends the session".into());
            signals.next().await;
            Ok(())
        }
        Some(TapOutput::Json) => {
            say(format!("dashboard at {url} (entries follow on stdout)"));
            let mut out = std::io::BufWriter::new(std::io::stdout());
            let stop = signals.next();
            json_stream::follow(fwd.addr, &token, args.filter.as_deref(), &mut out, &say, stop)
                .await
                .map_err(K8sError::Session)
        }
    }
}

/// Aborts a task when dropped (the Lease renewal stops with the attachment).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A runtime for the cluster commands.
pub fn runtime() -> Result<tokio::runtime::Runtime, K8sError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(K8sError::io("starting the async runtime"))
}
