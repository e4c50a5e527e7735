/* Optimizer formulas and whole training tasks in one process. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bl_checkpoint.h"
#include "bl_loss.h"
#include "bl_model.h"
#include "bl_optim.h"
#include "bl_rng.h"
#include "bl_train.h"
#include "bl_test.h"

/* A step with plain factors: lr 0.1 on an unscaled gradient, decay d. */
static struct bl_step_in plain_step(const double *grad, double decay)
{
    return (struct bl_step_in){.grad = grad, .log_scale = 0, .lr = 0.1, .log_lr = log(0.1),
                               .step_scale = 0.1, .weight_decay = decay / 0.1, .decay = decay};
}

static void test_momentum_and_decay_formulas(void)
{
    struct bl_optim_cfg gd = {0};
    gd.kind = BL_OPT_GD;
    double theta[2] = {1.0, -2.0}, grad[2] = {0.5, 0.25};
    struct bl_optim_state st;
    bl_optim_state_alloc(&st, bl_optimizer_of(gd.kind), 2);
    CU_ASSERT_EQUAL(st.opt->n_vectors, 0);
    struct bl_step_in in = plain_step(grad, 0.01);
    bl_optim_step(&gd, &st, &in, theta);
    BL_ASSERT_CLOSE(theta[0], 1.0 - 0.05 - 0.01, 1e-15);
    BL_ASSERT_CLOSE(theta[1], -2.0 - 0.025 + 0.02, 1e-15);
    bl_optim_state_free(&st);
    struct bl_optim_cfg mom = gd;
    mom.kind = BL_OPT_MOMENTUM;
    mom.momentum = 0.9;
    double t[1] = {1.0}, g[1] = {1.0};
    bl_optim_state_alloc(&st, bl_optimizer_of(mom.kind), 1);
    CU_ASSERT_EQUAL(st.opt->n_vectors, 1);
    CU_ASSERT_STRING_EQUAL(st.opt->vector_names[0], "velocity");
    CU_ASSERT_EQUAL(st.vectors[0][0], 0.0); /* state starts at zero */
    in = plain_step(g, 0.0);
    bl_optim_step(&mom, &st, &in, t); /* v = 0.1, t = 0.9 */
    bl_optim_step(&mom, &st, &in, t); /* v = 0.19, t = 0.71 */
    BL_ASSERT_CLOSE(st.vectors[0][0], 0.19, 1e-15);
    BL_ASSERT_CLOSE(t[0], 0.71, 1e-15);
    /* a snapshot and its restore (the loss-based undo) */
    struct bl_optim_state snap;
    bl_optim_state_alloc(&snap, st.opt, 1);
    bl_optim_state_copy(&snap, &st);
    bl_optim_step(&mom, &st, &in, t);
    CU_ASSERT(st.vectors[0][0] != 0.19);
    bl_optim_state_copy(&st, &snap);
    CU_ASSERT_EQUAL(st.vectors[0][0], snap.vectors[0][0]);
    bl_optim_state_free(&snap);
    bl_optim_state_free(&st);
}

/* The Adam family against the formula written out directly in long double
 * (exponent range to 1e-4951, so e^{-700} gradients and their squares are
 * ordinary numbers there). The objective is e^{s_k} f with f = 1/2 sum h_i
 * theta_i^2 + c_i theta_i: the gradient it hands the optimizer is scaled,
 * grad = h theta + c with log_scale s_k, while the reference uses the true
 * gradient e^{s_k} (h theta + c) (+ lambda theta for coupled decay). */
#define ADAM_N 3
#define ADAM_STEPS 6
struct adam_case {
    enum bl_optim_kind kind;
    double beta1, beta2, eps, lambda, lr;
    int bias_correction;
    double log_scale[ADAM_STEPS]; /* s_k of each step */
    double log_norm;              /* subtracted from s_k (the loss-based schedule) */
};

static const double adam_h[ADAM_N] = {2.0, 0.5, 0.05}, adam_c[ADAM_N] = {0.3, -1.0, 0.02},
                    adam_theta0[ADAM_N] = {1.0, -0.5, 2.0};

/* worst relative error of theta, m and v over the steps */
static double adam_against_reference(const struct adam_case *k)
{
    struct bl_optim_cfg cfg = {0};
    cfg.kind = k->kind;
    cfg.beta1 = k->beta1;
    cfg.beta2 = k->beta2;
    cfg.eps = k->eps;
    cfg.weight_decay = k->lambda;
    cfg.bias_correction = k->bias_correction;
    struct bl_optim_state st;
    bl_optim_state_alloc(&st, bl_optimizer_of(cfg.kind), ADAM_N);
    double theta[ADAM_N], grad[ADAM_N];
    long double th[ADAM_N], m[ADAM_N] = {0}, v[ADAM_N] = {0};
    for (int i = 0; i < ADAM_N; i++)
        th[i] = theta[i] = adam_theta0[i];
    long double b1 = k->kind == BL_OPT_RMSPROP ? 0.0L : k->beta1, b2 = k->beta2;
    double worst = 0;
    for (int t = 1; t <= ADAM_STEPS; t++) {
        double s = k->log_scale[t - 1];
        for (int i = 0; i < ADAM_N; i++)
            grad[i] = adam_h[i] * theta[i] + adam_c[i];
        struct bl_step_in in = {.grad = grad, .log_scale = s, .lr = k->lr, .log_lr = log(k->lr),
                                .step_scale = k->lr * exp(s - k->log_norm),
                                .weight_decay = k->lambda, .decay = k->lr * k->lambda,
                                .log_norm = k->log_norm};
        bl_optim_step(&cfg, &st, &in, theta);
        long double c1 = k->bias_correction ? 1 - powl(b1, t) : 1;
        long double c2 = k->bias_correction ? 1 - powl(b2, t) : 1;
        for (int i = 0; i < ADAM_N; i++) {
            long double g = expl((long double)s - k->log_norm) * (adam_h[i] * th[i] + adam_c[i]);
            if (k->kind != BL_OPT_ADAMW)
                g += (long double)k->lambda * expl(-(long double)k->log_norm) * th[i];
            m[i] = b1 * m[i] + (1 - b1) * g;
            v[i] = b2 * v[i] + (1 - b2) * g * g;
            long double u = (m[i] / c1) / (sqrtl(v[i] / c2) + k->eps);
            if (k->kind == BL_OPT_ADAMW)
                u += (long double)k->lambda * th[i];
            th[i] -= k->lr * u;
        }
        for (int i = 0; i < ADAM_N; i++) {
            long double mi = st.vectors[0][i] * expl(st.scalars[1]);
            long double vi = st.vectors[1][i] * expl(st.scalars[2]);
            worst = fmax(worst, (double)fabsl((theta[i] - th[i]) / th[i]));
            worst = fmax(worst, (double)fabsl((mi - m[i]) / m[i]));
            worst = fmax(worst, (double)fabsl((vi - v[i]) / v[i]));
        }
        CU_ASSERT_EQUAL(st.scalars[0], t);
    }
    bl_optim_state_free(&st);
    return worst;
}

static void test_adam_family_against_direct_formula(void)
{
    /* one step by hand: u = g / (|g| + eps) (bias correction makes m-hat = g,
     * v-hat = g^2): theta = 1 - 0.1 * 0.5 / (0.5 + 1e-8) */
    struct bl_optim_cfg cfg = {.kind = BL_OPT_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                               .bias_correction = 1};
    struct bl_optim_state st;
    bl_optim_state_alloc(&st, bl_optimizer_of(cfg.kind), 1);
    CU_ASSERT_EQUAL(st.opt->n_vectors, 2);
    CU_ASSERT_EQUAL(st.opt->n_scalars, 3);
    double theta = 1.0, g = 0.5;
    struct bl_step_in in = plain_step(&g, 0.0);
    bl_optim_step(&cfg, &st, &in, &theta);
    BL_ASSERT_CLOSE(theta, 1.0 - 0.1 * 0.5 / (0.5 + 1e-8), 1e-15);
    bl_optim_state_free(&st);

    const double zero[ADAM_STEPS] = {0}, tiny[ADAM_STEPS] = {-700, -700, -700, -700, -700, -700},
                 moving[ADAM_STEPS] = {-700, -690, -720, -705, -700, -1.5};
    struct adam_case cases[] = {
        /* unscaled, eps large enough to matter; coupled / decoupled decay */
        {BL_OPT_ADAM, 0.9, 0.999, 1e-3, 0.0, 0.05, 1, {0}, 0},
        {BL_OPT_ADAM, 0.8, 0.95, 1e-3, 0.1, 0.05, 1, {0}, 0},
        {BL_OPT_ADAMW, 0.9, 0.99, 1e-3, 0.1, 0.05, 1, {0}, 0},
        {BL_OPT_RMSPROP, 0.9 /* ignored: rmsprop has beta1 = 0 */, 0.9, 1e-3, 0.01, 0.05, 1, {0}, 0},
        {BL_OPT_ADAM, 0.9, 0.999, 1e-3, 0.0, 0.05, 0, {0}, 0}, /* no bias correction */
        /* gradients of e^{-700} (squares 1e-608): eps 1e-305 still weighs */
        {BL_OPT_ADAM, 0.9, 0.999, 1e-305, 0.0, 0.05, 1, {0}, 0},
        {BL_OPT_RMSPROP, 0, 0.9, 1e-305, 0.0, 0.05, 1, {0}, 0},
        {BL_OPT_ADAMW, 0.9, 0.999, 1e-305, 0.1, 0.05, 1, {0}, 0},
        /* coupled decay dominating a tiny gradient, and a scale that jumps */
        {BL_OPT_ADAM, 0.9, 0.999, 1e-305, 1e-3, 0.05, 1, {0}, 0},
        {BL_OPT_ADAM, 0.9, 0.999, 1e-305, 0.0, 0.05, 1, {0}, 0},
        {BL_OPT_RMSPROP, 0, 0.99, 1e-8, 0.0, 0.05, 1, {0}, 0},
        /* the loss-based schedule's normalization: s - log_norm = -700 */
        {BL_OPT_ADAM, 0.9, 0.999, 1e-305, 0.0, 0.05, 1, {0}, -300},
        {BL_OPT_ADAM, 0.9, 0.999, 1e-305, 1e-3, 0.05, 1, {0}, -300},
    };
    int n_cases = (int)(sizeof cases / sizeof cases[0]);
    for (int c = 0; c < n_cases; c++) {
        const double *s = c < 5 ? zero : c < 9 ? tiny : c < 11 ? moving : tiny;
        for (int k = 0; k < ADAM_STEPS; k++)
            cases[c].log_scale[k] = s[k] + cases[c].log_norm;
        double worst = adam_against_reference(&cases[c]);
        if (!(worst < 1e-12))
            fprintf(stderr, "\n    [adam] case %d: relative error %g", c, worst);
        CU_ASSERT(worst < 1e-12);
    }
    /* Adam is scale-free: 20 steps on a gradient with log_scale -700 and eps
     * e^{-700} eps0 give the theta of the unscaled run with eps0 */
    double a[ADAM_N], b[ADAM_N], grad[ADAM_N];
    for (int pass = 0; pass < 2; pass++) {
        double *th = pass ? b : a, s = pass ? -700 : 0;
        struct bl_optim_cfg ac = {.kind = BL_OPT_ADAM, .beta1 = 0.9, .beta2 = 0.999,
                                  .eps = pass ? 1e-3 * exp(-700) : 1e-3, .bias_correction = 1};
        bl_optim_state_alloc(&st, bl_optimizer_of(ac.kind), ADAM_N);
        for (int i = 0; i < ADAM_N; i++)
            th[i] = adam_theta0[i];
        for (int t = 0; t < 20; t++) {
            for (int i = 0; i < ADAM_N; i++)
                grad[i] = adam_h[i] * th[i] + adam_c[i];
            struct bl_step_in sin = {.grad = grad, .log_scale = s, .lr = 0.05, .log_lr = log(0.05)};
            bl_optim_step(&ac, &st, &sin, th);
        }
        bl_optim_state_free(&st);
    }
    for (int i = 0; i < ADAM_N; i++)
        BL_ASSERT_CLOSE(a[i], b[i], 1e-10); /* eps e^{-700} = 9.9e-308 is still a normal double */
}

static struct bl_config small_task(void)
{
    struct bl_config c;
    bl_config_defaults(&c);
    c.data.kind = BL_DATA_SEPARABLE;
    c.data.n_train = 40;
    c.data.n_test = 100;
    c.data.dim = 5;
    c.data.margin = 0.2;
    c.model.kind = BL_MODEL_LINEAR;
    c.model.depth = 1;
    c.model.bias = 0;
    c.loss.kind = BL_LOSS_LOGISTIC;
    c.loss.reduction = BL_REDUCE_SUM;
    c.optim.kind = BL_OPT_GD;
    c.optim.lr = 0.1;
    c.optim.steps = 3000;
    c.measure.every = 100;
    return c;
}

static double metric(const struct bl_task_result *r, enum bl_metric m, long record)
{
    return bl_result_metric(r, m, record);
}

/* A task outcome of the layout (e.g. svm_margin), NaN when it has none. */
static double outcome(const struct bl_task_result *r, int field)
{
    return field < 0 ? NAN : r->payload[r->layout->fields[field].offset];
}

/* Whether two results recorded the same numbers, bit for bit (every
 * trajectory, the spectra, densities and parameters; not the wall time). */
static int same_records(const struct bl_task_result *a, const struct bl_task_result *b)
{
    const struct bl_result_layout *L = a->layout;
    for (int k = BL_FIELD_FIXED_COUNT; k < L->n_fields; k++)
        if (memcmp(a->payload + L->fields[k].offset, b->payload + L->fields[k].offset,
                   sizeof(double) * (size_t)L->fields[k].length))
            return 0;
    return 1;
}

static void test_gd_fits_then_margin_grows(void)
{
    struct bl_config c = small_task();
    struct bl_task_result r;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(bl_train_task(&c, 1, NULL, NULL, &r, err, sizeof err), 0);
    CU_ASSERT_EQUAL(r.status, BL_STATUS_OK);
    CU_ASSERT_EQUAL(r.layout->n_records, 31);
    long last = r.layout->n_records - 1;
    CU_ASSERT_EQUAL(metric(&r, BL_M_TRAIN_ACC, last), 1.0);
    /* Lyu & Li: once the summed loss is below l(0) = ln 2, the smoothed margin
     * does not decrease (small steps; allow rounding). */
    int after = 0;
    for (long k = 1; k < r.layout->n_records; k++) {
        if (exp(metric(&r, BL_M_TRAIN_LOG_LOSS, k - 1)) >= log(2.0))
            continue;
        after++;
        CU_ASSERT(metric(&r, BL_M_SMOOTHED_MARGIN, k) >=
                  metric(&r, BL_M_SMOOTHED_MARGIN, k - 1) - 1e-12);
        /* smoothed <= normalized margin (exact for any loss with l >= e^{-q}...
         * for logistic l(q) >= the tail, so l^{-1}(L) <= q_min) */
        CU_ASSERT(metric(&r, BL_M_SMOOTHED_MARGIN, k) <=
                  metric(&r, BL_M_NORMALIZED_MARGIN, k) + 1e-12);
    }
    CU_ASSERT(after > 10);
    CU_ASSERT(metric(&r, BL_M_NORMALIZED_MARGIN, last) > metric(&r, BL_M_NORMALIZED_MARGIN, 10));
    bl_task_result_free(&r);
}

static void test_chunked_pass_matches_direct_gradient(void)
{
    /* 5000 examples exceed the 4096-example chunk: the folded gradient must
     * equal one forward/backward over all of them */
    struct bl_config c = small_task();
    c.data.n_train = 5000;
    c.data.n_test = 0;
    c.loss.reduction = BL_REDUCE_MEAN;
    c.optim.steps = 1;
    c.measure.every = 1;
    struct bl_task_result r;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(bl_train_task(&c, 4, NULL, NULL, &r, err, sizeof err), 0);

    struct bl_data d;
    bl_data_make(&c.data, 4, &d, err, sizeof err);
    struct bl_model m;
    CU_ASSERT_EQUAL_FATAL(bl_model_build(&m, &c.model, c.data.dim, 1, err, sizeof err), 0);
    struct bl_workspace ws;
    bl_workspace_alloc(&ws, &m, c.data.n_train, 0);
    double theta[5], grad[5], *log_loss = malloc(sizeof(double) * 5000),
                             *margin = malloc(sizeof(double) * 5000);
    bl_model_init(&m, 4, theta);
    struct bl_batch all = bl_dataset_rows(&d.train, 0, 5000);
    const double *out = bl_model_forward(&m, theta, &all, &ws);
    bl_loss_forward(c.loss.kind, out, &all, 1, log_loss, margin);
    double loss = 0;
    for (int i = 0; i < 5000; i++)
        loss += exp(log_loss[i]);
    bl_loss_backward(c.loss.kind, out, &all, 1, 0.0, ws.dout);
    bl_model_backward(&m, theta, &all, ws.dout, &ws, grad);
    double norm = 0;
    for (int p = 0; p < 5; p++)
        norm += grad[p] * grad[p] / (5000.0 * 5000.0);
    BL_ASSERT_CLOSE(metric(&r, BL_M_GRAD_NORM, 0), sqrt(norm), 1e-12);
    BL_ASSERT_CLOSE(metric(&r, BL_M_TRAIN_LOSS, 0), loss / 5000, 1e-12);
    free(log_loss);
    free(margin);
    bl_workspace_free(&ws);
    bl_model_free(&m);
    bl_data_free(&d);
    bl_task_result_free(&r);
}

static void test_loss_based_rate_goes_below_double_range(void)
{
    struct bl_config c = small_task();
    c.loss.kind = BL_LOSS_EXPONENTIAL;
    c.optim.schedule = BL_SCHED_LOSS_BASED;
    c.optim.lr = 0.1;
    c.optim.steps = 15000; /* log L falls about 27 per 500 steps here */
    c.measure.every = 1000;
    struct bl_task_result r;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(bl_train_task(&c, 2, NULL, NULL, &r, err, sizeof err), 0);
    CU_ASSERT_EQUAL(r.status, BL_STATUS_OK);
    long last = r.layout->n_records - 1;
    double log_loss = metric(&r, BL_M_TRAIN_LOG_LOSS, last);
    CU_ASSERT(isfinite(log_loss));
    CU_ASSERT(log_loss < log(1e-300)); /* the loss itself is no longer a double */
    CU_ASSERT(isfinite(metric(&r, BL_M_SMOOTHED_MARGIN, last)));
    CU_ASSERT(metric(&r, BL_M_SMOOTHED_MARGIN, last) > 0);
    bl_task_result_free(&r);
}

/* Adam on separable data with the exponential loss, to losses far below
 * where g^2 underflows (L < 1e-154). At a constant rate with eps = 1e-300,
 * unscaled m and v would underflow there and u = m / (sqrt(v) + eps) blow up
 * (or stop): the run must pass 1e-250, keep |u| within Adam's bound
 * (1 - b1) / sqrt(1 - b2) / (1 - b1 / sqrt(b2)) per coordinate, and keep
 * moving. With the loss-based schedule (the gradient of f / L and the rate
 * alpha) it must go on below 1e-300. */
static void test_adam_trains_below_double_range(void)
{
    struct bl_config c = small_task();
    c.loss.kind = BL_LOSS_EXPONENTIAL;
    c.optim.kind = BL_OPT_ADAM;
    c.optim.beta1 = 0.5;
    c.optim.beta2 = 0.9; /* v forgets the early large gradients fast */
    c.optim.eps = 1e-300;
    c.optim.steps = 15000;
    c.measure.every = 500;
    for (int sched = 0; sched < 2; sched++) {
        c.optim.schedule = sched ? BL_SCHED_LOSS_BASED : BL_SCHED_CONSTANT;
        c.optim.lr = sched ? 0.05 : 0.5;
        struct bl_task_result r;
        char err[128];
        CU_ASSERT_EQUAL_FATAL(bl_train_task(&c, 2, NULL, NULL, &r, err, sizeof err), 0);
        CU_ASSERT_EQUAL(r.status, BL_STATUS_OK);
        long last = r.layout->n_records - 1;
        double log_loss = metric(&r, BL_M_TRAIN_LOG_LOSS, last);
        CU_ASSERT(log_loss < log(sched ? 1e-300 : 1e-250));
        double bound = 0.5 / sqrt(0.1) / (1 - 0.5 / sqrt(0.9)) * c.optim.lr * sqrt(5.0);
        for (long k = 1; k <= last; k++) {
            double step = metric(&r, BL_M_PARAM_NORM, k) - metric(&r, BL_M_PARAM_NORM, k - 1);
            CU_ASSERT(step <= bound * c.measure.every);
            /* moving while the loss is above 1e-280 */
            if (metric(&r, BL_M_TRAIN_LOG_LOSS, k) > log(1e-280))
                CU_ASSERT(step > 0.01 * c.optim.lr * c.measure.every);
        }
        bl_task_result_free(&r);
    }
}

static void test_divergence_is_marked(void)
{
    struct bl_config c = small_task();
    c.loss.kind = BL_LOSS_SQUARED;
    c.optim.lr = 50.0; /* far past 2 / lambda_max of the squared loss */
    c.optim.steps = 2000;
    struct bl_task_result r;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(bl_train_task(&c, 1, NULL, NULL, &r, err, sizeof err), 0);
    CU_ASSERT_EQUAL(r.status, BL_STATUS_DIVERGED);
    CU_ASSERT(r.steps_done < c.optim.steps);
    CU_ASSERT(isnan(metric(&r, BL_M_TRAIN_LOSS, r.layout->n_records - 1)));
    bl_task_result_free(&r);
}

static void test_sgd_batches_reproducible(void)
{
    struct bl_config c = small_task();
    c.optim.kind = BL_OPT_SGD;
    c.optim.batch_size = 8;
    c.optim.steps = 200;
    struct bl_task_result a, b;
    char err[128];
    bl_train_task(&c, 5, NULL, NULL, &a, err, sizeof err);
    bl_train_task(&c, 5, NULL, NULL, &b, err, sizeof err);
    CU_ASSERT(same_records(&a, &b));
    CU_ASSERT(metric(&a, BL_M_TRAIN_LOSS, a.layout->n_records - 1) < metric(&a, BL_M_TRAIN_LOSS, 0));
    bl_task_result_free(&a);
    bl_task_result_free(&b);
}

/* Hook that asks for a checkpoint at call 50 and a stop at call stop_at. */
struct stopper { int calls, stop_at; };
static int stop_hook(void *ctx)
{
    struct stopper *s = ctx;
    s->calls++;
    if (s->calls == s->stop_at)
        return BL_ACTION_STOP;
    return s->calls == 50 ? BL_ACTION_CHECKPOINT : BL_ACTION_CONTINUE;
}

/* Stop at an arbitrary step, resume from the checkpoint: every record and
 * the final parameters equal the uninterrupted run's, bit for bit, and the
 * resumed call took only the steps after the checkpoint. A restart from step
 * 0 would also reproduce the run (it is deterministic), so the test also
 * alters the saved parameters, keeping the checksum valid, and requires the
 * resumed run to follow them. */
static void check_resume_exact(struct bl_config *c, int stop_at)
{
    char dir[] = "/tmp/bl_ckpt_XXXXXX", path[64], err[256];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/state.bin", dir);
    c->measure.save_params = BL_SAVE_FINAL;
    struct bl_task_result whole, part, rest, altered;
    CU_ASSERT_EQUAL_FATAL(bl_train_task(c, 3, NULL, NULL, &whole, err, sizeof err), 0);
    CU_ASSERT_EQUAL(whole.resumed_step, 0);
    CU_ASSERT_EQUAL(whole.steps_run, whole.steps_done);
    struct stopper s = {0, stop_at};
    struct bl_train_io io = {stop_hook, &s, path, NULL, NULL};
    CU_ASSERT_EQUAL_FATAL(bl_train_task(c, 3, NULL, &io, &part, err, sizeof err), 0);
    CU_ASSERT_EQUAL(part.status, BL_STATUS_INTERRUPTED);
    CU_ASSERT_EQUAL(part.steps_done, stop_at - 1);
    /* keep a copy of the checkpoint to alter below */
    struct bl_array_set saved;
    char why[256];
    CU_ASSERT_EQUAL_FATAL(bl_arrays_read_all(path, &saved, why, sizeof why), 0);
    io.hook = NULL;
    CU_ASSERT_EQUAL_FATAL(bl_train_task(c, 3, NULL, &io, &rest, err, sizeof err), 0);
    CU_ASSERT_EQUAL(rest.status, whole.status);
    CU_ASSERT_EQUAL(rest.steps_done, whole.steps_done);
    CU_ASSERT_EQUAL(rest.resumed_step, stop_at - 1);
    CU_ASSERT_EQUAL(rest.steps_run, whole.steps_done - (stop_at - 1));
    CU_ASSERT(same_records(&rest, &whole));
    CU_ASSERT_EQUAL(memcmp(bl_result_params(&rest), bl_result_params(&whole),
                           sizeof(double) * whole.n_params), 0);
    /* the same checkpoint with theta, the optimizer's state and the epoch
     * snapshot scaled by 1.01 and a valid checksum: the resumed run must
     * end elsewhere */
    int scaled = 0;
    for (int i = 0; i < saved.n; i++) {
        const char *name = saved.arrays[i].name;
        if (strcmp(name, "theta") && strcmp(name, "epoch.theta") && !strstr(name, "optim."))
            continue;
        for (long k = 0; k < saved.arrays[i].length; k++)
            saved.arrays[i].data[k] *= 1.01;
        scaled++;
    }
    CU_ASSERT(scaled >= 2);
    CU_ASSERT_EQUAL_FATAL(bl_arrays_write(path, saved.arrays, saved.n, why, sizeof why), 0);
    bl_arrays_free(&saved);
    CU_ASSERT_EQUAL_FATAL(bl_train_task(c, 3, NULL, &io, &altered, err, sizeof err), 0);
    CU_ASSERT_EQUAL(altered.resumed_step, stop_at - 1);
    CU_ASSERT_NOT_EQUAL(memcmp(bl_result_params(&altered), bl_result_params(&whole),
                               sizeof(double) * whole.n_params), 0);
    bl_task_result_free(&whole);
    bl_task_result_free(&part);
    bl_task_result_free(&rest);
    bl_task_result_free(&altered);
    /* a corrupt checkpoint is refused, not trusted */
    FILE *f = fopen(path, "r+b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fseek(f, 100, SEEK_SET);
    fputc(0x5a, f);
    fclose(f);
    CU_ASSERT_NOT_EQUAL(bl_train_task(c, 3, NULL, &io, &rest, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "checksum"));
    remove(path);
    rmdir(dir);
}

static void test_resume_is_bitwise_exact(void)
{
    struct bl_config c = small_task();
    c.optim.steps = 700;
    c.optim.schedule = BL_SCHED_LOSS_BASED;
    check_resume_exact(&c, 333); /* gd with rollbacks */
    c.optim.kind = BL_OPT_MOMENTUM;
    c.optim.batch_size = 8;
    c.optim.lr = 0.01;
    check_resume_exact(&c, 457); /* mini-batches mid-epoch, momentum, epoch snapshot */
    /* the epoch 457 falls in is undone after the resume, which restarts the
     * momentum and so would hide a velocity lost in the checkpoint: one
     * stop whose epoch stands, and the constant rate, where nothing is undone */
    check_resume_exact(&c, 500);
    c.optim.schedule = BL_SCHED_CONSTANT;
    check_resume_exact(&c, 457);
    /* Adam's m, v, step count and log-scales, also in the epoch snapshot */
    c.optim.kind = BL_OPT_ADAM;
    c.optim.weight_decay = 0.01;
    check_resume_exact(&c, 457);
    c.optim.schedule = BL_SCHED_LOSS_BASED;
    check_resume_exact(&c, 500);
    c.optim.kind = BL_OPT_ADAMW;
    c.optim.batch_size = 0;
    check_resume_exact(&c, 333); /* full batch: an epoch is one step */
}

/* Linear model, squared loss, mean reduction: the Hessian is X^T X / n, a
 * matrix the test can form. Lanczos (largest algebraic) and power iteration
 * in the training loop must both find its top eigenvalue. */
static void test_sharpness_matches_explicit_hessian(void)
{
    struct bl_config c = small_task();
    c.loss.kind = BL_LOSS_SQUARED;
    c.loss.reduction = BL_REDUCE_MEAN;
    c.optim.steps = 10;
    c.measure.every = 10;
    c.measure.sharpness_tol = 1e-10;
    struct bl_data d;
    char err[128];
    bl_data_make(&c.data, 6, &d, err, sizeof err);
    int dim = c.data.dim, n = c.data.n_train;
    double H[25] = {0}, v[5] = {1, 1, 1, 1, 1}, hv[5], top = 0;
    for (int i = 0; i < n; i++)
        for (int a = 0; a < dim; a++)
            for (int b = 0; b < dim; b++)
                H[a * dim + b] += d.train.x[i * dim + a] * d.train.x[i * dim + b] / n;
    for (int it = 0; it < 5000; it++) { /* H is positive semi-definite: power iteration */
        double norm = 0;
        for (int a = 0; a < dim; a++) {
            hv[a] = 0;
            for (int b = 0; b < dim; b++)
                hv[a] += H[a * dim + b] * v[b];
            norm += hv[a] * hv[a];
        }
        top = sqrt(norm);
        for (int a = 0; a < dim; a++)
            v[a] = hv[a] / top;
    }
    bl_data_free(&d);
    enum bl_sharpness methods[2] = {BL_SHARP_LANCZOS, BL_SHARP_POWER};
    for (int k = 0; k < 2; k++) {
        c.measure.sharpness = methods[k];
        struct bl_task_result r;
        CU_ASSERT_EQUAL_FATAL(bl_train_task(&c, 6, NULL, NULL, &r, err, sizeof err), 0);
        BL_ASSERT_CLOSE(metric(&r, BL_M_SHARPNESS, 0), top, 1e-8);
        BL_ASSERT_CLOSE(metric(&r, BL_M_SHARPNESS, 1), top, 1e-8); /* constant Hessian */
        CU_ASSERT(metric(&r, BL_M_SHARPNESS_RESIDUAL, 0) < 1e-8 * top);
        BL_ASSERT_CLOSE(metric(&r, BL_M_ETA_SHARPNESS, 0), c.optim.lr * top, 1e-8);
        bl_task_result_free(&r);
    }
}

/* SCIENCE.md 1 (Soudry et al.): a linear model trained by GD on separable
 * data turns to the hard-margin SVM direction. */
static void test_linear_direction_reaches_svm(void)
{
    struct bl_config c = small_task();
    c.data.n_train = 30;
    c.loss.kind = BL_LOSS_EXPONENTIAL;
    c.optim.schedule = BL_SCHED_LOSS_BASED;
    c.optim.steps = 20000;
    c.measure.every = 1000;
    c.measure.reference = BL_REF_SVM;
    struct bl_task_result r;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(bl_train_task(&c, 1, NULL, NULL, &r, err, sizeof err), 0);
    long last = r.layout->n_records - 1;
    CU_ASSERT(outcome(&r, r.layout->svm_margin) > 0);
    BL_ASSERT_CLOSE(outcome(&r, r.layout->margin_best), outcome(&r, r.layout->svm_margin), 0);
    CU_ASSERT(metric(&r, BL_M_SVM_COSINE, last) >= 0.999);
    CU_ASSERT(metric(&r, BL_M_MARGIN_RATIO, last) >= 0.99);
    CU_ASSERT(metric(&r, BL_M_MARGIN_RATIO, last) <= 1 + 1e-9); /* nothing beats the SVM */
    CU_ASSERT(metric(&r, BL_M_SVM_COSINE, 0) < 0.99); /* it was not there at the start */
    bl_task_result_free(&r);
}

/* SCIENCE.md 2 (Lyu et al. 2021): a two-layer leaky-ReLU net from small
 * initialization on symmetric data ends at the global max margin
 * (1+s)/4 gamma_SVM with a rank-one first layer; without symmetry it need not. */
static struct bl_config two_layer_task(enum bl_data_kind kind)
{
    struct bl_config c = small_task();
    c.data.kind = kind;
    c.data.n_train = 40;
    c.data.dim = 10;
    c.model.kind = BL_MODEL_MLP;
    c.model.depth = 2;
    c.model.width = 50;
    c.model.activation = BL_ACT_LEAKY_RELU;
    c.model.leaky_slope = 0.2;
    c.model.init_scale = 0.01;
    c.loss.kind = BL_LOSS_EXPONENTIAL;
    c.optim.schedule = BL_SCHED_LOSS_BASED;
    c.optim.lr = 0.01;
    c.optim.steps = 20000;
    c.measure.every = 1000;
    c.measure.reference = BL_REF_SVM;
    return c;
}

static void test_two_layer_symmetric_reaches_global_max_margin(void)
{
    struct bl_config c = two_layer_task(BL_DATA_SYMMETRIC);
    c.measure.kkt = 1;
    struct bl_task_result r;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(bl_train_task(&c, 2, NULL, NULL, &r, err, sizeof err), 0);
    long last = r.layout->n_records - 1;
    BL_ASSERT_CLOSE(outcome(&r, r.layout->margin_best), 0.3 * outcome(&r, r.layout->svm_margin), 1e-15); /* (1 + 0.2) / 4 */
    CU_ASSERT(metric(&r, BL_M_MARGIN_RATIO, last) >= 0.95);
    CU_ASSERT(metric(&r, BL_M_MARGIN_RATIO, last) <= 1 + 1e-9);
    CU_ASSERT(metric(&r, BL_M_STABLE_RANK, last) < 1.5);
    CU_ASSERT(metric(&r, BL_M_STABLE_RANK, 0) > 3); /* a random first layer is far from rank 1 */
    CU_ASSERT(metric(&r, BL_M_SVM_ALIGNMENT, last) > 0.99);
    /* and the direction approaches a KKT point of the margin problem */
    CU_ASSERT(metric(&r, BL_M_KKT_EPSILON, last) < 0.01);
    CU_ASSERT(metric(&r, BL_M_KKT_EPSILON, last) < 0.5 * metric(&r, BL_M_KKT_EPSILON, 1));
    bl_task_result_free(&r);
}

extern void dgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, double *a,
                    const int *lda, double *s, double *u, const int *ldu, double *vt,
                    const int *ldvt, double *work, const int *lwork, int *info, size_t jobu_len,
                    size_t jobvt_len);

/* ||W||_F^2 / sigma_1(W)^2 of w (rows, cols), sigma_1 by LAPACK's SVD of w
 * itself (not of a Gram matrix, as the program does) */
static double stable_rank_by_svd(const double *w, int rows, int cols)
{
    int m = cols, n = rows, lwork = 64 * (rows + cols), info, one = 1; /* w^T column-major */
    double *a = malloc(sizeof(double) * (size_t)rows * cols), s[64], dummy, frob = 0;
    double *work = malloc(sizeof(double) * (size_t)lwork);
    memcpy(a, w, sizeof(double) * (size_t)rows * cols);
    for (long i = 0; i < (long)rows * cols; i++)
        frob += w[i] * w[i];
    dgesvd_("N", "N", &m, &n, a, &m, s, &dummy, &one, &dummy, &one, work, &lwork, &info, 1, 1);
    free(a);
    free(work);
    return info == 0 ? frob / (s[0] * s[0]) : NAN;
}

/* The recorded stable rank is the first layer's ||W1||_F^2 / sigma_1^2, at
 * the final parameters, for a first layer wider than its inputs and for one
 * narrower (the Gram matrix of either side), from a small initialization,
 * where the top singular values are close (power iteration on W1^T W1 fell
 * 2.5% short of sigma_1^2 in planar_lp's golden case) and a large one. */
static void test_stable_rank_matches_svd(void)
{
    const int widths[] = {50, 4}, scales[] = {0, 1};
    for (int w = 0; w < 2; w++)
        for (int sc = 0; sc < 2; sc++) {
            struct bl_config c = two_layer_task(BL_DATA_SEPARABLE);
            c.model.width = widths[w];
            c.model.init_scale = scales[sc] ? 1.0 : 1e-6;
            /* from 1e-6 a few constant small steps keep the weights tiny:
             * W1^T W1's entries ~1e-12, where an absolute tolerance stops
             * power iteration at once */
            c.optim.schedule = scales[sc] ? BL_SCHED_LOSS_BASED : BL_SCHED_CONSTANT;
            c.optim.lr = scales[sc] ? 0.01 : 1e-3;
            c.optim.steps = scales[sc] ? 300 : 3;
            c.measure.every = c.optim.steps;
            c.measure.reference = BL_REF_NONE;
            c.measure.save_params = BL_SAVE_FINAL;
            struct bl_task_result r;
            char err[128];
            CU_ASSERT_EQUAL_FATAL(bl_train_task(&c, 3, NULL, NULL, &r, err, sizeof err), 0);
            const double *theta = bl_result_params(&r);
            CU_ASSERT_PTR_NOT_NULL_FATAL(theta);
            /* the first layer W1 (width, dim) leads theta (bias-free) */
            double want = stable_rank_by_svd(theta, c.model.width, c.data.dim);
            long last = r.layout->n_records - 1;
            BL_ASSERT_CLOSE(metric(&r, BL_M_STABLE_RANK, last), want, 1e-10);
            int smaller = c.model.width < c.data.dim ? c.model.width : c.data.dim;
            CU_ASSERT(want >= 1.0 && want <= smaller);
            bl_task_result_free(&r);
        }
}

/* SCIENCE.md 4: on a quadratic, GD diverges exactly when lr * lambda_max > 2;
 * the measured sharpness is lambda_max. */
static void test_quadratic_diverges_iff_past_two_over_eta(void)
{
    struct bl_config c = small_task();
    c.model.kind = BL_MODEL_QUADRATIC;
    c.model.width = 30;
    c.model.eig_max = 10;
    c.model.eig_min = 0.5;
    c.optim.steps = 3000;
    c.measure.every = 3000;
    c.measure.sharpness = BL_SHARP_LANCZOS;
    c.measure.trace_probes = 3;
    double trace = 0; /* z^T A z = trace A exactly for diagonal A and z_i = +-1 */
    for (int i = 0; i < 30; i++)
        trace += 10.0 * pow(0.05, i / 29.0);
    double products[4] = {1.9, 1.99, 2.01, 2.1}; /* lr * lambda_max */
    for (int i = 0; i < 4; i++) {
        c.optim.lr = products[i] / c.model.eig_max;
        struct bl_task_result r;
        char err[128];
        CU_ASSERT_EQUAL_FATAL(bl_train_task(&c, 1, NULL, NULL, &r, err, sizeof err), 0);
        CU_ASSERT_EQUAL(r.status, products[i] > 2 ? BL_STATUS_DIVERGED : BL_STATUS_OK);
        BL_ASSERT_CLOSE(metric(&r, BL_M_SHARPNESS, 0), 10.0, 1e-9);
        BL_ASSERT_CLOSE(metric(&r, BL_M_ETA_SHARPNESS, 0), products[i], 1e-9);
        BL_ASSERT_CLOSE(metric(&r, BL_M_HESSIAN_TRACE, 0), trace, 1e-12);
        bl_task_result_free(&r);
    }
}

/* SCIENCE.md 4: GD with weight decay on a scale-invariant loss obeys
 * ||w_{t+1}||^2 = (1 - lr wd)^2 ||w_t||^2 + lr^2 ||grad L(w_t)||^2 exactly,
 * since w^T grad L = 0. Checked at every step to 1e-12. */
static void test_norm_identity_scale_invariant(void)
{
    struct bl_config c = small_task();
    c.data.kind = BL_DATA_CLUSTERS;
    c.data.classes = 3;
    c.model.kind = BL_MODEL_MLP;
    c.model.depth = 3;
    c.model.width = 16;
    c.model.normalize = 1;
    c.model.train_last = 0;
    c.loss.kind = BL_LOSS_CROSS_ENTROPY;
    c.optim.lr = 0.5;
    c.optim.weight_decay = 0.01;
    c.optim.steps = 100;
    c.measure.every = 1;
    struct bl_task_result r;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(bl_train_task(&c, 3, NULL, NULL, &r, err, sizeof err), 0);
    double worst = 0, eta = c.optim.lr, wd = c.optim.weight_decay;
    for (long k = 0; k + 1 < r.layout->n_records; k++) {
        double w = metric(&r, BL_M_TRAINED_NORM, k), g = metric(&r, BL_M_GRAD_NORM, k);
        double next = metric(&r, BL_M_TRAINED_NORM, k + 1);
        double predicted = (1 - eta * wd) * (1 - eta * wd) * w * w + eta * eta * g * g;
        worst = fmax(worst, fabs(predicted - next * next) / (next * next));
    }
    CU_ASSERT(worst < 1e-12);
    /* without normalization the identity does not hold */
    c.model.normalize = 0;
    bl_task_result_free(&r);
    CU_ASSERT_EQUAL_FATAL(bl_train_task(&c, 3, NULL, NULL, &r, err, sizeof err), 0);
    double w = metric(&r, BL_M_TRAINED_NORM, 0), g = metric(&r, BL_M_GRAD_NORM, 0);
    double next = metric(&r, BL_M_TRAINED_NORM, 1);
    double predicted = (1 - eta * wd) * (1 - eta * wd) * w * w + eta * eta * g * g;
    CU_ASSERT(fabs(predicted - next * next) / (next * next) > 1e-6);
    bl_task_result_free(&r);
}

/* SCIENCE.md 3 on a small sparse problem (dim 400, n 40, k 3; alpha 128,
 * eta lambda 5e-4, t* = ln 128 / 5e-4 = 9704): before the transition
 * ||theta_k|| = ||theta_0|| (1 - eta lambda)^k within 1% (GD applies
 * lambda as weight decay, src/optim/gd.c) and the predictor is the
 * max-L2-margin classifier (l2_cosine > 0.99); after it, the predictor
 * turns to the max-L1-margin classifier and the test accuracy climbs far
 * above the L2 classifier's (grokking). The outcomes: t_star by formula,
 * memorize_step and grok_step at the first records past fit_threshold. */
static void test_diag_linear_grokking(void)
{
    struct bl_config c;
    bl_config_defaults(&c);
    c.data.kind = BL_DATA_SPARSE_SIGN;
    c.data.n_train = 40;
    c.data.n_test = 400;
    c.data.dim = 400;
    c.data.sparsity = 3;
    c.model.kind = BL_MODEL_DIAG_LINEAR;
    c.model.depth = 2;
    c.model.init_scale = 128;
    c.optim.lr = 0.01;
    c.optim.weight_decay = 0.05;
    c.optim.steps = 20000;
    c.measure.every = 500;
    c.measure.reference = BL_REF_SVM;
    struct bl_task_result r;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(bl_train_task(&c, 0, NULL, NULL, &r, err, sizeof err), 0);
    const struct bl_result_layout *L = r.layout;
    double eta_lambda = 0.01 * 0.05, t_star = log(128.0) / eta_lambda;
    BL_ASSERT_CLOSE(outcome(&r, L->t_star), t_star, 1e-14);
    BL_ASSERT_CLOSE(outcome(&r, L->init_norm), 128.0, 1e-14);
    BL_ASSERT_CLOSE(outcome(&r, L->init_coordinate), 128.0 / sqrt(800.0), 1e-15);
    int early = 0;
    long last = L->n_records - 1, grok = -1, memorize = -1;
    for (long k = 0; k <= last; k++) {
        double step = (double)bl_record_step(&c.optim, &c.measure, k);
        if (step <= t_star / 3) {
            double decayed = 128.0 * pow(1 - eta_lambda, step);
            CU_ASSERT(fabs(metric(&r, BL_M_PARAM_NORM, k) / decayed - 1) < 0.01);
            early++;
        }
        if (memorize < 0 && metric(&r, BL_M_TRAIN_ACC, k) >= c.measure.fit_threshold)
            memorize = k;
        if (grok < 0 && metric(&r, BL_M_TEST_ACC, k) >= c.measure.fit_threshold)
            grok = k;
    }
    CU_ASSERT(early >= 6);
    CU_ASSERT(metric(&r, BL_M_L2_COSINE, 6) > 0.99); /* step 3000, in the kernel regime */
    CU_ASSERT(metric(&r, BL_M_L1_COSINE, 6) < 0.6);
    CU_ASSERT(metric(&r, BL_M_L1_COSINE, last) > 0.9);
    CU_ASSERT(metric(&r, BL_M_L2_COSINE, last) < 0.5);
    CU_ASSERT(metric(&r, BL_M_TEST_ACC, 6) < 0.7);
    CU_ASSERT(metric(&r, BL_M_TEST_ACC, last) > outcome(&r, L->l2_test_acc) + 0.25);
    CU_ASSERT(outcome(&r, L->l1_test_acc) > outcome(&r, L->l2_test_acc) + 0.2);
    CU_ASSERT_FATAL(grok > 0 && memorize >= 0);
    CU_ASSERT(grok > 0 && memorize < grok);
    CU_ASSERT_EQUAL(outcome(&r, L->memorize_step),
                    (double)bl_record_step(&c.optim, &c.measure, memorize));
    CU_ASSERT_EQUAL(outcome(&r, L->grok_step), (double)bl_record_step(&c.optim, &c.measure, grok));
    CU_ASSERT(isnan(outcome(&r, L->ungrok_step)));
    /* measuring never moves the trajectory: every 250 steps gives the same records */
    struct bl_config d = c;
    d.measure.every = 250;
    struct bl_task_result s;
    CU_ASSERT_EQUAL_FATAL(bl_train_task(&d, 0, NULL, NULL, &s, err, sizeof err), 0);
    CU_ASSERT_EQUAL(metric(&s, BL_M_PARAM_NORM, 2 * last), metric(&r, BL_M_PARAM_NORM, last));
    bl_task_result_free(&s);
    bl_task_result_free(&r);
}

/* measure.spacing = log: step 0, the distinct round(10^(j/per_decade))
 * below the last step, and the last step (hand-computed for 3 per decade);
 * strictly increasing with 20 per decade (1.12, 1.26, 1.41 all round to 1);
 * and a log-spaced run records at its steps the same numbers as a linear one. */
static void test_log_spaced_records(void)
{
    struct bl_optim_cfg o = {.steps = 1000};
    struct bl_measure_cfg m = {.every = 10, .spacing = BL_SPACING_LOG, .per_decade = 3};
    long want[] = {0, 1, 2, 5, 10, 22, 46, 100, 215, 464, 1000};
    CU_ASSERT_EQUAL_FATAL(bl_record_count(&o, &m), 11);
    for (long r = 0; r < 11; r++)
        CU_ASSERT_EQUAL(bl_record_step(&o, &m, r), want[r]);
    m.per_decade = 20;
    o.steps = 10000000;
    long n = bl_record_count(&o, &m);
    CU_ASSERT(n > 60 && n <= 20 * 7 + 2);
    for (long r = 1; r < n; r++)
        CU_ASSERT(bl_record_step(&o, &m, r) > bl_record_step(&o, &m, r - 1));
    CU_ASSERT_EQUAL(bl_record_step(&o, &m, n - 1), 10000000);
    CU_ASSERT_EQUAL(bl_record_step(&o, &m, 1), 1);
    CU_ASSERT_EQUAL(bl_record_step(&o, &m, 2), 2);
    struct bl_config c = small_task(), d;
    c.optim.steps = 1000;
    c.measure.every = 100;
    d = c;
    d.measure.spacing = BL_SPACING_LOG;
    d.measure.per_decade = 1; /* 0, 1, 10, 100, 1000 */
    struct bl_task_result a, b;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(bl_train_task(&c, 2, NULL, NULL, &a, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(bl_train_task(&d, 2, NULL, NULL, &b, err, sizeof err), 0);
    CU_ASSERT_EQUAL(b.layout->n_records, 5);
    CU_ASSERT_EQUAL(metric(&b, BL_M_TRAIN_LOG_LOSS, 3), metric(&a, BL_M_TRAIN_LOG_LOSS, 1));
    CU_ASSERT_EQUAL(metric(&b, BL_M_PARAM_NORM, 4), metric(&a, BL_M_PARAM_NORM, 10));
    bl_task_result_free(&a);
    bl_task_result_free(&b);
}

/* SGD at lr 0.1 on a 4-coordinate noisy quadratic (h from 10 to 1, sigma_B
 * = 2 / sqrt(4) = 1), 200000 steps, the parameters kept every 10. */
static struct bl_config noisy_quadratic_sgd(void)
{
    struct bl_config c = small_task();
    c.model.kind = BL_MODEL_NOISY_QUADRATIC;
    c.model.width = 4;
    c.model.eig_max = 10;
    c.model.eig_min = 1;
    c.model.noise = 2.0;
    c.optim.kind = BL_OPT_SGD;
    c.optim.batch_size = 4;
    c.optim.lr = 0.1;
    c.optim.steps = 200000;
    c.measure.every = 10;
    c.measure.save_params = BL_SAVE_RECORDS;
    return c;
}

/* SCIENCE.md 5: SGD on the noisy quadratic is theta_i <- (1 - lr h_i) theta_i
 * - lr sigma_B z, whose stationary variance is exactly lr sigma_B^2 / (h_i (2 -
 * lr h_i)). 200000 steps, a sample every 10 (AR(1) correlation rho =
 * (1 - lr h)^10 between samples): the sample variance (mean 0 known) has
 * relative sd sqrt(2/N (1 + rho^2) / (1 - rho^2)); it must match within 4 of
 * them, and the continuum formula lr sigma_B^2 / (2 h) must fail at lr h = 1. */
static void test_noisy_quadratic_sgd_stationary_variance(void)
{
    struct bl_config c = noisy_quadratic_sgd();
    struct bl_task_result r;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(bl_train_task(&c, 4, NULL, NULL, &r, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(r.status, BL_STATUS_OK);
    const double *params = bl_result_params(&r);
    long R = r.layout->n_records, burn = 100, N = R - burn;
    for (int i = 0; i < 4; i++) {
        double h = 10 * pow(0.1, i / 3.0), lr = c.optim.lr, sb2 = 1.0;
        double exact = lr * sb2 / (h * (2 - lr * h)), s2 = 0;
        for (long k = burn; k < R; k++) {
            double th = params[k * r.n_params + i];
            s2 += th * th / (double)N;
        }
        double rho = pow(1 - lr * h, 10);
        double sd = sqrt(2.0 / N * (1 + rho * rho) / (1 - rho * rho));
        if (!(fabs(s2 / exact - 1) < 4 * sd))
            fprintf(stderr, "\n    [noisy_quadratic] h %g: variance %g, exact %g (sd %g)", h, s2,
                    exact, sd * exact);
        CU_ASSERT(fabs(s2 / exact - 1) < 4 * sd);
        if (i == 0) /* lr h = 1: the SDE's lr sigma^2 / (2 h) is half the truth */
            CU_ASSERT(fabs(s2 / (lr * sb2 / (2 * h)) - 1) > 10 * sd);
    }
    bl_task_result_free(&r);
}

/* optim.sde_substeps = m: Euler-Maruyama of SGD's SDE with time step lr / m,
 * theta_i <- (1 - lr h_i / m) theta_i - (lr / m) sqrt(m) sigma_B z, whose
 * stationary variance is exactly lr sigma_B^2 / (h_i (2 - lr h_i / m)): at
 * m = 16 and lr h = 1 within 3% of the SDE's lr sigma_B^2 / (2 h), where SGD
 * (m = 1) is twice it. The same run length in time (200000 SGD steps, a
 * sample every 10 of them) and the same sd bound as the SGD test above. */
static void test_noisy_quadratic_sde_substeps(void)
{
    struct bl_config base = noisy_quadratic_sgd();
    base.optim.sde_substeps = 16;
    struct bl_config c;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(bl_config_for_point(&base, 0, &c, err, sizeof err), 0);
    CU_ASSERT_EQUAL(c.optim.steps, 16 * 200000L);
    CU_ASSERT_EQUAL(c.measure.every, 160);
    CU_ASSERT_DOUBLE_EQUAL(c.optim.lr, 0.1 / 16, 1e-18);
    CU_ASSERT_DOUBLE_EQUAL(c.model.noise, 8.0, 1e-15);
    struct bl_config again; /* resolving a resolved point changes nothing */
    CU_ASSERT_EQUAL_FATAL(bl_config_for_point(&c, 0, &again, err, sizeof err), 0);
    CU_ASSERT_EQUAL(again.optim.steps, c.optim.steps);
    struct bl_task_result r;
    CU_ASSERT_EQUAL_FATAL(bl_train_task(&c, 4, NULL, NULL, &r, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(r.status, BL_STATUS_OK);
    const double *params = bl_result_params(&r);
    long R = r.layout->n_records, burn = 100, N = R - burn;
    for (int i = 0; i < 4; i++) {
        double h = 10 * pow(0.1, i / 3.0), lr = base.optim.lr, m = 16;
        double exact = lr / (h * (2 - lr * h / m)), sde = lr / (2 * h), s2 = 0;
        for (long k = burn; k < R; k++) {
            double th = params[k * r.n_params + i];
            s2 += th * th / (double)N;
        }
        double rho = pow(1 - lr * h / m, 10 * m);
        double sd = sqrt(2.0 / N * (1 + rho * rho) / (1 - rho * rho));
        if (!(fabs(s2 / exact - 1) < 4 * sd))
            fprintf(stderr, "\n    [sde_substeps] h %g: variance %g, exact %g (sd %g)", h, s2,
                    exact, sd * exact);
        CU_ASSERT(fabs(s2 / exact - 1) < 4 * sd);
        CU_ASSERT(fabs(s2 / sde - 1) < 4 * sd + 0.033);
        if (i == 0) /* SGD's own variance, lr / (h (2 - lr h)), is twice the SDE's here */
            CU_ASSERT(fabs(s2 / (lr / (h * (2 - lr * h))) - 1) > 10 * sd);
    }
    bl_task_result_free(&r);
    /* refused off its domain, naming the key */
    base.optim.kind = BL_OPT_ADAM;
    CU_ASSERT_NOT_EQUAL(bl_config_for_point(&base, 0, &c, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "sde_substeps = 16 integrates SGD's SDE"));
}

/* SVAG: c1 + c2 = 1 and c1^2 + c2^2 = m (l for sgd, l^2 for the Adam
 * family); l = 1 is the plain optimizer bitwise; and two steps of SGD with
 * l = 2 equal theta -= (lr / 2) (c1 grad L_B1 + c2 grad L_B2), with B1 and B2
 * drawn here from their streams and the gradients formed here. */
static void test_svag(void)
{
    struct bl_optim_cfg o = {.kind = BL_OPT_SGD};
    double c[2];
    for (int l = 1; l <= 8; l *= 2)
        for (int adaptive = 0; adaptive < 2; adaptive++) {
            o.kind = adaptive ? BL_OPT_ADAM : BL_OPT_SGD;
            o.svag_l = l;
            bl_svag_coefficients(&o, c);
            double m = adaptive ? l * l : l;
            BL_ASSERT_CLOSE(c[0] + c[1], 1.0, 1e-15);
            BL_ASSERT_CLOSE(c[0] * c[0] + c[1] * c[1], m, 1e-14);
        }
    struct bl_config cfg = small_task();
    cfg.loss.reduction = BL_REDUCE_MEAN;
    cfg.optim.kind = BL_OPT_SGD;
    cfg.optim.batch_size = 8;
    cfg.optim.sampling = BL_SAMPLE_WITH_REPLACEMENT;
    cfg.optim.lr = 0.5;
    cfg.optim.steps = 50;
    cfg.measure.every = 10;
    cfg.measure.save_params = BL_SAVE_FINAL;
    /* l = 1 against a config without the key's effect: identical records */
    struct bl_task_result plain, one;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(bl_train_task(&cfg, 3, NULL, NULL, &plain, err, sizeof err), 0);
    struct bl_config c1 = cfg;
    c1.optim.svag_l = 1;
    CU_ASSERT_EQUAL_FATAL(bl_train_task(&c1, 3, NULL, NULL, &one, err, sizeof err), 0);
    CU_ASSERT(same_records(&plain, &one));
    bl_task_result_free(&one);
    /* l = 2: the resolved point (lr / 2, 2 steps) against the direct formula */
    struct bl_config c2 = cfg, point;
    c2.optim.svag_l = 2;
    c2.optim.steps = 1;
    c2.measure.every = 1;
    CU_ASSERT_EQUAL_FATAL(bl_config_for_point(&c2, 0, &point, err, sizeof err), 0);
    CU_ASSERT_EQUAL(point.optim.steps, 2);
    BL_ASSERT_CLOSE(point.optim.lr, 0.25, 1e-15);
    struct bl_task_result two;
    CU_ASSERT_EQUAL_FATAL(bl_train_task(&point, 3, NULL, NULL, &two, err, sizeof err), 0);
    struct bl_data d;
    bl_data_make(&cfg.data, 3, &d, err, sizeof err);
    struct bl_model m;
    CU_ASSERT_EQUAL_FATAL(bl_model_build(&m, &cfg.model, cfg.data.dim, 1, err, sizeof err), 0);
    struct bl_workspace ws;
    bl_workspace_alloc(&ws, &m, 8, 0);
    struct bl_batch_buffer buf;
    bl_batch_buffer_alloc(&buf, &d.train, 8);
    struct bl_batcher b[2];
    bl_batcher_init(&b[0], 40, 8, 1, 3);
    bl_batcher_init(&b[1], 40, 8, 1, 3);
    b[1].stream = BL_STREAM_SVAG_BATCH;
    o.kind = BL_OPT_SGD;
    o.svag_l = 2;
    bl_svag_coefficients(&o, c);
    double theta[5], grad[5], step[5], log_loss[8], margin[8];
    bl_model_init(&m, 3, theta);
    for (long k = 0; k < 2; k++) {
        for (int p = 0; p < 5; p++)
            step[p] = 0;
        for (int j = 0; j < 2; j++) {
            struct bl_batch batch = bl_data_gather(&d.train, bl_batcher_batch(&b[j], k), 8, &buf);
            const double *out = bl_model_forward(&m, theta, &batch, &ws);
            bl_loss_forward(cfg.loss.kind, out, &batch, 1, log_loss, margin);
            bl_loss_backward(cfg.loss.kind, out, &batch, 1, 0.0, ws.dout);
            bl_model_backward(&m, theta, &batch, ws.dout, &ws, grad);
            for (int p = 0; p < 5; p++)
                step[p] += c[j] * grad[p] / 8; /* the mean over the batch */
        }
        for (int p = 0; p < 5; p++)
            theta[p] -= 0.25 * step[p];
    }
    const double *got = bl_result_params(&two);
    for (int p = 0; p < 5; p++)
        BL_ASSERT_CLOSE(got[p], theta[p], 1e-12);
    bl_batcher_free(&b[0]);
    bl_batcher_free(&b[1]);
    bl_batch_buffer_free(&buf);
    bl_workspace_free(&ws);
    bl_model_free(&m);
    bl_data_free(&d);
    bl_task_result_free(&two);
    bl_task_result_free(&plain);
}

void bl_test_register_optim(void)
{
    CU_pSuite s = CU_add_suite("optim", NULL, NULL);
    BL_ADD_TEST(s, test_momentum_and_decay_formulas);
    BL_ADD_TEST(s, test_adam_family_against_direct_formula);
    BL_ADD_TEST(s, test_gd_fits_then_margin_grows);
    BL_ADD_TEST(s, test_chunked_pass_matches_direct_gradient);
    BL_ADD_TEST(s, test_loss_based_rate_goes_below_double_range);
    BL_ADD_TEST(s, test_adam_trains_below_double_range);
    BL_ADD_TEST(s, test_divergence_is_marked);
    BL_ADD_TEST(s, test_sgd_batches_reproducible);
    BL_ADD_TEST(s, test_resume_is_bitwise_exact);
    BL_ADD_TEST(s, test_sharpness_matches_explicit_hessian);
    BL_ADD_TEST(s, test_linear_direction_reaches_svm);
    BL_ADD_TEST(s, test_two_layer_symmetric_reaches_global_max_margin);
    BL_ADD_TEST(s, test_quadratic_diverges_iff_past_two_over_eta);
    BL_ADD_TEST(s, test_norm_identity_scale_invariant);
    BL_ADD_TEST(s, test_diag_linear_grokking);
    BL_ADD_TEST(s, test_log_spaced_records);
    BL_ADD_TEST(s, test_noisy_quadratic_sgd_stationary_variance);
    BL_ADD_TEST(s, test_noisy_quadratic_sde_substeps);
    BL_ADD_TEST(s, test_svag);
    BL_ADD_TEST(s, test_stable_rank_matches_svd);
}
