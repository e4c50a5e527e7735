/* Training and test sets: synthetic generators that are deterministic
 * functions of (config, seed), and deterministic mini-batch sampling. */
#ifndef BL_DATA_H
#define BL_DATA_H

#include <stdint.h>

#include "bl_config.h"
#include "bl_rng.h"

/* A set of examples. Inputs are dense rows (x) or integer index tuples
 * (index, e.g. the (i, j) of a matrix entry or the tokens (a, b) of a sum);
 * answers are class labels or real-valued targets (regression). */
struct bl_dataset {
    int n, dim, classes;
    int arity;          /* integers per example in index (0: dense rows in x) */
    int targets;        /* reals per example in target (0: class labels) */
    double *x;          /* (n, dim) row-major, or NULL */
    int *index;         /* (n, arity), or NULL */
    int *label;         /* (n) class index in [0, classes), or NULL */
    double *target;     /* (n, targets), or NULL */
};

/* The examples one forward/backward call sees: a view of consecutive rows of
 * a dataset, or rows gathered into a mini-batch buffer. The same fields as a
 * dataset; exactly one of x/index and one of label/target are set. */
struct bl_batch {
    int n;
    int dim, arity, targets;
    const double *x;      /* (n, dim) or NULL */
    const int *index;     /* (n, arity) or NULL */
    const int *label;     /* (n) or NULL */
    const double *target; /* (n, targets) or NULL */
};

/* Rows [lo, lo + n) of set as a batch (no copy). */
struct bl_batch bl_dataset_rows(const struct bl_dataset *set, long lo, int n);

struct bl_data {
    struct bl_dataset train, test;
    double *truth; /* separable/symmetric: the unit normal w* (dim); else NULL */
};

/* Generate the data of cfg for seed. Returns 0, or non-zero with err set. */
int bl_data_make(const struct bl_data_cfg *cfg, uint64_t seed, struct bl_data *out,
                 char *err, size_t err_len);
void bl_data_free(struct bl_data *d);

/* Set cfg's dim, classes and targets to what its data will have: cfg's
 * own for synthetic data, read from the files for fashion_mnist and netcdf
 * (which are loaded once to check them). note (may be NULL) receives what
 * the run should say once about the file (e.g. how its labels were read),
 * or "". Returns 0, or non-zero with err naming the problem. */
int bl_data_shape(struct bl_data_cfg *cfg, char *note, size_t note_len, char *err,
                  size_t err_len);

/* A NetCDF data file's own sizes: data.n_train and data.n_test become the
 * file's training and test rows unless the config gives them. Call once on
 * the run's config, before it is planned or printed. Returns 0, or non-zero
 * with err naming the problem. */
int bl_data_resolve_sizes(struct bl_data_cfg *cfg, char *err, size_t err_len);

/* Model outputs needed by a loss on this data: 1 for binary losses on two
 * classes, else one per class. */
int bl_data_outputs(const struct bl_data_cfg *data, enum bl_loss_kind loss);

/* Mini-batch sampling without replacement: each epoch is a permutation drawn
 * from the stream (seed, BL_STREAM_BATCH, epoch), so the batch of a step is a
 * function of (seed, step) alone. With replacement (optim.sampling): each
 * step's batch_size indices are i.i.d. uniform, drawn from the stream
 * (seed, BL_STREAM_BATCH_IID, step), again a function of (seed, step). */
struct bl_batcher {
    int n, batch_size;
    int with_replacement;
    int stream;             /* with replacement: enum bl_stream of the draws (SVAG's second
                             * batch has its own) */
    long steps_per_epoch;   /* floor(n / batch_size); the tail is dropped */
    long epoch;             /* whose permutation (or, with replacement, whose
                             * step's draws) is in perm, -1 before any */
    uint64_t seed;
    int *perm;              /* (n) */
};

void bl_batcher_init(struct bl_batcher *b, int n, int batch_size, int with_replacement,
                     uint64_t seed);
/* The indices of step's batch: batch_size entries of b->perm. */
const int *bl_batcher_batch(struct bl_batcher *b, long step);
void bl_batcher_free(struct bl_batcher *b);

/* Buffers for gathered mini-batches of at most max_n rows of sets shaped like
 * like (one allocation per field the set has). */
struct bl_batch_buffer {
    int max_n;
    double *x, *target;
    int *index, *label;
};
void bl_batch_buffer_alloc(struct bl_batch_buffer *buf, const struct bl_dataset *like, int max_n);
void bl_batch_buffer_free(struct bl_batch_buffer *buf);

/* A data file's path: a config path plus a file name. */
#define BL_FILE_MAX (BL_PATH_MAX + 64)

/* The files the data of cfg are read from (up to max, none for synthetic
 * data); returns their count. */
int bl_data_files(const struct bl_data_cfg *cfg, char (*paths)[BL_FILE_MAX], int max);
/* Fashion-MNIST's file in dir: the training or test (t10k) images or labels. */
void bl_fashion_file(const char *dir, int test, int labels, char *out, size_t len);
/* "<size> bytes, crc32 <hex>" of a file, or non-zero with err set. */
int bl_file_fingerprint(const char *path, char *out, size_t len, char *err, size_t err_len);

/* Gather rows idx[0..count-1] of src into buf; returns the batch over them. */
struct bl_batch bl_data_gather(const struct bl_dataset *src, const int *idx, int count,
                               struct bl_batch_buffer *buf);

#endif
