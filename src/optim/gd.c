/* Gradient descent (optim.kind = gd, full batch; sgd, mini-batches): no
 * state. theta -= eta grad L + eta lambda theta. */
#include "bl_optim.h"

static void gd_step(const struct bl_optim_cfg *cfg, long n, const struct bl_step_in *in,
                    double *theta, double *const *vectors, double *scalars)
{
    const double *g = in->grad;
    double a = in->step_scale, d = in->decay;
    for (long i = 0; i < n; i++)
        theta[i] -= a * g[i] + d * theta[i];
}

const struct bl_optimizer bl_optim_gd = {
    .name = "gd",
    .step = gd_step,
};
