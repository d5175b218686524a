//! Integer fields in either byte order, read without panicking (a short slice reads as zeros;
//! callers check lengths before reading, so that only guards against mistakes).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Endian {
    Little,
    Big,
}

impl Endian {
    pub fn u16(self, b: &[u8], at: usize) -> u16 {
        let a = array(b, at);
        match self {
            Endian::Little => u16::from_le_bytes(a),
            Endian::Big => u16::from_be_bytes(a),
        }
    }

    pub fn u32(self, b: &[u8], at: usize) -> u32 {
        let a = array(b, at);
        match self {
            Endian::Little => u32::from_le_bytes(a),
            Endian::Big => u32::from_be_bytes(a),
        }
    }

    pub fn i64(self, b: &[u8], at: usize) -> i64 {
        let a = array(b, at);
        match self {
            Endian::Little => i64::from_le_bytes(a),
            Endian::Big => i64::from_be_bytes(a),
        }
    }
}

fn array<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    at.checked_add(N).and_then(|end| b.get(at..end)).and_then(|s| <[u8; N]>::try_from(s).ok()).unwrap_or([0; N])
}
