/* The kernel-regime reference of a multi-class net (SCIENCE.md 3): the
 * predictor of kernel regression with the net's NTK at initialization. */
#ifndef BL_KERNEL_PREDICTOR_H
#define BL_KERNEL_PREDICTOR_H

/* What is solved, and why. In the kernel phase the theory's predictor is
 * the max-margin kernel classifier of the NTK; for p classes that is a
 * multi-class margin QP with n (p - 1) constraints. Its regression
 * counterpart, the min-norm kernel interpolant of the one-hot labels
 * (argmax of K(x, X) K^-1 Y), is the limit the kernel phase reaches under
 * a squared loss, and it is what biaslab computes: one SPD solve of the
 * n x n Gram system, exact and independent of training.
 *   (K + r I) A = Y,  Y (n, classes) one-hot, not centered,
 *   r = 1e-10 trace(K) / n.
 * Centering Y (subtracting 1/classes) would shift all outputs of a test
 * point by the same amount, so argmax and the accuracy do not change. The
 * ridge r is always added: K is singular whenever its rank is below n (a
 * pair_mlp with model.last_zero has rank <= width + 1), and then the
 * ridgeless limit r -> 0 is the min-norm least-squares fit, which
 * K(x, X) (K + r I)^-1 Y approaches (K(x, X)'s rows lie in K's range); for
 * a nonsingular K it changes A by about r cond(K) / trace(K) relative.
 *
 * K (n, n) row-major, symmetric, is overwritten by its Cholesky factor;
 * label (n) in [0, classes); A (n, classes) out. LAPACK dposv, once per
 * task on the rank that trains it: in ensemble mode a task's group is one
 * rank, so a ScaLAPACK grid would be 1 x 1 and add only its setup; the
 * same system through bl_scalapack_solve_spd (pdposv) on 1, 2 and 4 ranks
 * agrees with it to 1e-10 (tests/mpi/test_scalapack.c). Returns 0, or
 * LAPACK's info (K + r I not positive definite). */
int bl_kernel_fit(double *K, int n, const int *label, int classes, double *A);

/* Examples of Kt (m, n) = K(x_test, X) whose argmax_c (Kt A)_c is their
 * label (m); ties go to the lowest class. */
long bl_kernel_correct(const double *Kt, int m, int n, const double *A, int classes,
                       const int *label);

#endif
