/* `biaslab run`: config -> plan -> tasks on groups -> results to rank 0 ->
 * NetCDF. Every rank parses the same config, so every rank reaches the same
 * verdict on bad input and they all leave with the same exit code. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bl_log.h"
#include "bl_ncio.h"
#include "bl_par.h"
#include "bl_plan.h"
#include "bl_run.h"
#include "bl_train.h"

/* A task's payload on its way to rank 0: (status, wall, steps, records
 * (BL_METRIC_COUNT, n_records), params (max_params) when saved). */
enum { PAYLOAD_STATUS, PAYLOAD_WALL, PAYLOAD_STEPS, PAYLOAD_HEADER };

#define PROGRESS_SECONDS 5.0

struct collector {
    const struct bl_plan *plan;
    struct bl_output out;
    int save_params;
    double started, last_line;
    double steps_done; /* optimizer steps of finished tasks */
    int tasks_done;
};

static void on_result(void *ctx, int task, const double *payload, long n)
{
    struct collector *c = ctx;
    const struct bl_plan *plan = c->plan;
    long n_records = plan->n_records;
    const double *records = payload + PAYLOAD_HEADER;
    const double *params = c->save_params ? records + BL_METRIC_COUNT * n_records : NULL;
    bl_output_write_task(&c->out, bl_task_point(plan, task), bl_task_seed_index(plan, task),
                         (int)payload[PAYLOAD_STATUS], payload[PAYLOAD_WALL], records, params,
                         plan->max_params);
    c->steps_done += payload[PAYLOAD_STEPS];
    c->tasks_done++;
}

static void format_seconds(double s, char *buf, size_t len)
{
    if (!isfinite(s))
        snprintf(buf, len, "unknown");
    else if (s < 120)
        snprintf(buf, len, "%.0fs", s);
    else if (s < 7200)
        snprintf(buf, len, "%.1fmin", s / 60);
    else
        snprintf(buf, len, "%.1fh", s / 3600);
}

static void on_progress(void *ctx, int tasks_done)
{
    struct collector *c = ctx;
    double now = bl_now();
    if (now - c->last_line < PROGRESS_SECONDS)
        return;
    c->last_line = now;
    double elapsed = now - c->started;
    double rate = c->steps_done / elapsed;
    double eta = rate > 0 ? (c->plan->total_steps - c->steps_done) / rate : NAN;
    char e[32], left[32];
    format_seconds(elapsed, e, sizeof e);
    format_seconds(eta, left, sizeof left);
    bl_info("biaslab: %d/%d tasks done, %.3g steps/s, elapsed %s, ETA %s", tasks_done,
            c->plan->n_tasks, rate, e, left);
}

/* Rank 0 serves the scheduler between its own steps, at most every 2 ms. */
static void poll_hook(void *ctx)
{
    static double last;
    double now = bl_now();
    if (now - last < 0.002)
        return;
    last = now;
    bl_sched_poll();
    (void)ctx;
}

/* Every rank leaves with code after rank 0 printed msg (all ranks agree). */
static int refuse(int rank, int code, const char *msg)
{
    if (rank == 0)
        fprintf(stderr, "biaslab: error: %s\n", msg);
    return code;
}

static void set_blas_threads(const struct bl_config *cfg)
{
    int threads = cfg->parallel.blas_threads;
    if (threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        int per_node = bl_par_node_ranks();
        threads = (int)(cores / per_node);
        if (threads < 1)
            threads = 1;
    }
    openblas_set_num_threads(threads);
}

int bl_run(const struct bl_run_args *args)
{
    char err[BL_ERR_MAX];
    int rank = bl_par_world_rank();
    struct bl_config base;
    if (bl_config_load(args->config_path, args->overrides, args->n_overrides, &base, err,
                       sizeof err))
        return refuse(rank, BL_EXIT_USAGE, err);
    struct bl_par par;
    if (bl_par_make_groups(&par, base.parallel.group_size, err, sizeof err))
        return refuse(rank, BL_EXIT_USAGE, err);
    struct bl_plan plan;
    if (bl_plan_make(&base, &plan, err, sizeof err))
        return refuse(rank, BL_EXIT_USAGE, err);
    char path[BL_PATH_MAX];
    if (args->output)
        snprintf(path, sizeof path, "%s", args->output);
    else
        bl_config_output_path(&base, path, sizeof path);

    /* only rank 0 touches the file system; it tells the others the verdict */
    struct collector c;
    memset(&c, 0, sizeof c);
    c.plan = &plan;
    c.save_params = base.measure.save_params == BL_SAVE_FINAL;
    int verdict = 0;
    if (rank == 0) {
        struct bl_run_info info = {args->command_line, par.world_size, par.group_size};
        verdict = bl_output_check_target(path, args->force, err, sizeof err) ||
                  bl_output_create(&c.out, path, &base, &info, plan.steps, plan.n_records,
                                   c.save_params ? plan.max_params : 0, plan.layout, err,
                                   sizeof err);
    }
    bl_par_bcast_int(&verdict);
    if (verdict)
        return refuse(rank, BL_EXIT_USAGE, err);

    set_blas_threads(&base);
    long payload_len = PAYLOAD_HEADER + BL_METRIC_COUNT * plan.n_records +
                       (c.save_params ? plan.max_params : 0);
    double *payload = bl_malloc(sizeof(double) * (size_t)payload_len);
    c.started = c.last_line = bl_now();
    if (rank == 0)
        bl_info("biaslab: %s: %d points x %d seeds = %d tasks on %d ranks (%d groups of %d)",
                base.experiment.name, plan.n_points, plan.n_seeds, plan.n_tasks,
                par.world_size, par.n_groups, par.group_size);
    bl_sched_start(plan.order, plan.n_tasks, payload_len, on_result, on_progress, &c);
    for (;;) {
        int task = bl_sched_next(&par);
        if (task < 0)
            break;
        const struct bl_config *cfg = &plan.points[bl_task_point(&plan, task)];
        struct bl_task_result res;
        if (bl_train_task(cfg, bl_task_seed(&plan, task), par.group, rank == 0 ? poll_hook : NULL,
                          NULL, &res, err, sizeof err)) {
            fprintf(stderr, "biaslab: error: task %d: %s\n", task, err);
            bl_par_abort(BL_EXIT_RUNTIME);
        }
        payload[PAYLOAD_STATUS] = res.status;
        payload[PAYLOAD_WALL] = res.wall_seconds;
        payload[PAYLOAD_STEPS] = (double)res.steps_done;
        memcpy(payload + PAYLOAD_HEADER, res.records,
               sizeof(double) * BL_METRIC_COUNT * plan.n_records);
        if (c.save_params) {
            double *params = payload + PAYLOAD_HEADER + BL_METRIC_COUNT * plan.n_records;
            for (long i = 0; i < plan.max_params; i++)
                params[i] = i < res.n_params ? res.params[i] : NAN;
        }
        bl_sched_submit(&par, task, payload, payload_len);
        bl_task_result_free(&res);
        if (rank == 0)
            bl_sched_poll();
    }
    bl_sched_finish();
    if (rank == 0) {
        bl_output_finish(&c.out);
        char wall[32];
        format_seconds(bl_now() - c.started, wall, sizeof wall);
        bl_info("biaslab: wrote %s (%d tasks, wall %s)", path, plan.n_tasks, wall);
    }
    free(payload);
    bl_plan_free(&plan);
    return BL_EXIT_OK;
}
