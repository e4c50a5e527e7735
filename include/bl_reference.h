/* Independent reference solutions that trained models are compared with:
 * the hard-margin linear SVM direction (SCIENCE.md section 1, linear case)
 * and the two-layer margin it predicts (section 2). */
#ifndef BL_REFERENCE_H
#define BL_REFERENCE_H

struct bl_svm_result {
    double gamma;       /* max margin: min_i y_i <w_unit, x_i> */
    double duality_gap; /* relative: (P - D) / max(1, |P|) */
    long iterations;    /* epochs (passes over the n examples) of dual coordinate descent */
    int n_support;      /* examples with alpha_i > 0 */
    int converged;      /* 1 when duality_gap <= tol */
};

/* Hard-margin linear SVM without bias:
 *     min 1/2 ||w||^2  s.t.  y_i <w, x_i> >= 1,  i = 0..n-1,
 * x (n, dim) row-major, label (n) in {0, 1} meaning y = -1 / +1.
 * Dual: max_{alpha >= 0} sum_i alpha_i - 1/2 ||sum_i alpha_i y_i x_i||^2.
 *
 * Writes the unit direction w_unit (dim) and fills res; alpha (n), unless NULL,
 * receives the dual variables, with w = sum_i alpha_i y_i x_i = w_unit / gamma
 * at the optimum. tol bounds the relative duality gap between the primal value
 * of the feasible point w / min_i y_i <w, x_i> and the dual value (1e-10 is a
 * good choice); max_iter caps the epochs of coordinate descent.
 *
 * Allocates O(n + dim) scratch, plus O(s * dim + s^2) for s candidate support
 * vectors while polishing, and frees it all before returning.
 *
 * Returns 0 on success; 1 if the data are not linearly separable through the
 * origin (some x_i is zero, or the primal margin is still <= 0 when the cap
 * is reached: such data make the dual unbounded); 2 if the gap is still above
 * tol after max_iter epochs. On 1 and 2, w_unit and res describe the last
 * iterate (w_unit is zero if that iterate is zero). */
int bl_svm_hard_margin(const double *x, const int *label, int n, int dim, double tol,
                       long max_iter, double *w_unit, double *alpha,
                       struct bl_svm_result *res);

/* Best normalized margin q_min / ||theta||^2 of a two-layer leaky-ReLU net
 * f(x) = sum_k a_k phi(w_k . x), phi(z) = max(z, s z), 0 <= s <= 1, on symmetric
 * data ((x, y) in S => (-x, -y) in S): (1 + s) / 4 * gamma_svm (SCIENCE.md
 * section 2; the derivation is in reference.c). */
double bl_two_layer_margin_bound(double gamma_svm, double leaky_slope);

#endif
