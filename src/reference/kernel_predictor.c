/* The kernel (NTK) predictor of a multi-class net: kernel regression of the
 * one-hot training labels, solved with LAPACK (bl_kernel_predictor.h says
 * exactly what is solved and why). */
#include "bl_kernel_predictor.h"

#include <cblas.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "bl_log.h"

/* LAPACK (in libopenblas): A X = B for symmetric positive definite A. */
extern void dposv_(const char *uplo, const int *n, const int *nrhs, double *a, const int *lda,
                   double *b, const int *ldb, int *info, size_t uplo_len);

int bl_kernel_fit(double *K, int n, const int *label, int classes, double *A)
{
    double trace = 0;
    for (int i = 0; i < n; i++)
        trace += K[(long)i * n + i];
    double ridge = 1e-10 * trace / n;
    for (int i = 0; i < n; i++)
        K[(long)i * n + i] += ridge;
    /* LAPACK is column-major: the symmetric K is its own transpose, and the
     * right-hand sides go in as B (n, classes) column-major = Y^T row-major */
    double *B = bl_calloc((size_t)n * classes, sizeof(double)); /* (classes, n) */
    for (int i = 0; i < n; i++)
        B[(long)label[i] * n + i] = 1.0;
    int info = 0;
    dposv_("U", &n, &classes, K, &n, B, &n, &info, 1);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < classes; c++)
            A[(long)i * classes + c] = B[(long)c * n + i];
    free(B);
    return info;
}

long bl_kernel_correct(const double *Kt, int m, int n, const double *A, int classes,
                       const int *label)
{
    double *out = bl_malloc(sizeof(double) * (size_t)m * classes); /* (m, classes) */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, classes, n, 1.0, Kt, n, A, classes,
                0.0, out, classes);
    long right = 0;
    for (int i = 0; i < m; i++) {
        const double *o = out + (long)i * classes;
        int best = 0;
        for (int c = 1; c < classes; c++)
            if (o[c] > o[best])
                best = c;
        right += best == label[i];
    }
    free(out);
    return right;
}
