//! Finding the next message start in a byte stream that lost sync (after a capture gap or
//! garbage): for requests a known method, a space, and a line ending in ` HTTP/1.x`; for responses
//! `HTTP/1.x NNN` followed by a space or a line end.
//!
//! The search runs on data as it arrives. Only an undecided candidate (one whose line has not
//! ended yet) is kept between calls, at most [`MAX_LINE`] bytes, and every input byte is examined
//! a bounded number of times whatever the segmentation.

use super::parser::{is_request_line, match_method, match_status_start, MethodMatch};
use super::scan::find_byte;
use super::Role;

/// Longest request line considered while resynchronising.
pub(crate) const MAX_LINE: usize = 8192;

pub(crate) enum ResyncOutcome {
    /// Everything was consumed, no message start yet.
    NeedMore,
    /// A message starts here. `consumed` input bytes were used: garbage, then `prefix`, which
    /// holds the new message's first bytes when they had to be held back across calls (otherwise
    /// it is empty and the message starts at `input[consumed..]`).
    Found { consumed: usize, prefix: Vec<u8> },
}

#[derive(Debug)]
pub(crate) struct Resync {
    role: Role,
    /// An undecided candidate carried over from earlier input (holds no `\n` once decided on,
    /// except right after [`Resync::seed`]).
    carry: Vec<u8>,
    /// How much of `carry` is known to hold no `\n`.
    carry_searched: usize,
    /// Bytes dropped since sync was lost.
    skipped: u64,
}

impl Resync {
    pub(crate) fn new(role: Role) -> Self {
        Resync { role, carry: Vec::new(), carry_searched: 0, skipped: 0 }
    }

    /// Starts a new search; `seed` holds already consumed bytes to search first.
    pub(crate) fn seed(&mut self, seed: &[u8]) {
        self.carry.clear();
        self.carry.extend_from_slice(seed);
        self.carry_searched = 0;
        self.skipped = 0;
    }

    /// Forgets the carried candidate (its continuation was lost).
    pub(crate) fn break_continuity(&mut self) {
        self.skipped += self.carry.len() as u64;
        self.carry.clear();
        self.carry_searched = 0;
    }

    /// Bytes dropped since the search started (reported once sync is found).
    pub(crate) fn skipped(&self) -> u64 {
        self.skipped
    }

    pub(crate) fn buffered(&self) -> usize {
        self.carry.len()
    }

    pub(crate) fn scan(&mut self, input: &[u8]) -> ResyncOutcome {
        if self.carry.is_empty() {
            let (found, keep_from) = search(self.role, input, 0);
            return self.conclude(input, 0, found, keep_from);
        }
        let old = self.carry.len();
        let mut hay = std::mem::take(&mut self.carry);
        hay.extend_from_slice(input);
        let (found, keep_from) = search(self.role, &hay, self.carry_searched);
        if found.is_none() && keep_from == 0 {
            // Still the same undecided candidate: keep the buffer as it is, no copy.
            self.carry_searched = hay.len();
            self.carry = hay;
            return ResyncOutcome::NeedMore;
        }
        self.conclude(&hay, old, found, keep_from)
    }

    /// Turns a search result on `hay` (whose first `old` bytes were carried) into an outcome.
    fn conclude(&mut self, hay: &[u8], old: usize, found: Option<(usize, usize)>, keep_from: usize) -> ResyncOutcome {
        self.carry.clear();
        match found {
            Some((start, end)) => {
                self.carry_searched = 0;
                self.skipped += start as u64;
                if start >= old {
                    ResyncOutcome::Found { consumed: start - old, prefix: Vec::new() }
                } else {
                    let end = end.max(old);
                    ResyncOutcome::Found { consumed: end - old, prefix: hay[start..end].to_vec() }
                }
            }
            None => {
                self.skipped += keep_from as u64;
                self.carry.extend_from_slice(&hay[keep_from..]);
                // An undecided candidate's bytes hold no line end (or it would be decided).
                self.carry_searched = self.carry.len();
                ResyncOutcome::NeedMore
            }
        }
    }
}

/// Searches `hay` for a message start. Returns `(start, end)` of a verified start (`end` just past
/// the bytes that verified it) and, when none, the offset from which bytes must be kept because
/// a candidate there is still undecided (`hay.len()` when none is). `hay[..no_nl_before]` is known
/// to hold no `\n`.
fn search(role: Role, hay: &[u8], no_nl_before: usize) -> (Option<(usize, usize)>, usize) {
    // The next `\n` at or after `nl_from`, cached so that candidates on one line share one search.
    let mut nl: Option<usize> = None;
    let mut nl_from = no_nl_before;
    let mut c = 0;
    while c < hay.len() {
        let at = &hay[c..];
        let m = match role {
            Role::Request => match_method(at),
            Role::Response => {
                if at[0] != b'H' {
                    c += 1;
                    continue;
                }
                match_status_start(at)
            }
        };
        match (role, m) {
            (_, MethodMatch::No) => {}
            (_, MethodMatch::Partial) => return (None, c),
            (Role::Response, MethodMatch::Full(n)) => return (Some((c, c + n)), hay.len()),
            (Role::Request, MethodMatch::Full(_)) => {
                let line_end = match nl {
                    Some(n) if n >= c => Some(n),
                    _ => {
                        let from = nl_from.max(c);
                        nl = find_byte(&hay[from..], b'\n').map(|i| from + i);
                        nl_from = nl.unwrap_or(hay.len());
                        nl
                    }
                };
                match line_end {
                    Some(n) if n - c <= MAX_LINE && is_request_line(&hay[c..n]) => {
                        return (Some((c, n + 1)), hay.len());
                    }
                    Some(_) => {}
                    None if hay.len() - c <= MAX_LINE => return (None, c),
                    None => {}
                }
            }
        }
        c += 1;
    }
    (None, hay.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `data` in pieces of `step`; returns (garbage skipped, the message bytes from the start found).
    fn find(role: Role, data: &[u8], step: usize) -> Option<(u64, Vec<u8>)> {
        let mut r = Resync::new(role);
        let mut pieces = data.chunks(step.max(1));
        for piece in &mut pieces {
            if let ResyncOutcome::Found { consumed, mut prefix } = r.scan(piece) {
                prefix.extend_from_slice(&piece[consumed..]);
                for rest in pieces {
                    prefix.extend_from_slice(rest);
                }
                return Some((r.skipped(), prefix));
            }
        }
        None
    }

    #[test]
    fn finds_requests_after_garbage_in_any_pieces() {
        let data = b"xx GET nope\r\nbody bytesPOST /a?b HTTP/1.1\r\nHost: x\r\n\r\n";
        let start = 23;
        for step in 1..=data.len() {
            assert_eq!(find(Role::Request, data, step), Some((start as u64, data[start..].to_vec())), "step {step}");
        }
    }

    #[test]
    fn finds_responses_after_garbage_in_any_pieces() {
        let data = b"HTTP/1.1 2xx HTTP/1.0 20junkHTTP/1.1 204 No Content\r\n\r\n";
        let start = 28;
        for step in 1..=data.len() {
            assert_eq!(find(Role::Response, data, step), Some((start as u64, data[start..].to_vec())), "step {step}");
        }
    }

    #[test]
    fn seeded_bytes_are_searched_first() {
        let mut r = Resync::new(Role::Response);
        r.seed(b"TTP/1.1 200 OK\r\nHTTP/1.1 404 Not Found\r\n");
        match r.scan(b"X: y\r\n\r\n") {
            ResyncOutcome::Found { consumed, prefix } => {
                assert_eq!(consumed, 0);
                assert_eq!(prefix, b"HTTP/1.1 404 Not Found\r\n");
            }
            ResyncOutcome::NeedMore => panic!("the seeded status line was not found"),
        }
    }

    #[test]
    fn long_lines_and_garbage_are_bounded() {
        let mut r = Resync::new(Role::Request);
        let mut long = b"GET /".to_vec();
        long.resize(3 * MAX_LINE, b'a');
        for piece in long.chunks(1000) {
            assert!(matches!(r.scan(piece), ResyncOutcome::NeedMore));
            assert!(r.buffered() <= MAX_LINE);
        }
        let garbage: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let mut r = Resync::new(Role::Response);
        for piece in garbage.chunks(7) {
            assert!(matches!(r.scan(piece), ResyncOutcome::NeedMore));
            assert!(r.buffered() < 13);
        }
        assert_eq!(r.skipped() + r.buffered() as u64, garbage.len() as u64);
    }

    #[test]
    fn one_byte_pieces_of_a_long_candidate_stay_linear() {
        // 64 KiB of a never-ending request line, one byte at a time: with a rescan per byte this
        // would take seconds; linear it is instant.
        let mut r = Resync::new(Role::Request);
        let t = std::time::Instant::now();
        assert!(matches!(r.scan(b"GET /"), ResyncOutcome::NeedMore));
        for _ in 0..65_536 {
            assert!(matches!(r.scan(b"a"), ResyncOutcome::NeedMore));
        }
        assert!(r.buffered() <= MAX_LINE);
        assert!(t.elapsed() < std::time::Duration::from_secs(2), "took {:?}", t.elapsed());
    }
}
