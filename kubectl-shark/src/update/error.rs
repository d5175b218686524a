//! Errors of `self-update`, each naming what and where.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("{path} was installed with krew: run `kubectl krew upgrade shark` instead")]
    Krew { path: PathBuf },
    #[error("GET {url}: {message}")]
    Http { url: String, message: String },
    #[error("GET {url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("GET {url}: more than {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    #[error("GET {url}: too many redirects")]
    Redirects { url: String },
    #[error("GET {url}: not a GitHub release: {source}")]
    Json {
        url: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("release {tag:?}: the tag is not a version (v1.2.3): {message}")]
    Version { tag: String, message: String },
    #[error("release {tag} has no asset {name}")]
    NoAsset { tag: String, name: String },
    #[error("{sums} has no line for {name}")]
    NoChecksum { sums: String, name: String },
    #[error("{name}: sha256 {actual} is not {expected} (from {sums}); nothing was changed")]
    ChecksumMismatch { name: String, sums: String, expected: String, actual: String },
    #[error("{name}: {message}")]
    Archive { name: String, message: String },
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the downloaded kubectl-shark does not run here ({message}); nothing was changed")]
    Broken { message: String },
}
