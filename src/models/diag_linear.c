/* The diagonal linear network: model.kind = diag_linear (SCIENCE.md 3).
 * f(x) = <w, x> with the effective weights w = u^L - v^L (elementwise
 * powers, L = model.depth). Parameters: u (dim), then v (dim).
 * Initialization u = v = c 1 with c = init_scale / sqrt(2 dim), so that
 * ||theta_0|| = init_scale (the authors' convention: their alpha is the
 * total norm) and f = 0 at init. f(c theta) = c^L f(theta): L-homogeneous.
 * Its NTK at u = v is the linear kernel on x (the kernel regime is the
 * max-L2-margin SVM); its rich regime the max-L1-margin classifier. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bl_log.h"
#include "bl_model.h"

struct diag_linear {
    int dim, depth;     /* d, L */
    double init_value;  /* c, every coordinate of u and v at init */
};

/* Buffers of one batch. */
struct diag_ws {
    double *w;    /* (dim) u^L - v^L */
    double *gw;   /* (dim) X^T dout: the gradient with respect to w */
    double *rw;   /* (dim) R{w} along v (HVPs) */
    double *out;  /* (max_batch) f(x_i) */
    double *rout; /* (max_batch) R{f(x_i)} (HVPs) */
};

static const struct diag_linear *DL(const struct bl_model *m) { return m->impl; }
static struct diag_ws *DW(struct bl_workspace *ws) { return ws->impl; }

/* out (n) = X (n, dim) w, row by row in a fixed order. Not BLAS: OpenBLAS
 * splits a GEMV's sums by thread, and an ensemble task must give the same
 * bits on any number of ranks (threads per rank = cores / ranks). */
static void rows_times(const double *restrict x, int n, int dim, const double *restrict w,
                       double *restrict out)
{
    for (int i = 0; i < n; i++) {
        const double *row = x + (long)i * dim;
        /* four running sums in a fixed pattern, so the compiler can keep
         * them in one vector register; combined in a fixed order */
        double s[4] = {0, 0, 0, 0};
        int j = 0;
        for (; j + 4 <= dim; j += 4)
            for (int k = 0; k < 4; k++)
                s[k] += row[j + k] * w[j + k];
        for (; j < dim; j++)
            s[0] += row[j] * w[j];
        out[i] = (s[0] + s[1]) + (s[2] + s[3]);
    }
}

/* g (dim) = X^T d: the rows added in order, so each g_j sums over i in a
 * fixed order whatever the threads (and the inner loop vectorizes) */
static void rows_transposed_times(const double *restrict x, int n, int dim,
                                  const double *restrict d, double *restrict g)
{
    for (int j = 0; j < dim; j++)
        g[j] = 0;
    for (int i = 0; i < n; i++) {
        const double *row = x + (long)i * dim;
        for (int j = 0; j < dim; j++)
            g[j] += d[i] * row[j];
    }
}

/* x^k for a small integer k >= 0, by multiplication (exact for k <= 2,
 * and no libm call per coordinate) */
static double ipow(double x, int k)
{
    double r = 1.0;
    for (int i = 0; i < k; i++)
        r *= x;
    return r;
}

static int diag_build(struct bl_model *m, const struct bl_model_cfg *cfg, int inputs,
                      int outputs, char *err, size_t err_len)
{
    if (outputs != 1) {
        snprintf(err, err_len,
                 "model.kind = diag_linear has one output, but the data need %d (use two "
                 "classes with a binary loss, or one regression target)",
                 outputs);
        return 1;
    }
    if (inputs < 1) {
        snprintf(err, err_len, "model.kind = diag_linear needs dense input rows (got %d features)",
                 inputs);
        return 1;
    }
    struct diag_linear *d = bl_calloc(1, sizeof *d);
    m->impl = d;
    d->dim = inputs;
    d->depth = cfg->depth;
    d->init_value = cfg->init_scale / sqrt(2.0 * inputs);
    bl_model_add_block(m, "u", inputs, 1);
    bl_model_add_block(m, "v", inputs, 1);
    m->degree = cfg->depth;
    m->margin_degree = cfg->depth;
    return 0;
}

static void diag_free(struct bl_model *m)
{
    free(m->impl);
    m->impl = NULL;
}

/* deterministic: u = v = c 1 whatever the seed (the seed varies the data) */
static void diag_init(const struct bl_model *m, uint64_t seed, double *theta)
{
    for (long i = 0; i < m->n_params; i++)
        theta[i] = DL(m)->init_value;
}

static size_t diag_workspace_doubles(const struct bl_model *m, int max_batch, int hvp)
{
    size_t d = (size_t)DL(m)->dim, n = (size_t)max_batch;
    return 2 * d + n + (hvp ? d + n : 0);
}

static void diag_workspace_bind(const struct bl_model *m, struct bl_workspace *ws, double *block,
                                int hvp)
{
    long d = DL(m)->dim, n = ws->max_batch;
    struct diag_ws *w = bl_calloc(1, sizeof *w); /* pointers into block; freed with ws */
    ws->impl = w;
    double *p = block;
    w->w = p, p += d;
    w->gw = p, p += d;
    w->out = p, p += n;
    if (hvp) {
        w->rw = p, p += d;
        w->rout = p, p += n;
    }
}

static const double *diag_forward(const struct bl_model *m, const double *theta,
                                  const struct bl_batch *b, struct bl_workspace *wsp)
{
    const struct diag_linear *d = DL(m);
    struct diag_ws *ws = DW(wsp);
    const double *u = theta, *v = theta + d->dim;
    for (int j = 0; j < d->dim; j++)
        ws->w[j] = ipow(u[j], d->depth) - ipow(v[j], d->depth);
    rows_times(b->x, b->n, d->dim, ws->w, ws->out);
    return ws->out;
}

/* grad_u = L u^(L-1) g_w, grad_v = -L v^(L-1) g_w, with g_w = X^T dout */
static void diag_backward(const struct bl_model *m, const double *theta, const struct bl_batch *b,
                          const double *dout, struct bl_workspace *wsp, double *grad)
{
    const struct diag_linear *d = DL(m);
    struct diag_ws *ws = DW(wsp);
    const double *u = theta, *v = theta + d->dim;
    int L = d->depth;
    rows_transposed_times(b->x, b->n, d->dim, dout, ws->gw);
    for (int j = 0; j < d->dim; j++) {
        grad[j] = L * ipow(u[j], L - 1) * ws->gw[j];
        grad[d->dim + j] = -L * ipow(v[j], L - 1) * ws->gw[j];
    }
}

/* R{w} = L u^(L-1) r_u - L v^(L-1) r_v;  R{out} = X R{w} */
static const double *diag_rforward(const struct bl_model *m, const double *theta, const double *r,
                                   const struct bl_batch *b, struct bl_workspace *wsp)
{
    const struct diag_linear *d = DL(m);
    struct diag_ws *ws = DW(wsp);
    const double *u = theta, *v = theta + d->dim;
    int L = d->depth;
    for (int j = 0; j < d->dim; j++)
        ws->rw[j] = L * (ipow(u[j], L - 1) * r[j] - ipow(v[j], L - 1) * r[d->dim + j]);
    rows_times(b->x, b->n, d->dim, ws->rw, ws->rout);
    return ws->rout;
}

/* H r = J^T R{dout} + sum_i dout_i (Hessian of f_i) r. The Hessian of f_i is
 * diagonal: d^2 f / du_j^2 = L (L-1) u_j^(L-2) x_ij (and minus that with v),
 * so its sum against dout is L (L-1) u^(L-2) r_u g_w with g_w = X^T dout. */
static void diag_rbackward(const struct bl_model *m, const double *theta, const double *r,
                           const struct bl_batch *b, const double *dout, const double *rdout,
                           struct bl_workspace *wsp, double *hv)
{
    const struct diag_linear *d = DL(m);
    struct diag_ws *ws = DW(wsp);
    const double *u = theta, *v = theta + d->dim;
    int L = d->depth, dim = d->dim;
    double *gw = ws->gw, *rgw = ws->rw; /* rw is free again after rforward */
    rows_transposed_times(b->x, b->n, dim, dout, gw);
    rows_transposed_times(b->x, b->n, dim, rdout, rgw);
    for (int j = 0; j < dim; j++) {
        double curv_u = L > 1 ? L * (L - 1) * ipow(u[j], L - 2) : 0.0;
        double curv_v = L > 1 ? L * (L - 1) * ipow(v[j], L - 2) : 0.0;
        hv[j] = L * ipow(u[j], L - 1) * rgw[j] + curv_u * r[j] * gw[j];
        hv[dim + j] = -L * ipow(v[j], L - 1) * rgw[j] - curv_v * r[dim + j] * gw[j];
    }
}

/* the effective weights u^L - v^L: the classifier the references compare */
static void diag_linear_predictor(const struct bl_model *m, const double *theta, double *w)
{
    const struct diag_linear *d = DL(m);
    for (int j = 0; j < d->dim; j++)
        w[j] = ipow(theta[j], d->depth) - ipow(theta[d->dim + j], d->depth);
}

/* forward and backward are two matrix-vector products over the batch plus O(L dim) */
static double diag_step_flops(const struct bl_model *m, int n)
{
    const struct diag_linear *d = DL(m);
    return 4.0 * n * d->dim + 4.0 * d->depth * d->dim;
}

const struct bl_model_ops bl_model_diag_linear = {
    .name = "diag_linear",
    .build = diag_build,
    .free = diag_free,
    .init = diag_init,
    .workspace_doubles = diag_workspace_doubles,
    .workspace_bind = diag_workspace_bind,
    .forward = diag_forward,
    .backward = diag_backward,
    .rforward = diag_rforward,
    .rbackward = diag_rbackward,
    .linear_predictor = diag_linear_predictor,
    .step_flops = diag_step_flops,
    .uniform_init = 1,
    .l1_l2_references = 1,
};
