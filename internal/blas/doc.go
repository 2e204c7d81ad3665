// Package blas is vrlaif's thin cgo binding to OpenBLAS for the float32 kernels that training
// spends its time in: Sgemm, Sgemv, Saxpy and Sdot, all row-major, with gonum-style argument
// checks that panic on programmer errors (negative sizes, leading dimensions smaller than a row,
// slices too short for the shapes they are said to hold).
//
// It links OpenBLAS through pkg-config (`#cgo pkg-config: openblas`); on Debian and Ubuntu that
// is the libopenblas-dev package. SgemmRef is a pure-Go naive reference with the same signature;
// tests compare the two.
//
// # Threads
//
// OpenBLAS keeps one process-wide thread pool. Its size defaults to the OPENBLAS_NUM_THREADS
// environment variable (then GOTO_NUM_THREADS, then OMP_NUM_THREADS) read when the library is
// loaded, and otherwise to the number of CPUs the process may run on. SetThreads changes it for
// the whole process, and Threads reports it. The pool is shared by every goroutine: calls are
// safe from several goroutines, but they compete for the same threads, so a training step should
// issue its BLAS calls from one goroutine and let OpenBLAS parallelize inside each call.
//
// # Layout
//
// Matrices are row-major: element (i, j) of a matrix with leading dimension ld is at [i*ld+j],
// and ld must be at least the number of columns (and at least 1). A slice holding an r×c matrix
// needs (r-1)*ld+c elements; the padding after the last row may be absent.
package blas
