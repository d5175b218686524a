//! The Close frame body (RFC 6455 section 5.5.1): an optional 2-byte status code, then a UTF-8
//! reason. Status code ranges and names: RFC 6455 section 7.4 and the IANA "WebSocket Close Code
//! Number" registry.

/// A Close frame's body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Close {
    /// Absent when the body was empty (or a lone byte, which is invalid).
    pub code: Option<u16>,
    /// The reason, lossily decoded when not valid UTF-8.
    pub reason: String,
    /// What is wrong with the body, if anything.
    pub problems: Vec<String>,
}

impl Close {
    /// Parses a Close body. `complete` is false when the body was cut (the reason is then a prefix
    /// and its UTF-8 validity is not judged at the cut).
    pub fn parse(body: &[u8], complete: bool) -> Close {
        let mut problems = Vec::new();
        let (code, reason) = match body {
            [] => (None, &[][..]),
            [_] => {
                problems.push("close body of 1 byte (a status code needs 2)".to_owned());
                (None, &[][..])
            }
            [hi, lo, reason @ ..] => (Some(u16::from_be_bytes([*hi, *lo])), reason),
        };
        if let Some(code) = code {
            if !code_allowed_on_wire(code) {
                problems.push(format!("close code {code} must not be sent"));
            }
        }
        let reason = match std::str::from_utf8(reason) {
            Ok(s) => s.to_owned(),
            Err(e) => {
                if complete || e.error_len().is_some() {
                    problems.push("close reason is not valid UTF-8".to_owned());
                }
                String::from_utf8_lossy(reason).into_owned()
            }
        };
        Close { code, reason, problems }
    }
}

/// True for codes an endpoint may put in a Close frame: 1000-1003, 1007-1014 (defined by RFC 6455
/// and registered by IANA), 3000-4999 (libraries, frameworks, applications). 1004 is reserved;
/// 1005, 1006 and 1015 are only for reporting locally; below 1000 and 1016-2999 are not assigned.
pub fn code_allowed_on_wire(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// The registered name of a status code.
pub fn code_name(code: u16) -> Option<&'static str> {
    Some(match code {
        1000 => "Normal Closure",
        1001 => "Going Away",
        1002 => "Protocol error",
        1003 => "Unsupported Data",
        1004 => "Reserved",
        1005 => "No Status Rcvd",
        1006 => "Abnormal Closure",
        1007 => "Invalid frame payload data",
        1008 => "Policy Violation",
        1009 => "Message Too Big",
        1010 => "Mandatory Ext.",
        1011 => "Internal Error",
        1012 => "Service Restart",
        1013 => "Try Again Later",
        1014 => "Bad Gateway",
        1015 => "TLS handshake",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies() {
        assert_eq!(Close::parse(b"", true), Close { code: None, reason: String::new(), problems: vec![] });
        let c = Close::parse(b"\x03\xe8bye", true);
        assert_eq!((c.code, c.reason.as_str(), c.problems.len()), (Some(1000), "bye", 0));
        assert_eq!(Close::parse(b"\x03", true).problems.len(), 1);
        let c = Close::parse(b"\x03\xed", true);
        assert_eq!(c.code, Some(1005));
        assert_eq!(c.problems, vec!["close code 1005 must not be sent".to_owned()]);
        let c = Close::parse(b"\x0f\xa0\xff", true);
        assert_eq!((c.code, c.problems.len()), (Some(4000), 1));
        // A cut inside a code point is not an error when the body is incomplete.
        assert!(Close::parse(b"\x03\xe8\xe2\x82", false).problems.is_empty());
        assert_eq!(Close::parse(b"\x03\xe8\xe2\x82", true).problems.len(), 1);
    }

    #[test]
    fn code_ranges() {
        for (code, ok) in [(999, false), (1000, true), (1004, false), (1006, false), (1011, true), (1015, false)] {
            assert_eq!(code_allowed_on_wire(code), ok, "{code}");
        }
        for (code, ok) in [(1016, false), (2999, false), (3000, true), (4999, true), (5000, false)] {
            assert_eq!(code_allowed_on_wire(code), ok, "{code}");
        }
        assert_eq!(code_name(1001), Some("Going Away"));
        assert_eq!(code_name(4000), None);
    }
}
