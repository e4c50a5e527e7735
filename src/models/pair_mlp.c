/* The two-layer net on a pair of tokens: model.kind = pair_mlp (SCIENCE.md
 * 3, modular addition). An example is a pair (a, b) of tokens in [0, p),
 * p = the number of outputs (the classes of modular_add):
 *   h = phi(E_a + F_b + b1)      (width)      first layer: an embedding lookup
 *   f = W2 h + b2                (p)          second layer: one GEMM per batch
 * This is exactly a dense two-layer net on the concatenated one-hots
 * [e_a, e_b] (W1 = [E^T F^T], (width, 2p)) without the one-hot GEMM; the
 * unit tests check it against the mlp to 1e-12. Parameters: E (p, width),
 * F (p, width), W2 (p, width), then with model.bias b1 (width) and b2 (p).
 * Rows of E and F are the embeddings, so a lookup reads contiguous memory.
 * Init: He normal (the authors' torch init: std sqrt(2 / fan_in), fan_in 2p
 * for the first layer, width for the second) times model.init_scale, biases
 * 0; model.last_zero starts W2 at 0. Bias-free it is 2-homogeneous. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bl_log.h"
#include "bl_model.h"
#include "bl_rng.h"

struct pair_mlp {
    int p, width;              /* tokens = outputs, hidden units */
    double slope;              /* phi(z) = max(z, slope z): 0 relu, 1 identity */
    int bias, last_zero;
    double init_scale;
    long e, f, w2, b1, b2;     /* block offsets in theta; b1, b2 are -1 without bias */
};

/* Buffers of one batch. */
struct pair_ws {
    double *h;      /* (max_batch, width) phi(z); phi'(z) is read off it (slope >= 0) */
    double *out;    /* (max_batch, p) */
    double *delta;  /* (max_batch, width) d loss / d z */
    double *rh;     /* (max_batch, width) R{h} (HVPs) */
    double *rout;   /* (max_batch, p) R{out} (HVPs) */
    double *rdelta; /* (max_batch, width) R{delta} (HVPs) */
};

static const struct pair_mlp *PM(const struct bl_model *m) { return m->impl; }
static struct pair_ws *PW(struct bl_workspace *ws) { return ws->impl; }

static int pair_build(struct bl_model *m, const struct bl_model_cfg *cfg, int inputs, int outputs,
                      char *err, size_t err_len)
{
    if (inputs != 2 || outputs < 2) {
        snprintf(err, err_len,
                 "model.kind = pair_mlp reads a token pair (a, b) and has one output per token "
                 "(got %d inputs, %d outputs): use data.kind = modular_add",
                 inputs, outputs);
        return 1;
    }
    struct pair_mlp *d = bl_calloc(1, sizeof *d);
    m->impl = d;
    d->p = outputs;
    d->width = cfg->width;
    d->slope = cfg->activation == BL_ACT_RELU         ? 0.0
               : cfg->activation == BL_ACT_IDENTITY   ? 1.0
                                                      : cfg->leaky_slope;
    d->bias = cfg->bias;
    d->last_zero = cfg->last_zero;
    d->init_scale = cfg->init_scale;
    d->e = m->n_params;
    bl_model_add_block(m, "E", d->p, d->width);
    d->f = m->n_params;
    bl_model_add_block(m, "F", d->p, d->width);
    d->w2 = m->n_params;
    bl_model_add_block(m, "W2", d->p, d->width);
    d->b1 = d->b2 = -1;
    if (d->bias) {
        d->b1 = m->n_params;
        bl_model_add_block(m, "b1", d->width, 1);
        d->b2 = m->n_params;
        bl_model_add_block(m, "b2", d->p, 1);
    }
    m->degree = d->bias ? 0 : 2;
    m->margin_degree = 2;
    return 0;
}

static void pair_free(struct bl_model *m)
{
    free(m->impl);
    m->impl = NULL;
}

static void pair_init(const struct bl_model *m, uint64_t seed, double *theta)
{
    const struct pair_mlp *d = PM(m);
    struct bl_rng rng;
    bl_rng_init(&rng, seed, BL_STREAM_INIT, 0);
    long block = (long)d->p * d->width;
    double first = d->init_scale * sqrt(2.0 / (2.0 * d->p));
    double second = d->last_zero ? 0.0 : d->init_scale * sqrt(2.0 / d->width);
    for (long i = 0; i < 2 * block; i++) /* E then F */
        theta[d->e + i] = first * bl_rng_normal(&rng);
    for (long i = 0; i < block; i++)
        theta[d->w2 + i] = d->last_zero ? 0.0 : second * bl_rng_normal(&rng);
    if (d->bias) {
        memset(theta + d->b1, 0, sizeof(double) * (size_t)d->width);
        memset(theta + d->b2, 0, sizeof(double) * (size_t)d->p);
    }
}

static size_t pair_workspace_doubles(const struct bl_model *m, int max_batch, int hvp)
{
    const struct pair_mlp *d = PM(m);
    size_t n = (size_t)max_batch, w = (size_t)d->width, p = (size_t)d->p;
    return (2 * n * w + n * p) * (hvp ? 2 : 1);
}

static void pair_workspace_bind(const struct bl_model *m, struct bl_workspace *ws, double *block,
                                int hvp)
{
    const struct pair_mlp *d = PM(m);
    long n = ws->max_batch;
    struct pair_ws *w = bl_calloc(1, sizeof *w); /* pointers into block; freed with ws */
    ws->impl = w;
    double *q = block;
    w->h = q, q += n * d->width;
    w->delta = q, q += n * d->width;
    w->out = q, q += n * d->p;
    if (hvp) {
        w->rh = q, q += n * d->width;
        w->rdelta = q, q += n * d->width;
        w->rout = q, q += n * d->p;
    }
}

/* phi'(z) from a = phi(z): 1 where a > 0, else the slope (the left
 * derivative at 0, as the dense family) */
static inline double slope_at(double a, double slope) { return a > 0 ? 1.0 : slope; }

/* z (n, width) = E_a + F_b (+ b1) for each pair of index (n, 2); src points
 * at E, F (and b1) of theta or of a direction v, so the same lookup gives
 * R{z} = V_E[a] + V_F[b] + V_b1. */
static void lookup(const struct pair_mlp *d, const double *src, const int *index, int n,
                   double *z)
{
    int w = d->width;
    const double *E = src + d->e, *F = src + d->f, *b1 = d->bias ? src + d->b1 : NULL;
    for (int i = 0; i < n; i++) {
        const double *ea = E + (long)index[2 * i] * w, *fb = F + (long)index[2 * i + 1] * w;
        double *zi = z + (long)i * w;
        for (int j = 0; j < w; j++)
            zi[j] = ea[j] + fb[j];
        if (b1)
            for (int j = 0; j < w; j++)
                zi[j] += b1[j];
    }
}

/* out (n, p) = h (n, width) W^T + (b): W (p, width) of theta or v */
static void second_layer(const struct pair_mlp *d, const double *h, int n, const double *W,
                         const double *b, double beta, double *out)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, d->p, d->width, 1.0, h, d->width, W,
                d->width, beta, out, d->p);
    if (b)
        for (int i = 0; i < n; i++)
            for (int c = 0; c < d->p; c++)
                out[(long)i * d->p + c] += b[c];
}

static const double *pair_forward(const struct bl_model *m, const double *theta,
                                  const struct bl_batch *b, struct bl_workspace *wsp)
{
    const struct pair_mlp *d = PM(m);
    struct pair_ws *ws = PW(wsp);
    int n = b->n;
    lookup(d, theta, b->index, n, ws->h);
    for (long i = 0; i < (long)n * d->width; i++)
        ws->h[i] *= slope_at(ws->h[i], d->slope);
    second_layer(d, ws->h, n, theta + d->w2, d->bias ? theta + d->b2 : NULL, 0.0, ws->out);
    return ws->out;
}

/* grad[E_a] += g_i, grad[F_b] += g_i (and b1 += g_i) for the rows g (n,
 * width) of a gradient with respect to z; the E, F (and b1) blocks of grad
 * are zeroed first. Rows are added in example order: deterministic. */
static void scatter_first_layer(const struct pair_mlp *d, const int *index, int n,
                                const double *g, double *grad)
{
    int w = d->width;
    double *E = grad + d->e, *F = grad + d->f;
    memset(E, 0, sizeof(double) * 2 * (size_t)d->p * w); /* E and F are adjacent */
    double *b1 = d->bias ? grad + d->b1 : NULL;
    if (b1)
        memset(b1, 0, sizeof(double) * (size_t)w);
    for (int i = 0; i < n; i++) {
        const double *gi = g + (long)i * w;
        double *ea = E + (long)index[2 * i] * w, *fb = F + (long)index[2 * i + 1] * w;
        for (int j = 0; j < w; j++) {
            ea[j] += gi[j];
            fb[j] += gi[j];
        }
        if (b1)
            for (int j = 0; j < w; j++)
                b1[j] += gi[j];
    }
}

/* sum over the examples of dout (n, p) into b2's slot (p) */
static void column_sums(const double *x, int n, int k, double *sum)
{
    for (int c = 0; c < k; c++)
        sum[c] = 0;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < k; c++)
            sum[c] += x[(long)i * k + c];
}

static void pair_backward(const struct bl_model *m, const double *theta, const struct bl_batch *b,
                          const double *dout, struct bl_workspace *wsp, double *grad)
{
    const struct pair_mlp *d = PM(m);
    struct pair_ws *ws = PW(wsp);
    int n = b->n, w = d->width, p = d->p;
    /* dW2 (p, width) = dout^T (p, n) h (n, width) */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, p, w, n, 1.0, dout, p, ws->h, w, 0.0,
                grad + d->w2, w);
    if (d->bias)
        column_sums(dout, n, p, grad + d->b2);
    /* delta (n, width) = dout (n, p) W2 (p, width), times phi'(z) */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, w, p, 1.0, dout, p, theta + d->w2, w,
                0.0, ws->delta, w);
    for (long i = 0; i < (long)n * w; i++)
        ws->delta[i] *= slope_at(ws->h[i], d->slope);
    scatter_first_layer(d, b->index, n, ws->delta, grad);
}

/* R{z} = V_E[a] + V_F[b] + V_b1, R{h} = phi'(z) R{z},
 * R{out} = R{h} W2^T + h V_W2^T + V_b2 */
static const double *pair_rforward(const struct bl_model *m, const double *theta, const double *v,
                                   const struct bl_batch *b, struct bl_workspace *wsp)
{
    const struct pair_mlp *d = PM(m);
    struct pair_ws *ws = PW(wsp);
    int n = b->n;
    lookup(d, v, b->index, n, ws->rh);
    for (long i = 0; i < (long)n * d->width; i++)
        ws->rh[i] *= slope_at(ws->h[i], d->slope);
    second_layer(d, ws->h, n, v + d->w2, d->bias ? v + d->b2 : NULL, 0.0, ws->rout);
    second_layer(d, ws->rh, n, theta + d->w2, NULL, 1.0, ws->rout);
    return ws->rout;
}

/* The R-operator of backward (phi'' = 0, so phi' does not move):
 * R{dW2} = R{dout}^T h + dout^T R{h}, R{db2} = sum R{dout},
 * R{delta} = phi' (R{dout} W2 + dout V_W2), scattered like delta. */
static void pair_rbackward(const struct bl_model *m, const double *theta, const double *v,
                           const struct bl_batch *b, const double *dout, const double *rdout,
                           struct bl_workspace *wsp, double *hv)
{
    const struct pair_mlp *d = PM(m);
    struct pair_ws *ws = PW(wsp);
    int n = b->n, w = d->width, p = d->p;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, p, w, n, 1.0, rdout, p, ws->h, w, 0.0,
                hv + d->w2, w);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, p, w, n, 1.0, dout, p, ws->rh, w, 1.0,
                hv + d->w2, w);
    if (d->bias)
        column_sums(rdout, n, p, hv + d->b2);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, w, p, 1.0, rdout, p, theta + d->w2,
                w, 0.0, ws->rdelta, w);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, w, p, 1.0, dout, p, v + d->w2, w,
                1.0, ws->rdelta, w);
    for (long i = 0; i < (long)n * w; i++)
        ws->rdelta[i] *= slope_at(ws->h[i], d->slope);
    scatter_first_layer(d, b->index, n, ws->rdelta, hv);
}

/* h (n, width) and s-weighted phi'(z) (n, width) of a batch, for the kernel */
static void kernel_features(const struct pair_mlp *d, const double *theta, const struct bl_batch *b,
                            const double *s, double *h, double *ds)
{
    lookup(d, theta, b->index, b->n, h);
    for (long i = 0; i < (long)b->n * d->width; i++) {
        double slope = slope_at(h[i], d->slope);
        h[i] *= slope;
        ds[i] = slope * s[i % d->width];
    }
}

/* The output-averaged NTK in closed form. With m = phi'(z):
 * d f_c / d W2[c, j] = h_j, d f_c / d b2[c] = 1, and d f_c / d E[a, j] =
 * d f_c / d F[b, j] = d f_c / d b1[j] = W2[c, j] m_j, so
 *   K(x, x') = <h, h'> + [bias] + (d_aa' + d_bb' + [bias]) sum_j s_j m_j m'_j
 * with s_j = (1/p) sum_c W2[c, j]^2. At infinite width the NTK is this K
 * times the identity over the outputs; with last_zero (s = 0) it is exactly
 * that at any width. Allocates: called once per task. */
static void pair_ntk_gram(const struct bl_model *m, const double *theta,
                          const struct bl_batch *rows, const struct bl_batch *cols, double *K)
{
    const struct pair_mlp *d = PM(m);
    int w = d->width, n1 = rows->n, n2 = cols->n;
    double *s = bl_calloc((size_t)w, sizeof(double)); /* (width) */
    for (int c = 0; c < d->p; c++)
        for (int j = 0; j < w; j++)
            s[j] += theta[d->w2 + (long)c * w + j] * theta[d->w2 + (long)c * w + j] / d->p;
    double *h1 = bl_malloc(sizeof(double) * (size_t)n1 * w), *m1 = bl_malloc(sizeof(double) * (size_t)n1 * w);
    double *h2 = bl_malloc(sizeof(double) * (size_t)n2 * w), *m2 = bl_malloc(sizeof(double) * (size_t)n2 * w);
    double *ones = bl_malloc(sizeof(double) * (size_t)w);
    for (int j = 0; j < w; j++)
        ones[j] = 1.0;
    kernel_features(d, theta, rows, s, h1, m1);
    kernel_features(d, theta, cols, ones, h2, m2); /* s enters once */
    double *G = bl_malloc(sizeof(double) * (size_t)n1 * n2); /* (n1, n2) sum_j s_j m_j m'_j */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n1, n2, w, 1.0, h1, w, h2, w, 0.0, K,
                n2);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n1, n2, w, 1.0, m1, w, m2, w, 0.0, G,
                n2);
    for (int i = 0; i < n1; i++)
        for (int k = 0; k < n2; k++) {
            const int *x = rows->index + 2 * i, *y = cols->index + 2 * k;
            double shared = (x[0] == y[0]) + (x[1] == y[1]) + d->bias;
            K[(long)i * n2 + k] += shared * G[(long)i * n2 + k] + d->bias;
        }
    free(s);
    free(h1);
    free(m1);
    free(h2);
    free(m2);
    free(ones);
    free(G);
}

/* Arithmetic of forward + backward: the three (n, width, p) GEMMs (the
 * output, dW2, delta); the lookups and scatters are O(n width) loads */
static double pair_step_flops(const struct bl_model *m, int n)
{
    const struct pair_mlp *d = PM(m);
    return 6.0 * n * d->width * d->p;
}

const struct bl_model_ops bl_model_pair_mlp = {
    .name = "pair_mlp",
    .build = pair_build,
    .free = pair_free,
    .init = pair_init,
    .workspace_doubles = pair_workspace_doubles,
    .workspace_bind = pair_workspace_bind,
    .forward = pair_forward,
    .backward = pair_backward,
    .rforward = pair_rforward,
    .rbackward = pair_rbackward,
    .ntk_gram = pair_ntk_gram,
    .step_flops = pair_step_flops,
};
