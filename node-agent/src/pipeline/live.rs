//! Live capture on this machine: capture → engine → entries, with every kept packet also written
//! to the on-disk ring.

use super::error::PipelineError;
use crate::engine::{Disposition, Engine, EngineConfig, EngineStats};
use crate::entry::Entry;
use crate::scope::{keeps_frame, PacketScope};
use crate::source::live::{LiveCapture, LiveConfig};
use crate::source::SourceStats;
use crate::storage::{PcapRing, RingStats};
use crate::time::Timestamp;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct LiveOptions {
    pub capture: LiveConfig,
    pub engine: EngineConfig,
    /// Where the packet ring lives, and its size limit in bytes; `None` stores nothing.
    pub storage: Option<(PathBuf, u64)>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// How often `on_progress` is called.
    pub progress_interval: Duration,
    /// Which packets are kept at all, judged by their IP addresses before the engine sees them
    /// (`None`: every packet). Packets left out are neither dissected nor stored, only counted.
    pub scope: Option<Arc<dyn PacketScope>>,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct LiveSummary {
    pub capture: SourceStats,
    pub engine: EngineStats,
    pub storage: Option<RingStats>,
    /// Packets the scope left out.
    pub out_of_scope: u64,
}

/// Where a live run puts what it finds.
pub trait LiveSink {
    fn entry(&mut self, entry: Entry);
    /// Called every `progress_interval` with the counters so far (a good place to flush output).
    fn progress(&mut self, summary: &LiveSummary);
}

/// Captures until `stop` is set or the duration passes, then flushes every complete entry.
pub fn run_live(
    options: LiveOptions,
    stop: &AtomicBool,
    sink: &mut dyn LiveSink,
) -> Result<LiveSummary, PipelineError> {
    let mut capture = LiveCapture::open(&options.capture).map_err(PipelineError::Live)?;
    let mut ring = match &options.storage {
        Some((dir, limit)) => Some(PcapRing::create(dir, *limit)?),
        None => None,
    };
    let mut engine = Engine::new(options.engine);
    let started = Instant::now();
    let mut last_progress = Instant::now();
    let mut storage_error = None;
    let mut out_of_scope = 0u64;
    while !stop.load(Ordering::Relaxed) {
        if options.duration.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        let got = capture
            .next_batch(Duration::from_millis(100), &mut |raw| {
                if !keeps_frame(options.scope.as_deref(), &raw) {
                    out_of_scope += 1;
                    return;
                }
                if engine.process(&raw, &mut |e| sink.entry(e)) == Disposition::Kept {
                    if let Some(r) = ring.as_mut() {
                        if let Err(e) = r.write(&raw) {
                            storage_error.get_or_insert(e);
                        }
                    }
                }
            })
            .map_err(PipelineError::Live)?;
        if let Some(e) = storage_error.take() {
            return Err(e.into());
        }
        if got == 0 {
            engine.tick(Timestamp::now(), &mut |e| sink.entry(e));
        }
        if last_progress.elapsed() >= options.progress_interval {
            last_progress = Instant::now();
            if let Some(r) = ring.as_mut() {
                r.flush()?;
            }
            let summary = LiveSummary {
                capture: capture.stats(),
                engine: engine.stats(),
                storage: ring.as_ref().map(|r| r.stats()),
                out_of_scope,
            };
            sink.progress(&summary);
        }
    }
    engine.finish(&mut |e| sink.entry(e));
    if let Some(r) = ring.as_mut() {
        r.flush()?;
    }
    Ok(LiveSummary {
        capture: capture.stats(),
        engine: engine.stats(),
        storage: ring.as_ref().map(|r| r.stats()),
        out_of_scope,
    })
}
