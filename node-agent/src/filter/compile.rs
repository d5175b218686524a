//! Syntax tree to program: resolves fields, checks literals against what the field holds, builds
//! regexes under size limits, and folds constants.

use super::ast::{Compare, Expr, LitKind, Literal, Op, Path, Rhs};
use super::error::FilterError;
use super::eval::{Check, Member, Node, OrderOp, Test};
use super::net::Net;
use super::path::{is_field_root, resolve, Field, Kind};
use super::value::Lit;
use super::{MAX_REGEXES, REGEX_SIZE_LIMIT};
use crate::entry::Outcome;
use regex::RegexBuilder;

pub(crate) fn compile(expr: &Expr) -> Result<Node, FilterError> {
    Compiler { regexes: 0 }.node(expr)
}

struct Compiler {
    regexes: usize,
}

impl Compiler {
    fn node(&mut self, expr: &Expr) -> Result<Node, FilterError> {
        Ok(match expr {
            Expr::Const(b) => Node::Const(*b),
            Expr::Not(inner) => match self.node(inner)? {
                Node::Const(b) => Node::Const(!b),
                n => Node::Not(Box::new(n)),
            },
            Expr::And(items) => self.junction(items, true)?,
            Expr::Or(items) => self.junction(items, false)?,
            Expr::Bare(path) => bare(path)?,
            Expr::Compare(c) => self.compare(c)?,
        })
    }

    /// `and` (`all` = true) or `or`: nested ones of the same kind are flattened, constants folded.
    fn junction(&mut self, items: &[Expr], all: bool) -> Result<Node, FilterError> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match self.node(item)? {
                // `x and true` is `x`; `x and false` is false (and dually for `or`).
                Node::Const(b) if b == all => {}
                Node::Const(b) => return Ok(Node::Const(b)),
                Node::And(inner) if all => out.extend(inner.into_vec()),
                Node::Or(inner) if !all => out.extend(inner.into_vec()),
                n => out.push(n),
            }
        }
        Ok(match out.len() {
            0 => Node::Const(all),
            1 => out.pop().expect("one node"),
            _ if all => Node::And(out.into()),
            _ => Node::Or(out.into()),
        })
    }

    fn compare(&mut self, c: &Compare) -> Result<Node, FilterError> {
        let field = resolve(&c.path)?;
        let lit = match &c.rhs {
            Rhs::Value(lit) => lit,
            Rhs::List(items) => {
                let members = items.iter().map(|item| member(&c.path, &field, item)).collect::<Result<_, _>>()?;
                return Ok(check(field, Test::In(members)));
            }
        };
        let (test, negate) = match c.op {
            Op::Eq | Op::Ne if lit.kind == LitKind::Null => (Test::IsNull, c.op == Op::Ne),
            _ if lit.kind == LitKind::Null => {
                return Err(FilterError::new(lit.col, "null can only be compared with '==' or '!='"))
            }
            Op::Eq | Op::Ne => (Test::Eq(typed(&c.path, &field, lit)?), c.op == Op::Ne),
            Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                if let LitKind::Bool(b) = lit.kind {
                    return Err(FilterError::new(lit.col, format!("{b} can only be compared with '==' or '!='")));
                }
                let op = match c.op {
                    Op::Lt => OrderOp::Lt,
                    Op::Le => OrderOp::Le,
                    Op::Gt => OrderOp::Gt,
                    _ => OrderOp::Ge,
                };
                (Test::Order(op, typed(&c.path, &field, lit)?), false)
            }
            Op::Match | Op::NotMatch => {
                let pattern = string_operand(c.op, lit)?;
                (Test::Regex(self.regex(pattern, lit.col)?), c.op == Op::NotMatch)
            }
            Op::Contains => (Test::Contains(string_operand(c.op, lit)?.into()), false),
            Op::StartsWith => (Test::StartsWith(string_operand(c.op, lit)?.into()), false),
            Op::EndsWith => (Test::EndsWith(string_operand(c.op, lit)?.into()), false),
            Op::In => match &lit.kind {
                LitKind::Str(s) if Net::parse(s).is_some() => {
                    let net = Net::parse(s).expect("just parsed");
                    (Test::In(Box::new([Member::Net(net, Lit::string(s))])), false)
                }
                other => {
                    return Err(FilterError::new(
                        lit.col,
                        format!(
                            "'in' takes a list [a, b, ...] or an IP network like \"10.0.0.0/8\", but found {}",
                            other.describe()
                        ),
                    ))
                }
            },
        };
        let node = check(field, test);
        Ok(if negate { Node::Not(Box::new(node)) } else { node })
    }

    fn regex(&mut self, pattern: &str, col: usize) -> Result<regex::Regex, FilterError> {
        self.regexes += 1;
        if self.regexes > MAX_REGEXES {
            return Err(FilterError::new(col, format!("too many regexes (the limit is {MAX_REGEXES} per filter)")));
        }
        RegexBuilder::new(pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .nest_limit(64)
            .build()
            .map_err(|e| FilterError::new(col, format!("invalid regex: {}", regex_reason(&e))))
    }
}

fn check(field: Field, test: Test) -> Node {
    Node::Check(Box::new(Check { field, test }))
}

/// A bare word: a field tested for presence, or a protocol name.
fn bare(path: &Path) -> Result<Node, FilterError> {
    if !path.segs.is_empty() || is_field_root(&path.root) {
        let field = resolve(path)?;
        // A yes/no field is always present: the bare word asks whether it is true.
        if field.kind() == Kind::Bool {
            return Ok(check(field, Test::Eq(Lit::Bool(true))));
        }
        return Ok(Node::Present(field));
    }
    let name = &path.root;
    let lowercase = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !lowercase {
        return Err(FilterError::new(
            path.col,
            format!(
                "unknown field or protocol '{name}' (protocol names are lowercase: '{}')",
                name.to_ascii_lowercase()
            ),
        ));
    }
    Ok(Node::Protocol(name.as_str().into()))
}

fn string_operand(op: Op, lit: &Literal) -> Result<&str, FilterError> {
    match &lit.kind {
        LitKind::Str(s) => Ok(s),
        other => {
            Err(FilterError::new(lit.col, format!("'{}' takes a string, but found {}", op.symbol(), other.describe())))
        }
    }
}

/// An element of `in [...]`: a string with a `/` that is an IP network matches addresses in it;
/// anything else matches like `==`.
fn member(path: &Path, field: &Field, lit: &Literal) -> Result<Member, FilterError> {
    if let LitKind::Str(s) = &lit.kind {
        if let Some(net) = s.contains('/').then(|| Net::parse(s)).flatten() {
            return Ok(Member::Net(net, Lit::string(s)));
        }
    }
    Ok(Member::Value(typed(path, field, lit)?))
}

/// The literal of `==` or an ordering, checked against what a typed field can hold so a typo like
/// `src.ip == "10.0.0"` is an error instead of a filter that silently matches nothing.
fn typed(path: &Path, field: &Field, lit: &Literal) -> Result<Lit, FilterError> {
    let value = match &lit.kind {
        LitKind::Null => Lit::Null,
        LitKind::Bool(b) => Lit::Bool(*b),
        LitKind::Num(n) | LitKind::Duration(n) => Lit::Num(*n),
        LitKind::Str(s) => Lit::string(s),
    };
    let problem = match (field.kind(), &value) {
        (_, Lit::Null) | (Kind::Json, _) | (Kind::Bool, Lit::Bool(_)) => None,
        (Kind::Bool, _) => Some(format!("'{path}' is true or false, but found {}", lit.kind.describe())),
        (_, Lit::Bool(_)) => Some(format!("'{path}' is never true or false")),
        (Kind::Text, Lit::Str { .. }) if *field == Field::Outcome => match &lit.kind {
            LitKind::Str(s) if !Outcome::ALL.iter().any(|o| o.as_str() == s.as_str()) => Some(format!(
                "'{path}' is one of {}, but found {}",
                Outcome::ALL.map(|o| format!("\"{}\"", o.as_str())).join(", "),
                lit.kind.describe()
            )),
            _ => None,
        },
        (Kind::Text, _) => None,
        (Kind::Number, Lit::Num(_)) | (Kind::Number, Lit::Str { num: Some(_), .. }) => None,
        (Kind::Number, _) => Some(format!("'{path}' is a number, but found {}", lit.kind.describe())),
        (Kind::Ip, Lit::Str { ip: Some(_), .. }) => None,
        (Kind::Ip, _) => Some(format!(
            "'{path}' is an IP address, but found {} (for a network write: {path} in \"10.0.0.0/8\")",
            lit.kind.describe()
        )),
        (Kind::Time, Lit::Str { time: Some(_), .. }) => None,
        // Nanoseconds since the epoch; a duration (microseconds) would silently mean something else.
        (Kind::Time, Lit::Num(_)) if !matches!(lit.kind, LitKind::Duration(_)) => None,
        (Kind::Time, _) => Some(format!(
            "'{path}' is a time: write it as RFC 3339 UTC, e.g. \"2026-11-21T05:31:02Z\", but found {}",
            lit.kind.describe()
        )),
    };
    match problem {
        Some(message) => Err(FilterError::new(lit.col, message)),
        None => Ok(value),
    }
}

/// The regex crate's message without its multi-line caret drawing.
fn regex_reason(e: &regex::Error) -> String {
    match e {
        regex::Error::Syntax(text) => {
            let reason = text.lines().rev().find_map(|l| l.strip_prefix("error: "));
            reason.unwrap_or_else(|| text.lines().last().unwrap_or("syntax error")).trim().to_string()
        }
        regex::Error::CompiledTooBig(limit) => {
            format!("too big once compiled (the limit is {limit} bytes)")
        }
        other => other.to_string().replace('\n', " "),
    }
}
