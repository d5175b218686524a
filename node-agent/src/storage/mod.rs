//! Storage of captured packets: a size-limited ring of pcapng files on disk, oldest out first, so
//! that the packets behind any recent entry can be exported later.

mod pcapng_writer;
mod ring;

pub use pcapng_writer::PcapngWriter;
pub use ring::{PcapRing, RingStats, StorageError};
