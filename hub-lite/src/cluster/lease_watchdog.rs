//! Deletes an orphaned session: the CLI renews the Lease `shark-session` in the session namespace
//! every 5 s while it is attached (docs/tap.md); when the hub has not seen it renewed for the
//! orphan timeout, it deletes the session namespace (the ClusterRole and ClusterRoleBinding go
//! with it through their ownerReference) and the hub exits.
//!
//! "Renewed" means the Lease's `renewTime` (or holder) changed, as observed on the hub's clock:
//! comparing the CLI machine's `renewTime` with the hub's clock would delete live sessions of a
//! laptop whose clock is a few minutes off. A hub that starts (or restarts) gives the CLI a whole
//! timeout from its start. A missing Lease counts as not renewed; an API error counts as nothing
//! (the hub keeps trying: it cannot tell a dead CLI from a dead connection of its own).

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::DeleteParams;
use kube::{Api, Client};
use std::time::{Duration, Instant};

/// The Lease the CLI renews.
pub const LEASE_NAME: &str = "shark-session";
/// How often the Lease is read.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(3);

/// What identifies one renewal of the Lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Renewal {
    pub renew_time: Option<String>,
    pub holder: Option<String>,
}

impl Renewal {
    pub fn of(lease: &Lease) -> Renewal {
        let spec = lease.spec.as_ref();
        Renewal {
            renew_time: spec.and_then(|s| s.renew_time.as_ref()).map(|t| t.0.to_string()),
            holder: spec.and_then(|s| s.holder_identity.clone()),
        }
    }
}

/// The watchdog's memory: the last renewal seen and when (on the hub's clock) it changed.
#[derive(Debug)]
pub struct Observer {
    timeout: Duration,
    last: Option<Renewal>,
    changed_at: Instant,
    /// A reading was taken (the first one is the baseline, not a renewal).
    read: bool,
}

/// What one look at the Lease says.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Alive,
    /// Not renewed for `silent` (at least the timeout).
    Orphaned {
        silent: Duration,
        last: Option<Renewal>,
    },
}

impl Observer {
    /// Starts watching at `now` with `timeout` (zero: never orphaned).
    pub fn new(timeout: Duration, now: Instant) -> Observer {
        Observer { timeout, last: None, changed_at: now, read: false }
    }

    /// Takes one reading at `now`: the Lease's renewal, or `None` when the Lease does not exist.
    pub fn observe(&mut self, now: Instant, renewal: Option<Renewal>) -> Verdict {
        if self.read && renewal.is_some() && renewal != self.last {
            self.changed_at = now;
        }
        self.read = true;
        self.last = renewal;
        let silent = now.saturating_duration_since(self.changed_at);
        if self.timeout.is_zero() || silent < self.timeout {
            Verdict::Alive
        } else {
            Verdict::Orphaned { silent, last: self.last.clone() }
        }
    }
}

/// Why the hub deleted its session.
#[derive(Debug)]
pub struct Orphaned {
    pub namespace: String,
    pub silent: Duration,
    pub holder: Option<String>,
}

/// Reads the Lease every [`CHECK_INTERVAL`]; when it was not renewed for `timeout`, deletes
/// `namespace` and returns. With a zero timeout it never returns.
pub async fn run(client: Client, namespace: String, timeout: Duration) -> Orphaned {
    if timeout.is_zero() {
        eprintln!("hub-lite: orphan timeout 0: the session stays until deleted");
        return std::future::pending().await;
    }
    let leases = Api::<Lease>::namespaced(client.clone(), &namespace);
    let namespaces = Api::<Namespace>::all(client);
    let mut observer = Observer::new(timeout, Instant::now());
    let mut ticks = tokio::time::interval(CHECK_INTERVAL);
    let mut missing_reported = false;
    loop {
        ticks.tick().await;
        let renewal = match leases.get_opt(LEASE_NAME).await {
            Ok(Some(lease)) => {
                missing_reported = false;
                Some(Renewal::of(&lease))
            }
            Ok(None) => {
                if !missing_reported {
                    eprintln!("hub-lite: Lease {namespace}/{LEASE_NAME} does not exist: counting as not renewed");
                    missing_reported = true;
                }
                None
            }
            Err(e) => {
                eprintln!("hub-lite: reading Lease {namespace}/{LEASE_NAME}: {e} (retrying)");
                continue;
            }
        };
        let Verdict::Orphaned { silent, last } = observer.observe(Instant::now(), renewal) else { continue };
        let holder = last.and_then(|l| l.holder);
        eprintln!(
            "hub-lite: the session is orphaned: Lease {namespace}/{LEASE_NAME} (holder {}) not renewed for {} s \
             (orphan timeout {} s); deleting namespace {namespace}",
            holder.as_deref().unwrap_or("none"),
            silent.as_secs(),
            timeout.as_secs()
        );
        match namespaces.delete(&namespace, &DeleteParams::background()).await {
            Ok(_) => return Orphaned { namespace, silent, holder },
            Err(kube::Error::Api(e)) if e.code == 404 => return Orphaned { namespace, silent, holder },
            Err(e) => eprintln!("hub-lite: deleting namespace {namespace}: {e} (retrying)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renewal(t: &str) -> Option<Renewal> {
        Some(Renewal { renew_time: Some(t.into()), holder: Some("me@laptop/1".into()) })
    }

    #[test]
    fn renewals_keep_the_session_and_silence_orphans_it() {
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let mut o = Observer::new(Duration::from_secs(20), start);
        assert_eq!(o.observe(at(0), renewal("t0")), Verdict::Alive);
        assert_eq!(o.observe(at(5), renewal("t5")), Verdict::Alive);
        assert_eq!(o.observe(at(24), renewal("t5")), Verdict::Alive, "19 s since the last change");
        match o.observe(at(25), renewal("t5")) {
            Verdict::Orphaned { silent, last } => {
                assert_eq!(silent, Duration::from_secs(20));
                assert_eq!(last, renewal("t5"));
            }
            v => panic!("{v:?}"),
        }
        assert_eq!(o.observe(at(26), renewal("t26")), Verdict::Alive, "a late renewal revives it");
    }

    #[test]
    fn a_stale_lease_at_the_start_gets_a_whole_timeout_and_a_missing_one_none_more() {
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        // Whatever renewTime says (another machine's clock), the first reading starts the count.
        let mut o = Observer::new(Duration::from_secs(20), start);
        assert_eq!(o.observe(at(19), renewal("2001-01-01T00:00:00Z")), Verdict::Alive);
        assert!(matches!(o.observe(at(20), renewal("2001-01-01T00:00:00Z")), Verdict::Orphaned { .. }));
        let mut gone = Observer::new(Duration::from_secs(20), start);
        assert_eq!(gone.observe(at(3), None), Verdict::Alive);
        assert!(matches!(gone.observe(at(21), None), Verdict::Orphaned { last: None, .. }));
    }

    #[test]
    fn a_lease_created_after_the_start_counts_as_renewed() {
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let mut o = Observer::new(Duration::from_secs(20), start);
        assert_eq!(o.observe(at(0), None), Verdict::Alive);
        assert_eq!(o.observe(at(15), renewal("t15")), Verdict::Alive);
        assert_eq!(o.observe(at(34), renewal("t15")), Verdict::Alive, "counted from its appearance");
        assert!(matches!(o.observe(at(35), renewal("t15")), Verdict::Orphaned { .. }));
    }

    #[test]
    fn a_zero_timeout_never_orphans() {
        let start = Instant::now();
        let mut o = Observer::new(Duration::ZERO, start);
        assert_eq!(o.observe(start + Duration::from_secs(100_000), None), Verdict::Alive);
    }
}
