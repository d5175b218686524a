//! The hub's `names` messages on the agent: changes to the agent's [`NameTable`], applied as one
//! when their last message (without `more`) arrives, so entries are never resolved against half a
//! table. What is gathered meanwhile is bounded by the table's capacity.

use crate::resolve::{NameKey, NameRecord, NameTable, Names};

/// A change gathered from `names` messages with `more`.
#[derive(Debug, Default)]
struct Staged {
    reset: bool,
    set: Vec<(NameKey, Names)>,
    remove: Vec<NameKey>,
}

/// One connection's `names` messages in progress.
#[derive(Debug, Default)]
pub struct NamesReceiver {
    staged: Option<Staged>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NamesMessageError {
    #[error("names: {0}")]
    Table(#[from] crate::resolve::NameError),
    #[error("names: a change of more than {capacity} records (the table's capacity); dropped")]
    TooLarge { capacity: usize },
}

impl NamesReceiver {
    /// Takes one `names` message. `reset` starts a new change (dropping one in progress); a message
    /// without `more` ends the change and applies it to `table`. On an error nothing of the change
    /// is applied.
    pub fn take(
        &mut self,
        table: &NameTable,
        reset: bool,
        more: bool,
        set: Vec<NameRecord>,
        remove: Vec<NameKey>,
    ) -> Result<(), NamesMessageError> {
        if reset {
            self.staged = Some(Staged { reset: true, ..Staged::default() });
        }
        let staged = self.staged.get_or_insert_with(Staged::default);
        let capacity = table.capacity();
        if staged.set.len() + set.len() > capacity || staged.remove.len() + remove.len() > capacity {
            self.staged = None;
            return Err(NamesMessageError::TooLarge { capacity });
        }
        staged.set.extend(set.into_iter().map(NameRecord::into_parts));
        if !staged.reset {
            staged.remove.extend(remove);
        }
        if more {
            return Ok(());
        }
        let Some(change) = self.staged.take() else { return Ok(()) };
        if change.reset {
            table.replace_all(change.set)?;
        } else {
            table.update(change.set, &change.remove)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::Resolver;

    fn record(ip: &str, pod: &str) -> NameRecord {
        NameRecord::new(NameKey::ip(ip.parse().unwrap()), Names { pod: Some(pod.into()), ..Names::default() })
    }

    fn pod(table: &NameTable, ip: &str) -> Option<String> {
        table.names(ip.parse().unwrap(), 80).and_then(|n| n.pod)
    }

    #[test]
    fn a_change_in_several_messages_takes_effect_at_its_last() {
        let table = NameTable::new();
        let mut r = NamesReceiver::default();
        r.take(&table, true, false, vec![record("10.0.0.1", "old")], vec![]).unwrap();
        assert_eq!(pod(&table, "10.0.0.1").as_deref(), Some("old"));
        // A full table in two parts: the old one stays in force until the second arrives.
        r.take(&table, true, true, vec![record("10.0.0.2", "a")], vec![]).unwrap();
        assert_eq!((pod(&table, "10.0.0.1").as_deref(), pod(&table, "10.0.0.2")), (Some("old"), None));
        r.take(&table, false, false, vec![record("10.0.0.3", "b")], vec![]).unwrap();
        assert_eq!(pod(&table, "10.0.0.1"), None, "reset forgot the old table");
        assert_eq!((pod(&table, "10.0.0.2").as_deref(), pod(&table, "10.0.0.3").as_deref()), (Some("a"), Some("b")));
        // Incremental: remove, then set.
        let key2 = NameKey::ip("10.0.0.2".parse().unwrap());
        r.take(&table, false, false, vec![record("10.0.0.4", "c")], vec![key2]).unwrap();
        assert_eq!((pod(&table, "10.0.0.2"), pod(&table, "10.0.0.4").as_deref()), (None, Some("c")));
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn changes_beyond_the_capacity_are_dropped_whole() {
        let table = NameTable::with_capacity(2);
        let mut r = NamesReceiver::default();
        r.take(&table, true, true, vec![record("10.0.0.1", "a"), record("10.0.0.2", "b")], vec![]).unwrap();
        let err = r.take(&table, false, true, vec![record("10.0.0.3", "c")], vec![]).unwrap_err();
        assert_eq!(err, NamesMessageError::TooLarge { capacity: 2 });
        assert!(table.is_empty());
        // The next message starts afresh.
        r.take(&table, false, false, vec![record("10.0.0.3", "c")], vec![]).unwrap();
        assert_eq!(table.len(), 1);
        let err = r.take(&table, false, false, vec![record("10.0.0.1", "a"), record("10.0.0.2", "b")], vec![]);
        assert!(matches!(err, Err(NamesMessageError::Table(_))), "{err:?}");
        assert_eq!(table.len(), 1, "a refused change leaves the table as it was");
    }
}
