#!/bin/bash
# gpu-check.sh: runs the CUDA device's conformance suite (gpu.test, built by make cuda-build) on
# this machine's first NVIDIA GPU and prints a summary. Needs no Go: copy .build/gpu-check over.
# Without a GPU it says so and exits 0 (a -tags cuda binary would exit in cu's init otherwise).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu-check: SKIP: no NVIDIA GPU here (nvidia-smi -L failed)"
  exit 0
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/gpu-check: GPU: /'
log=$(mktemp)
"$here/gpu.test" -test.run 'TestPPOOnCUDA|TestOpsOnCUDA' -test.bench SgemmCUDA -test.benchtime 1x -test.v 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
pass=$(grep -c -- '--- PASS' "$log"); fail=$(grep -c -- '--- FAIL' "$log")
echo "gpu-check: conformance suite on CUDA: $pass passed, $fail failed (rc $rc)"
rm -f "$log"
exit $rc
