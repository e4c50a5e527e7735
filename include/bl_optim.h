/* Optimizers behind one interface, in the style of kann's optimizer
 * functions: plain loops over flat arrays. Each optimizer declares the state
 * it keeps (vectors as long as theta, and scalars); the training loop
 * allocates that state, snapshots and restores it (the loss-based schedule's
 * undo), checkpoints and sizes it in one generic place (below) and never
 * looks inside. A new optimizer is one file in src/optim/, one line of the
 * registry in src/optim/optim.c, and its name in config.c's optim.kind. */
#ifndef BL_OPTIM_H
#define BL_OPTIM_H

#include "bl_config.h"

#define BL_OPTIM_MAX_VECTORS 4
#define BL_OPTIM_MAX_SCALARS 4

/* What one step receives. The gradient arrives scaled (src/task/task.c):
 * the gradient of the objective is grad * exp(log_scale), which keeps grad
 * O(1) when the loss is far below the smallest double. */
struct bl_step_in {
    const double *grad;  /* (n) scaled gradient of this step's batch */
    double log_scale;    /* log of the factor that unscales it */
    double lr;           /* the learning rate eta (+inf with the loss-based rate once
                          * L < 1e-308, so use log_lr or step_scale then; alpha_t for a
                          * scale_free optimizer) */
    double log_lr;       /* log eta, finite */
    double step_scale;   /* eta exp(log_scale), formed without overflow: the factor of
                          * grad in a plain gradient step */
    double weight_decay; /* lambda of the config */
    double decay;        /* eta lambda (0 when lambda = 0) */
    double log_norm;     /* the loss-based schedule's log L at the epoch start, 0 without:
                          * the objective it divides by (grad/e^log_norm is the gradient
                          * of f / L that alpha_t multiplies) */
};

struct bl_optimizer {
    const char *name;
    int n_vectors;                                   /* state vectors (n) */
    const char *vector_names[BL_OPTIM_MAX_VECTORS];
    int n_scalars;                                   /* state scalars */
    const char *scalar_names[BL_OPTIM_MAX_SCALARS];
    /* 1: the update does not scale with the gradient (Adam's m / sqrt(v)), so
     * with the loss-based schedule its rate is alpha_t, not alpha_t / L */
    int scale_free;
    /* theta (n) and the state one step on */
    void (*step)(const struct bl_optim_cfg *cfg, long n, const struct bl_step_in *in,
                 double *theta, double *const *vectors, double *scalars);
    /* optional: the loss-based schedule undid an epoch (theta and this state
     * are back at the epoch start, the rate is lower): adjust the state, e.g.
     * restart momentum (NULL: keep the restored state) */
    void (*undo)(const struct bl_optim_cfg *cfg, long n, double *const *vectors,
                 double *scalars);
};

/* SVAG's coefficients for optim.svag_l = l: c1,2 = (1 +- sqrt(2m - 1)) / 2, so
 * c1 + c2 = 1 and c1^2 + c2^2 = m, with m = l for sgd and l^2 for the Adam
 * family (SCIENCE.md 5, 6). */
void bl_svag_coefficients(const struct bl_optim_cfg *cfg, double c[2]);

/* The optimizer of optim.kind (the registry). */
const struct bl_optimizer *bl_optimizer_of(enum bl_optim_kind kind);

/* An optimizer's state for n parameters: every vector and scalar in one
 * allocation, zero at the start. */
struct bl_optim_state {
    const struct bl_optimizer *opt;
    long n;
    double *vectors[BL_OPTIM_MAX_VECTORS]; /* (n) each */
    double *scalars;                       /* (opt->n_scalars) */
    double *block;
};

void bl_optim_state_alloc(struct bl_optim_state *s, const struct bl_optimizer *opt, long n);
void bl_optim_state_free(struct bl_optim_state *s);
/* dst = src, state of the same optimizer and size (snapshot and restore) */
void bl_optim_state_copy(struct bl_optim_state *dst, const struct bl_optim_state *src);
/* Doubles of state for n parameters (memory estimates). */
double bl_optim_state_doubles(const struct bl_optimizer *opt, long n);

static inline void bl_optim_undo(const struct bl_optim_cfg *cfg, struct bl_optim_state *s)
{
    if (s->opt->undo)
        s->opt->undo(cfg, s->n, s->vectors, s->scalars);
}

static inline void bl_optim_step(const struct bl_optim_cfg *cfg, struct bl_optim_state *s,
                                 const struct bl_step_in *in, double *theta)
{
    s->opt->step(cfg, s->n, in, theta, s->vectors, s->scalars);
}

#endif
