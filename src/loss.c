/* Losses in log space. Every per-example loss l_i is produced as log l_i and
 * every gradient as d l_i / d out * exp(-log_scale), so nothing underflows
 * while the summed loss is representable as a log (down to about -1e308). */
#include <math.h>

#include "bl_loss.h"

double bl_softplus(double x)
{
    if (x > 0)
        return x + log1p(exp(-x));
    return log1p(exp(x));
}

/* log(softplus(x)): for x << 0, softplus(x) = e^x (1 - e^x/2 + ...), whose log
 * is x + log1p(-e^x/2) to double precision; the direct formula would round
 * exp(x) to 0 below x = -745. */
static double log_softplus(double x)
{
    if (x < -30)
        return x + log1p(-0.5 * exp(x));
    return log(bl_softplus(x));
}

double bl_log_add_exp(double a, double b)
{
    if (a == -INFINITY)
        return b;
    if (b == -INFINITY)
        return a;
    double hi = a > b ? a : b, lo = a > b ? b : a;
    return hi + log1p(exp(lo - hi));
}

/* Binary label as a sign. */
static double label_sign(int label) { return label == 1 ? 1.0 : -1.0; }

/* For one output row f (k) with true class y: r = log sum_{j != y} e^{f_j - f_y}
 * and the margin f_y - max_{j != y} f_j. */
static void other_logits(const double *f, int k, int y, double *r, double *margin)
{
    double best = -INFINITY;
    for (int j = 0; j < k; j++)
        if (j != y && f[j] > best)
            best = f[j];
    double sum = 0;
    for (int j = 0; j < k; j++)
        if (j != y)
            sum += exp(f[j] - best);
    *r = best - f[y] + log(sum);
    *margin = f[y] - best;
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
        log_loss[i] = log(0.5 * s);
        margin[i] = NAN;
    }
}

/* The logistic loss's three values at one margin q from one exp and (for q
 * <= 30) one log1p, t = log1p(e^-|q|): softplus(q) is q + t for q > 0 and t
 * otherwise, softplus(-q) likewise with -q, bitwise what bl_softplus
 * computes for either; and log softplus(-q) as log_softplus does. Writes
 * softplus(q) (the gradient's exponent) to *sp_q, returns log softplus(-q). */
static double logistic_values(double q, double *sp_q)
{
    double e = exp(-fabs(q)), t = log1p(e);
    /* selects, not branches (margins of either sign mispredict): 0 + t is
     * exactly t, so these are q + t or t */
    *sp_q = (q > 0 ? q : 0.0) + t;
    if (-q < -30) /* log_softplus's small-loss branch: e = exp(-q) here */
        return -q + log1p(-0.5 * e);
    return log((-q > 0 ? -q : 0.0) + t);
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
    for (int i = 0; i < b->n; i++) {
        const double *f = out + (long)i * k;
        if (k == 1) {
            double y = label_sign(label[i]);
            double q = y * f[0];
            margin[i] = q;
            switch (kind) {
            case BL_LOSS_LOGISTIC: {
                double sp_q;
                log_loss[i] = logistic_values(q, &sp_q);
                if (keep)
                    keep[i] = sp_q;
                break;
            }
            case BL_LOSS_EXPONENTIAL: log_loss[i] = -q; break;
            case BL_LOSS_SQUARED: {
                double e = f[0] - y;
                log_loss[i] = log(0.5 * e * e);
                break;
            }
            case BL_LOSS_CROSS_ENTROPY: /* needs k >= 2 */
            case BL_LOSS_COUNT: log_loss[i] = NAN; break;
            }
            continue;
        }
        double r;
        other_logits(f, k, label[i], &r, &margin[i]);
        if (keep)
            keep[i] = r;
        if (kind == BL_LOSS_SQUARED) {
            double s = 0;
            for (int j = 0; j < k; j++) {
                double e = f[j] - (j == label[i] ? 1.0 : 0.0);
                s += e * e;
            }
            log_loss[i] = log(0.5 * s);
        } else {
            /* cross-entropy: log(1 + sum_{j != y} e^{f_j - f_y}) = softplus(r) */
            log_loss[i] = log_softplus(r);
        }
    }
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
    double scale = exp(-log_scale);
    if (b->target) { /* d l / d f = f - t */
        for (long i = 0; i < (long)b->n * k; i++)
            dout[i] = (out[i] - b->target[i]) * scale;
        return;
    }
    const int *label = b->label;
    for (int i = 0; i < b->n; i++) {
        const double *f = out + (long)i * k;
        double *g = dout + (long)i * k;
        if (k == 1) {
            double y = label_sign(label[i]);
            double q = y * f[0];
            switch (kind) {
            /* l'(q) = -sigmoid(-q) = -exp(-softplus(q)) */
            case BL_LOSS_LOGISTIC:
                g[0] = -y * exp(-(kept ? kept[i] : bl_softplus(q)) - log_scale);
                break;
            case BL_LOSS_EXPONENTIAL: g[0] = -y * exp(-q - log_scale); break;
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
        /* softmax p_j = exp(f_j - f_y - softplus(r)); dl/df_j = p_j for j != y and
         * -(1 - p_y) = -sigmoid(r) for the true class, computed from r so that it
         * does not cancel when p_y rounds to 1. */
        double r, unused_margin;
        if (kept)
            r = kept[i];
        else
            other_logits(f, k, y, &r, &unused_margin);
        double sp = bl_softplus(r);
        for (int j = 0; j < k; j++)
            g[j] = j == y ? -exp(r - sp - log_scale) : exp(f[j] - f[y] - sp - log_scale);
    }
}

void bl_loss_hessian_vec(enum bl_loss_kind kind, const double *out, const struct bl_batch *b,
                         int k, double log_scale, const double *rout, double *rdout)
{
    if (!isfinite(log_scale))
        log_scale = 0;
    double scale = exp(-log_scale);
    if (b->target) { /* the squared loss's Hessian in the outputs is I */
        for (long i = 0; i < (long)b->n * k; i++)
            rdout[i] = scale * rout[i];
        return;
    }
    const int *label = b->label;
    for (int i = 0; i < b->n; i++) {
        const double *f = out + (long)i * k, *u = rout + (long)i * k;
        double *h = rdout + (long)i * k;
        if (k == 1) {
            double q = label_sign(label[i]) * f[0];
            switch (kind) {
            /* l''(q) = sigmoid(q) sigmoid(-q) = exp(-softplus(q) - softplus(-q)) */
            case BL_LOSS_LOGISTIC:
                h[0] = exp(-bl_softplus(q) - bl_softplus(-q) - log_scale) * u[0];
                break;
            case BL_LOSS_EXPONENTIAL: h[0] = exp(-q - log_scale) * u[0]; break;
            case BL_LOSS_SQUARED: h[0] = scale * u[0]; break;
            case BL_LOSS_CROSS_ENTROPY:
            case BL_LOSS_COUNT: h[0] = NAN; break;
            }
            continue;
        }
        if (kind == BL_LOSS_SQUARED) {
            for (int j = 0; j < k; j++)
                h[j] = scale * u[j];
            continue;
        }
        /* softmax Hessian diag(p) - p p^T. It annihilates constant vectors, so
         * shift u by u_y: then only the other classes' p_j (each at most the
         * loss) enter, and with p_y ~ 1 nothing cancels when the loss is tiny. */
        int y = label[i];
        double r, unused_margin;
        other_logits(f, k, y, &r, &unused_margin);
        double sp = bl_softplus(r), p_y = exp(-sp);
        double dot = 0; /* sum_{j != y} p_j (u_j - u_y) exp(-log_scale) */
        for (int j = 0; j < k; j++)
            if (j != y)
                dot += exp(f[j] - f[y] - sp - log_scale) * (u[j] - u[y]);
        for (int j = 0; j < k; j++) {
            if (j == y) {
                h[j] = -p_y * dot;
                continue;
            }
            double log_p = f[j] - f[y] - sp;
            h[j] = exp(log_p - log_scale) * (u[j] - u[y]) - exp(log_p) * dot;
        }
    }
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
