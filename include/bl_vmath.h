/* exp, log and log1p of arrays, for the losses: our own fixed formulas
 * (range reduction and a polynomial, nothing but IEEE additions,
 * multiplications, one division and bit operations), so every result has
 * the same bits on any CPU and at any vector width, and an array costs a
 * third of libm's calls (exp over 128 values 0.3 against 0.9 us on
 * AVX-512). Within 1 ulp of glibc's results, so within 2 of the exact
 * value (tests/unit/test_vmath.c measures it on a million points of each
 * range, subnormal results included); C's values at 0, 1, -1, the
 * infinities and NaN.
 * The scalar forms give bitwise what the array forms give. In place is
 * allowed (y == x). */
#ifndef BL_VMATH_H
#define BL_VMATH_H

/* y (n) = exp(x) */
void bl_vexp(int n, const double *x, double *y);
/* y (n) = log(x) */
void bl_vlog(int n, const double *x, double *y);
/* y (n) = log(1 + x) */
void bl_vlog1p(int n, const double *x, double *y);

/* sum over i = 0, 1, ..., n-1 but skip (-1: none) of exp(x[i] - shift), added
 * in that order (a log-sum-exp's sum, shift its largest term) */
double bl_sum_exp(int n, const double *x, double shift, int skip);

double bl_exp(double x);
double bl_log(double x);
double bl_log1p(double x);

#endif
