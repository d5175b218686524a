//! The capture scope: which packets a capture keeps at all, decided per packet from its IP
//! addresses before the engine sees it. In a cluster the hub sends the addresses of the pods in
//! the tap's scope (docs/agent-protocol.md, `capture`); packets between two addresses outside it
//! are left out: not dissected, not stored, only counted.
//!
//! The pipelines take any [`PacketScope`] (`pipeline::LiveOptions::scope`,
//! `pipeline::run_files_scoped`); [`CaptureScope`] is the one an agent shares between its capture
//! thread and its hub connections: the set is swapped atomically, and the per-packet check is a
//! pointer load and one or two hash lookups.

use crate::source::RawPacket;
use arc_swap::ArcSwap;
use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

/// Most addresses in a scope (a `capture` message with that many IPv6 addresses stays under the
/// agent's 4 MiB message limit).
pub const MAX_SCOPE_ADDRESSES: usize = 65_536;

/// Decides per packet whether a capture keeps it.
pub trait PacketScope: Send + Sync {
    /// True when a packet from `src` to `dst` is kept.
    fn keeps(&self, src: IpAddr, dst: IpAddr) -> bool;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a capture scope of {count} addresses; at most {MAX_SCOPE_ADDRESSES}")]
pub struct ScopeError {
    pub count: usize,
}

/// Everything, or the packets with a source or destination among some addresses; either way
/// minus the packets from or to an excluded address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// `None`: everything.
    only: Option<HashSet<IpAddr, ahash::RandomState>>,
    /// Packets from or to these are left out whatever `only` says (in a cluster: Service
    /// ClusterIPs whose exchanges are also captured after kube-proxy's DNAT, docs/tap.md).
    exclude: HashSet<IpAddr, ahash::RandomState>,
}

fn bounded_set(addresses: impl IntoIterator<Item = IpAddr>) -> Result<HashSet<IpAddr, ahash::RandomState>, ScopeError> {
    let mut set = HashSet::with_hasher(ahash::RandomState::new());
    for a in addresses {
        set.insert(a);
        if set.len() > MAX_SCOPE_ADDRESSES {
            return Err(ScopeError { count: set.len() });
        }
    }
    Ok(set)
}

fn sorted(set: &HashSet<IpAddr, ahash::RandomState>) -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = set.iter().copied().collect();
    v.sort();
    v
}

impl Scope {
    /// Every packet is kept (the default).
    pub fn all() -> Scope {
        Scope::default()
    }

    /// Packets from or to one of `addresses` are kept; none at all when it is empty.
    pub fn only(addresses: impl IntoIterator<Item = IpAddr>) -> Result<Scope, ScopeError> {
        Ok(Scope { only: Some(bounded_set(addresses)?), exclude: HashSet::default() })
    }

    /// This scope minus the packets from or to one of `addresses` (at most
    /// [`MAX_SCOPE_ADDRESSES`]; replaces earlier exclusions).
    pub fn excluding(self, addresses: impl IntoIterator<Item = IpAddr>) -> Result<Scope, ScopeError> {
        Ok(Scope { exclude: bounded_set(addresses)?, ..self })
    }

    /// The excluded addresses, sorted.
    pub fn excluded(&self) -> Vec<IpAddr> {
        sorted(&self.exclude)
    }

    pub fn is_all(&self) -> bool {
        self.only.is_none()
    }

    /// The addresses of a limited scope, sorted; `None` for everything.
    pub fn addresses(&self) -> Option<Vec<IpAddr>> {
        self.only.as_ref().map(sorted)
    }

    /// Addresses in a limited scope; `None` for everything.
    pub fn address_count(&self) -> Option<usize> {
        self.only.as_ref().map(HashSet::len)
    }
}

impl PacketScope for Scope {
    fn keeps(&self, src: IpAddr, dst: IpAddr) -> bool {
        if !self.exclude.is_empty() && (self.exclude.contains(&src) || self.exclude.contains(&dst)) {
            return false;
        }
        match &self.only {
            None => true,
            Some(set) => set.contains(&src) || set.contains(&dst),
        }
    }
}

/// A [`Scope`] that can be replaced while a capture consults it.
pub struct CaptureScope {
    current: ArcSwap<Scope>,
}

impl Default for CaptureScope {
    fn default() -> Self {
        CaptureScope { current: ArcSwap::from_pointee(Scope::all()) }
    }
}

impl CaptureScope {
    /// A scope that keeps everything until [`CaptureScope::set`].
    pub fn new() -> CaptureScope {
        CaptureScope::default()
    }

    /// Replaces the scope; packets captured from now on are judged by it.
    pub fn set(&self, scope: Scope) {
        self.current.store(Arc::new(scope));
    }

    /// The scope in force.
    pub fn get(&self) -> Arc<Scope> {
        self.current.load_full()
    }
}

impl PacketScope for CaptureScope {
    fn keeps(&self, src: IpAddr, dst: IpAddr) -> bool {
        self.current.load().keeps(src, dst)
    }
}

/// Whether `scope` keeps this frame (`None`: every frame). Frames without a readable IP header are
/// kept: the engine counts them as ignored or malformed.
pub fn keeps_frame(scope: Option<&dyn PacketScope>, raw: &RawPacket<'_>) -> bool {
    match (scope, crate::packet::addresses(raw)) {
        (Some(scope), Some((src, dst))) => scope.keeps(src, dst),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_excluded_address_leaves_its_packets_out_whatever_the_other_end() {
        let s = Scope::only([ip("10.0.0.5")]).unwrap().excluding([ip("10.96.0.10")]).unwrap();
        assert!(s.keeps(ip("10.0.0.5"), ip("10.0.0.6")));
        assert!(!s.keeps(ip("10.0.0.5"), ip("10.96.0.10")), "to a ClusterIP");
        assert!(!s.keeps(ip("10.96.0.10"), ip("10.0.0.5")), "from a ClusterIP");
        assert_eq!(s.excluded(), vec![ip("10.96.0.10")]);
        let all = Scope::all().excluding([ip("10.96.0.10")]).unwrap();
        assert!(all.keeps(ip("1.2.3.4"), ip("5.6.7.8")) && !all.keeps(ip("1.2.3.4"), ip("10.96.0.10")));
        let many = (0..=MAX_SCOPE_ADDRESSES as u32).map(|i| IpAddr::from(i.to_be_bytes()));
        assert!(Scope::all().excluding(many).is_err(), "exclusions are bounded too");
    }

    #[test]
    fn a_packet_is_kept_when_either_end_is_in_scope() {
        let s = Scope::only([ip("10.0.0.5"), ip("fd00::5")]).unwrap();
        assert!(s.keeps(ip("10.0.0.5"), ip("10.0.0.9")));
        assert!(s.keeps(ip("10.0.0.9"), ip("10.0.0.5")));
        assert!(s.keeps(ip("fd00::1"), ip("fd00::5")));
        assert!(!s.keeps(ip("10.0.0.9"), ip("10.0.0.8")));
        assert!(!s.keeps(ip("::ffff:10.0.0.9"), ip("::ffff:10.0.0.8")));
        assert_eq!(s.address_count(), Some(2));
        assert_eq!(s.addresses(), Some(vec![ip("10.0.0.5"), ip("fd00::5")]));
        let none = Scope::only([]).unwrap();
        assert!(!none.keeps(ip("10.0.0.5"), ip("10.0.0.9")), "an empty set keeps nothing");
        assert!(Scope::all().keeps(ip("10.0.0.9"), ip("10.0.0.8")));
        assert!(Scope::all().is_all() && !none.is_all());
    }

    #[test]
    fn scopes_are_bounded() {
        let many = (0..=MAX_SCOPE_ADDRESSES as u32).map(|i| IpAddr::from(i.to_be_bytes()));
        assert_eq!(Scope::only(many).unwrap_err(), ScopeError { count: MAX_SCOPE_ADDRESSES + 1 });
        let enough = (0..MAX_SCOPE_ADDRESSES as u32).map(|i| IpAddr::from(i.to_be_bytes()));
        assert_eq!(Scope::only(enough).unwrap().address_count(), Some(MAX_SCOPE_ADDRESSES));
    }

    #[test]
    fn a_capture_scope_is_swapped_for_readers_on_other_threads() {
        let scope = Arc::new(CaptureScope::new());
        assert!(scope.keeps(ip("10.0.0.1"), ip("10.0.0.2")), "everything by default");
        scope.set(Scope::only([ip("10.0.0.1")]).unwrap());
        let reader = Arc::clone(&scope);
        let seen = std::thread::spawn(move || {
            (reader.keeps(ip("10.0.0.1"), ip("10.0.0.2")), reader.keeps(ip("10.0.0.3"), ip("10.0.0.2")))
        })
        .join()
        .unwrap();
        assert_eq!(seen, (true, false));
        scope.set(Scope::all());
        assert!(scope.keeps(ip("10.0.0.3"), ip("10.0.0.2")));
    }
}
