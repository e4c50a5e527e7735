/* Tests of bl_gemm (bl_gemm.h): the plain-C kernel against a triple loop
 * that adds in the documented order with fma(), bitwise, at every build
 * (AVX-512, AVX2+FMA, generic) this CPU runs; against OpenBLAS to
 * rounding; and bl_gemm's hand-off to the BLAS (remainder
 * rows, large shapes, tall outputs made transposed) bitwise against
 * OpenBLAS's products and to rounding against the triple loop. */
#include <cblas.h>
#include <string.h>

#include "bl_gemm.h"
#include "bl_rng.h"
#include "bl_test.h"

/* (m, n, k): the tiny net's and the deep net's shapes, k-blocks of 128 (k =
 * 129 halves into 68 + 61, k = 300 into 128 + 88 + 84), widths off the
 * vector length, k = 0 */
static const int shapes[][3] = {{128, 32, 20}, {128, 1, 32},  {32, 20, 128}, {128, 32, 1},
                                {8, 3, 129},   {12, 17, 300}, {4, 40, 7},    {64, 10, 256},
                                {16, 9, 1000}, {8, 5, 0},    {1, 32, 128},  {1, 20, 129},
                                {1, 8, 300},   {1, 12, 17},  {1, 4, 1},     {2, 32, 128},
                                {1, 30, 128},  {128, 1, 300}, {12, 1, 5},
                                /* a last 4 columns (the half-vector tile, 8
                                 * rows at once, a last group of 4 alone) */
                                {8, 12, 300},  {16, 4, 33},  {12, 20, 9},   {4, 4, 130},
                                /* one column in 4 groups of 8 rows and a rest */
                                {44, 1, 37},
                                /* tall outputs the BLAS makes transposed
                                 * (remainder rows, so never the small kernel) */
                                {2050, 16, 64}, {10, 1, 50},  {58, 7, 30},
                                /* tall, but k too short to pay for the copy */
                                {2050, 16, 20}};
enum { N_SHAPES = sizeof shapes / sizeof shapes[0] };

/* The order of src/linalg/gemm.c by hand: k in blocks of 128 (a rest
 * between 128 and 256 halved, rounded up to a multiple of 4), each block
 * summed from 0 one fused multiply-add at a time (one row: even and odd p of the first
 * len - len % 8 into two sums, the rest into the first, then first +
 * second), the blocks added to C in turn. op(A) (m, k) and op(B) (k, n)
 * given as functions of their row-major storage. */
static void reference(int ta, int tb, int m, int n, int k, const double *a, const double *b,
                      double beta, double *c)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double cij = beta != 0.0 ? c[i * n + j] : 0.0;
            int p = 0;
            do {
                int len = k - p;
                if (len >= 256)
                    len = 128;
                else if (len > 128)
                    len = (len / 2 + 3) / 4 * 4;
                double s = 0.0, odd = 0.0;
                for (int q = p; q < p + len; q++) {
                    double x = ta ? a[q * m + i] : a[i * k + q];
                    double y = tb ? b[j * k + q] : b[q * n + j];
                    if (m == 1 && q - p < len - len % 8 && (q - p) % 2)
                        odd = fma(x, y, odd);
                    else
                        s = fma(x, y, s);
                }
                if (m == 1)
                    s = s + odd;
                cij = (p == 0 && beta == 0.0) ? s : cij + s;
                p += len;
            } while (p < k);
            c[i * n + j] = cij;
        }
}

static void fill(double *x, long count, struct bl_rng *rng)
{
    for (long i = 0; i < count; i++)
        x[i] = bl_rng_normal(rng);
}

/* want (m, n) = want + op(A) op(B) (beta 1) or op(A) op(B), as bl_gemm
 * documents its BLAS path: a tall output (m >= 8 n, k >= 2 n) is OpenBLAS's C^T
 * (n, m) = op(B)^T op(A)^T, then added or copied over; others are one
 * cblas_dgemm. */
static void blas_path(int ta, int tb, int m, int n, int k, const double *a, int lda,
                      const double *b, int ldb, int beta, double *want)
{
    if (m < 8 * n || k < 2 * n) {
        cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    m, n, k, 1.0, a, lda, b, ldb, beta, want, n);
        return;
    }
    double *t = malloc(sizeof(double) * ((size_t)m * n + 1));
    cblas_dgemm(CblasRowMajor, tb ? CblasNoTrans : CblasTrans, ta ? CblasNoTrans : CblasTrans, n,
                m, k, 1.0, b, ldb, a, lda, 0.0, t, m);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
            want[i * n + j] = beta ? want[i * n + j] + t[j * m + i] : t[j * m + i];
    free(t);
}

/* Runs bl_gemm and the reference on every shape, transposes and beta;
 * counts entries that differ bitwise (exact) or beyond 1e-12 of the
 * largest |C| (not exact). */
static long count_differences(int (*keep)(int m, int n, int k), int exact, int use_cblas)
{
    struct bl_rng rng;
    bl_rng_init(&rng, 7, BL_STREAM_INIT, 0);
    long bad = 0;
    for (int s = 0; s < N_SHAPES; s++) {
        int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        if (!keep(m, n, k))
            continue;
        double *a = malloc(sizeof(double) * ((size_t)m * k + 1));
        double *b = malloc(sizeof(double) * ((size_t)k * n + 1));
        double *c0 = malloc(sizeof(double) * (size_t)m * n);
        double *got = malloc(sizeof(double) * (size_t)m * n);
        double *want = malloc(sizeof(double) * (size_t)m * n);
        double *scratch = malloc(sizeof(double) * ((size_t)(k > m ? k : m) * n + 1));
        fill(a, (long)m * k, &rng);
        fill(b, (long)k * n, &rng);
        fill(c0, (long)m * n, &rng);
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int beta = 0; beta < 2; beta++) {
                    memcpy(got, c0, sizeof(double) * (size_t)m * n);
                    memcpy(want, c0, sizeof(double) * (size_t)m * n);
                    int lda = ta ? m : k, ldb = tb ? k : n;
                    bl_gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, got, n, scratch);
                    if (use_cblas == 2)
                        blas_path(ta, tb, m, n, k, a, lda, b, ldb, beta, want);
                    else if (use_cblas)
                        cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                                    tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0, a, lda, b,
                                    ldb, beta, want, n);
                    else
                        reference(ta, tb, m, n, k, a, b, beta, want);
                    double scale = 0;
                    for (long i = 0; i < (long)m * n; i++)
                        scale = fmax(scale, fabs(want[i]));
                    for (long i = 0; i < (long)m * n; i++)
                        bad += exact ? memcmp(&got[i], &want[i], sizeof(double)) != 0
                                     : fabs(got[i] - want[i]) > 1e-12 * scale;
                }
        free(a);
        free(b);
        free(c0);
        free(got);
        free(want);
        free(scratch);
    }
    return bad;
}

static int small_shapes(int m, int n, int k) { return bl_gemm_is_small(m, n, k); }
static int other_shapes(int m, int n, int k) { return !bl_gemm_is_small(m, n, k); }
static int all_shapes(int m, int n, int k) { return m >= 0 && n >= 0 && k >= 0; }

/* the plain-C path adds in the documented order, in every clone the CPU runs */
static void test_gemm_small_order(void)
{
    CU_ASSERT_TRUE(bl_gemm_is_small(128, 32, 20));
    CU_ASSERT_TRUE(bl_gemm_is_small(1, 32, 128));
    CU_ASSERT_FALSE(bl_gemm_is_small(2, 32, 128)); /* remainder rows */
    CU_ASSERT_FALSE(bl_gemm_is_small(1, 30, 128));
    CU_ASSERT_TRUE(bl_gemm_is_small(4096, 2048, 10)); /* short k, at any size */
    CU_ASSERT_FALSE(bl_gemm_is_small(4096, 2048, 256));
    CU_ASSERT_EQUAL(count_differences(small_shapes, 1, 0), 0);
}

/* ...at every build of the kernel this CPU can run, not only the one
 * bl_gemm picks: each must give the reference's bits (op(B) row-major, as
 * the kernel reads it; op(A) either way) */
static void test_gemm_levels_agree(void)
{
    struct bl_rng rng;
    bl_rng_init(&rng, 9, BL_STREAM_INIT, 0);
    long bad = 0, checked = 0;
    for (int level = BL_GEMM_GENERIC; level <= bl_gemm_small_level(); level++)
        for (int s = 0; s < N_SHAPES; s++) {
            int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
            if (!bl_gemm_is_small(m, n, k))
                continue;
            size_t mn = (size_t)m * n;
            double *a = malloc(sizeof(double) * ((size_t)m * k + 1));
            double *b = malloc(sizeof(double) * ((size_t)k * n + 1));
            double *got = malloc(sizeof(double) * mn), *want = malloc(sizeof(double) * mn);
            fill(a, (long)m * k, &rng);
            fill(b, (long)k * n, &rng);
            for (int ta = 0; ta < 2; ta++)
                for (int beta = 0; beta < 2; beta++) {
                    fill(got, (long)mn, &rng);
                    memcpy(want, got, sizeof(double) * mn);
                    bl_gemm_small_at(level, m, n, k, a, ta ? 1 : k, ta ? m : 1, b, n, beta, got,
                                     n);
                    reference(ta, 0, m, n, k, a, b, beta, want);
                    bad += memcmp(got, want, sizeof(double) * mn) != 0;
                    checked++;
                }
            free(a);
            free(b);
            free(got);
            free(want);
        }
    CU_ASSERT(checked > 0);
    CU_ASSERT_EQUAL(bad, 0);
}

/* small products agree with OpenBLAS's to rounding (the BLAS adds in
 * another order, fused or not by core); the shapes bl_gemm hands to the
 * BLAS are OpenBLAS's products (tall ones transposed) bitwise, and every
 * shape agrees with the reference to rounding */
static void test_gemm_matches_blas(void)
{
    CU_ASSERT_EQUAL(count_differences(small_shapes, 0, 1), 0);
    CU_ASSERT_EQUAL(count_differences(other_shapes, 1, 2), 0);
    CU_ASSERT_EQUAL(count_differences(all_shapes, 0, 0), 0);
}

/* bl_gemm_then = bl_gemm, then the pass of its own over C, bitwise, for
 * every shape (small ones fuse it into the kernel's row groups, the tall and
 * large ones run it after the BLAS), both epilogues, relu and a leaky slope */
static void test_gemm_then_is_a_pass_after(void)
{
    struct bl_rng rng;
    bl_rng_init(&rng, 13, BL_STREAM_INIT, 0);
    long bad = 0;
    for (int s = 0; s < N_SHAPES; s++) {
        int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        size_t mn = (size_t)m * n;
        double *a = malloc(sizeof(double) * ((size_t)m * k + 1));
        double *b = malloc(sizeof(double) * ((size_t)k * n + 1));
        double *act = malloc(sizeof(double) * (mn + 1));
        double *got = malloc(sizeof(double) * (mn + 1)), *want = malloc(sizeof(double) * (mn + 1));
        double *scratch = malloc(sizeof(double) * ((size_t)(k > m ? k : m) * n + 1));
        fill(a, (long)m * k, &rng);
        fill(b, (long)k * n, &rng);
        fill(act, (long)mn, &rng);
        for (int what = BL_GEMM_THEN_LEAKY_RELU; what <= BL_GEMM_THEN_TIMES_SLOPE_AT; what++)
            for (int leaky = 0; leaky < 2; leaky++)
                for (int tb = 0; tb < 2; tb++) {
                    double slope = leaky ? 0.2 : 0.0;
                    int ldb = tb ? k : n;
                    bl_gemm(0, tb, m, n, k, a, k, b, ldb, 0.0, want, n, scratch);
                    for (size_t i = 0; i < mn; i++) {
                        double sel = what == BL_GEMM_THEN_LEAKY_RELU ? want[i] : act[i];
                        want[i] *= sel > 0 ? 1.0 : slope;
                    }
                    bl_gemm_then(what, act, slope, 0, tb, m, n, k, a, k, b, ldb, 0.0, got, n,
                                 scratch);
                    bad += memcmp(got, want, sizeof(double) * mn) != 0;
                }
        free(a);
        free(b);
        free(act);
        free(got);
        free(want);
        free(scratch);
    }
    CU_ASSERT_EQUAL(bad, 0);
}

void bl_test_register_gemm(void)
{
    CU_pSuite suite = CU_add_suite("gemm", NULL, NULL);
    BL_ADD_TEST(suite, test_gemm_small_order);
    BL_ADD_TEST(suite, test_gemm_levels_agree);
    BL_ADD_TEST(suite, test_gemm_matches_blas);
    BL_ADD_TEST(suite, test_gemm_then_is_a_pass_after);
}
