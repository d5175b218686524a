//! Errors of a pipeline run, with a kind the CLI maps to exit codes.

use crate::source::file::CaptureError;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Capture(CaptureError),
    #[cfg(target_os = "linux")]
    #[error(transparent)]
    Live(crate::source::live::LiveError),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}

/// What went wrong, in the terms a user (and an exit code) cares about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PipelineErrorKind {
    FileMissingOrUnreadable,
    FileCorrupt,
    UnknownLinkType,
    NoSuchInterface,
    PermissionDenied,
    Other,
}

impl PipelineError {
    pub fn kind(&self) -> PipelineErrorKind {
        use crate::source::file::CaptureError as C;
        match self {
            PipelineError::Capture(C::Io { .. }) => PipelineErrorKind::FileMissingOrUnreadable,
            PipelineError::Capture(C::NotACaptureFile { .. } | C::Truncated { .. } | C::Corrupt { .. }) => {
                PipelineErrorKind::FileCorrupt
            }
            PipelineError::Capture(C::UnknownLinkType { .. }) => PipelineErrorKind::UnknownLinkType,
            #[cfg(target_os = "linux")]
            PipelineError::Live(crate::source::live::LiveError::PermissionDenied { .. }) => {
                PipelineErrorKind::PermissionDenied
            }
            #[cfg(target_os = "linux")]
            PipelineError::Live(crate::source::live::LiveError::NoSuchInterface { .. }) => {
                PipelineErrorKind::NoSuchInterface
            }
            #[cfg(target_os = "linux")]
            PipelineError::Live(_) => PipelineErrorKind::Other,
            PipelineError::Storage(_) => PipelineErrorKind::Other,
        }
    }
}
