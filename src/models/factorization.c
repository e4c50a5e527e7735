/* The symmetric matrix factorization: model.kind = factorization
 * (SCIENCE.md 3, matrix completion). W = U U^T - V V^T (d, d), d =
 * data.size; an example is an index pair (i, j) and the output is W_ij.
 * Parameters: U (d, d) then V (d, d), row-major. Initialization U = V =
 * alpha I with alpha = model.init_scale, so W = 0 at init and the theory's
 * alpha is the scale of every diagonal entry (||theta_0|| = alpha sqrt(2 d));
 * t* = ln(alpha) / (eta lambda) uses that alpha. W(c theta) = c^2 W(theta):
 * 2-homogeneous. Its tangent space at U = V is the symmetric matrices, so the
 * kernel regime fits the observed entries and their transposes and is 0
 * elsewhere; its rich regime is a low nuclear-norm completion. */
#include <stdio.h>
#include <string.h>

#include "bl_log.h"
#include "bl_model.h"

struct factorization {
    int d;
    double alpha; /* U = V = alpha I at init */
};

/* Buffers of one batch. */
struct fact_ws {
    double *out;  /* (max_batch) W_ij of each example */
    double *rout; /* (max_batch) R{W_ij} (HVPs) */
};

static const struct factorization *FA(const struct bl_model *m) { return m->impl; }
static struct fact_ws *FW(struct bl_workspace *ws) { return ws->impl; }

/* <a, b> over d entries, in a fixed order (an ensemble task gives the same
 * bits on any number of ranks) */
static double dot(const double *restrict a, const double *restrict b, int d)
{
    double s = 0;
    for (int k = 0; k < d; k++)
        s += a[k] * b[k];
    return s;
}

/* y (d) += c x (d) */
static void axpy(double c, const double *restrict x, double *restrict y, int d)
{
    for (int k = 0; k < d; k++)
        y[k] += c * x[k];
}

static int fact_build(struct bl_model *m, const struct bl_model_cfg *cfg, int inputs, int outputs,
                      char *err, size_t err_len)
{
    if (outputs != 1 || inputs != 2 || cfg->index_range < 1) {
        snprintf(err, err_len,
                 "model.kind = factorization reads index pairs (i, j) with one real target "
                 "(data.kind = matrix_completion); got %d inputs, %d outputs, indices below %d",
                 inputs, outputs, cfg->index_range);
        return 1;
    }
    struct factorization *f = bl_calloc(1, sizeof *f);
    m->impl = f;
    f->d = cfg->index_range;
    f->alpha = cfg->init_scale;
    bl_model_add_block(m, "U", f->d, f->d);
    bl_model_add_block(m, "V", f->d, f->d);
    m->degree = 2;
    m->margin_degree = 2;
    return 0;
}

static void fact_free(struct bl_model *m)
{
    free(m->impl);
    m->impl = NULL;
}

/* deterministic: U = V = alpha I whatever the seed (the seed varies the
 * observed entries) */
static void fact_init(const struct bl_model *m, uint64_t seed, double *theta)
{
    int d = FA(m)->d;
    memset(theta, 0, sizeof(double) * (size_t)m->n_params);
    for (int i = 0; i < d; i++) {
        theta[(long)i * d + i] = FA(m)->alpha;
        theta[(long)d * d + (long)i * d + i] = FA(m)->alpha;
    }
}

static size_t fact_workspace_doubles(const struct bl_model *m, int max_batch, int hvp)
{
    return (size_t)max_batch * (hvp ? 2 : 1);
}

static void fact_workspace_bind(const struct bl_model *m, struct bl_workspace *ws, double *block,
                                int hvp)
{
    struct fact_ws *w = bl_calloc(1, sizeof *w); /* pointers into block; freed with ws */
    ws->impl = w;
    w->out = block;
    w->rout = hvp ? block + ws->max_batch : NULL;
}

/* W_ij = <U_i, U_j> - <V_i, V_j> (rows of U and V) */
static const double *fact_forward(const struct bl_model *m, const double *theta,
                                  const struct bl_batch *b, struct bl_workspace *wsp)
{
    int d = FA(m)->d;
    const double *U = theta, *V = theta + (long)d * d;
    double *out = FW(wsp)->out;
    for (int e = 0; e < b->n; e++) {
        long i = b->index[2 * e], j = b->index[2 * e + 1];
        out[e] = dot(U + i * d, U + j * d, d) - dot(V + i * d, V + j * d, d);
    }
    return out;
}

/* dW_ij / dU_i = U_j and dW_ij / dU_j = U_i (both, so a diagonal entry
 * gets 2 U_i); minus the same with V */
static void fact_backward(const struct bl_model *m, const double *theta, const struct bl_batch *b,
                          const double *dout, struct bl_workspace *ws, double *grad)
{
    int d = FA(m)->d;
    long dd = (long)d * d;
    const double *U = theta, *V = theta + dd;
    double *gU = grad, *gV = grad + dd;
    memset(grad, 0, sizeof(double) * (size_t)(2 * dd));
    for (int e = 0; e < b->n; e++) {
        long i = b->index[2 * e], j = b->index[2 * e + 1];
        double g = dout[e];
        axpy(g, U + j * d, gU + i * d, d);
        axpy(g, U + i * d, gU + j * d, d);
        axpy(-g, V + j * d, gV + i * d, d);
        axpy(-g, V + i * d, gV + j * d, d);
    }
}

/* R{W_ij} = <R_Ui, U_j> + <U_i, R_Uj> - (the same with V) */
static const double *fact_rforward(const struct bl_model *m, const double *theta, const double *r,
                                   const struct bl_batch *b, struct bl_workspace *wsp)
{
    int d = FA(m)->d;
    long dd = (long)d * d;
    const double *U = theta, *V = theta + dd, *rU = r, *rV = r + dd;
    double *rout = FW(wsp)->rout;
    for (int e = 0; e < b->n; e++) {
        long i = b->index[2 * e], j = b->index[2 * e + 1];
        rout[e] = dot(rU + i * d, U + j * d, d) + dot(U + i * d, rU + j * d, d) -
                  dot(rV + i * d, V + j * d, d) - dot(V + i * d, rV + j * d, d);
    }
    return rout;
}

/* H r = sum_e J_e^T rdout_e + dout_e (Hessian of W_ij) r. The Hessian of
 * <U_i, U_j> maps r to R_Uj in row i and R_Ui in row j, so row i of hv_U
 * gains rdout U_j + dout R_Uj (and row j the mirror); V with minus signs. */
static void fact_rbackward(const struct bl_model *m, const double *theta, const double *r,
                           const struct bl_batch *b, const double *dout, const double *rdout,
                           struct bl_workspace *ws, double *hv)
{
    int d = FA(m)->d;
    long dd = (long)d * d;
    const double *U = theta, *V = theta + dd, *rU = r, *rV = r + dd;
    double *hU = hv, *hV = hv + dd;
    memset(hv, 0, sizeof(double) * (size_t)(2 * dd));
    for (int e = 0; e < b->n; e++) {
        long i = b->index[2 * e], j = b->index[2 * e + 1];
        double g = dout[e], rg = rdout[e];
        axpy(rg, U + j * d, hU + i * d, d);
        axpy(g, rU + j * d, hU + i * d, d);
        axpy(rg, U + i * d, hU + j * d, d);
        axpy(g, rU + i * d, hU + j * d, d);
        axpy(-rg, V + j * d, hV + i * d, d);
        axpy(-g, rV + j * d, hV + i * d, d);
        axpy(-rg, V + i * d, hV + j * d, d);
        axpy(-g, rV + i * d, hV + j * d, d);
    }
}

/* w (d, d) = U U^T - V V^T, by loops in a fixed order; returns d */
static int fact_symmetric_matrix(const struct bl_model *m, const double *theta, double *w)
{
    int d = FA(m)->d;
    const double *U = theta, *V = theta + (long)d * d;
    for (long i = 0; w && i < d; i++)
        for (long j = 0; j <= i; j++)
            w[i * d + j] = w[j * d + i] =
                dot(U + i * d, U + j * d, d) - dot(V + i * d, V + j * d, d);
    return d;
}

/* per example: two dot products forward, four updates backward, each 2 d */
static double fact_step_flops(const struct bl_model *m, int n)
{
    return 12.0 * n * FA(m)->d;
}

const struct bl_model_ops bl_model_factorization = {
    .name = "factorization",
    .build = fact_build,
    .free = fact_free,
    .init = fact_init,
    .workspace_doubles = fact_workspace_doubles,
    .workspace_bind = fact_workspace_bind,
    .forward = fact_forward,
    .backward = fact_backward,
    .rforward = fact_rforward,
    .rbackward = fact_rbackward,
    .symmetric_matrix = fact_symmetric_matrix,
    .step_flops = fact_step_flops,
};
