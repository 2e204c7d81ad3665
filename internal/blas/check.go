package blas

import (
	"fmt"
	"math"
)

// checkDim panics unless 0 ≤ v ≤ MaxInt32 (OpenBLAS is built with 32-bit integers).
func checkDim(fn, name string, v int) {
	if v < 0 {
		panic(fmt.Sprintf("blas.%s: %s = %d, want ≥ 0", fn, name, v))
	}
	if v > math.MaxInt32 {
		panic(fmt.Sprintf("blas.%s: %s = %d exceeds the 32-bit BLAS integer", fn, name, v))
	}
}

// checkLd panics unless the leading dimension ld of a matrix with cols columns is at least
// max(1, cols).
func checkLd(fn, name string, ld, cols int) {
	checkDim(fn, name, ld)
	if ld < max(1, cols) {
		panic(fmt.Sprintf("blas.%s: %s = %d, want ≥ max(1, %d columns)", fn, name, ld, cols))
	}
}

// checkMat panics unless a slice of length n holds a rows×cols matrix with leading dimension ld.
func checkMat(fn, name string, n, rows, cols, ld int) {
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; n < need {
		panic(fmt.Sprintf("blas.%s: len(%s) = %d, want ≥ %d for a %d×%d matrix with leading dimension %d",
			fn, name, n, need, rows, cols, ld))
	}
}

// checkInc panics unless inc > 0 (negative increments are not supported).
func checkInc(fn, name string, inc int) {
	checkDim(fn, name, inc)
	if inc == 0 {
		panic(fmt.Sprintf("blas.%s: %s = 0, want > 0", fn, name))
	}
}

// checkVec panics unless a slice of length n holds a vector of size elements with stride inc.
func checkVec(fn, name string, n, size, inc int) {
	if size == 0 {
		return
	}
	if need := (size-1)*inc + 1; n < need {
		panic(fmt.Sprintf("blas.%s: len(%s) = %d, want ≥ %d for %d elements with increment %d",
			fn, name, n, need, size, inc))
	}
}

// dims returns the stored shape of op(X) = rows×cols: X itself is rows×cols, or cols×rows when
// transposed.
func dims(trans bool, rows, cols int) (int, int) {
	if trans {
		return cols, rows
	}
	return rows, cols
}

// checkGemm validates the arguments of Sgemm and SgemmRef.
func checkGemm(fn string, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	checkDim(fn, "m", m)
	checkDim(fn, "n", n)
	checkDim(fn, "k", k)
	ar, ac := dims(transA, m, k)
	br, bc := dims(transB, k, n)
	checkLd(fn, "lda", lda, ac)
	checkLd(fn, "ldb", ldb, bc)
	checkLd(fn, "ldc", ldc, n)
	if m == 0 || n == 0 {
		return
	}
	checkMat(fn, "a", len(a), ar, ac, lda)
	checkMat(fn, "b", len(b), br, bc, ldb)
	checkMat(fn, "c", len(c), m, n, ldc)
}

// checkGemv validates the arguments of Sgemv and returns the lengths of x and y.
func checkGemv(fn string, trans bool, m, n int, a []float32, lda int, x []float32, incX int, y []float32, incY int) (lenX, lenY int) {
	checkDim(fn, "m", m)
	checkDim(fn, "n", n)
	checkLd(fn, "lda", lda, n)
	checkInc(fn, "incX", incX)
	checkInc(fn, "incY", incY)
	lenX, lenY = n, m
	if trans {
		lenX, lenY = m, n
	}
	if lenY == 0 {
		return lenX, lenY
	}
	checkMat(fn, "a", len(a), m, n, lda)
	checkVec(fn, "x", len(x), lenX, incX)
	checkVec(fn, "y", len(y), lenY, incY)
	return lenX, lenY
}

// checkLevel1 validates the arguments of Saxpy and Sdot.
func checkLevel1(fn string, n int, x []float32, incX int, y []float32, incY int) {
	checkDim(fn, "n", n)
	checkInc(fn, "incX", incX)
	checkInc(fn, "incY", incY)
	checkVec(fn, "x", len(x), n, incX)
	checkVec(fn, "y", len(y), n, incY)
}
