/* Matrix completion's references (bl_completion.h): the kernel-regime
 * predictor and singular values through LAPACK (OpenBLAS carries it). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bl_blas.h"
#include "bl_completion.h"
#include "bl_log.h"

void dgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, double *a,
             const int *lda, double *s, double *u, const int *ldu, double *vt, const int *ldvt,
             double *work, const int *lwork, int *info);
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
            double *w, double *work, const int *lwork, int *info);

/* LAPACK's reductions split their sums by BLAS thread, so the same matrix
 * gives other last bits on 1 and 2 ranks (threads = cores / ranks): an
 * ensemble task must not. The two drivers below run on one thread and put
 * the count back (a BLAS that does not say its count keeps its own). */
static int single_thread(void)
{
    int keep = bl_blas_threads();
    if (keep > 1)
        bl_blas_set_threads(1);
    return keep;
}

static void restore_threads(int keep)
{
    if (keep > 1)
        bl_blas_set_threads(keep);
}

double bl_kernel_completion_mse(const struct bl_dataset *train, const struct bl_dataset *test,
                                int d)
{
    if (test->n == 0)
        return NAN;
    long dd = (long)d * d;
    double *sum = bl_calloc((size_t)(2 * dd), sizeof(double)); /* (d, d) sums, (d, d) counts */
    double *count = sum + dd;
    for (int e = 0; e < train->n; e++) {
        long i = train->index[2 * e], j = train->index[2 * e + 1];
        sum[i * d + j] += train->target[e];
        count[i * d + j] += 1;
        if (i != j) {
            sum[j * d + i] += train->target[e];
            count[j * d + i] += 1;
        }
    }
    double sq = 0;
    for (int e = 0; e < test->n; e++) {
        long k = (long)test->index[2 * e] * d + test->index[2 * e + 1];
        double predicted = count[k] > 0 ? sum[k] / count[k] : 0.0;
        double err = predicted - test->target[e];
        sq += err * err;
    }
    free(sum);
    return sq / test->n;
}

int bl_completion_target(const struct bl_dataset *train, const struct bl_dataset *test, int d,
                         double *x)
{
    long dd = (long)d * d;
    for (long k = 0; k < dd; k++)
        x[k] = NAN;
    const struct bl_dataset *sets[2] = {train, test};
    for (int s = 0; s < 2; s++)
        for (int e = 0; e < sets[s]->n; e++)
            x[(long)sets[s]->index[2 * e] * d + sets[s]->index[2 * e + 1]] = sets[s]->target[e];
    for (long k = 0; k < dd; k++)
        if (isnan(x[k]))
            return 1;
    return 0;
}

int bl_singular_values(double *a, int d, double *sigma)
{
    int info = 0, lwork = -1, one = 1;
    double query, dummy;
    /* column-major or row-major: the singular values of A and A^T agree */
    dgesvd_("N", "N", &d, &d, a, &d, sigma, &dummy, &one, &dummy, &one, &query, &lwork, &info);
    if (info != 0)
        return info;
    lwork = (int)query;
    double *work = bl_malloc(sizeof(double) * (size_t)lwork);
    int keep = single_thread();
    dgesvd_("N", "N", &d, &d, a, &d, sigma, &dummy, &one, &dummy, &one, work, &lwork, &info);
    restore_threads(keep);
    free(work);
    return info;
}

static int descending(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

int bl_symmetric_singular_values(double *a, int d, double *sigma)
{
    int info = 0, lwork = -1;
    double query;
    dsyev_("N", "U", &d, a, &d, sigma, &query, &lwork, &info);
    if (info != 0)
        return info;
    lwork = (int)query;
    double *work = bl_malloc(sizeof(double) * (size_t)lwork);
    int keep = single_thread();
    dsyev_("N", "U", &d, a, &d, sigma, work, &lwork, &info);
    restore_threads(keep);
    free(work);
    for (int k = 0; k < d; k++)
        sigma[k] = fabs(sigma[k]);
    qsort(sigma, (size_t)d, sizeof(double), descending);
    return info;
}

double bl_nuclear_norm(const double *sigma, int d)
{
    double s = 0;
    for (int k = 0; k < d; k++)
        s += sigma[k];
    return s;
}

double bl_effective_rank(const double *sigma, int d)
{
    double total = bl_nuclear_norm(sigma, d), entropy = 0;
    if (!(total > 0))
        return NAN;
    for (int k = 0; k < d; k++) {
        double p = sigma[k] / total;
        if (p > 0)
            entropy -= p * log(p);
    }
    return exp(entropy);
}
