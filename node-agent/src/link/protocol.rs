//! The messages of the agent-to-hub protocol (docs/agent-protocol.md), both directions. Both ends
//! use these types, so they cannot drift apart. Every message is a JSON text message tagged by
//! `"type"`, except pcap data, which travels in binary messages (see [`pcap_chunk`]).

use crate::entry::Entry;
use crate::resolve::{NameKey, NameRecord};
use crate::storage::ConnectionFilter;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};

/// The protocol version in `hello`; a hub refuses an agent that speaks another.
pub const PROTOCOL_VERSION: u32 = 1;
/// The path the agent serves the protocol on.
pub const LINK_PATH: &str = "/link/v1";
/// Largest message the agent accepts from the hub (a pcap request for 10,000 connections fits).
pub const MAX_HUB_MESSAGE: usize = 4 * 1024 * 1024;
/// Largest message the hub accepts from an agent (a batch, or one entry with two 1 MiB bodies).
pub const MAX_AGENT_MESSAGE: usize = 64 * 1024 * 1024;
/// Most connections in one pcap request.
pub const MAX_PCAP_CONNECTIONS: usize = 10_000;
/// A `names` message of the hub stops growing once its records' JSON passes this many bytes.
pub const MAX_NAMES_MESSAGE_BYTES: usize = 1024 * 1024;
/// Most filters the hub pushes at once; beyond that it pushes none (everything passes).
pub const MAX_FILTERS: usize = 32;

/// One entry and its agent sequence number (1, 2, ... within an agent run, counting every entry
/// the agent produced, so the numbers of entries that did not pass the filter are skipped).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeqEntry {
    pub seq: u64,
    pub entry: Entry,
}

/// The agent's counters, sent every second. Capture counters are for the whole agent run;
/// `sent`, `filtered_out` and `missed` are for this connection only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentStats {
    /// Milliseconds since the agent started (rates are computed over this clock).
    pub elapsed_ms: u64,
    pub packets: u64,
    pub bytes: u64,
    /// Packets the kernel dropped.
    pub drops: u64,
    /// Entries the engine produced.
    pub entries: u64,
    /// Entries sent on this connection.
    pub sent: u64,
    /// Entries this connection's filters left out.
    pub filtered_out: u64,
    /// Entries evicted from the agent's buffer before this connection could send them.
    pub missed: u64,
    /// Entries buffered in the agent now.
    pub buffered: u64,
    /// Packets the capture scope left out (for the run).
    #[serde(default)]
    pub out_of_scope: u64,
}

/// Agent to hub.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentMessage {
    /// The first message of a connection.
    Hello {
        protocol: u32,
        /// The agent's version.
        version: String,
        /// The agent's name (the node name in a cluster).
        agent: String,
        /// A random tag of this agent process; sequence numbers are only comparable within one run.
        run: String,
        /// The prefix of the entry ids of this run (`<prefix>-<number>`).
        id_prefix: String,
        /// Sequence number of the oldest buffered entry (the next one to be produced when none is).
        first_seq: u64,
        /// Sequence number of the newest entry produced (0 when none).
        last_seq: u64,
    },
    Entries {
        entries: Vec<SeqEntry>,
    },
    /// Entries that passed the filters but were evicted from the buffer before they were sent.
    Missed {
        count: u64,
    },
    Stats(AgentStats),
    /// The acknowledgement of `subscribe` or `filter`: the filters in force, or why they are not.
    Filter {
        id: u64,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        column: Option<usize>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// The acknowledgement of `capture`: the scope in force, or why it is not.
    Capture {
        id: u64,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A pcap export finished; its data came before in binary messages.
    PcapEnd {
        id: u64,
        packets: u64,
        bytes: u64,
    },
    PcapError {
        id: u64,
        error: String,
    },
    /// A message from the hub that the agent could not take; the connection stays open.
    Error {
        error: String,
    },
}

impl AgentMessage {
    /// Parses an agent message: the same result as `serde_json::from_str`, faster for `entries`.
    /// An `entries` message whose `"type"` comes first (as [`write_entries_message`] writes it) is
    /// read straight into its entries; serde reads internally tagged enums by first building the
    /// whole message as an intermediate tree, which was most of the hub's CPU time per entry. Any
    /// other message, or `type` elsewhere, takes the general way.
    pub fn from_json(text: &str) -> Result<AgentMessage, serde_json::Error> {
        #[derive(Deserialize)]
        struct EntriesMessage {
            /// Read so that a second `"type"` is refused as a duplicate, as the general way does.
            #[serde(rename = "type")]
            _type: serde::de::IgnoredAny,
            entries: Vec<SeqEntry>,
        }
        if text.starts_with(ENTRIES_MESSAGE_START) {
            let m: EntriesMessage = serde_json::from_str(text)?;
            return Ok(AgentMessage::Entries { entries: m.entries });
        }
        serde_json::from_str(text)
    }
}

/// How [`write_entries_message`] starts a message.
const ENTRIES_MESSAGE_START: &str = r#"{"type":"entries","#;

/// Hub to agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HubMessage {
    /// The first message of the hub, answering `hello`: where to start and what to send.
    Subscribe {
        /// The run the hub last received from; when it is not the agent's current run (or absent),
        /// the agent starts at its oldest buffered entry.
        #[serde(default)]
        run: Option<String>,
        /// The last sequence number of `run` the hub has; the agent sends what follows.
        #[serde(default)]
        after: u64,
        /// Send entries matching any of these (docs/filter.md); none: everything.
        #[serde(default)]
        filters: Vec<String>,
        /// Replace the values of credential headers by `[REDACTED]` before filtering and sending.
        #[serde(default)]
        redact: bool,
        /// Echoed in the `filter` acknowledgement.
        #[serde(default)]
        id: u64,
    },
    /// New filters, for entries not sent yet.
    Filter { id: u64, filters: Vec<String> },
    /// Names of endpoints. With `reset`, the records replace the agent's whole table; without, the
    /// keys in `remove` are forgotten and then `set` is applied. With `more`, further `names`
    /// messages continue this change, which takes effect (as one) at the message without `more`.
    Names {
        #[serde(default)]
        reset: bool,
        #[serde(default)]
        more: bool,
        #[serde(default)]
        set: Vec<NameRecord>,
        #[serde(default)]
        remove: Vec<NameKey>,
    },
    /// The capture scope: with `all`, every packet; otherwise only packets from or to one of
    /// `addresses` (at most [`crate::scope::MAX_SCOPE_ADDRESSES`]); either way not the packets
    /// from or to one of `exclude` (as many at most).
    Capture {
        id: u64,
        #[serde(default)]
        all: bool,
        #[serde(default)]
        addresses: Vec<IpAddr>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        exclude: Vec<IpAddr>,
    },
    /// Export the stored packets of these connections as pcapng.
    Pcap {
        id: u64,
        connections: Vec<PcapConnection>,
        /// Stop with an error once the pcapng would be larger than this.
        max_bytes: u64,
    },
}

/// One connection to export: both directions between `a` and `b` from `from` to `to` (inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PcapConnection {
    pub a: SocketAddr,
    pub b: SocketAddr,
    pub from: Timestamp,
    pub to: Timestamp,
}

impl From<PcapConnection> for ConnectionFilter {
    fn from(c: PcapConnection) -> Self {
        ConnectionFilter { a: (c.a.ip(), c.a.port()), b: (c.b.ip(), c.b.port()), from: c.from, to: c.to }
    }
}

impl PcapConnection {
    /// The connection of an entry, from its first request byte minus `margin_nanos` to its last
    /// response byte (or its first request byte, without response) plus `margin_nanos`.
    pub fn of_entry(entry: &Entry, margin_nanos: u64) -> PcapConnection {
        let end = entry.ts.saturating_add_nanos(entry.elapsed_us.unwrap_or(0).saturating_mul(1_000));
        PcapConnection {
            a: SocketAddr::new(entry.src.ip, entry.src.port),
            b: SocketAddr::new(entry.dst.ip, entry.dst.port),
            from: Timestamp(entry.ts.0.saturating_sub(margin_nanos)),
            to: end.saturating_add_nanos(margin_nanos),
        }
    }
}

/// A binary message of pcap data: the request id (8 bytes, big endian), then pcapng bytes.
pub fn pcap_chunk(id: u64, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + data.len());
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(data);
    out
}

/// Splits a binary message into its request id and data; `None` when it is shorter than the id.
pub fn parse_pcap_chunk(message: &[u8]) -> Option<(u64, &[u8])> {
    let (id, data) = message.split_first_chunk::<8>()?;
    Some((u64::from_be_bytes(*id), data))
}

/// Writes an `entries` message for borrowed entries, byte for byte what serializing
/// [`AgentMessage::Entries`] gives, without cloning the entries.
pub fn write_entries_message(entries: &[(u64, &Entry)], out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    #[derive(Serialize)]
    struct Borrowed<'a> {
        seq: u64,
        entry: &'a Entry,
    }
    out.extend_from_slice(ENTRIES_MESSAGE_START.as_bytes());
    out.extend_from_slice(br#""entries":["#);
    for (i, (seq, entry)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, &Borrowed { seq: *seq, entry })?;
    }
    out.extend_from_slice(b"]}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{Endpoint, Transport};

    fn entry() -> Entry {
        Entry {
            id: "n1.abc-3".into(),
            protocol: "dns".into(),
            transport: Transport::Udp,
            ts: Timestamp::from_secs_nanos(1_700_000_000, 5),
            elapsed_us: Some(70),
            src: Endpoint::new("10.0.0.1".parse().unwrap(), 5353),
            dst: Endpoint::new("10.0.0.2".parse().unwrap(), 53),
            summary: "A x.test".into(),
            status: Some("NOERROR".into()),
            outcome: Default::default(),
            tls: false,
            request_size: 30,
            response_size: 46,
            request: serde_json::json!({"id": 1}),
            response: Some(serde_json::json!({"rcode": "NOERROR"})),
            notes: vec!["a note".into()],
        }
    }

    #[test]
    fn borrowed_entries_message_equals_the_owned_one() {
        let e = entry();
        let mut out = Vec::new();
        write_entries_message(&[(3, &e), (9, &e)], &mut out).unwrap();
        let owned = AgentMessage::Entries {
            entries: vec![SeqEntry { seq: 3, entry: e.clone() }, SeqEntry { seq: 9, entry: e.clone() }],
        };
        assert_eq!(String::from_utf8(out.clone()).unwrap(), serde_json::to_string(&owned).unwrap());
        assert_eq!(serde_json::from_slice::<AgentMessage>(&out).unwrap(), owned);
    }

    /// The fast way must agree with serde's general way on every message it could see: entries
    /// as written, entries with `type` elsewhere, other messages, and broken or ambiguous ones.
    #[test]
    fn from_json_agrees_with_the_general_parse() {
        let e = entry();
        let mut written = Vec::new();
        write_entries_message(&[(3, &e), (9, &e)], &mut written).unwrap();
        let written = String::from_utf8(written).unwrap();
        let entry_json = serde_json::to_string(&e).unwrap();
        let texts = [
            written.clone(),
            format!(r#"{{"entries":[{{"seq":4,"entry":{entry_json}}}],"type":"entries"}}"#),
            r#"{"type":"entries","entries":[]}"#.to_string(),
            serde_json::to_string(&AgentMessage::Missed { count: 7 }).unwrap(),
            serde_json::to_string(&AgentMessage::Stats(AgentStats { sent: 2, ..AgentStats::default() })).unwrap(),
            r#"{"type":"entries","entries":[{"seq":1}]}"#.to_string(),
            r#"{"type":"entries","entries":[],"type":"missed"}"#.to_string(),
            r#"{"type":"entries","entries":[]"#.to_string(),
            r#"{"type":"entries","count":3}"#.to_string(),
            r#"{"type":"entries","entries":[], "extra": {"a": [1, 2]}}"#.to_string(),
        ];
        for text in &texts {
            let general = serde_json::from_str::<AgentMessage>(text).map_err(|_| ());
            assert_eq!(AgentMessage::from_json(text).map_err(|_| ()), general, "{text}");
        }
        let Ok(AgentMessage::Entries { entries }) = AgentMessage::from_json(&written) else { panic!("{written}") };
        assert_eq!(entries.iter().map(|s| s.seq).collect::<Vec<_>>(), vec![3, 9]);
        assert_eq!(entries[1].entry, e);
    }

    #[test]
    fn messages_have_the_documented_shape() {
        let m: HubMessage = serde_json::from_str(r#"{"type":"subscribe","filters":["dns"],"redact":true}"#).unwrap();
        assert_eq!(m, HubMessage::Subscribe { run: None, after: 0, filters: vec!["dns".into()], redact: true, id: 0 });
        let m: HubMessage = serde_json::from_str(
            r#"{"type":"pcap","id":4,"max_bytes":100,"connections":[{"a":"10.0.0.1:5353","b":"[::1]:53",
                "from":"2023-11-14T22:13:20Z","to":"2023-11-14T22:13:21.5Z"}]}"#,
        )
        .unwrap();
        let HubMessage::Pcap { id: 4, connections, max_bytes: 100 } = m else { panic!("{m:?}") };
        assert_eq!(connections[0].b, "[::1]:53".parse().unwrap());
        assert_eq!(connections[0].to, Timestamp::from_secs_nanos(1_700_000_001, 500_000_000));
        let stats =
            serde_json::to_value(AgentMessage::Stats(AgentStats { packets: 5, ..AgentStats::default() })).unwrap();
        assert_eq!(stats["type"], "stats");
        assert_eq!(stats["packets"], 5);
        let ack = serde_json::to_string(&AgentMessage::Filter { id: 2, ok: true, column: None, error: None }).unwrap();
        assert_eq!(ack, r#"{"type":"filter","id":2,"ok":true}"#);
    }

    #[test]
    fn pcap_chunks_carry_their_id_and_short_ones_are_refused() {
        let m = pcap_chunk(0x0102_0304_0506_0708, b"abc");
        assert_eq!(parse_pcap_chunk(&m), Some((0x0102_0304_0506_0708, &b"abc"[..])));
        assert_eq!(parse_pcap_chunk(&m[..8]), Some((0x0102_0304_0506_0708, &b""[..])));
        assert_eq!(parse_pcap_chunk(&m[..7]), None);
    }

    #[test]
    fn an_entry_connection_spans_request_to_response_plus_margin() {
        let c = PcapConnection::of_entry(&entry(), 1_000_000_000);
        assert_eq!(c.from, Timestamp::from_secs_nanos(1_699_999_999, 5));
        assert_eq!(c.to, Timestamp::from_secs_nanos(1_700_000_001, 70_005));
        assert_eq!(c.a, "10.0.0.1:5353".parse().unwrap());
    }
}
