//! Image references for air-gapped clusters: `--registry R` moves an image to another registry
//! (a mirror holding the same repositories), keeping its repository path and tag or digest.

/// Whether the first path component of a reference names a registry (as Docker decides: it has a
/// `.` or a `:`, or is `localhost`), rather than being part of a Docker Hub repository.
fn is_registry(component: &str) -> bool {
    component.contains('.') || component.contains(':') || component == "localhost"
}

/// `image` with its registry replaced by `registry` (which may carry a path prefix, e.g.
/// `mirror.local:5000/team`). An image without a registry (Docker Hub: `nginx:1`, `library/x`) gets
/// `registry` in front.
pub fn with_registry(image: &str, registry: &str) -> String {
    let registry = registry.trim_end_matches('/');
    let path = match image.split_once('/') {
        Some((first, rest)) if is_registry(first) => rest,
        _ => image,
    };
    format!("{registry}/{path}")
}

/// Checks a `--registry` value for clap: a host (optionally `:port`) and an optional path, no
/// scheme, no tag.
pub fn parse_registry(text: &str) -> Result<String, String> {
    let t = text.trim().trim_end_matches('/');
    let ok = !t.is_empty()
        && !t.contains("://")
        && !t.contains('@')
        && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-:/".contains(&b))
        && !t.starts_with('/');
    if ok {
        Ok(t.to_string())
    } else {
        Err(format!("{text:?} is not a registry (host[:port][/path], e.g. registry.example.com:5000/mirror)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_replaced_and_the_rest_kept() {
        let img = "ghcr.io/kubectl-shark/kubectl-shark:0.1.0";
        assert_eq!(with_registry(img, "registry.local:5000"), "registry.local:5000/kubectl-shark/kubectl-shark:0.1.0");
        assert_eq!(with_registry(img, "mirror.corp/team/"), "mirror.corp/team/kubectl-shark/kubectl-shark:0.1.0");
        assert_eq!(with_registry("localhost/x/y@sha256:abc", "r.io"), "r.io/x/y@sha256:abc");
        assert_eq!(with_registry("localhost:5000/y:1", "r.io"), "r.io/y:1");
        // Docker Hub references have no registry part: it is added.
        assert_eq!(with_registry("nginx:1.27", "r.io"), "r.io/nginx:1.27");
        assert_eq!(with_registry("library/nginx", "r.io"), "r.io/library/nginx");
    }

    #[test]
    fn registry_values_are_checked() {
        assert_eq!(parse_registry("registry.local:5000/").as_deref(), Ok("registry.local:5000"));
        for bad in ["", "https://r.io", "r.io/x:1@sha256:a", "/r", "r io"] {
            assert!(parse_registry(bad).is_err(), "{bad}");
        }
    }
}
