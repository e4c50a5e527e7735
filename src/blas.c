/* The BLAS in use. OpenBLAS's extensions are declared here, weak, with the
 * prototypes of OpenBLAS 0.3's cblas.h: the reference BLAS's cblas.h does not
 * declare them, and a BLAS that lacks them leaves the pointers NULL instead
 * of failing the link. */
#include <cblas.h>
#include <dlfcn.h>
#include <stdio.h>

#include "bl_blas.h"

extern void openblas_set_num_threads(int num_threads) __attribute__((weak));
extern char *openblas_get_corename(void) __attribute__((weak));
extern char *openblas_get_config(void) __attribute__((weak));

int bl_blas_is_openblas(void)
{
    return openblas_set_num_threads && openblas_get_corename && openblas_get_config;
}

int bl_blas_set_threads(int threads)
{
    if (!bl_blas_is_openblas())
        return -1;
    openblas_set_num_threads(threads);
    return 0;
}

const char *bl_blas_core(void)
{
    return bl_blas_is_openblas() ? openblas_get_corename() : "unknown";
}

void bl_blas_describe(char *out, size_t size)
{
    Dl_info info;
    const char *lib = dladdr((void *)cblas_dgemm, &info) && info.dli_fname ? info.dli_fname
                                                                          : "(unknown library)";
    if (bl_blas_is_openblas())
        snprintf(out, size, "OpenBLAS, core %s (%s), from %s", openblas_get_corename(),
                 openblas_get_config(), lib);
    else
        snprintf(out, size, "a BLAS other than OpenBLAS, from %s (threads set by its own "
                 "environment variable)", lib);
}
