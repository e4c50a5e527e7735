/* The optimizer registry and the generic handling of optimizer state. A new
 * optimizer is one file in this folder and one line in `optimizers`. */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "bl_log.h"
#include "bl_optim.h"

extern const struct bl_optimizer bl_optim_gd, bl_optim_momentum, bl_optim_rmsprop, bl_optim_adam,
    bl_optim_adamw;

/* indexed by enum bl_optim_kind; sgd is gd on mini-batches */
static const struct bl_optimizer *const optimizers[] = {
    [BL_OPT_GD] = &bl_optim_gd,
    [BL_OPT_SGD] = &bl_optim_gd,
    [BL_OPT_MOMENTUM] = &bl_optim_momentum,
    [BL_OPT_RMSPROP] = &bl_optim_rmsprop,
    [BL_OPT_ADAM] = &bl_optim_adam,
    [BL_OPT_ADAMW] = &bl_optim_adamw,
};
static_assert(sizeof optimizers / sizeof optimizers[0] == BL_OPT_COUNT,
              "one optimizer per optim.kind");

const struct bl_optimizer *bl_optimizer_of(enum bl_optim_kind kind)
{
    return (unsigned)kind < BL_OPT_COUNT ? optimizers[kind] : NULL;
}

void bl_svag_coefficients(const struct bl_optim_cfg *cfg, double c[2])
{
    double l = cfg->svag_l, m = bl_optimizer_of(cfg->kind)->scale_free ? l * l : l;
    double r = sqrt(2 * m - 1);
    c[0] = (1 + r) / 2;
    c[1] = (1 - r) / 2;
}

double bl_optim_state_doubles(const struct bl_optimizer *opt, long n)
{
    return (double)opt->n_vectors * (double)n + opt->n_scalars;
}

void bl_optim_state_alloc(struct bl_optim_state *s, const struct bl_optimizer *opt, long n)
{
    memset(s, 0, sizeof *s);
    s->opt = opt;
    s->n = n;
    size_t total = (size_t)opt->n_vectors * (size_t)n + (size_t)opt->n_scalars;
    s->block = bl_calloc(total + 1, sizeof(double));
    for (int k = 0; k < opt->n_vectors; k++)
        s->vectors[k] = s->block + (size_t)k * (size_t)n;
    s->scalars = s->block + (size_t)opt->n_vectors * (size_t)n;
}

void bl_optim_state_free(struct bl_optim_state *s)
{
    free(s->block);
    memset(s, 0, sizeof *s);
}

void bl_optim_state_copy(struct bl_optim_state *dst, const struct bl_optim_state *src)
{
    size_t total = (size_t)src->opt->n_vectors * (size_t)src->n + (size_t)src->opt->n_scalars;
    memcpy(dst->block, src->block, sizeof(double) * total);
}
