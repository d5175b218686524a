//! Session tests: filled below.
