/* The one description of a task's result (bl_result.h): which fields a
 * plan's tasks hand back, where each sits in the payload, and what its
 * NetCDF variable is called and means. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bl_data.h"
#include "bl_log.h"
#include "bl_model.h"
#include "bl_plan.h"
#include "bl_result.h"

int bl_snapshot_count(enum bl_spectrum_at at)
{
    return at == BL_SPEC_NONE ? 0 : at == BL_SPEC_FIRST_LAST ? 2 : 1;
}

long bl_snapshot_record(enum bl_spectrum_at at, long n_records, int k)
{
    return at == BL_SPEC_LAST || k == 1 ? n_records - 1 : 0;
}

static int add(struct bl_result_layout *L, struct bl_field f)
{
    if (L->n_fields == BL_MAX_FIELDS)
        bl_fatal_at(__FILE__, __LINE__, "more than %d result fields", BL_MAX_FIELDS);
    if (f.shape == BL_FIELD_TASK)
        f.length = 1;
    else if (f.shape == BL_FIELD_RECORDS)
        f.length = L->n_records;
    else
        f.length = f.axes[0].length * (f.n_axes > 1 ? f.axes[1].length : 1);
    f.offset = L->length;
    L->length += f.length;
    L->fields[L->n_fields] = f;
    return L->n_fields++;
}

static struct bl_field task_value(const char *name, enum bl_field_type type,
                                  const char *long_name, const char *units)
{
    return (struct bl_field){.name = name, .long_name = long_name, .units = units,
                             .shape = BL_FIELD_TASK, .type = type, .metric = -1};
}

/* applies[m]: whether metric m applies to any point of the plan */
static void measured_metrics(const struct bl_plan *plan, int *applies)
{
    for (int m = 0; m < BL_METRIC_COUNT; m++)
        applies[m] = 0;
    for (int p = 0; p < plan->n_points; p++) {
        const struct bl_config *cfg = &plan->points[p];
        struct bl_model model;
        char err[BL_ERR_MAX];
        if (bl_model_build(&model, &cfg->model, cfg->data.dim,
                           bl_data_outputs(&cfg->data, cfg->loss.kind), err, sizeof err))
            bl_fatal(BL_EXIT_USAGE, "%s", err);
        for (int m = 0; m < BL_METRIC_COUNT; m++)
            applies[m] |= bl_metric_applies((enum bl_metric)m, cfg, &model);
        bl_model_free(&model);
    }
}

/* Whether some point's model has a closed-form NTK (ntk_gram) and trains on
 * class labels with a test set: the kernel predictor's test accuracy. */
static int kernel_reference_applies(const struct bl_plan *plan)
{
    int any = 0;
    for (int p = 0; p < plan->n_points && !any; p++) { /* the family's ops: no build needed */
        const struct bl_config *cfg = &plan->points[p];
        any = bl_model_family(cfg->model.kind)->ntk_gram && cfg->data.targets == 0 &&
              cfg->data.n_test > 0;
    }
    return any;
}

void bl_result_layout_make(struct bl_result_layout *L, const struct bl_plan *plan)
{
    memset(L, 0, sizeof *L);
    const struct bl_config *base = &plan->points[0];
    const struct bl_measure_cfg *mc = &base->measure;
    L->n_records = plan->n_records;
    L->max_params = plan->max_params;
    snprintf(L->layout_text, sizeof L->layout_text, "%s", plan->layout);
    L->svm_margin = L->margin_best = L->params = L->spectra = -1;
    L->reference_status = L->epochs_undone = -1;
    L->sharpness_top = L->sharpness_top_residual = L->trace_blocks = -1;
    L->density_nodes = L->density_weights = -1;
    add(L, task_value("status", BL_TYPE_BYTE, "outcome of the task", NULL));
    add(L, task_value("wall_seconds", BL_TYPE_DOUBLE, "wall-clock time of the task", "s"));
    add(L, task_value("steps_done", BL_TYPE_INT64,
                      "optimizer steps taken (for a diverged task, the step it diverged at)",
                      "1"));
    add(L, task_value("steps_run", BL_TYPE_INT64, "steps this attempt took", "1"));
    add(L, task_value("resumed_step", BL_TYPE_INT64, "step a saved state restored", "1"));
    int applies[BL_METRIC_COUNT];
    measured_metrics(plan, applies);
    if (applies[BL_M_SVM_COSINE]) { /* the metrics that compare with the SVM */
        L->svm_margin = add(L, task_value("svm_margin", BL_TYPE_DOUBLE,
                                          "hard-margin SVM margin gamma_SVM of the task's "
                                          "training set (reference = svm)",
                                          "1"));
        L->margin_best = add(L, task_value("margin_best", BL_TYPE_DOUBLE,
                                           "best normalized margin: gamma_SVM (linear); two "
                                           "layers: the exact optimum (LP) when the training "
                                           "data lie in a plane, else (1+s)/4 gamma_SVM",
                                           "1"));
        struct bl_field f = task_value("reference_status", BL_TYPE_BYTE,
                                       "why a reference is missing, if it is", NULL);
        f.attr_name[0] = "flag_meanings";
        f.attr_value[0] = "ok not_separable_through_origin svm_missing_lp_ok lp_failed "
                          "lp_bracket_only";
        L->reference_status = add(L, f);
    }
    L->memorize_step = L->grok_step = L->ungrok_step = -1;
    L->t_star = L->init_coordinate = L->init_norm = -1;
    if (applies[BL_M_TRAIN_ACC] || applies[BL_M_TRAIN_MSE])
        L->memorize_step = add(L, task_value("memorize_step", BL_TYPE_DOUBLE,
                                             "first record step with train accuracy >= "
                                             "measure.fit_threshold (regression: train MSE <= "
                                             "it; NaN: never)",
                                             "1"));
    if (applies[BL_M_TEST_ACC] || applies[BL_M_TEST_MSE])
        L->grok_step = add(L, task_value("grok_step", BL_TYPE_DOUBLE,
                                         "first record step with test accuracy >= "
                                         "measure.fit_threshold (regression: test MSE <= it; "
                                         "NaN: never)",
                                         "1"));
    if (applies[BL_M_TEST_ACC]) {
        L->ungrok_step = add(L, task_value("ungrok_step", BL_TYPE_DOUBLE,
                                           "first record step after grok_step with test "
                                           "accuracy < measure.drop_threshold (NaN: never)",
                                           "1"));
    }
    int decay = 0, diag = 0;
    for (int p = 0; p < plan->n_points; p++) {
        const struct bl_config *c = &plan->points[p];
        const struct bl_model_ops *family = bl_model_family(c->model.kind);
        decay |= !family->objective && c->optim.weight_decay > 0;
        diag |= family->uniform_init;
    }
    if (decay || diag)
        L->t_star = add(L, task_value("t_star", BL_TYPE_DOUBLE,
                                      "predicted transition step ln(alpha) / (lr weight_decay), "
                                      "alpha = model.init_scale (NaN: alpha <= 1, no weight "
                                      "decay, or the loss-based rate)",
                                      "1"));
    if (diag) {
        L->init_coordinate = add(L, task_value("init_coordinate", BL_TYPE_DOUBLE,
                                               "diag_linear: every coordinate of u and v at "
                                               "init, init_scale / sqrt(2 dim)",
                                               "1"));
        L->init_norm = add(L, task_value("init_norm", BL_TYPE_DOUBLE,
                                         "diag_linear: ||theta_0|| (= model.init_scale)", "1"));
    }
    L->l2_test_acc = L->l1_test_acc = -1;
    if (applies[BL_M_L1_COSINE]) {
        L->l2_test_acc = add(L, task_value("l2_test_acc", BL_TYPE_DOUBLE,
                                           "test accuracy of the max-L2-margin linear "
                                           "classifier (hard-margin SVM; diag_linear's kernel "
                                           "regime)",
                                           "1"));
        L->l1_test_acc = add(L, task_value("l1_test_acc", BL_TYPE_DOUBLE,
                                           "test accuracy of the max-L1-margin linear "
                                           "classifier (LP; diag_linear's rich regime)",
                                           "1"));
    }
    L->kernel_test_mse = L->target_nuclear_norm = -1;
    if (applies[BL_M_NUCLEAR_NORM] && applies[BL_M_TEST_MSE]) {
        L->kernel_test_mse = add(L, task_value("kernel_test_mse", BL_TYPE_DOUBLE,
                                               "test MSE of the kernel-regime predictor (the "
                                               "observed entries and their transposes, 0 "
                                               "elsewhere): the plateau",
                                               "1"));
        L->target_nuclear_norm = add(L, task_value("target_nuclear_norm", BL_TYPE_DOUBLE,
                                                   "nuclear norm ||X*||_* of the target "
                                                   "matrix (LAPACK SVD)",
                                                   "1"));
    }
    L->noise_exact = -1;
    if (applies[BL_M_NOISE_TRACE]) {
        struct bl_field f = task_value("noise_exact", BL_TYPE_BYTE,
                                       "how noise_trace was measured: from per-example "
                                       "gradients, or estimated from measure.noise_batches "
                                       "batches",
                                       NULL);
        f.attr_name[0] = "flag_meanings";
        f.attr_value[0] = "estimated exact";
        L->noise_exact = add(L, f);
    }
    L->kernel_test_acc = -1;
    if (kernel_reference_applies(plan))
        L->kernel_test_acc = add(L, task_value("kernel_test_acc", BL_TYPE_DOUBLE,
                                               "test accuracy of the kernel predictor: argmax "
                                               "of K(x, X) (K + r I)^-1 Y with the NTK at init "
                                               "K and one-hot training labels Y, r = 1e-10 "
                                               "trace(K) / n",
                                               "1"));
    int loss_based = 0;
    for (int p = 0; p < plan->n_points; p++)
        loss_based |= plan->points[p].optim.schedule == BL_SCHED_LOSS_BASED;
    if (loss_based)
        L->epochs_undone = add(L, task_value("epochs_undone", BL_TYPE_INT64,
                                             "epochs the loss-based schedule undid (the loss "
                                             "did not fall, or the epoch blew up)",
                                             "1"));
    for (int m = 0; m < BL_METRIC_COUNT; m++) {
        L->metric_field[m] = -1;
        if (!applies[m])
            continue;
        const struct bl_metric_info *mi = &bl_metric_table[m];
        L->metric_field[m] = add(L, (struct bl_field){.name = mi->name,
                                                      .long_name = mi->long_name,
                                                      .units = mi->units,
                                                      .shape = BL_FIELD_RECORDS,
                                                      .type = BL_TYPE_DOUBLE, .metric = m});
    }
    L->params_at = mc->save_params;
    if (mc->save_params != BL_SAVE_NONE) {
        struct bl_field f = {.name = "params", .long_name = "final parameters", .units = "1",
                             .shape = BL_FIELD_ARRAY, .metric = -1, .n_axes = 1,
                             .axes = {{"param", plan->max_params, NULL, {0}}},
                             .attr_name = {"layout", "layout_note"},
                             .attr_value = {L->layout_text,
                                            "the model's parameter blocks in theta order, "
                                            "each row-major (rows, cols); NaN past a "
                                            "smaller model's end"}};
        /* first_last and records put a leading axis before param */
        struct bl_field_dim param = f.axes[0];
        if (mc->save_params == BL_SAVE_FIRST_LAST) {
            f.long_name = "parameters at the first record (the initialization) and the final "
                          "ones";
            f.axes[0] = (struct bl_field_dim){"params_snapshot", 2, "params_step",
                                              {plan->steps[0], plan->steps[plan->n_records - 1]}};
            f.axes[1] = param, f.n_axes = 2;
        } else if (mc->save_params == BL_SAVE_RECORDS) {
            f.long_name = "parameters at every record";
            f.axes[0] = (struct bl_field_dim){"record", plan->n_records, NULL, {0}};
            f.axes[1] = param, f.n_axes = 2;
        }
        L->params = add(L, f);
    }
    if (mc->sharpness == BL_SHARP_LANCZOS && mc->sharpness_k > 1 && applies[BL_M_SHARPNESS]) {
        L->top_k = mc->sharpness_k;
        struct bl_field f = {.units = "1", .shape = BL_FIELD_ARRAY, .metric = -1, .n_axes = 2,
                             .axes = {{"record", plan->n_records, NULL, {0}},
                                      {"top", L->top_k, NULL, {0}}}};
        f.name = "sharpness_top";
        f.long_name = "the top k eigenvalues of the training-loss Hessian, descending (Lanczos)";
        L->sharpness_top = add(L, f);
        f.name = "sharpness_top_residual";
        f.long_name = "residual ||H v - lambda v|| of each of the top k eigenpairs";
        L->sharpness_top_residual = add(L, f);
    }
    if (applies[BL_M_HESSIAN_TRACE]) {
        /* the block names of the layout text "W1(64,20) W2(1,64) b1(64)" */
        const char *p = plan->layout;
        size_t used = 0;
        while (*p) {
            const char *open = strchr(p, '(');
            if (!open)
                break;
            used += (size_t)snprintf(L->block_names + used, sizeof L->block_names - used, "%s%.*s",
                                     used ? " " : "", (int)(open - p), p);
            L->n_blocks++;
            p = strchr(open, ')');
            p = p ? p + 1 + (p[1] == ' ') : open + strlen(open);
        }
        struct bl_field f = {.name = "hessian_trace_blocks",
                             .long_name = "Hutchinson estimate of the trace of each parameter "
                                          "block's diagonal Hessian block (they sum to "
                                          "hessian_trace)",
                             .units = "1", .shape = BL_FIELD_ARRAY, .metric = -1, .n_axes = 2,
                             .axes = {{"record", plan->n_records, NULL, {0}},
                                      {"block", L->n_blocks, NULL, {0}}},
                             .attr_name = {"blocks"}, .attr_value = {L->block_names}};
        if (L->n_blocks > 0)
            L->trace_blocks = add(L, f);
    }
    L->n_spectra = bl_snapshot_count(mc->hessian_spectrum);
    if (L->n_spectra) {
        struct bl_field f = {.name = "hessian_eigenvalues",
                             .long_name = "all eigenvalues of the training-loss Hessian, "
                                          "ascending (ScaLAPACK); NaN past a smaller model's "
                                          "end or where the task did not get there",
                             .units = "1", .shape = BL_FIELD_ARRAY, .metric = -1, .n_axes = 2,
                             .axes = {{"spectrum", L->n_spectra, "spectrum_step", {0}},
                                      {"eig", plan->max_params, NULL, {0}}}};
        for (int k = 0; k < L->n_spectra; k++)
            f.axes[0].steps[k] =
                plan->steps[bl_snapshot_record(mc->hessian_spectrum, plan->n_records, k)];
        L->spectra = add(L, f);
    }
    L->n_densities = bl_snapshot_count(mc->density);
    if (L->n_densities) {
        L->density_nodes_per = (long)mc->density_probes * mc->density_steps;
        struct bl_field f = {.units = "1", .shape = BL_FIELD_ARRAY, .metric = -1, .n_axes = 2,
                             .axes = {{"density", L->n_densities, "density_step", {0}},
                                      {"node", L->density_nodes_per, NULL, {0}}}};
        for (int k = 0; k < L->n_densities; k++)
            f.axes[0].steps[k] = plan->steps[bl_snapshot_record(mc->density, plan->n_records, k)];
        f.name = "density_nodes";
        f.long_name = "stochastic Lanczos quadrature nodes (Ritz values), probe-major";
        L->density_nodes = add(L, f);
        f.name = "density_weights";
        f.long_name = "stochastic Lanczos quadrature weights (sum to 1 over the nodes)";
        L->density_weights = add(L, f);
    }
}

void bl_result_clear(const struct bl_result_layout *L, double *payload)
{
    for (long i = 0; i < L->length; i++)
        payload[i] = NAN;
    payload[L->fields[BL_FIELD_STATUS].offset] = BL_STATUS_NOT_RUN;
}

int bl_field_in_output(const struct bl_result_layout *L, int field)
{
    return field != BL_FIELD_STEPS_RUN && field != BL_FIELD_RESUMED_STEP;
}
