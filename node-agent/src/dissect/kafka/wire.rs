//! The Kafka wire primitives (protocol guide, "Protocol Primitive Types"): big-endian integers,
//! unsigned and zig-zag varints, strings, bytes and arrays in their classic (int16/int32 length)
//! and compact (unsigned varint length + 1) forms, and tagged-field sections. A [`Reader`] is a
//! cursor over a borrowed slice; every read checks the bounds and says what ran out where.

use thiserror::Error;

/// What went wrong reading a message, and at which byte offset of it.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum WireError {
    #[error("{what} runs past the end of the message at byte {at}")]
    Truncated { what: &'static str, at: usize },
    #[error("invalid {what} at byte {at}")]
    Invalid { what: &'static str, at: usize },
}

/// A bounds-checked cursor over one message.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    pub fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or(&[])
    }

    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WireError> {
        let end = self.pos.checked_add(n).ok_or(WireError::Truncated { what, at: self.pos })?;
        let bytes = self.data.get(self.pos..end).ok_or(WireError::Truncated { what, at: self.pos })?;
        self.pos = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], WireError> {
        let bytes = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    pub fn i8(&mut self, what: &'static str) -> Result<i8, WireError> {
        Ok(i8::from_be_bytes(self.array(what)?))
    }
    pub fn i16(&mut self, what: &'static str) -> Result<i16, WireError> {
        Ok(i16::from_be_bytes(self.array(what)?))
    }
    pub fn i32(&mut self, what: &'static str) -> Result<i32, WireError> {
        Ok(i32::from_be_bytes(self.array(what)?))
    }
    pub fn u32(&mut self, what: &'static str) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }
    pub fn i64(&mut self, what: &'static str) -> Result<i64, WireError> {
        Ok(i64::from_be_bytes(self.array(what)?))
    }
    pub fn uuid(&mut self, what: &'static str) -> Result<[u8; 16], WireError> {
        self.array(what)
    }

    /// An unsigned varint of at most 5 bytes (32 bits), as compact lengths use.
    pub fn uvarint(&mut self, what: &'static str) -> Result<u32, WireError> {
        let at = self.pos;
        let v = self.uvarlong(what)?;
        u32::try_from(v).map_err(|_| WireError::Invalid { what, at })
    }

    /// An unsigned varint of at most 10 bytes (64 bits).
    pub fn uvarlong(&mut self, what: &'static str) -> Result<u64, WireError> {
        let at = self.pos;
        let mut value: u64 = 0;
        for i in 0..10u32 {
            let [b] = self.array::<1>(what)?;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(WireError::Invalid { what, at })
    }

    /// A zig-zag signed varint (record fields).
    pub fn varint(&mut self, what: &'static str) -> Result<i64, WireError> {
        let v = self.uvarlong(what)?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    /// A length that may be -1 (null): int16 or int32 classic, uvarint-1 compact.
    fn length(&mut self, compact: bool, wide: bool, what: &'static str) -> Result<Option<usize>, WireError> {
        let at = self.pos;
        let n: i64 = if compact {
            i64::from(self.uvarint(what)?) - 1
        } else if wide {
            i64::from(self.i32(what)?)
        } else {
            i64::from(self.i16(what)?)
        };
        match n {
            -1 => Ok(None),
            n if n < 0 => Err(WireError::Invalid { what, at }),
            n => {
                let n = usize::try_from(n).map_err(|_| WireError::Invalid { what, at })?;
                if n > self.remaining() {
                    return Err(WireError::Truncated { what, at });
                }
                Ok(Some(n))
            }
        }
    }

    /// A (nullable) string: int16 length, or compact.
    pub fn string(&mut self, compact: bool, what: &'static str) -> Result<Option<&'a [u8]>, WireError> {
        match self.length(compact, false, what)? {
            None => Ok(None),
            Some(n) => self.take(n, what).map(Some),
        }
    }

    /// (Nullable) bytes: int32 length, or compact.
    pub fn bytes(&mut self, compact: bool, what: &'static str) -> Result<Option<&'a [u8]>, WireError> {
        match self.length(compact, true, what)? {
            None => Ok(None),
            Some(n) => self.take(n, what).map(Some),
        }
    }

    /// An array's element count (None for a null array): int32, or compact. Each element takes
    /// at least `min_element` bytes, so a count the remaining bytes cannot hold is refused here.
    pub fn array_len(
        &mut self,
        compact: bool,
        min_element: usize,
        what: &'static str,
    ) -> Result<Option<usize>, WireError> {
        let at = self.pos;
        let n: i64 = if compact { i64::from(self.uvarint(what)?) - 1 } else { i64::from(self.i32(what)?) };
        match n {
            -1 => Ok(None),
            n if n < 0 => Err(WireError::Invalid { what, at }),
            n => {
                let n = usize::try_from(n).map_err(|_| WireError::Invalid { what, at })?;
                if n.saturating_mul(min_element.max(1)) > self.remaining() {
                    return Err(WireError::Truncated { what, at });
                }
                Ok(Some(n))
            }
        }
    }

    /// A tagged-field section: `(tag, data)` of each field, in order.
    pub fn tagged_fields(&mut self, mut each: impl FnMut(u32, &'a [u8])) -> Result<(), WireError> {
        let count = self.uvarint("tagged field count")?;
        if count as usize > self.remaining() {
            return Err(WireError::Truncated { what: "tagged fields", at: self.pos });
        }
        for _ in 0..count {
            let tag = self.uvarint("tag")?;
            let size = self.uvarint("tagged field size")? as usize;
            let data = self.take(size, "tagged field")?;
            each(tag, data);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_follow_the_protobuf_encoding() {
        // Zig-zag: 0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3, 300 -> 600 (0xd8 0x04).
        let mut r = Reader::new(&[0x00, 0x01, 0x02, 0x03, 0xd8, 0x04]);
        let got: Vec<i64> = (0..5).map(|_| r.varint("v").unwrap()).collect();
        assert_eq!(got, vec![0, -1, 1, -2, 300]);
        assert_eq!(Reader::new(&[0xff; 11]).uvarlong("v"), Err(WireError::Invalid { what: "v", at: 0 }));
        assert!(matches!(Reader::new(&[0x80]).uvarint("v"), Err(WireError::Truncated { .. })));
    }

    #[test]
    fn strings_and_arrays_check_their_lengths() {
        assert_eq!(Reader::new(&[0, 2, b'h', b'i']).string(false, "s"), Ok(Some(&b"hi"[..])));
        assert_eq!(Reader::new(&[0xff, 0xff]).string(false, "s"), Ok(None));
        assert_eq!(Reader::new(&[3, b'h', b'i']).string(true, "s"), Ok(Some(&b"hi"[..])));
        assert_eq!(Reader::new(&[0]).string(true, "s"), Ok(None));
        assert!(Reader::new(&[0, 5, b'h']).string(false, "s").is_err());
        assert!(Reader::new(&[0, 0, 0, 100, 1, 2]).array_len(false, 4, "a").is_err());
        assert_eq!(Reader::new(&[0xff, 0xff, 0xff, 0xff]).array_len(false, 4, "a"), Ok(None));
    }
}
