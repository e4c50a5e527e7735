/* The task core: one task's data, model and parameters, and the passes
 * over its data that train.c (the loop) and measure.c (the records) share:
 * the objective, its scaled gradient and Hessian-vector products, sharded
 * over the ranks of a group. Knows nothing of optimizers or metrics.
 *
 * Gradients travel scaled: a pass over examples returns S = log(sum of their
 * losses) and g = grad(sum of losses) * exp(-S). That keeps g O(1) when the
 * losses are far below the smallest double, and makes the loss-based rate
 * exact: eta * grad L = alpha * grad L / L = alpha * g. */
#ifndef BL_TASK_H
#define BL_TASK_H

#include <stdint.h>

#include "bl_config.h"
#include "bl_data.h"
#include "bl_model.h"
#include "bl_par.h"

/* The totals of one pass, identical on every rank of the group. */
struct pass_totals {
    double log_loss_sum; /* log of the summed loss */
    double correct;      /* examples with a positive margin (NaN without labels) */
    double count;        /* examples */
    double q_min;        /* smallest margin (NaN without labels) */
};

struct task {
    const struct bl_config *cfg;
    uint64_t seed;
    const struct bl_group *group;
    struct bl_model model;
    struct bl_data data;
    struct bl_workspace ws;
    long n_params;
    double *theta;          /* (P) */
    double *grad;           /* (P) scaled gradient of the last pass */
    double *chunk_grad;     /* (P) one chunk's scaled gradient; HVP scratch */
    double *frozen;         /* (frozen_hi - frozen_lo) initial values of the fixed range */
    double *hvp_in;         /* (P) v with the frozen range zeroed */
    struct bl_batch_buffer batch; /* gathered mini-batches (chunk rows) */
    double *log_loss;       /* (chunk) per-example log losses */
    double *margin;         /* (chunk) per-example margins */
    double *loss_keep;      /* (chunk) what the loss's gradient reuses from its forward */
    struct bl_batcher batcher;
    struct bl_batcher svag_batcher; /* optim.svag_l > 1: the second, independent batch */
    double *svag_grad;      /* (P) SVAG: the first batch's scaled gradient, NULL without */
    double svag_c[2];       /* SVAG: c1, c2 */
    int full_batch;         /* gd: every step uses the whole training set */
    long train_lo, train_hi, test_lo, test_hi; /* this rank's shards */
    double hvp_log_scale;   /* log of the summed training loss at theta, for HVPs */
    double hvp_factor;      /* turns the scaled summed-loss HVP into the objective's */
    /* rows [lo, hi) whose forward pass and loss gradient at theta the
     * workspace still holds from the last HVP (one chunk), lo = hi = -1 for
     * none: every other use of the workspace and every prepare drop it */
    long hvp_kept_lo, hvp_kept_hi;
    const double *hvp_kept_out; /* the kept forward's outputs, inside t->ws */
};

/* Build the task for cfg and seed on group g: data, model, parameters at
 * their initialization, every buffer (with HVP buffers when hvp). Returns
 * 0, or non-zero with err set. */
int bl_task_setup(struct task *t, const struct bl_config *cfg, uint64_t seed,
                  const struct bl_group *g, int hvp, char *err, unsigned long err_len);
void bl_task_free(struct task *t);

/* Forward (and backward when want_grad) over rows [lo, hi) of set, or over
 * the rows idx[lo..hi) when idx is given; then combine over the group. With
 * want_grad, t->grad ends as grad(summed loss) * exp(-totals.log_loss_sum).
 * A data-free model (the quadratic) evaluates its objective instead. */
void bl_task_pass(struct task *t, const struct bl_dataset *set, const int *idx, long lo,
                  long hi, int want_grad, struct pass_totals *totals);

/* The scaled gradient of step's batch (the whole training set for gd). */
void bl_task_batch_gradient(struct task *t, long step, struct pass_totals *totals);

/* The scaled gradient of the training examples idx (n), split over the
 * group the way a training batch is. */
void bl_task_batch_pass(struct task *t, const int *idx, int n, struct pass_totals *totals);
/* sum_i ||grad loss_i||^2 exp(-2 S) over the training set: per-example
 * gradients, one example at a time, summed over the group. S (a log-loss
 * scale, e.g. the full pass's log_loss_sum) keeps the sum O(1) at any loss.
 * Leaves t->grad untouched. */
double bl_task_example_gradient_sq(struct task *t, double S);
/* The full training set on this rank's shard (no gradient unless asked). */
void bl_task_train_pass(struct task *t, int want_grad, struct pass_totals *totals);

/* counts[j] (n) = training examples with q_i - q_min < gaps[j], over the
 * group (measurements: no gradient, theta untouched). The difference, not
 * q_i < q_min + gap: once q_min is past 2^53 gap, q_min + gap rounds to q_min
 * and the example that attains it would not count. */
void bl_task_count_margins_within(struct task *t, double q_min, const double *gaps, int n,
                                  double *counts);

/* log of the objective: the summed loss, or its mean over count examples. */
double bl_task_objective_log(const struct task *t, double log_loss_sum, double count);

/* Factor turning the scaled gradient into the gradient of the objective. */
double bl_task_gradient_factor(const struct task *t, const struct pass_totals *p);

/* Put the frozen range back to its initial values (after a step). */
void bl_task_restore_frozen(struct task *t);

/* Hessian-vector products of the training objective at theta: prepare
 * with the full training pass at theta, then out (P) = H v over the group
 * (a bl_matvec callback; ctx is the task). Frozen parameters have zero rows
 * and columns. The products after the first reuse its forward pass when the
 * shard fits one chunk, so prepare again after theta changes or after
 * anything but bl_task_* runs the model on t->ws. */
void bl_task_hvp_prepare(struct task *t, const struct pass_totals *train);
void bl_task_hvp(void *ctx, const double *v, double *out);
/* Column j of H from the whole training set on this rank alone (ScaLAPACK
 * gives each rank its own columns): unit (P) is zero and stays zero. */
void bl_task_hessian_column(struct task *t, double *unit, long j, double *column);

#endif
