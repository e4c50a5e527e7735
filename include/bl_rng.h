/* Counter-based random numbers (Philox4x32-10, Salmon et al. SC'11).
 * A stream is keyed by (seed, purpose, index) and never by MPI rank, so a
 * task's numbers do not depend on where it runs or what ran before. */
#ifndef BL_RNG_H
#define BL_RNG_H

#include <stdint.h>

/* What a stream is for: part of the key, so streams never overlap. */
enum bl_stream {
    BL_STREAM_DATA_TRUTH = 1, /* w*, cluster centres */
    BL_STREAM_DATA_TRAIN = 2,
    BL_STREAM_DATA_TEST = 3,
    BL_STREAM_INIT = 4,       /* model initialization */
    BL_STREAM_BATCH = 5,      /* mini-batch sampling, sub-index = epoch */
    BL_STREAM_BOOTSTRAP = 6,  /* statistics across seeds */
    BL_STREAM_SPECTRUM = 7,   /* Lanczos / power start vectors, sub-index = record */
    BL_STREAM_BATCH_IID = 12, /* batches with replacement, sub-index = step (low 32 bits) */
    BL_STREAM_GRAD_NOISE = 13, /* noisy_quadratic's gradient noise, sub-index = step (low 32) */
    BL_STREAM_SVAG_BATCH = 14, /* SVAG's second batch, sub-index = step (low 32 bits) */
    BL_STREAM_NOISE_BATCH = 15, /* measure.noise = batches: its draws, sub-index = record */
    BL_STREAM_TEST_ONLY = 99  /* unit tests */
};

struct bl_rng {
    uint32_t key[2];     /* from the seed */
    uint32_t counter[4]; /* (block lo, block hi, stream, sub-index) */
    uint32_t out[4];     /* the current block's outputs */
    int used;            /* outputs of out[] already handed out */
    int have_spare_normal;
    double spare_normal;
};

/* One Philox4x32-10 block: out = Philox(counter, key). */
void bl_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);

/* Start the stream (seed, stream, sub) at its first number. */
void bl_rng_init(struct bl_rng *rng, uint64_t seed, enum bl_stream stream, uint32_t sub);

uint32_t bl_rng_u32(struct bl_rng *rng);
uint64_t bl_rng_u64(struct bl_rng *rng);
/* Uniform on the open interval (0, 1), 53 random bits. */
double bl_rng_uniform(struct bl_rng *rng);
/* Standard normal (Box-Muller, both values used). */
double bl_rng_normal(struct bl_rng *rng);
/* Uniform integer in [0, n), without modulo bias. */
uint64_t bl_rng_below(struct bl_rng *rng, uint64_t n);

#endif
