/* Heavy-ball momentum (optim.kind = momentum, optim.momentum = mu):
 * v = mu v + eta grad L + eta lambda theta; theta -= v. State: v.
 * With the loss-based rate an undone epoch restarts the momentum from rest
 * (v = 0 at the restored epoch start), the function-value restart of
 * O'Donoghue and Candes (2015): the loss rose, so the accumulated direction
 * is not to be trusted. Restoring the epoch-start velocity instead kept the
 * old rate's momentum, every later step overshot again and the schedule
 * froze (alpha fell to 1e-57 with 99% of the steps undone); scaling it with
 * the rate still let alpha collapse on some seeds. */
#include <string.h>

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

static void momentum_restart(const struct bl_optim_cfg *cfg, long n, double *const *vectors,
                             double *scalars)
{
    memset(vectors[0], 0, sizeof(double) * (size_t)n);
}

const struct bl_optimizer bl_optim_momentum = {
    .name = "momentum",
    .n_vectors = 1,
    .vector_names = {"velocity"},
    .step = momentum_step,
    .undo = momentum_restart,
};
