//! Storage of captured packets: a size-limited ring of pcapng files on disk, oldest out first, and
//! the export of the packets behind any recent entry.

mod export;
mod pcapng_writer;
mod ring;

pub use export::{export_connection, export_connections, ConnectionFilter, ExportError};
pub use pcapng_writer::PcapngWriter;
pub use ring::{PcapRing, RingStats, StorageError};
