/* Statistics across seeds: pure functions on arrays of doubles.
 * NaN values (tasks not measured or diverged) are left out. */
#ifndef BL_STATS_H
#define BL_STATS_H

#include <stddef.h>
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

/* The bootstrap's draws depend on n and the key only, never on the values,
 * so a caller that bootstraps many columns of n values (every record of every
 * metric at the end of a run) can draw them once and reuse them: a resample
 * then costs n additions instead of n random draws (each a Philox block and
 * two 64-bit divisions), and every result is bitwise the same. The caller
 * owns idx; bl_stats_compute fills it for the n at hand when it fits. */
struct bl_bootstrap_draws {
    int32_t *idx;  /* (BL_BOOTSTRAP_RESAMPLES, n): resample b's j-th draw at b n + j */
    int capacity;  /* the largest n idx has room for */
    int n;         /* the n whose draws idx holds (0: none yet) */
    uint64_t key;  /* and their key */
};

/* d->idx = the draws for n values with bootstrap_key (n <= d->capacity). */
void bl_bootstrap_draws_fill(struct bl_bootstrap_draws *d, int n, uint64_t bootstrap_key);

/* 95% percentile-bootstrap CI of the mean of x[0..n-1] (no NaN), from
 * BL_BOOTSTRAP_RESAMPLES resamples drawn from stream (bootstrap_key, ...);
 * taken from draws when it holds those of (n, bootstrap_key), else drawn
 * here (draws may be NULL). work: n + BL_BOOTSTRAP_RESAMPLES doubles. */
void bl_bootstrap_ci95(const double *x, int n, uint64_t bootstrap_key,
                       const struct bl_bootstrap_draws *draws, double *low, double *high,
                       double *work);

/* All statistics of x[0..n-1] into stats[BL_STAT_COUNT]; NaN entries of x are
 * skipped, all-NaN gives NaN stats. Returns how many values were finite.
 * draws: NULL, or a cache refilled here when the finite count changes and
 * fits its capacity. work: 2n + BL_BOOTSTRAP_RESAMPLES doubles. */
int bl_stats_compute(const double *x, int n, uint64_t bootstrap_key,
                     struct bl_bootstrap_draws *draws, double *stats, double *work);

/* Columns bootstrapped together by bl_stats_columns: 8 doubles, one cache
 * line, one AVX-512 register. */
#define BL_STATS_LANES 8

/* bl_stats_compute of every column of x (n, cols) at once (column c is
 * x[i ld + c], e.g. a (seed, record) trajectory, or some of its columns),
 * bitwise the same results: stats (cols, BL_STAT_COUNT), finite[cols] the
 * counts. The columns with all n finite share one pass over the draws,
 * BL_STATS_LANES at a time; draws must have room for n for that (else each
 * column draws its own). work: bl_stats_columns_work_doubles(n, cols). */
void bl_stats_columns(const double *x, int n, int cols, long ld, uint64_t bootstrap_key,
                      struct bl_bootstrap_draws *draws, double *stats, int *finite,
                      double *work);
size_t bl_stats_columns_work_doubles(int n, int cols);

#endif
