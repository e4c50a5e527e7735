/* The benchmark: three workloads of issue 2 through the real training loop,
 * and this machine's dgemm measured in the same run, so the printed ratio
 * says how close the step runs to the machine's peak. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/wait.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bl_bench.h"
#include "bl_blas.h"
#include "bl_data.h"
#include "bl_gemm.h"
#include "bl_log.h"
#include "bl_metrics.h"
#include "bl_model.h"
#include "bl_rng.h"
#include "bl_spectrum.h"
#include "bl_task.h"
#include "bl_train.h"

struct workload {
    const char *name;
    int n, dim, width, depth, classes, seeds;
    long steps;
    /* mlp: on clusters or separable data; the grokking workloads (issue 13):
     * diag_linear on sparse_sign, pair_mlp on modular_add */
    enum bl_model_kind model;
};

/* GFLOP/s of C (n, n) = A (n, n) B (n, n), the best of reps. */
static double best_dgemm_rate(int n, int reps, const double *a, const double *b, double *c)
{
    double best = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = bl_now();
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n, 0.0,
                    c, n);
        double rate = 2.0 * n * n * (double)n / (bl_now() - t0) / 1e9;
        if (rate > best)
            best = rate;
    }
    return best;
}

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
    double best = best_dgemm_rate(n, reps, a, b, c);
    free(a);
    free(b);
    free(c);
    return best;
}

/* C (n, n) = A B for matrices whose products round (unlike the integer ones
 * above), so two kernels' results can be told apart; returns GFLOP/s, the
 * best of reps. */
static double probe_dgemm(int n, int reps, double *c)
{
    double *a = bl_malloc(sizeof(double) * (size_t)n * n);
    double *b = bl_malloc(sizeof(double) * (size_t)n * n);
    for (long i = 0; i < (long)n * n; i++) {
        a[i] = sin(0.1 * (double)i);
        b[i] = cos(0.7 * (double)i);
    }
    double best = best_dgemm_rate(n, reps, a, b, c);
    free(a);
    free(b);
    return best;
}

int bl_bench_dgemm_probe(int n, const char *path)
{
    bl_blas_set_threads(1);
    double *c = bl_malloc(sizeof(double) * ((size_t)n * n + 1));
    c[0] = probe_dgemm(n, 3, c + 1);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(c, sizeof(double), (size_t)n * n + 1, f) == (size_t)n * n + 1;
    if (f && fclose(f) != 0)
        ok = 0;
    free(c);
    return ok ? BL_EXIT_OK : BL_EXIT_RUNTIME;
}

/* dgemm on OpenBLAS's kernels of today and on the ones this CPU supports,
 * side by side: the second in a child process (OpenBLAS reads
 * OPENBLAS_CORETYPE once, when it loads), both at one thread, and the two
 * products compared. */
static void compare_cores(int n)
{
    if (!bl_blas_is_openblas()) {
        printf("\nthe BLAS is not OpenBLAS: no other kernels to compare\n");
        return;
    }
    char features[128];
    const char *best = bl_blas_best_core(features, sizeof features), *core = bl_blas_core();
    bl_blas_set_threads(1);
    double *c = bl_malloc(sizeof(double) * (size_t)n * n);
    double rate = probe_dgemm(n, 3, c);
    if (!strcasecmp(best, core) || !strcmp(best, "unknown")) {
        printf("\ndgemm %dx%d, 1 thread: %.2f GFLOP/s on OpenBLAS's %s kernels, the ones this "
               "CPU supports (%s)\n", n, n, rate, core, features);
        free(c);
        return;
    }
    char path[] = "/tmp/biaslab-dgemm-XXXXXX";
    int fd = mkstemp(path);
    double *other = bl_malloc(sizeof(double) * ((size_t)n * n + 1));
    int got = 0;
    if (fd >= 0) {
        close(fd);
        pid_t pid = fork();
        if (pid == 0) {
            char size[32];
            snprintf(size, sizeof size, "%d", n);
            setenv("OPENBLAS_CORETYPE", best, 1);
            execl("/proc/self/exe", "biaslab", "bench", "--dgemm-probe", size, path, (char *)NULL);
            _exit(127);
        }
        int status;
        FILE *f = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
                          WEXITSTATUS(status) == 0
                      ? fopen(path, "rb")
                      : NULL;
        got = f && fread(other, sizeof(double), (size_t)n * n + 1, f) == (size_t)n * n + 1;
        if (f)
            fclose(f);
        unlink(path);
    }
    if (!got) {
        printf("\ndgemm %dx%d, 1 thread: %.2f GFLOP/s on %s kernels; the %s kernels could not "
               "be run for comparison\n", n, n, rate, core, best);
    } else {
        double diff = 0, scale = 0;
        for (long i = 0; i < (long)n * n; i++) {
            diff = fmax(diff, fabs(c[i] - other[i + 1]));
            scale = fmax(scale, fabs(c[i]));
        }
        printf("\ndgemm %dx%d, 1 thread, OpenBLAS kernels side by side: %s %.2f GFLOP/s, %s "
               "%.2f GFLOP/s (%.2fx, OPENBLAS_CORETYPE=%s); the two products agree to %.1e of "
               "their largest entry%s\n",
               n, n, core, rate, best, other[0], other[0] / rate, best,
               scale > 0 ? diff / scale : diff,
               diff <= 1e-12 * scale ? "" : " -- MORE THAN ROUNDING: report this");
    }
    free(other);
    free(c);
}

/* The grokking workloads at the sizes of their inputs (SCIENCE.md 3):
 * grok_sparse's diagonal net (d = dim, n = 200, ||theta_0|| = 128) and
 * grok_modadd's pair_mlp (p = 59: n = round(0.4 p^2) = 1392 training pairs,
 * the other 2089 test, which the config would derive). */
static void grokking_config(const struct workload *w, struct bl_config *cfg)
{
    cfg->model.kind = w->model;
    cfg->model.width = w->width;
    cfg->optim.kind = BL_OPT_GD;
    cfg->optim.steps = w->steps;
    cfg->measure.every = w->steps;
    cfg->measure.near_support = 0;
    if (w->model == BL_MODEL_DIAG_LINEAR) {
        cfg->data.kind = BL_DATA_SPARSE_SIGN;
        cfg->data.n_train = w->n;
        cfg->data.n_test = 0;
        cfg->data.dim = w->dim;
        cfg->model.init_scale = 128;
        cfg->loss.kind = BL_LOSS_LOGISTIC;
        cfg->optim.lr = 0.01;
        cfg->optim.weight_decay = 0.02;
        return;
    }
    cfg->data.kind = BL_DATA_MODULAR_ADD;
    cfg->data.modulus = w->classes;
    cfg->data.train_fraction = 0.4;
    cfg->data.n_train = w->n;
    cfg->data.n_test = w->classes * w->classes - w->n;
    cfg->data.dim = 2;
    cfg->data.classes = w->classes;
    cfg->model.init_scale = 10;
    cfg->model.last_zero = 1;
    cfg->loss.kind = BL_LOSS_CROSS_ENTROPY;
    cfg->optim.lr = 0.5;
    cfg->optim.weight_decay = 1e-3;
}

static void workload_config(const struct workload *w, struct bl_config *cfg)
{
    bl_config_defaults(cfg);
    if (w->model != BL_MODEL_MLP) {
        grokking_config(w, cfg);
        return;
    }
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

/* The GEMMs of one training step of a dense stack, alone: the same bl_gemm
 * calls (plain C for small products, the BLAS for large ones) at the same
 * shapes, transposes and leading dimensions as dense_forward and
 * dense_backward (src/models/dense.c) make them, on
 * buffers laid out the same way (every layer's output kept, delta and
 * delta_prev swapping), so what a step spends outside them is the rest of
 * the step. sizes[0] inputs ... sizes[layers] outputs; rows per chunk of
 * the task's pass. first_dx: also the input gradient of the first layer
 * (pair_mlp's second layer is such a layer over its lookups). */
#define BENCH_MAX_LAYERS 8
struct dense_gemms {
    int layers, rows, first_dx;
    int sizes[BENCH_MAX_LAYERS + 1];
    double *x;                        /* (rows, sizes[0]) */
    double *w[BENCH_MAX_LAYERS];      /* (sizes[l+1], sizes[l]) */
    double *dw[BENCH_MAX_LAYERS];     /* (sizes[l+1], sizes[l]) */
    double *post[BENCH_MAX_LAYERS];   /* (rows, sizes[l+1]) */
    double *dout;                     /* (rows, sizes[layers]) the loss's gradient */
    double *delta, *delta_prev;       /* (rows, widest) */
    double *wt;                       /* (widest max(widest, rows)) bl_gemm's scratch */
    int through_blas;                 /* pair_mlp calls cblas_dgemm itself, dense bl_gemm */
};

/* C (m, n) = op(A) op(B) (beta 0) the way the model makes it: bl_gemm, or
 * the BLAS directly (pair_mlp). */
static void product(const struct dense_gemms *g, int trans_a, int trans_b, int m, int n, int k,
                    const double *a, int lda, const double *b, int ldb, double *c, int ldc)
{
    if (!g->through_blas) {
        bl_gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, 0.0, c, ldc, g->wt);
        return;
    }
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, 1.0, a, lda, b, ldb, 0.0, c, ldc);
}

/* Pseudo-random entries in [-scale/2, scale/2): no structure (a sine
 * pattern would make every matrix rank 2), no denormals. */
static void fill(double *a, long count, double scale)
{
    for (long i = 0; i < count; i++)
        a[i] = scale * ((double)(((uint64_t)i * 2654435761u + 12345) % 1000003) / 1000003 - 0.5);
}

static void dense_gemms_alloc(struct dense_gemms *g, const int *sizes, int layers, int rows,
                              int first_dx)
{
    memset(g, 0, sizeof *g);
    g->layers = layers;
    g->rows = rows;
    g->first_dx = first_dx;
    int widest = 0;
    for (int l = 0; l <= layers; l++) {
        g->sizes[l] = sizes[l];
        if (sizes[l] > widest)
            widest = sizes[l];
    }
    g->x = bl_malloc(sizeof(double) * (size_t)rows * sizes[0]);
    fill(g->x, (long)rows * sizes[0], 1.0);
    for (int l = 0; l < layers; l++) {
        size_t weights = (size_t)sizes[l + 1] * sizes[l], out = (size_t)rows * sizes[l + 1];
        g->w[l] = bl_malloc(sizeof(double) * weights);
        g->dw[l] = bl_malloc(sizeof(double) * weights);
        g->post[l] = bl_malloc(sizeof(double) * out);
        fill(g->w[l], (long)weights, 1.0 / sqrt((double)sizes[l]));
        fill(g->post[l], (long)out, 1.0);
    }
    g->delta = bl_malloc(sizeof(double) * (size_t)rows * widest);
    g->delta_prev = bl_malloc(sizeof(double) * (size_t)rows * widest);
    /* bl_gemm's scratch, as dense.c sizes it: a weight matrix or an output */
    size_t scratch = (size_t)widest * (widest > rows ? widest : rows);
    g->wt = bl_malloc(sizeof(double) * scratch);
    g->dout = bl_malloc(sizeof(double) * (size_t)rows * sizes[layers]);
    fill(g->dout, (long)rows * sizes[layers], 1e-3);
    fill(g->delta, (long)rows * widest, 1e-3);
    fill(g->delta_prev, (long)rows * widest, 1e-3);
}

static void dense_gemms_free(struct dense_gemms *g)
{
    free(g->x);
    for (int l = 0; l < g->layers; l++) {
        free(g->w[l]);
        free(g->dw[l]);
        free(g->post[l]);
    }
    free(g->dout);
    free(g->delta);
    free(g->delta_prev);
    free(g->wt);
}

/* One step's GEMMs for n <= rows examples: forward, then backward. */
static void dense_gemms_run(struct dense_gemms *g, int n)
{
    const int *s = g->sizes;
    const double *in = g->x;
    for (int l = 0; l < g->layers; l++) {
        product(g, 0, 1, n, s[l + 1], s[l], in, s[l], g->w[l], s[l], g->post[l], s[l + 1]);
        in = g->post[l];
    }
    /* the model copies the loss's gradient in first too: every step starts
     * from the same values (the backward's outputs feed no later step, so
     * nothing drifts towards overflow or denormals) */
    double *delta = g->delta, *prev = g->delta_prev;
    memcpy(delta, g->dout, sizeof(double) * (size_t)n * s[g->layers]);
    for (int l = g->layers - 1; l >= 0; l--) {
        const double *below = l == 0 ? g->x : g->post[l - 1];
        product(g, 1, 0, s[l + 1], s[l], n, delta, s[l + 1], below, s[l], g->dw[l], s[l]);
        if (l == 0 && !g->first_dx)
            break;
        product(g, 0, 0, n, s[l], s[l + 1], delta, s[l + 1], g->w[l], s[l], prev, s[l]);
        double *t = delta; /* the model swaps them the same way */
        delta = prev;
        prev = t;
    }
}

/* The flops of dense_gemms_run over examples: 2 m n k per call. */
static double gemm_flops(const int *sizes, int layers, int examples, int first_dx)
{
    double flops = 0;
    for (int l = 0; l < layers; l++) {
        double mnk = (double)examples * sizes[l] * sizes[l + 1];
        flops += 2 * mnk * (l == 0 && !first_dx ? 2 : 3); /* forward, dW, dX */
    }
    return flops;
}

/* One step's GEMMs over examples in chunks of g->rows (the task's pass). */
static void dense_gemms_step(struct dense_gemms *g, int examples)
{
    for (int start = 0; start < examples; start += g->rows)
        dense_gemms_run(g, examples - start < g->rows ? examples - start : g->rows);
}

/* The training loop calls its step hook before every step: the clock read
 * there times each step. With records only at the first and the last step
 * S, steps 1 .. S-1 are free of records and setup: from leaving hook k to
 * entering hook k+1 is exactly one training step (gradient and update).
 * The hook also times the step's GEMMs alone, between steps, so that both
 * see the same load of a shared machine: before every odd step k <= S-2 it
 * runs them twice (the first warms their buffers as a step warms the next
 * step's) and times the second; step k+1, which follows a step and not
 * them, is their pair. */
struct step_clock {
    struct dense_gemms *gemms; /* NULL: no GEMMs to time */
    int examples;
    long steps;                /* S */
    double *entry, *leave;     /* (S + 1) when hook k was entered and left */
    double *gemm;              /* (S + 1) the GEMMs' time before step k, or NaN */
    long calls;
    double in_gemms;           /* seconds the hook spent on GEMMs, this task */
};

static int clock_step(void *ctx)
{
    struct step_clock *c = ctx;
    long k = c->calls++;
    if (k > c->steps)
        return BL_ACTION_CONTINUE;
    double entered = bl_now();
    c->entry[k] = entered;
    c->gemm[k] = NAN;
    if (c->gemms && k % 2 == 1 && k + 2 <= c->steps) {
        dense_gemms_step(c->gemms, c->examples);
        double t0 = bl_now();
        dense_gemms_step(c->gemms, c->examples);
        c->gemm[k] = bl_now() - t0;
    }
    c->leave[k] = bl_now();
    c->in_gemms += c->leave[k] - entered;
    return BL_ACTION_CONTINUE;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of the count values t (reordered); NaN when there are none. */
static double median(double *t, long count)
{
    if (count == 0)
        return NAN;
    qsort(t, (size_t)count, sizeof *t, compare_doubles);
    return count % 2 ? t[count / 2] : 0.5 * (t[count / 2 - 1] + t[count / 2]);
}

static void run_workload(const struct workload *w, double peak)
{
    struct bl_config cfg;
    workload_config(w, &cfg);
    struct bl_model m;
    char err[256];
    if (bl_model_build(&m, &cfg.model, w->dim, bl_data_outputs(&cfg.data, cfg.loss.kind), err,
                       sizeof err))
        bl_fatal(BL_EXIT_RUNTIME, "bench %s: %s", w->name, err);
    /* the step's GEMMs: a dense stack of sizes, or pair_mlp's second layer
     * over its lookups h (n, width) -> logits (n, p), with dh */
    int sizes[BENCH_MAX_LAYERS + 1] = {w->dim}, layers = w->depth, first_dx = 0;
    for (int l = 1; l < w->depth; l++)
        sizes[l] = w->width;
    sizes[w->depth] = m.outputs;
    if (w->model == BL_MODEL_PAIR_MLP) {
        sizes[0] = w->width;
        sizes[1] = m.outputs;
        layers = first_dx = 1;
    }
    int has_gemms = w->model == BL_MODEL_MLP || w->model == BL_MODEL_PAIR_MLP;
    /* the GEMM list mirrors dense.c by hand: its flops must be the model's
     * own count, or the column would time other GEMMs */
    double flops = bl_model_step_flops(&m, w->n);
    if (has_gemms && fabs(gemm_flops(sizes, layers, w->n, first_dx) - flops) > 1e-9 * flops)
        printf("bench: %s: the GEMMs bench times (%.4g flops) are not the model's step_flops "
               "(%.4g): update dense_gemms_run in src/bench.c\n",
               w->name, gemm_flops(sizes, layers, w->n, first_dx), flops);
    struct dense_gemms g;
    if (has_gemms) { /* in chunks of the task's pass: its workspace's rows */
        struct task t;
        if (bl_task_setup(&t, &cfg, 0, NULL, 0, err, sizeof err))
            bl_fatal(BL_EXIT_RUNTIME, "bench %s: %s", w->name, err);
        dense_gemms_alloc(&g, sizes, layers, t.ws.max_batch, first_dx);
        g.through_blas = w->model == BL_MODEL_PAIR_MLP;
        bl_task_free(&t);
    }
    long S = w->steps, most = w->seeds * S; /* steps between records, all seeds */
    double *steps_alone = bl_malloc(sizeof(double) * (size_t)most);
    double *gemm_times = bl_malloc(sizeof(double) * (size_t)most);
    double *ratios = bl_malloc(sizeof(double) * (size_t)most);
    struct step_clock clock = {has_gemms ? &g : NULL, w->n, S,
                               bl_malloc(sizeof(double) * (size_t)(S + 1)),
                               bl_malloc(sizeof(double) * (size_t)(S + 1)),
                               bl_malloc(sizeof(double) * (size_t)(S + 1)), 0, 0.0};
    struct bl_train_io io = {clock_step, &clock, NULL, NULL, NULL};
    double wall = 0, steps = 0;
    long n_steps = 0, n_pairs = 0;
    for (int s = 0; s < w->seeds; s++) {
        struct bl_task_result res;
        clock.calls = 0;
        clock.in_gemms = 0;
        if (bl_train_task(&cfg, (uint64_t)s, NULL, &io, &res, err, sizeof err))
            bl_fatal(BL_EXIT_RUNTIME, "bench %s: %s", w->name, err);
        wall += res.wall_seconds - clock.in_gemms;
        steps += (double)res.steps_done;
        for (long k = 1; k + 1 <= S && k + 1 < clock.calls; k++) {
            double step = clock.entry[k + 1] - clock.leave[k];
            if (!isnan(clock.gemm[k]))
                continue; /* right after the GEMMs: not a step like the others */
            steps_alone[n_steps++] = step;
            if (!isnan(clock.gemm[k - 1])) { /* the pair of the GEMMs before step k-1 */
                gemm_times[n_pairs] = clock.gemm[k - 1];
                ratios[n_pairs++] = clock.gemm[k - 1] / step;
            }
        }
        bl_task_result_free(&res);
    }
    double step = median(steps_alone, n_steps), gemms = median(gemm_times, n_pairs);
    double vs_gemms = median(ratios, n_pairs);
    /* the grokking workloads' task setup (data, pair_mlp's kernel reference)
     * would swamp their steps: their rate is that of the steps alone */
    if (w->model != BL_MODEL_MLP)
        wall = step, steps = 1;
    double gflops = flops * steps / wall / 1e9;
    long params = m.n_params;
    bl_model_free(&m);
    if (has_gemms)
        dense_gemms_free(&g);
    free(clock.entry);
    free(clock.leave);
    free(clock.gemm);
    free(steps_alone);
    free(gemm_times);
    free(ratios);
    /* outside: the share of a step not explained by its arithmetic run at
     * this machine's dgemm rate (1 - the ratio before it); vs GEMMs: the
     * step's own GEMMs alone over the step (1 = nothing outside them) */
    printf("%-15s %9ld %12.1f %12.2f %12.1f %10.3f %8.2f %12.1f", w->name, params,
           steps / wall, gflops, 1e6 * wall / steps, gflops / peak, 1 - gflops / peak,
           1e6 * step);
    if (isnan(vs_gemms))
        printf(" %12s %9s\n", "-", "-");
    else
        printf(" %12.1f %9.3f\n", 1e6 * gemms, vs_gemms);
}

/* Costs of the Hessian machinery at a task's initialization: full-batch
 * gradients and Hessian-vector products per second, and the products
 * Lanczos and power iteration need to reach a relative residual of tol on
 * the top eigenvalue. */
struct hvp_cost {
    double gradients_per_second, hvps_per_second, gradients_per_hvp;
    double gradients_per_first_hvp; /* an HVP right after a gradient pass */
    int lanczos_hvps, power_hvps;
    double lanczos_value, power_value;
};

static int hvp_costs(const struct bl_config *cfg, uint64_t seed, int repeats, double tol,
                     int eigen, struct hvp_cost *out, char *err, unsigned long err_len)
{
    struct task t;
    if (bl_task_setup(&t, cfg, seed, NULL, 1, err, err_len))
        return 1;
    size_t work_len = bl_lanczos_work_doubles(t.n_params, 1000);
    if (work_len < 2 * (size_t)t.n_params) /* power iteration needs 2 P */
        work_len = 2 * (size_t)t.n_params;
    double *work = bl_malloc(sizeof(double) * work_len);
    /* HVP_BLOCK gradients and then HVP_BLOCK HVPs in turns, each block
     * timed, so that a shared machine's load hits both alike: medians of
     * the times and of their ratios. HVPs come in blocks at one theta, as
     * Lanczos and power iteration use them: the first of a block (after a
     * gradient pass) recomputes the forward pass, the others reuse it; the
     * first is also timed alone. v changes from HVP to HVP (v <- Hv / |Hv|). */
    enum { HVP_BLOCK = 8 };
    struct pass_totals totals;
    bl_task_train_pass(&t, 1, &totals);
    bl_task_hvp_prepare(&t, &totals);
    double *v = bl_malloc(sizeof(double) * (size_t)t.n_params);
    double *hv = bl_malloc(sizeof(double) * (size_t)t.n_params);
    /* (5, repeats): gradient, HVP in a block, ratio, first HVP, its ratio */
    double *times = bl_malloc(sizeof(double) * 5 * (size_t)repeats);
    for (long i = 0; i < t.n_params; i++)
        v[i] = t.theta[i];
    for (int i = 0; i < repeats; i++) {
        double t0 = bl_now();
        for (int b = 0; b < HVP_BLOCK; b++)
            bl_task_train_pass(&t, 1, &totals);
        double t1 = bl_now(), first = 0;
        for (int b = 0; b < HVP_BLOCK; b++) {
            bl_task_hvp(&t, v, hv);
            if (b == 0)
                first = bl_now() - t1;
            double norm = bl_norm2(hv, t.n_params);
            for (long j = 0; j < t.n_params; j++)
                v[j] = hv[j] / norm;
        }
        double t2 = bl_now();
        double grad = (t1 - t0) / HVP_BLOCK, hvp = (t2 - t1) / HVP_BLOCK;
        times[i] = grad;
        times[repeats + i] = hvp;
        times[2 * repeats + i] = hvp / grad;
        times[3 * repeats + i] = first;
        times[4 * repeats + i] = first / grad;
    }
    out->gradients_per_second = 1 / median(times, repeats);
    out->hvps_per_second = 1 / median(times + repeats, repeats);
    out->gradients_per_hvp = median(times + 2 * repeats, repeats);
    out->gradients_per_first_hvp = median(times + 4 * repeats, repeats);
    free(times);
    if (!eigen) {
        free(v);
        free(hv);
        free(work);
        bl_task_free(&t);
        return 0;
    }
    struct bl_rng rng;
    struct bl_eigpair pair;
    struct bl_lanczos_info info;
    bl_rng_init(&rng, seed, BL_STREAM_SPECTRUM, 0);
    bl_lanczos_top(t.n_params, bl_task_hvp, &t, 1, 1000, tol, &rng, &pair, NULL, work, &info);
    out->lanczos_hvps = info.matvecs;
    out->lanczos_value = pair.value;
    bl_rng_init(&rng, seed, BL_STREAM_SPECTRUM, 0);
    bl_power_iteration(t.n_params, bl_task_hvp, &t, 100000, tol, &rng, &pair, NULL, work);
    out->power_hvps = pair.iterations;
    out->power_value = pair.value;
    free(v);
    free(hv);
    free(work);
    bl_task_free(&t);
    return 0;
}

/* bench's workloads; --quick (a smoke test, not figures) shortens them and
 * gives wide_mlp and deep_mlp a quarter of their examples. */
#define N_WORKLOADS 5
static void workloads(int quick, struct workload *loads)
{
    int shrink = quick ? 4 : 1;
    const struct workload all[N_WORKLOADS] = {
        {"wide_mlp", 4096 / shrink, 256, 2048, 2, 10, 1, quick ? 2 : 20, BL_MODEL_MLP},
        {"tiny_ensemble", 128, 20, 32, 2, 2, quick ? 2 : 16, quick ? 200 : 2000, BL_MODEL_MLP},
        {"deep_mlp", 1024 / shrink, 64, 256, 4, 10, 1, quick ? 5 : 100, BL_MODEL_MLP},
        {"diag_net", 200, 5000, 1, 2, 2, 1, quick ? 100 : 2000, BL_MODEL_DIAG_LINEAR},
        {"pair_mlp", 1392, 2, 128, 2, 59, 1, quick ? 20 : 600, BL_MODEL_PAIR_MLP},
    };
    memcpy(loads, all, sizeof all);
}

static void print_header(void)
{
    printf("%-15s %9s %12s %12s %12s %10s %8s %12s %12s %9s\n", "workload", "params",
           "steps/s", "GFLOP/s", "us/step", "vs dgemm", "outside", "step us", "GEMMs us",
           "vs GEMMs");
}

/* All workloads and dgemm at one OpenBLAS thread count. */
static void bench_at(int threads, int quick)
{
    bl_blas_set_threads(threads);
    int size = quick ? 512 : 2048;
    double peak = dgemm_gflops(size, quick ? 2 : 5);
    printf("\n%d BLAS thread%s: dgemm %dx%d %.2f GFLOP/s (the reference for the ratios)\n",
           threads, threads == 1 ? "" : "s", size, size, peak);
    struct workload loads[N_WORKLOADS];
    workloads(quick, loads);
    print_header();
    for (int i = 0; i < N_WORKLOADS; i++)
        run_workload(&loads[i], peak);
}

static void print_hvp(int quick, int eigen);

int bl_bench_one(const char *name, int threads, int quick)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(name, "hvp")) {
        print_hvp(quick, 0);
        return BL_EXIT_OK;
    }
    struct workload loads[N_WORKLOADS];
    workloads(quick, loads);
    for (int i = 0; i < N_WORKLOADS; i++)
        if (!strcmp(loads[i].name, name)) {
            bl_blas_set_threads(threads);
            print_header();
            run_workload(&loads[i], NAN); /* no dgemm reference: its ratios are nan */
            return BL_EXIT_OK;
        }
    fprintf(stderr, "biaslab bench: no workload '%s'\n", name);
    return BL_EXIT_USAGE;
}

/* Hessian machinery on the deep MLP at initialization, one thread */
static void print_hvp(int quick, int eigen)
{
    bl_blas_set_threads(1);
    const struct workload *deep =
        &(struct workload){"deep_mlp", quick ? 256 : 1024, 64, 256, 4, 10, 1, 1, BL_MODEL_MLP};
    struct bl_config cfg;
    workload_config(deep, &cfg);
    struct hvp_cost costs;
    char err[256];
    if (hvp_costs(&cfg, 0, quick ? 2 : 5, 1e-8, eigen, &costs, err, sizeof err))
        bl_fatal(BL_EXIT_RUNTIME, "bench hvp: %s", err);
    printf("\nHessian-vector products, deep_mlp, 1 thread: %.1f HVP/s against %.1f "
           "gradients/s (an HVP costs %.2f gradients; in blocks of 8 at one theta, as Lanczos "
           "uses them; the first of a block, after a gradient pass, %.2f)\n",
           costs.hvps_per_second, costs.gradients_per_second, costs.gradients_per_hvp,
           costs.gradients_per_first_hvp);
    if (!eigen)
        return;
    printf("top eigenvalue to relative residual 1e-8: Lanczos %d HVPs (lambda = %.6g, largest "
           "algebraic), power iteration %d HVPs (lambda = %.6g, largest magnitude)\n",
           costs.lanczos_hvps, costs.lanczos_value, costs.power_hvps, costs.power_value);
}

int bl_bench(int quick)
{
    /* a line at a time, also into make bench's pipe: the run takes minutes */
    setvbuf(stdout, NULL, _IOLBF, 0);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    char blas[1024], advice[512];
    bl_blas_describe(blas, sizeof blas);
    printf("biaslab bench%s: %ld cores; BLAS: %s\n",
           quick ? " --quick (wide_mlp and deep_mlp on a quarter of their examples: a smoke "
                   "test, not figures)"
                 : "",
           cores, blas);
    if (bl_blas_core_advice(advice, sizeof advice))
        printf("%s\n", advice);
    compare_cores(quick ? 256 : 1024);
    /* one thread per rank is how runs use the machine when ranks fill the
     * cores; all cores in one process is the single-rank case */
    bench_at(1, quick);
    if (cores > 1)
        bench_at((int)cores, quick);
    print_hvp(quick, 1);
    printf("\nGFLOP/s counts the dense-layer flops of a step (forward 2 n in out per layer,\n"
           "backward 4 n in out, less the first layer's input gradient). For the MLPs the\n"
           "time (steps/s, us/step) is the tasks' wall time: data generation, loss, metrics\n"
           "at the first and last step, and the update. diag_net (grok_sparse's diagonal\n"
           "net, d = 5000, n = 200) counts its two matrix-vector loops, pair_mlp\n"
           "(grok_modadd's net, p = 59, width 128, n = 1392) its three GEMMs; for these two\n"
           "the time is that of the steps between the records (their setup would swamp it).\n"
           "outside = 1 - (vs dgemm): the share of a step not explained by its arithmetic\n"
           "at the dgemm rate (lookups, activations, loss, update; for diag_net also its\n"
           "memory-bound loops running below the dgemm rate).\n"
           "step us: the median training step between the first and the last record\n"
           "(gradient and update; no setup, no metrics). GEMMs us: the step's own\n"
           "products (bl_gemm, as dense.c makes them: the shapes, transposes and buffers:\n"
           "forward n x out x in per layer, backward dW and dX, no dX for the first layer;\n"
           "pair_mlp's three) timed alone at the same thread count, between the steps of\n"
           "the same run (before every other step, run twice, the second timed), median.\n"
           "vs GEMMs: the median over those of GEMMs alone / the next step: 1.0 = nothing\n"
           "outside the GEMMs (- : too few steps, as wide_mlp under --quick).\n");
    return BL_EXIT_OK;
}
