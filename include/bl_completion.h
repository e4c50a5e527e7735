/* Matrix completion's references and spectra (SCIENCE.md 3): the
 * kernel-regime predictor of a symmetric factorization, computed from the
 * observed entries alone, and the singular values that nuclear norm and
 * effective rank are read from (LAPACK). */
#ifndef BL_COMPLETION_H
#define BL_COMPLETION_H

#include "bl_data.h"

/* Test mean squared error of the kernel-regime predictor K (d, d): K_ij =
 * K_ji = the mean observed target of the entries (i, j) and (j, i) of train
 * (index pairs with one target each), 0 where neither is observed. This is
 * the min-norm fit of a model whose tangent space is the symmetric matrices
 * (W = U U^T - V V^T at U = V). NaN without test examples. */
double bl_kernel_completion_mse(const struct bl_dataset *train, const struct bl_dataset *test,
                                int d);

/* X* (d, d) from the targets of every entry (train and test together must
 * cover all d^2 entries); returns 0, or non-zero when an entry is missing. */
int bl_completion_target(const struct bl_dataset *train, const struct bl_dataset *test, int d,
                         double *x);

/* sigma (d) = singular values of a general a (d, d) by LAPACK dgesvd,
 * descending; a is overwritten. Returns LAPACK's info (0 = success). */
int bl_singular_values(double *a, int d, double *sigma);

/* sigma (d) = singular values of a symmetric a (d, d) = |eigenvalues| by
 * LAPACK dsyev, descending; a is overwritten. Returns LAPACK's info. */
int bl_symmetric_singular_values(double *a, int d, double *sigma);

/* sum_k sigma_k */
double bl_nuclear_norm(const double *sigma, int d);

/* exp(-sum_k p_k ln p_k) with p_k = sigma_k / sum sigma (0 ln 0 = 0): the
 * effective rank of Roy and Vetterli (2007), between 1 and d; NaN for the
 * zero matrix. */
double bl_effective_rank(const double *sigma, int d);

#endif
