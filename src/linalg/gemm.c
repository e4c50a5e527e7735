/* bl_gemm (bl_gemm.h): small products in plain C, one FMA at a time.
 *
 * The plain-C kernel's order (tests/unit/test_gemm.c checks it bitwise
 * against a triple loop): each entry of C is a running sum over p = 0, 1,
 * ..., k-1 of a_ip b_pj, started at 0, one fused multiply-add (rounded once)
 * at a time; k is cut into blocks of at most 128 (a remainder between 128
 * and 256 is halved, rounded up to a multiple of 4) and each block's sum is
 * added to C in turn. A single row (m = 1) sums each k-block in two halves
 * instead: of its first len - len % 8 products the even p go to one sum and
 * the odd p to another, the last len % 8 to the first, and the block is
 * first + second. (The blocks and the single-row halves are OpenBLAS's
 * Prescott order, which this kernel copied before it fused: a product and
 * its sum in one instruction run twice the multiply-adds per cycle, and
 * made the tiny net's five products 11.7 -> 10.0 us.) Other rows of a
 * remainder (m not a multiple of 4) go to the BLAS.
 *
 * The same bits on every CPU: FMA is exactly rounded by IEEE 754, so the
 * AVX-512, AVX2+FMA and generic builds of the kernel (gemm_kernel.inc,
 * chosen at run time) agree; the generic one calls libm's fma(), exact
 * everywhere, in software (slowly) on a CPU without the instruction. */
#include <cblas.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "bl_blas.h"
#include "bl_gemm.h"

/* OpenBLAS's k-block (GEMM_Q) and the unroll its halving rounds to */
#define K_BLOCK 128
#define K_UNROLL 4
/* the register block: 4 rows of C by 2 vectors of 8 columns, 8 sums in
 * flight (AVX-512: 8 registers; AVX2 and the generic build split each
 * vector in 2 or 4) */
#define ROWS 4
#define LANES 8
/* The plain-C kernel up to this many multiply-adds (m n k), the BLAS above:
 * where OpenBLAS runs its Prescott kernels (SSE2, no FMA) the plain-C one is
 * 1.5-3x faster up to the deep MLP's 1024 x 256 x 256; OpenBLAS's AVX-512
 * kernels overtake it from about 2^22. (Which side a product takes depends
 * on its shape and on the BLAS core, and BLAS products round differently,
 * so products between the two sizes have other bits under Prescott.)
 * Larger products need cache blocking, which this kernel does not do. */
#define SMALL_MACS (1L << 22)
#define SMALL_MACS_PRESCOTT (1L << 27)
/* ...and at any size when k is this short (the wide MLP's input gradient
 * of its 10-class layer, 4096 x 2048 from k = 10): such a product is
 * writing its output, and OpenBLAS first zero-fills it, then packs; the
 * plain-C kernel writes it once (6.3 against 11.5 ms on AVX-512) */
#define SHORT_K 16

/* 8 doubles; GCC's vector extension, lowered to each level's registers */
typedef double vec8 __attribute__((vector_size(LANES * sizeof(double))));

/* v = p[0..8), an unaligned load (a macro: a function returning a vec8
 * would have a different ABI at each level) */
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


/* bl_gemm_then's epilogue: what, act, slope as given; c = C's first entry,
 * so that act's entry for a pointer x into C is act + (x - c) */
struct gemm_then {
    enum bl_gemm_then what;
    const double *act, *c;
    double slope;
};

/* The epilogue on rows (rows, n) of C from c (row stride ldc): each entry
 * times 1 where the selecting value (the entry itself, or act's) is > 0,
 * else the slope */
static inline __attribute__((always_inline)) void apply_then(const struct gemm_then *t, int rows,
                                                             int n, double *c, int ldc)
{
    double slope = t->slope;
    for (int r = 0; r < rows; r++) {
        double *restrict cr = c + (long)r * ldc;
        /* two loops, each a vector select (a branch on the sign mispredicts
         * half the time: slower than the product) */
        if (t->what == BL_GEMM_THEN_TIMES_SLOPE_AT) {
            const double *restrict ar = t->act + (cr - t->c);
            for (int j = 0; j < n; j++)
                cr[j] *= ar[j] > 0 ? 1.0 : slope;
        } else {
            for (int j = 0; j < n; j++)
                cr[j] *= cr[j] > 0 ? 1.0 : slope;
        }
    }
}

/* One build of gemm_kernel.inc per instruction set, each in a region compiled
 * for it. FMA8(x, v, s) and FMA4(x, v, s): s + x v per lane, fused, for a
 * scalar x (evaluated more than once: pass a plain variable). */
#define GEMM_CAT(name, level) name##_##level
#define GEMM_NAME(name, level) GEMM_CAT(name, level)
#define K(name) GEMM_NAME(name, GEMM_LEVEL)

#if defined(__x86_64__)
#ifdef __clang__
#pragma clang attribute push(__attribute__((target("avx512f,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,fma")
#endif
#define GEMM_LEVEL avx512
#define FMA8(x, v, s) ((vec8)_mm512_fmadd_pd(_mm512_set1_pd(x), (__m512d)(v), (__m512d)(s)))
#define FMA4(x, v, s) ((vec4)_mm256_fmadd_pd(_mm256_set1_pd(x), (__m256d)(v), (__m256d)(s)))
#include "gemm_kernel.inc"
#undef GEMM_LEVEL
#undef FMA8
#ifdef __clang__
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#define GEMM_LEVEL avx2
#define HALF(v, h) __builtin_shufflevector((v), (v), 4 * (h), 4 * (h) + 1, 4 * (h) + 2, 4 * (h) + 3)
#define FMA8(x, v, s)                                                                             \
    __builtin_shufflevector(FMA4(x, HALF(v, 0), HALF(s, 0)), FMA4(x, HALF(v, 1), HALF(s, 1)),     \
                            0, 1, 2, 3, 4, 5, 6, 7)
#include "gemm_kernel.inc"
#undef GEMM_LEVEL
#undef FMA8
#undef FMA4
#undef HALF
#ifdef __clang__
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif /* __x86_64__ */

#define GEMM_LEVEL generic
#define FMA4(x, v, s)                                                                             \
    ((vec4){__builtin_fma((x), (v)[0], (s)[0]), __builtin_fma((x), (v)[1], (s)[1]),               \
            __builtin_fma((x), (v)[2], (s)[2]), __builtin_fma((x), (v)[3], (s)[3])})
#define FMA8(x, v, s)                                                                             \
    ((vec8){__builtin_fma((x), (v)[0], (s)[0]), __builtin_fma((x), (v)[1], (s)[1]),               \
            __builtin_fma((x), (v)[2], (s)[2]), __builtin_fma((x), (v)[3], (s)[3]),               \
            __builtin_fma((x), (v)[4], (s)[4]), __builtin_fma((x), (v)[5], (s)[5]),               \
            __builtin_fma((x), (v)[6], (s)[6]), __builtin_fma((x), (v)[7], (s)[7])})
#include "gemm_kernel.inc"
#undef GEMM_LEVEL
#undef FMA8
#undef FMA4

int bl_gemm_small_level(void)
{
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma"))
        return BL_GEMM_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return BL_GEMM_AVX2;
#endif
    return BL_GEMM_GENERIC;
}

static void small_at(int level, int m, int n, int k, const double *a, long a_row, long a_col,
                     const double *b, int ldb, double beta, double *c, int ldc,
                     const struct gemm_then *then)
{
    switch (level) {
#if defined(__x86_64__)
    case BL_GEMM_AVX512:
        gemm_small_avx512(m, n, k, a, a_row, a_col, b, ldb, beta, c, ldc, then);
        return;
    case BL_GEMM_AVX2:
        gemm_small_avx2(m, n, k, a, a_row, a_col, b, ldb, beta, c, ldc, then);
        return;
#endif
    default: gemm_small_generic(m, n, k, a, a_row, a_col, b, ldb, beta, c, ldc, then); return;
    }
}

void bl_gemm_small_at(int level, int m, int n, int k, const double *a, long a_row, long a_col,
                      const double *b, int ldb, double beta, double *c, int ldc)
{
    small_at(level, m, n, k, a, a_row, a_col, b, ldb, beta, c, ldc, NULL);
}

static int cpu_level(void)
{
    static int level = -1; /* the CPU's, found once */
    if (level < 0)
        level = bl_gemm_small_level();
    return level;
}

void bl_gemm_small(int m, int n, int k, const double *a, long a_row, long a_col,
                   const double *b, int ldb, double beta, double *c, int ldc)
{
    small_at(cpu_level(), m, n, k, a, a_row, a_col, b, ldb, beta, c, ldc, NULL);
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
    bl_gemm_then(BL_GEMM_THEN_NOTHING, NULL, 0.0, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta,
                 c, ldc, scratch);
}

void bl_gemm_then(enum bl_gemm_then what, const double *act, double slope, int trans_a,
                  int trans_b, int m, int n, int k, const double *a, int lda, const double *b,
                  int ldb, double beta, double *c, int ldc, double *scratch)
{
    struct gemm_then then = {what, act, c, slope};
    const struct gemm_then *epilogue = what == BL_GEMM_THEN_NOTHING ? NULL : &then;
    if (!bl_gemm_is_small(m, n, k) || (trans_b && !scratch)) {
        if (scratch && m >= TALL_RATIO * n && k >= TALL_MIN_K_PER_COLUMN * n) {
            /* scratch (n, m) = op(B)^T op(A)^T */
            cblas_dgemm(CblasRowMajor, trans_b ? CblasNoTrans : CblasTrans,
                        trans_a ? CblasNoTrans : CblasTrans, n, m, k, 1.0, b, ldb, a, lda, 0.0,
                        scratch, m);
            transpose_into(m, n, scratch, beta != 0.0, c, ldc);
        } else {
            cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                        trans_b ? CblasTrans : CblasNoTrans, m, n, k, 1.0, a, lda, b, ldb, beta,
                        c, ldc);
        }
        if (epilogue) /* a pass of its own after the BLAS */
            apply_then(epilogue, m, n, c, ldc);
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
    small_at(cpu_level(), m, n, k, a, a_row, a_col, b, ldb, beta, c, ldc, epilogue);
}
