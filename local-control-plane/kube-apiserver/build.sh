#!/usr/bin/env bash
# Builds a real kube-apiserver (Kubernetes v1.20.2) from Debian bookworm's `kubernetes` source
# package with Debian's Go 1.19, and installs Debian's etcd-server: the real API server the
# test suite runs the operator against (test/real-apiserver/). Idempotent: does nothing when
# the binary is already there, so a machine that keeps OUT_DIR builds once. Needs root (apt) and
# Debian's package archive; ~5 minutes on 2 cores the first time, ~2 GB of build tree.
# Usage: build.sh [OUT_DIR]   (default: $KAS_HOME or /var/cache/kube-apiserver-1.20)
# Result: OUT_DIR/bin/kube-apiserver (real-api-server.ts finds it there).
set -euo pipefail
OUT=${1:-${KAS_HOME:-/var/cache/kube-apiserver-1.20}}
BIN="$OUT/bin/kube-apiserver"
if [[ -x $BIN ]] && "$BIN" --version >/dev/null 2>&1; then
  # A kept build directory on a fresh machine: etcd may still be missing.
  if ! command -v etcd >/dev/null 2>&1; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends etcd-server; } >/dev/null 2>&1
  fi
  echo "build.sh: $BIN already built" >&2
  exit 0
fi
mkdir -p "$OUT/src" "$OUT/bin"
# Debian's source packages: add a deb-src entry mirroring the binary one, once.
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
  cat > /etc/apt/sources.list.d/debian-src.sources <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
apt-get update -qq >/dev/null 2>&1 || true
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  golang-go dpkg-dev rsync jq etcd-server golang-github-modern-go-reflect2-dev >/dev/null
cd "$OUT/src"
[[ -d kubernetes-1.20.5+really1.20.2 ]] || apt-get source -qq kubernetes >/dev/null 2>&1
SRC=$(ls -d "$OUT"/src/kubernetes-1.20.5+really1.20.2)
# Go >= 1.18: the vendored github.com/modern-go/reflect2 v1.0.1 links reflect.mapiterinit with the
# pre-1.18 signature and corrupts memory; Debian's 1.0.2 is the upstream fix.
R="$SRC/vendor/github.com/modern-go/reflect2"
rm -f "$R"/*.go "$R"/*.s
cp /usr/share/gocode/src/github.com/modern-go/reflect2/*.go /usr/share/gocode/src/github.com/modern-go/reflect2/*.s "$R"/
# As debian/rules builds kubectl: GOPATH=.go with a k8s.io/kubernetes link, CGO off, make WHAT=...
cd "$SRC"
mkdir -p .go/src/k8s.io; [[ -L .go/src/k8s.io/kubernetes ]] || ln -s ../../.. .go/src/k8s.io/kubernetes
mkdir -p "$OUT/home"
env GOPATH="$SRC/.go" PATH="/usr/lib/go/bin:$PATH" CGO_ENABLED=0 HOME="$OUT/home" make WHAT=cmd/kube-apiserver >"$OUT/build.log" 2>&1 \
  || { echo "build.sh: make failed, see $OUT/build.log" >&2; tail -20 "$OUT/build.log" >&2; exit 1; }
cp _output/bin/kube-apiserver "$BIN"
rm -rf "$SRC/_output" "$OUT/home/.cache"
echo "build.sh: built $BIN ($("$BIN" --version))" >&2
