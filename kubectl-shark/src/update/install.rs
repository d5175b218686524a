//! The local side of self-update: is this binary krew's, checking the download's sha256, taking the
//! binary out of the release archive, and replacing the running binary atomically (a new file next
//! to it, checked to run, then renamed over it).

use super::error::UpdateError;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Most bytes the binary in an archive may have (a bound against a hostile archive).
const MAX_BINARY: u64 = 512 << 20;

/// Whether `exe` lives in a krew installation: under `$KREW_ROOT/store/` or under any
/// `.krew/store/` (krew's default root), where `kubectl krew upgrade` owns it.
pub fn installed_by_krew(exe: &Path, krew_root: Option<&Path>) -> bool {
    if let Some(root) = krew_root {
        let store = root.join("store");
        let store = store.canonicalize().unwrap_or(store);
        if exe.starts_with(&store) {
            return true;
        }
    }
    let parts: Vec<Component> = exe.components().collect();
    parts.windows(2).any(|w| w[0].as_os_str() == ".krew" && w[1].as_os_str() == "store")
}

/// The sha256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The file `bin` (at the archive's top, `./` allowed) out of a `.tar.gz` release archive.
pub fn binary_from_archive(archive: &[u8], archive_name: &str, bin: &str) -> Result<Vec<u8>, UpdateError> {
    let bad = |message: String| UpdateError::Archive { name: archive_name.to_string(), message };
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    for entry in tar.entries().map_err(|e| bad(e.to_string()))? {
        let entry = entry.map_err(|e| bad(e.to_string()))?;
        let path = entry.path().map_err(|e| bad(e.to_string()))?.into_owned();
        let name = path.strip_prefix(".").unwrap_or(&path);
        if name != Path::new(bin) || !entry.header().entry_type().is_file() {
            continue;
        }
        let mut out = Vec::new();
        entry.take(MAX_BINARY + 1).read_to_end(&mut out).map_err(|e| bad(e.to_string()))?;
        if out.len() as u64 > MAX_BINARY {
            return Err(bad(format!("{bin} is larger than {MAX_BINARY} bytes")));
        }
        return Ok(out);
    }
    Err(bad(format!("no {bin} in it")))
}

/// Replaces `exe` by `new`: written beside it (same directory, so the rename stays on one file
/// system), made executable, run with `version --client -o json` (it must say `version`), then
/// renamed over `exe`. On any failure the temporary file is removed and `exe` is untouched.
pub fn replace(exe: &Path, new: &[u8], version: &str) -> Result<(), UpdateError> {
    let dir = exe.parent().ok_or_else(|| UpdateError::Io {
        what: "finding the directory of",
        path: exe.to_path_buf(),
        source: std::io::Error::other("no parent directory"),
    })?;
    let temp = dir.join(format!(".kubectl-shark.update-{}", std::process::id()));
    let result = write_check_rename(exe, &temp, new, version);
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

fn write_check_rename(exe: &Path, temp: &Path, new: &[u8], version: &str) -> Result<(), UpdateError> {
    let io = |what: &'static str, path: &Path| {
        let path: PathBuf = path.to_path_buf();
        move |source| UpdateError::Io { what, path, source }
    };
    {
        use std::io::Write;
        let mut f =
            std::fs::OpenOptions::new().write(true).create_new(true).open(temp).map_err(io("creating", temp))?;
        f.write_all(new).map_err(io("writing", temp))?;
        f.sync_all().map_err(io("syncing", temp))?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(exe).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o755) | 0o111;
        std::fs::set_permissions(temp, std::fs::Permissions::from_mode(mode)).map_err(io("making executable", temp))?;
    }
    let out = std::process::Command::new(temp)
        .args(["version", "--client", "-o", "json"])
        .output()
        .map_err(|e| UpdateError::Broken { message: e.to_string() })?;
    let said = serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .ok()
        .and_then(|v| v["client"]["version"].as_str().map(String::from));
    if said.as_deref() != Some(version) {
        return Err(UpdateError::Broken {
            message: format!(
                "`version --client` said {said:?}, expected {version:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    std::fs::rename(temp, exe).map_err(io("replacing", exe))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn krew_installs_are_recognised_by_root_and_by_layout() {
        let krew_root = Path::new("/opt/krew");
        assert!(installed_by_krew(Path::new("/opt/krew/store/shark/v1.0.0/kubectl-shark"), Some(krew_root)));
        assert!(installed_by_krew(Path::new("/home/u/.krew/store/shark/v1.0.0/kubectl-shark"), None));
        assert!(!installed_by_krew(Path::new("/usr/local/bin/kubectl-shark"), Some(krew_root)));
        assert!(!installed_by_krew(Path::new("/home/u/.krew-not/store/kubectl-shark"), None));
    }

    #[test]
    fn sha256_of_known_input() {
        // FIPS 180-2, appendix B.1.
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    fn targz(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        for (name, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o755);
            header.set_cksum();
            builder.append_data(&mut header, name, *data).expect("append");
        }
        builder.into_inner().expect("tar").finish().expect("gzip")
    }

    #[test]
    fn the_binary_comes_out_of_the_archive_and_nothing_else_does() {
        let archive = targz(&[("LICENSE", b"license"), ("kubectl-shark", b"\x7fELF binary")]);
        assert_eq!(binary_from_archive(&archive, "a.tar.gz", "kubectl-shark").expect("binary"), b"\x7fELF binary");
        let without = targz(&[("README.md", b"readme"), ("sub/kubectl-shark", b"nested")]);
        assert!(matches!(binary_from_archive(&without, "a", "kubectl-shark"), Err(UpdateError::Archive { .. })));
        assert!(matches!(
            binary_from_archive(b"not gzip at all", "a", "kubectl-shark"),
            Err(UpdateError::Archive { .. })
        ));
        let truncated = &archive[..archive.len() / 2];
        assert!(binary_from_archive(truncated, "a", "kubectl-shark").is_err());
    }

    #[test]
    fn a_new_binary_that_does_not_run_leaves_the_old_one_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let exe = dir.path().join("kubectl-shark");
        std::fs::write(&exe, b"#!/bin/sh\necho old\n").expect("write");
        let err = replace(&exe, b"#!/bin/sh\nexit 3\n", "9.9.9").expect_err("refused");
        assert!(matches!(err, UpdateError::Broken { .. }), "{err}");
        assert_eq!(std::fs::read(&exe).expect("read"), b"#!/bin/sh\necho old\n");
        let left: Vec<_> =
            std::fs::read_dir(dir.path()).expect("dir").filter_map(Result::ok).map(|e| e.file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("kubectl-shark")], "no temporary file left");
    }

    #[test]
    fn a_new_binary_saying_the_expected_version_replaces_the_old_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let exe = dir.path().join("kubectl-shark");
        std::fs::write(&exe, b"#!/bin/sh\necho old\n").expect("write");
        let new = b"#!/bin/sh\necho '{\"client\":{\"version\":\"9.9.9\"}}'\n";
        replace(&exe, new, "9.9.9").expect("replaced");
        assert_eq!(std::fs::read(&exe).expect("read"), new);
        let left = std::fs::read_dir(dir.path()).expect("dir").count();
        assert_eq!(left, 1);
    }
}
