package gpu_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vrlaif/vrlaif/gpu"
	"github.com/vrlaif/vrlaif/gpu/cudaemu"
	"github.com/vrlaif/vrlaif/gpu/gputest"
)

// Free takes back what Alloc gave, and refuses anything else (a pool buffer freed behind the
// pool's back would be handed out again).
func TestFreeOnlyWhatAllocGave(t *testing.T) {
	dev := emulatedDevice(t)
	p, err := dev.Alloc(64)
	if err != nil {
		t.Fatal(err)
	}
	if err := dev.Free(p.Floats(1)); err == nil {
		t.Error("Free of an address inside a buffer succeeded")
	}
	if err := dev.Free(p); err != nil {
		t.Fatal(err)
	}
	if err := dev.Free(p); err == nil {
		t.Error("a second Free of the same buffer succeeded")
	}
}

// The profile counts each launch once, under its kernel's name (a product under its mode and
// shape, not also under the sgemm kernel it launches), and gathers nothing once turned off.
func TestProfileCountsEachLaunch(t *testing.T) {
	dev := emulatedDevice(t)
	got := profileLinear(t, dev, 2)
	calls := map[string]int{}
	for _, k := range got {
		calls[k.Name] = k.Calls
		if k.Total <= 0 {
			t.Errorf("%s: total %v", k.Name, k.Total)
		}
	}
	want := map[string]int{"gemm/kernel 5x4x3 NT": 2, "add_bias": 2}
	if len(calls) != len(want) || calls["gemm/kernel 5x4x3 NT"] != 2 || calls["add_bias"] != 2 {
		t.Errorf("profile %v, want %v", calls, want)
	}
	if err := dev.SetProfile(false); err != nil {
		t.Fatal(err)
	}
	if err := dev.MatmulForward(make([]float32, 20), make([]float32, 15), make([]float32, 12), make([]float32, 4), 5, 3, 4); err != nil {
		t.Fatal(err)
	}
	if got, _ := dev.Profile(); len(got) != 0 {
		t.Errorf("profile off gathered %v", got)
	}
}

// profileLinear turns dev's profile on, runs a 5×3 → 4 linear layer with bias times times (a
// product and add_bias), and returns the profile.
func profileLinear(t *testing.T, dev *gpu.KernelDevice, times int) []gpu.KernelTime {
	t.Helper()
	const N, C, OC = 5, 3, 4
	out, inp, w, bias := make([]float32, N*OC), make([]float32, N*C), make([]float32, OC*C), make([]float32, OC)
	if err := dev.SetProfile(true); err != nil {
		t.Fatal(err)
	}
	for range times {
		if err := dev.MatmulForward(out, inp, w, bias, N, C, OC); err != nil {
			t.Fatal(err)
		}
	}
	got, err := dev.Profile()
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// eventEmu is the emulator with an EventTimer on the host clock (its launches run as they are
// queued, so a mark's time is when the work before it ended): a test backend for the profile's
// bookkeeping of marks, which the CUDA backend does with CUDA events.
type eventEmu struct {
	*cudaemu.Backend
	at   map[uint64]time.Time
	next uint64
}

func (e *eventEmu) Mark() (uint64, error) {
	e.next++
	e.at[e.next] = time.Now()
	return e.next, nil
}

func (e *eventEmu) Elapsed(from, to uint64) (time.Duration, error) {
	return e.at[to].Sub(e.at[from]), nil
}

func (e *eventEmu) Unmark(id uint64) { delete(e.at, id) }

// With an EventTimer, each launch is timed between its two marks, counted once, and every mark
// is released when the call ends.
func TestProfileOnEventMarks(t *testing.T) {
	be := &eventEmu{Backend: cudaemu.New(), at: map[uint64]time.Time{}}
	dev, err := gpu.NewKernelDevice(func() (gpu.KernelBackend, error) { return be, nil })
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if c := dev.ProfileClock(); c != "device events around each launch" {
		t.Errorf("clock %q", c)
	}
	got := profileLinear(t, dev, 3)
	if len(got) != 2 || got[0].Calls != 3 || got[1].Calls != 3 || got[0].Total <= 0 {
		t.Errorf("profile %+v, want the product and add_bias, 3 calls each", got)
	}
	if len(be.at) != 0 {
		t.Errorf("%d marks not released", len(be.at))
	}
}

// UseGemm: auto takes the sgemm kernel on a device without cuBLAS (the emulator), a mode the
// device lacks is an error naming the ones it has, and the CPU takes only auto.
func TestUseGemm(t *testing.T) {
	dev := emulatedDevice(t)
	for _, mode := range []string{"", "auto", "kernel"} {
		if got, err := gpu.UseGemm(dev, mode); err != nil || got != "kernel" {
			t.Errorf("UseGemm(emulator, %q) = %q, %v; want kernel", mode, got, err)
		}
	}
	if _, err := gpu.UseGemm(dev, "cublas"); err == nil || !strings.Contains(err.Error(), "kernel") {
		t.Errorf("UseGemm(emulator, cublas): %v, want an error listing the modes", err)
	}
	if got, err := gpu.UseGemm(gpu.CPU{}, "auto"); err != nil || got != "cpu" {
		t.Errorf("UseGemm(CPU, auto) = %q, %v", got, err)
	}
	if _, err := gpu.UseGemm(gpu.CPU{}, "cublas"); err == nil {
		t.Error("UseGemm(CPU, cublas) succeeded")
	}
}

// Matrix products in every layout on the emulated device (gputest.Gemm; the sgemm kernel).
func TestGemmOnEmulatedCUDA(t *testing.T) {
	dev := emulatedDevice(t)
	gputest.Gemm(t, dev)
}

// emulatedDevice is a KernelDevice on gpu/cudaemu, closed when the test ends.
func emulatedDevice(t *testing.T) *gpu.KernelDevice {
	t.Helper()
	dev, err := gpu.NewKernelDevice(func() (gpu.KernelBackend, error) { return cudaemu.New(), nil })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	return dev
}

// GemmPrecision's measure on the emulated device (the sgemm kernel, float32): within float32's
// limit, so that the GPU check's tensor-core readings rest on a measure that holds on float32.
func TestGemmPrecisionOnEmulatedCUDA(t *testing.T) {
	gputest.GemmPrecision(t, emulatedDevice(t), []gputest.GemmShape{{M: 96, N: 64, K: 352}})
}

// The bf16 conversion of the cublas-bf16 product, on the emulated device.
func TestBF16OnEmulatedCUDA(t *testing.T) { gputest.BF16(t, emulatedDevice(t)) }
