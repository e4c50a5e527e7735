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
 * x is (n, dim) row-major. Returns 0 with out filled; 1 if the examples do
 * not lie in a plane through the origin; 2 if the LP failed or the data are
 * not separable by any such net (err says which). The grid is refined until
 * upper - lower <= rel_tol * upper or the LP would exceed max_entries
 * nonzeros; lower is then still a margin some net attains. */
int bl_planar_best_margin(const double *x, const int *label, int n, int dim, double slope,
                          double rel_tol, long max_entries, struct bl_planar_margin *out,
                          char *err, size_t err_len);

#endif
