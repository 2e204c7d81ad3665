# vrlaif — the two commands a newcomer needs are `make demo` and `make test`.
# Both install what is missing first (scripts/setup.sh: FFmpeg's dev libraries, pkg-config, ffmpeg,
# Node.js and the DuckDB npm package the tests read Parquet with, Chromium and playwright-core for the
# web page's browser test).

GO      ?= go
BIN     := bin/vrlaif
OUT     ?= out

.PHONY: all setup build demo demo-quick test test-short vet bench-frames bench-model bench-backend bench-pipelines bench-nats bench-ppo test-crash cuda-build gpu-check clean

all: build

setup:
	@scripts/setup.sh

build: setup
	$(GO) build -o $(BIN) ./cmd/vrlaif

## demo: run the main job on embedded defaults (synthetic world → frames → Parquet)
demo: build
	$(BIN) demo --output $(OUT)/demo

demo-quick: build
	$(BIN) demo --quick --output $(OUT)/demo-quick

## test: vet and run every test (Beam's cold build alone takes 1–2 minutes); DuckDB and browser checks fail rather than skip
## (the web page's browser test leaves its screenshots in out/test-artifacts/webui)
test: setup cuda-build
	$(GO) vet ./...
	VRLAIF_REQUIRE_DUCKDB=1 VRLAIF_REQUIRE_BROWSER=1 $(GO) test -count=1 -timeout 20m ./...

## test-crash: just the crash tests (also in make test): the PPO learner killed with SIGKILL at several points
## and restarted, and the NATS server restarted under a running job (exact rollout accounting)
test-crash: setup
	$(GO) test -count=1 -run 'TestLearnerKilledAndRestarted|TestNATSRestartUnderPPO' -v ./cmd/vrlaif

test-short: setup
	$(GO) test -short ./...

## bench-frames: frames/s of vrlaif vs the ffmpeg CLI on a 10 s clip and a 10 min clip
bench-frames: build
	scripts/bench-frames.sh

## bench-model: training-step FLOP utilization vs the BLAS peak (same run), sampling tokens/s
bench-model: setup
	$(GO) test -run '^$$' -bench 'TrainStep|Greedy|Generate' -benchtime 10x ./model

## bench-backend: client CPU per call (17 frames of 224²) and the concurrency held against vrlaif serve
bench-backend: setup
	$(GO) test -run '^$$' -bench . -benchtime 200x ./backend/openai

## bench-pipelines: generate on Prism vs the same stages standalone (clips/s, overhead ratio)
bench-pipelines: setup
	$(GO) test -run '^$$' -bench Overhead -benchtime 1x ./pipelines/generate

## bench-nats: 4 KiB JetStream publish and fetch+ack rates on the embedded server, natsbus vs `nats bench`
bench-nats:
	scripts/bench-nats.sh

## bench-ppo: rollouts/s the learner's intake consumes vs a plain JetStream fetch+ack (same run; medians of 7 alternating pairs)
bench-ppo: setup
	$(GO) test -run '^$$' -bench LearnerIntake -benchtime 7x ./pipelines/train

## cuda-build: compile and link the `cuda` build without a GPU (CUDA 11.8 headers and the stub libcuda
## from Debian's non-free nvidia-cuda-dev, unpacked into .build/cuda; nothing installed system-wide):
## vet, the vrlaif binary (.build/vrlaif-cuda) and the GPU test binaries with the PyTorch script (.build/gpu-check, what make gpu-check runs)
CUDA_ROOT := $(CURDIR)/.build/cuda
CUDA_ENV  := CGO_CFLAGS="-I$(CUDA_ROOT)/usr/include" CGO_LDFLAGS="-L$(CUDA_ROOT)/usr/lib/x86_64-linux-gnu/stubs"
cuda-build: setup
	@scripts/cuda-sdk.sh headers >/dev/null
	$(CUDA_ENV) $(GO) vet -tags cuda ./gpu/...
	$(CUDA_ENV) $(GO) build -tags cuda -o .build/vrlaif-cuda ./cmd/vrlaif
	$(CUDA_ENV) $(GO) test -tags cuda -c -o .build/gpu-check/gpu.test ./gpu
	$(CUDA_ENV) $(GO) test -tags cuda -c -o .build/gpu-check/devmodel.test ./gpu/devmodel
	cp scripts/gpu-check.sh scripts/gpu/torch_step.py .build/gpu-check/
	@# the test binaries link OpenBLAS (package model), which the GPU machine may lack: carry it along
	mkdir -p .build/gpu-check/lib
	ldd .build/gpu-check/devmodel.test | awk '/libopenblas|libgfortran|libquadmath/ { print $$3 }' | xargs -r -I{} cp -L {} .build/gpu-check/lib/

## gpu-check: on a machine with an NVIDIA GPU, run the CUDA conformance suite from .build/gpu-check
## (build it here first with make cuda-build: the GPU machine needs no Go); prints a summary
gpu-check:
	@test -x .build/gpu-check/gpu.test || $(MAKE) cuda-build
	.build/gpu-check/gpu-check.sh

clean:
	rm -rf bin $(OUT)
