//! The dashboard, built by Vite into `hub-lite/dashboard/dist` (see build.rs) and embedded in the binary
//! at compile time, with the MIME type to serve each file with.

use std::borrow::Cow;

#[derive(rust_embed::Embed)]
#[folder = "dashboard/dist"]
struct Dist;

/// The embedded file at `path` (relative, with or without a leading `/`; `""` is `index.html`) and its
/// MIME type. `None` for files that do not exist, and for paths with `..` or backslashes.
pub fn get(path: &str) -> Option<(Cow<'static, [u8]>, &'static str)> {
    let path = path.trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    if path.split('/').any(|seg| seg == ".." || seg == ".") || path.contains('\\') {
        return None;
    }
    let file = Dist::get(path)?;
    Some((file.data, mime_of(path)))
}

/// Every embedded path (for tests and diagnostics).
pub fn paths() -> impl Iterator<Item = Cow<'static, str>> {
    Dist::iter()
}

/// MIME type by file extension, for the kinds of files a Vite build produces.
pub fn mime_of(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dist directory on disk is the oracle: every file there is served byte for byte.
    #[test]
    fn serves_every_file_of_the_build() {
        let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboard/dist");
        let mut seen = 0;
        for entry in walk(&dist) {
            let rel = entry.strip_prefix(&dist).expect("under dist").to_string_lossy().replace('\\', "/");
            let (data, mime) = get(&rel).unwrap_or_else(|| panic!("{rel} not embedded"));
            assert_eq!(data.as_ref(), std::fs::read(&entry).expect("read dist file").as_slice(), "{rel}");
            assert_ne!(mime, "application/octet-stream", "{rel} has no specific MIME type");
            seen += 1;
        }
        assert!(seen >= 3, "index.html, a script and a stylesheet expected, found {seen}");
        assert_eq!(paths().count(), seen);
    }

    #[test]
    fn root_is_the_index_and_refers_to_embedded_assets() {
        let (index, mime) = get("").expect("index");
        assert_eq!(mime, "text/html; charset=utf-8");
        assert_eq!(get("/index.html").expect("index").0, index);
        let html = String::from_utf8_lossy(&index);
        let refs: Vec<&str> =
            html.split(['"', '\'']).filter(|s| s.starts_with("./assets/") || s.starts_with("/assets/")).collect();
        assert!(refs.len() >= 2, "script and stylesheet references in {html}");
        for r in refs {
            assert!(get(r.trim_start_matches('.')).is_some(), "{r} referenced but not embedded");
        }
        // Works offline: nothing is loaded from another origin.
        assert!(!html.contains("http://") && !html.contains("https://"), "external reference in {html}");
    }

    #[test]
    fn refuses_traversal_and_unknown_paths() {
        assert!(get("../Cargo.toml").is_none());
        assert!(get("assets/../index.html").is_none());
        assert!(get("./index.html").is_none());
        assert!(get("assets\\x.js").is_none());
        assert!(get("no-such-file.js").is_none());
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).expect("dist exists").flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
        out
    }
}
