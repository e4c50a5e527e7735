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

/* The BLAS's thread count, or -1 when the linked BLAS does not say. */
int bl_blas_threads(void);

/* OpenBLAS's kernel core ("Cooperlake", "Prescott", ...) or "unknown". */
const char *bl_blas_core(void);

/* One line naming the BLAS: the shared library cblas_dgemm came from and,
 * for OpenBLAS, its build config and core. */
void bl_blas_describe(char *out, size_t size);

/* The OpenBLAS core that matches this CPU's instruction set (OpenBLAS
 * 0.3.21's names: Cooperlake, SkylakeX, Haswell, Sandybridge, Nehalem,
 * Prescott) and the CPU features that decide it, e.g. "avx512f avx512bw
 * avx512dq avx512vl avx512bf16". */
const char *bl_blas_best_core(char *features, size_t size);

/* The instruction set of the dgemm kernels OpenBLAS's core `core` runs
 * ("SSE3", "SSE4", "AVX", "AVX2+FMA", "AVX-512"), "unknown" for a name
 * outside x86-64's table: cores of one family compute dgemm alike. */
const char *bl_blas_dgemm_family(const char *core);

/* When OpenBLAS runs dgemm kernels of a lower family than this CPU supports
 * (it falls back to Prescott on CPUs it does not recognise; SkylakeX on a
 * Cooperlake CPU is no loss for doubles), a one-line warning naming the
 * core, the features and the setting that selects the right kernels;
 * returns 1 and fills out, else returns 0. The choice stays the user's:
 * biaslab never changes the kernels by itself. */
int bl_blas_core_advice(char *out, size_t size);

#endif
