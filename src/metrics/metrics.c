/* Metric names and the margin formulas (SCIENCE.md section 1). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <assert.h>

#include "bl_loss.h"
#include "bl_metrics.h"
#include "bl_model.h"
#include "bl_optim.h"

/* short names for the table's needs */
enum { D = BL_NEEDS_DATA, T = BL_NEEDS_TEST, L = BL_NEEDS_LABELS, INV = BL_NEEDS_INVERSE,
       SH = BL_NEEDS_SHARPNESS, F = BL_NEEDS_FEATURES, B = BL_NEEDS_BINARY,
       REF = BL_NEEDS_REFERENCE, DEC = BL_NEEDS_DECAY, TR = BL_NEEDS_TRACE, KKT = BL_NEEDS_KKT,
       MIN = BL_NEEDS_MIN_EIG, SUP = BL_NEEDS_SUPPORT, DR = BL_NEEDS_DIAG_REFS,
       TG = BL_NEEDS_TARGETS, MX = BL_NEEDS_MATRIX, NZ = BL_NEEDS_NOISE };

const struct bl_metric_info bl_metric_table[BL_METRIC_COUNT] = {
    [BL_M_TRAIN_LOSS] = {"train_loss", "training loss (data term, configured reduction)", "1", 0},
    [BL_M_TRAIN_LOG_LOSS] = {"train_log_loss", "natural log of the training loss", "1", 0},
    [BL_M_TRAIN_ACC] = {"train_acc", "training accuracy", "1", D | L},
    [BL_M_TEST_LOSS] = {"test_loss", "test loss (configured reduction)", "1", D | T},
    [BL_M_TEST_LOG_LOSS] = {"test_log_loss", "natural log of the test loss", "1", D | T},
    [BL_M_TEST_ACC] = {"test_acc", "test accuracy", "1", D | T | L},
    [BL_M_NORMALIZED_MARGIN] = {"normalized_margin",
                                "normalized margin q_min / ||theta||^L", "1", D | L},
    [BL_M_SMOOTHED_MARGIN] = {"smoothed_margin",
                              "smoothed normalized margin l^-1(L_sum) / ||theta||^L", "1", D | L | INV},
    [BL_M_PARAM_NORM] = {"param_norm", "parameter norm ||theta||", "1", 0},
    [BL_M_GRAD_NORM] = {"grad_norm", "norm of the full-batch gradient of the training loss",
                        "1", 0},
    [BL_M_LEARNING_RATE] = {"learning_rate", "learning rate of the next step", "1", 0},
    [BL_M_SHARPNESS] = {"sharpness", "top eigenvalue of the training-loss Hessian", "1", SH},
    [BL_M_SHARPNESS_RESIDUAL] = {"sharpness_residual",
                                 "residual ||H v - lambda v|| of the sharpness eigenpair", "1", SH},
    [BL_M_SHARPNESS_ITERS] = {"sharpness_iters",
                              "iterations (Hessian-vector products) of the measurement", "1", SH},
    [BL_M_ETA_SHARPNESS] = {"eta_sharpness", "learning rate times sharpness (2 = edge of stability)",
                            "1", SH},
    [BL_M_GRAD_COSINE] = {"grad_cosine", "cos(theta, -grad L), a KKT proxy", "1", 0},
    [BL_M_STABLE_RANK] = {"stable_rank", "stable rank ||W1||_F^2 / ||W1||_2^2 of the first layer",
                          "1", D | F},
    [BL_M_MU_ALIGNMENT] = {"mu_alignment", "mean |cos(w_k, mu)| of first-layer neurons", "1", D | F | B},
    [BL_M_SVM_ALIGNMENT] = {"svm_alignment", "mean |cos(w_k, w_SVM)| of first-layer neurons",
                            "1", D | F | B | REF},
    [BL_M_SVM_COSINE] = {"svm_cosine", "cos(linear predictor, w_SVM)", "1", D | F | B | REF},
    [BL_M_MARGIN_RATIO] = {"margin_ratio", "normalized margin / best normalized margin (margin_best)",
                           "1", D | F | B | REF},
    [BL_M_TRAINED_NORM] = {"trained_norm", "norm ||w|| of the trained parameters", "1", 0},
    [BL_M_EFFECTIVE_LR] = {"effective_lr", "effective learning rate lr / ||w||^2", "1", 0},
    [BL_M_SPHERICAL_SHARPNESS] = {"spherical_sharpness",
                                  "sharpness on the unit sphere ||w||^2 lambda_1", "1", SH},
    [BL_M_HESSIAN_TRACE] = {"hessian_trace", "Hutchinson estimate of the Hessian trace", "1", TR},
    [BL_M_HESSIAN_TRACE_SE] = {"hessian_trace_se", "standard error of hessian_trace", "1", TR},
    [BL_M_KKT_EPSILON] = {"kkt_epsilon",
                          "min over lambda >= 0 of ||theta~ - sum lambda_i grad q_i|| / ||theta~||",
                          "1", D | B | KKT},
    [BL_M_KKT_DELTA] = {"kkt_delta", "sum lambda_i (q_i(theta~) - 1) at that lambda", "1", D | B | KKT},
    [BL_M_HESSIAN_MIN] = {"hessian_min_eigenvalue",
                          "smallest algebraic eigenvalue of the training-loss Hessian (Lanczos "
                          "on -H)", "1", MIN},
    [BL_M_HESSIAN_MIN_RESIDUAL] = {"hessian_min_residual",
                                   "residual ||H v - lambda v|| of that eigenpair", "1", MIN},
    [BL_M_NEAR_SUPPORT_1] = {"near_support_1",
                             "training examples with q_i < q_min + ln 10 (near-support count)",
                             "1", D | L | SUP},
    [BL_M_NEAR_SUPPORT_2] = {"near_support_2", "training examples with q_i < q_min + ln 100",
                             "1", D | L | SUP},
    [BL_M_NEAR_SUPPORT_3] = {"near_support_3", "training examples with q_i < q_min + ln 1000",
                             "1", D | L | SUP},
    [BL_M_INIT_DISTANCE] = {"init_distance",
                            "relative distance from the initialization ||theta - theta_0|| / "
                            "||theta_0|| (small: kernel regime)", "1", 0},
    [BL_M_L2_COSINE] = {"l2_cosine",
                        "cos(u^L - v^L, w) with the max-L2-margin classifier w (kernel regime)",
                        "1", D | B | DR},
    [BL_M_L1_COSINE] = {"l1_cosine",
                        "cos(u^L - v^L, w) with the max-L1-margin classifier w (rich regime)",
                        "1", D | B | DR},
    [BL_M_GRAD_NORM_SQ] = {"grad_norm_sq",
                           "squared norm of the full-batch gradient of the training loss", "1",
                           D | NZ},
    [BL_M_NOISE_TRACE] = {"noise_trace",
                          "trace of the covariance of one mini-batch gradient (batch_size "
                          "examples, the configured sampling)", "1", D | NZ},
    [BL_M_NOISE_RATIO] = {"noise_ratio",
                          "noise_trace / ||E mini-batch gradient||^2 (noise-to-signal)", "1",
                          D | NZ},
    [BL_M_EQUILIBRIUM_NORM] = {"equilibrium_norm",
                               "predicted ||w|| at equilibrium (lr G / (wd (2 - lr wd)))^(1/4)",
                               "1", DEC},
    [BL_M_TRAIN_MSE] = {"train_mse", "training mean squared error mean (f - t)^2 (regression)",
                        "1", D | TG},
    [BL_M_TEST_MSE] = {"test_mse", "test mean squared error mean (f - t)^2 (regression)", "1",
                       D | T | TG},
    [BL_M_NUCLEAR_NORM] = {"nuclear_norm", "nuclear norm ||W||_* (sum of singular values) of "
                           "the model's matrix W", "1", MX},
    [BL_M_EFFECTIVE_RANK] = {"effective_rank", "effective rank exp(-sum p_k ln p_k), p_k = "
                             "sigma_k / ||W||_* (Roy and Vetterli 2007)", "1", MX},
};

static_assert(sizeof bl_metric_table / sizeof bl_metric_table[0] == BL_METRIC_COUNT,
              "one table entry per metric");

int bl_metric_parse_list(const char *text, int *ids, int max, char *err, size_t err_len)
{
    int n = 0;
    const char *c = text;
    for (;;) {
        while (*c == ',' || *c == ' ' || *c == '\t')
            c++;
        if (!*c)
            return n;
        size_t len = strcspn(c, ", \t");
        int found = -1;
        for (int m = 0; m < BL_METRIC_COUNT && found < 0; m++)
            if (strlen(bl_metric_table[m].name) == len && !strncmp(bl_metric_table[m].name, c, len))
                found = m;
        if (found < 0) {
            snprintf(err, err_len, "'%.*s' is not a metric (see the README's metric table, "
                     "e.g. train_loss, test_loss, train_acc, test_acc)", (int)len, c);
            return -1;
        }
        if (n == max) {
            snprintf(err, err_len, "at most %d metrics can be compared", max);
            return -1;
        }
        ids[n++] = found;
        c += len;
    }
}

int bl_metric_applies(enum bl_metric m, const struct bl_config *cfg, const struct bl_model *model)
{
    unsigned needs = bl_metric_table[m].needs;
    double slope;
    int data = model->ops->objective == NULL;
    int labels = data && cfg->data.targets == 0;
    int binary = labels && model->outputs == 1;
    enum bl_margin_kind ref = bl_model_margin_reference(model, &slope);
    unsigned have = 0;
    have |= data ? D : 0;
    have |= data && cfg->data.n_test > 0 ? T : 0;
    have |= labels ? L : 0;
    have |= cfg->loss.kind != BL_LOSS_SQUARED ? INV : 0;
    have |= cfg->measure.sharpness != BL_SHARP_NONE ? SH : 0;
    have |= model->ops->feature_layer ? F : 0;
    have |= binary ? B : 0;
    have |= cfg->measure.reference == BL_REF_SVM && ref != BL_MARGIN_NONE ? REF : 0;
    /* its formula is GD's with weight decay, not the Adam family's */
    have |= cfg->optim.weight_decay > 0 && !bl_optimizer_of(cfg->optim.kind)->scale_free ? DEC : 0;
    have |= cfg->measure.trace_probes > 0 ? TR : 0;
    have |= cfg->measure.kkt && model->degree > 0 ? KKT : 0;
    have |= cfg->measure.min_eigenvalue && bl_model_has_hvp(model) ? MIN : 0;
    have |= cfg->measure.near_support ? SUP : 0;
    have |= data && cfg->data.targets > 0 ? TG : 0;
    have |= model->ops->symmetric_matrix ? MX : 0;
    have |= cfg->measure.noise != BL_NOISE_NONE ? NZ : 0;
    have |= cfg->measure.reference == BL_REF_SVM && model->ops->l1_l2_references
                ? DR
                : 0;
    return (needs & have) == needs;
}

double bl_norm2(const double *x, long n)
{
    double scale = 0, ssq = 1;
    for (long i = 0; i < n; i++) {
        double a = fabs(x[i]);
        if (a == 0)
            continue;
        if (scale < a) {
            ssq = 1 + ssq * (scale / a) * (scale / a);
            scale = a;
        } else {
            ssq += (a / scale) * (a / scale);
        }
    }
    return scale * sqrt(ssq);
}

double bl_cosine(const double *a, const double *b, long n)
{
    double ab = 0, aa = 0, bb = 0;
    for (long i = 0; i < n; i++) {
        ab += a[i] * b[i];
        aa += a[i] * a[i];
        bb += b[i] * b[i];
    }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : NAN;
}

double bl_normalized_margin(double q_min, double param_norm, int degree)
{
    return q_min / pow(param_norm, degree);
}

double bl_smoothed_margin(enum bl_loss_kind kind, double log_loss_sum, double param_norm,
                          int degree)
{
    return bl_loss_inverse(kind, log_loss_sum) / pow(param_norm, degree);
}
