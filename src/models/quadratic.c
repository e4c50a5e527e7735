/* The quadratic family: model.kind = quadratic. The model is its own
 * objective, L(theta) = 1/2 sum_i a_i theta_i^2 with a diagonal Hessian A
 * whose eigenvalues fall geometrically from model.eig_max to model.eig_min
 * over model.width coordinates. No data: GD on it diverges exactly when
 * lr * eig_max > 2 (SCIENCE.md 4).
 * model.kind = noisy_quadratic is the same objective whose steps see the
 * gradient A theta + (sigma / sqrt(B)) z, z ~ N(0, I) from the stream (seed,
 * step), sigma = model.noise, B = optim.batch_size: the model of SCIENCE.md
 * 5 with known stationary laws (SGD: Var theta_i = lr sigma_B^2 / (a_i (2 -
 * lr a_i))). Records and the loss-based check use the noise-free objective. */
#include <math.h>
#include <stdio.h>

#include "bl_log.h"
#include "bl_model.h"
#include "bl_rng.h"

struct quadratic {
    double init_scale;
    double *eig;     /* (P) the diagonal of A */
    double sigma_b;  /* noisy_quadratic: noise / sqrt(batch_size) */
};

static int quadratic_build(struct bl_model *m, const struct bl_model_cfg *cfg, int inputs,
                           int outputs, char *err, size_t err_len)
{
    long P = cfg->width;
    struct quadratic *q = bl_calloc(1, sizeof *q);
    m->impl = q;
    q->init_scale = cfg->init_scale;
    q->sigma_b = cfg->noise_batch > 0 ? cfg->noise / sqrt((double)cfg->noise_batch) : 0.0;
    q->eig = bl_malloc(sizeof(double) * (size_t)P);
    for (long i = 0; i < P; i++)
        q->eig[i] = P == 1 ? cfg->eig_max
                           : cfg->eig_max * pow(cfg->eig_min / cfg->eig_max,
                                                (double)i / (double)(P - 1));
    bl_model_add_block(m, "theta", 1, (int)P);
    m->inputs = 0;
    m->outputs = 1;
    m->degree = 1; /* recorded as before; no margin is defined without data */
    m->margin_degree = 1;
    return 0;
}

static void quadratic_free(struct bl_model *m)
{
    struct quadratic *q = m->impl;
    if (q)
        free(q->eig);
    free(q);
    m->impl = NULL;
}

/* theta ~ init_scale N(0, 1/P), the dense layers' rule for a (1, P) layer */
static void quadratic_init(const struct bl_model *m, uint64_t seed, double *theta)
{
    const struct quadratic *q = m->impl;
    struct bl_rng rng;
    bl_rng_init(&rng, seed, BL_STREAM_INIT, 0);
    double std = q->init_scale / sqrt((double)m->n_params);
    for (long i = 0; i < m->n_params; i++)
        theta[i] = std * bl_rng_normal(&rng);
}

static size_t quadratic_workspace_doubles(const struct bl_model *m, int max_batch, int hvp)
{
    return 0;
}

static void quadratic_workspace_bind(const struct bl_model *m, struct bl_workspace *ws,
                                     double *block, int hvp)
{
    ws->impl = NULL;
}

/* log L, -inf at the minimum and +inf past overflow; grad = A theta / L */
static double quadratic_objective(const struct bl_model *m, const double *theta, double *grad)
{
    const struct quadratic *q = m->impl;
    double L = 0;
    for (long i = 0; i < m->n_params; i++)
        L += 0.5 * q->eig[i] * theta[i] * theta[i];
    double S = log(L);
    if (grad) {
        double scale = isfinite(S) ? exp(-S) : 1.0;
        for (long i = 0; i < m->n_params; i++)
            grad[i] = q->eig[i] * theta[i] * scale;
    }
    return S;
}

/* log L and grad = (A theta + sigma_B z) / L */
static double noisy_quadratic_objective(const struct bl_model *m, const double *theta,
                                        uint64_t seed, long step, double *grad)
{
    const struct quadratic *q = m->impl;
    double S = quadratic_objective(m, theta, NULL);
    double scale = isfinite(S) ? exp(-S) : 1.0;
    struct bl_rng rng;
    bl_rng_init(&rng, seed, BL_STREAM_GRAD_NOISE, (uint32_t)step);
    rng.counter[2] |= (uint32_t)((uint64_t)step >> 32) << 8; /* steps past 2^32 */
    for (long i = 0; i < m->n_params; i++)
        grad[i] = (q->eig[i] * theta[i] + q->sigma_b * bl_rng_normal(&rng)) * scale;
    return S;
}

static void quadratic_hvp(const struct bl_model *m, const double *theta, const double *v,
                          double *hv)
{
    const struct quadratic *q = m->impl;
    for (long i = 0; i < m->n_params; i++)
        hv[i] = q->eig[i] * v[i];
}

static double quadratic_step_flops(const struct bl_model *m, int n)
{
    return 4.0 * (double)m->n_params;
}

const struct bl_model_ops bl_model_quadratic = {
    .name = "quadratic",
    .build = quadratic_build,
    .free = quadratic_free,
    .init = quadratic_init,
    .workspace_doubles = quadratic_workspace_doubles,
    .workspace_bind = quadratic_workspace_bind,
    .objective = quadratic_objective,
    .objective_hvp = quadratic_hvp,
    .step_flops = quadratic_step_flops,
};

const struct bl_model_ops bl_model_noisy_quadratic = {
    .name = "noisy_quadratic",
    .build = quadratic_build,
    .free = quadratic_free,
    .init = quadratic_init,
    .workspace_doubles = quadratic_workspace_doubles,
    .workspace_bind = quadratic_workspace_bind,
    .objective = quadratic_objective,
    .objective_hvp = quadratic_hvp,
    .objective_noisy = noisy_quadratic_objective,
    .step_flops = quadratic_step_flops,
};
