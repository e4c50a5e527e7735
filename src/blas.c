/* The BLAS in use. OpenBLAS's extensions are declared here, weak, with the
 * prototypes of OpenBLAS 0.3's cblas.h: the reference BLAS's cblas.h does not
 * declare them, and a BLAS that lacks them leaves the pointers NULL instead
 * of failing the link. */
#include <cblas.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "bl_blas.h"

extern void openblas_set_num_threads(int num_threads) __attribute__((weak));
extern char *openblas_get_corename(void) __attribute__((weak));
extern char *openblas_get_config(void) __attribute__((weak));
extern int openblas_get_num_threads(void) __attribute__((weak));

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

int bl_blas_threads(void)
{
    return bl_blas_is_openblas() && openblas_get_num_threads ? openblas_get_num_threads() : -1;
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

/* OpenBLAS's x86-64 cores from the oldest instruction set to the newest,
 * each with the family of dgemm kernels it runs: cores of one family run the
 * same double-precision kernels (Zen takes Haswell's; Cooperlake and
 * SapphireRapids add bf16 and fp16 kernels to SkylakeX's, not double ones),
 * so only a lower family is slower for biaslab. A core outside the list
 * (another architecture, a name this table does not know) is never called
 * worse than the CPU. */
static const struct {
    const char *name;
    int dgemm_family; /* 0 SSE2/SSE3, 1 SSE4, 2 AVX, 3 AVX2+FMA, 4 AVX-512 */
} x86_cores[] = {{"Prescott", 0},  {"Core2", 0},      {"Penryn", 0},     {"Dunnington", 0},
                 {"Nehalem", 1},   {"Sandybridge", 2}, {"Haswell", 3},   {"Zen", 3},
                 {"SkylakeX", 4},  {"Cooperlake", 4},  {"SapphireRapids", 4}};
enum { N_X86_CORES = sizeof x86_cores / sizeof x86_cores[0] };

static int dgemm_family(const char *name)
{
    for (int i = 0; i < N_X86_CORES; i++)
        if (!strcasecmp(name, x86_cores[i].name))
            return x86_cores[i].dgemm_family;
    return -1;
}

const char *bl_blas_dgemm_family(const char *core)
{
    static const char *const names[] = {"SSE3", "SSE4", "AVX", "AVX2+FMA", "AVX-512"};
    int family = dgemm_family(core);
    return family < 0 ? "unknown" : names[family];
}

const char *bl_blas_best_core(char *features, size_t size)
{
    features[0] = '\0';
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    int bf16 = avx512 && __builtin_cpu_supports("avx512bf16");
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (bf16) {
        snprintf(features, size, "avx512f avx512bw avx512dq avx512vl avx512bf16");
        return "Cooperlake";
    }
    if (avx512) {
        snprintf(features, size, "avx512f avx512bw avx512dq avx512vl");
        return "SkylakeX";
    }
    if (avx2) {
        snprintf(features, size, "avx2 fma");
        return "Haswell";
    }
    if (__builtin_cpu_supports("avx")) {
        snprintf(features, size, "avx");
        return "Sandybridge";
    }
    if (__builtin_cpu_supports("sse4.2")) {
        snprintf(features, size, "sse4.2");
        return "Nehalem";
    }
    snprintf(features, size, "sse3");
    return "Prescott";
#else
    snprintf(features, size, "(not an x86-64 CPU)");
    return "unknown";
#endif
}

int bl_blas_core_advice(char *out, size_t size)
{
    if (!bl_blas_is_openblas())
        return 0;
    char features[128];
    const char *best = bl_blas_best_core(features, sizeof features);
    const char *core = openblas_get_corename();
    int have = dgemm_family(core), want = dgemm_family(best);
    if (have < 0 || want < 0 || have >= want)
        return 0;
    snprintf(out, size,
             "warning: OpenBLAS runs its %s kernels, but this CPU has %s, which its %s "
             "dgemm kernels use (several times faster): set OPENBLAS_CORETYPE=%s, or "
             "BIASLAB_BLAS_CORE=auto for jobs/run_local.sh and jobs/*.sbatch",
             core, features, best, best);
    return 1;
}
