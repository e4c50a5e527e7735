/* Statistics across seeds: pure functions on arrays of doubles.
 * NaN values (tasks not measured or diverged) are left out. */
#ifndef BL_STATS_H
#define BL_STATS_H

#include <stdint.h>

/* The order of the `stat` dimension in the output file. */
enum bl_stat {
    BL_STAT_MEAN, BL_STAT_STD, BL_STAT_MIN, BL_STAT_Q25, BL_STAT_MEDIAN,
    BL_STAT_Q75, BL_STAT_MAX, BL_STAT_CI95_LOW, BL_STAT_CI95_HIGH, BL_STAT_IQM,
    BL_STAT_COUNT
};

extern const char *const bl_stat_names[BL_STAT_COUNT];

#define BL_BOOTSTRAP_RESAMPLES 2000
#define BL_BOOTSTRAP_SEED 20240601u

/* Quantile of sorted[0..n-1] by linear interpolation between order
 * statistics (Hyndman & Fan type 7, numpy's default). */
double bl_quantile_sorted(const double *sorted, int n, double q);

/* Interquartile mean: the mean of the middle 50% of sorted values, with the
 * boundary values weighted fractionally when n is not a multiple of 4. */
double bl_iqm_sorted(const double *sorted, int n);

/* 95% percentile-bootstrap CI of the mean of x[0..n-1] (no NaN), from
 * BL_BOOTSTRAP_RESAMPLES resamples drawn from stream (bootstrap_key, ...).
 * work: n + BL_BOOTSTRAP_RESAMPLES doubles. */
void bl_bootstrap_ci95(const double *x, int n, uint64_t bootstrap_key, double *low,
                       double *high, double *work);

/* All statistics of x[0..n-1] into stats[BL_STAT_COUNT]; NaN entries of x are
 * skipped, all-NaN gives NaN stats. Returns how many values were finite.
 * work: 2n + BL_BOOTSTRAP_RESAMPLES doubles. */
int bl_stats_compute(const double *x, int n, uint64_t bootstrap_key, double *stats,
                     double *work);

#endif
