//! Engine counters.

use crate::reassembly::ReassemblyStats;
use serde::Serialize;

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct EngineStats {
    pub packets: u64,
    pub bytes: u64,
    pub ignored_packets: u64,
    pub malformed_packets: u64,
    pub duplicate_packets: u64,
    pub tcp_flows_total: u64,
    pub tcp_flows_active: u64,
    pub tcp_flows_timed_out: u64,
    pub tcp_flows_unrecognised: u64,
    pub udp_flows_total: u64,
    pub udp_flows_active: u64,
    pub udp_flows_unrecognised: u64,
    /// New flows ignored because the flow table was full.
    pub flows_rejected: u64,
    /// Bytes of out-of-order data held right now.
    pub memory_buffered: u64,
    pub entries: u64,
    /// TCP segments held back because they answered data of the other direction not yet delivered.
    pub segments_held_for_ack_order: u64,
    /// Connections handed from one protocol to the next (HTTP Upgrade, CONNECT).
    pub handoffs: u64,
    pub reassembly: ReassemblyStats,
}
