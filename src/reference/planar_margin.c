/* The best normalized margin of a bias-free two-layer leaky-ReLU net on
 * planar binary data, as a linear program.
 *
 * Why an LP: with |a_k| = ||w_k|| (optimal by AM-GM) a net is a signed
 * measure nu on unit directions u with total mass sum_k |a_k| ||w_k|| =
 * ||theta||^2 / 2, and y_i f(x_i) = sum_u nu(u) y_i phi(<u, x_i>). So the best
 * normalized margin is V / 2 with
 *     V = max { m : sum_j nu_j A_ij >= m for all i, sum_j |nu_j| = 1 },
 *     A_ij = y_i phi(<u_j, x_i>),
 * over measures nu on the circle of the data's plane (a neuron's part
 * outside the plane changes no output and only adds norm). Restricting nu to
 * a grid of directions gives an LP whose value is attained by an explicit
 * net, hence a lower bound. Its dual weights lambda (lambda_i >= 0, sum 1)
 * give an upper bound by weak duality: any net has
 * min_i y_i f(x_i) <= sum_i lambda_i y_i f(x_i) <= max_u |h(u)| ||theta||^2 / 2
 * with h(u) = sum_i lambda_i y_i phi(<u, x_i>), and max_u |h| is found
 * exactly because h is linear in u between the kinks <u, x_i> = 0. */
#include <glpk.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bl_log.h"
#include "bl_planar_margin.h"

static double leaky(double z, double slope) { return z > 0 ? z : slope * z; }

/* Coordinates (n, 2) of the examples in an orthonormal basis of their span.
 * Returns 0, or 1 if the span has more than two dimensions. */
static int plane_coordinates(const double *x, int n, int dim, double *coord)
{
    double *e1 = bl_calloc((size_t)dim, sizeof(double));
    double *e2 = bl_calloc((size_t)dim, sizeof(double));
    double largest = 0, second = 0;
    int a = 0, b = -1;
    for (int i = 0; i < n; i++) {
        double norm2 = 0;
        for (int j = 0; j < dim; j++)
            norm2 += x[(long)i * dim + j] * x[(long)i * dim + j];
        if (norm2 > largest) {
            largest = norm2;
            a = i;
        }
    }
    double scale = sqrt(largest), tol = 1e-10 * scale;
    int planar = 1;
    if (scale > 0) {
        for (int j = 0; j < dim; j++)
            e1[j] = x[(long)a * dim + j] / scale;
        /* e2: the example farthest from the line of e1, with that line removed */
        for (int i = 0; i < n; i++) {
            const double *xi = x + (long)i * dim;
            double along = 0, rest = 0;
            for (int j = 0; j < dim; j++)
                along += xi[j] * e1[j];
            for (int j = 0; j < dim; j++)
                rest += (xi[j] - along * e1[j]) * (xi[j] - along * e1[j]);
            if (rest > second) {
                second = rest;
                b = i;
            }
        }
        if (sqrt(second) > tol) {
            /* twice: one pass leaves e2 off-orthogonal by ~eps / sin(angle)
             * when the data are nearly collinear */
            for (int j = 0; j < dim; j++)
                e2[j] = x[(long)b * dim + j];
            for (int pass = 0; pass < 2; pass++) {
                double along = 0, norm = 0;
                for (int j = 0; j < dim; j++)
                    along += e2[j] * e1[j];
                for (int j = 0; j < dim; j++) {
                    e2[j] -= along * e1[j];
                    norm += e2[j] * e2[j];
                }
                for (int j = 0; j < dim; j++)
                    e2[j] /= sqrt(norm);
            }
        }
    }
    for (int i = 0; i < n && planar; i++) {
        const double *xi = x + (long)i * dim;
        double c1 = 0, c2 = 0, rest = 0;
        for (int j = 0; j < dim; j++) {
            c1 += xi[j] * e1[j];
            c2 += xi[j] * e2[j];
        }
        for (int j = 0; j < dim; j++) {
            double r = xi[j] - c1 * e1[j] - c2 * e2[j];
            rest += r * r;
        }
        coord[2 * i] = c1;
        coord[2 * i + 1] = c2;
        planar = sqrt(rest) <= tol;
    }
    free(e1);
    free(e2);
    return planar ? 0 : 1;
}

/* y_i phi(<u_j, c_i>) for the j-th of `directions` grid angles. */
static double grid_entry(const double *coord, const double *y, int i, int j, int directions,
                         double slope)
{
    double t = 2.0 * M_PI * j / directions;
    return y[i] * leaky(cos(t) * coord[2 * i] + sin(t) * coord[2 * i + 1], slope);
}

/* Solve the grid LP with `directions` angles. Returns 0 with *value, the
 * smallest margin of the LP's own net recomputed from its weights (so it is
 * attained exactly, not just to the solver's tolerance), and lambda (n, the
 * normalized dual weights); or 1. */
static int solve_grid(const double *coord, const double *y, int n, double slope, int directions,
                      double *value, double *lambda)
{
    int cols = 2 * directions + 1; /* nu+ (directions), nu- (directions), m */
    long cap = (long)n * cols + cols + 1;
    int *ia = bl_malloc(sizeof(int) * (size_t)cap);
    int *ja = bl_malloc(sizeof(int) * (size_t)cap);
    double *ar = bl_malloc(sizeof(double) * (size_t)cap);
    long ne = 0;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < directions; j++) {
            double aij = grid_entry(coord, y, i, j, directions, slope);
            if (aij == 0)
                continue; /* GLPK wants no explicit zeros */
            ne++, ia[ne] = i + 1, ja[ne] = j + 1, ar[ne] = aij;
            ne++, ia[ne] = i + 1, ja[ne] = directions + j + 1, ar[ne] = -aij;
        }
        ne++, ia[ne] = i + 1, ja[ne] = cols, ar[ne] = -1.0;
    }
    for (int j = 1; j < cols; j++)
        ne++, ia[ne] = n + 1, ja[ne] = j, ar[ne] = 1.0;

    glp_prob *lp = glp_create_prob();
    glp_set_obj_dir(lp, GLP_MAX);
    glp_add_rows(lp, n + 1);
    for (int i = 1; i <= n; i++)
        glp_set_row_bnds(lp, i, GLP_LO, 0.0, 0.0); /* margin of example i >= m */
    glp_set_row_bnds(lp, n + 1, GLP_FX, 1.0, 1.0);  /* total mass 1 */
    glp_add_cols(lp, cols);
    for (int j = 1; j < cols; j++)
        glp_set_col_bnds(lp, j, GLP_LO, 0.0, 0.0);
    glp_set_col_bnds(lp, cols, GLP_FR, 0.0, 0.0);
    glp_set_obj_coef(lp, cols, 1.0);
    glp_load_matrix(lp, (int)ne, ia, ja, ar);
    glp_smcp parm;
    glp_init_smcp(&parm);
    parm.msg_lev = GLP_MSG_OFF;
    int ok = glp_simplex(lp, &parm) == 0 && glp_get_status(lp) == GLP_OPT;
    if (ok) {
        double mass = 0, *nu = bl_malloc(sizeof(double) * (size_t)directions); /* signed */
        for (int j = 0; j < directions; j++) {
            double plus = glp_get_col_prim(lp, j + 1);
            double minus = glp_get_col_prim(lp, directions + j + 1);
            nu[j] = plus - minus;
            mass += fabs(plus) + fabs(minus);
        }
        *value = INFINITY;
        for (int i = 0; i < n; i++) {
            double margin = 0;
            for (int j = 0; j < directions; j++)
                if (nu[j] != 0)
                    margin += nu[j] * grid_entry(coord, y, i, j, directions, slope);
            *value = fmin(*value, margin / mass);
        }
        free(nu);
        double total = 0;
        for (int i = 0; i < n; i++)
            total += lambda[i] = fabs(glp_get_row_dual(lp, i + 1));
        ok = total > 0;
        for (int i = 0; i < n && ok; i++)
            lambda[i] /= total;
    }
    glp_delete_prob(lp);
    free(ia);
    free(ja);
    free(ar);
    return ok ? 0 : 1;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* max over unit u in the plane of |sum_i lambda_i y_i phi(<u, c_i>)|. Between
 * consecutive kinks (angles where <u, c_i> = 0) the sum is <g, u> for a fixed
 * g, whose largest |.| on the arc is at an end or, if +-g points into the
 * arc, ||g||. kinks is scratch of 2 n + 1 doubles. */
static double max_abs_h(const double *coord, const double *y, const double *lambda, int n,
                        double slope, double *kinks)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (coord[2 * i] == 0 && coord[2 * i + 1] == 0)
            continue;
        double at = atan2(coord[2 * i + 1], coord[2 * i]);
        for (int side = -1; side <= 1; side += 2)
            kinks[k++] = fmod(at + side * M_PI / 2 + 4 * M_PI, 2 * M_PI);
    }
    if (k == 0)
        return 0;
    qsort(kinks, (size_t)k, sizeof(double), by_value);
    kinks[k] = kinks[0] + 2 * M_PI; /* close the circle */
    double best = 0;
    for (int a = 0; a < k; a++) {
        double t0 = kinks[a], t1 = kinks[a + 1], mid = 0.5 * (t0 + t1);
        double g[2] = {0, 0}, h0 = 0;
        for (int i = 0; i < n; i++) {
            double inside = cos(mid) * coord[2 * i] + sin(mid) * coord[2 * i + 1];
            double d = inside > 0 ? 1.0 : slope;
            g[0] += lambda[i] * y[i] * d * coord[2 * i];
            g[1] += lambda[i] * y[i] * d * coord[2 * i + 1];
            h0 += lambda[i] * y[i] * leaky(cos(t0) * coord[2 * i] + sin(t0) * coord[2 * i + 1],
                                           slope);
        }
        if (fabs(h0) > best)
            best = fabs(h0);
        double at = atan2(g[1], g[0]);
        for (int turn = 0; turn < 2; turn++) { /* +g and -g */
            double t = fmod(at + turn * M_PI + 4 * M_PI, 2 * M_PI);
            if (t < t0)
                t += 2 * M_PI;
            if (t <= t1 && hypot(g[0], g[1]) > best)
                best = hypot(g[0], g[1]);
        }
    }
    return best;
}

double bl_planar_dual_bound(const double *x, const int *label, const double *lambda, int n,
                            int dim, double slope)
{
    double *coord = bl_malloc(sizeof(double) * 2 * (size_t)(n > 0 ? n : 1));
    double *y = bl_malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    double *kinks = bl_malloc(sizeof(double) * (2 * (size_t)n + 1));
    double bound = NAN;
    if (plane_coordinates(x, n, dim, coord) == 0) {
        for (int i = 0; i < n; i++)
            y[i] = label[i] ? 1.0 : -1.0;
        bound = max_abs_h(coord, y, lambda, n, slope, kinks) / 2;
    }
    free(coord);
    free(y);
    free(kinks);
    return bound;
}

int bl_planar_best_margin(const double *x, const int *label, int n, int dim, double slope,
                          double rel_tol, long max_entries, struct bl_planar_margin *out,
                          char *err, size_t err_len)
{
    double *coord = bl_malloc(sizeof(double) * 2 * (size_t)(n > 0 ? n : 1));
    if (plane_coordinates(x, n, dim, coord)) {
        free(coord);
        snprintf(err, err_len, "the examples do not lie in a plane through the origin");
        return 1;
    }
    double *y = bl_malloc(sizeof(double) * (size_t)n);
    double *lambda = bl_malloc(sizeof(double) * (size_t)n);
    double *kinks = bl_malloc(sizeof(double) * (2 * (size_t)n + 1));
    for (int i = 0; i < n; i++)
        y[i] = label[i] ? 1.0 : -1.0;
    glp_term_out(GLP_OFF);
    int status = 3;
    out->lower = out->upper = NAN;
    out->directions = 0;
    for (int directions = 360;; directions *= 2) {
        if (2L * directions * (n + 1) > max_entries) {
            if (out->directions == 0) {
                snprintf(err, err_len,
                         "%d examples need more than %ld LP entries even at 360 directions", n,
                         max_entries);
                status = 2;
            } else if (!(out->lower > 0)) {
                snprintf(err, err_len, "no net on a grid of %d directions separates the examples",
                         out->directions);
                status = 2;
            } else {
                snprintf(err, err_len,
                         "stopped at %d directions (LP size cap): best margin in [%.6g, %.6g]",
                         out->directions, out->lower, out->upper);
            }
            break;
        }
        double value;
        if (solve_grid(coord, y, n, slope, directions, &value, lambda)) {
            snprintf(err, err_len, "the margin LP with %d directions failed", directions);
            status = 2;
            break;
        }
        out->directions = directions;
        out->lower = value / 2;
        out->upper = max_abs_h(coord, y, lambda, n, slope, kinks) / 2;
        if (out->upper <= 0) { /* the dual certificate: no net has a positive margin */
            snprintf(err, err_len, "no two-layer net separates these examples");
            status = 2;
            break;
        }
        if (out->lower > 0 && out->upper - out->lower <= rel_tol * out->upper) {
            status = 0;
            break;
        }
    }
    free(coord);
    free(y);
    free(lambda);
    free(kinks);
    return status;
}
