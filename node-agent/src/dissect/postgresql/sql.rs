//! SQL text: splitting a simple Query's string into its statements the way the server's lexer
//! does at top level (quotes, quoted identifiers, dollar quotes, comments), and the one-line
//! summary of a statement.

/// The statements of a Query string, trimmed; pieces that hold only blanks and comments are not
/// statements (the server does not run them).
pub fn split_statements(sql: &str) -> Vec<&str> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut i) = (0, 0);
    let mut has_code = false;
    while i < b.len() {
        match b[i] {
            b'\'' => {
                has_code = true;
                let escapes = i > 0 && matches!(b[i - 1], b'E' | b'e');
                i += 1;
                while i < b.len() {
                    if escapes && b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if b[i] == b'\'' {
                        if b.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'"' => {
                has_code = true;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 1;
                i += 2;
                while i < b.len() && depth > 0 {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
            }
            b'$' if dollar_tag(b, i).is_some() => {
                has_code = true;
                let tag_len = dollar_tag(b, i).unwrap_or(1);
                let tag = &b[i..i + tag_len];
                i += tag_len;
                while i < b.len() && !b[i..].starts_with(tag) {
                    i += 1;
                }
                i += tag_len;
            }
            b';' => {
                if has_code {
                    out.push(sql.get(start..i).unwrap_or_default().trim());
                }
                has_code = false;
                start = i + 1;
                i += 1;
            }
            c => {
                has_code |= !c.is_ascii_whitespace();
                i += 1;
            }
        }
    }
    if has_code {
        out.push(sql.get(start.min(sql.len())..).unwrap_or_default().trim());
    }
    out
}

/// The length of a dollar-quote tag (`$$`, `$body$`) starting at `b[i]`, if one does; `$1` is a
/// parameter, not a tag, and so is a `$` inside an identifier.
fn dollar_tag(b: &[u8], i: usize) -> Option<usize> {
    if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') {
        return None;
    }
    let mut j = i + 1;
    while j < b.len() && (b[j].is_ascii_alphabetic() || b[j] == b'_' || (j > i + 1 && b[j].is_ascii_digit())) {
        j += 1;
    }
    (b.get(j) == Some(&b'$')).then_some(j + 1 - i)
}

/// Characters of SQL a summary shows.
pub const SUMMARY_CHARS: usize = 120;

/// The statement on one line: blanks collapsed, cut at [`SUMMARY_CHARS`].
pub fn summary(sql: &str) -> String {
    let mut s = String::with_capacity(sql.len().min(SUMMARY_CHARS + 3));
    for (n, word) in sql.split_ascii_whitespace().enumerate() {
        if s.chars().count() >= SUMMARY_CHARS {
            s.push('…');
            break;
        }
        if n > 0 {
            s.push(' ');
        }
        s.push_str(word);
    }
    if s.chars().count() > SUMMARY_CHARS + 1 {
        s = s.chars().take(SUMMARY_CHARS).collect::<String>() + "…";
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_top_level_semicolons_only() {
        assert_eq!(split_statements("select 1; select 2"), vec!["select 1", "select 2"]);
        assert_eq!(split_statements("select ';'; select \"a;b\" from t;"), vec!["select ';'", "select \"a;b\" from t"]);
        assert_eq!(split_statements("select 'it''s;'; -- c;\n select 2"), vec!["select 'it''s;'", "-- c;\n select 2"]);
        assert_eq!(
            split_statements("create function f() returns int as $x$ select 1; $x$ language sql; select $1"),
            vec!["create function f() returns int as $x$ select 1; $x$ language sql", "select $1"]
        );
        assert_eq!(
            split_statements("select E'\\';'; /* a; /* b; */ */ select 2;"),
            vec!["select E'\\';'", "/* a; /* b; */ */ select 2"]
        );
        assert!(split_statements("  ; -- nothing\n ;").is_empty());
        assert!(split_statements("").is_empty());
    }

    #[test]
    fn summary_is_one_bounded_line() {
        assert_eq!(summary("select *\n  from t\twhere x = 1"), "select * from t where x = 1");
        let long = "x ".repeat(500);
        assert!(summary(&long).chars().count() <= SUMMARY_CHARS + 1);
    }
}
