/* Philox4x32-10 counter-based generator (Salmon, Moraes, Dror, Shaw, SC'11)
 * and the draws built on it. Every output is a pure function of
 * (key, counter), so a stream can be restarted anywhere without state. */
#include "bl_rng.h"

#include <math.h>

#include "bl_log.h"

/* Multipliers and Weyl key increments from the paper (Random123 defaults). */
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u
#define PHILOX_ROUNDS 10

/* One round on ctr[4] with round key key[2]. */
static void philox_round(uint32_t ctr[4], const uint32_t key[2])
{
    uint64_t p0 = (uint64_t)PHILOX_M0 * ctr[0];
    uint64_t p1 = (uint64_t)PHILOX_M1 * ctr[2];
    uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    uint32_t c1 = ctr[1], c3 = ctr[3];
    ctr[0] = hi1 ^ c1 ^ key[0];
    ctr[1] = lo1;
    ctr[2] = hi0 ^ c3 ^ key[1];
    ctr[3] = lo0;
}

void bl_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t ctr[4] = {counter[0], counter[1], counter[2], counter[3]};
    uint32_t k[2] = {key[0], key[1]};
    for (int r = 0; r < PHILOX_ROUNDS; r++) {
        /* The key schedule bumps the key between rounds, not before the first. */
        if (r > 0) {
            k[0] += PHILOX_W0;
            k[1] += PHILOX_W1;
        }
        philox_round(ctr, k);
    }
    for (int i = 0; i < 4; i++)
        out[i] = ctr[i];
}

void bl_rng_init(struct bl_rng *rng, uint64_t seed, enum bl_stream stream, uint32_t sub)
{
    rng->key[0] = (uint32_t)seed;
    rng->key[1] = (uint32_t)(seed >> 32);
    rng->counter[0] = 0;
    rng->counter[1] = 0;
    rng->counter[2] = (uint32_t)stream;
    rng->counter[3] = sub;
    /* No block computed yet: the first draw computes block 0. */
    rng->used = 4;
    rng->have_spare_normal = 0;
    rng->spare_normal = 0.0;
}

uint32_t bl_rng_u32(struct bl_rng *rng)
{
    if (rng->used >= 4) {
        bl_philox4x32_10(rng->counter, rng->key, rng->out);
        /* counter[0..1] is the 64-bit block index, low word first. */
        rng->counter[0]++;
        if (rng->counter[0] == 0)
            rng->counter[1]++;
        rng->used = 0;
    }
    return rng->out[rng->used++];
}

uint64_t bl_rng_u64(struct bl_rng *rng)
{
    /* Two statements fix the order: the first u32 drawn is the high half. */
    uint64_t hi = bl_rng_u32(rng);
    uint64_t lo = bl_rng_u32(rng);
    return (hi << 32) | lo;
}

double bl_rng_uniform(struct bl_rng *rng)
{
    /* (k + 0.5) * 2^-53 with k the top 53 bits: the midpoints of 2^53 equal
     * cells, so never 0 or 1 in exact arithmetic. In doubles k + 0.5 is a
     * tie for k >= 2^52 and rounds to even, and for the last k that gives
     * exactly 1.0; that single case is mapped to the largest double below 1
     * so the interval really is open (log(u) and log(1-u) stay finite). */
    uint64_t k = bl_rng_u64(rng) >> 11;
    double u = ((double)k + 0.5) * 0x1.0p-53;
    if (u >= 1.0)
        u = 1.0 - 0x1.0p-53;
    return u;
}

double bl_rng_normal(struct bl_rng *rng)
{
    if (rng->have_spare_normal) {
        rng->have_spare_normal = 0;
        return rng->spare_normal;
    }
    /* Box-Muller: u1 in (0,1) keeps log(u1) finite. */
    const double two_pi = 6.283185307179586476925286766559;
    double u1 = bl_rng_uniform(rng);
    double u2 = bl_rng_uniform(rng);
    double r = sqrt(-2.0 * log(u1));
    double theta = two_pi * u2;
    rng->spare_normal = r * sin(theta);
    rng->have_spare_normal = 1;
    return r * cos(theta);
}

uint64_t bl_rng_below(struct bl_rng *rng, uint64_t n)
{
    if (n == 0)
        bl_fatal_at(__FILE__, __LINE__, "bl_rng_below called with an empty range");
    /* Rejection: accept r only in [t, 2^64) where t = 2^64 mod n, a range
     * whose length is a multiple of n, so r % n is exactly uniform. In
     * unsigned arithmetic -n is 2^64 - n, which is congruent to 2^64 mod n.
     * Each try uses one u64 (two u32), also for small n. */
    uint64_t t = (0 - n) % n;
    for (;;) {
        uint64_t r = bl_rng_u64(rng);
        if (r >= t)
            return r % n;
    }
}
