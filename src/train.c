/* One task's training loop. All buffers are sized when the task starts; the
 * step itself allocates nothing.
 *
 * Gradients travel scaled: a pass over examples returns S = log(sum of their
 * losses) and g = grad(sum of losses) * exp(-S). That keeps g O(1) when the
 * losses are far below the smallest double, and makes the loss-based learning
 * rate exact: eta * grad L = alpha * grad L / L = alpha * g. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bl_checkpoint.h"
#include "bl_log.h"
#include "bl_loss.h"
#include "bl_optim.h"
#include "bl_reference.h"
#include "bl_scalapack.h"
#include "bl_spectrum.h"
#include "bl_train.h"

/* Examples per forward/backward call in full-set passes: bounds the
 * activation buffers while keeping each GEMM large. */
#define EVAL_CHUNK 4096

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
    double *density_work;   /* SLQ scratch */
    double svm_margin;      /* gamma_SVM of the training set (NaN without a reference) */
    double margin_best;     /* predicted best normalized margin (NaN without a reference) */
    double hvp_log_scale;   /* log of the summed training loss at theta, for HVPs */
    double hvp_factor;      /* turns the scaled summed-loss HVP into the objective's */
    int full_batch;         /* gd: every step uses the whole training set */
    long train_lo, train_hi, test_lo, test_hi; /* this rank's shards */
};

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

static void pass(struct task *t, const struct bl_dataset *set, const int *idx, long lo,
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
static double objective_log(const struct task *t, double log_loss_sum, double count)
{
    return t->cfg->loss.reduction == BL_REDUCE_MEAN ? log_loss_sum - log(count) : log_loss_sum;
}

/* Factor turning the scaled gradient into the gradient of the objective. */
static double gradient_factor(const struct task *t, const struct pass_totals *p)
{
    return exp(objective_log(t, p->log_loss_sum, p->count));
}

/* out (P) = Hessian of the training objective (full training set) times v,
 * through exact R-operator products over this rank's shard, summed over the
 * group with the same loss scale as the gradient. Needs hvp_log_scale and
 * hvp_factor set for the current theta. */
static void hvp_range(struct task *t, const double *v, double *out, long lo, long hi,
                      int reduce)
{
    if (t->eig) { /* quadratic: H = diag(a) */
        for (long i = 0; i < t->n_params; i++)
            out[i] = t->eig[i] * v[i];
        return;
    }
    enum bl_loss_kind kind = t->cfg->loss.kind;
    const struct bl_dataset *set = &t->data.train;
    if (t->frozen) { /* the Hessian over the trained parameters only */
        memcpy(t->hvp_in, v, sizeof(double) * t->n_params);
        for (long i = t->frozen_lo; i < t->frozen_hi; i++)
            t->hvp_in[i] = 0;
        v = t->hvp_in;
    }
    memset(out, 0, sizeof(double) * t->n_params);
    for (long start = lo; start < hi; start += t->ws.max_batch) {
        int n = (int)(hi - start < t->ws.max_batch ? hi - start : t->ws.max_batch);
        const double *x = set->x + start * set->dim;
        const int *label = set->label + start;
        const double *f = bl_model_forward(&t->model, t->theta, x, n, &t->ws);
        const double *rf = bl_model_rforward(&t->model, t->theta, v, x, n, &t->ws);
        bl_loss_backward(kind, f, label, n, t->outputs, t->hvp_log_scale, t->ws.delta);
        bl_loss_hessian_vec(kind, f, label, n, t->outputs, t->hvp_log_scale, rf, t->ws.rdelta);
        bl_model_rbackward(&t->model, t->theta, v, x, n, t->ws.delta, t->ws.rdelta, &t->ws,
                           t->chunk_grad);
        for (long i = 0; i < t->n_params; i++)
            out[i] += t->chunk_grad[i];
    }
    if (reduce)
        bl_group_sum(t->group, out, t->n_params);
    for (long i = 0; i < t->n_params; i++)
        out[i] *= t->hvp_factor;
    for (long i = t->frozen_lo; i < t->frozen_hi; i++)
        out[i] = 0;
}

/* H v over the group: each rank its shard, then the sum (Lanczos, power). */
static void objective_hvp(void *ctx, const double *v, double *out)
{
    struct task *t = ctx;
    hvp_range(t, v, out, t->train_lo, t->train_hi, 1);
}

/* Column j of H from the whole training set on this rank alone: ScaLAPACK's
 * grid gives each rank its own columns, so nothing may be reduced here. */
static void hessian_column(void *ctx, long j, double *column)
{
    struct task *t = ctx;
    t->unit[j] = 1.0;
    hvp_range(t, t->unit, column, 0, t->data.train.n, 0);
    t->unit[j] = 0.0;
}

int bl_snapshot_count(enum bl_spectrum_at at)
{
    return at == BL_SPEC_NONE ? 0 : at == BL_SPEC_FIRST_LAST ? 2 : 1;
}

long bl_snapshot_record(enum bl_spectrum_at at, long n_records, int k)
{
    return at == BL_SPEC_LAST || k == 1 ? n_records - 1 : 0;
}

long bl_density_length(const struct bl_measure_cfg *measure)
{
    return 2L * measure->density_probes * measure->density_steps;
}

/* All eigenvalues of the training objective's Hessian at theta, by ScaLAPACK
 * over the group's ranks, into eigenvalues (P). */
static void full_spectrum(struct task *t, const struct pass_totals *train, double *eigenvalues)
{
    int context = bl_group_blacs_context(t->group);
    if (context < 0) /* no MPI (unit tests): nothing to distribute over */
        return;
    t->hvp_log_scale = train->log_loss_sum;
    t->hvp_factor = gradient_factor(t, train);
    int size = bl_group_size(t->group), ranks[4096];
    for (int r = 0; r < size && r < 4096; r++)
        ranks[r] = r;
    struct bl_scalapack_opts opts = {BL_SCALAPACK_PDSYEV, context};
    char err[BL_ERR_MAX];
    if (bl_scalapack_eigenvalues_ex(t->n_params, 32, hessian_column, t, ranks, size, &opts,
                                    eigenvalues, NULL, err, sizeof err))
        bl_fatal(BL_EXIT_RUNTIME, "Hessian spectrum: %s", err);
}

/* The top Hessian eigenvalue (measure.sharpness) at theta: value, residual,
 * iterations. train holds the full training loss at theta. */
static void measure_sharpness(struct task *t, const struct pass_totals *train, long record,
                              double *value, double *residual, double *iterations)
{
    const struct bl_measure_cfg *mc = &t->cfg->measure;
    t->hvp_log_scale = train->log_loss_sum;
    t->hvp_factor = gradient_factor(t, train); /* the same scaling as the gradient's */
    /* every rank of a group draws the same start vector, so they agree */
    struct bl_rng rng;
    bl_rng_init(&rng, t->seed, BL_STREAM_SPECTRUM, (uint32_t)record);
    struct bl_eigpair pairs[32];
    if (mc->sharpness == BL_SHARP_LANCZOS) {
        struct bl_lanczos_info info;
        int max_iter = mc->sharpness_iters < t->n_params ? mc->sharpness_iters : (int)t->n_params;
        bl_lanczos_top(t->n_params, objective_hvp, t, mc->sharpness_k, max_iter,
                       mc->sharpness_tol, &rng, pairs, NULL, t->spectrum_work, &info);
        *iterations = info.iterations;
    } else {
        bl_power_iteration(t->n_params, objective_hvp, t, mc->sharpness_iters,
                           mc->sharpness_tol, &rng, pairs, NULL, t->spectrum_work);
        *iterations = pairs[0].iterations;
    }
    *value = pairs[0].value;
    *residual = pairs[0].residual;
}

/* v -> W1^T W1 v for the first layer W1 (dims[1], dims[0]). */
static void first_layer_gram(void *ctx, const double *v, double *out)
{
    struct task *t = ctx;
    int rows = t->model.dims[1], cols = t->model.dims[0];
    const double *w1 = t->theta + t->model.weight_offset[0];
    double *tmp = t->layer_work + 3L * cols; /* (rows) */
    cblas_dgemv(CblasRowMajor, CblasNoTrans, rows, cols, 1.0, w1, cols, v, 1, 0.0, tmp, 1);
    cblas_dgemv(CblasRowMajor, CblasTrans, rows, cols, 1.0, w1, cols, tmp, 1, 0.0, out, 1);
}

/* The first layer's stable rank and neuron alignments, and with a reference
 * the effective linear predictor's agreement with the SVM (SCIENCE.md 2). */
static void layer_metrics(struct task *t, double normalized_margin, double *value)
{
    int rows = t->model.dims[1], cols = t->model.dims[0];
    const double *w1 = t->theta + t->model.weight_offset[0]; /* (rows, cols) */
    double frob = 0;
    for (long i = 0; i < (long)rows * cols; i++)
        frob += w1[i] * w1[i];
    struct bl_rng rng;
    bl_rng_init(&rng, t->seed, BL_STREAM_SPECTRUM, 0xffffffffu);
    struct bl_eigpair top;
    bl_power_iteration(cols, first_layer_gram, t, 2000, 1e-12, &rng, &top, NULL,
                       t->layer_work);
    value[BL_M_STABLE_RANK] = top.value > 0 ? frob / top.value : NAN;
    if (!t->mu)
        return;
    double mu_sum = 0, svm_sum = 0;
    for (int k = 0; k < rows; k++) {
        mu_sum += fabs(bl_cosine(w1 + (long)k * cols, t->mu, cols));
        if (t->w_svm)
            svm_sum += fabs(bl_cosine(w1 + (long)k * cols, t->w_svm, cols));
    }
    value[BL_M_MU_ALIGNMENT] = mu_sum / rows;
    if (!t->w_svm)
        return;
    value[BL_M_SVM_ALIGNMENT] = svm_sum / rows;
    /* effective linear predictor: w (linear) or sum_k a_k w_k (two layers) */
    double *predictor = t->layer_work + 2L * cols; /* (cols) */
    if (t->model.n_layers == 1) {
        memcpy(predictor, w1, sizeof(double) * cols);
    } else {
        const double *a = t->theta + t->model.weight_offset[1]; /* (1, rows) */
        cblas_dgemv(CblasRowMajor, CblasTrans, rows, cols, 1.0, w1, cols, a, 1, 0.0, predictor,
                    1);
    }
    value[BL_M_SVM_COSINE] = bl_cosine(predictor, t->w_svm, cols);
    value[BL_M_MARGIN_RATIO] = normalized_margin / t->margin_best;
}

/* SCIENCE.md 4, for the trained parameters w: effective rate lr/||w||^2,
 * spherical sharpness ||w||^2 lambda_1 (meaningful when the loss is
 * scale-invariant in w), and the equilibrium norm that GD with weight decay
 * approaches, ||w||^4 = lr G / (wd (2 - lr wd)) with G = ||grad L(w/||w||)||^2
 * = ||w||^2 ||grad L(w)||^2. value[] already holds grad_norm and sharpness. */
static void scale_invariant_metrics(struct task *t, double lr, double *value)
{
    double sq = 0;
    for (long i = 0; i < t->n_params; i++)
        if (i < t->frozen_lo || i >= t->frozen_hi)
            sq += t->theta[i] * t->theta[i];
    value[BL_M_TRAINED_NORM] = sqrt(sq);
    value[BL_M_EFFECTIVE_LR] = lr / sq;
    value[BL_M_SPHERICAL_SHARPNESS] = sq * value[BL_M_SHARPNESS];
    double wd = t->cfg->optim.weight_decay;
    double G = sq * value[BL_M_GRAD_NORM] * value[BL_M_GRAD_NORM];
    value[BL_M_EQUILIBRIUM_NORM] = wd > 0 ? pow(lr * G / (wd * (2 - lr * wd)), 0.25) : NAN;
}

/* Stochastic Lanczos quadrature density of the Hessian at theta: out holds
 * probes x steps nodes, then as many weights (summing to 1). */
static void spectral_density(struct task *t, const struct pass_totals *train, long record,
                             double *out)
{
    const struct bl_measure_cfg *mc = &t->cfg->measure;
    long q = (long)mc->density_probes * mc->density_steps;
    t->hvp_log_scale = train->log_loss_sum;
    t->hvp_factor = gradient_factor(t, train);
    struct bl_rng rng; /* the same probes on every rank of a group */
    bl_rng_init(&rng, t->seed, BL_STREAM_SPECTRUM, 0x40000000u + (uint32_t)record);
    bl_slq_density(t->n_params, objective_hvp, t, mc->density_probes, mc->density_steps, &rng,
                   out, out + q, t->density_work);
}

static void record_metrics(struct task *t, const struct pass_totals *train, double lr,
                           double *records, long n_records, long r, double *spectra,
                           double *densities)
{
    const struct bl_measure_cfg *mc = &t->cfg->measure;
    for (int k = 0; k < bl_snapshot_count(mc->hessian_spectrum); k++)
        if (bl_snapshot_record(mc->hessian_spectrum, n_records, k) == r)
            full_spectrum(t, train, spectra + (long)k * t->n_params);
    for (int k = 0; k < bl_snapshot_count(mc->density); k++)
        if (bl_snapshot_record(mc->density, n_records, k) == r)
            spectral_density(t, train, r, densities + k * bl_density_length(mc));
    const struct bl_config *cfg = t->cfg;
    struct pass_totals test = {NAN, NAN, 0, NAN};
    if (t->data.test.n > 0 && !t->eig)
        pass(t, &t->data.test, NULL, t->test_lo, t->test_hi, 0, &test);
    double norm = bl_norm2(t->theta, t->n_params);
    double train_log = objective_log(t, train->log_loss_sum, train->count);
    double value[BL_METRIC_COUNT];
    value[BL_M_TRAIN_LOSS] = exp(train_log);
    value[BL_M_TRAIN_LOG_LOSS] = train_log;
    value[BL_M_TRAIN_ACC] = train->correct / train->count;
    value[BL_M_TEST_LOG_LOSS] =
        test.count > 0 ? objective_log(t, test.log_loss_sum, test.count) : NAN;
    value[BL_M_TEST_LOSS] = exp(value[BL_M_TEST_LOG_LOSS]);
    value[BL_M_TEST_ACC] = test.count > 0 ? test.correct / test.count : NAN;
    value[BL_M_NORMALIZED_MARGIN] = bl_normalized_margin(train->q_min, norm, t->degree);
    value[BL_M_SMOOTHED_MARGIN] =
        bl_smoothed_margin(cfg->loss.kind, train->log_loss_sum, norm, t->degree);
    value[BL_M_PARAM_NORM] = norm;
    value[BL_M_GRAD_NORM] = gradient_factor(t, train) * bl_norm2(t->grad, t->n_params);
    value[BL_M_LEARNING_RATE] = lr;
    for (int m = BL_M_SHARPNESS; m < BL_METRIC_COUNT; m++)
        value[m] = NAN;
    /* theta and -grad point the same way at a KKT direction */
    double minus_cos = bl_cosine(t->theta, t->grad, t->n_params);
    value[BL_M_GRAD_COSINE] = -minus_cos;
    if (!t->eig)
        layer_metrics(t, value[BL_M_NORMALIZED_MARGIN], value);
    if (cfg->measure.sharpness != BL_SHARP_NONE) {
        measure_sharpness(t, train, r, &value[BL_M_SHARPNESS], &value[BL_M_SHARPNESS_RESIDUAL],
                          &value[BL_M_SHARPNESS_ITERS]);
        value[BL_M_ETA_SHARPNESS] = lr * value[BL_M_SHARPNESS];
    }
    scale_invariant_metrics(t, lr, value); /* uses grad_norm and sharpness */
    if (cfg->measure.trace_probes > 0) {
        t->hvp_log_scale = train->log_loss_sum;
        t->hvp_factor = gradient_factor(t, train);
        struct bl_rng rng; /* every rank of a group draws the same probes */
        bl_rng_init(&rng, t->seed, BL_STREAM_SPECTRUM, 0x80000000u + (uint32_t)r);
        bl_hutchinson_trace(t->n_params, objective_hvp, t, cfg->measure.trace_probes, &rng,
                            &value[BL_M_HESSIAN_TRACE], &value[BL_M_HESSIAN_TRACE_SE],
                            t->trace_work);
    }
    for (int m = 0; m < BL_METRIC_COUNT; m++)
        records[(long)m * n_records + r] = value[m];
}

static int task_setup(struct task *t, const struct bl_config *cfg, uint64_t seed,
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
        }
    }
    const struct bl_measure_cfg *mc = &cfg->measure;
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

static void task_free(struct task *t)
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
        pass(t, &t->data.train, NULL, t->train_lo, t->train_hi, 1, p);
        return;
    }
    const int *batch = bl_batcher_batch(&t->batcher, step);
    long lo, hi;
    shard(t->cfg->optim.batch_size, t->group, &lo, &hi);
    pass(t, &t->data.train, batch, lo, hi, 1, p);
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
    if (task_setup(&t, cfg, seed, g, err, err_len))
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
        task_free(&t);
        bl_task_result_free(res);
        return 1;
    }
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
            pass(&t, &t.data.train, NULL, t.train_lo, t.train_hi, record_now, &full);
        }
        double full_log = objective_log(&t, full.log_loss_sum, full.count);
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
            record_metrics(&t, &full, lr, res->records, n_records, ls.next_record, res->spectra,
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
        double batch_log = objective_log(&t, batch.log_loss_sum, batch.count);
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
    res->n_params = t.n_params;
    res->svm_margin = t.svm_margin;
    res->margin_best = t.margin_best;
    if (cfg->measure.save_params == BL_SAVE_FINAL) {
        res->params = bl_malloc(sizeof(double) * (size_t)t.n_params);
        memcpy(res->params, t.theta, sizeof(double) * t.n_params);
    }
    task_free(&t);
    res->wall_seconds = ls.wall_before + bl_now() - started;
    return 0;
}

int bl_train_hvp_costs(const struct bl_config *cfg, uint64_t seed, int repeats, double tol,
                       struct bl_hvp_costs *out, char *err, unsigned long err_len)
{
    struct bl_config probe = *cfg;
    probe.measure.sharpness = BL_SHARP_LANCZOS; /* so setup allocates the HVP buffers */
    probe.measure.sharpness_iters = 1000;
    struct task t;
    if (task_setup(&t, &probe, seed, NULL, err, err_len))
        return 1;
    struct pass_totals totals;
    double start = bl_now();
    for (int i = 0; i < repeats; i++)
        pass(&t, &t.data.train, NULL, t.train_lo, t.train_hi, 1, &totals);
    out->gradients_per_second = repeats / (bl_now() - start);
    t.hvp_log_scale = totals.log_loss_sum;
    t.hvp_factor = gradient_factor(&t, &totals);
    double *v = bl_malloc(sizeof(double) * (size_t)t.n_params);
    double *hv = bl_malloc(sizeof(double) * (size_t)t.n_params);
    for (long i = 0; i < t.n_params; i++)
        v[i] = t.theta[i];
    start = bl_now();
    for (int i = 0; i < repeats; i++)
        objective_hvp(&t, v, hv);
    out->hvps_per_second = repeats / (bl_now() - start);
    struct bl_rng rng;
    struct bl_eigpair pair;
    struct bl_lanczos_info info;
    bl_rng_init(&rng, seed, BL_STREAM_SPECTRUM, 0);
    bl_lanczos_top(t.n_params, objective_hvp, &t, 1, 1000, tol, &rng, &pair, NULL,
                   t.spectrum_work, &info);
    out->lanczos_hvps = info.matvecs;
    out->lanczos_value = pair.value;
    bl_rng_init(&rng, seed, BL_STREAM_SPECTRUM, 0);
    bl_power_iteration(t.n_params, objective_hvp, &t, 100000, tol, &rng, &pair, NULL,
                       t.spectrum_work);
    out->power_hvps = pair.iterations;
    out->power_value = pair.value;
    free(v);
    free(hv);
    task_free(&t);
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
