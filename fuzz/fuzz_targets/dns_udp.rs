#![no_main]
//! DNS over UDP: the parser and probe on the raw input, then a session fed with datagrams cut
//! from the input. Checks beyond "no panic": a claimed datagram parses cleanly, every exchange
//! is coherent, and nothing stays pending after close.
//!
//! Input layout for the session: repeated [control][length: u16 BE][payload]. Control bit 0 is
//! the direction, bit 7 asks for a tick, bits 1-6 advance the clock.

use libfuzzer_sys::fuzz_target;
use node_agent::dissect::dns::{parser, DnsUdpDissector};
use node_agent::dissect::{DatagramDissector, Direction, Exchange, FlowInfo, Probe};
use node_agent::time::Timestamp;

const FLOW: FlowInfo = FlowInfo { server_port: 53, client_port: 40000, saw_handshake: false };

fn check(e: &Exchange) {
    assert_eq!(e.protocol, "dns");
    assert_eq!(e.response.is_some(), e.status.is_some());
    assert_eq!(e.response.is_some(), e.end_ts.is_some());
    if e.response.is_none() {
        assert_eq!(e.response_size, 0);
        assert!(!e.notes.is_empty(), "an unanswered query says why");
    }
    assert!(!e.summary.is_empty());
    // The JSON must serialise.
    let _ = e.request.to_string();
}

fuzz_target!(|data: &[u8]| {
    let parsed = parser::parse_message(data);
    // Nanosecond timeout: ticks and datagrams expire queries often.
    let d = DnsUdpDissector::with_timeout(1_000);
    match d.probe(&FLOW, data) {
        Probe::Client | Probe::Server => {
            let m = parsed.expect("a claimed datagram has a header");
            assert!(m.is_clean(), "a claimed datagram parses cleanly");
        }
        Probe::No => {}
        Probe::NeedMore => panic!("a datagram is complete: NeedMore makes no sense"),
    }

    let mut s = d.new_session(&FLOW);
    let mut out: Vec<Exchange> = Vec::new();
    let mut ts = 0u64;
    let mut rest = data;
    while rest.len() >= 3 {
        let ctl = rest[0];
        let len = u16::from_be_bytes([rest[1], rest[2]]) as usize;
        let (payload, tail) = rest[3..].split_at(len.min(rest.len() - 3));
        rest = tail;
        ts += ((ctl >> 1) & 0x3f) as u64 * 100;
        let dir = if ctl & 1 == 0 { Direction::ClientToServer } else { Direction::ServerToClient };
        s.on_datagram(dir, payload, Timestamp(ts), &mut out);
        if ctl & 0x80 != 0 {
            s.on_tick(Timestamp(ts), &mut out);
        }
    }
    s.on_close(Timestamp(ts), &mut out);
    assert!(s.is_idle(), "close reports everything pending");
    out.iter().for_each(check);
});
