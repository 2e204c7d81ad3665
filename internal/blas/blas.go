package blas

/*
#cgo pkg-config: openblas
#cgo noescape cblas_sgemm
#cgo nocallback cblas_sgemm
#cgo noescape cblas_sgemv
#cgo nocallback cblas_sgemv
#cgo noescape cblas_saxpy
#cgo nocallback cblas_saxpy
#cgo noescape cblas_sdot
#cgo nocallback cblas_sdot
#include <cblas.h>
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// ptr returns a C pointer to s[0], or nil for an empty slice. Float32 slices hold no Go pointers,
// so passing them to C is allowed, and OpenBLAS keeps no reference after the call returns.
func ptr(s []float32) *C.float {
	if len(s) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&s[0]))
}

// cTrans maps a transpose flag to its CBLAS enum.
func cTrans(t bool) C.enum_CBLAS_TRANSPOSE {
	if t {
		return C.CblasTrans
	}
	return C.CblasNoTrans
}

// Sgemm computes, for row-major matrices,
//
//	C = alpha·op(A)·op(B) + beta·C
//
// where op(X) is X, or Xᵀ when the matching trans flag is set; op(A) is m×k, op(B) is k×n and
// C is m×n. A is stored m×k (k×m when transA) with leading dimension lda, B is stored k×n (n×k
// when transB) with leading dimension ldb. When beta is 0, C is not read (NaNs in it are
// overwritten). When m or n is 0 it does nothing; when k is 0 it computes C = beta·C.
//
// Sgemm panics if a size is negative, a leading dimension is smaller than its row, or a slice is
// too short for its matrix.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm("Sgemm", transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	C.cblas_sgemm(C.CblasRowMajor, cTrans(transA), cTrans(transB),
		C.blasint(m), C.blasint(n), C.blasint(k),
		C.float(alpha), ptr(a), C.blasint(lda), ptr(b), C.blasint(ldb),
		C.float(beta), ptr(c), C.blasint(ldc))
}

// Sgemv computes, for a row-major m×n matrix A with leading dimension lda,
//
//	y = alpha·A·x + beta·y    (trans false: x has n elements, y has m)
//	y = alpha·Aᵀ·x + beta·y   (trans true: x has m elements, y has n)
//
// with x and y read with strides incX and incY, which must be positive. When beta is 0, y is not
// read. When y is empty it does nothing; when x is empty it computes y = beta·y.
//
// Sgemv panics on negative sizes, non-positive increments, lda < max(1, n) or short slices.
func Sgemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, incX int, beta float32, y []float32, incY int) {
	lenX, lenY := checkGemv("Sgemv", trans, m, n, a, lda, x, incX, y, incY)
	if lenY == 0 {
		return
	}
	if lenX == 0 {
		scale(lenY, beta, y, incY)
		return
	}
	C.cblas_sgemv(C.CblasRowMajor, cTrans(trans), C.blasint(m), C.blasint(n),
		C.float(alpha), ptr(a), C.blasint(lda), ptr(x), C.blasint(incX),
		C.float(beta), ptr(y), C.blasint(incY))
}

// scale sets y = beta·y over n elements with stride inc, writing zeros when beta is 0.
func scale(n int, beta float32, y []float32, inc int) {
	for i := range n {
		if beta == 0 {
			y[i*inc] = 0
		} else {
			y[i*inc] *= beta
		}
	}
}

// Saxpy computes y = alpha·x + y over n elements read with positive strides incX and incY.
// It panics on a negative n, non-positive increments or short slices.
func Saxpy(n int, alpha float32, x []float32, incX int, y []float32, incY int) {
	checkLevel1("Saxpy", n, x, incX, y, incY)
	if n == 0 {
		return
	}
	C.cblas_saxpy(C.blasint(n), C.float(alpha), ptr(x), C.blasint(incX), ptr(y), C.blasint(incY))
}

// Sdot returns Σ x[i·incX]·y[i·incY] over n elements, accumulated in float32 (0 when n is 0).
// It panics on a negative n, non-positive increments or short slices.
func Sdot(n int, x []float32, incX int, y []float32, incY int) float32 {
	checkLevel1("Sdot", n, x, incX, y, incY)
	if n == 0 {
		return 0
	}
	return float32(C.cblas_sdot(C.blasint(n), ptr(x), C.blasint(incX), ptr(y), C.blasint(incY)))
}

// SetThreads sets the size of OpenBLAS's process-wide thread pool used by every later call; see
// the package documentation for the default. It panics if n < 1.
func SetThreads(n int) {
	if n < 1 {
		panic(fmt.Sprintf("blas.SetThreads: n = %d, want ≥ 1", n))
	}
	checkDim("SetThreads", "n", n)
	C.openblas_set_num_threads(C.int(n))
}

// Threads returns the size of OpenBLAS's thread pool.
func Threads() int {
	return int(C.openblas_get_num_threads())
}

// CoreName is the CPU kernel set OpenBLAS chose when it loaded ("Haswell", "SkylakeX",
// "Cooperlake", …): its own detection, or the OPENBLAS_CORETYPE environment variable. Throughput
// figures depend on it (AVX2 and AVX-512 kernels differ about twofold at the peak), so benchmarks
// print it beside them.
func CoreName() string {
	return C.GoString(C.openblas_get_corename())
}
