/* Heavy-ball momentum (optim.kind = momentum, optim.momentum = mu):
 * v = mu v + eta grad L + eta lambda theta; theta -= v. State: v. */
#include "bl_optim.h"

static void momentum_step(const struct bl_optim_cfg *cfg, long n, const struct bl_step_in *in,
                          double *theta, double *const *vectors, double *scalars)
{
    double *v = vectors[0];
    const double *g = in->grad;
    double mu = cfg->momentum, a = in->step_scale, d = in->decay;
    for (long i = 0; i < n; i++) {
        v[i] = mu * v[i] + a * g[i] + d * theta[i];
        theta[i] -= v[i];
    }
}

const struct bl_optimizer bl_optim_momentum = {
    .name = "momentum",
    .n_vectors = 1,
    .vector_names = {"velocity"},
    .step = momentum_step,
};
