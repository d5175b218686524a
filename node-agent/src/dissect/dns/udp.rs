//! DNS over UDP: one session per client/server address pair, one message per datagram.

use super::pairing::Tracker;
use crate::dissect::{DatagramSession, Direction, ExchangeSink};
use crate::time::Timestamp;

pub struct DnsUdpSession {
    tracker: Tracker,
}

impl DnsUdpSession {
    pub fn new(timeout_ns: u64) -> Self {
        DnsUdpSession { tracker: Tracker::new(timeout_ns) }
    }
}

impl DatagramSession for DnsUdpSession {
    fn on_datagram(&mut self, dir: Direction, payload: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink) {
        // Packet time also moves the clock, so timeouts hold even when ticks are sparse.
        self.tracker.expire(ts, out);
        self.tracker.on_message(dir, payload, ts, ts, out);
    }

    fn on_tick(&mut self, now: Timestamp, out: &mut dyn ExchangeSink) {
        self.tracker.expire(now, out);
    }

    fn on_close(&mut self, ts: Timestamp, out: &mut dyn ExchangeSink) {
        self.tracker.expire(ts, out);
        self.tracker.flush("no response before the flow ended", out);
    }

    fn is_idle(&self) -> bool {
        self.tracker.is_empty()
    }
}
