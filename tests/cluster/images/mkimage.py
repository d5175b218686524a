#!/usr/bin/env python3
"""Write a single-layer container image as a docker-archive tarball, without Docker.

The archive is what `docker save` writes (manifest.json + config + layer tar), so
`ctr images import`, `docker load` and `podman load` all take it. The output is
byte-for-byte reproducible for the same inputs (fixed mtimes, owners, order), so
the caller can key caches on it.

Example:
  mkimage.py --out img.tar --ref ghcr.io/x/y:1.0 \\
      --add target/release/node-agent:/usr/local/bin/node-agent --with-libs \\
      --cmd '["/usr/local/bin/node-agent"]'

--add SRC:DEST     copy a file (mode kept; symlinks followed)
--tree SRC:DEST    copy a directory tree: its files (mode kept), directories and relative
                   symlinks that stay inside it (other symlinks are followed and copied)
--exclude GLOB     leave out what --tree would add whose source path matches GLOB
                   (fnmatch, `*` also matches `/`; repeatable)
--symlink DEST=TO  add a symlink
--mkdir DEST[:MODE] add a directory (parents are added as needed anyway)
--text DEST=CONTENT add a small file with this content (mode 0644)
--with-libs        for every ELF file added (by --add or --tree), also add its dynamic loader and the
                   shared libraries `ldd` resolves, at the same paths as on this machine
--strip            strip debug info from ELF files (objcopy --strip-debug)
"""
import argparse
import fnmatch
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile

EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))


def is_elf(path):
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


def ldd_deps(path):
    """Paths of the loader and libraries that `path` needs (empty for static binaries)."""
    out = subprocess.run(["ldd", path], capture_output=True, text=True)
    text = out.stdout + out.stderr
    if "not a dynamic executable" in text or "statically linked" in text:
        return []
    if out.returncode != 0:
        sys.exit(f"mkimage: ldd {path} failed: {text.strip()}")
    deps = []
    for line in text.splitlines():
        line = line.strip()
        if "not found" in line:
            sys.exit(f"mkimage: {path}: missing library: {line}")
        m = re.match(r"\S+ => (/\S+) \(0x", line) or re.match(r"(/\S+) \(0x", line)
        if m:
            deps.append(m.group(1))
    return deps


class Layer:
    def __init__(self, strip):
        self.entries = {}  # path (no leading /) -> (kind, payload, mode)
        self.strip = strip
        self.tmp = tempfile.TemporaryDirectory()

    def _parents(self, path):
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d and d not in self.entries:
                self.entries[d] = ("dir", None, 0o755)

    def add_dir(self, dest, mode=0o755):
        p = dest.strip("/")
        self._parents(p + "/x")
        self.entries[p] = ("dir", None, mode)

    def add_file(self, src, dest):
        p = dest.strip("/")
        real = os.path.realpath(src)
        if not os.path.isfile(real):
            sys.exit(f"mkimage: not a file: {src}")
        mode = os.stat(real).st_mode & 0o7777
        if self.strip and is_elf(real):
            stripped = os.path.join(self.tmp.name, hashlib.sha256(p.encode()).hexdigest())
            subprocess.run(["objcopy", "--strip-debug", real, stripped], check=True)
            real = stripped
        self._parents(p)
        self.entries[p] = ("file", real, mode)

    def add_tree(self, src, dest, excludes):
        """Adds the tree under src at dest; returns the source paths of the files it added."""
        src = os.path.realpath(src)
        if not os.path.isdir(src):
            sys.exit(f"mkimage: not a directory: {src}")
        added = []
        self.add_dir(dest, os.stat(src).st_mode & 0o7777)
        for dirpath, dirnames, filenames in os.walk(src):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, src)
            for name in sorted(dirnames) + sorted(filenames):
                path = os.path.join(dirpath, name)
                if any(fnmatch.fnmatch(path, g) for g in excludes):
                    if name in dirnames:
                        dirnames.remove(name)
                    continue
                target = os.path.normpath(os.path.join(dest, rel_dir, name))
                if os.path.islink(path):
                    link = os.readlink(path)
                    inside = os.path.realpath(path).startswith(src + os.sep)
                    if not os.path.isabs(link) and inside:
                        self.add_symlink(target, link)
                        continue
                    if os.path.isdir(path):
                        sys.exit(f"mkimage: {path}: a symlink to a directory outside the tree")
                if name in dirnames:
                    self.add_dir(target, os.stat(path).st_mode & 0o7777)
                else:
                    self.add_file(path, target)
                    added.append(path)
        return added

    def add_text(self, dest, content, mode=0o644):
        p = dest.strip("/")
        self._parents(p)
        self.entries[p] = ("text", content.encode(), mode)

    def add_symlink(self, dest, target):
        p = dest.strip("/")
        self._parents(p)
        self.entries[p] = ("link", target, 0o777)

    def write(self, fileobj):
        with tarfile.open(fileobj=fileobj, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path in sorted(self.entries):
                kind, payload, mode = self.entries[path]
                info = tarfile.TarInfo(path)
                info.mtime, info.uid, info.gid, info.uname, info.gname = EPOCH, 0, 0, "root", "root"
                info.mode = mode
                if kind == "dir":
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                elif kind == "link":
                    info.type, info.linkname = tarfile.SYMTYPE, payload
                    tar.addfile(info)
                elif kind == "text":
                    info.size = len(payload)
                    tar.addfile(info, io.BytesIO(payload))
                else:
                    info.size = os.path.getsize(payload)
                    with open(payload, "rb") as f:
                        tar.addfile(info, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--ref", action="append", required=True, help="image name:tag (repeatable)")
    ap.add_argument("--add", action="append", default=[], metavar="SRC:DEST")
    ap.add_argument("--tree", action="append", default=[], metavar="SRC:DEST")
    ap.add_argument("--exclude", action="append", default=[], metavar="GLOB")
    ap.add_argument("--symlink", action="append", default=[], metavar="DEST=TARGET")
    ap.add_argument("--mkdir", action="append", default=[], metavar="DEST[:MODE]")
    ap.add_argument("--text", action="append", default=[], metavar="DEST=CONTENT")
    ap.add_argument("--with-libs", action="store_true")
    ap.add_argument("--strip", action="store_true")
    ap.add_argument("--entrypoint", help="JSON list")
    ap.add_argument("--cmd", help="JSON list")
    ap.add_argument("--env", action="append", default=[], metavar="K=V")
    ap.add_argument("--workdir", default="/")
    ap.add_argument("--user", default="")
    ap.add_argument("--label", action="append", default=[], metavar="K=V")
    a = ap.parse_args()

    layer = Layer(a.strip)
    for spec in a.mkdir:
        dest, _, mode = spec.partition(":")
        layer.add_dir(dest, int(mode, 8) if mode else 0o755)
    elves = []
    for spec in a.add:
        src, sep, dest = spec.rpartition(":")
        if not sep:
            sys.exit(f"mkimage: --add wants SRC:DEST, got {spec}")
        layer.add_file(src, dest)
        if is_elf(os.path.realpath(src)):
            elves.append(src)
    for spec in a.tree:
        src, sep, dest = spec.rpartition(":")
        if not sep:
            sys.exit(f"mkimage: --tree wants SRC:DEST, got {spec}")
        elves += [f for f in layer.add_tree(src, dest, a.exclude) if is_elf(os.path.realpath(f))]
    if a.with_libs:
        for src in elves:
            for dep in ldd_deps(src):
                if dep.strip("/") not in layer.entries:
                    layer.add_file(dep, dep)
    for spec in a.symlink:
        dest, _, target = spec.partition("=")
        layer.add_symlink(dest, target)
    for spec in a.text:
        dest, _, content = spec.partition("=")
        layer.add_text(dest, content.replace("\\n", "\n"))

    layer_buf = io.BytesIO()
    layer.write(layer_buf)
    layer_bytes = layer_buf.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()

    env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] + a.env
    cfg = {"Env": env, "WorkingDir": a.workdir, "Labels": dict(l.split("=", 1) for l in a.label) or None}
    if a.user:
        cfg["User"] = a.user
    if a.entrypoint:
        cfg["Entrypoint"] = json.loads(a.entrypoint)
    if a.cmd:
        cfg["Cmd"] = json.loads(a.cmd)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {k: v for k, v in cfg.items() if v is not None},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "tests/cluster/images/mkimage.py"}],
    }
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    config_hex = hashlib.sha256(config_bytes).hexdigest()
    layer_dir = diff_id.split(":")[1]
    manifest = [{"Config": f"{config_hex}.json", "RepoTags": a.ref, "Layers": [f"{layer_dir}/layer.tar"]}]
    repositories = {}
    for ref in a.ref:
        name, _, tag = ref.rpartition(":")
        repositories.setdefault(name, {})[tag] = layer_dir

    def put(tar, name, data, mode=0o644, isdir=False):
        info = tarfile.TarInfo(name)
        info.mtime, info.mode = EPOCH, mode
        if isdir:
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        else:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

    tmp_out = a.out + ".tmp"
    with tarfile.open(tmp_out, "w", format=tarfile.PAX_FORMAT) as tar:
        put(tar, layer_dir, None, 0o755, isdir=True)
        put(tar, f"{layer_dir}/VERSION", b"1.0")
        put(tar, f"{layer_dir}/json", json.dumps({"id": layer_dir}).encode())
        put(tar, f"{layer_dir}/layer.tar", layer_bytes)
        put(tar, f"{config_hex}.json", config_bytes)
        put(tar, "manifest.json", json.dumps(manifest, separators=(",", ":")).encode())
        put(tar, "repositories", json.dumps(repositories, separators=(",", ":")).encode())
    os.replace(tmp_out, a.out)
    files = sum(1 for k in layer.entries.values() if k[0] == "file")
    print(f"mkimage: wrote {a.out}: {', '.join(a.ref)} ({files} files, layer {len(layer_bytes) // 1024} KiB, "
          f"config sha256:{config_hex[:12]})", file=sys.stderr)


if __name__ == "__main__":
    main()
