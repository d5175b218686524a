//! What this binary is: its version, the git commit it was built from (kubectl-shark/build.rs),
//! the platform it was built for, and the image it deploys into a cluster by default.

/// The CLI's version, without a `v`: the workspace version, unless built with `SHARK_VERSION`
/// (build.rs).
pub const VERSION: &str = env!("SHARK_VERSION");

/// The commit of the checkout it was built from (12 hex digits), or `unknown` (built outside a git
/// checkout without `SHARK_GIT_COMMIT`).
pub const COMMIT: &str = env!("SHARK_GIT_COMMIT");

/// `clap`'s `--version` text: version and commit.
pub const LONG_VERSION: &str = concat!(env!("SHARK_VERSION"), " (commit ", env!("SHARK_GIT_COMMIT"), ")");

/// The image `tap` deploys unless `--image` is given: the one of this CLI's version.
pub const DEFAULT_IMAGE: &str = concat!("ghcr.io/kubectl-shark/kubectl-shark:", env!("SHARK_VERSION"));

/// The platform in Go's (and krew's) spelling: `linux/amd64`, `darwin/arm64`, `windows/amd64`.
pub fn platform() -> String {
    format!("{}/{}", go_os(std::env::consts::OS), go_arch(std::env::consts::ARCH))
}

fn go_os(os: &str) -> &str {
    match os {
        "macos" => "darwin",
        other => other,
    }
}

fn go_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_image_is_the_repository_at_this_version() {
        assert_eq!(DEFAULT_IMAGE, format!("ghcr.io/kubectl-shark/kubectl-shark:{VERSION}"));
    }

    #[test]
    fn platforms_are_spelled_as_go_and_krew_spell_them() {
        assert_eq!(go_os("macos"), "darwin");
        assert_eq!(go_os("linux"), "linux");
        assert_eq!(go_arch("x86_64"), "amd64");
        assert_eq!(go_arch("aarch64"), "arm64");
    }

    #[test]
    fn the_commit_is_hex_or_unknown() {
        assert!(
            COMMIT == "unknown" || (COMMIT.len() == 12 && COMMIT.bytes().all(|b| b.is_ascii_hexdigit())),
            "{COMMIT}"
        );
    }
}
