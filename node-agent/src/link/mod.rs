//! The agent side of the agent-to-hub protocol (docs/agent-protocol.md).
