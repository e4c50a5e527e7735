/* Independent reference solutions that trained models are compared with:
 * the hard-margin linear SVM direction (SCIENCE.md section 1, linear case)
 * and the two-layer margin it predicts (section 2). */
#ifndef BL_REFERENCE_H
#define BL_REFERENCE_H

struct bl_svm_result {
    double gamma;       /* max margin: min_i y_i <w_unit, x_i> */
    double duality_gap; /* relative: (P - D) / max(1, |P|), see below */
    long iterations;    /* active-set steps (a constraint added or dropped) */
    int n_support;      /* examples with alpha_i > 0 */
    int converged;      /* 1 when duality_gap <= tol */
};

/* Hard-margin linear SVM without bias:
 *     min 1/2 ||w||^2  s.t.  y_i <w, x_i> >= 1,  i = 0..n-1,
 * x (n, dim) row-major, label (n) in {0, 1} meaning y = -1 / +1.
 * Dual: max_{alpha >= 0} D(alpha) = sum_i alpha_i - 1/2 ||sum_i alpha_i y_i x_i||^2.
 * Solved exactly by a dual active-set method (Goldfarb-Idnani; reference.c).
 *
 * Writes the unit direction w_unit (dim) and fills res; alpha (n), unless NULL,
 * receives the dual variables, with sum_i alpha_i y_i x_i = w_unit / gamma at
 * the optimum. The gap compares P = 1/2 ||w||^2 / m^2, the primal value of
 * the returned w scaled by its smallest margin m (so feasible), with
 * D(alpha): a certificate, as P >= optimum >= D. tol bounds it (1e-10 is a
 * good choice, and the result is usually 1e-12 or less); max_iter caps the
 * steps (n + dim is rarely exceeded; 10 (n + dim) is generous).
 *
 * Allocates min(n, dim) * (min(n, dim) + dim) doubles for the factorization
 * plus O(n + dim), and frees them before returning. Uses CBLAS, so it runs
 * on as many threads as OpenBLAS is set to.
 *
 * Returns 0 on success. Returns 1 if the data are not linearly separable
 * through the origin; alpha then holds the proof: weights >= 0 summing to 1
 * with sum_i alpha_i y_i x_i = 0 (to rounding), which no w with every
 * margin > 0 allows; w_unit is zero, gamma 0. Returns 2 if the gap is still
 * above tol after max_iter steps; w_unit, alpha and res then describe the
 * last active set. */
int bl_svm_hard_margin(const double *x, const int *label, int n, int dim, double tol,
                       long max_iter, double *w_unit, double *alpha,
                       struct bl_svm_result *res);

/* Best normalized margin q_min / ||theta||^2 of a two-layer leaky-ReLU net
 * f(x) = sum_k a_k phi(w_k . x), phi(z) = max(z, s z), 0 <= s <= 1, on symmetric
 * data ((x, y) in S => (-x, -y) in S): (1 + s) / 4 * gamma_svm (SCIENCE.md
 * section 2; the derivation is in reference.c). */
double bl_two_layer_margin_bound(double gamma_svm, double leaky_slope);

#endif
