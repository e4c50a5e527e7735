/* bl_vmath.h: exp, log and log1p, 8 lanes at a time.
 *
 * Why not libm: glibc's scalar exp, log and log1p were a fifth of the tiny
 * net's step (five calls per example), and its vector variants (libmvec)
 * give different bits at different vector widths. These formulas use only
 * operations IEEE 754 rounds exactly (+ - * /, with -ffp-contract=off so no
 * compiler fuses them) and integer operations on the bits, lane by lane, so
 * the AVX-512, AVX2 and SSE2 builds and the scalar forms agree bitwise.
 *
 * exp: x = k ln2 + r with k the nearest integer to x/ln2 and |r| <= ln2/2
 * (ln2 in two parts, the first with 21 trailing zero bits so that k ln2_hi
 * is exact); e^r by its Taylor series to degree 13 (the next term is below
 * 5e-18 of the sum); times 2^k in two halves, so that subnormal results
 * round once and nothing overflows before it should.
 *
 * log: x = 2^e (1 + g) with 1 + g in [sqrt(1/2), sqrt(2)) (subnormal x
 * scaled up first); log(1 + g) = 2 atanh(s) for s = g / (2 + g), written as
 * g - (g^2/2 - s (g^2/2 + R(s^2))) so that the exact g carries the result
 * and the rounding of s only touches the small correction; R is the atanh
 * series 2z/3 + 2z^2/5 + ... to z^10 (z <= 0.0295: the next term is below
 * 1e-18 of the sum).
 *
 * log1p: w = 1 + u rounded, c = (1 + u) - w exactly (Fast2Sum), and
 * log1p(u) = log(w) + c / w; for |u| below half an ulp of 1 this is u. */
#include <string.h>

#include "bl_vmath.h"

#define LANES 8
typedef double vec8 __attribute__((vector_size(LANES * sizeof(double))));
typedef long veci8 __attribute__((vector_size(LANES * sizeof(long))));

#define LOAD8(v, p) memcpy(&(v), (p), sizeof(vec8))

#define INV_LN2 0x1.71547652b82fep+0
#define LN2_HI 0x1.62e42fee00000p-1
#define LN2_LO 0x1.a39ef35793c76p-33
/* 1.5 * 2^52: adding it rounds to an integer held in the low bits */
#define SHIFT 0x1.8p52
#define SHIFT_BITS 0x4338000000000000L
#define SQRT_HALF_BITS 0x3fe6a09e667f3bcdL
#define EXPONENT_ONE 1023L
#define ABS_MASK 0x7fffffffffffffffL

/* Helpers as macros: GCC warns about passing a vec8 by value between
 * functions (its ABI differs by vector width), even when always inlined. */
/* lanes of a where mask is set (all ones), else of b */
#define SELECT8(mask, a, b) ((vec8)(((veci8)(a) & (mask)) | ((veci8)(b) & ~(mask))))
#define SPLAT(v) ((vec8){(v), (v), (v), (v), (v), (v), (v), (v)})
#define FABS8(x) ((vec8)((veci8)(x) & ABS_MASK))
/* 2^k for integers k in [-1022, 1023] */
#define POWER_OF_TWO(k) ((vec8)(((k) + EXPONENT_ONE) << 52))

static inline __attribute__((always_inline)) void exp8(vec8 *v)
{
    vec8 x = *v;
    /* beyond these, e^x is inf or rounds to 0; NaN compares false and stays */
    x = SELECT8(x > 710.0, SPLAT(710.0), x);
    x = SELECT8(x < -746.0, SPLAT(-746.0), x);
    vec8 t = x * INV_LN2 + SHIFT;
    vec8 kd = t - SHIFT;
    veci8 k = (veci8)t - SHIFT_BITS;
    vec8 r = (x - kd * LN2_HI) - kd * LN2_LO;
    vec8 p = SPLAT(0x1.6124613a86d09p-33); /* 1/13! */
    p = p * r + 0x1.1eed8eff8d898p-29;
    p = p * r + 0x1.ae64567f544e4p-26;
    p = p * r + 0x1.27e4fb7789f5cp-22;
    p = p * r + 0x1.71de3a556c734p-19;
    p = p * r + 0x1.a01a01a01a01ap-16;
    p = p * r + 0x1.a01a01a01a01ap-13;
    p = p * r + 0x1.6c16c16c16c17p-10;
    p = p * r + 0x1.1111111111111p-7;
    p = p * r + 0x1.5555555555555p-5;
    p = p * r + 0x1.5555555555555p-3;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    /* k in [-1077, 1025]: both halves are normal powers of two */
    veci8 half = k >> 1;
    *v = p * POWER_OF_TWO(half) * POWER_OF_TWO(k - half);
}

static inline __attribute__((always_inline)) void log8(vec8 *v)
{
    vec8 x = *v;
    veci8 subnormal = x < 0x1p-1022;
    vec8 scaled = SELECT8(subnormal, x * 0x1p54, x);
    vec8 e_offset = SELECT8(subnormal, SPLAT(-54.0), SPLAT(0.0));
    veci8 bits = (veci8)scaled;
    veci8 e = (bits - SQRT_HALF_BITS) >> 52;
    vec8 f = (vec8)(bits - (e << 52)); /* in [sqrt(1/2), sqrt(2)) */
    vec8 ed = ((vec8)(e + SHIFT_BITS) - SHIFT) + e_offset;
    vec8 g = f - 1.0; /* exact */
    vec8 s = g / (2.0 + g);
    vec8 z = s * s;
    vec8 R = SPLAT(0x1.8618618618618p-4); /* 2/21 */
    R = R * z + 0x1.af286bca1af28p-4;
    R = R * z + 0x1.e1e1e1e1e1e1ep-4;
    R = R * z + 0x1.1111111111111p-3;
    R = R * z + 0x1.3b13b13b13b14p-3;
    R = R * z + 0x1.745d1745d1746p-3;
    R = R * z + 0x1.c71c71c71c71cp-3;
    R = R * z + 0x1.2492492492492p-2;
    R = R * z + 0x1.999999999999ap-2;
    R = R * z + 0x1.5555555555555p-1;
    R = R * z;
    vec8 hfsq = 0.5 * g * g;
    vec8 y = ed * LN2_HI - ((hfsq - (s * (hfsq + R) + ed * LN2_LO)) - g);
    y = SELECT8(x == __builtin_inf(), x, y);
    y = SELECT8(x == 0.0, SPLAT(-__builtin_inf()), y);
    y = SELECT8(x < 0.0, SPLAT(__builtin_nan("")), y);
    *v = SELECT8(x != x, x, y);
}

static inline __attribute__((always_inline)) void log1p8(vec8 *v)
{
    vec8 u = *v, w = 1.0 + u, log_w = w;
    vec8 c = SELECT8(FABS8(u) <= 1.0, u - (w - 1.0), 1.0 - (w - u));
    log8(&log_w);
    vec8 y = log_w + c / w;
    y = SELECT8(u == 0.0, u, y); /* keeps the sign of -0 */
    y = SELECT8(u == -1.0, SPLAT(-__builtin_inf()), y);
    y = SELECT8(u == __builtin_inf(), u, y);
    *v = SELECT8(u < -1.0, SPLAT(__builtin_nan("")), y);
}

/* y (n) = fn(x) in vectors of 8, the last n % 8 through a padded copy */
#define APPLY(fn, n, x, y)                                                                        \
    do {                                                                                          \
        int i_ = 0;                                                                               \
        for (; i_ + LANES <= (n); i_ += LANES) {                                                  \
            vec8 v_;                                                                              \
            LOAD8(v_, (x) + i_);                                                                  \
            fn(&v_);                                                                              \
            memcpy((y) + i_, &v_, sizeof v_);                                                     \
        }                                                                                         \
        if (i_ < (n)) {                                                                           \
            double pad_[LANES] = {0};                                                             \
            memcpy(pad_, (x) + i_, sizeof(double) * ((n) - i_));                                  \
            vec8 v_;                                                                              \
            LOAD8(v_, pad_);                                                                      \
            fn(&v_);                                                                              \
            memcpy(pad_, &v_, sizeof v_);                                                         \
            memcpy((y) + i_, pad_, sizeof(double) * ((n) - i_));                                  \
        }                                                                                         \
    } while (0)

/* Each array function at three instruction sets, chosen at run time (GCC
 * lowers the vec8 operations to 1 AVX-512, 2 AVX2 or 4 SSE2 registers; the
 * same operations lane by lane, so the same bits). Not target_clones:
 * clang 14 then leaves the plain name undefined for other files. */
#if defined(__x86_64__)
enum { LEVEL_GENERIC, LEVEL_AVX2, LEVEL_AVX512 };

static int cpu_level(void)
{
    static int level = -1; /* found once */
    if (level < 0)
        level = __builtin_cpu_supports("avx512f") ? LEVEL_AVX512
                : __builtin_cpu_supports("avx2")  ? LEVEL_AVX2
                                                  : LEVEL_GENERIC;
    return level;
}

#define AT_LEVELS(name, fn)                                                                       \
    __attribute__((target("avx512f"))) static void name##_avx512(int n, const double *x,         \
                                                                 double *y)                       \
    {                                                                                             \
        APPLY(fn, n, x, y);                                                                       \
    }                                                                                             \
    __attribute__((target("avx2"))) static void name##_avx2(int n, const double *x, double *y)    \
    {                                                                                             \
        APPLY(fn, n, x, y);                                                                       \
    }                                                                                             \
    static void name##_generic(int n, const double *x, double *y) { APPLY(fn, n, x, y); }         \
    void name(int n, const double *x, double *y)                                                  \
    {                                                                                             \
        switch (cpu_level()) {                                                                    \
        case LEVEL_AVX512: name##_avx512(n, x, y); return;                                        \
        case LEVEL_AVX2: name##_avx2(n, x, y); return;                                            \
        default: name##_generic(n, x, y); return;                                                 \
        }                                                                                         \
    }
#else
#define AT_LEVELS(name, fn)                                                                       \
    void name(int n, const double *x, double *y) { APPLY(fn, n, x, y); }
#endif

AT_LEVELS(bl_vexp, exp8)
AT_LEVELS(bl_vlog, log8)
AT_LEVELS(bl_vlog1p, log1p8)

#define SUM_CHUNK 64 /* values exponentiated per call, on the stack */
double bl_sum_exp(int n, const double *x, double shift, int skip)
{
    double sum = 0, shifted[SUM_CHUNK];
    for (int i0 = 0; i0 < n; i0 += SUM_CHUNK) {
        int len = n - i0 < SUM_CHUNK ? n - i0 : SUM_CHUNK;
        for (int j = 0; j < len; j++)
            shifted[j] = x[i0 + j] - shift;
        bl_vexp(len, shifted, shifted);
        for (int j = 0; j < len; j++)
            if (i0 + j != skip)
                sum += shifted[j];
    }
    return sum;
}

/* one lane's worth, through the array form: the same bits */
double bl_exp(double x)
{
    double y;
    bl_vexp(1, &x, &y);
    return y;
}

double bl_log(double x)
{
    double y;
    bl_vlog(1, &x, &y);
    return y;
}

double bl_log1p(double x)
{
    double y;
    bl_vlog1p(1, &x, &y);
    return y;
}
