/* One task's training loop. All buffers are sized when the task starts; the
 * step itself allocates nothing.
 *
 * Gradients travel scaled: a pass over examples returns S = log(sum of their
 * losses) and g = grad(sum of losses) * exp(-S). That keeps g O(1) when the
 * losses are far below the smallest double, and makes the loss-based learning
 * rate exact: eta * grad L = alpha * grad L / L = alpha * g. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bl_checkpoint.h"
#include "bl_log.h"
#include "bl_loss.h"
#include "bl_optim.h"
#include "bl_planar_margin.h"
#include "bl_reference.h"
#include "bl_spectrum.h"
#include "bl_task.h"
#include "bl_train.h"

/* Examples per forward/backward call in full-set passes: bounds the
 * activation buffers while keeping each GEMM large. */
#define EVAL_CHUNK 4096

long bl_record_count(const struct bl_optim_cfg *optim, const struct bl_measure_cfg *measure)
{
    return optim->steps / measure->every + 1 + (optim->steps % measure->every != 0);
}

long bl_record_step(const struct bl_optim_cfg *optim, const struct bl_measure_cfg *measure,
                    long record)
{
    long step = record * measure->every;
    return step < optim->steps ? step : optim->steps;
}

/* Rank r of a group of g takes [lo, hi) of n items: contiguous, sizes differ by
 * at most one. */
static void shard(long n, const struct bl_group *g, long *lo, long *hi)
{
    long size = bl_group_size(g), rank = bl_group_rank(g);
    *lo = n * rank / size;
    *hi = n * (rank + 1) / size;
}

/* Fold a chunk with summed log loss s and scaled gradient chunk_grad into the
 * running (S, grad): both end scaled by exp(-logaddexp(S, s)). */
static void fold_gradient(struct task *t, double *S, double s)
{
    double total = bl_log_add_exp(*S, s);
    if (total == -INFINITY)
        return;
    double keep = *S == -INFINITY ? 0 : exp(*S - total);
    double add = s == -INFINITY ? 0 : exp(s - total);
    for (long i = 0; i < t->n_params; i++)
        t->grad[i] = keep * t->grad[i] + add * t->chunk_grad[i];
    *S = total;
}

static double log_sum(const double *log_values, int n)
{
    double hi = -INFINITY;
    for (int i = 0; i < n; i++)
        if (log_values[i] > hi)
            hi = log_values[i];
    if (hi == -INFINITY || !isfinite(hi))
        return hi;
    double s = 0;
    for (int i = 0; i < n; i++)
        s += exp(log_values[i] - hi);
    return hi + log(s);
}

/* Forward (and backward when want_grad) over rows [lo, hi) of set, or over
 * the rows idx[lo..hi) when idx is given; then combine over the group. With
 * want_grad, t->grad ends as grad(summed loss) * exp(-totals.log_loss_sum). */
/* quadratic model: L = 1/2 sum_i a_i theta_i^2, grad = a theta. Every rank
 * holds all of theta, so there is nothing to shard or reduce. */
static void quadratic_pass(struct task *t, int want_grad, struct pass_totals *totals)
{
    double L = 0;
    for (long i = 0; i < t->n_params; i++)
        L += 0.5 * t->eig[i] * t->theta[i] * t->theta[i];
    double S = log(L); /* -inf at the minimum, +inf past overflow */
    if (want_grad) {
        double scale = isfinite(S) ? exp(-S) : 1.0;
        for (long i = 0; i < t->n_params; i++)
            t->grad[i] = t->eig[i] * t->theta[i] * scale;
    }
    *totals = (struct pass_totals){S, NAN, 1.0, NAN};
}

void bl_task_pass(struct task *t, const struct bl_dataset *set, const int *idx, long lo,
                 long hi, int want_grad, struct pass_totals *totals)
{
    if (t->eig) {
        quadratic_pass(t, want_grad, totals);
        return;
    }
    const struct bl_loss_cfg *loss = &t->cfg->loss;
    double S = -INFINITY, correct = 0, q_min = INFINITY;
    if (want_grad)
        memset(t->grad, 0, sizeof(double) * t->n_params);
    for (long start = lo; start < hi; start += t->ws.max_batch) {
        int n = (int)(hi - start < t->ws.max_batch ? hi - start : t->ws.max_batch);
        const double *x;
        const int *label;
        if (idx) {
            bl_data_gather(set, idx + start, n, t->batch_x, t->batch_label);
            x = t->batch_x;
            label = t->batch_label;
        } else {
            x = set->x + start * set->dim;
            label = set->label + start;
        }
        const double *out = bl_model_forward(&t->model, t->theta, x, n, &t->ws);
        bl_loss_forward(loss->kind, out, label, n, t->outputs, t->log_loss, t->margin);
        for (int i = 0; i < n; i++) {
            correct += t->margin[i] > 0;
            if (t->margin[i] < q_min)
                q_min = t->margin[i];
        }
        double s = log_sum(t->log_loss, n);
        if (want_grad) {
            bl_loss_backward(loss->kind, out, label, n, t->outputs, s, t->ws.delta);
            bl_model_backward(&t->model, t->theta, x, n, t->ws.delta, &t->ws,
                              start == lo ? t->grad : t->chunk_grad);
            if (start == lo)
                S = s;
            else
                fold_gradient(t, &S, s);
        } else {
            S = bl_log_add_exp(S, s);
        }
    }
    /* Group: max of (S, -q_min), then the sums with every rank's part rescaled
     * to the group's largest S, so the reduced gradient stays O(1). */
    double maxes[2] = {S, -q_min};
    bl_group_max(t->group, maxes, 2);
    double S_max = maxes[0];
    double weight = (S == -INFINITY || S_max == -INFINITY || isnan(S)) ? 0 : exp(S - S_max);
    if (isnan(S) || isnan(S_max))
        weight = NAN;
    double sums[3] = {weight, correct, (double)(hi - lo)};
    bl_group_sum(t->group, sums, 3);
    if (want_grad) {
        if (weight != 1.0)
            for (long i = 0; i < t->n_params; i++)
                t->grad[i] *= weight;
        bl_group_sum(t->group, t->grad, t->n_params);
        /* sums[0] = sum of weights: divide so grad is scaled by the total */
        if (sums[0] > 0 && sums[0] != 1.0)
            for (long i = 0; i < t->n_params; i++)
                t->grad[i] /= sums[0];
    }
    if (want_grad) /* a frozen layer has no gradient */
        for (long i = t->frozen_lo; i < t->frozen_hi; i++)
            t->grad[i] = 0;
    totals->log_loss_sum = S_max == -INFINITY ? -INFINITY : S_max + log(sums[0]);
    totals->correct = sums[1];
    totals->count = sums[2];
    totals->q_min = -maxes[1];
}

/* log of the objective: the summed loss, or its mean over count examples. */
double bl_task_objective_log(const struct task *t, double log_loss_sum, double count)
{
    return t->cfg->loss.reduction == BL_REDUCE_MEAN ? log_loss_sum - log(count) : log_loss_sum;
}

/* Factor turning the scaled gradient into the gradient of the objective. */
double bl_task_gradient_factor(const struct task *t, const struct pass_totals *p)
{
    return exp(bl_task_objective_log(t, p->log_loss_sum, p->count));
}

/* On data that lie in a plane the best two-layer margin is computable
 * exactly (src/planar_margin.c): it replaces the symmetric-data prediction,
 * which on asymmetric data is only a lower bound. margin_best is the LP's
 * lower end, a margin some net attains, normally within 1e-4 of the upper
 * bound; the LP is capped at 2e6 nonzeros (about 100 MB), and a wider
 * bracket is reported. Other data keep (1 + s) / 4 gamma_SVM. */
static void planar_optimum(struct task *t, double slope)
{
    struct bl_planar_margin best;
    char err[256];
    const struct bl_dataset *d = &t->data.train;
    int rc = bl_planar_best_margin(d->x, d->label, d->n, d->dim, slope, 1e-4, 2000000L, &best,
                                   err, sizeof err);
    if (rc == 0 || rc == 3)
        t->margin_best = best.lower;
    if (rc == 3)
        bl_info("warning: best planar margin %s; margin_best is the lower end", err);
    else if (rc == 2)
        bl_info("warning: best planar margin not computed (%s); margin_best stays (1+s)/4 "
                "gamma_SVM",
                err);
}

int bl_task_setup(struct task *t, const struct bl_config *cfg, uint64_t seed,
                      const struct bl_group *g, char *err, unsigned long err_len)
{
    memset(t, 0, sizeof *t);
    t->cfg = cfg;
    t->seed = seed;
    t->group = g;
    if (bl_data_make(&cfg->data, seed, &t->data, err, err_len))
        return 1;
    t->outputs = bl_data_outputs(&cfg->data, cfg->loss.kind);
    bl_model_build(&t->model, &cfg->model, t->data.train.dim, t->outputs);
    /* the margin formulas need a degree; a model with biases is not
     * homogeneous, and its "normalized" margin uses the depth nominally */
    t->degree = t->model.degree ? t->model.degree : t->model.n_layers;
    t->n_params = t->model.n_params;
    const struct bl_optim_cfg *opt = &cfg->optim;
    int momentum = opt->kind == BL_OPT_MOMENTUM;
    int loss_based = opt->schedule == BL_SCHED_LOSS_BASED;
    t->full_batch = opt->kind == BL_OPT_GD || opt->batch_size == 0 ||
                    opt->batch_size == cfg->data.n_train;
    int n_vectors = 3 + momentum + (loss_based ? 2 + momentum : 0);
    long P = t->n_params;
    t->block = bl_malloc(sizeof(double) * (size_t)(P * n_vectors));
    double *p = t->block;
    t->theta = p, p += P;
    t->grad = p, p += P;
    t->chunk_grad = p, p += P;
    if (momentum) {
        t->velocity = p, p += P;
        memset(t->velocity, 0, sizeof(double) * P);
    }
    if (loss_based) {
        t->epoch_theta = p, p += P;
        t->epoch_grad = p, p += P;
        if (momentum)
            t->epoch_velocity = p, p += P;
    }
    bl_model_init(&t->model, seed, t->theta);
    if (!cfg->model.train_last && cfg->model.kind != BL_MODEL_QUADRATIC) {
        int L = t->model.n_layers;
        t->frozen_lo = t->model.weight_offset[L - 1];
        t->frozen_hi = t->frozen_lo + (long)t->model.dims[L] * t->model.dims[L - 1];
        t->frozen = bl_malloc(sizeof(double) * (size_t)(t->frozen_hi - t->frozen_lo));
        memcpy(t->frozen, t->theta + t->frozen_lo,
               sizeof(double) * (size_t)(t->frozen_hi - t->frozen_lo));
        t->hvp_in = bl_malloc(sizeof(double) * (size_t)P);
    }

    shard(cfg->data.n_train, g, &t->train_lo, &t->train_hi);
    shard(cfg->data.n_test, g, &t->test_lo, &t->test_hi);
    long shard_batch = 1;
    if (!t->full_batch) {
        bl_batcher_init(&t->batcher, cfg->data.n_train, opt->batch_size, seed);
        long lo, hi;
        shard(opt->batch_size, g, &lo, &hi);
        shard_batch = hi - lo + 1;
    }
    long biggest = t->train_hi - t->train_lo;
    if (t->test_hi - t->test_lo > biggest)
        biggest = t->test_hi - t->test_lo;
    if (shard_batch > biggest)
        biggest = shard_batch;
    int chunk = (int)(biggest < EVAL_CHUNK ? (biggest > 0 ? biggest : 1) : EVAL_CHUNK);
    bl_workspace_alloc(&t->ws, &t->model, chunk);
    int dim = t->data.train.dim;
    t->layer_work = bl_malloc(sizeof(double) * (size_t)(3 * dim + t->model.dims[1]));
    t->svm_margin = t->margin_best = NAN;
    if (cfg->model.kind == BL_MODEL_QUADRATIC) {
        /* eigenvalues geometric from eig_max down to eig_min */
        t->eig = bl_malloc(sizeof(double) * (size_t)P);
        for (long i = 0; i < P; i++)
            t->eig[i] = P == 1 ? cfg->model.eig_max
                               : cfg->model.eig_max *
                                     pow(cfg->model.eig_min / cfg->model.eig_max,
                                         (double)i / (double)(P - 1));
    } else if (t->outputs == 1) {
        t->mu = bl_calloc((size_t)dim, sizeof(double));
        for (int i = 0; i < t->data.train.n; i++) {
            double y = t->data.train.label[i] ? 1.0 : -1.0;
            for (int j = 0; j < dim; j++)
                t->mu[j] += y * t->data.train.x[(long)i * dim + j] / t->data.train.n;
        }
    }
    if (cfg->measure.reference == BL_REF_SVM && t->mu) {
        t->w_svm = bl_malloc(sizeof(double) * (size_t)dim);
        struct bl_svm_result svm;
        int rc = bl_svm_hard_margin(t->data.train.x, t->data.train.label, t->data.train.n, dim,
                                    1e-12, 10L * (t->data.train.n + dim), t->w_svm, NULL, &svm);
        if (rc != 0) { /* not separable through the origin: no max-margin direction */
            free(t->w_svm);
            t->w_svm = NULL;
        } else {
            t->svm_margin = svm.gamma;
            double slope = cfg->model.activation == BL_ACT_RELU       ? 0.0
                           : cfg->model.activation == BL_ACT_IDENTITY ? 1.0
                                                                      : cfg->model.leaky_slope;
            t->margin_best = t->model.n_layers == 1 ? svm.gamma
                                                    : bl_two_layer_margin_bound(svm.gamma, slope);
            if (t->model.n_layers == 2 && !cfg->model.bias && !cfg->model.normalize &&
                cfg->model.train_last)
                planar_optimum(t, slope);
        }
    }
    const struct bl_measure_cfg *mc = &cfg->measure;
    if (mc->kkt && t->outputs == 1 && t->model.degree > 0 && !t->eig) {
        long n = t->data.train.n;
        t->kkt_G = bl_malloc(sizeof(double) * (size_t)(P * n));
        t->kkt_target = bl_malloc(sizeof(double) * (size_t)P);
        t->kkt_work = bl_malloc(sizeof(double) * (size_t)(n * (n + 3)));
    }
    if (mc->trace_probes > 0) {
        t->trace_work = bl_malloc(sizeof(double) * 2 * (size_t)P);
        bl_workspace_alloc_hvp(&t->ws, &t->model);
    }
    if (bl_snapshot_count(mc->density)) {
        t->density_work = bl_malloc(sizeof(double) * bl_slq_work_doubles(P, mc->density_steps));
        bl_workspace_alloc_hvp(&t->ws, &t->model);
    }
    if (bl_snapshot_count(mc->hessian_spectrum)) {
        t->unit = bl_calloc((size_t)P, sizeof(double));
        bl_workspace_alloc_hvp(&t->ws, &t->model);
    }
    if (mc->sharpness != BL_SHARP_NONE) {
        bl_workspace_alloc_hvp(&t->ws, &t->model);
        size_t work = mc->sharpness == BL_SHARP_LANCZOS
                          ? bl_lanczos_work_doubles(P, mc->sharpness_iters)
                          : 2 * (size_t)P;
        t->spectrum_work = bl_malloc(sizeof(double) * work);
    }
    t->batch_x = bl_malloc(sizeof(double) * (size_t)chunk * t->data.train.dim);
    t->batch_label = bl_malloc(sizeof(int) * (size_t)chunk);
    t->log_loss = bl_malloc(sizeof(double) * (size_t)chunk);
    t->margin = bl_malloc(sizeof(double) * (size_t)chunk);
    return 0;
}

void bl_task_free(struct task *t)
{
    bl_data_free(&t->data);
    bl_workspace_free(&t->ws);
    if (!t->full_batch)
        bl_batcher_free(&t->batcher);
    free(t->block);
    free(t->batch_x);
    free(t->batch_label);
    free(t->log_loss);
    free(t->margin);
    free(t->spectrum_work);
    free(t->layer_work);
    free(t->frozen);
    free(t->hvp_in);
    free(t->trace_work);
    free(t->kkt_G);
    free(t->kkt_target);
    free(t->kkt_work);
    free(t->density_work);
    free(t->unit);
    free(t->eig);
    free(t->mu);
    free(t->w_svm);
}

/* NaN, +Inf, or a loss grown past diverge_factor times its initial value
 * (log_factor = log diverge_factor); -Inf is a loss of exactly 0. */
static int exploded(double log_objective, double initial_log, double log_factor)
{
    if (isnan(log_objective) || log_objective == INFINITY)
        return 1;
    return isfinite(initial_log) && log_objective > initial_log + log_factor;
}

static int finite_vector(const double *x, long n)
{
    double s = 0;
    for (long i = 0; i < n; i++)
        s += x[i] * 0.0; /* NaN or Inf anywhere makes s NaN */
    return s == 0;
}

/* The scaled gradient of this step's batch. */
static void batch_gradient(struct task *t, long step, struct pass_totals *p)
{
    if (t->full_batch) {
        bl_task_pass(t, &t->data.train, NULL, t->train_lo, t->train_hi, 1, p);
        return;
    }
    const int *batch = bl_batcher_batch(&t->batcher, step);
    long lo, hi;
    shard(t->cfg->optim.batch_size, t->group, &lo, &hi);
    bl_task_pass(t, &t->data.train, batch, lo, hi, 1, p);
}

/* Everything besides the parameter-sized arrays that the loop carries from
 * one step to the next: with the arrays, a checkpoint. */
struct loop_state {
    long step;                      /* the next step to take */
    long next_record;
    double alpha;                   /* loss_based: eta_t = alpha / L */
    double epoch_log_objective;     /* loss_based: log L at the epoch start */
    struct pass_totals epoch_totals;
    double initial_log_objective;   /* divergence is judged against it */
    double wall_before;             /* seconds spent before the last resume */
};

enum { STATE_SCALARS = 12 }; /* doubles of loop_state in a checkpoint */

/* The arrays a checkpoint holds, in order, and their lengths. */
static int state_arrays(struct task *t, struct bl_task_result *res, double **arrays,
                        long *lengths)
{
    int k = 0;
    arrays[k] = t->theta, lengths[k++] = t->n_params;
    if (t->velocity)
        arrays[k] = t->velocity, lengths[k++] = t->n_params;
    if (t->epoch_theta) {
        arrays[k] = t->epoch_theta, lengths[k++] = t->n_params;
        arrays[k] = t->epoch_grad, lengths[k++] = t->n_params;
        if (t->epoch_velocity)
            arrays[k] = t->epoch_velocity, lengths[k++] = t->n_params;
    }
    arrays[k] = res->records, lengths[k++] = BL_METRIC_COUNT * res->n_records;
    if (res->n_spectra)
        arrays[k] = res->spectra, lengths[k++] = res->n_spectra * t->n_params;
    if (res->n_densities)
        arrays[k] = res->densities,
        lengths[k++] = res->n_densities * bl_density_length(&t->cfg->measure);
    return k;
}

static void save_state(struct task *t, const struct loop_state *ls, struct bl_task_result *res,
                       double wall_now, const char *path)
{
    double *arrays[10];
    long lengths[10], total = STATE_SCALARS;
    int n = state_arrays(t, res, arrays, lengths);
    for (int i = 0; i < n; i++)
        total += lengths[i];
    double *blob = bl_malloc(sizeof(double) * (size_t)total);
    double scalars[STATE_SCALARS] = {(double)ls->step, (double)ls->next_record, ls->alpha,
                                     ls->epoch_log_objective, ls->epoch_totals.log_loss_sum,
                                     ls->epoch_totals.correct, ls->epoch_totals.count,
                                     ls->epoch_totals.q_min, ls->initial_log_objective,
                                     wall_now, (double)t->n_params, (double)res->n_records};
    memcpy(blob, scalars, sizeof scalars);
    long at = STATE_SCALARS;
    for (int i = 0; i < n; i++) {
        memcpy(blob + at, arrays[i], sizeof(double) * (size_t)lengths[i]);
        at += lengths[i];
    }
    char err[BL_ERR_MAX];
    if (bl_blob_write(path, BL_BLOB_TASK_STATE, blob, total, err, sizeof err))
        bl_fatal(BL_EXIT_RUNTIME, "checkpoint: %s", err);
    free(blob);
}

/* Restore a checkpoint if path has one. Returns 0 (restored or none), or
 * non-zero with err set when the file is corrupt or does not fit the task. */
static int load_state(struct task *t, struct loop_state *ls, struct bl_task_result *res,
                      const char *path, char *err, unsigned long err_len)
{
    double *blob;
    long n_blob;
    int rc = bl_blob_read(path, BL_BLOB_TASK_STATE, &blob, &n_blob, err, err_len);
    if (rc == 1)
        return 0;
    if (rc)
        return 1;
    double *arrays[10];
    long lengths[10], total = STATE_SCALARS;
    int n = state_arrays(t, res, arrays, lengths);
    for (int i = 0; i < n; i++)
        total += lengths[i];
    if (n_blob != total || blob[10] != (double)t->n_params || blob[11] != (double)res->n_records) {
        snprintf(err, err_len, "checkpoint '%s' does not match this task's model or records",
                 path);
        free(blob);
        return 1;
    }
    ls->step = (long)blob[0];
    ls->next_record = (long)blob[1];
    ls->alpha = blob[2];
    ls->epoch_log_objective = blob[3];
    ls->epoch_totals = (struct pass_totals){blob[4], blob[5], blob[6], blob[7]};
    ls->initial_log_objective = blob[8];
    ls->wall_before = blob[9];
    long at = STATE_SCALARS;
    for (int i = 0; i < n; i++) {
        memcpy(arrays[i], blob + at, sizeof(double) * (size_t)lengths[i]);
        at += lengths[i];
    }
    free(blob);
    return 0;
}

/* Loss-based rate: return to the state at the epoch start and shrink alpha
 * (after an epoch that did not lower the loss, or blew up midway, which with
 * mini-batches and a rate of alpha / L can happen before the epoch ends). */
static void undo_epoch(struct task *t, struct loop_state *ls)
{
    memcpy(t->theta, t->epoch_theta, sizeof(double) * t->n_params);
    if (t->velocity)
        memcpy(t->velocity, t->epoch_velocity, sizeof(double) * t->n_params);
    if (t->full_batch)
        memcpy(t->grad, t->epoch_grad, sizeof(double) * t->n_params);
    ls->alpha *= t->cfg->optim.loss_down;
}

int bl_train_task(const struct bl_config *cfg, uint64_t seed, const struct bl_group *g,
                  const struct bl_train_io *io, struct bl_task_result *res, char *err,
                  unsigned long err_len)
{
    double started = bl_now();
    struct task t;
    memset(res, 0, sizeof *res);
    if (bl_task_setup(&t, cfg, seed, g, err, err_len))
        return 1;
    const struct bl_optim_cfg *opt = &cfg->optim;
    long n_records = bl_record_count(opt, &cfg->measure);
    res->n_records = n_records;
    res->records = bl_malloc(sizeof(double) * (size_t)(BL_METRIC_COUNT * n_records));
    for (long i = 0; i < BL_METRIC_COUNT * n_records; i++)
        res->records[i] = NAN;
    res->status = BL_STATUS_OK;
    res->n_spectra = bl_snapshot_count(cfg->measure.hessian_spectrum);
    res->spectra = bl_malloc(sizeof(double) * (size_t)(res->n_spectra * t.n_params + 1));
    for (long i = 0; i < res->n_spectra * t.n_params; i++)
        res->spectra[i] = NAN;
    long density_length = bl_density_length(&cfg->measure);
    res->n_densities = bl_snapshot_count(cfg->measure.density);
    res->densities = bl_malloc(sizeof(double) * (size_t)(res->n_densities * density_length + 1));
    for (long i = 0; i < res->n_densities * density_length; i++)
        res->densities[i] = NAN;

    int loss_based = opt->schedule == BL_SCHED_LOSS_BASED;
    long steps_per_epoch = t.full_batch ? 1 : t.batcher.steps_per_epoch;
    struct loop_state ls = {0, 0, opt->lr, NAN, {0, 0, 0, 0}, NAN, 0.0};
    const char *ckpt = io ? io->checkpoint_path : NULL;
    if (ckpt && load_state(&t, &ls, res, ckpt, err, err_len)) {
        bl_task_free(&t);
        bl_task_result_free(res);
        return 1;
    }
    res->resumed_step = ls.step;
    double log_diverge = log(cfg->measure.diverge_factor);
    struct pass_totals batch = {0}, full = {0};
    for (;; ls.step++) {
        long step = ls.step;
        /* a checkpoint is the state before this step: resuming from it
         * re-enters the loop here with identical numbers */
        int action = io && io->hook ? io->hook(io->hook_ctx) : BL_ACTION_CONTINUE;
        if (bl_group_size(g) > 1) { /* the group's ranks must act alike */
            double agreed = action;
            bl_group_max(g, &agreed, 1);
            action = (int)agreed;
        }
        if (action != BL_ACTION_CONTINUE && ckpt && bl_group_rank(g) == 0)
            save_state(&t, &ls, res, ls.wall_before + bl_now() - started, ckpt);
        if (action == BL_ACTION_STOP) {
            res->status = BL_STATUS_INTERRUPTED;
            break;
        }
        int record_now = bl_record_step(opt, &cfg->measure, ls.next_record) == step;
        int epoch_start = loss_based && step % steps_per_epoch == 0 && step < opt->steps;
        /* gd computes the full-batch gradient once per step and lets records
         * and the epoch check reuse it */
        int have_batch = 0;
        if (t.full_batch && (step < opt->steps || record_now)) {
            batch_gradient(&t, step, &batch);
            full = batch;
            have_batch = 1;
        } else if (record_now || epoch_start) {
            bl_task_pass(&t, &t.data.train, NULL, t.train_lo, t.train_hi, record_now, &full);
        }
        double full_log = bl_task_objective_log(&t, full.log_loss_sum, full.count);
        if (step == 0)
            ls.initial_log_objective = full_log;
        if (epoch_start) {
            /* SCIENCE.md section 1: after an epoch that lowered the loss, alpha
             * grows; after one that did not, the epoch is undone and alpha
             * shrinks. */
            if (step > 0 && !(full_log < ls.epoch_log_objective)) {
                undo_epoch(&t, &ls);
                batch = full = ls.epoch_totals;
                full_log = ls.epoch_log_objective;
            } else if (step > 0) {
                ls.alpha *= opt->loss_up;
            }
            memcpy(t.epoch_theta, t.theta, sizeof(double) * t.n_params);
            if (t.velocity)
                memcpy(t.epoch_velocity, t.velocity, sizeof(double) * t.n_params);
            if (t.full_batch)
                memcpy(t.epoch_grad, t.grad, sizeof(double) * t.n_params);
            ls.epoch_log_objective = full_log;
            ls.epoch_totals = full;
        }
        double lr = loss_based ? ls.alpha / exp(ls.epoch_log_objective) : opt->lr;
        if (record_now) {
            bl_task_record_metrics(&t, &full, lr, res->records, n_records, ls.next_record, res->spectra,
                           res->densities);
            ls.next_record++;
        }
        int measured = have_batch || record_now || epoch_start; /* full is this step's */
        if ((measured && exploded(full_log, ls.initial_log_objective, log_diverge)) ||
            !finite_vector(t.theta, t.n_params)) {
            if (loss_based && step > 0 && step < opt->steps) {
                /* an epoch gone wrong is undone, not fatal */
                undo_epoch(&t, &ls);
                continue;
            }
            res->status = BL_STATUS_DIVERGED;
            break;
        }
        if (step >= opt->steps)
            break;
        if (!have_batch)
            batch_gradient(&t, step, &batch);
        double batch_log = bl_task_objective_log(&t, batch.log_loss_sum, batch.count);
        if (exploded(batch_log, ls.initial_log_objective, log_diverge)) {
            if (loss_based && step > 0) { /* step < steps here */
                undo_epoch(&t, &ls);
                continue;
            }
            res->status = BL_STATUS_DIVERGED;
            break;
        }
        /* eta * grad(objective) = eta * factor * g; with the loss-based rate
         * eta = alpha / L_epoch this is alpha * g * exp(log L_batch - log L_epoch),
         * evaluated in log space so neither factor underflows. */
        double step_scale = loss_based ? ls.alpha * exp(batch_log - ls.epoch_log_objective)
                                       : opt->lr * exp(batch_log);
        /* with the loss-based rate lr overflows to inf once L < 1e-308;
         * without weight decay that must not turn into inf * 0 = NaN */
        double decay = opt->weight_decay > 0 ? lr * opt->weight_decay : 0.0;
        bl_optim_step(opt, t.n_params, step_scale, t.grad, decay, t.theta, t.velocity);
        if (t.frozen) /* weight decay must not shrink the fixed layer either */
            memcpy(t.theta + t.frozen_lo, t.frozen,
                   sizeof(double) * (size_t)(t.frozen_hi - t.frozen_lo));
    }
    res->steps_done = ls.step;
    res->steps_run = ls.step - res->resumed_step;
    res->n_params = t.n_params;
    res->svm_margin = t.svm_margin;
    res->margin_best = t.margin_best;
    if (cfg->measure.save_params == BL_SAVE_FINAL) {
        res->params = bl_malloc(sizeof(double) * (size_t)t.n_params);
        memcpy(res->params, t.theta, sizeof(double) * t.n_params);
    }
    bl_task_free(&t);
    res->wall_seconds = ls.wall_before + bl_now() - started;
    return 0;
}

void bl_task_result_free(struct bl_task_result *res)
{
    free(res->spectra);
    free(res->densities);
    free(res->records);
    free(res->params);
    memset(res, 0, sizeof *res);
}
