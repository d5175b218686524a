//! The entries fed to the agent: those of a real capture, dissected by the same offline pipeline as
//! `kubectl-shark view`, cycled and renumbered to N entries with fresh ids and times. Entry `i`
//! (1-based) gets the id `<prefix>-<i>`, which is also its sequence number in the agent's buffer, so
//! the client can tell from a row's id which pushed entry it is.

use node_agent::engine::EngineConfig;
use node_agent::pipeline::run_files;
use node_agent::{Entry, Timestamp};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("dissecting {path}: {message}")]
    Dissect { path: PathBuf, message: String },
    #[error("{path} gave no entries of at most {max_bytes} bytes of JSON")]
    Empty { path: PathBuf, max_bytes: usize },
}

/// The entries of one capture, ready to be renumbered.
pub struct Input {
    /// The capture's entries that were kept (their JSON is at most `max_entry_bytes`).
    pub base: Vec<Entry>,
    /// Entries the capture gave in all.
    pub dissected: usize,
    /// Mean JSON size of `base`, bytes.
    pub mean_json_bytes: f64,
    /// The earliest time of the base entries.
    t0: Timestamp,
}

/// Dissects `capture` and keeps the entries whose JSON is at most `max_entry_bytes`.
pub fn load(capture: &Path, max_entry_bytes: usize) -> Result<Input, InputError> {
    let mut all = Vec::new();
    let run = run_files(&[capture.to_path_buf()], EngineConfig::default(), &mut |e| all.push(e));
    if let Some(e) = run.error {
        return Err(InputError::Dissect { path: capture.into(), message: e.to_string() });
    }
    let dissected = all.len();
    let mut total = 0usize;
    let mut base = Vec::new();
    for e in all {
        let size = serde_json::to_vec(&e).map_or(usize::MAX, |j| j.len());
        if size <= max_entry_bytes {
            total += size;
            base.push(e);
        }
    }
    if base.is_empty() {
        return Err(InputError::Empty { path: capture.into(), max_bytes: max_entry_bytes });
    }
    let mean_json_bytes = total as f64 / base.len() as f64;
    let t0 = base.iter().map(|e| e.ts).min().unwrap_or_default();
    Ok(Input { base, dissected, mean_json_bytes, t0 })
}

impl Input {
    /// Entry `i` (from 1) of the renumbered sequence: base entry `(i - 1) % len` with the id
    /// `<prefix>-<i>` and a time `i` ms after the earliest base entry's. Made when asked, as a
    /// capture thread makes entries, so the sequence takes no memory of its own.
    pub fn entry(&self, i: usize, prefix: &str) -> Entry {
        let mut e = self.base[(i.max(1) - 1) % self.base.len()].clone();
        e.id = format!("{prefix}-{i}");
        e.ts = Timestamp(self.t0.as_nanos() + i as u64 * 1_000_000);
        e
    }

    /// The summary of entry `i` (from 1).
    pub fn summary(&self, i: usize) -> &str {
        &self.base[(i.max(1) - 1) % self.base.len()].summary
    }
}

/// The index `i` of an id `<prefix>-<i>` made by [`Input::renumbered`].
pub fn index_of(id: &str, prefix: &str) -> Option<usize> {
    id.strip_prefix(prefix)?.strip_prefix('-')?.parse().ok()
}
