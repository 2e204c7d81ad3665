//go:build cuda

package gpu

import (
	"fmt"
	"time"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/vrlaif/vrlaif/gpu/kernels"
)

// NewCUDA opens NVIDIA GPU ordinal (0 for the first) through the CUDA driver API
// (gorgonia.org/cu, libcuda only: no cuBLAS or runtime library is linked; cuBLAS is loaded at run
// time when the machine has it, see cublas.go) and loads gpu/kernels'
// PTX, which the driver JIT-compiles for the GPU it finds (compute_80 PTX runs on sm_80 and
// newer). The context lives on the device's own OS thread (see KernelDevice).
func NewCUDA(ordinal int) (*KernelDevice, error) {
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("gpu: CUDA: counting devices: %w", err)
	}
	if ordinal < 0 || ordinal >= n {
		return nil, fmt.Errorf("gpu: CUDA: no device %d (%d present)", ordinal, n)
	}
	return NewKernelDevice(func() (KernelBackend, error) { return openCUDABackend(cu.Device(ordinal)) })
}

// cudaBackend is a KernelBackend on one CUDA context.
type cudaBackend struct {
	name    string
	ctx     cu.CUContext
	mods    []cu.Module
	fns     map[string]cu.Function
	blas    *cublas // nil without cuBLAS: the sgemm kernel only
	blasErr error
	marks   map[uint64]cu.Event // EventTimer's marks
	nextID  uint64
}

// openCUDABackend creates a context on dev (current on the calling, locked thread) and loads
// every kernel.
func openCUDABackend(dev cu.Device) (*cudaBackend, error) {
	name, _ := dev.Name()
	ctx, err := dev.MakeContext(cu.SchedAuto)
	if err != nil {
		return nil, fmt.Errorf("gpu: CUDA: context on %s: %w", name, err)
	}
	b := &cudaBackend{name: name, ctx: ctx, fns: map[string]cu.Function{}, marks: map[uint64]cu.Event{}}
	for _, k := range kernels.Names() {
		if err := b.load(k); err != nil {
			b.Close()
			return nil, fmt.Errorf("gpu: CUDA: loading kernels/%s.ptx on %s: %w", k, name, err)
		}
	}
	b.blas, b.blasErr = openCUBLAS()
	return b, nil
}

// GemmModes: cuBLAS's modes when it loaded: float32, TF32 tensor cores, and bf16 tensor cores on
// operands the device converts to bf16 first (gemm_bf16.go).
func (b *cudaBackend) GemmModes() []string {
	if b.blas == nil {
		return nil
	}
	return []string{"cublas", "cublas-tf32", bf16Mode}
}

// CUBLAS says which cuBLAS the backend loaded, or why none.
func (b *cudaBackend) CUBLAS() string {
	if b.blas == nil {
		return b.blasErr.Error()
	}
	return b.blas.path
}

func (b *cudaBackend) Gemm(mode string, transA, transB bool, m, n, k int, alpha float32, a uint64, lda int, bb uint64, ldb int, beta float32, c uint64, ldc int) error {
	if b.blas == nil {
		return b.blasErr
	}
	return b.blas.gemm(mode, transA, transB, m, n, k, alpha, a, lda, bb, ldb, beta, c, ldc)
}

func (b *cudaBackend) load(k string) error {
	ptx, err := kernels.PTX(k)
	if err != nil {
		return err
	}
	mod, err := cu.LoadData(ptx)
	if err != nil {
		return err
	}
	b.mods = append(b.mods, mod)
	for entry := range kernels.Signatures(ptx) {
		fn, err := mod.Function(entry)
		if err != nil {
			return fmt.Errorf("%s: %w", entry, err)
		}
		b.fns[entry] = fn
	}
	return nil
}

func (b *cudaBackend) Name() string { return b.name }

func (b *cudaBackend) Alloc(bytes int64) (uint64, error) {
	p, err := cu.MemAlloc(bytes)
	return uint64(p), err
}

func (b *cudaBackend) Free(ptr uint64) error { return cu.MemFree(cu.DevicePtr(ptr)) }

func (b *cudaBackend) CopyIn(dst uint64, src unsafe.Pointer, bytes int64) error {
	return cu.MemcpyHtoD(cu.DevicePtr(dst), src, bytes)
}

func (b *cudaBackend) CopyOut(dst unsafe.Pointer, src uint64, bytes int64) error {
	return cu.MemcpyDtoH(dst, cu.DevicePtr(src), bytes)
}

// Launch: cu's Launch copies 8 bytes from each parameter pointer into C memory; the driver reads
// as many as the kernel's parameter takes.
func (b *cudaBackend) Launch(kernel string, grid, block int, args []uint64) error {
	fn, ok := b.fns[kernel]
	if !ok {
		return fmt.Errorf("no kernel %s loaded", kernel)
	}
	params := make([]unsafe.Pointer, len(args))
	for i := range args {
		params[i] = unsafe.Pointer(&args[i])
	}
	return fn.Launch(grid, 1, 1, block, 1, 1, 0, cu.Stream{}, params)
}

// Zero and Copy run on the NULL stream, after the launches before them.
func (b *cudaBackend) Zero(dst uint64, bytes int64) error {
	return cu.MemsetD8(cu.DevicePtr(dst), 0, bytes)
}

func (b *cudaBackend) Copy(dst, src uint64, bytes int64) error {
	return cu.MemcpyDtoD(cu.DevicePtr(dst), cu.DevicePtr(src), bytes)
}

func (b *cudaBackend) Sync() error { return cu.Synchronize() }

// Mark records a CUDA event on the NULL stream, where the launches, copies and cuBLAS run
// (EventTimer).
func (b *cudaBackend) Mark() (uint64, error) {
	ev, err := cu.MakeEvent(cu.DefaultEvent)
	if err != nil {
		return 0, err
	}
	if err := ev.Record(cu.Stream{}); err != nil {
		cu.DestroyEvent(&ev)
		return 0, err
	}
	b.nextID++
	b.marks[b.nextID] = ev
	return b.nextID, nil
}

func (b *cudaBackend) Elapsed(from, to uint64) (time.Duration, error) {
	f, okf := b.marks[from]
	t, okt := b.marks[to]
	if !okf || !okt {
		return 0, fmt.Errorf("no mark %d or %d", from, to)
	}
	ms, err := f.Elapsed(t)
	return time.Duration(ms * float64(time.Millisecond)), err
}

func (b *cudaBackend) Unmark(id uint64) {
	if ev, ok := b.marks[id]; ok {
		cu.DestroyEvent(&ev)
		delete(b.marks, id)
	}
}

func (b *cudaBackend) Close() error {
	for id := range b.marks {
		b.Unmark(id)
	}
	if b.blas != nil {
		b.blas.close()
		b.blas = nil
	}
	for _, m := range b.mods {
		m.Unload()
	}
	b.mods = nil
	return b.ctx.Destroy()
}
