/* The metrics a record holds, with their names and units in the output,
 * and the margin formulas of SCIENCE.md section 1. */
#ifndef BL_METRICS_H
#define BL_METRICS_H

#include "bl_config.h"

enum bl_metric {
    BL_M_TRAIN_LOSS, BL_M_TRAIN_LOG_LOSS, BL_M_TRAIN_ACC, BL_M_TEST_LOSS, BL_M_TEST_LOG_LOSS,
    BL_M_TEST_ACC,
    BL_M_NORMALIZED_MARGIN, BL_M_SMOOTHED_MARGIN, BL_M_PARAM_NORM, BL_M_GRAD_NORM,
    BL_M_LEARNING_RATE, BL_M_SHARPNESS, BL_M_SHARPNESS_RESIDUAL, BL_M_SHARPNESS_ITERS,
    BL_M_ETA_SHARPNESS, BL_M_GRAD_COSINE, BL_M_STABLE_RANK, BL_M_MU_ALIGNMENT,
    BL_M_SVM_ALIGNMENT, BL_M_SVM_COSINE, BL_M_MARGIN_RATIO, BL_M_TRAINED_NORM,
    BL_M_EFFECTIVE_LR, BL_M_SPHERICAL_SHARPNESS, BL_M_EQUILIBRIUM_NORM, BL_M_HESSIAN_TRACE,
    BL_M_HESSIAN_TRACE_SE, BL_M_KKT_EPSILON, BL_M_KKT_DELTA, BL_METRIC_COUNT
};

struct bl_metric_info {
    const char *name;      /* variable name in the output */
    const char *long_name; /* its long_name attribute */
    const char *units;
};

extern const struct bl_metric_info bl_metric_table[BL_METRIC_COUNT];

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
