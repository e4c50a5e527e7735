/* The max-L1-margin linear classifier (bl_l1_margin.h): one LP, GLPK.
 * Why this LP: scaling w so that min_i y_i <w, x_i> = 1, maximizing the
 * margin over ||w||_1 is minimizing ||w||_1 under y_i <w, x_i> >= 1; with
 * w = p - q, p, q >= 0, ||w||_1 = sum (p + q) at the optimum (never both
 * p_j and q_j positive there), and the problem is linear. */
#include <glpk.h>
#include <math.h>
#include <stdio.h>

#include "bl_l1_margin.h"
#include "bl_log.h"

int bl_l1_max_margin(const double *x, const int *label, int n, int dim, double *w,
                     double *gamma, char *err, size_t err_len)
{
    /* GLPK counts from 1: row i+1 is example i, column j+1 is p_j and
     * column dim+j+1 is q_j; entries (ia, ja, ar) skip exact zeros */
    long cap = 2L * n * dim + 1;
    int *ia = bl_malloc(sizeof(int) * (size_t)cap), *ja = bl_malloc(sizeof(int) * (size_t)cap);
    double *ar = bl_malloc(sizeof(double) * (size_t)cap);
    long ne = 0;
    for (int i = 0; i < n; i++) {
        double y = label[i] ? 1.0 : -1.0;
        for (int j = 0; j < dim; j++) {
            double a = y * x[(long)i * dim + j];
            if (a == 0)
                continue;
            ne++, ia[ne] = i + 1, ja[ne] = j + 1, ar[ne] = a;
            ne++, ia[ne] = i + 1, ja[ne] = dim + j + 1, ar[ne] = -a;
        }
    }
    glp_term_out(GLP_OFF);
    glp_prob *lp = glp_create_prob();
    glp_set_obj_dir(lp, GLP_MIN);
    glp_add_rows(lp, n);
    for (int i = 1; i <= n; i++)
        glp_set_row_bnds(lp, i, GLP_LO, 1.0, 0.0); /* margin of example i >= 1 */
    glp_add_cols(lp, 2 * dim);
    for (int j = 1; j <= 2 * dim; j++) {
        glp_set_col_bnds(lp, j, GLP_LO, 0.0, 0.0);
        glp_set_obj_coef(lp, j, 1.0);
    }
    glp_load_matrix(lp, (int)ne, ia, ja, ar);
    free(ia);
    free(ja);
    free(ar);
    glp_smcp parm;
    glp_init_smcp(&parm);
    parm.msg_lev = GLP_MSG_OFF;
    parm.meth = GLP_DUALP;
    int rc = glp_simplex(lp, &parm), status = glp_get_status(lp);
    int result = 0;
    if (rc == 0 && (status == GLP_NOFEAS || glp_get_dual_stat(lp) == GLP_NOFEAS ||
                    glp_get_prim_stat(lp) == GLP_NOFEAS)) {
        result = 1;
    } else if (rc != 0 || status != GLP_OPT) {
        snprintf(err, err_len, "GLPK simplex returned %d with status %d", rc, status);
        result = 2;
    } else {
        double norm = 0;
        for (int j = 0; j < dim; j++) {
            w[j] = glp_get_col_prim(lp, j + 1) - glp_get_col_prim(lp, dim + j + 1);
            norm += fabs(w[j]);
        }
        /* the margin of the returned w itself (the LP's rows hold to its
         * feasibility tolerance): min_i y_i <w, x_i> / ||w||_1 */
        double q_min = INFINITY;
        for (int i = 0; i < n; i++) {
            double y = label[i] ? 1.0 : -1.0, s = 0;
            for (int j = 0; j < dim; j++)
                s += w[j] * x[(long)i * dim + j];
            q_min = fmin(q_min, y * s);
        }
        for (int j = 0; j < dim; j++)
            w[j] /= norm;
        *gamma = q_min / norm;
    }
    if (result)
        for (int j = 0; j < dim; j++)
            w[j] = 0;
    glp_delete_prob(lp);
    return result;
}
