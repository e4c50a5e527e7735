/* bl_gemm (bl_gemm.h): small products in plain C, in OpenBLAS's order.
 *
 * OpenBLAS's Prescott dgemm, as measured on 0.3.21 (tests/unit/test_gemm.c
 * checks it bitwise): for output rows in whole groups of 4 (row-major), each
 * entry is a running sum over p = 0, 1, ..., k-1 of a_ip b_pj, started at 0,
 * one product and one addition at a time (no fused multiply-add); k is cut
 * into blocks of at most 128 (a remainder between 128 and 256 is halved,
 * rounded up to a multiple of 4) and each block's sum is added to C in
 * turn. A single row (m = 1) with n a multiple of 4 sums each k-block in
 * two halves instead: of its first len - len % 8 products the even p go to
 * one sum and the odd p to another, the last len % 8 to the first, and the
 * block is first + second. Other rows of a remainder (m not a multiple of
 * 4) use other orders, so such products go to the BLAS. */
#include <cblas.h>
#include <string.h>

#include "bl_blas.h"
#include "bl_gemm.h"

/* OpenBLAS's k-block (GEMM_Q) and the unroll its halving rounds to */
#define K_BLOCK 128
#define K_UNROLL 4
/* the register block: 4 rows of C by 2 vectors of 8 columns, 8 sums in
 * flight (AVX-512: 8 registers; AVX2 and SSE2 split each vector in 2 or 4) */
#define ROWS 4
#define LANES 8
/* The plain-C kernel up to this many multiply-adds (m n k), the BLAS above:
 * where OpenBLAS runs its Prescott kernels (SSE2, no FMA) the plain-C one is
 * 1.5-3x faster up to the deep MLP's 1024 x 256 x 256 (and adds in the same
 * order, so the choice changes no result); OpenBLAS's AVX-512 kernels
 * overtake it from about 2^22. Larger products need cache blocking, which
 * this kernel does not do. */
#define SMALL_MACS (1L << 22)
#define SMALL_MACS_PRESCOTT (1L << 27)
/* ...and at any size when k is this short (the wide MLP's input gradient
 * of its 10-class layer, 4096 x 2048 from k = 10): such a product is
 * writing its output, and OpenBLAS first zero-fills it, then packs; the
 * plain-C kernel writes it once (6.3 against 11.5 ms on AVX-512) */
#define SHORT_K 16

/* 8 doubles; GCC's vector extension, lowered to each clone's registers */
typedef double vec8 __attribute__((vector_size(LANES * sizeof(double))));

/* v = p[0..8), an unaligned load (a macro: a function returning a vec8
 * would have a different ABI in each clone) */
#define LOAD8(v, p) memcpy(&(v), (p), sizeof(vec8))

/* Length of the k-block starting at p0 of k, OpenBLAS's rule. */
static int block_length(int p0, int k)
{
    int left = k - p0;
    if (left >= 2 * K_BLOCK)
        return K_BLOCK;
    if (left > K_BLOCK)
        return (left / 2 + K_UNROLL - 1) / K_UNROLL * K_UNROLL;
    return left;
}

/* sums (ROWS, vectors * LANES) of a (ROWS, len), read as a[r * a_row + p *
 * a_col], times b (len, vectors * LANES) with row stride ldb. Every sum runs
 * over p in order, one product and one addition at a time: the lanes are
 * different columns, never different p. */
static inline __attribute__((always_inline)) void tile(int vectors, int len, const double *a,
                                                       long a_row, long a_col, const double *b,
                                                       long ldb, vec8 sums[ROWS][2])
{
    for (int r = 0; r < ROWS; r++)
        sums[r][0] = sums[r][1] = (vec8){0};
    for (int p = 0; p < len; p++, a += a_col, b += ldb) {
        vec8 b0, b1;
        LOAD8(b0, b);
        if (vectors == 2)
            LOAD8(b1, b + LANES);
        for (int r = 0; r < ROWS; r++) {
            double ar = a[r * a_row];
            sums[r][0] += ar * b0;
            if (vectors == 2)
                sums[r][1] += ar * b1;
        }
    }
}

/* C (ROWS, cols) = sums, or C + sums when add: whole vectors at once, the
 * columns of a last partial one singly */
static inline __attribute__((always_inline)) void store(int cols, vec8 sums[ROWS][2], int add,
                                                        double *c, int ldc)
{
    for (int r = 0; r < ROWS; r++) {
        double *cr = c + (long)r * ldc;
        int q = 0;
        for (; (q + 1) * LANES <= cols; q++) {
            vec8 v = sums[r][q], old;
            if (add) {
                LOAD8(old, cr + q * LANES);
                v = old + v;
            }
            memcpy(cr + q * LANES, &v, sizeof v);
        }
        if (q * LANES < cols) {
            double s[LANES];
            memcpy(s, &sums[r][q], sizeof s);
            for (int j = q * LANES; j < cols; j++)
                cr[j] = add ? cr[j] + s[j - q * LANES] : s[j - q * LANES];
        }
    }
}

/* r[q][j] <- r[j][q]: an 8 x 8 block transposed in registers (pairs of
 * lanes, then pairs of pairs, then halves) */
#define SHUFFLE(x, y, ...) __builtin_shufflevector(x, y, __VA_ARGS__)
static inline __attribute__((always_inline)) void transpose8(vec8 r[LANES])
{
    vec8 t[LANES], u[LANES];
    for (int q = 0; q < LANES; q += 2) {
        t[q] = SHUFFLE(r[q], r[q + 1], 0, 8, 2, 10, 4, 12, 6, 14);
        t[q + 1] = SHUFFLE(r[q], r[q + 1], 1, 9, 3, 11, 5, 13, 7, 15);
    }
    for (int q = 0; q < LANES; q += 4)
        for (int h = 0; h < 2; h++) {
            u[q + h] = SHUFFLE(t[q + h], t[q + h + 2], 0, 1, 8, 9, 4, 5, 12, 13);
            u[q + h + 2] = SHUFFLE(t[q + h], t[q + h + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        }
    for (int q = 0; q < 4; q++) {
        r[q] = SHUFFLE(u[q], u[q + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        r[q + 4] = SHUFFLE(u[q], u[q + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    }
}

/* 4 doubles: the half vector of a last 4 columns */
typedef double vec4 __attribute__((vector_size(4 * sizeof(double))));

/* The tile of a last 4 columns, read straight from b: sums (ROWS, 4) of a
 * (ROWS, len) times b (len, 4), in the same order as tile(), then stored
 * as store() does (a copy padded to 8 columns cost more than this tile on
 * the tiny net's 20-input weight gradient). */
static inline __attribute__((always_inline)) void tile4_store(int len, const double *a, long a_row,
                                                              long a_col, const double *b,
                                                              long ldb, int add, double *c,
                                                              int ldc)
{
    vec4 sums[ROWS] = {{0}};
    for (int p = 0; p < len; p++, a += a_col, b += ldb) {
        vec4 bv;
        memcpy(&bv, b, sizeof bv);
        for (int r = 0; r < ROWS; r++)
            sums[r] += a[r * a_row] * bv;
    }
    for (int r = 0; r < ROWS; r++) {
        double *cr = c + (long)r * ldc;
        vec4 v = sums[r], old;
        if (add) {
            memcpy(&old, cr, sizeof old);
            v = old + v;
        }
        memcpy(cr, &v, sizeof v);
    }
}

/* c (m, 1) = a (m, k) b (k, 1), or c + a b, for m a multiple of 4: one
 * running sum per row over p in order, as in a tile, but with the lanes
 * over 8 rows (a column of a) instead of 8 columns of b, of which there is
 * only one. Rows of a that are contiguous in p are read 8 x 8 and
 * transposed in registers (gathering a column one element at a time cost
 * the tiny net's output layer more than its arithmetic). */
static inline __attribute__((always_inline)) void single_column(int m, int len, const double *a,
                                                                long a_row, long a_col,
                                                                const double *b, long ldb,
                                                                int add, double *c, int ldc)
{
    int i0 = 0;
    for (; i0 + LANES <= m; i0 += LANES) {
        vec8 sum = {0};
        int p = 0;
        for (; a_col == 1 && p + LANES <= len; p += LANES) {
            vec8 block[LANES]; /* block[q][r] = a[i0 + r][p + q] after the transpose */
            for (int r = 0; r < LANES; r++)
                LOAD8(block[r], a + (i0 + r) * a_row + p);
            transpose8(block);
            for (int q = 0; q < LANES; q++)
                sum += block[q] * b[(p + q) * ldb];
        }
        for (; p < len; p++) {
            const double *ap = a + i0 * a_row + p * a_col;
            vec8 column;
            for (int r = 0; r < LANES; r++)
                column[r] = ap[r * a_row];
            sum += column * b[p * ldb];
        }
        for (int r = 0; r < LANES; r++)
            c[(long)(i0 + r) * ldc] = add ? c[(long)(i0 + r) * ldc] + sum[r] : sum[r];
    }
    for (; i0 < m; i0++) {
        double sum = 0;
        for (int p = 0; p < len; p++)
            sum += a[i0 * a_row + p * a_col] * b[p * ldb];
        c[(long)i0 * ldc] = add ? c[(long)i0 * ldc] + sum : sum;
    }
}

/* c (1, n) = a (1, k) b, or c + a b: the single-row order. Columns in
 * vectors of 8, the last n % 8 one at a time. */
static inline __attribute__((always_inline)) void single_row(int n, int k, const double *a,
                                                             long a_col, const double *b,
                                                             int ldb, double beta, double *c)
{
    for (int p0 = 0, first = 1; p0 < k || first; first = 0) {
        int len = block_length(p0, k), paired = len - len % 8;
        int add = !first || beta != 0.0;
        const double *bp = b + (long)p0 * ldb, *ap = a + p0 * a_col;
        int j0 = 0;
        for (; j0 + LANES <= n; j0 += LANES) {
            vec8 even = {0}, odd = {0}, bv;
            for (int p = 0; p < len; p++) {
                LOAD8(bv, bp + (long)p * ldb + j0);
                if (p < paired && p % 2)
                    odd += ap[p * a_col] * bv;
                else
                    even += ap[p * a_col] * bv;
            }
            vec8 sum = even + odd, old;
            if (add) {
                LOAD8(old, c + j0);
                sum = old + sum;
            }
            memcpy(c + j0, &sum, sizeof sum);
        }
        for (; j0 < n; j0++) {
            double even = 0, odd = 0;
            for (int p = 0; p < len; p++) {
                double product = ap[p * a_col] * bp[(long)p * ldb + j0];
                if (p < paired && p % 2)
                    odd += product;
                else
                    even += product;
            }
            c[j0] = add ? c[j0] + (even + odd) : even + odd;
        }
        p0 += len;
    }
}

/* The clones: the same source, so the same sums, at three vector widths.
 * No clone contracts a product and a sum into one FMA: the build passes
 * -ffp-contract=off (clang would fuse them in the AVX-512 clone otherwise;
 * test_gemm compares with OpenBLAS bitwise). */
__attribute__((target_clones("avx512f", "avx2", "default")))
void bl_gemm_small(int m, int n, int k, const double *a, long a_row, long a_col,
                   const double *b, int ldb, double beta, double *c, int ldc)
{
    if (m == 1) {
        single_row(n, k, a, a_col, b, ldb, beta, c);
        return;
    }
    double tail[K_BLOCK * LANES]; /* (len, LANES): the last n % 8 columns of b, 0-padded */
    vec8 sums[ROWS][2];
    for (int p0 = 0, first = 1; p0 < k || first; first = 0) {
        int len = block_length(p0, k), add = !first || beta != 0.0;
        const double *bp = b + (long)p0 * ldb, *ap = a + p0 * a_col;
        if (n == 1) {
            single_column(m, len, ap, a_row, a_col, bp, ldb, add, c, ldc);
            p0 += len;
            continue;
        }
        int wide = n / (2 * LANES) * (2 * LANES), whole = n / LANES * LANES, cols = n - whole;
        if (cols && cols != 4)
            for (int p = 0; p < len; p++)
                for (int j = 0; j < LANES; j++)
                    tail[p * LANES + j] = j < cols ? bp[(long)p * ldb + whole + j] : 0.0;
        /* rows outside, columns inside: C is written row group by row group,
         * never a column strip down a large output (a new page per store) */
        for (int i0 = 0; i0 < m; i0 += ROWS) {
            const double *ai = ap + i0 * a_row;
            double *ci = c + (long)i0 * ldc;
            for (int j0 = 0; j0 < wide; j0 += 2 * LANES) {
                tile(2, len, ai, a_row, a_col, bp + j0, ldb, sums);
                store(2 * LANES, sums, add, ci + j0, ldc);
            }
            if (whole > wide) {
                tile(1, len, ai, a_row, a_col, bp + wide, ldb, sums);
                store(LANES, sums, add, ci + wide, ldc);
            }
            if (cols == 4) {
                tile4_store(len, ai, a_row, a_col, bp + whole, ldb, add, ci + whole, ldc);
            } else if (cols) {
                tile(1, len, ai, a_row, a_col, tail, LANES, sums);
                store(cols, sums, add, ci + whole, ldc);
            }
        }
        p0 += len;
    }
}

int bl_gemm_is_small(int m, int n, int k)
{
    static long most = -1; /* the BLAS's core is fixed once it has loaded */
    if (most < 0)
        most = bl_blas_is_openblas() && !strcmp(bl_blas_core(), "Prescott") ? SMALL_MACS_PRESCOTT
                                                                            : SMALL_MACS;
    int shape_ok = m % ROWS == 0 || (m == 1 && n % 4 == 0);
    return shape_ok && ((long)m * n * k <= most || k <= SHORT_K);
}

/* c (m, n) = t^T, or c + t^T when add, for t (n, m): in 32 x 32 blocks,
 * so that both sides stay in cache (a plain loop over c's rows reads t a
 * column at a time, one cache line per element) */
#define TRANSPOSE_BLOCK 32
static void transpose_into(int m, int n, const double *t, int add, double *c, int ldc)
{
    for (int i0 = 0; i0 < m; i0 += TRANSPOSE_BLOCK)
        for (int j0 = 0; j0 < n; j0 += TRANSPOSE_BLOCK) {
            int i1 = i0 + TRANSPOSE_BLOCK < m ? i0 + TRANSPOSE_BLOCK : m;
            int j1 = j0 + TRANSPOSE_BLOCK < n ? j0 + TRANSPOSE_BLOCK : n;
            for (int i = i0; i < i1; i++)
                for (int j = j0; j < j1; j++)
                    c[(long)i * ldc + j] = add ? c[(long)i * ldc + j] + t[(long)j * m + i]
                                               : t[(long)j * m + i];
        }
}

/* OpenBLAS (0.3.21, SkylakeX and Prescott alike) is slow at row-major
 * products whose output has many more rows than columns: a 4096 x 10
 * output from k = 2048 runs at 11 GFLOP/s, its transpose 10 x 4096 at 19;
 * the wide MLP's 2048 x 256 weight gradient from k = 4096 at 57 against
 * 73. Such products are computed transposed, C^T = op(B)^T op(A)^T, and
 * copied over. (Each entry is still one dot product, summed in OpenBLAS's
 * order for the transposed shape.) Copying the output over costs a pass over
 * it, which pays only when each entry sums enough products: a 4096 x 512
 * output from k = 128 runs slower transposed (16.8 -> 19.9 ms). */
#define TALL_RATIO 8
#define TALL_MIN_K_PER_COLUMN 2

void bl_gemm(int trans_a, int trans_b, int m, int n, int k, const double *a, int lda,
             const double *b, int ldb, double beta, double *c, int ldc, double *scratch)
{
    if (!bl_gemm_is_small(m, n, k) || (trans_b && !scratch)) {
        if (scratch && m >= TALL_RATIO * n && k >= TALL_MIN_K_PER_COLUMN * n) {
            /* scratch (n, m) = op(B)^T op(A)^T */
            cblas_dgemm(CblasRowMajor, trans_b ? CblasNoTrans : CblasTrans,
                        trans_a ? CblasNoTrans : CblasTrans, n, m, k, 1.0, b, ldb, a, lda, 0.0,
                        scratch, m);
            transpose_into(m, n, scratch, beta != 0.0, c, ldc);
            return;
        }
        cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                    trans_b ? CblasTrans : CblasNoTrans, m, n, k, 1.0, a, lda, b, ldb, beta, c,
                    ldc);
        return;
    }
    if (trans_b) { /* B (n, k) -> B^T (k, n) in scratch */
        for (int p = 0; p < k; p++)
            for (int j = 0; j < n; j++)
                scratch[(long)p * n + j] = b[(long)j * ldb + p];
        b = scratch;
        ldb = n;
    }
    long a_row = trans_a ? 1 : lda, a_col = trans_a ? lda : 1;
    bl_gemm_small(m, n, k, a, a_row, a_col, b, ldb, beta, c, ldc);
}
