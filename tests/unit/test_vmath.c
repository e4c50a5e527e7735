/* bl_vmath.h against glibc's libm, the independent reference: within 1 ulp
 * of libm's value (libm itself is within 1 ulp of exact) on a million
 * inputs spread over each function's whole range, subnormals included;
 * exactly C's value at the special points; the scalar forms bitwise the
 * array forms at every tail length; bl_sum_exp the plain loop. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "bl_rng.h"
#include "bl_test.h"
#include "bl_vmath.h"

enum { POINTS = 1 << 20 };

/* |got - want| in units of want's last place; 0 when both are the same
 * NaN-ness or infinity, huge when only one is */
static double ulps(double got, double want)
{
    if (isnan(want) || isnan(got))
        return isnan(want) && isnan(got) ? 0 : INFINITY;
    if (got == want)
        return 0;
    if (isinf(want) || isinf(got))
        return INFINITY;
    double w = fabs(want), ulp = nextafter(w, INFINITY) - w;
    return fabs(got - want) / ulp;
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

typedef void array_fn(int n, const double *x, double *y);
typedef double scalar_fn(double x);

/* inputs x[i] = transform(uniform draw), the largest ulp error against
 * reference, and every scalar result bitwise the array's */
static double worst_ulps(array_fn *array, scalar_fn *scalar, double (*reference)(double),
                         double (*transform)(double), double *x, double *y)
{
    struct bl_rng rng;
    bl_rng_init(&rng, 11, BL_STREAM_DATA_TRAIN, 0);
    for (int i = 0; i < POINTS; i++)
        x[i] = transform(bl_rng_uniform(&rng));
    array(POINTS, x, y);
    double worst = 0;
    int scalar_differs = 0;
    for (int i = 0; i < POINTS; i++) {
        double e = ulps(y[i], reference(x[i]));
        worst = e > worst ? e : worst;
        scalar_differs += !same_bits(scalar(x[i]), y[i]);
    }
    CU_ASSERT_EQUAL(scalar_differs, 0);
    return worst;
}

/* exp over [-750, 712]: underflow to 0, subnormal results, overflow */
static double exp_range(double u) { return -750 + 1462 * u; }
/* log over [2^-1074, 2^1024): exponents uniform, subnormals included */
static double log_range(double u) { return exp(-744.4 + 1453.4 * u); }
/* log1p: -1 + e^-40 up to 1 (the losses' range) and beyond */
static double log1p_range(double u)
{
    return u < 0.5 ? -1 + exp(-40 * 2 * u) : exp(-745 + 1454 * 2 * (u - 0.5));
}

static void test_within_one_ulp_of_libm(void)
{
    double *x = malloc(sizeof(double) * POINTS), *y = malloc(sizeof(double) * POINTS);
    CU_ASSERT_FATAL(x && y);
    CU_ASSERT(worst_ulps(bl_vexp, bl_exp, exp, exp_range, x, y) <= 1.0);
    CU_ASSERT(worst_ulps(bl_vlog, bl_log, log, log_range, x, y) <= 1.0);
    CU_ASSERT(worst_ulps(bl_vlog1p, bl_log1p, log1p, log1p_range, x, y) <= 1.0);
    free(x);
    free(y);
}

static void test_special_points(void)
{
    static const double x[] = {0.0, -0.0, 1.0, -1.0, INFINITY, -INFINITY, NAN, 0x1p-1074,
                               -0x1p-1074, 0x1p-1022, 709.78, 709.79, -745.1, -745.2, 2.0, 0.5,
                               -1.5, 0x1.fffffffffffffp1023};
    enum { N = sizeof x / sizeof x[0] };
    double e[N], l[N], l1[N];
    bl_vexp(N, x, e);
    bl_vlog(N, x, l);
    bl_vlog1p(N, x, l1);
    for (int i = 0; i < N; i++) {
        /* C's value where it is exact or a limit; within an ulp elsewhere */
        CU_ASSERT(ulps(e[i], exp(x[i])) <= 1.0);
        CU_ASSERT(ulps(l[i], log(x[i])) <= 1.0);
        CU_ASSERT(ulps(l1[i], log1p(x[i])) <= 1.0);
        if (x[i] == 0 || isinf(x[i]) || isnan(x[i]) || x[i] == 1 || x[i] == -1) {
            if (fabs(x[i]) != 1) /* e^1 is rounded; log 1 and log1p(-1) are exact */
                CU_ASSERT(isnan(e[i]) ? isnan(exp(x[i])) : same_bits(e[i], exp(x[i])));
            CU_ASSERT(isnan(l[i]) ? isnan(log(x[i])) : same_bits(l[i], log(x[i])));
            CU_ASSERT(isnan(l1[i]) ? isnan(log1p(x[i])) : same_bits(l1[i], log1p(x[i])));
        }
    }
    CU_ASSERT(same_bits(bl_exp(1e-300), 1.0) && same_bits(bl_log(1.0), 0.0));
}

/* every length up to three vectors: the padded tail gives the same bits */
static void test_tails_match_scalar(void)
{
    double x[24], y[24];
    for (int n = 0; n <= 24; n++) {
        for (int i = 0; i < 24; i++)
            x[i] = 0.37 * i - 3.1, y[i] = -7;
        bl_vexp(n, x, y);
        for (int i = 0; i < 24; i++)
            CU_ASSERT(i < n ? same_bits(y[i], bl_exp(x[i])) : y[i] == -7);
        bl_vlog1p(n, x, x); /* in place */
        for (int i = 0; i < n; i++)
            CU_ASSERT(same_bits(x[i], bl_log1p(0.37 * i - 3.1)));
    }
}

/* bl_sum_exp = the plain loop over bl_exp in order, bitwise, across the
 * chunk boundary, with and without a skipped term */
static void test_sum_exp_is_the_plain_loop(void)
{
    double x[150];
    for (int i = 0; i < 150; i++)
        x[i] = 0.01 * i * i - 40;
    for (int n = 1; n <= 150; n += 37)
        for (int skip = -1; skip < n; skip += n / 2 + 1) {
            double want = 0;
            for (int i = 0; i < n; i++)
                if (i != skip)
                    want += bl_exp(x[i] - 3.0);
            CU_ASSERT(same_bits(bl_sum_exp(n, x, 3.0, skip), want));
        }
}

void bl_test_register_vmath(void)
{
    CU_pSuite s = CU_add_suite("vmath", NULL, NULL);
    BL_ADD_TEST(s, test_within_one_ulp_of_libm);
    BL_ADD_TEST(s, test_special_points);
    BL_ADD_TEST(s, test_tails_match_scalar);
    BL_ADD_TEST(s, test_sum_exp_is_the_plain_loop);
}
