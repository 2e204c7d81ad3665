package cudaemu

// #cgo CXXFLAGS: -std=c++20 -O2 -pthread
// #cgo LDFLAGS: -pthread
// #include <stdlib.h>
// #include <string.h>
// #include "emu_export.h"
import "C"

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"unsafe"

	"github.com/vrlaif/vrlaif/gpu/kernels"
)

// Backend is a gpu.KernelBackend on the CPU: device memory is C heap memory, and a device pointer
// is its address. Every allocation is followed by guard bytes; a launch that wrote into them (a
// kernel writing past the end of a buffer) fails at the next Sync.
type Backend struct {
	mu   sync.Mutex
	live map[uint64]alloc
}

type alloc struct {
	p    unsafe.Pointer
	size int64
}

// New returns an empty backend.
func New() *Backend { return &Backend{live: map[uint64]alloc{}} }

func (b *Backend) Name() string { return "cudaemu (CUDA C on the CPU)" }

// guardBytes follow every allocation, filled with guardByte.
const (
	guardBytes = 64
	guardByte  = 0xA5
)

func (b *Backend) Alloc(bytes int64) (uint64, error) {
	p := C.malloc(C.size_t(bytes + guardBytes))
	if p == nil {
		return 0, fmt.Errorf("cudaemu: out of memory (%d bytes)", bytes)
	}
	C.memset(p, 0, C.size_t(bytes))
	C.memset(unsafe.Add(p, bytes), guardByte, guardBytes)
	b.mu.Lock()
	defer b.mu.Unlock()
	addr := uint64(uintptr(p))
	b.live[addr] = alloc{p, bytes}
	return addr, nil
}

func (b *Backend) Free(ptr uint64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, ok := b.live[ptr]
	if !ok {
		return fmt.Errorf("cudaemu: free of %#x, which is not allocated", ptr)
	}
	delete(b.live, ptr)
	C.free(a.p)
	return nil
}

// at returns the host address of device address ptr, which may be inside an allocation, or an
// error for an access of bytes bytes that would leave it.
func (b *Backend) at(ptr uint64, bytes int64) (unsafe.Pointer, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if a, ok := b.live[ptr]; ok && bytes <= a.size { // the common case: a buffer's start
		return a.p, nil
	}
	for addr, a := range b.live {
		if ptr >= addr && ptr < addr+uint64(a.size) {
			if off := int64(ptr - addr); off+bytes <= a.size {
				return unsafe.Add(a.p, off), nil
			}
			break
		}
	}
	return nil, fmt.Errorf("cudaemu: access of %d bytes at %#x outside its allocation", bytes, ptr)
}

func (b *Backend) Zero(dst uint64, bytes int64) error {
	p, err := b.at(dst, bytes)
	if err != nil {
		return err
	}
	C.memset(p, 0, C.size_t(bytes))
	return nil
}

func (b *Backend) Copy(dst, src uint64, bytes int64) error {
	pd, err := b.at(dst, bytes)
	if err != nil {
		return err
	}
	ps, err := b.at(src, bytes)
	if err != nil {
		return err
	}
	C.memmove(pd, ps, C.size_t(bytes))
	return nil
}

func (b *Backend) CopyIn(dst uint64, src unsafe.Pointer, bytes int64) error {
	p, err := b.at(dst, bytes)
	if err != nil {
		return err
	}
	C.memcpy(p, src, C.size_t(bytes))
	return nil
}

func (b *Backend) CopyOut(dst unsafe.Pointer, src uint64, bytes int64) error {
	p, err := b.at(src, bytes)
	if err != nil {
		return err
	}
	C.memcpy(dst, p, C.size_t(bytes))
	return nil
}

func (b *Backend) Launch(kernel string, grid, block int, args []uint64) error {
	name := C.CString(kernel)
	defer C.free(unsafe.Pointer(name))
	cargs := (*C.uint64_t)(C.calloc(C.size_t(max(1, len(args))), 8))
	defer C.free(unsafe.Pointer(cargs))
	copy(unsafe.Slice((*uint64)(unsafe.Pointer(cargs)), len(args)), args)
	if rc := C.emu_launch(name, C.int(grid), C.int(block), cargs, C.int(len(args))); rc != 0 {
		return fmt.Errorf("cudaemu: no kernel %s taking %d arguments", kernel, len(args))
	}
	return nil
}

// Sync checks every allocation's guard bytes.
func (b *Backend) Sync() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for addr, a := range b.live {
		g := unsafe.Slice((*byte)(unsafe.Add(a.p, a.size)), guardBytes)
		for i, v := range g {
			if v != guardByte {
				return fmt.Errorf("cudaemu: a kernel wrote past the end of the %d-byte buffer at %#x (guard byte %d)", a.size, addr, i)
			}
		}
	}
	return nil
}

// Close frees what is still allocated.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, a := range b.live {
		C.free(a.p)
	}
	clear(b.live)
	return nil
}

// NumArgs is the parameter count of kernel as compiled here, or −1 if the emulator lacks it.
func NumArgs(kernel string) int {
	name := C.CString(kernel)
	defer C.free(unsafe.Pointer(name))
	return int(C.emu_nargs(name))
}

// SourcesHash is the hash of the kernel sources as they are now: SHA-256 over each kernel's
// kernels.SourceSHA256 with no flags, in name order.
func SourcesHash() string {
	h := sha256.New()
	for _, k := range kernels.Names() {
		s, _ := kernels.SourceSHA256(k, "")
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// CompiledSources is the hash the C++ was compiled with (sources_hash.go), without its "h".
func CompiledSources() string { return C.GoString(C.emu_sources())[1:] }
