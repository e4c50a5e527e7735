/* Statistics across seeds. Pure functions, no allocation: the caller passes
 * the scratch space (and the bootstrap's draw cache). The definitions here are also what the Python output
 * checker assumes, so change both or neither. */
#include "bl_stats.h"

#include <math.h>
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
    qsort(means, BL_BOOTSTRAP_RESAMPLES, sizeof means[0], compare_doubles);
    *low = bl_quantile_sorted(means, BL_BOOTSTRAP_RESAMPLES, 0.025);
    *high = bl_quantile_sorted(means, BL_BOOTSTRAP_RESAMPLES, 0.975);
}

int bl_stats_compute(const double *x, int n, uint64_t bootstrap_key,
                     struct bl_bootstrap_draws *draws, double *stats, double *work)
{
    /* work layout: sorted[n] (only the first count used), then the bootstrap's
     * n + BL_BOOTSTRAP_RESAMPLES. */
    double *sorted = work;
    double *boot_work = work + n;
    int count = 0;
    /* Inf is left out too: one diverged run would make mean and std Inf. */
    for (int i = 0; i < n; i++)
        if (isfinite(x[i]))
            sorted[count++] = x[i];

    for (int s = 0; s < BL_STAT_COUNT; s++)
        stats[s] = NAN;
    if (count == 0)
        return 0;

    /* Sorting first makes every statistic, the bootstrap included, independent
     * of the order the values arrived in (e.g. which rank finished first). */
    qsort(sorted, (size_t)count, sizeof sorted[0], compare_doubles);

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
    if (draws && count >= 2 && count <= draws->capacity &&
        (draws->n != count || draws->key != bootstrap_key))
        bl_bootstrap_draws_fill(draws, count, bootstrap_key);
    bl_bootstrap_ci95(sorted, count, bootstrap_key, draws, &stats[BL_STAT_CI95_LOW],
                      &stats[BL_STAT_CI95_HIGH], boot_work);
    stats[BL_STAT_IQM] = bl_iqm_sorted(sorted, count);
    return count;
}
