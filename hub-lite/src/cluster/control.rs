//! What the in-cluster side changes in the hub: which agents it is connected to, the names of
//! endpoints it pushes to them, and their capture scope.

use super::names_watch::{NameKey, Names};
use super::scope::Capture;
use crate::agents::{AgentConfig, Agents};
use node_agent::resolve::NameError;
use node_agent::scope::{Scope, ScopeError};
use std::sync::Arc;

/// The hub's agents, as the cluster watches drive them.
pub struct Control {
    agents: Arc<Agents>,
    /// What the agents require as `Authorization: Bearer` (`--agent-token-file`).
    agent_token: Option<String>,
}

impl Control {
    pub fn new(agents: Arc<Agents>, agent_token: Option<String>) -> Control {
        Control { agents, agent_token }
    }

    /// Connects to the agent `name` at `url`.
    pub fn add_agent(&self, name: &str, url: &str) -> Result<(), crate::agents::AgentsError> {
        self.agents.add(AgentConfig { name: name.to_string(), url: url.to_string(), token: self.agent_token.clone() })
    }

    /// Disconnects from the agent `name` (its stored entries stay).
    pub fn remove_agent(&self, name: &str) {
        self.agents.remove(name);
    }

    /// Changes the names pushed to the agents (and applied by the hub on receipt).
    pub fn update_names(&self, set: Vec<(NameKey, Names)>, remove: &[NameKey]) -> Result<(), NameError> {
        self.agents.names().update(set, remove)
    }

    /// Sets the agents' capture scope.
    pub fn set_capture(&self, capture: &Capture) -> Result<(), ScopeError> {
        let scope = Scope::only(capture.addresses.iter().copied())?.excluding(capture.exclude.iter().copied())?;
        self.agents.set_capture_scope(scope);
        Ok(())
    }
}
