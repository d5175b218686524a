//! Session-level tests: probing, pairing, timeouts, TCP framing and resynchronisation.
//! (Wire-format details are tested beside the parser and RDATA code.)

use super::*;
use crate::dissect::{Direction, Exchange};
use crate::time::Timestamp;
use serde_json::json;
use Direction::{ClientToServer as C2S, ServerToClient as S2C};

const SEC: u64 = 1_000_000_000;

fn flow(saw_handshake: bool) -> FlowInfo {
    FlowInfo { server_port: 53, client_port: 40000, saw_handshake }
}

fn wire_name(name: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for label in name.split('.').filter(|l| !l.is_empty()) {
        v.push(label.len() as u8);
        v.extend_from_slice(label.as_bytes());
    }
    v.push(0);
    v
}

/// A query with RD set and one IN question.
fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut v = id.to_be_bytes().to_vec();
    v.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    v.extend(wire_name(name));
    v.extend_from_slice(&qtype.to_be_bytes());
    v.extend_from_slice(&[0, 1]);
    v
}

/// A response (qr rd ra) repeating the question, answers owned by the question name (pointer).
fn response(id: u16, name: &str, qtype: u16, rcode: u8, answers: &[(u16, u32, &[u8])]) -> Vec<u8> {
    let mut v = id.to_be_bytes().to_vec();
    v.extend_from_slice(&[0x81, 0x80 | rcode, 0, 1, 0, answers.len() as u8, 0, 0, 0, 0]);
    v.extend(wire_name(name));
    v.extend_from_slice(&qtype.to_be_bytes());
    v.extend_from_slice(&[0, 1]);
    for (t, ttl, rd) in answers {
        v.extend_from_slice(&[0xc0, 0x0c]);
        v.extend_from_slice(&t.to_be_bytes());
        v.extend_from_slice(&[0, 1]);
        v.extend_from_slice(&ttl.to_be_bytes());
        v.extend_from_slice(&(rd.len() as u16).to_be_bytes());
        v.extend_from_slice(rd);
    }
    v
}

fn framed(msg: &[u8]) -> Vec<u8> {
    let mut v = (msg.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(msg);
    v
}

/// A small deterministic generator (xorshift64*), so random tests are reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn udp() -> Box<dyn crate::dissect::DatagramSession> {
    DnsUdpDissector::default().new_session(&flow(false))
}

// ---------------------------------------------------------------- every type, built independently

/// A response built by simple-dns (an independent encoder, with name compression) carrying every
/// type the presentation rules cover; the JSON is written out by hand.
#[test]
fn every_type_from_an_independent_encoder() {
    use simple_dns::rdata::{self as sd, RData as R};
    use simple_dns::{CharacterString, Name, Packet, PacketFlag, Question, ResourceRecord, CLASS, QTYPE};
    let n = Name::new_unchecked;
    let mut p = Packet::new_reply(0x1234);
    p.set_flags(PacketFlag::AUTHORITATIVE_ANSWER | PacketFlag::RECURSION_DESIRED);
    p.questions.push(Question::new(n("example.com"), QTYPE::ANY, CLASS::IN.into(), false));
    let rr = |name: &'static str, ttl: u32, d: R<'static>| ResourceRecord::new(n(name), CLASS::IN, ttl, d);
    let mut txt = sd::TXT::new();
    txt.add_string("v=spf1 -all").unwrap();
    txt.add_string("hello \"world\"").unwrap();
    let mut https = sd::SVCB::new(1, n(""));
    https.set_alpn(&[CharacterString::new(b"h2").unwrap(), CharacterString::new(b"h3").unwrap()]);
    https.set_port(443);
    https.set_ipv4hint(&[0xc000_0201]);
    p.answers = vec![
        rr("example.com", 300, R::A(sd::A { address: 0xc000_0201 })),
        rr("example.com", 300, R::AAAA(sd::AAAA { address: 0x2001_0db8_0000_0000_0000_0000_0000_0001 })),
        rr("www.example.com", 60, R::CNAME(sd::CNAME(n("example.com")))),
        rr("example.com", 60, R::TXT(txt)),
        rr("example.com", 3600, R::MX(sd::MX { preference: 10, exchange: n("mail.example.com") })),
        rr(
            "_http._tcp.example.com",
            60,
            R::SRV(sd::SRV { priority: 1, weight: 5, port: 8080, target: n("web.example.com") }),
        ),
        rr("1.2.0.192.in-addr.arpa", 60, R::PTR(sd::PTR(n("example.com")))),
        rr("example.com", 60, R::HTTPS(sd::HTTPS(https))),
        rr(
            "example.com",
            60,
            R::CAA(sd::CAA {
                flag: 0,
                tag: CharacterString::new(b"issue").unwrap(),
                value: b"letsencrypt.org".as_slice().into(),
            }),
        ),
    ];
    p.name_servers = vec![
        rr("example.com", 86400, R::NS(sd::NS(n("ns1.example.com")))),
        rr(
            "example.com",
            300,
            R::SOA(sd::SOA {
                mname: n("ns1.example.com"),
                rname: n("hostmaster.example.com"),
                serial: 2024010101,
                refresh: 3600,
                retry: 600,
                expire: 604800,
                minimum: 300,
            }),
        ),
    ];
    *p.opt_mut() = Some(sd::OPT { opt_codes: vec![], udp_packet_size: 1232, version: 0 });
    let bytes = p.build_bytes_vec_compressed().unwrap();
    let plain = p.build_bytes_vec().unwrap();
    assert!(bytes.len() + 100 < plain.len(), "the encoder must have compressed names");
    assert_eq!(probe::datagram(&bytes), Probe::Server);

    let m = parser::parse_message(&bytes).unwrap();
    assert!(m.is_clean(), "{m:?}");
    let rec = |name: &str, t: &str, ttl: u32, data: &str| json!({"name": name, "type": t, "class": "IN", "ttl": ttl, "data": data});
    assert_eq!(
        json::response(&m),
        json!({
            "id": 0x1234, "rcode": "NOERROR", "flags": ["qr", "aa", "rd"],
            "answers": [
                rec("example.com", "A", 300, "192.0.2.1"),
                rec("example.com", "AAAA", 300, "2001:db8::1"),
                rec("www.example.com", "CNAME", 60, "example.com"),
                rec("example.com", "TXT", 60, "\"v=spf1 -all\" \"hello \\\"world\\\"\""),
                rec("example.com", "MX", 3600, "10 mail.example.com"),
                rec("_http._tcp.example.com", "SRV", 60, "1 5 8080 web.example.com"),
                rec("1.2.0.192.in-addr.arpa", "PTR", 60, "example.com"),
                rec("example.com", "HTTPS", 60, "1 <Root> alpn=h2,h3 port=443 ipv4hint=192.0.2.1"),
                rec("example.com", "CAA", 60, "0 issue \"letsencrypt.org\""),
            ],
            "authorities": [
                rec("example.com", "NS", 86400, "ns1.example.com"),
                rec("example.com", "SOA", 300, "ns1.example.com hostmaster.example.com 2024010101 3600 600 604800 300"),
            ],
            "additionals": [{
                "name": "<Root>", "type": "OPT", "udp_payload_size": 1232,
                "extended_rcode": 0, "version": 0, "flags": [], "options": []
            }],
        })
    );
    assert_eq!(json::summary(&m), "ANY example.com");
}

// ---------------------------------------------------------------- probing

#[test]
fn probe_claims_queries_and_responses() {
    let d = DnsUdpDissector::default();
    let q = query(0x1234, "example.com", 1);
    let r = response(0x1234, "example.com", 1, 0, &[(1, 300, &[192, 0, 2, 1])]);
    assert_eq!(d.probe(&flow(false), &q), Probe::Client);
    assert_eq!(d.probe(&flow(false), &r), Probe::Server);
    let t = DnsTcpDissector;
    assert_eq!(t.probe(&flow(true), &framed(&q)), Probe::Client);
    assert_eq!(t.probe(&flow(true), &framed(&r)), Probe::Server);
    // Two pipelined messages: the first decides.
    let mut two = framed(&q);
    two.extend(framed(&query(2, "example.org", 28)));
    assert_eq!(t.probe(&flow(true), &two), Probe::Client);
    // Every proper prefix of a framed query is NeedMore (plausible so far), never a verdict.
    let fq = framed(&q);
    for cut in 0..fq.len() {
        assert_eq!(t.probe(&flow(true), &fq[..cut]), Probe::NeedMore, "cut {cut}");
    }
}

#[test]
fn probe_refuses_near_misses() {
    let d = DnsUdpDissector::default();
    let q = query(0x1234, "example.com", 1);
    let no = |bytes: &[u8], why: &str| assert_eq!(d.probe(&flow(false), bytes), Probe::No, "{why}");
    no(&q[..q.len() - 1], "truncated");
    let mut v = q.clone();
    v.push(0);
    no(&v, "trailing byte");
    let mut v = q.clone();
    v[5] = 0;
    no(&v, "no question");
    let mut v = q.clone();
    v[5] = 5;
    no(&v, "five questions, counts do not fit");
    let mut v = q.clone();
    v[3] |= 0x40;
    no(&v, "Z bit");
    let mut v = q.clone();
    v[2] = 0x18 | 0x01;
    no(&v, "opcode 3");
    let mut v = q.clone();
    v[3] |= 0x02;
    no(&v, "query with an rcode");
    let mut v = q.clone();
    let class_at = v.len() - 1;
    v[class_at] = 2;
    no(&v, "class 2");
    let mut v = q.clone();
    v[7] = 1;
    no(&v, "ancount 1 without an answer");
    // A pointer loop in the question.
    let mut v = q[..12].to_vec();
    v.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]);
    no(&v, "pointer loop");
    // Over TCP, a length that does not match the message.
    let t = DnsTcpDissector;
    let mut f = framed(&q);
    f[1] -= 1;
    assert_eq!(t.probe(&flow(true), &f), Probe::No, "length one short");
    let mut f = framed(&q);
    f[1] += 1;
    assert_eq!(t.probe(&flow(true), &f), Probe::NeedMore, "length one long, wait");
    f.push(0);
    assert_eq!(t.probe(&flow(true), &f), Probe::No, "length one long, trailing byte");
}

#[test]
fn probe_refuses_http_tls_and_random_bytes() {
    let d = DnsUdpDissector::default();
    let t = DnsTcpDissector;
    let texts: [&[u8]; 6] = [
        b"GET / HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n",
        b"POST /api/items HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        // A TLS 1.2 ClientHello's first bytes.
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x8a\x1f\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb",
        b"SSH-2.0-OpenSSH_9.6\r\n",
    ];
    for text in texts {
        for len in 0..=text.len() {
            assert_eq!(d.probe(&flow(false), &text[..len]), Probe::No, "{:?}", &text[..len]);
        }
        // As the first bytes of a TCP stream: refused once the bytes that decide are there.
        assert_eq!(t.probe(&flow(true), text), Probe::No, "{:?}", String::from_utf8_lossy(text));
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut stream_verdicts = 0;
    for i in 0..20_000 {
        let len = 12 + (i % 500);
        let b = rng.bytes(len);
        assert_eq!(d.probe(&flow(false), &b), Probe::No, "{b:02x?}");
        let v = t.probe(&flow(true), &b);
        assert!(matches!(v, Probe::No | Probe::NeedMore), "{v:?} for {b:02x?}");
        stream_verdicts += (v == Probe::No) as u32;
    }
    // Most random streams are refused outright rather than left waiting.
    assert!(stream_verdicts > 19_000, "{stream_verdicts}");
}

#[test]
fn probe_claims_a_long_tcp_response_before_it_is_complete() {
    // 100 A records: about 1.6 KB, claimed from its first 600 bytes.
    let answers: Vec<(u16, u32, &[u8])> = (0..100).map(|_| (1u16, 60u32, &[10u8, 0, 0, 1][..])).collect();
    let r = framed(&response(7, "big.example", 1, 0, &answers));
    assert_eq!(DnsTcpDissector.probe(&flow(true), &r[..600]), Probe::Server);
    assert_eq!(DnsTcpDissector.probe(&flow(true), &r[..400]), Probe::NeedMore);
    // The same prefix with a broken record is refused.
    let mut bad = r[..600].to_vec();
    bad[2 + 29 + 16 * 5] = 0x40; // answer 5's owner name starts with a reserved label type
    assert_eq!(DnsTcpDissector.probe(&flow(true), &bad), Probe::No);
}

// ---------------------------------------------------------------- UDP pairing

#[test]
fn query_and_response_pair_into_one_exchange() {
    let mut s = udp();
    let mut out: Vec<Exchange> = Vec::new();
    let q = query(0x1234, "example.com", 1);
    let r = response(0x1234, "example.com", 1, 0, &[(1, 300, &[192, 0, 2, 1])]);
    s.on_datagram(C2S, &q, Timestamp(10), &mut out);
    assert!(out.is_empty() && !s.is_idle());
    s.on_datagram(S2C, &r, Timestamp(25), &mut out);
    assert!(s.is_idle());
    assert_eq!(
        out,
        vec![Exchange {
            protocol: "dns",
            ts: Timestamp(10),
            end_ts: Some(Timestamp(25)),
            summary: "A example.com".into(),
            status: Some("NOERROR".into()),
            outcome: crate::entry::Outcome::Ok,
            request_size: q.len() as u64,
            response_size: r.len() as u64,
            request: json!({"id": 4660, "opcode": "QUERY", "flags": ["rd"],
                "questions": [{"name": "example.com", "type": "A", "class": "IN"}]}),
            response: Some(json!({"id": 4660, "rcode": "NOERROR", "flags": ["qr", "rd", "ra"],
                "answers": [{"name": "example.com", "type": "A", "class": "IN", "ttl": 300, "data": "192.0.2.1"}],
                "authorities": [], "additionals": []})),
            notes: vec![],
        }]
    );
}

#[test]
fn out_of_order_answers_pair_by_id_and_question() {
    let mut s = udp();
    let mut out = Vec::new();
    s.on_datagram(C2S, &query(1, "a.example", 1), Timestamp(1), &mut out);
    s.on_datagram(C2S, &query(2, "b.example", 28), Timestamp(2), &mut out);
    // Same id as the first, other question: a different query.
    s.on_datagram(C2S, &query(1, "c.example", 1), Timestamp(3), &mut out);
    s.on_datagram(S2C, &response(1, "c.example", 1, 3, &[]), Timestamp(4), &mut out);
    s.on_datagram(S2C, &response(2, "b.example", 28, 0, &[]), Timestamp(5), &mut out);
    // 0x20 case randomisation: the response echoes another case.
    s.on_datagram(S2C, &response(1, "A.Example", 1, 0, &[]), Timestamp(6), &mut out);
    let got: Vec<_> = out.iter().map(|e| (e.summary.as_str(), e.status.as_deref(), e.ts.0, e.end_ts)).collect();
    assert_eq!(
        got,
        vec![
            ("A c.example", Some("NXDOMAIN"), 3, Some(Timestamp(4))),
            ("AAAA b.example", Some("NOERROR"), 2, Some(Timestamp(5))),
            ("A a.example", Some("NOERROR"), 1, Some(Timestamp(6))),
        ]
    );
    assert!(out.iter().all(|e| e.notes.is_empty()));
    assert!(s.is_idle());
}

#[test]
fn retransmissions_are_counted_not_emitted() {
    let mut s = udp();
    let mut out = Vec::new();
    let q = query(9, "example.com", 1);
    for t in [100, 1_000_100, 2_000_100] {
        s.on_datagram(C2S, &q, Timestamp(t), &mut out);
    }
    assert!(out.is_empty());
    s.on_datagram(S2C, &response(9, "example.com", 1, 0, &[]), Timestamp(2_500_000), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].ts, Timestamp(100), "the first transmission starts the exchange");
    assert_eq!(out[0].request["retransmissions"], 2);
    // A second copy of the response is labelled, not taken for an uncaptured query.
    s.on_datagram(S2C, &response(9, "example.com", 1, 0, &[]), Timestamp(2_600_000), &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].notes, vec!["duplicate response: the query was already answered"]);
    assert_eq!(out[1].request_size, 0);
}

#[test]
fn response_without_query_is_reported_with_a_note() {
    let mut s = udp();
    let mut out = Vec::new();
    let r = response(77, "example.com", 28, 0, &[(28, 60, &[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])]);
    s.on_datagram(S2C, &r, Timestamp(50), &mut out);
    assert_eq!(out.len(), 1);
    let e = &out[0];
    assert_eq!(
        (e.ts, e.end_ts, e.request_size, e.response_size),
        (Timestamp(50), Some(Timestamp(50)), 0, r.len() as u64)
    );
    assert_eq!(e.summary, "AAAA example.com");
    assert_eq!(e.notes, vec!["query not captured"]);
    assert_eq!(
        e.request,
        json!({"id": 77, "opcode": "QUERY", "flags": ["rd"], "questions": [{"name": "example.com", "type": "AAAA", "class": "IN"}]})
    );
    assert_eq!(e.response.as_ref().unwrap()["answers"][0]["data"], "2001:db8::1");
    // A query sent the other way does not pair with a response from the same side.
    let mut s = udp();
    let mut out = Vec::new();
    s.on_datagram(S2C, &query(5, "x.example", 1), Timestamp(1), &mut out);
    s.on_datagram(S2C, &response(5, "x.example", 1, 0, &[]), Timestamp(2), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].notes, vec!["query not captured"]);
}

#[test]
fn unanswered_queries_time_out_on_tick() {
    let mut s = udp();
    let mut out = Vec::new();
    let t0 = 1_700_000_000 * SEC;
    s.on_datagram(C2S, &query(1, "slow.example", 1), Timestamp(t0), &mut out);
    s.on_datagram(C2S, &query(2, "slower.example", 1), Timestamp(t0 + SEC), &mut out);
    s.on_tick(Timestamp(t0 + 5 * SEC - 1), &mut out);
    assert!(out.is_empty());
    s.on_tick(Timestamp(t0 + 5 * SEC), &mut out);
    assert_eq!(out.len(), 1);
    let e = &out[0];
    assert_eq!(
        (e.summary.as_str(), e.status.clone(), e.end_ts, e.response.clone()),
        ("A slow.example", None, None, None)
    );
    assert_eq!(e.response_size, 0);
    assert_eq!(e.notes, vec!["no response within 5 s"]);
    assert!(!s.is_idle());
    // The answer arrives after the timeout: labelled late, not paired.
    s.on_datagram(S2C, &response(1, "slow.example", 1, 0, &[]), Timestamp(t0 + 5 * SEC + 1), &mut out);
    assert_eq!(out[1].notes, vec!["late response: the query was already reported unanswered"]);
    // Closing reports the rest.
    s.on_close(Timestamp(t0 + 2 * SEC), &mut out);
    assert_eq!(out.len(), 3);
    assert_eq!(out[2].summary, "A slower.example");
    assert_eq!(out[2].notes, vec!["no response before the flow ended"]);
    assert!(s.is_idle());

    let mut s = DnsUdpDissector::with_timeout(SEC / 2).new_session(&flow(false));
    let mut out = Vec::new();
    s.on_datagram(C2S, &query(1, "x.example", 1), Timestamp(0), &mut out);
    s.on_tick(Timestamp(SEC / 2), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].notes, vec!["no response within 500 ms"]);
}

#[test]
fn responses_without_question_pair_by_id_when_unambiguous() {
    let mut s = udp();
    let mut out = Vec::new();
    s.on_datagram(C2S, &query(3, "x.example", 1), Timestamp(1), &mut out);
    // FORMERR with no question section.
    let formerr = [0, 3, 0x81, 0x81, 0, 0, 0, 0, 0, 0, 0, 0];
    s.on_datagram(S2C, &formerr, Timestamp(2), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].summary.as_str(), out[0].status.as_deref()), ("A x.example", Some("FORMERR")));
    assert!(out[0].notes.is_empty());
}

#[test]
fn pending_table_is_bounded() {
    let mut s = udp();
    let mut out = Vec::new();
    for i in 0..=MAX_PENDING as u16 {
        s.on_datagram(C2S, &query(i, "many.example", 1), Timestamp(i as u64), &mut out);
    }
    assert_eq!(out.len(), 1, "the oldest is reported to make room");
    assert_eq!(out[0].request["id"], 0);
    assert!(out[0].notes[0].starts_with("no response seen: dropped from the pending-query table"));
    // Big queries are bounded by bytes: 10 KB queries, at most 256 KiB of them.
    let mut s = udp();
    let mut out = Vec::new();
    for i in 0..40u16 {
        let mut q = query(i, "big.example", 1);
        // Grow it with an additional record of unknown type holding 10 000 bytes.
        q[11] = 1;
        q.extend_from_slice(&[0, 0xff, 0, 0, 1, 0, 0, 0, 0, 0x27, 0x10]);
        q.extend(std::iter::repeat_n(0u8, 10_000));
        s.on_datagram(C2S, &q, Timestamp(i as u64), &mut out);
    }
    assert_eq!(out.len(), 40 - MAX_PENDING_BYTES / 10_040);
}

#[test]
fn non_dns_datagrams_are_skipped_and_counted() {
    let mut s = udp();
    let mut out = Vec::new();
    s.on_datagram(C2S, b"hello", Timestamp(1), &mut out);
    s.on_datagram(C2S, b"GET / HTTP/1.1\r\n\r\n", Timestamp(2), &mut out);
    assert!(out.is_empty() && s.is_idle());
    s.on_datagram(C2S, &query(1, "a.example", 1), Timestamp(3), &mut out);
    s.on_datagram(S2C, &response(1, "a.example", 1, 0, &[]), Timestamp(4), &mut out);
    assert_eq!(out[0].notes, vec!["2 messages on this flow did not parse as DNS and were skipped"]);
}

#[test]
fn damaged_response_is_shown_with_notes() {
    let mut s = udp();
    let mut out = Vec::new();
    s.on_datagram(C2S, &query(1, "a.example", 1), Timestamp(1), &mut out);
    let mut r = response(1, "a.example", 1, 0, &[(1, 60, &[10, 0, 0, 1]), (15, 60, &[0, 10, 0xc0])]);
    r[7] = 3; // claims a third answer that is not there
    s.on_datagram(S2C, &r, Timestamp(2), &mut out);
    assert_eq!(out.len(), 1);
    let resp = out[0].response.as_ref().unwrap();
    assert_eq!(resp["answers"][0]["data"], "10.0.0.1");
    assert_eq!(resp["answers"][1]["data"], "000ac0", "the broken MX is shown as hex");
    assert_eq!(
        out[0].notes,
        vec![
            "response incomplete, parsing stopped: name label length needs 1 bytes but only 0 remain (answer 2, byte 58)",
            "response: MX RDATA of 3 bytes is malformed: exchange: compression pointer needs 2 bytes but only 1 remain (answer 1, byte 43); shown as hex",
        ]
    );
}

// ---------------------------------------------------------------- TCP

fn tcp(saw_handshake: bool) -> Box<dyn StreamSession> {
    DnsTcpDissector.new_session(&flow(saw_handshake))
}

/// Three pipelined queries and their responses in another order.
fn conversation() -> (Vec<u8>, Vec<u8>) {
    let mut c = Vec::new();
    c.extend(framed(&query(1, "a.example", 1)));
    c.extend(framed(&query(2, "b.example", 28)));
    c.extend(framed(&query(3, "c.example", 15)));
    let mut s = Vec::new();
    s.extend(framed(&response(3, "c.example", 15, 0, &[(15, 60, b"\x00\x0a\x04mail\xc0\x0c")])));
    s.extend(framed(&response(1, "a.example", 1, 0, &[(1, 60, &[10, 0, 0, 1])])));
    s.extend(framed(&response(2, "b.example", 28, 3, &[])));
    (c, s)
}

fn run_tcp(client: &[&[u8]], server: &[&[u8]]) -> Vec<Exchange> {
    let mut s = tcp(true);
    let mut out = Vec::new();
    for chunk in client {
        s.on_data(C2S, chunk, Timestamp(1), &mut out);
        assert!(s.buffered_bytes() <= MAX_TCP_BUFFER * 2);
    }
    for chunk in server {
        s.on_data(S2C, chunk, Timestamp(2), &mut out);
    }
    s.on_close(Timestamp(3), &mut out);
    out
}

#[test]
fn tcp_pipelined_out_of_order() {
    let (c, s) = conversation();
    let out = run_tcp(&[&c], &[&s]);
    let got: Vec<_> = out.iter().map(|e| (e.summary.as_str(), e.status.as_deref(), e.request_size)).collect();
    assert_eq!(
        got,
        vec![
            ("MX c.example", Some("NOERROR"), 27),
            ("A a.example", Some("NOERROR"), 27),
            ("AAAA b.example", Some("NXDOMAIN"), 27)
        ]
    );
    assert_eq!(out[0].response.as_ref().unwrap()["answers"][0]["data"], "10 mail.c.example");
    assert!(out.iter().all(|e| e.notes.is_empty()), "{out:?}");
}

#[test]
fn tcp_split_at_every_byte_gives_the_same_exchanges() {
    let (c, s) = conversation();
    let whole = run_tcp(&[&c], &[&s]);
    assert_eq!(whole.len(), 3);
    for k in 0..=c.len() {
        assert_eq!(run_tcp(&[&c[..k], &c[k..]], &[&s]), whole, "client split at {k}");
    }
    for k in 0..=s.len() {
        assert_eq!(run_tcp(&[&c], &[&s[..k], &s[k..]]), whole, "server split at {k}");
    }
    let bytes_c: Vec<&[u8]> = c.chunks(1).collect();
    let bytes_s: Vec<&[u8]> = s.chunks(1).collect();
    assert_eq!(run_tcp(&bytes_c, &bytes_s), whole, "byte by byte");
    let threes_c: Vec<&[u8]> = c.chunks(3).collect();
    let sevens_s: Vec<&[u8]> = s.chunks(7).collect();
    assert_eq!(run_tcp(&threes_c, &sevens_s), whole);
}

#[test]
fn tcp_timestamps_span_the_messages() {
    let q = framed(&query(1, "a.example", 1));
    let r = framed(&response(1, "a.example", 1, 0, &[]));
    let mut s = tcp(true);
    let mut out = Vec::new();
    s.on_data(C2S, &q[..1], Timestamp(10), &mut out);
    s.on_data(C2S, &q[1..], Timestamp(11), &mut out);
    s.on_data(S2C, &r[..20], Timestamp(20), &mut out);
    s.on_data(S2C, &r[20..], Timestamp(21), &mut out);
    assert_eq!((out[0].ts, out[0].end_ts), (Timestamp(10), Some(Timestamp(21))));
    assert_eq!(out[0].response_size, r.len() as u64 - 2);
}

#[test]
fn tcp_gap_inside_a_known_message_skips_to_the_next() {
    let (c, s) = conversation();
    let q1 = framed(&query(1, "a.example", 1)).len();
    let mut sess = tcp(true);
    let mut out = Vec::new();
    // The second query loses 10 bytes in its middle; the third must still be read.
    sess.on_data(C2S, &c[..q1 + 8], Timestamp(1), &mut out);
    sess.on_gap(C2S, 10, &mut out);
    sess.on_data(C2S, &c[q1 + 18..], Timestamp(1), &mut out);
    sess.on_data(S2C, &s, Timestamp(2), &mut out);
    sess.on_close(Timestamp(3), &mut out);
    let got: Vec<_> = out.iter().map(|e| (e.summary.as_str(), e.notes.clone())).collect();
    assert_eq!(
        got,
        vec![
            ("MX c.example", vec![]),
            ("A a.example", vec![]),
            ("AAAA b.example", vec!["query not captured".to_string()]),
        ]
    );
}

#[test]
fn tcp_gap_across_boundaries_resynchronises() {
    let (c, s) = conversation();
    let q1 = framed(&query(1, "a.example", 1)).len();
    let mut sess = tcp(true);
    let mut out = Vec::new();
    // From the middle of query 1 to the middle of query 2: only query 3 survives, found by scanning.
    sess.on_data(C2S, &c[..5], Timestamp(1), &mut out);
    sess.on_gap(C2S, (q1 + 10 - 5) as u64, &mut out);
    sess.on_data(C2S, &c[q1 + 10..], Timestamp(1), &mut out);
    sess.on_data(S2C, &s, Timestamp(2), &mut out);
    let notes: Vec<_> = out.iter().map(|e| (e.summary.as_str(), e.notes.join("; "))).collect();
    assert_eq!(
        notes,
        vec![
            ("MX c.example", String::new()),
            ("A a.example", "query not captured".into()),
            ("AAAA b.example", "query not captured".into()),
        ]
    );
    // A gap before any length is known also resynchronises (here at the very next message).
    let mut sess = tcp(true);
    let mut out = Vec::new();
    sess.on_data(C2S, &c[..1], Timestamp(1), &mut out);
    sess.on_gap(C2S, (q1 - 1) as u64, &mut out);
    sess.on_data(C2S, &c[q1..], Timestamp(1), &mut out);
    sess.on_close(Timestamp(2), &mut out);
    assert_eq!(out.len(), 2, "queries 2 and 3 unanswered");
}

#[test]
fn tcp_mid_stream_pickup_finds_the_first_boundary() {
    let (c, s) = conversation();
    // Without the handshake the client side starts 4 bytes into the first query.
    let mut sess = tcp(false);
    let mut out = Vec::new();
    sess.on_data(C2S, &c[4..], Timestamp(1), &mut out);
    sess.on_data(S2C, &s, Timestamp(2), &mut out);
    assert_eq!(out.len(), 3);
    assert_eq!(out.iter().filter(|e| e.notes == ["query not captured"]).count(), 1);
    assert_eq!(out[1].summary, "A a.example");
}

#[test]
fn tcp_gives_up_on_garbage_after_a_gap() {
    let mut sess = tcp(true);
    let mut out = Vec::new();
    sess.on_data(C2S, &framed(&query(1, "a.example", 1)), Timestamp(1), &mut out);
    sess.on_gap(C2S, 100, &mut out);
    let mut rng = Rng(42);
    let junk = rng.bytes(tcp::RESYNC_BUDGET as usize + 70_000);
    for chunk in junk.chunks(1460) {
        sess.on_data(C2S, chunk, Timestamp(2), &mut out);
        assert!(sess.buffered_bytes() <= MAX_TCP_BUFFER);
    }
    assert!(!sess.is_done(), "the server side still works");
    assert_eq!(sess.buffered_bytes(), 0, "the client side stopped and let go of its buffer");
    sess.on_gap(S2C, 5, &mut out);
    // In one call larger than the buffer: giving up happens with input left over.
    sess.on_data(S2C, &junk, Timestamp(3), &mut out);
    assert!(sess.is_done());
    assert_eq!(out.len(), 1, "the waiting query is reported when the session gives up");
    assert!(out[0].notes[0].contains("could not be followed"));
}

#[test]
fn tcp_impossible_length_resynchronises() {
    let (c, s) = conversation();
    let mut bad = vec![0u8, 3, 1, 2, 3]; // a 3-byte "message"
    bad.extend_from_slice(&c);
    let out = run_tcp(&[&bad], &[&s]);
    let notes: Vec<_> = out.iter().map(|e| e.notes.clone()).collect();
    assert_eq!(
        notes,
        vec![vec!["1 messages on this flow did not parse as DNS and were skipped".to_string()], vec![], vec![]]
    );
}

#[test]
fn tcp_random_input_stays_bounded() {
    let mut rng = Rng(7);
    for round in 0..20 {
        let mut sess = tcp(round % 2 == 0);
        let mut out = Vec::new();
        for _ in 0..200 {
            let n = (rng.next() % 3000) as usize;
            let mut chunk = rng.bytes(n);
            // Sprinkle plausible prefixes so framing paths get exercised.
            if n > 40 && rng.next().is_multiple_of(2) {
                let q = framed(&query(rng.next() as u16, "r.example", 1));
                let at = (rng.next() as usize) % (n - q.len().min(n));
                let end = (at + q.len()).min(n);
                chunk[at..end].copy_from_slice(&q[..end - at]);
            }
            let dir = if rng.next().is_multiple_of(2) { C2S } else { S2C };
            if rng.next().is_multiple_of(10) {
                sess.on_gap(dir, rng.next() % 100_000, &mut out);
            }
            sess.on_data(dir, &chunk, Timestamp(round), &mut out);
            assert!(sess.buffered_bytes() <= 2 * MAX_TCP_BUFFER);
        }
        sess.on_close(Timestamp(round + 1), &mut out);
        assert_eq!(sess.buffered_bytes(), 0);
    }
}

#[test]
fn tcp_resync_is_split_invariant() {
    // Picked up mid-way: text, a stray partial message, then the conversation.
    let (c, s) = conversation();
    let mut client = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
    client.extend_from_slice(&framed(&query(9, "stray.example", 1))[7..]);
    client.extend_from_slice(&c);
    let mut sess = tcp(false);
    let mut whole = Vec::new();
    sess.on_data(C2S, &client, Timestamp(1), &mut whole);
    sess.on_data(S2C, &s, Timestamp(1), &mut whole);
    sess.on_close(Timestamp(2), &mut whole);
    assert_eq!(whole.len(), 3);
    assert!(whole.iter().all(|e| e.response.is_some()), "{whole:?}");
    for k in 0..=client.len() {
        let mut sess = tcp(false);
        let mut out = Vec::new();
        sess.on_data(C2S, &client[..k], Timestamp(1), &mut out);
        sess.on_data(C2S, &client[k..], Timestamp(1), &mut out);
        sess.on_data(S2C, &s, Timestamp(1), &mut out);
        sess.on_close(Timestamp(2), &mut out);
        assert_eq!(out, whole, "split at {k}");
    }
}

/// Mutations of real messages (bytes flipped, cut, counts bumped): nothing panics, a claimed
/// message parses cleanly, and every exchange is coherent.
#[test]
fn mutated_messages() {
    let (c, s) = conversation();
    let seeds: Vec<Vec<u8>> = vec![
        query(1, "a.example", 1),
        response(1, "a.example", 1, 0, &[(1, 60, &[10, 0, 0, 1]), (5, 60, b"\x03www\xc0\x0c")]),
        c[2..29].to_vec(),
        s[2..].to_vec(),
        parser::tests::RESPONSE_A.to_vec(),
    ];
    let mut rng = Rng(0xdead_beef);
    let d = DnsUdpDissector::with_timeout(10);
    for i in 0..30_000u64 {
        let mut m = seeds[i as usize % seeds.len()].clone();
        for _ in 0..1 + rng.next() % 4 {
            let at = rng.next() as usize % m.len();
            match rng.next() % 4 {
                0 => m[at] = rng.next() as u8,
                1 => m[at] ^= 0xc0,
                2 => m.truncate(at.max(1)),
                _ => m.insert(at, rng.next() as u8),
            }
        }
        let claimed = matches!(d.probe(&flow(false), &m), Probe::Client | Probe::Server);
        if claimed {
            assert!(parser::parse_message(&m).unwrap().is_clean(), "{m:02x?}");
        }
        let mut sess = d.new_session(&flow(false));
        let mut out = Vec::new();
        let dir = if i % 2 == 0 { C2S } else { S2C };
        sess.on_datagram(dir, &m, Timestamp(i), &mut out);
        sess.on_close(Timestamp(i + 1), &mut out);
        assert!(sess.is_idle());
        for e in &out {
            assert_eq!(e.response.is_some(), e.status.is_some());
            assert_eq!(e.response.is_some(), e.end_ts.is_some());
        }
        let mut t = tcp(i % 3 == 0);
        let mut out = Vec::new();
        t.on_data(dir, &framed(&m), Timestamp(i), &mut out);
        t.on_close(Timestamp(i + 1), &mut out);
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// Feeds both streams in the given pieces (client first), all at one time.
fn run_pieces(saw_handshake: bool, client: &[&[u8]], server: &[&[u8]]) -> Vec<Exchange> {
    let mut s = tcp(saw_handshake);
    let mut out = Vec::new();
    for (dir, pieces) in [(C2S, client), (S2C, server)] {
        for p in pieces {
            s.on_data(dir, p, Timestamp(1), &mut out);
            assert!(s.buffered_bytes() <= 2 * MAX_TCP_BUFFER);
        }
    }
    s.on_close(Timestamp(2), &mut out);
    assert_eq!(s.buffered_bytes(), 0);
    out
}

/// The exchanges of both streams fed whole, checked to be the same when either stream is cut
/// at any one byte boundary, and when both are fed byte by byte.
fn split_invariant(saw_handshake: bool, c: &[u8], s: &[u8]) -> Vec<Exchange> {
    let whole = run_pieces(saw_handshake, &[c], &[s]);
    for k in 0..=c.len() {
        assert_eq!(run_pieces(saw_handshake, &[&c[..k], &c[k..]], &[s]), whole, "client split at {k}");
    }
    for k in 0..=s.len() {
        assert_eq!(run_pieces(saw_handshake, &[c], &[&s[..k], &s[k..]]), whole, "server split at {k}");
    }
    let bytes_c: Vec<&[u8]> = c.chunks(1).collect();
    let bytes_s: Vec<&[u8]> = s.chunks(1).collect();
    assert_eq!(run_pieces(saw_handshake, &bytes_c, &bytes_s), whole, "byte by byte");
    whole
}

/// Fuzzer find (dns_tcp, minimised): a clean message, a 1-byte "message", the first message
/// again. Resynchronising found the first message, emitted it, stopped at the bad length and
/// then left the rest of the buffer unscanned when the segment was used up, so fed whole the
/// repeat was never seen, while cut it counted as a retransmission.
#[test]
fn tcp_resync_works_off_the_whole_buffer_regression() {
    let m = "0014ca012a00000100000000000002000000000100010001";
    let server = unhex(&format!("{m}{}61", &m[..m.len() - 4]));
    for handshake in [true, false] {
        let out = split_invariant(handshake, &[], &server);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].request["retransmissions"], 1, "handshake {handshake}: {out:?}");
        assert_eq!(
            out[0].notes,
            [
                "1 messages on this flow did not parse as DNS and were skipped",
                "no response before the connection closed"
            ]
        );
    }
    // The original find, as the fuzz target splits it into the two streams.
    let client = unhex("0100f9bf2a00000000");
    let server = unhex(concat!(
        "0004000000000000000002000000000100016123432b0000ffffffff00000000",
        "0000007e002a0000010014ca012a000001000000000000020000000001000100",
        "0000000100016123432b0000ffffffff000000000000007e002a0000010014ca",
        "012a00000100000000000002000000000100016123432b0000ffffffff000001",
        "610004ff01009700212c0000000000000000002c000000000000000000000003",
        "9fff00",
    ));
    for handshake in [true, false] {
        let out = split_invariant(handshake, &client, &server);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].request["retransmissions"], 1, "handshake {handshake}: {out:?}");
    }
}
