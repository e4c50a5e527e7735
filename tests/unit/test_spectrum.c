/* Spectrum: Lanczos, power iteration, Hutchinson and stochastic Lanczos
 * quadrature on dense symmetric matrices Q diag(lambda) Q^T whose spectrum we
 * chose, checked against LAPACK dsyevd and the exact trace. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "bl_rng.h"
#include "bl_spectrum.h"
#include "bl_test.h"

/* Not yet in bl_test.h. */
void bl_test_register_spectrum(void);

/* LAPACK (in libopenblas): all eigenvalues of a dense symmetric matrix,
 * ascending in w (n); a (lda x n) is destroyed. */
extern void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
                    double *w, double *work, const int *lwork, int *iwork, const int *liwork,
                    int *info, size_t jobz_len, size_t uplo_len);

#define SEED 20240917u
#define MAX_N 200
#define GUARD 8
#define SENTINEL -12345.678

/* A dense symmetric operator with a counter of its applications. */
struct dense {
    int n;
    double a[MAX_N * MAX_N]; /* (n x n), symmetric so the storage order does not matter */
    long calls;
};

static void dense_matvec(void *ctx, const double *v, double *out)
{
    struct dense *d = ctx;
    for (int i = 0; i < d->n; i++) {
        const double *row = d->a + (size_t)i * d->n;
        double sum = 0.0;
        for (int j = 0; j < d->n; j++)
            sum += row[j] * v[j];
        out[i] = sum;
    }
    d->calls++;
}

/* d->a = Q diag(lambda) Q^T with Q a product of four Householder reflections
 * I - 2 u u^T / (u^T u) of standard normal u from stream (SEED, sub). */
static void build_matrix(struct dense *d, int n, const double *lambda, uint32_t sub)
{
    static double q[MAX_N * MAX_N], u[MAX_N], t[MAX_N];
    struct bl_rng rng;
    bl_rng_init(&rng, SEED, BL_STREAM_TEST_ONLY, sub);
    for (int i = 0; i < n * n; i++)
        q[i] = 0.0;
    for (int i = 0; i < n; i++)
        q[i * n + i] = 1.0;
    for (int r = 0; r < 4; r++) {
        double uu = 0.0;
        for (int i = 0; i < n; i++) {
            u[i] = bl_rng_normal(&rng);
            uu += u[i] * u[i];
        }
        /* Q <- (I - 2 u u^T / uu) Q: t = Q^T u, Q -= (2 / uu) u t^T (row-major) */
        for (int j = 0; j < n; j++) {
            t[j] = 0.0;
            for (int i = 0; i < n; i++)
                t[j] += q[i * n + j] * u[i];
        }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                q[i * n + j] -= 2.0 / uu * u[i] * t[j];
    }
    d->n = n;
    d->calls = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++) {
            double sum = 0.0;
            for (int k = 0; k < n; k++)
                sum += q[i * n + k] * lambda[k] * q[j * n + k];
            d->a[i * n + j] = d->a[j * n + i] = sum;
        }
}

/* Eigenvalues of d->a, ascending, by LAPACK. */
static void lapack_eigenvalues(const struct dense *d, double *w)
{
    static double a[MAX_N * MAX_N], work[2 * MAX_N * MAX_N + 6 * MAX_N + 1];
    static int iwork[5 * MAX_N + 3];
    int n = d->n, lwork = 2 * MAX_N * MAX_N + 6 * MAX_N + 1, liwork = 5 * MAX_N + 3, info = 0;
    memcpy(a, d->a, sizeof(double) * n * n);
    dsyevd_("N", "U", &n, a, &n, w, work, &lwork, iwork, &liwork, &info, 1, 1);
    CU_ASSERT_EQUAL_FATAL(info, 0);
}

/* n = 200: two negative eigenvalues dominating in magnitude, a top positive
 * cluster with a close pair (8.5, 8.4), and a bulk in [-5, 5]. */
#define N_MAIN 200
static void main_spectrum(double *lambda)
{
    lambda[0] = -40.0;
    lambda[1] = -25.0;
    lambda[2] = 10.0;
    lambda[3] = 9.0;
    lambda[4] = 8.5;
    lambda[5] = 8.4;
    for (int i = 6; i < N_MAIN; i++)
        lambda[i] = -5.0 + 10.0 * (i - 6) / (N_MAIN - 7);
}

static struct dense op; /* large: not on the stack */

static void test_lanczos_top_k_matches_lapack(void)
{
    double lambda[N_MAIN], w[N_MAIN];
    main_spectrum(lambda);
    build_matrix(&op, N_MAIN, lambda, 1);
    lapack_eigenvalues(&op, w);
    /* the formula and LAPACK agree: the test matrix is what we think */
    BL_ASSERT_CLOSE(w[N_MAIN - 1], 10.0, 1e-12);
    BL_ASSERT_CLOSE(w[0], -40.0, 1e-12);

    enum { K = 4 };
    const double tol = 1e-9;
    struct bl_eigpair pairs[K];
    static double ritz[K * N_MAIN];
    struct bl_lanczos_info info;
    struct bl_rng rng;
    bl_rng_init(&rng, SEED, BL_STREAM_TEST_ONLY, 100);
    int rc = bl_lanczos_top(N_MAIN, dense_matvec, &op, K, 150, tol, &rng, pairs, ritz, NULL,
                            &info);
    CU_ASSERT_EQUAL(rc, BL_SPECTRUM_OK);
    CU_ASSERT_EQUAL(info.matvecs, op.calls);
    CU_ASSERT(info.iterations < 150);
    double bound = tol * fmax(1.0, fabs(pairs[0].value));
    for (int i = 0; i < K; i++) {
        /* largest algebraic, descending: LAPACK's last K in reverse */
        BL_ASSERT_CLOSE(pairs[i].value, w[N_MAIN - 1 - i], 1e-10);
        CU_ASSERT(pairs[i].residual <= bound);
        CU_ASSERT(pairs[i].iterations >= K && pairs[i].iterations <= info.iterations);
    }
    /* Returned Ritz vectors: unit, orthogonal, and their residual is the one reported. */
    double hy[N_MAIN];
    for (int i = 0; i < K; i++) {
        const double *y = ritz + i * N_MAIN;
        for (int l = 0; l <= i; l++) {
            double dot = 0.0;
            for (int p = 0; p < N_MAIN; p++)
                dot += y[p] * ritz[l * N_MAIN + p];
            CU_ASSERT(fabs(dot - (l == i ? 1.0 : 0.0)) < 1e-10);
        }
        dense_matvec(&op, y, hy);
        double sum = 0.0;
        for (int p = 0; p < N_MAIN; p++)
            sum += (hy[p] - pairs[i].value * y[p]) * (hy[p] - pairs[i].value * y[p]);
        CU_ASSERT(fabs(sqrt(sum) - pairs[i].residual) <= 1e-12 * 10.0);
    }
}

/* Caller workspace of exactly the documented size gives the same numbers as
 * the allocated one, and nothing is written past it. */
static void test_lanczos_caller_workspace(void)
{
    double lambda[N_MAIN];
    main_spectrum(lambda);
    build_matrix(&op, N_MAIN, lambda, 1);
    enum { K = 3, MAX_IT = 90 };
    size_t size = bl_lanczos_work_doubles(N_MAIN, MAX_IT);
    CU_ASSERT_EQUAL(size, (size_t)N_MAIN * (MAX_IT + 3) + MAX_IT * MAX_IT + 7 * MAX_IT + 1);
    double *work = malloc((size + GUARD) * sizeof(double));
    for (int g = 0; g < GUARD; g++)
        work[size + g] = SENTINEL;
    struct bl_eigpair a[K], b[K];
    struct bl_rng rng;
    bl_rng_init(&rng, SEED, BL_STREAM_TEST_ONLY, 7);
    int rca = bl_lanczos_top(N_MAIN, dense_matvec, &op, K, MAX_IT, 1e-8, &rng, a, NULL, work,
                             NULL);
    bl_rng_init(&rng, SEED, BL_STREAM_TEST_ONLY, 7);
    int rcb = bl_lanczos_top(N_MAIN, dense_matvec, &op, K, MAX_IT, 1e-8, &rng, b, NULL, NULL,
                             NULL);
    CU_ASSERT_EQUAL(rca, BL_SPECTRUM_OK);
    CU_ASSERT_EQUAL(rcb, BL_SPECTRUM_OK);
    for (int i = 0; i < K; i++) {
        CU_ASSERT_EQUAL(a[i].value, b[i].value);
        CU_ASSERT_EQUAL(a[i].residual, b[i].residual);
        CU_ASSERT_EQUAL(a[i].iterations, b[i].iterations);
    }
    for (int g = 0; g < GUARD; g++)
        CU_ASSERT_EQUAL(work[size + g], SENTINEL);
    free(work);
}

/* Repeated top eigenvalues: one Krylov space holds a single copy of each, so
 * the copies come from the new random starts after each invariant subspace. */
static void test_lanczos_repeated_eigenvalues(void)
{
    enum { N = 50, K = 5 };
    double lambda[N], w[N];
    for (int i = 0; i < N; i++)
        lambda[i] = i < 3 ? 7.0 : i < 5 ? 4.0 : i < 25 ? 1.0 : -2.0;
    build_matrix(&op, N, lambda, 2);
    lapack_eigenvalues(&op, w);
    struct bl_eigpair pairs[K];
    struct bl_lanczos_info info;
    struct bl_rng rng;
    bl_rng_init(&rng, SEED, BL_STREAM_TEST_ONLY, 200);
    int rc = bl_lanczos_top(N, dense_matvec, &op, K, N, 1e-10, &rng, pairs, NULL, NULL, &info);
    CU_ASSERT_EQUAL(rc, BL_SPECTRUM_OK);
    CU_ASSERT(info.restarts >= 2);
    const double want[K] = {7, 7, 7, 4, 4};
    for (int i = 0; i < K; i++) {
        BL_ASSERT_CLOSE(pairs[i].value, want[i], 1e-10);
        BL_ASSERT_CLOSE(pairs[i].value, w[N - 1 - i], 1e-10);
        CU_ASSERT(pairs[i].residual <= 1e-10 * 7.0);
    }
}

/* Power iteration finds the largest MAGNITUDE eigenvalue, here -40, while
 * Lanczos' largest algebraic one is 10: the two definitions differ. */
static void test_power_iteration_largest_magnitude(void)
{
    double lambda[N_MAIN], vec[N_MAIN], hv[N_MAIN];
    main_spectrum(lambda);
    build_matrix(&op, N_MAIN, lambda, 1);
    struct bl_eigpair pair;
    struct bl_rng rng;
    bl_rng_init(&rng, SEED, BL_STREAM_TEST_ONLY, 300);
    const double tol = 1e-9;
    int rc = bl_power_iteration(N_MAIN, dense_matvec, &op, 1000, tol, &rng, &pair, vec, NULL);
    CU_ASSERT_EQUAL(rc, BL_SPECTRUM_OK);
    BL_ASSERT_CLOSE(pair.value, -40.0, 1e-10);
    CU_ASSERT(pair.residual <= tol * 40.0);
    CU_ASSERT_EQUAL(pair.iterations, op.calls);
    /* |lambda_2 / lambda_1| = 25/40: about log(1e-9) / log(0.625) = 44 steps */
    CU_ASSERT(pair.iterations > 10 && pair.iterations < 200);
    dense_matvec(&op, vec, hv);
    double sum = 0.0;
    for (int p = 0; p < N_MAIN; p++)
        sum += (hv[p] - pair.value * vec[p]) * (hv[p] - pair.value * vec[p]);
    CU_ASSERT(sqrt(sum) <= tol * 40.0);

    struct bl_eigpair top;
    bl_rng_init(&rng, SEED, BL_STREAM_TEST_ONLY, 301);
    rc = bl_lanczos_top(N_MAIN, dense_matvec, &op, 1, 150, tol, &rng, &top, NULL, NULL, NULL);
    CU_ASSERT_EQUAL(rc, BL_SPECTRUM_OK);
    BL_ASSERT_CLOSE(top.value, 10.0, 1e-10);
}

/* Running out of iterations says so, and still reports true residuals. */
static void test_not_converged_and_bad_args(void)
{
    double lambda[N_MAIN];
    main_spectrum(lambda);
    build_matrix(&op, N_MAIN, lambda, 1);
    enum { K = 4 };
    struct bl_eigpair pairs[K];
    struct bl_lanczos_info info;
    struct bl_rng rng;
    bl_rng_init(&rng, SEED, BL_STREAM_TEST_ONLY, 400);
    int rc = bl_lanczos_top(N_MAIN, dense_matvec, &op, K, 6, 1e-9, &rng, pairs, NULL, NULL,
                            &info);
    CU_ASSERT_EQUAL(rc, BL_SPECTRUM_NOT_CONVERGED);
    CU_ASSERT_EQUAL(info.iterations, 6);
    CU_ASSERT_EQUAL(info.matvecs, 6 + K);
    CU_ASSERT(pairs[0].residual > 1e-9 * fabs(pairs[0].value));
    CU_ASSERT(pairs[0].value <= 10.0 + 1e-12); /* a Ritz value never exceeds lambda_max */
    for (int i = 0; i < K; i++)
        CU_ASSERT_EQUAL(pairs[i].iterations, 6);

    struct bl_eigpair pair;
    rc = bl_power_iteration(N_MAIN, dense_matvec, &op, 3, 1e-9, &rng, &pair, NULL, NULL);
    CU_ASSERT_EQUAL(rc, BL_SPECTRUM_NOT_CONVERGED);
    CU_ASSERT_EQUAL(pair.iterations, 3);
    CU_ASSERT(isfinite(pair.residual) && pair.residual > 0.0);

    CU_ASSERT_EQUAL(bl_lanczos_top(N_MAIN, dense_matvec, &op, 5, 4, 1e-9, &rng, pairs, NULL,
                                   NULL, NULL),
                    BL_SPECTRUM_BAD_ARG);
    CU_ASSERT_EQUAL(bl_lanczos_top(3, dense_matvec, &op, 4, 10, 1e-9, &rng, pairs, NULL, NULL,
                                   NULL),
                    BL_SPECTRUM_BAD_ARG);
    CU_ASSERT_EQUAL(bl_lanczos_top(0, dense_matvec, &op, 1, 10, 1e-9, &rng, pairs, NULL, NULL,
                                   NULL),
                    BL_SPECTRUM_BAD_ARG);
    CU_ASSERT_EQUAL(bl_lanczos_work_doubles(0, 10), 0);
}

/* A rank-5 operator (5 distinct positive eigenvalues, 95 zeros, like the
 * Hessian of a small linear model): the Krylov space becomes invariant after
 * about 6 steps, and asking for 6 values (the 6th is 0) must neither stall
 * nor run to max_iter, even with a tight tolerance. */
static void test_lanczos_low_rank(void)
{
    enum { N = 100, K = 6 };
    double lambda[N], w[N];
    for (int i = 0; i < N; i++)
        lambda[i] = i < 5 ? 300.0 - 20.0 * i : 0.0;
    build_matrix(&op, N, lambda, 6);
    lapack_eigenvalues(&op, w);
    struct bl_eigpair pairs[K];
    struct bl_lanczos_info info;
    struct bl_rng rng;
    bl_rng_init(&rng, SEED, BL_STREAM_TEST_ONLY, 250);
    const double tol = 1e-13;
    int rc = bl_lanczos_top(N, dense_matvec, &op, K, N, tol, &rng, pairs, NULL, NULL, &info);
    CU_ASSERT_EQUAL(rc, BL_SPECTRUM_OK);
    CU_ASSERT(info.iterations <= 12);
    for (int i = 0; i < K; i++) {
        CU_ASSERT(fabs(pairs[i].value - w[N - 1 - i]) <= 1e-12 * 300.0);
        CU_ASSERT(fabs(pairs[i].value - lambda[i]) <= 1e-12 * 300.0);
        CU_ASSERT(pairs[i].residual <= tol * 300.0);
    }
}

/* Small n with max_iter > n: the full space is reached and the answer exact. */
static void test_lanczos_whole_space(void)
{
    enum { N = 12, K = 12 };
    double lambda[N], w[N];
    for (int i = 0; i < N; i++)
        lambda[i] = (i % 2 ? -1.0 : 1.0) * (1.0 + i);
    build_matrix(&op, N, lambda, 3);
    lapack_eigenvalues(&op, w);
    struct bl_eigpair pairs[K];
    struct bl_lanczos_info info;
    struct bl_rng rng;
    bl_rng_init(&rng, SEED, BL_STREAM_TEST_ONLY, 500);
    int rc = bl_lanczos_top(N, dense_matvec, &op, K, 40, 1e-11, &rng, pairs, NULL, NULL, &info);
    CU_ASSERT_EQUAL(rc, BL_SPECTRUM_OK);
    CU_ASSERT(info.iterations <= N);
    for (int i = 0; i < K; i++)
        BL_ASSERT_CLOSE(pairs[i].value, w[N - 1 - i], 1e-10);
}

static double exact_trace(const double *lambda, int n)
{
    double t = 0.0;
    for (int i = 0; i < n; i++)
        t += lambda[i];
    return t;
}

static void test_hutchinson_trace(void)
{
    double lambda[N_MAIN];
    main_spectrum(lambda);
    build_matrix(&op, N_MAIN, lambda, 1);
    double trace = exact_trace(lambda, N_MAIN);
    struct bl_rng rng;
    double mean, se;

    bl_rng_init(&rng, SEED, BL_STREAM_TEST_ONLY, 600);
    CU_ASSERT_EQUAL(bl_hutchinson_trace(N_MAIN, dense_matvec, &op, 100, &rng, &mean, &se, NULL),
                    BL_SPECTRUM_OK);
    CU_ASSERT_EQUAL(op.calls, 100);
    CU_ASSERT(se > 0.0);
    CU_ASSERT(fabs(mean - trace) <= 4.0 * se);

    /* The error shrinks like 1/sqrt(probes): over 20 replicates, 256 probes
     * against 4 should cut the RMS error by about 8 (asserted: more than 3)
     * and the reported standard error likewise. */
    double sq_small = 0.0, sq_large = 0.0, se_small = 0.0, se_large = 0.0;
    for (uint32_t r = 0; r < 20; r++) {
        bl_rng_init(&rng, SEED, BL_STREAM_TEST_ONLY, 1000 + r);
        bl_hutchinson_trace(N_MAIN, dense_matvec, &op, 4, &rng, &mean, &se, NULL);
        sq_small += (mean - trace) * (mean - trace);
        se_small += se;
        bl_rng_init(&rng, SEED, BL_STREAM_TEST_ONLY, 2000 + r);
        bl_hutchinson_trace(N_MAIN, dense_matvec, &op, 256, &rng, &mean, &se, NULL);
        sq_large += (mean - trace) * (mean - trace);
        se_large += se;
    }
    CU_ASSERT(sqrt(sq_large) < sqrt(sq_small) / 3.0);
    CU_ASSERT(se_large < se_small / 3.0);
    /* The standard error is calibrated: the RMS error over replicates is
     * about the mean reported SE, and a probe's spread matches the exact
     * variance 2 sum_{i != j} A_ij^2 of a Rademacher quadratic form. */
    double rms_large = sqrt(sq_large / 20), mean_se_large = se_large / 20;
    CU_ASSERT(rms_large > 0.5 * mean_se_large && rms_large < 2.0 * mean_se_large);
    double off = 0.0;
    for (int i = 0; i < N_MAIN; i++)
        for (int j = 0; j < N_MAIN; j++)
            if (i != j)
                off += op.a[i * N_MAIN + j] * op.a[i * N_MAIN + j];
    double sd_exact = sqrt(2.0 * off);
    CU_ASSERT(fabs(mean_se_large * sqrt(256.0) / sd_exact - 1.0) < 0.25);

    bl_rng_init(&rng, SEED, BL_STREAM_TEST_ONLY, 601);
    bl_hutchinson_trace(N_MAIN, dense_matvec, &op, 1, &rng, &mean, &se, NULL);
    CU_ASSERT(isnan(se));
}

/* Per-block traces from the same probes: the mean and standard error are
 * bitwise bl_hutchinson_trace's, the blocks sum to the mean, a diagonal
 * matrix's block traces are exact for any probe count (z_i^2 = 1), and on a
 * dense matrix each block is within 5 of its exact standard deviations
 * of the diagonal block's trace. */
static void test_hutchinson_trace_blocks(void)
{
    enum { NB = 3, PROBES = 400 };
    const long start[NB + 1] = {0, 5, 12, N_MAIN};
    double lambda[N_MAIN], block[NB], mean, se, mean_plain, se_plain;
    main_spectrum(lambda);
    struct bl_rng rng;

    /* a diagonal matrix diag(lambda): exact */
    memset(&op, 0, sizeof op);
    op.n = N_MAIN;
    for (int i = 0; i < N_MAIN; i++)
        op.a[i * N_MAIN + i] = lambda[i];
    bl_rng_init(&rng, SEED, BL_STREAM_TEST_ONLY, 700);
    CU_ASSERT_EQUAL(bl_hutchinson_trace_blocks(N_MAIN, dense_matvec, &op, 3, &rng, NB, start,
                                               block, &mean, &se, NULL),
                    BL_SPECTRUM_OK);
    for (int b = 0; b < NB; b++) {
        double exact = 0;
        for (long i = start[b]; i < start[b + 1]; i++)
            exact += lambda[i];
        BL_ASSERT_CLOSE(block[b], exact, 1e-12);
    }

    /* a dense matrix with that spectrum */
    build_matrix(&op, N_MAIN, lambda, 1);
    bl_rng_init(&rng, SEED, BL_STREAM_TEST_ONLY, 701);
    bl_hutchinson_trace_blocks(N_MAIN, dense_matvec, &op, PROBES, &rng, NB, start, block, &mean,
                               &se, NULL);
    bl_rng_init(&rng, SEED, BL_STREAM_TEST_ONLY, 701);
    bl_hutchinson_trace(N_MAIN, dense_matvec, &op, PROBES, &rng, &mean_plain, &se_plain, NULL);
    CU_ASSERT(mean == mean_plain && se == se_plain);
    BL_ASSERT_CLOSE(block[0] + block[1] + block[2], mean, 1e-12);
    for (int b = 0; b < NB; b++) {
        /* z_b.(Az)_b - tr A_bb = sum over pairs i < j of c_ij z_i z_j with
         * c_ij = 2 A_ij when both are in b, A_ij when one is: variance sum c^2 */
        double exact = 0, var = 0;
        for (int i = 0; i < N_MAIN; i++) {
            int in_i = i >= start[b] && i < start[b + 1];
            if (in_i)
                exact += op.a[i * N_MAIN + i];
            for (int j = i + 1; j < N_MAIN; j++) {
                int in_j = j >= start[b] && j < start[b + 1];
                double c = (in_i + in_j) * op.a[i * N_MAIN + j];
                var += c * c;
            }
        }
        CU_ASSERT(fabs(block[b] - exact) <= 5.0 * sqrt(var / PROBES));
        CU_ASSERT(fabs(block[b] - exact) > 0); /* a real estimate, not the exact value */
    }
    CU_ASSERT_EQUAL(bl_hutchinson_trace_blocks(N_MAIN, dense_matvec, &op, 3, &rng, NB, NULL, block,
                                               &mean, &se, NULL),
                    BL_SPECTRUM_BAD_ARG);
}

static void test_slq_density(void)
{
    enum { PROBES = 30, M = 40 };
    double lambda[N_MAIN];
    main_spectrum(lambda);
    build_matrix(&op, N_MAIN, lambda, 1);
    double trace = exact_trace(lambda, N_MAIN);
    static double nodes[PROBES * M], weights[PROBES * M];
    struct bl_rng rng;
    bl_rng_init(&rng, SEED, BL_STREAM_TEST_ONLY, 700);
    CU_ASSERT_EQUAL(bl_slq_density(N_MAIN, dense_matvec, &op, PROBES, M, &rng, nodes, weights,
                                   NULL),
                    BL_SPECTRUM_OK);

    double total = 0.0, mu = 0.0, probe_mean[PROBES];
    for (int p = 0; p < PROBES; p++) {
        double wsum = 0.0, first_moment = 0.0;
        for (int i = 0; i < M; i++) {
            double x = nodes[p * M + i], wt = weights[p * M + i];
            CU_ASSERT(wt >= 0.0);
            /* Ritz values lie inside the spectrum */
            CU_ASSERT(x >= -40.0 - 1e-9 && x <= 10.0 + 1e-9);
            wsum += wt;
            first_moment += wt * x;
        }
        BL_ASSERT_CLOSE(wsum, 1.0 / PROBES, 1e-12);
        total += wsum;
        mu += first_moment;
        probe_mean[p] = first_moment * PROBES; /* = z^T H z / n for this probe */
    }
    BL_ASSERT_CLOSE(total, 1.0, 1e-12);
    double var = 0.0;
    for (int p = 0; p < PROBES; p++)
        var += (probe_mean[p] - mu) * (probe_mean[p] - mu);
    double se = sqrt(var / (PROBES - 1) / PROBES);
    CU_ASSERT(fabs(mu - trace / N_MAIN) <= 4.0 * se);

    /* Same probes as Hutchinson: the first moment is its estimate / n. */
    double mean, hse;
    bl_rng_init(&rng, SEED, BL_STREAM_TEST_ONLY, 700);
    bl_hutchinson_trace(N_MAIN, dense_matvec, &op, PROBES, &rng, &mean, &hse, NULL);
    BL_ASSERT_CLOSE(mu, mean / N_MAIN, 1e-12);

    /* The smoothed density integrates to 1 (trapezoid on a wide grid). */
    enum { G = 2001 };
    static double grid[G], dens[G];
    double lo = -45.0, hi = 15.0, dx = (hi - lo) / (G - 1), integral = 0.0;
    for (int g = 0; g < G; g++)
        grid[g] = lo + g * dx;
    bl_slq_smooth(nodes, weights, PROBES * M, 0.5, grid, G, dens);
    for (int g = 0; g + 1 < G; g++)
        integral += 0.5 * (dens[g] + dens[g + 1]) * dx;
    BL_ASSERT_CLOSE(integral, 1.0, 1e-8);
}

/* With m = n steps the quadrature uses the whole spectrum: its nodes are the
 * eigenvalues. A matrix with 3 distinct eigenvalues ends each probe after 3
 * steps, and the padding carries no weight. */
static void test_slq_exact_cases(void)
{
    enum { N = 16, N3 = 30, M3 = 10 };
    double lambda[N], w[N], nodes[N], weights[N];
    for (int i = 0; i < N; i++)
        lambda[i] = -3.0 + 0.5 * i;
    build_matrix(&op, N, lambda, 4);
    lapack_eigenvalues(&op, w);
    struct bl_rng rng;
    bl_rng_init(&rng, SEED, BL_STREAM_TEST_ONLY, 800);
    CU_ASSERT_EQUAL(bl_slq_density(N, dense_matvec, &op, 1, N, &rng, nodes, weights, NULL),
                    BL_SPECTRUM_OK);
    for (int i = 0; i < N; i++)
        BL_ASSERT_CLOSE(nodes[i], w[i], 1e-10);

    double l3[N3], n3[2 * M3], w3[2 * M3];
    for (int i = 0; i < N3; i++)
        l3[i] = i < 10 ? -1.0 : i < 20 ? 2.0 : 5.0;
    build_matrix(&op, N3, l3, 5);
    bl_rng_init(&rng, SEED, BL_STREAM_TEST_ONLY, 801);
    CU_ASSERT_EQUAL(bl_slq_density(N3, dense_matvec, &op, 2, M3, &rng, n3, w3, NULL),
                    BL_SPECTRUM_OK);
    CU_ASSERT(op.calls <= 2 * 4); /* breakdown by step 3 (4 with rounding) */
    for (int p = 0; p < 2; p++) {
        BL_ASSERT_CLOSE(n3[p * M3 + 0], -1.0, 1e-10);
        BL_ASSERT_CLOSE(n3[p * M3 + 1], 2.0, 1e-10);
        BL_ASSERT_CLOSE(n3[p * M3 + 2], 5.0, 1e-10);
        for (int i = 3; i < M3; i++)
            CU_ASSERT_EQUAL(w3[p * M3 + i], 0.0);
    }
}

void bl_test_register_spectrum(void)
{
    CU_pSuite suite = CU_add_suite("spectrum", NULL, NULL);
    BL_ADD_TEST(suite, test_lanczos_top_k_matches_lapack);
    BL_ADD_TEST(suite, test_lanczos_caller_workspace);
    BL_ADD_TEST(suite, test_lanczos_repeated_eigenvalues);
    BL_ADD_TEST(suite, test_lanczos_low_rank);
    BL_ADD_TEST(suite, test_lanczos_whole_space);
    BL_ADD_TEST(suite, test_power_iteration_largest_magnitude);
    BL_ADD_TEST(suite, test_not_converged_and_bad_args);
    BL_ADD_TEST(suite, test_hutchinson_trace);
    BL_ADD_TEST(suite, test_hutchinson_trace_blocks);
    BL_ADD_TEST(suite, test_slq_density);
    BL_ADD_TEST(suite, test_slq_exact_cases);
}
