//! Ready-made runs of the engine: over capture files (`view`) and over live capture (`local`, the
//! agent). Callers get entries and counters; they never see packets.

mod error;
#[cfg(target_os = "linux")]
mod live;
mod offline;

pub use error::{PipelineError, PipelineErrorKind};
#[cfg(target_os = "linux")]
pub use live::{run_live, LiveOptions, LiveSink, LiveSummary};
pub use offline::{run_files, run_files_scoped, OfflineRun, OfflineSummary};
