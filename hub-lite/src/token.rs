//! Session tokens: generating a random one, reading one from a file, and comparing a presented token
//! with the session's in constant time.

use base64::Engine as _;
use std::path::{Path, PathBuf};

/// Bytes of randomness in a generated token (encoded as 43 base64url characters).
pub const TOKEN_BYTES: usize = 32;
/// Longest token accepted from a file; longer files are not tokens.
pub const MAX_TOKEN_LEN: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("no randomness from the operating system for the session token: {0}")]
    Random(getrandom::Error),
    #[error("reading the token file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the token file {path} {problem}")]
    Invalid { path: PathBuf, problem: &'static str },
}

/// A fresh random token: 32 bytes from the OS, base64url without padding.
pub fn generate() -> Result<String, TokenError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(TokenError::Random)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Reads a token from a file (e.g. a mounted Kubernetes Secret): the content without surrounding
/// whitespace. It must be non-empty, at most [`MAX_TOKEN_LEN`] bytes and printable ASCII, because it
/// travels in URLs, cookies and headers.
pub fn read_file(path: &Path) -> Result<String, TokenError> {
    let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read { path: path.into(), source })?;
    let token = text.trim();
    let invalid = |problem| TokenError::Invalid { path: path.into(), problem };
    if token.is_empty() {
        return Err(invalid("is empty"));
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(invalid("holds more than 1024 bytes"));
    }
    if !is_token_text(token) {
        return Err(invalid("holds characters other than printable ASCII without spaces, ';' or ','"));
    }
    Ok(token.to_string())
}

/// Whether `s` can be used as a token: printable ASCII without space, `;`, `,` or `"` (so it fits in
/// a cookie and a header unquoted).
pub fn is_token_text(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'"'))
}

/// Compares `presented` with `expected` in time that depends only on their lengths, not on where
/// they differ.
pub fn constant_time_eq(presented: &[u8], expected: &[u8]) -> bool {
    let mut diff = u8::from(presented.len() != expected.len());
    for (i, &e) in expected.iter().enumerate() {
        // A shorter presented token is compared against zeros: same work, and it already differs.
        let p = presented.get(i).copied().unwrap_or(0);
        diff |= p ^ e;
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_43_base64url_chars_and_differ() {
        let a = generate().expect("token");
        let b = generate().expect("token");
        assert_eq!(a.len(), 43);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'), "{a}");
        assert!(is_token_text(&a));
        assert_ne!(a, b);
        let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&a).expect("base64url");
        assert_eq!(decoded.len(), TOKEN_BYTES);
    }

    #[test]
    fn comparison_is_exact() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abd", b"abc"));
        assert!(!constant_time_eq(b"ab", b"abc"));
        assert!(!constant_time_eq(b"abcd", b"abc"));
        assert!(!constant_time_eq(b"", b"abc"));
        assert!(!constant_time_eq(b"ab\0", b"ab"));
    }

    #[test]
    fn token_files_are_trimmed_and_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let good = dir.path().join("good");
        std::fs::write(&good, "  s3cr3t-token\n").expect("write");
        assert_eq!(read_file(&good).expect("valid"), "s3cr3t-token");
        for (name, content) in [("empty", "\n"), ("space", "a b"), ("semi", "a;b"), ("long", &"x".repeat(2000))] {
            let p = dir.path().join(name);
            std::fs::write(&p, content).expect("write");
            assert!(matches!(read_file(&p), Err(TokenError::Invalid { .. })), "{name}");
        }
        assert!(matches!(read_file(&dir.path().join("missing")), Err(TokenError::Read { .. })));
    }
}
