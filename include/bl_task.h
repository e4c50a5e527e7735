/* Internal to train.c and measure.c: one task's state and the passes over
 * its data. Not part of the public interface (bl_train.h is). */
#ifndef BL_TASK_H
#define BL_TASK_H

#include "bl_config.h"
#include "bl_data.h"
#include "bl_model.h"
#include "bl_par.h"
#include "bl_train.h"

/* The totals of one pass, identical on every rank of the group. */
struct pass_totals {
    double log_loss_sum; /* log of the summed loss */
    double correct;      /* examples with a positive margin */
    double count;        /* examples */
    double q_min;        /* smallest margin */
};

struct task {
    const struct bl_config *cfg;
    uint64_t seed;
    const struct bl_group *group;
    struct bl_model model;
    struct bl_data data;
    struct bl_workspace ws;
    int outputs, degree;
    long n_params;
    double *theta;          /* (P) */
    double *grad;           /* (P) scaled gradient of the last pass */
    double *chunk_grad;     /* (P) one chunk's scaled gradient */
    double *velocity;       /* (P) momentum buffer, or NULL */
    double *epoch_theta;    /* (P) loss_based: state at the epoch start */
    double *epoch_velocity; /* (P) or NULL */
    double *epoch_grad;     /* (P) gd + loss_based: gradient at the epoch start */
    double *block;          /* the one allocation behind the (P) arrays */
    double *batch_x;        /* (shard batch, dim) gathered mini-batch */
    int *batch_label;       /* (shard batch) */
    double *log_loss;       /* (chunk) per-example log losses */
    double *margin;         /* (chunk) per-example margins */
    struct bl_batcher batcher;
    double *spectrum_work;  /* Lanczos basis and scratch, when sharpness is measured */
    double *mu;             /* (dim) mean of y_i x_i over the training set (binary data) */
    double *w_svm;          /* (dim) unit hard-margin SVM direction, or NULL */
    double *layer_work;     /* (3 dim + width) first-layer spectral norm and predictor */
    double *eig;            /* quadratic: (P) the diagonal Hessian A, else NULL */
    double *unit;           /* (P) zero but for one 1: picks a Hessian column */
    long frozen_lo, frozen_hi; /* [lo, hi) of theta kept fixed (train_last = false) */
    double *frozen;         /* (frozen_hi - frozen_lo) their initial values */
    double *hvp_in;         /* (P) v with the frozen part zeroed */
    double *trace_work;     /* (2P) Hutchinson probes and products */
    double *kkt_G;          /* (P, n_train) per-example margin gradients, measure.kkt */
    double *kkt_target;     /* (P) */
    double *kkt_work;       /* (n_train (n_train + 3)) NNLS normal equations, margins, lambda */
    double *density_work;   /* SLQ scratch */
    double svm_margin;      /* gamma_SVM of the training set (NaN without a reference) */
    double margin_best;     /* best normalized margin, exact on planar data (NaN without a reference) */
    double hvp_log_scale;   /* log of the summed training loss at theta, for HVPs */
    double hvp_factor;      /* turns the scaled summed-loss HVP into the objective's */
    int full_batch;         /* gd: every step uses the whole training set */
    long train_lo, train_hi, test_lo, test_hi; /* this rank's shards */
};

/* Build the task for cfg and seed on group g: data, model, every buffer.
 * Returns 0, or non-zero with err set. */
int bl_task_setup(struct task *t, const struct bl_config *cfg, uint64_t seed,
                  const struct bl_group *g, char *err, unsigned long err_len);
void bl_task_free(struct task *t);

/* Forward (and backward when want_grad) over rows [lo, hi) of set, or over
 * the rows idx[lo..hi) when idx is given; then combine over the group. With
 * want_grad, t->grad ends as grad(summed loss) * exp(-totals.log_loss_sum). */
void bl_task_pass(struct task *t, const struct bl_dataset *set, const int *idx, long lo,
                  long hi, int want_grad, struct pass_totals *totals);

/* log of the objective: the summed loss, or its mean over count examples. */
double bl_task_objective_log(const struct task *t, double log_loss_sum, double count);

/* Factor turning the scaled gradient into the gradient of the objective. */
double bl_task_gradient_factor(const struct task *t, const struct pass_totals *p);

/* Hessian-vector products of the training objective at theta: prepare
 * with the full training pass at theta, then out (P) = H v over the group
 * (a bl_matvec callback; ctx is the task). Frozen parameters have zero rows
 * and columns. */
void bl_task_hvp_prepare(struct task *t, const struct pass_totals *train);
void bl_task_hvp(void *ctx, const double *v, double *out);

/* Every metric of record r (measure.c) into records (BL_METRIC_COUNT,
 * n_records); spectra and densities at the records the config names. train
 * holds the full training pass at theta (with its gradient in t->grad). */
void bl_task_record_metrics(struct task *t, const struct pass_totals *train, double lr,
                            double *records, long n_records, long r, double *spectra,
                            double *densities);

#endif
