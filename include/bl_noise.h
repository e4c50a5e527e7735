/* Gradient-noise statistics of a record (measure.noise; README "Gradient
 * noise", SCIENCE.md 6): the squared norm of the full-batch gradient, the
 * trace of the covariance of one mini-batch gradient G_B (batch_size
 * examples drawn as training draws them, the gradient of that batch's
 * objective), and their noise-to-signal ratio tr Sigma_B / ||E G_B||^2.
 * Exact from per-example gradients, or an unbiased estimate from fresh
 * batches of their own random stream; training never sees either. */
#ifndef BL_NOISE_H
#define BL_NOISE_H

#include "bl_task.h"

struct bl_noise {
    int exact;            /* 1: per-example gradients; 0: estimated from batches */
    int batches;          /* K: batches drawn per record (estimate) */
    int batch_size;       /* B: examples per mini-batch (n for full-batch gd) */
    int with_replacement; /* i.i.d. batches, else a random B-subset */
    int *pool;            /* (n) estimate without replacement: a partial shuffle */
    int *batch;           /* (B) estimate: the batch being drawn */
    double *full;         /* (P) the full-batch scaled gradient, kept while batches run */
};

/* Buffers for task t; exact when measure.noise = exact, or auto with
 * n_train <= noise_batches x batch size (then no dearer than the estimate). */
void bl_noise_setup(struct bl_noise *nz, const struct task *t);
void bl_noise_free(struct bl_noise *nz);

/* At record r, with train the full training pass at theta (its scaled
 * gradient in t->grad, which is left as it was): out[0] = ||grad L||^2,
 * out[1] = tr Sigma_B, out[2] = out[1] / ||E G_B||^2. */
void bl_noise_measure(struct bl_noise *nz, struct task *t, const struct pass_totals *train,
                      long r, double out[3]);

#endif
