//! Pcap exports for the hub: the stored packets of some connections, read from the packet ring's
//! files on a blocking thread and sent on as chunks of at most [`CHUNK`] bytes, never more than the
//! hub's `max_bytes` in all.

use super::protocol::{pcap_chunk, AgentMessage, PcapConnection};
use super::state::PacketStore;
use crate::storage::{export_connections, ConnectionFilter};
use std::io::{self, Write};
use tokio::sync::mpsc;

/// Bytes of pcapng per binary message.
pub const CHUNK: usize = 256 * 1024;

/// What an export hands to its connection: binary chunks, then one closing text message.
#[derive(Debug)]
pub enum PcapOutput {
    Chunk(Vec<u8>),
    Done(AgentMessage),
}

/// Collects pcapng bytes into chunks for one request and refuses to go past `max_bytes`.
struct ChunkWriter {
    id: u64,
    buf: Vec<u8>,
    total: u64,
    max_bytes: u64,
    out: mpsc::Sender<PcapOutput>,
}

impl ChunkWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = pcap_chunk(self.id, &self.buf);
        self.buf.clear();
        self.out
            .blocking_send(PcapOutput::Chunk(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the hub connection closed"))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.total.saturating_add(data.len() as u64) > self.max_bytes {
            return Err(io::Error::other(format!("the capture is larger than the limit of {} bytes", self.max_bytes)));
        }
        self.total += data.len() as u64;
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// Exports `connections` from the agent's packet files (blocking; run it off the async threads).
/// Sends the data chunks and then `pcap_end` or `pcap_error` to `out`.
pub fn export(
    packets: PacketStore,
    id: u64,
    connections: &[PcapConnection],
    max_bytes: u64,
    out: mpsc::Sender<PcapOutput>,
) {
    let done = match run(packets, id, connections, max_bytes, out.clone()) {
        Ok((packets, bytes)) => AgentMessage::PcapEnd { id, packets, bytes },
        Err(error) => AgentMessage::PcapError { id, error },
    };
    // The connection may have closed meanwhile; then nobody waits for the answer.
    let _ = out.blocking_send(PcapOutput::Done(done));
}

fn run(
    packets: PacketStore,
    id: u64,
    connections: &[PcapConnection],
    max_bytes: u64,
    out: mpsc::Sender<PcapOutput>,
) -> Result<(u64, u64), String> {
    let files = packets.files()?;
    let filters: Vec<ConnectionFilter> = connections.iter().map(|&c| c.into()).collect();
    let mut writer = ChunkWriter { id, buf: Vec::with_capacity(CHUNK), total: 0, max_bytes, out };
    let packets = export_connections(files.iter().map(|p| p.as_path()), &filters, &mut writer)
        .map_err(|e| format!("exporting packets: {e}"))?;
    Ok((packets, writer.total))
}
