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
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(exe).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o755) | 0o111;
        unix_writer::write_new_file(temp, new, mode).map_err(io("writing (in a child process)", temp))?;
    }
    #[cfg(not(unix))]
    {
        use std::io::Write;
        let mut f =
            std::fs::OpenOptions::new().write(true).create_new(true).open(temp).map_err(io("creating", temp))?;
        f.write_all(new).map_err(io("writing", temp))?;
        f.sync_all().map_err(io("syncing", temp))?;
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

/// Writing a file that this process is about to execute, without "Text file busy".
///
/// Linux refuses to execute a file while any open file description of it is writable (ETXTBSY).
/// A descriptor opened here is close-on-exec, but when any other thread forks while it is open the
/// child gets a copy, and keeps it until the child itself calls exec (or exits); closing ours
/// does not end that. So write-close-exec fails at random whenever another thread starts a
/// process at the wrong moment (the other thread may be a library's or, in tests, another test's).
/// Neither fix on this side of the fork holds: O_CLOEXEC is what already fails; a retry only
/// shortens the odds; waiting on an flock of the description (the fix proposed in Go's issue 22315
/// and Rust's 114554) wakes up when the last copy releases the lock, which the kernel does in
/// `__fput` before it drops the write count (`put_file_access`), so an exec right after the wait can
/// still lose. A hard link or a rename keeps the inode, and a copy needs a writable descriptor of its
/// own.
///
/// So the writable description never exists in this process: a forked child opens the new file,
/// writes it, sets its mode, syncs it, closes it and exits, and this process waits for it. That child
/// starts no process, and once `waitpid` has returned the file is closed: an exiting process closes
/// its files (`exit_files`, then `exit_task_work` runs the final `__fput`) before its parent is told
/// (`exit_notify`).
#[cfg(unix)]
mod unix_writer {
    use std::ffi::{CStr, CString};
    use std::io;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    /// Creates `path` (it must not exist yet) with `bytes` and permission bits `mode`, in a child
    /// process. An error carries the child's errno.
    pub(super) fn write_new_file(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
        let c_path = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in the path"))?;
        let mode = mode as libc::mode_t;
        // SAFETY: fork() in a multi-threaded process leaves the child with only this thread and
        // locks possibly held forever; the child therefore only runs `write_and_exit`, which makes
        // async-signal-safe calls (open, write, fchmod, fsync, close, _exit) on memory prepared
        // before the fork, allocates nothing and never returns.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        if pid == 0 {
            write_and_exit(&c_path, bytes, mode);
        }
        let mut status: libc::c_int = 0;
        loop {
            // SAFETY: `status` is a valid out-pointer; `pid` is our own child.
            let r = unsafe { libc::waitpid(pid, &mut status, 0) };
            if r == pid {
                break;
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        if libc::WIFEXITED(status) {
            match libc::WEXITSTATUS(status) {
                0 => Ok(()),
                errno => Err(io::Error::from_raw_os_error(errno)),
            }
        } else {
            Err(io::Error::other(format!("the writer process ended with wait status {status:#x}")))
        }
    }

    /// The forked child's whole life: only async-signal-safe calls, then exit status 0 or the
    /// failing call's errno. It never returns, so it must only ever run in that child.
    fn write_and_exit(path: &CStr, bytes: &[u8], mode: libc::mode_t) -> ! {
        fn fail() -> ! {
            // last_os_error() reads errno and allocates nothing.
            let errno = io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO).clamp(1, 255);
            // SAFETY: _exit is async-signal-safe and skips this process's exit handlers.
            unsafe { libc::_exit(errno) }
        }
        // SAFETY: `path` is NUL-terminated; the flags and mode are plain integers.
        let fd = unsafe {
            libc::open(
                path.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
                libc::c_uint::from(mode),
            )
        };
        if fd < 0 {
            fail();
        }
        let mut rest = bytes;
        while !rest.is_empty() {
            // SAFETY: `rest` is a live slice of `rest.len()` bytes.
            let n = unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) };
            match usize::try_from(n) {
                Ok(written) if written > 0 => rest = rest.get(written..).unwrap_or_default(),
                _ if n < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) => {}
                // SAFETY: as in `fail`; a write of nothing to a regular file would loop forever.
                Ok(_) => unsafe { libc::_exit(libc::EIO) },
                Err(_) => fail(),
            }
        }
        // SAFETY: `fd` is the descriptor opened above; fchmod sets the exact bits, whatever the umask.
        if unsafe { libc::fchmod(fd, mode) } != 0 || unsafe { libc::fsync(fd) } != 0 || unsafe { libc::close(fd) } != 0
        {
            fail();
        }
        // SAFETY: as in `fail`.
        unsafe { libc::_exit(0) }
    }
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

    #[cfg(unix)]
    #[test]
    fn the_writer_process_writes_every_byte_sets_the_exact_mode_and_reports_errno() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("new");
        let bytes: Vec<u8> = (0..=255u8).cycle().take(3 << 20).collect();
        unix_writer::write_new_file(&path, &bytes, 0o777).expect("written");
        assert_eq!(std::fs::read(&path).expect("read"), bytes);
        // the mode is set with fchmod, so the umask (022 for most) does not take bits away
        assert_eq!(std::fs::metadata(&path).expect("metadata").permissions().mode() & 0o7777, 0o777);
        let exists = unix_writer::write_new_file(&path, b"x", 0o755).expect_err("exists");
        assert_eq!(exists.kind(), std::io::ErrorKind::AlreadyExists, "{exists}");
        assert_eq!(std::fs::read(&path).expect("read").len(), bytes.len(), "an existing file is left alone");
        let missing = unix_writer::write_new_file(&dir.path().join("no/such/dir"), b"x", 0o755).expect_err("no dir");
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound, "{missing}");
    }

    /// `replace` while other threads keep starting processes. Each child starts as a copy of this
    /// process's descriptors and keeps them until its own exec; a child that copied a writable
    /// descriptor of the new file and is slow to reach exec (the `pre_exec` pause stands for a loaded
    /// machine) makes the new file unexecutable ("Text file busy", ETXTBSY) until it gets there.
    #[cfg(unix)]
    #[test]
    fn replacing_while_other_threads_start_processes_is_never_busy() {
        use std::os::unix::process::CommandExt;
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        const ROUNDS: usize = 150;
        let stop = Arc::new(AtomicBool::new(false));
        let spawners: Vec<_> = (0..3)
            .map(|_| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    let mut spawned = 0u32;
                    while !stop.load(Ordering::Relaxed) {
                        let mut cmd = std::process::Command::new("/bin/true");
                        // SAFETY: usleep is async-signal-safe; the closure touches nothing else.
                        unsafe {
                            cmd.pre_exec(|| {
                                libc::usleep(2_000);
                                Ok(())
                            });
                        }
                        if cmd.status().is_ok() {
                            spawned += 1;
                        }
                    }
                    spawned
                })
            })
            .collect();
        let dir = tempfile::tempdir().expect("tempdir");
        let new = b"#!/bin/sh\necho '{\"client\":{\"version\":\"9.9.9\"}}'\n";
        let mut failures = Vec::new();
        for round in 0..ROUNDS {
            let exe = dir.path().join(format!("kubectl-shark-{round}"));
            std::fs::write(&exe, b"#!/bin/sh\necho old\n").expect("write");
            if let Err(e) = replace(&exe, new, "9.9.9") {
                failures.push(e.to_string());
            }
        }
        stop.store(true, Ordering::Relaxed);
        let spawned: u32 = spawners.into_iter().map(|t| t.join().expect("spawner")).sum();
        assert!(spawned > 0, "the other threads started no process");
        assert!(
            failures.is_empty(),
            "{} of {ROUNDS} replacements failed while other threads started {spawned} processes, e.g. {:?}",
            failures.len(),
            failures.first()
        );
    }
}
