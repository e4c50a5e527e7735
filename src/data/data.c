/* Synthetic data sets and mini-batch sampling. Every number comes from a
 * stream keyed by (seed, purpose), so every rank that builds a task's data
 * gets the same bits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bl_data.h"
#include "bl_datafile.h"
#include "bl_log.h"

int bl_data_outputs(const struct bl_data_cfg *data, enum bl_loss_kind loss)
{
    if (data->targets > 0) /* regression: one output per target */
        return data->targets;
    if (loss == BL_LOSS_CROSS_ENTROPY || data->classes > 2)
        return data->classes;
    return 1;
}

static void dataset_alloc(struct bl_dataset *s, int n, int dim, int classes)
{
    s->n = n;
    s->dim = dim;
    s->classes = classes;
    s->x = bl_malloc(sizeof(double) * ((size_t)n * dim + 1));
    s->label = bl_malloc(sizeof(int) * ((size_t)n + 1));
}

static double dot(const double *a, const double *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* u ~ uniform on the unit sphere of R^dim. */
static void random_unit(double *u, int dim, struct bl_rng *rng)
{
    for (int j = 0; j < dim; j++)
        u[j] = bl_rng_normal(rng);
    double norm = sqrt(dot(u, u, dim));
    for (int j = 0; j < dim; j++)
        u[j] /= norm;
}

/* x ~ N(0, I), label by the side of the hyperplane w*; then x is moved by
 * margin along w* away from the hyperplane, so every example keeps at least
 * `margin` of distance from it (the gap) without rejection sampling. With
 * `mirrored`, examples come in pairs (x, y), (-x, -y). */
static void make_separable(struct bl_dataset *s, const double *w_star, double margin,
                           int mirrored, struct bl_rng *rng)
{
    int dim = s->dim;
    int step = mirrored ? 2 : 1;
    for (int i = 0; i < s->n; i += step) {
        double *x = s->x + (long)i * dim;
        for (int j = 0; j < dim; j++)
            x[j] = bl_rng_normal(rng);
        double side = dot(x, w_star, dim) >= 0 ? 1.0 : -1.0;
        for (int j = 0; j < dim; j++)
            x[j] += side * margin * w_star[j];
        s->label[i] = side > 0 ? 1 : 0;
        if (mirrored) {
            double *mirror = x + dim;
            for (int j = 0; j < dim; j++)
                mirror[j] = -x[j];
            s->label[i + 1] = 1 - s->label[i];
        }
    }
}

/* The asymmetric counterexample (README "Data"; derived for biaslab, not the
 * paper's construction). In the plane of w* and a unit v orthogonal to it,
 * examples cycle through 16 slots: slots 0-9 are positives at unit distance,
 * angle degrees above and below w* (alternating); slot 10 is a positive at
 * far_distance along w*; slots 11-15 are negatives at negative_distance along
 * -w*. Every example gets N(0, noise^2) noise along w* and along v only, so
 * the data stay in the plane (the exact two-layer optimum needs that).
 * Why it traps gradient flow: early on the far positives pull every neuron
 * towards +-w*; late, +-w* is a local maximum of the neurons' growth rate,
 * so the net stays the linear classifier along w_SVM although two neurons
 * aimed at the two positive clusters give a larger normalized margin. */
static void make_asymmetric(struct bl_dataset *s, const double *w_star, const double *v,
                            const struct bl_data_cfg *cfg, struct bl_rng *rng)
{
    double angle = cfg->angle * M_PI / 180.0;
    for (int i = 0; i < s->n; i++) {
        int slot = i % 16;
        double along, across; /* coordinates on w* and v */
        if (slot < 10) {
            along = cos(angle);
            across = slot % 2 ? -sin(angle) : sin(angle);
        } else if (slot == 10) {
            along = cfg->far_distance;
            across = 0;
        } else {
            along = -cfg->negative_distance;
            across = 0;
        }
        along += cfg->noise * bl_rng_normal(rng);
        across += cfg->noise * bl_rng_normal(rng);
        double *x = s->x + (long)i * s->dim;
        for (int j = 0; j < s->dim; j++)
            x[j] = along * w_star[j] + across * v[j];
        s->label[i] = slot <= 10 ? 1 : 0;
    }
}

/* sparse_sign (SCIENCE.md 3): w* (dim) has k = data.sparsity nonzero
 * coordinates, each +-1, at k distinct random places (a partial
 * Fisher-Yates over the coordinates); truth is w* / sqrt(k). */
static void make_sparse_truth(double *truth, int dim, int k, struct bl_rng *rng)
{
    int *order = bl_malloc(sizeof(int) * (size_t)dim); /* (dim) */
    for (int j = 0; j < dim; j++)
        order[j] = j;
    memset(truth, 0, sizeof(double) * (size_t)dim);
    for (int i = 0; i < k; i++) {
        int j = i + (int)bl_rng_below(rng, (uint64_t)(dim - i));
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
        truth[order[i]] = (bl_rng_u32(rng) & 1 ? 1.0 : -1.0) / sqrt((double)k);
    }
    free(order);
}

/* x uniform in {+-1}^dim, y = sign <w*, x>: a sum of k (odd) terms +-1, never 0. */
static void make_sparse_sign(struct bl_dataset *s, const double *truth, struct bl_rng *rng)
{
    for (int i = 0; i < s->n; i++) {
        double *x = s->x + (long)i * s->dim;
        for (int j = 0; j < s->dim; j++)
            x[j] = bl_rng_u32(rng) & 1 ? 1.0 : -1.0;
        s->label[i] = dot(x, truth, s->dim) > 0 ? 1 : 0;
    }
}

/* matrix_completion (SCIENCE.md 3): the d^2 entries of X*_ij = i j / d^2
 * as index pairs (i, j) with real targets, in the order of a permutation of
 * all entries drawn from the stream (seed, BL_STREAM_DATA_TRAIN); the first
 * data.n_train (config.c: round(observed d^2)) train, all the others test. */
static void index_pairs_alloc(struct bl_dataset *s, int n)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    s->arity = 2;
    s->targets = 1;
    s->index = bl_malloc(sizeof(int) * (2 * (size_t)n + 1));
    s->target = bl_malloc(sizeof(double) * ((size_t)n + 1));
}

static void make_matrix_completion(const struct bl_data_cfg *cfg, uint64_t seed,
                                   struct bl_data *out)
{
    int d = cfg->size, entries = d * d;
    int *order = bl_malloc(sizeof(int) * (size_t)entries); /* (d^2) entry e = i d + j */
    for (int e = 0; e < entries; e++)
        order[e] = e;
    struct bl_rng rng;
    bl_rng_init(&rng, seed, BL_STREAM_DATA_TRAIN, 0);
    for (int e = entries - 1; e > 0; e--) { /* Fisher-Yates */
        int k = (int)bl_rng_below(&rng, (uint64_t)e + 1);
        int t = order[e];
        order[e] = order[k];
        order[k] = t;
    }
    index_pairs_alloc(&out->train, cfg->n_train);
    index_pairs_alloc(&out->test, cfg->n_test);
    for (int e = 0; e < entries; e++) {
        struct bl_dataset *s = e < cfg->n_train ? &out->train : &out->test;
        int r = e < cfg->n_train ? e : e - cfg->n_train;
        int i = order[e] / d, j = order[e] % d;
        s->index[2 * r] = i;
        s->index[2 * r + 1] = j;
        s->target[r] = (double)i * j / ((double)d * d);
    }
    free(order);
}

/* modular_add (SCIENCE.md 3): every pair (a, b) in [0, p)^2 once, labelled
 * (a + b) mod p, in the order of a permutation of the p^2 pairs drawn from
 * the stream (seed, BL_STREAM_DATA_TRAIN) by Fisher-Yates from the identity;
 * the first train->n pairs train, the rest test (the authors' split). */
static void make_modular_add(struct bl_dataset *train, struct bl_dataset *test, int p,
                             struct bl_rng *rng)
{
    long pairs = (long)p * p;
    long *order = bl_malloc(sizeof(long) * (size_t)pairs); /* (p^2) pair a p + b */
    for (long i = 0; i < pairs; i++)
        order[i] = i;
    for (long i = pairs - 1; i > 0; i--) {
        long j = (long)bl_rng_below(rng, (uint64_t)i + 1);
        long t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (long i = 0; i < pairs; i++) {
        struct bl_dataset *s = i < train->n ? train : test;
        long r = i < train->n ? i : i - train->n;
        int a = (int)(order[i] / p), b = (int)(order[i] % p);
        s->index[2 * r] = a;
        s->index[2 * r + 1] = b;
        s->label[r] = (a + b) % p;
    }
    free(order);
}

/* A set of n token pairs (index (n, 2)) with class labels, no dense rows. */
static void pair_dataset_alloc(struct bl_dataset *s, int n, int classes)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    s->classes = classes;
    s->arity = 2;
    s->index = bl_malloc(sizeof(int) * (2 * (size_t)n + 1));
    s->label = bl_malloc(sizeof(int) * ((size_t)n + 1));
}

/* Class c of example i is i mod classes (balanced); x = centre_c + std N(0, I). */
static void make_clusters(struct bl_dataset *s, const double *centres, double std,
                          struct bl_rng *rng)
{
    for (int i = 0; i < s->n; i++) {
        int c = i % s->classes;
        double *x = s->x + (long)i * s->dim;
        const double *centre = centres + (long)c * s->dim;
        for (int j = 0; j < s->dim; j++)
            x[j] = centre[j] + std * bl_rng_normal(rng);
        s->label[i] = c;
    }
}

/* data.select "0,6" -> keep = {0, 6}; returns the count, or -1 with err set. */
static int parse_select(const char *text, int *keep, int max_keep, char *err, size_t err_len)
{
    int n = 0;
    const char *p = text;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > 255 || n == max_keep) {
            snprintf(err, err_len,
                     "data.select = '%s': expected class numbers separated by commas, e.g. 0,6",
                     text);
            return -1;
        }
        keep[n++] = (int)v;
        p = end;
        while (*p == ' ' || *p == ',')
            p++;
    }
    return n;
}

/* First n rows of a loaded set (data.n_train / n_test pick a subset). */
static int take_first(struct bl_dataset *s, int n, const char *what, const char *path, char *err,
                      size_t err_len)
{
    if (s->n < n) {
        snprintf(err, err_len, "data.%s = %d but '%s' provides only %d examples", what, n, path,
                 s->n);
        return 1;
    }
    s->n = n;
    return 0;
}

/* The loaders check that every class has a training example in the file;
 * data.n_train keeps only the first rows, which must still hold each one
 * (a class without an example would train an output on nothing). */
static int every_class_kept(const struct bl_dataset *train, const char *path, char *err,
                            size_t err_len)
{
    if (!train->label)
        return 0;
    char *seen = bl_calloc((size_t)train->classes, 1); /* (classes) */
    int found = 0;
    for (int i = 0; i < train->n; i++)
        if (!seen[train->label[i]]) {
            seen[train->label[i]] = 1;
            found++;
        }
    int first = 0;
    while (first < train->classes && seen[first])
        first++;
    free(seen);
    if (found == train->classes)
        return 0;
    snprintf(err, err_len,
             "data.n_train = %d keeps the first %d training examples of '%s', and they hold no "
             "example of class %d (%d of the %d classes have none); raise data.n_train, or "
             "order the file so that every class comes early",
             train->n, train->n, path, first, train->classes - found, train->classes);
    return 1;
}

/* Fashion-MNIST (IDX, gzip) or a user's NetCDF file. note, when not NULL,
 * receives what the loader wants said once about the file (or ""). */
static int load_file_data(const struct bl_data_cfg *cfg, struct bl_data *out, char *note,
                          size_t note_len, char *err, size_t err_len)
{
    if (cfg->kind == BL_DATA_NETCDF) {
        if (bl_netcdf_data_load(cfg->path, &out->train, &out->test, note, note_len, err,
                                err_len))
            return 1;
        if (take_first(&out->train, cfg->n_train, "n_train", cfg->path, err, err_len) ||
            take_first(&out->test, cfg->n_test, "n_test", cfg->path, err, err_len) ||
            every_class_kept(&out->train, cfg->path, err, err_len))
            return 1;
    } else {
        if (note && note_len)
            note[0] = '\0';
        int keep[256];
        int n_keep = parse_select(cfg->select, keep, 256, err, err_len);
        if (n_keep < 0)
            return 1;
        char images[BL_PATH_MAX + 64], labels[BL_PATH_MAX + 64];
        struct bl_dataset *set[2] = {&out->train, &out->test};
        int want[2] = {cfg->n_train, cfg->n_test};
        for (int i = 0; i < 2; i++) {
            bl_fashion_file(cfg->path, i, 0, images, sizeof images);
            bl_fashion_file(cfg->path, i, 1, labels, sizeof labels);
            if (want[i] == 0)
                continue;
            if (bl_idx_load(images, labels, keep, n_keep, want[i], set[i], err, err_len) ||
                take_first(set[i], want[i], i ? "n_test" : "n_train", images, err, err_len) ||
                (i == 0 && every_class_kept(set[i], images, err, err_len)))
                return 1;
        }
    }
    if (cfg->standardize)
        bl_dataset_standardize(&out->train, out->test.n > 0 ? &out->test : NULL);
    return 0;
}

int bl_data_resolve_sizes(struct bl_data_cfg *cfg, char *err, size_t err_len)
{
    if (cfg->kind != BL_DATA_NETCDF || (cfg->n_train_given && cfg->n_test_given))
        return 0;
    struct bl_dataset train, test;
    if (bl_netcdf_data_load(cfg->path, &train, &test, NULL, 0, err, err_len))
        return 1;
    if (!cfg->n_train_given)
        cfg->n_train = train.n;
    if (!cfg->n_test_given)
        cfg->n_test = test.n;
    bl_dataset_release(&train);
    bl_dataset_release(&test);
    return 0;
}

int bl_data_shape(struct bl_data_cfg *cfg, char *note, size_t note_len, char *err,
                  size_t err_len)
{
    if (note && note_len)
        note[0] = '\0';
    if (cfg->kind != BL_DATA_FASHION_MNIST && cfg->kind != BL_DATA_NETCDF)
        return 0;
    struct bl_data d;
    memset(&d, 0, sizeof d);
    int rc = load_file_data(cfg, &d, note, note_len, err, err_len);
    if (rc == 0) {
        cfg->dim = d.train.dim;
        if (d.train.targets == 0) /* regression leaves data.classes unused */
            cfg->classes = d.train.classes;
        cfg->targets = d.train.targets;
    }
    bl_data_free(&d);
    return rc;
}

int bl_data_make(const struct bl_data_cfg *cfg, uint64_t seed, struct bl_data *out,
                 char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    if (cfg->kind == BL_DATA_FASHION_MNIST || cfg->kind == BL_DATA_NETCDF) {
        /* real data are the same for every seed; the seed still varies the
         * initialization and the batches */
        if (load_file_data(cfg, out, NULL, 0, err, err_len)) {
            bl_data_free(out);
            return 1;
        }
        return 0;
    }
    if (cfg->kind == BL_DATA_MATRIX_COMPLETION) {
        if (cfg->n_train + cfg->n_test != cfg->size * cfg->size) {
            snprintf(err, err_len, "data.kind = matrix_completion needs n_train + n_test = "
                     "size^2 = %d (got %d + %d)", cfg->size * cfg->size, cfg->n_train,
                     cfg->n_test);
            return 1;
        }
        make_matrix_completion(cfg, seed, out);
        return 0;
    }
    if (cfg->kind == BL_DATA_MODULAR_ADD) {
        /* the config derived n_train, n_test and classes from p (config.c) */
        long pairs = (long)cfg->modulus * cfg->modulus;
        if (cfg->n_train < 1 || (long)cfg->n_train + cfg->n_test != pairs ||
            cfg->classes != cfg->modulus) {
            snprintf(err, err_len,
                     "data.kind = modular_add needs n_train + n_test = p^2 = %ld and classes = "
                     "p = %d (got %d + %d, %d classes)",
                     pairs, cfg->modulus, cfg->n_train, cfg->n_test, cfg->classes);
            return 1;
        }
        pair_dataset_alloc(&out->train, cfg->n_train, cfg->modulus);
        pair_dataset_alloc(&out->test, cfg->n_test, cfg->modulus);
        struct bl_rng rng;
        bl_rng_init(&rng, seed, BL_STREAM_DATA_TRAIN, 0);
        make_modular_add(&out->train, &out->test, cfg->modulus, &rng);
        return 0;
    }
    int dim = cfg->dim;
    dataset_alloc(&out->train, cfg->n_train, dim, cfg->classes);
    dataset_alloc(&out->test, cfg->n_test, dim, cfg->classes);
    struct bl_rng truth_rng, train_rng, test_rng;
    bl_rng_init(&truth_rng, seed, BL_STREAM_DATA_TRUTH, 0);
    bl_rng_init(&train_rng, seed, BL_STREAM_DATA_TRAIN, 0);
    bl_rng_init(&test_rng, seed, BL_STREAM_DATA_TEST, 0);
    switch (cfg->kind) {
    case BL_DATA_SEPARABLE:
    case BL_DATA_SYMMETRIC: {
        int mirrored = cfg->kind == BL_DATA_SYMMETRIC;
        if (mirrored && (cfg->n_train % 2 || cfg->n_test % 2)) {
            snprintf(err, err_len, "data.kind = symmetric needs even n_train and n_test");
            bl_data_free(out);
            return 1;
        }
        out->truth = bl_malloc(sizeof(double) * dim);
        random_unit(out->truth, dim, &truth_rng);
        make_separable(&out->train, out->truth, cfg->margin, mirrored, &train_rng);
        make_separable(&out->test, out->truth, cfg->margin, mirrored, &test_rng);
        break;
    }
    case BL_DATA_SPARSE_SIGN:
        if (cfg->sparsity < 1 || cfg->sparsity % 2 == 0 || cfg->sparsity > dim) {
            snprintf(err, err_len, "data.kind = sparse_sign needs an odd data.sparsity in 1 .. "
                     "data.dim = %d (got %d)", dim, cfg->sparsity);
            bl_data_free(out);
            return 1;
        }
        out->truth = bl_malloc(sizeof(double) * dim);
        make_sparse_truth(out->truth, dim, cfg->sparsity, &truth_rng);
        make_sparse_sign(&out->train, out->truth, &train_rng);
        make_sparse_sign(&out->test, out->truth, &test_rng);
        break;
    case BL_DATA_MISGROK:
        /* z ~ N(0, I), y = sign <z, w*>, x = z + y (gamma / 2) w*: exactly the
         * separable construction with margin gamma / 2 (SCIENCE.md 3) */
        out->truth = bl_malloc(sizeof(double) * dim);
        random_unit(out->truth, dim, &truth_rng);
        make_separable(&out->train, out->truth, cfg->gamma / 2, 0, &train_rng);
        make_separable(&out->test, out->truth, cfg->gamma / 2, 0, &test_rng);
        break;
    case BL_DATA_ASYMMETRIC: {
        out->truth = bl_malloc(sizeof(double) * dim);
        double *v = bl_malloc(sizeof(double) * dim);
        random_unit(out->truth, dim, &truth_rng);
        /* v: a second random direction with its w* part removed */
        do {
            random_unit(v, dim, &truth_rng);
            double along = dot(v, out->truth, dim);
            for (int j = 0; j < dim; j++)
                v[j] -= along * out->truth[j];
        } while (dot(v, v, dim) < 1e-6);
        double norm = sqrt(dot(v, v, dim));
        for (int j = 0; j < dim; j++)
            v[j] /= norm;
        make_asymmetric(&out->train, out->truth, v, cfg, &train_rng);
        make_asymmetric(&out->test, out->truth, v, cfg, &test_rng);
        free(v);
        break;
    }
    case BL_DATA_CLUSTERS: {
        double *centres = bl_malloc(sizeof(double) * (size_t)cfg->classes * dim);
        for (long j = 0; j < (long)cfg->classes * dim; j++)
            centres[j] = cfg->cluster_spread * bl_rng_normal(&truth_rng);
        make_clusters(&out->train, centres, cfg->cluster_std, &train_rng);
        make_clusters(&out->test, centres, cfg->cluster_std, &test_rng);
        free(centres);
        break;
    }
    case BL_DATA_FASHION_MNIST:
    case BL_DATA_NETCDF: /* loaded above */
    case BL_DATA_MATRIX_COMPLETION:
    case BL_DATA_MODULAR_ADD:
    case BL_DATA_COUNT: break;
    }
    return 0;
}

void bl_data_free(struct bl_data *d)
{
    bl_dataset_release(&d->train);
    bl_dataset_release(&d->test);
    free(d->truth);
    memset(d, 0, sizeof *d);
}

void bl_batcher_init(struct bl_batcher *b, int n, int batch_size, int with_replacement,
                     uint64_t seed)
{
    b->n = n;
    b->batch_size = batch_size;
    b->with_replacement = with_replacement;
    b->stream = BL_STREAM_BATCH_IID;
    b->steps_per_epoch = n / batch_size;
    b->epoch = -1;
    b->seed = seed;
    b->perm = bl_malloc(sizeof(int) * (size_t)n);
}

const int *bl_batcher_batch(struct bl_batcher *b, long step)
{
    if (b->with_replacement) {
        if (step != b->epoch) {
            struct bl_rng rng;
            bl_rng_init(&rng, b->seed, (enum bl_stream)b->stream, (uint32_t)step);
            /* steps past 2^32 keep distinct streams: the high bits go into the
             * stream word above the stream ids (all < 256) */
            rng.counter[2] |= (uint32_t)((uint64_t)step >> 32) << 8;
            for (int i = 0; i < b->batch_size; i++)
                b->perm[i] = (int)bl_rng_below(&rng, (uint64_t)b->n);
            b->epoch = step;
        }
        return b->perm;
    }
    long epoch = step / b->steps_per_epoch;
    if (epoch != b->epoch) {
        /* Fisher-Yates from the identity, so the permutation depends on the
         * epoch alone and not on which epochs this process saw before. */
        struct bl_rng rng;
        bl_rng_init(&rng, b->seed, BL_STREAM_BATCH, (uint32_t)epoch);
        for (int i = 0; i < b->n; i++)
            b->perm[i] = i;
        for (int i = b->n - 1; i > 0; i--) {
            int j = (int)bl_rng_below(&rng, (uint64_t)i + 1);
            int t = b->perm[i];
            b->perm[i] = b->perm[j];
            b->perm[j] = t;
        }
        b->epoch = epoch;
    }
    return b->perm + (step % b->steps_per_epoch) * b->batch_size;
}

void bl_batcher_free(struct bl_batcher *b)
{
    free(b->perm);
    b->perm = NULL;
}

struct bl_batch bl_dataset_rows(const struct bl_dataset *set, long lo, int n)
{
    struct bl_batch b = {n, set->dim, set->arity, set->targets, NULL, NULL, NULL, NULL};
    if (set->x)
        b.x = set->x + lo * set->dim;
    if (set->index)
        b.index = set->index + lo * set->arity;
    if (set->label)
        b.label = set->label + lo;
    if (set->target)
        b.target = set->target + lo * set->targets;
    return b;
}

void bl_batch_buffer_alloc(struct bl_batch_buffer *buf, const struct bl_dataset *like, int max_n)
{
    memset(buf, 0, sizeof *buf);
    buf->max_n = max_n;
    size_t n = (size_t)max_n;
    if (like->x)
        buf->x = bl_malloc(sizeof(double) * n * (size_t)like->dim + 1);
    if (like->index)
        buf->index = bl_malloc(sizeof(int) * n * (size_t)like->arity + 1);
    if (like->label)
        buf->label = bl_malloc(sizeof(int) * n + 1);
    if (like->target)
        buf->target = bl_malloc(sizeof(double) * n * (size_t)like->targets + 1);
}

void bl_batch_buffer_free(struct bl_batch_buffer *buf)
{
    free(buf->x);
    free(buf->index);
    free(buf->label);
    free(buf->target);
    memset(buf, 0, sizeof *buf);
}

struct bl_batch bl_data_gather(const struct bl_dataset *src, const int *idx, int count,
                               struct bl_batch_buffer *buf)
{
    struct bl_batch b = {count, src->dim, src->arity, src->targets, NULL, NULL, NULL, NULL};
    for (int i = 0; i < count; i++) {
        long r = idx[i];
        if (src->x)
            memcpy(buf->x + (long)i * src->dim, src->x + r * src->dim, sizeof(double) * src->dim);
        if (src->index)
            memcpy(buf->index + (long)i * src->arity, src->index + r * src->arity,
                   sizeof(int) * src->arity);
        if (src->label)
            buf->label[i] = src->label[r];
        if (src->target)
            memcpy(buf->target + (long)i * src->targets, src->target + r * src->targets,
                   sizeof(double) * src->targets);
    }
    b.x = src->x ? buf->x : NULL;
    b.index = src->index ? buf->index : NULL;
    b.label = src->label ? buf->label : NULL;
    b.target = src->target ? buf->target : NULL;
    return b;
}
