#!/bin/bash
# gpu-check.sh: everything issue 7 measures on a GPU, in one run on this machine's first NVIDIA GPU
# (the folder make cuda-build fills, .build/gpu-check; no Go needed here):
#   1. gpu.test: the PPO and model-operation conformance suites on CUDA, matrix products in every
#      layout (sgemm kernel and cuBLAS float32), the rounding each product mode shows (do the
#      tensor-core modes use tensor cores?); matrix-product throughput of our sgemm kernel vs
#      cuBLAS (float32, TF32, bf16);
#   2. devmodel.test: the device-resident decoder's training steps vs the CPU model (sgemm kernel
#      and cuBLAS), the tensor-core loss check, the training-step benchmark with a profile of its
#      device time, the models' work of a PPO learner step (reference, policy, value); and the
#      fixture for 3;
#   3. torch_step.py: the same steps in PyTorch eager on the same GPU, and the logits of our
#      checkpoint in PyTorch and in transformers' LlamaForCausalLM vs model.Forward's.
# Prints a summary. Without a GPU it says so and exits 0 (a -tags cuda binary would exit in cu's
# init otherwise). Exit status: non-zero when a check failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu-check: SKIP: no NVIDIA GPU here (nvidia-smi -L failed)"
  exit 0
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/gpu-check: GPU: /'

# cuBLAS: the binaries dlopen libcublas.so.13/12/11; where the loader does not find one (PyTorch's
# wheels keep theirs in site-packages), point VRLAIF_CUBLAS at the first found.
if [ -z "${VRLAIF_CUBLAS:-}" ] && ! ldconfig -p 2>/dev/null | grep -q 'libcublas\.so\.1[123] '; then
  for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
    $(python3 -c 'import nvidia, os; [print(p) for p in nvidia.__path__]' 2>/dev/null | sed 's|$|/*/lib|') \
    $(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>/dev/null); do
    # pip's wheels: nvidia/cublas/lib (CUDA 12), nvidia/cu13/lib (CUDA 13); $d may be a glob
    lib=$(ls $d/libcublas.so.1[123] 2>/dev/null | sort -r | head -1)
    if [ -n "$lib" ]; then export VRLAIF_CUBLAS=$lib; break; fi
  done
fi
echo "gpu-check: cuBLAS: ${VRLAIF_CUBLAS:-libcublas.so.* from the loader path}"

# The Go test binaries link OpenBLAS, carried in lib/ (make cuda-build) for machines without it.
golibs="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# cuBLAS's own dependency (libcublasLt) sits beside it
[ -n "${VRLAIF_CUBLAS:-}" ] && golibs="$golibs:$(dirname "$VRLAIF_CUBLAS")"

log=$(mktemp)
fixture=$(mktemp -d)
trap 'rm -rf "$log" "$fixture"' EXIT
rc=0
# Each part runs on its own, so that a failing check does not skip the rest (go test runs no
# benchmark once a test failed), each with a time limit (one device session has 10 minutes).
gotest() { # gotest BINARY ARGS...: a Go test binary on the GPU, its output in the log
  local bin=$1
  shift
  LD_LIBRARY_PATH=$golibs timeout 300 "$here/$bin" -test.timeout 4m -test.v "$@" 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" = 0 ] || rc=1
}
gotest gpu.test -test.run 'TestPPOOnCUDA|TestOpsOnCUDA|TestGemmOnCUDA|TestGemmPrecisionOnCUDA|TestBF16OnCUDA'
gotest devmodel.test -test.run 'TestDecoderOnCUDA|TestDecoderTensorCoresOnCUDA'
VRLAIF_GPU_FIXTURE=$fixture gotest devmodel.test -test.run 'TestWriteFixture'
gotest gpu.test -test.run '^$' -test.bench SgemmCUDA -test.benchtime 1x
gotest devmodel.test -test.run '^$' -test.bench 'DecoderStepCUDA|PPOStepCUDA' -test.benchtime 1x
if python3 -c 'import torch' 2>/dev/null; then
  # The GPU machine reaches no network: transformers must not try the Hub (a connection attempt
  # could hang until the time limit).
  HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1 timeout 300 python3 "$here/torch_step.py" "$fixture" --device cuda 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" = 0 ] || rc=1
else
  echo "torch-step: FAIL: python3 cannot import torch" | tee -a "$log"
  rc=1
fi

echo
echo "gpu-check: summary"
pass=$(grep -c -- '--- PASS' "$log"); fail=$(grep -c -- '--- FAIL' "$log")
echo "gpu-check: Go tests on CUDA: $pass passed, $fail failed"
grep -E '^Benchmark(Sgemm|DecoderStep|PPOStep)CUDA' "$log" | sed 's/^/gpu-check: /'
# Which rounding each matrix product shows (TestGemmPrecisionOnCUDA): do the tensor-core modes use tensor cores?
grep -oE '(kernel|cublas[a-z0-9-]*) [0-9x]+: largest error .*' "$log" | sed 's/^/gpu-check: product /'
grep -oE 'cublas-(tf32|bf16): loss .*' "$log" | sed 's/^/gpu-check: decoder forward on /'
grep -E '^torch-step: (.*logits|training step|PPO step)' "$log" | sed 's/^/gpu-check: /'
# Our step (cuBLAS float32) against PyTorch eager float32, the issue's ratio (goal ≤ 0.7): every
# weight trained, LoRA adapters only (the PPO policy's update), and the models' work of a PPO step.
ratio() { # ratio NAME OUR_BENCHMARK THEIR_LINE (extended regexps)
  local ours theirs
  ours=$(grep -E "^$2(-[0-9]+)? " "$log" | grep -oE '[0-9.]+ ms/step' | head -1 | cut -d' ' -f1)
  theirs=$(grep -E "^torch-step: $3" "$log" | grep -oE '[0-9.]+ ms/step' | head -1 | cut -d' ' -f1)
  if [ -n "$ours" ] && [ -n "$theirs" ]; then
    echo "gpu-check: $1, ours (cuBLAS float32) / PyTorch eager float32: $ours / $theirs ms = $(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }') (goal ≤ 0.7)"
  else
    echo "gpu-check: $1: no ratio (ours: ${ours:-missing}, PyTorch: ${theirs:-missing})"
  fi
}
if ! grep -qE '^BenchmarkDecoderStepCUDA/full/cublas(-[0-9]+)? ' "$log"; then
  echo "gpu-check: FAIL: no cuBLAS product ran (see the cuBLAS line above; set VRLAIF_CUBLAS to libcublas.so.*)"
  rc=1
fi
# Where our step's device time goes (BenchmarkDecoderStepCUDA's profile), the largest first.
for m in full/cublas lora/cublas ppo/cublas; do
  grep -oE "profile\[$m\]: .*" "$log" | head -11 | sed 's/^/gpu-check: /'
done
ratio "full-training step" "BenchmarkDecoderStepCUDA/full/cublas" "training step .*\(eager, float32\)"
ratio "LoRA step" "BenchmarkDecoderStepCUDA/lora/cublas" "training step .*\(eager, float32, LoRA r8 on every projection\)"
ratio "PPO step (models)" "BenchmarkPPOStepCUDA/cublas" "PPO step .*\(eager, float32"
echo "gpu-check: exit $rc"
exit $rc
