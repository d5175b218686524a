//! A direction-independent key for a pair of transport endpoints.

use std::net::IpAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    low: (IpAddr, u16),
    high: (IpAddr, u16),
}

impl FlowKey {
    pub fn new(a_ip: IpAddr, a_port: u16, b_ip: IpAddr, b_port: u16) -> Self {
        let (a, b) = ((a_ip, a_port), (b_ip, b_port));
        if a <= b {
            FlowKey { low: a, high: b }
        } else {
            FlowKey { low: b, high: a }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_give_one_key() {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(FlowKey::new(a, 1234, b, 80), FlowKey::new(b, 80, a, 1234));
        assert_ne!(FlowKey::new(a, 1234, b, 80), FlowKey::new(a, 1235, b, 80));
    }
}
