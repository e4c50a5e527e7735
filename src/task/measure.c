/* Measurements of a task at a record: losses, margins, norms, the
 * reference comparisons of SCIENCE.md 1-2, and the Hessian (sharpness,
 * trace, full spectrum, spectral density; SCIENCE.md 4) through exact
 * Hessian-vector products, reduced over the group like gradients. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bl_log.h"
#include "bl_loss.h"
#include "bl_metrics.h"
#include "bl_rng.h"
#include "bl_scalapack.h"
#include "bl_spectrum.h"
#include "bl_task.h"

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

void bl_task_hvp_prepare(struct task *t, const struct pass_totals *train)
{
    t->hvp_log_scale = train->log_loss_sum;
    t->hvp_factor = bl_task_gradient_factor(t, train); /* the same scaling as the gradient's */
}

void bl_task_hvp(void *ctx, const double *v, double *out)
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
    bl_task_hvp_prepare(t, train);
    int size = bl_group_size(t->group), ranks[4096];
    for (int r = 0; r < size && r < 4096; r++)
        ranks[r] = r;
    struct bl_scalapack_opts opts = {(enum bl_scalapack_solver)t->cfg->measure.spectrum_solver,
                                     context};
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
    bl_task_hvp_prepare(t, train);
    /* every rank of a group draws the same start vector, so they agree */
    struct bl_rng rng;
    bl_rng_init(&rng, t->seed, BL_STREAM_SPECTRUM, (uint32_t)record);
    struct bl_eigpair pairs[32];
    if (mc->sharpness == BL_SHARP_LANCZOS) {
        struct bl_lanczos_info info;
        int max_iter = mc->sharpness_iters < t->n_params ? mc->sharpness_iters : (int)t->n_params;
        bl_lanczos_top(t->n_params, bl_task_hvp, t, mc->sharpness_k, max_iter,
                       mc->sharpness_tol, &rng, pairs, NULL, t->spectrum_work, &info);
        *iterations = info.iterations;
    } else {
        bl_power_iteration(t->n_params, bl_task_hvp, t, mc->sharpness_iters,
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
    bl_task_hvp_prepare(t, train);
    struct bl_rng rng; /* the same probes on every rank of a group */
    bl_rng_init(&rng, t->seed, BL_STREAM_SPECTRUM, 0x40000000u + (uint32_t)record);
    bl_slq_density(t->n_params, bl_task_hvp, t, mc->density_probes, mc->density_steps, &rng,
                   out, out + q, t->density_work);
}

/* min over lambda >= 0 of ||b - G lambda||, G (rows, n) row-major, by
 * projected coordinate descent on the normal equations (Q = G^T G is
 * positive semi-definite, so every sweep lowers the residual); stops when a
 * sweep moves no lambda_i by more than 1e-15 relative. work: n (n + 1)
 * doubles. lambda (n) out. */
static void nnls(const double *G, const double *b, long rows, int n, double *lambda,
                 double *work)
{
    double *Q = work, *c = work + (long)n * n; /* (n, n), (n) */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, (int)rows, 1.0, G, n, G, n, 0.0,
                Q, n);
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)rows, n, 1.0, G, n, b, 1, 0.0, c, 1);
    for (int i = 0; i < n; i++)
        lambda[i] = 0;
    for (int sweep = 0; sweep < 100000; sweep++) {
        double moved = 0, size = 0;
        for (int i = 0; i < n; i++) {
            if (Q[(long)i * n + i] <= 0)
                continue;
            double grad = -c[i];
            for (int j = 0; j < n; j++)
                grad += Q[(long)i * n + j] * lambda[j];
            double next = fmax(0.0, lambda[i] - grad / Q[(long)i * n + i]);
            moved = fmax(moved, fabs(next - lambda[i]));
            size = fmax(size, next);
            lambda[i] = next;
        }
        if (moved <= 1e-15 * fmax(size, 1e-300))
            break;
    }
}

/* SCIENCE.md 1, approximate KKT point of min 1/2 ||theta||^2 s.t. q_i >= 1:
 * with theta~ = theta / q_min^(1/L) (so min_i q_i(theta~) = 1) and
 * lambda >= 0 minimizing ||theta~ - sum_i lambda_i grad q_i(theta~)||,
 * epsilon is that minimum relative to ||theta~|| and delta =
 * sum_i lambda_i (q_i(theta~) - 1). L-homogeneity gives q_i(theta~) =
 * q_i / q_min and grad q_i(theta~) = grad q_i(theta) q_min^(-(L-1)/L), so
 * everything is computed at theta. Binary data (q_i = y_i f(x_i)). */
static void kkt_metrics(struct task *t, double q_min, double *value)
{
    const struct bl_dataset *set = &t->data.train;
    int n = set->n, L = t->model.degree;
    long P = t->n_params;
    if (!t->kkt_G || L == 0 || !(q_min > 0))
        return;
    double *G = t->kkt_G; /* (P, n): column i = grad q_i(theta~) */
    double *q = t->kkt_work + (long)n * (n + 1), *lambda = q + n; /* (n), (n) */
    double scale_theta = pow(q_min, -1.0 / L), scale_grad = pow(q_min, -(L - 1.0) / L);
    for (int i = 0; i < n; i++) {
        const double *x = set->x + (long)i * set->dim;
        double f = bl_model_forward(&t->model, t->theta, x, 1, &t->ws)[0];
        double y = set->label[i] ? 1.0 : -1.0;
        q[i] = y * f;
        t->ws.delta[0] = y; /* d q_i / d f */
        bl_model_backward(&t->model, t->theta, x, 1, t->ws.delta, &t->ws, t->chunk_grad);
        for (long p = 0; p < P; p++)
            G[p * n + i] = t->chunk_grad[p] * scale_grad;
    }
    double *target = t->kkt_target; /* (P) theta~ */
    for (long p = 0; p < P; p++)
        target[p] = t->theta[p] * scale_theta;
    nnls(G, target, P, n, lambda, t->kkt_work);
    /* residual computed explicitly, not from the normal equations */
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)P, n, -1.0, G, n, lambda, 1, 1.0, target, 1);
    double delta = 0;
    for (int i = 0; i < n; i++)
        delta += lambda[i] * (q[i] / q_min - 1);
    value[BL_M_KKT_EPSILON] = bl_norm2(target, P) / (bl_norm2(t->theta, P) * scale_theta);
    value[BL_M_KKT_DELTA] = delta;
}

void bl_task_record_metrics(struct task *t, const struct pass_totals *train, double lr,
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
        bl_task_pass(t, &t->data.test, NULL, t->test_lo, t->test_hi, 0, &test);
    double norm = bl_norm2(t->theta, t->n_params);
    double train_log = bl_task_objective_log(t, train->log_loss_sum, train->count);
    double value[BL_METRIC_COUNT];
    value[BL_M_TRAIN_LOSS] = exp(train_log);
    value[BL_M_TRAIN_LOG_LOSS] = train_log;
    value[BL_M_TRAIN_ACC] = train->correct / train->count;
    value[BL_M_TEST_LOG_LOSS] =
        test.count > 0 ? bl_task_objective_log(t, test.log_loss_sum, test.count) : NAN;
    value[BL_M_TEST_LOSS] = exp(value[BL_M_TEST_LOG_LOSS]);
    value[BL_M_TEST_ACC] = test.count > 0 ? test.correct / test.count : NAN;
    value[BL_M_NORMALIZED_MARGIN] = bl_normalized_margin(train->q_min, norm, t->degree);
    value[BL_M_SMOOTHED_MARGIN] =
        bl_smoothed_margin(cfg->loss.kind, train->log_loss_sum, norm, t->degree);
    value[BL_M_PARAM_NORM] = norm;
    value[BL_M_GRAD_NORM] = bl_task_gradient_factor(t, train) * bl_norm2(t->grad, t->n_params);
    value[BL_M_LEARNING_RATE] = lr;
    for (int m = BL_M_SHARPNESS; m < BL_METRIC_COUNT; m++)
        value[m] = NAN;
    /* theta and -grad point the same way at a KKT direction */
    double minus_cos = bl_cosine(t->theta, t->grad, t->n_params);
    value[BL_M_GRAD_COSINE] = -minus_cos;
    if (!t->eig)
        layer_metrics(t, value[BL_M_NORMALIZED_MARGIN], value);
    kkt_metrics(t, train->q_min, value);
    if (cfg->measure.sharpness != BL_SHARP_NONE) {
        measure_sharpness(t, train, r, &value[BL_M_SHARPNESS], &value[BL_M_SHARPNESS_RESIDUAL],
                          &value[BL_M_SHARPNESS_ITERS]);
        value[BL_M_ETA_SHARPNESS] = lr * value[BL_M_SHARPNESS];
    }
    scale_invariant_metrics(t, lr, value); /* uses grad_norm and sharpness */
    if (cfg->measure.trace_probes > 0) {
        bl_task_hvp_prepare(t, train);
        struct bl_rng rng; /* every rank of a group draws the same probes */
        bl_rng_init(&rng, t->seed, BL_STREAM_SPECTRUM, 0x80000000u + (uint32_t)r);
        bl_hutchinson_trace(t->n_params, bl_task_hvp, t, cfg->measure.trace_probes, &rng,
                            &value[BL_M_HESSIAN_TRACE], &value[BL_M_HESSIAN_TRACE_SE],
                            t->trace_work);
    }
    for (int m = 0; m < BL_METRIC_COUNT; m++)
        records[(long)m * n_records + r] = value[m];
}

int bl_train_hvp_costs(const struct bl_config *cfg, uint64_t seed, int repeats, double tol,
                       struct bl_hvp_costs *out, char *err, unsigned long err_len)
{
    struct bl_config probe = *cfg;
    probe.measure.sharpness = BL_SHARP_LANCZOS; /* so setup allocates the HVP buffers */
    probe.measure.sharpness_iters = 1000;
    struct task t;
    if (bl_task_setup(&t, &probe, seed, NULL, err, err_len))
        return 1;
    struct pass_totals totals;
    double start = bl_now();
    for (int i = 0; i < repeats; i++)
        bl_task_pass(&t, &t.data.train, NULL, t.train_lo, t.train_hi, 1, &totals);
    out->gradients_per_second = repeats / (bl_now() - start);
    bl_task_hvp_prepare(&t, &totals);
    double *v = bl_malloc(sizeof(double) * (size_t)t.n_params);
    double *hv = bl_malloc(sizeof(double) * (size_t)t.n_params);
    for (long i = 0; i < t.n_params; i++)
        v[i] = t.theta[i];
    start = bl_now();
    for (int i = 0; i < repeats; i++)
        bl_task_hvp(&t, v, hv);
    out->hvps_per_second = repeats / (bl_now() - start);
    struct bl_rng rng;
    struct bl_eigpair pair;
    struct bl_lanczos_info info;
    bl_rng_init(&rng, seed, BL_STREAM_SPECTRUM, 0);
    bl_lanczos_top(t.n_params, bl_task_hvp, &t, 1, 1000, tol, &rng, &pair, NULL,
                   t.spectrum_work, &info);
    out->lanczos_hvps = info.matvecs;
    out->lanczos_value = pair.value;
    bl_rng_init(&rng, seed, BL_STREAM_SPECTRUM, 0);
    bl_power_iteration(t.n_params, bl_task_hvp, &t, 100000, tol, &rng, &pair, NULL,
                       t.spectrum_work);
    out->power_hvps = pair.iterations;
    out->power_value = pair.value;
    free(v);
    free(hv);
    bl_task_free(&t);
    return 0;
}
