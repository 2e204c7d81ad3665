//go:build cuda

package gpu

import (
	"fmt"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/vrlaif/vrlaif/gpu/kernels"
)

// NewCUDA opens NVIDIA GPU ordinal (0 for the first) through the CUDA driver API
// (gorgonia.org/cu, libcuda only: no cuBLAS or runtime library is linked) and loads gpu/kernels'
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
	name string
	ctx  cu.CUContext
	mods []cu.Module
	fns  map[string]cu.Function
}

// openCUDABackend creates a context on dev (current on the calling, locked thread) and loads
// every kernel.
func openCUDABackend(dev cu.Device) (*cudaBackend, error) {
	name, _ := dev.Name()
	ctx, err := dev.MakeContext(cu.SchedAuto)
	if err != nil {
		return nil, fmt.Errorf("gpu: CUDA: context on %s: %w", name, err)
	}
	b := &cudaBackend{name: name, ctx: ctx, fns: map[string]cu.Function{}}
	for _, k := range kernels.Names() {
		if err := b.load(k); err != nil {
			b.Close()
			return nil, fmt.Errorf("gpu: CUDA: loading kernels/%s.ptx on %s: %w", k, name, err)
		}
	}
	return b, nil
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

func (b *cudaBackend) Sync() error { return cu.Synchronize() }

func (b *cudaBackend) Close() error {
	for _, m := range b.mods {
		m.Unload()
	}
	b.mods = nil
	return b.ctx.Destroy()
}
