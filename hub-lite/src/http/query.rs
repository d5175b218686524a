//! Query strings: `name=value&...` with percent-decoding and `+` as space (what browsers send for
//! `URLSearchParams` and `encodeURIComponent`). Invalid escapes are kept literally; bytes that are not
//! UTF-8 become U+FFFD. The URI is bounded by the server's header size limit, so this is too.

/// The decoded parameters of one request, in order.
#[derive(Debug, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses the part of a URI after `?` (None: no query).
    pub fn parse(raw: Option<&str>) -> Query {
        let pairs = raw
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (name, value) = p.split_once('=').unwrap_or((p, ""));
                (decode(name), decode(value))
            })
            .collect();
        Query { pairs }
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Percent-decodes one component (`+` is a space).
pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => match (b.get(i + 1).and_then(|&c| hex(c)), b.get(i + 2).and_then(|&c| hex(c))) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Percent-encodes everything but RFC 3986 unreserved characters (for tokens put into URLs).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_browsers_encode() {
        let q = Query::parse(Some("q=http+and+response.status+%3E%3D+500&limit=5&token=a%2Db&empty&q=second"));
        assert_eq!(q.get("q"), Some("http and response.status >= 500"));
        assert_eq!(q.get("limit"), Some("5"));
        assert_eq!(q.get("token"), Some("a-b"));
        assert_eq!(q.get("empty"), Some(""));
        assert_eq!(q.get("missing"), None);
        assert_eq!(decode("%22caf%C3%A9%22"), "\"café\"");
    }

    #[test]
    fn bad_escapes_and_bytes_do_not_fail() {
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(decode("%FF"), "\u{FFFD}");
        assert_eq!(Query::parse(None).get("q"), None);
    }

    #[test]
    fn encode_round_trips() {
        for s in ["abc-_.~", "a b&c=d/é%", ""] {
            assert_eq!(decode(&encode(s)), s);
        }
        assert_eq!(encode("a b"), "a%20b");
    }
}
