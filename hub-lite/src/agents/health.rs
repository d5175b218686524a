//! What the hub knows about each agent, for `GET /api/v1/health`: connection state, the agent's
//! counters summed over its connections, and rates from consecutive `stats` messages.

use node_agent::link::protocol::AgentStats;

/// One agent's line of the health view (docs/api.md).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct AgentHealth {
    pub name: String,
    pub url: String,
    pub connected: bool,
    pub last_error: Option<String>,
    pub packets: u64,
    pub bytes: u64,
    pub drops: u64,
    pub entries: u64,
    pub entries_per_s: f64,
    pub packets_per_s: f64,
    pub reconnects: u64,
    /// The filters the agent acknowledged, joined with ` or ` (empty: everything passes).
    pub filter: String,
    /// Entries the agent sent to this hub, over all connections.
    pub sent: u64,
    /// Entries the agent's filters left out, over all connections.
    pub filtered_out: u64,
    /// Entries the agent evicted before sending (the hub read too slowly or was disconnected).
    pub missed: u64,
    /// Entries the hub received from this agent (after leaving out resent ones).
    pub received: u64,
    /// Packets the agent's capture scope left out (for the agent run).
    pub out_of_scope: u64,
    /// Addresses in the capture scope the agent acknowledged; `None`: everything is captured.
    pub scope: Option<u64>,
}

/// The mutable state behind [`AgentHealth`].
#[derive(Debug, Default)]
pub struct HealthState {
    pub view: AgentHealth,
    /// The agent's current run and entry id prefix, from its `hello`.
    pub run: Option<String>,
    pub id_prefix: Option<String>,
    /// The last stats of the current connection, and the sums of earlier connections.
    last: Option<AgentStats>,
    base_sent: u64,
    base_filtered_out: u64,
}

impl HealthState {
    pub fn new(name: &str, url: &str) -> Self {
        HealthState {
            view: AgentHealth { name: name.into(), url: url.into(), ..AgentHealth::default() },
            ..Self::default()
        }
    }

    /// A new connection said hello: counters of this connection start from zero.
    pub fn connected(&mut self, run: &str, id_prefix: &str) {
        if let Some(last) = self.last.take() {
            self.base_sent += last.sent;
            self.base_filtered_out += last.filtered_out;
        }
        if self.run.as_deref() != Some(run) {
            self.view.entries_per_s = 0.0;
            self.view.packets_per_s = 0.0;
        }
        self.run = Some(run.into());
        self.id_prefix = Some(id_prefix.into());
        self.view.connected = true;
        self.view.last_error = None;
    }

    pub fn disconnected(&mut self, error: Option<String>) {
        self.view.connected = false;
        self.view.entries_per_s = 0.0;
        self.view.packets_per_s = 0.0;
        if error.is_some() {
            self.view.last_error = error;
        }
    }

    /// Takes a `stats` message of the current connection.
    pub fn stats(&mut self, s: AgentStats) {
        if let Some(prev) = self.last {
            let ms = s.elapsed_ms.saturating_sub(prev.elapsed_ms);
            if ms > 0 {
                let rate = |now: u64, before: u64| now.saturating_sub(before) as f64 * 1000.0 / ms as f64;
                self.view.entries_per_s = rate(s.entries, prev.entries);
                self.view.packets_per_s = rate(s.packets, prev.packets);
            }
        }
        self.view.packets = s.packets;
        self.view.bytes = s.bytes;
        self.view.drops = s.drops;
        self.view.entries = s.entries;
        self.view.out_of_scope = s.out_of_scope;
        self.view.sent = self.base_sent + s.sent;
        self.view.filtered_out = self.base_filtered_out + s.filtered_out;
        self.last = Some(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(elapsed_ms: u64, packets: u64, entries: u64, sent: u64) -> AgentStats {
        AgentStats { elapsed_ms, packets, entries, sent, ..AgentStats::default() }
    }

    #[test]
    fn rates_come_from_the_agent_clock_and_sent_sums_over_connections() {
        let mut h = HealthState::new("n1", "ws://x");
        h.connected("r1", "n1.r1");
        h.stats(stats(1000, 100, 10, 10));
        assert_eq!((h.view.packets_per_s, h.view.sent), (0.0, 10));
        h.stats(stats(3000, 1100, 30, 25));
        assert_eq!((h.view.packets_per_s, h.view.entries_per_s, h.view.sent), (500.0, 10.0, 25));
        h.disconnected(Some("gone".into()));
        assert_eq!((h.view.connected, h.view.last_error.as_deref()), (false, Some("gone")));
        h.connected("r1", "n1.r1");
        assert_eq!(h.view.last_error, None);
        h.stats(stats(9000, 1500, 40, 4));
        assert_eq!(h.view.sent, 29, "25 sent on the first connection and 4 on the second");
    }
}
