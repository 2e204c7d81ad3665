package gpu

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Open returns the device a name asks for: "cpu" (or "") for the CPU reference, "cuda" or
// "cuda:N" for GPU N (0 by default) when the binary was built with `-tags cuda`.
func Open(name string) (Device, error) {
	switch {
	case name == "" || name == "cpu":
		return CPU{}, nil
	case name == "cuda" || strings.HasPrefix(name, "cuda:"):
		n := 0
		if s, ok := strings.CutPrefix(name, "cuda:"); ok {
			var err error
			if n, err = strconv.Atoi(s); err != nil || n < 0 {
				return nil, fmt.Errorf("gpu: device %q: want cuda:N with N a GPU ordinal", name)
			}
		}
		return openCUDA(n)
	}
	return nil, fmt.Errorf("gpu: unknown device %q (cpu, cuda or cuda:N)", name)
}

// UseGemm sets the matrix product a device's models run on and returns the one chosen. mode is
// one of the KernelDevice's GemmModes ("kernel", "cublas", "cublas-tf32", "cublas-bf16"), or
// "auto" (or ""): cuBLAS in float32 when the machine has it, else the sgemm kernel. The CPU
// takes only "auto", and answers "cpu".
func UseGemm(d Device, mode string) (string, error) {
	kd, ok := d.(*KernelDevice)
	if !ok {
		if mode != "" && mode != "auto" {
			return "", fmt.Errorf("gpu: matrix product %q needs a CUDA device (--device cuda)", mode)
		}
		return "cpu", nil
	}
	if mode == "" || mode == "auto" {
		mode = "kernel"
		if slices.Contains(kd.GemmModes(), "cublas") {
			mode = "cublas"
		}
	}
	return mode, kd.SetGemm(mode)
}
