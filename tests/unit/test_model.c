/* Models: gradients of every model x loss against central differences, and
 * Euler's identity for homogeneous models. */
#include <math.h>
#include <string.h>

#include "bl_loss.h"
#include "bl_model.h"
#include "bl_rng.h"
#include "bl_test.h"

#define N_EX 7
#define DIM 4

/* The model cfg describes for dim inputs and outputs outputs (it must build). */
static void build(struct bl_model *m, const struct bl_model_cfg *mc, int dim, int outputs)
{
    char err[256];
    CU_ASSERT_EQUAL_FATAL(bl_model_build(m, mc, dim, outputs, err, sizeof err), 0);
}

/* The parameter block called name (it must exist). */
static const struct bl_param_block *block(const struct bl_model *m, const char *name)
{
    for (int k = 0; k < m->n_blocks; k++)
        if (!strcmp(m->blocks[k].name, name))
            return &m->blocks[k];
    CU_FAIL_FATAL("no such parameter block");
    return NULL;
}

/* Every bias block of theta set to c times N(0, 1) draws (biases start at 0). */
static void random_biases(const struct bl_model *m, double *theta, double c, struct bl_rng *rng)
{
    for (int k = 0; k < m->n_blocks; k++)
        if (m->blocks[k].name[0] == 'b')
            for (int j = 0; j < m->blocks[k].rows; j++)
                theta[m->blocks[k].offset + j] = c * bl_rng_normal(rng);
}

/* A batch of n dense rows x (n, dim) with labels. */
static struct bl_batch rows(const double *x, int n, const int *label)
{
    return (struct bl_batch){.n = n, .dim = DIM, .x = x, .label = label};
}

/* Forward over the examples: the outputs (in ws) and S = log of the summed
 * loss. */
static const double *forward_log_loss(const struct bl_model *m, enum bl_loss_kind loss,
                                      const double *theta, const double *x, const int *label,
                                      struct bl_workspace *ws, double *S)
{
    double log_loss[N_EX], margin[N_EX];
    struct bl_batch b = rows(x, N_EX, label);
    const double *out = bl_model_forward(m, theta, &b, ws);
    bl_loss_forward(loss, out, &b, m->outputs, log_loss, margin);
    *S = -INFINITY;
    for (int i = 0; i < N_EX; i++)
        *S = bl_log_add_exp(*S, log_loss[i]);
    return out;
}

/* Summed loss of the model on (x, label): returns log L and, when grad is
 * given, grad = dL/dtheta (unscaled). */
static double summed_loss(const struct bl_model *m, enum bl_loss_kind loss, const double *theta,
                          const double *x, const int *label, struct bl_workspace *ws,
                          double *grad)
{
    int k = m->outputs;
    double S;
    const double *out = forward_log_loss(m, loss, theta, x, label, ws, &S);
    if (grad) {
        struct bl_batch b = rows(x, N_EX, label);
        bl_loss_backward(loss, out, &b, k, S, ws->dout);
        bl_model_backward(m, theta, &b, ws->dout, ws, grad);
        for (long p = 0; p < m->n_params; p++)
            grad[p] *= exp(S);
    }
    return S;
}

/* Max relative difference between backprop and central differences. */

/* x (N_EX, DIM) ~ N(0, I) and labels uniform over the classes of a model
 * with `outputs` outputs (one output: two classes). */
static void random_examples(struct bl_rng *rng, int outputs, double *x, int *label)
{
    for (int i = 0; i < N_EX * DIM; i++)
        x[i] = bl_rng_normal(rng);
    int classes = outputs == 1 ? 2 : outputs;
    for (int i = 0; i < N_EX; i++)
        label[i] = (int)bl_rng_below(rng, (uint64_t)classes);
}
/* theta += jitter N(0, 1): moves a model off a symmetric initialization
 * (diag_linear starts at u = v, where f = 0 and many terms vanish) */
static void jitter_params(double *theta, long P, double jitter, struct bl_rng *rng)
{
    for (long p = 0; jitter > 0 && p < P; p++)
        theta[p] += jitter * bl_rng_normal(rng);
}

static double gradient_error(const struct bl_model_cfg *mc, enum bl_loss_kind loss, int outputs,
                             double jitter)
{
    struct bl_model m;
    build(&m, mc, DIM, outputs);
    struct bl_workspace ws;
    bl_workspace_alloc(&ws, &m, N_EX, 0);
    double *theta = malloc(sizeof(double) * m.n_params);
    double *grad = malloc(sizeof(double) * m.n_params);
    bl_model_init(&m, 11, theta);
    struct bl_rng rng;
    bl_rng_init(&rng, 5, BL_STREAM_TEST_ONLY, 0);
    random_biases(&m, theta, 0.3, &rng);
    jitter_params(theta, m.n_params, jitter, &rng);
    double x[N_EX * DIM];
    int label[N_EX];
    random_examples(&rng, outputs, x, label);
    summed_loss(&m, loss, theta, x, label, &ws, grad);
    double worst = 0, h = 1e-6;
    for (long p = 0; p < m.n_params; p++) {
        double keep = theta[p];
        theta[p] = keep + h;
        double up = exp(summed_loss(&m, loss, theta, x, label, &ws, NULL));
        theta[p] = keep - h;
        double down = exp(summed_loss(&m, loss, theta, x, label, &ws, NULL));
        theta[p] = keep;
        double fd = (up - down) / (2 * h);
        double err = fabs(fd - grad[p]) / fmax(1e-3, fabs(fd) + fabs(grad[p]));
        if (err > worst)
            worst = err;
    }
    free(theta);
    free(grad);
    bl_workspace_free(&ws);
    bl_model_free(&m);
    return worst;
}

/* Every model x activation x bias x loss combination the checks run over:
 * linear, MLP of depth 2 and 3 (bias-free MLPs also with normalized hidden
 * layers). Returns the count written to cases. */
struct model_case {
    struct bl_model_cfg model;
    enum bl_loss_kind loss;
    int outputs;
};

static int model_cases(struct model_case *cases)
{
    enum bl_activation acts[3] = {BL_ACT_RELU, BL_ACT_LEAKY_RELU, BL_ACT_IDENTITY};
    struct { enum bl_loss_kind loss; int outputs; } losses[5] = {
        {BL_LOSS_LOGISTIC, 1}, {BL_LOSS_EXPONENTIAL, 1}, {BL_LOSS_SQUARED, 1},
        {BL_LOSS_CROSS_ENTROPY, 3}, {BL_LOSS_SQUARED, 3}};
    int n = 0;
    for (int kind = 0; kind < 2; kind++)
        for (int depth = 2; depth <= (kind ? 3 : 2); depth++)
            for (int a = 0; a < 3; a++)
                for (int bias = 0; bias < 2; bias++)
                    for (int l = 0; l < 5; l++) {
                        struct bl_model_cfg mc = {kind ? BL_MODEL_MLP : BL_MODEL_LINEAR,
                                                  depth, 5, acts[a], 0.2, bias, 1.0, 0, 0, 0, 1, 0, 0, 0, 0};
                        mc.normalize = kind && !bias && l % 2;
                        cases[n++] = (struct model_case){mc, losses[l].loss, losses[l].outputs};
                    }
    return n;
}

static void describe_case(const struct model_case *c, const char *what, double a, double b)
{
    fprintf(stderr, "\n  %s %.3g %.3g: kind %d depth %d act %d bias %d normalize %d loss %d/%d\n",
            what, a, b, c->model.kind, c->model.depth, c->model.activation, c->model.bias,
            c->model.normalize, c->loss, c->outputs);
}

static void test_gradients_every_model_and_loss(void)
{
    struct model_case cases[128];
    int n = model_cases(cases);
    CU_ASSERT_EQUAL(n, 3 * 2 * 5 * 3);
    for (int i = 0; i < n; i++) {
        double err = gradient_error(&cases[i].model, cases[i].loss, cases[i].outputs, 0);
        if (!(err < 1e-5))
            describe_case(&cases[i], "gradient error", err, 0);
        CU_ASSERT(err < 1e-5);
    }
}

/* f(theta; x) and its gradient for a single-output model at one input. */
static double output_and_gradient(const struct bl_model *m, const double *theta,
                                  const double *x, struct bl_workspace *ws, double *grad)
{
    struct bl_batch b = rows(x, 1, NULL);
    double f = bl_model_forward(m, theta, &b, ws)[0];
    ws->dout[0] = 1.0;
    bl_model_backward(m, theta, &b, ws->dout, ws, grad);
    return f;
}

/* <theta, grad f> - degree * f, relative to |f| */
static double euler_defect(int depth, enum bl_activation act, int bias)
{
    struct bl_model_cfg mc = {depth == 1 ? BL_MODEL_LINEAR : BL_MODEL_MLP, depth, 6, act, 0.1,
                              bias, 1.0, 0, 0, 0, 1, 0, 0, 0, 0};
    struct bl_model m;
    build(&m, &mc, DIM, 1);
    struct bl_workspace ws;
    bl_workspace_alloc(&ws, &m, 1, 0);
    double *theta = malloc(sizeof(double) * m.n_params);
    double *grad = malloc(sizeof(double) * m.n_params);
    bl_model_init(&m, 3, theta);
    if (bias)
        for (long p = block(&m, "b1")->offset; p < m.n_params; p++)
            theta[p] = 0.5;
    double x[DIM] = {0.3, -1.2, 0.7, 2.0};
    double f = output_and_gradient(&m, theta, x, &ws, grad);
    double dot = 0;
    for (long p = 0; p < m.n_params; p++)
        dot += theta[p] * grad[p];
    int degree = depth; /* nominal: with biases the model has no degree */
    free(theta);
    free(grad);
    bl_workspace_free(&ws);
    bl_model_free(&m);
    return fabs(dot - degree * f) / fmax(1e-12, fabs(f));
}

static void test_euler_identity_homogeneous(void)
{
    enum bl_activation acts[3] = {BL_ACT_RELU, BL_ACT_LEAKY_RELU, BL_ACT_IDENTITY};
    for (int depth = 1; depth <= 4; depth++)
        for (int a = 0; a < 3; a++)
            CU_ASSERT(euler_defect(depth, acts[a], 0) < 1e-12);
    /* with biases the model is not homogeneous and the identity fails */
    CU_ASSERT(euler_defect(3, BL_ACT_RELU, 1) > 1e-3);
}

static void test_rescaling_is_power_of_scale(void)
{
    struct bl_model_cfg mc = {BL_MODEL_MLP, 3, 8, BL_ACT_LEAKY_RELU, 0.1, 0, 1.0, 0, 0, 0, 1, 0, 0, 0, 0};
    struct bl_model m;
    build(&m, &mc, DIM, 1);
    CU_ASSERT_EQUAL(m.degree, 3);
    struct bl_workspace ws;
    bl_workspace_alloc(&ws, &m, 1, 0);
    double *theta = malloc(sizeof(double) * m.n_params);
    bl_model_init(&m, 9, theta);
    double x[DIM] = {1.0, 0.5, -0.25, 2.0};
    struct bl_batch b = rows(x, 1, NULL);
    double f1 = bl_model_forward(&m, theta, &b, &ws)[0];
    for (long p = 0; p < m.n_params; p++)
        theta[p] *= 2.5;
    double f2 = bl_model_forward(&m, theta, &b, &ws)[0];
    BL_ASSERT_CLOSE(f2, pow(2.5, 3) * f1, 1e-13);
    free(theta);
    bl_workspace_free(&ws);
    bl_model_free(&m);
}

static void test_layout_and_init(void)
{
    struct bl_model_cfg mc = {BL_MODEL_MLP, 2, 3, BL_ACT_RELU, 0.1, 1, 2.0, 0, 0, 0, 1, 0, 0, 0, 0};
    struct bl_model m;
    build(&m, &mc, 4, 2);
    /* W1 (3,4), W2 (2,3), b1 (3), b2 (2) */
    CU_ASSERT_EQUAL(m.n_params, 12 + 6 + 3 + 2);
    CU_ASSERT_EQUAL(block(&m, "W2")->offset, 12);
    CU_ASSERT_EQUAL(block(&m, "b1")->offset, 18);
    CU_ASSERT_EQUAL(block(&m, "b2")->offset, 21);
    CU_ASSERT_EQUAL(block(&m, "W2")->rows, 2);
    CU_ASSERT_EQUAL(block(&m, "W2")->cols, 3);
    char layout[128];
    bl_model_layout(&m, layout, sizeof layout);
    CU_ASSERT_STRING_EQUAL(layout, "W1(3,4) W2(2,3) b1(3) b2(2)");
    /* a big layer's weights have std init_scale / sqrt(fan_in) */
    struct bl_model_cfg wide = {BL_MODEL_LINEAR, 1, 1, BL_ACT_RELU, 0.1, 0, 2.0, 0, 0, 0, 1, 0, 0, 0, 0};
    bl_model_free(&m);
    struct bl_model lin;
    build(&lin, &wide, 400, 100);
    double *theta = malloc(sizeof(double) * lin.n_params);
    bl_model_init(&lin, 1, theta);
    double ss = 0;
    for (long p = 0; p < lin.n_params; p++)
        ss += theta[p] * theta[p];
    BL_ASSERT_CLOSE(sqrt(ss / lin.n_params), 2.0 / sqrt(400.0), 0.02);
    free(theta);
    bl_model_free(&lin);
}

/* hv = H v for the summed loss, by the R-operator (unscaled). */
static void summed_hvp(const struct bl_model *m, enum bl_loss_kind loss, const double *theta,
                       const double *v, const double *x, const int *label,
                       struct bl_workspace *ws, double *hv)
{
    int k = m->outputs;
    double S;
    struct bl_batch b = rows(x, N_EX, label);
    const double *out = forward_log_loss(m, loss, theta, x, label, ws, &S);
    const double *rout = m->ops->rforward(m, theta, v, &b, ws);
    bl_loss_backward(loss, out, &b, k, S, ws->dout);
    bl_loss_hessian_vec(loss, out, &b, k, S, rout, ws->rdout);
    m->ops->rbackward(m, theta, v, &b, ws->dout, ws->rdout, ws, hv);
    for (long p = 0; p < m->n_params; p++)
        hv[p] *= exp(S);
}

/* Worst relative error of H v against central differences of the gradient,
 * and the asymmetry |w^T H v - v^T H w| relative to the sizes involved. */
static void hvp_errors(const struct bl_model_cfg *mc, enum bl_loss_kind loss, int outputs,
                       double jitter, double *fd_error, double *asymmetry)
{
    struct bl_model m;
    build(&m, mc, DIM, outputs);
    struct bl_workspace ws;
    bl_workspace_alloc(&ws, &m, N_EX, 1);
    long P = m.n_params;
    double *theta = malloc(sizeof(double) * P), *v = malloc(sizeof(double) * P),
           *w = malloc(sizeof(double) * P), *hv = malloc(sizeof(double) * P),
           *hw = malloc(sizeof(double) * P), *gp = malloc(sizeof(double) * P),
           *gm = malloc(sizeof(double) * P), *shifted = malloc(sizeof(double) * P);
    bl_model_init(&m, 21, theta);
    struct bl_rng rng;
    bl_rng_init(&rng, 8, BL_STREAM_TEST_ONLY, 1);
    for (long p = 0; p < P; p++) {
        v[p] = bl_rng_normal(&rng);
        w[p] = bl_rng_normal(&rng);
    }
    random_biases(&m, theta, 0.3, &rng);
    jitter_params(theta, P, jitter, &rng);
    double x[N_EX * DIM];
    int label[N_EX];
    random_examples(&rng, outputs, x, label);
    summed_hvp(&m, loss, theta, v, x, label, &ws, hv);
    summed_hvp(&m, loss, theta, w, x, label, &ws, hw);
    double h = 1e-5, worst = 0, scale = 0;
    for (long p = 0; p < P; p++)
        scale = fmax(scale, fabs(hv[p]));
    for (long p = 0; p < P; p++)
        shifted[p] = theta[p] + h * v[p];
    summed_loss(&m, loss, shifted, x, label, &ws, gp);
    for (long p = 0; p < P; p++)
        shifted[p] = theta[p] - h * v[p];
    summed_loss(&m, loss, shifted, x, label, &ws, gm);
    for (long p = 0; p < P; p++) {
        double fd = (gp[p] - gm[p]) / (2 * h);
        worst = fmax(worst, fabs(fd - hv[p]) / fmax(1e-3 * scale, fabs(fd) + fabs(hv[p])));
    }
    double wHv = 0, vHw = 0, norms = 0;
    for (long p = 0; p < P; p++) {
        wHv += w[p] * hv[p];
        vHw += v[p] * hw[p];
        norms += fabs(w[p] * hv[p]) + fabs(v[p] * hw[p]);
    }
    *fd_error = worst;
    *asymmetry = fabs(wHv - vHw) / fmax(1e-300, norms);
    free(theta), free(v), free(w), free(hv), free(hw), free(gp), free(gm), free(shifted);
    bl_workspace_free(&ws);
    bl_model_free(&m);
}

static void test_hvp_every_model_and_loss(void)
{
    struct model_case cases[128];
    int n = model_cases(cases);
    for (int i = 0; i < n; i++) {
        double fd, asym;
        hvp_errors(&cases[i].model, cases[i].loss, cases[i].outputs, 0, &fd, &asym);
        if (!(fd < 1e-5 && asym < 1e-12))
            describe_case(&cases[i], "hvp error, asymmetry", fd, asym);
        CU_ASSERT(fd < 1e-5);
        CU_ASSERT(asym < 1e-12);
    }
}

/* diag_linear (SCIENCE.md 3): gradients and exact HVPs against central
 * differences for depths 1-4 and the binary and squared losses, at a point
 * moved off u = v (and at the init itself for the gradient); the init
 * convention u = v = alpha / sqrt(2 dim) (||theta_0|| = alpha, f = 0);
 * f = <u^L - v^L, x> computed by hand; Euler's identity for degree L. */
static void test_diag_linear(void)
{
    enum bl_loss_kind losses[3] = {BL_LOSS_LOGISTIC, BL_LOSS_EXPONENTIAL, BL_LOSS_SQUARED};
    for (int L = 1; L <= 4; L++)
        for (int l = 0; l < 3; l++) {
            struct bl_model_cfg mc = {BL_MODEL_DIAG_LINEAR, L, 1, BL_ACT_RELU, 0.1, 0, 1.7, 0, 0,
                                      0, 1, 0, 0, 0, 0};
            double err = gradient_error(&mc, losses[l], 1, 0.6);
            double at_init = gradient_error(&mc, losses[l], 1, 0);
            double fd, asym;
            hvp_errors(&mc, losses[l], 1, 0.6, &fd, &asym);
            if (!(err < 1e-5 && at_init < 1e-5 && fd < 1e-5 && asym < 1e-12))
                fprintf(stderr, "\n  diag_linear L %d loss %d: grad %.3g (init %.3g) hvp %.3g "
                        "asym %.3g\n", L, losses[l], err, at_init, fd, asym);
            CU_ASSERT(err < 1e-5);
            CU_ASSERT(at_init < 1e-5);
            CU_ASSERT(fd < 1e-5);
            CU_ASSERT(asym < 1e-12);
        }
    struct bl_model_cfg mc = {BL_MODEL_DIAG_LINEAR, 3, 1, BL_ACT_RELU, 0.1, 0, 2.5, 0, 0, 0, 1, 0, 0, 0, 0};
    struct bl_model m;
    build(&m, &mc, DIM, 1);
    CU_ASSERT_EQUAL(m.n_params, 2 * DIM);
    CU_ASSERT_EQUAL(m.degree, 3);
    char layout[64];
    bl_model_layout(&m, layout, sizeof layout);
    CU_ASSERT_STRING_EQUAL(layout, "u(4) v(4)");
    struct bl_workspace ws;
    bl_workspace_alloc(&ws, &m, 1, 0);
    double theta[2 * DIM], grad[2 * DIM], w[DIM];
    bl_model_init(&m, 5, theta);
    double ss = 0;
    for (int p = 0; p < 2 * DIM; p++) {
        BL_ASSERT_CLOSE(theta[p], 2.5 / sqrt(2.0 * DIM), 1e-15);
        ss += theta[p] * theta[p];
    }
    BL_ASSERT_CLOSE(sqrt(ss), 2.5, 1e-14);
    double x[DIM] = {0.3, -1.2, 0.7, 2.0};
    CU_ASSERT_EQUAL(output_and_gradient(&m, theta, x, &ws, grad), 0.0);
    double u[DIM] = {0.5, -1.1, 0.9, 0.2}, v[DIM] = {1.3, 0.4, -0.6, 0.8}, by_hand = 0;
    for (int j = 0; j < DIM; j++) {
        theta[j] = u[j];
        theta[DIM + j] = v[j];
        by_hand += (u[j] * u[j] * u[j] - v[j] * v[j] * v[j]) * x[j];
    }
    double f = output_and_gradient(&m, theta, x, &ws, grad), dot = 0;
    BL_ASSERT_CLOSE(f, by_hand, 1e-14);
    for (int p = 0; p < 2 * DIM; p++)
        dot += theta[p] * grad[p];
    BL_ASSERT_CLOSE(dot, 3 * f, 1e-13);
    m.ops->linear_predictor(&m, theta, w);
    for (int j = 0; j < DIM; j++)
        BL_ASSERT_CLOSE(w[j], u[j] * u[j] * u[j] - v[j] * v[j] * v[j], 1e-15);
    bl_workspace_free(&ws);
    bl_model_free(&m);
}

/* SCIENCE.md 4: with normalized hidden layers the outputs do not change
 * when a hidden layer's weights are scaled, so <W_l, grad_{W_l} f> = 0. */
static void test_normalized_layers_are_scale_invariant(void)
{
    struct bl_model_cfg mc = {BL_MODEL_MLP, 3, 7, BL_ACT_RELU, 0.1, 0, 1.0, 0, 0, 1, 1, 0, 0, 0, 0};
    struct bl_model m;
    build(&m, &mc, DIM, 3);
    struct bl_workspace ws;
    bl_workspace_alloc(&ws, &m, 1, 0);
    double *theta = malloc(sizeof(double) * m.n_params), *grad = malloc(sizeof(double) * m.n_params);
    bl_model_init(&m, 4, theta);
    double x[DIM] = {0.5, -1.0, 2.0, 0.25}, f[3], g[3];
    struct bl_batch b = rows(x, 1, NULL);
    memcpy(f, bl_model_forward(&m, theta, &b, &ws), sizeof f);
    const char *names[3] = {"W1", "W2", "W3"};
    for (int l = 0; l < 2; l++) { /* the two hidden layers, one at a time */
        const struct bl_param_block *W = block(&m, names[l]);
        long count = (long)W->rows * W->cols;
        double *w = theta + W->offset;
        for (long i = 0; i < count; i++)
            w[i] *= 3.7;
        memcpy(g, bl_model_forward(&m, theta, &b, &ws), sizeof g);
        for (int k = 0; k < 3; k++)
            BL_ASSERT_CLOSE(g[k], f[k], 1e-13);
        for (long i = 0; i < count; i++)
            w[i] /= 3.7;
    }
    /* <W_l, grad_{W_l} f_0> = 0 for hidden layers, = f_0 for the last (degree 1) */
    bl_model_forward(&m, theta, &b, &ws);
    ws.dout[0] = 1, ws.dout[1] = ws.dout[2] = 0;
    bl_model_backward(&m, theta, &b, ws.dout, &ws, grad);
    for (int l = 0; l < 3; l++) {
        const struct bl_param_block *W = block(&m, names[l]);
        double dot = 0;
        for (long i = 0; i < (long)W->rows * W->cols; i++)
            dot += theta[W->offset + i] * grad[W->offset + i];
        BL_ASSERT_CLOSE(dot, l < 2 ? 0.0 : f[0], 1e-12);
    }
    /* and normalization is what makes it so: without it, scaling changes f */
    bl_workspace_free(&ws);
    bl_model_free(&m);
    mc.normalize = 0;
    build(&m, &mc, DIM, 3);
    bl_workspace_alloc(&ws, &m, 1, 0);
    double before = bl_model_forward(&m, theta, &b, &ws)[0];
    const struct bl_param_block *W1 = block(&m, "W1");
    for (long i = 0; i < (long)W1->rows * W1->cols; i++)
        theta[W1->offset + i] *= 3.7;
    CU_ASSERT(fabs(bl_model_forward(&m, theta, &b, &ws)[0] - before) > 1e-3 * fabs(before));
    free(theta);
    free(grad);
    bl_workspace_free(&ws);
    bl_model_free(&m);
}

void bl_test_register_model(void)
{
    CU_pSuite s = CU_add_suite("model", NULL, NULL);
    BL_ADD_TEST(s, test_gradients_every_model_and_loss);
    BL_ADD_TEST(s, test_euler_identity_homogeneous);
    BL_ADD_TEST(s, test_rescaling_is_power_of_scale);
    BL_ADD_TEST(s, test_layout_and_init);
    BL_ADD_TEST(s, test_hvp_every_model_and_loss);
    BL_ADD_TEST(s, test_normalized_layers_are_scale_invariant);
    BL_ADD_TEST(s, test_diag_linear);
}
