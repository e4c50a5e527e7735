/* Tests of the Philox generator: bit-exact against the reference vectors,
 * the stream layout promised in bl_rng.h, and the distributions. Statistical
 * checks use fixed streams, so they are deterministic, and 5-sigma bands, so
 * a correct generator passes with room while a broken one does not. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "bl_rng.h"
#include "bl_test.h"

#define N_DRAWS 100000

/* Random123 tests/kat_vectors, the three "philox4x32 10" lines.
 * Columns: counter[4], key[2], expected output[4]. */
static const uint32_t kat[3][10] = {
    {0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000,
     0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
    {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
     0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
    /* hex digits of pi */
    {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
     0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
};

static void test_philox_known_answers(void)
{
    for (int v = 0; v < 3; v++) {
        uint32_t out[4];
        bl_philox4x32_10(&kat[v][0], &kat[v][4], out);
        for (int i = 0; i < 4; i++)
            CU_ASSERT_EQUAL(out[i], kat[v][6 + i]);
    }
}

/* The stream (seed, stream, sub) is block b = Philox({b lo, b hi, stream,
 * sub}, {seed lo, seed hi}), b = 0, 1, ..., read out word by word. Other
 * code (and the Python checker) may rely on this layout. */
static void test_rng_stream_layout(void)
{
    const uint64_t seed = 0x0123456789abcdefULL;
    struct bl_rng rng;
    bl_rng_init(&rng, seed, BL_STREAM_BATCH, 7);
    const uint32_t key[2] = {0x89abcdefu, 0x01234567u};
    for (uint32_t block = 0; block < 3; block++) {
        const uint32_t ctr[4] = {block, 0, BL_STREAM_BATCH, 7};
        uint32_t want[4];
        bl_philox4x32_10(ctr, key, want);
        for (int i = 0; i < 4; i++)
            CU_ASSERT_EQUAL(bl_rng_u32(&rng), want[i]);
    }
}

/* The block index is 64 bits: the low word must carry into the high one. */
static void test_rng_block_counter_carry(void)
{
    struct bl_rng rng;
    bl_rng_init(&rng, 5, BL_STREAM_TEST_ONLY, 0);
    rng.counter[0] = 0xffffffffu;
    const uint32_t key[2] = {5, 0};
    const uint32_t ctr_last[4] = {0xffffffffu, 0, BL_STREAM_TEST_ONLY, 0};
    const uint32_t ctr_next[4] = {0, 1, BL_STREAM_TEST_ONLY, 0};
    uint32_t want[8];
    bl_philox4x32_10(ctr_last, key, want);
    bl_philox4x32_10(ctr_next, key, want + 4);
    for (int i = 0; i < 8; i++)
        CU_ASSERT_EQUAL(bl_rng_u32(&rng), want[i]);
}

/* u64 = (first u32 << 32) | second u32, also across a block boundary. */
static void test_rng_u64_word_order(void)
{
    struct bl_rng a, b;
    bl_rng_init(&a, 11, BL_STREAM_TEST_ONLY, 0);
    bl_rng_init(&b, 11, BL_STREAM_TEST_ONLY, 0);
    bl_rng_u32(&b); /* misalign by one word so pairs straddle blocks */
    bl_rng_u32(&a);
    for (int i = 0; i < 6; i++) {
        uint64_t hi = bl_rng_u32(&a);
        uint64_t lo = bl_rng_u32(&a);
        CU_ASSERT_EQUAL(bl_rng_u64(&b), (hi << 32) | lo);
    }
}

/* True when the first 1000 u32 of the two streams are identical. */
static int same_sequence(struct bl_rng *a, struct bl_rng *b)
{
    int same = 1;
    for (int i = 0; i < 1000; i++)
        if (bl_rng_u32(a) != bl_rng_u32(b))
            same = 0;
    return same;
}

static void test_rng_reproducible_and_distinct(void)
{
    struct bl_rng a, b;
    bl_rng_init(&a, 42, BL_STREAM_DATA_TRAIN, 3);
    bl_rng_init(&b, 42, BL_STREAM_DATA_TRAIN, 3);
    CU_ASSERT_TRUE(same_sequence(&a, &b));

    bl_rng_init(&a, 42, BL_STREAM_DATA_TRAIN, 3);
    bl_rng_init(&b, 43, BL_STREAM_DATA_TRAIN, 3);
    CU_ASSERT_FALSE(same_sequence(&a, &b));

    /* The high half of the seed is part of the key too. */
    bl_rng_init(&a, 42, BL_STREAM_DATA_TRAIN, 3);
    bl_rng_init(&b, 42 + (UINT64_C(1) << 32), BL_STREAM_DATA_TRAIN, 3);
    CU_ASSERT_FALSE(same_sequence(&a, &b));

    bl_rng_init(&a, 42, BL_STREAM_DATA_TRAIN, 3);
    bl_rng_init(&b, 42, BL_STREAM_DATA_TEST, 3);
    CU_ASSERT_FALSE(same_sequence(&a, &b));

    bl_rng_init(&a, 42, BL_STREAM_DATA_TRAIN, 3);
    bl_rng_init(&b, 42, BL_STREAM_DATA_TRAIN, 4);
    CU_ASSERT_FALSE(same_sequence(&a, &b));

    /* Re-initialising restarts the stream and drops a cached normal. */
    bl_rng_init(&a, 42, BL_STREAM_INIT, 0);
    double first = bl_rng_normal(&a);
    bl_rng_init(&a, 42, BL_STREAM_INIT, 0);
    CU_ASSERT_EQUAL(bl_rng_normal(&a), first);
}

static void test_rng_uniform_moments(void)
{
    struct bl_rng rng;
    bl_rng_init(&rng, 1, BL_STREAM_TEST_ONLY, 1);
    double sum = 0.0, sum2 = 0.0;
    int inside = 1;
    for (int i = 0; i < N_DRAWS; i++) {
        double u = bl_rng_uniform(&rng);
        if (!(u > 0.0 && u < 1.0))
            inside = 0;
        sum += u;
        sum2 += u * u;
    }
    CU_ASSERT_TRUE(inside);
    double mean = sum / N_DRAWS;
    double var = sum2 / N_DRAWS - mean * mean;
    /* U(0,1): mean 1/2, sd of the mean sqrt(1/12/N); variance 1/12, sd of the
     * sample variance sqrt((mu4 - sigma^4)/N) = sqrt((1/80 - 1/144)/N). */
    CU_ASSERT(fabs(mean - 0.5) < 5.0 * sqrt(1.0 / 12.0 / N_DRAWS));
    CU_ASSERT(fabs(var - 1.0 / 12.0) < 5.0 * sqrt((1.0 / 80.0 - 1.0 / 144.0) / N_DRAWS));
}

/* The extreme u64 values must still land strictly inside (0, 1), at the
 * centres of the first and last cells of width 2^-53. */
static void test_rng_uniform_endpoints(void)
{
    struct bl_rng rng;
    bl_rng_init(&rng, 0, BL_STREAM_TEST_ONLY, 0);
    /* Force the current block instead of searching for such outputs. */
    rng.out[0] = 0;
    rng.out[1] = 0;
    rng.out[2] = 0xffffffffu;
    rng.out[3] = 0xffffffffu;
    rng.used = 0;
    double smallest = bl_rng_uniform(&rng);
    double largest = bl_rng_uniform(&rng);
    CU_ASSERT_EQUAL(smallest, 0x1.0p-54);
    CU_ASSERT(largest < 1.0);
    CU_ASSERT(largest >= 1.0 - 0x1.0p-53);
}

static void test_rng_normal_moments(void)
{
    struct bl_rng rng;
    bl_rng_init(&rng, 2, BL_STREAM_TEST_ONLY, 2);
    double sum = 0.0, sum2 = 0.0, sum4 = 0.0, lag = 0.0, prev = 0.0;
    int within_one = 0, finite = 1;
    for (int i = 0; i < N_DRAWS; i++) {
        double z = bl_rng_normal(&rng);
        if (!isfinite(z))
            finite = 0;
        sum += z;
        sum2 += z * z;
        sum4 += z * z * z * z;
        lag += z * prev;
        prev = z;
        within_one += fabs(z) < 1.0;
    }
    CU_ASSERT_TRUE(finite);
    double mean = sum / N_DRAWS;
    double var = sum2 / N_DRAWS - mean * mean;
    /* N(0,1): sd of the mean 1/sqrt(N), of the variance sqrt(2/N), of the
     * mean of z^4 sqrt((105 - 9)/N); P(|z| < 1) = 0.682689 with binomial sd. */
    CU_ASSERT(fabs(mean) < 5.0 / sqrt(N_DRAWS));
    CU_ASSERT(fabs(var - 1.0) < 5.0 * sqrt(2.0 / N_DRAWS));
    CU_ASSERT(fabs(sum4 / N_DRAWS - 3.0) < 5.0 * sqrt(96.0 / N_DRAWS));
    double p1 = 0.682689492137;
    CU_ASSERT(fabs((double)within_one / N_DRAWS - p1) < 5.0 * sqrt(p1 * (1 - p1) / N_DRAWS));
    /* Consecutive values are independent: a spare that repeats the first value
     * or is tied to it would show here (lag-1 correlation sd ~ 1/sqrt(N)). */
    CU_ASSERT(fabs(lag / N_DRAWS) < 5.0 / sqrt(N_DRAWS));
}

/* Box-Muller gives two normals from two uniforms (four u32): both are used,
 * so after two normals the stream has advanced by exactly four words. */
static void test_rng_normal_uses_spare(void)
{
    struct bl_rng a, b;
    bl_rng_init(&a, 9, BL_STREAM_TEST_ONLY, 0);
    bl_rng_init(&b, 9, BL_STREAM_TEST_ONLY, 0);
    double z0 = bl_rng_normal(&a);
    double z1 = bl_rng_normal(&a);
    CU_ASSERT(z0 != z1);
    for (int i = 0; i < 4; i++)
        bl_rng_u32(&b);
    CU_ASSERT_EQUAL(bl_rng_u32(&a), bl_rng_u32(&b));
}

static void test_rng_below_range(void)
{
    struct bl_rng rng;
    bl_rng_init(&rng, 3, BL_STREAM_TEST_ONLY, 3);
    const uint64_t sizes[] = {1, 2, 3, 7, 1000, (UINT64_C(1) << 32) + 1,
                              (UINT64_C(1) << 63) + 1, UINT64_MAX};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int ok = 1;
        for (int i = 0; i < 1000; i++)
            if (bl_rng_below(&rng, sizes[s]) >= sizes[s])
                ok = 0;
        CU_ASSERT_TRUE(ok);
    }
    int zero = 1;
    for (int i = 0; i < 100; i++)
        if (bl_rng_below(&rng, 1) != 0)
            zero = 0;
    CU_ASSERT_TRUE(zero);
}

static void test_rng_below_chi_square(void)
{
    struct bl_rng rng;
    bl_rng_init(&rng, 4, BL_STREAM_TEST_ONLY, 4);
    long counts[10] = {0};
    for (int i = 0; i < N_DRAWS; i++)
        counts[bl_rng_below(&rng, 10)]++;
    double expected = N_DRAWS / 10.0, chi2 = 0.0;
    for (int k = 0; k < 10; k++)
        chi2 += (counts[k] - expected) * (counts[k] - expected) / expected;
    /* 9 degrees of freedom: mean 9, sd 4.2; P(chi2 > 40) ~ 5e-6. */
    CU_ASSERT(chi2 < 40.0);
}

/* For n = 3 * 2^62, a plain r % n would return values below n/3 with
 * probability 1/2 instead of 1/3; an unbiased method gives 1/3. */
static void test_rng_below_no_modulo_bias(void)
{
    struct bl_rng rng;
    bl_rng_init(&rng, 6, BL_STREAM_TEST_ONLY, 6);
    const uint64_t n = UINT64_C(3) << 62, third = UINT64_C(1) << 62;
    long low = 0;
    for (int i = 0; i < N_DRAWS; i++)
        low += bl_rng_below(&rng, n) < third;
    double p = 1.0 / 3.0;
    CU_ASSERT(fabs((double)low / N_DRAWS - p) < 5.0 * sqrt(p * (1 - p) / N_DRAWS));
}

void bl_test_register_rng(void)
{
    CU_pSuite suite = CU_add_suite("rng", NULL, NULL);
    BL_ADD_TEST(suite, test_philox_known_answers);
    BL_ADD_TEST(suite, test_rng_stream_layout);
    BL_ADD_TEST(suite, test_rng_block_counter_carry);
    BL_ADD_TEST(suite, test_rng_u64_word_order);
    BL_ADD_TEST(suite, test_rng_reproducible_and_distinct);
    BL_ADD_TEST(suite, test_rng_uniform_moments);
    BL_ADD_TEST(suite, test_rng_uniform_endpoints);
    BL_ADD_TEST(suite, test_rng_normal_moments);
    BL_ADD_TEST(suite, test_rng_normal_uses_spare);
    BL_ADD_TEST(suite, test_rng_below_range);
    BL_ADD_TEST(suite, test_rng_below_chi_square);
    BL_ADD_TEST(suite, test_rng_below_no_modulo_bias);
}
