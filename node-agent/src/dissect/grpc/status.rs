//! What gRPC's headers and trailers say, as plain values: `grpc-status` codes and their names
//! (grpc/doc/statuscodes.md), who is at fault for each, the percent-decoding of `grpc-message`
//! and the parsing of `grpc-timeout` (gRPC over HTTP/2 spec), and which metadata keys carry
//! credentials.

use std::time::Duration;
use thiserror::Error;

/// The status codes, indexed by their number.
const NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// The name of status code `code` ("NOT_FOUND" for 5), None past 16.
pub fn status_name(code: u32) -> Option<&'static str> {
    usize::try_from(code).ok().and_then(|i| NAMES.get(i)).copied()
}

/// The code of a status name (exact, upper case as in the spec).
pub fn status_code(name: &str) -> Option<u32> {
    NAMES.iter().position(|n| *n == name).and_then(|i| u32::try_from(i).ok())
}

/// Parses a `grpc-status` value: a decimal number, surrounding space ignored. Codes past 16 are
/// kept (the spec lets them appear; they are treated as UNKNOWN).
pub fn parse_status(value: &str) -> Option<u32> {
    let v = value.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// Who a status blames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// OK.
    None,
    /// The request was wrong or unwelcome (or the client gave up).
    Client,
    /// The server (or what is behind it) failed.
    Server,
}

/// The fault of a status code. The rule is the HTTP status that google/rpc/code.proto gives each
/// code: 4xx means the client, 5xx the server. So the client is at fault for CANCELLED (499),
/// INVALID_ARGUMENT, FAILED_PRECONDITION and OUT_OF_RANGE (400), UNAUTHENTICATED (401),
/// PERMISSION_DENIED (403), NOT_FOUND (404), ALREADY_EXISTS and ABORTED (409), RESOURCE_EXHAUSTED
/// (429: quota and rate limits); the server for UNKNOWN, INTERNAL and DATA_LOSS (500),
/// UNIMPLEMENTED (501), UNAVAILABLE (503), DEADLINE_EXCEEDED (504), and for any code past 16
/// (handled as UNKNOWN).
pub fn fault(code: u32) -> Fault {
    match code {
        0 => Fault::None,
        1 | 3 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 16 => Fault::Client,
        _ => Fault::Server,
    }
}

/// Decodes a `grpc-message` value. The spec percent-encodes it ("%" followed by two hex digits
/// for each byte outside 0x20-0x7E, and for "%" itself) over UTF-8; a "%" not followed by two hex
/// digits is kept as it is (as grpc-go does), and bytes that are not UTF-8 become U+FFFD.
pub fn decode_grpc_message(value: &str) -> String {
    let bytes = value.as_bytes();
    if !bytes.contains(&b'%') {
        return value.to_owned();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = match (b, bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) => hex(h).zip(hex(l)).map(|(h, l)| h << 4 | l),
            _ => None,
        };
        match escaped {
            Some(decoded) => {
                out.push(decoded);
                i += 3;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Why a `grpc-timeout` value was refused.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum TimeoutError {
    #[error("grpc-timeout {0:?} has no digits before its unit")]
    NoDigits(String),
    #[error("grpc-timeout {0:?} has more than 8 digits")]
    TooManyDigits(String),
    #[error("grpc-timeout {0:?} does not end with a unit (H, M, S, m, u or n)")]
    BadUnit(String),
}

/// Parses a `grpc-timeout` value: at most 8 ASCII digits and a unit, H (hours), M (minutes),
/// S (seconds), m (milliseconds), u (microseconds) or n (nanoseconds).
pub fn parse_timeout(value: &str) -> Result<Duration, TimeoutError> {
    let v = value.trim();
    let Some((unit, digits)) = v.as_bytes().split_last() else {
        return Err(TimeoutError::NoDigits(v.to_owned()));
    };
    let per_unit = match unit {
        b'H' => Duration::from_secs(3600),
        b'M' => Duration::from_secs(60),
        b'S' => Duration::from_secs(1),
        b'm' => Duration::from_millis(1),
        b'u' => Duration::from_micros(1),
        b'n' => Duration::from_nanos(1),
        _ => return Err(TimeoutError::BadUnit(v.to_owned())),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(TimeoutError::NoDigits(v.to_owned()));
    }
    if digits.len() > 8 {
        return Err(TimeoutError::TooManyDigits(v.to_owned()));
    }
    let n = digits.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    // 99,999,999 hours fits a Duration.
    Ok(per_unit * n)
}

/// Parts of a metadata key that mark its value as a credential: "authorization" (and
/// "proxy-authorization", "x-goog-iam-authorization-token"), "cookie" ("set-cookie"), "x-auth-token",
/// "x-api-key", "client-secret", ...
pub const CREDENTIAL_KEY_PARTS: [&str; 12] = [
    "authorization",
    "cookie",
    "token",
    "secret",
    "password",
    "passwd",
    "api-key",
    "apikey",
    "api_key",
    "credential",
    "session-key",
    "private-key",
];

/// Whether the value of metadata key `key` looks like a credential: the key contains one of
/// [`CREDENTIAL_KEY_PARTS`], without regard to ASCII case (binary "-bin" keys included).
pub fn is_credential_key(key: &str) -> bool {
    // Runs on every metadata key of every call when redacting: compare in place, no lowercase copy.
    let key = key.as_bytes();
    CREDENTIAL_KEY_PARTS.iter().any(|part| key.windows(part.len()).any(|w| w.eq_ignore_ascii_case(part.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table of grpc/doc/statuscodes.md.
    #[test]
    fn codes_and_names_round_trip() {
        let spec = [
            (0, "OK"),
            (1, "CANCELLED"),
            (2, "UNKNOWN"),
            (3, "INVALID_ARGUMENT"),
            (4, "DEADLINE_EXCEEDED"),
            (5, "NOT_FOUND"),
            (6, "ALREADY_EXISTS"),
            (7, "PERMISSION_DENIED"),
            (8, "RESOURCE_EXHAUSTED"),
            (9, "FAILED_PRECONDITION"),
            (10, "ABORTED"),
            (11, "OUT_OF_RANGE"),
            (12, "UNIMPLEMENTED"),
            (13, "INTERNAL"),
            (14, "UNAVAILABLE"),
            (15, "DATA_LOSS"),
            (16, "UNAUTHENTICATED"),
        ];
        for (code, name) in spec {
            assert_eq!(status_name(code), Some(name));
            assert_eq!(status_code(name), Some(code));
        }
        assert_eq!(status_name(17), None);
        assert_eq!(status_code("not_found"), None);
        assert_eq!(parse_status(" 14 "), Some(14));
        assert_eq!(parse_status("99"), Some(99));
        assert_eq!(parse_status("-1"), None);
        assert_eq!(parse_status("+1"), None);
        assert_eq!(parse_status(""), None);
        assert_eq!(parse_status("99999999999"), None);
    }

    /// google/rpc/code.proto's HTTP mapping: 4xx codes blame the client, 5xx the server.
    #[test]
    fn fault_follows_the_http_mapping() {
        let http = [
            (0, 200),
            (1, 499),
            (2, 500),
            (3, 400),
            (4, 504),
            (5, 404),
            (6, 409),
            (7, 403),
            (8, 429),
            (9, 400),
            (10, 409),
            (11, 400),
            (12, 501),
            (13, 500),
            (14, 503),
            (15, 500),
            (16, 401),
        ];
        for (code, status) in http {
            let want = match status {
                200 => Fault::None,
                400..=499 => Fault::Client,
                _ => Fault::Server,
            };
            assert_eq!(fault(code), want, "{code}");
        }
        assert_eq!(fault(17), Fault::Server);
    }

    /// Examples built from the spec's rule (percent-encoding of bytes outside 0x20-0x7E and of
    /// "%", over UTF-8).
    #[test]
    fn grpc_message_percent_decoding() {
        assert_eq!(decode_grpc_message("plain text, even with spaces"), "plain text, even with spaces");
        assert_eq!(decode_grpc_message("100%25 sure"), "100% sure");
        assert_eq!(decode_grpc_message("line%0Abreak%0d"), "line\nbreak\r");
        assert_eq!(decode_grpc_message("caf%C3%A9 %E2%9C%93"), "café ✓");
        // Malformed escapes stay as they are; a lone byte that is not UTF-8 becomes U+FFFD.
        assert_eq!(decode_grpc_message("50% off %zz %4"), "50% off %zz %4");
        assert_eq!(decode_grpc_message("%"), "%");
        assert_eq!(decode_grpc_message("bad %FF byte"), "bad \u{fffd} byte");
    }

    #[test]
    fn timeouts() {
        let ok = |v: &str| parse_timeout(v).expect(v);
        assert_eq!(ok("1H"), Duration::from_secs(3600));
        assert_eq!(ok("2M"), Duration::from_secs(120));
        assert_eq!(ok("30S"), Duration::from_secs(30));
        assert_eq!(ok("100m"), Duration::from_millis(100));
        assert_eq!(ok("250u"), Duration::from_micros(250));
        assert_eq!(ok("99999999n"), Duration::from_nanos(99_999_999));
        assert_eq!(ok("99999999H"), Duration::from_secs(99_999_999 * 3600));
        assert_eq!(ok(" 0m "), Duration::ZERO);
        assert_eq!(parse_timeout("123456789S"), Err(TimeoutError::TooManyDigits("123456789S".into())));
        assert_eq!(parse_timeout("10s"), Err(TimeoutError::BadUnit("10s".into())));
        assert_eq!(parse_timeout("10"), Err(TimeoutError::BadUnit("10".into())));
        assert_eq!(parse_timeout("S"), Err(TimeoutError::NoDigits("S".into())));
        assert_eq!(parse_timeout("-1S"), Err(TimeoutError::NoDigits("-1S".into())));
        assert_eq!(parse_timeout(""), Err(TimeoutError::NoDigits("".into())));
        assert_eq!(parse_timeout("1.5S"), Err(TimeoutError::NoDigits("1.5S".into())));
    }

    #[test]
    fn credential_keys() {
        for key in [
            "authorization",
            "Authorization",
            "proxy-authorization",
            "cookie",
            "set-cookie",
            "x-auth-token",
            "x-goog-iam-authorization-token",
            "x-api-key",
            "apikey",
            "client-secret",
            "db-password",
            "x-amz-security-token",
            "grpc-credential-bin",
        ] {
            assert!(is_credential_key(key), "{key}");
        }
        for key in ["content-type", "grpc-timeout", "user-agent", "x-request-id", "grpc-encoding", "te"] {
            assert!(!is_credential_key(key), "{key}");
        }
    }
}
