package gpu

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"unsafe"

	"github.com/vrlaif/vrlaif/gpu/kernels"
)

// KernelBackend is what KernelDevice needs from a GPU runtime: device memory, copies, and
// launches of the kernels in gpu/kernels by entry name. The CUDA driver is one (cuda.go, -tags
// cuda); gpu/cudaemu, which runs the same CUDA C on the CPU with a thread per GPU thread, is the
// other, so that the kernels and the host code around them are tested on machines without a GPU.
// Pointers are device addresses as integers. Every method is called from one OS thread.
type KernelBackend interface {
	Name() string
	Alloc(bytes int64) (uint64, error)
	Free(ptr uint64) error
	CopyIn(dst uint64, src unsafe.Pointer, bytes int64) error
	CopyOut(dst unsafe.Pointer, src uint64, bytes int64) error
	// Launch runs kernel on grid blocks of block threads; args holds one 8-byte slot per kernel
	// parameter, the value in its low bytes (as the CUDA driver reads them).
	Launch(kernel string, grid, block int, args []uint64) error
	// Zero sets bytes bytes at dst to 0; Copy copies bytes bytes between device addresses. Both
	// are ordered with the launches (the same stream) and may address the inside of a buffer.
	Zero(dst uint64, bytes int64) error
	Copy(dst, src uint64, bytes int64) error
	Sync() error
	Close() error
}

// KernelDevice is the Device that runs gpu/kernels' CUDA C on a KernelBackend.
//
// One goroutine, locked to its OS thread, owns the backend (a CUDA context is tied to a thread)
// and makes every call to it; methods hand it work and wait, so the device may be called from any
// goroutine (one call at a time runs). Device buffers come from a pool keyed by size and are
// reused across calls; Close frees them and closes the backend.
//
// Each method uploads its inputs, runs its kernels and copies its outputs back: gpu.Device's
// tensors live on the host, so this moves B·T floats per call. Reductions sum in a fixed order
// (deterministic, no atomics): a row's sum in one block, with double accumulators like gpu.CPU's
// float64 sums; a long sum or column sums over many rows in two stages, partial sums over
// chunks first. Every launch is checked against
// the kernel's parameter list in the PTX (count and types), so a host/kernel mismatch is an error,
// not garbage.
type KernelDevice struct {
	work   chan func()
	closed chan struct{}
	gone   chan struct{} // closed once the device goroutine has freed everything
	once   sync.Once
	name   string
	sigs   map[string][]string

	// owned by the device goroutine
	be       KernelBackend
	pool     map[int64][]uint64
	all      []uint64
	gemmMode string                 // "": the sgemm kernel; else a GemmBackend mode
	kept     map[uint64]bool        // buffers from Alloc (not the pool's)
	prof     map[string]*KernelTime // per-launch times while profiling (profile.go); nil when off
}

// GemmBackend is a KernelBackend with matrix products of its own (cuBLAS, in cublas.go), in one
// or more modes (say, "cublas" in float32 and "cublas-tf32" on tensor cores). Row-major, with
// the arguments of Queue.Gemm.
type GemmBackend interface {
	GemmModes() []string
	Gemm(mode string, transA, transB bool, m, n, k int, alpha float32, a uint64, lda int, b uint64, ldb int, beta float32, c uint64, ldc int) error
}

// GemmModes lists the products SetGemm takes: "kernel" (gpu/kernels' sgemm) and the backend's.
func (d *KernelDevice) GemmModes() []string {
	modes := []string{"kernel"}
	if g, ok := d.be.(GemmBackend); ok {
		modes = append(modes, g.GemmModes()...)
	}
	return modes
}

// SetGemm chooses the product every later matrix product runs on (one of GemmModes). Call it
// between calls, not during one.
func (d *KernelDevice) SetGemm(mode string) error {
	for _, m := range d.GemmModes() {
		if m == mode {
			return d.do(func(*call) {
				if mode == "kernel" {
					mode = ""
				}
				d.gemmMode = mode
			})
		}
	}
	return fmt.Errorf("gpu: %s: no matrix product %q (have %v)", d.name, mode, d.GemmModes())
}

var _ Device = (*KernelDevice)(nil)

// block is the threads per block of every kernel (VRLAIF_BLOCK in kernels/reduce.cuh).
const block = 256

// NewKernelDevice starts the device goroutine and opens the backend on it.
func NewKernelDevice(open func() (KernelBackend, error)) (*KernelDevice, error) {
	sigs, err := kernelSignatures()
	if err != nil {
		return nil, err
	}
	d := &KernelDevice{work: make(chan func()), closed: make(chan struct{}), gone: make(chan struct{}), sigs: sigs, pool: map[int64][]uint64{}, kept: map[uint64]bool{}}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer close(d.gone)
		be, err := open()
		if err != nil {
			started <- err
			return
		}
		d.be, d.name = be, be.Name()
		started <- nil
		for {
			select {
			case f := <-d.work:
				f()
			case <-d.closed:
				for _, p := range d.all {
					d.be.Free(p)
				}
				d.all, d.pool = nil, nil
				d.be.Close()
				return
			}
		}
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return d, nil
}

// kernelSignatures reads every entry's parameter types from the embedded PTX.
func kernelSignatures() (map[string][]string, error) {
	sigs := map[string][]string{}
	for _, k := range kernels.Names() {
		ptx, err := kernels.PTX(k)
		if err != nil {
			return nil, err
		}
		for name, params := range kernels.Signatures(ptx) {
			sigs[name] = params
		}
	}
	return sigs, nil
}

// Name is the backend's name for the device (the GPU's, for CUDA).
func (d *KernelDevice) Name() string { return d.name }

// Close frees the device's memory and closes the backend (the CUDA context), and returns once
// that is done. Calls after Close return an error.
func (d *KernelDevice) Close() error {
	d.once.Do(func() { close(d.closed) })
	<-d.gone
	return nil
}

var errClosed = errors.New("gpu: kernel device closed")

// do runs f on the device goroutine with a fresh call and waits; the buffers the call took go
// back to the pool.
func (d *KernelDevice) do(f func(c *call)) error {
	done := make(chan error, 1)
	job := func() {
		c := &call{d: d}
		f(c)
		if c.err == nil {
			if err := d.be.Sync(); err != nil {
				c.err = fmt.Errorf("gpu: %s: %w", d.name, err)
			}
		}
		if len(c.marks) > 0 {
			c.settleMarks()
		}
		for _, b := range c.bufs {
			d.pool[b.size] = append(d.pool[b.size], b.ptr)
		}
		done <- c.err
	}
	select {
	case d.work <- job:
		return <-done
	case <-d.closed:
		return errClosed
	}
}

// Ptr is a device address, as a kernel argument: the start of a KernelDevice buffer or a place
// inside one.
type Ptr uint64

// Floats is the address n float32 (or int32) elements after p.
func (p Ptr) Floats(n int) Ptr { return p + Ptr(4*n) }

// call is one method's work on the device: the buffers it took and its first error. Every step
// after an error does nothing.
type call struct {
	d      *KernelDevice
	bufs   []devBuf
	err    error
	timing bool   // inside a profiled launch (profile.go)
	marks  []mark // profiled launches to time once the call has synchronised
}

type devBuf struct {
	ptr  uint64
	size int64
}

func (c *call) fail(what string, err error) {
	if c.err == nil {
		c.err = fmt.Errorf("gpu: %s: %s: %w", c.d.name, what, err)
	}
}

// alloc takes a buffer of n bytes from the pool. Sizes are exact, not rounded up: a learner's
// shapes repeat, so exact sizes are reused as well, and a backend that guards the end of each
// buffer (gpu/cudaemu) catches a kernel writing one element too far.
func (c *call) alloc(n int64) Ptr {
	if c.err != nil {
		return 0
	}
	size := max(n, 1)
	var p uint64
	if free := c.d.pool[size]; len(free) > 0 {
		p = free[len(free)-1]
		c.d.pool[size] = free[:len(free)-1]
	} else {
		var err error
		if p, err = c.d.be.Alloc(size); err != nil {
			c.fail(fmt.Sprintf("allocating %d bytes", size), err)
			return 0
		}
		c.d.all = append(c.d.all, p)
	}
	c.bufs = append(c.bufs, devBuf{p, size})
	return Ptr(p)
}

// upload copies n bytes at src to a new device buffer.
func (c *call) upload(src unsafe.Pointer, n int64) Ptr {
	p := c.alloc(n)
	if c.err == nil && n > 0 {
		if err := c.d.be.CopyIn(uint64(p), src, n); err != nil {
			c.fail("copy to device", err)
		}
	}
	return p
}

func (c *call) f32(x []float32) Ptr {
	if len(x) == 0 {
		return c.alloc(4)
	}
	return c.upload(unsafe.Pointer(&x[0]), int64(4*len(x)))
}

func (c *call) i32(x []int32) Ptr {
	if len(x) == 0 {
		return c.alloc(4)
	}
	return c.upload(unsafe.Pointer(&x[0]), int64(4*len(x)))
}

func (c *call) bytes(x []byte) Ptr {
	if len(x) == 0 {
		return c.alloc(1)
	}
	return c.upload(unsafe.Pointer(&x[0]), int64(len(x)))
}

func (c *call) download(dst unsafe.Pointer, p Ptr, n int64) {
	if c.err != nil || n == 0 {
		return
	}
	if err := c.d.be.CopyOut(dst, uint64(p), n); err != nil {
		c.fail("copy from device", err)
	}
}

func (c *call) f32back(dst []float32, p Ptr) {
	if len(dst) > 0 {
		c.download(unsafe.Pointer(&dst[0]), p, int64(4*len(dst)))
	}
}

func (c *call) f64back(dst []float64, p Ptr) {
	if len(dst) > 0 {
		c.download(unsafe.Pointer(&dst[0]), p, int64(8*len(dst)))
	}
}

// launch runs kernel on grid×block threads. Each argument is a Ptr, int32, float32 or
// float64, checked against the kernel's PTX parameter types and passed by value in its own
// 8-byte slot.
func (c *call) launch(kernel string, grid int, args ...any) {
	if c.err != nil {
		return
	}
	sig, ok := c.d.sigs[kernel]
	if !ok {
		c.fail("launch", fmt.Errorf("no kernel %s in the embedded PTX", kernel))
		return
	}
	if len(sig) != len(args) {
		c.fail("launch", fmt.Errorf("%s takes %d parameters, got %d", kernel, len(sig), len(args)))
		return
	}
	slots := make([]uint64, len(args))
	for i, a := range args {
		var want string
		switch v := a.(type) {
		case Ptr:
			slots[i], want = uint64(v), "u64"
		case int32:
			slots[i], want = uint64(uint32(v)), "32"
		case float32:
			slots[i], want = uint64(math.Float32bits(v)), "f32"
		case float64:
			slots[i], want = math.Float64bits(v), "f64"
		default:
			panic(fmt.Sprintf("gpu: %s: argument %d has type %T", kernel, i, a))
		}
		// PTX writes int as .u32 or .s32 and a pointer as .u64.
		if got := sig[i]; !(got == want || want == "32" && (got == "u32" || got == "s32")) {
			c.fail("launch", fmt.Errorf("%s parameter %d is .%s, got a %T", kernel, i, got, a))
			return
		}
	}
	c.timed(kernel, func() {
		if err := c.d.be.Launch(kernel, max(1, grid), block, slots); err != nil {
			c.fail("launching "+kernel, err)
		}
	})
}

// blocks is the grid that gives one thread per element of n.
func blocks(n int) int { return (n + block - 1) / block }
