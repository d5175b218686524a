//! Tokens to a syntax tree, by recursive descent. Precedence, loosest first: `or`, `and`, `not`,
//! then a single condition (`path op value`, a bare path, `true`/`false`, or a parenthesized filter).
//! Nesting of `(` and `not` is limited so hostile input cannot overflow the stack.

use super::ast::{Compare, Expr, LitKind, Literal, Op, Path, Rhs, Seg, SegKind};
use super::error::{suggest, FilterError};
use super::lexer::{tokenize, Tok, Token};
use super::MAX_DEPTH;

/// Words that are never field or protocol names at the start of a condition.
const KEYWORDS: &[&str] = &["and", "or", "not", "true", "false", "null", "contains", "startsWith", "endsWith", "in"];

/// What may follow a complete condition, for "did you mean" hints.
const CONNECTORS: &[&str] = &["and", "or", "not", "contains", "startsWith", "endsWith", "in"];

/// Parses filter text. Empty (or all-whitespace) text is `Expr::Const(true)`.
pub(crate) fn parse(text: &str) -> Result<Expr, FilterError> {
    let tokens = tokenize(text)?;
    let mut p = Parser { text, tokens, pos: 0, depth: 0 };
    if p.peek().tok == Tok::Eof {
        return Ok(Expr::Const(true));
    }
    let expr = p.or()?;
    if p.peek().tok != Tok::Eof {
        return Err(p.unexpected_after_condition("end of filter"));
    }
    Ok(expr)
}

struct Parser<'t> {
    text: &'t str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        // `tokenize` always ends with Eof and we never move past it.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn advance(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::Eof {
            self.pos += 1;
        }
        t
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(w) if w == word)
    }

    /// The source text of a token, as quoted in messages.
    fn quote(&self, t: &Token) -> String {
        match t.tok {
            Tok::Eof => "end of filter".to_string(),
            Tok::Str(_) => super::ast::clip(&self.text[t.span.clone()]),
            _ => format!("'{}'", super::ast::clip(&self.text[t.span.clone()])),
        }
    }

    /// "expected WHAT after 'previous token' but found X", pointing at X.
    fn expected(&self, what: &str) -> FilterError {
        let found = self.peek();
        let after = match self.pos.checked_sub(1).map(|i| &self.tokens[i]) {
            Some(prev) => format!(" after {}", self.quote(prev)),
            None => String::new(),
        };
        FilterError::new(found.col, format!("expected {what}{after} but found {}", self.quote(found)))
    }

    /// A complete condition was followed by something that does not continue it.
    fn unexpected_after_condition(&self, closer: &str) -> FilterError {
        let mut err = self.expected(&format!("'and', 'or' or {closer}"));
        if let Tok::Ident(word) = &self.peek().tok {
            if let Some(s) = suggest(word, CONNECTORS).filter(|s| s != word) {
                err.message.push_str(&format!(" (did you mean '{s}'?)"));
            }
        }
        err
    }

    /// One level deeper, for the `(` or `not` at `col`.
    fn enter(&mut self, col: usize) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FilterError::new(col, format!("filter nests deeper than {MAX_DEPTH} levels of '(' and 'not'")));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut items = vec![self.and()?];
        while self.is_word("or") || self.peek().tok == Tok::OrOr {
            self.advance();
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 { items.pop().expect("one item") } else { Expr::Or(items) })
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut items = vec![self.unary()?];
        while self.is_word("and") || self.peek().tok == Tok::AndAnd {
            self.advance();
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 { items.pop().expect("one item") } else { Expr::And(items) })
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        if self.is_word("not") || self.peek().tok == Tok::Bang {
            let not = self.advance();
            self.enter(not.col)?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, FilterError> {
        let t = self.peek().clone();
        match &t.tok {
            Tok::LParen => {
                self.advance();
                self.enter(t.col)?;
                let inner = self.or()?;
                self.depth -= 1;
                match self.peek().tok {
                    Tok::RParen => {
                        self.advance();
                        Ok(inner)
                    }
                    Tok::Eof => Err(self.expected(&format!("')' to close the '(' at column {}", t.col))),
                    _ => Err(self.unexpected_after_condition("')'")),
                }
            }
            Tok::Ident(w) if w == "true" || w == "false" => {
                self.advance();
                Ok(Expr::Const(w == "true"))
            }
            Tok::Ident(w) if !KEYWORDS.contains(&w.as_str()) => self.condition(),
            _ => Err(self.expected("a condition (a field, a protocol, 'not' or '(')")),
        }
    }

    /// `path`, `path op value`, or `path.method(value)`.
    fn condition(&mut self) -> Result<Expr, FilterError> {
        let (path, method) = self.path()?;
        if let Some(op) = method {
            let rhs = Rhs::Value(self.value(op)?);
            if self.peek().tok != Tok::RParen {
                return Err(self.expected(&format!("')' to close '{}('", op.symbol())));
            }
            self.advance();
            return Ok(Expr::Compare(Box::new(Compare { path, op, rhs })));
        }
        let t = self.peek().clone();
        let op = match &t.tok {
            Tok::Cmp(sym) => match *sym {
                "==" => Op::Eq,
                "!=" => Op::Ne,
                "<" => Op::Lt,
                "<=" => Op::Le,
                ">" => Op::Gt,
                ">=" => Op::Ge,
                "=~" => Op::Match,
                _ => Op::NotMatch,
            },
            Tok::Ident(w) => match Op::from_word(w) {
                Some(op) => op,
                None => return Ok(Expr::Bare(path)),
            },
            _ => return Ok(Expr::Bare(path)),
        };
        self.advance();
        let rhs =
            if op == Op::In && self.peek().tok == Tok::LBracket { self.list()? } else { Rhs::Value(self.value(op)?) };
        Ok(Expr::Compare(Box::new(Compare { path, op, rhs })))
    }

    /// A field path; also returns the method when it ends in `.startsWith(` and the like.
    fn path(&mut self) -> Result<(Path, Option<Op>), FilterError> {
        let root = self.advance();
        let Tok::Ident(name) = root.tok else { unreachable!("condition() starts at an identifier") };
        let mut path = Path { col: root.col, root: name, segs: Vec::new() };
        loop {
            match self.peek().tok {
                Tok::Dot => {
                    self.advance();
                    let t = self.peek().clone();
                    let Tok::Ident(key) = t.tok else {
                        let mut err = self.expected("a field name");
                        if matches!(t.tok, Tok::Num(_)) {
                            err.message.push_str(" (index lists with [N], e.g. questions[0])");
                        }
                        return Err(err);
                    };
                    self.advance();
                    let method = Op::from_word(&key).filter(|op| *op != Op::In);
                    if let (Some(op), Tok::LParen) = (method, &self.peek().tok) {
                        self.advance();
                        return Ok((path, Some(op)));
                    }
                    path.segs.push(Seg { col: t.col, kind: SegKind::Key(key) });
                }
                Tok::LBracket => {
                    self.advance();
                    let t = self.peek().clone();
                    let kind = match t.tok {
                        Tok::Str(key) => SegKind::Key(key),
                        Tok::Num(super::ast::Num::Int(i)) if i64::try_from(i).is_ok() => SegKind::Index(i as i64),
                        _ => return Err(self.expected("a quoted key or an integer index")),
                    };
                    self.advance();
                    if self.peek().tok != Tok::RBracket {
                        return Err(self.expected("']'"));
                    }
                    self.advance();
                    path.segs.push(Seg { col: t.col, kind });
                }
                _ => return Ok((path, None)),
            }
        }
    }

    /// The literal after an operator.
    fn value(&mut self, op: Op) -> Result<Literal, FilterError> {
        let t = self.peek().clone();
        let kind = match &t.tok {
            Tok::Str(s) => LitKind::Str(s.clone()),
            Tok::Num(n) => LitKind::Num(*n),
            Tok::Duration(n) => LitKind::Duration(*n),
            Tok::Ident(w) if w == "true" || w == "false" => LitKind::Bool(w == "true"),
            Tok::Ident(w) if w == "null" => LitKind::Null,
            Tok::Ident(w) => {
                let mut err = self.expected("a value");
                err.message.push_str(&format!(" (quote text: \"{w}\")"));
                return Err(err);
            }
            _ if op == Op::In => return Err(self.expected("a list [...] or an IP network string")),
            _ => return Err(self.expected("a value")),
        };
        self.advance();
        Ok(Literal { col: t.col, kind })
    }

    /// `[v, v, ...]` after `in` (a trailing comma is fine).
    fn list(&mut self) -> Result<Rhs, FilterError> {
        self.advance(); // [
        let mut items = Vec::new();
        loop {
            if self.peek().tok == Tok::RBracket {
                self.advance();
                return Ok(Rhs::List(items));
            }
            items.push(self.value(Op::Eq)?);
            match self.peek().tok {
                Tok::Comma => {
                    self.advance();
                }
                Tok::RBracket => {}
                _ => return Err(self.expected("',' or ']'")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compact rendering of the tree, to assert structure (and so precedence) exactly.
    fn show(e: &Expr) -> String {
        fn lit(l: &Literal) -> String {
            match &l.kind {
                LitKind::Str(s) => format!("{s:?}"),
                LitKind::Num(n) => format!("{n:?}"),
                LitKind::Duration(n) => format!("{n:?}us"),
                LitKind::Bool(b) => b.to_string(),
                LitKind::Null => "null".into(),
            }
        }
        match e {
            Expr::Or(v) => format!("or({})", v.iter().map(show).collect::<Vec<_>>().join(", ")),
            Expr::And(v) => format!("and({})", v.iter().map(show).collect::<Vec<_>>().join(", ")),
            Expr::Not(x) => format!("not({})", show(x)),
            Expr::Const(b) => b.to_string(),
            Expr::Bare(p) => p.to_string(),
            Expr::Compare(c) => {
                let rhs = match &c.rhs {
                    Rhs::Value(l) => lit(l),
                    Rhs::List(items) => {
                        format!("[{}]", items.iter().map(lit).collect::<Vec<_>>().join(", "))
                    }
                };
                format!("{} {} {}", c.path, c.op.symbol(), rhs)
            }
        }
    }

    fn p(text: &str) -> String {
        show(&parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}")))
    }

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn empty_filter_is_true() {
        assert_eq!(p(""), "true");
        assert_eq!(p("  \t\n"), "true");
    }

    #[test]
    fn precedence_not_binds_tighter_than_and_tighter_than_or() {
        assert_eq!(p("a or b and c"), "or(a, and(b, c))");
        assert_eq!(p("a and b or c"), "or(and(a, b), c)");
        assert_eq!(p("not a and b"), "and(not(a), b)");
        assert_eq!(p("not a or b and not c"), "or(not(a), and(b, not(c)))");
        assert_eq!(p("a || b && !c"), "or(a, and(b, not(c)))");
        assert_eq!(p("not x == 1 and y"), "and(not(x == Int(1)), y)");
        assert_eq!(p("not not a"), "not(not(a))");
        assert_eq!(p("!!a"), "not(not(a))");
    }

    #[test]
    fn parentheses_override_precedence() {
        assert_eq!(p("(a or b) and c"), "and(or(a, b), c)");
        assert_eq!(p("not (a or b)"), "not(or(a, b))");
        assert_eq!(p("((a))"), "a");
        assert_eq!(p("a and (b or (c and d))"), "and(a, or(b, and(c, d)))");
    }

    #[test]
    fn every_literal_kind() {
        assert_eq!(p(r#"x == "s\"q""#), r#"x == "s\"q""#);
        assert_eq!(p(r#"x == 's'"#), r#"x == "s""#);
        assert_eq!(p(r#"x =~ r"\d""#), r#"x =~ "\\d""#);
        assert_eq!(p("x == 42"), "x == Int(42)");
        assert_eq!(p("x == -4.5"), "x == Float(-4.5)");
        assert_eq!(p("x == 1e2"), "x == Float(100.0)");
        assert_eq!(p("x == true"), "x == true");
        assert_eq!(p("x != false"), "x != false");
        assert_eq!(p("x == null"), "x == null");
        assert_eq!(p("x > 200ms"), "x > Int(200000)us");
        assert_eq!(p("x in [1, \"a\", null,]"), r#"x in [Int(1), "a", null]"#);
        assert_eq!(p("x in []"), "x in []");
        assert_eq!(p("true"), "true");
        assert_eq!(p("false or x"), "or(false, x)");
    }

    #[test]
    fn every_operator() {
        for (op, shown) in [
            ("==", "=="),
            ("!=", "!="),
            ("<", "<"),
            ("<=", "<="),
            (">", ">"),
            (">=", ">="),
            ("=~", "=~"),
            ("!~", "!~"),
            ("contains", "contains"),
            ("startsWith", "startsWith"),
            ("endsWith", "endsWith"),
            ("in", "in"),
        ] {
            assert_eq!(p(&format!("a.b {op} \"v\"")), format!("a.b {shown} \"v\""));
        }
        assert_eq!(p(r#"request.path.startsWith("/api")"#), r#"request.path startsWith "/api""#);
        assert_eq!(p(r#"a.endsWith("x") and a.contains("y")"#), r#"and(a endsWith "x", a contains "y")"#);
    }

    #[test]
    fn paths_with_keys_and_indexes() {
        assert_eq!(p(r#"request.headers["content-type"] == "x""#), r#"request.headers["content-type"] == "x""#);
        assert_eq!(p("request.questions[0].name == 1"), "request.questions[0].name == Int(1)");
        assert_eq!(p("a[-1]"), "a[-1]");
        // Operator words are plain keys after a dot unless called.
        assert_eq!(p("request.contains == 1"), "request.contains == Int(1)");
        assert_eq!(p("request.in"), "request.in");
    }

    #[test]
    fn errors_name_the_column_and_what_was_expected() {
        assert_eq!(
            err("http and response.status >="),
            "column 28: expected a value after '>=' but found end of filter"
        );
        assert_eq!(
            err("http and"),
            "column 9: expected a condition (a field, a protocol, 'not' or '(') after 'and' but found end of filter"
        );
        assert_eq!(
            err("(http or dns"),
            "column 13: expected ')' to close the '(' at column 1 after 'dns' but found end of filter"
        );
        assert_eq!(err("http dns"), "column 6: expected 'and', 'or' or end of filter after 'http' but found 'dns'");
        assert_eq!(err("(http dns)"), "column 7: expected 'and', 'or' or ')' after 'http' but found 'dns'");
        assert_eq!(err("http)"), "column 5: expected 'and', 'or' or end of filter after 'http' but found ')'");
        assert_eq!(
            err(r#"request.path startswith "/api""#),
            "column 14: expected 'and', 'or' or end of filter after 'path' but found 'startswith' (did you mean 'startsWith'?)"
        );
        assert_eq!(
            err("protocol == http"),
            "column 13: expected a value after '==' but found 'http' (quote text: \"http\")"
        );
        assert_eq!(
            err(r#""abc""#),
            "column 1: expected a condition (a field, a protocol, 'not' or '(') but found \"abc\""
        );
        assert_eq!(
            err("a.0"),
            "column 3: expected a field name after '.' but found '0' (index lists with [N], e.g. questions[0])"
        );
        assert_eq!(err("a[x]"), "column 3: expected a quoted key or an integer index after '[' but found 'x'");
        assert_eq!(err("a[0"), "column 4: expected ']' after '0' but found end of filter");
        assert_eq!(err("a in 5 6"), "column 8: expected 'and', 'or' or end of filter after '5' but found '6'");
        assert_eq!(err("a in [1 2]"), "column 9: expected ',' or ']' after '1' but found '2'");
        assert_eq!(err("a in )"), "column 6: expected a list [...] or an IP network string after 'in' but found ')'");
        assert_eq!(
            err(r#"a.startsWith("x""#),
            "column 17: expected ')' to close 'startsWith(' after \"x\" but found end of filter"
        );
        assert_eq!(err("and"), "column 1: expected a condition (a field, a protocol, 'not' or '(') but found 'and'");
    }

    #[test]
    fn nesting_is_limited() {
        let ok = format!("{}a{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(p(&ok), "a");
        let deep = format!("{}a{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        assert_eq!(
            err(&deep),
            format!("column {}: filter nests deeper than {MAX_DEPTH} levels of '(' and 'not'", MAX_DEPTH + 1)
        );
        let nots = format!("{}a", "not ".repeat(MAX_DEPTH + 1));
        assert!(err(&nots).contains("nests deeper"));
        let bangs = format!("{}a", "!".repeat(100_000));
        assert!(err(&bangs).contains("nests deeper"));
        // Long flat chains are not nesting.
        let flat = vec!["a"; 1000].join(" and ");
        assert!(parse(&flat).is_ok());
    }
}
