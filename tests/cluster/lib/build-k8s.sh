#!/usr/bin/env bash
# Builds (or reuses) the Kubernetes server binaries for the version pinned in
# tests/cluster/k8s/go.mod, and etcd at the version that Kubernetes release
# requires (k8s/etcd/main.go), into ~/.cache/kubectl-shark/k8s/<version>/bin.
# Prints the bin directory on stdout; progress goes to stderr.
#
# The cache is keyed by version plus a hash of go.mod, go.sum and this script,
# so a changed pin or build flag rebuilds, and anything else reuses.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
moddir=$here/k8s
export PATH=/usr/local/go/bin:$PATH
command -v go >/dev/null || { echo "build-k8s: Go not found (expected /usr/local/go/bin/go)" >&2; exit 1; }

ver=$(awk '($1 == "k8s.io/kubernetes" && $2 ~ /^v/) {print $2} ($1 == "require" && $2 == "k8s.io/kubernetes") {print $3}' "$moddir/go.mod" | head -1)
[ -n "$ver" ] || { echo "build-k8s: no k8s.io/kubernetes version in $moddir/go.mod" >&2; exit 1; }
cache=${KUBECTL_SHARK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-shark}/k8s/$ver
bins=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)
key=$(cat "$moddir/go.mod" "$moddir/go.sum" "$moddir/etcd/main.go" "$0" | sha256sum | cut -c1-16)

if [ "$(cat "$cache/stamp" 2>/dev/null)" = "$key" ]; then
  ok=1; for b in "${bins[@]}" etcd; do [ -x "$cache/bin/$b" ] || ok=0; done
  if [ $ok = 1 ]; then echo "build-k8s: reusing $ver binaries from $cache/bin" >&2; echo "$cache/bin"; exit 0; fi
fi

mkdir -p "$cache"
# One build at a time per version (two worktrees running `up` together).
exec 9>"$cache/.lock"; flock 9
if [ "$(cat "$cache/stamp" 2>/dev/null)" = "$key" ]; then echo "$cache/bin"; exit 0; fi

echo "build-k8s: building Kubernetes $ver server binaries and etcd (first time only; ~25 min on 2 busy cores)" >&2
start=$(date +%s)
cd "$moddir"
# Version stamping, as kubernetes' hack/lib/version.sh does, so the node and
# `kubectl version` report the real release instead of v0.0.0-master.
commit=$(go mod download -json "k8s.io/kubernetes@$ver" | sed -n 's/.*"Hash": "\([0-9a-f]*\)".*/\1/p' | head -1)
minor=${ver#v1.}; minor=${minor%%.*}
ld="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ld+=" -X $pkg.gitVersion=$ver -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ld+=" -X $pkg.gitCommit=${commit:-unknown} -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
tmp=$cache/bin.tmp.$$
rm -rf "$tmp"; mkdir -p "$tmp"
pkgs=(); for b in "${bins[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
pkgs+=(./etcd)
# All six in one invocation so shared packages compile once. CGO off: static
# binaries, no C toolchain needed (the kubelet runs fine without cgo here).
CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false -mod=readonly" \
  nice -n 10 go build -ldflags="$ld" -o "$tmp/" "${pkgs[@]}" >&2
for b in "${bins[@]}" etcd; do [ -x "$tmp/$b" ] || { echo "build-k8s: $b missing after build" >&2; exit 1; }; done
rm -rf "$cache/bin"; mv "$tmp" "$cache/bin"
echo "$key" > "$cache/stamp"
echo "build-k8s: built $ver in $(( $(date +%s) - start ))s" >&2
echo "$cache/bin"
