/* Spectrum of a symmetric operator seen only through matrix-vector products
 * (the training code supplies exact Hessian-vector products): top-k
 * eigenvalues by Lanczos, the largest-magnitude one by power iteration, the
 * trace by Hutchinson's estimator and the spectral density by stochastic
 * Lanczos quadrature. Pure math: no MPI, no I/O.
 *
 * Sharpness (SCIENCE.md section 4) is the largest ALGEBRAIC eigenvalue:
 * bl_lanczos_top. Peers' power iteration reports the largest MAGNITUDE:
 * bl_power_iteration. The two differ when a negative eigenvalue dominates.
 *
 * Random numbers: every function draws from a caller-initialized stream, so
 * the caller picks the key (seed, purpose, step) and the result does not
 * depend on anything else. Results are deterministic for a given stream,
 * operator and BLAS.
 *
 * Workspace: every function takes `work`, a caller-provided array of the
 * documented size in doubles, or NULL to have it allocated once per call (and
 * freed before return). Nothing is allocated per iteration.
 *
 * Return codes: BL_SPECTRUM_OK when the tolerance was met,
 * BL_SPECTRUM_NOT_CONVERGED when max_iter ran out (all outputs are still
 * filled with the last iterate's values and true residuals),
 * BL_SPECTRUM_BAD_ARG for sizes out of range, BL_SPECTRUM_LAPACK_FAILED if
 * the tridiagonal eigensolver failed (outputs undefined). */
#ifndef BL_SPECTRUM_H
#define BL_SPECTRUM_H

#include <stddef.h>

#include "bl_rng.h"

enum {
    BL_SPECTRUM_OK = 0,
    BL_SPECTRUM_NOT_CONVERGED = 1,
    BL_SPECTRUM_BAD_ARG = -1,
    BL_SPECTRUM_LAPACK_FAILED = -2
};

/* out = H v for a symmetric H of order n. v (n) must not be modified; v and
 * out (n) never overlap. ctx is passed through untouched. */
typedef void (*bl_matvec_fn)(void *ctx, const double *v, double *out);

/* One eigenvalue estimate with the evidence for it. */
struct bl_eigpair {
    double value;    /* Ritz value / Rayleigh quotient */
    double residual; /* ||H y - value y|| for the unit vector y, from an explicit matvec */
    int iterations;  /* Lanczos: Krylov dimension from which this pair's residual estimate
                        stayed within tolerance (the total if it never did);
                        power iteration: matvecs taken */
};

/* What a Lanczos run cost. */
struct bl_lanczos_info {
    int iterations; /* Lanczos steps = final Krylov dimension */
    int matvecs;    /* all operator applications, including the residual checks */
    int restarts;   /* invariant subspaces met (a new random start drawn after each) */
};

/* Doubles of workspace bl_lanczos_top needs for order n and max_iter steps:
 * n * (m + 3) + m * m + 7 m + 1 with m = min(max_iter, n). 0 for bad sizes. */
size_t bl_lanczos_work_doubles(long n, int max_iter);

/* The k LARGEST ALGEBRAIC eigenvalues of H by Lanczos with full
 * reorthogonalization (classical Gram-Schmidt twice against every previous
 * Lanczos vector). The start vector is standard normal from rng. When an
 * invariant subspace is found (repeated or few distinct eigenvalues) the run
 * continues from a new random vector orthogonal to the previous ones, so
 * every eigenvalue can be reached. Steps are capped at n.
 *
 * Stops when every one of the k pairs has ||H y - theta y|| <= tol *
 * max(1, |theta_1|) (theta_1 the largest), checked first with the cheap
 * Lanczos estimate |beta_j s_{j,i}| and then confirmed with k explicit
 * matvecs on the Ritz vectors; or after max_iter steps. After an invariant
 * subspace it also waits until the block begun by the last new start has
 * shown that no further copy of a top eigenvalue remains. Without any
 * breakdown, a single Krylov space holds one copy of a repeated eigenvalue,
 * so an exactly repeated top eigenvalue may be reported once (as with any
 * single-vector Lanczos).
 *
 * n:       order, 1 <= n <= INT_MAX
 * k:       how many eigenvalues, 1 <= k <= min(n, max_iter)
 * pairs:   (k) out, descending: pairs[0] is the largest algebraic eigenvalue
 * ritz:    (k * n) out or NULL; ritz[i * n .. i * n + n - 1] is the unit Ritz
 *          vector of pairs[i]
 * work:    bl_lanczos_work_doubles(n, max_iter) doubles, or NULL
 * info:    out or NULL
 * Memory is dominated by the n x (steps + 1) Lanczos basis. */
int bl_lanczos_top(long n, bl_matvec_fn matvec, void *ctx, int k, int max_iter, double tol,
                   struct bl_rng *rng, struct bl_eigpair *pairs, double *ritz, double *work,
                   struct bl_lanczos_info *info);

/* The LARGEST-MAGNITUDE eigenvalue (signed) by power iteration from a standard
 * normal start vector: what power-iteration and ARPACK 'LM' peers report.
 * Each iteration is one matvec w = H v (v unit), value = v.w, residual =
 * ||w - value v|| (exact, no extra matvec); stops when residual <= tol *
 * max(1, |value|) or after max_iter matvecs. Converges like
 * (|lambda_2| / |lambda_1|)^iterations, and not at all when lambda and
 * -lambda are both dominant.
 * pair:  out; iterations = matvecs taken
 * vec:   (n) out or NULL, the final unit vector v
 * work:  2 n doubles, or NULL */
int bl_power_iteration(long n, bl_matvec_fn matvec, void *ctx, int max_iter, double tol,
                       struct bl_rng *rng, struct bl_eigpair *pair, double *vec, double *work);

/* Hutchinson's estimate of trace(H): the mean over n_probes Rademacher
 * vectors z (entries +-1 from rng) of z.Hz, with its standard error
 * (sample standard deviation / sqrt(n_probes); NaN when n_probes == 1).
 * The variance of one probe is 2 * sum_{i != j} H_ij^2.
 * work: 2 n doubles, or NULL. Returns BL_SPECTRUM_OK or BAD_ARG. */
int bl_hutchinson_trace(long n, bl_matvec_fn matvec, void *ctx, int n_probes,
                        struct bl_rng *rng, double *mean, double *std_error, double *work);

/* The same, and from the same probes the trace of each diagonal block of H:
 * block b is [block_start[b], block_start[b + 1]) (n_blocks + 1 offsets);
 * block_trace (n_blocks) out, the mean of z_b.(Hz)_b, which sums to the
 * total. mean and std_error are bitwise those of bl_hutchinson_trace. */
int bl_hutchinson_trace_blocks(long n, bl_matvec_fn matvec, void *ctx, int n_probes,
                               struct bl_rng *rng, int n_blocks, const long *block_start,
                               double *block_trace, double *mean, double *std_error,
                               double *work);

/* Doubles of workspace bl_slq_density needs for order n and m steps:
 * n * (mm + 1) + mm * mm + 7 mm + 1 with mm = min(m, n). 0 for bad sizes. */
size_t bl_slq_work_doubles(long n, int m);

/* Stochastic Lanczos quadrature estimate of the spectral density
 * (1/n) sum_i delta(x - lambda_i): for each of n_probes Rademacher start
 * vectors z / sqrt(n), m Lanczos steps (full reorthogonalization, no
 * restart: an invariant subspace ends that probe early and makes its
 * quadrature exact) give the Gauss quadrature of the probe's spectral
 * measure, nodes = Ritz values, weights = squared first components of the
 * tridiagonal's unit eigenvectors.
 * nodes, weights: (n_probes * m) out; probe p owns [p * m, p * m + m). Weights
 *   are divided by n_probes, so all weights sum to 1. A probe that stopped
 *   early after d < m steps has its slots d..m-1 padded with weight 0 (node =
 *   its largest Ritz value).
 * sum(weights * nodes) equals the Hutchinson estimate / n with the same
 * probes, so it is an unbiased estimate of trace(H) / n.
 * work: bl_slq_work_doubles(n, m) doubles, or NULL. */
int bl_slq_density(long n, bl_matvec_fn matvec, void *ctx, int n_probes, int m,
                   struct bl_rng *rng, double *nodes, double *weights, double *work);

/* Gaussian-smoothed density on a grid: density[g] = sum_i weights[i] *
 * N(grid[g]; nodes[i], sigma^2) for nodes, weights (count), grid and
 * density (n_grid). Integrates to sum(weights) over the real line. */
void bl_slq_smooth(const double *nodes, const double *weights, long count, double sigma,
                   const double *grid, long n_grid, double *density);

#endif
