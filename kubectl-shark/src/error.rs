//! The CLI's errors and their exit codes (documented in README.md).

use node_agent::pipeline::{PipelineError, PipelineErrorKind};

/// Exit codes. `OK` and `USAGE` are listed for completeness: success returns normally and clap
/// exits with `USAGE` itself.
#[allow(dead_code)]
pub mod exit {
    pub const OK: i32 = 0;
    pub const OTHER: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const FILE_UNREADABLE: i32 = 3;
    pub const FILE_CORRUPT: i32 = 4;
    pub const UNKNOWN_LINK_TYPE: i32 = 5;
    pub const NO_SUCH_INTERFACE: i32 = 6;
    pub const PERMISSION_DENIED: i32 = 7;
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error("writing output: {0}")]
    Output(std::io::Error),
    /// The dashboard (agent link or hub) could not be started.
    #[error("dashboard: {0}")]
    Dashboard(String),
    /// A command this platform cannot run (live capture off Linux).
    #[cfg_attr(target_os = "linux", allow(dead_code))]
    #[error("{0}")]
    Unsupported(String),
    /// `version` without `--client`: the local part was printed, the cluster could not be reached.
    #[error("{0}")]
    Unreachable(String),
    /// `self-update`.
    #[error("self-update: {0}")]
    Update(#[from] crate::update::error::UpdateError),
    /// `tap`, `proxy`, `list`, `clean`: the cluster side.
    #[error(transparent)]
    Kubernetes(#[from] crate::k8s::error::K8sError),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Pipeline(e) => match e.kind() {
                PipelineErrorKind::FileMissingOrUnreadable => exit::FILE_UNREADABLE,
                PipelineErrorKind::FileCorrupt => exit::FILE_CORRUPT,
                PipelineErrorKind::UnknownLinkType => exit::UNKNOWN_LINK_TYPE,
                PipelineErrorKind::NoSuchInterface => exit::NO_SUCH_INTERFACE,
                PipelineErrorKind::PermissionDenied => exit::PERMISSION_DENIED,
                PipelineErrorKind::Other => exit::OTHER,
            },
            CliError::Kubernetes(crate::k8s::error::K8sError::Forbidden(_)) => exit::PERMISSION_DENIED,
            CliError::Output(_)
            | CliError::Unsupported(_)
            | CliError::Unreachable(_)
            | CliError::Update(_)
            | CliError::Dashboard(_)
            | CliError::Kubernetes(_) => exit::OTHER,
        }
    }
}
