/* Matrix products of the dense layers: small ones in plain C, large ones
 * through the BLAS. For the shapes of a tiny network (a few dozen rows and
 * columns) a BLAS call costs more in packing, zero-filling and dispatch than
 * in arithmetic; the plain-C kernel does none of that and is compiled for
 * AVX-512, AVX2+FMA and generic C (chosen at run time). It adds the
 * products one fused multiply-add at a time in a fixed order (gemm.c), so a
 * small product has the same bits on any CPU. */
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

/* bl_gemm, then on each entry of C once its sum is complete: nothing; c =
 * phi(c), leaky ReLU in place (c times 1 where c > 0, else slope); or c
 * times phi'(z) read off act (n activations laid out as C, row stride ldc):
 * 1 where act > 0, else slope. The same multiplication as a pass of its own
 * over C, so the same bits; the plain-C kernel does it to each row group
 * as it stores it, while C is still in L1 (a pass over a tiny net's
 * 128 x 32 activations cost ~0.5 us, from L2). */
enum bl_gemm_then { BL_GEMM_THEN_NOTHING, BL_GEMM_THEN_LEAKY_RELU, BL_GEMM_THEN_TIMES_SLOPE_AT };
void bl_gemm_then(enum bl_gemm_then what, const double *act, double slope, int trans_a,
                  int trans_b, int m, int n, int k, const double *a, int lda, const double *b,
                  int ldb, double beta, double *c, int ldc, double *scratch);

/* Whether bl_gemm takes the plain-C kernel for this shape (for tests). */
int bl_gemm_is_small(int m, int n, int k);

/* The plain-C kernel alone (for tests): m a multiple of 4, or 1; op(B) row-major
 * (k, n) with row stride ldb, op(A) read as a[i * a_row + p * a_col]. */
void bl_gemm_small(int m, int n, int k, const double *a, long a_row, long a_col,
                   const double *b, int ldb, double beta, double *c, int ldc);

/* Its builds, the same bits at each (for tests): the best this CPU runs,
 * and bl_gemm_small at a given one (at most bl_gemm_small_level()). */
enum { BL_GEMM_GENERIC, BL_GEMM_AVX2, BL_GEMM_AVX512 };
int bl_gemm_small_level(void);
void bl_gemm_small_at(int level, int m, int n, int k, const double *a, long a_row, long a_col,
                      const double *b, int ldb, double beta, double *c, int ldc);

#endif
