//! Byte scanning shared by the HTTP/1 framing code: a word-at-a-time byte search and an
//! incremental detector of the empty line that ends a head (or a trailer section).
//!
//! Both keep every byte's cost to a compare: bodies are never scanned, heads are scanned once,
//! whatever the segmentation.

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Position of the first `needle` in `hay`, eight bytes at a time.
pub(crate) fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    let pattern = LO.wrapping_mul(needle as u64);
    let mut chunks = hay.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ pattern;
        // Classic "has zero byte": exact for the lowest matching byte, which is the one we want.
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks.remainder().iter().position(|&b| b == needle).map(|i| offset + i)
}

/// Finds the end of a head: the first empty line (`\r\n` or a bare `\n`) after at least one
/// non-empty line. Fed the message's bytes in order, in pieces of any size.
#[derive(Clone, Debug, Default)]
pub(crate) struct HeadScanner {
    /// Bytes of the current line seen so far (without its `\n`).
    line_len: usize,
    /// The current line so far is exactly `\r`.
    line_is_cr: bool,
    /// Complete lines seen.
    lines: usize,
}

impl HeadScanner {
    /// A scanner for a trailer section, which starts right after the last chunk's size line:
    /// there an empty line at once ends it.
    pub(crate) fn for_trailers() -> Self {
        HeadScanner { lines: 1, ..HeadScanner::default() }
    }

    /// Scans the next piece; returns how many of its bytes complete the head, when it ends here.
    pub(crate) fn scan(&mut self, data: &[u8]) -> Option<usize> {
        let mut pos = 0;
        while let Some(i) = find_byte(&data[pos..], b'\n') {
            let piece = &data[pos..pos + i];
            let empty = match (self.line_len, piece) {
                (0, []) | (0, [b'\r']) => true,
                (1, []) => self.line_is_cr,
                _ => false,
            };
            pos += i + 1;
            if empty && self.lines > 0 {
                return Some(pos);
            }
            self.lines += 1;
            self.line_len = 0;
            self.line_is_cr = false;
        }
        let rest = &data[pos..];
        if !rest.is_empty() {
            self.line_is_cr = self.line_len == 0 && rest == b"\r";
            self.line_len += rest.len();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_byte_matches_naive_search_at_every_offset() {
        let hay: Vec<u8> = (0u8..=255).chain(0u8..=255).chain(*b"\n\n\x7f\x80").collect();
        for needle in [b'\n', 0x00, 0x0b, 0x7f, 0x80, 0xff] {
            for start in 0..hay.len() {
                for end in [start, start + 1, (start + 9).min(hay.len()), hay.len()] {
                    let h = &hay[start..end.max(start)];
                    let want = h.iter().position(|&b| b == needle);
                    assert_eq!(find_byte(h, needle), want, "needle {needle:#x} in hay[{start}..{end}]");
                }
            }
        }
    }

    fn head_end_whole(data: &[u8]) -> Option<usize> {
        HeadScanner::default().scan(data)
    }

    #[test]
    fn head_end_in_one_piece_and_split_everywhere() {
        let cases: &[(&[u8], Option<usize>)] = &[
            (b"GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY", Some(27)),
            (b"GET / HTTP/1.1\n\nX", Some(16)),
            (b"GET / HTTP/1.1\r\nA: b\r\n", None),
            (b"HTTP/1.1 200 OK\r\n\r\n", Some(19)),
            (b"HTTP/1.1 200 OK\r\nA: \r\n\r\n", Some(24)),
        ];
        for (data, want) in cases {
            assert_eq!(head_end_whole(data), *want, "{:?}", String::from_utf8_lossy(data));
            for split in 0..=data.len() {
                let mut s = HeadScanner::default();
                let got = match s.scan(&data[..split]) {
                    Some(n) => Some(n),
                    None => s.scan(&data[split..]).map(|n| n + split),
                };
                assert_eq!(got, *want, "split at {split} of {:?}", String::from_utf8_lossy(data));
            }
        }
    }

    #[test]
    fn trailer_scanner_ends_on_immediate_empty_line() {
        assert_eq!(HeadScanner::for_trailers().scan(b"\r\nNEXT"), Some(2));
        assert_eq!(HeadScanner::for_trailers().scan(b"X-T: 1\r\n\r\n"), Some(10));
        let mut s = HeadScanner::for_trailers();
        assert_eq!(s.scan(b"\r"), None);
        assert_eq!(s.scan(b"\n"), Some(1));
    }
}
