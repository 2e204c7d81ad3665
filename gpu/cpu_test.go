package gpu_test

import (
	"strings"
	"testing"

	"github.com/vrlaif/vrlaif/gpu"
	"github.com/vrlaif/vrlaif/gpu/gputest"
)

func TestPPO(t *testing.T) { gputest.PPO(t, gpu.CPU{}) }

func TestOpen(t *testing.T) {
	for _, name := range []string{"", "cpu"} {
		if d, err := gpu.Open(name); err != nil || d != (gpu.CPU{}) {
			t.Errorf("Open(%q) = %v, %v", name, d, err)
		}
	}
	for _, name := range []string{"tpu", "cuda:x", "cuda:-1"} {
		if _, err := gpu.Open(name); err == nil {
			t.Errorf("Open(%q) succeeded", name)
		}
	}
	if _, err := gpu.Open("cuda"); !gpu.CUDAAvailable && (err == nil || !strings.Contains(err.Error(), "-tags cuda")) {
		t.Errorf("Open(cuda) without CUDA: %v", err)
	}
}
