//! Parsed messages to the entry's JSON objects, summary, status and notes (the shape is documented
//! in the module docs of `dns`).

use super::mnemonic;
use super::parser::{Message, Question, Record};
use super::rdata::{self, RData};
use serde_json::{json, Map, Value};
use std::net::{Ipv4Addr, Ipv6Addr};

pub fn question(q: &Question) -> Value {
    json!({
        "name": q.name,
        "type": mnemonic::rr_type(q.qtype),
        "class": mnemonic::class(q.qclass),
    })
}

pub fn record(r: &Record) -> Value {
    if r.rtype == rdata::TYPE_OPT {
        return opt(r);
    }
    json!({
        "name": r.name,
        "type": mnemonic::rr_type(r.rtype),
        "class": mnemonic::class(r.class),
        "ttl": r.ttl,
        "data": r.data.to_string(),
    })
}

/// OPT summarised by its meaning (RFC 6891 §6.1.3) instead of the reused class and TTL fields.
fn opt(r: &Record) -> Value {
    let mut o = Map::new();
    o.insert("name".into(), r.name.clone().into());
    o.insert("type".into(), "OPT".into());
    o.insert("udp_payload_size".into(), r.class.into());
    o.insert("extended_rcode".into(), (r.ttl >> 24).into());
    o.insert("version".into(), ((r.ttl >> 16) & 0xff).into());
    let flags: Vec<&str> = if r.ttl & 0x8000 != 0 { vec!["do"] } else { vec![] };
    o.insert("flags".into(), flags.into());
    match &r.data {
        RData::Opt(options) => {
            let list: Vec<Value> = options
                .iter()
                .map(|(code, data)| {
                    json!({
                        "code": code,
                        "name": mnemonic::edns_option(*code),
                        "data": edns_option_data(*code, data),
                    })
                })
                .collect();
            o.insert("options".into(), list.into());
        }
        other => {
            o.insert("data".into(), other.to_string().into());
        }
    }
    Value::Object(o)
}

/// EDNS option data: CLIENT-SUBNET as "address/source/scope", EDE as "info-code text",
/// PADDING as its length, others hex.
fn edns_option_data(code: u16, d: &[u8]) -> String {
    match code {
        8 if d.len() >= 4 => {
            let family = u16::from_be_bytes([d[0], d[1]]);
            let (source, scope, addr) = (d[2], d[3], &d[4..]);
            match family {
                1 if addr.len() <= 4 => {
                    let mut a = [0u8; 4];
                    a[..addr.len()].copy_from_slice(addr);
                    format!("{}/{source}/{scope}", Ipv4Addr::from(a))
                }
                2 if addr.len() <= 16 => {
                    let mut a = [0u8; 16];
                    a[..addr.len()].copy_from_slice(addr);
                    format!("{}/{source}/{scope}", Ipv6Addr::from(a))
                }
                _ => rdata::hex(d),
            }
        }
        15 if d.len() >= 2 => {
            let info = u16::from_be_bytes([d[0], d[1]]);
            let text = String::from_utf8_lossy(&d[2..]);
            if text.is_empty() {
                info.to_string()
            } else {
                format!("{info} {text}")
            }
        }
        12 => format!("{} bytes", d.len()),
        _ => rdata::hex(d),
    }
}

fn records(rs: &[Record]) -> Value {
    Value::Array(rs.iter().map(record).collect())
}

/// The request object of a query. Answer, authority and additional sections appear only when the
/// query has records there (EDNS OPT, UPDATE prerequisites and updates, NOTIFY's SOA).
pub fn request(m: &Message, retransmissions: u32) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), m.header.id.into());
    o.insert("opcode".into(), mnemonic::opcode(m.header.opcode()).into());
    o.insert("flags".into(), m.header.flag_names().into());
    o.insert("questions".into(), Value::Array(m.questions.iter().map(question).collect()));
    for (key, rs) in [("answers", &m.answers), ("authorities", &m.authorities), ("additionals", &m.additionals)] {
        if !rs.is_empty() {
            o.insert(key.into(), records(rs));
        }
    }
    if retransmissions > 0 {
        o.insert("retransmissions".into(), retransmissions.into());
    }
    Value::Object(o)
}

/// The request object for a response whose query was not captured: its id, opcode and questions
/// are the response's, and of the query's flags only those a response copies (rd, cd).
pub fn request_from_response(m: &Message) -> Value {
    let flags: Vec<&str> = m.header.flag_names().into_iter().filter(|f| matches!(*f, "rd" | "cd")).collect();
    json!({
        "id": m.header.id,
        "opcode": mnemonic::opcode(m.header.opcode()),
        "flags": flags,
        "questions": Value::Array(m.questions.iter().map(question).collect()),
    })
}

pub fn response(m: &Message) -> Value {
    json!({
        "id": m.header.id,
        "rcode": rcode(m),
        "flags": m.header.flag_names(),
        "answers": records(&m.answers),
        "authorities": records(&m.authorities),
        "additionals": records(&m.additionals),
    })
}

/// The response code mnemonic, EDNS-extended.
pub fn rcode(m: &Message) -> String {
    mnemonic::rcode(m.rcode()).into_owned()
}

/// "A example.com": first question's type and name, prefixed by the opcode unless QUERY;
/// just the opcode when there is no question.
pub fn summary(m: &Message) -> String {
    let op = m.header.opcode();
    match m.questions.first() {
        Some(q) if op == 0 => format!("{} {}", mnemonic::rr_type(q.qtype), q.name),
        Some(q) => format!("{} {} {}", mnemonic::opcode(op), mnemonic::rr_type(q.qtype), q.name),
        None => format!("{} (no question)", mnemonic::opcode(op)),
    }
}

/// Notes about damage found while parsing: `who` is "query" or "response".
pub fn problems(m: &Message, who: &str, notes: &mut Vec<String>) {
    if let Some(e) = &m.stopped {
        notes.push(format!("{who} incomplete, parsing stopped: {e}"));
    }
    for e in &m.problems {
        notes.push(format!("{who}: {e}; shown as hex"));
    }
    if m.problems_dropped > 0 {
        notes.push(format!("{who}: {} more malformed records", m.problems_dropped));
    }
    if m.trailing > 0 {
        notes.push(format!("{who}: {} bytes after the last record ignored", m.trailing));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::dns::parser::parse_message;

    #[test]
    fn opt_summary() {
        // Query for example.com A with OPT: payload 1232, DO, COOKIE, CLIENT-SUBNET 192.0.2.0/24, EDE 18.
        let mut q = b"\xab\xcd\x01\x20\x00\x01\x00\x00\x00\x00\x00\x01\x07example\x03com\x00\x00\x01\x00\x01".to_vec();
        let opts = b"\x00\x0a\x00\x08\x01\x02\x03\x04\x05\x06\x07\x08\
\x00\x08\x00\x07\x00\x01\x18\x00\xc0\x00\x02\
\x00\x0f\x00\x06\x00\x12abcd";
        q.extend_from_slice(b"\x00\x00\x29\x04\xd0\x01\x00\x80\x00");
        q.extend_from_slice(&(opts.len() as u16).to_be_bytes());
        q.extend_from_slice(opts);
        let m = parse_message(&q).unwrap();
        assert!(m.is_clean(), "{m:?}");
        assert_eq!(m.rcode(), 16, "extended rcode 1 << 4");
        let v = request(&m, 2);
        assert_eq!(
            v,
            json!({
                "id": 0xabcd, "opcode": "QUERY", "flags": ["rd", "ad"],
                "questions": [{"name": "example.com", "type": "A", "class": "IN"}],
                "additionals": [{
                    "name": "<Root>", "type": "OPT", "udp_payload_size": 1232,
                    "extended_rcode": 1, "version": 0, "flags": ["do"],
                    "options": [
                        {"code": 10, "name": "COOKIE", "data": "0102030405060708"},
                        {"code": 8, "name": "CLIENT-SUBNET", "data": "192.0.2.0/24/0"},
                        {"code": 15, "name": "EDE", "data": "18 abcd"},
                    ]
                }],
                "retransmissions": 2
            })
        );
        assert_eq!(summary(&m), "A example.com");
    }

    #[test]
    fn summaries() {
        let mut m = parse_message(crate::dissect::dns::parser::tests::RESPONSE_A).unwrap();
        m.header.flags = (m.header.flags & !0x7800) | (4 << 11);
        assert_eq!(summary(&m), "NOTIFY A example.com");
        m.questions.clear();
        assert_eq!(summary(&m), "NOTIFY (no question)");
    }
}
