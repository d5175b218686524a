//! Pure HTTP/1 parsing: complete heads into owned values, and the body framing rules of
//! RFC 9112 §6. No state, no I/O: the stateful code in `reader` and `session` calls these once per
//! complete head.

use std::mem::MaybeUninit;
use thiserror::Error;

/// Request methods recognised when sniffing a stream or resynchronising after a gap: RFC 9110,
/// PATCH, WebDAV and its extensions (RFC 4918, 3253, 3744, 4791, 5323, 5842), plus a few common
/// extensions. Any token is accepted as a method once a stream is in sync. `PRI` (the HTTP/2
/// preface) is deliberately absent.
pub(crate) const METHODS: &[&str] = &[
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "CONNECT",
    "OPTIONS",
    "TRACE",
    "PATCH",
    "QUERY",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
    "SEARCH",
    "REPORT",
    "ACL",
    "BIND",
    "UNBIND",
    "REBIND",
    "CHECKIN",
    "CHECKOUT",
    "UNCHECKOUT",
    "MKWORKSPACE",
    "MKACTIVITY",
    "MKCALENDAR",
    "MKREDIRECTREF",
    "UPDATEREDIRECTREF",
    "ORDERPATCH",
    "VERSION-CONTROL",
    "BASELINE-CONTROL",
    "UPDATE",
    "LABEL",
    "MERGE",
    "LINK",
    "UNLINK",
    "PURGE",
];

/// How the start of `data` compares with "known method + SP".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MethodMatch {
    /// A known method and a space: the method is `len - 1` bytes.
    Full(usize),
    /// `data` ends inside what could still become a known method and a space.
    Partial,
    No,
}

pub(crate) fn match_method(data: &[u8]) -> MethodMatch {
    match data.first() {
        Some(b'A'..=b'Z') => {}
        Some(_) => return MethodMatch::No,
        None => return MethodMatch::Partial,
    }
    let mut partial = false;
    for m in METHODS {
        let m = m.as_bytes();
        if data.len() > m.len() {
            if data.starts_with(m) && data[m.len()] == b' ' {
                return MethodMatch::Full(m.len() + 1);
            }
        } else if m.starts_with(data) {
            partial = true;
        }
    }
    if partial {
        MethodMatch::Partial
    } else {
        MethodMatch::No
    }
}

/// How the start of `data` compares with a status line start, `HTTP/1.x NNN` and a space or
/// line end (13 bytes).
pub(crate) fn match_status_start(data: &[u8]) -> MethodMatch {
    const LEN: usize = 13;
    let ok = |i: usize, b: u8| match i {
        0..=6 => b == b"HTTP/1."[i],
        7 | 9..=11 => b.is_ascii_digit(),
        8 => b == b' ',
        _ => b == b' ' || b == b'\r' || b == b'\n',
    };
    for (i, &b) in data.iter().take(LEN).enumerate() {
        if !ok(i, b) {
            return MethodMatch::No;
        }
    }
    if data.len() >= LEN {
        MethodMatch::Full(LEN)
    } else {
        MethodMatch::Partial
    }
}

/// Longest method token accepted in a request line.
pub(crate) const MAX_METHOD: usize = 31;

/// True when `line` (without its line end) reads `METHOD SP target SP HTTP/1.x`.
pub(crate) fn is_request_line(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Some(sp) = line.iter().position(|&b| b == b' ') else {
        return false;
    };
    sp > 0
        && sp <= MAX_METHOD
        && line[..sp].iter().all(|&b| is_tchar(b))
        && line.len() >= sp + 11
        && line[line.len() - 9] == b' '
        && is_version(&line[line.len() - 8..])
}

/// True when `line` (without its line end) starts like a status line.
pub(crate) fn is_status_line(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match match_status_start(line) {
        MethodMatch::Full(_) => true,
        // "HTTP/1.1 200" with nothing after the code.
        MethodMatch::Partial => line.len() == 12,
        MethodMatch::No => false,
    }
}

fn is_version(v: &[u8]) -> bool {
    v.len() == 8 && v.starts_with(b"HTTP/1.") && v[7].is_ascii_digit()
}

pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Why a head could not be parsed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum HeadError {
    #[error("malformed {what} head ({detail})")]
    Malformed { what: &'static str, detail: String },
    #[error("{what} head longer than {limit} bytes")]
    TooLarge { what: &'static str, limit: usize },
    #[error("{what} does not start like an HTTP/1 message")]
    NotHttp { what: &'static str },
}

/// Body framing problems that make a message's end unknowable.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FramingError {
    #[error("invalid Content-Length {0:?}")]
    InvalidContentLength(String),
    #[error("conflicting Content-Length values {0:?} and {1:?}")]
    ConflictingContentLength(u64, u64),
}

/// A header as seen on the wire: original case, value lossily decoded.
pub type Header = (String, String);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    pub method: String,
    /// The request target exactly as on the wire (lossy when not UTF-8).
    pub target: String,
    /// Minor version: 0 or 1 for HTTP/1.0 and HTTP/1.1.
    pub minor: u8,
    pub headers: Vec<Header>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    pub minor: u8,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<Header>,
}

/// How a message's body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    Empty,
    Length(u64),
    Chunked,
    /// The body runs to the end of the connection (responses, and requests with a non-chunked
    /// Transfer-Encoding).
    UntilClose,
}

/// What a response head means for the exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseKind {
    /// 1xx other than 101: not the final response.
    Interim,
    /// The final response, with its body framing.
    Final(Framing),
    /// 101 Switching Protocols, or a 2xx answer to CONNECT: HTTP ends on this connection.
    Switch,
}

const STACK_HEADERS: usize = 64;

fn config() -> httparse::ParserConfig {
    let mut c = httparse::ParserConfig::default();
    c.allow_spaces_after_header_name_in_responses(true)
        .allow_obsolete_multiline_headers_in_responses(true)
        .allow_multiple_spaces_in_request_line_delimiters(true)
        .allow_multiple_spaces_in_response_status_delimiters(true)
        .ignore_invalid_headers_in_requests(true)
        .ignore_invalid_headers_in_responses(true);
    c
}

fn malformed(what: &'static str, e: impl std::fmt::Display) -> HeadError {
    HeadError::Malformed { what, detail: e.to_string() }
}

fn owned_headers(headers: &[httparse::Header<'_>]) -> Vec<Header> {
    headers
        .iter()
        .map(|h| {
            let value = match std::str::from_utf8(h.value) {
                Ok(v) => v.to_owned(),
                Err(_) => String::from_utf8_lossy(h.value).into_owned(),
            };
            (h.name.to_owned(), value)
        })
        .collect()
}

/// Header slots for heads with more headers than fit on the stack.
fn heap_slots<'b>(n: usize) -> Vec<MaybeUninit<httparse::Header<'b>>> {
    (0..n).map(|_| MaybeUninit::uninit()).collect()
}

/// A header slot count that cannot be too small for `head`: one header per line at most.
fn line_count(head: &[u8]) -> usize {
    head.iter().filter(|&&b| b == b'\n').count() + 1
}

/// Parses a complete request head (request line, headers and the empty line).
pub fn parse_request_head(head: &[u8]) -> Result<RequestHead, HeadError> {
    let mut slots = [const { MaybeUninit::uninit() }; STACK_HEADERS];
    match parse_request_with(head, &mut slots) {
        Err(httparse::Error::TooManyHeaders) => {
            let mut slots = heap_slots(line_count(head));
            parse_request_with(head, &mut slots).map_err(|e| malformed("request", e))
        }
        // httparse wants a UTF-8 target; the wire does not always agree.
        Err(httparse::Error::Token) => parse_request_lossy(head),
        other => other.map_err(|e| malformed("request", e)),
    }
}

fn parse_request_with<'b>(
    head: &'b [u8],
    slots: &mut [MaybeUninit<httparse::Header<'b>>],
) -> Result<RequestHead, httparse::Error> {
    let mut req = httparse::Request::new(&mut []);
    match config().parse_request_with_uninit_headers(&mut req, head, slots)? {
        httparse::Status::Complete(_) => Ok(RequestHead {
            method: req.method.unwrap_or_default().to_owned(),
            target: req.path.unwrap_or_default().to_owned(),
            minor: req.version.unwrap_or(1),
            headers: owned_headers(req.headers),
        }),
        httparse::Status::Partial => Err(httparse::Error::Token),
    }
}

/// The slow path for request lines httparse refuses (e.g. raw non-UTF-8 bytes in the target):
/// split the request line by hand, let httparse parse the headers behind a stand-in line.
fn parse_request_lossy(head: &[u8]) -> Result<RequestHead, HeadError> {
    let detail = |d: &str| HeadError::Malformed { what: "request", detail: d.to_owned() };
    let line_end = head.iter().position(|&b| b == b'\n').ok_or_else(|| detail("no line end"))?;
    let line = &head[..line_end];
    if !is_request_line(line) {
        return Err(detail("invalid request line"));
    }
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let sp = line.iter().position(|&b| b == b' ').ok_or_else(|| detail("no space"))?;
    let method = String::from_utf8_lossy(&line[..sp]).into_owned();
    let version_at = line.len() - 8;
    let target = line[sp..version_at].trim_ascii();
    if target.is_empty() {
        return Err(detail("empty request target"));
    }
    let minor = line[line.len() - 1] - b'0';
    let mut stand_in = Vec::with_capacity(head.len());
    stand_in.extend_from_slice(b"GET / HTTP/1.1\r\n");
    stand_in.extend_from_slice(&head[line_end + 1..]);
    let mut slots = heap_slots(line_count(&stand_in));
    let parsed = parse_request_with(&stand_in, &mut slots).map_err(|e| malformed("request", e))?;
    Ok(RequestHead { method, target: String::from_utf8_lossy(target).into_owned(), minor, headers: parsed.headers })
}

/// Parses a complete response head.
pub fn parse_response_head(head: &[u8]) -> Result<ResponseHead, HeadError> {
    let mut slots = [const { MaybeUninit::uninit() }; STACK_HEADERS];
    match parse_response_with(head, &mut slots) {
        Err(httparse::Error::TooManyHeaders) => {
            let mut slots = heap_slots(line_count(head));
            parse_response_with(head, &mut slots).map_err(|e| malformed("response", e))
        }
        other => other.map_err(|e| malformed("response", e)),
    }
}

fn parse_response_with<'b>(
    head: &'b [u8],
    slots: &mut [MaybeUninit<httparse::Header<'b>>],
) -> Result<ResponseHead, httparse::Error> {
    let mut resp = httparse::Response::new(&mut []);
    match config().parse_response_with_uninit_headers(&mut resp, head, slots)? {
        httparse::Status::Complete(_) => Ok(ResponseHead {
            minor: resp.version.unwrap_or(1),
            status: resp.code.unwrap_or_default(),
            reason: reason_phrase(head),
            headers: owned_headers(resp.headers),
        }),
        httparse::Status::Partial => Err(httparse::Error::Status),
    }
}

/// The reason phrase as on the wire, lossy when not UTF-8 (httparse returns "" for obs-text).
fn reason_phrase(head: &[u8]) -> String {
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let line = head[..line_end].strip_suffix(b"\r").unwrap_or(&head[..line_end]);
    // "HTTP/1.1" SP+ code SP+ reason
    let rest = line.get(8..).unwrap_or_default().trim_ascii_start();
    let rest = rest.get(3..).unwrap_or_default().trim_ascii();
    String::from_utf8_lossy(rest).into_owned()
}

/// Parses a raw trailer section (header lines and the final empty line). Trailer lines that do
/// not parse are dropped: they carry no framing.
pub fn parse_trailers(raw: &[u8]) -> Vec<Header> {
    if raw.len() <= 2 {
        return Vec::new();
    }
    let mut slots = vec![httparse::EMPTY_HEADER; line_count(raw)];
    match httparse::parse_headers(raw, &mut slots) {
        Ok(httparse::Status::Complete((_, headers))) => owned_headers(headers),
        _ => Vec::new(),
    }
}

/// The first value of header `name` (case-insensitive).
pub fn header<'h>(headers: &'h [Header], name: &str) -> Option<&'h str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// Body framing from the headers alone (RFC 9112 §6.3 rules 3 to 6).
fn framing_from_headers(headers: &[Header], default: Framing) -> Result<Framing, FramingError> {
    let mut te: Option<&str> = None;
    let mut length: Option<u64> = None;
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("transfer-encoding") {
            te = Some(value);
        } else if name.eq_ignore_ascii_case("content-length") {
            for part in value.split(',') {
                let part = part.trim();
                let n = parse_length(part).ok_or_else(|| FramingError::InvalidContentLength(value.clone()))?;
                match length {
                    Some(prev) if prev != n => return Err(FramingError::ConflictingContentLength(prev, n)),
                    _ => length = Some(n),
                }
            }
        }
    }
    if let Some(te) = te {
        let last = te.rsplit(',').next().unwrap_or_default().trim();
        return Ok(if last.eq_ignore_ascii_case("chunked") { Framing::Chunked } else { Framing::UntilClose });
    }
    Ok(match length {
        Some(0) => Framing::Empty,
        Some(n) => Framing::Length(n),
        None => default,
    })
}

fn parse_length(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The body framing of a request.
pub fn request_framing(head: &RequestHead) -> Result<Framing, FramingError> {
    framing_from_headers(&head.headers, Framing::Empty)
}

/// What a response means, given the method of the request it answers (None when unknown).
pub fn response_kind(head: &ResponseHead, request_method: Option<&str>) -> Result<ResponseKind, FramingError> {
    let status = head.status;
    let method = request_method.unwrap_or("");
    if status == 101 || (method == "CONNECT" && (200..300).contains(&status)) {
        return Ok(ResponseKind::Switch);
    }
    if (100..200).contains(&status) {
        return Ok(ResponseKind::Interim);
    }
    if method == "HEAD" || status == 204 || status == 304 {
        return Ok(ResponseKind::Final(Framing::Empty));
    }
    framing_from_headers(&head.headers, Framing::UntilClose).map(ResponseKind::Final)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<Header> {
        pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    #[test]
    fn method_matching() {
        assert_eq!(match_method(b"GET /"), MethodMatch::Full(4));
        assert_eq!(match_method(b"PROPFIND /x"), MethodMatch::Full(9));
        assert_eq!(match_method(b"VERSION-CONTROL /"), MethodMatch::Full(16));
        assert_eq!(match_method(b"GE"), MethodMatch::Partial);
        assert_eq!(match_method(b"GET"), MethodMatch::Partial);
        assert_eq!(match_method(b""), MethodMatch::Partial);
        assert_eq!(match_method(b"GETX /"), MethodMatch::No);
        assert_eq!(match_method(b"get /"), MethodMatch::No);
        assert_eq!(match_method(b"PRI * HTTP/2.0"), MethodMatch::No);
    }

    #[test]
    fn status_start_matching() {
        assert_eq!(match_status_start(b"HTTP/1.1 200 OK"), MethodMatch::Full(13));
        assert_eq!(match_status_start(b"HTTP/1.0 404\r\n"), MethodMatch::Full(13));
        assert_eq!(match_status_start(b"HTTP/1.1 20"), MethodMatch::Partial);
        assert_eq!(match_status_start(b"HTTP/2 200 "), MethodMatch::No);
        assert_eq!(match_status_start(b"HTTP/1.1 2000"), MethodMatch::No);
        assert!(is_status_line(b"HTTP/1.1 200\r"));
        assert!(!is_status_line(b"HTTP/1.1 20"));
    }

    #[test]
    fn request_line_shapes() {
        assert!(is_request_line(b"GET / HTTP/1.1\r"));
        assert!(is_request_line(b"FOO /a?b HTTP/1.0"));
        assert!(!is_request_line(b"GET /"));
        assert!(!is_request_line(b"GET HTTP/1.1"));
        assert!(!is_request_line(b"GET / HTTP/2.0"));
        assert!(!is_request_line(b"G(T / HTTP/1.1"));
    }

    #[test]
    fn parses_request_head_in_wire_order_and_case() {
        let r = parse_request_head(b"POST /a?b=c HTTP/1.0\r\nHost: x\r\nX-Two: 1\r\nx-two: 2\r\n\r\n");
        assert_eq!(
            r,
            Ok(RequestHead {
                method: "POST".into(),
                target: "/a?b=c".into(),
                minor: 0,
                headers: h(&[("Host", "x"), ("X-Two", "1"), ("x-two", "2")]),
            })
        );
    }

    #[test]
    fn non_utf8_target_and_values_are_lossy() {
        let r = parse_request_head(b"GET /caf\xe9 HTTP/1.1\r\nX: a\xffb\r\n\r\n").expect("lossy parse");
        assert_eq!(r.target, "/caf\u{fffd}");
        assert_eq!(r.headers, h(&[("X", "a\u{fffd}b")]));
        let r = parse_response_head(b"HTTP/1.1 200 Tr\xe8s bien\r\n\r\n").expect("response");
        assert_eq!(r.reason, "Tr\u{fffd}s bien");
    }

    #[test]
    fn many_headers_use_the_heap_path() {
        let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..200 {
            head.extend_from_slice(format!("H{i}: {i}\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        let r = parse_response_head(&head).expect("200 headers");
        assert_eq!(r.headers.len(), 200);
        assert_eq!(r.headers[199], ("H199".to_string(), "199".to_string()));
    }

    #[test]
    fn garbage_heads_are_errors() {
        assert!(parse_request_head(b"\x16\x03\x01 junk\r\n\r\n").is_err());
        assert!(parse_response_head(b"HTTP/9 x\r\n\r\n").is_err());
        let e = parse_response_head(b"HTTP/1.1 abc\r\n\r\n").unwrap_err();
        assert!(e.to_string().starts_with("malformed response head"), "{e}");
    }

    #[test]
    fn trailers() {
        assert_eq!(parse_trailers(b"\r\n"), Vec::<Header>::new());
        assert_eq!(parse_trailers(b"X-Sum: 1\r\nY: two\r\n\r\n"), h(&[("X-Sum", "1"), ("Y", "two")]));
        assert_eq!(parse_trailers(b"\x01bad\r\n\r\n"), Vec::<Header>::new());
    }

    #[test]
    fn framing_rules() {
        let req =
            |hs: &[(&str, &str)]| RequestHead { method: "POST".into(), target: "/".into(), minor: 1, headers: h(hs) };
        assert_eq!(request_framing(&req(&[])), Ok(Framing::Empty));
        assert_eq!(request_framing(&req(&[("Content-Length", "5")])), Ok(Framing::Length(5)));
        assert_eq!(request_framing(&req(&[("content-length", "5, 5")])), Ok(Framing::Length(5)));
        assert_eq!(request_framing(&req(&[("Content-Length", "0")])), Ok(Framing::Empty));
        assert_eq!(
            request_framing(&req(&[("Content-Length", "5"), ("Content-Length", "6")])),
            Err(FramingError::ConflictingContentLength(5, 6))
        );
        assert_eq!(
            request_framing(&req(&[("Content-Length", "-1")])),
            Err(FramingError::InvalidContentLength("-1".into()))
        );
        assert_eq!(
            request_framing(&req(&[("Transfer-Encoding", "gzip, Chunked"), ("Content-Length", "5")])),
            Ok(Framing::Chunked)
        );

        let resp =
            |status, hs: &[(&str, &str)]| ResponseHead { minor: 1, status, reason: String::new(), headers: h(hs) };
        let cl = [("Content-Length", "10")];
        assert_eq!(response_kind(&resp(200, &cl), Some("GET")), Ok(ResponseKind::Final(Framing::Length(10))));
        assert_eq!(response_kind(&resp(200, &cl), Some("HEAD")), Ok(ResponseKind::Final(Framing::Empty)));
        assert_eq!(response_kind(&resp(204, &cl), None), Ok(ResponseKind::Final(Framing::Empty)));
        assert_eq!(response_kind(&resp(304, &cl), None), Ok(ResponseKind::Final(Framing::Empty)));
        assert_eq!(response_kind(&resp(200, &[]), None), Ok(ResponseKind::Final(Framing::UntilClose)));
        assert_eq!(response_kind(&resp(100, &[]), Some("PUT")), Ok(ResponseKind::Interim));
        assert_eq!(response_kind(&resp(101, &[]), Some("GET")), Ok(ResponseKind::Switch));
        assert_eq!(response_kind(&resp(200, &[]), Some("CONNECT")), Ok(ResponseKind::Switch));
        assert_eq!(response_kind(&resp(407, &cl), Some("CONNECT")), Ok(ResponseKind::Final(Framing::Length(10))));
        assert_eq!(
            response_kind(&resp(200, &[("Transfer-Encoding", "gzip")]), None),
            Ok(ResponseKind::Final(Framing::UntilClose))
        );
    }
}
