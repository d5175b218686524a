//! A client's command as the entry shows it: the name, the subcommand of a container command
//! (`CLIENT SETNAME`), the first key (where the server's own command table says it is) and the
//! arguments, kept bounded.

use super::commands::{COMMANDS, SUBCOMMANDS};
use super::resp::{parse_int, Blob, Message, Value};

/// Where a command's first key is, in the argument vector (the command name is position 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySpec {
    None,
    /// At a fixed position.
    Index(usize),
    /// `numkeys` positions after `at` is the number of keys; the first is `first` after `at`
    /// (`EVAL script numkeys key...`).
    KeyNum {
        at: usize,
        numkeys: usize,
        first: usize,
    },
    /// After a keyword searched from `start` (from the end when negative): `XREAD ... STREAMS key`.
    Keyword {
        word: &'static str,
        start: i64,
    },
}

/// One command.
#[derive(Clone, Debug, PartialEq)]
pub struct Command {
    /// The first word, upper case (`"SET"`); lossy when not UTF-8.
    pub name: String,
    /// The second word of a container command, upper case.
    pub subcommand: Option<String>,
    /// Position of the first key in `argv`.
    pub key: Option<usize>,
    /// The kept words, command name first.
    pub argv: Vec<Blob>,
    /// The exact number of words.
    pub argc: u64,
    /// Sent as an inline command.
    pub inline: bool,
}

impl Command {
    /// The command a client message carries; `None` for an empty one (the server ignores it).
    pub fn from_message(message: Message) -> Option<Command> {
        let inline = message.inline;
        let (Value::Array(agg) | Value::Set(agg) | Value::Push(agg)) = message.value else { return None };
        let argc = agg.len;
        let argv: Vec<Blob> = agg
            .items
            .into_iter()
            .map(|v| match v {
                Value::Bulk(b) | Value::Simple(b) => b,
                // Not a bulk string: the server refuses it (protocol error); keep the place.
                _ => Blob::default(),
            })
            .collect();
        let first = argv.first()?;
        let name = String::from_utf8_lossy(&first.kept).to_ascii_uppercase();
        let entry = lookup(&name);
        let container = entry.is_some_and(|(_, c, _)| *c);
        let subcommand =
            if container { argv.get(1).map(|b| String::from_utf8_lossy(&b.kept).to_ascii_uppercase()) } else { None };
        let spec = match &subcommand {
            Some(sub) => lookup_sub(&name, sub).unwrap_or(KeySpec::None),
            None => entry.map_or(KeySpec::None, |(_, _, k)| *k),
        };
        let key = key_position(spec, &argv, argc);
        Some(Command { name, subcommand, key, argv, argc, inline })
    }

    /// The key's bytes (kept part).
    pub fn key(&self) -> Option<&Blob> {
        self.key.and_then(|i| self.argv.get(i))
    }

    /// The word at `i` (the command is 0), upper case, when kept.
    pub fn word_upper(&self, i: usize) -> Option<String> {
        self.argv.get(i).map(|b| String::from_utf8_lossy(&b.kept).to_ascii_uppercase())
    }
}

/// Whether `name` (upper case) is a command the server knows.
pub fn is_known(name: &[u8]) -> bool {
    let Ok(name) = std::str::from_utf8(name) else { return false };
    lookup(&name.to_ascii_uppercase()).is_some()
}

fn lookup(name: &str) -> Option<&'static (&'static str, bool, KeySpec)> {
    COMMANDS.binary_search_by(|(n, _, _)| (*n).cmp(name)).ok().and_then(|i| COMMANDS.get(i))
}

fn lookup_sub(name: &str, sub: &str) -> Option<KeySpec> {
    let full = format!("{name}|{sub}");
    SUBCOMMANDS
        .binary_search_by(|(n, _)| (*n).cmp(full.as_str()))
        .ok()
        .and_then(|i| SUBCOMMANDS.get(i))
        .map(|(_, k)| *k)
}

fn key_position(spec: KeySpec, argv: &[Blob], argc: u64) -> Option<usize> {
    let pos = match spec {
        KeySpec::None => None,
        KeySpec::Index(i) => Some(i),
        KeySpec::KeyNum { at, numkeys, first } => {
            let n = argv.get(at + numkeys).and_then(|b| parse_int(&b.kept))?;
            (n > 0).then_some(at + first)
        }
        KeySpec::Keyword { word, start } => {
            let is_word = |b: &Blob| b.kept.eq_ignore_ascii_case(word.as_bytes());
            if start >= 0 {
                let from = start as usize;
                argv.iter().enumerate().skip(from).find(|(_, b)| is_word(b)).map(|(i, _)| i + 1)
            } else {
                // Counted from the last word; only meaningful when every word was kept.
                let last = usize::try_from(argc).ok()?.checked_sub(start.unsigned_abs() as usize)?;
                (1..=last).rev().find(|&i| argv.get(i).is_some_and(is_word)).map(|i| i + 1)
            }
        }
    }?;
    (pos > 0 && (pos as u64) < argc && pos < argv.len()).then_some(pos)
}
