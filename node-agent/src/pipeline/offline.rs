//! Dissecting capture files. Several files are merged by packet time, as if captured together.

use super::error::PipelineError;
use crate::engine::{Engine, EngineConfig, EngineStats};
use crate::entry::Entry;
use crate::scope::{keeps_frame, PacketScope};
use crate::source::file::{CaptureFile, FileFormat};
use crate::source::{LinkType, RawPacket, SourceStats};
use crate::time::Timestamp;
use std::path::PathBuf;

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct OfflineSummary {
    pub source: SourceStats,
    pub engine: EngineStats,
    /// Packets the scope left out (see [`run_files_scoped`]).
    pub out_of_scope: u64,
}

/// What a run over files found, and the error that ended it early, if one did.
#[derive(Debug)]
pub struct OfflineRun {
    pub summary: OfflineSummary,
    pub error: Option<PipelineError>,
}

/// Dissects `paths` and hands every entry to `on_entry`. All files are opened before any packet is
/// read, so a missing file stops the run before output starts. A file that turns out damaged part
/// way yields everything before the damage; the error is then reported after the engine is
/// flushed, together with what was found.
pub fn run_files(paths: &[PathBuf], config: EngineConfig, on_entry: &mut dyn FnMut(Entry)) -> OfflineRun {
    run_files_scoped(paths, config, None, on_entry)
}

/// [`run_files`], keeping only the packets `scope` keeps (judged by their IP addresses before the
/// engine sees them, as the live pipeline does); the others are only counted.
pub fn run_files_scoped(
    paths: &[PathBuf],
    config: EngineConfig,
    scope: Option<&dyn PacketScope>,
    on_entry: &mut dyn FnMut(Entry),
) -> OfflineRun {
    let mut files = Vec::with_capacity(paths.len());
    for p in paths {
        match CaptureFile::open(p) {
            Ok(f) => files.push(f),
            Err(e) => return OfflineRun { summary: OfflineSummary::default(), error: Some(PipelineError::Capture(e)) },
        }
    }
    // A single classic pcap file has one capture point: no copies across interfaces to drop.
    let single_point = files.len() == 1 && files[0].format() == FileFormat::Pcap;
    let mut engine = Engine::new(EngineConfig { dedup: config.dedup && !single_point, ..config });
    let mut run = Run { engine: &mut engine, scope, out_of_scope: 0 };
    let result = if files.len() == 1 {
        run_single(&mut files[0], &mut run, on_entry)
    } else {
        run_merged(&mut files, &mut run, on_entry)
    };
    let out_of_scope = run.out_of_scope;
    engine.finish(on_entry);
    let mut source = SourceStats::default();
    for f in &files {
        let s = f.stats();
        source.packets += s.packets;
        source.bytes += s.bytes;
    }
    OfflineRun { summary: OfflineSummary { source, engine: engine.stats(), out_of_scope }, error: result.err() }
}

/// The engine of a run and the scope in front of it.
struct Run<'a> {
    engine: &'a mut Engine,
    scope: Option<&'a dyn PacketScope>,
    out_of_scope: u64,
}

impl Run<'_> {
    fn process(&mut self, raw: &RawPacket<'_>, on_entry: &mut dyn FnMut(Entry)) {
        if keeps_frame(self.scope, raw) {
            self.engine.process(raw, on_entry);
        } else {
            self.out_of_scope += 1;
        }
    }
}

fn run_single(file: &mut CaptureFile, run: &mut Run<'_>, on_entry: &mut dyn FnMut(Entry)) -> Result<(), PipelineError> {
    while let Some(next) = file.next_packet() {
        let raw = next.map_err(PipelineError::Capture)?;
        run.process(&raw, on_entry);
    }
    Ok(())
}

/// A packet copied out of its file's buffer, so that one packet of each file can wait at once.
struct Pending {
    ts: Timestamp,
    link_type: LinkType,
    capture_point: u32,
    orig_len: u32,
    data: Vec<u8>,
}

fn next_owned(file: &mut CaptureFile, file_index: usize, buf: Vec<u8>) -> Result<Option<Pending>, PipelineError> {
    match file.next_packet() {
        None => Ok(None),
        Some(Err(e)) => Err(PipelineError::Capture(e)),
        Some(Ok(raw)) => {
            let mut data = buf;
            data.clear();
            data.extend_from_slice(raw.data);
            // Capture points of different files are different places even when their ids agree.
            let capture_point = raw.capture_point.wrapping_add((file_index as u32) << 16);
            Ok(Some(Pending { ts: raw.ts, link_type: raw.link_type, capture_point, orig_len: raw.orig_len, data }))
        }
    }
}

fn run_merged(
    files: &mut [CaptureFile],
    run: &mut Run<'_>,
    on_entry: &mut dyn FnMut(Entry),
) -> Result<(), PipelineError> {
    let mut heads: Vec<Option<Pending>> = Vec::with_capacity(files.len());
    for (i, f) in files.iter_mut().enumerate() {
        heads.push(next_owned(f, i, Vec::new())?);
    }
    loop {
        let Some(i) = heads.iter().enumerate().filter_map(|(i, h)| h.as_ref().map(|p| (p.ts, i))).min().map(|(_, i)| i)
        else {
            return Ok(());
        };
        let Some(p) = heads[i].take() else { return Ok(()) };
        let raw = RawPacket {
            ts: p.ts,
            link_type: p.link_type,
            capture_point: p.capture_point,
            data: &p.data,
            orig_len: p.orig_len,
        };
        run.process(&raw, on_entry);
        heads[i] = next_owned(&mut files[i], i, p.data)?;
    }
}
