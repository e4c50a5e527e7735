/* Eigenvalues, trace and spectral density of a symmetric operator known only
 * through matrix-vector products. Dense vectors of order n, BLAS-2 for the
 * Gram-Schmidt passes, LAPACK dstev for the small tridiagonal problems. */
#include "bl_spectrum.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "bl_log.h"

/* LAPACK, bundled in Debian's libopenblas (no header): all eigenvalues and,
 * with jobz 'V', eigenvectors of a symmetric tridiagonal matrix (implicit QL/QR,
 * i.e. dsteqr). d (n): diagonal in, eigenvalues ascending out; e (n - 1):
 * off-diagonal, destroyed; z (ldz x n) column-major: unit eigenvectors;
 * work (max(1, 2n - 2)). The trailing size_t is gfortran's hidden length of
 * the character argument. */
extern void dstev_(const char *jobz, const int *n, double *d, double *e, double *z,
                   const int *ldz, double *work, int *info, size_t jobz_len);

/* A coupling beta_j this small relative to ||T|| is taken as the end of an
 * invariant subspace: T gets beta_j = 0 and the run continues from a new
 * random vector. Dropping a real coupling beta moves Ritz residuals by up to
 * beta, so the threshold stays 100x below the tightest tolerance worth asking
 * (1e-10) yet far above the rounding floor of a true breakdown (about 1e-16
 * relative in the tests). Near-breakdowns are not rare: with few distinct
 * eigenvalues each small beta amplifies rounding, and a rank-5 test matrix
 * gives beta = 4e-11 relative one step before the true breakdown at 3e-17.
 * Missing a breakdown costs little: the noise left in w, orthogonal to all
 * previous vectors, simply serves as the next start. */
#define BREAKDOWN_REL 1e-12

/* Scratch of a Lanczos run of at most m steps, carved from one array. */
struct lanczos_ws {
    double *V;     /* (n x (m + 1)) column-major: column j is the unit vector v_j */
    double *alpha; /* (m) diagonal of T */
    double *beta;  /* (m) beta[j] couples v_j and v_{j+1}; 0 where a new start was taken */
    double *h;     /* (m + 1) Gram-Schmidt coefficients */
    double *theta; /* (m) Ritz values of the current d x d T, ascending */
    double *S;     /* (d x d) column-major unit eigenvectors of T, column i for theta[i] */
    double *e;     /* (m) copy of beta for dstev, which destroys it */
    double *lwork; /* (2 m) dstev's work */
};

static size_t lanczos_ws_doubles(int n, int m)
{
    return (size_t)n * (size_t)(m + 1) + (size_t)m * (size_t)m + 7 * (size_t)m + 1;
}

static void lanczos_ws_carve(struct lanczos_ws *ws, int n, int m, double *work)
{
    ws->V = work;
    ws->alpha = ws->V + (size_t)n * (size_t)(m + 1);
    ws->beta = ws->alpha + m;
    ws->h = ws->beta + m;
    ws->theta = ws->h + m + 1;
    ws->S = ws->theta + m;
    ws->e = ws->S + (size_t)m * (size_t)m;
    ws->lwork = ws->e + m;
}

size_t bl_lanczos_work_doubles(long n, int max_iter)
{
    if (n < 1 || n > INT_MAX || max_iter < 1)
        return 0;
    int m = max_iter < n ? max_iter : (int)n;
    /* + y and H y for the explicit residuals */
    return lanczos_ws_doubles((int)n, m) + 2 * (size_t)n;
}

size_t bl_slq_work_doubles(long n, int m)
{
    if (n < 1 || n > INT_MAX || m < 1)
        return 0;
    return lanczos_ws_doubles((int)n, m < n ? m : (int)n);
}

/* w (n) -= V (V^T w) for the first cols columns of V (n x cols), twice:
 * one classical Gram-Schmidt pass leaves O(eps * cond) of the old directions,
 * the second brings it to O(eps) ("twice is enough", Giraud et al. 2005).
 * Returns the summed coefficient on the last column, h (cols) is scratch. */
static double gram_schmidt2(int n, const double *V, int cols, double *w, double *h)
{
    double last = 0.0;
    for (int pass = 0; pass < 2; pass++) {
        cblas_dgemv(CblasColMajor, CblasTrans, n, cols, 1.0, V, n, w, 1, 0.0, h, 1);
        cblas_dgemv(CblasColMajor, CblasNoTrans, n, cols, -1.0, V, n, h, 1, 1.0, w, 1);
        last += h[cols - 1];
    }
    return last;
}

/* Step j: V column j + 1 = H v_j orthogonalized against v_0..v_j, not yet
 * normalized; alpha[j] = v_j.H v_j (both passes), beta[j] its norm. The
 * Gram-Schmidt against all previous vectors subsumes the three-term
 * recurrence: its coefficient on v_{j-1} is beta[j-1] up to rounding. */
static void lanczos_step(int n, bl_matvec_fn matvec, void *ctx, struct lanczos_ws *ws, int j)
{
    double *v = ws->V + (size_t)j * n;
    double *w = v + n;
    matvec(ctx, v, w);
    ws->alpha[j] = gram_schmidt2(n, ws->V, j + 1, w, ws->h);
    ws->beta[j] = cblas_dnrm2(n, w, 1);
}

/* Eigenpairs of the d x d tridiagonal T (alpha, beta) into theta and S. */
static int tridiag_eig(struct lanczos_ws *ws, int d)
{
    for (int i = 0; i < d; i++)
        ws->theta[i] = ws->alpha[i];
    for (int i = 0; i + 1 < d; i++)
        ws->e[i] = ws->beta[i];
    int info = 0;
    dstev_("V", &d, ws->theta, ws->e, ws->S, &d, ws->lwork, &info, 1);
    return info;
}

static void fill_normal(int n, double *v, struct bl_rng *rng)
{
    for (int i = 0; i < n; i++)
        v[i] = bl_rng_normal(rng);
}

/* Rademacher vector: one bit of a 32-bit draw per entry. */
static void fill_rademacher(int n, double *z, struct bl_rng *rng)
{
    uint32_t bits = 0;
    for (int i = 0; i < n; i++) {
        if (i % 32 == 0)
            bits = bl_rng_u32(rng);
        z[i] = (bits & 1u) ? 1.0 : -1.0;
        bits >>= 1;
    }
}

/* After an invariant subspace: V column cols = a unit random vector
 * orthogonal to columns 0..cols-1. Returns 0 if none could be found (the
 * columns already span everything up to rounding). */
static int new_direction(int n, struct lanczos_ws *ws, int cols, struct bl_rng *rng)
{
    double *w = ws->V + (size_t)cols * n;
    for (int attempt = 0; attempt < 3; attempt++) {
        fill_normal(n, w, rng);
        double before = cblas_dnrm2(n, w, 1);
        gram_schmidt2(n, ws->V, cols, w, ws->h);
        double after = cblas_dnrm2(n, w, 1);
        if (after > 1e-6 * before) {
            cblas_dscal(n, 1.0 / after, w, 1);
            return 1;
        }
    }
    return 0;
}

/* Index in theta of the largest Ritz value whose eigenvector lives in rows
 * [start, d) of T. dsteqr splits T at the zero couplings left by new starts,
 * so each eigenvector lies wholly in one block; the mass test only needs to
 * tell which. */
static int block_top(const struct lanczos_ws *ws, int d, int start)
{
    for (int c = d - 1; c > 0; c--) {
        double mass = 0.0;
        for (int r = start; r < d; r++)
            mass += ws->S[(size_t)c * d + r] * ws->S[(size_t)c * d + r];
        if (mass > 0.5)
            return c;
    }
    return 0;
}

/* Ritz vector y (n) = V s for the eigenvector s = column c of the d x d S,
 * renormalized; returns ||H y - theta_c y|| using hy (n) for H y. */
static double ritz_residual(int n, bl_matvec_fn matvec, void *ctx, const struct lanczos_ws *ws,
                            int d, int c, double *y, double *hy)
{
    cblas_dgemv(CblasColMajor, CblasNoTrans, n, d, 1.0, ws->V, n, ws->S + (size_t)c * d, 1,
                0.0, y, 1);
    double norm = cblas_dnrm2(n, y, 1);
    if (norm > 0.0)
        cblas_dscal(n, 1.0 / norm, y, 1);
    matvec(ctx, y, hy);
    double theta = ws->theta[c], sum = 0.0;
    for (int i = 0; i < n; i++) {
        double r = hy[i] - theta * y[i];
        sum += r * r;
    }
    return sqrt(sum);
}

int bl_lanczos_top(long n, bl_matvec_fn matvec, void *ctx, int k, int max_iter, double tol,
                   struct bl_rng *rng, struct bl_eigpair *pairs, double *ritz, double *work,
                   struct bl_lanczos_info *info)
{
    if (n < 1 || n > INT_MAX || k < 1 || k > n || max_iter < k || !(tol >= 0.0) || !matvec ||
        !rng || !pairs)
        return BL_SPECTRUM_BAD_ARG;
    int nn = (int)n;
    int m = max_iter < nn ? max_iter : nn;
    double *owned = NULL;
    if (!work)
        work = owned = bl_malloc(bl_lanczos_work_doubles(n, max_iter) * sizeof(double));
    struct lanczos_ws ws;
    lanczos_ws_carve(&ws, nn, m, work);
    double *y = work + lanczos_ws_doubles(nn, m); /* (n) */
    double *hy = y + nn;                          /* (n) */
    struct bl_lanczos_info run = {0, 0, 0};

    fill_normal(nn, ws.V, rng);
    cblas_dscal(nn, 1.0 / cblas_dnrm2(nn, ws.V, 1), ws.V, 1);
    for (int i = 0; i < k; i++)
        pairs[i].iterations = 0; /* 0: not (yet) within tolerance */

    /* The tridiagonal solve costs O(d^2)..O(d^3); checking at every step
     * while d is small and then every d/16 steps keeps it negligible against
     * the O(d n) Gram-Schmidt work, overshooting convergence by <= 1/16. */
    int next_check = k;
    int status = BL_SPECTRUM_NOT_CONVERGED;
    double tnorm = 0.0;  /* running estimate of ||T|| <= ||H|| */
    int block_start = 0; /* first Lanczos vector since the last new start */
    int d = 0;
    for (int j = 0; j < m; j++) {
        lanczos_step(nn, matvec, ctx, &ws, j);
        run.matvecs++;
        d = j + 1;
        tnorm = fmax(tnorm, fabs(ws.alpha[j]) + ws.beta[j] + (j > 0 ? ws.beta[j - 1] : 0.0));
        int last = d == m;
        int whole_space = d == nn; /* T is then similar to H: nothing can hide */
        int broke = ws.beta[j] <= BREAKDOWN_REL * tnorm;
        /* v_{j+1} goes to column d before the check, which only reads
         * columns < d. */
        if (broke) {
            ws.beta[j] = 0.0;
            if (!last) {
                if (new_direction(nn, &ws, d, rng)) {
                    run.restarts++;
                } else {
                    last = 1;
                    whole_space = 1;
                }
            }
        } else if (!last) {
            cblas_dscal(nn, 1.0 / ws.beta[j], ws.V + (size_t)d * nn, 1);
        }
        int this_block = block_start;
        if (broke)
            block_start = d;
        if (d < k || (d < next_check && !last && !broke))
            continue;

        if (tridiag_eig(&ws, d) != 0) {
            status = BL_SPECTRUM_LAPACK_FAILED;
            break;
        }
        double bound = tol * fmax(1.0, fabs(ws.theta[d - 1]));
        /* Residual of Ritz pair c is |beta_j * S[d-1][c]| in exact
         * arithmetic; full reorthogonalization keeps it honest in practice.
         * Pairs of earlier, finished blocks have S[d-1][c] = 0. */
        int all_ok = 1;
        for (int i = 0; i < k; i++) {
            int c = d - 1 - i;
            double estimate = ws.beta[j] * fabs(ws.S[(size_t)c * d + d - 1]);
            if (estimate <= bound) {
                if (pairs[i].iterations == 0)
                    pairs[i].iterations = d;
            } else {
                pairs[i].iterations = 0;
                all_ok = 0;
            }
        }
        /* The current block [this_block, d) was started from a random
         * vector orthogonal to the invariant subspaces found before it, and
         * its top Ritz value tends to the largest eigenvalue left in that
         * complement. So after a new start the top k are final only once
         * that value has converged too. When a block ends in an invariant
         * subspace its Ritz values are exact but it holds one copy of each
         * eigenvalue: if its top value lies above the k-th, a further copy
         * may remain outside everything seen so far and would push the k-th
         * out, so go on (a copy of a value tied with the k-th changes
         * nothing). Without breakdowns the block is all of T and this adds
         * nothing. */
        int complete = 1;
        if ((this_block > 0 || broke) && !whole_space) {
            int c = block_top(&ws, d, this_block);
            double estimate = ws.beta[j] * fabs(ws.S[(size_t)c * d + d - 1]);
            if (estimate > bound || (broke && ws.theta[c] > ws.theta[d - k] + bound))
                complete = 0;
        }
        if ((all_ok && complete) || last) {
            all_ok = complete;
            for (int i = 0; i < k; i++) {
                int c = d - 1 - i;
                double *yi = ritz ? ritz + (size_t)i * nn : y;
                pairs[i].value = ws.theta[c];
                pairs[i].residual = ritz_residual(nn, matvec, ctx, &ws, d, c, yi, hy);
                run.matvecs++;
                if (pairs[i].residual > bound || !complete) {
                    pairs[i].iterations = 0;
                    all_ok = 0;
                }
            }
            if (all_ok) {
                status = BL_SPECTRUM_OK;
                break;
            }
            if (last)
                break;
        }
        next_check = d + (d / 16 > 1 ? d / 16 : 1);
    }
    for (int i = 0; i < k; i++)
        if (pairs[i].iterations == 0)
            pairs[i].iterations = d;
    run.iterations = d;
    if (info)
        *info = run;
    free(owned);
    return status;
}

int bl_power_iteration(long n, bl_matvec_fn matvec, void *ctx, int max_iter, double tol,
                       struct bl_rng *rng, struct bl_eigpair *pair, double *vec, double *work)
{
    if (n < 1 || n > INT_MAX || max_iter < 1 || !(tol >= 0.0) || !matvec || !rng || !pair)
        return BL_SPECTRUM_BAD_ARG;
    int nn = (int)n;
    double *owned = NULL;
    if (!work)
        work = owned = bl_malloc(2 * (size_t)nn * sizeof(double));
    double *v = work;      /* (n) current unit vector */
    double *w = work + nn; /* (n) H v */

    fill_normal(nn, v, rng);
    cblas_dscal(nn, 1.0 / cblas_dnrm2(nn, v, 1), v, 1);
    int status = BL_SPECTRUM_NOT_CONVERGED;
    double value = 0.0, residual = INFINITY;
    int it = 0;
    while (it < max_iter) {
        matvec(ctx, v, w);
        it++;
        value = cblas_ddot(nn, v, 1, w, 1);
        double sum = 0.0;
        for (int i = 0; i < nn; i++) {
            double r = w[i] - value * v[i];
            sum += r * r;
        }
        residual = sqrt(sum);
        if (residual <= tol * fmax(1.0, fabs(value))) {
            status = BL_SPECTRUM_OK;
            break;
        }
        if (it == max_iter)
            break; /* keep v: value and residual belong to it */
        /* residual > 0 here, so w != 0 */
        double norm = cblas_dnrm2(nn, w, 1);
        for (int i = 0; i < nn; i++)
            v[i] = w[i] / norm;
    }
    pair->value = value;
    pair->residual = residual;
    pair->iterations = it;
    if (vec)
        for (int i = 0; i < nn; i++)
            vec[i] = v[i];
    free(owned);
    return status;
}

int bl_hutchinson_trace(long n, bl_matvec_fn matvec, void *ctx, int n_probes,
                        struct bl_rng *rng, double *mean, double *std_error, double *work)
{
    return bl_hutchinson_trace_blocks(n, matvec, ctx, n_probes, rng, 0, NULL, NULL, mean,
                                      std_error, work);
}

int bl_hutchinson_trace_blocks(long n, bl_matvec_fn matvec, void *ctx, int n_probes,
                               struct bl_rng *rng, int n_blocks, const long *block_start,
                               double *block_trace, double *mean, double *std_error,
                               double *work)
{
    if (n < 1 || n > INT_MAX || n_probes < 1 || !matvec || !rng || !mean || !std_error ||
        (n_blocks > 0 && (!block_start || !block_trace)))
        return BL_SPECTRUM_BAD_ARG;
    for (int b = 0; b < n_blocks; b++)
        block_trace[b] = 0;
    int nn = (int)n;
    double *owned = NULL;
    if (!work)
        work = owned = bl_malloc(2 * (size_t)nn * sizeof(double));
    double *z = work;       /* (n) probe */
    double *hz = work + nn; /* (n) H z */

    /* Welford: a plain sum of squares loses the spread when the trace is
     * large against it. */
    double mu = 0.0, m2 = 0.0;
    for (int p = 0; p < n_probes; p++) {
        fill_rademacher(nn, z, rng);
        matvec(ctx, z, hz);
        double q = cblas_ddot(nn, z, 1, hz, 1);
        double delta = q - mu;
        mu += delta / (p + 1);
        m2 += delta * (q - mu);
        /* the same probe restricted to a block estimates that block's trace */
        for (int b = 0; b < n_blocks; b++) {
            long lo = block_start[b], len = block_start[b + 1] - lo;
            block_trace[b] += cblas_ddot((int)len, z + lo, 1, hz + lo, 1) / n_probes;
        }
    }
    *mean = mu;
    *std_error = n_probes > 1 ? sqrt(m2 / (n_probes - 1) / n_probes) : NAN;
    free(owned);
    return BL_SPECTRUM_OK;
}

int bl_slq_density(long n, bl_matvec_fn matvec, void *ctx, int n_probes, int m,
                   struct bl_rng *rng, double *nodes, double *weights, double *work)
{
    if (n < 1 || n > INT_MAX || n_probes < 1 || m < 1 || !matvec || !rng || !nodes || !weights)
        return BL_SPECTRUM_BAD_ARG;
    int nn = (int)n;
    int mm = m < nn ? m : nn; /* more than n steps cannot happen */
    double *owned = NULL;
    if (!work)
        work = owned = bl_malloc(bl_slq_work_doubles(n, m) * sizeof(double));
    struct lanczos_ws ws;
    lanczos_ws_carve(&ws, nn, mm, work);

    int status = BL_SPECTRUM_OK;
    for (int p = 0; p < n_probes && status == BL_SPECTRUM_OK; p++) {
        fill_rademacher(nn, ws.V, rng);
        cblas_dscal(nn, 1.0 / sqrt((double)nn), ws.V, 1);
        double tnorm = 0.0;
        int d = 0;
        for (int j = 0; j < mm; j++) {
            lanczos_step(nn, matvec, ctx, &ws, j);
            d = j + 1;
            tnorm = fmax(tnorm, fabs(ws.alpha[j]) + ws.beta[j] + (j > 0 ? ws.beta[j - 1] : 0.0));
            /* Invariant subspace: the quadrature with d nodes is exact for
             * this start vector, and a restart would change the measure. */
            if (ws.beta[j] <= BREAKDOWN_REL * tnorm)
                break;
            if (d < mm)
                cblas_dscal(nn, 1.0 / ws.beta[j], ws.V + (size_t)d * nn, 1);
        }
        if (tridiag_eig(&ws, d) != 0) {
            status = BL_SPECTRUM_LAPACK_FAILED;
            break;
        }
        double *node = nodes + (size_t)p * m;
        double *weight = weights + (size_t)p * m;
        for (int i = 0; i < d; i++) {
            double s0 = ws.S[(size_t)i * d]; /* first component of eigenvector i */
            node[i] = ws.theta[i];
            weight[i] = s0 * s0 / n_probes;
        }
        for (int i = d; i < m; i++) {
            node[i] = ws.theta[d - 1];
            weight[i] = 0.0;
        }
    }
    free(owned);
    return status;
}

void bl_slq_smooth(const double *nodes, const double *weights, long count, double sigma,
                   const double *grid, long n_grid, double *density)
{
    const double inv_sqrt_2pi = 0.39894228040143267794; /* M_PI is not C11 */
    const double norm = inv_sqrt_2pi / sigma;
    for (long g = 0; g < n_grid; g++) {
        double sum = 0.0;
        for (long i = 0; i < count; i++) {
            double t = (grid[g] - nodes[i]) / sigma;
            sum += weights[i] * exp(-0.5 * t * t);
        }
        density[g] = norm * sum;
    }
}
