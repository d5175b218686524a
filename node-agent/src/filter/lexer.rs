//! Filter text to tokens. Every token keeps its 1-based character column and its byte span, so the
//! parser can quote it and point at it.

use super::ast::Num;
use super::error::FilterError;
use std::ops::Range;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    /// A name: field, protocol, keyword (`and`, `contains`, `true`, ...) — the parser decides which.
    Ident(String),
    /// A quoted or raw string, escapes already resolved.
    Str(String),
    Num(Num),
    /// A number with a time unit, in microseconds.
    Duration(Num),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    /// `== != < <= > >= =~ !~`
    Cmp(&'static str),
    AndAnd,
    OrOr,
    Bang,
    Eof,
}

#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub tok: Tok,
    /// 1-based column of the first character.
    pub col: usize,
    /// Byte range in the filter text.
    pub span: Range<usize>,
}

/// Operator spellings people reach for that we do not accept, with what they probably meant.
const OPERATOR_TYPOS: &[(&str, &str)] =
    &[("===", "=="), ("!==", "!="), ("=>", ">="), ("=<", "<="), ("<>", "!="), ("~=", "=~"), ("=!", "!=")];

const OPERATORS: &[&str] = &["==", "!=", "<=", ">=", "=~", "!~", "&&", "||", "<", ">", "!"];

fn is_operator_char(c: char) -> bool {
    matches!(c, '=' | '!' | '<' | '>' | '~' | '&' | '|')
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Splits `text` into tokens, ending with [`Tok::Eof`] (whose column is one past the last character).
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, FilterError> {
    let mut lexer = Lexer { chars: text.char_indices().collect(), pos: 0, len: text.len() };
    let mut out = Vec::new();
    loop {
        let token = lexer.next_token()?;
        let done = token.tok == Tok::Eof;
        out.push(token);
        if done {
            return Ok(out);
        }
    }
}

struct Lexer {
    /// (byte offset, char) of every character; the index is the column minus one.
    chars: Vec<(usize, char)>,
    pos: usize,
    len: usize,
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).map(|&(_, c)| c)
    }

    fn byte_at(&self, pos: usize) -> usize {
        self.chars.get(pos).map_or(self.len, |&(b, _)| b)
    }

    fn token(&self, tok: Tok, start: usize) -> Token {
        Token { tok, col: start + 1, span: self.byte_at(start)..self.byte_at(self.pos) }
    }

    fn next_token(&mut self) -> Result<Token, FilterError> {
        while self.peek(0).is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(c) = self.peek(0) else {
            return Ok(self.token(Tok::Eof, start));
        };
        let single = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '[' => Some(Tok::LBracket),
            ']' => Some(Tok::RBracket),
            ',' => Some(Tok::Comma),
            '.' => Some(Tok::Dot),
            _ => None,
        };
        if let Some(tok) = single {
            self.pos += 1;
            return Ok(self.token(tok, start));
        }
        if c == 'r' && matches!(self.peek(1), Some('"' | '#')) {
            return self.raw_string();
        }
        if is_ident_start(c) {
            while self.peek(0).is_some_and(is_ident_char) {
                self.pos += 1;
            }
            let name = self.chars[start..self.pos].iter().map(|&(_, c)| c).collect();
            return Ok(self.token(Tok::Ident(name), start));
        }
        if c.is_ascii_digit() || (c == '-' && self.peek(1).is_some_and(|d| d.is_ascii_digit())) {
            return self.number();
        }
        if c == '"' || c == '\'' {
            return self.string(c);
        }
        if is_operator_char(c) {
            return self.operator();
        }
        Err(FilterError::new(start + 1, format!("unexpected character {c:?}")))
    }

    fn operator(&mut self) -> Result<Token, FilterError> {
        let start = self.pos;
        // Operators are at most three characters; look no further (a run of 100 000 `!` stays linear).
        let mut end = start;
        while end < start + 3 && self.chars.get(end).is_some_and(|&(_, c)| is_operator_char(c)) {
            end += 1;
        }
        let run: String = self.chars[start..end].iter().map(|&(_, c)| c).collect();
        for (typo, meant) in OPERATOR_TYPOS {
            if run.starts_with(typo) {
                return Err(FilterError::new(
                    start + 1,
                    format!("unknown operator '{typo}' (did you mean '{meant}'?)"),
                ));
            }
        }
        let Some(op) = OPERATORS.iter().find(|op| run.starts_with(**op)) else {
            let hint = match run.chars().next() {
                Some('=') => " (did you mean '=='?)",
                Some('~') => " (did you mean '=~'?)",
                Some('&') => " (did you mean '&&' or 'and'?)",
                Some('|') => " (did you mean '||' or 'or'?)",
                _ => "",
            };
            return Err(FilterError::new(start + 1, format!("unknown operator '{run}'{hint}")));
        };
        self.pos += op.chars().count();
        let tok = match *op {
            "&&" => Tok::AndAnd,
            "||" => Tok::OrOr,
            "!" => Tok::Bang,
            cmp => Tok::Cmp(cmp),
        };
        Ok(self.token(tok, start))
    }

    fn number(&mut self) -> Result<Token, FilterError> {
        let start = self.pos;
        if self.peek(0) == Some('-') {
            self.pos += 1;
        }
        self.skip_digits();
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            self.skip_digits();
        }
        if matches!(self.peek(0), Some('e' | 'E')) {
            let digit_at = if matches!(self.peek(1), Some('+' | '-')) { 2 } else { 1 };
            if self.peek(digit_at).is_some_and(|c| c.is_ascii_digit()) {
                self.pos += digit_at;
                self.skip_digits();
            }
        }
        let text: String = self.chars[start..self.pos].iter().map(|&(_, c)| c).collect();
        let num = Num::parse(&text).ok_or_else(|| FilterError::new(start + 1, format!("invalid number '{text}'")))?;
        let unit_start = self.pos;
        while self.peek(0).is_some_and(|c| is_ident_char(c) || c == 'µ' || c == 'μ') {
            self.pos += 1;
        }
        if unit_start == self.pos {
            return Ok(self.token(Tok::Num(num), start));
        }
        let unit: String = self.chars[unit_start..self.pos].iter().map(|&(_, c)| c).collect();
        let micros_per_unit = match unit.as_str() {
            "ns" => 0.001,
            "us" | "µs" | "μs" => 1.0,
            "ms" => 1e3,
            "s" => 1e6,
            "m" => 60e6,
            "h" => 3600e6,
            _ => {
                return Err(FilterError::new(
                    unit_start + 1,
                    format!("unknown unit '{unit}' after a number (durations use ns, us, ms, s, m, h)"),
                ))
            }
        };
        let micros = match num {
            Num::Int(i) if micros_per_unit >= 1.0 => {
                let factor = micros_per_unit as i128;
                i.checked_mul(factor).map_or(Num::Float(num.as_f64() * micros_per_unit), Num::Int)
            }
            _ => Num::normalized(num.as_f64() * micros_per_unit),
        };
        Ok(self.token(Tok::Duration(micros), start))
    }

    fn skip_digits(&mut self) {
        while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    fn string(&mut self, quote: char) -> Result<Token, FilterError> {
        let start = self.pos;
        self.pos += 1;
        let mut value = String::new();
        loop {
            let Some(c) = self.peek(0) else {
                return Err(FilterError::new(start + 1, format!("unterminated string (no closing {quote})")));
            };
            self.pos += 1;
            if c == quote {
                return Ok(self.token(Tok::Str(value), start));
            }
            if c != '\\' {
                value.push(c);
                continue;
            }
            let escape_col = self.pos; // column of the backslash (pos already moved past it)
            let Some(e) = self.peek(0) else { continue };
            self.pos += 1;
            let resolved = match e {
                '\\' => '\\',
                '"' => '"',
                '\'' => '\'',
                '/' => '/',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                '0' => '\0',
                'u' => self.unicode_escape(escape_col)?,
                other => {
                    return Err(FilterError::new(
                        escape_col,
                        format!(
                            "unknown escape '\\{other}' in a string (write '\\\\{other}', or use a raw \
                             string r\"...\" for regexes)"
                        ),
                    ))
                }
            };
            value.push(resolved);
        }
    }

    /// After `\u`: either `{1-6 hex}` or exactly 4 hex digits.
    fn unicode_escape(&mut self, escape_col: usize) -> Result<char, FilterError> {
        let bad = || FilterError::new(escape_col, "invalid unicode escape (write \\u{1F600} or \\u00e9)");
        let braced = self.peek(0) == Some('{');
        if braced {
            self.pos += 1;
        }
        let mut code: u32 = 0;
        let mut digits = 0;
        while let Some(d) = self.peek(0).and_then(|c| c.to_digit(16)) {
            if digits == 6 || (!braced && digits == 4) {
                break;
            }
            code = code * 16 + d;
            digits += 1;
            self.pos += 1;
        }
        if braced {
            if self.peek(0) != Some('}') || digits == 0 {
                return Err(bad());
            }
            self.pos += 1;
        } else if digits != 4 {
            return Err(bad());
        }
        char::from_u32(code).ok_or_else(bad)
    }

    /// `r"..."` or `r#"..."#` (any number of `#`): no escapes at all, for regexes.
    fn raw_string(&mut self) -> Result<Token, FilterError> {
        let start = self.pos;
        self.pos += 1; // r
        let mut hashes = 0;
        while self.peek(0) == Some('#') {
            hashes += 1;
            self.pos += 1;
        }
        if self.peek(0) != Some('"') {
            return Err(FilterError::new(start + 1, "expected '\"' to start a raw string r\"...\""));
        }
        self.pos += 1;
        let body_start = self.pos;
        loop {
            match self.peek(0) {
                None => {
                    return Err(FilterError::new(
                        start + 1,
                        format!("unterminated raw string (no closing \"{})", "#".repeat(hashes)),
                    ))
                }
                Some('"') if (1..=hashes).all(|k| self.peek(k) == Some('#')) => {
                    let value = self.chars[body_start..self.pos].iter().map(|&(_, c)| c).collect();
                    self.pos += 1 + hashes;
                    return Ok(self.token(Tok::Str(value), start));
                }
                Some(_) => self.pos += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<Tok> {
        tokenize(text).unwrap().into_iter().map(|t| t.tok).collect()
    }

    fn err(text: &str) -> String {
        tokenize(text).unwrap_err().to_string()
    }

    fn ident(s: &str) -> Tok {
        Tok::Ident(s.to_string())
    }

    #[test]
    fn splits_a_typical_filter() {
        assert_eq!(
            toks(r#"http && response.status>=500"#),
            vec![
                ident("http"),
                Tok::AndAnd,
                ident("response"),
                Tok::Dot,
                ident("status"),
                Tok::Cmp(">="),
                Tok::Num(Num::Int(500)),
                Tok::Eof
            ]
        );
        assert_eq!(
            toks(r#"!(a)||b["x"][0]"#),
            vec![
                Tok::Bang,
                Tok::LParen,
                ident("a"),
                Tok::RParen,
                Tok::OrOr,
                ident("b"),
                Tok::LBracket,
                Tok::Str("x".into()),
                Tok::RBracket,
                Tok::LBracket,
                Tok::Num(Num::Int(0)),
                Tok::RBracket,
                Tok::Eof
            ]
        );
        assert_eq!(toks("!!x"), vec![Tok::Bang, Tok::Bang, ident("x"), Tok::Eof]);
        assert_eq!(toks("a!~b"), vec![ident("a"), Tok::Cmp("!~"), ident("b"), Tok::Eof]);
        assert_eq!(toks("a&&!b"), vec![ident("a"), Tok::AndAnd, Tok::Bang, ident("b"), Tok::Eof]);
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let t = tokenize("\"é\" x").unwrap();
        assert_eq!((t[0].col, t[1].col, t[2].col), (1, 5, 6));
        assert_eq!(t[1].span, 5..6);
        assert_eq!(t[2].span, 6..6);
    }

    #[test]
    fn numbers_and_durations() {
        assert_eq!(toks("-12")[0], Tok::Num(Num::Int(-12)));
        assert_eq!(toks("2.5")[0], Tok::Num(Num::Float(2.5)));
        assert_eq!(toks("1e3")[0], Tok::Num(Num::Float(1000.0)));
        assert_eq!(toks("200ms")[0], Tok::Duration(Num::Int(200_000)));
        assert_eq!(toks("1.5s")[0], Tok::Duration(Num::Int(1_500_000)));
        assert_eq!(toks("2m")[0], Tok::Duration(Num::Int(120_000_000)));
        assert_eq!(toks("1h")[0], Tok::Duration(Num::Int(3_600_000_000)));
        assert_eq!(toks("100us")[0], Tok::Duration(Num::Int(100)));
        assert_eq!(toks("100µs")[0], Tok::Duration(Num::Int(100)));
        assert_eq!(toks("2000ns")[0], Tok::Duration(Num::Int(2)));
        assert_eq!(toks("100ns")[0], Tok::Duration(Num::Float(0.1)));
        // "1.x": the dot is not part of the number.
        assert_eq!(toks("1.x"), vec![Tok::Num(Num::Int(1)), Tok::Dot, ident("x"), Tok::Eof]);
        assert_eq!(err("5kb"), "column 2: unknown unit 'kb' after a number (durations use ns, us, ms, s, m, h)");
    }

    #[test]
    fn strings_with_escapes_and_raw_strings() {
        assert_eq!(toks(r#""a\"b\\c\n\u00e9\u{1F600}""#)[0], Tok::Str("a\"b\\c\né😀".into()));
        assert_eq!(toks(r#"'it''s'"#)[0], Tok::Str("it".into()));
        assert_eq!(toks(r#"'say "hi"'"#)[0], Tok::Str("say \"hi\"".into()));
        assert_eq!(toks(r#"r"^\d+\.\w$""#)[0], Tok::Str(r"^\d+\.\w$".into()));
        assert_eq!(toks(r###"r#"a "quoted" \d"#"###)[0], Tok::Str(r#"a "quoted" \d"#.into()));
        // `r` alone is still an identifier.
        assert_eq!(toks("r == 1")[0], ident("r"));
    }

    #[test]
    fn string_errors_point_at_the_problem() {
        assert_eq!(err(r#"x == "abc"#), "column 6: unterminated string (no closing \")");
        assert_eq!(
            err(r#"x =~ "^\d+""#),
            r#"column 8: unknown escape '\d' in a string (write '\\d', or use a raw string r"..." for regexes)"#
        );
        assert_eq!(err(r#""\u{110000}""#), "column 2: invalid unicode escape (write \\u{1F600} or \\u00e9)");
        assert_eq!(err(r#""\u12""#), "column 2: invalid unicode escape (write \\u{1F600} or \\u00e9)");
        assert_eq!(err(r##"r#"abc""##), "column 1: unterminated raw string (no closing \"#)");
    }

    #[test]
    fn unknown_operators_suggest_the_right_one() {
        assert_eq!(err("a => 1"), "column 3: unknown operator '=>' (did you mean '>='?)");
        assert_eq!(err("abc =< 1"), "column 5: unknown operator '=<' (did you mean '<='?)");
        assert_eq!(err("a <> 1"), "column 3: unknown operator '<>' (did you mean '!='?)");
        assert_eq!(err("a === 1"), "column 3: unknown operator '===' (did you mean '=='?)");
        assert_eq!(err("a ~= 1"), "column 3: unknown operator '~=' (did you mean '=~'?)");
        assert_eq!(err("a = 1"), "column 3: unknown operator '=' (did you mean '=='?)");
        assert_eq!(err("a & b"), "column 3: unknown operator '&' (did you mean '&&' or 'and'?)");
        assert_eq!(err("a | b"), "column 3: unknown operator '|' (did you mean '||' or 'or'?)");
        assert_eq!(err("a $ b"), "column 3: unexpected character '$'");
        assert_eq!(err("é"), "column 1: unexpected character 'é'");
    }
}
