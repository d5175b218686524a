use super::*;
use crate::entry::Transport;
use crate::time::Timestamp;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn names(pod: Option<&str>, namespace: Option<&str>, service: Option<&str>, node: Option<&str>) -> Names {
    let s = |v: Option<&str>| v.map(String::from);
    Names { pod: s(pod), namespace: s(namespace), service: s(service), node: s(node) }
}

fn entry(src: (&str, u16), dst: (&str, u16)) -> Entry {
    Entry {
        id: "t-1".into(),
        protocol: "http".into(),
        transport: Transport::Tcp,
        ts: Timestamp::from_secs_nanos(0, 0),
        elapsed_us: None,
        src: Endpoint::new(ip(src.0), src.1),
        dst: Endpoint::new(ip(dst.0), dst.1),
        summary: "GET /".into(),
        status: None,
        outcome: Default::default(),
        tls: false,
        request_size: 0,
        response_size: 0,
        request: serde_json::json!({}),
        response: None,
        notes: vec![],
    }
}

#[test]
fn address_and_port_come_first_and_the_address_fills_the_rest() {
    let t = NameTable::new();
    t.set(NameKey::ip(ip("10.0.0.5")), names(Some("web-0"), Some("shop"), None, Some("node-1"))).unwrap();
    // An EndpointSlice: port 8080 of the pod belongs to service `web`.
    t.set(NameKey::addr(ip("10.0.0.5"), 8080), names(None, None, Some("web"), None)).unwrap();
    // A ClusterIP names a service only on its port.
    t.set(NameKey::addr(ip("10.96.0.10"), 53), names(None, Some("kube-system"), Some("kube-dns"), None)).unwrap();

    assert_eq!(t.names(ip("10.0.0.5"), 8080), Some(names(Some("web-0"), Some("shop"), Some("web"), Some("node-1"))));
    assert_eq!(t.names(ip("10.0.0.5"), 9090), Some(names(Some("web-0"), Some("shop"), None, Some("node-1"))));
    assert_eq!(t.names(ip("10.96.0.10"), 53), Some(names(None, Some("kube-system"), Some("kube-dns"), None)));
    assert_eq!(t.names(ip("10.96.0.10"), 54), None);
    assert_eq!(t.names(ip("10.0.0.6"), 8080), None);
    // The exact record wins over the address's for a field both have.
    t.set(NameKey::addr(ip("10.0.0.5"), 8080), names(None, Some("other"), Some("web"), None)).unwrap();
    assert_eq!(t.names(ip("10.0.0.5"), 8080).unwrap().namespace.as_deref(), Some("other"));
    assert_eq!(t.get(NameKey::ip(ip("10.0.0.5"))).unwrap().service, None, "get does not merge");
    assert_eq!(t.len(), 3);
    assert!(t.remove(NameKey::addr(ip("10.0.0.5"), 8080)));
    assert!(!t.remove(NameKey::addr(ip("10.0.0.5"), 8080)));
    assert_eq!(t.names(ip("10.0.0.5"), 8080).unwrap().service, None);
}

#[test]
fn apply_fills_only_empty_fields_of_both_sides() {
    let t = NameTable::new();
    t.set(NameKey::ip(ip("10.0.0.3")), names(Some("client-0"), Some("shop"), None, Some("node-2"))).unwrap();
    t.set(NameKey::ip(ip("10.0.0.5")), names(Some("web-0"), Some("shop"), Some("web"), Some("node-1"))).unwrap();
    let mut e = entry(("10.0.0.3", 40000), ("10.0.0.5", 80));
    e.dst.pod = Some("already-known".into());
    assert!(apply(&t, &mut e));
    assert_eq!(
        (e.src.pod.as_deref(), e.src.namespace.as_deref(), e.src.service.as_deref(), e.src.node.as_deref()),
        (Some("client-0"), Some("shop"), None, Some("node-2"))
    );
    assert_eq!(
        (e.dst.pod.as_deref(), e.dst.namespace.as_deref(), e.dst.service.as_deref(), e.dst.node.as_deref()),
        (Some("already-known"), Some("shop"), Some("web"), Some("node-1")),
        "a name already set stays"
    );
    let before = e.clone();
    assert_eq!(lookup(&t, &e), None, "nothing more to add");
    assert!(!apply(&t, &mut e));
    assert_eq!(e, before);
    let mut unknown = entry(("192.0.2.1", 1), ("192.0.2.2", 2));
    assert!(!apply(&t, &mut unknown));
    assert_eq!(unknown, entry(("192.0.2.1", 1), ("192.0.2.2", 2)));
}

#[test]
fn the_table_is_bounded_and_refused_changes_leave_it_as_it_was() {
    let t = NameTable::with_capacity(3);
    let n = |p: &str| names(Some(p), None, None, None);
    t.replace_all(vec![
        (NameKey::ip(ip("10.0.0.1")), n("a")),
        (NameKey::ip(ip("10.0.0.2")), n("b")),
        (NameKey::addr(ip("10.0.0.1"), 80), n("c")),
    ])
    .unwrap();
    let full = t.snapshot();
    assert_eq!(full.len(), 3);
    assert_eq!(
        t.set(NameKey::ip(ip("10.0.0.9")), n("d")),
        Err(NameError::Full { capacity: 3, wanted: 4 }),
        "a fourth record"
    );
    // Replacing a record, or removing one to make room, is fine at capacity.
    t.set(NameKey::ip(ip("10.0.0.2")), n("b2")).unwrap();
    t.update(vec![(NameKey::ip(ip("10.0.0.9")), n("d"))], &[NameKey::ip(ip("10.0.0.2"))]).unwrap();
    assert_eq!(t.get(NameKey::ip(ip("10.0.0.9"))), Some(n("d")));
    assert_eq!(t.get(NameKey::ip(ip("10.0.0.2"))), None);
    let before = t.snapshot();
    let too_many: Vec<_> = (0..4).map(|i| (NameKey::ip(IpAddr::from([10, 1, 0, i])), n("x"))).collect();
    assert!(matches!(t.replace_all(too_many), Err(NameError::Full { capacity: 3, .. })));
    let duplicate_keys = vec![(NameKey::ip(ip("10.0.0.7")), n("first")), (NameKey::ip(ip("10.0.0.7")), n("second"))];
    let unchanged: Vec<_> = t.snapshot().into_iter().map(|(k, v)| (k, Names::clone(&v))).collect();
    assert_eq!(unchanged, before.iter().map(|(k, v)| (*k, Names::clone(v))).collect::<Vec<_>>());
    t.replace_all(duplicate_keys).unwrap();
    assert_eq!((t.len(), t.get(NameKey::ip(ip("10.0.0.7")))), (1, Some(n("second"))), "the later record wins");
}

#[test]
fn names_longer_than_a_dns_subdomain_are_refused() {
    let t = NameTable::new();
    let key = NameKey::addr(ip("fd00::1"), 443);
    let long = "x".repeat(MAX_NAME_LEN + 1);
    let err = t.set(key, names(None, None, Some(&long), None)).unwrap_err();
    assert_eq!(err, NameError::TooLong { key, field: "service", len: MAX_NAME_LEN + 1 });
    assert_eq!(err.to_string(), "the service name of [fd00::1]:443 is 254 bytes long; at most 253");
    assert!(t.replace_all(vec![(key, names(Some(&long), None, None, None))]).is_err());
    assert!(t.is_empty());
    t.set(key, names(None, None, Some(&long[1..]), None)).unwrap();
}

#[test]
fn records_have_the_documented_json_shape() {
    let r =
        NameRecord::new(NameKey::addr(ip("10.96.0.10"), 53), names(None, Some("kube-system"), Some("kube-dns"), None));
    let json = serde_json::to_string(&r).unwrap();
    assert_eq!(json, r#"{"ip":"10.96.0.10","port":53,"namespace":"kube-system","service":"kube-dns"}"#);
    let back: NameRecord = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
    let pod: NameRecord = serde_json::from_str(r#"{"ip":"10.0.0.5","pod":"web-0"}"#).unwrap();
    assert_eq!(pod.into_parts(), (NameKey::ip(ip("10.0.0.5")), names(Some("web-0"), None, None, None)));
    assert_eq!(serde_json::to_string(&NameKey::ip(ip("::1"))).unwrap(), r#"{"ip":"::1"}"#);
}
