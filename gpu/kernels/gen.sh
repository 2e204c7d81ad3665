#!/bin/bash
# gen.sh (go generate ./gpu/kernels): compiles every .cu here to PTX with nvcc and records, in the
# PTX's first line, the SHA-256 of what it was made from (the .cu, every .cuh here, and the flags).
# TestPTXIsCurrent fails when a .cu, a .cuh or the flags changed and the PTX was not regenerated.
#
# nvcc: $NVCC, or nvcc on PATH, or the one scripts/cuda-sdk.sh nvcc unpacks into .build/cuda.
set -euo pipefail
cd "$(dirname "$0")"
FLAGS="-ptx -arch=compute_80 --fmad=false -O3"
NVCC=${NVCC:-$(command -v nvcc || true)}
if [ -z "$NVCC" ]; then
  dest=$(../../scripts/cuda-sdk.sh nvcc)
  NVCC="$dest/usr/lib/nvidia-cuda-toolkit/bin/nvcc"
fi
# Debian's nvcc 11.8 wants gcc ≤ 11 as its host compiler; PTX needs none of the host code, so the
# machine's gcc is allowed (by absolute path: nvcc's folder has Debian's gcc wrapper, which refuses gcc 12).
HOST="-ccbin $(command -v "${CC:-gcc}") -allow-unsupported-compiler"
for cu in *.cu; do
  ptx="${cu%.cu}.ptx"
  sum=$( (cat "$cu"; for h in $(ls *.cuh | sort); do cat "$h"; done; printf '%s' "$FLAGS") | sha256sum | cut -d' ' -f1)
  $NVCC $FLAGS $HOST -o "$ptx.tmp" "$cu"
  { echo "// vrlaif-ptx source-sha256=$sum flags=$FLAGS"; cat "$ptx.tmp"; } > "$ptx"
  rm -f "$ptx.tmp"
  echo "gen.sh: $cu → $ptx" >&2
done
