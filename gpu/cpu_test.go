package gpu_test

import (
	"testing"

	"github.com/vrlaif/vrlaif/gpu"
	"github.com/vrlaif/vrlaif/gpu/gputest"
)

func TestPPO(t *testing.T) { gputest.PPO(t, gpu.CPU{}) }
