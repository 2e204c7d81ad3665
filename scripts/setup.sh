#!/usr/bin/env bash
# Installs what vrlaif needs to build and test, if it is missing: Go (checked, not installed),
# a C compiler for cgo, pkg-config, FFmpeg's development libraries (go-astiav links them),
# OpenBLAS (the built-in model's matrix products) and the ffmpeg CLI (tests cross-check against it; the benchmark compares with it). Idempotent and quick
# when everything is present.
set -euo pipefail

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
