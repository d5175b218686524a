//! Errors of the Kubernetes side, each saying what was being done.

/// What went wrong talking to the cluster.
#[derive(Debug, thiserror::Error)]
pub enum K8sError {
    #[error("kubeconfig: {0}")]
    Config(String),
    #[error("{what}: {source}")]
    Api {
        what: String,
        #[source]
        source: kube::Error,
    },
    /// The preflight found permissions the user lacks (each one named).
    #[error("missing permissions for `kubectl shark tap`:\n  {}", .0.join("\n  "))]
    Forbidden(Vec<String>),
    #[error("{0}")]
    Scope(#[from] super::scope::ScopeError),
    /// A pod of the session cannot start (image, scheduling, admission); events attached.
    #[error("{0}")]
    PodFailed(String),
    #[error("timed out after {secs}s waiting for {what}")]
    Timeout { what: String, secs: u64 },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Session(String),
    #[error("stopped by a signal before the session was ready")]
    Interrupted,
}

impl K8sError {
    /// Wraps an API error with what was being done.
    pub fn api(what: impl Into<String>) -> impl FnOnce(kube::Error) -> K8sError {
        let what = what.into();
        move |source| K8sError::Api { what, source }
    }

    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> K8sError {
        let what = what.into();
        move |source| K8sError::Io { what, source }
    }
}

/// Whether an API error is a 404.
pub fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}
