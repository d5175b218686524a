//! Engine settings.

use crate::dissect::settings::ProtocolSettings;
use crate::reassembly::Limits;

#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Prefix of entry ids, unique per engine within a session (e.g. the node name).
    pub source_id: String,
    /// A TCP connection with no packet for this long is closed (its pending requests are reported).
    pub tcp_idle_timeout_nanos: u64,
    /// A connection whose FINs or RST were seen is closed after this long without packets, even if
    /// holes kept the reassembler from reaching its end.
    pub tcp_closing_timeout_nanos: u64,
    /// A UDP flow with no packet for this long and nothing pending is forgotten.
    pub udp_idle_timeout_nanos: u64,
    /// How often (in capture time) idle flows and request timeouts are checked.
    pub sweep_interval_nanos: u64,
    /// Flows tracked at once per transport; new flows beyond it are counted and ignored.
    pub max_flows: usize,
    /// Out-of-order bytes held by all TCP connections together.
    pub memory_limit: usize,
    pub reassembly: Limits,
    /// Bytes of a direction's first data kept while no dissector has decided.
    pub max_probe_bytes: usize,
    /// Datagrams of a UDP flow looked at before giving up on recognising it.
    pub max_probe_datagrams: u32,
    /// Drop copies of one IP packet seen at different capture points within `dedup_window_nanos`.
    /// Off only where a single capture point is certain (one classic pcap file).
    pub dedup: bool,
    pub dedup_window_nanos: u64,
    pub dedup_capacity: usize,
    /// Which protocols are dissected, and their limits.
    pub protocols: ProtocolSettings,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            source_id: "e".to_string(),
            tcp_idle_timeout_nanos: 120 * 1_000_000_000,
            tcp_closing_timeout_nanos: 1_000_000_000,
            udp_idle_timeout_nanos: 30 * 1_000_000_000,
            sweep_interval_nanos: 1_000_000_000,
            max_flows: 262_144,
            memory_limit: 256 << 20,
            reassembly: Limits::default(),
            max_probe_bytes: 8 * 1024,
            max_probe_datagrams: 8,
            dedup: true,
            dedup_window_nanos: 50_000_000,
            dedup_capacity: 65_536,
            protocols: ProtocolSettings::default(),
        }
    }
}
