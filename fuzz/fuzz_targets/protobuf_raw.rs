#![no_main]
//! Fuzzes schema-less protobuf decoding: arbitrary bytes into `decode_raw` under default and tiny
//! limits. Checks: no panic; at most `max_fields` fields kept, `truncated` exactly when fields
//! were dropped; the text within `max_text`; the JSON serialises and stays within a constant
//! factor of the input; tiny limits change only what is kept, never whether the input decodes.
//!
//! Input: byte 0 = config (bit 0: tiny limits), the rest is the message.

use libfuzzer_sys::fuzz_target;
use node_agent::dissect::grpc::protobuf_raw::{decode_raw, RawLimits, RawMessage, RawValue};

fn count(m: &RawMessage<'_>) -> usize {
    m.fields
        .iter()
        .map(|f| match &f.value {
            RawValue::Message(inner) | RawValue::Group(inner) => 1 + count(inner),
            _ => 1,
        })
        .sum()
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, msg)) = data.split_first() else {
        return;
    };
    let limits = if cfg & 1 == 0 { RawLimits::default() } else { RawLimits { max_fields: 5, max_text: 64 } };
    let full = decode_raw(msg, &RawLimits { max_fields: usize::MAX, max_text: usize::MAX });
    let decoded = decode_raw(msg, &limits);
    assert_eq!(full.is_ok(), decoded.is_ok(), "limits changed whether the input decodes");
    let (Ok(full), Ok(decoded)) = (full, decoded) else {
        return;
    };
    let kept = count(&decoded.message);
    assert!(kept <= limits.max_fields);
    assert_eq!(decoded.truncated, count(&full.message) > limits.max_fields);
    if !decoded.truncated {
        assert_eq!(decoded.message, full.message);
    }
    let text = decoded.message.to_text(limits.max_text);
    assert!(text.text.len() <= limits.max_text);
    let json = decoded.message.to_json().to_string();
    assert!(json.len() <= 64 * msg.len() + 16, "{} bytes of JSON for {} of input", json.len(), msg.len());
});
