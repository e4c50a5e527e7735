/* Training and test sets: synthetic generators that are deterministic
 * functions of (config, seed), and deterministic mini-batch sampling. */
#ifndef BL_DATA_H
#define BL_DATA_H

#include <stdint.h>

#include "bl_config.h"
#include "bl_rng.h"

struct bl_dataset {
    int n, dim, classes;
    double *x;  /* (n, dim) row-major */
    int *label; /* (n) class index in [0, classes) */
};

struct bl_data {
    struct bl_dataset train, test;
    double *truth; /* separable/symmetric: the unit normal w* (dim); else NULL */
};

/* Generate the data of cfg for seed. Returns 0, or non-zero with err set. */
int bl_data_make(const struct bl_data_cfg *cfg, uint64_t seed, struct bl_data *out,
                 char *err, size_t err_len);
void bl_data_free(struct bl_data *d);

/* Features and classes the data of cfg will have: cfg's own for synthetic
 * data, read from the files for fashion_mnist and netcdf (which are loaded
 * once to check them). Returns 0, or non-zero with err naming the problem. */
int bl_data_shape(const struct bl_data_cfg *cfg, int *dim, int *classes, char *err,
                  size_t err_len);

/* Model outputs needed by a loss on this data: 1 for binary losses on two
 * classes, else one per class. */
int bl_data_outputs(const struct bl_data_cfg *data, enum bl_loss_kind loss);

/* Mini-batch sampling without replacement: each epoch is a permutation drawn
 * from the stream (seed, BL_STREAM_BATCH, epoch), so the batch of a step is a
 * function of (seed, step) alone. */
struct bl_batcher {
    int n, batch_size;
    long steps_per_epoch;   /* floor(n / batch_size); the tail is dropped */
    long epoch;             /* whose permutation is in perm, -1 before any */
    uint64_t seed;
    int *perm;              /* (n) */
};

void bl_batcher_init(struct bl_batcher *b, int n, int batch_size, uint64_t seed);
/* The indices of step's batch: batch_size entries of b->perm. */
const int *bl_batcher_batch(struct bl_batcher *b, long step);
void bl_batcher_free(struct bl_batcher *b);

/* Gather rows idx[0..count-1] of src into x (count, dim) and label (count). */
void bl_data_gather(const struct bl_dataset *src, const int *idx, int count, double *x,
                    int *label);

#endif
