//! UTF-8 validation of a text message whose bytes arrive in pieces (fragments, inflater output):
//! a code point split between pieces is carried over (at most three bytes).

/// Validates a byte stream incrementally; remembers where it first became invalid.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Utf8Stream {
    /// Start of an incomplete code point from the previous piece.
    carry: [u8; 4],
    carry_len: usize,
    /// Bytes validated so far (the carry not included).
    offset: u64,
    /// Offset of the first invalid byte.
    invalid_at: Option<u64>,
}

impl Utf8Stream {
    pub(crate) fn push(&mut self, mut data: &[u8]) {
        if self.invalid_at.is_some() {
            return;
        }
        while self.carry_len > 0 {
            let Some((&b, rest)) = data.split_first() else { return };
            data = rest;
            let Some(slot) = self.carry.get_mut(self.carry_len) else {
                self.invalid_at = Some(self.offset);
                return;
            };
            *slot = b;
            self.carry_len += 1;
            let pending = self.carry.get(..self.carry_len).unwrap_or_default();
            match std::str::from_utf8(pending) {
                Ok(_) => {
                    self.offset += self.carry_len as u64;
                    self.carry_len = 0;
                }
                Err(e) if e.error_len().is_some() => {
                    self.invalid_at = Some(self.offset);
                    return;
                }
                Err(_) => {}
            }
        }
        match std::str::from_utf8(data) {
            Ok(_) => self.offset += data.len() as u64,
            Err(e) => {
                let valid = e.valid_up_to();
                if e.error_len().is_some() {
                    self.invalid_at = Some(self.offset + valid as u64);
                    return;
                }
                let tail = data.get(valid..).unwrap_or_default();
                self.offset += valid as u64;
                self.carry_len = tail.len().min(self.carry.len());
                for (slot, b) in self.carry.iter_mut().zip(tail) {
                    *slot = *b;
                }
            }
        }
    }

    /// The whole text was pushed: `Err(offset)` of the first invalid byte (an incomplete code point
    /// at the end counts as invalid).
    pub(crate) fn finish(&self) -> Result<(), u64> {
        match self.invalid_at {
            Some(at) => Err(at),
            None if self.carry_len > 0 => Err(self.offset),
            None => Ok(()),
        }
    }

    /// The first invalid byte seen so far, ignoring a code point the next piece may complete.
    pub(crate) fn invalid_at(&self) -> Option<u64> {
        self.invalid_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate_split(data: &[u8], splits: &[usize]) -> Result<(), u64> {
        let mut v = Utf8Stream::default();
        let mut start = 0;
        for &s in splits {
            v.push(&data[start..s]);
            start = s;
        }
        v.push(&data[start..]);
        v.finish()
    }

    #[test]
    fn agrees_with_std_at_every_split() {
        let samples: [&[u8]; 8] = [
            "κόσμε €𝄞 ascii".as_bytes(),
            b"",
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
            b"abc\xf0\x9f\x98",
            b"\xc0\xaf",
            b"\xf4\x90\x80\x80",
            b"ok\xe2\x82\xacok\xff",
            b"\xe2\x82",
        ];
        for data in samples {
            let expected = std::str::from_utf8(data).map(|_| ()).map_err(|e| e.valid_up_to() as u64);
            for a in 0..=data.len() {
                for b in a..=data.len() {
                    assert_eq!(validate_split(data, &[a, b]), expected, "{data:?} split {a} {b}");
                }
            }
            let every: Vec<usize> = (1..data.len()).collect();
            assert_eq!(validate_split(data, &every), expected, "{data:?} bytewise");
        }
    }
}
