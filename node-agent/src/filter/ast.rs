//! The syntax tree the parser builds: what the user wrote, with columns, before any field is resolved
//! or any regex compiled (that is `compile`'s job).

use std::fmt;

/// A number as written: integers stay exact, anything with a fraction or exponent is a float.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    /// Parses number text of the filter grammar (`-?digits[.digits][e[+-]digits]`).
    pub(crate) fn parse(text: &str) -> Option<Num> {
        if !text.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
            return text.parse::<f64>().ok().map(Num::Float);
        }
        match text.parse::<i128>() {
            Ok(i) => Some(Num::Int(i)),
            Err(_) => text.parse::<f64>().ok().map(Num::Float),
        }
    }

    /// A float that holds an integer value exactly becomes an `Int` (used for durations).
    pub(crate) fn normalized(f: f64) -> Num {
        if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
            Num::Int(f as i128)
        } else {
            Num::Float(f)
        }
    }

    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

#[derive(Debug)]
pub(crate) enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    /// `true` or `false` written as a whole condition.
    Const(bool),
    /// A path with no operator: a protocol name (`http`) or a field tested for presence (`response`).
    Bare(Path),
    Compare(Box<Compare>),
}

#[derive(Debug)]
pub(crate) struct Compare {
    pub path: Path,
    pub op: Op,
    pub rhs: Rhs,
}

#[derive(Debug)]
pub(crate) enum Rhs {
    Value(Literal),
    /// `[a, b, ...]`, only after `in`.
    List(Vec<Literal>),
}

#[derive(Clone, Debug)]
pub(crate) struct Literal {
    pub col: usize,
    pub kind: LitKind,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum LitKind {
    Str(String),
    Num(Num),
    /// A duration, already in microseconds.
    Duration(Num),
    Bool(bool),
    Null,
}

impl LitKind {
    /// How the literal is named in messages, e.g. `number 5` or `string "x"`.
    pub(crate) fn describe(&self) -> String {
        match self {
            LitKind::Str(s) => format!("string {}", clip(&format!("{s:?}"))),
            LitKind::Num(Num::Int(i)) => format!("number {i}"),
            LitKind::Num(Num::Float(f)) => format!("number {f}"),
            LitKind::Duration(n) => format!("duration ({}us)", n.as_f64()),
            LitKind::Bool(b) => b.to_string(),
            LitKind::Null => "null".to_string(),
        }
    }
}

/// Shortens text quoted in messages so an error never echoes a whole huge filter back.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 40;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Path {
    pub col: usize,
    pub root: String,
    pub segs: Vec<Seg>,
}

#[derive(Clone, Debug)]
pub(crate) struct Seg {
    pub col: usize,
    pub kind: SegKind,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum SegKind {
    /// `.name` or `["name"]`.
    Key(String),
    /// `[N]`; negative counts from the end.
    Index(i64),
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.root)?;
        for seg in &self.segs {
            match &seg.kind {
                SegKind::Key(k) if is_plain_name(k) => write!(f, ".{k}")?,
                SegKind::Key(k) => write!(f, "[{k:?}]")?,
                SegKind::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

fn is_plain_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Match,
    NotMatch,
    Contains,
    StartsWith,
    EndsWith,
    In,
}

impl Op {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Match => "=~",
            Op::NotMatch => "!~",
            Op::Contains => "contains",
            Op::StartsWith => "startsWith",
            Op::EndsWith => "endsWith",
            Op::In => "in",
        }
    }

    /// The operators written as words (`request.path startsWith "/api"`).
    pub(crate) fn from_word(word: &str) -> Option<Op> {
        match word {
            "contains" => Some(Op::Contains),
            "startsWith" => Some(Op::StartsWith),
            "endsWith" => Some(Op::EndsWith),
            "in" => Some(Op::In),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_stay_exact_when_integral() {
        assert_eq!(Num::parse("200"), Some(Num::Int(200)));
        assert_eq!(Num::parse("-3"), Some(Num::Int(-3)));
        assert_eq!(Num::parse("1.5"), Some(Num::Float(1.5)));
        assert_eq!(Num::parse("1e3"), Some(Num::Float(1000.0)));
        assert_eq!(Num::normalized(1_500_000.0), Num::Int(1_500_000));
        assert_eq!(Num::normalized(0.1), Num::Float(0.1));
        // Too big for i128: still a number, as a float.
        assert!(matches!(Num::parse(&"9".repeat(60)), Some(Num::Float(_))));
    }

    #[test]
    fn paths_print_as_written() {
        let p = Path {
            col: 1,
            root: "request".into(),
            segs: vec![
                Seg { col: 8, kind: SegKind::Key("headers".into()) },
                Seg { col: 16, kind: SegKind::Key("content-type".into()) },
                Seg { col: 30, kind: SegKind::Index(0) },
            ],
        };
        assert_eq!(p.to_string(), r#"request.headers["content-type"][0]"#);
    }
}
