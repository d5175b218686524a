//! A directory of pcapng files that together stay under a size limit: packets are appended to the
//! newest file; when it reaches its share of the limit a new one starts, and the oldest files are
//! deleted while the total is over the limit.

use super::pcapng_writer::PcapngWriter;
use crate::source::RawPacket;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("packet storage {path}: {op}: {source}")]
    Io { path: PathBuf, op: &'static str, source: io::Error },
    #[error("packet storage limit {limit} bytes is too small (at least {minimum} bytes)")]
    LimitTooSmall { limit: u64, minimum: u64 },
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RingStats {
    pub packets_written: u64,
    pub bytes_on_disk: u64,
    pub files_deleted: u64,
}

/// How many files the limit is split into: the oldest tenth goes at a time.
const FILES_PER_RING: u64 = 10;
const MINIMUM_LIMIT: u64 = 64 * 1024;

pub struct PcapRing {
    dir: PathBuf,
    limit: u64,
    file_limit: u64,
    files: VecDeque<(PathBuf, u64)>,
    current: Option<PcapngWriter<BufWriter<File>>>,
    next_index: u64,
    stats: RingStats,
}

impl PcapRing {
    /// Uses `dir` (created if needed) for files named `packets-NNNNNN.pcapng`; existing files of that
    /// name from an earlier run are removed.
    pub fn create(dir: &Path, limit: u64) -> Result<PcapRing, StorageError> {
        if limit < MINIMUM_LIMIT {
            return Err(StorageError::LimitTooSmall { limit, minimum: MINIMUM_LIMIT });
        }
        let io_err = |op| move |source| StorageError::Io { path: dir.to_path_buf(), op, source };
        std::fs::create_dir_all(dir).map_err(io_err("create directory"))?;
        for entry in std::fs::read_dir(dir).map_err(io_err("list directory"))?.flatten() {
            if Self::is_ring_file(&entry.path()) {
                std::fs::remove_file(entry.path()).map_err(io_err("remove old ring file"))?;
            }
        }
        Ok(PcapRing {
            dir: dir.to_path_buf(),
            limit,
            file_limit: (limit / FILES_PER_RING).max(MINIMUM_LIMIT / FILES_PER_RING),
            files: VecDeque::new(),
            current: None,
            next_index: 0,
            stats: RingStats::default(),
        })
    }

    fn is_ring_file(p: &Path) -> bool {
        Self::file_index(p).is_some()
    }

    /// The `NNNNNN` of `packets-NNNNNN.pcapng`.
    fn file_index(p: &Path) -> Option<u64> {
        let name = p.file_name()?.to_str()?;
        name.strip_prefix("packets-")?.strip_suffix(".pcapng")?.parse().ok()
    }

    /// The ring files in `dir`, oldest first, as another process (or thread) sees them on disk: for
    /// exporting while the ring is written elsewhere. The newest may end in a partly written packet.
    pub fn list_files(dir: &Path) -> Result<Vec<PathBuf>, StorageError> {
        let io_err = |source| StorageError::Io { path: dir.to_path_buf(), op: "list directory", source };
        let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
            .map_err(io_err)?
            .flatten()
            .filter_map(|e| Self::file_index(&e.path()).map(|i| (i, e.path())))
            .collect();
        files.sort();
        Ok(files.into_iter().map(|(_, p)| p).collect())
    }

    pub fn write(&mut self, p: &RawPacket<'_>) -> Result<(), StorageError> {
        if self.current.as_ref().is_none_or(|w| w.bytes_written() >= self.file_limit) {
            self.rotate()?;
        }
        let Some(writer) = self.current.as_mut() else { return Ok(()) };
        let before = writer.bytes_written();
        writer.write_packet(p).map_err(|source| StorageError::Io {
            path: self.files.back().map(|f| f.0.clone()).unwrap_or_default(),
            op: "write packet",
            source,
        })?;
        let added = writer.bytes_written() - before;
        if let Some(last) = self.files.back_mut() {
            last.1 += added;
        }
        self.stats.packets_written += 1;
        self.stats.bytes_on_disk += added;
        self.enforce_limit()
    }

    fn rotate(&mut self) -> Result<(), StorageError> {
        self.flush()?;
        self.next_index += 1;
        let path = self.dir.join(format!("packets-{:06}.pcapng", self.next_index));
        let file = File::create(&path).map_err(|source| StorageError::Io {
            path: path.clone(),
            op: "create ring file",
            source,
        })?;
        let writer = PcapngWriter::new(BufWriter::with_capacity(256 * 1024, file))
            .map_err(|source| StorageError::Io { path: path.clone(), op: "write section header", source })?;
        let size = writer.bytes_written();
        self.stats.bytes_on_disk += size;
        self.files.push_back((path, size));
        self.current = Some(writer);
        self.enforce_limit()
    }

    fn enforce_limit(&mut self) -> Result<(), StorageError> {
        while self.stats.bytes_on_disk > self.limit && self.files.len() > 1 {
            let Some((path, size)) = self.files.pop_front() else { break };
            std::fs::remove_file(&path).map_err(|source| StorageError::Io {
                path: path.clone(),
                op: "remove oldest ring file",
                source,
            })?;
            self.stats.bytes_on_disk = self.stats.bytes_on_disk.saturating_sub(size);
            self.stats.files_deleted += 1;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), StorageError> {
        if let Some(w) = self.current.as_mut() {
            w.flush().map_err(|source| StorageError::Io {
                path: self.files.back().map(|f| f.0.clone()).unwrap_or_default(),
                op: "flush",
                source,
            })?;
        }
        Ok(())
    }

    /// The ring's files, oldest first (flush first to make the newest complete on disk).
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(|(p, _)| p.as_path())
    }

    pub fn stats(&self) -> RingStats {
        self.stats
    }
}
