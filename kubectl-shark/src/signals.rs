//! Stopping cleanly on Ctrl-C, SIGTERM and SIGHUP.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Sets `stop` on SIGINT, SIGTERM or SIGHUP. A second SIGINT while stopping ends the process.
#[cfg(unix)]
pub fn stop_on_termination(stop: &Arc<AtomicBool>) {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        // Registering can only fail for forbidden signals, which these are not.
        let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(stop));
        let _ = signal_hook::flag::register(sig, Arc::clone(stop));
    }
}

#[cfg(not(unix))]
pub fn stop_on_termination(_stop: &Arc<AtomicBool>) {}
