//go:build cuda

package gpu

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>

// cuBLAS, loaded at run time (dlopen) so that the binary links libcuda alone and runs with
// whatever libcublas.so.* the machine has. The prototypes are cuBLAS's (cublas_api.h, v2 API);
// handles and pointers are passed as void*.
typedef int (*cublas_create_fn)(void **);
typedef int (*cublas_destroy_fn)(void *);
typedef int (*cublas_sgemm_fn)(void *, int, int, int, int, int, const float *, const void *, int, const void *, int,
                               const float *, void *, int);
typedef int (*cublas_gemmex_fn)(void *, int, int, int, int, int, const void *, const void *, int, int, const void *,
                                int, int, const void *, void *, int, int, int, int);

typedef struct {
  void *lib, *handle;
  cublas_create_fn create;
  cublas_destroy_fn destroy;
  cublas_sgemm_fn sgemm;
  cublas_gemmex_fn gemmex;
} vrlaif_cublas;

static const char *vrlaif_cublas_open(vrlaif_cublas *c, const char *path) {
  c->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!c->lib) return dlerror();
  c->create = (cublas_create_fn)dlsym(c->lib, "cublasCreate_v2");
  c->destroy = (cublas_destroy_fn)dlsym(c->lib, "cublasDestroy_v2");
  c->sgemm = (cublas_sgemm_fn)dlsym(c->lib, "cublasSgemm_v2");
  c->gemmex = (cublas_gemmex_fn)dlsym(c->lib, "cublasGemmEx");
  if (!c->create || !c->destroy || !c->sgemm || !c->gemmex) return "a cuBLAS entry point is missing";
  return 0;
}

static int vrlaif_cublas_create(vrlaif_cublas *c) { return c->create(&c->handle); }
static int vrlaif_cublas_destroy(vrlaif_cublas *c) { return c->destroy(c->handle); }

// Column-major cuBLAS calls (the Go side swaps the operands for row-major). compute 0: plain
// cublasSgemm; otherwise cublasGemmEx with that cublasComputeType_t, A and B of cudaDataType_t
// abtype (float32 or bf16), C float32.
static int vrlaif_cublas_gemm(vrlaif_cublas *c, int compute, int abtype, int ta, int tb, int m, int n, int k, float alpha,
                              unsigned long long a, int lda, unsigned long long b, int ldb, float beta,
                              unsigned long long cc, int ldc) {
  if (compute == 0)
    return c->sgemm(c->handle, ta, tb, m, n, k, &alpha, (const void *)a, lda, (const void *)b, ldb, &beta, (void *)cc,
                    ldc);
  const int R32F = 0, DEFAULT_ALGO = -1;  // CUDA_R_32F, CUBLAS_GEMM_DEFAULT
  return c->gemmex(c->handle, ta, tb, m, n, k, &alpha, (const void *)a, abtype, lda, (const void *)b, abtype, ldb, &beta,
                   (void *)cc, R32F, ldc, compute, DEFAULT_ALGO);
}
*/
import "C"

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"unsafe"
)

// cuBLAS compute types (cublasComputeType_t) and data types (cudaDataType_t).
const (
	cublasCompute32F         = 68 // CUBLAS_COMPUTE_32F: float32 accumulation
	cublasCompute32FFastTF32 = 77 // CUBLAS_COMPUTE_32F_FAST_TF32: float32 data, TF32 tensor cores
	cudaR32F                 = 0  // CUDA_R_32F
	cudaR16BF                = 14 // CUDA_R_16BF
)

// cublasModes maps Gemm modes to a compute type (0: cublasSgemm, full float32) and the type of
// A and B. cublas-bf16's operands are bf16 copies the device made (gemm_bf16.go): given float32
// data, CUBLAS_COMPUTE_32F_FAST_16BF rounded as TF32 does on an H200.
var cublasModes = map[string]struct{ compute, ab int }{
	"cublas":      {0, cudaR32F},
	"cublas-tf32": {cublasCompute32FFastTF32, cudaR32F},
	bf16Mode:      {cublasCompute32F, cudaR16BF},
}

// cublasLibraries are the names tried in order, unless VRLAIF_CUBLAS names the library's path.
var cublasLibraries = []string{"libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"}

// cublas is a cuBLAS handle on the backend's context (created on the device's thread).
type cublas struct {
	c    C.vrlaif_cublas
	path string
}

// cublasLib is the library, loaded once per process and never unloaded (it carries a CUDA runtime
// of its own; loading it again for every device is needless and not always safe).
var cublasLib struct {
	once sync.Once
	c    C.vrlaif_cublas // entry points; no handle
	path string
	err  error
}

func loadCUBLAS() {
	names := cublasLibraries
	if p := os.Getenv("VRLAIF_CUBLAS"); p != "" {
		names = []string{p}
	}
	var why []string
	for _, name := range names {
		var c C.vrlaif_cublas
		cname := C.CString(name)
		msg := C.vrlaif_cublas_open(&c, cname)
		C.free(unsafe.Pointer(cname))
		if msg != nil {
			why = append(why, name+": "+C.GoString(msg))
			if c.lib != nil {
				C.dlclose(c.lib)
			}
			continue
		}
		cublasLib.c, cublasLib.path = c, name
		return
	}
	cublasLib.err = fmt.Errorf("gpu: no cuBLAS (set VRLAIF_CUBLAS to libcublas.so's path): %s", strings.Join(why, "; "))
}

// openCUBLAS creates a cuBLAS handle on the current context; an error when no library loads or
// the handle cannot be made (the device then runs the sgemm kernel only).
func openCUBLAS() (*cublas, error) {
	cublasLib.once.Do(loadCUBLAS)
	if cublasLib.err != nil {
		return nil, cublasLib.err
	}
	b := &cublas{c: cublasLib.c, path: cublasLib.path}
	if rc := C.vrlaif_cublas_create(&b.c); rc != 0 {
		return nil, fmt.Errorf("gpu: cuBLAS (%s): cublasCreate failed with status %d", b.path, rc)
	}
	return b, nil
}

func (b *cublas) close() { C.vrlaif_cublas_destroy(&b.c) }

// gemm is row-major C = alpha·op(A)·op(B) + beta·C, as column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: cuBLAS
// gets B first, n and m swapped, with the same transposition flags and leading dimensions.
func (b *cublas) gemm(mode string, transA, transB bool, m, n, k int, alpha float32, a uint64, lda int, bb uint64, ldb int, beta float32, c uint64, ldc int) error {
	how, ok := cublasModes[mode]
	if !ok {
		return fmt.Errorf("no cuBLAS mode %q", mode)
	}
	rc := C.vrlaif_cublas_gemm(&b.c, C.int(how.compute), C.int(how.ab), C.int(flag(transB)), C.int(flag(transA)), C.int(n), C.int(m), C.int(k),
		C.float(alpha), C.ulonglong(bb), C.int(ldb), C.ulonglong(a), C.int(lda), C.float(beta), C.ulonglong(c), C.int(ldc))
	if rc != 0 {
		return fmt.Errorf("cuBLAS %s: status %d (m %d n %d k %d)", mode, rc, m, n, k)
	}
	return nil
}
