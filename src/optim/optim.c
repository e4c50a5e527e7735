/* Optimizer steps: plain loops over the flat parameter array. */
#include "bl_optim.h"

void bl_optim_step(const struct bl_optim_cfg *cfg, long n, double step_scale,
                   const double *grad, double decay, double *theta, double *velocity)
{
    if (cfg->kind == BL_OPT_MOMENTUM) {
        double mu = cfg->momentum;
        for (long i = 0; i < n; i++) {
            velocity[i] = mu * velocity[i] + step_scale * grad[i] + decay * theta[i];
            theta[i] -= velocity[i];
        }
        return;
    }
    for (long i = 0; i < n; i++)
        theta[i] -= step_scale * grad[i] + decay * theta[i];
}
