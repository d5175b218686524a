//! The hub (see issue: hub-lite and the embedded dashboard). Not built yet.
