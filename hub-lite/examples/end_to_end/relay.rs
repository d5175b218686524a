//! A loopback TCP relay that counts the bytes it carries each way: the hub connects to the relay,
//! the relay to the agent. It measures what the agent really puts on the wire (WebSocket framing
//! included) without touching the agent's code. It costs a copy per direction, so the throughput
//! measured through it is a slight underestimate (`--direct` measures without it).

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A running relay; dropping it stops accepting (open connections end with their peers).
pub struct Relay {
    pub addr: SocketAddr,
    /// Bytes from the agent to the hub.
    pub to_hub: Arc<AtomicU64>,
    /// Bytes from the hub to the agent.
    pub to_agent: Arc<AtomicU64>,
    accept: JoinHandle<()>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Listens on a free loopback port and relays every connection to `target`.
pub async fn start(target: SocketAddr) -> io::Result<Relay> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
    let addr = listener.local_addr()?;
    let (to_hub, to_agent) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (up, down) = (Arc::clone(&to_agent), Arc::clone(&to_hub));
    let accept = tokio::spawn(async move {
        while let Ok((hub, _)) = listener.accept().await {
            let Ok(agent) = TcpStream::connect(target).await else { continue };
            let _ = (hub.set_nodelay(true), agent.set_nodelay(true));
            let (hub_rx, hub_tx) = hub.into_split();
            let (agent_rx, agent_tx) = agent.into_split();
            tokio::spawn(pump(hub_rx, agent_tx, Arc::clone(&up)));
            tokio::spawn(pump(agent_rx, hub_tx, Arc::clone(&down)));
        }
    });
    Ok(Relay { addr, to_hub, to_agent, accept })
}

/// Copies until either side closes, counting bytes.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, count: Arc<AtomicU64>) {
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
        count.fetch_add(n as u64, Ordering::Relaxed);
    }
    let _ = to.shutdown().await;
}
