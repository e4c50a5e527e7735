/* The benchmark: three workloads of issue 2 through the real training loop,
 * and this machine's dgemm measured in the same run, so the printed ratio
 * says how close the step runs to the machine's peak. */
#include <cblas.h>
#include <stdio.h>
#include <string.h>

#include "bl_bench.h"
#include "bl_data.h"
#include "bl_log.h"
#include "bl_model.h"
#include "bl_train.h"

struct workload {
    const char *name;
    int n, dim, width, depth, classes, seeds;
    long steps;
};

/* GFLOP/s of C = A B for square n, best of reps. */
static double dgemm_gflops(int n, int reps)
{
    double *a = bl_malloc(sizeof(double) * (size_t)n * n);
    double *b = bl_malloc(sizeof(double) * (size_t)n * n);
    double *c = bl_malloc(sizeof(double) * (size_t)n * n);
    for (long i = 0; i < (long)n * n; i++) {
        a[i] = (double)(i % 7) - 3;
        b[i] = (double)(i % 5) - 2;
    }
    double best = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = bl_now();
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n, 0.0,
                    c, n);
        double rate = 2.0 * n * n * (double)n / (bl_now() - t0) / 1e9;
        if (rate > best)
            best = rate;
    }
    free(a);
    free(b);
    free(c);
    return best;
}

static void workload_config(const struct workload *w, struct bl_config *cfg)
{
    bl_config_defaults(cfg);
    cfg->data.kind = w->classes > 2 ? BL_DATA_CLUSTERS : BL_DATA_SEPARABLE;
    cfg->data.n_train = w->n;
    cfg->data.n_test = 0;
    cfg->data.dim = w->dim;
    cfg->data.classes = w->classes;
    cfg->model.kind = BL_MODEL_MLP;
    cfg->model.depth = w->depth;
    cfg->model.width = w->width;
    cfg->loss.kind = w->classes > 2 ? BL_LOSS_CROSS_ENTROPY : BL_LOSS_LOGISTIC;
    cfg->optim.kind = BL_OPT_GD;
    cfg->optim.lr = 0.01;
    cfg->optim.steps = w->steps;
    cfg->measure.every = w->steps; /* records at the first and last step only */
}

static void run_workload(const struct workload *w, double peak)
{
    struct bl_config cfg;
    workload_config(w, &cfg);
    struct bl_model m;
    bl_model_build(&m, &cfg.model, w->dim, bl_data_outputs(&cfg.data, cfg.loss.kind));
    double wall = 0, steps = 0;
    char err[256];
    for (int s = 0; s < w->seeds; s++) {
        struct bl_task_result res;
        if (bl_train_task(&cfg, (uint64_t)s, NULL, NULL, NULL, &res, err, sizeof err))
            bl_fatal(BL_EXIT_RUNTIME, "bench %s: %s", w->name, err);
        wall += res.wall_seconds;
        steps += (double)res.steps_done;
        bl_task_result_free(&res);
    }
    double gflops = bl_model_step_flops(&m, w->n) * steps / wall / 1e9;
    printf("%-15s %9ld %12.1f %12.2f %12.1f %10.3f\n", w->name, m.n_params, steps / wall,
           gflops, 1e6 * wall / steps, gflops / peak);
}

int bl_bench(int quick)
{
    int threads = openblas_get_num_threads();
    printf("biaslab bench: OpenBLAS core %s, %d thread%s (%s)\n", openblas_get_corename(),
           threads, threads == 1 ? "" : "s", openblas_get_config());
    double peak = dgemm_gflops(quick ? 512 : 2048, quick ? 2 : 5);
    printf("dgemm %dx%d: %.2f GFLOP/s (the reference for the ratios below)\n\n",
           quick ? 512 : 2048, quick ? 512 : 2048, peak);
    const struct workload loads[] = {
        {"wide_mlp", 4096, 256, 2048, 2, 10, 1, quick ? 2 : 10},
        {"tiny_ensemble", 128, 20, 32, 2, 2, quick ? 2 : 16, quick ? 200 : 2000},
        {"deep_mlp", 1024, 64, 256, 4, 10, 1, quick ? 5 : 100},
    };
    printf("%-15s %9s %12s %12s %12s %10s\n", "workload", "params", "steps/s", "GFLOP/s",
           "us/step", "vs dgemm");
    for (size_t i = 0; i < sizeof loads / sizeof loads[0]; i++)
        run_workload(&loads[i], peak);
    printf("\nGFLOP/s counts 6 n P flops per step (forward 2nP, backward 4nP less the\n"
           "first layer's input gradient); steps/s includes loss, metrics and update.\n");
    return BL_EXIT_OK;
}
