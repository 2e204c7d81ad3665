package gpu

import (
	"fmt"
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
