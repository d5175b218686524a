#![no_main]
//! Fuzzes the HPACK decoder with a sequence of header blocks decoded by one persistent decoder,
//! starting at the connection's beginning or mid-way, under default or tiny limits. Checks: no
//! panic; the decoded list within the limits; the dynamic table within its cap; a decoder in
//! step (and not capped below what the peer allows) yields no placeholder; after an error other
//! than a limit the decoder is out of step.
//!
//! Input: byte 0 picks mode and limits; then blocks, each a length byte then that many bytes
//! (a length byte of 0xff means: the acknowledged table size bound changes to the next byte * 64).

use libfuzzer_sys::fuzz_target;
use node_agent::dissect::http2::hpack::{Decoder, HeaderList, Known, Limits};

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, mut rest)) = data.split_first() else {
        return;
    };
    let limits = if cfg & 2 == 0 {
        Limits::default()
    } else {
        Limits { max_list_size: 200, max_fields: 4, max_table_size: 128 }
    };
    let mut d = if cfg & 1 == 0 { Decoder::new(limits) } else { Decoder::mid_stream(limits) };
    let mut out = HeaderList::new();
    while let Some((&len, tail)) = rest.split_first() {
        if len == 0xff {
            let Some((&bound, tail)) = tail.split_first() else { return };
            d.set_table_size_bound(u32::from(bound) * 64);
            rest = tail;
            continue;
        }
        let n = usize::from(len).min(tail.len());
        let (block, tail) = tail.split_at(n);
        rest = tail;
        // Strict with default limits, the table cap exceeds any bound this input can set, so a
        // decoder in step knows every entry the encoder may refer to.
        let must_know_all = cfg & 3 == 0 && d.is_synchronized();
        let result = d.decode(block, &mut out);
        assert!(out.list_size() <= limits.max_list_size, "{} > {}", out.list_size(), limits.max_list_size);
        assert!(out.len() <= limits.max_fields);
        assert!(d.table_size() <= limits.max_table_size);
        match &result {
            Err(e) if !e.is_limit() => assert!(!d.is_synchronized(), "{e} left the decoder in step"),
            _ => {
                if must_know_all {
                    assert!(out.iter().all(|f| f.known == Known::All), "placeholder from a decoder in step");
                }
            }
        }
        for f in out.iter() {
            if f.known != Known::All {
                assert!(f.name.is_empty());
            }
        }
    }
});
