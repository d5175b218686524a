//! The one error type of the filter language: where (a 1-based column, counted in characters) and what.

use thiserror::Error;

/// A filter that cannot be compiled. `column` is 1-based and counts characters (not bytes) of the
/// filter text; a problem at the end of the text points one past its last character.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("column {column}: {message}")]
pub struct FilterError {
    pub column: usize,
    pub message: String,
}

impl FilterError {
    pub(crate) fn new(column: usize, message: impl Into<String>) -> Self {
        FilterError { column, message: message.into() }
    }
}

/// The closest of `candidates` to `word`, for "did you mean" hints: equal ignoring case, or at most
/// one edit away (two for words longer than four characters).
pub(crate) fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let mut best: Option<(usize, &'a str)> = None;
    for &c in candidates {
        let d = if c.eq_ignore_ascii_case(word) { 0 } else { distance(word, c) };
        let allowed = if word.chars().count() > 4 { 2 } else { 1 };
        if d <= allowed && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Edit distance over chars where swapping two neighbours is one edit (optimal string alignment);
/// words longer than 64 chars are never close to anything.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len() > 64 || b.len() > 64 {
        return usize::MAX;
    }
    // rows[i][j]: distance between a[..i] and b[..j].
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_column() {
        assert_eq!(FilterError::new(7, "oops").to_string(), "column 7: oops");
    }

    #[test]
    fn suggestions_are_close_words_only() {
        assert_eq!(suggest("reqest", &["request", "response"]), Some("request"));
        assert_eq!(suggest("HTTP", &["http"]), Some("http"));
        assert_eq!(suggest("banana", &["request", "response"]), None);
        assert_eq!(suggest("dns", &["and", "or"]), None);
        assert_eq!(suggest("adn", &["and", "or"]), Some("and"));
        assert_eq!(suggest("an", &["and", "or"]), Some("and"));
        assert_eq!(suggest("pdo", &["ip", "pod"]), Some("pod"));
        assert_eq!(distance("reqeust", "request"), 1);
        assert_eq!(distance("", "abc"), 3);
    }
}
