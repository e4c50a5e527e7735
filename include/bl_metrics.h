/* The metrics a record can hold: their names and units in the output, when
 * each applies (a run's output holds only the metrics that apply to one of
 * its points), and the margin formulas of SCIENCE.md section 1. A new metric
 * is an entry of enum bl_metric, a line of the table in
 * src/metrics/metrics.c, and its computation in src/task/measure.c. */
#ifndef BL_METRICS_H
#define BL_METRICS_H

#include <stddef.h>

#include "bl_config.h"

struct bl_model;

enum bl_metric {
    BL_M_TRAIN_LOSS, BL_M_TRAIN_LOG_LOSS, BL_M_TRAIN_ACC, BL_M_TEST_LOSS, BL_M_TEST_LOG_LOSS,
    BL_M_TEST_ACC,
    BL_M_NORMALIZED_MARGIN, BL_M_SMOOTHED_MARGIN, BL_M_PARAM_NORM, BL_M_GRAD_NORM,
    BL_M_LEARNING_RATE, BL_M_SHARPNESS, BL_M_SHARPNESS_RESIDUAL, BL_M_SHARPNESS_ITERS,
    BL_M_ETA_SHARPNESS, BL_M_GRAD_COSINE, BL_M_STABLE_RANK, BL_M_MU_ALIGNMENT,
    BL_M_SVM_ALIGNMENT, BL_M_SVM_COSINE, BL_M_MARGIN_RATIO, BL_M_TRAINED_NORM,
    BL_M_EFFECTIVE_LR, BL_M_SPHERICAL_SHARPNESS, BL_M_EQUILIBRIUM_NORM, BL_M_HESSIAN_TRACE,
    BL_M_HESSIAN_TRACE_SE, BL_M_KKT_EPSILON, BL_M_KKT_DELTA, BL_M_HESSIAN_MIN,
    BL_M_HESSIAN_MIN_RESIDUAL, BL_M_NEAR_SUPPORT_1, BL_M_NEAR_SUPPORT_2, BL_M_NEAR_SUPPORT_3,
    BL_M_INIT_DISTANCE, BL_M_L2_COSINE, BL_M_L1_COSINE,
    BL_M_TRAIN_MSE, BL_M_TEST_MSE, BL_M_NUCLEAR_NORM, BL_M_EFFECTIVE_RANK, BL_M_GRAD_NORM_SQ,
    BL_M_NOISE_TRACE, BL_M_NOISE_RATIO,
    BL_METRIC_COUNT
};

/* What a metric needs of a run before it applies (all bits must hold). */
enum bl_metric_needs {
    BL_NEEDS_DATA = 1 << 0,       /* a model trained on examples (not the quadratic) */
    BL_NEEDS_TEST = 1 << 1,       /* a test set (data.n_test > 0) */
    BL_NEEDS_LABELS = 1 << 2,     /* class labels (not regression targets): margins */
    BL_NEEDS_INVERSE = 1 << 3,    /* a loss with an inverse (not squared): smoothed margin */
    BL_NEEDS_SHARPNESS = 1 << 4,  /* measure.sharpness */
    BL_NEEDS_FEATURES = 1 << 5,   /* a first layer of neurons (the model's feature_layer) */
    BL_NEEDS_BINARY = 1 << 6,     /* one output on two classes */
    BL_NEEDS_REFERENCE = 1 << 7,  /* measure.reference = svm on a model it applies to */
    BL_NEEDS_DECAY = 1 << 8,      /* optim.weight_decay > 0 */
    BL_NEEDS_TRACE = 1 << 9,      /* measure.trace_probes > 0 */
    BL_NEEDS_KKT = 1 << 10,       /* measure.kkt on a homogeneous binary model */
    BL_NEEDS_MIN_EIG = 1 << 11,   /* measure.min_eigenvalue on a model with HVPs */
    BL_NEEDS_SUPPORT = 1 << 12,   /* measure.near_support */
    BL_NEEDS_DIAG_REFS = 1 << 13, /* measure.reference = svm on a diag_linear (SCIENCE.md 3) */
    BL_NEEDS_TARGETS = 1 << 14,   /* real-valued targets (regression): mean squared errors */
    BL_NEEDS_MATRIX = 1 << 15,    /* a model whose outputs are one symmetric matrix's entries */
    BL_NEEDS_NOISE = 1 << 16,     /* measure.noise != none */
};

struct bl_metric_info {
    const char *name;      /* variable name in the output */
    const char *long_name; /* its long_name attribute */
    const char *units;
    unsigned needs;        /* enum bl_metric_needs bits */
};

extern const struct bl_metric_info bl_metric_table[BL_METRIC_COUNT];

/* The metrics named in text (comma- or space-separated) into ids (at most
 * max): their count, or -1 with err naming the first unknown or surplus
 * name. */
#define BL_MAX_COMPARE 8
int bl_metric_parse_list(const char *text, int *ids, int max, char *err, size_t err_len);

/* Whether metric m is measured for a point with config cfg and model. */
int bl_metric_applies(enum bl_metric m, const struct bl_config *cfg, const struct bl_model *model);

/* q_min / ||theta||^degree */
double bl_normalized_margin(double q_min, double param_norm, int degree);

/* l^{-1}(L_sum) / ||theta||^degree, L_sum the loss summed over the training set */
double bl_smoothed_margin(enum bl_loss_kind kind, double log_loss_sum, double param_norm,
                          int degree);

/* cos of the angle between a and b (n); NaN when either is 0. */
double bl_cosine(const double *a, const double *b, long n);

/* Euclidean norm of x (n), scaled to avoid overflow. */
double bl_norm2(const double *x, long n);

#endif
