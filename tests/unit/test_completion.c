/* Matrix completion (SCIENCE.md 3): the factorization model's gradients and
 * exact HVPs against central differences, its init and homogeneity; the
 * matrix_completion data; the references (kernel predictor by brute force,
 * singular values against closed forms); the config's refusals; and a
 * short run on the kernel plateau. */
#include <math.h>
#include <string.h>

#include "bl_completion.h"
#include "bl_config.h"
#include "bl_loss.h"
#include "bl_measure.h"
#include "bl_model.h"
#include "bl_rng.h"
#include "bl_test.h"
#include "bl_train.h"

#define D 4
#define N_PAIRS 9

static struct bl_model_cfg factorization_cfg(double alpha)
{
    struct bl_model_cfg mc;
    memset(&mc, 0, sizeof mc);
    mc.kind = BL_MODEL_FACTORIZATION;
    mc.init_scale = alpha;
    mc.index_range = D;
    return mc;
}

/* N_PAIRS index pairs over [0, D) (two on the diagonal, one pair and its
 * transpose) with targets drawn N(0, 1) */
static struct bl_batch pairs(int *index, double *target, struct bl_rng *rng)
{
    int fixed[N_PAIRS][2] = {{0, 1}, {1, 0}, {2, 2}, {3, 1}, {0, 3}, {1, 1}, {2, 3}, {3, 0},
                             {1, 2}};
    for (int e = 0; e < N_PAIRS; e++) {
        index[2 * e] = fixed[e][0];
        index[2 * e + 1] = fixed[e][1];
        target[e] = bl_rng_normal(rng);
    }
    return (struct bl_batch){.n = N_PAIRS, .arity = 2, .targets = 1, .index = index,
                             .target = target};
}

/* summed squared loss 1/2 sum (W_ij - t)^2 and, when grad is given, its gradient */
static double loss_and_gradient(const struct bl_model *m, const double *theta,
                                const struct bl_batch *b, struct bl_workspace *ws, double *grad)
{
    const double *out = bl_model_forward(m, theta, b, ws);
    double s = 0;
    for (int e = 0; e < b->n; e++) {
        ws->dout[e] = out[e] - b->target[e];
        s += 0.5 * ws->dout[e] * ws->dout[e];
    }
    if (grad)
        bl_model_backward(m, theta, b, ws->dout, ws, grad);
    return s;
}

/* Gradients and HVPs at a random point, against central differences; the
 * HVP's symmetry w^T H v = v^T H w. */
static void test_factorization_derivatives(void)
{
    struct bl_model_cfg mc = factorization_cfg(1.3);
    struct bl_model m;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(bl_model_build(&m, &mc, 2, 1, err, sizeof err), 0);
    long P = m.n_params;
    CU_ASSERT_EQUAL(P, 2 * D * D);
    CU_ASSERT_EQUAL(m.degree, 2);
    struct bl_workspace ws;
    bl_workspace_alloc(&ws, &m, N_PAIRS, 1);
    double theta[2 * D * D], grad[2 * D * D], v[2 * D * D], w[2 * D * D], hv[2 * D * D],
        hw[2 * D * D], gp[2 * D * D], gm[2 * D * D], shifted[2 * D * D], target[N_PAIRS];
    int index[2 * N_PAIRS];
    struct bl_rng rng;
    bl_rng_init(&rng, 3, BL_STREAM_TEST_ONLY, 7);
    bl_model_init(&m, 1, theta);
    for (long p = 0; p < P; p++) {
        theta[p] += 0.5 * bl_rng_normal(&rng);
        v[p] = bl_rng_normal(&rng);
        w[p] = bl_rng_normal(&rng);
    }
    struct bl_batch b = pairs(index, target, &rng);
    loss_and_gradient(&m, theta, &b, &ws, grad);
    double worst = 0, h = 1e-6;
    for (long p = 0; p < P; p++) {
        double keep = theta[p];
        theta[p] = keep + h;
        double up = loss_and_gradient(&m, theta, &b, &ws, NULL);
        theta[p] = keep - h;
        double down = loss_and_gradient(&m, theta, &b, &ws, NULL);
        theta[p] = keep;
        double fd = (up - down) / (2 * h);
        worst = fmax(worst, fabs(fd - grad[p]) / fmax(1e-3, fabs(fd) + fabs(grad[p])));
    }
    CU_ASSERT(worst < 1e-6);
    /* H v through the R-operator, with the squared loss's own Hessian (1) */
    for (int k = 0; k < 2; k++) {
        const double *r = k ? w : v;
        double *out = k ? hw : hv;
        const double *f = bl_model_forward(&m, theta, &b, &ws);
        const double *rf = m.ops->rforward(&m, theta, r, &b, &ws);
        bl_loss_backward(BL_LOSS_SQUARED, f, &b, 1, 0.0, ws.dout);
        bl_loss_hessian_vec(BL_LOSS_SQUARED, f, &b, 1, 0.0, rf, ws.rdout);
        m.ops->rbackward(&m, theta, r, &b, ws.dout, ws.rdout, &ws, out);
    }
    double hh = 1e-5, fd_worst = 0, scale = 0;
    for (long p = 0; p < P; p++)
        scale = fmax(scale, fabs(hv[p]));
    for (long p = 0; p < P; p++)
        shifted[p] = theta[p] + hh * v[p];
    loss_and_gradient(&m, shifted, &b, &ws, gp);
    for (long p = 0; p < P; p++)
        shifted[p] = theta[p] - hh * v[p];
    loss_and_gradient(&m, shifted, &b, &ws, gm);
    for (long p = 0; p < P; p++) {
        double fd = (gp[p] - gm[p]) / (2 * hh);
        fd_worst = fmax(fd_worst, fabs(fd - hv[p]) / fmax(1e-3 * scale, fabs(fd) + fabs(hv[p])));
    }
    CU_ASSERT(fd_worst < 1e-6);
    double wHv = 0, vHw = 0, norms = 0;
    for (long p = 0; p < P; p++) {
        wHv += w[p] * hv[p];
        vHw += v[p] * hw[p];
        norms += fabs(w[p] * hv[p]) + fabs(v[p] * hw[p]);
    }
    CU_ASSERT(fabs(wHv - vHw) <= 1e-12 * norms);
    if (!(worst < 1e-6 && fd_worst < 1e-6))
        fprintf(stderr, "\n  factorization: grad %.3g hvp %.3g\n", worst, fd_worst);
    bl_workspace_free(&ws);
    bl_model_free(&m);
}

/* U = V = alpha I at init (W = 0, ||theta_0|| = alpha sqrt(2 d)); W_ij by
 * hand at a random point; the matrix op agrees with the outputs; Euler's
 * identity <theta, grad W_ij> = 2 W_ij; the build refuses dense inputs. */
static void test_factorization_init_and_forward(void)
{
    struct bl_model_cfg mc = factorization_cfg(2.5);
    struct bl_model m;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(bl_model_build(&m, &mc, 2, 1, err, sizeof err), 0);
    char layout[64];
    bl_model_layout(&m, layout, sizeof layout);
    CU_ASSERT_STRING_EQUAL(layout, "U(4,4) V(4,4)");
    struct bl_workspace ws;
    bl_workspace_alloc(&ws, &m, N_PAIRS, 0);
    double theta[2 * D * D], grad[2 * D * D], W[D * D], target[N_PAIRS];
    int index[2 * N_PAIRS];
    bl_model_init(&m, 9, theta);
    double ss = 0;
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++) {
            CU_ASSERT_EQUAL(theta[i * D + j], i == j ? 2.5 : 0.0);
            CU_ASSERT_EQUAL(theta[D * D + i * D + j], i == j ? 2.5 : 0.0);
            ss += 2 * theta[i * D + j] * theta[i * D + j];
        }
    BL_ASSERT_CLOSE(sqrt(ss), 2.5 * sqrt(2.0 * D), 1e-15);
    struct bl_rng rng;
    bl_rng_init(&rng, 4, BL_STREAM_TEST_ONLY, 8);
    struct bl_batch b = pairs(index, target, &rng);
    const double *out = bl_model_forward(&m, theta, &b, &ws);
    for (int e = 0; e < N_PAIRS; e++)
        CU_ASSERT_EQUAL(out[e], 0.0);
    for (long p = 0; p < m.n_params; p++)
        theta[p] = bl_rng_normal(&rng);
    CU_ASSERT_EQUAL(m.ops->symmetric_matrix(&m, theta, W), D);
    out = bl_model_forward(&m, theta, &b, &ws);
    for (int e = 0; e < N_PAIRS; e++) {
        int i = index[2 * e], j = index[2 * e + 1];
        double by_hand = 0;
        for (int k = 0; k < D; k++)
            by_hand += theta[i * D + k] * theta[j * D + k] -
                       theta[D * D + i * D + k] * theta[D * D + j * D + k];
        BL_ASSERT_CLOSE(out[e], by_hand, 1e-14);
        BL_ASSERT_CLOSE(W[i * D + j], by_hand, 1e-14);
        BL_ASSERT_CLOSE(W[j * D + i], by_hand, 1e-14);
        struct bl_batch one = {.n = 1, .arity = 2, .targets = 1, .index = index + 2 * e,
                               .target = target};
        double f = bl_model_forward(&m, theta, &one, &ws)[0], dot = 0;
        ws.dout[0] = 1;
        bl_model_backward(&m, theta, &one, ws.dout, &ws, grad);
        for (long p = 0; p < m.n_params; p++)
            dot += theta[p] * grad[p];
        BL_ASSERT_CLOSE(dot, 2 * f, 1e-13);
    }
    bl_workspace_free(&ws);
    bl_model_free(&m);
    CU_ASSERT_NOT_EQUAL(bl_model_build(&m, &mc, 20, 1, err, sizeof err), 0);
    mc.index_range = 0;
    CU_ASSERT_NOT_EQUAL(bl_model_build(&m, &mc, 2, 1, err, sizeof err), 0);
}

/* A config for matrix completion of size d with fraction observed, set
 * through the keys (as an INI file would). */
static void completion_config(struct bl_config *c, int d, double observed)
{
    bl_config_defaults(c);
    char err[512], size[32], frac[32];
    snprintf(size, sizeof size, "%d", d);
    snprintf(frac, sizeof frac, "%.17g", observed);
    const char *keys[][3] = {{"data", "kind", "matrix_completion"}, {"data", "size", size},
                             {"data", "observed", frac},           {"model", "kind", "factorization"},
                             {"loss", "kind", "squared"}};
    for (int k = 0; k < 5; k++)
        CU_ASSERT_EQUAL_FATAL(bl_config_set(c, keys[k][0], keys[k][1], keys[k][2], NULL, 0, err,
                                            sizeof err),
                              0);
}

/* Every entry exactly once over train and test, the targets i j / d^2, the
 * sizes from data.observed, a different permutation per seed; the kernel
 * predictor's test MSE against a brute-force loop over every entry. */
static void test_matrix_completion_data_and_kernel(void)
{
    struct bl_config c;
    completion_config(&c, 7, 0.3);
    CU_ASSERT_EQUAL(c.data.n_train, 15); /* round(0.3 * 49) */
    CU_ASSERT_EQUAL(c.data.n_test, 34);
    CU_ASSERT_EQUAL(c.data.targets, 1);
    CU_ASSERT_EQUAL(c.model.index_range, 7);
    char err[512];
    CU_ASSERT_EQUAL(bl_config_validate(&c, err, sizeof err), 0);
    struct bl_data d, other;
    CU_ASSERT_EQUAL_FATAL(bl_data_make(&c.data, 5, &d, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(bl_data_make(&c.data, 6, &other, err, sizeof err), 0);
    int seen[49] = {0}, same = 1;
    const struct bl_dataset *sets[2] = {&d.train, &d.test};
    for (int s = 0; s < 2; s++) {
        CU_ASSERT_EQUAL(sets[s]->arity, 2);
        CU_ASSERT_PTR_NULL(sets[s]->x);
        for (int e = 0; e < sets[s]->n; e++) {
            int i = sets[s]->index[2 * e], j = sets[s]->index[2 * e + 1];
            CU_ASSERT_FATAL(i >= 0 && i < 7 && j >= 0 && j < 7);
            seen[i * 7 + j]++;
            CU_ASSERT_EQUAL(sets[s]->target[e], i * j / 49.0);
        }
    }
    for (int k = 0; k < 49; k++)
        CU_ASSERT_EQUAL(seen[k], 1);
    for (int e = 0; e < d.train.n; e++)
        same &= d.train.index[2 * e] == other.train.index[2 * e] &&
                d.train.index[2 * e + 1] == other.train.index[2 * e + 1];
    CU_ASSERT(!same);
    /* brute force: an entry is predicted when it or its transpose trains */
    double sq = 0;
    for (int e = 0; e < d.test.n; e++) {
        int i = d.test.index[2 * e], j = d.test.index[2 * e + 1], known = 0;
        for (int q = 0; q < d.train.n; q++)
            known |= d.train.index[2 * q] == j && d.train.index[2 * q + 1] == i;
        double err_ij = (known ? i * j / 49.0 : 0.0) - d.test.target[e];
        sq += err_ij * err_ij;
    }
    double kernel = bl_kernel_completion_mse(&d.train, &d.test, 7);
    BL_ASSERT_CLOSE(kernel, sq / d.test.n, 1e-15);
    CU_ASSERT(kernel > 0);
    /* X* is rank one, a a^T with a_i = i / d: ||X*||_* = |a|^2 = (d-1)(2d-1) / (6 d) */
    double x[49], sigma[7];
    CU_ASSERT_EQUAL_FATAL(bl_completion_target(&d.train, &d.test, 7, x), 0);
    CU_ASSERT_EQUAL_FATAL(bl_singular_values(x, 7, sigma), 0);
    BL_ASSERT_CLOSE(bl_nuclear_norm(sigma, 7), 6.0 * 13.0 / 42.0, 1e-13);
    CU_ASSERT(sigma[1] < 1e-14);
    BL_ASSERT_CLOSE(bl_effective_rank(sigma, 7), 1.0, 1e-12);
    bl_data_free(&d);
    bl_data_free(&other);
}

/* Singular values of symmetric matrices with a known spectrum: diag(3, -1,
 * 0, 2) rotated by a Givens rotation (eigenvalues kept); the effective rank
 * of sigma = (3, 2, 1, 0) is exp(entropy of (1/2, 1/3, 1/6)). */
static void test_symmetric_singular_values(void)
{
    double lambda[4] = {3, -1, 0, 2}, a[16] = {0}, sigma[4];
    double cs = cos(0.7), sn = sin(0.7);
    for (int k = 0; k < 4; k++)
        a[k * 4 + k] = lambda[k];
    /* G^T A G on coordinates 0 and 1, then 1 and 3 */
    int planes[2][2] = {{0, 1}, {1, 3}};
    for (int r = 0; r < 2; r++) {
        int p = planes[r][0], q = planes[r][1];
        for (int k = 0; k < 4; k++) { /* columns */
            double ap = a[k * 4 + p], aq = a[k * 4 + q];
            a[k * 4 + p] = cs * ap - sn * aq;
            a[k * 4 + q] = sn * ap + cs * aq;
        }
        for (int k = 0; k < 4; k++) { /* rows */
            double ap = a[p * 4 + k], aq = a[q * 4 + k];
            a[p * 4 + k] = cs * ap - sn * aq;
            a[q * 4 + k] = sn * ap + cs * aq;
        }
    }
    CU_ASSERT_EQUAL_FATAL(bl_symmetric_singular_values(a, 4, sigma), 0);
    double want[4] = {3, 2, 1, 0};
    for (int k = 0; k < 4; k++)
        CU_ASSERT(fabs(sigma[k] - want[k]) < 1e-14);
    BL_ASSERT_CLOSE(bl_nuclear_norm(sigma, 4), 6.0, 1e-14);
    double entropy = -(0.5 * log(0.5) + log(1.0 / 3) / 3 + log(1.0 / 6) / 6);
    BL_ASSERT_CLOSE(bl_effective_rank(want, 4), exp(entropy), 1e-15);
    double zero[3] = {0, 0, 0};
    CU_ASSERT(isnan(bl_effective_rank(zero, 3)));
}

/* The keys' refusals name the key, the value and what is allowed. */
static void test_matrix_completion_config_refusals(void)
{
    struct bl_config c;
    char err[BL_ERR_MAX];
    completion_config(&c, 7, 0.3);
    CU_ASSERT_NOT_EQUAL(bl_config_set(&c, "data", "observed", "1", NULL, 0, err, sizeof err), 0);
    CU_ASSERT(strstr(err, "data.observed") != NULL);
    CU_ASSERT_NOT_EQUAL(bl_config_set(&c, "data", "size", "1", NULL, 0, err, sizeof err), 0);
    CU_ASSERT(strstr(err, "data.size") != NULL);
    CU_ASSERT_EQUAL(bl_config_set(&c, "loss", "kind", "logistic", NULL, 0, err, sizeof err), 0);
    CU_ASSERT_NOT_EQUAL(bl_config_validate(&c, err, sizeof err), 0);
    CU_ASSERT(strstr(err, "loss.kind = squared") != NULL);
    completion_config(&c, 7, 0.3);
    CU_ASSERT_EQUAL(bl_config_set(&c, "model", "kind", "mlp", NULL, 0, err, sizeof err), 0);
    CU_ASSERT_NOT_EQUAL(bl_config_validate(&c, err, sizeof err), 0);
    CU_ASSERT(strstr(err, "model.kind = factorization") != NULL);
    bl_config_defaults(&c);
    CU_ASSERT_EQUAL(bl_config_set(&c, "model", "kind", "factorization", NULL, 0, err, sizeof err),
                    0);
    CU_ASSERT_NOT_EQUAL(bl_config_validate(&c, err, sizeof err), 0);
    CU_ASSERT(strstr(err, "data.kind = matrix_completion") != NULL);
}

static double metric(const struct bl_task_result *r, enum bl_metric m, long k)
{
    const struct bl_result_layout *L = r->layout;
    CU_ASSERT_FATAL(L->metric_field[m] >= 0);
    return bl_result_at(L, r->payload, L->metric_field[m])[k];
}

static double outcome(const struct bl_task_result *r, int field)
{
    CU_ASSERT_FATAL(field >= 0);
    return *bl_result_at(r->layout, r->payload, field);
}

/* SCIENCE.md 3 on d = 20, 30% observed, alpha = 30, eta = 0.01, lambda =
 * 1e-3 (t* = ln 30 / 1e-5 = 3.4e5, far past the 2000 steps run): the
 * training set is fit within a few hundred steps while ||theta_k|| =
 * ||theta_0|| (1 - eta lambda)^k, and the test MSE sits on the kernel
 * predictor's within 1%; memorize_step is the first record with train MSE <=
 * fit_threshold, grok_step NaN (never). */
static void test_completion_kernel_plateau(void)
{
    struct bl_config c;
    completion_config(&c, 20, 0.3);
    c.model.init_scale = 30;
    c.optim.lr = 0.01;
    c.optim.weight_decay = 1e-3;
    c.optim.steps = 2000;
    c.measure.every = 100;
    c.measure.fit_threshold = 1e-4;
    struct bl_task_result r;
    char err[512];
    CU_ASSERT_EQUAL_FATAL(bl_train_task(&c, 1, NULL, NULL, &r, err, sizeof err), 0);
    const struct bl_result_layout *L = r.layout;
    double kernel = outcome(&r, L->kernel_test_mse), eta_lambda = 1e-5;
    CU_ASSERT(kernel > 0.01);
    BL_ASSERT_CLOSE(outcome(&r, L->target_nuclear_norm), 19.0 * 39.0 / 120.0, 1e-12);
    BL_ASSERT_CLOSE(outcome(&r, L->t_star), log(30.0) / eta_lambda, 1e-14);
    long last = L->n_records - 1, memorize = -1;
    double theta0 = 30 * sqrt(2.0 * 20);
    BL_ASSERT_CLOSE(metric(&r, BL_M_PARAM_NORM, 0), theta0, 1e-14);
    CU_ASSERT(fabs(metric(&r, BL_M_TEST_MSE, 0) - kernel) > 0.01 * kernel); /* W = 0 at init */
    for (long k = 0; k <= last; k++) {
        double step = (double)bl_record_step(&c.optim, &c.measure, k);
        CU_ASSERT(fabs(metric(&r, BL_M_PARAM_NORM, k) / (theta0 * pow(1 - eta_lambda, step)) -
                       1) < 0.01);
        if (memorize < 0 && metric(&r, BL_M_TRAIN_MSE, k) <= c.measure.fit_threshold)
            memorize = k;
    }
    double plateau = metric(&r, BL_M_TEST_MSE, last);
    if (!(fabs(plateau / kernel - 1) < 0.01))
        fprintf(stderr, "\n  plateau %.6g kernel %.6g\n", plateau, kernel);
    CU_ASSERT(fabs(plateau / kernel - 1) < 0.01);
    CU_ASSERT(metric(&r, BL_M_TRAIN_MSE, last) < 1e-4);
    CU_ASSERT_FATAL(memorize > 0);
    CU_ASSERT_EQUAL(outcome(&r, L->memorize_step),
                    (double)bl_record_step(&c.optim, &c.measure, memorize));
    CU_ASSERT(isnan(outcome(&r, L->grok_step)));
    CU_ASSERT_EQUAL(L->ungrok_step, -1);
    /* the test MSE is twice the mean test loss 1/2 (f - t)^2 */
    BL_ASSERT_CLOSE(metric(&r, BL_M_TEST_MSE, last), 2 * metric(&r, BL_M_TEST_LOSS, last), 1e-12);
    bl_task_result_free(&r);
}

void bl_test_register_completion(void)
{
    CU_pSuite s = CU_add_suite("completion", NULL, NULL);
    BL_ADD_TEST(s, test_factorization_derivatives);
    BL_ADD_TEST(s, test_factorization_init_and_forward);
    BL_ADD_TEST(s, test_matrix_completion_data_and_kernel);
    BL_ADD_TEST(s, test_symmetric_singular_values);
    BL_ADD_TEST(s, test_matrix_completion_config_refusals);
    BL_ADD_TEST(s, test_completion_kernel_plateau);
}
