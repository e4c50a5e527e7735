/* The task core (bl_task.h): data, model and parameters of one task, and
 * the passes over its data, sharded over the ranks of a group and combined
 * in log space. All buffers are sized here, once; a pass allocates nothing. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bl_log.h"
#include "bl_loss.h"
#include "bl_optim.h"
#include "bl_task.h"
#include "bl_vmath.h"

/* Examples per forward/backward call in full-set passes: bounds the
 * activation buffers while keeping each GEMM large. */
#define EVAL_CHUNK 4096

/* Rank r of a group of g takes [lo, hi) of n items: contiguous, sizes differ by
 * at most one. */
static void shard(long n, const struct bl_group *g, long *lo, long *hi)
{
    long size = bl_group_size(g), rank = bl_group_rank(g);
    *lo = n * rank / size;
    *hi = n * (rank + 1) / size;
}

int bl_task_setup(struct task *t, const struct bl_config *cfg, uint64_t seed,
                  const struct bl_group *g, int hvp, char *err, unsigned long err_len)
{
    memset(t, 0, sizeof *t);
    t->cfg = cfg;
    t->seed = seed;
    t->group = g;
    if (bl_data_make(&cfg->data, seed, &t->data, err, err_len))
        return 1;
    int inputs = t->data.train.arity ? t->data.train.arity : t->data.train.dim;
    struct bl_model_cfg model_cfg = cfg->model;
    model_cfg.noise_batch = cfg->optim.batch_size; /* noisy_quadratic: sigma / sqrt(B) */
    if (bl_model_build(&t->model, &model_cfg, inputs, bl_data_outputs(&cfg->data, cfg->loss.kind),
                       err, err_len)) {
        bl_data_free(&t->data);
        return 1;
    }
    long P = t->n_params = t->model.n_params;
    const struct bl_optim_cfg *opt = &cfg->optim;
    t->full_batch = opt->kind == BL_OPT_GD || opt->batch_size == 0 ||
                    (opt->batch_size == cfg->data.n_train &&
                     opt->sampling == BL_SAMPLE_WITHOUT_REPLACEMENT);
    t->theta = bl_malloc(sizeof(double) * (size_t)(3 * P));
    t->grad = t->theta + P;
    t->chunk_grad = t->grad + P;
    bl_model_init(&t->model, seed, t->theta);
    long frozen = t->model.frozen_hi - t->model.frozen_lo;
    if (frozen > 0) {
        t->frozen = bl_malloc(sizeof(double) * (size_t)frozen);
        memcpy(t->frozen, t->theta + t->model.frozen_lo, sizeof(double) * (size_t)frozen);
        t->hvp_in = bl_malloc(sizeof(double) * (size_t)P);
    }
    shard(cfg->data.n_train, g, &t->train_lo, &t->train_hi);
    shard(cfg->data.n_test, g, &t->test_lo, &t->test_hi);
    long shard_batch = 1;
    if (!t->full_batch) {
        bl_batcher_init(&t->batcher, cfg->data.n_train, opt->batch_size,
                        opt->sampling == BL_SAMPLE_WITH_REPLACEMENT, seed);
        if (opt->svag_l > 1) {
            bl_batcher_init(&t->svag_batcher, cfg->data.n_train, opt->batch_size, 1, seed);
            t->svag_batcher.stream = BL_STREAM_SVAG_BATCH;
            t->svag_grad = bl_malloc(sizeof(double) * (size_t)P);
            bl_svag_coefficients(opt, t->svag_c);
        }
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
    bl_workspace_alloc(&t->ws, &t->model, chunk, hvp && bl_model_has_hvp(&t->model));
    bl_batch_buffer_alloc(&t->batch, &t->data.train, chunk);
    t->log_loss = bl_malloc(sizeof(double) * (size_t)chunk);
    t->margin = bl_malloc(sizeof(double) * (size_t)chunk);
    t->loss_keep = bl_malloc(sizeof(double) * (size_t)chunk);
    t->hvp_kept_lo = t->hvp_kept_hi = -1;
    return 0;
}

void bl_task_free(struct task *t)
{
    bl_data_free(&t->data);
    bl_workspace_free(&t->ws);
    bl_model_free(&t->model);
    if (!t->full_batch)
        bl_batcher_free(&t->batcher);
    if (t->svag_grad)
        bl_batcher_free(&t->svag_batcher);
    free(t->svag_grad);
    bl_batch_buffer_free(&t->batch);
    free(t->theta);
    free(t->log_loss);
    free(t->margin);
    free(t->loss_keep);
    free(t->frozen);
    free(t->hvp_in);
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

/* log of sum_i exp(log_values[i]) (bl_vmath.h's exp and log, as the losses
 * use); NaN when any is NaN (a comparison would skip it, and an all-NaN
 * batch would read as a loss of exactly 0). */
static double log_sum(const double *log_values, int n)
{
    double hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        if (isnan(log_values[i]))
            return NAN;
        if (log_values[i] > hi)
            hi = log_values[i];
    }
    if (hi == -INFINITY || !isfinite(hi))
        return hi;
    return hi + bl_log(bl_sum_exp(n, log_values, hi, -1));
}

/* A data-free model is its own objective: every rank holds all of theta, so
 * there is nothing to shard or reduce. */
static void objective_pass(struct task *t, int want_grad, struct pass_totals *totals)
{
    double S = t->model.ops->objective(&t->model, t->theta, want_grad ? t->grad : NULL);
    *totals = (struct pass_totals){S, NAN, 1.0, NAN};
}

void bl_task_pass(struct task *t, const struct bl_dataset *set, const int *idx, long lo,
                  long hi, int want_grad, struct pass_totals *totals)
{
    if (t->model.ops->objective) {
        objective_pass(t, want_grad, totals);
        return;
    }
    const struct bl_loss_cfg *loss = &t->cfg->loss;
    int k = t->model.outputs;
    double S = -INFINITY, correct = 0, q_min = INFINITY;
    t->hvp_kept_lo = t->hvp_kept_hi = -1; /* the workspace gets this pass's rows */
    /* the first chunk's backward writes all of grad (bl_model.h), so only a
     * shard without rows needs zeros */
    if (want_grad && lo >= hi)
        memset(t->grad, 0, sizeof(double) * t->n_params);
    for (long start = lo; start < hi; start += t->ws.max_batch) {
        int n = (int)(hi - start < t->ws.max_batch ? hi - start : t->ws.max_batch);
        struct bl_batch b = idx ? bl_data_gather(set, idx + start, n, &t->batch)
                                : bl_dataset_rows(set, start, n);
        const double *out = bl_model_forward(&t->model, t->theta, &b, &t->ws);
        bl_loss_forward_keep(loss->kind, out, &b, k, t->log_loss, t->margin, t->loss_keep);
        for (int i = 0; i < n; i++) {
            correct += t->margin[i] > 0;
            if (t->margin[i] < q_min)
                q_min = t->margin[i];
        }
        double s = log_sum(t->log_loss, n);
        if (want_grad) {
            bl_loss_backward_kept(loss->kind, out, &b, k, s, t->loss_keep, t->ws.dout);
            bl_model_backward(&t->model, t->theta, &b, t->ws.dout, &t->ws,
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
        /* a frozen layer has no gradient */
        for (long i = t->model.frozen_lo; i < t->model.frozen_hi; i++)
            t->grad[i] = 0;
    }
    int labels = set->label != NULL;
    totals->log_loss_sum = S_max == -INFINITY ? -INFINITY : S_max + log(sums[0]);
    totals->correct = labels ? sums[1] : NAN;
    totals->count = sums[2];
    totals->q_min = labels ? -maxes[1] : NAN;
}

void bl_task_count_margins_within(struct task *t, double q_min, const double *gaps, int n,
                                  double *counts)
{
    const struct bl_dataset *set = &t->data.train;
    int k = t->model.outputs;
    for (int j = 0; j < n; j++)
        counts[j] = 0;
    t->hvp_kept_lo = t->hvp_kept_hi = -1;
    for (long start = t->train_lo; start < t->train_hi; start += t->ws.max_batch) {
        int m = (int)(t->train_hi - start < t->ws.max_batch ? t->train_hi - start
                                                             : t->ws.max_batch);
        struct bl_batch b = bl_dataset_rows(set, start, m);
        const double *out = bl_model_forward(&t->model, t->theta, &b, &t->ws);
        bl_loss_forward(t->cfg->loss.kind, out, &b, k, t->log_loss, t->margin);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                counts[j] += t->margin[i] - q_min < gaps[j];
    }
    bl_group_sum(t->group, counts, n);
}

void bl_task_batch_pass(struct task *t, const int *idx, int n, struct pass_totals *totals)
{
    long lo, hi;
    shard(n, t->group, &lo, &hi);
    bl_task_pass(t, &t->data.train, idx, lo, hi, 1, totals);
}

void bl_task_batch_gradient(struct task *t, long step, struct pass_totals *totals)
{
    if (t->model.ops->objective_noisy) { /* data-free, the same on every rank */
        double S = t->model.ops->objective_noisy(&t->model, t->theta, t->seed, step, t->grad);
        *totals = (struct pass_totals){S, NAN, 1.0, NAN};
        return;
    }
    if (t->full_batch) {
        bl_task_pass(t, &t->data.train, NULL, t->train_lo, t->train_hi, 1, totals);
        return;
    }
    bl_task_batch_pass(t, bl_batcher_batch(&t->batcher, step), t->cfg->optim.batch_size, totals);
    if (!t->svag_grad)
        return;
    /* SVAG: the gradient of c1 L_B1 + c2 L_B2, kept at B1's scale (totals
     * stay B1's: its loss is the one judged for divergence) */
    memcpy(t->svag_grad, t->grad, sizeof(double) * (size_t)t->n_params);
    struct pass_totals second;
    bl_task_batch_pass(t, bl_batcher_batch(&t->svag_batcher, step), t->cfg->optim.batch_size,
                       &second);
    double w2 = t->svag_c[1] * exp(second.log_loss_sum - totals->log_loss_sum);
    for (long i = 0; i < t->n_params; i++)
        t->grad[i] = t->svag_c[0] * t->svag_grad[i] + w2 * t->grad[i];
}

double bl_task_example_gradient_sq(struct task *t, double S)
{
    const struct bl_dataset *set = &t->data.train;
    int k = t->model.outputs;
    double sum = 0;
    t->hvp_kept_lo = t->hvp_kept_hi = -1;
    for (long i = t->train_lo; i < t->train_hi; i++) {
        struct bl_batch b = bl_dataset_rows(set, i, 1);
        const double *out = bl_model_forward(&t->model, t->theta, &b, &t->ws);
        bl_loss_forward_keep(t->cfg->loss.kind, out, &b, k, t->log_loss, t->margin,
                             t->loss_keep);
        double s = t->log_loss[0];
        if (s == -INFINITY)
            continue; /* a loss of exactly 0 has no gradient */
        bl_loss_backward_kept(t->cfg->loss.kind, out, &b, k, s, t->loss_keep, t->ws.dout);
        bl_model_backward(&t->model, t->theta, &b, t->ws.dout, &t->ws, t->chunk_grad);
        for (long j = t->model.frozen_lo; j < t->model.frozen_hi; j++)
            t->chunk_grad[j] = 0;
        double sq = 0;
        for (long j = 0; j < t->n_params; j++)
            sq += t->chunk_grad[j] * t->chunk_grad[j];
        sum += sq * exp(2 * (s - S));
    }
    bl_group_sum(t->group, &sum, 1);
    return sum;
}

void bl_task_train_pass(struct task *t, int want_grad, struct pass_totals *totals)
{
    bl_task_pass(t, &t->data.train, NULL, t->train_lo, t->train_hi, want_grad, totals);
}

double bl_task_objective_log(const struct task *t, double log_loss_sum, double count)
{
    return t->cfg->loss.reduction == BL_REDUCE_MEAN ? log_loss_sum - log(count) : log_loss_sum;
}

double bl_task_gradient_factor(const struct task *t, const struct pass_totals *p)
{
    return exp(bl_task_objective_log(t, p->log_loss_sum, p->count));
}

void bl_task_restore_frozen(struct task *t)
{
    /* weight decay must not shrink the fixed layer either */
    if (t->frozen)
        memcpy(t->theta + t->model.frozen_lo, t->frozen,
               sizeof(double) * (size_t)(t->model.frozen_hi - t->model.frozen_lo));
}

/* out (P) = Hessian of the training objective (full training set) times v,
 * through exact R-operator products over rows [lo, hi), summed over the
 * group when reduce, with the same loss scale as the gradient. */
static void hvp_range(struct task *t, const double *v, double *out, long lo, long hi,
                      int reduce)
{
    if (t->model.ops->objective_hvp) { /* data-free: the objective's own Hessian */
        t->model.ops->objective_hvp(&t->model, t->theta, v, out);
        return;
    }
    enum bl_loss_kind kind = t->cfg->loss.kind;
    const struct bl_dataset *set = &t->data.train;
    const struct bl_model_ops *ops = t->model.ops;
    int k = t->model.outputs;
    if (t->frozen) { /* the Hessian over the trained parameters only */
        memcpy(t->hvp_in, v, sizeof(double) * t->n_params);
        for (long i = t->model.frozen_lo; i < t->model.frozen_hi; i++)
            t->hvp_in[i] = 0;
        v = t->hvp_in;
    }
    memset(out, 0, sizeof(double) * t->n_params);
    for (long start = lo; start < hi; start += t->ws.max_batch) {
        int n = (int)(hi - start < t->ws.max_batch ? hi - start : t->ws.max_batch);
        struct bl_batch b = bl_dataset_rows(set, start, n);
        /* one chunk: the forward pass and dout of the last product still in
         * the workspace (rforward and rbackward write only their own
         * buffers), the same at the same theta */
        int kept = start == lo && start + n == hi && t->hvp_kept_lo == lo && t->hvp_kept_hi == hi;
        const double *f = kept ? t->hvp_kept_out
                               : bl_model_forward(&t->model, t->theta, &b, &t->ws);
        if (!kept)
            bl_loss_backward(kind, f, &b, k, t->hvp_log_scale, t->ws.dout);
        if (start == lo && start + n == hi) {
            t->hvp_kept_lo = lo;
            t->hvp_kept_hi = hi;
            t->hvp_kept_out = f;
        } else {
            t->hvp_kept_lo = t->hvp_kept_hi = -1;
        }
        const double *rf = ops->rforward(&t->model, t->theta, v, &b, &t->ws);
        bl_loss_hessian_vec(kind, f, &b, k, t->hvp_log_scale, rf, t->ws.rdout);
        ops->rbackward(&t->model, t->theta, v, &b, t->ws.dout, t->ws.rdout, &t->ws,
                       t->chunk_grad);
        for (long i = 0; i < t->n_params; i++)
            out[i] += t->chunk_grad[i];
    }
    if (reduce)
        bl_group_sum(t->group, out, t->n_params);
    for (long i = 0; i < t->n_params; i++)
        out[i] *= t->hvp_factor;
    for (long i = t->model.frozen_lo; i < t->model.frozen_hi; i++)
        out[i] = 0;
}

void bl_task_hvp_prepare(struct task *t, const struct pass_totals *train)
{
    t->hvp_log_scale = train->log_loss_sum;
    t->hvp_kept_lo = t->hvp_kept_hi = -1;
    t->hvp_factor = bl_task_gradient_factor(t, train); /* the same scaling as the gradient's */
}

void bl_task_hvp(void *ctx, const double *v, double *out)
{
    struct task *t = ctx;
    hvp_range(t, v, out, t->train_lo, t->train_hi, 1);
}

void bl_task_hessian_column(struct task *t, double *unit, long j, double *column)
{
    unit[j] = 1.0;
    hvp_range(t, unit, column, 0, t->data.train.n, 0);
    unit[j] = 0.0;
}
