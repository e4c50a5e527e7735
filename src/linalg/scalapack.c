/* Dense symmetric eigenvalues with ScaLAPACK on a 1 x p BLACS grid, the matrix
 * assembled from a column callback directly into the block-cyclic layout.
 * Debian ships no ScaLAPACK or BLACS header, so the prototypes are declared
 * here: Fortran symbols take every argument by pointer and, after the last
 * one, the hidden lengths of character arguments (size_t with gfortran >= 8);
 * the BLACS C interface (Cblacs_*) takes ints by value. */
#include "bl_scalapack.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bl_log.h"

void Cblacs_pinfo(int *mypnum, int *nprocs);
void Cblacs_get(int icontxt, int what, int *val);
void Cblacs_gridmap(int *icontxt, int *usermap, int ldumap, int nprow, int npcol);
void Cblacs_gridinfo(int icontxt, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_gridexit(int icontxt);
void Cdgebs2d(int icontxt, const char *scope, const char *top, int m, int n, double *a, int lda);
void Cdgebr2d(int icontxt, const char *scope, const char *top, int m, int n, double *a, int lda,
              int rsrc, int csrc);
void Cdgsum2d(int icontxt, const char *scope, const char *top, int m, int n, double *a, int lda,
              int rdest, int cdest);

int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc,
            const int *nprocs);
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb,
               const int *irsrc, const int *icsrc, const int *ictxt, const int *lld, int *info);
void pdsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *ia,
             const int *ja, const int *desca, double *w, double *z, const int *iz,
             const int *jz, const int *descz, double *work, const int *lwork, int *info,
             size_t jobz_len, size_t uplo_len);
void pdsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *ia,
              const int *ja, const int *desca, double *w, double *z, const int *iz,
              const int *jz, const int *descz, double *work, const int *lwork, int *iwork,
              const int *liwork, int *info, size_t jobz_len, size_t uplo_len);

void pdposv_(const char *uplo, const int *n, const int *nrhs, double *a, const int *ia,
             const int *ja, const int *desca, double *b, const int *ib, const int *jb,
             const int *descb, int *info, size_t uplo_len);

/* ScaLAPACK array descriptors have 9 integers (DLEN_). */
#define DESC_LEN 9

static int fail(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t err_len, const char *fmt, ...)
{
    if (err && err_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return 1;
}

/* A workspace size ScaLAPACK returned as a double in work[0], padded: the
 * queries are not always enough (pdsyevd's is short, see below), and 10%
 * extra is cheap insurance against a driver writing past the array. */
static int padded_lwork(double query)
{
    double want = query * 1.1 + 1024.0;
    return want > (double)INT_MAX ? INT_MAX : (int)want;
}

/* pdsyev, jobz 'N': on return w (n) holds the eigenvalues on every process. */
static int solve_pdsyev(int n, double *a, const int *desc, double *w)
{
    const int one = 1;
    int info = 0, lwork = -1;
    double query = 0.0, zdummy = 0.0;
    /* Z is not referenced with jobz 'N'; DESCZ gets A's (valid) descriptor. */
    pdsyev_("N", "U", &n, a, &one, &one, desc, w, &zdummy, &one, &one, desc, &query, &lwork,
            &info, 1, 1);
    if (info != 0)
        return info;
    lwork = padded_lwork(query);
    double *work = bl_malloc((size_t)lwork * sizeof(double));
    pdsyev_("N", "U", &n, a, &one, &one, desc, w, &zdummy, &one, &one, desc, work, &lwork,
            &info, 1, 1);
    free(work);
    return info;
}

/* pdsyevd only implements jobz 'V', so the eigenvectors go to z, an array
 * shaped like a (local n x nloc, same descriptor), and are dropped. Two
 * upstream gaps are covered here:
 * - its workspace query ignores what the back-transformation pdormtr needs,
 *   max(nb (nb - 1) / 2, (n + nloc) nb) + nb^2 on this grid (pdormtr's
 *   documented LWORK); for small n that exceeds the query, pdormtr stops
 *   with "parameter 16 had an illegal value" and pdsyevd still returns 0;
 * - for n <= nb, pdstedc solves the tridiagonal problem on the one process
 *   holding the matrix (grid column 0) and leaves w unsorted garbage on the
 *   others, so w is broadcast from there. */
static int solve_pdsyevd(int ctxt, int npcol, int mycol, int n, int nb, int nloc, double *a,
                         const int *desc, size_t local_size, double *w)
{
    const int one = 1;
    int info = 0, lwork = -1, liwork = -1, iquery = 0;
    double query = 0.0;
    double *z = bl_malloc((local_size > 0 ? local_size : 1) * sizeof(double));
    pdsyevd_("V", "U", &n, a, &one, &one, desc, w, z, &one, &one, desc, &query, &lwork, &iquery,
             &liwork, &info, 1, 1);
    if (info == 0) {
        double ormtr = ((double)n + nloc) * nb;
        if (ormtr < (double)nb * (nb - 1) / 2)
            ormtr = (double)nb * (nb - 1) / 2;
        ormtr += (double)nb * nb;
        lwork = padded_lwork(query + ormtr);
        liwork = iquery > 0 ? iquery : 1;
        double *work = bl_malloc((size_t)lwork * sizeof(double));
        int *iwork = bl_malloc((size_t)liwork * sizeof(int));
        pdsyevd_("V", "U", &n, a, &one, &one, desc, w, z, &one, &one, desc, work, &lwork,
                 iwork, &liwork, &info, 1, 1);
        free(iwork);
        free(work);
    }
    free(z);
    if (info == 0 && n <= nb && npcol > 1) {
        if (mycol == 0)
            Cdgebs2d(ctxt, "Row", " ", n, 1, w, n);
        else
            Cdgebr2d(ctxt, "Row", " ", n, 1, w, n, 0, 0);
    }
    return info;
}

int bl_scalapack_eigenvalues(long n, int nb, bl_column_fn column, void *ctx, const int *ranks,
                             int nprocs, double *eigenvalues, char *err, size_t err_len)
{
    return bl_scalapack_eigenvalues_ex(n, nb, column, ctx, ranks, nprocs, NULL, eigenvalues,
                                       NULL, err, err_len);
}

/* Global column of local column jl on grid column mycol of npcol (block
 * nb): offset jl % nb in this rank's (jl / nb)-th block, which is global
 * block (jl / nb) * npcol + mycol. */
static long global_column(int jl, int nb, int npcol, int mycol)
{
    return ((long)(jl / nb) * npcol + mycol) * nb + jl % nb;
}

/* ranks (nprocs) must be distinct ranks of the world; every rank checks the
 * same arguments, so all return here or all reach the grid creation. */
static int ranks_refused(const int *ranks, int nprocs, char *err, size_t err_len)
{
    int me = 0, world = 0;
    Cblacs_pinfo(&me, &world);
    if (nprocs > world)
        return fail(err, err_len, "scalapack: %d ranks requested, %d exist", nprocs, world);
    for (int c = 0; c < nprocs; c++) {
        /* A custom system context's size is unknown here; the world bounds it. */
        if (ranks[c] < 0 || ranks[c] >= world)
            return fail(err, err_len, "scalapack: rank %d out of range [0, %d)", ranks[c],
                        world);
        for (int c2 = 0; c2 < c; c2++)
            if (ranks[c2] == ranks[c])
                return fail(err, err_len, "scalapack: rank %d listed twice", ranks[c]);
    }
    return 0;
}

/* The 1 x nprocs grid with grid column c = ranks[c] (Cblacs_gridinit would
 * be the special case ranks = 0..p-1; gridmap covers that and sub-grids),
 * from system_context (or BLACS's default when < 0). Returns its context
 * with this rank's column, or -1 when this rank is not in it (collective
 * over the system context either way). */
static int join_row_grid(const int *ranks, int nprocs, int system_context, int *npcol,
                         int *mycol)
{
    int ctxt = -1;
    if (system_context >= 0)
        ctxt = system_context;
    else
        Cblacs_get(-1, 0, &ctxt);
    int *usermap = bl_malloc((size_t)nprocs * sizeof(int));
    for (int c = 0; c < nprocs; c++)
        usermap[c] = ranks[c];
    Cblacs_gridmap(&ctxt, usermap, 1, 1, nprocs);
    free(usermap);
    if (ctxt < 0)
        return -1;
    int nprow = 0, myrow = -1;
    Cblacs_gridinfo(ctxt, &nprow, npcol, &myrow, mycol);
    if (myrow < 0) {
        Cblacs_gridexit(ctxt);
        return -1;
    }
    return ctxt;
}

int bl_scalapack_eigenvalues_ex(long n, int nb, bl_column_fn column, void *ctx,
                                const int *ranks, int nprocs,
                                const struct bl_scalapack_opts *opts, double *eigenvalues,
                                struct bl_scalapack_timing *timing, char *err, size_t err_len)
{
    struct bl_scalapack_opts o = {BL_SCALAPACK_PDSYEV, -1};
    if (opts)
        o = *opts;
    if (timing)
        *timing = (struct bl_scalapack_timing){0.0, 0.0, 0};

    /* Every check depends only on arguments all ranks share, so either all
     * ranks return here or all reach the collective grid creation. */
    if (n < 1 || n > INT_MAX)
        return fail(err, err_len, "scalapack: matrix order %ld out of range", n);
    if (nb < 1)
        return fail(err, err_len, "scalapack: block size %d must be positive", nb);
    if (nprocs < 1 || !ranks)
        return fail(err, err_len, "scalapack: need at least one rank");
    if (!column || !eigenvalues)
        return fail(err, err_len, "scalapack: column callback and eigenvalues are required");
    if (o.solver != BL_SCALAPACK_PDSYEV && o.solver != BL_SCALAPACK_PDSYEVD)
        return fail(err, err_len, "scalapack: unknown solver %d", (int)o.solver);
    if (ranks_refused(ranks, nprocs, err, err_len))
        return 1;
    int npcol, mycol;
    int ctxt = join_row_grid(ranks, nprocs, o.system_context, &npcol, &mycol);
    if (ctxt < 0)
        return 0; /* not a member of this grid */

    /* With one process row every rank holds all n rows of its columns, so
     * the local array is n x nloc column-major with leading dimension n, and
     * each local column is a whole global column. */
    const int zero = 0, ni = (int)n;
    int nloc = numroc_(&ni, &nb, &mycol, &zero, &npcol);
    int lld = ni;
    int desc[DESC_LEN], info = 0;
    descinit_(desc, &ni, &ni, &nb, &nb, &zero, &zero, &ctxt, &lld, &info);
    if (info != 0) {
        Cblacs_gridexit(ctxt);
        return fail(err, err_len, "scalapack: descinit failed, info %d", info);
    }
    size_t local_size = (size_t)lld * (size_t)nloc;
    /* A rank may own no column (n < nb * p); ScaLAPACK still wants a pointer. */
    double *a = bl_malloc((local_size > 0 ? local_size : 1) * sizeof(double));

    double t0 = bl_now();
    for (int jl = 0; jl < nloc; jl++) {
        column(ctx, global_column(jl, nb, npcol, mycol), a + (size_t)jl * lld);
    }
    double t1 = bl_now();
    if (o.solver == BL_SCALAPACK_PDSYEV)
        info = solve_pdsyev(ni, a, desc, eigenvalues);
    else
        info = solve_pdsyevd(ctxt, npcol, mycol, ni, nb, nloc, a, desc, local_size, eigenvalues);
    double t2 = bl_now();
    free(a);
    Cblacs_gridexit(ctxt);

    if (timing) {
        timing->assemble_s = t1 - t0;
        timing->solve_s = t2 - t1;
        timing->local_columns = nloc;
    }
    if (info != 0)
        return fail(err, err_len, "scalapack: %s failed, info %d (n %ld, nb %d, %d ranks)",
                    o.solver == BL_SCALAPACK_PDSYEV ? "pdsyev" : "pdsyevd", info, n, nb,
                    nprocs);
    return 0;
}

int bl_scalapack_solve_spd(long n, int nrhs, int nb, bl_column_fn column, void *ctx,
                           const int *ranks, int nprocs, const struct bl_scalapack_opts *opts,
                           double *b, char *err, size_t err_len)
{
    if (n < 1 || n > INT_MAX || nrhs < 1 || nb < 1 || nprocs < 1 || !ranks || !column || !b)
        return fail(err, err_len, "scalapack solve: bad arguments (n %ld, nrhs %d, nb %d)", n,
                    nrhs, nb);
    if (ranks_refused(ranks, nprocs, err, err_len))
        return 1;
    int npcol, mycol;
    int ctxt = join_row_grid(ranks, nprocs, opts ? opts->system_context : -1, &npcol, &mycol);
    if (ctxt < 0)
        return 0; /* not a member of this grid */
    /* A and B both block-cyclic over the columns; one process row holds all
     * n rows, so every local column is a whole global column */
    const int zero = 0, one = 1, ni = (int)n;
    int nloc = numroc_(&ni, &nb, &mycol, &zero, &npcol);
    int bloc = numroc_(&nrhs, &nb, &mycol, &zero, &npcol);
    int desca[DESC_LEN], descb[DESC_LEN], info = 0;
    descinit_(desca, &ni, &ni, &nb, &nb, &zero, &zero, &ctxt, &ni, &info);
    if (info == 0)
        descinit_(descb, &ni, &nrhs, &nb, &nb, &zero, &zero, &ctxt, &ni, &info);
    if (info != 0) {
        Cblacs_gridexit(ctxt);
        return fail(err, err_len, "scalapack solve: descinit failed, info %d", info);
    }
    double *a = bl_malloc(((size_t)ni * nloc + 1) * sizeof(double));  /* (n, nloc) */
    double *bl = bl_malloc(((size_t)ni * bloc + 1) * sizeof(double)); /* (n, bloc) */
    for (int jl = 0; jl < nloc; jl++)
        column(ctx, global_column(jl, nb, npcol, mycol), a + (size_t)jl * ni);
    for (int jl = 0; jl < bloc; jl++)
        memcpy(bl + (size_t)jl * ni, b + (size_t)global_column(jl, nb, npcol, mycol) * ni,
               sizeof(double) * (size_t)ni);
    pdposv_("U", &ni, &nrhs, a, &one, &one, desca, bl, &one, &one, descb, &info, 1);
    /* every rank gets all of X: its own columns, zeros elsewhere, summed */
    for (long i = 0; i < n * nrhs; i++)
        b[i] = 0;
    for (int jl = 0; info == 0 && jl < bloc; jl++)
        memcpy(b + (size_t)global_column(jl, nb, npcol, mycol) * ni, bl + (size_t)jl * ni,
               sizeof(double) * (size_t)ni);
    if (npcol > 1)
        Cdgsum2d(ctxt, "Row", " ", ni, nrhs, b, ni, -1, -1);
    free(a);
    free(bl);
    Cblacs_gridexit(ctxt);
    if (info != 0)
        return fail(err, err_len, "scalapack: pdposv failed, info %d (n %ld, nb %d, %d ranks)",
                    info, n, nb, nprocs);
    return 0;
}
