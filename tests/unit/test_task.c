/* The task core's gradient and Hessian-vector products against central
 * differences of its own objective, for what the model-level checks cannot
 * reach: the quadratic model (its objective lives in the task), a frozen
 * last layer (train_last = false: zero gradient, zero Hessian rows and
 * columns there) and layer-normalized hidden layers with a frozen last
 * layer, under the mean and the sum reductions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bl_config.h"
#include "bl_noise.h"
#include "bl_rng.h"
#include "bl_task.h"
#include "bl_test.h"

/* Objective (not its log) at t->theta, and its gradient into grad (P) when
 * given. */
static double objective(struct task *t, double *grad)
{
    struct pass_totals p;
    bl_task_pass(t, &t->data.train, NULL, 0, t->data.train.n, grad != NULL, &p);
    double factor = bl_task_gradient_factor(t, &p);
    if (grad)
        for (long i = 0; i < t->n_params; i++)
            grad[i] = t->grad[i] * factor;
    return exp(bl_task_objective_log(t, p.log_loss_sum, p.count));
}

/* Worst relative error of the gradient and of H v (v random) against central
 * differences; frozen entries must be exactly zero in both. */
static void check_task(const struct bl_config *c, double *grad_err, double *hvp_err,
                       int *frozen_nonzero)
{
    struct task t;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(bl_task_setup(&t, c, 7, NULL, 1, err, sizeof err), 0);
    long P = t.n_params;
    double *g = malloc(sizeof(double) * P), *up = malloc(sizeof(double) * P);
    double *down = malloc(sizeof(double) * P), *v = malloc(sizeof(double) * P);
    double *hv = malloc(sizeof(double) * P);
    struct bl_rng rng;
    bl_rng_init(&rng, 3, BL_STREAM_TEST_ONLY, 0);
    for (long i = 0; i < P; i++)
        v[i] = bl_rng_normal(&rng);
    objective(&t, g);
    struct pass_totals p;
    bl_task_pass(&t, &t.data.train, NULL, 0, t.data.train.n, 1, &p);
    bl_task_hvp_prepare(&t, &p);
    bl_task_hvp(&t, v, hv);
    double h = 1e-6, worst_g = 0, worst_h = 0, scale_g = 0, scale_h = 0;
    *frozen_nonzero = 0;
    for (long i = 0; i < P; i++) {
        scale_g = fmax(scale_g, fabs(g[i]));
        scale_h = fmax(scale_h, fabs(hv[i]));
    }
    for (long i = 0; i < P; i++) {
        double keep = t.theta[i];
        t.theta[i] = keep + h;
        double f_up = objective(&t, NULL);
        t.theta[i] = keep - h;
        double f_down = objective(&t, NULL);
        t.theta[i] = keep;
        int frozen = i >= t.model.frozen_lo && i < t.model.frozen_hi;
        if (frozen)
            *frozen_nonzero += g[i] != 0 || hv[i] != 0;
        else
            worst_g = fmax(worst_g, fabs((f_up - f_down) / (2 * h) - g[i]) / scale_g);
    }
    /* H v = d/de grad(theta + e v) at e = 0, with v's frozen part zeroed (the
     * Hessian over the trained parameters) */
    double *theta0 = malloc(sizeof(double) * P);
    memcpy(theta0, t.theta, sizeof(double) * P);
    for (long i = t.model.frozen_lo; i < t.model.frozen_hi; i++)
        v[i] = 0;
    for (long i = 0; i < P; i++)
        t.theta[i] = theta0[i] + h * v[i];
    objective(&t, up);
    for (long i = 0; i < P; i++)
        t.theta[i] = theta0[i] - h * v[i];
    objective(&t, down);
    for (long i = 0; i < P; i++)
        if (!(i >= t.model.frozen_lo && i < t.model.frozen_hi))
            worst_h = fmax(worst_h, fabs((up[i] - down[i]) / (2 * h) - hv[i]) / scale_h);
    *grad_err = worst_g;
    *hvp_err = worst_h;
    free(theta0);
    free(g);
    free(up);
    free(down);
    free(v);
    free(hv);
    bl_task_free(&t);
}

static struct bl_config mlp_task(void)
{
    struct bl_config c;
    bl_config_defaults(&c);
    c.data.kind = BL_DATA_CLUSTERS;
    c.data.classes = 3;
    c.data.n_train = 30;
    c.data.n_test = 0;
    c.data.dim = 4;
    c.model.kind = BL_MODEL_MLP;
    c.model.depth = 3;
    c.model.width = 6;
    c.loss.kind = BL_LOSS_CROSS_ENTROPY;
    c.measure.sharpness = BL_SHARP_LANCZOS; /* so the task allocates its HVP buffers */
    return c;
}

/* H v at theta into hv, by a task set up afresh there: nothing kept */
static void fresh_hvp(const struct bl_config *c, const double *theta, const double *v, double *hv)
{
    struct task t;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(bl_task_setup(&t, c, 7, NULL, 1, err, sizeof err), 0);
    memcpy(t.theta, theta, sizeof(double) * t.n_params);
    struct pass_totals p;
    bl_task_train_pass(&t, 1, &p);
    bl_task_hvp_prepare(&t, &p);
    bl_task_hvp(&t, v, hv);
    bl_task_free(&t);
}

/* The products after the first reuse its forward pass: bitwise what a fresh
 * task computes, for another v, and after theta moves and a pass over the
 * test set runs between the training pass and the products (what was kept
 * must be dropped). */
static void test_hvp_reuse_is_exact(void)
{
    struct bl_config c = mlp_task();
    c.data.n_test = 12;
    struct task t;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(bl_task_setup(&t, &c, 7, NULL, 1, err, sizeof err), 0);
    long P = t.n_params;
    double *u = malloc(sizeof(double) * P), *v = malloc(sizeof(double) * P);
    double *hv = malloc(sizeof(double) * P), *want = malloc(sizeof(double) * P);
    struct bl_rng rng;
    bl_rng_init(&rng, 5, BL_STREAM_TEST_ONLY, 0);
    for (long i = 0; i < P; i++) {
        u[i] = bl_rng_normal(&rng);
        v[i] = bl_rng_normal(&rng);
    }
    struct pass_totals p;
    for (int move = 0; move < 2; move++) {
        if (move) /* a step along u, then the pass and prepare at the new theta */
            for (long i = 0; i < P; i++)
                t.theta[i] += 0.3 * u[i];
        bl_task_train_pass(&t, 1, &p);
        if (move) {
            struct pass_totals test;
            bl_task_pass(&t, &t.data.test, NULL, 0, t.data.test.n, 0, &test);
        }
        bl_task_hvp_prepare(&t, &p);
        bl_task_hvp(&t, u, hv);
        bl_task_hvp(&t, v, hv); /* the forward pass of the product with u */
        fresh_hvp(&c, t.theta, v, want);
        CU_ASSERT_EQUAL(memcmp(hv, want, sizeof(double) * P), 0);
    }
    free(u);
    free(v);
    free(hv);
    free(want);
    bl_task_free(&t);
}

static void test_quadratic_gradient_and_hvp(void)
{
    struct bl_config c;
    bl_config_defaults(&c);
    c.model.kind = BL_MODEL_QUADRATIC;
    c.model.width = 6;
    c.model.eig_max = 10;
    c.model.eig_min = 0.5;
    c.loss.kind = BL_LOSS_SQUARED;
    double ge, he;
    int frozen;
    check_task(&c, &ge, &he, &frozen);
    CU_ASSERT(ge < 1e-8);
    CU_ASSERT(he < 1e-7);
    CU_ASSERT_EQUAL(frozen, 0);
}

static void test_frozen_last_layer_gradient_and_hvp(void)
{
    for (int normalize = 0; normalize < 2; normalize++)
        for (int reduction = 0; reduction < 2; reduction++) {
            struct bl_config c = mlp_task();
            c.model.train_last = 0;
            c.model.normalize = normalize;
            c.loss.reduction = reduction ? BL_REDUCE_SUM : BL_REDUCE_MEAN;
            double ge, he;
            int frozen;
            check_task(&c, &ge, &he, &frozen);
            CU_ASSERT(ge < 1e-7);
            CU_ASSERT(he < 1e-6);
            CU_ASSERT_EQUAL(frozen, 0); /* zero gradient and H v on the fixed layer */
        }
}

/* The frozen range must really be the last layer: training it would change
 * those entries, and a wrong range would leave a trained entry at zero. */
static void test_frozen_range_is_the_last_layer(void)
{
    struct bl_config c = mlp_task();
    c.model.train_last = 0;
    struct task t;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(bl_task_setup(&t, &c, 7, NULL, 1, err, sizeof err), 0);
    /* last layer (3 outputs, width 6) sits at the end of a bias-free MLP */
    CU_ASSERT_EQUAL(t.model.frozen_hi, t.n_params);
    CU_ASSERT_EQUAL(t.model.frozen_hi - t.model.frozen_lo, 3 * 6);
    bl_task_free(&t);
}

/* The mini-batch gradients of every possible batch (B = 2 of n = 6: the 15
 * subsets without replacement, the 36 ordered pairs with it), their mean and
 * the trace of their covariance, brute force: out[0] = tr Sigma_B, out[1] =
 * ||E G_B||^2. */
static void brute_force_noise(struct task *t, int with_replacement, double out[2])
{
    int n = t->data.train.n;
    long P = t->n_params;
    double *sum = calloc((size_t)P, sizeof(double));
    double sum_sq = 0, count = 0;
    for (int i = 0; i < n; i++)
        for (int j = with_replacement ? 0 : i + 1; j < n; j++) {
            int idx[2] = {i, j};
            struct pass_totals p;
            bl_task_batch_pass(t, idx, 2, &p);
            double factor = bl_task_gradient_factor(t, &p);
            for (long k = 0; k < P; k++) {
                double g = t->grad[k] * factor;
                sum[k] += g;
                sum_sq += g * g;
            }
            count++;
        }
    double mean_sq = 0;
    for (long k = 0; k < P; k++)
        mean_sq += (sum[k] / count) * (sum[k] / count);
    out[0] = sum_sq / count - mean_sq;
    out[1] = mean_sq;
    free(sum);
}

/* measure.noise: the exact statistics equal the brute force over every
 * batch (both samplings, both reductions); the estimate from 20000 batches
 * lies within 5% of them (about 7 of its standard errors); the full-batch
 * gradient the training step uses comes back bitwise. */
static void test_gradient_noise_against_every_batch(void)
{
    for (int replace = 0; replace < 2; replace++)
        for (int reduction = 0; reduction < 2; reduction++) {
            struct bl_config c = mlp_task();
            c.data.n_train = 6;
            c.optim.kind = BL_OPT_SGD;
            c.optim.batch_size = 2;
            c.optim.sampling = replace ? BL_SAMPLE_WITH_REPLACEMENT : BL_SAMPLE_WITHOUT_REPLACEMENT;
            c.loss.reduction = reduction ? BL_REDUCE_SUM : BL_REDUCE_MEAN;
            c.measure.noise_batches = 20000;
            struct task t;
            char err[256];
            CU_ASSERT_EQUAL_FATAL(bl_task_setup(&t, &c, 7, NULL, 1, err, sizeof err), 0);
            long P = t.n_params;
            double brute[2];
            brute_force_noise(&t, replace, brute);
            struct pass_totals train;
            bl_task_train_pass(&t, 1, &train);
            double *kept = malloc(sizeof(double) * P);
            memcpy(kept, t.grad, sizeof(double) * P);
            double full_sq = 0;
            for (long k = 0; k < P; k++)
                full_sq += pow(t.grad[k] * bl_task_gradient_factor(&t, &train), 2);
            for (int method = BL_NOISE_EXACT; method <= BL_NOISE_BATCHES; method++) {
                c.measure.noise = method;
                struct bl_noise nz;
                double out[3];
                bl_noise_setup(&nz, &t);
                CU_ASSERT_EQUAL(nz.exact, method == BL_NOISE_EXACT);
                bl_noise_measure(&nz, &t, &train, 3, out);
                bl_noise_free(&nz);
                CU_ASSERT(memcmp(kept, t.grad, sizeof(double) * P) == 0);
                CU_ASSERT_DOUBLE_EQUAL(out[0], full_sq, 1e-12 * full_sq);
                double tol = method == BL_NOISE_EXACT ? 1e-10 : 0.05;
                CU_ASSERT(fabs(out[1] - brute[0]) <= tol * brute[0]);
                CU_ASSERT(fabs(out[2] - brute[0] / brute[1]) <= tol * brute[0] / brute[1]);
                if (fabs(out[1] - brute[0]) > tol * brute[0])
                    printf("\nnoise: replace %d reduction %d method %d: trace %.12g, brute force "
                           "%.12g\n", replace, reduction, method, out[1], brute[0]);
            }
            /* E G_B: the full gradient for the mean, B / n of it for the sum */
            double r = reduction ? 2.0 / 6.0 : 1.0;
            CU_ASSERT(fabs(brute[1] - r * r * full_sq) <= 1e-10 * full_sq);
            free(kept);
            bl_task_free(&t);
        }
}

void bl_test_register_task(void)
{
    CU_pSuite s = CU_add_suite("task", NULL, NULL);
    BL_ADD_TEST(s, test_quadratic_gradient_and_hvp);
    BL_ADD_TEST(s, test_hvp_reuse_is_exact);
    BL_ADD_TEST(s, test_frozen_last_layer_gradient_and_hvp);
    BL_ADD_TEST(s, test_frozen_range_is_the_last_layer);
    BL_ADD_TEST(s, test_gradient_noise_against_every_batch);
}
