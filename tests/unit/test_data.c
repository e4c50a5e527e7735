/* Data: the generators' promises and deterministic batches. */
#include <math.h>
#include <string.h>

#include "bl_data.h"
#include "bl_test.h"

static struct bl_data_cfg data_cfg(enum bl_data_kind kind)
{
    struct bl_data_cfg c = {.kind = kind, .n_train = 60, .n_test = 40, .dim = 5, .classes = 2,
                            .margin = 0.7, .cluster_std = 1.0, .cluster_spread = 3.0};
    if (kind == BL_DATA_CLUSTERS)
        c.classes = 3;
    return c;
}

static double dot(const double *a, const double *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static void test_separable_keeps_the_gap(void)
{
    struct bl_data_cfg c = data_cfg(BL_DATA_SEPARABLE);
    struct bl_data d;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(bl_data_make(&c, 7, &d, err, sizeof err), 0);
    BL_ASSERT_CLOSE(dot(d.truth, d.truth, c.dim), 1.0, 1e-14);
    int positives = 0;
    for (int i = 0; i < d.train.n; i++) {
        double y = d.train.label[i] ? 1.0 : -1.0;
        CU_ASSERT(y * dot(d.train.x + i * c.dim, d.truth, c.dim) >= c.margin - 1e-12);
        positives += d.train.label[i];
    }
    for (int i = 0; i < d.test.n; i++) {
        double y = d.test.label[i] ? 1.0 : -1.0;
        CU_ASSERT(y * dot(d.test.x + i * c.dim, d.truth, c.dim) >= c.margin - 1e-12);
    }
    CU_ASSERT(positives > 10 && positives < 50);
    bl_data_free(&d);
}

static void test_symmetric_pairs(void)
{
    struct bl_data_cfg c = data_cfg(BL_DATA_SYMMETRIC);
    struct bl_data d;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(bl_data_make(&c, 3, &d, err, sizeof err), 0);
    for (int i = 0; i < d.train.n; i += 2) {
        CU_ASSERT_EQUAL(d.train.label[i] + d.train.label[i + 1], 1);
        for (int j = 0; j < c.dim; j++)
            CU_ASSERT_EQUAL(d.train.x[(i + 1) * c.dim + j], -d.train.x[i * c.dim + j]);
    }
    bl_data_free(&d);
    c.n_train = 61;
    CU_ASSERT_NOT_EQUAL(bl_data_make(&c, 3, &d, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "even"));
}

static void test_clusters_balanced_and_separated(void)
{
    struct bl_data_cfg c = data_cfg(BL_DATA_CLUSTERS);
    c.cluster_std = 0.01;
    struct bl_data d;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(bl_data_make(&c, 2, &d, err, sizeof err), 0);
    int count[3] = {0, 0, 0};
    for (int i = 0; i < d.train.n; i++)
        count[d.train.label[i]]++;
    CU_ASSERT(count[0] == 20 && count[1] == 20 && count[2] == 20);
    /* with a tiny std, examples of a class sit next to each other */
    double gap = 0;
    for (int j = 0; j < c.dim; j++) {
        double diff = d.train.x[0 * c.dim + j] - d.train.x[3 * c.dim + j];
        gap += diff * diff;
    }
    CU_ASSERT(gap < 0.01);
    bl_data_free(&d);
}

/* data.kind = asymmetric: the 16-slot layout, in the plane of w* and one
 * other direction; with no noise every example sits exactly where README
 * "Data" says. */
static void test_asymmetric_layout(void)
{
    struct bl_data_cfg c = {.kind = BL_DATA_ASYMMETRIC, .n_train = 40, .n_test = 16, .dim = 6,
                            .classes = 2, .angle = 60, .far_distance = 7,
                            .negative_distance = 0.5, .noise = 0};
    struct bl_data d;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(bl_data_make(&c, 11, &d, err, sizeof err), 0);
    BL_ASSERT_CLOSE(dot(d.truth, d.truth, c.dim), 1.0, 1e-14);
    /* v: the unit across-direction of the first example (slot 0, +angle) */
    const double *x0 = d.train.x;
    double v[6], along0 = dot(x0, d.truth, c.dim), across = 0;
    for (int j = 0; j < c.dim; j++)
        v[j] = x0[j] - along0 * d.truth[j];
    across = sqrt(dot(v, v, c.dim));
    for (int j = 0; j < c.dim; j++)
        v[j] /= across;
    BL_ASSERT_CLOSE(along0, 0.5, 1e-12); /* cos 60 degrees */
    BL_ASSERT_CLOSE(across, sqrt(3) / 2, 1e-12);
    int positives = 0;
    for (int i = 0; i < d.train.n; i++) {
        const double *x = d.train.x + i * c.dim;
        int slot = i % 16;
        double a = dot(x, d.truth, c.dim), b = dot(x, v, c.dim);
        BL_ASSERT_CLOSE(dot(x, x, c.dim), a * a + b * b, 1e-12); /* in the plane */
        if (slot < 10) {
            BL_ASSERT_CLOSE(a, 0.5, 1e-12);
            BL_ASSERT_CLOSE(b, slot % 2 ? -sqrt(3) / 2 : sqrt(3) / 2, 1e-12);
        } else {
            BL_ASSERT_CLOSE(a, slot == 10 ? 7.0 : -0.5, 1e-12);
            BL_ASSERT_CLOSE(b, 0.0, 1e-12);
        }
        CU_ASSERT_EQUAL(d.train.label[i], slot <= 10);
        positives += d.train.label[i];
    }
    CU_ASSERT_EQUAL(positives, 2 * 11 + 8); /* slots 0-10 twice, then slots 0-7 */
    bl_data_free(&d);
    /* noise moves examples within the plane only */
    c.noise = 0.1;
    CU_ASSERT_EQUAL_FATAL(bl_data_make(&c, 11, &d, err, sizeof err), 0);
    const double *x = d.train.x + 3 * c.dim;
    double a = dot(x, d.truth, c.dim), b = dot(x, v, c.dim);
    CU_ASSERT(fabs(a - 0.5) > 1e-6);
    BL_ASSERT_CLOSE(dot(x, x, c.dim), a * a + b * b, 1e-12);
    bl_data_free(&d);
}

/* sparse_sign: x in {+-1}^dim, w* with exactly k nonzero entries of equal
 * size and random signs, each label the sign of the sum over the support
 * (recomputed here from the support), both classes present, and the seed
 * decides; bad k refused. */
static void test_sparse_sign(void)
{
    struct bl_data_cfg c = {.kind = BL_DATA_SPARSE_SIGN, .n_train = 200, .n_test = 100,
                            .dim = 50, .classes = 2, .sparsity = 3};
    struct bl_data d, e;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(bl_data_make(&c, 4, &d, err, sizeof err), 0);
    int support[50], k = 0, plus = 0;
    for (int j = 0; j < c.dim; j++)
        if (d.truth[j] != 0) {
            BL_ASSERT_CLOSE(fabs(d.truth[j]), 1 / sqrt(3.0), 1e-15);
            support[k++] = j;
            plus += d.truth[j] > 0;
        }
    CU_ASSERT_EQUAL(k, 3);
    int positives = 0;
    for (int i = 0; i < d.train.n; i++) {
        const double *x = d.train.x + i * c.dim;
        double sum = 0;
        for (int j = 0; j < c.dim; j++)
            CU_ASSERT(x[j] == 1.0 || x[j] == -1.0);
        for (int a = 0; a < k; a++)
            sum += (d.truth[support[a]] > 0 ? 1 : -1) * x[support[a]];
        CU_ASSERT_EQUAL(d.train.label[i], sum > 0);
        positives += d.train.label[i];
    }
    CU_ASSERT(positives > 70 && positives < 130);
    CU_ASSERT_EQUAL_FATAL(bl_data_make(&c, 5, &e, err, sizeof err), 0);
    CU_ASSERT(memcmp(d.train.x, e.train.x, sizeof(double) * 200 * 50) != 0);
    bl_data_free(&e);
    bl_data_free(&d);
    c.sparsity = 4;
    CU_ASSERT_NOT_EQUAL(bl_data_make(&c, 4, &d, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "odd"));
    c.sparsity = 51;
    CU_ASSERT_NOT_EQUAL(bl_data_make(&c, 4, &d, err, sizeof err), 0);
}

/* misgrok: y = sign <z, w*> and x = z + y (gamma/2) w*, so y <x, w*> =
 * |<z, w*>| + gamma/2 >= gamma/2, and off w* x is plain N(0, I). */
static void test_misgrok(void)
{
    struct bl_data_cfg c = {.kind = BL_DATA_MISGROK, .n_train = 400, .n_test = 10, .dim = 6,
                            .classes = 2, .gamma = 5.0};
    struct bl_data d;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(bl_data_make(&c, 2, &d, err, sizeof err), 0);
    BL_ASSERT_CLOSE(dot(d.truth, d.truth, c.dim), 1.0, 1e-14);
    double ss = 0, along_excess = 0;
    for (int i = 0; i < d.train.n; i++) {
        const double *x = d.train.x + i * c.dim;
        double y = d.train.label[i] ? 1.0 : -1.0, a = dot(x, d.truth, c.dim);
        CU_ASSERT(y * a >= 2.5 - 1e-12);
        along_excess += y * a - 2.5; /* |<z, w*>|: mean sqrt(2/pi) */
        for (int j = 0; j < c.dim; j++) {
            double off = x[j] - a * d.truth[j];
            ss += off * off;
        }
    }
    BL_ASSERT_CLOSE(along_excess / 400, sqrt(2 / M_PI), 0.1);
    BL_ASSERT_CLOSE(ss / (400.0 * (c.dim - 1)), 1.0, 0.1);
    bl_data_free(&d);
}

static void test_data_deterministic_in_seed(void)
{
    struct bl_data_cfg c = data_cfg(BL_DATA_SEPARABLE);
    struct bl_data a, b, other;
    char err[128];
    bl_data_make(&c, 42, &a, err, sizeof err);
    bl_data_make(&c, 42, &b, err, sizeof err);
    bl_data_make(&c, 43, &other, err, sizeof err);
    size_t bytes = sizeof(double) * c.n_train * c.dim;
    CU_ASSERT_EQUAL(memcmp(a.train.x, b.train.x, bytes), 0);
    CU_ASSERT_EQUAL(memcmp(a.test.x, b.test.x, sizeof(double) * c.n_test * c.dim), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a.train.x, other.train.x, bytes), 0);
    /* the test set is not a copy of the training set */
    CU_ASSERT_NOT_EQUAL(memcmp(a.train.x, a.test.x, sizeof(double) * c.dim), 0);
    bl_data_free(&a);
    bl_data_free(&b);
    bl_data_free(&other);
}

static void test_batches_are_epoch_permutations(void)
{
    struct bl_batcher b, fresh;
    bl_batcher_init(&b, 10, 3, 0, 99); /* 3 steps per epoch, one example dropped */
    bl_batcher_init(&fresh, 10, 3, 0, 99);
    CU_ASSERT_EQUAL(b.steps_per_epoch, 3);
    int seen[10] = {0};
    for (long step = 0; step < 3; step++) {
        const int *idx = bl_batcher_batch(&b, step);
        for (int i = 0; i < 3; i++)
            seen[idx[i]]++;
    }
    for (int i = 0; i < 10; i++)
        CU_ASSERT(seen[i] <= 1);
    /* a step's batch does not depend on the steps asked before it */
    int later[3];
    memcpy(later, bl_batcher_batch(&b, 7), sizeof later);
    const int *direct = bl_batcher_batch(&fresh, 7);
    CU_ASSERT_EQUAL(memcmp(later, direct, sizeof later), 0);
    /* and epochs differ */
    int first[3];
    memcpy(first, bl_batcher_batch(&fresh, 0), sizeof first);
    CU_ASSERT_NOT_EQUAL(memcmp(first, bl_batcher_batch(&fresh, 3), sizeof first), 0);
    bl_batcher_free(&b);
    bl_batcher_free(&fresh);
}

/* With replacement: a step's batch is a function of (seed, step) (asked in
 * any order, by a fresh batcher), differs from the permutation's, and its
 * indices repeat as i.i.d. uniform draws do: a batch of B from n has
 * B - E[distinct] = B - n (1 - (1 - 1/n)^B) repeats on average, and every
 * index is drawn with frequency 1/n. */
static void test_batches_with_replacement(void)
{
    enum { N = 50, B = 20, STEPS = 4000 };
    struct bl_batcher b, fresh, perm;
    bl_batcher_init(&b, N, B, 1, 7);
    bl_batcher_init(&fresh, N, B, 1, 7);
    bl_batcher_init(&perm, N, B, 0, 7);
    int later[B];
    bl_batcher_batch(&b, 3);
    memcpy(later, bl_batcher_batch(&b, 1234), sizeof later);
    CU_ASSERT_EQUAL(memcmp(later, bl_batcher_batch(&fresh, 1234), sizeof later), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(bl_batcher_batch(&perm, 0), bl_batcher_batch(&b, 0),
                               sizeof later), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(later, bl_batcher_batch(&b, 1235), sizeof later), 0);
    /* steps 2^32 apart draw different batches */
    memcpy(later, bl_batcher_batch(&b, 5), sizeof later);
    CU_ASSERT_NOT_EQUAL(memcmp(later, bl_batcher_batch(&b, 5 + (1L << 32)), sizeof later), 0);
    double repeats = 0, count[N] = {0};
    for (long step = 0; step < STEPS; step++) {
        const int *idx = bl_batcher_batch(&b, step);
        int seen[N] = {0};
        for (int i = 0; i < B; i++) {
            CU_ASSERT(idx[i] >= 0 && idx[i] < N);
            repeats += seen[idx[i]]++ > 0;
            count[idx[i]]++;
        }
    }
    double expected = B - N * (1 - pow(1 - 1.0 / N, B)); /* 3.38 per batch */
    /* the per-batch repeat count has sd < 2; over 4000 batches the mean is
     * within 0.1 of its expectation with ~5 sigma to spare */
    CU_ASSERT(fabs(repeats / STEPS - expected) < 0.15);
    double chi2 = 0, mean = (double)STEPS * B / N;
    for (int i = 0; i < N; i++)
        chi2 += (count[i] - mean) * (count[i] - mean) / mean;
    CU_ASSERT(chi2 < 100); /* 49 degrees of freedom: P(chi2 > 100) ~ 2e-5 */
    bl_batcher_free(&b);
    bl_batcher_free(&fresh);
    bl_batcher_free(&perm);
}

/* A batch carries dense rows or index tuples, labels or real targets:
 * gathering copies exactly the fields the set has, row by row. */
static void test_gather_rows_and_index_tuples(void)
{
    int index[6] = {0, 1, 2, 3, 4, 5};    /* (3, 2) index pairs */
    double target[3] = {0.5, -1.0, 2.0}; /* (3, 1) */
    struct bl_dataset set = {.n = 3, .arity = 2, .targets = 1, .index = index, .target = target};
    struct bl_batch_buffer buf;
    bl_batch_buffer_alloc(&buf, &set, 2);
    CU_ASSERT(buf.x == NULL && buf.label == NULL);
    int rows[2] = {2, 0};
    struct bl_batch b = bl_data_gather(&set, rows, 2, &buf);
    CU_ASSERT_EQUAL(b.n, 2);
    CU_ASSERT(b.x == NULL && b.label == NULL);
    CU_ASSERT_EQUAL(b.index[0], 4);
    CU_ASSERT_EQUAL(b.index[1], 5);
    CU_ASSERT_EQUAL(b.index[2], 0);
    CU_ASSERT_EQUAL(b.target[0], 2.0);
    CU_ASSERT_EQUAL(b.target[1], 0.5);
    struct bl_batch view = bl_dataset_rows(&set, 1, 2);
    CU_ASSERT_PTR_EQUAL(view.index, index + 2);
    CU_ASSERT_PTR_EQUAL(view.target, target + 1);
    bl_batch_buffer_free(&buf);
    /* dense rows with labels */
    double x[6] = {1, 2, 3, 4, 5, 6};
    int label[3] = {1, 0, 1};
    struct bl_dataset dense = {.n = 3, .dim = 2, .classes = 2, .x = x, .label = label};
    bl_batch_buffer_alloc(&buf, &dense, 3);
    int pick[1] = {1};
    b = bl_data_gather(&dense, pick, 1, &buf);
    CU_ASSERT(b.index == NULL && b.target == NULL);
    CU_ASSERT_EQUAL(b.x[0], 3);
    CU_ASSERT_EQUAL(b.x[1], 4);
    CU_ASSERT_EQUAL(b.label[0], 0);
    bl_batch_buffer_free(&buf);
}

void bl_test_register_data(void)
{
    CU_pSuite s = CU_add_suite("data", NULL, NULL);
    BL_ADD_TEST(s, test_gather_rows_and_index_tuples);
    BL_ADD_TEST(s, test_separable_keeps_the_gap);
    BL_ADD_TEST(s, test_symmetric_pairs);
    BL_ADD_TEST(s, test_clusters_balanced_and_separated);
    BL_ADD_TEST(s, test_asymmetric_layout);
    BL_ADD_TEST(s, test_sparse_sign);
    BL_ADD_TEST(s, test_misgrok);
    BL_ADD_TEST(s, test_data_deterministic_in_seed);
    BL_ADD_TEST(s, test_batches_are_epoch_permutations);
    BL_ADD_TEST(s, test_batches_with_replacement);
}
