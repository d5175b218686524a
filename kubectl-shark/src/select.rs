//! What of the engine's entries reaches the output: credentials redacted (unless `--no-redact`)
//! and only entries matching `--filter`. Redaction comes first, so a filter cannot probe a secret.

use node_agent::filter::Filter;
use node_agent::redact::redact_entry;
use node_agent::Entry;

pub struct Selection {
    pub filter: Option<Filter>,
    pub redact: bool,
}

impl Selection {
    /// Prepares `entry` for output; `None` when the filter leaves it out.
    pub fn apply(&self, mut entry: Entry) -> Option<Entry> {
        if self.redact {
            redact_entry(&mut entry);
        }
        match &self.filter {
            Some(f) if !f.matches(&entry) => None,
            _ => Some(entry),
        }
    }
}
