/* Statistics across seeds. Pure functions, no allocation: the caller passes
 * the scratch space (and the bootstrap's draw cache). The definitions here are also what the Python output
 * checker assumes, so change both or neither. */
#include "bl_stats.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "bl_log.h"
#include "bl_rng.h"

const char *const bl_stat_names[BL_STAT_COUNT] = {
    "mean", "std", "min", "q25", "median", "q75", "max", "ci95_low", "ci95_high", "iqm",
};

/* Mean of v[0..n-1] as shift + mean(v - shift). With shift one of the values,
 * a constant vector gives exactly that constant (a plain sum of ten 0.1s is
 * not 1.0), and large common offsets do not eat the digits of the spread. */
static double shifted_mean(const double *v, int n, double shift)
{
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += v[i] - shift;
    return shift + sum / n;
}

static int compare_doubles(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

double bl_quantile_sorted(const double *sorted, int n, double q)
{
    if (n <= 0 || !(q >= 0.0 && q <= 1.0))
        return NAN;
    double h = (n - 1) * q;
    int i = (int)floor(h);
    /* q == 1 (or h rounding up to n-1) has no upper neighbour to read. */
    if (i >= n - 1)
        return sorted[n - 1];
    return sorted[i] + (h - i) * (sorted[i + 1] - sorted[i]);
}

double bl_iqm_sorted(const double *sorted, int n)
{
    if (n <= 0)
        return NAN;
    /* sorted[i] covers [i/n, (i+1)/n] of the empirical CDF and gets weight
     * |that interval overlapping [1/4, 3/4]|, normalised by the total 1/2.
     * Scaled by 4n the ends are integers: [4i, 4i+4] against [n, 3n], so
     * the weights c_i are exact integers in 0..4 summing to 2n, and
     * IQM = sum c_i x_i / (2n). 64-bit because 4n can exceed INT_MAX. */
    const int64_t lo = n, hi = 3 * (int64_t)n;
    double shift = sorted[n / 2];
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        int64_t a = 4 * (int64_t)i, b = a + 4;
        int64_t c = (b < hi ? b : hi) - (a > lo ? a : lo);
        if (c > 0)
            sum += (double)c * (sorted[i] - shift);
    }
    return shift + sum / (2.0 * n);
}

void bl_bootstrap_draws_fill(struct bl_bootstrap_draws *d, int n, uint64_t bootstrap_key)
{
    if (n > d->capacity)
        bl_fatal_at(__FILE__, __LINE__, "bootstrap draws for %d values, room for %d", n,
                    d->capacity);
    struct bl_rng rng;
    bl_rng_init(&rng, bootstrap_key, BL_STREAM_BOOTSTRAP, 0);
    /* Draw order is part of the contract: resample b, then draw j within it. */
    for (long k = 0; k < (long)BL_BOOTSTRAP_RESAMPLES * n; k++)
        d->idx[k] = (int32_t)bl_rng_below(&rng, (uint64_t)n);
    d->n = n;
    d->key = bootstrap_key;
}

/* Rearranges v[lo..hi] so that v[k] holds the value sorting would put there,
 * with nothing larger before it and nothing smaller after it (quickselect,
 * Hoare's partition around the middle element). */
static void select_kth(double *v, int lo, int hi, int k)
{
    while (lo < hi) {
        double pivot = v[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                double t = v[i];
                v[i++] = v[j];
                v[j--] = t;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return; /* v[j+1..i-1] all equal the pivot */
    }
}

/* The type 7 quantile q of v[0..n-1] (n >= 2), as bl_quantile_sorted would
 * give it after sorting: the two order statistics it interpolates, by
 * selection (O(n) instead of a sort's O(n log n)); v is rearranged. */
static double quantile_by_selection(double *v, int n, double q)
{
    double h = (n - 1) * q;
    int i = (int)floor(h);
    if (i >= n - 1) {
        select_kth(v, 0, n - 1, n - 1);
        return v[n - 1];
    }
    select_kth(v, 0, n - 1, i);
    double next = v[i + 1]; /* the smallest of v[i+1..]: the (i+1)-th order statistic */
    for (int m = i + 2; m < n; m++)
        if (v[m] < next)
            next = v[m];
    return v[i] + (h - i) * (next - v[i]);
}

/* The CI from the resample means (BL_BOOTSTRAP_RESAMPLES of them, rearranged
 * here). */
static void ci_from_means(double *means, double *low, double *high)
{
    *low = quantile_by_selection(means, BL_BOOTSTRAP_RESAMPLES, 0.025);
    *high = quantile_by_selection(means, BL_BOOTSTRAP_RESAMPLES, 0.975);
}

void bl_bootstrap_ci95(const double *x, int n, uint64_t bootstrap_key,
                       const struct bl_bootstrap_draws *draws, double *low, double *high,
                       double *work)
{
    if (n <= 0) {
        *low = *high = NAN;
        return;
    }
    if (n == 1) {
        /* Every resample is x[0]; skip the 2000 draws. */
        *low = *high = x[0];
        return;
    }
    /* means[BL_BOOTSTRAP_RESAMPLES]: the mean of each resample. Only these B
     * doubles of work are needed; the header's n + B leaves headroom. */
    double *means = work;
    const double shift = x[0];
    if (draws && draws->n == n && draws->key == bootstrap_key) {
        for (int b = 0; b < BL_BOOTSTRAP_RESAMPLES; b++) {
            const int32_t *idx = draws->idx + (long)b * n;
            double sum = 0.0;
            for (int j = 0; j < n; j++) /* the same sum, in the same order, as below */
                sum += x[idx[j]] - shift;
            means[b] = shift + sum / n;
        }
    } else {
        struct bl_rng rng;
        bl_rng_init(&rng, bootstrap_key, BL_STREAM_BOOTSTRAP, 0);
        /* Draw order is part of the contract: resample b, then draw j within it. */
        for (int b = 0; b < BL_BOOTSTRAP_RESAMPLES; b++) {
            double sum = 0.0;
            for (int j = 0; j < n; j++)
                sum += x[bl_rng_below(&rng, (uint64_t)n)] - shift;
            means[b] = shift + sum / n;
        }
    }
    ci_from_means(means, low, high);
}

/* Every statistic but the bootstrap's CI from sorted[0..count-1] (count >= 1)
 * into stats; the CI entries are left NaN. */
static void order_statistics(const double *sorted, int count, double *stats)
{
    for (int s = 0; s < BL_STAT_COUNT; s++)
        stats[s] = NAN;
    double mean = shifted_mean(sorted, count, sorted[count / 2]);
    stats[BL_STAT_MEAN] = mean;
    if (count >= 2) {
        double ss = 0.0;
        for (int i = 0; i < count; i++)
            ss += (sorted[i] - mean) * (sorted[i] - mean);
        stats[BL_STAT_STD] = sqrt(ss / (count - 1));
    }
    stats[BL_STAT_MIN] = sorted[0];
    stats[BL_STAT_Q25] = bl_quantile_sorted(sorted, count, 0.25);
    stats[BL_STAT_MEDIAN] = bl_quantile_sorted(sorted, count, 0.5);
    stats[BL_STAT_Q75] = bl_quantile_sorted(sorted, count, 0.75);
    stats[BL_STAT_MAX] = sorted[count - 1];
    stats[BL_STAT_IQM] = bl_iqm_sorted(sorted, count);
}

/* The finite values of x[0..n-1] into sorted, ascending; returns their count.
 * Inf is left out too: one diverged run would make mean and std Inf. Sorting
 * makes every statistic, the bootstrap included, independent of the order
 * the values arrived in (e.g. which rank finished first). */
static int sorted_finite(const double *x, int n, double *sorted)
{
    int count = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i]))
            sorted[count++] = x[i];
    qsort(sorted, (size_t)count, sizeof sorted[0], compare_doubles);
    return count;
}

int bl_stats_compute(const double *x, int n, uint64_t bootstrap_key,
                     struct bl_bootstrap_draws *draws, double *stats, double *work)
{
    /* work layout: sorted[n] (only the first count used), then the bootstrap's
     * n + BL_BOOTSTRAP_RESAMPLES. */
    double *sorted = work;
    double *boot_work = work + n;
    int count = sorted_finite(x, n, sorted);
    if (count == 0) {
        for (int s = 0; s < BL_STAT_COUNT; s++)
            stats[s] = NAN;
        return 0;
    }
    order_statistics(sorted, count, stats);
    if (draws && count >= 2 && count <= draws->capacity &&
        (draws->n != count || draws->key != bootstrap_key))
        bl_bootstrap_draws_fill(draws, count, bootstrap_key);
    bl_bootstrap_ci95(sorted, count, bootstrap_key, draws, &stats[BL_STAT_CI95_LOW],
                      &stats[BL_STAT_CI95_HIGH], boot_work);
    return count;
}

size_t bl_stats_columns_work_doubles(int n, int cols)
{
    return (size_t)n * cols + 8 + (size_t)n * BL_STATS_LANES +
           (size_t)BL_BOOTSTRAP_RESAMPLES * BL_STATS_LANES + 2 * (size_t)n +
           BL_BOOTSTRAP_RESAMPLES;
}

/* BL_STATS_LANES doubles added lane by lane: IEEE additions like scalar
 * ones, in vector registers (GCC and clang lower it to what the target has). */
typedef double lane_vector __attribute__((vector_size(BL_STATS_LANES * sizeof(double))));

/* Resamples summed side by side: their additions are independent, so the
 * CPU overlaps their latencies (one resample's sum is a chain of n
 * dependent additions). */
#define INTERLEAVED 4

/* The bootstrap means of BL_STATS_LANES columns at once. lanes (n, LANES),
 * 64-byte aligned: row i holds each column's i-th smallest value less its
 * smallest (the shift), unused lanes 0; means (LANES, RESAMPLES). Each
 * column's sum runs over the same draws in the same order, with the same
 * differences, as bl_bootstrap_ci95's, so every mean is bitwise the one it
 * computes; but a draw reads one row of LANES values (one cache line)
 * instead of one value, and the additions run across the lanes and across
 * INTERLEAVED resamples at once. */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void lane_means(const double *lanes, int n, const double *shift,
                       const struct bl_bootstrap_draws *draws, double *means)
{
    const lane_vector *rows = __builtin_assume_aligned(lanes, 64);
    _Static_assert(BL_BOOTSTRAP_RESAMPLES % INTERLEAVED == 0, "whole groups of resamples");
    for (int b = 0; b < BL_BOOTSTRAP_RESAMPLES; b += INTERLEAVED) {
        const int32_t *idx = draws->idx + (long)b * n;
        lane_vector sum[INTERLEAVED] = {{0}};
        for (int j = 0; j < n; j++)
            for (int q = 0; q < INTERLEAVED; q++)
                sum[q] += rows[idx[(long)q * n + j]];
        for (int q = 0; q < INTERLEAVED; q++)
            for (int k = 0; k < BL_STATS_LANES; k++)
                means[(long)k * BL_BOOTSTRAP_RESAMPLES + b + q] = shift[k] + sum[q][k] / n;
    }
}

void bl_stats_columns(const double *x, int n, int cols, long ld, uint64_t bootstrap_key,
                      struct bl_bootstrap_draws *draws, double *stats, int *finite,
                      double *work)
{
    /* work layout: sorted (n, cols), column c's sorted values down column c
     * (only the columns with all n finite are kept); lanes (n, LANES); means
     * (LANES, RESAMPLES); then one column's sorted[n] and the bootstrap's
     * n + RESAMPLES. */
    double *all_sorted = work;
    /* lanes start on a 64-byte boundary: a row is then one cache line */
    double *lanes = all_sorted + (size_t)n * cols;
    lanes += (64 - (uintptr_t)lanes % 64) % 64 / sizeof(double);
    double *means = lanes + (size_t)n * BL_STATS_LANES;
    double *sorted = means + (size_t)BL_BOOTSTRAP_RESAMPLES * BL_STATS_LANES;
    double *boot_work = sorted + n;
    int n_full = 0; /* columns with all n finite, bootstrapped in lanes below */
    int use_lanes = draws && n >= 2 && n <= draws->capacity;
    for (int c = 0; c < cols; c++) {
        double *st = stats + (long)c * BL_STAT_COUNT;
        for (int i = 0; i < n; i++)
            sorted[i] = x[(long)i * ld + c];
        int count = sorted_finite(sorted, n, sorted);
        finite[c] = count;
        if (count == 0) {
            for (int s = 0; s < BL_STAT_COUNT; s++)
                st[s] = NAN;
            continue;
        }
        order_statistics(sorted, count, st);
        if (use_lanes && count == n) {
            for (int i = 0; i < n; i++)
                all_sorted[(long)i * cols + c] = sorted[i];
            n_full++;
            continue;
        }
        /* a column with values left out: its own draws, one at a time */
        if (draws && count >= 2 && count <= draws->capacity &&
            (draws->n != count || draws->key != bootstrap_key))
            bl_bootstrap_draws_fill(draws, count, bootstrap_key);
        bl_bootstrap_ci95(sorted, count, bootstrap_key, draws, &st[BL_STAT_CI95_LOW],
                          &st[BL_STAT_CI95_HIGH], boot_work);
    }
    if (n_full == 0)
        return;
    if (draws->n != n || draws->key != bootstrap_key)
        bl_bootstrap_draws_fill(draws, n, bootstrap_key);
    int lane_col[BL_STATS_LANES]; /* the column in each lane */
    double shift[BL_STATS_LANES];
    for (int c0 = 0; c0 < cols;) {
        int used = 0;
        for (; c0 < cols && used < BL_STATS_LANES; c0++)
            if (use_lanes && finite[c0] == n)
                lane_col[used++] = c0;
        if (used == 0)
            break;
        for (int k = 0; k < BL_STATS_LANES; k++) {
            int c = lane_col[k < used ? k : 0];
            shift[k] = k < used ? all_sorted[c] : 0.0;
            for (int i = 0; i < n; i++)
                lanes[(long)i * BL_STATS_LANES + k] =
                    k < used ? all_sorted[(long)i * cols + c] - shift[k] : 0.0;
        }
        lane_means(lanes, n, shift, draws, means);
        for (int k = 0; k < used; k++) {
            double *st = stats + (long)lane_col[k] * BL_STAT_COUNT;
            ci_from_means(means + (long)k * BL_BOOTSTRAP_RESAMPLES, &st[BL_STAT_CI95_LOW],
                          &st[BL_STAT_CI95_HIGH]);
        }
    }
}
