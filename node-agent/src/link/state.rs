//! What the agent's hub connections share: who the agent is, its entry buffer, the capture
//! counters (set by the capture thread), where its packet ring lives, and what the hub told it:
//! the names of endpoints and the capture scope.

use super::log::{EntryLog, LogLimits};
use crate::entry::Entry;
use crate::resolve::NameTable;
use crate::scope::CaptureScope;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::Semaphore;

/// Pcap exports running at once on one agent (each reads the ring's files).
const CONCURRENT_EXPORTS: usize = 2;

/// The agent and this run of it, as told to the hub in `hello`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentIdentity {
    /// The agent's name (the node name in a cluster).
    pub agent: String,
    /// A random tag of this process, see [`run_tag`].
    pub run: String,
    /// The prefix of entry ids of this run (the engine's `source_id`).
    pub id_prefix: String,
}

impl AgentIdentity {
    /// An identity for a new run of `agent`: entry ids are `<agent>.<run>-<n>`, so the entries of
    /// a restarted agent never take the ids of its earlier run's.
    pub fn new_run(agent: &str) -> Result<AgentIdentity, getrandom::Error> {
        let run = run_tag()?;
        Ok(AgentIdentity { agent: agent.into(), id_prefix: format!("{agent}.{run}"), run })
    }
}

/// Eight random characters of `[a-z2-7]` (40 bits).
pub fn run_tag() -> Result<String, getrandom::Error> {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut n = getrandom::u64()?;
    let mut tag = String::with_capacity(8);
    for _ in 0..8 {
        tag.push(char::from(ALPHABET[(n % 32) as usize]));
        n /= 32;
    }
    Ok(tag)
}

/// Counters of capture and engine, for the `stats` message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureCounters {
    pub packets: u64,
    pub bytes: u64,
    pub drops: u64,
    pub entries: u64,
    /// Packets the capture scope left out.
    pub out_of_scope: u64,
}

/// Where an agent's packets are, for pcap exports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PacketStore {
    /// Packets are not kept.
    None,
    /// The on-disk ring of a live capture ([`crate::storage::PcapRing`]) in this directory.
    Ring(PathBuf),
    /// The capture files an offline run (`view`) read.
    Files(Vec<PathBuf>),
}

impl PacketStore {
    /// The files to export from, oldest first.
    pub fn files(&self) -> Result<Vec<PathBuf>, String> {
        match self {
            PacketStore::None => Err("this agent stores no packets".into()),
            PacketStore::Ring(dir) => crate::storage::PcapRing::list_files(dir).map_err(|e| e.to_string()),
            PacketStore::Files(files) => Ok(files.clone()),
        }
    }
}

impl From<Option<PathBuf>> for PacketStore {
    fn from(ring_dir: Option<PathBuf>) -> Self {
        ring_dir.map_or(PacketStore::None, PacketStore::Ring)
    }
}

/// The shared state of one agent run.
pub struct AgentState {
    pub identity: AgentIdentity,
    pub log: EntryLog,
    /// Where the packets are, for pcap exports.
    pub packets: PacketStore,
    /// Names of endpoints, as the hub sent them; applied to entries before filtering.
    pub names: Arc<NameTable>,
    /// The capture scope the hub sent (everything until then). The live pipeline must be given it
    /// (`LiveOptions::scope`) for it to take effect.
    pub scope: Arc<CaptureScope>,
    counters: Mutex<CaptureCounters>,
    started: Instant,
    pub(crate) exports: Arc<Semaphore>,
}

impl AgentState {
    pub fn new(identity: AgentIdentity, limits: LogLimits, packets: impl Into<PacketStore>) -> AgentState {
        AgentState {
            identity,
            log: EntryLog::new(limits),
            packets: packets.into(),
            names: Arc::new(NameTable::new()),
            scope: Arc::new(CaptureScope::new()),
            counters: Mutex::new(CaptureCounters::default()),
            started: Instant::now(),
            exports: Arc::new(Semaphore::new(CONCURRENT_EXPORTS)),
        }
    }

    /// Buffers an entry for the hub connections; returns its sequence number.
    pub fn push(&self, entry: Entry) -> u64 {
        self.log.push(entry)
    }

    /// Replaces the capture counters (called with the totals of the capture loop).
    pub fn set_counters(&self, counters: CaptureCounters) {
        *self.counters.lock().unwrap_or_else(|e| e.into_inner()) = counters;
    }

    pub fn counters(&self) -> CaptureCounters {
        *self.counters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Milliseconds since this state was made.
    pub fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// Feeds a live pipeline ([`crate::pipeline::run_live`]) into an agent: entries into its buffer,
/// progress into its counters.
pub struct LinkSink(pub Arc<AgentState>);

impl crate::pipeline::LiveSink for LinkSink {
    fn entry(&mut self, entry: Entry) {
        self.0.push(entry);
    }

    fn progress(&mut self, s: &crate::pipeline::LiveSummary) {
        self.0.set_counters(CaptureCounters {
            packets: s.capture.packets,
            bytes: s.capture.bytes,
            drops: s.capture.kernel_drops,
            entries: s.engine.entries,
            out_of_scope: s.out_of_scope,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_tags_are_eight_base32_characters_and_differ() {
        let a = run_tag().unwrap();
        let b = run_tag().unwrap();
        assert_eq!(a.len(), 8);
        assert!(a.bytes().all(|c| c.is_ascii_lowercase() || (b'2'..=b'7').contains(&c)), "{a}");
        assert_ne!(a, b, "40 random bits twice the same");
        let id = AgentIdentity::new_run("node-1").unwrap();
        assert_eq!(id.id_prefix, format!("node-1.{}", id.run));
    }
}
