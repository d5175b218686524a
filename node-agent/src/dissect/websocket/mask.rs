//! Client-to-server masking (RFC 6455 section 5.3): payload byte `i` of a frame is XORed with byte
//! `i % 4` of the frame's masking key. Masking is its own inverse, so these functions unmask too.
//!
//! Eight bytes at a time: the key repeated twice as one `u64`, rotated to the payload offset the
//! slice starts at, so a frame's payload can be processed in any number of pieces.

/// The key as a word for data that starts `offset` bytes into a frame's payload.
fn key_word(key: [u8; 4], offset: u64) -> u64 {
    let mut bytes = [0u8; 8];
    let shift = (offset % 4) as usize;
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = key[(i + shift) % 4];
    }
    u64::from_ne_bytes(bytes)
}

/// XORs `data`, which starts `offset` bytes into its frame's payload, with the masking key.
pub fn apply_mask(data: &mut [u8], key: [u8; 4], offset: u64) {
    let word = key_word(key, offset);
    let mut words = data.chunks_exact_mut(8);
    for chunk in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(w) ^ word).to_ne_bytes());
    }
    let tail_key = word.to_ne_bytes();
    for (b, k) in words.into_remainder().iter_mut().zip(tail_key) {
        *b ^= k;
    }
}

/// Writes `src` XORed with the masking key into `dst` (the shorter of the two sets the length);
/// `src` starts `offset` bytes into its frame's payload. Returns the number of bytes written.
pub fn unmask_into(src: &[u8], dst: &mut [u8], key: [u8; 4], offset: u64) -> usize {
    let n = src.len().min(dst.len());
    let (src, dst) = (&src[..n], &mut dst[..n]);
    // A copy then the in-place pass: both vectorise, unlike a zipped loop over two slices.
    dst.copy_from_slice(src);
    apply_mask(dst, key, offset);
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, one byte at a time.
    fn reference(data: &[u8], key: [u8; 4], offset: u64) -> Vec<u8> {
        data.iter().enumerate().map(|(i, b)| b ^ key[((offset + i as u64) % 4) as usize]).collect()
    }

    #[test]
    fn rfc6455_masked_hello() {
        // RFC 6455 section 5.7: a single-frame masked text message "Hello".
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let mut data = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        apply_mask(&mut data, key, 0);
        assert_eq!(&data, b"Hello");
    }

    #[test]
    fn every_length_and_offset_matches_the_definition() {
        let key = [0x12, 0x34, 0x56, 0x78];
        let data: Vec<u8> = (0..100u32).map(|i| (i * 37 + 11) as u8).collect();
        for offset in 0..8u64 {
            for len in 0..data.len() {
                let expected = reference(&data[..len], key, offset);
                let mut in_place = data[..len].to_vec();
                apply_mask(&mut in_place, key, offset);
                assert_eq!(in_place, expected, "in place, offset {offset} len {len}");
                let mut copied = vec![0u8; len + 3];
                assert_eq!(unmask_into(&data[..len], &mut copied, key, offset), len);
                assert_eq!(&copied[..len], &expected[..], "copy, offset {offset} len {len}");
            }
        }
    }

    #[test]
    fn pieces_at_any_split_equal_the_whole() {
        let key = [0xde, 0xad, 0xbe, 0xef];
        let data: Vec<u8> = (0..67u32).map(|i| (i * 13) as u8).collect();
        let whole = reference(&data, key, 0);
        for split in 0..=data.len() {
            let mut pieces = data.clone();
            let (a, b) = pieces.split_at_mut(split);
            apply_mask(a, key, 0);
            apply_mask(b, key, split as u64);
            assert_eq!(pieces, whole, "split at {split}");
        }
    }

    /// Throughput in MB/s; run with `cargo test --release -- --ignored --nocapture mask_throughput`.
    #[test]
    #[ignore]
    fn mask_throughput() {
        let mut data = vec![0x5au8; 16 << 20];
        let rounds = 32;
        let start = std::time::Instant::now();
        for r in 0..rounds {
            apply_mask(&mut data, [1, 2, 3, 4], r);
        }
        let in_place = start.elapsed();
        let mut dst = vec![0u8; data.len()];
        let start = std::time::Instant::now();
        for r in 0..rounds {
            unmask_into(&data, &mut dst, [1, 2, 3, 4], r);
        }
        let copy = start.elapsed();
        let mb = (data.len() as f64 * rounds as f64) / 1e6;
        println!(
            "apply_mask: {:.0} MB/s, unmask_into: {:.0} MB/s",
            mb / in_place.as_secs_f64(),
            mb / copy.as_secs_f64()
        );
        std::hint::black_box(&dst);
    }
}
