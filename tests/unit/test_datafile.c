/* File data sets: the installed Fashion-MNIST files, broken IDX and NetCDF
 * files written here into a temporary directory, and standardization. */
#include <dirent.h>
#include <netcdf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "bl_datafile.h"
#include "bl_test.h"

void bl_test_register_datafile(void);

#define FASHION_DIR "/usr/share/datasets/fashion-mnist/"
#define TRAIN_IMAGES FASHION_DIR "train-images-idx3-ubyte.gz"
#define TRAIN_LABELS FASHION_DIR "train-labels-idx1-ubyte.gz"
#define TEST_IMAGES FASHION_DIR "t10k-images-idx3-ubyte.gz"
#define TEST_LABELS FASHION_DIR "t10k-labels-idx1-ubyte.gz"

/* Read from the files with zcat | od: the first label of each set, and the
 * byte sums of the first and last training images and the first test one. */
#define TRAIN_FIRST_LABEL 9
#define TEST_FIRST_LABEL 9
#define TRAIN_FIRST_IMAGE_SUM 76247.0
#define TRAIN_LAST_IMAGE_SUM 16684.0
#define TEST_FIRST_IMAGE_SUM 33456.0

static char tmp_dir[64];

/* The whole training set, loaded once (about 0.4 s) and shared. */
static struct bl_dataset fashion_train;
static int fashion_train_rc = -1;

static const struct bl_dataset *train_set(void)
{
    char err[512];
    if (fashion_train_rc < 0) {
        fashion_train_rc = bl_idx_load(TRAIN_IMAGES, TRAIN_LABELS, NULL, 0, 0, &fashion_train,
                                       err, sizeof err);
        if (fashion_train_rc != 0)
            fprintf(stderr, "\n%s\n", err);
    }
    return fashion_train_rc == 0 ? &fashion_train : NULL;
}

/* Init and cleanup run around each single test when a runner picks one,
 * so both must work more than once. */
static int suite_init(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/bl_datafile_XXXXXX");
    return mkdtemp(tmp_dir) == NULL;
}

static int suite_clean(void)
{
    bl_dataset_release(&fashion_train);
    fashion_train_rc = -1;
    DIR *dir = opendir(tmp_dir);
    if (dir == NULL)
        return 0;
    struct dirent *e;
    char path[512];
    while ((e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", tmp_dir, e->d_name);
        unlink(path);
    }
    closedir(dir);
    rmdir(tmp_dir);
    return 0;
}

struct path {
    char s[256];
};

static struct path tmp_file(const char *name)
{
    struct path p;
    snprintf(p.s, sizeof p.s, "%s/%s", tmp_dir, name);
    return p;
}

/* Print the message when a word is missing, so a failure shows why. */
static int mentions(const char *err, const char *word)
{
    if (strstr(err, word) != NULL)
        return 1;
    fprintf(stderr, "\nexpected \"%s\" in: %s\n", word, err);
    return 0;
}

static double image_byte_sum(const struct bl_dataset *d, int i)
{
    double s = 0;
    for (int j = 0; j < d->dim; j++)
        s += d->x[(size_t)i * d->dim + j] * 255.0;
    return s;
}

static void test_fashion_train(void)
{
    const struct bl_dataset *d = train_set();
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(d->n, 60000);
    CU_ASSERT_EQUAL(d->dim, 784);
    CU_ASSERT_EQUAL(d->classes, 10);
    CU_ASSERT_EQUAL(d->label[0], TRAIN_FIRST_LABEL);
    BL_ASSERT_CLOSE(image_byte_sum(d, 0), TRAIN_FIRST_IMAGE_SUM, 1e-12);
    BL_ASSERT_CLOSE(image_byte_sum(d, d->n - 1), TRAIN_LAST_IMAGE_SUM, 1e-12);
    int count[10] = {0}, bad_labels = 0;
    for (int i = 0; i < d->n; i++) {
        if (d->label[i] < 0 || d->label[i] > 9)
            bad_labels++;
        else
            count[d->label[i]]++;
    }
    CU_ASSERT_EQUAL(bad_labels, 0);
    for (int c = 0; c < 10; c++)
        CU_ASSERT_EQUAL(count[c], 6000);
    double lo = 1, hi = 0;
    for (size_t k = 0; k < (size_t)d->n * d->dim; k++) {
        lo = d->x[k] < lo ? d->x[k] : lo;
        hi = d->x[k] > hi ? d->x[k] : hi;
    }
    CU_ASSERT_EQUAL(lo, 0.0);
    CU_ASSERT_EQUAL(hi, 1.0);
}

static void test_fashion_test(void)
{
    struct bl_dataset d;
    char err[512];
    CU_ASSERT_EQUAL_FATAL(
        bl_idx_load(TEST_IMAGES, TEST_LABELS, NULL, 0, 0, &d, err, sizeof err), 0);
    CU_ASSERT_EQUAL(d.n, 10000);
    CU_ASSERT_EQUAL(d.dim, 784);
    CU_ASSERT_EQUAL(d.classes, 10);
    CU_ASSERT_EQUAL(d.label[0], TEST_FIRST_LABEL);
    BL_ASSERT_CLOSE(image_byte_sum(&d, 0), TEST_FIRST_IMAGE_SUM, 1e-12);
    int out_of_range = 0;
    for (size_t k = 0; k < (size_t)d.n * d.dim; k++)
        out_of_range += !(d.x[k] >= 0 && d.x[k] <= 1);
    for (int i = 0; i < d.n; i++)
        out_of_range += d.label[i] < 0 || d.label[i] > 9;
    CU_ASSERT_EQUAL(out_of_range, 0);
    bl_dataset_release(&d);
}

/* sel must be the training examples with a label in keep, in file order and
 * relabelled by position in keep, cut after max_n of them (0: all). */
static void check_selection(const struct bl_dataset *sel, const int *keep, int n_keep,
                            int max_n)
{
    const struct bl_dataset *all = train_set();
    CU_ASSERT_PTR_NOT_NULL_FATAL(all);
    int k = 0, mismatches = 0;
    for (int i = 0; i < all->n && (max_n == 0 || k < max_n); i++) {
        int c = 0;
        while (c < n_keep && keep[c] != all->label[i])
            c++;
        if (c == n_keep)
            continue;
        if (k >= sel->n)
            break;
        mismatches += sel->label[k] != c;
        mismatches += memcmp(sel->x + (size_t)k * sel->dim, all->x + (size_t)i * all->dim,
                             sizeof(double) * all->dim) != 0;
        k++;
    }
    CU_ASSERT_EQUAL(k, sel->n);
    CU_ASSERT_EQUAL(mismatches, 0);
}

static void test_fashion_keep_two_classes(void)
{
    struct bl_dataset d;
    char err[512];
    const int keep[2] = {0, 6};
    CU_ASSERT_EQUAL_FATAL(
        bl_idx_load(TRAIN_IMAGES, TRAIN_LABELS, keep, 2, 0, &d, err, sizeof err), 0);
    CU_ASSERT_EQUAL(d.n, 12000);
    CU_ASSERT_EQUAL(d.classes, 2);
    int ones = 0;
    for (int i = 0; i < d.n; i++)
        ones += d.label[i];
    CU_ASSERT_EQUAL(ones, 6000);
    check_selection(&d, keep, 2, 0);
    bl_dataset_release(&d);
}

static void test_fashion_max_examples(void)
{
    struct bl_dataset d;
    char err[512];
    const int all[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    CU_ASSERT_EQUAL_FATAL(
        bl_idx_load(TRAIN_IMAGES, TRAIN_LABELS, NULL, 0, 100, &d, err, sizeof err), 0);
    CU_ASSERT_EQUAL(d.n, 100);
    CU_ASSERT_EQUAL(d.classes, 10);
    check_selection(&d, all, 10, 100);
    bl_dataset_release(&d);

    /* Reversed order: stored class 6 becomes 0 and class 0 becomes 1. */
    const int keep[2] = {6, 0};
    CU_ASSERT_EQUAL_FATAL(
        bl_idx_load(TRAIN_IMAGES, TRAIN_LABELS, keep, 2, 5, &d, err, sizeof err), 0);
    CU_ASSERT_EQUAL(d.n, 5);
    CU_ASSERT_EQUAL(d.classes, 2);
    check_selection(&d, keep, 2, 5);
    bl_dataset_release(&d);
}

/* On the first 5000 training images: per non-constant feature mean 0 and
 * std 1, constant features exactly 0, and test rows transformed with the
 * training statistics. */
static void test_fashion_standardize(void)
{
    struct bl_dataset train, raw, test, raw_test;
    char err[512];
    CU_ASSERT_EQUAL_FATAL(
        bl_idx_load(TRAIN_IMAGES, TRAIN_LABELS, NULL, 0, 5000, &train, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(
        bl_idx_load(TRAIN_IMAGES, TRAIN_LABELS, NULL, 0, 5000, &raw, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(
        bl_idx_load(TEST_IMAGES, TEST_LABELS, NULL, 0, 200, &test, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(
        bl_idx_load(TEST_IMAGES, TEST_LABELS, NULL, 0, 200, &raw_test, err, sizeof err), 0);
    bl_dataset_standardize(&train, &test);
    int n = train.n, dim = train.dim, constant = 0, bad = 0;
    for (int j = 0; j < dim; j++) {
        double raw_mean = 0, raw_var = 0, mean = 0, var = 0;
        for (int i = 0; i < n; i++) {
            raw_mean += raw.x[(size_t)i * dim + j] / n;
            mean += train.x[(size_t)i * dim + j] / n;
        }
        for (int i = 0; i < n; i++) {
            double dr = raw.x[(size_t)i * dim + j] - raw_mean;
            double dv = train.x[(size_t)i * dim + j] - mean;
            raw_var += dr * dr / n;
            var += dv * dv / n;
        }
        if (raw_var == 0) {
            constant++;
            for (int i = 0; i < n; i++)
                bad += train.x[(size_t)i * dim + j] != 0.0;
            continue;
        }
        bad += fabs(mean) > 1e-9 || fabs(var - 1) > 1e-9;
        for (int i = 0; i < test.n; i++) {
            double want = (raw_test.x[(size_t)i * dim + j] - raw_mean) / sqrt(raw_var);
            bad += fabs(test.x[(size_t)i * dim + j] - want) > 1e-9 * fmax(1, fabs(want));
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* Fashion-MNIST has no pixel constant over these images; the constant
     * case is tested by hand below. */
    CU_ASSERT_EQUAL(constant, 0);
    bl_dataset_release(&train);
    bl_dataset_release(&raw);
    bl_dataset_release(&test);
    bl_dataset_release(&raw_test);
}

static void test_standardize_by_hand(void)
{
    /* train (4, 3): feature 2 is the constant 0.1, whose rounded sum / 4
     * is not 0.1; test (2, 3) uses the training statistics. */
    double xt[12] = {1, 10, 0.1, 3, 10, 0.1, 5, 30, 0.1, 7, 30, 0.1};
    double xs[6] = {4, 20, 0.3, 9, 0, 0.1};
    int lt[4] = {0}, ls[2] = {0};
    struct bl_dataset train = {.n = 4, .dim = 3, .classes = 1, .x = xt, .label = lt},
                      test = {.n = 2, .dim = 3, .classes = 1, .x = xs, .label = ls};
    bl_dataset_standardize(&train, &test);
    /* feature 0: mean 4, std sqrt(5); feature 1: mean 20, std 10 */
    double s5 = sqrt(5.0);
    double want_train[12] = {-3 / s5, -1, 0, -1 / s5, -1, 0, 1 / s5, 1, 0, 3 / s5, 1, 0};
    double want_test[6] = {0, 0, 0.3 - 0.1, 5 / s5, -2, 0};
    for (int k = 0; k < 12; k++)
        BL_ASSERT_CLOSE(xt[k], want_train[k], 1e-14);
    for (int k = 0; k < 6; k++)
        BL_ASSERT_CLOSE(xs[k], want_test[k], 1e-14);
    CU_ASSERT_EQUAL(xt[2], 0.0);
    CU_ASSERT_EQUAL(xs[5], 0.0);
    /* no test set */
    bl_dataset_standardize(&train, NULL);
    BL_ASSERT_CLOSE(xt[0], -3 / s5, 1e-14);
}

static void put_be32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

static void write_file(const char *path, const unsigned char *a, size_t a_len,
                       const unsigned char *b, size_t b_len, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL(gzwrite(f, a, (unsigned)a_len), (int)a_len);
        if (b_len > 0)
            CU_ASSERT_EQUAL(gzwrite(f, b, (unsigned)b_len), (int)b_len);
        CU_ASSERT_EQUAL(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL(fwrite(a, 1, a_len, f), a_len);
        if (b_len > 0)
            CU_ASSERT_EQUAL(fwrite(b, 1, b_len, f), b_len);
        CU_ASSERT_EQUAL(fclose(f), 0);
    }
}

/* An IDX file: magic, dims[0..ndims-1] big-endian, then len data bytes. */
static void write_idx(const char *path, uint32_t magic, const uint32_t *dims, int ndims,
                      const unsigned char *data, size_t len, int gz)
{
    unsigned char head[4 + 4 * 4];
    put_be32(head, magic);
    for (int d = 0; d < ndims; d++)
        put_be32(head + 4 + 4 * d, dims[d]);
    write_file(path, head, 4 + 4 * (size_t)ndims, data, len, gz);
}

/* The small fixture: 6 images of 2 x 3 and labels 0, 1, 2, 0, 1, 2. */
enum { SMALL_N = 6, SMALL_DIM = 6 };
static const unsigned char small_labels[SMALL_N] = {0, 1, 2, 0, 1, 2};

static unsigned char small_pixel(int i, int j)
{
    return i == 5 && j == 5 ? 255 : (unsigned char)(37 * i + 11 * j);
}

static void write_small(const char *images, const char *labels, int gz)
{
    unsigned char px[SMALL_N * SMALL_DIM];
    for (int i = 0; i < SMALL_N; i++)
        for (int j = 0; j < SMALL_DIM; j++)
            px[i * SMALL_DIM + j] = small_pixel(i, j);
    const uint32_t img_dims[3] = {SMALL_N, 2, 3}, lab_dims[1] = {SMALL_N};
    write_idx(images, 0x803, img_dims, 3, px, sizeof px, gz);
    write_idx(labels, 0x801, lab_dims, 1, small_labels, SMALL_N, gz);
}

/* Expect the load to fail and leave the set empty; returns the message. */
static const char *idx_error(const char *images, const char *labels, const int *keep,
                             int n_keep)
{
    static char err[1024];
    struct bl_dataset d;
    strcpy(err, "(no message)");
    CU_ASSERT_NOT_EQUAL(bl_idx_load(images, labels, keep, n_keep, 0, &d, err, sizeof err), 0);
    CU_ASSERT(d.x == NULL && d.label == NULL && d.n == 0);
    return err;
}

static void test_idx_small_plain_and_gzip(void)
{
    for (int gz = 0; gz < 2; gz++) {
        struct path img = tmp_file(gz ? "small-img.gz" : "small-img");
        struct path lab = tmp_file(gz ? "small-lab.gz" : "small-lab");
        write_small(img.s, lab.s, gz);
        struct bl_dataset d;
        char err[512];
        CU_ASSERT_EQUAL_FATAL(bl_idx_load(img.s, lab.s, NULL, 0, 0, &d, err, sizeof err), 0);
        CU_ASSERT(d.n == SMALL_N && d.dim == SMALL_DIM && d.classes == 3);
        for (int i = 0; i < SMALL_N; i++) {
            CU_ASSERT_EQUAL(d.label[i], small_labels[i]);
            for (int j = 0; j < SMALL_DIM; j++)
                CU_ASSERT_EQUAL(d.x[i * SMALL_DIM + j], small_pixel(i, j) / 255.0);
        }
        CU_ASSERT_EQUAL(d.x[SMALL_N * SMALL_DIM - 1], 1.0);
        bl_dataset_release(&d);

        const int keep[1] = {2};
        CU_ASSERT_EQUAL_FATAL(bl_idx_load(img.s, lab.s, keep, 1, 0, &d, err, sizeof err), 0);
        CU_ASSERT(d.n == 2 && d.classes == 1 && d.label[0] == 0 && d.label[1] == 0);
        CU_ASSERT_EQUAL(d.x[SMALL_DIM], small_pixel(5, 0) / 255.0);
        bl_dataset_release(&d);

        CU_ASSERT_EQUAL_FATAL(bl_idx_load(img.s, lab.s, NULL, 0, 4, &d, err, sizeof err), 0);
        CU_ASSERT(d.n == 4 && d.classes == 3);
        bl_dataset_release(&d);
    }
}

static void test_idx_missing_file(void)
{
    struct path img = tmp_file("mf-img"), lab = tmp_file("mf-lab");
    write_small(img.s, lab.s, 0);
    struct path none = tmp_file("no-such-file.gz");
    const char *err = idx_error(none.s, lab.s, NULL, 0);
    CU_ASSERT(mentions(err, none.s) && mentions(err, "No such file"));
    err = idx_error(img.s, none.s, NULL, 0);
    CU_ASSERT(mentions(err, none.s) && mentions(err, "labels file"));
}

static void test_idx_wrong_magic(void)
{
    struct path img = tmp_file("wm-img"), lab = tmp_file("wm-lab");
    write_small(img.s, lab.s, 0);
    const unsigned char text[] = "hello, this is not an IDX file\n";
    struct path txt = tmp_file("text.gz"), gztxt = tmp_file("gzip-text.gz");
    write_file(txt.s, text, sizeof text - 1, NULL, 0, 0);
    write_file(gztxt.s, text, sizeof text - 1, NULL, 0, 1);
    const char *err = idx_error(txt.s, lab.s, NULL, 0);
    CU_ASSERT(mentions(err, txt.s) && mentions(err, "bad magic 0x68656c6c") &&
              mentions(err, "expected 0x00000803") && mentions(err, "neither gzip nor IDX"));
    err = idx_error(img.s, gztxt.s, NULL, 0);
    CU_ASSERT(mentions(err, gztxt.s) && mentions(err, "expected 0x00000801") &&
              mentions(err, "gzip content is not IDX"));

    /* IDX, but floats */
    struct path flt = tmp_file("float-img");
    const uint32_t dims[3] = {SMALL_N, 2, 3};
    write_idx(flt.s, 0x0D03, dims, 3, NULL, 0, 0);
    err = idx_error(flt.s, lab.s, NULL, 0);
    CU_ASSERT(mentions(err, flt.s) && mentions(err, "float"));
}

static void test_idx_wrong_dimension_count(void)
{
    struct path img = tmp_file("wd-img"), lab = tmp_file("wd-lab");
    write_small(img.s, lab.s, 1);
    /* the two files swapped */
    const char *err = idx_error(lab.s, lab.s, NULL, 0);
    CU_ASSERT(mentions(err, lab.s) && mentions(err, "wrong dimension count") &&
              mentions(err, "is it a labels file"));
    err = idx_error(img.s, img.s, NULL, 0);
    CU_ASSERT(mentions(err, img.s) && mentions(err, "is it an images file"));
}

static void test_idx_truncated(void)
{
    struct path img = tmp_file("tr-img"), lab = tmp_file("tr-lab");
    write_small(img.s, lab.s, 0);
    /* header promises 6 x 2 x 3 = 36 bytes; 20 are there */
    struct path cut = tmp_file("tr-cut");
    unsigned char px[20] = {0};
    const uint32_t dims[3] = {SMALL_N, 2, 3};
    write_idx(cut.s, 0x803, dims, 3, px, sizeof px, 0);
    const char *err = idx_error(cut.s, lab.s, NULL, 0);
    CU_ASSERT(mentions(err, cut.s) && mentions(err, "truncated") &&
              mentions(err, "expected 36 bytes of pixel data, found 20"));

    /* a header cut short */
    struct path head = tmp_file("tr-head");
    write_file(head.s, (const unsigned char *)"\0\0\x08\x03\0\0", 6, NULL, 0, 0);
    err = idx_error(head.s, lab.s, NULL, 0);
    CU_ASSERT(mentions(err, head.s) && mentions(err, "expected 16 bytes of IDX header, found 6"));

    /* labels cut short */
    struct path lcut = tmp_file("tr-lab-cut");
    const uint32_t ldims[1] = {SMALL_N};
    write_idx(lcut.s, 0x801, ldims, 1, small_labels, 4, 1);
    err = idx_error(img.s, lcut.s, NULL, 0);
    CU_ASSERT(mentions(err, lcut.s) && mentions(err, "expected 6 bytes of labels, found 4"));

    /* and the opposite: more data than promised */
    struct path longer = tmp_file("tr-long");
    unsigned char more[40] = {0};
    write_idx(longer.s, 0x803, dims, 3, more, sizeof more, 1);
    err = idx_error(longer.s, lab.s, NULL, 0);
    CU_ASSERT(mentions(err, longer.s) && mentions(err, "more data than the header promises"));
}

static void test_idx_count_mismatch(void)
{
    struct path img = tmp_file("cm-img"), lab = tmp_file("cm-lab");
    write_small(img.s, lab.s, 1);
    struct path lab5 = tmp_file("cm-lab5");
    const uint32_t dims[1] = {5};
    write_idx(lab5.s, 0x801, dims, 1, small_labels, 5, 1);
    const char *err = idx_error(img.s, lab5.s, NULL, 0);
    CU_ASSERT(mentions(err, "counts differ") && mentions(err, img.s) &&
              mentions(err, "6 images") && mentions(err, lab5.s) && mentions(err, "5 labels"));
}

/* Bytes that do not compress much, so a cut lands inside the deflate data. */
static void noise(unsigned char *b, size_t len)
{
    uint32_t s = 12345;
    for (size_t k = 0; k < len; k++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        b[k] = (unsigned char)(s >> 24);
    }
}

static unsigned char *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    unsigned char *b = malloc(*len);
    if (b != NULL && fread(b, 1, *len, f) != *len) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

static void test_idx_gzip_cut_or_corrupt(void)
{
    enum { N = 50, ROWS = 28, COLS = 28 };
    static unsigned char px[N * ROWS * COLS];
    noise(px, sizeof px);
    unsigned char labels[N];
    for (int i = 0; i < N; i++)
        labels[i] = (unsigned char)(i % 10);
    struct path img = tmp_file("gc-img.gz"), lab = tmp_file("gc-lab.gz");
    const uint32_t dims[3] = {N, ROWS, COLS};
    write_idx(img.s, 0x803, dims, 3, px, sizeof px, 1);
    write_idx(lab.s, 0x801, dims, 1, labels, N, 1);
    size_t len = 0;
    unsigned char *gz = read_whole(img.s, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gz);

    struct path half = tmp_file("gc-half.gz");
    write_file(half.s, gz, len / 2, NULL, 0, 0);
    const char *err = idx_error(half.s, lab.s, NULL, 0);
    CU_ASSERT(mentions(err, half.s) && mentions(err, "truncated gzip stream") &&
              mentions(err, "expected 39200 bytes of pixel data"));

    /* all the data but not the 8-byte trailer (CRC and length) */
    struct path tail = tmp_file("gc-tail.gz");
    write_file(tail.s, gz, len - 4, NULL, 0, 0);
    err = idx_error(tail.s, lab.s, NULL, 0);
    CU_ASSERT(mentions(err, tail.s) && mentions(err, "trailer is missing"));

    /* a flipped byte inside the compressed data */
    struct path flip = tmp_file("gc-flip.gz");
    gz[len / 2] ^= 0x55;
    write_file(flip.s, gz, len, NULL, 0, 0);
    err = idx_error(flip.s, lab.s, NULL, 0);
    CU_ASSERT(mentions(err, flip.s) && mentions(err, "corrupt gzip data"));
    free(gz);
}

static void test_idx_bad_labels(void)
{
    struct path img = tmp_file("bl-img"), lab = tmp_file("bl-lab");
    write_small(img.s, lab.s, 1);
    struct path l200 = tmp_file("bl-lab200");
    const unsigned char labels[SMALL_N] = {0, 1, 2, 200, 1, 200};
    const uint32_t dims[1] = {SMALL_N};
    write_idx(l200.s, 0x801, dims, 1, labels, SMALL_N, 1);
    const char *err = idx_error(img.s, l200.s, NULL, 0);
    CU_ASSERT(mentions(err, l200.s) && mentions(err, "label 200 out of range") &&
              mentions(err, "first at example 3"));
    /* a selection that leaves 200 out is fine */
    struct bl_dataset d;
    char msg[512];
    const int keep01[2] = {0, 1};
    CU_ASSERT_EQUAL(bl_idx_load(img.s, l200.s, keep01, 2, 0, &d, msg, sizeof msg), 0);
    CU_ASSERT_EQUAL(d.n, 3);
    bl_dataset_release(&d);

    const int keep12[2] = {0, 12};
    err = idx_error(img.s, lab.s, keep12, 2);
    CU_ASSERT(mentions(err, lab.s) && mentions(err, "class 12 in keep is out of range") &&
              mentions(err, "labels in the file are 0..2"));
    const int twice[3] = {1, 0, 1};
    err = idx_error(img.s, lab.s, twice, 3);
    CU_ASSERT(mentions(err, "class 1 appears twice"));
}

static void test_idx_absurd_dimensions(void)
{
    struct path img = tmp_file("ad-img"), lab = tmp_file("ad-lab");
    write_small(img.s, lab.s, 0);
    struct path huge = tmp_file("ad-huge");
    const uint32_t dims[3] = {4294967295u, 65536, 65536};
    write_idx(huge.s, 0x803, dims, 3, NULL, 0, 0);
    const char *err = idx_error(huge.s, lab.s, NULL, 0);
    CU_ASSERT(mentions(err, huge.s) && mentions(err, "absurd dimensions") &&
              mentions(err, "4294967295 x 65536 x 65536") && mentions(err, "2^31"));
    /* each factor fits, the product does not */
    const uint32_t dims2[3] = {SMALL_N, 100000, 100000};
    write_idx(huge.s, 0x803, dims2, 3, NULL, 0, 0);
    err = idx_error(huge.s, lab.s, NULL, 0);
    CU_ASSERT(mentions(err, "absurd dimensions"));
    struct path hl = tmp_file("ad-hl");
    write_idx(hl.s, 0x801, dims, 1, NULL, 0, 0);
    err = idx_error(img.s, hl.s, NULL, 0);
    CU_ASSERT(mentions(err, hl.s) && mentions(err, "absurd label count"));
}

#define NC_OK(call) CU_ASSERT_EQUAL_FATAL((call), NC_NOERR)

/* A classic-format file with x (sample = n, feature = dim) and y (sample),
 * both double so tests can put any value in. */
static void write_nc(const char *path, int n, int dim, const double *x, const double *y)
{
    int ncid, dims[2], vx, vy;
    NC_OK(nc_create(path, NC_CLOBBER, &ncid));
    NC_OK(nc_def_dim(ncid, "sample", (size_t)n, &dims[0]));
    NC_OK(nc_def_dim(ncid, "feature", (size_t)dim, &dims[1]));
    NC_OK(nc_def_var(ncid, "x", NC_DOUBLE, 2, dims, &vx));
    NC_OK(nc_def_var(ncid, "y", NC_DOUBLE, 1, dims, &vy));
    NC_OK(nc_enddef(ncid));
    NC_OK(nc_put_var_double(ncid, vx, x));
    NC_OK(nc_put_var_double(ncid, vy, y));
    NC_OK(nc_close(ncid));
}

static const char *nc_error(const char *path, const char *x_name, const char *y_name)
{
    static char err[1024];
    struct bl_dataset d;
    strcpy(err, "(no message)");
    CU_ASSERT_NOT_EQUAL(bl_netcdf_dataset_load(path, x_name, y_name, &d, err, sizeof err), 0);
    CU_ASSERT(d.x == NULL && d.label == NULL && d.n == 0);
    return err;
}

static void test_netcdf_round_trip(void)
{
    /* netCDF-4: x as float (sample = 5, feature = 3), y as byte; a test set
     * (test_sample = 2, feature) without class 0. */
    struct path p = tmp_file("rt.nc");
    const float x[15] = {0.5f, -1, 2, 3, 4.25f, 5, -6, 7, 8, 9, 10, 11, 12, 13, 14.5f};
    const signed char y[5] = {0, 2, 1, 2, 0};
    const short xt[6] = {1, 2, 3, -4, -5, -6};
    const int yt[2] = {2, 1};
    int ncid, ds, df, dt, vx, vy, vxt, vyt, dims[2];
    NC_OK(nc_create(p.s, NC_CLOBBER | NC_NETCDF4, &ncid));
    NC_OK(nc_def_dim(ncid, "sample", 5, &ds));
    NC_OK(nc_def_dim(ncid, "feature", 3, &df));
    NC_OK(nc_def_dim(ncid, "test_sample", 2, &dt));
    dims[0] = ds, dims[1] = df;
    NC_OK(nc_def_var(ncid, "x", NC_FLOAT, 2, dims, &vx));
    NC_OK(nc_def_var(ncid, "y", NC_BYTE, 1, dims, &vy));
    dims[0] = dt;
    NC_OK(nc_def_var(ncid, "x_test", NC_SHORT, 2, dims, &vxt));
    NC_OK(nc_def_var(ncid, "y_test", NC_INT, 1, dims, &vyt));
    NC_OK(nc_enddef(ncid));
    NC_OK(nc_put_var_float(ncid, vx, x));
    NC_OK(nc_put_var_schar(ncid, vy, y));
    NC_OK(nc_put_var_short(ncid, vxt, xt));
    NC_OK(nc_put_var_int(ncid, vyt, yt));
    NC_OK(nc_close(ncid));

    struct bl_dataset d, train, test;
    char err[512];
    CU_ASSERT_EQUAL_FATAL(bl_netcdf_dataset_load(p.s, "x", "y", &d, err, sizeof err), 0);
    CU_ASSERT(d.n == 5 && d.dim == 3 && d.classes == 3);
    for (int k = 0; k < 15; k++)
        CU_ASSERT_EQUAL(d.x[k], (double)x[k]);
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(d.label[i], y[i]);
    bl_dataset_release(&d);

    CU_ASSERT_EQUAL_FATAL(bl_netcdf_data_load(p.s, &train, &test, NULL, 0, err, sizeof err), 0);
    CU_ASSERT(train.n == 5 && test.n == 2 && test.dim == 3);
    CU_ASSERT(train.classes == 3 && test.classes == 3);
    for (int k = 0; k < 6; k++)
        CU_ASSERT_EQUAL(test.x[k], (double)xt[k]);
    CU_ASSERT(test.label[0] == 2 && test.label[1] == 1);
    bl_dataset_release(&train);
    bl_dataset_release(&test);

    /* the "classes" attribute; no test variables: an empty test set */
    struct path q = tmp_file("rt-classes.nc");
    const double xd[6] = {1, 2, 3, 4, 5, 6}, yd[3] = {1, 0, 2};
    write_nc(q.s, 3, 2, xd, yd);
    const int classes = 3;
    NC_OK(nc_open(q.s, NC_WRITE, &ncid));
    NC_OK(nc_redef(ncid));
    NC_OK(nc_put_att_int(ncid, NC_GLOBAL, "classes", NC_INT, 1, &classes));
    NC_OK(nc_close(ncid));
    CU_ASSERT_EQUAL_FATAL(bl_netcdf_data_load(q.s, &train, &test, NULL, 0, err, sizeof err), 0);
    CU_ASSERT(train.n == 3 && train.classes == 3 && train.label[0] == 1);
    CU_ASSERT(test.n == 0 && test.x == NULL);
    bl_dataset_release(&train);
}

static void test_netcdf_errors(void)
{
    const double x[6] = {1, 2, 3, 4, 5, 6}, y[3] = {0, 1, 1};
    struct path good = tmp_file("e-good.nc");
    write_nc(good.s, 3, 2, x, y);

    struct path none = tmp_file("e-none.nc");
    const char *err = nc_error(none.s, "x", "y");
    CU_ASSERT(mentions(err, none.s) && mentions(err, "No such file"));

    struct path text = tmp_file("e-text.nc");
    write_file(text.s, (const unsigned char *)"x,y\n1,0\n", 8, NULL, 0, 0);
    err = nc_error(text.s, "x", "y");
    CU_ASSERT(mentions(err, text.s) && mentions(err, "not a NetCDF file"));

    err = nc_error(good.s, "features", "y");
    CU_ASSERT(mentions(err, good.s) && mentions(err, "missing variable 'features'") &&
              mentions(err, "the file has: x, y"));
    err = nc_error(good.s, "y", "y");
    CU_ASSERT(mentions(err, "'y' has rank 1, expected 2"));
    err = nc_error(good.s, "x", "x");
    CU_ASSERT(mentions(err, "'x' has rank 2, expected 1"));

    /* y over another dimension of length 4 */
    struct path mis = tmp_file("e-mismatch.nc");
    write_nc(mis.s, 3, 2, x, y);
    int ncid, dim, var;
    const int y4[4] = {0, 1, 0, 1};
    NC_OK(nc_open(mis.s, NC_WRITE, &ncid));
    NC_OK(nc_redef(ncid));
    NC_OK(nc_def_dim(ncid, "other", 4, &dim));
    NC_OK(nc_def_var(ncid, "y4", NC_INT, 1, &dim, &var));
    NC_OK(nc_enddef(ncid));
    NC_OK(nc_put_var_int(ncid, var, y4));
    NC_OK(nc_close(ncid));
    err = nc_error(mis.s, "x", "y4");
    CU_ASSERT(mentions(err, mis.s) && mentions(err, "dimension mismatch") &&
              mentions(err, "3 samples (dimension 'sample')") &&
              mentions(err, "4 labels (dimension 'other')"));

    struct path bad = tmp_file("e-bad.nc");
    const double negative[3] = {0, -1, 1}, fraction[3] = {0, 1.5, 1};
    write_nc(bad.s, 3, 2, x, negative);
    err = nc_error(bad.s, "x", "y");
    CU_ASSERT(mentions(err, bad.s) && mentions(err, "negative label -1") &&
              mentions(err, "sample 1"));
    write_nc(bad.s, 3, 2, x, fraction);
    err = nc_error(bad.s, "x", "y");
    CU_ASSERT(mentions(err, "non-integer label 1.5") && mentions(err, "sample 1"));

    double xbad[6] = {1, 2, 3, 4, 5, 6};
    xbad[2 * 2 + 1] = NAN;
    write_nc(bad.s, 3, 2, xbad, y);
    err = nc_error(bad.s, "x", "y");
    CU_ASSERT(mentions(err, bad.s) && mentions(err, "NaN at sample 2, feature 1"));
    xbad[2 * 2 + 1] = 6;
    xbad[1 * 2 + 0] = -INFINITY;
    write_nc(bad.s, 3, 2, xbad, y);
    err = nc_error(bad.s, "x", "y");
    CU_ASSERT(mentions(err, "-Inf at sample 1, feature 0"));

    /* only the first row of x written: the rest holds the fill value */
    struct path part = tmp_file("e-partial.nc");
    int dims[2], vx, vy;
    NC_OK(nc_create(part.s, NC_CLOBBER, &ncid));
    NC_OK(nc_def_dim(ncid, "sample", 3, &dims[0]));
    NC_OK(nc_def_dim(ncid, "feature", 2, &dims[1]));
    NC_OK(nc_def_var(ncid, "x", NC_FLOAT, 2, dims, &vx));
    NC_OK(nc_def_var(ncid, "y", NC_INT, 1, dims, &vy));
    NC_OK(nc_enddef(ncid));
    const size_t start[2] = {0, 0}, count[2] = {1, 2};
    NC_OK(nc_put_vara_double(ncid, vx, start, count, x));
    NC_OK(nc_put_var_double(ncid, vy, y));
    NC_OK(nc_close(ncid));
    err = nc_error(part.s, "x", "y");
    CU_ASSERT(mentions(err, "fill value") && mentions(err, "sample 1, feature 0"));

    /* classes attribute below a label; x_test without y_test; x_test with
     * a different feature count */
    struct path cls = tmp_file("e-classes.nc");
    write_nc(cls.s, 3, 2, x, y);
    const int one = 1;
    const double xt[3] = {1, 2, 3};
    NC_OK(nc_open(cls.s, NC_WRITE, &ncid));
    NC_OK(nc_redef(ncid));
    NC_OK(nc_put_att_int(ncid, NC_GLOBAL, "classes", NC_INT, 1, &one));
    NC_OK(nc_def_dim(ncid, "test_sample", 1, &dims[0]));
    NC_OK(nc_def_dim(ncid, "test_feature", 3, &dims[1]));
    NC_OK(nc_def_var(ncid, "x_test", NC_DOUBLE, 2, dims, &var));
    NC_OK(nc_enddef(ncid));
    NC_OK(nc_put_var_double(ncid, var, xt));
    NC_OK(nc_close(ncid));
    err = nc_error(cls.s, "x", "y");
    CU_ASSERT(mentions(err, cls.s) && mentions(err, "label 1 in 'y' at sample 1") &&
              mentions(err, "classes = 1"));

    struct bl_dataset train, test;
    static char msg[1024];
    write_nc(cls.s, 3, 2, x, y);
    NC_OK(nc_open(cls.s, NC_WRITE, &ncid));
    NC_OK(nc_redef(ncid));
    NC_OK(nc_def_dim(ncid, "test_sample", 1, &dims[0]));
    NC_OK(nc_def_dim(ncid, "test_feature", 3, &dims[1]));
    NC_OK(nc_def_var(ncid, "x_test", NC_DOUBLE, 2, dims, &var));
    NC_OK(nc_enddef(ncid));
    NC_OK(nc_put_var_double(ncid, var, xt));
    NC_OK(nc_close(ncid));
    CU_ASSERT_NOT_EQUAL(bl_netcdf_data_load(cls.s, &train, &test, NULL, 0, msg, sizeof msg), 0);
    CU_ASSERT(mentions(msg, "missing variable 'y_test'") && mentions(msg, "x_test"));
    CU_ASSERT(train.x == NULL && test.x == NULL);

    const int yt[1] = {0};
    NC_OK(nc_open(cls.s, NC_WRITE, &ncid));
    NC_OK(nc_redef(ncid));
    NC_OK(nc_def_var(ncid, "y_test", NC_INT, 1, dims, &var));
    NC_OK(nc_enddef(ncid));
    NC_OK(nc_put_var_int(ncid, var, yt));
    NC_OK(nc_close(ncid));
    CU_ASSERT_NOT_EQUAL(bl_netcdf_data_load(cls.s, &train, &test, NULL, 0, msg, sizeof msg), 0);
    CU_ASSERT(mentions(msg, "'x_test' has 3 features but 'x' has 2"));
    CU_ASSERT(train.x == NULL && test.x == NULL);

    /* a character variable */
    struct path chr = tmp_file("e-char.nc");
    NC_OK(nc_create(chr.s, NC_CLOBBER, &ncid));
    NC_OK(nc_def_dim(ncid, "sample", 2, &dims[0]));
    NC_OK(nc_def_dim(ncid, "feature", 2, &dims[1]));
    NC_OK(nc_def_var(ncid, "x", NC_CHAR, 2, dims, &var));
    NC_OK(nc_enddef(ncid));
    NC_OK(nc_put_var_text(ncid, var, "abcd"));
    NC_OK(nc_close(ncid));
    err = nc_error(chr.s, "x", "y");
    CU_ASSERT(mentions(err, "'x' holds characters"));
}

/* write_nc, then the global attribute classes (when > 0) and a test set
 * x_test (n_test, dim) of zeros with labels y_test (when n_test > 0). */
static void write_labelled(const char *path, int n, const double *y, int classes, int n_test,
                           const double *y_test)
{
    double x[64] = {0};
    CU_ASSERT_FATAL(n <= 32);
    for (int i = 0; i < 2 * n; i++)
        x[i] = i;
    write_nc(path, n, 2, x, y);
    int ncid, dims[2], vx, vy;
    NC_OK(nc_open(path, NC_WRITE, &ncid));
    NC_OK(nc_redef(ncid));
    if (classes > 0)
        NC_OK(nc_put_att_int(ncid, NC_GLOBAL, "classes", NC_INT, 1, &classes));
    if (n_test > 0) {
        NC_OK(nc_def_dim(ncid, "test_sample", (size_t)n_test, &dims[0]));
        NC_OK(nc_inq_dimid(ncid, "feature", &dims[1]));
        NC_OK(nc_def_var(ncid, "x_test", NC_DOUBLE, 2, dims, &vx));
        NC_OK(nc_def_var(ncid, "y_test", NC_DOUBLE, 1, dims, &vy));
    }
    NC_OK(nc_enddef(ncid));
    if (n_test > 0) {
        double zeros[64] = {0};
        NC_OK(nc_put_var_double(ncid, vx, zeros));
        NC_OK(nc_put_var_double(ncid, vy, y_test));
    }
    NC_OK(nc_close(ncid));
}

/* bl_netcdf_data_load's message on a file it must refuse. */
static const char *labels_refused(const char *path)
{
    static char msg[1024];
    struct bl_dataset train, test;
    char note[256] = "(untouched)";
    strcpy(msg, "(no message)");
    CU_ASSERT_NOT_EQUAL(bl_netcdf_data_load(path, &train, &test, note, sizeof note, msg,
                                            sizeof msg), 0);
    CU_ASSERT(train.label == NULL && test.label == NULL && train.n == 0);
    return msg;
}

static void test_netcdf_labels(void)
{
    struct path f = tmp_file("labels.nc");
    const char *err;

    /* 1..K used to load as K+1 classes with an empty class 0 */
    const double one_to_three[6] = {1, 2, 3, 1, 2, 3};
    write_labelled(f.s, 6, one_to_three, 0, 0, NULL);
    err = labels_refused(f.s);
    CU_ASSERT(mentions(err, f.s) && mentions(err, "labels in 'y' are 1..3 (3 distinct)") &&
              mentions(err, "class 0 has no training example") &&
              mentions(err, "labels must be 0..K-1 with every class present"));
    err = nc_error(f.s, "x", "y");
    CU_ASSERT(mentions(err, "class 0 has no training example"));
    const double gaps[6] = {0, 2, 0, 2, 4, 4};
    write_labelled(f.s, 6, gaps, 0, 0, NULL);
    err = labels_refused(f.s);
    CU_ASSERT(mentions(err, "labels in 'y' are 0..4 (3 distinct)") &&
              mentions(err, "class 1 (and 1 more) has no training example"));
    /* -1 among other labels is a negative label, not a binary coding */
    const double minus_zero_plus[3] = {0, -1, 1};
    write_labelled(f.s, 3, minus_zero_plus, 0, 0, NULL);
    err = labels_refused(f.s);
    CU_ASSERT(mentions(err, "negative label -1 in 'y' at sample 1") &&
              mentions(err, "-1..1 (3 distinct)") && mentions(err, "exactly -1 and +1"));

    /* with the attribute: labels in 0..K-1, every class still present */
    const double zero_one[4] = {0, 1, 0, 1};
    write_labelled(f.s, 4, zero_one, 3, 0, NULL);
    err = labels_refused(f.s);
    CU_ASSERT(mentions(err, "labels in 'y' are 0..1 (2 distinct) and the global attribute "
                            "classes = 3") &&
              mentions(err, "class 2 has no training example"));
    const double zero_to_two[3] = {0, 2, 1};
    write_labelled(f.s, 3, zero_to_two, 2, 0, NULL);
    err = labels_refused(f.s);
    CU_ASSERT(mentions(err, "label 2 in 'y' at sample 1 is out of range") &&
              mentions(err, "classes = 2 allows 0..1"));
    const double plus_minus[4] = {-1, 1, 1, -1};
    write_labelled(f.s, 4, plus_minus, 2, 0, NULL);
    err = labels_refused(f.s);
    CU_ASSERT(mentions(err, "negative label -1 in 'y' at sample 0"));

    /* test labels name classes of the training set; some may be absent */
    const double test_beyond[2] = {1, 3};
    write_labelled(f.s, 3, zero_to_two, 0, 2, test_beyond);
    err = labels_refused(f.s);
    CU_ASSERT(mentions(err, "label 3 in 'y_test' at sample 1 is not a class of the training "
                            "set, whose classes are 0..2"));
    struct bl_dataset train, test;
    char note[256] = "(untouched)", msg[512];
    const double test_two[2] = {2, 2};
    write_labelled(f.s, 3, zero_to_two, 0, 2, test_two);
    CU_ASSERT_EQUAL_FATAL(bl_netcdf_data_load(f.s, &train, &test, note, sizeof note, msg,
                                              sizeof msg), 0);
    CU_ASSERT(train.classes == 3 && test.classes == 3 && test.label[0] == 2);
    CU_ASSERT_STRING_EQUAL(note, ""); /* nothing to say about 0..K-1 labels */
    bl_dataset_release(&train);
    bl_dataset_release(&test);

    /* exactly -1 and +1: classes 0 and 1, and the loader says so */
    const double pm_test[3] = {1, 1, -1};
    write_labelled(f.s, 4, plus_minus, 0, 3, pm_test);
    CU_ASSERT_EQUAL_FATAL(bl_netcdf_data_load(f.s, &train, &test, note, sizeof note, msg,
                                              sizeof msg), 0);
    CU_ASSERT(train.classes == 2 && test.classes == 2);
    CU_ASSERT(train.label[0] == 0 && train.label[1] == 1 && train.label[2] == 1 &&
              train.label[3] == 0);
    CU_ASSERT(test.label[0] == 1 && test.label[1] == 1 && test.label[2] == 0);
    CU_ASSERT(mentions(note, f.s) && mentions(note, "the labels in 'y' are -1 and +1") &&
              mentions(note, "class 0 (-1) and class 1 (+1)"));
    bl_dataset_release(&train);
    bl_dataset_release(&test);
    const double pm_test_zero[3] = {1, 0, -1};
    write_labelled(f.s, 4, plus_minus, 0, 3, pm_test_zero);
    err = labels_refused(f.s);
    CU_ASSERT(mentions(err, "label 0 in 'y_test' at sample 1") &&
              mentions(err, "test labels must be -1 or +1"));
}

/* data.n_train keeps the first rows, which must still hold every class. */
static void test_netcdf_first_rows_hold_every_class(void)
{
    struct path f = tmp_file("late-class.nc");
    const double late[6] = {0, 1, 0, 1, 0, 2};
    write_labelled(f.s, 6, late, 0, 0, NULL);
    struct bl_config cfg;
    bl_config_defaults(&cfg);
    cfg.data.kind = BL_DATA_NETCDF;
    snprintf(cfg.data.path, sizeof cfg.data.path, "%s", f.s);
    cfg.data.n_test = 0;
    cfg.data.n_train = 5;
    char note[256], err[1024];
    CU_ASSERT_NOT_EQUAL(bl_data_shape(&cfg.data, note, sizeof note, err, sizeof err), 0);
    CU_ASSERT(mentions(err, "data.n_train = 5 keeps the first 5 training examples") &&
              mentions(err, "no example of class 2 (1 of the 3 classes have none)"));
    cfg.data.n_train = 6;
    CU_ASSERT_EQUAL(bl_data_shape(&cfg.data, note, sizeof note, err, sizeof err), 0);
    CU_ASSERT(cfg.data.classes == 3 && cfg.data.dim == 2 && note[0] == '\0');
}

void bl_test_register_datafile(void)
{
    CU_pSuite s = CU_add_suite("datafile", suite_init, suite_clean);
    BL_ADD_TEST(s, test_fashion_train);
    BL_ADD_TEST(s, test_fashion_test);
    BL_ADD_TEST(s, test_fashion_keep_two_classes);
    BL_ADD_TEST(s, test_fashion_max_examples);
    BL_ADD_TEST(s, test_fashion_standardize);
    BL_ADD_TEST(s, test_standardize_by_hand);
    BL_ADD_TEST(s, test_idx_small_plain_and_gzip);
    BL_ADD_TEST(s, test_idx_missing_file);
    BL_ADD_TEST(s, test_idx_wrong_magic);
    BL_ADD_TEST(s, test_idx_wrong_dimension_count);
    BL_ADD_TEST(s, test_idx_truncated);
    BL_ADD_TEST(s, test_idx_count_mismatch);
    BL_ADD_TEST(s, test_idx_gzip_cut_or_corrupt);
    BL_ADD_TEST(s, test_idx_bad_labels);
    BL_ADD_TEST(s, test_idx_absurd_dimensions);
    BL_ADD_TEST(s, test_netcdf_round_trip);
    BL_ADD_TEST(s, test_netcdf_errors);
    BL_ADD_TEST(s, test_netcdf_labels);
    BL_ADD_TEST(s, test_netcdf_first_rows_hold_every_class);
}
