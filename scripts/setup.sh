#!/usr/bin/env bash
# Installs what vrlaif needs to build and test, if it is missing: Go (checked, not installed),
# a C compiler for cgo, pkg-config, FFmpeg's development libraries (go-astiav links them),
# OpenBLAS (the built-in model's matrix products) and the ffmpeg CLI (tests cross-check against it; the benchmark compares with it),
# Node.js + npm and, with them, DuckDB for the tests (tools/duckdb: `npm ci`, native binaries from the npm registry),
# and for the web page's browser tests Debian's chromium with playwright-core driving it (tools/browser: `npm ci`).
# Idempotent and quick when everything is present.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

need_go="1.26"
if ! command -v go >/dev/null 2>&1; then
  echo "setup: Go $need_go or newer is required (https://go.dev/dl/)" >&2
  exit 1
fi
have_go=$(go env GOVERSION | sed 's/^go//')
if [ "$(printf '%s\n%s\n' "$need_go" "$have_go" | sort -V | head -n1)" != "$need_go" ]; then
  echo "setup: Go $need_go or newer is required, found $have_go" >&2
  exit 1
fi

libs="libavcodec libavformat libavutil libswscale libavfilter libavdevice libswresample"
missing=()
command -v gcc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists $libs; then
  missing+=(libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libavfilter-dev libavdevice-dev libswresample-dev)
fi
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
pkg-config --exists openblas 2>/dev/null || missing+=(libopenblas-dev) # internal/blas (the model's matrix products)
command -v bc >/dev/null 2>&1 || missing+=(bc) # scripts/bench-frames.sh
command -v node >/dev/null 2>&1 || missing+=(nodejs) # tools/duckdb (internal/duckdb reads our Parquet with it)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v chromium >/dev/null 2>&1 || missing+=(chromium fonts-dejavu-core) # tools/browser (the web page's tests)

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# go-astiav v0.16.0 targets FFmpeg 5.1 (Debian 12); newer FFmpeg needs a newer go-astiav.
ver=$(pkg-config --modversion libavcodec)
case "$ver" in
  59.*) ;;
  *) echo "setup: warning: libavcodec $ver found; vrlaif is built for FFmpeg 5.1 (libavcodec 59)" >&2 ;;
esac

# DuckDB for the tests: @duckdb/node-api, pinned by tools/duckdb/package-lock.json. Reinstalled when the
# lock file, the platform or Node's major version changes (a stamp in node_modules records them).
need_node=18
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt "$need_node" ]; then
  echo "setup: Node.js $need_node or newer is required (tools/duckdb), found $(node --version 2>/dev/null || echo none)" >&2
  exit 1
fi
# npm_tool DIR PACKAGE WHAT: npm ci in DIR unless PACKAGE is installed there from the same lock file.
npm_tool() {
  local dir="$root/$1" pkg="$2" what="$3"
  local stamp="$dir/node_modules/.vrlaif-stamp"
  local want
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1) $(uname -sm) node$node_major"
  if [ ! -f "$dir/node_modules/$pkg/package.json" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: installing $what (npm ci in $1)" >&2
    if ! npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >&2; then
      echo "setup: npm ci failed in $dir; $pkg comes from the npm registry ($(npm config get registry))" >&2
      exit 1
    fi
    echo "$want" >"$stamp"
  fi
}
npm_tool tools/duckdb @duckdb/node-api "DuckDB for the tests"
npm_tool tools/browser playwright-core "playwright-core for the browser tests (it drives the system chromium; no browser download)"
