/* Which BLAS the binary runs on, and its thread count. OpenBLAS's own
 * extensions (thread count, core name, build config) are used when the
 * linked BLAS is OpenBLAS; any other CBLAS (a cluster's MKL through
 * BLAS_LIBS, the reference BLAS) still links and runs. */
#ifndef BL_BLAS_H
#define BL_BLAS_H

#include <stddef.h>

/* 1 when the linked BLAS is OpenBLAS (its extensions resolve). */
int bl_blas_is_openblas(void);

/* Set the BLAS's thread count; returns 0, or -1 when the linked BLAS offers
 * no call for it (its own environment variable then decides). */
int bl_blas_set_threads(int threads);

/* OpenBLAS's kernel core ("Cooperlake", "Prescott", ...) or "unknown". */
const char *bl_blas_core(void);

/* One line naming the BLAS: the shared library cblas_dgemm came from and,
 * for OpenBLAS, its build config and core. */
void bl_blas_describe(char *out, size_t size);

#endif
