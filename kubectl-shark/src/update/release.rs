//! GitHub's release API as self-update reads it (`GET {base}/repos/{owner}/{repo}/releases/latest`,
//! the same on GitHub Enterprise under `https://HOST/api/v3` and on mirrors serving that JSON), and
//! the release's asset names (scripts/dist writes them).

use super::error::UpdateError;
use serde::Deserialize;

/// The fields of a release self-update uses; the rest of GitHub's JSON is ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct Release {
    pub tag_name: String,
    #[serde(default)]
    pub assets: Vec<Asset>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Asset {
    pub name: String,
    pub browser_download_url: String,
}

/// Where the latest release is described.
pub fn latest_url(api_base: &str, repository: &str) -> String {
    format!("{}/repos/{}/releases/latest", api_base.trim_end_matches('/'), repository.trim_matches('/'))
}

/// A release tag (`v1.2.3`, `1.2.3-rc.1`) as a version.
pub fn version_of(tag: &str) -> Result<semver::Version, UpdateError> {
    semver::Version::parse(tag.strip_prefix('v').unwrap_or(tag))
        .map_err(|e| UpdateError::Version { tag: tag.to_string(), message: e.to_string() })
}

/// The archive of `version` for `platform` (`linux/amd64`), as scripts/dist names it.
pub fn archive_name(version: &semver::Version, platform: &str) -> String {
    let (os, arch) = platform.split_once('/').unwrap_or((platform, ""));
    let ext = if os == "windows" { "zip" } else { "tar.gz" };
    format!("kubectl-shark_{version}_{os}_{arch}.{ext}")
}

/// The release's checksums file.
pub fn sums_name(version: &semver::Version) -> String {
    format!("kubectl-shark_{version}_sha256sums.txt")
}

impl Release {
    /// The asset called `name`.
    pub fn asset(&self, name: &str) -> Result<&Asset, UpdateError> {
        self.assets
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| UpdateError::NoAsset { tag: self.tag_name.clone(), name: name.to_string() })
    }
}

/// The sha256 (lowercase hex) that a `sha256sum` file gives for `name`.
pub fn checksum_for(sums: &str, sums_name: &str, name: &str) -> Result<String, UpdateError> {
    sums.lines()
        .filter_map(|line| {
            let (sum, file) = line.trim().split_once(char::is_whitespace)?;
            // `sha256sum` marks binary mode with `*` before the name.
            let file = file.trim_start().trim_start_matches('*');
            (file == name && sum.len() == 64 && sum.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| sum.to_ascii_lowercase())
        })
        .next()
        .ok_or_else(|| UpdateError::NoChecksum { sums: sums_name.to_string(), name: name.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_those_scripts_dist_writes() {
        let v = version_of("v1.2.3").expect("version");
        assert_eq!(archive_name(&v, "linux/amd64"), "kubectl-shark_1.2.3_linux_amd64.tar.gz");
        assert_eq!(archive_name(&v, "windows/amd64"), "kubectl-shark_1.2.3_windows_amd64.zip");
        assert_eq!(sums_name(&v), "kubectl-shark_1.2.3_sha256sums.txt");
        assert_eq!(
            latest_url("https://ghe.example.com/api/v3/", "o/r"),
            "https://ghe.example.com/api/v3/repos/o/r/releases/latest"
        );
    }

    #[test]
    fn versions_order_as_semver_and_bad_tags_are_refused() {
        assert!(version_of("v0.10.0").expect("v") > version_of("0.9.9").expect("v"));
        assert!(version_of("1.0.0").expect("v") > version_of("1.0.0-rc.1").expect("v"));
        for bad in ["latest", "v1", "", "v1.2.3.4"] {
            assert!(matches!(version_of(bad), Err(UpdateError::Version { .. })), "{bad}");
        }
    }

    #[test]
    fn the_checksum_line_of_the_archive_is_found() {
        let a = "a".repeat(64);
        let b = "B".repeat(64);
        let sums = format!("{a}  x.tar.gz\n{b} *kubectl-shark_1_linux_amd64.tar.gz\nnot a line\n");
        assert_eq!(checksum_for(&sums, "s", "x.tar.gz").expect("sum"), a);
        assert_eq!(checksum_for(&sums, "s", "kubectl-shark_1_linux_amd64.tar.gz").expect("sum"), "b".repeat(64));
        assert!(matches!(checksum_for(&sums, "s", "x.tar"), Err(UpdateError::NoChecksum { .. })));
        assert!(matches!(checksum_for("abc  y\n", "s", "y"), Err(UpdateError::NoChecksum { .. })), "short sum");
    }
}
