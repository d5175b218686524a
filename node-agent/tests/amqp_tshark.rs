//! Oracle test: the AMQP golden capture (tests/golden/amqp/conversation.pcap, RabbitMQ 3.10 and pika,
//! recorded by tests/golden/amqp/record) dissected by us and by tshark's amqp dissector must agree on
//! every method frame: which side sent it, on which channel, in which order per side, and its
//! arguments (queue, exchange, routing key, consumer tag, delivery tag, reply code and text); and on
//! every content header's body size. Each of tshark's methods must appear once in the entries, as a
//! request or as an answer (a close that refused a request appears as that request's answer too).
//!
//! Needs tshark; fails when it is missing.

use node_agent::engine::EngineConfig;
use node_agent::pipeline::run_files;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// A method as both sides describe it: side, channel, name, the compared arguments.
type Method = (String, u64, String, Vec<(String, String)>);

const ARGS: [&str; 7] =
    ["queue", "exchange", "routing_key", "consumer_tag", "delivery_tag", "reply_code", "reply_text"];

/// Class and method ids to names (the AMQP 0-9-1 specification; only what the capture holds).
fn name(class: u64, method: u64) -> String {
    let c = match class {
        10 => "connection",
        20 => "channel",
        40 => "exchange",
        50 => "queue",
        60 => "basic",
        _ => "?",
    };
    let m = match (class, method) {
        (10, 10) => "start",
        (10, 11) => "start-ok",
        (10, 30) => "tune",
        (10, 31) => "tune-ok",
        (10, 40) | (20, 10) => "open",
        (10, 41) | (20, 11) => "open-ok",
        (10, 50) | (20, 40) => "close",
        (10, 51) | (20, 41) => "close-ok",
        (_, 10) if class == 40 || class == 50 => "declare",
        (_, 11) if class == 40 || class == 50 => "declare-ok",
        (50, 20) => "bind",
        (50, 21) => "bind-ok",
        (50, 40) | (40, 20) => "delete",
        (50, 41) | (40, 21) => "delete-ok",
        (60, 10) => "qos",
        (60, 11) => "qos-ok",
        (60, 20) => "consume",
        (60, 21) => "consume-ok",
        (60, 30) => "cancel",
        (60, 31) => "cancel-ok",
        (60, 40) => "publish",
        (60, 60) => "deliver",
        (60, 70) => "get",
        (60, 71) => "get-ok",
        (60, 72) => "get-empty",
        (60, 80) => "ack",
        (60, 120) => "nack",
        _ => "?",
    };
    format!("{c}.{m}")
}

fn tshark_methods(capture: &Path, port: &str) -> (Vec<Method>, Vec<u64>) {
    let out = Command::new("tshark")
        .args(["-o", "tcp.reassemble_out_of_order:TRUE", "-d", &format!("tcp.port=={port},amqp"), "-r"])
        .arg(capture)
        .args(["-T", "json", "--no-duplicate-keys", "-J", "amqp tcp"])
        .output()
        .expect("amqp_tshark needs tshark in PATH (apt-get install tshark)");
    assert!(out.status.success(), "tshark failed: {}", String::from_utf8_lossy(&out.stderr));
    let packets: Vec<Value> = serde_json::from_slice(&out.stdout).expect("tshark JSON");
    let (mut methods, mut sizes) = (Vec::new(), Vec::new());
    for p in &packets {
        let layers = &p["_source"]["layers"];
        let side = if layers["tcp"]["tcp.srcport"] == port { "server" } else { "client" };
        let frames = match &layers["amqp"] {
            Value::Array(a) => a.clone(),
            Value::Null => vec![],
            one => vec![one.clone()],
        };
        for f in frames {
            let num = |k: &str| f[k].as_str().and_then(|s| s.parse::<u64>().ok());
            if let Some(size) = num("amqp.header.body-size") {
                sizes.push(size);
            }
            let (Some(class), Some(method)) = (num("amqp.method.class"), num("amqp.method.method")) else { continue };
            let args = ARGS
                .iter()
                .filter_map(|a| {
                    f["amqp.method.arguments"][format!("amqp.method.arguments.{a}")]
                        .as_str()
                        .map(|v| (a.to_string(), v.to_owned()))
                })
                .collect();
            methods.push((side.to_owned(), num("amqp.channel").unwrap_or(0), name(class, method), args));
        }
    }
    (methods, sizes)
}

fn method_of(side: &str, channel: u64, m: &Value) -> Method {
    let args = ARGS
        .iter()
        .filter_map(|a| m.get(*a).map(|v| (a.to_string(), v.as_str().map_or_else(|| v.to_string(), str::to_owned))))
        .collect();
    (side.to_owned(), channel, m["method"].as_str().unwrap_or_default().to_owned(), args)
}

#[test]
fn every_method_agrees_with_tshark() {
    let capture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/amqp/conversation.pcap");
    let mut entries = Vec::new();
    let config = EngineConfig { source_id: "e".into(), ..EngineConfig::default() };
    let run = run_files(&[capture.clone()], config, &mut |e| entries.push(e));
    assert!(run.error.is_none(), "{:?}", run.error);
    assert!(entries.iter().all(|e| e.protocol == "amqp"));
    let port = entries[0].dst.port.to_string();
    let (want, sizes) = tshark_methods(&capture, &port);
    assert!(want.len() > 40, "tshark saw {} methods", want.len());

    let mut got: Vec<Method> = Vec::new();
    let mut got_sizes = Vec::new();
    for e in &entries {
        let side = e.request["from"].as_str().unwrap();
        let other = if side == "client" { "server" } else { "client" };
        let channel = e.request["channel"].as_u64().unwrap();
        got.push(method_of(side, channel, &e.request));
        if let Some(r) = &e.response {
            let refused_by_close = r["method"].as_str().is_some_and(|m| m.ends_with(".close"))
                && !e.request["method"].as_str().is_some_and(|m| m.ends_with(".close"));
            if !refused_by_close {
                got.push(method_of(other, channel, r));
            }
        }
        for m in [Some(&e.request), e.response.as_ref()].into_iter().flatten() {
            if let Some(size) = m.get("message").and_then(|msg| msg["body"]["size"].as_u64()) {
                got_sizes.push(size);
            }
        }
    }
    // Same methods with the same arguments, in the same order per side and channel.
    for side in ["client", "server"] {
        for channel in 0..3 {
            let of =
                |v: &[Method]| -> Vec<Method> { v.iter().filter(|m| m.0 == side && m.1 == channel).cloned().collect() };
            let (mut g, w) = (of(&got), of(&want));
            // A side's entries come out in completion order; compare as multisets, then the order of
            // the requests the side sent (synchronous ones complete in order).
            let mut gs = g.clone();
            let mut ws = w.clone();
            gs.sort();
            ws.sort();
            assert_eq!(gs, ws, "{side} channel {channel}");
            g.retain(|m| !m.2.ends_with("-ok") && m.2 != "basic.get-empty");
            let w: Vec<Method> = w.into_iter().filter(|m| !m.2.ends_with("-ok") && m.2 != "basic.get-empty").collect();
            assert_eq!(g, w, "{side} channel {channel}: order");
        }
    }
    got_sizes.sort();
    let mut sizes = sizes;
    sizes.sort();
    assert_eq!(got_sizes, sizes, "body sizes");
}
