//! The agent's link server against a misbehaving hub (a raw WebSocket client): garbage and wrong
//! messages are answered with errors, never a panic, and a later good client is still served.

use futures_util::{SinkExt, StreamExt};
use node_agent::link::protocol::{AgentMessage, MAX_PCAP_CONNECTIONS};
use node_agent::link::{serve, AgentIdentity, AgentState, LogLimits, ServerConfig};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn agent() -> (String, watch::Sender<bool>, Arc<AgentState>) {
    let state = Arc::new(AgentState::new(AgentIdentity::new_run("n1").unwrap(), LogLimits::default(), None));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/link/v1", listener.local_addr().unwrap());
    let (tx, rx) = watch::channel(false);
    tokio::spawn(serve(listener, Arc::clone(&state), ServerConfig::default(), rx, Arc::new(|_| {})));
    (url, tx, state)
}

/// The next text message that is not `stats` (with a limit that only guards against a hang).
async fn next(ws: &mut Ws) -> Option<AgentMessage> {
    let wait = async {
        loop {
            match ws.next().await? {
                Ok(Message::Text(t)) => {
                    let m: AgentMessage = serde_json::from_str(&t).expect("the agent sends valid messages");
                    if !matches!(m, AgentMessage::Stats(_)) {
                        return Some(m);
                    }
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), wait).await.expect("the agent answers")
}

async fn connect(url: &str) -> Ws {
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_that_does_not_subscribe_first_is_disconnected() {
    let (url, _stop, _) = agent().await;
    for first in [
        Message::text("not json"),
        Message::text(r#"{"type":"filter","id":1,"filters":[]}"#),
        Message::binary(vec![1, 2]),
    ] {
        let mut ws = connect(&url).await;
        assert!(matches!(next(&mut ws).await, Some(AgentMessage::Hello { protocol: 1, .. })));
        ws.send(first).await.unwrap();
        assert_eq!(next(&mut ws).await, None, "the connection ends");
    }
    // The server still serves.
    let mut ws = connect(&url).await;
    assert!(matches!(next(&mut ws).await, Some(AgentMessage::Hello { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_after_subscribing_are_answered_and_the_connection_stays() {
    let (url, _stop, state) = agent().await;
    let mut ws = connect(&url).await;
    next(&mut ws).await;
    ws.send(Message::text(r#"{"type":"subscribe","filters":["http and"],"id":5}"#)).await.unwrap();
    let Some(AgentMessage::Filter { id: 5, ok: false, column: Some(9), error: Some(_) }) = next(&mut ws).await else {
        panic!("a filter error names its column");
    };
    for bad in ["{", r#"{"type":"nonsense"}"#, r#"{"type":"subscribe"}"#, "\u{0}"] {
        ws.send(Message::text(bad)).await.unwrap();
        assert!(matches!(next(&mut ws).await, Some(AgentMessage::Error { .. })), "{bad}");
    }
    let too_many = vec![
        serde_json::json!({"a": "1.1.1.1:1", "b": "2.2.2.2:2", "from": "1970-01-01T00:00:00Z",
                                            "to": "1970-01-01T00:00:01Z"});
        MAX_PCAP_CONNECTIONS + 1
    ];
    let pcap = serde_json::json!({"type": "pcap", "id": 3, "max_bytes": 1000, "connections": too_many});
    ws.send(Message::text(pcap.to_string())).await.unwrap();
    assert!(matches!(next(&mut ws).await, Some(AgentMessage::PcapError { id: 3, .. })));
    // No storage on this agent: an export is refused with a reason.
    let pcap = serde_json::json!({"type": "pcap", "id": 4, "max_bytes": 1000, "connections": []});
    ws.send(Message::text(pcap.to_string())).await.unwrap();
    let Some(AgentMessage::PcapError { id: 4, error }) = next(&mut ws).await else { panic!() };
    assert!(error.contains("stores no packets"), "{error}");

    // With a filter that failed, nothing is sent; a good filter then lets entries through.
    let mut entry: node_agent::Entry = serde_json::from_str(
        r#"{"id":"x-1","protocol":"dns","transport":"udp","ts":"2026-01-01T00:00:00Z","elapsed_us":null,
            "src":{"ip":"10.0.0.1","port":5000},"dst":{"ip":"10.0.0.2","port":53},"summary":"A a","status":null,
            "request_size":1,"response_size":0,"request":{},"response":null}"#,
    )
    .unwrap();
    state.push(entry.clone());
    // Wait until the agent has looked at it (its stats say so).
    let wait = async {
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Text(t) = m {
                if let Ok(AgentMessage::Stats(s)) = serde_json::from_str(&t) {
                    if s.filtered_out == 1 {
                        return;
                    }
                }
            }
        }
        panic!("connection ended");
    };
    tokio::time::timeout(Duration::from_secs(60), wait).await.expect("stats");
    ws.send(Message::text(r#"{"type":"filter","id":6,"filters":["dns"]}"#)).await.unwrap();
    assert!(matches!(next(&mut ws).await, Some(AgentMessage::Filter { id: 6, ok: true, .. })));
    entry.id = "x-2".into();
    state.push(entry.clone());
    let Some(AgentMessage::Entries { entries }) = next(&mut ws).await else { panic!() };
    let ids: Vec<_> = entries.iter().map(|e| (e.seq, e.entry.id.as_str())).collect();
    // Entry 1 was looked at while no valid filter was in force, so it was left out.
    assert_eq!(ids, vec![(2, "x-2")]);
}

/// Names and capture scopes a hub may not set are refused whole with an answer; what the agent had
/// stays, and good ones that follow are taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_and_scopes_beyond_the_limits_are_refused_and_change_nothing() {
    use node_agent::resolve::{NameKey, Names};
    let (url, _stop, state) = agent().await;
    let mut ws = connect(&url).await;
    next(&mut ws).await;
    ws.send(Message::text(r#"{"type":"subscribe","id":0}"#)).await.unwrap();
    assert!(matches!(next(&mut ws).await, Some(AgentMessage::Filter { id: 0, ok: true, .. })));

    let good = r#"{"type":"names","reset":true,"set":[{"ip":"10.0.0.5","pod":"web-0"}]}"#;
    ws.send(Message::text(good)).await.unwrap();
    // A scope acknowledgement after it shows the names message was taken (messages are in order).
    ws.send(Message::text(r#"{"type":"capture","id":1,"addresses":["10.0.0.5"]}"#)).await.unwrap();
    assert_eq!(next(&mut ws).await, Some(AgentMessage::Capture { id: 1, ok: true, error: None }));
    let web = Names { pod: Some("web-0".into()), ..Names::default() };
    assert_eq!(state.names.get(NameKey::ip("10.0.0.5".parse().unwrap())), Some(web.clone()));
    assert_eq!(state.scope.get().addresses(), Some(vec!["10.0.0.5".parse().unwrap()]));

    let long = "x".repeat(254);
    let bad_names = format!(r#"{{"type":"names","reset":true,"set":[{{"ip":"10.0.0.6","pod":"{long}"}}]}}"#);
    ws.send(Message::text(bad_names)).await.unwrap();
    let Some(AgentMessage::Error { error }) = next(&mut ws).await else { panic!("an error for a long name") };
    assert!(error.contains("254 bytes"), "{error}");
    let addresses: Vec<String> = (0..=65_536u32).map(|i| std::net::Ipv4Addr::from(i).to_string()).collect();
    let bad_scope = serde_json::json!({"type": "capture", "id": 2, "addresses": addresses}).to_string();
    ws.send(Message::text(bad_scope)).await.unwrap();
    let Some(AgentMessage::Capture { id: 2, ok: false, error: Some(error) }) = next(&mut ws).await else {
        panic!("a refused scope")
    };
    assert!(error.contains("65537"), "{error}");
    assert_eq!(state.names.len(), 1, "the refused names changed nothing");
    assert_eq!(state.names.get(NameKey::ip("10.0.0.5".parse().unwrap())), Some(web));
    assert_eq!(state.scope.get().address_count(), Some(1), "the refused scope changed nothing");

    ws.send(Message::text(r#"{"type":"capture","id":3,"all":true}"#)).await.unwrap();
    assert_eq!(next(&mut ws).await, Some(AgentMessage::Capture { id: 3, ok: true, error: None }));
    assert!(state.scope.get().is_all());
}
