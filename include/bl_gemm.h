/* Matrix products of the dense layers: small ones in plain C, large ones
 * through the BLAS. For the shapes of a tiny network (a few dozen rows and
 * columns) a BLAS call costs more in packing, zero-filling and dispatch than
 * in arithmetic; the plain-C kernel does none of that and is compiled for
 * SSE2, AVX2 and AVX-512 (chosen at run time). It adds the products in
 * exactly the order of OpenBLAS's Prescott kernels (the default core on an
 * unrecognised x86-64 CPU), so a small product has the same bits on any
 * x86-64 CPU, and under Prescott the same as OpenBLAS's (except for tall
 * outputs, below, which OpenBLAS makes transposed). */
#ifndef BL_GEMM_H
#define BL_GEMM_H

/* C (m, n) = op(A) op(B) when beta = 0, C + op(A) op(B) when beta = 1 (the
 * only two values), all row-major: op(A) (m, k) is A (m, k) with row stride
 * lda, or A^T of A (k, m) when trans_a; op(B) (k, n) likewise from B (k, n)
 * or B (n, k). scratch: room for max(k, m) * n doubles, or NULL: the small
 * kernel reads op(B) by rows and copies B^T there when trans_b; a BLAS
 * product with m >= 8 n and k >= 2 n is made as C^T there and copied over
 * (OpenBLAS is faster at the wide shape). With NULL, both go to the BLAS as
 * they are. */
void bl_gemm(int trans_a, int trans_b, int m, int n, int k, const double *a, int lda,
             const double *b, int ldb, double beta, double *c, int ldc, double *scratch);

/* Whether bl_gemm takes the plain-C kernel for this shape (for tests). */
int bl_gemm_is_small(int m, int n, int k);

/* The plain-C kernel alone (for tests): m a multiple of 4, or 1; op(B) row-major
 * (k, n) with row stride ldb, op(A) read as a[i * a_row + p * a_col]. */
void bl_gemm_small(int m, int n, int k, const double *a, long a_row, long a_col,
                   const double *b, int ldb, double beta, double *c, int ldc);

#endif
