//! Ctrl-C, SIGTERM and SIGHUP as an async stream (the first stops the session, a second one stops
//! waiting for the deletion).

use super::error::K8sError;

/// The termination signals of this process.
pub struct Signals {
    #[cfg(unix)]
    streams: [tokio::signal::unix::Signal; 3],
}

impl Signals {
    /// Starts listening (signals before this kill the process as usual).
    pub fn new() -> Result<Signals, K8sError> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let listen = |kind| signal(kind).map_err(K8sError::io("listening for signals"));
            Ok(Signals {
                streams: [
                    listen(SignalKind::interrupt())?,
                    listen(SignalKind::terminate())?,
                    listen(SignalKind::hangup())?,
                ],
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// Resolves at the next signal.
    pub async fn next(&mut self) {
        #[cfg(unix)]
        {
            let [a, b, c] = &mut self.streams;
            tokio::select! {
                _ = a.recv() => {}
                _ = b.recv() => {}
                _ = c.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
