//! Keeping the session alive: the CLI renews the Lease `shark-session` every 5 s while attached;
//! the hub deletes the session when it has not been renewed for the orphan timeout.

use super::error::K8sError;
use super::names::{self, SessionId};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, Patch, PatchParams};
use std::time::Duration;

/// Time between renewals.
pub const RENEW_EVERY: Duration = Duration::from_secs(5);

/// `user@host/pid` of this CLI process.
pub fn holder_identity() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "unknown".into());
    let host = hostname().unwrap_or_else(|| "unknown-host".into());
    format!("{user}@{host}/{}", std::process::id())
}

fn hostname() -> Option<String> {
    if let Ok(h) = std::env::var("HOSTNAME") {
        if !h.is_empty() {
            return Some(h);
        }
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname").ok().map(|h| h.trim().to_string()).filter(|h| !h.is_empty())
}

/// Sets renewTime to now and the holder to this process.
pub async fn renew(client: &kube::Client, id: &SessionId, holder: &str) -> Result<(), K8sError> {
    let api: Api<Lease> = Api::namespaced(client.clone(), &id.namespace());
    let now = MicroTime(k8s_openapi::jiff::Timestamp::now());
    let patch = serde_json::json!({"spec": {"holderIdentity": holder, "renewTime": now}});
    api.patch(names::LEASE, &PatchParams::default(), &Patch::Merge(&patch)).await.map_err(K8sError::api(format!(
        "renewing Lease {}/{}",
        id.namespace(),
        names::LEASE
    )))?;
    Ok(())
}

/// Renews forever (abort the task to stop); reports failures and recoveries once each.
pub async fn keep_renewing(client: kube::Client, id: SessionId, holder: String, report: impl Fn(String)) {
    let mut failing = false;
    let mut tick = tokio::time::interval(RENEW_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match renew(&client, &id, &holder).await {
            Ok(()) if failing => {
                failing = false;
                report("the session's Lease is renewed again".into());
            }
            Ok(()) => {}
            Err(e) if !failing => {
                failing = true;
                report(format!("{e} (retrying every {}s)", RENEW_EVERY.as_secs()));
            }
            Err(_) => {}
        }
    }
}
