#!/usr/bin/env bash
# Builds helmrender (`helm template` from Helm v3.18.6's own rendering code, see README.md) with
# Debian bookworm's Go 1.19 and Debian-packaged Go libraries (GOPATH mode, no module proxy).
# Idempotent and cached: the binary is rebuilt only when a source file changed (a stamp of the
# sources' sha256 sits beside it), so CI builds once per machine (~10 s) and then only checks.
# Needs root for apt when a library is missing.
# Usage: build.sh [OUT_DIR]   (default: $HELMRENDER_HOME or /var/cache/helmrender)
# Result: OUT_DIR/bin/helmrender (test/deploy/helm.ts finds it there, or at $HELMRENDER).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-${HELMRENDER_HOME:-/var/cache/helmrender}}
BIN="$OUT/bin/helmrender"
stamp=$(cd "$here" && cat ./*.go | sha256sum | cut -d' ' -f1)
if [[ -x $BIN && -f $BIN.sha256 && $(cat "$BIN.sha256") == "$stamp" ]]; then
  echo "build.sh: $BIN already built from these sources" >&2
  exit 0
fi
debs=(golang-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev golang-gopkg-yaml.v3-dev
      golang-github-xeipuuv-gojsonschema-dev golang-github-pkg-errors-dev golang-github-burntsushi-toml-dev
      golang-github-gobwas-glob-dev golang-github-mitchellh-copystructure-dev)
missing=()
for p in "${debs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "build.sh: installing ${missing[*]}" >&2
  apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
mkdir -p "$OUT/bin"
( cd "$here" && GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE="${GOCACHE:-$OUT/go-build}" \
    go build -o "$BIN.new" . )
mv "$BIN.new" "$BIN"
echo "$stamp" > "$BIN.sha256"
echo "build.sh: built $BIN ($(go version | awk '{print $3}'))" >&2
