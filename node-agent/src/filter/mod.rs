//! The filter language (like Kubeshark's KFL): `http and response.status >= 500`, `dns and
//! response.rcode == "NXDOMAIN"`, `elapsed_us > 200ms`. The reference is docs/filter.md.
//!
//! A filter is compiled once ([`Filter::parse`]) and then evaluated per entry ([`Filter::matches`])
//! without allocating. Filter text comes from users over the network, so parsing never panics and is
//! bounded: the text length, the nesting of `(`/`not`, the number and compiled size of regexes are
//! all limited, and every error names its column.
//!
//! Modules: `lexer` (text to tokens), `parser` (tokens to `ast`), `compile` (ast to the `eval`
//! program, resolving `path`s and checking literals), `value` (the type rules), `net` (IP networks).

mod ast;
mod compile;
mod error;
mod eval;
mod lexer;
mod net;
mod parser;
mod path;
mod value;

#[cfg(test)]
mod tests;

pub use error::FilterError;

use crate::entry::Entry;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// Longest accepted filter text, in bytes.
pub const MAX_FILTER_LEN: usize = 8 * 1024;
/// Deepest accepted nesting of `(` and `not`.
pub const MAX_DEPTH: usize = 64;
/// Most regexes (`=~`, `!~`) in one filter.
pub const MAX_REGEXES: usize = 16;
/// Limit on each regex's compiled program and on its lazy DFA cache, in bytes.
pub const REGEX_SIZE_LIMIT: usize = 512 * 1024;

/// A compiled filter. Cheap to clone (the program is shared) and safe to share between threads.
#[derive(Clone)]
pub struct Filter {
    source: Arc<str>,
    program: Arc<eval::Node>,
}

impl Filter {
    /// Compiles filter text. The empty (or all-whitespace) filter matches everything.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        if text.len() > MAX_FILTER_LEN {
            let column = text.char_indices().take_while(|&(i, c)| i + c.len_utf8() <= MAX_FILTER_LEN).count() + 1;
            return Err(FilterError::new(
                column,
                format!("filter is too long ({} bytes; the limit is {MAX_FILTER_LEN})", text.len()),
            ));
        }
        let expr = parser::parse(text)?;
        let program = compile::compile(&expr)?;
        Ok(Filter { source: text.into(), program: Arc::new(program) })
    }

    /// Whether `entry` passes the filter.
    pub fn matches(&self, entry: &Entry) -> bool {
        self.program.eval(entry)
    }

    /// The text the filter was compiled from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// True when the filter matches every entry (empty, or constant `true`), so callers can skip it.
    pub fn is_match_all(&self) -> bool {
        matches!(*self.program, eval::Node::Const(true))
    }
}

impl Default for Filter {
    /// The empty filter: matches everything.
    fn default() -> Self {
        Filter { source: "".into(), program: Arc::new(eval::Node::Const(true)) }
    }
}

impl FromStr for Filter {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Filter::parse(s)
    }
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Filter").field(&self.source).finish()
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}
