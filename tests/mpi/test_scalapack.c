/* MPI test of bl_scalapack_eigenvalues: matrices given by formulas (any rank
 * can compute any column) solved on the whole world, on sub-grids, and on two
 * independent groups at once, checked against LAPACK dsyevd of the full
 * matrix on rank 0 and, for min(i, j), against the closed form.
 *
 * usage: mpirun -np P test_scalapack [-n N] [-b NB] [-s pdsyev|pdsyevd|both] [-t]
 *   -t: timing only (no reference solve, no sub-grid cases)
 * Prints "PASS name" / "FAIL name" lines and "TIME ..." lines on rank 0;
 * exits 1 if anything failed. */
#include <math.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bl_kernel_predictor.h"
#include "bl_log.h"
#include "bl_model.h"
#include "bl_scalapack.h"

/* LAPACK (in libopenblas): eigenvalues of a dense symmetric matrix. */
extern void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
                    double *w, double *work, const int *lwork, int *iwork, const int *liwork,
                    int *info, size_t jobz_len, size_t uplo_len);

/* BLACS system handle for a communicator, and its release. */
int Csys2blacs_handle(MPI_Comm comm);
void Cfree_blacs_system_handle(int handle);

enum matrix_kind { MAT_MIN, MAT_MIX };

struct matrix {
    enum matrix_kind kind;
    long n;
    double shift;  /* added to the diagonal */
    long *calls;   /* columns computed on this rank */
    int *hits;     /* (n) or NULL: how often each column was computed here */
};

/* min(i, j) (1-based) has eigenvalues 1 / (4 sin^2((2k - 1) pi / (4n + 2))).
 * The mixed matrix has no closed form but a spread spectrum of both signs;
 * it depends on i + j and i * j only, hence is symmetric. */
static double entry(const struct matrix *m, long i, long j)
{
    double v;
    if (m->kind == MAT_MIN) {
        v = (double)((i < j ? i : j) + 1);
    } else {
        double x = (double)(i + j), y = (double)i * (double)j / (double)m->n;
        v = sin(0.37 * x + 0.11 * y) + 2.0 / (1.0 + fabs((double)(i - j)));
        if (i == j)
            v += (double)(i % 5) - 2.0;
    }
    return i == j ? v + m->shift : v;
}

static void column_cb(void *ctx, long j, double *col)
{
    struct matrix *m = ctx;
    for (long i = 0; i < m->n; i++)
        col[i] = entry(m, i, j);
    (*m->calls)++;
    if (m->hits)
        m->hits[j]++;
}

static int rank, size, failures;

static void report(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ok must be the same on all ranks; rank 0 prints. */
static void report(int ok, const char *fmt, ...)
{
    if (!ok)
        failures++;
    if (rank != 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    printf("%s ", ok ? "PASS" : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
}

/* All ranks agree that cond holds everywhere. */
static int all(int cond)
{
    int out = 0;
    MPI_Allreduce(&cond, &out, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    return out;
}

/* Reference eigenvalues (n, ascending) of m with shift 0, on rank 0 only. */
static double *reference(const struct matrix *m)
{
    if (rank != 0)
        return NULL;
    int n = (int)m->n, info = 0;
    long dummy = 0;
    struct matrix base = *m;
    base.shift = 0.0;
    base.calls = &dummy;
    base.hits = NULL;
    double *a = bl_malloc((size_t)n * n * sizeof(double));
    for (long j = 0; j < n; j++)
        column_cb(&base, j, a + (size_t)j * n);
    double *w = bl_malloc((size_t)n * sizeof(double));
    int lwork = 2 * n + 1, liwork = 1;
    double *work = bl_malloc((size_t)lwork * sizeof(double));
    int iwork[1];
    dsyevd_("N", "U", &n, a, &n, w, work, &lwork, iwork, &liwork, &info, 1, 1);
    if (info != 0)
        bl_fatal_at(__FILE__, __LINE__, "dsyevd info %d", info);
    free(work);
    free(a);
    return w;
}

/* Max |got - (want + shift)| relative to ||A|| = max |want|, and the max
 * relative error per eigenvalue, computed on rank 0 and broadcast. */
static void compare(const double *got, const double *want, double shift, long n,
                    double *err_norm, double *err_rel)
{
    double out[2] = {0.0, 0.0};
    if (rank == 0) {
        double norm = 0.0;
        for (long i = 0; i < n; i++)
            norm = fmax(norm, fabs(want[i] + shift));
        for (long i = 0; i < n; i++) {
            double d = fabs(got[i] - (want[i] + shift));
            out[0] = fmax(out[0], d / norm);
            out[1] = fmax(out[1], d / fmax(fabs(want[i] + shift), 1e-300));
        }
    }
    MPI_Bcast(out, 2, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    *err_norm = out[0];
    *err_rel = out[1];
}

/* Every member's eigenvalues equal the first member's, bit for bit. */
static int replicated(const double *w, long n, MPI_Comm comm)
{
    double *first = bl_malloc((size_t)n * sizeof(double));
    memcpy(first, w, (size_t)n * sizeof(double));
    MPI_Bcast(first, (int)n, MPI_DOUBLE, 0, comm);
    int same = memcmp(first, w, (size_t)n * sizeof(double)) == 0, out = 0;
    MPI_Allreduce(&same, &out, 1, MPI_INT, MPI_LAND, comm);
    free(first);
    return out;
}

static const char *solver_name(enum bl_scalapack_solver s)
{
    return s == BL_SCALAPACK_PDSYEV ? "pdsyev" : "pdsyevd";
}

/* The whole world as one 1 x size grid. */
static void case_world(enum matrix_kind kind, long n, int nb, enum bl_scalapack_solver solver,
                       int timing_only)
{
    long calls = 0;
    int *hits = calloc((size_t)n, sizeof(int)), *hits_all = calloc((size_t)n, sizeof(int));
    struct matrix m = {kind, n, 0.0, &calls, hits};
    int *ranks = bl_malloc((size_t)size * sizeof(int));
    for (int r = 0; r < size; r++)
        ranks[r] = r;
    double *w = bl_malloc((size_t)n * sizeof(double));
    struct bl_scalapack_opts opts = {solver, -1};
    struct bl_scalapack_timing t;
    char err[256] = "";
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    int rc = bl_scalapack_eigenvalues_ex(n, nb, column_cb, &m, ranks, size, &opts, w, &t, err,
                                         sizeof err);
    double wall = MPI_Wtime() - t0;
    const char *name = kind == MAT_MIN ? "min" : "mix";
    char label[160];
    snprintf(label, sizeof label, "world %s n=%ld nb=%d ranks=%d %s", name, n, nb, size,
             solver_name(solver));
    if (!all(rc == 0)) {
        report(0, "%s: returned %d: %s", label, rc, err);
        free(hits);
        free(hits_all);
        free(w);
        free(ranks);
        return;
    }
    double tmax[3] = {t.assemble_s, t.solve_s, wall}, tm[3];
    MPI_Reduce(tmax, tm, 3, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    long total = 0;
    MPI_Allreduce(&calls, &total, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(hits, hits_all, (int)n, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    int once = 1;
    for (long j = 0; j < n; j++)
        once &= hits_all[j] == 1;
    /* ranks[c] owns the columns j with (j / nb) % size == c */
    int owner_ok = 1;
    for (long j = 0; j < n; j++)
        owner_ok &= hits[j] == ((j / nb) % size == rank);
    if (rank == 0)
        printf("TIME %s: assemble %.3f s, solve %.3f s, total %.3f s (max over ranks), "
               "%ld local columns on rank 0\n",
               label, tm[0], tm[1], tm[2], t.local_columns);
    /* each column computed exactly once, by its owner only */
    report(all(calls == t.local_columns) && total == n && once,
           "%s: each column computed once (%ld)", label, total);
    report(all(owner_ok), "%s: each rank computed exactly the columns it owns", label);
    report(replicated(w, n, MPI_COMM_WORLD), "%s: eigenvalues identical on all ranks", label);
    int ascending = 1;
    for (long i = 1; i < n; i++)
        ascending &= w[i] >= w[i - 1];
    report(all(ascending), "%s: ascending", label);
    if (!timing_only) {
        double *ref = reference(&m);
        double en, er;
        compare(w, ref, 0.0, n, &en, &er);
        report(en <= 1e-12, "%s: vs dsyevd max|diff|/||A|| = %.2e (max rel %.2e)", label, en,
               er);
        if (kind == MAT_MIN) {
            double *exact = NULL;
            if (rank == 0) {
                exact = bl_malloc((size_t)n * sizeof(double));
                for (long k = 1; k <= n; k++) {
                    double s = sin((2.0 * k - 1.0) * acos(-1.0) / (4.0 * n + 2.0));
                    exact[n - k] = 1.0 / (4.0 * s * s); /* k = 1 is the largest */
                }
            }
            compare(w, exact, 0.0, n, &en, &er);
            report(en <= 1e-12, "%s: vs closed form max|diff|/||A|| = %.2e", label, en);
            free(exact);
        }
        free(ref);
    }
    free(hits);
    free(hits_all);
    free(w);
    free(ranks);
}

/* A grid on some ranks of the world, in a scrambled order: members get the
 * right answer, everyone else returns 0 with eigenvalues untouched. */
static void case_subgrid(long n, int nb, enum bl_scalapack_solver solver)
{
    if (size < 2)
        return;
    int ranks[2], np = 0;
    if (size == 2) {
        ranks[np++] = 1; /* a one-rank grid that is not rank 0 */
    } else {
        ranks[np++] = size - 1;
        ranks[np++] = 1;
    }
    long calls = 0;
    struct matrix m = {MAT_MIX, n, 0.0, &calls, NULL};
    double *w = bl_malloc((size_t)n * sizeof(double));
    for (long i = 0; i < n; i++)
        w[i] = -777.0;
    struct bl_scalapack_opts opts = {solver, -1};
    char err[256] = "";
    int rc = bl_scalapack_eigenvalues_ex(n, nb, column_cb, &m, ranks, np, &opts, w, NULL, err,
                                         sizeof err);
    int member = 0;
    long owned = 0; /* columns j with (j / nb) % np == my grid column */
    for (int c = 0; c < np; c++)
        if (ranks[c] == rank) {
            member = 1;
            for (long j = 0; j < n; j++)
                owned += (j / nb) % np == c;
        }
    int untouched = 1;
    for (long i = 0; i < n; i++)
        untouched &= w[i] == -777.0;
    char label[160];
    if (np == 1)
        snprintf(label, sizeof label, "subgrid {%d} of %d n=%ld nb=%d %s", ranks[0], size, n,
                 nb, solver_name(solver));
    else
        snprintf(label, sizeof label, "subgrid {%d,%d} of %d n=%ld nb=%d %s", ranks[0],
                 ranks[1], size, n, nb, solver_name(solver));
    report(all(rc == 0), "%s: returns 0 everywhere", label);
    report(all(member ? calls == owned : (calls == 0 && untouched)),
           "%s: non-members compute nothing and keep their array", label);
    /* Send a member's answer to rank 0 and compare there. */
    double *got = rank == 0 ? bl_malloc((size_t)n * sizeof(double)) : NULL;
    if (rank == ranks[0] && rank != 0)
        MPI_Send(w, (int)n, MPI_DOUBLE, 0, 1, MPI_COMM_WORLD);
    if (rank == 0) {
        if (ranks[0] == 0)
            memcpy(got, w, (size_t)n * sizeof(double));
        else
            MPI_Recv(got, (int)n, MPI_DOUBLE, ranks[0], 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
    double *ref = reference(&m);
    double en, er;
    compare(got, ref, 0.0, n, &en, &er);
    report(en <= 1e-12, "%s: vs dsyevd max|diff|/||A|| = %.2e", label, en);
    free(ref);
    free(got);
    free(w);
}

/* Two groups (even and odd world ranks) each solve their own matrix at the
 * same time on a grid over their own communicator: group g solves A + g I. */
static void case_groups(long n, int nb, enum bl_scalapack_solver solver)
{
    if (size < 2)
        return;
    int color = rank % 2;
    MPI_Comm comm;
    MPI_Comm_split(MPI_COMM_WORLD, color, rank, &comm);
    int gsize = 0, grank = 0;
    MPI_Comm_size(comm, &gsize);
    MPI_Comm_rank(comm, &grank);
    int *ranks = bl_malloc((size_t)gsize * sizeof(int));
    for (int r = 0; r < gsize; r++)
        ranks[r] = r;
    long calls = 0;
    struct matrix m = {MAT_MIX, n, (double)color, &calls, NULL};
    double *w = bl_malloc((size_t)n * sizeof(double));
    int handle = Csys2blacs_handle(comm);
    struct bl_scalapack_opts opts = {solver, handle};
    char err[256] = "";
    int rc = bl_scalapack_eigenvalues_ex(n, nb, column_cb, &m, ranks, gsize, &opts, w, NULL, err,
                                         sizeof err);
    Cfree_blacs_system_handle(handle);
    char label[160];
    snprintf(label, sizeof label, "two groups of %d ranks n=%ld nb=%d %s", gsize, n, nb,
             solver_name(solver));
    report(all(rc == 0), "%s: returns 0 everywhere", label);
    report(all(replicated(w, n, comm)), "%s: identical within each group", label);
    /* World rank 1 is the first rank of the odd group. */
    double *got1 = rank == 0 ? bl_malloc((size_t)n * sizeof(double)) : NULL;
    if (rank == 1)
        MPI_Send(w, (int)n, MPI_DOUBLE, 0, 2, MPI_COMM_WORLD);
    if (rank == 0)
        MPI_Recv(got1, (int)n, MPI_DOUBLE, 1, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    double *ref = reference(&m);
    double en0, en1, er;
    compare(w, ref, 0.0, n, &en0, &er);
    compare(got1, ref, 1.0, n, &en1, &er);
    report(en0 <= 1e-12 && en1 <= 1e-12, "%s: A and A + I vs dsyevd: %.2e, %.2e", label, en0,
           en1);
    free(ref);
    free(got1);
    free(w);
    free(ranks);
    MPI_Comm_free(&comm);
}

/* Column j of a Gram matrix K (n, n) plus ridge r on the diagonal. */
struct gram {
    const double *K;
    long n;
    double ridge;
};
static void gram_column(void *ctx, long j, double *col)
{
    const struct gram *g = ctx;
    for (long i = 0; i < g->n; i++)
        col[i] = g->K[i * g->n + j] + (i == j ? g->ridge : 0.0);
}

/* The kernel predictor's system (bl_kernel_predictor.h): the NTK Gram
 * matrix of a pair_mlp at init on modular-addition pairs, (K + r I) A = Y
 * with one-hot Y, solved by pdposv over the world agrees with LAPACK's
 * dposv (bl_kernel_fit) to 1e-10 relative. */
static void case_kernel_solve(int nb)
{
    enum { P = 13, WIDTH = 64, N = 120 };
    struct bl_model_cfg mc;
    memset(&mc, 0, sizeof mc);
    mc.kind = BL_MODEL_PAIR_MLP;
    mc.depth = 2;
    mc.width = WIDTH;
    mc.activation = BL_ACT_RELU;
    mc.bias = 1;
    mc.init_scale = 2.0;
    mc.train_last = 1;
    struct bl_model m;
    char err[256] = "";
    if (bl_model_build(&m, &mc, 2, P, err, sizeof err)) {
        report(0, "kernel solve: pair_mlp does not build: %s", err);
        return;
    }
    double *theta = bl_malloc(sizeof(double) * (size_t)m.n_params);
    bl_model_init(&m, 3, theta);
    int index[2 * N], label[N];
    for (int i = 0; i < N; i++) { /* the first N of the P^2 pairs, in a scrambled order */
        int pair = (i * 37) % (P * P);
        index[2 * i] = pair / P;
        index[2 * i + 1] = pair % P;
        label[i] = (index[2 * i] + index[2 * i + 1]) % P;
    }
    struct bl_batch b = {.n = N, .arity = 2, .index = index, .label = label};
    double *K = bl_malloc(sizeof(double) * N * N), *work = bl_malloc(sizeof(double) * N * N);
    m.ops->ntk_gram(&m, theta, &b, &b, K);
    double trace = 0;
    for (int i = 0; i < N; i++)
        trace += K[i * N + i];
    struct gram g = {K, N, 1e-10 * trace / N};
    memcpy(work, K, sizeof(double) * N * N);
    double *A = bl_malloc(sizeof(double) * N * P), *X = bl_calloc(N * P, sizeof(double));
    int lapack = bl_kernel_fit(work, N, label, P, A);
    for (int i = 0; i < N; i++)
        X[(long)label[i] * N + i] = 1.0; /* Y (N, P) column-major */
    int *ranks = bl_malloc((size_t)size * sizeof(int));
    for (int r = 0; r < size; r++)
        ranks[r] = r;
    int rc = bl_scalapack_solve_spd(N, P, nb, gram_column, &g, ranks, size, NULL, X, err,
                                    sizeof err);
    double diff = 0, big = 0;
    for (int i = 0; i < N; i++)
        for (int c = 0; c < P; c++) {
            diff = fmax(diff, fabs(X[(long)c * N + i] - A[(long)i * P + c]));
            big = fmax(big, fabs(A[(long)i * P + c]));
        }
    double rel = diff / big;
    report(all(rc == 0 && lapack == 0), "kernel solve nb=%d: pdposv and dposv return 0 (%s)", nb,
           err);
    report(all(rel <= 1e-10), "kernel solve nb=%d: pdposv = dposv to %.2e relative (max |A| %.3g)",
           nb, rel, big);
    free(ranks);
    free(A);
    free(X);
    free(K);
    free(work);
    free(theta);
    bl_model_free(&m);
}

/* Bad arguments fail on every rank without entering BLACS (no hang). */
static void case_bad_args(void)
{
    long calls = 0;
    struct matrix m = {MAT_MIX, 10, 0.0, &calls, NULL};
    int ranks[2] = {0, 0};
    double w[10];
    char err[256] = "";
    int rc = bl_scalapack_eigenvalues(10, 0, column_cb, &m, ranks, 1, w, err, sizeof err);
    report(all(rc != 0 && strstr(err, "block size") != NULL), "bad nb rejected: %s", err);
    rc = bl_scalapack_eigenvalues(10, 4, column_cb, &m, ranks, size + 1, w, err, sizeof err);
    report(all(rc != 0), "too many ranks rejected: %s", err);
    if (size >= 2) {
        rc = bl_scalapack_eigenvalues(10, 4, column_cb, &m, ranks, 2, w, err, sizeof err);
        report(all(rc != 0 && strstr(err, "twice") != NULL), "duplicate rank rejected: %s",
               err);
    }
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    long n = 300;
    int nb = 32, timing_only = 0, opt;
    const char *which = "pdsyev";
    while ((opt = getopt(argc, argv, "n:b:s:t")) != -1) {
        if (opt == 'n')
            n = atol(optarg);
        else if (opt == 'b')
            nb = atoi(optarg);
        else if (opt == 's')
            which = optarg;
        else if (opt == 't')
            timing_only = 1;
        else {
            if (rank == 0)
                fprintf(stderr, "usage: test_scalapack [-n N] [-b NB] [-s pdsyev|pdsyevd|both] [-t]\n");
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
    }
    int nsolvers = 0;
    enum bl_scalapack_solver solvers[2];
    if (!strcmp(which, "pdsyev") || !strcmp(which, "both"))
        solvers[nsolvers++] = BL_SCALAPACK_PDSYEV;
    if (!strcmp(which, "pdsyevd") || !strcmp(which, "both"))
        solvers[nsolvers++] = BL_SCALAPACK_PDSYEVD;
    if (nsolvers == 0 || n < 1 || nb < 1) {
        if (rank == 0)
            fprintf(stderr, "test_scalapack: bad arguments\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }

    for (int s = 0; s < nsolvers; s++) {
        case_world(MAT_MIX, n, nb, solvers[s], timing_only);
        if (!timing_only) {
            case_world(MAT_MIN, n, nb, solvers[s], 0);
            case_subgrid(n, nb, solvers[s]);
            case_groups(n, nb, solvers[s]);
        }
    }
    if (!timing_only) {
        case_bad_args();
        case_kernel_solve(16);
    }

    if (rank == 0)
        printf("%s test_scalapack ranks=%d n=%ld nb=%d: %d failed\n",
               failures ? "FAIL" : "PASS", size, n, nb, failures);
    MPI_Finalize();
    return failures ? 1 : 0;
}
