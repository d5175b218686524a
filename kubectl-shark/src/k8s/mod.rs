//! The Kubernetes side of the CLI (`tap`, `proxy`, `list`, `clean`): small modules, one job
//! each. The objects and the contract with the hub are described in docs/tap.md.

pub mod apply;
pub mod client;
pub mod diagnose;
pub mod error;
pub mod forward;
pub mod image;
pub mod json_stream;
pub mod lease;
pub mod manifest;
pub mod names;
pub mod preflight;
pub mod pull_secrets;
pub mod scope;
pub mod sessions;
pub mod signals;
pub mod static_install;
pub mod teardown;
pub mod versions;
pub mod wait;
