/* Margin metrics: invariance and the bounds of SCIENCE.md section 1. */
#include <math.h>

#include "bl_loss.h"
#include "bl_metrics.h"
#include "bl_test.h"

static void test_normalized_margin_scale_invariant(void)
{
    /* an L-homogeneous model's margins scale as c^L with theta */
    double q = 0.7, norm = 1.3;
    for (int L = 1; L <= 4; L++)
        BL_ASSERT_CLOSE(bl_normalized_margin(q * pow(3.0, L), 3.0 * norm, L),
                        bl_normalized_margin(q, norm, L), 1e-14);
}

static void test_smoothed_margin_bounds_exponential(void)
{
    /* gamma_bar - log(n)/||theta||^L <= gamma_tilde <= gamma_bar, exponential loss */
    double q[5] = {3.0, 3.5, 4.0, 10.0, 3.2};
    int label[5] = {1, 1, 1, 1, 1};
    double log_loss[5], margin[5];
    bl_loss_forward(BL_LOSS_EXPONENTIAL, q, &(struct bl_batch){.n = 5, .label = label}, 1, log_loss, margin);
    double S = -INFINITY;
    for (int i = 0; i < 5; i++)
        S = bl_log_add_exp(S, log_loss[i]);
    double norm = 2.0;
    int L = 2;
    double smoothed = bl_smoothed_margin(BL_LOSS_EXPONENTIAL, S, norm, L);
    double normalized = bl_normalized_margin(3.0, norm, L);
    CU_ASSERT(smoothed <= normalized);
    CU_ASSERT(smoothed >= normalized - log(5.0) / pow(norm, L));
    /* a single example attains the upper bound */
    BL_ASSERT_CLOSE(bl_smoothed_margin(BL_LOSS_EXPONENTIAL, -3.0, 1.0, 1), 3.0, 1e-15);
}

static void test_norm_without_overflow(void)
{
    double x[3] = {3e200, 4e200, 0.0};
    BL_ASSERT_CLOSE(bl_norm2(x, 3), 5e200, 1e-15);
    double y[2] = {3.0, 4.0};
    CU_ASSERT_EQUAL(bl_norm2(y, 2), 5.0);
}

void bl_test_register_metrics(void)
{
    CU_pSuite s = CU_add_suite("metrics", NULL, NULL);
    BL_ADD_TEST(s, test_normalized_margin_scale_invariant);
    BL_ADD_TEST(s, test_smoothed_margin_bounds_exponential);
    BL_ADD_TEST(s, test_norm_without_overflow);
}
