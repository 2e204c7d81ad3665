package gpu

import (
	"fmt"
	"sort"
	"time"
)

// KernelTime is one kernel's share of the device time while profiling (SetProfile): a kernel by
// its entry name, or a matrix product by its product mode and shape ("gemm/cublas 4096x384x128
// NT": m×n×k, A and B each N or T).
type KernelTime struct {
	Name  string
	Calls int
	Total time.Duration
}

// SetProfile turns per-launch timing on (clearing what was gathered) or off. While it is on, the
// device waits for the GPU before and after every launch and product, so each time is that
// kernel's alone, launch included, but profiled work runs slower than unprofiled: use it to see
// where the time goes, and time steps with it off.
func (d *KernelDevice) SetProfile(on bool) error {
	return d.do(func(*call) {
		d.prof = nil
		if on {
			d.prof = map[string]*KernelTime{}
		}
	})
}

// Profile returns the times gathered since SetProfile(true), the largest total first.
func (d *KernelDevice) Profile() ([]KernelTime, error) {
	var out []KernelTime
	err := d.do(func(*call) {
		for _, k := range d.prof {
			out = append(out, *k)
		}
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Total != out[j].Total {
			return out[i].Total > out[j].Total
		}
		return out[i].Name < out[j].Name
	})
	return out, err
}

// timed runs f, one launch or product, on the profile's clock when profiling is on. A launch
// inside a timed product (the sgemm kernel) counts once, under the product's name.
func (c *call) timed(name string, f func()) {
	if c.d.prof == nil || c.timing || c.err != nil {
		f()
		return
	}
	if err := c.d.be.Sync(); err != nil {
		c.fail("profile: waiting before "+name, err)
		return
	}
	c.timing = true
	start := time.Now()
	f()
	if c.err == nil {
		if err := c.d.be.Sync(); err != nil {
			c.fail("profile: waiting for "+name, err)
		}
	}
	elapsed := time.Since(start)
	c.timing = false
	k := c.d.prof[name]
	if k == nil {
		k = &KernelTime{Name: name}
		c.d.prof[name] = k
	}
	k.Calls++
	k.Total += elapsed
}

// gemmName names a product in the profile.
func gemmName(mode string, transA, transB bool, m, n, k int) string {
	if mode == "" {
		mode = "kernel"
	}
	nt := func(t bool) string {
		if t {
			return "T"
		}
		return "N"
	}
	return fmt.Sprintf("gemm/%s %dx%dx%d %s%s", mode, m, n, k, nt(transA), nt(transB))
}
