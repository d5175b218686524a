#!/usr/bin/env bash
# Builds the cluster's images as archives and imports them into containerd's
# k8s.io namespace (no registry, no Docker):
#   registry.k8s.io/pause:3.10          pod sandbox (our own pause, Go, static)
#   kubectl-shark.test/testbox:1        busybox-static + testkit (test workloads and probes)
#   kubectl-shark.test/redis:1          Debian's redis-server + redis-cli (+ busybox): tap/run's Redis pair
#   kubectl-shark.test/postgres:1       Debian's PostgreSQL 15 server binaries, psql (+ busybox):
#                                       tap/run's PostgreSQL pair
#   ghcr.io/kubectl-shark/kubectl-shark:<workspace version>
#                                       node-agent (+ hub-lite when the workspace has that binary),
#                                       built from the current checkout, or taken from
#                                       $KUBECTL_SHARK_PROJECT_BIN_DIR when set (prebuilt release
#                                       binaries: no cargo build)
# Usage: lib/images.sh [all|base|workloads|project]   (default all)
# Archives are cached in ~/.cache/kubectl-shark/images keyed by content, and an
# image is imported again only when its archive changed.
set -euo pipefail
. "$(dirname "$0")/common.sh"

what=${1:-all}
cache=${KUBECTL_SHARK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-shark}/images
mkdir -p "$cache" "$STATE/images"
mkimage=$CLUSTER_DIR/images/mkimage.py

# import_archive NAME ARCHIVE REF: import unless this very archive is already in
# (same archive as last time, and REF still points at what that import made).
image_digest() { ctrk images ls "name==$1" 2>/dev/null | awk 'NR == 2 {print $3}'; }
import_archive() {
  local name=$1 archive=$2 ref=$3 sum
  sum=$(sha256sum "$archive" | cut -d' ' -f1)
  if [ "$(cat "$STATE/images/$name.imported" 2>/dev/null)" = "$sum $(image_digest "$ref")" ]; then
    log "image $ref: up to date"
    return 0
  fi
  "$CLUSTER_DIR/load-image" "$archive" >&2
  echo "$sum $(image_digest "$ref")" > "$STATE/images/$name.imported"
}

# --- pause + testbox ---------------------------------------------------------
build_base() {
  local tools_src key tools bb
  tools_src=$CLUSTER_DIR/images/tools
  key=$( (cd "$tools_src" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) | sort | xargs cat; go version; cat "$mkimage") | sha256sum | cut -c1-16)
  tools=$cache/tools-$key
  if [ ! -x "$tools/testkit" ] || [ ! -x "$tools/pause" ]; then
    log "building pause and testkit (Go, static)"
    rm -rf "$tools.tmp"; mkdir -p "$tools.tmp"
    (cd "$tools_src" && CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false" nice -n 10 go build -ldflags="-s -w" -o "$tools.tmp/" ./pause ./testkit)
    rm -rf "$tools"; mv "$tools.tmp" "$tools"
  fi

  if [ ! -f "$cache/pause-$key.tar" ]; then
    python3 "$mkimage" --out "$cache/pause-$key.tar" --ref "$PAUSE_IMAGE" \
      --add "$tools/pause:/pause" --entrypoint '["/pause"]' --user 65535:65535
  fi
  import_archive pause "$cache/pause-$key.tar" "$PAUSE_IMAGE"

  bb=/bin/busybox
  [ -x "$bb" ] || die "busybox-static is not installed (/bin/busybox)"
  local tbkey; tbkey=$( (echo "$key"; sha256sum "$bb") | sha256sum | cut -c1-16)
  if [ ! -f "$cache/testbox-$tbkey.tar" ]; then
    local args=(--out "$cache/testbox-$tbkey.tar" --ref "$TESTBOX_IMAGE"
      --add "$bb:/bin/busybox" --add "$tools/testkit:/usr/local/bin/testkit"
      --mkdir /tmp:1777 --mkdir /root:700
      --text "/etc/passwd=root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
      --text "/etc/group=root:x:0:\nnogroup:x:65534:\n"
      --cmd '["/bin/sh"]')
    local applet
    for applet in $("$bb" --list); do
      [ "$applet" = busybox ] || args+=(--symlink "/bin/$applet=busybox")
    done
    python3 "$mkimage" "${args[@]}"
  fi
  import_archive testbox "$cache/testbox-$tbkey.tar" "$TESTBOX_IMAGE"
}

# --- real servers for the protocol workloads (lib/workloads.sh) -------------
# Made from this machine's Debian packages, at the same paths (with their loader and libraries), plus
# busybox for the shell the pods' loops run in. Both run as a non-root user (PostgreSQL refuses root).
busybox_args() {
  local bb=/bin/busybox applet
  [ -x "$bb" ] || die "busybox-static is not installed (/bin/busybox)"
  echo "--add=$bb:/bin/busybox"
  for applet in $("$bb" --list); do
    [ "$applet" = busybox ] || echo "--symlink=/bin/$applet=busybox"
  done
}

# build_server NAME REF KEY-INPUT-FILES... -- MKIMAGE-ARGS...: the archive is keyed by the content of
# the listed files (the packages' binaries and data, busybox, mkimage.py) and MKIMAGE-ARGS.
build_server() {
  local name=$1 ref=$2 files=() key archive
  shift 2
  while [ "$1" != -- ]; do files+=("$1"); shift; done
  shift
  # dpkg-query: the libraries --with-libs copies come from packages; an upgrade rebuilds.
  key=$( (printf '%s\n' "$ref" "$@"; dpkg-query -W -f '${Package}=${Version}\n'; find -L "${files[@]}" /bin/busybox "$mkimage" -type f -print0 | sort -z | xargs -0 sha256sum) |
    sha256sum | cut -c1-16)
  archive=$cache/$name-$key.tar
  if [ ! -f "$archive" ]; then
    log "building $ref"
    local bbargs; mapfile -t bbargs < <(busybox_args)
    python3 "$mkimage" --out "$archive" --ref "$ref" --with-libs --mkdir /tmp:1777 "${bbargs[@]}" "$@"
    ls -t "$cache/$name"-*.tar 2>/dev/null | tail -n +3 | xargs -r rm -f
  fi
  import_archive "$name" "$archive" "$ref"
}

build_workloads() {
  local f
  for f in /usr/bin/redis-server /usr/bin/redis-cli; do
    [ -x "$f" ] || die "$f is missing: apt-get install redis-server redis-tools"
  done
  build_server redis "$REDIS_IMAGE" /usr/bin/redis-server /usr/bin/redis-cli -- \
    --add /usr/bin/redis-server:/usr/bin/redis-server --add /usr/bin/redis-cli:/usr/bin/redis-cli \
    --text "/etc/passwd=root:x:0:0:root:/root:/bin/sh\nredis:x:999:999:redis:/tmp:/bin/sh\n" \
    --text "/etc/group=root:x:0:\nredis:x:999:\n" --user 999:999 --workdir /tmp \
    --cmd '["/usr/bin/redis-server", "--save", "", "--appendonly", "no", "--protected-mode", "no", "--port", "6379"]'

  local pg=/usr/lib/postgresql/$PG_MAJOR share=/usr/share/postgresql/$PG_MAJOR
  for f in "$pg/bin/postgres" "$pg/bin/initdb" "$pg/bin/psql" "$share/postgres.bki"; do
    [ -e "$f" ] || die "$f is missing: apt-get install postgresql-$PG_MAJOR"
  done
  # lib/: the server's loadable modules (plpgsql, the text-search dictionaries and encoding
  # conversions initdb sets up), without the LLVM JIT (jit is off; it would pull in libLLVM).
  build_server postgres "$POSTGRES_IMAGE" "$pg" "$share" /usr/share/zoneinfo/Etc/UTC -- \
    --tree "$pg:$pg" --exclude "$pg/lib/llvmjit*" --exclude "$pg/lib/bitcode" \
    --tree "$share:$share" --add /usr/share/zoneinfo/Etc/UTC:/usr/share/zoneinfo/UTC \
    --text "/etc/passwd=root:x:0:0:root:/root:/bin/sh\npostgres:x:999:999:postgres:/tmp:/bin/sh\n" \
    --text "/etc/group=root:x:0:\npostgres:x:999:\n" --user 999:999 --workdir /tmp --env TZ=UTC \
    --cmd '["/bin/sh"]'
}

# --- the project's image -----------------------------------------------------
project_ref() {
  local v
  v=$(python3 -c 'import sys,tomllib; print(tomllib.load(open(sys.argv[1],"rb"))["workspace"]["package"]["version"])' "$REPO_ROOT/Cargo.toml")
  echo "ghcr.io/kubectl-shark/kubectl-shark:$v"
}

build_project() {
  if [ "${KUBECTL_SHARK_SKIP_PROJECT_IMAGE:-0}" = 1 ]; then
    log "KUBECTL_SHARK_SKIP_PROJECT_IMAGE=1: not building the project's image"
    return 0
  fi
  local ref bins=() b bin_dir
  ref=$(project_ref)
  if [ -n "${KUBECTL_SHARK_PROJECT_BIN_DIR:-}" ]; then
    # Prebuilt binaries (e.g. a release build made elsewhere): no cargo build here.
    bin_dir=$KUBECTL_SHARK_PROJECT_BIN_DIR
    for b in node-agent hub-lite; do
      if [ -x "$bin_dir/$b" ]; then bins+=("$b"); fi
    done
    [ ${#bins[@]} -gt 0 ] || die "KUBECTL_SHARK_PROJECT_BIN_DIR=$bin_dir holds neither node-agent nor hub-lite"
    log "taking ${bins[*]} from $bin_dir (KUBECTL_SHARK_PROJECT_BIN_DIR)"
  else
    command -v cargo >/dev/null || die "cargo not found: the project's image is built from this checkout"
    # Which of the image's binaries the workspace has today.
    local have
    have=$(cd "$REPO_ROOT" && cargo metadata --no-deps --format-version 1 |
      jq -r '.packages[].targets[] | select(.kind | index("bin")) | .name')
    for b in node-agent hub-lite; do
      if grep -qx "$b" <<<"$have"; then bins+=("$b"); fi
    done
    [ ${#bins[@]} -gt 0 ] || die "neither node-agent nor hub-lite is a binary target in this workspace"
    local cargo_args=(build --release)
    for b in "${bins[@]}"; do cargo_args+=(--bin "$b"); done
    log "building ${bins[*]} (cargo ${cargo_args[*]})"
    local target_dir
    target_dir=$(cd "$REPO_ROOT" && cargo metadata --no-deps --format-version 1 | jq -r .target_directory)
    (cd "$REPO_ROOT" && nice -n 10 cargo "${cargo_args[@]}" >&2)
    bin_dir=$target_dir/release
  fi

  local key
  key=$( (for b in "${bins[@]}"; do sha256sum "$bin_dir/$b" | cut -d' ' -f1; done
          echo "$ref"; cat "$mkimage"; ldd "$bin_dir/${bins[0]}" | sed 's/ (0x.*//') | sha256sum | cut -c1-16)
  local archive=$cache/kubectl-shark-$key.tar
  if [ ! -f "$archive" ]; then
    local args=(--out "$archive" --ref "$ref" --with-libs --strip --mkdir /tmp:1777
      --text "/etc/passwd=root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
      --text "/etc/group=root:x:0:\nnogroup:x:65534:\n"
      --label "org.opencontainers.image.source=https://github.com/kubectl-shark/kubectl-shark"
      --label "org.opencontainers.image.version=${ref##*:}"
      --cmd '["/usr/local/bin/node-agent"]')
    for b in "${bins[@]}"; do args+=(--add "$bin_dir/$b:/usr/local/bin/$b"); done
    python3 "$mkimage" "${args[@]}"
    # keep the last few project archives only
    ls -t "$cache"/kubectl-shark-*.tar 2>/dev/null | tail -n +4 | xargs -r rm -f
  fi
  log "project image $ref holds: ${bins[*]/#//usr/local/bin/}"
  import_archive project "$archive" "$ref"
}

case $what in
  all) build_base; build_workloads; build_project ;;
  base) build_base ;;
  workloads) build_workloads ;;
  project) build_project ;;
  ref) project_ref ;;
  *) die "usage: images.sh [all|base|workloads|project|ref]" ;;
esac
