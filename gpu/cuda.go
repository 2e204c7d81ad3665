//go:build cuda

package gpu

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/vrlaif/vrlaif/gpu/kernels"
)

// CUDA is the Device on an NVIDIA GPU, through the CUDA driver API (gorgonia.org/cu, libcuda
// only: no cuBLAS or runtime library is linked). Its kernels are the CUDA C files in gpu/kernels,
// embedded as PTX and JIT-compiled by the driver for whatever GPU it finds (compute_80 PTX runs on
// sm_80 and newer).
//
// One goroutine, locked to its OS thread, owns the CUDA context and makes every driver call;
// methods hand it work and wait, so a CUDA device may be called from any goroutine (one call at a
// time runs). Device buffers come from a pool keyed by size and are reused across calls; Close
// frees them, unloads the modules and destroys the context.
//
// Each method uploads its inputs, runs its kernels and copies its outputs back: the learner's
// tensors live on the host (gpu.Device's contract), so this device moves B·T floats per call.
// Reductions are single-block kernels with double accumulators, like gpu.CPU's float64 sums.
type CUDA struct {
	work   chan func()
	closed chan struct{}
	once   sync.Once
	name   string

	// owned by the context goroutine
	ctx  cu.CUContext
	mods []cu.Module
	fns  map[string]cu.Function
	pool map[int64][]cu.DevicePtr
	all  []cu.DevicePtr
}

var _ Device = (*CUDA)(nil)

// block is the threads per block of every kernel (VRLAIF_BLOCK in reduce.cuh).
const block = 256

// NewCUDA opens GPU ordinal (0 for the first), creates a context on it and loads every kernel.
func NewCUDA(ordinal int) (*CUDA, error) {
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("gpu: CUDA: counting devices: %w", err)
	}
	if ordinal < 0 || ordinal >= n {
		return nil, fmt.Errorf("gpu: CUDA: no device %d (%d present)", ordinal, n)
	}
	d := &CUDA{work: make(chan func()), closed: make(chan struct{}), fns: map[string]cu.Function{}, pool: map[int64][]cu.DevicePtr{}}
	started := make(chan error, 1)
	go d.loop(cu.Device(ordinal), started)
	if err := <-started; err != nil {
		return nil, err
	}
	return d, nil
}

// loop is the context goroutine.
func (d *CUDA) loop(dev cu.Device, started chan<- error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	name, _ := dev.Name()
	d.name = name
	ctx, err := dev.MakeContext(cu.SchedAuto)
	if err != nil {
		started <- fmt.Errorf("gpu: CUDA: context on %s: %w", name, err)
		return
	}
	d.ctx = ctx
	for _, k := range kernels.Names() {
		ptx, err := kernels.PTX(k)
		if err == nil {
			var mod cu.Module
			if mod, err = cu.LoadData(ptx); err == nil {
				d.mods = append(d.mods, mod)
				for _, entry := range kernels.Entries(ptx) {
					fn, ferr := mod.Function(entry)
					if ferr != nil {
						err = fmt.Errorf("%s: %w", entry, ferr)
						break
					}
					d.fns[entry] = fn
				}
			}
		}
		if err != nil {
			d.release()
			started <- fmt.Errorf("gpu: CUDA: loading kernels/%s.ptx on %s: %w", k, name, err)
			return
		}
	}
	started <- nil
	for {
		select {
		case f := <-d.work:
			f()
		case <-d.closed:
			d.release()
			return
		}
	}
}

// release frees everything the context holds (context goroutine only).
func (d *CUDA) release() {
	for _, p := range d.all {
		cu.MemFree(p)
	}
	d.all, d.pool = nil, map[int64][]cu.DevicePtr{}
	for _, m := range d.mods {
		m.Unload()
	}
	d.mods = nil
	d.ctx.Destroy()
}

// Name is the GPU's name as the driver reports it.
func (d *CUDA) Name() string { return d.name }

// Close frees the device's memory and its context. Calls after Close return an error.
func (d *CUDA) Close() error {
	d.once.Do(func() { close(d.closed) })
	return nil
}

var errClosed = errors.New("gpu: CUDA: device closed")

// do runs f on the context goroutine with a fresh call and waits; buffers the call took go back
// to the pool.
func (d *CUDA) do(f func(c *call)) error {
	done := make(chan error, 1)
	job := func() {
		c := &call{d: d}
		f(c)
		if c.err == nil {
			c.err = cu.Synchronize()
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

// call is one method's work on the device: the buffers it took and its first error. Every step
// after an error does nothing.
type call struct {
	d    *CUDA
	bufs []devBuf
	err  error
}

type devBuf struct {
	ptr  cu.DevicePtr
	size int64
}

// alloc takes a buffer of at least n bytes from the pool (sizes round up to a power of two, at
// least 256 bytes).
func (c *call) alloc(n int64) cu.DevicePtr {
	if c.err != nil {
		return 0
	}
	size := int64(256)
	for size < n {
		size *= 2
	}
	free := c.d.pool[size]
	var p cu.DevicePtr
	if len(free) > 0 {
		p = free[len(free)-1]
		c.d.pool[size] = free[:len(free)-1]
	} else {
		var err error
		if p, err = cu.MemAlloc(size); err != nil {
			c.err = fmt.Errorf("gpu: CUDA: allocating %d bytes: %w", size, err)
			return 0
		}
		c.d.all = append(c.d.all, p)
	}
	c.bufs = append(c.bufs, devBuf{p, size})
	return p
}

// upload copies n bytes at src to a new device buffer.
func (c *call) upload(src unsafe.Pointer, n int64) cu.DevicePtr {
	p := c.alloc(n)
	if c.err == nil && n > 0 {
		if err := cu.MemcpyHtoD(p, src, n); err != nil {
			c.err = fmt.Errorf("gpu: CUDA: copy to device: %w", err)
		}
	}
	return p
}

func (c *call) f32(x []float32) cu.DevicePtr {
	if len(x) == 0 {
		return c.alloc(4)
	}
	return c.upload(unsafe.Pointer(&x[0]), int64(4*len(x)))
}

func (c *call) i32(x []int32) cu.DevicePtr {
	if len(x) == 0 {
		return c.alloc(4)
	}
	return c.upload(unsafe.Pointer(&x[0]), int64(4*len(x)))
}

func (c *call) bytes(x []byte) cu.DevicePtr {
	if len(x) == 0 {
		return c.alloc(1)
	}
	return c.upload(unsafe.Pointer(&x[0]), int64(len(x)))
}

// download copies len(dst) values from p.
func (c *call) download(dst unsafe.Pointer, p cu.DevicePtr, n int64) {
	if c.err != nil || n == 0 {
		return
	}
	if err := cu.MemcpyDtoH(dst, p, n); err != nil {
		c.err = fmt.Errorf("gpu: CUDA: copy from device: %w", err)
	}
}

func (c *call) f32back(dst []float32, p cu.DevicePtr) {
	if len(dst) > 0 {
		c.download(unsafe.Pointer(&dst[0]), p, int64(4*len(dst)))
	}
}

func (c *call) f64back(dst []float64, p cu.DevicePtr) {
	if len(dst) > 0 {
		c.download(unsafe.Pointer(&dst[0]), p, int64(8*len(dst)))
	}
}

// launch runs kernel on grid×block threads. Each argument is a cu.DevicePtr, int32, float32 or
// float64, passed by value in its own 8-byte slot (cu's Launch copies 8 bytes per argument; the
// driver reads as many as the kernel's parameter takes, from the start of the slot).
func (c *call) launch(kernel string, grid int, args ...any) {
	if c.err != nil {
		return
	}
	fn, ok := c.d.fns[kernel]
	if !ok {
		c.err = fmt.Errorf("gpu: CUDA: no kernel %s in the embedded PTX", kernel)
		return
	}
	slots := make([]uint64, len(args))
	params := make([]unsafe.Pointer, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case cu.DevicePtr:
			slots[i] = uint64(v)
		case int32:
			slots[i] = uint64(uint32(v))
		case float32:
			slots[i] = uint64(math.Float32bits(v))
		case float64:
			slots[i] = math.Float64bits(v)
		default:
			panic(fmt.Sprintf("gpu: CUDA: %s: argument %d has type %T", kernel, i, a))
		}
		params[i] = unsafe.Pointer(&slots[i])
	}
	if err := fn.Launch(max(1, grid), 1, 1, block, 1, 1, 0, cu.Stream{}, params); err != nil {
		c.err = fmt.Errorf("gpu: CUDA: launching %s: %w", kernel, err)
	}
	runtime.KeepAlive(slots)
}

// blocks is the grid that gives one thread per element of n.
func blocks(n int) int { return (n + block - 1) / block }
