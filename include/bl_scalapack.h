/* Eigenvalues of a dense symmetric matrix with ScaLAPACK, assembled column
 * by column straight into its distributed layout.
 *
 * The process grid is 1 x p (one process row), so with block size nb rank
 * ranks[c] owns the global columns j with (j / nb) % p == c, whole; it calls
 * the column callback only for those and nothing is communicated before the
 * solve. Local storage per rank: n x (about n / p) doubles.
 *
 * MPI must be initialized by the caller. This file makes no MPI_* calls; BLACS
 * does internally. */
#ifndef BL_SCALAPACK_H
#define BL_SCALAPACK_H

#include <stddef.h>

/* column[0..n-1] = column j (0-based) of the symmetric matrix. Called only on
 * the rank owning column j, so it must not communicate. */
typedef void (*bl_column_fn)(void *ctx, long j, double *column);

/* Which ScaLAPACK driver solves the problem. */
enum bl_scalapack_solver {
    /* pdsyev with jobz 'N': tridiagonal reduction, then the QR-free dsterf on
     * every process. Needs no eigenvector matrix; the default. */
    BL_SCALAPACK_PDSYEV = 0,
    /* pdsyevd, which accepts only jobz 'V': also computes the eigenvectors
     * into a second n x n distributed matrix and discards them. Kept for
     * comparison. */
    BL_SCALAPACK_PDSYEVD = 1
};

struct bl_scalapack_opts {
    enum bl_scalapack_solver solver;
    /* BLACS system context the grid is carved from: -1 for the default one
     * (MPI_COMM_WORLD, ranks[] are world ranks), or a handle the caller got
     * from Csys2blacs_handle(comm), and then ranks[] are ranks of comm. */
    int system_context;
};

/* Where the time went, on this rank, in seconds (bl_now clock). */
struct bl_scalapack_timing {
    double assemble_s;  /* column callbacks into the local array */
    double solve_s;     /* the ScaLAPACK driver, workspace query included */
    long local_columns; /* columns this rank owned and computed */
};

/* Eigenvalues (ascending, all n, identical on every rank of the grid) of the
 * symmetric n x n matrix whose columns column(ctx, j, .) yields, on the
 * nprocs ranks ranks[0..nprocs-1] of the system context (the world by
 * default) arranged as a 1 x nprocs grid in that order, block size nb.
 *
 * COLLECTIVE over the whole system context: Cblacs_gridmap creates the
 * grid's communicator with MPI_Comm_create over it, so every rank of the
 * world (or of the comm behind opts->system_context) must call this with the
 * same n, nb, ranks and nprocs. Ranks not in ranks[] return 0 at once after
 * that, leaving eigenvalues untouched and timing zeroed.
 *
 * eigenvalues: (n) out on grid members. opts, timing: NULL for the defaults /
 * not wanted. Returns 0, or non-zero with a message in err[err_len] (bad
 * arguments, identically on all ranks; or ScaLAPACK's info). */
int bl_scalapack_eigenvalues(long n, int nb, bl_column_fn column, void *ctx, const int *ranks,
                             int nprocs, double *eigenvalues, char *err, size_t err_len);

int bl_scalapack_eigenvalues_ex(long n, int nb, bl_column_fn column, void *ctx,
                                const int *ranks, int nprocs,
                                const struct bl_scalapack_opts *opts, double *eigenvalues,
                                struct bl_scalapack_timing *timing, char *err, size_t err_len);

/* Solve A X = B for the symmetric positive definite n x n matrix A whose
 * columns column(ctx, j, .) yields, with ScaLAPACK's pdposv on the same
 * 1 x nprocs grid as above (block size nb; A assembled column by column on
 * the rank owning each column). b (n, nrhs) column-major is the right-hand
 * side, given on every grid rank, and is replaced by X there. COLLECTIVE
 * like bl_scalapack_eigenvalues_ex (opts: system_context only). Returns 0,
 * or non-zero with err set (bad arguments, or pdposv's info: A not
 * positive definite). */
int bl_scalapack_solve_spd(long n, int nrhs, int nb, bl_column_fn column, void *ctx,
                           const int *ranks, int nprocs, const struct bl_scalapack_opts *opts,
                           double *b, char *err, size_t err_len);

#endif
