//! Field paths: which part of an entry a path names, and walking it to the values a test sees.
//!
//! The common fields are read from the typed [`Entry`]; `request.*` and `response.*` walk the
//! protocol's JSON. A path that walks into a list without an index fans out over the elements, and a
//! path that ends on a list yields its elements: a test holds when it holds for ANY value reached.
//! A list of `[name, value]` pairs (HTTP headers, query) is looked up by name, case-insensitively,
//! first match.

use super::ast::{self, Num, SegKind};
use super::error::{suggest, FilterError};
use super::value::Val;
use crate::entry::{Endpoint, Entry, Transport};
use serde_json::Value;

/// Fan-out into nested lists stops this deep, so a hostile entry cannot exhaust the stack.
const MAX_WALK_DEPTH: usize = 64;

const ROOTS: &[&str] = &[
    "protocol",
    "transport",
    "id",
    "ts",
    "elapsed_us",
    "elapsed",
    "status",
    "outcome",
    "tls",
    "summary",
    "request_size",
    "response_size",
    "src",
    "dst",
    "notes",
    "request",
    "response",
];

const ENDPOINT_FIELDS: &[&str] = &["ip", "port", "pod", "namespace", "service", "node"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Src,
    Dst,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EndpointField {
    Ip,
    Port,
    Pod,
    Namespace,
    Service,
    Node,
}

/// One step into JSON.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Step {
    Key(Box<str>),
    Index(i64),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Field {
    Protocol,
    Transport,
    Id,
    Ts,
    Elapsed,
    Status,
    Outcome,
    Tls,
    Summary,
    RequestSize,
    ResponseSize,
    Endpoint(Side, EndpointField),
    /// All notes, or the one at an index.
    Notes(Option<i64>),
    Request(Box<[Step]>),
    Response(Box<[Step]>),
}

/// What a field holds, for checking literals at compile time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Number,
    Ip,
    Time,
    Bool,
    /// Protocol data: anything.
    Json,
}

impl Field {
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Field::Elapsed | Field::RequestSize | Field::ResponseSize => Kind::Number,
            Field::Endpoint(_, EndpointField::Port) => Kind::Number,
            Field::Endpoint(_, EndpointField::Ip) => Kind::Ip,
            Field::Ts => Kind::Time,
            Field::Tls => Kind::Bool,
            Field::Request(_) | Field::Response(_) => Kind::Json,
            _ => Kind::Text,
        }
    }
}

/// Whether a bare lowercase word names a field (otherwise it is a protocol name).
pub(crate) fn is_field_root(name: &str) -> bool {
    ROOTS.contains(&name)
}

/// Resolves a written path to a field, or says what is wrong with it and where.
pub(crate) fn resolve(path: &ast::Path) -> Result<Field, FilterError> {
    let segs = &path.segs[..];
    let scalar = |field: Field| match segs.first() {
        None => Ok(field),
        Some(seg) => Err(FilterError::new(seg.col, format!("'{}' has no fields", path.root))),
    };
    match path.root.as_str() {
        "protocol" => scalar(Field::Protocol),
        "transport" => scalar(Field::Transport),
        "id" => scalar(Field::Id),
        "ts" => scalar(Field::Ts),
        "elapsed_us" | "elapsed" => scalar(Field::Elapsed),
        "status" => scalar(Field::Status),
        "outcome" => scalar(Field::Outcome),
        "tls" => scalar(Field::Tls),
        "summary" => scalar(Field::Summary),
        "request_size" => scalar(Field::RequestSize),
        "response_size" => scalar(Field::ResponseSize),
        "src" => endpoint(path, Side::Src),
        "dst" => endpoint(path, Side::Dst),
        "notes" => match segs {
            [] => Ok(Field::Notes(None)),
            [ast::Seg { kind: SegKind::Index(i), .. }] => Ok(Field::Notes(Some(*i))),
            [seg, ..] => Err(FilterError::new(seg.col, "'notes' is a list of strings: use notes or notes[N]")),
        },
        "request" => Ok(Field::Request(steps(segs))),
        "response" => Ok(Field::Response(steps(segs))),
        other => {
            let hint = match suggest(other, ROOTS) {
                Some(s) => format!(" (did you mean '{s}'?)"),
                None => {
                    " (fields: protocol, transport, id, ts, elapsed_us, status, outcome, tls, summary, request_size, \
                          response_size, src.*, dst.*, notes, request.*, response.*)"
                        .to_string()
                }
            };
            Err(FilterError::new(path.col, format!("unknown field '{other}'{hint}")))
        }
    }
}

fn endpoint(path: &ast::Path, side: Side) -> Result<Field, FilterError> {
    let name = &path.root;
    let usage = format!("use {name}.ip, {name}.port, {name}.pod, {name}.namespace, {name}.service or {name}.node");
    let Some(first) = path.segs.first() else {
        return Err(FilterError::new(path.col, format!("'{name}' is an endpoint: {usage}")));
    };
    let field = match &first.kind {
        SegKind::Key(k) => match k.as_str() {
            "ip" => EndpointField::Ip,
            "port" => EndpointField::Port,
            "pod" => EndpointField::Pod,
            "namespace" => EndpointField::Namespace,
            "service" => EndpointField::Service,
            "node" => EndpointField::Node,
            other => {
                let hint = suggest(other, ENDPOINT_FIELDS).map_or(String::new(), |s| format!(" (did you mean '{s}'?)"));
                return Err(FilterError::new(first.col, format!("'{name}' has no field '{other}'{hint}: {usage}")));
            }
        },
        SegKind::Index(_) => return Err(FilterError::new(first.col, format!("'{name}' is not a list: {usage}"))),
    };
    if let Some(extra) = path.segs.get(1) {
        return Err(FilterError::new(extra.col, format!("'{name}.{}' has no fields", ENDPOINT_FIELDS[field as usize])));
    }
    Ok(Field::Endpoint(side, field))
}

fn steps(segs: &[ast::Seg]) -> Box<[Step]> {
    segs.iter()
        .map(|s| match &s.kind {
            SegKind::Key(k) => Step::Key(k.as_str().into()),
            SegKind::Index(i) => Step::Index(*i),
        })
        .collect()
}

pub(crate) fn transport_name(t: Transport) -> &'static str {
    match t {
        Transport::Tcp => "tcp",
        Transport::Udp => "udp",
    }
}

/// Calls `f` on each value `field` reaches in `entry` until `f` returns true; returns whether it did.
/// A missing field reaches one null.
pub(crate) fn any_value<'e>(field: &Field, entry: &'e Entry, f: &mut impl FnMut(Val<'e>) -> bool) -> bool {
    let opt = |s: &'e Option<String>| s.as_deref().map_or(Val::Null, Val::Str);
    let uint = |u: u64| Val::Num(Num::Int(u.into()));
    match field {
        Field::Protocol => f(Val::Str(&entry.protocol)),
        Field::Transport => f(Val::Str(transport_name(entry.transport))),
        Field::Id => f(Val::Str(&entry.id)),
        Field::Ts => f(Val::Time(entry.ts.as_nanos())),
        Field::Elapsed => f(entry.elapsed_us.map_or(Val::Null, uint)),
        Field::Status => f(opt(&entry.status)),
        Field::Outcome => f(Val::Str(entry.outcome.as_str())),
        Field::Tls => f(Val::Bool(entry.tls)),
        Field::Summary => f(Val::Str(&entry.summary)),
        Field::RequestSize => f(uint(entry.request_size)),
        Field::ResponseSize => f(uint(entry.response_size)),
        Field::Endpoint(side, which) => {
            let ep: &'e Endpoint = match side {
                Side::Src => &entry.src,
                Side::Dst => &entry.dst,
            };
            f(match which {
                EndpointField::Ip => Val::Ip(ep.ip),
                EndpointField::Port => uint(ep.port.into()),
                EndpointField::Pod => opt(&ep.pod),
                EndpointField::Namespace => opt(&ep.namespace),
                EndpointField::Service => opt(&ep.service),
                EndpointField::Node => opt(&ep.node),
            })
        }
        Field::Notes(None) => entry.notes.iter().any(|n| f(Val::Str(n))),
        Field::Notes(Some(i)) => f(index(&entry.notes, *i).map_or(Val::Null, |n| Val::Str(n))),
        Field::Request(steps) => walk(&entry.request, steps, 0, f),
        Field::Response(steps) => match &entry.response {
            Some(r) => walk(r, steps, 0, f),
            None => f(Val::Null),
        },
    }
}

fn walk<'e>(v: &'e Value, steps: &[Step], depth: usize, f: &mut impl FnMut(Val<'e>) -> bool) -> bool {
    if depth > MAX_WALK_DEPTH {
        return false;
    }
    let Some((step, rest)) = steps.split_first() else {
        return emit(v, depth, f);
    };
    let next = match (step, v) {
        (Step::Key(k), Value::Object(map)) => map.get(&**k),
        (Step::Key(k), Value::Array(items)) if is_pair_list(items) => pair_value(items, k),
        (Step::Key(_), Value::Array(items)) => return items.iter().any(|x| walk(x, steps, depth + 1, f)),
        (Step::Index(i), Value::Array(items)) => index(items, *i),
        _ => None,
    };
    match next {
        Some(x) => walk(x, rest, depth + 1, f),
        None => f(Val::Null),
    }
}

/// The values at the end of a path: a list's elements (recursively), anything else itself.
fn emit<'e>(v: &'e Value, depth: usize, f: &mut impl FnMut(Val<'e>) -> bool) -> bool {
    match v {
        Value::Array(items) if depth < MAX_WALK_DEPTH => items.iter().any(|x| emit(x, depth + 1, f)),
        Value::Array(_) => false,
        other => f(Val::from_json(other)),
    }
}

/// `[[name, value], ...]`, judged by the first element.
fn is_pair_list(items: &[Value]) -> bool {
    matches!(items.first(), Some(Value::Array(p)) if p.len() == 2 && p[0].is_string())
}

/// The value of the first pair whose name equals `name` ignoring ASCII case.
fn pair_value<'e>(items: &'e [Value], name: &str) -> Option<&'e Value> {
    items.iter().find_map(|item| match item.as_array()?.as_slice() {
        [Value::String(n), v] if n.eq_ignore_ascii_case(name) => Some(v),
        _ => None,
    })
}

/// `items[i]`, counting from the end when `i` is negative.
fn index<T>(items: &[T], i: i64) -> Option<&T> {
    let at = if i >= 0 {
        usize::try_from(i).ok()?
    } else {
        items.len().checked_sub(usize::try_from(i.unsigned_abs()).ok()?)?
    };
    items.get(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn collect(v: &Value, steps: &[Step]) -> Vec<String> {
        let mut out = Vec::new();
        walk(v, steps, 0, &mut |x| {
            out.push(format!("{x:?}"));
            false
        });
        out
    }

    fn key(k: &str) -> Step {
        Step::Key(k.into())
    }

    #[test]
    fn pair_lists_are_looked_up_by_name_ignoring_case_first_match() {
        let h = json!({"headers": [["Host", "a"], ["Content-Type", "text/html"], ["content-type", "second"]]});
        assert_eq!(collect(&h, &[key("headers"), key("content-type")]), [r#"Str("text/html")"#]);
        assert_eq!(collect(&h, &[key("headers"), key("HOST")]), [r#"Str("a")"#]);
        assert_eq!(collect(&h, &[key("headers"), key("accept")]), ["Null"]);
        // Without a name, a pair list yields every name and value.
        assert_eq!(collect(&h, &[key("headers")]).len(), 6);
        assert_eq!(collect(&h, &[key("headers"), Step::Index(1), Step::Index(0)]), [r#"Str("Content-Type")"#]);
    }

    #[test]
    fn lists_fan_out_without_an_index() {
        let r = json!({"answers": [{"data": "1.2.3.4"}, {"data": "5.6.7.8"}, {"ttl": 5}]});
        assert_eq!(collect(&r, &[key("answers"), key("data")]), [r#"Str("1.2.3.4")"#, r#"Str("5.6.7.8")"#, "Null"]);
        assert_eq!(collect(&r, &[key("answers"), Step::Index(-1), key("ttl")]), ["Num(Int(5))"]);
        assert_eq!(collect(&r, &[key("answers"), Step::Index(3)]), ["Null"]);
        assert_eq!(collect(&r, &[key("answers"), Step::Index(-4)]), ["Null"]);
        assert!(collect(&json!({"answers": []}), &[key("answers"), key("data")]).is_empty());
        assert_eq!(collect(&r, &[key("nope"), key("deeper")]), ["Null"]);
        assert_eq!(collect(&json!("text"), &[key("x")]), ["Null"]);
    }

    #[test]
    fn deep_lists_stop_instead_of_overflowing() {
        let mut v = json!(1);
        for _ in 0..10_000 {
            v = Value::Array(vec![v]);
        }
        assert!(collect(&v, &[]).is_empty());
        assert!(collect(&v, &[key("k")]).is_empty());
        // Dropping a 10 000-deep Value recurses in serde_json itself; keep the test about us.
        std::mem::forget(v);
    }

    #[test]
    fn unknown_fields_are_errors_with_hints() {
        let path = |root: &str, segs: Vec<SegKind>| ast::Path {
            col: 3,
            root: root.into(),
            segs: segs.into_iter().enumerate().map(|(i, kind)| ast::Seg { col: 10 + i, kind }).collect(),
        };
        let err = |p: ast::Path| resolve(&p).unwrap_err().to_string();
        assert_eq!(
            err(path("reqest", vec![SegKind::Key("path".into())])),
            "column 3: unknown field 'reqest' (did you mean 'request'?)"
        );
        assert_eq!(err(path("protocol", vec![SegKind::Key("x".into())])), "column 10: 'protocol' has no fields");
        assert_eq!(
            err(path("src", vec![SegKind::Key("pdo".into())])),
            "column 10: 'src' has no field 'pdo' (did you mean 'pod'?): use src.ip, src.port, src.pod, src.namespace, src.service or src.node"
        );
        assert_eq!(
            err(path("dst", vec![SegKind::Key("ip".into()), SegKind::Key("x".into())])),
            "column 11: 'dst.ip' has no fields"
        );
        assert!(err(path("dst", vec![])).starts_with("column 3: 'dst' is an endpoint: use dst.ip,"));
        assert_eq!(resolve(&path("elapsed", vec![])).unwrap(), Field::Elapsed);
        assert_eq!(resolve(&path("notes", vec![SegKind::Index(0)])).unwrap(), Field::Notes(Some(0)));
        assert_eq!(
            resolve(&path("request", vec![SegKind::Key("a".into()), SegKind::Index(2)])).unwrap(),
            Field::Request(vec![key("a"), Step::Index(2)].into())
        );
    }
}
