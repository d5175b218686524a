//! IP networks for `src.ip in "10.0.0.0/8"`.

use std::net::IpAddr;

/// An address with a prefix length; a plain address is a network of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    /// `"10.0.0.0/8"`, `"fd00::/8"` or a plain address (`"10.0.0.1"`, a /32 or /128).
    pub(crate) fn parse(s: &str) -> Option<Net> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.len() <= 3 => p.parse().ok()?,
            Some(_) => return None,
        };
        (prefix <= max).then_some(Net { addr, prefix })
    }

    /// Whether `ip` is inside; an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) counts as its IPv4 form.
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                same_prefix(u32::from(net).into(), u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => same_prefix(u128::from(net), u128::from(ip), self.prefix, 128),
            (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().is_some_and(|v4| self.contains(IpAddr::V4(v4))),
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

/// Whether the first `prefix` of the low `bits` bits of `a` and `b` agree.
fn same_prefix(a: u128, b: u128, prefix: u8, bits: u32) -> bool {
    let host_bits = bits - u32::from(prefix);
    (a ^ b).checked_shr(host_bits).unwrap_or(0) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_networks() {
        let n = Net::parse("10.0.0.0/8").unwrap();
        assert!(n.contains(ip("10.1.2.3")));
        assert!(!n.contains(ip("11.0.0.1")));
        assert!(n.contains(ip("::ffff:10.9.9.9")));
        assert!(!n.contains(ip("fd00::1")));
        let all = Net::parse("0.0.0.0/0").unwrap();
        assert!(all.contains(ip("203.0.113.7")));
        let one = Net::parse("10.0.0.1").unwrap();
        assert!(one.contains(ip("10.0.0.1")));
        assert!(!one.contains(ip("10.0.0.2")));
    }

    #[test]
    fn ipv6_networks() {
        let n = Net::parse("fd00::/8").unwrap();
        assert!(n.contains(ip("fd12::1")));
        assert!(!n.contains(ip("fe80::1")));
        assert!(!n.contains(ip("10.0.0.1")));
        assert!(Net::parse("::/0").unwrap().contains(ip("2001:db8::1")));
    }

    #[test]
    fn rejects_what_is_not_a_network() {
        for bad in ["10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "abc", "::/129", "10.0.0.0/-1", "10.0.0.0/+8", ""] {
            assert_eq!(Net::parse(bad), None, "{bad}");
        }
    }
}
