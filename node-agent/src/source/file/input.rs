//! A read buffer over any `Read` that hands out whole records as slices of one reusable buffer:
//! refills in large reads, keeps the unconsumed tail when it compacts, and skips blocks it does not
//! need without buffering them. The buffer only grows when a record is larger than it, and callers
//! bound record sizes, so memory stays bounded.

use std::io::{self, Read};

/// The buffer starts small (cheap for tiny inputs) and doubles at each compaction up to the usual
/// size: large reads, few compactions.
const INITIAL_SIZE: usize = 64 << 10;
const BUFFER_SIZE: usize = 1 << 20;

pub(super) struct Input {
    reader: Box<dyn Read + Send>,
    buf: Vec<u8>,
    /// Start of the unconsumed bytes in `buf`.
    pos: usize,
    /// End of the valid bytes in `buf`.
    end: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
}

impl Input {
    pub fn new(reader: Box<dyn Read + Send>) -> Self {
        Input { reader, buf: vec![0; INITIAL_SIZE], pos: 0, end: 0, base: 0, eof: false }
    }

    /// File offset of the first unconsumed byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// The unconsumed bytes buffered so far.
    pub fn available(&self) -> &[u8] {
        self.buf.get(self.pos..self.end).unwrap_or_default()
    }

    /// `len` unconsumed bytes starting `at` bytes past the current position, if buffered.
    pub fn peek(&self, at: usize, len: usize) -> Option<&[u8]> {
        let start = self.pos.checked_add(at)?;
        let end = start.checked_add(len)?;
        if end > self.end {
            return None;
        }
        self.buf.get(start..end)
    }

    /// Makes at least `n` unconsumed bytes available. `Ok(false)` when the input ends first (what
    /// there is stays available).
    pub fn fill(&mut self, n: usize) -> io::Result<bool> {
        if self.end - self.pos >= n {
            return Ok(true);
        }
        if self.buf.len() - self.pos < n {
            // Move the unconsumed tail to the front; grow towards the usual size.
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
            if self.buf.len() < BUFFER_SIZE {
                self.buf.resize((self.buf.len() * 2).min(BUFFER_SIZE), 0);
            }
        }
        while self.end - self.pos < n {
            if self.eof {
                return Ok(false);
            }
            if self.end == self.buf.len() {
                // A record larger than the buffer: grow as its bytes arrive, so that a bogus
                // length in a short file costs no more memory than the file.
                let new_len = (self.buf.len() * 2).min(self.pos + n).max(self.end + 1);
                self.buf.resize(new_len, 0);
            }
            let free = self.buf.get_mut(self.end..).unwrap_or_default();
            match self.reader.read(free) {
                Ok(0) => self.eof = true,
                Ok(read) => self.end += read.min(free_len(self.buf.len(), self.end)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Marks `n` buffered bytes as consumed.
    pub fn consume(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.end);
    }

    /// Skips `n` bytes, buffered or not, without holding them. `Ok(false)` when the input ends first.
    pub fn skip(&mut self, n: u64) -> io::Result<bool> {
        let buffered = (self.end - self.pos) as u64;
        if n <= buffered {
            self.pos += n as usize;
            return Ok(true);
        }
        let mut left = n - buffered;
        self.base += self.end as u64;
        self.pos = 0;
        self.end = 0;
        while left > 0 {
            if self.eof {
                return Ok(false);
            }
            let want = left.min(self.buf.len() as u64) as usize;
            let chunk = self.buf.get_mut(..want).unwrap_or_default();
            match self.reader.read(chunk) {
                Ok(0) => self.eof = true,
                Ok(read) => {
                    let read = read.min(want);
                    left -= read as u64;
                    self.base += read as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}

fn free_len(buf_len: usize, end: usize) -> usize {
    buf_len.saturating_sub(end)
}
