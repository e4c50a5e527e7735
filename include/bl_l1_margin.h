/* The max-L1-margin linear classifier through the origin, by linear
 * programming (GLPK): the rich-regime limit of a diagonal linear network
 * (SCIENCE.md 3), as the hard-margin SVM is its kernel-regime limit. */
#ifndef BL_L1_MARGIN_H
#define BL_L1_MARGIN_H

#include <stddef.h>

/* max over w of min_i y_i <w, x_i> / ||w||_1 (y_i = +1 for label 1, -1 for
 * 0; x (n, dim) row-major), solved exactly as the LP
 *     min sum_j (p_j + q_j)  s.t.  y_i <p - q, x_i> >= 1,  p, q >= 0
 * (dual simplex: the all-slack basis is dual feasible). w (dim) receives
 * (p - q) / ||p - q||_1 and *gamma = 1 / optimum, the L1 margin. Returns 0;
 * 1 when no w separates the data through the origin (the LP is
 * infeasible); 2 when the solver fails (err says how). */
int bl_l1_max_margin(const double *x, const int *label, int n, int dim, double *w,
                     double *gamma, char *err, size_t err_len);

#endif
