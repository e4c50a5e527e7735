/* Tests of the statistics across seeds against values worked out by hand,
 * plus the properties the bootstrap interval must have. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "bl_rng.h"
#include "bl_stats.h"
#include "bl_test.h"

#define KEY BL_BOOTSTRAP_SEED
#define MAX_N 1000
#define GUARD 8
#define SENTINEL -12345.678

/* Scratch for bl_stats_compute with GUARD sentinels after the 2n + B doubles
 * it may use, to catch writes past the documented size. */
static double scratch[2 * MAX_N + BL_BOOTSTRAP_RESAMPLES + GUARD];

static int compute_checked(const double *x, int n, double stats[BL_STAT_COUNT])
{
    double *guard = scratch + 2 * n + BL_BOOTSTRAP_RESAMPLES;
    for (int i = 0; i < GUARD; i++)
        guard[i] = SENTINEL;
    int count = bl_stats_compute(x, n, KEY, NULL, stats, scratch);
    for (int i = 0; i < GUARD; i++)
        CU_ASSERT_EQUAL(guard[i], SENTINEL);
    return count;
}

static void test_stat_names(void)
{
    const char *want[BL_STAT_COUNT] = {"mean", "std",       "min",       "q25", "median",
                                       "q75",  "max",       "ci95_low",  "ci95_high",
                                       "iqm"};
    for (int s = 0; s < BL_STAT_COUNT; s++)
        CU_ASSERT_STRING_EQUAL(bl_stat_names[s], want[s]);
}

/* Type 7: h = (n-1) q, then interpolate between x[floor h] and the next. */
static void test_quantile_type7(void)
{
    const double x[4] = {1, 2, 3, 4};
    BL_ASSERT_CLOSE(bl_quantile_sorted(x, 4, 0.0), 1.0, 1e-15);
    BL_ASSERT_CLOSE(bl_quantile_sorted(x, 4, 0.25), 1.75, 1e-15); /* h = 0.75 */
    BL_ASSERT_CLOSE(bl_quantile_sorted(x, 4, 0.5), 2.5, 1e-15);   /* h = 1.5 */
    BL_ASSERT_CLOSE(bl_quantile_sorted(x, 4, 0.75), 3.25, 1e-15); /* h = 2.25 */
    BL_ASSERT_CLOSE(bl_quantile_sorted(x, 4, 1.0), 4.0, 1e-15);
    /* x = {0, 10, 30}: q = 0.9 gives h = 1.8, 10 + 0.8 * 20 = 26. */
    const double y[3] = {0, 10, 30};
    BL_ASSERT_CLOSE(bl_quantile_sorted(y, 3, 0.9), 26.0, 1e-14);
    const double one[1] = {7};
    CU_ASSERT_EQUAL(bl_quantile_sorted(one, 1, 0.3), 7.0);
    CU_ASSERT(isnan(bl_quantile_sorted(x, 0, 0.5)));
}

static void test_iqm_by_hand(void)
{
    /* n = 4: intervals [0,.25] [.25,.5] [.5,.75] [.75,1]; weights 0, .25, .25,
     * 0; IQM = (.25*2 + .25*3) / .5 = 2.5. */
    const double a[4] = {1, 2, 3, 4};
    BL_ASSERT_CLOSE(bl_iqm_sorted(a, 4), 2.5, 1e-15);

    /* n = 5: x_(i) covers [i/5, (i+1)/5]. Overlaps with [.25, .75]:
     *   1   on [0, .2]   -> 0
     *   2   on [.2, .4]  -> [.25, .4]  = .15
     *   3   on [.4, .6]  -> [.4, .6]   = .20
     *   4   on [.6, .8]  -> [.6, .75]  = .15
     *   100 on [.8, 1]   -> 0
     * weights sum to .5; IQM = (.15*2 + .2*3 + .15*4) / .5 = 1.5 / .5 = 3. */
    const double b[5] = {1, 2, 3, 4, 100};
    BL_ASSERT_CLOSE(bl_iqm_sorted(b, 5), 3.0, 1e-15);

    /* n = 3: x_(i) covers thirds. Overlaps: [.25, 1/3] = 1/12, the middle 1/3,
     * [2/3, .75] = 1/12; IQM = (1/12 * 1 + 1/3 * 2 + 1/12 * 10) / .5
     * = (1 + 8 + 10) / 12 * 2 = 19/6. */
    const double c[3] = {1, 2, 10};
    BL_ASSERT_CLOSE(bl_iqm_sorted(c, 3), 19.0 / 6.0, 1e-15);

    /* n = 8, a multiple of 4: the plain mean of the middle four, 3..6. */
    const double d[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    BL_ASSERT_CLOSE(bl_iqm_sorted(d, 8), 4.5, 1e-15);

    /* n = 2: each value covers half and overlaps [.25, .75] by .25. */
    const double e[2] = {1, 3};
    BL_ASSERT_CLOSE(bl_iqm_sorted(e, 2), 2.0, 1e-15);

    const double f[1] = {-4.5};
    CU_ASSERT_EQUAL(bl_iqm_sorted(f, 1), -4.5);
    CU_ASSERT(isnan(bl_iqm_sorted(f, 0)));
}

/* {1,2,3,4} in scrambled order: the order must not matter. */
static void test_compute_four_values(void)
{
    const double x[4] = {3, 1, 4, 2};
    double s[BL_STAT_COUNT];
    CU_ASSERT_EQUAL(compute_checked(x, 4, s), 4);
    BL_ASSERT_CLOSE(s[BL_STAT_MEAN], 2.5, 1e-15);
    /* squared deviations 2.25 + .25 + .25 + 2.25 = 5, over n - 1 = 3 */
    BL_ASSERT_CLOSE(s[BL_STAT_STD], sqrt(5.0 / 3.0), 1e-15);
    CU_ASSERT_EQUAL(s[BL_STAT_MIN], 1.0);
    BL_ASSERT_CLOSE(s[BL_STAT_Q25], 1.75, 1e-15);
    BL_ASSERT_CLOSE(s[BL_STAT_MEDIAN], 2.5, 1e-15);
    BL_ASSERT_CLOSE(s[BL_STAT_Q75], 3.25, 1e-15);
    CU_ASSERT_EQUAL(s[BL_STAT_MAX], 4.0);
    BL_ASSERT_CLOSE(s[BL_STAT_IQM], 2.5, 1e-15);
    CU_ASSERT(s[BL_STAT_CI95_LOW] >= 1.0 && s[BL_STAT_CI95_LOW] < 2.5);
    CU_ASSERT(s[BL_STAT_CI95_HIGH] > 2.5 && s[BL_STAT_CI95_HIGH] <= 4.0);
}

static void test_compute_with_outlier(void)
{
    const double x[5] = {100, 1, 2, 3, 4};
    double s[BL_STAT_COUNT];
    CU_ASSERT_EQUAL(compute_checked(x, 5, s), 5);
    BL_ASSERT_CLOSE(s[BL_STAT_MEAN], 22.0, 1e-15); /* 110 / 5 */
    /* deviations -21 -20 -19 -18 78: 441 + 400 + 361 + 324 + 6084 = 7610,
     * over 4 = 1902.5 */
    BL_ASSERT_CLOSE(s[BL_STAT_STD], sqrt(1902.5), 1e-14);
    CU_ASSERT_EQUAL(s[BL_STAT_MIN], 1.0);
    BL_ASSERT_CLOSE(s[BL_STAT_Q25], 2.0, 1e-15);    /* h = 1 */
    BL_ASSERT_CLOSE(s[BL_STAT_MEDIAN], 3.0, 1e-15); /* h = 2 */
    BL_ASSERT_CLOSE(s[BL_STAT_Q75], 4.0, 1e-15);    /* h = 3 */
    CU_ASSERT_EQUAL(s[BL_STAT_MAX], 100.0);
    BL_ASSERT_CLOSE(s[BL_STAT_IQM], 3.0, 1e-15); /* see test_iqm_by_hand */
}

/* NaN and Inf are left out and not counted; the rest is as if they were
 * never there, bootstrap included. */
static void test_compute_skips_non_finite(void)
{
    const double x[7] = {NAN, 3, 1, NAN, 4, INFINITY, 2};
    const double clean[4] = {1, 2, 3, 4};
    double s[BL_STAT_COUNT], t[BL_STAT_COUNT];
    CU_ASSERT_EQUAL(compute_checked(x, 7, s), 4);
    CU_ASSERT_EQUAL(compute_checked(clean, 4, t), 4);
    for (int k = 0; k < BL_STAT_COUNT; k++)
        CU_ASSERT_EQUAL(s[k], t[k]);
    CU_ASSERT_EQUAL(s[BL_STAT_MAX], 4.0);
}

static void test_compute_all_nan(void)
{
    const double x[3] = {NAN, NAN, -INFINITY};
    double s[BL_STAT_COUNT];
    CU_ASSERT_EQUAL(compute_checked(x, 3, s), 0);
    for (int k = 0; k < BL_STAT_COUNT; k++)
        CU_ASSERT(isnan(s[k]));
    CU_ASSERT_EQUAL(compute_checked(x, 0, s), 0);
    for (int k = 0; k < BL_STAT_COUNT; k++)
        CU_ASSERT(isnan(s[k]));
}

/* One value: everything is that value except std, which needs two. */
static void test_compute_single_value(void)
{
    const double x[2] = {NAN, 0.7};
    double s[BL_STAT_COUNT];
    CU_ASSERT_EQUAL(compute_checked(x, 2, s), 1);
    CU_ASSERT(isnan(s[BL_STAT_STD]));
    for (int k = 0; k < BL_STAT_COUNT; k++)
        if (k != BL_STAT_STD)
            CU_ASSERT_EQUAL(s[k], 0.7);
}

static void test_compute_two_values_std(void)
{
    const double x[2] = {1, 3};
    double s[BL_STAT_COUNT];
    CU_ASSERT_EQUAL(compute_checked(x, 2, s), 2);
    BL_ASSERT_CLOSE(s[BL_STAT_STD], sqrt(2.0), 1e-15); /* (1 + 1) / 1 */
}

/* Bit-exact: 0.1 summed ten times is not 1, so a constant must not go through
 * a plain sum. Every resample is the same, so low == high == the value. */
static void test_constant_vector(void)
{
    double x[10];
    for (int i = 0; i < 10; i++)
        x[i] = 0.1;
    double s[BL_STAT_COUNT];
    CU_ASSERT_EQUAL(compute_checked(x, 10, s), 10);
    CU_ASSERT_EQUAL(s[BL_STAT_MEAN], 0.1);
    CU_ASSERT_EQUAL(s[BL_STAT_STD], 0.0);
    CU_ASSERT_EQUAL(s[BL_STAT_IQM], 0.1);
    CU_ASSERT_EQUAL(s[BL_STAT_CI95_LOW], 0.1);
    CU_ASSERT_EQUAL(s[BL_STAT_CI95_HIGH], 0.1);
}

/* x[n] from N(mu, sigma) on a test-only stream. */
static void normal_sample(double *x, int n, uint32_t sub, double mu, double sigma)
{
    struct bl_rng rng;
    bl_rng_init(&rng, 77, BL_STREAM_TEST_ONLY, sub);
    for (int i = 0; i < n; i++)
        x[i] = mu + sigma * bl_rng_normal(&rng);
}

static void test_bootstrap_contains_mean_and_reproducible(void)
{
    static double x[50], work[50 + BL_BOOTSTRAP_RESAMPLES];
    normal_sample(x, 50, 1, 3.0, 2.0);
    double mean = 0.0;
    for (int i = 0; i < 50; i++)
        mean += x[i] / 50;
    double lo1, hi1, lo2, hi2, lo3, hi3;
    bl_bootstrap_ci95(x, 50, KEY, NULL, &lo1, &hi1, work);
    bl_bootstrap_ci95(x, 50, KEY, NULL, &lo2, &hi2, work);
    CU_ASSERT(lo1 < mean && mean < hi1);
    CU_ASSERT(memcmp(&lo1, &lo2, sizeof lo1) == 0);
    CU_ASSERT(memcmp(&hi1, &hi2, sizeof hi1) == 0);
    /* The key selects the resamples, so another key moves the ends a bit. */
    bl_bootstrap_ci95(x, 50, KEY + 1, NULL, &lo3, &hi3, work);
    CU_ASSERT(lo3 != lo1 || hi3 != hi1);
    BL_ASSERT_CLOSE(lo3, lo1, 0.1);
    BL_ASSERT_CLOSE(hi3, hi1, 0.1);
}

/* For a mean the percentile interval is about mean -+ 1.96 s / sqrt(n), s
 * the plug-in sd (the bootstrap resamples the empirical law). Checking the
 * width catches wrong quantile levels, resampling fewer than n values, or
 * indices that are not uniform. */
static void test_bootstrap_width(void)
{
    static double x[MAX_N], work[MAX_N + BL_BOOTSTRAP_RESAMPLES];
    const int sizes[2] = {100, 1000};
    for (int k = 0; k < 2; k++) {
        int n = sizes[k];
        normal_sample(x, n, 10 + (uint32_t)k, 0.0, 1.0);
        double mean = 0.0, ss = 0.0;
        for (int i = 0; i < n; i++)
            mean += x[i] / n;
        for (int i = 0; i < n; i++)
            ss += (x[i] - mean) * (x[i] - mean);
        double predicted = 2 * 1.959964 * sqrt(ss / n) / sqrt(n);
        double lo, hi;
        bl_bootstrap_ci95(x, n, KEY, NULL, &lo, &hi, work);
        CU_ASSERT(lo < mean && mean < hi);
        /* Monte Carlo error of the ends with 2000 resamples is a few %. */
        CU_ASSERT(fabs((hi - lo) / predicted - 1.0) < 0.15);
    }
}

/* Same law at every n: half -1, half +1 (plug-in sd exactly 1), so the width
 * should shrink like 1/sqrt(n), about 3.2 times per factor 10. */
static void test_bootstrap_narrows_with_n(void)
{
    static double x[MAX_N], work[MAX_N + BL_BOOTSTRAP_RESAMPLES];
    const int sizes[3] = {10, 100, 1000};
    double width[3];
    for (int k = 0; k < 3; k++) {
        int n = sizes[k];
        for (int i = 0; i < n; i++)
            x[i] = (i % 2 == 0) ? -1.0 : 1.0;
        double lo, hi;
        bl_bootstrap_ci95(x, n, KEY, NULL, &lo, &hi, work);
        CU_ASSERT(lo < 0.0 && 0.0 < hi);
        width[k] = hi - lo;
    }
    CU_ASSERT(width[1] < 0.5 * width[0]);
    CU_ASSERT(width[2] < 0.5 * width[1]);
}

/* Pins the resampling contract (stream, draw order, bl_rng_below) that the
 * Python output checker reproduces. The expected ends were computed by a
 * separate Python implementation written from the contract alone (Philox
 * from the paper, rejection sampling on u64, math.fsum for the means);
 * only the summation order differs, hence the 1e-13 tolerance. sqrt(i+1)
 * makes nearly all resample means distinct, so a change in which indices
 * are drawn moves the ends. */
static void test_bootstrap_reference_values(void)
{
    static double x[20], work[20 + BL_BOOTSTRAP_RESAMPLES];
    for (int i = 0; i < 20; i++)
        x[i] = sqrt(i + 1.0);
    double lo, hi;
    bl_bootstrap_ci95(x, 20, BL_BOOTSTRAP_SEED, NULL, &lo, &hi, work);
    BL_ASSERT_CLOSE(lo, 2.6488708607608773, 1e-13);
    BL_ASSERT_CLOSE(hi, 3.5069856926583856, 1e-13);
}

/* bl_stats_compute bootstraps the sorted finite values with its key. */
static void test_compute_ci_matches_bootstrap(void)
{
    const double x[6] = {0.5, NAN, -1.0, 2.0, 8.0, 0.25};
    const double sorted[5] = {-1.0, 0.25, 0.5, 2.0, 8.0};
    static double work[5 + BL_BOOTSTRAP_RESAMPLES];
    double s[BL_STAT_COUNT], lo, hi;
    CU_ASSERT_EQUAL(compute_checked(x, 6, s), 5);
    bl_bootstrap_ci95(sorted, 5, KEY, NULL, &lo, &hi, work);
    CU_ASSERT_EQUAL(s[BL_STAT_CI95_LOW], lo);
    CU_ASSERT_EQUAL(s[BL_STAT_CI95_HIGH], hi);
    CU_ASSERT(s[BL_STAT_CI95_LOW] < s[BL_STAT_MEAN] && s[BL_STAT_MEAN] < s[BL_STAT_CI95_HIGH]);
}

/* Columns bootstrapped through the draw cache give bitwise the statistics
 * of columns drawn one by one, as the finite count changes from column to
 * column (the cache is refilled) and when it exceeds the capacity (drawn
 * directly); and the cache holds what a direct draw would pick. */
static void test_cached_draws_bitwise(void)
{
    enum { CAP = 40 };
    static int32_t idx[BL_BOOTSTRAP_RESAMPLES * CAP];
    struct bl_bootstrap_draws draws = {.idx = idx, .capacity = CAP};
    const int sizes[] = {40, 40, 7, 2, 40, 1, 55, 40, 39};
    double x[60], direct[BL_STAT_COUNT], cached[BL_STAT_COUNT];
    int refills = 0, last_n = 0;
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
        int n = sizes[c];
        for (int i = 0; i < n; i++)
            x[i] = sin(1.0 + 0.37 * i * (double)(c + 1)) * pow(10.0, (double)(i % 5));
        if (n % 2 == 1 && n > 2)
            x[n / 2] = NAN; /* one fewer finite value than n */
        int got = bl_stats_compute(x, n, KEY, NULL, direct, scratch);
        CU_ASSERT_EQUAL(bl_stats_compute(x, n, KEY, &draws, cached, scratch), got);
        CU_ASSERT_EQUAL(memcmp(direct, cached, sizeof direct), 0);
        if (got >= 2 && got <= CAP && got != last_n) {
            refills++;
            last_n = got;
        }
        CU_ASSERT_EQUAL(draws.n, last_n);
    }
    CU_ASSERT(refills >= 4);
    /* the cached indices are the stream's own draws, in order */
    struct bl_rng rng;
    bl_rng_init(&rng, KEY, BL_STREAM_BOOTSTRAP, 0);
    int same = 1;
    for (long k = 0; k < (long)BL_BOOTSTRAP_RESAMPLES * draws.n; k++)
        same &= idx[k] == (int32_t)bl_rng_below(&rng, (uint64_t)draws.n);
    CU_ASSERT(same);
}

static int ascending(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* The CI's quantiles are found by selection, not by sorting: against a sort
 * of the resample means recomputed here from the cached draws, on values
 * with many ties (resample means repeat, the selection's equal-pivot case)
 * and on distinct ones. */
static void test_ci_selection_matches_sort(void)
{
    enum { N = 6 };
    static int32_t idx[BL_BOOTSTRAP_RESAMPLES * N];
    static double means[BL_BOOTSTRAP_RESAMPLES], work[N + BL_BOOTSTRAP_RESAMPLES];
    struct bl_bootstrap_draws draws = {.idx = idx, .capacity = N};
    bl_bootstrap_draws_fill(&draws, N, KEY);
    const double sets[2][N] = {{0, 0, 0, 1, 1, 2}, {-3.5, -1.25, 0.1, 0.7, 2.0, 9.0}};
    for (int t = 0; t < 2; t++) {
        const double *x = sets[t];
        for (int b = 0; b < BL_BOOTSTRAP_RESAMPLES; b++) {
            double sum = 0;
            for (int j = 0; j < N; j++)
                sum += x[idx[b * N + j]] - x[0];
            means[b] = x[0] + sum / N;
        }
        qsort(means, BL_BOOTSTRAP_RESAMPLES, sizeof means[0], ascending);
        double lo, hi;
        bl_bootstrap_ci95(x, N, KEY, &draws, &lo, &hi, work);
        CU_ASSERT_EQUAL(lo, bl_quantile_sorted(means, BL_BOOTSTRAP_RESAMPLES, 0.025));
        CU_ASSERT_EQUAL(hi, bl_quantile_sorted(means, BL_BOOTSTRAP_RESAMPLES, 0.975));
        CU_ASSERT(lo < hi);
    }
}

/* bl_stats_columns over a (seed, record) block gives bitwise each column's
 * bl_stats_compute: 19 columns (two full lane groups and a ragged third),
 * some with a NaN or an Inf (their own draws), one all NaN, one constant,
 * interleaved with the full ones; and the same when the cache is too small
 * for n (every column drawn directly). */
static void test_columns_bitwise(void)
{
    enum { N = 37, COLS = 19 };
    static int32_t idx[BL_BOOTSTRAP_RESAMPLES * N];
    static double x[N * COLS], column[N];
    static double work[N * COLS + 8 + N * BL_STATS_LANES + BL_BOOTSTRAP_RESAMPLES * BL_STATS_LANES +
                       2 * N + BL_BOOTSTRAP_RESAMPLES];
    CU_ASSERT_EQUAL(bl_stats_columns_work_doubles(N, COLS), sizeof work / sizeof work[0]);
    for (int i = 0; i < N; i++)
        for (int c = 0; c < COLS; c++)
            x[i * COLS + c] = c == 5 ? 3.0 : sin(0.3 + 0.71 * i * (c + 1)) * pow(10.0, c % 4);
    x[4 * COLS + 2] = NAN;
    x[9 * COLS + 11] = INFINITY;
    for (int i = 0; i < N; i++)
        x[i * COLS + 13] = NAN;
    for (int capacity = N; capacity >= N - 1; capacity--) {
        struct bl_bootstrap_draws draws = {.idx = idx, .capacity = capacity};
        double stats[COLS * BL_STAT_COUNT], one[BL_STAT_COUNT];
        int finite[COLS];
        bl_stats_columns(x, N, COLS, COLS, KEY, &draws, stats, finite, work);
        for (int c = 0; c < COLS; c++) {
            for (int i = 0; i < N; i++)
                column[i] = x[i * COLS + c];
            CU_ASSERT_EQUAL(finite[c], bl_stats_compute(column, N, KEY, NULL, one, scratch));
            CU_ASSERT_EQUAL(memcmp(stats + c * BL_STAT_COUNT, one, sizeof one), 0);
        }
        /* columns 8..18 alone, read with the full row stride, as a rank
         * computing its share of the records does */
        double part[COLS * BL_STAT_COUNT];
        int part_finite[COLS];
        bl_stats_columns(x + 8, N, COLS - 8, COLS, KEY, &draws, part, part_finite, work);
        CU_ASSERT_EQUAL(memcmp(part, stats + 8 * BL_STAT_COUNT,
                               sizeof(double) * (COLS - 8) * BL_STAT_COUNT), 0);
        CU_ASSERT_EQUAL(memcmp(part_finite, finite + 8, sizeof(int) * (COLS - 8)), 0);
        CU_ASSERT_EQUAL(finite[2], N - 1);
        CU_ASSERT_EQUAL(finite[13], 0);
        CU_ASSERT(stats[0 * BL_STAT_COUNT + BL_STAT_CI95_LOW] <
                  stats[0 * BL_STAT_COUNT + BL_STAT_CI95_HIGH]);
    }
}

void bl_test_register_stats(void)
{
    CU_pSuite suite = CU_add_suite("stats", NULL, NULL);
    BL_ADD_TEST(suite, test_stat_names);
    BL_ADD_TEST(suite, test_quantile_type7);
    BL_ADD_TEST(suite, test_iqm_by_hand);
    BL_ADD_TEST(suite, test_compute_four_values);
    BL_ADD_TEST(suite, test_compute_with_outlier);
    BL_ADD_TEST(suite, test_compute_skips_non_finite);
    BL_ADD_TEST(suite, test_compute_all_nan);
    BL_ADD_TEST(suite, test_compute_single_value);
    BL_ADD_TEST(suite, test_compute_two_values_std);
    BL_ADD_TEST(suite, test_constant_vector);
    BL_ADD_TEST(suite, test_bootstrap_contains_mean_and_reproducible);
    BL_ADD_TEST(suite, test_bootstrap_width);
    BL_ADD_TEST(suite, test_bootstrap_narrows_with_n);
    BL_ADD_TEST(suite, test_bootstrap_reference_values);
    BL_ADD_TEST(suite, test_compute_ci_matches_bootstrap);
    BL_ADD_TEST(suite, test_cached_draws_bitwise);
    BL_ADD_TEST(suite, test_ci_selection_matches_sort);
    BL_ADD_TEST(suite, test_columns_bitwise);
}
