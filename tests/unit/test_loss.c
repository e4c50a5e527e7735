/* Losses: closed forms in log space, far past double range. */
#include <math.h>
#include <string.h>

#include "bl_loss.h"
#include "bl_test.h"
#include "bl_vmath.h"

static void test_logistic_closed_form(void)
{
    /* one output, label 1 (y = +1): l = log(1 + e^{-f}) */
    double f[4] = {0.0, 2.0, -3.0, 30.0};
    int label[4] = {1, 1, 1, 0};
    double log_loss[4], margin[4];
    bl_loss_forward(BL_LOSS_LOGISTIC, f, &(struct bl_batch){.n = 4, .label = label}, 1, log_loss, margin);
    BL_ASSERT_CLOSE(exp(log_loss[0]), log(2.0), 1e-15);
    BL_ASSERT_CLOSE(exp(log_loss[1]), log1p(exp(-2.0)), 1e-15);
    BL_ASSERT_CLOSE(exp(log_loss[2]), log1p(exp(3.0)), 1e-15);
    CU_ASSERT_EQUAL(margin[3], -30.0);
    BL_ASSERT_CLOSE(exp(log_loss[3]), log1p(exp(30.0)), 1e-15);
}

static void test_losses_far_below_double_range(void)
{
    /* q = 800: l = e^{-800} (1 - e^{-800}/2 ...) is below DBL_MIN; its log is -800 */
    double f[1] = {800.0};
    int label[1] = {1};
    double log_loss, margin;
    bl_loss_forward(BL_LOSS_LOGISTIC, f, &(struct bl_batch){.n = 1, .label = label}, 1, &log_loss, &margin);
    CU_ASSERT_EQUAL(log_loss, -800.0);
    bl_loss_forward(BL_LOSS_EXPONENTIAL, f, &(struct bl_batch){.n = 1, .label = label}, 1, &log_loss, &margin);
    CU_ASSERT_EQUAL(log_loss, -800.0);
    /* gradient scaled by exp(800): -y sigmoid(-q) e^{800} = -1 (to rounding) */
    double g;
    bl_loss_backward(BL_LOSS_LOGISTIC, f, &(struct bl_batch){.n = 1, .label = label}, 1, -800.0, &g);
    BL_ASSERT_CLOSE(g, -1.0, 1e-12);
    bl_loss_backward(BL_LOSS_EXPONENTIAL, f, &(struct bl_batch){.n = 1, .label = label}, 1, -800.0, &g);
    BL_ASSERT_CLOSE(g, -1.0, 1e-12);
    /* three-class cross-entropy with the true logit 1000 above the others:
     * l = log(1 + 2 e^{-1000}) = 2 e^{-1000}, log l = log 2 - 1000 */
    double logits[3] = {1000.0, 0.0, 0.0};
    int y[1] = {0};
    bl_loss_forward(BL_LOSS_CROSS_ENTROPY, logits, &(struct bl_batch){.n = 1, .label = y}, 3, &log_loss, &margin);
    BL_ASSERT_CLOSE(log_loss, log(2.0) - 1000.0, 1e-14);
    CU_ASSERT_EQUAL(margin, 1000.0);
    double dl[3];
    bl_loss_backward(BL_LOSS_CROSS_ENTROPY, logits, &(struct bl_batch){.n = 1, .label = y}, 3, log_loss, dl);
    /* p_j / l = e^{-1000} / (2 e^{-1000}) = 1/2 for the others, -1 for the true class */
    BL_ASSERT_CLOSE(dl[0], -1.0, 1e-12);
    BL_ASSERT_CLOSE(dl[1], 0.5, 1e-12);
    BL_ASSERT_CLOSE(dl[2], 0.5, 1e-12);
}

static void test_multiclass_margin(void)
{
    double logits[6] = {1.0, 4.0, 2.5, /* true 1: 4 - 2.5 */ 3.0, 3.5, -1.0 /* true 0 */};
    int y[2] = {1, 0};
    double log_loss[2], margin[2];
    bl_loss_forward(BL_LOSS_CROSS_ENTROPY, logits, &(struct bl_batch){.n = 2, .label = y}, 3, log_loss, margin);
    CU_ASSERT_EQUAL(margin[0], 1.5);
    CU_ASSERT_EQUAL(margin[1], -0.5);
    /* cross-entropy closed form: logsumexp(f) - f_y */
    double lse = log(exp(1.0) + exp(4.0) + exp(2.5));
    BL_ASSERT_CLOSE(exp(log_loss[0]), lse - 4.0, 1e-14);
}

static void test_inverse_undoes_loss(void)
{
    /* for one example, l^{-1}(l(q)) = q: the smoothed margin equals the margin */
    double qs[4] = {0.5, 5.0, 50.0, 700.0};
    for (int i = 0; i < 4; i++) {
        int label = 1;
        double log_loss, margin;
        bl_loss_forward(BL_LOSS_LOGISTIC, &qs[i], &(struct bl_batch){.n = 1, .label = &label}, 1, &log_loss, &margin);
        BL_ASSERT_CLOSE(bl_loss_inverse(BL_LOSS_LOGISTIC, log_loss), qs[i], 1e-12);
        bl_loss_forward(BL_LOSS_EXPONENTIAL, &qs[i], &(struct bl_batch){.n = 1, .label = &label}, 1, &log_loss, &margin);
        BL_ASSERT_CLOSE(bl_loss_inverse(BL_LOSS_EXPONENTIAL, log_loss), qs[i], 1e-14);
    }
    CU_ASSERT(isnan(bl_loss_inverse(BL_LOSS_SQUARED, 0.0)));
}

static void test_log_add_exp(void)
{
    BL_ASSERT_CLOSE(bl_log_add_exp(log(2.0), log(3.0)), log(5.0), 1e-15);
    CU_ASSERT_EQUAL(bl_log_add_exp(-INFINITY, -5.0), -5.0);
    BL_ASSERT_CLOSE(bl_log_add_exp(-1000.0, -1000.0), -1000.0 + log(2.0), 1e-15);
    /* far left, softplus(z) = log1p(e^z) = e^z to the last bit: checked
     * relative to its own scale (e^-700 is about 1e-304, a normal double;
     * e^-800 would underflow to 0 and prove nothing) */
    CU_ASSERT(fabs(bl_softplus(-700.0) - exp(-700.0)) <= 1e-15 * exp(-700.0));
    CU_ASSERT(fabs(bl_softplus(-30.0) - log1p(exp(-30.0))) <= 1e-15 * log1p(exp(-30.0)));
    CU_ASSERT(bl_softplus(-700.0) > 0);
    CU_ASSERT_EQUAL(bl_softplus(800.0), 800.0);
}

/* Regression: on a batch with real targets the squared loss is
 * 1/2 |f - t|^2, its gradient f - t and its Hessian in f the identity, all
 * scaled by exp(-log_scale); there is no margin. */
static void test_squared_loss_on_targets(void)
{
    double f[4] = {1.0, 2.0, -1.0, 0.5}, t[4] = {0.5, 2.5, -1.0, 1.5};
    struct bl_batch b = {.n = 2, .targets = 2, .target = t};
    double log_loss[2], margin[2], g[4], u[4] = {1, 2, 3, 4}, h[4];
    bl_loss_forward(BL_LOSS_SQUARED, f, &b, 2, log_loss, margin);
    BL_ASSERT_CLOSE(exp(log_loss[0]), 0.5 * (0.25 + 0.25), 1e-15);
    BL_ASSERT_CLOSE(exp(log_loss[1]), 0.5 * (0.0 + 1.0), 1e-15);
    CU_ASSERT(isnan(margin[0]) && isnan(margin[1]));
    bl_loss_backward(BL_LOSS_SQUARED, f, &b, 2, log(2.0), g);
    double want[4] = {0.25, -0.25, 0.0, -0.5};
    for (int i = 0; i < 4; i++)
        BL_ASSERT_CLOSE(g[i], want[i], 1e-15);
    bl_loss_hessian_vec(BL_LOSS_SQUARED, f, &b, 2, log(2.0), u, h);
    for (int i = 0; i < 4; i++)
        BL_ASSERT_CLOSE(h[i], u[i] / 2, 1e-15);
}

/* The loss's shared pass (one exp and one log1p per logistic example, the
 * cross-entropy's other-logit sum kept for the gradient) is bitwise the
 * direct formulas (with bl_vmath.h's scalar functions): log softplus(-q) (for -q < -30 as -q + log1p(-e^-q / 2)),
 * dl/df = -y exp(-softplus(q) - log_scale), and the cross-entropy's plain
 * pair of calls. Margins around every branch point and the infinities. */
static void test_kept_values_bitwise(void)
{
    static const double f[] = {-INFINITY, -800, -40, -30.5, -30, -29.9, -1, -0.0, 0.0, 1e-300,
                               1, 29.9, 30, 30.000001, 40, 800, INFINITY};
    enum { N = sizeof f / sizeof f[0] };
    int label[N];
    double log_loss[N], margin[N], keep[N], g[N];
    for (int i = 0; i < N; i++)
        label[i] = i % 2;
    struct bl_batch b = {.n = N, .label = label};
    bl_loss_forward_keep(BL_LOSS_LOGISTIC, f, &b, 1, log_loss, margin, keep);
    bl_loss_backward_kept(BL_LOSS_LOGISTIC, f, &b, 1, -3.5, keep, g);
    for (int i = 0; i < N; i++) {
        double y = label[i] == 1 ? 1.0 : -1.0, q = y * f[i];
        double want = -q < -30 ? -q + bl_log1p(-0.5 * bl_exp(-q)) : bl_log(bl_softplus(-q));
        double want_g = -y * bl_exp(-bl_softplus(q) + 3.5);
        CU_ASSERT_EQUAL(memcmp(&log_loss[i], &want, sizeof want), 0);
        CU_ASSERT_EQUAL(memcmp(&g[i], &want_g, sizeof want_g), 0);
    }
    /* cross-entropy, 3 classes: kept against recomputed */
    double logits[3 * N], g_kept[3 * N], g_plain[3 * N];
    for (int i = 0; i < 3 * N; i++)
        logits[i] = isfinite(f[i % N]) ? f[i % N] / (1 + i % 5) : 7.0 * (i % 3);
    for (int i = 0; i < N; i++)
        label[i] = i % 3;
    bl_loss_forward_keep(BL_LOSS_CROSS_ENTROPY, logits, &b, 3, log_loss, margin, keep);
    bl_loss_backward_kept(BL_LOSS_CROSS_ENTROPY, logits, &b, 3, 2.0, keep, g_kept);
    bl_loss_backward(BL_LOSS_CROSS_ENTROPY, logits, &b, 3, 2.0, g_plain);
    CU_ASSERT_EQUAL(memcmp(g_kept, g_plain, sizeof g_kept), 0);
}

void bl_test_register_loss(void)
{
    CU_pSuite s = CU_add_suite("loss", NULL, NULL);
    BL_ADD_TEST(s, test_logistic_closed_form);
    BL_ADD_TEST(s, test_losses_far_below_double_range);
    BL_ADD_TEST(s, test_multiclass_margin);
    BL_ADD_TEST(s, test_inverse_undoes_loss);
    BL_ADD_TEST(s, test_log_add_exp);
    BL_ADD_TEST(s, test_squared_loss_on_targets);
    BL_ADD_TEST(s, test_kept_values_bitwise);
}
