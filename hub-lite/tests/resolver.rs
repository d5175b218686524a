//! Names, capture scope and agents that come and go, end to end: real agent servers
//! (node_agent::link) on loopback, the real hub side (hub_lite::agents), entries from dissecting the
//! bundled capture. Oracles: the entries `run_files` produces, named by hand in `expected_names`
//! (not through a NameTable), and the agents' own state (their name table and capture scope).

mod common;

use common::{accept, demo_entries, from_hub, new_state, no_redaction, start_agent, stored, text, until};
use futures_util::SinkExt;
use hub_lite::agents::{AgentConfig, Agents, AgentsError, AgentsOptions};
use hub_lite::store::{EntryStore, StoreLimits};
use node_agent::filter::Filter;
use node_agent::link::protocol::{AgentMessage, HubMessage, SeqEntry};
use node_agent::link::{AgentState, LogLimits};
use node_agent::resolve::{NameKey, Names};
use node_agent::scope::Scope;
use node_agent::{Endpoint, Entry};
use std::net::IpAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn names(pod: Option<&str>, namespace: &str, service: Option<&str>, node: Option<&str>) -> Names {
    Names {
        pod: pod.map(String::from),
        namespace: Some(namespace.into()),
        service: service.map(String::from),
        node: node.map(String::from),
    }
}

/// The names the tests give the demo's addresses: the server pod `web-0` (service `web` on port
/// 80 only), the client pods, and nothing for IPv6.
fn demo_names() -> Vec<(NameKey, Names)> {
    vec![
        (NameKey::ip(ip("10.77.248.2")), names(Some("web-0"), "shop", None, Some("node-1"))),
        (NameKey::addr(ip("10.77.248.2"), 80), names(None, "shop", Some("web"), None)),
        (NameKey::ip(ip("10.77.248.3")), names(Some("client-a"), "shop", None, Some("node-2"))),
        (NameKey::ip(ip("10.77.248.4")), names(Some("client-b"), "batch", None, Some("node-2"))),
    ]
}

/// `entry` with the names of `demo_names`, written out by hand.
fn expected_names(entry: &Entry) -> Entry {
    fn named(e: &Endpoint) -> Endpoint {
        let s = |v: &str| Some(v.to_string());
        let (pod, namespace, service, node) = match (e.ip.to_string().as_str(), e.port) {
            ("10.77.248.2", 80) => (s("web-0"), s("shop"), s("web"), s("node-1")),
            ("10.77.248.2", _) => (s("web-0"), s("shop"), None, s("node-1")),
            ("10.77.248.3", _) => (s("client-a"), s("shop"), None, s("node-2")),
            ("10.77.248.4", _) => (s("client-b"), s("batch"), None, s("node-2")),
            _ => (None, None, None, None),
        };
        Endpoint { pod, namespace, service, node, ..e.clone() }
    }
    Entry { src: named(&entry.src), dst: named(&entry.dst), ..entry.clone() }
}

/// The agent holds exactly the names of `table` (what the hub sent arrived whole).
fn agent_has(state: &AgentState, table: &[(NameKey, Names)]) -> bool {
    state.names.len() == table.len() && table.iter().all(|(k, n)| state.names.get(*k).as_ref() == Some(n))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_pushed_to_every_agent_name_the_entries_it_sends_afterwards() {
    let states: Vec<_> =
        ["node-1", "node-2", "node-3"].iter().map(|n| new_state(n, LogLimits::default(), None)).collect();
    let mut servers = Vec::new();
    for s in &states {
        servers.push(start_agent(s, None, None).await);
    }
    let store = Arc::new(EntryStore::new(StoreLimits::default()));
    let configs = servers.iter().zip(["node-1", "node-2", "node-3"]).map(|(s, n)| AgentConfig::at(n, s.address, None));
    let agents = Agents::start(configs.collect(), Arc::clone(&store), no_redaction());
    agents.names().replace_all(demo_names()).unwrap();
    let table = demo_names();
    until(&store, &agents, "every agent has the names", |_, _| states.iter().all(|s| agent_has(s, &table))).await;

    let per_agent: Vec<Vec<Entry>> = states.iter().map(|s| demo_entries(&s.identity.id_prefix)).collect();
    for (s, entries) in states.iter().zip(&per_agent) {
        for e in entries {
            s.push(e.clone());
        }
    }
    let total: usize = per_agent.iter().map(Vec::len).sum();
    until(&store, &agents, "every entry", |s, _| s.stats().stored == total).await;
    let got = stored(&store);
    for (i, entries) in per_agent.iter().enumerate() {
        let prefix = format!("{}-", states[i].identity.id_prefix);
        let mine: Vec<Entry> = got.iter().filter(|e| e.id.starts_with(&prefix)).cloned().collect();
        let want: Vec<Entry> = entries.iter().map(expected_names).collect();
        assert_eq!(mine, want, "agent {i}: every entry named as the table says, in order");
    }
    assert!(got.iter().any(|e| e.dst.service.as_deref() == Some("web")) && got.iter().any(|e| e.src.pod.is_none()));

    // An incremental change reaches every agent too, and entries sent afterwards carry it.
    agents.names().set(NameKey::ip(ip("fd77:71aa::2")), names(Some("web-0"), "shop", None, None)).unwrap();
    assert!(agents.names().remove(NameKey::ip(ip("10.77.248.4"))));
    let mut table = demo_names();
    table.retain(|(k, _)| *k != NameKey::ip(ip("10.77.248.4")));
    table.push((NameKey::ip(ip("fd77:71aa::2")), names(Some("web-0"), "shop", None, None)));
    until(&store, &agents, "every agent has the change", |_, _| states.iter().all(|s| agent_has(s, &table))).await;
    let state = &states[1];
    let later: Vec<Entry> = demo_entries(&state.identity.id_prefix)
        .into_iter()
        .enumerate()
        .map(|(i, e)| Entry { id: format!("{}-{}", state.identity.id_prefix, 10_000 + i), ..e })
        .collect();
    for e in &later {
        state.push(e.clone());
    }
    until(&store, &agents, "the later entries", |s, _| s.stats().stored == total + later.len()).await;
    let got = stored(&store);
    let want: Vec<Entry> = later
        .iter()
        .map(|plain| {
            let mut want = expected_names(plain);
            if plain.dst.ip == ip("fd77:71aa::2") {
                want.dst.pod = Some("web-0".into());
                want.dst.namespace = Some("shop".into());
            }
            if plain.src.ip == ip("10.77.248.4") {
                want.src = plain.src.clone();
            }
            want
        })
        .collect();
    assert_eq!(got[total..], want[..], "named after the change");
    assert!(
        later.iter().any(|e| e.src.ip == ip("10.77.248.4")) && later.iter().any(|e| e.dst.ip == ip("fd77:71aa::2"))
    );
    for s in servers {
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_down_filter_selects_by_name_at_the_agent() {
    let state = new_state("node-1", LogLimits::default(), None);
    let entries = demo_entries(&state.identity.id_prefix);
    let server = start_agent(&state, None, None).await;
    let store = Arc::new(EntryStore::new(StoreLimits::default()));
    let filter = Filter::parse(r#"dst.service == "web" and src.pod == "client-a""#).unwrap();
    let options = AgentsOptions { initial_filters: vec![filter], ..no_redaction() };
    let agents = Agents::start(vec![AgentConfig::at("node-1", server.address, None)], Arc::clone(&store), options);
    agents.names().replace_all(demo_names()).unwrap();
    until(&store, &agents, "the agent has the names", |_, _| agent_has(&state, &demo_names())).await;
    for e in &entries {
        state.push(e.clone());
    }
    let total = entries.len() as u64;
    until(&store, &agents, "the agent looked at every entry", |_, a| {
        let h = &a.health()[0];
        h.sent + h.filtered_out == total
    })
    .await;
    let want: Vec<Entry> = entries
        .iter()
        .filter(|e| e.src.ip == ip("10.77.248.3") && e.dst.ip == ip("10.77.248.2") && e.dst.port == 80)
        .map(expected_names)
        .collect();
    assert_eq!(want.len(), 31, "the demo's HTTP exchanges of 10.77.248.3 with port 80");
    assert_eq!(stored(&store), want, "exactly the entries the names select crossed");
    let h = &agents.health()[0];
    assert_eq!((h.sent, h.filtered_out), (31, total - 31), "{h:?}");
    server.stop().await;
}

/// An agent that ignores names (say, an older one): the hub names its entries on receipt, from
/// the names it has then. Entries already stored keep what they had (stored entries are never
/// rewritten).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_names_entries_on_receipt_and_does_not_rewrite_stored_ones() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let store = Arc::new(EntryStore::new(StoreLimits::default()));
    let agents = Agents::start(
        vec![AgentConfig::at("old", listener.local_addr().unwrap(), None)],
        Arc::clone(&store),
        no_redaction(),
    );
    let mut ws = accept(&listener).await;
    let hello = AgentMessage::Hello {
        protocol: 1,
        version: "0.0.1".into(),
        agent: "old".into(),
        run: "r1".into(),
        id_prefix: "old.r1".into(),
        first_seq: 1,
        last_seq: 0,
    };
    ws.send(text(&hello)).await.unwrap();
    let HubMessage::Subscribe { .. } = from_hub(&mut ws).await else { panic!("subscribe first") };
    let HubMessage::Capture { all: true, .. } = from_hub(&mut ws).await else { panic!("then the capture scope") };
    let HubMessage::Names { reset: true, more: false, set, .. } = from_hub(&mut ws).await else {
        panic!("then the (empty) names")
    };
    assert!(set.is_empty());

    let demo = demo_entries("old.r1");
    let first = demo.iter().find(|e| e.src.ip == ip("10.77.248.3")).unwrap().clone();
    let batch = AgentMessage::Entries { entries: vec![SeqEntry { seq: 1, entry: first.clone() }] };
    ws.send(text(&batch)).await.unwrap();
    until(&store, &agents, "the first entry", |s, _| s.stats().stored == 1).await;
    assert_eq!(stored(&store), vec![first.clone()], "no names known yet");

    agents.names().replace_all(demo_names()).unwrap();
    // The hub tells the agent (which ignores it) ...
    let HubMessage::Names { reset: true, set, .. } = from_hub(&mut ws).await else { panic!("names") };
    assert_eq!(set.len(), demo_names().len());
    // ... and names what arrives from now on itself.
    let second = Entry { id: "old.r1-2".into(), ..first.clone() };
    let batch = AgentMessage::Entries { entries: vec![SeqEntry { seq: 2, entry: second.clone() }] };
    ws.send(text(&batch)).await.unwrap();
    until(&store, &agents, "the second entry", |s, _| s.stats().stored == 2).await;
    assert_eq!(stored(&store), vec![first, expected_names(&second)], "the stored entry was not rewritten");
    // Names the agent did send are kept, even when the hub knows others.
    let mut third = Entry { id: "old.r1-3".into(), ..second.clone() };
    third.src.pod = Some("as-the-agent-says".into());
    let batch = AgentMessage::Entries { entries: vec![SeqEntry { seq: 3, entry: third.clone() }] };
    ws.send(text(&batch)).await.unwrap();
    until(&store, &agents, "the third entry", |s, _| s.stats().stored == 3).await;
    let got = stored(&store);
    assert_eq!(got[2].src.pod.as_deref(), Some("as-the-agent-says"));
    assert_eq!(got[2].src.namespace.as_deref(), Some("shop"), "empty fields are still filled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_capture_scope_reaches_every_agent_now_on_reconnect_and_when_added() {
    let a = new_state("node-a", LogLimits::default(), None);
    let b = new_state("node-b", LogLimits::default(), None);
    let server_a = start_agent(&a, None, None).await;
    let server_b = start_agent(&b, None, None).await;
    let store = Arc::new(EntryStore::new(StoreLimits::default()));
    let agents = Agents::start(
        vec![AgentConfig::at("node-a", server_a.address, None), AgentConfig::at("node-b", server_b.address, None)],
        Arc::clone(&store),
        no_redaction(),
    );
    until(&store, &agents, "both connected", |_, a| a.health().iter().all(|h| h.connected)).await;
    assert!(a.scope.get().is_all() && b.scope.get().is_all());
    let scope = Scope::only([ip("10.77.248.3"), ip("fd77:71aa::3")]).unwrap();
    agents.set_capture_scope(scope.clone());
    until(&store, &agents, "both agents acknowledged the scope", |_, a| a.health().iter().all(|h| h.scope == Some(2)))
        .await;
    assert_eq!((*a.scope.get()).clone(), scope);
    assert_eq!((*b.scope.get()).clone(), scope);

    // node-b restarts: a new process starts with everything in scope, and gets the hub's again.
    let address = server_b.address;
    server_b.stop().await;
    until(&store, &agents, "node-b gone", |_, a| !a.health()[1].connected).await;
    let b2 = new_state("node-b", LogLimits::default(), None);
    assert!(b2.scope.get().is_all());
    let server_b2 = start_agent(&b2, Some(address), None).await;
    until(&store, &agents, "the new node-b has the scope", |_, _| *b2.scope.get() == scope).await;

    // An agent added later gets it at once.
    let c = new_state("node-c", LogLimits::default(), None);
    let server_c = start_agent(&c, None, None).await;
    agents.add(AgentConfig::at("node-c", server_c.address, None)).unwrap();
    until(&store, &agents, "node-c has the scope", |_, _| *c.scope.get() == scope).await;

    // Back to everything.
    agents.set_capture_scope(Scope::all());
    until(&store, &agents, "everything again", |_, _| [&a, &b2, &c].iter().all(|s| s.scope.get().is_all())).await;
    until(&store, &agents, "acknowledged", |_, a| a.health().iter().all(|h| h.connected && h.scope.is_none())).await;
    for s in [server_a, server_b2, server_c] {
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_come_and_go_while_entries_flow_and_nothing_is_stored_twice() {
    let a = new_state("node-a", LogLimits::default(), None);
    let b = new_state("node-b", LogLimits::default(), None);
    let server_a = start_agent(&a, None, None).await;
    let server_b = start_agent(&b, None, None).await;
    let entries_a = demo_entries(&a.identity.id_prefix);
    let entries_b = demo_entries(&b.identity.id_prefix);
    let store = Arc::new(EntryStore::new(StoreLimits::default()));
    let agents =
        Agents::start(vec![AgentConfig::at("node-a", server_a.address, None)], Arc::clone(&store), no_redaction());
    for e in &entries_a[..20] {
        a.push(e.clone());
    }
    until(&store, &agents, "node-a's first 20", |s, _| s.stats().stored == 20).await;

    // node-b joins while node-a keeps producing.
    agents.add(AgentConfig::at("node-b", server_b.address, None)).unwrap();
    assert_eq!(
        agents.add(AgentConfig::at("node-b", server_b.address, None)),
        Err(AgentsError::Duplicate("node-b".into()))
    );
    for (ea, eb) in entries_a[20..40].iter().zip(&entries_b[..20]) {
        a.push(ea.clone());
        b.push(eb.clone());
    }
    until(&store, &agents, "40 + 20", |s, _| s.stats().stored == 60).await;
    assert_eq!(agents.names_of_agents(), vec!["node-a", "node-b"]);

    // node-a goes (say, its node is drained): its row goes, its entries stay.
    assert!(agents.remove("node-a"));
    assert!(!agents.remove("node-a"));
    let health = agents.health();
    assert_eq!(health.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(), vec!["node-b"]);
    // What node-a produces meanwhile does not reach the hub; node-b's does.
    for e in &entries_a[40..50] {
        a.push(e.clone());
    }
    for e in &entries_b[20..30] {
        b.push(e.clone());
    }
    until(&store, &agents, "node-b's next 10", |s, _| s.stats().stored == 70).await;
    let got = stored(&store);
    assert_eq!(got.iter().filter(|e| e.id.starts_with(&a.identity.id_prefix)).count(), 40, "node-a's stay");

    // node-a comes back: the hub resumes where it stopped, so only what it missed is sent.
    agents.add(AgentConfig::at("node-a", server_a.address, None)).unwrap();
    for e in &entries_a[50..] {
        a.push(e.clone());
    }
    let total = entries_a.len() + 30;
    until(&store, &agents, "everything", |s, _| s.stats().stored == total).await;
    until(&store, &agents, "node-a's stats", |_, ag| {
        ag.health().iter().any(|h| h.name == "node-a" && h.sent == (entries_a.len() - 40) as u64)
    })
    .await;
    let got = stored(&store);
    let of = |prefix: &str| -> Vec<Entry> { got.iter().filter(|e| e.id.starts_with(prefix)).cloned().collect() };
    assert_eq!(of(&format!("{}-", a.identity.id_prefix)), entries_a, "node-a's entries, each once, in order");
    assert_eq!(of(&format!("{}-", b.identity.id_prefix)), entries_b[..30].to_vec());
    let h: Vec<_> = agents.health().into_iter().map(|h| (h.name, h.received)).collect();
    assert_eq!(h, vec![("node-b".to_string(), 30), ("node-a".to_string(), (entries_a.len() - 40) as u64)]);

    agents.shutdown();
    assert_eq!(agents.add(AgentConfig::at("node-x", server_a.address, None)), Err(AgentsError::ShutDown));
    server_a.stop().await;
    server_b.stop().await;
}
