//! Writing entries to stdout on a thread of its own, so formatting never slows the engine.

mod table;

use crate::cli::OutputFormat;
use node_agent::Entry;
use std::io::{self, Write};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

enum Message {
    Entries(Vec<Entry>),
    Flush,
}

pub struct EntryOutput {
    tx: Option<SyncSender<Message>>,
    writer: Option<JoinHandle<io::Result<u64>>>,
    batch: Vec<Entry>,
    batch_size: usize,
}

impl EntryOutput {
    /// Starts the writer thread. `batch_size` entries are handed over at a time.
    pub fn spawn(format: OutputFormat, out: Box<dyn Write + Send>, batch_size: usize) -> EntryOutput {
        let (tx, rx) = sync_channel::<Message>(16);
        let writer = std::thread::Builder::new()
            .name("output".into())
            .spawn(move || -> io::Result<u64> {
                let mut out = io::BufWriter::with_capacity(256 * 1024, out);
                let mut written = 0u64;
                for msg in rx {
                    match msg {
                        Message::Entries(entries) => {
                            if written == 0 && format == OutputFormat::Table && !entries.is_empty() {
                                table::write_header(&mut out)?;
                            }
                            for e in &entries {
                                match format {
                                    OutputFormat::Json => {
                                        serde_json::to_writer(&mut out, e).map_err(json_to_io)?;
                                        out.write_all(b"\n")?;
                                    }
                                    OutputFormat::Table => table::write_line(&mut out, e)?,
                                }
                                written += 1;
                            }
                        }
                        Message::Flush => out.flush()?,
                    }
                }
                out.flush()?;
                Ok(written)
            })
            .ok();
        EntryOutput { tx: Some(tx), writer, batch: Vec::with_capacity(batch_size), batch_size: batch_size.max(1) }
    }

    /// Queues an entry. Returns false once the output is gone (e.g. a closed pipe).
    pub fn push(&mut self, entry: Entry) -> bool {
        self.batch.push(entry);
        if self.batch.len() >= self.batch_size {
            return self.send_batch();
        }
        true
    }

    fn send_batch(&mut self) -> bool {
        if self.batch.is_empty() {
            return self.tx.is_some();
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(self.batch_size));
        match &self.tx {
            Some(tx) if tx.send(Message::Entries(batch)).is_ok() => true,
            _ => {
                self.tx = None;
                false
            }
        }
    }

    /// Hands over what is queued and asks the writer to flush (for live output).
    pub fn flush(&mut self) -> bool {
        if !self.send_batch() {
            return false;
        }
        match &self.tx {
            Some(tx) if tx.send(Message::Flush).is_ok() => true,
            _ => {
                self.tx = None;
                false
            }
        }
    }

    /// Writes everything and waits for the writer; returns how many entries were written.
    pub fn finish(mut self) -> io::Result<u64> {
        self.send_batch();
        drop(self.tx.take());
        match self.writer.take() {
            Some(handle) => handle.join().unwrap_or_else(|_| Err(io::Error::other("output thread panicked"))),
            None => Err(io::Error::other("output thread could not be started")),
        }
    }
}

/// Keeps the kind of an I/O error (a closed pipe stays `BrokenPipe`) through serde_json's error.
fn json_to_io(e: serde_json::Error) -> io::Error {
    match e.io_error_kind() {
        Some(kind) => io::Error::new(kind, e),
        None => io::Error::other(e),
    }
}

/// A closed pipe (`| head`) is a normal way for output to end.
pub fn is_broken_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

/// The counters line printed on stderr at the end of `view` and `local`:
/// `kubectl-shark: counters: packets=N bytes=N ...` (documented in README.md).
pub fn counters_line(counters: &[(&str, u64)]) -> String {
    let pairs: Vec<String> = counters.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("kubectl-shark: counters: {}", pairs.join(" "))
}
