/* The Adam family (optim.kind = rmsprop, adam, adamw), as torch's Adam that
 * the authors' code of SCIENCE.md 5 calls. At step t = 1, 2, ... with the
 * gradient g of the objective:
 *   adam, rmsprop:  g <- g + lambda theta            (coupled L2 decay)
 *   m = beta1 m + (1 - beta1) g,   v = beta2 v + (1 - beta2) g^2
 *   u = (m / c1) / (sqrt(v / c2) + eps)              (eps outside the root)
 *   adam, rmsprop:  theta -= eta u
 *   adamw:          theta -= eta (u + lambda theta)  (decoupled decay)
 * with c1 = 1 - beta1^t, c2 = 1 - beta2^t (1 and 1 without bias correction);
 * rmsprop is adam with beta1 = 0 (then c1 = 1).
 *
 * The gradient arrives scaled (struct bl_step_in): g = grad e^s. At a loss
 * of 1e-300, g^2 is below the smallest double, so m and v are kept scaled
 * too: m = m_stored e^{sm}, v = v_stored e^{sv}, with sm and sv state
 * scalars. Each step moves them to the larger of the log-weights of their
 * two terms, so both terms are at most 1 in the stored units, nothing
 * underflows, and u is formed from the stored values exactly:
 *   u = (m_stored / c1) e^{sm - sv/2} / (sqrt(v_stored / c2) + eps e^{-sv/2})
 * (with e^{-sv/2} factored so that neither term of the sum overflows).
 *
 * The loss-based schedule (train.c) divides the objective by the loss L at
 * the epoch start and gives these optimizers the rate alpha_t itself: their
 * update does not grow as the gradient shrinks, so alpha_t / L would blow
 * up. They see log_norm = log L, and eps is measured against the gradient
 * of f / L. State: m, v and (t, sm, sv), checkpointed and snapshotted by
 * the loop; an undone epoch restarts them (adam_restart below). */
#include <math.h>
#include <string.h>

#include "bl_optim.h"

/* e^{a - b} for a <= b, where a = -inf (an empty term) gives 0 */
static double weight(double a, double b)
{
    return a == -INFINITY ? 0.0 : exp(a - b);
}

static void adam_step(const struct bl_optim_cfg *cfg, long n, const struct bl_step_in *in,
                      double *theta, double *const *vectors, double *scalars)
{
    double *m = vectors[0], *v = vectors[1];
    const double *grad = in->grad;
    int decoupled = cfg->kind == BL_OPT_ADAMW;
    double b1 = cfg->kind == BL_OPT_RMSPROP ? 0.0 : cfg->beta1, b2 = cfg->beta2;
    double lambda = cfg->weight_decay;

    /* this step's gradient is G e^{sg}, G = grad e^{s - sg} + theta e^{sw - sg} */
    double s = in->log_scale - in->log_norm;
    double sw = !decoupled && lambda > 0 ? log(lambda) - in->log_norm : -INFINITY;
    double sg = fmax(s, sw);
    double fg = weight(s, sg), fw = weight(sw, sg);

    double t = scalars[0] + 1;
    /* log-weights of the old moment and of the new gradient term */
    double old_m = t > 1 ? log(b1) + scalars[1] : -INFINITY;
    double new_m = sg == -INFINITY ? -INFINITY : log1p(-b1) + sg;
    double old_v = t > 1 ? log(b2) + scalars[2] : -INFINITY;
    double new_v = sg == -INFINITY ? -INFINITY : log1p(-b2) + 2 * sg;
    double sm = fmax(old_m, new_m), sv = fmax(old_v, new_v);
    double am = weight(old_m, sm), gm = weight(new_m, sm);
    double av = weight(old_v, sv), gv = weight(new_v, sv);

    double c1 = cfg->bias_correction && b1 > 0 ? -expm1(t * log(b1)) : 1.0; /* 1 - b1^t */
    double c2 = cfg->bias_correction && b2 > 0 ? -expm1(t * log(b2)) : 1.0;
    /* u = (m/c1) e^{sm - r} / (sqrt(v/c2) e^{sv/2 - r} + eps e^{-r}): with r the larger
     * log of the denominator's two terms, both weigh at most 1 */
    double log_eps = log(cfg->eps), r = fmax(0.5 * sv, log_eps);
    double coef = weight(sm, r) / c1, wv = weight(0.5 * sv, r), we = exp(log_eps - r);
    double inv_c2 = 1.0 / c2;
    double eta = in->lr, decay = decoupled ? in->decay : 0.0;
    for (long i = 0; i < n; i++) {
        double G = fg * grad[i] + fw * theta[i];
        m[i] = am * m[i] + gm * G;
        v[i] = av * v[i] + gv * (G * G);
        double u = coef * m[i] / (wv * sqrt(v[i] * inv_c2) + we);
        theta[i] -= eta * u + decay * theta[i];
    }
    /* -inf while every gradient so far was exactly 0 (m = v = 0) */
    scalars[0] = t;
    scalars[1] = sm;
    scalars[2] = sv;
}

/* The loss-based schedule undid an epoch: start afresh (m = v = 0, t = 0) at
 * the restored epoch start, as heavy ball restarts from rest. m is momentum:
 * restored, it can point uphill, and then a lower rate does not help. On
 * tests/configs/resume.ini with adam, lr 0.002, 10000 steps, keeping the
 * restored state undid 72-99% of the epochs and alpha fell to 1e-24..1e-32
 * (final losses 1e-5..1e-100); restarting undoes 2/3 (the schedule's
 * equilibrium for loss_up = 2^(1/5), loss_down = 2^(-1/10)), alpha stays
 * near 0.002 and every loss passes 1e-308. */
static void adam_restart(const struct bl_optim_cfg *cfg, long n, double *const *vectors,
                         double *scalars)
{
    memset(vectors[0], 0, sizeof(double) * (size_t)n);
    memset(vectors[1], 0, sizeof(double) * (size_t)n);
    scalars[0] = scalars[1] = scalars[2] = 0;
}

#define ADAM_FAMILY(kind_name)                                                   \
    {                                                                            \
        .name = kind_name, .n_vectors = 2, .vector_names = {"m", "v"},           \
        .n_scalars = 3, .scalar_names = {"step", "log_scale_m", "log_scale_v"},  \
        .scale_free = 1, .step = adam_step, .undo = adam_restart,                \
    }

const struct bl_optimizer bl_optim_rmsprop = ADAM_FAMILY("rmsprop");
const struct bl_optimizer bl_optim_adam = ADAM_FAMILY("adam");
const struct bl_optimizer bl_optim_adamw = ADAM_FAMILY("adamw");
