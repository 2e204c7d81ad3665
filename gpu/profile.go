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

// EventTimer is a KernelBackend that can time its work on the device's own clock (CUDA events):
// Mark records a point in the stream after the work queued so far, Elapsed is the time between
// two marks once the device has passed both (after Sync), and Unmark releases a mark.
type EventTimer interface {
	Mark() (uint64, error)
	Elapsed(from, to uint64) (time.Duration, error)
	Unmark(id uint64)
}

// SetProfile turns per-launch timing on (clearing what was gathered) or off. On a backend with
// an EventTimer (CUDA), each launch and product is bracketed by two marks and timed on the
// device's clock without waiting, so profiled work runs almost as fast as unprofiled; the time
// between the marks includes any idle wait of the device for the launch itself (a device that is
// ahead of the host). Without one (the emulator), the device waits before and after every launch
// and the host clock times it. See ProfileClock.
func (d *KernelDevice) SetProfile(on bool) error {
	return d.do(func(*call) {
		d.prof = nil
		if on {
			d.prof = map[string]*KernelTime{}
		}
	})
}

// ProfileClock says how the profile times launches: on device events, or on the host.
func (d *KernelDevice) ProfileClock() string {
	if _, ok := d.be.(EventTimer); ok {
		return "device events around each launch"
	}
	return "host clock, each launch waited for"
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

// mark is a launch bracketed by two EventTimer marks, timed once the call has synchronised.
type mark struct {
	name     string
	from, to uint64
}

// timed runs f, one launch or product, on the profile's clock when profiling is on. A launch
// inside a timed product (the sgemm kernel) counts once, under the product's name.
func (c *call) timed(name string, f func()) {
	if c.d.prof == nil || c.timing || c.err != nil {
		f()
		return
	}
	c.timing = true
	defer func() { c.timing = false }()
	if et, ok := c.d.be.(EventTimer); ok {
		from, err := et.Mark()
		if err != nil {
			c.fail("profile: marking before "+name, err)
			return
		}
		f()
		to, err := et.Mark()
		if err != nil {
			et.Unmark(from)
			c.fail("profile: marking after "+name, err)
			return
		}
		c.marks = append(c.marks, mark{name, from, to})
		return
	}
	if err := c.d.be.Sync(); err != nil {
		c.fail("profile: waiting before "+name, err)
		return
	}
	start := time.Now()
	f()
	if c.err == nil {
		if err := c.d.be.Sync(); err != nil {
			c.fail("profile: waiting for "+name, err)
		}
	}
	c.d.record(name, time.Since(start))
}

// settleMarks adds the call's marked launches to the profile (after the call's Sync) and
// releases the marks.
func (c *call) settleMarks() {
	et, _ := c.d.be.(EventTimer)
	for _, m := range c.marks {
		if c.err == nil {
			el, err := et.Elapsed(m.from, m.to)
			if err != nil {
				c.fail("profile: timing "+m.name, err)
			} else if c.d.prof != nil {
				c.d.record(m.name, el)
			}
		}
		et.Unmark(m.from)
		et.Unmark(m.to)
	}
	c.marks = nil
}

func (d *KernelDevice) record(name string, el time.Duration) {
	k := d.prof[name]
	if k == nil {
		k = &KernelTime{Name: name}
		d.prof[name] = k
	}
	k.Calls++
	k.Total += el
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
