/* Measurements of a task (bl_measure.h): the references it is compared
 * with, and at each record the losses, margins, norms, the reference
 * comparisons of SCIENCE.md 1-2, and the Hessian (sharpness, trace, full
 * spectrum, spectral density; SCIENCE.md 4) through exact Hessian-vector
 * products, reduced over the group like gradients. Which metrics the output
 * keeps is the layout's business (bl_metric_applies); this file computes
 * what the model and config allow and writes the fields the layout has. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bl_completion.h"
#include "bl_gemm.h"
#include "bl_kernel_predictor.h"
#include "bl_l1_margin.h"
#include "bl_log.h"
#include "bl_loss.h"
#include "bl_measure.h"
#include "bl_metrics.h"
#include "bl_planar_margin.h"
#include "bl_reference.h"
#include "bl_rng.h"
#include "bl_scalapack.h"
#include "bl_spectrum.h"

/* Column j of the Hessian for ScaLAPACK's assembly. */
struct column_ctx {
    struct task *t;
    double *unit;
};
static void hessian_column(void *ctx, long j, double *column)
{
    struct column_ctx *c = ctx;
    bl_task_hessian_column(c->t, c->unit, j, column);
}

/* Every eigenvalue of the training-objective Hessian at theta (ascending),
 * through ScaLAPACK over the group's ranks. */
static void full_spectrum(struct bl_measure *ms, struct task *t, const struct pass_totals *train,
                          double *eigenvalues)
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
    struct column_ctx column = {t, ms->unit};
    char err[BL_ERR_MAX];
    if (bl_scalapack_eigenvalues_ex(t->n_params, 32, hessian_column, &column, ranks, size, &opts,
                                    eigenvalues, NULL, err, sizeof err))
        bl_fatal(BL_EXIT_RUNTIME, "Hessian spectrum: %s", err);
}

/* The top Hessian eigenvalue (measure.sharpness) at theta: value, residual,
 * iterations. train holds the full training loss at theta. */
static void measure_sharpness(struct bl_measure *ms, struct task *t,
                              const struct pass_totals *train, long record, double *payload,
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
                       mc->sharpness_tol, &rng, pairs, NULL, ms->spectrum_work, &info);
        *iterations = info.iterations;
        const struct bl_result_layout *L = ms->layout;
        for (int i = 0; L->sharpness_top >= 0 && i < L->top_k && i < mc->sharpness_k; i++) {
            bl_result_at(L, payload, L->sharpness_top)[record * L->top_k + i] = pairs[i].value;
            bl_result_at(L, payload, L->sharpness_top_residual)[record * L->top_k + i] =
                pairs[i].residual;
        }
    } else {
        bl_power_iteration(t->n_params, bl_task_hvp, t, mc->sharpness_iters,
                           mc->sharpness_tol, &rng, pairs, NULL, ms->spectrum_work);
        *iterations = pairs[0].iterations;
    }
    *value = pairs[0].value;
    *residual = pairs[0].residual;
}

/* v -> W1^T W1 v / ||W1||_F^2 for the first layer W1 (rows, cols): the
 * scaling puts the top eigenvalue, 1 / stable rank, in [1/min(rows, cols),
 * 1], where power iteration's tolerance (absolute below 1) is relative */
struct gram_ctx {
    const double *w1;
    int rows, cols;
    double *tmp; /* (rows) */
    double inv_frob;
};
static void first_layer_gram(void *ctx, const double *v, double *out)
{
    struct gram_ctx *g = ctx;
    cblas_dgemv(CblasRowMajor, CblasNoTrans, g->rows, g->cols, 1.0, g->w1, g->cols, v, 1, 0.0,
                g->tmp, 1);
    cblas_dgemv(CblasRowMajor, CblasTrans, g->rows, g->cols, g->inv_frob, g->w1, g->cols, g->tmp,
                1, 0.0, out, 1);
}

/* The first layer's Gram matrix when its smaller side is at most this:
 * LAPACK's eigenvalues of it cost ~g^3 (a few ms at 256), where power
 * iteration on W1^T W1 needed up to 2000 products with W1 to reach 1e-12
 * (the wide MLP's 2048 x 256 layer: ~0.8 s a record) and could stop short
 * of it when the top two singular values are close. */
#define GRAM_MAX 1024
static int gram_side(int rows, int cols) { return rows < cols ? rows : cols; }

/* The largest eigenvalue of W1^T W1 (rows, cols) = sigma_1(W1)^2, frob =
 * ||W1||_F^2: from the Gram matrix on the smaller side when there is room
 * for it, else by power iteration. */
static double top_gram_eigenvalue(struct bl_measure *ms, struct task *t, const double *w1,
                                  int rows, int cols, double frob)
{
    int g = gram_side(rows, cols);
    if (ms->gram) {
        double *gram = ms->gram, *eigenvalues = ms->gram + (long)g * g;
        if (cols <= rows) /* (cols, cols) = W1^T W1 */
            bl_gemm(1, 0, g, g, rows, w1, cols, w1, cols, 0.0, gram, g, NULL);
        else /* (rows, rows) = W1 W1^T */
            bl_gemm(0, 1, g, g, cols, w1, cols, w1, cols, 0.0, gram, g, NULL);
        return bl_symmetric_singular_values(gram, g, eigenvalues) == 0 ? eigenvalues[0] : NAN;
    }
    if (!(frob > 0))
        return 0;
    struct bl_rng rng;
    bl_rng_init(&rng, t->seed, BL_STREAM_SPECTRUM, 0xffffffffu);
    struct bl_eigpair top;
    struct gram_ctx gram = {w1, rows, cols, ms->feature_work + 3L * cols, 1.0 / frob};
    bl_power_iteration(cols, first_layer_gram, &gram, 2000, 1e-12, &rng, &top, NULL,
                       ms->feature_work);
    return top.value * frob;
}

/* The first layer's stable rank and neuron alignments, and with a reference
 * the effective linear predictor's agreement with the SVM (SCIENCE.md 2). */
static void layer_metrics(struct bl_measure *ms, struct task *t, double normalized_margin,
                          double *value)
{
    int rows, cols = t->model.inputs;
    const double *w1 = t->model.ops->feature_layer(&t->model, t->theta, &rows); /* (rows, cols) */
    double frob = 0;
    for (long i = 0; i < (long)rows * cols; i++)
        frob += w1[i] * w1[i];
    double top = top_gram_eigenvalue(ms, t, w1, rows, cols, frob);
    value[BL_M_STABLE_RANK] = top > 0 ? frob / top : NAN;
    if (!ms->mu)
        return;
    double mu_sum = 0, svm_sum = 0;
    for (int k = 0; k < rows; k++) {
        mu_sum += fabs(bl_cosine(w1 + (long)k * cols, ms->mu, cols));
        if (ms->w_svm)
            svm_sum += fabs(bl_cosine(w1 + (long)k * cols, ms->w_svm, cols));
    }
    value[BL_M_MU_ALIGNMENT] = mu_sum / rows;
    value[BL_M_MARGIN_RATIO] = normalized_margin / ms->margin_best; /* NaN without it */
    if (!ms->w_svm)
        return;
    value[BL_M_SVM_ALIGNMENT] = svm_sum / rows;
    double *predictor = ms->feature_work + 2L * cols; /* (cols) */
    t->model.ops->linear_predictor(&t->model, t->theta, predictor);
    value[BL_M_SVM_COSINE] = bl_cosine(predictor, ms->w_svm, cols);
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
        if (i < t->model.frozen_lo || i >= t->model.frozen_hi)
            sq += t->theta[i] * t->theta[i];
    value[BL_M_TRAINED_NORM] = sqrt(sq);
    value[BL_M_EFFECTIVE_LR] = lr / sq;
    value[BL_M_SPHERICAL_SHARPNESS] = sq * value[BL_M_SHARPNESS];
    double wd = t->cfg->optim.weight_decay;
    double G = sq * value[BL_M_GRAD_NORM] * value[BL_M_GRAD_NORM];
    value[BL_M_EQUILIBRIUM_NORM] = wd > 0 ? pow(lr * G / (wd * (2 - lr * wd)), 0.25) : NAN;
}

/* v -> -H v: Lanczos's largest algebraic eigenvalue of -H is -lambda_min(H). */
static void negated_hvp(void *ctx, const double *v, double *out)
{
    struct task *t = ctx;
    bl_task_hvp(t, v, out);
    for (long i = 0; i < t->n_params; i++)
        out[i] = -out[i];
}

/* The smallest algebraic Hessian eigenvalue (negative curvature) and its
 * residual, by Lanczos on -H from a start of its own stream. */
static void min_eigenvalue(struct bl_measure *ms, struct task *t, const struct pass_totals *train,
                           long record, double *value, double *residual)
{
    const struct bl_measure_cfg *mc = &t->cfg->measure;
    bl_task_hvp_prepare(t, train);
    struct bl_rng rng;
    bl_rng_init(&rng, t->seed, BL_STREAM_SPECTRUM, 0xc0000000u + (uint32_t)record);
    struct bl_eigpair pair;
    struct bl_lanczos_info info;
    int max_iter = mc->sharpness_iters < t->n_params ? mc->sharpness_iters : (int)t->n_params;
    bl_lanczos_top(t->n_params, negated_hvp, t, 1, max_iter, mc->sharpness_tol, &rng, &pair,
                   NULL, ms->spectrum_work, &info);
    *value = -pair.value;
    *residual = pair.residual;
}

/* Stochastic Lanczos quadrature density of the Hessian at theta: out holds
 * probes x steps nodes, and as many weights (summing to 1). */
static void spectral_density(struct bl_measure *ms, struct task *t,
                             const struct pass_totals *train, long record, double *nodes,
                             double *weights)
{
    const struct bl_measure_cfg *mc = &t->cfg->measure;
    bl_task_hvp_prepare(t, train);
    struct bl_rng rng; /* the same probes on every rank of a group */
    bl_rng_init(&rng, t->seed, BL_STREAM_SPECTRUM, 0x40000000u + (uint32_t)record);
    bl_slq_density(t->n_params, bl_task_hvp, t, mc->density_probes, mc->density_steps, &rng,
                   nodes, weights, ms->density_work);
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
static void kkt_metrics(struct bl_measure *ms, struct task *t, double q_min, double *value)
{
    const struct bl_dataset *set = &t->data.train;
    int n = set->n, L = t->model.degree;
    long P = t->n_params;
    if (!ms->kkt_G || L == 0 || !(q_min > 0))
        return;
    double *G = ms->kkt_G; /* (P, n): column i = grad q_i(theta~) */
    double *q = ms->kkt_work + (long)n * (n + 1), *lambda = q + n; /* (n), (n) */
    double scale_theta = pow(q_min, -1.0 / L), scale_grad = pow(q_min, -(L - 1.0) / L);
    /* the per-example passes below overwrite the workspace: an HVP must not
     * take its forward pass as kept (task.c's hvp_range) */
    t->hvp_kept_lo = t->hvp_kept_hi = -1;
    for (int i = 0; i < n; i++) {
        struct bl_batch one = bl_dataset_rows(set, i, 1);
        double f = bl_model_forward(&t->model, t->theta, &one, &t->ws)[0];
        double y = set->label[i] ? 1.0 : -1.0;
        q[i] = y * f;
        t->ws.dout[0] = y; /* d q_i / d f */
        bl_model_backward(&t->model, t->theta, &one, t->ws.dout, &t->ws, t->chunk_grad);
        for (long p = 0; p < P; p++)
            G[p * n + i] = t->chunk_grad[p] * scale_grad;
    }
    double *target = ms->kkt_target; /* (P) theta~ */
    for (long p = 0; p < P; p++)
        target[p] = t->theta[p] * scale_theta;
    nnls(G, target, P, n, lambda, ms->kkt_work);
    /* residual computed explicitly, not from the normal equations */
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)P, n, -1.0, G, n, lambda, 1, 1.0, target, 1);
    double delta = 0;
    for (int i = 0; i < n; i++)
        delta += lambda[i] * (q[i] / q_min - 1);
    value[BL_M_KKT_EPSILON] = bl_norm2(target, P) / (bl_norm2(t->theta, P) * scale_theta);
    value[BL_M_KKT_DELTA] = delta;
}

/* On data that lie in a plane the best two-layer margin is computable
 * exactly (src/reference/planar_margin.c): it replaces the symmetric-data
 * prediction, which on asymmetric data is only a lower bound. margin_best is
 * the LP's lower end, a margin some net attains, normally within 1e-4 of the
 * upper bound; the LP is capped at 2e6 nonzeros (about 100 MB), and a wider
 * bracket is reported. Other data keep (1 + s) / 4 gamma_SVM. The LP needs
 * no SVM: a two-layer net may separate data no hyperplane through the
 * origin separates. */
static void planar_optimum(struct bl_measure *ms, struct task *t, double slope)
{
    const struct bl_dataset *d = &t->data.train;
    struct bl_planar_margin best;
    char err[256];
    int rc = bl_planar_best_margin(d->x, d->label, d->n, d->dim, slope, 1e-4, 2000000L, &best,
                                   err, sizeof err);
    if (rc == 0 || rc == 3)
        ms->margin_best = best.lower;
    if (rc == 3) {
        ms->reference_status = BL_REF_BRACKET;
        bl_info("warning: seed %llu: best planar margin %s; margin_best is the lower end",
                (unsigned long long)t->seed, err);
    } else if (rc == 2) {
        ms->reference_status = ms->w_svm ? BL_REF_LP_FAILED : BL_REF_NOT_SEPARABLE;
        bl_info("warning: seed %llu: best planar margin not computed (%s); margin_best %s",
                (unsigned long long)t->seed, err,
                ms->w_svm ? "stays (1+s)/4 gamma_SVM" : "is NaN");
    }
}

/* mu = (1/n) sum_i y_i x_i on binary data, and with measure.reference = svm
 * the hard-margin SVM direction and the best normalized margin, with
 * reference_status saying why any of them is missing. */
static void references(struct bl_measure *ms, struct task *t)
{
    const struct bl_dataset *d = &t->data.train;
    int dim = d->dim;
    double slope;
    enum bl_margin_kind kind = bl_model_margin_reference(&t->model, &slope);
    ms->svm_margin = ms->margin_best = NAN;
    ms->reference_status = BL_REF_OK;
    if (t->model.ops->objective || !d->x || !d->label || t->model.outputs != 1)
        return;
    ms->mu = bl_calloc((size_t)dim, sizeof(double));
    for (int i = 0; i < d->n; i++) {
        double y = d->label[i] ? 1.0 : -1.0;
        for (int j = 0; j < dim; j++)
            ms->mu[j] += y * d->x[(long)i * dim + j] / d->n;
    }
    if (t->cfg->measure.reference != BL_REF_SVM || kind == BL_MARGIN_NONE)
        return;
    ms->w_svm = bl_malloc(sizeof(double) * (size_t)dim);
    struct bl_svm_result svm;
    int rc = bl_svm_hard_margin(d->x, d->label, d->n, dim, 1e-12, 10L * (d->n + dim), ms->w_svm,
                                NULL, &svm);
    if (rc != 0) { /* not separable through the origin: no max-margin direction */
        free(ms->w_svm);
        ms->w_svm = NULL;
        ms->reference_status = BL_REF_NOT_SEPARABLE;
        bl_info("warning: seed %llu: no hyperplane through the origin separates the training "
                "set (standardized or shifted data?): svm_margin and the SVM comparisons are "
                "NaN%s",
                (unsigned long long)t->seed,
                kind == BL_MARGIN_TWO_LAYER_PLANAR ? "; the planar two-layer optimum is tried"
                                                   : ", and so is margin_best");
    } else {
        ms->svm_margin = svm.gamma;
        ms->margin_best =
            kind == BL_MARGIN_LINEAR ? svm.gamma : bl_two_layer_margin_bound(svm.gamma, slope);
    }
    if (kind == BL_MARGIN_TWO_LAYER_PLANAR)
        planar_optimum(ms, t, slope);
    if (ms->reference_status == BL_REF_NOT_SEPARABLE && isfinite(ms->margin_best))
        ms->reference_status = BL_REF_NO_SVM; /* the LP found the two-layer optimum */
}

/* ||a - b|| (n), scaled like bl_norm2 */
static double distance_from(const double *a, const double *b, long n)
{
    double scale = 0, ssq = 1;
    for (long i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]);
        if (d == 0)
            continue;
        if (scale < d) {
            ssq = 1 + ssq * (scale / d) * (scale / d);
            scale = d;
        } else {
            ssq += (d / scale) * (d / scale);
        }
    }
    return scale * sqrt(ssq);
}

/* SCIENCE.md 3: the transition around t* = ln(alpha) / (eta lambda) GD
 * steps for a model started at alpha times a fixed direction (alpha =
 * model.init_scale). For alpha <= 1 there is no kernel phase to leave
 * (ln alpha <= 0: the rich regime from the start), without weight decay
 * nothing drives the norm down, and with the loss-based rate eta is not a
 * constant: t_star is NaN then. */
static void grokking_predictions(struct bl_measure *ms, struct task *t, double *payload)
{
    const struct bl_result_layout *L = ms->layout;
    const struct bl_config *c = t->cfg;
    double alpha = c->model.init_scale, lambda = c->optim.weight_decay, eta = c->optim.lr;
    if (L->t_star >= 0)
        *bl_result_at(L, payload, L->t_star) =
            alpha > 1 && lambda > 0 && c->optim.schedule == BL_SCHED_CONSTANT &&
                    !t->model.ops->objective
                ? log(alpha) / (eta * lambda)
                : NAN;
    if (L->init_coordinate >= 0 && t->model.ops->uniform_init) {
        *bl_result_at(L, payload, L->init_coordinate) = t->theta[0];
        *bl_result_at(L, payload, L->init_norm) = ms->theta0_norm;
    }
}

/* The step of the first record r >= from whose value passes (above: value >=
 * threshold; else value < threshold, or <= it when inclusive), or NaN; *at
 * gets r (or n). */
static double first_record(const double *value, long from, long n, double threshold, int above,
                           const struct bl_config *c, bl_record_step_fn record_step, long *at,
                           int inclusive)
{
    for (long r = from; r < n; r++)
        if (above       ? value[r] >= threshold
            : inclusive ? value[r] <= threshold
                        : value[r] < threshold) {
            *at = r;
            return (double)record_step(&c->optim, &c->measure, r);
        }
    *at = n;
    return NAN;
}

void bl_measure_finish(struct bl_measure *ms, struct task *t, bl_record_step_fn record_step,
                       double *payload)
{
    const struct bl_result_layout *L = ms->layout;
    const struct bl_measure_cfg *mc = &t->cfg->measure;
    long n = L->n_records, at;
    if (t->cfg->data.targets > 0) { /* regression: the first MSE at most fit_threshold */
        if (L->memorize_step >= 0 && L->metric_field[BL_M_TRAIN_MSE] >= 0)
            *bl_result_at(L, payload, L->memorize_step) =
                first_record(bl_result_at(L, payload, L->metric_field[BL_M_TRAIN_MSE]), 0, n,
                             mc->fit_threshold, 0, t->cfg, record_step, &at, 1);
        if (L->grok_step >= 0 && L->metric_field[BL_M_TEST_MSE] >= 0)
            *bl_result_at(L, payload, L->grok_step) =
                first_record(bl_result_at(L, payload, L->metric_field[BL_M_TEST_MSE]), 0, n,
                             mc->fit_threshold, 0, t->cfg, record_step, &at, 1);
        return;
    }
    if (L->memorize_step >= 0 && L->metric_field[BL_M_TRAIN_ACC] >= 0)
        *bl_result_at(L, payload, L->memorize_step) =
            first_record(bl_result_at(L, payload, L->metric_field[BL_M_TRAIN_ACC]), 0, n,
                         mc->fit_threshold, 1, t->cfg, record_step, &at, 0);
    if (L->grok_step >= 0 && L->metric_field[BL_M_TEST_ACC] >= 0) {
        const double *test = bl_result_at(L, payload, L->metric_field[BL_M_TEST_ACC]);
        *bl_result_at(L, payload, L->grok_step) =
            first_record(test, 0, n, mc->fit_threshold, 1, t->cfg, record_step, &at, 0);
        *bl_result_at(L, payload, L->ungrok_step) =
            at < n ? first_record(test, at + 1, n, mc->drop_threshold, 0, t->cfg, record_step,
                                  &at, 0)
                   : NAN;
    }
}

/* Fraction of set's examples w (dim) classifies right: y <w, x> > 0. */
static double linear_accuracy(const struct bl_dataset *set, const double *w)
{
    if (set->n == 0)
        return NAN;
    double right = 0;
    for (int i = 0; i < set->n; i++) {
        double s = 0;
        for (int j = 0; j < set->dim; j++)
            s += w[j] * set->x[(long)i * set->dim + j];
        right += (set->label[i] ? s : -s) > 0;
    }
    return right / set->n;
}

/* SCIENCE.md 3: a diagonal net's kernel regime is the max-L2-margin linear
 * classifier (its NTK at u = v is the linear kernel) and its rich regime
 * the max-L1-margin one; both solved once per task from the training set,
 * with each one's test accuracy as an outcome. */
static void diag_references(struct bl_measure *ms, struct task *t, double *payload)
{
    const struct bl_result_layout *L = ms->layout;
    const struct bl_dataset *d = &t->data.train;
    if (L->metric_field[BL_M_L1_COSINE] < 0 || !t->model.ops->l1_l2_references ||
        t->cfg->measure.reference != BL_REF_SVM || !d->x || !d->label)
        return;
    int dim = d->dim;
    ms->predictor = bl_malloc(sizeof(double) * (size_t)dim);
    ms->w_l2 = bl_malloc(sizeof(double) * (size_t)dim);
    ms->w_l1 = bl_malloc(sizeof(double) * (size_t)dim);
    struct bl_svm_result svm;
    if (bl_svm_hard_margin(d->x, d->label, d->n, dim, 1e-12, 10L * (d->n + dim), ms->w_l2, NULL,
                           &svm) != 0) {
        bl_info("warning: seed %llu: no max-L2-margin classifier (the training set is not "
                "separable through the origin, or the SVM did not converge): l2_cosine is NaN",
                (unsigned long long)t->seed);
        free(ms->w_l2);
        ms->w_l2 = NULL;
    }
    double gamma;
    char err[256];
    int rc = bl_l1_max_margin(d->x, d->label, d->n, dim, ms->w_l1, &gamma, err, sizeof err);
    if (rc != 0) {
        bl_info("warning: seed %llu: no max-L1-margin classifier (%s): l1_cosine is NaN",
                (unsigned long long)t->seed, rc == 1 ? "not separable through the origin" : err);
        free(ms->w_l1);
        ms->w_l1 = NULL;
    }
    const struct bl_dataset *test = &t->data.test;
    *bl_result_at(L, payload, L->l2_test_acc) = ms->w_l2 ? linear_accuracy(test, ms->w_l2) : NAN;
    *bl_result_at(L, payload, L->l1_test_acc) = ms->w_l1 ? linear_accuracy(test, ms->w_l1) : NAN;
}

/* SCIENCE.md 3, matrix completion: a model whose outputs are the entries of
 * one symmetric matrix W gets W's nuclear norm and effective rank at every
 * record; on index-pair data with a test set, the kernel-regime predictor's
 * test MSE (the plateau) and ||X*||_* are outcomes, computed from the data
 * alone. */
static void matrix_references(struct bl_measure *ms, struct task *t, double *payload)
{
    const struct bl_result_layout *L = ms->layout;
    if (!t->model.ops->symmetric_matrix)
        return;
    int d = t->model.ops->symmetric_matrix(&t->model, t->theta, NULL);
    ms->matrix_work = bl_malloc(sizeof(double) * ((size_t)d * d + d));
    const struct bl_dataset *train = &t->data.train, *test = &t->data.test;
    if (L->kernel_test_mse < 0 || train->arity != 2 || !train->target)
        return;
    *bl_result_at(L, payload, L->kernel_test_mse) = bl_kernel_completion_mse(train, test, d);
    double *x = ms->matrix_work, *sigma = x + (long)d * d;
    *bl_result_at(L, payload, L->target_nuclear_norm) =
        bl_completion_target(train, test, d, x) == 0 && bl_singular_values(x, d, sigma) == 0
            ? bl_nuclear_norm(sigma, d)
            : NAN;
}

/* SCIENCE.md 3: the kernel regime's predictor of a multi-class net, kernel
 * regression with its NTK at init (the model's closed-form ntk_gram) of
 * the one-hot training labels (bl_kernel_predictor.h), solved once per task
 * from the training set; its test accuracy is an outcome. The test Gram
 * rows go in chunks, so the memory is n^2 + 1024 n doubles. */
static void kernel_reference(struct bl_measure *ms, struct task *t, double *payload)
{
    const struct bl_result_layout *L = ms->layout;
    const struct bl_dataset *train = &t->data.train, *test = &t->data.test;
    if (L->kernel_test_acc < 0 || !t->model.ops->ntk_gram || !train->label || test->n == 0)
        return;
    int n = train->n, k = t->model.outputs, chunk = 1024;
    double *K = bl_malloc(sizeof(double) * (size_t)n * n);              /* (n, n) */
    double *A = bl_malloc(sizeof(double) * (size_t)n * k);              /* (n, k) */
    double *Kt = bl_malloc(sizeof(double) * (size_t)chunk * n);         /* (chunk, n) */
    struct bl_batch all = bl_dataset_rows(train, 0, n);
    t->model.ops->ntk_gram(&t->model, ms->theta0, &all, &all, K);
    double acc = NAN;
    if (bl_kernel_fit(K, n, train->label, k, A) == 0) {
        long right = 0;
        for (int lo = 0; lo < test->n; lo += chunk) {
            int m = test->n - lo < chunk ? test->n - lo : chunk;
            struct bl_batch rows = bl_dataset_rows(test, lo, m);
            t->model.ops->ntk_gram(&t->model, ms->theta0, &rows, &all, Kt);
            right += bl_kernel_correct(Kt, m, n, A, k, test->label + lo);
        }
        acc = (double)right / test->n;
    } else {
        bl_info("warning: seed %llu: the kernel predictor's Gram matrix is not positive "
                "definite even with its ridge: kernel_test_acc is NaN",
                (unsigned long long)t->seed);
    }
    *bl_result_at(L, payload, L->kernel_test_acc) = acc;
    free(K);
    free(A);
    free(Kt);
}

int bl_measure_needs_hvp(const struct bl_measure_cfg *mc)
{
    return mc->sharpness != BL_SHARP_NONE || mc->trace_probes > 0 || mc->min_eigenvalue ||
           bl_snapshot_count(mc->density) || bl_snapshot_count(mc->hessian_spectrum);
}

void bl_measure_setup(struct bl_measure *ms, struct task *t, const struct bl_result_layout *L,
                      double *payload)
{
    memset(ms, 0, sizeof *ms);
    ms->layout = L;
    const struct bl_measure_cfg *mc = &t->cfg->measure;
    long P = t->n_params;
    references(ms, t);
    if (L->svm_margin >= 0)
        *bl_result_at(L, payload, L->svm_margin) = ms->svm_margin;
    if (L->margin_best >= 0)
        *bl_result_at(L, payload, L->margin_best) = ms->margin_best;
    if (L->reference_status >= 0)
        *bl_result_at(L, payload, L->reference_status) = ms->reference_status;
    ms->theta0 = bl_malloc(sizeof(double) * (size_t)P);
    memcpy(ms->theta0, t->theta, sizeof(double) * (size_t)P);
    ms->theta0_norm = bl_norm2(t->theta, P);
    grokking_predictions(ms, t, payload);
    diag_references(ms, t, payload);
    matrix_references(ms, t, payload);
    if (L->metric_field[BL_M_NOISE_TRACE] >= 0 && !t->model.ops->objective) {
        bl_noise_setup(&ms->noise, t);
        ms->has_noise = 1;
        *bl_result_at(L, payload, L->noise_exact) = ms->noise.exact;
    }
    kernel_reference(ms, t, payload);
    int rows;
    if (t->model.ops->feature_layer && t->model.ops->feature_layer(&t->model, t->theta, &rows)) {
        ms->feature_work = bl_malloc(sizeof(double) * (size_t)(3 * t->model.inputs + rows));
        size_t g = (size_t)gram_side(rows, t->model.inputs);
        if (g <= GRAM_MAX)
            ms->gram = bl_malloc(sizeof(double) * (g * g + g));
    }
    if (mc->kkt && ms->mu && t->model.degree > 0) {
        long n = t->data.train.n;
        ms->kkt_G = bl_malloc(sizeof(double) * (size_t)(P * n));
        ms->kkt_target = bl_malloc(sizeof(double) * (size_t)P);
        ms->kkt_work = bl_malloc(sizeof(double) * (size_t)(n * (n + 3)));
    }
    if (!bl_model_has_hvp(&t->model))
        return; /* the Hessian metrics stay NaN */
    if (mc->trace_probes > 0)
        ms->trace_work = bl_malloc(sizeof(double) * 2 * (size_t)P);
    if (bl_snapshot_count(mc->density))
        ms->density_work = bl_malloc(sizeof(double) * bl_slq_work_doubles(P, mc->density_steps));
    if (bl_snapshot_count(mc->hessian_spectrum))
        ms->unit = bl_calloc((size_t)P, sizeof(double));
    if (mc->sharpness != BL_SHARP_NONE || mc->min_eigenvalue) {
        size_t work = mc->sharpness == BL_SHARP_LANCZOS || mc->min_eigenvalue
                          ? bl_lanczos_work_doubles(P, mc->sharpness_iters)
                          : 2 * (size_t)P;
        if (work < 2 * (size_t)P)
            work = 2 * (size_t)P;
        ms->spectrum_work = bl_malloc(sizeof(double) * work);
    }
}

void bl_measure_free(struct bl_measure *ms)
{
    free(ms->mu);
    free(ms->w_svm);
    free(ms->feature_work);
    free(ms->gram);
    free(ms->spectrum_work);
    free(ms->trace_work);
    free(ms->density_work);
    free(ms->unit);
    free(ms->kkt_G);
    free(ms->kkt_target);
    free(ms->kkt_work);
    free(ms->theta0);
    free(ms->w_l2);
    free(ms->w_l1);
    free(ms->predictor);
    free(ms->matrix_work);
    if (ms->has_noise)
        bl_noise_free(&ms->noise);
    memset(ms, 0, sizeof *ms);
}

void bl_measure_record(struct bl_measure *ms, struct task *t, const struct pass_totals *train,
                       double lr, long r, double *payload)
{
    const struct bl_result_layout *L = ms->layout;
    const struct bl_measure_cfg *mc = &t->cfg->measure;
    for (int k = 0; k < L->n_spectra; k++)
        if (bl_snapshot_record(mc->hessian_spectrum, L->n_records, k) == r)
            full_spectrum(ms, t, train,
                          bl_result_at(L, payload, L->spectra) + (long)k * L->max_params);
    for (int k = 0; k < L->n_densities; k++)
        if (bl_snapshot_record(mc->density, L->n_records, k) == r)
            spectral_density(ms, t, train, r,
                             bl_result_at(L, payload, L->density_nodes) + k * L->density_nodes_per,
                             bl_result_at(L, payload, L->density_weights) +
                                 k * L->density_nodes_per);
    const struct bl_config *cfg = t->cfg;
    int data = !t->model.ops->objective;
    struct pass_totals test = {NAN, NAN, 0, NAN};
    if (t->data.test.n > 0 && data)
        bl_task_pass(t, &t->data.test, NULL, t->test_lo, t->test_hi, 0, &test);
    double norm = bl_norm2(t->theta, t->n_params);
    double train_log = bl_task_objective_log(t, train->log_loss_sum, train->count);
    int degree = t->model.margin_degree;
    double value[BL_METRIC_COUNT];
    for (int m = 0; m < BL_METRIC_COUNT; m++)
        value[m] = NAN;
    value[BL_M_TRAIN_LOSS] = exp(train_log);
    value[BL_M_TRAIN_LOG_LOSS] = train_log;
    value[BL_M_TRAIN_ACC] = train->correct / train->count;
    value[BL_M_TEST_LOG_LOSS] =
        test.count > 0 ? bl_task_objective_log(t, test.log_loss_sum, test.count) : NAN;
    value[BL_M_TEST_LOSS] = exp(value[BL_M_TEST_LOG_LOSS]);
    value[BL_M_TEST_ACC] = test.count > 0 ? test.correct / test.count : NAN;
    if (t->data.train.target) { /* l = 1/2 |f - t|^2 summed: MSE = 2 l / (n targets) */
        double per = t->data.train.targets;
        value[BL_M_TRAIN_MSE] = 2 * exp(train->log_loss_sum) / (train->count * per);
        value[BL_M_TEST_MSE] =
            test.count > 0 ? 2 * exp(test.log_loss_sum) / (test.count * per) : NAN;
    }
    if (ms->matrix_work) {
        int d = t->model.ops->symmetric_matrix(&t->model, t->theta, ms->matrix_work);
        double *sigma = ms->matrix_work + (long)d * d;
        if (bl_symmetric_singular_values(ms->matrix_work, d, sigma) == 0) {
            value[BL_M_NUCLEAR_NORM] = bl_nuclear_norm(sigma, d);
            value[BL_M_EFFECTIVE_RANK] = bl_effective_rank(sigma, d);
        }
    }
    value[BL_M_NORMALIZED_MARGIN] = bl_normalized_margin(train->q_min, norm, degree);
    value[BL_M_SMOOTHED_MARGIN] =
        bl_smoothed_margin(cfg->loss.kind, train->log_loss_sum, norm, degree);
    value[BL_M_PARAM_NORM] = norm;
    value[BL_M_INIT_DISTANCE] =
        distance_from(ms->theta0, t->theta, t->n_params) / ms->theta0_norm;
    value[BL_M_GRAD_NORM] = bl_task_gradient_factor(t, train) * bl_norm2(t->grad, t->n_params);
    value[BL_M_LEARNING_RATE] = lr;
    /* theta and -grad point the same way at a KKT direction */
    double minus_cos = bl_cosine(t->theta, t->grad, t->n_params);
    value[BL_M_GRAD_COSINE] = -minus_cos;
    if (ms->feature_work)
        layer_metrics(ms, t, value[BL_M_NORMALIZED_MARGIN], value);
    kkt_metrics(ms, t, train->q_min, value);
    if (ms->predictor) {
        t->model.ops->linear_predictor(&t->model, t->theta, ms->predictor);
        if (ms->w_l2)
            value[BL_M_L2_COSINE] = bl_cosine(ms->predictor, ms->w_l2, t->model.inputs);
        if (ms->w_l1)
            value[BL_M_L1_COSINE] = bl_cosine(ms->predictor, ms->w_l1, t->model.inputs);
    }
    if (mc->sharpness != BL_SHARP_NONE && ms->spectrum_work) {
        measure_sharpness(ms, t, train, r, payload, &value[BL_M_SHARPNESS],
                          &value[BL_M_SHARPNESS_RESIDUAL], &value[BL_M_SHARPNESS_ITERS]);
        value[BL_M_ETA_SHARPNESS] = lr * value[BL_M_SHARPNESS];
    }
    scale_invariant_metrics(t, lr, value); /* uses grad_norm and sharpness */
    if (ms->trace_work) {
        bl_task_hvp_prepare(t, train);
        struct bl_rng rng; /* every rank of a group draws the same probes */
        bl_rng_init(&rng, t->seed, BL_STREAM_SPECTRUM, 0x80000000u + (uint32_t)r);
        /* the task's own blocks; a smaller model of a sweep leaves the rest NaN */
        int nb = t->model.n_blocks < L->n_blocks ? t->model.n_blocks : L->n_blocks;
        long start[BL_MAX_BLOCKS + 1];
        for (int b = 0; b < nb; b++)
            start[b] = t->model.blocks[b].offset;
        start[nb] = nb ? t->model.blocks[nb - 1].offset +
                             (long)t->model.blocks[nb - 1].rows * t->model.blocks[nb - 1].cols
                       : 0;
        double *blocks = L->trace_blocks >= 0
                             ? bl_result_at(L, payload, L->trace_blocks) + r * L->n_blocks
                             : NULL;
        bl_hutchinson_trace_blocks(t->n_params, bl_task_hvp, t, mc->trace_probes, &rng,
                                   blocks ? nb : 0, start, blocks, &value[BL_M_HESSIAN_TRACE],
                                   &value[BL_M_HESSIAN_TRACE_SE], ms->trace_work);
    }
    if (mc->min_eigenvalue && ms->spectrum_work)
        min_eigenvalue(ms, t, train, r, &value[BL_M_HESSIAN_MIN],
                       &value[BL_M_HESSIAN_MIN_RESIDUAL]);
    if (mc->near_support && data && t->data.train.label && isfinite(train->q_min)) {
        /* the authors' margin code counts these: how many examples are
         * within ln 10, ln 100, ln 1000 of the smallest margin */
        double gaps[3] = {log(10.0), log(100.0), log(1000.0)};
        bl_task_count_margins_within(t, train->q_min, gaps, 3, &value[BL_M_NEAR_SUPPORT_1]);
    }
    if (ms->has_noise) { /* last: its batches pass over the data (t->grad comes back) */
        double noise[3];
        bl_noise_measure(&ms->noise, t, train, r, noise);
        value[BL_M_GRAD_NORM_SQ] = noise[0];
        value[BL_M_NOISE_TRACE] = noise[1];
        value[BL_M_NOISE_RATIO] = noise[2];
    }
    for (int m = 0; m < BL_METRIC_COUNT; m++)
        if (L->metric_field[m] >= 0)
            bl_result_at(L, payload, L->metric_field[m])[r] = value[m];
    /* parameters kept at records: all of them, or the first (initialization) */
    if (L->params >= 0 && (L->params_at == BL_SAVE_RECORDS ||
                           (L->params_at == BL_SAVE_FIRST_LAST && r == 0)))
        memcpy(bl_result_at(L, payload, L->params) + r * L->max_params, t->theta,
               sizeof(double) * (size_t)t->n_params);
}
