//! Pcap exports on the hub side: requests waiting for their agent's answer, the data gathered for
//! each (never more than the limit), and the errors callers map to HTTP statuses.

use node_agent::link::protocol::PcapConnection;
use std::collections::HashMap;
use tokio::sync::oneshot;

/// Exports one agent connection has under way at once; more are refused as busy.
pub const MAX_PENDING: usize = 4;

/// A finished export: one pcapng section per agent asked.
#[derive(Debug, Default)]
pub struct PcapExport {
    pub data: Vec<u8>,
    /// Packets in `data`; 0 means the packets are no longer stored (or never were).
    pub packets: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PcapError {
    #[error("no connected agent produced entry {0}")]
    UnknownEntry(String),
    #[error("agent {agent} is not connected")]
    Disconnected { agent: String },
    #[error("agent {agent} has {MAX_PENDING} exports under way; try again later")]
    Busy { agent: String },
    #[error("the capture from agent {agent} is larger than the limit of {limit} bytes")]
    TooLarge { agent: String, limit: u64 },
    #[error("agent {agent}: {error}")]
    Agent { agent: String, error: String },
}

/// A request from the API to one agent's connection task.
pub(crate) struct PcapRequest {
    pub connections: Vec<PcapConnection>,
    pub reply: oneshot::Sender<Result<PcapExport, PcapError>>,
}

struct Pending {
    data: Vec<u8>,
    reply: oneshot::Sender<Result<PcapExport, PcapError>>,
}

/// The exports one agent connection waits for.
pub(crate) struct PendingExports {
    agent: String,
    limit: u64,
    next_id: u64,
    pending: HashMap<u64, Pending>,
}

impl PendingExports {
    pub fn new(agent: &str, limit: u64) -> Self {
        PendingExports { agent: agent.into(), limit, next_id: 0, pending: HashMap::new() }
    }

    /// Registers a request; returns its id, or answers it at once when too many are under way.
    pub fn start(&mut self, reply: oneshot::Sender<Result<PcapExport, PcapError>>) -> Option<u64> {
        if self.pending.len() >= MAX_PENDING {
            let _ = reply.send(Err(PcapError::Busy { agent: self.agent.clone() }));
            return None;
        }
        self.next_id += 1;
        self.pending.insert(self.next_id, Pending { data: Vec::new(), reply });
        Some(self.next_id)
    }

    /// Adds data of export `id`; past the limit the export fails. Data of unknown (finished or
    /// failed) exports is dropped.
    pub fn data(&mut self, id: u64, data: &[u8]) {
        let Some(p) = self.pending.get_mut(&id) else { return };
        if (p.data.len() + data.len()) as u64 > self.limit {
            self.fail(id, PcapError::TooLarge { agent: self.agent.clone(), limit: self.limit });
            return;
        }
        p.data.extend_from_slice(data);
    }

    pub fn finish(&mut self, id: u64, packets: u64) {
        if let Some(p) = self.pending.remove(&id) {
            let _ = p.reply.send(Ok(PcapExport { data: p.data, packets }));
        }
    }

    pub fn fail(&mut self, id: u64, error: PcapError) {
        if let Some(p) = self.pending.remove(&id) {
            let _ = p.reply.send(Err(error));
        }
    }

    pub fn agent_error(&mut self, id: u64, error: String) {
        let agent = self.agent.clone();
        self.fail(id, PcapError::Agent { agent, error });
    }

    /// The connection ended: every waiting export fails.
    pub fn disconnected(&mut self) {
        for (_, p) in self.pending.drain() {
            let _ = p.reply.send(Err(PcapError::Disconnected { agent: self.agent.clone() }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_gathered_per_export_and_bounded() {
        let mut p = PendingExports::new("n1", 10);
        let (tx1, mut rx1) = oneshot::channel();
        let (tx2, mut rx2) = oneshot::channel();
        let a = p.start(tx1).unwrap();
        let b = p.start(tx2).unwrap();
        p.data(a, b"hello");
        p.data(b, b"0123456789");
        p.data(a, b"world");
        p.data(b, b"x");
        p.data(99, b"stray");
        p.finish(a, 2);
        let got = rx1.try_recv().unwrap().unwrap();
        assert_eq!((got.data.as_slice(), got.packets), (&b"helloworld"[..], 2));
        assert_eq!(rx2.try_recv().unwrap().unwrap_err(), PcapError::TooLarge { agent: "n1".into(), limit: 10 });
        p.finish(b, 1); // after the failure: nothing to answer
    }

    #[test]
    fn too_many_exports_are_busy_and_a_lost_connection_fails_the_rest() {
        let mut p = PendingExports::new("n1", 100);
        let mut waiting = Vec::new();
        for _ in 0..MAX_PENDING {
            let (tx, rx) = oneshot::channel();
            assert!(p.start(tx).is_some());
            waiting.push(rx);
        }
        let (tx, mut rx) = oneshot::channel();
        assert_eq!(p.start(tx), None);
        assert_eq!(rx.try_recv().unwrap().unwrap_err(), PcapError::Busy { agent: "n1".into() });
        p.disconnected();
        for mut rx in waiting {
            assert_eq!(rx.try_recv().unwrap().unwrap_err(), PcapError::Disconnected { agent: "n1".into() });
        }
    }
}
