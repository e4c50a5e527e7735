/* The best normalized margin a bias-free two-layer net can reach on binary
 * data that lie in a plane, computed by linear programming (GLPK). */
#ifndef BL_PLANAR_MARGIN_H
#define BL_PLANAR_MARGIN_H

struct bl_planar_margin {
    double lower;     /* reached by an explicit net (atoms on the grid): a true lower bound */
    double upper;     /* weak-duality bound from the LP's dual weights: a true upper bound */
    int directions;   /* grid size of the last LP solved */
};

/* Max over nets f(x) = sum_k a_k phi(<w_k, x>), phi(z) = max(z, s z), of any
 * width, of min_i y_i f(x_i) / ||theta||^2 (y_i = +1 for label 1, -1 for 0).
 * x is (n, dim) row-major. The grid of directions doubles from 360 until
 * upper - lower <= rel_tol * upper, or until the next LP would have more
 * than max_entries nonzeros. Returns
 *   0: out filled, bracket met;
 *   3: out filled, stopped at the size cap (lower is still attained by a
 *      net, upper still valid); err gives the bracket;
 *   1: the examples do not lie in a plane through the origin;
 *   2: no net separates them, the LP failed, or even the first LP is too
 *      big (err says which). */
int bl_planar_best_margin(const double *x, const int *label, int n, int dim, double slope,
                          double rel_tol, long max_entries, struct bl_planar_margin *out,
                          char *err, size_t err_len);

/* The weak-duality bound behind `upper`: for weights lambda (n, >= 0, sum 1),
 * (1/2) max over unit u in the data's plane of |sum_i lambda_i y_i
 * phi(<u, x_i>)|, which no net's normalized margin exceeds; computed
 * exactly (the sum is linear in u between kinks). NaN if x is not planar. */
double bl_planar_dual_bound(const double *x, const int *label, const double *lambda, int n,
                            int dim, double slope);

#endif
