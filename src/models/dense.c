/* The dense family: model.kind = linear (one layer) or mlp (depth layers).
 * A stack of dense layers over a batch: each layer is one GEMM (OpenBLAS),
 * then the bias, an optional layer normalization and the activation in one
 * pass. Parameters: every layer's weight matrix W_l (dims[l+1], dims[l]) in
 * order, each row-major, then every layer's bias b_l (dims[l+1]). The
 * products go through bl_gemm: plain C for small shapes, else OpenBLAS. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bl_gemm.h"
#include "bl_log.h"
#include "bl_model.h"
#include "bl_rng.h"

#define BL_MAX_LAYERS 64

struct dense {
    int n_layers;                      /* weight layers L */
    int dims[BL_MAX_LAYERS + 1];       /* dims[0] inputs ... dims[L] outputs */
    enum bl_activation activation;     /* between layers, not after the last */
    double leaky_slope;
    int bias;
    double init_scale;
    long weight_offset[BL_MAX_LAYERS]; /* W_l at theta + offset */
    long bias_offset[BL_MAX_LAYERS];   /* b_l, or -1 */
    int normalize;                     /* hidden pre-activations layer-normalized */
};

/* Activations of one batch. */
struct dense_ws {
    double *post[BL_MAX_LAYERS]; /* a_l = phi(z_l) (batch, dims[l+1]); last = outputs.
                                  * z_l is not kept: for relu and leaky relu
                                  * (slope >= 0) z > 0 exactly when a > 0, so
                                  * phi'(z) is read off a */
    double *delta;               /* (batch, max dim) gradient wrt a pre-activation */
    double *delta_prev;          /* (batch, max dim) the same for the layer below */
    double *wt;                  /* bl_gemm's scratch: (max(max dims[l] dims[l+1], batch
                                  * max dim)) a weight matrix or a tall product
                                  * transposed */
    /* Hessian-vector products, R{.} = directional derivative along v: */
    double *rpost[BL_MAX_LAYERS]; /* R{a_l} (batch, dims[l+1]); last = R{outputs} */
    double *rdelta;               /* (batch, max dim) R{delta} */
    double *rdelta_prev;          /* (batch, max dim) */
    /* The deltas do not depend on v: the first HVP after a forward keeps
     * them for the next ones (unnormalized stacks; the normalization's
     * R-backward needs its input gradient too). */
    double *kept_delta[BL_MAX_LAYERS]; /* (batch, dims[l+1]) delta of layer l < L-1 */
    double *kept_dout;                 /* (batch, outputs) the dout they came from */
    int deltas_kept;                   /* 1 while they match the last forward */
    /* normalized hidden layers: h = c / r, c = z - mean(z), r = sqrt(mean c^2),
     * per example */
    double *norm_h[BL_MAX_LAYERS];  /* (batch, dims[l+1]) */
    double *norm_r[BL_MAX_LAYERS];  /* (batch) */
    double *rnorm_h[BL_MAX_LAYERS]; /* (batch, dims[l+1]) R{h} */
    double *rnorm_r[BL_MAX_LAYERS]; /* (batch) R{r} */
};

static const struct dense *D(const struct bl_model *m) { return m->impl; }
static struct dense_ws *W(struct bl_workspace *ws) { return ws->impl; }

static int dense_build(struct bl_model *model, const struct bl_model_cfg *cfg, int dim,
                       int outputs, char *err, size_t err_len)
{
    struct dense *m = bl_calloc(1, sizeof *m);
    model->impl = m;
    m->n_layers = cfg->kind == BL_MODEL_MLP ? cfg->depth : 1;
    if (m->n_layers < 1 || m->n_layers > BL_MAX_LAYERS) {
        snprintf(err, err_len, "model.depth = %d: a dense model has 1 to %d layers",
                 m->n_layers, BL_MAX_LAYERS);
        return 1;
    }
    m->dims[0] = dim;
    for (int l = 1; l < m->n_layers; l++)
        m->dims[l] = cfg->width;
    m->dims[m->n_layers] = outputs;
    m->activation = cfg->activation;
    m->leaky_slope = cfg->leaky_slope;
    m->bias = cfg->bias;
    m->init_scale = cfg->init_scale;
    char name[16];
    for (int l = 0; l < m->n_layers; l++) {
        snprintf(name, sizeof name, "W%d", l + 1);
        m->weight_offset[l] = model->n_params;
        bl_model_add_block(model, name, m->dims[l + 1], m->dims[l]);
    }
    for (int l = 0; l < m->n_layers; l++) {
        m->bias_offset[l] = m->bias ? model->n_params : -1;
        if (m->bias) {
            snprintf(name, sizeof name, "b%d", l + 1);
            bl_model_add_block(model, name, m->dims[l + 1], 1);
        }
    }
    /* relu, leaky relu and identity are 1-homogeneous, so a bias-free stack of
     * L layers is L-homogeneous: f(c theta) = c^L f(theta). */
    model->degree = m->bias ? 0 : m->n_layers;
    m->normalize = cfg->kind == BL_MODEL_MLP && cfg->normalize;
    if (m->normalize)
        model->degree = 1; /* only the last layer's scale matters: 1-homogeneous */
    /* a model with biases is not homogeneous; its "normalized" margin uses
     * the depth nominally */
    model->margin_degree = model->degree ? model->degree : m->n_layers;
    if (!cfg->train_last) { /* the last weight layer stays at its initialization */
        int L = m->n_layers;
        model->frozen_lo = m->weight_offset[L - 1];
        model->frozen_hi = model->frozen_lo + (long)m->dims[L] * m->dims[L - 1];
    }
    return 0;
}

static void dense_free(struct bl_model *m)
{
    free(m->impl);
    m->impl = NULL;
}

static void dense_init(const struct bl_model *model, uint64_t seed, double *theta)
{
    const struct dense *m = D(model);
    struct bl_rng rng;
    bl_rng_init(&rng, seed, BL_STREAM_INIT, 0);
    for (int l = 0; l < m->n_layers; l++) {
        double std = m->init_scale / sqrt((double)m->dims[l]);
        long count = (long)m->dims[l + 1] * m->dims[l];
        double *w = theta + m->weight_offset[l];
        for (long i = 0; i < count; i++)
            w[i] = std * bl_rng_normal(&rng);
    }
    for (int l = 0; m->bias && l < m->n_layers; l++)
        memset(theta + m->bias_offset[l], 0, sizeof(double) * m->dims[l + 1]);
}

static int max_dim(const struct dense *m)
{
    int d = 0;
    for (int l = 0; l <= m->n_layers; l++)
        if (m->dims[l] > d)
            d = m->dims[l];
    return d;
}

/* The largest weight matrix, dims[l] dims[l+1]. */
static size_t max_weights(const struct dense *m)
{
    size_t most = 0;
    for (int l = 0; l < m->n_layers; l++)
        if ((size_t)m->dims[l] * m->dims[l + 1] > most)
            most = (size_t)m->dims[l] * m->dims[l + 1];
    return most;
}

/* bl_gemm's scratch: a weight matrix, or any product's output (batch rows
 * by at most max dim) */
static size_t scratch_doubles(const struct dense *m, long max_batch)
{
    size_t outputs = (size_t)max_batch * (size_t)max_dim(m);
    return max_weights(m) > outputs ? max_weights(m) : outputs;
}

/* activations (2 max-dim buffers + every layer's output), their R{} twins
 * with hvp, the normalization's h and r (and R{}) per hidden layer, and
 * bl_gemm's scratch */
static size_t dense_workspace_doubles(const struct bl_model *model, int max_batch, int hvp)
{
    const struct dense *m = D(model);
    size_t n = (size_t)max_batch, layers = 0, norm = 0;
    for (int l = 0; l < m->n_layers; l++)
        layers += n * (size_t)m->dims[l + 1];
    for (int l = 0; m->normalize && l < m->n_layers - 1; l++)
        norm += 2 * n * ((size_t)m->dims[l + 1] + 1);
    size_t one = 2 * n * (size_t)max_dim(m) + layers;
    size_t kept = hvp && !m->normalize ? layers : 0; /* the hidden deltas and dout */
    return one * (hvp ? 2 : 1) + norm + scratch_doubles(m, max_batch) + kept;
}

static void dense_workspace_bind(const struct bl_model *model, struct bl_workspace *ws,
                                 double *block, int hvp)
{
    const struct dense *m = D(model);
    long n = ws->max_batch;
    struct dense_ws *w = bl_calloc(1, sizeof *w); /* pointers into block; freed with ws */
    ws->impl = w;
    double *p = block;
    for (int l = 0; l < m->n_layers; l++)
        w->post[l] = p, p += n * m->dims[l + 1];
    w->delta = p, p += n * max_dim(m);
    w->delta_prev = p, p += n * max_dim(m);
    w->wt = p, p += scratch_doubles(m, n);
    if (hvp) {
        for (int l = 0; l < m->n_layers; l++)
            w->rpost[l] = p, p += n * m->dims[l + 1];
        w->rdelta = p, p += n * max_dim(m);
        w->rdelta_prev = p, p += n * max_dim(m);
    }
    for (int l = 0; hvp && !m->normalize && l < m->n_layers - 1; l++)
        w->kept_delta[l] = p, p += n * m->dims[l + 1];
    if (hvp && !m->normalize)
        w->kept_dout = p, p += n * m->dims[m->n_layers];
    for (int l = 0; m->normalize && l < m->n_layers - 1; l++) {
        w->norm_h[l] = p, p += n * m->dims[l + 1];
        w->rnorm_h[l] = p, p += n * m->dims[l + 1];
        w->norm_r[l] = p, p += n;
        w->rnorm_r[l] = p, p += n;
    }
}

/* phi'(z) read off a = phi(z): 1 where a > 0, else the slope (a > 0 exactly
 * when z > 0, for slopes >= 0). At z = 0 this is the left derivative (0 for
 * relu), the usual subgradient, which keeps Euler's identity exact. A
 * select, not a branch, so the loops vectorize: a data dependent branch
 * here costs more than the GEMM on tiny models. */
static inline double slope_at(double a, double slope) { return a > 0 ? 1.0 : slope; }

/* delta *= phi'(z); cloned like bl_gemm's kernel, as these passes over the
 * activations cost as much as the products on a tiny net */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void multiply_by_slope(double *restrict delta, const double *restrict a, long count,
                              double slope)
{
    for (long i = 0; i < count; i++)
        delta[i] *= slope_at(a[i], slope);
}

/* a = phi(a) = a phi'(a): the product keeps relu's -0 for a negative z, as
 * always */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void leaky_relu_in_place(double *restrict a, long count, double slope)
{
    for (long i = 0; i < count; i++)
        a[i] *= slope_at(a[i], slope);
}

/* Subtract each row's mean: the projection P = I - 1 1^T / d, linear, so it
 * commutes with the R-operator and is its own transpose. x: (n, d). */
static void center_rows(double *x, int n, int d)
{
    for (int i = 0; i < n; i++) {
        double *row = x + (long)i * d, mean = 0;
        for (int j = 0; j < d; j++)
            mean += row[j];
        mean /= d;
        for (int j = 0; j < d; j++)
            row[j] -= mean;
    }
}

/* Layer normalization without affine parameters, per example (row of z
 * (n, d)): c = z - mean(z), r = sqrt(mean c^2), h = c / r. Centering keeps
 * about half of each row positive for the relu after it, so a row cannot
 * collapse towards zero (where 1/r would blow the gradients up). h goes to
 * both z (in place) and h_out, r to r_out (n). */
static void rms_normalize(double *z, int n, int d, double *h_out, double *r_out)
{
    center_rows(z, n, d);
    for (int i = 0; i < n; i++) {
        double *row = z + (long)i * d, ms = 0;
        for (int j = 0; j < d; j++)
            ms += row[j] * row[j];
        /* an all-zero row (a dead relu layer below) has no scale to remove:
         * keep it at zero rather than divide 0 by 0 */
        double r = ms > 0 ? sqrt(ms / d) : 1.0;
        r_out[i] = r;
        for (int j = 0; j < d; j++)
            h_out[(long)i * d + j] = row[j] = row[j] / r;
    }
}

/* g (n, d): gradient with respect to h -> with respect to z, by the Jacobian
 * of the normalization, symmetric: J = (I - h h^T / d) / r. */
static void rms_backward(double *g, const double *h, const double *r, int n, int d)
{
    for (int i = 0; i < n; i++) {
        double *gi = g + (long)i * d;
        const double *hi = h + (long)i * d;
        double c = 0;
        for (int j = 0; j < d; j++)
            c += hi[j] * gi[j];
        for (int j = 0; j < d; j++)
            gi[j] = (gi[j] - hi[j] * c / d) / r[i];
    }
}

static const double *dense_forward(const struct bl_model *model, const double *theta,
                                   const struct bl_batch *batch, struct bl_workspace *wsp)
{
    const struct dense *m = D(model);
    struct dense_ws *ws = W(wsp);
    int n = batch->n;
    const double *in = batch->x; /* (n, dims[l]) */
    ws->deltas_kept = 0;
    for (int l = 0; l < m->n_layers; l++) {
        int din = m->dims[l], dout = m->dims[l + 1];
        const double *w = theta + m->weight_offset[l]; /* (dout, din) */
        double *a = ws->post[l]; /* (n, dout): z, then phi(z) in place */
        int hidden = l < m->n_layers - 1 && m->activation != BL_ACT_IDENTITY;
        double slope = m->activation == BL_ACT_LEAKY_RELU ? m->leaky_slope : 0.0;
        /* phi fused into the product's stores when nothing comes between */
        int fused = hidden && !m->bias && !m->normalize;
        bl_gemm_then(fused ? BL_GEMM_THEN_LEAKY_RELU : BL_GEMM_THEN_NOTHING, NULL, slope, 0, 1, n,
                     dout, din, in, din, w, din, 0.0, a, dout, ws->wt);
        const double *b = m->bias ? theta + m->bias_offset[l] : NULL;
        if (b)
            for (int i = 0; i < n; i++)
                for (int j = 0; j < dout; j++)
                    a[(long)i * dout + j] += b[j];
        if (m->normalize && l < m->n_layers - 1)
            rms_normalize(a, n, dout, ws->norm_h[l], ws->norm_r[l]);
        if (hidden && !fused)
            leaky_relu_in_place(a, (long)n * dout, slope);
        in = a;
    }
    return ws->post[m->n_layers - 1];
}

static void dense_backward(const struct bl_model *model, const double *theta,
                           const struct bl_batch *batch, const double *dout,
                           struct bl_workspace *wsp, double *grad)
{
    const struct dense *m = D(model);
    struct dense_ws *ws = W(wsp);
    const double *x = batch->x;
    int n = batch->n, last = m->n_layers - 1;
    /* delta (n, dims[l+1]) = d loss / d z_l, starting from the outputs */
    if (dout != ws->delta)
        memcpy(ws->delta, dout, sizeof(double) * (long)n * m->dims[m->n_layers]);
    for (int l = last; l >= 0; l--) {
        int din = m->dims[l], dn = m->dims[l + 1];
        const double *in = l == 0 ? x : ws->post[l - 1]; /* (n, din) */
        double *delta = ws->delta;
        /* dW (dn, din) = delta^T (dn, n) * in (n, din) */
        bl_gemm(1, 0, dn, din, n, delta, dn, in, din, 0.0, grad + m->weight_offset[l], din,
                ws->wt);
        if (m->bias) {
            double *db = grad + m->bias_offset[l];
            for (int j = 0; j < dn; j++)
                db[j] = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < dn; j++)
                    db[j] += delta[(long)i * dn + j];
        }
        if (l == 0)
            break;
        /* delta_prev (n, din) = delta (n, dn) * W (dn, din), then times phi'(z_{l-1}) */
        const double *w = theta + m->weight_offset[l];
        double *prev = ws->delta_prev;
        /* ... phi'(z) fused into the product's stores */
        double slope = m->activation == BL_ACT_LEAKY_RELU ? m->leaky_slope : 0.0;
        bl_gemm_then(m->activation != BL_ACT_IDENTITY ? BL_GEMM_THEN_TIMES_SLOPE_AT
                                                      : BL_GEMM_THEN_NOTHING,
                     ws->post[l - 1], slope, 0, 0, n, din, dn, delta, dn, w, din, 0.0, prev, din,
                     ws->wt);
        if (m->normalize) {
            rms_backward(prev, ws->norm_h[l - 1], ws->norm_r[l - 1], n, din);
            center_rows(prev, n, din);
        }
        ws->delta_prev = delta;
        ws->delta = prev;
    }
}

/* R-operator through the normalization: g, rg (n, d) are the gradient
 * with respect to h and its R{}; both become the same with respect to z.
 * dz = (g - h c / d) / r with c = h . g, so
 * R{dz} = -R{r}/r dz + (R{g} - R{h} c / d - h R{c} / d) / r,
 * R{c} = R{h} . g + h . R{g}. */
static void rms_rbackward(double *g, double *rg, const double *h, const double *r,
                          const double *rh, const double *rr, int n, int d)
{
    for (int i = 0; i < n; i++) {
        double *gi = g + (long)i * d, *rgi = rg + (long)i * d;
        const double *hi = h + (long)i * d, *rhi = rh + (long)i * d;
        double c = 0, rc = 0;
        for (int j = 0; j < d; j++) {
            c += hi[j] * gi[j];
            rc += rhi[j] * gi[j] + hi[j] * rgi[j];
        }
        for (int j = 0; j < d; j++) {
            double dz = (gi[j] - hi[j] * c / d) / r[i];
            rgi[j] = -rr[i] / r[i] * dz + (rgi[j] - rhi[j] * c / d - hi[j] * rc / d) / r[i];
            gi[j] = dz;
        }
    }
}

static const double *dense_rforward(const struct bl_model *model, const double *theta,
                                    const double *v, const struct bl_batch *batch,
                                    struct bl_workspace *wsp)
{
    const struct dense *m = D(model);
    struct dense_ws *ws = W(wsp);
    const double *x = batch->x;
    int n = batch->n;
    /* z_l = W_l a_{l-1} + b_l  =>  R{z_l} = V_l a_{l-1} + W_l R{a_{l-1}} + c_l,
     * R{a_l} = phi'(z_l) R{z_l}, with R{a_0} = 0 (the data do not move) */
    const double *in = x, *rin = NULL; /* (n, dims[l]) */
    for (int l = 0; l < m->n_layers; l++) {
        int din = m->dims[l], dout = m->dims[l + 1];
        const double *w = theta + m->weight_offset[l], *vw = v + m->weight_offset[l];
        double *rz = ws->rpost[l]; /* (n, dout) */
        bl_gemm(0, 1, n, dout, din, in, din, vw, din, 0.0, rz, dout, ws->wt);
        if (rin)
            bl_gemm(0, 1, n, dout, din, rin, din, w, din, 1.0, rz, dout, ws->wt);
        if (m->bias) {
            const double *c = v + m->bias_offset[l];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < dout; j++)
                    rz[(long)i * dout + j] += c[j];
        }
        if (m->normalize && l < m->n_layers - 1) {
            /* R{c} = P R{z}; R{r} = h . R{c} / d;  R{h} = (R{c} - h R{r}) / r */
            center_rows(rz, n, dout);
            const double *h = ws->norm_h[l], *r = ws->norm_r[l];
            for (int i = 0; i < n; i++) {
                double *rzi = rz + (long)i * dout;
                const double *hi = h + (long)i * dout;
                double s = 0;
                for (int j = 0; j < dout; j++)
                    s += hi[j] * rzi[j];
                s /= dout;
                ws->rnorm_r[l][i] = s;
                for (int j = 0; j < dout; j++)
                    rzi[j] = ws->rnorm_h[l][(long)i * dout + j] = (rzi[j] - hi[j] * s) / r[i];
            }
        }
        if (l < m->n_layers - 1 && m->activation != BL_ACT_IDENTITY)
            multiply_by_slope(rz, ws->post[l], (long)n * dout,
                              m->activation == BL_ACT_LEAKY_RELU ? m->leaky_slope : 0.0);
        in = ws->post[l];
        rin = rz;
    }
    return ws->rpost[m->n_layers - 1];
}

static void dense_rbackward(const struct bl_model *model, const double *theta, const double *v,
                            const struct bl_batch *batch, const double *dout,
                            const double *rdout, struct bl_workspace *wsp, double *hv)
{
    const struct dense *m = D(model);
    struct dense_ws *ws = W(wsp);
    const double *x = batch->x;
    int n = batch->n, last = m->n_layers - 1, k = m->dims[m->n_layers];
    size_t dout_bytes = sizeof(double) * (size_t)n * k;
    /* the deltas of the last HVP serve when the forward and dout are its own */
    int keep = ws->kept_dout != NULL;
    int kept = keep && ws->deltas_kept && !memcmp(ws->kept_dout, dout, dout_bytes);
    double slope = m->activation == BL_ACT_LEAKY_RELU ? m->leaky_slope : 0.0;
    /* delta, rdelta (n, dn): the layer's; read only, so dout and rdout serve
     * as the top layer's. rdelta_prev is written into whichever of the two
     * R buffers rdelta is not; prev, unless kept, into the other delta one. */
    const double *delta = dout, *rdelta = rdout;
    for (int l = last; l >= 0; l--) {
        int din = m->dims[l], dn = m->dims[l + 1];
        const double *in = l == 0 ? x : ws->post[l - 1];       /* a_{l-1} (n, din) */
        const double *rin = l == 0 ? NULL : ws->rpost[l - 1];  /* R{a_{l-1}} */
        /* R{dW_l} = R{delta}^T a_{l-1} + delta^T R{a_{l-1}} */
        double *hw = hv + m->weight_offset[l];
        bl_gemm(1, 0, dn, din, n, rdelta, dn, in, din, 0.0, hw, din, ws->wt);
        if (rin)
            bl_gemm(1, 0, dn, din, n, delta, dn, rin, din, 1.0, hw, din, ws->wt);
        if (m->bias) {
            double *hb = hv + m->bias_offset[l];
            for (int j = 0; j < dn; j++)
                hb[j] = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < dn; j++)
                    hb[j] += rdelta[(long)i * dn + j];
        }
        if (l == 0)
            break;
        /* delta_{l-1} = phi' (delta W_l); R{delta_{l-1}} = phi' (delta V_l + R{delta} W_l)
         * (phi'' = 0, so phi' does not move) */
        const double *w = theta + m->weight_offset[l], *vw = v + m->weight_offset[l];
        double *prev = keep ? ws->kept_delta[l - 1]
                            : delta == ws->delta ? ws->delta_prev : ws->delta; /* (n, din) */
        double *rprev = rdelta == ws->rdelta ? ws->rdelta_prev : ws->rdelta;  /* (n, din) */
        if (!kept)
            bl_gemm(0, 0, n, din, dn, delta, dn, w, din, 0.0, prev, din, ws->wt);
        bl_gemm(0, 0, n, din, dn, delta, dn, vw, din, 0.0, rprev, din, ws->wt);
        bl_gemm(0, 0, n, din, dn, rdelta, dn, w, din, 1.0, rprev, din, ws->wt);
        if (m->activation != BL_ACT_IDENTITY) {
            if (!kept)
                multiply_by_slope(prev, ws->post[l - 1], (long)n * din, slope);
            multiply_by_slope(rprev, ws->post[l - 1], (long)n * din, slope);
        }
        if (m->normalize) {
            rms_rbackward(prev, rprev, ws->norm_h[l - 1], ws->norm_r[l - 1],
                          ws->rnorm_h[l - 1], ws->rnorm_r[l - 1], n, din);
            center_rows(prev, n, din);
            center_rows(rprev, n, din);
        }
        delta = prev;
        rdelta = rprev;
    }
    if (keep && !kept) {
        memcpy(ws->kept_dout, dout, dout_bytes);
        ws->deltas_kept = 1;
    }
}

static double dense_step_flops(const struct bl_model *model, int n)
{
    const struct dense *m = D(model);
    /* forward 2 n in out per layer; backward 2 n in out for dW and, above the
     * first layer, 2 n in out for the delta passed down */
    double flops = 0;
    for (int l = 0; l < m->n_layers; l++) {
        double mac = (double)n * m->dims[l] * m->dims[l + 1];
        flops += 2 * mac + 2 * mac + (l > 0 ? 2 * mac : 0);
    }
    return flops;
}

/* sum_k a_k w_k for a two-layer net (a = W2 (1, width)), w itself for a
 * linear model: the direction the SVM comparisons measure */
static void dense_linear_predictor(const struct bl_model *model, const double *theta, double *w)
{
    const struct dense *m = D(model);
    int rows = m->dims[1], cols = m->dims[0];
    const double *w1 = theta + m->weight_offset[0]; /* (rows, cols) */
    if (m->n_layers == 1) {
        memcpy(w, w1, sizeof(double) * cols);
        return;
    }
    const double *a = theta + m->weight_offset[1]; /* (1, rows) */
    cblas_dgemv(CblasRowMajor, CblasTrans, rows, cols, 1.0, w1, cols, a, 1, 0.0, w, 1);
}

static const double *dense_feature_layer(const struct bl_model *model, const double *theta,
                                         int *rows)
{
    const struct dense *m = D(model);
    *rows = m->dims[1];
    return theta + m->weight_offset[0];
}

/* The margin references (SCIENCE.md 1-2): a linear model, or a two-layer
 * net with one output, whose slope s is 0 (relu), 1 (identity) or the leaky
 * slope; the exact planar optimum needs it bias-free, unnormalized and with
 * both layers trained. */
static enum bl_margin_kind dense_margin_reference(const struct bl_model *model, double *slope)
{
    const struct dense *m = D(model);
    if (m->dims[m->n_layers] != 1 || m->n_layers > 2)
        return BL_MARGIN_NONE;
    if (m->n_layers == 1) {
        *slope = 1.0;
        return BL_MARGIN_LINEAR;
    }
    *slope = m->activation == BL_ACT_RELU       ? 0.0
             : m->activation == BL_ACT_IDENTITY ? 1.0
                                                : m->leaky_slope;
    int exact = !m->bias && !m->normalize && model->frozen_hi == model->frozen_lo;
    return exact ? BL_MARGIN_TWO_LAYER_PLANAR : BL_MARGIN_TWO_LAYER;
}

const struct bl_model_ops bl_model_dense = {
    .name = "dense",
    .build = dense_build,
    .free = dense_free,
    .init = dense_init,
    .workspace_doubles = dense_workspace_doubles,
    .workspace_bind = dense_workspace_bind,
    .forward = dense_forward,
    .backward = dense_backward,
    .rforward = dense_rforward,
    .rbackward = dense_rbackward,
    .linear_predictor = dense_linear_predictor,
    .feature_layer = dense_feature_layer,
    .margin_reference = dense_margin_reference,
    .step_flops = dense_step_flops,
};
