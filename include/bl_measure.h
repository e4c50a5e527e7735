/* Measurements of a task: the reference solutions computed once when it
 * starts (SCIENCE.md 1-2) and every metric of a record, written into the
 * task's result payload. Owns every buffer measurements need; training
 * never reads anything here, so what is measured cannot change the
 * trajectory. */
#ifndef BL_MEASURE_H
#define BL_MEASURE_H

#include "bl_noise.h"
#include "bl_result.h"
#include "bl_task.h"

/* Why a reference is missing (the reference_status field). */
enum bl_reference_status {
    BL_REF_OK = 0,            /* svm_margin and margin_best computed */
    BL_REF_NOT_SEPARABLE = 1, /* no hyperplane through the origin separates the data */
    BL_REF_NO_SVM = 2,        /* no SVM, but the planar LP gave margin_best */
    BL_REF_LP_FAILED = 3,     /* the planar LP failed: margin_best is (1+s)/4 gamma_SVM */
    BL_REF_BRACKET = 4,       /* the planar LP hit its size cap: margin_best is the lower end */
};

struct bl_measure {
    const struct bl_result_layout *layout;
    double *mu;             /* (dim) mean of y_i x_i over the training set (binary data) */
    double *w_svm;          /* (dim) unit hard-margin SVM direction, or NULL */
    double svm_margin;      /* gamma_SVM of the training set (NaN without a reference) */
    double margin_best;     /* best normalized margin (NaN without a reference) */
    enum bl_reference_status reference_status;
    double *feature_work;   /* (3 dim + rows) first-layer spectral norm and predictor */
    double *gram;           /* (g g + g), g = min(rows, dim) <= 1024: the first layer's
                             * Gram matrix and its eigenvalues, or NULL */
    double *spectrum_work;  /* Lanczos basis and scratch, when sharpness is measured */
    double *trace_work;     /* (2P) Hutchinson probes and products */
    double *density_work;   /* SLQ scratch */
    double *unit;           /* (P) zero but for one 1: picks a Hessian column */
    double *kkt_G;          /* (P, n_train) per-example margin gradients, measure.kkt */
    double *kkt_target;     /* (P) */
    double *kkt_work;       /* (n_train (n_train + 3)) NNLS normal equations, margins, lambda */
    double *theta0;         /* (P) the initialization, for init_distance */
    double *w_l2, *w_l1;    /* (dim) diag_linear's references: max-L2 / max-L1-margin
                             * classifiers, or NULL */
    double *predictor;      /* (dim) u^L - v^L at a record */
    double *matrix_work;    /* (d^2 + d) a symmetric-matrix model's W and its singular
                             * values, or NULL */
    double theta0_norm;
    int has_noise;          /* measure.noise: the gradient-noise statistics */
    struct bl_noise noise;
};

/* Whether a config's measurements need Hessian-vector products. */
int bl_measure_needs_hvp(const struct bl_measure_cfg *mc);

/* Buffers and reference solutions for task t (already set up); the
 * references go into payload's outcome fields. */
void bl_measure_setup(struct bl_measure *ms, struct task *t, const struct bl_result_layout *L,
                      double *payload);
void bl_measure_free(struct bl_measure *ms);

/* Record r at theta into payload: every metric of the layout, and the
 * spectra and densities due at this record. train holds the full training
 * pass at theta (its gradient in t->grad); lr is the next step's rate. */
void bl_measure_record(struct bl_measure *ms, struct task *t, const struct pass_totals *train,
                       double lr, long r, double *payload);

/* The step of record r of a config's schedule (bl_record_step: the loop
 * owns the schedule, and measurements do not include the loop). */
typedef long (*bl_record_step_fn)(const struct bl_optim_cfg *optim,
                                  const struct bl_measure_cfg *measure, long record);

/* The outcomes read off the finished records (memorize_step, grok_step,
 * ungrok_step), as steps of record_step's schedule, into payload. */
void bl_measure_finish(struct bl_measure *ms, struct task *t, bl_record_step_fn record_step,
                       double *payload);

#endif
