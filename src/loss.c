/* Losses in log space. Every per-example loss l_i is produced as log l_i and
 * every gradient as d l_i / d out * exp(-log_scale), so nothing underflows
 * while the summed loss is representable as a log (down to about -1e308).
 * exp, log and log1p are bl_vmath.h's, not libm's: the same bits on every
 * CPU, called on chunks of examples (and of classes) at once. */
#include <math.h>

#include "bl_loss.h"
#include "bl_vmath.h"

/* examples (or classes) per call of the array functions: stack buffers */
#define CHUNK 64

double bl_softplus(double x)
{
    if (x > 0)
        return x + bl_log1p(bl_exp(-x));
    return bl_log1p(bl_exp(x));
}

double bl_log_add_exp(double a, double b)
{
    if (a == -INFINITY)
        return b;
    if (b == -INFINITY)
        return a;
    double hi = a > b ? a : b, lo = a > b ? b : a;
    return hi + bl_log1p(bl_exp(lo - hi));
}

/* Binary label as a sign. */
static double label_sign(int label) { return label == 1 ? 1.0 : -1.0; }

/* For one output row f (k) with true class y: sum_{j != y} e^{f_j - best}
 * for best = max_{j != y} f_j (written to *best) */
static double other_exp_sum(const double *f, int k, int y, double *best)
{
    double top = -INFINITY;
    for (int j = 0; j < k; j++)
        if (j != y && f[j] > top)
            top = f[j];
    *best = top;
    return bl_sum_exp(k, f, top, y);
}

/* ...and from it r = log sum_{j != y} e^{f_j - f_y} = best - f_y + log(sum)
 * and the margin f_y - best. */
static void other_logits(const double *f, int k, int y, double *r, double *margin)
{
    double best, sum = other_exp_sum(f, k, y, &best);
    *r = best - f[y] + bl_log(sum);
    *margin = f[y] - best;
}

/* softplus(x_j) for x (len <= CHUNK), bitwise bl_softplus: max(x, 0) + t with
 * t = log1p(e^-|x|) (0 + t is t); and e^-|x| and t when asked */
static void softplus_chunk(int len, const double *x, double *sp, double *e_out, double *t_out)
{
    double e[CHUNK], t[CHUNK];
    for (int j = 0; j < len; j++)
        e[j] = -fabs(x[j]);
    bl_vexp(len, e, e);
    bl_vlog1p(len, e, t);
    for (int j = 0; j < len; j++) {
        sp[j] = (x[j] > 0 ? x[j] : 0.0) + t[j];
        if (e_out) {
            e_out[j] = e[j];
            t_out[j] = t[j];
        }
    }
}

/* log softplus(x_j) for x (len <= CHUNK): log(bl_softplus(x)), except for x
 * < -30, where softplus(x) = e^x (1 - e^x/2 + ...) and its log is x +
 * log1p(-e^x / 2) to double precision (the direct formula would round e^x to
 * 0 below x = -745); and softplus(-x_j) when sp_neg is not NULL, bitwise
 * bl_softplus(-x) (the same e^-|x| and t serve both). Selects, not branches
 * (values of either sign mispredict). */
static void log_softplus_chunk(int len, const double *x, double *log_sp, double *sp_neg)
{
    double sp[CHUNK], e[CHUNK], t[CHUNK], small[CHUNK];
    int any_small = 0;
    softplus_chunk(len, x, sp, e, t);
    for (int j = 0; j < len; j++) {
        if (sp_neg)
            sp_neg[j] = (-x[j] > 0 ? -x[j] : 0.0) + t[j];
        small[j] = -0.5 * e[j]; /* e = e^x where x < -30 */
        any_small |= x[j] < -30;
    }
    bl_vlog(len, sp, log_sp);
    if (!any_small)
        return;
    bl_vlog1p(len, small, small);
    for (int j = 0; j < len; j++)
        if (x[j] < -30)
            log_sp[j] = x[j] + small[j];
}

/* Regression: l_i = 1/2 |f_i - t_i|^2 over the k outputs. */
static void squared_on_targets(const double *out, const struct bl_batch *b, int k,
                               double *log_loss, double *margin)
{
    for (int i = 0; i < b->n; i++) {
        double s = 0;
        for (int j = 0; j < k; j++) {
            double e = out[(long)i * k + j] - b->target[(long)i * k + j];
            s += e * e;
        }
        log_loss[i] = 0.5 * s;
        margin[i] = NAN;
    }
    bl_vlog(b->n, log_loss, log_loss);
}

/* The logistic loss on one output, examples [0, n): margin q = y f, the
 * log loss log softplus(-q), and softplus(q) (the gradient's exponent) to
 * keep when asked, CHUNK examples at a time. */
static void logistic_forward(const double *out, const int *label, int n, double *log_loss,
                             double *margin, double *keep)
{
    double minus_q[CHUNK];
    for (int i0 = 0; i0 < n; i0 += CHUNK) {
        int len = n - i0 < CHUNK ? n - i0 : CHUNK;
        for (int j = 0; j < len; j++) {
            margin[i0 + j] = label_sign(label[i0 + j]) * out[i0 + j];
            minus_q[j] = -margin[i0 + j];
        }
        log_softplus_chunk(len, minus_q, log_loss + i0, keep ? keep + i0 : NULL);
    }
}

/* dout (n) = l'(q) y exp(-log_scale) = -y exp(-softplus(q) - log_scale), with
 * softplus(q) from kept or recomputed */
static void logistic_backward(const double *out, const int *label, int n, double log_scale,
                              const double *kept, double *dout)
{
    double q[CHUNK], sp[CHUNK];
    for (int i0 = 0; i0 < n; i0 += CHUNK) {
        int len = n - i0 < CHUNK ? n - i0 : CHUNK;
        double *g = dout + i0;
        if (!kept) {
            for (int j = 0; j < len; j++)
                q[j] = label_sign(label[i0 + j]) * out[i0 + j];
            softplus_chunk(len, q, sp, NULL, NULL);
        }
        for (int j = 0; j < len; j++)
            g[j] = -(kept ? kept[i0 + j] : sp[j]) - log_scale;
        bl_vexp(len, g, g);
        for (int j = 0; j < len; j++)
            g[j] = -label_sign(label[i0 + j]) * g[j];
    }
}

/* Cross-entropy, k >= 2 classes, examples [0, n): r (kept when asked) and the
 * margin from other_logits' formulas, log loss log softplus(r)
 * (log(1 + sum_{j != y} e^{f_j - f_y})); the logs CHUNK examples at once. */
static void cross_entropy_forward(const double *out, const int *label, int n, int k,
                                  double *log_loss, double *margin, double *keep)
{
    double sum[CHUNK], best[CHUNK], r[CHUNK];
    for (int i0 = 0; i0 < n; i0 += CHUNK) {
        int len = n - i0 < CHUNK ? n - i0 : CHUNK;
        for (int j = 0; j < len; j++)
            sum[j] = other_exp_sum(out + (long)(i0 + j) * k, k, label[i0 + j], &best[j]);
        bl_vlog(len, sum, sum);
        for (int j = 0; j < len; j++) {
            double f_y = out[(long)(i0 + j) * k + label[i0 + j]];
            r[j] = best[j] - f_y + sum[j];
            margin[i0 + j] = f_y - best[j];
            if (keep)
                keep[i0 + j] = r[j];
        }
        log_softplus_chunk(len, r, log_loss + i0, NULL);
    }
}

/* dout (n, k): softmax p_j = exp(f_j - f_y - softplus(r)); dl/df_j = p_j for
 * j != y and -(1 - p_y) = -sigmoid(r) for the true class, computed from r so
 * that it does not cancel when p_y rounds to 1. Each exponent is written to
 * dout, then one array exp over the chunk's rows. */
static void cross_entropy_backward(const double *out, const int *label, int n, int k,
                                   double log_scale, const double *kept, double *dout)
{
    double r[CHUNK], sp[CHUNK], unused_margin;
    for (int i0 = 0; i0 < n; i0 += CHUNK) {
        int len = n - i0 < CHUNK ? n - i0 : CHUNK;
        for (int j = 0; j < len; j++) {
            int i = i0 + j;
            if (kept)
                r[j] = kept[i];
            else
                other_logits(out + (long)i * k, k, label[i], &r[j], &unused_margin);
        }
        softplus_chunk(len, r, sp, NULL, NULL);
        for (int j = 0; j < len; j++) {
            const double *f = out + (long)(i0 + j) * k;
            double *g = dout + (long)(i0 + j) * k;
            int y = label[i0 + j];
            for (int c = 0; c < k; c++)
                g[c] = c == y ? r[j] - sp[j] - log_scale : f[c] - f[y] - sp[j] - log_scale;
        }
        bl_vexp(len * k, dout + (long)i0 * k, dout + (long)i0 * k);
        for (int j = 0; j < len; j++)
            dout[(long)(i0 + j) * k + label[i0 + j]] *= -1;
    }
}

void bl_loss_forward(enum bl_loss_kind kind, const double *out, const struct bl_batch *b, int k,
                     double *log_loss, double *margin)
{
    bl_loss_forward_keep(kind, out, b, k, log_loss, margin, NULL);
}

void bl_loss_forward_keep(enum bl_loss_kind kind, const double *out, const struct bl_batch *b,
                          int k, double *log_loss, double *margin, double *keep)
{
    if (b->target) {
        squared_on_targets(out, b, k, log_loss, margin);
        return;
    }
    const int *label = b->label;
    if (k == 1 && kind == BL_LOSS_LOGISTIC) {
        logistic_forward(out, label, b->n, log_loss, margin, keep);
        return;
    }
    if (k >= 2 && kind != BL_LOSS_SQUARED) { /* as every k >= 2 loss but the squared */
        cross_entropy_forward(out, label, b->n, k, log_loss, margin, keep);
        return;
    }
    for (int i = 0; i < b->n; i++) {
        const double *f = out + (long)i * k;
        if (k == 1) {
            double y = label_sign(label[i]);
            double q = y * f[0];
            margin[i] = q;
            switch (kind) {
            case BL_LOSS_LOGISTIC: break; /* logistic_forward, above */
            case BL_LOSS_EXPONENTIAL: log_loss[i] = -q; break;
            case BL_LOSS_SQUARED: { /* the log below, over all examples */
                double e = f[0] - y;
                log_loss[i] = 0.5 * e * e;
                break;
            }
            case BL_LOSS_CROSS_ENTROPY: /* needs k >= 2 */
            case BL_LOSS_COUNT: log_loss[i] = NAN; break;
            }
            continue;
        }
        /* the squared loss on k >= 2 outputs (the others are above) */
        double r;
        other_logits(f, k, label[i], &r, &margin[i]);
        if (keep)
            keep[i] = r;
        double s = 0;
        for (int j = 0; j < k; j++) {
            double e = f[j] - (j == label[i] ? 1.0 : 0.0);
            s += e * e;
        }
        log_loss[i] = 0.5 * s;
    }
    if (kind == BL_LOSS_SQUARED)
        bl_vlog(b->n, log_loss, log_loss);
}

void bl_loss_backward(enum bl_loss_kind kind, const double *out, const struct bl_batch *b, int k,
                      double log_scale, double *dout)
{
    bl_loss_backward_kept(kind, out, b, k, log_scale, NULL, dout);
}

void bl_loss_backward_kept(enum bl_loss_kind kind, const double *out, const struct bl_batch *b,
                           int k, double log_scale, const double *kept, double *dout)
{
    if (!isfinite(log_scale))
        log_scale = 0;
    double scale = bl_exp(-log_scale);
    if (b->target) { /* d l / d f = f - t */
        for (long i = 0; i < (long)b->n * k; i++)
            dout[i] = (out[i] - b->target[i]) * scale;
        return;
    }
    const int *label = b->label;
    if (k == 1 && kind == BL_LOSS_LOGISTIC) {
        logistic_backward(out, label, b->n, log_scale, kept, dout);
        return;
    }
    if (k >= 2 && kind != BL_LOSS_SQUARED) {
        cross_entropy_backward(out, label, b->n, k, log_scale, kept, dout);
        return;
    }
    for (int i = 0; i < b->n; i++) {
        const double *f = out + (long)i * k;
        double *g = dout + (long)i * k;
        if (k == 1) {
            double y = label_sign(label[i]);
            double q = y * f[0];
            switch (kind) {
            /* l'(q) = -sigmoid(-q) = -exp(-softplus(q)): logistic_backward */
            case BL_LOSS_LOGISTIC: break;
            case BL_LOSS_EXPONENTIAL: g[0] = -y * bl_exp(-q - log_scale); break;
            case BL_LOSS_SQUARED: g[0] = (f[0] - y) * scale; break;
            case BL_LOSS_CROSS_ENTROPY:
            case BL_LOSS_COUNT: g[0] = NAN; break;
            }
            continue;
        }
        int y = label[i];
        if (kind == BL_LOSS_SQUARED) {
            for (int j = 0; j < k; j++)
                g[j] = (f[j] - (j == y ? 1.0 : 0.0)) * scale;
            continue;
        }
        /* cross-entropy: cross_entropy_backward, above */
    }
}

/* The binary losses' Hessian-vector product on one output, rdout (n) =
 * l''(q) u exp(-log_scale): the logistic loss's l''(q) = sigmoid(q)
 * sigmoid(-q) = exp(-softplus(q) - softplus(-q)), the exponential loss's
 * e^-q; the exponentials CHUNK examples at once */
static void binary_hessian_vec(enum bl_loss_kind kind, const double *out, const int *label, int n,
                               double log_scale, const double *rout, double *rdout)
{
    double q[CHUNK], sp[CHUNK], e[CHUNK], t[CHUNK], x[CHUNK];
    for (int i0 = 0; i0 < n; i0 += CHUNK) {
        int len = n - i0 < CHUNK ? n - i0 : CHUNK;
        for (int j = 0; j < len; j++)
            q[j] = label_sign(label[i0 + j]) * out[i0 + j];
        if (kind == BL_LOSS_LOGISTIC) {
            softplus_chunk(len, q, sp, e, t); /* softplus(-q) = max(-q, 0) + the same t */
            for (int j = 0; j < len; j++)
                x[j] = -sp[j] - ((-q[j] > 0 ? -q[j] : 0.0) + t[j]) - log_scale;
        } else {
            for (int j = 0; j < len; j++)
                x[j] = -q[j] - log_scale;
        }
        bl_vexp(len, x, x);
        for (int j = 0; j < len; j++)
            rdout[i0 + j] = x[j] * rout[i0 + j];
    }
}

/* The softmax Hessian diag(p) - p p^T times u, scaled by exp(-log_scale). It
 * annihilates constant vectors, so shift u by u_y: then only the other
 * classes' p_j (each at most the loss) enter, and with p_y ~ 1 nothing
 * cancels when the loss is tiny. r, softplus(r) and p_y = exp(-softplus(r))
 * CHUNK examples at once; per example the scaled p_j (j != y) go to rdout's
 * row first, then the unscaled ones CHUNK classes at a time. */
static void cross_entropy_hessian_vec(const double *out, const int *label, int n, int k,
                                      double log_scale, const double *rout, double *rdout)
{
    double r[CHUNK], sp[CHUNK], p_y[CHUNK], p[CHUNK], unused_margin;
    for (int i0 = 0; i0 < n; i0 += CHUNK) {
        int len = n - i0 < CHUNK ? n - i0 : CHUNK;
        for (int j = 0; j < len; j++)
            other_logits(out + (long)(i0 + j) * k, k, label[i0 + j], &r[j], &unused_margin);
        softplus_chunk(len, r, sp, NULL, NULL);
        for (int j = 0; j < len; j++)
            p_y[j] = -sp[j];
        bl_vexp(len, p_y, p_y);
        for (int j = 0; j < len; j++) {
            long i = i0 + j;
            const double *f = out + i * k, *u = rout + i * k;
            double *h = rdout + i * k;
            int y = label[i];
            for (int c = 0; c < k; c++) /* p_c exp(-log_scale); e^-inf = 0 for y */
                h[c] = c == y ? -INFINITY : f[c] - f[y] - sp[j] - log_scale;
            bl_vexp(k, h, h);
            double dot = 0; /* sum_{c != y} p_c (u_c - u_y) exp(-log_scale) */
            for (int c = 0; c < k; c++)
                if (c != y)
                    dot += h[c] * (u[c] - u[y]);
            for (int c0 = 0; c0 < k; c0 += CHUNK) {
                int width = k - c0 < CHUNK ? k - c0 : CHUNK;
                for (int c = 0; c < width; c++)
                    p[c] = f[c0 + c] - f[y] - sp[j];
                bl_vexp(width, p, p);
                for (int c = 0; c < width; c++)
                    h[c0 + c] = c0 + c == y ? -p_y[j] * dot
                                            : h[c0 + c] * (u[c0 + c] - u[y]) - p[c] * dot;
            }
        }
    }
}

void bl_loss_hessian_vec(enum bl_loss_kind kind, const double *out, const struct bl_batch *b,
                         int k, double log_scale, const double *rout, double *rdout)
{
    if (!isfinite(log_scale))
        log_scale = 0;
    double scale = bl_exp(-log_scale);
    if (b->target || kind == BL_LOSS_SQUARED) { /* the squared loss's Hessian in f is I */
        for (long i = 0; i < (long)b->n * k; i++)
            rdout[i] = scale * rout[i];
        return;
    }
    if (k >= 2) {
        cross_entropy_hessian_vec(out, b->label, b->n, k, log_scale, rout, rdout);
        return;
    }
    if (kind == BL_LOSS_LOGISTIC || kind == BL_LOSS_EXPONENTIAL) {
        binary_hessian_vec(kind, out, b->label, b->n, log_scale, rout, rdout);
        return;
    }
    for (int i = 0; i < b->n; i++) /* cross-entropy needs k >= 2 */
        rdout[i] = NAN;
}

double bl_loss_inverse(enum bl_loss_kind kind, double log_loss_sum)
{
    switch (kind) {
    case BL_LOSS_EXPONENTIAL: return -log_loss_sum;
    case BL_LOSS_LOGISTIC:
    case BL_LOSS_CROSS_ENTROPY: {
        /* -log(e^L - 1): for tiny L, -log L - log(expm1(L)/L) = -log L - L/2 + O(L^2) */
        if (log_loss_sum < -20)
            return -log_loss_sum - 0.5 * exp(log_loss_sum);
        double L = exp(log_loss_sum);
        if (L > 700)
            return -L;
        return -log(expm1(L));
    }
    case BL_LOSS_SQUARED:
    case BL_LOSS_COUNT: return NAN;
    }
    return NAN;
}
