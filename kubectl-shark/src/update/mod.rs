//! `kubectl shark self-update`: replaces this binary by the latest release's, from GitHub's release
//! API (or GitHub Enterprise / a mirror serving the same JSON: `--base-url`), after checking the
//! archive's sha256 against the release's checksums file. Refuses when krew installed the binary.

pub mod error;
pub mod http;
pub mod install;
pub mod release;

use crate::build_info;
use error::UpdateError;
use std::path::PathBuf;

/// Most bytes of the API answer, the checksums file and the archive.
const MAX_JSON: u64 = 8 << 20;
const MAX_SUMS: u64 = 1 << 20;
const MAX_ARCHIVE: u64 = 512 << 20;

/// What to do.
pub struct Request {
    pub api_base: String,
    pub repository: String,
    pub check_only: bool,
    /// The binary to replace (the running one).
    pub exe: PathBuf,
    pub krew_root: Option<PathBuf>,
    pub token: Option<String>,
}

/// What happened.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    UpToDate { latest: String },
    Available { latest: String },
    Updated { from: String, to: String },
}

pub async fn run(req: &Request) -> Result<Outcome, UpdateError> {
    if install::installed_by_krew(&req.exe, req.krew_root.as_deref()) {
        return Err(UpdateError::Krew { path: req.exe.clone() });
    }
    let http = http::Http::new(&req.api_base, req.token.clone())?;
    let url = release::latest_url(&req.api_base, &req.repository);
    let body = http.get(&url, "application/vnd.github+json", MAX_JSON).await?;
    let latest: release::Release = serde_json::from_slice(&body).map_err(|source| UpdateError::Json { url, source })?;
    let latest_version = release::version_of(&latest.tag_name)?;
    let current = release::version_of(build_info::VERSION)?;
    if latest_version <= current {
        return Ok(Outcome::UpToDate { latest: latest_version.to_string() });
    }
    if req.check_only {
        return Ok(Outcome::Available { latest: latest_version.to_string() });
    }
    let archive_name = release::archive_name(&latest_version, &build_info::platform());
    let sums_name = release::sums_name(&latest_version);
    let archive_asset = latest.asset(&archive_name)?;
    let sums_asset = latest.asset(&sums_name)?;
    let sums = http.get(&sums_asset.browser_download_url, "application/octet-stream", MAX_SUMS).await?;
    let expected = release::checksum_for(&String::from_utf8_lossy(&sums), &sums_name, &archive_name)?;
    let archive = http.get(&archive_asset.browser_download_url, "application/octet-stream", MAX_ARCHIVE).await?;
    let actual = install::sha256_hex(&archive);
    if actual != expected {
        return Err(UpdateError::ChecksumMismatch { name: archive_name, sums: sums_name, expected, actual });
    }
    let bin = if cfg!(windows) { "kubectl-shark.exe" } else { "kubectl-shark" };
    let binary = install::binary_from_archive(&archive, &archive_name, bin)?;
    install::replace(&req.exe, &binary, &latest_version.to_string())?;
    Ok(Outcome::Updated { from: current.to_string(), to: latest_version.to_string() })
}
