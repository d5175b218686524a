//! The compiled filter and its evaluation against an entry. Evaluation allocates nothing: paths are
//! pre-resolved, literals pre-parsed, regexes pre-compiled.

use super::net::Net;
use super::path::{any_value, transport_name, Field};
use super::value::{equals, order, with_text, Lit, Val};
use crate::entry::Entry;
use regex::Regex;
use std::cmp::Ordering;

#[derive(Debug)]
pub(crate) enum Node {
    Const(bool),
    And(Box<[Node]>),
    Or(Box<[Node]>),
    Not(Box<Node>),
    /// A bare protocol name: the entry's protocol or transport is this.
    Protocol(Box<str>),
    /// A bare field: some value it reaches is present and not false.
    Present(Field),
    Check(Box<Check>),
}

/// A field and the test that some value reached through it must pass.
#[derive(Debug)]
pub(crate) struct Check {
    pub field: Field,
    pub test: Test,
}

#[derive(Debug)]
pub(crate) enum Test {
    /// `== null` (for `!= null` the compiler wraps it in `Not`, and so with `!=` and `!~`).
    IsNull,
    Eq(Lit),
    Order(OrderOp, Lit),
    Regex(Regex),
    Contains(Box<str>),
    StartsWith(Box<str>),
    EndsWith(Box<str>),
    In(Box<[Member]>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OrderOp {
    Lt,
    Le,
    Gt,
    Ge,
}

/// One element of an `in [...]` list (or the network of `in "10.0.0.0/8"`).
#[derive(Debug)]
pub(crate) enum Member {
    Value(Lit),
    /// Matches addresses in the network, and also the text itself (`request.path in ["/a/b"]`).
    Net(Net, Lit),
}

impl Node {
    pub(crate) fn eval(&self, entry: &Entry) -> bool {
        match self {
            Node::Const(b) => *b,
            Node::And(items) => items.iter().all(|n| n.eval(entry)),
            Node::Or(items) => items.iter().any(|n| n.eval(entry)),
            Node::Not(inner) => !inner.eval(entry),
            Node::Protocol(name) => entry.protocol == **name || transport_name(entry.transport) == &**name,
            Node::Present(field) => any_value(field, entry, &mut |v| v.is_truthy()),
            Node::Check(c) => any_value(&c.field, entry, &mut |v| c.test.holds(&v)),
        }
    }
}

impl Test {
    fn holds(&self, v: &Val) -> bool {
        match self {
            Test::IsNull => *v == Val::Null,
            Test::Eq(lit) => equals(v, lit),
            Test::Order(op, lit) => order(v, lit).is_some_and(|o| match op {
                OrderOp::Lt => o == Ordering::Less,
                OrderOp::Le => o != Ordering::Greater,
                OrderOp::Gt => o == Ordering::Greater,
                OrderOp::Ge => o != Ordering::Less,
            }),
            Test::Regex(re) => with_text(v, |s| re.is_match(s)),
            Test::Contains(needle) => with_text(v, |s| s.contains(&**needle)),
            Test::StartsWith(prefix) => with_text(v, |s| s.starts_with(&**prefix)),
            Test::EndsWith(suffix) => with_text(v, |s| s.ends_with(&**suffix)),
            Test::In(members) => members.iter().any(|m| match m {
                Member::Value(lit) => equals(v, lit),
                Member::Net(net, text) => {
                    let inside = match v {
                        Val::Ip(ip) => net.contains(*ip),
                        Val::Str(s) => s.parse().is_ok_and(|ip| net.contains(ip)),
                        _ => false,
                    };
                    inside || equals(v, text)
                }
            }),
        }
    }
}
