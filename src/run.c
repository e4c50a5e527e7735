/* `biaslab run`: config -> plan -> tasks on groups -> results to rank 0 ->
 * NetCDF. Every rank parses the same config, so every rank reaches the same
 * verdict on bad input and they all leave with the same exit code.
 *
 * Nothing is lost to a kill. Beside the output, <out>.ckpt/ holds the
 * resolved config, one checksummed file per finished task (written before
 * the task reaches <out>.part) and the periodic state of running tasks. On a
 * signal every task saves its state and the run exits 3; running the same
 * command again rebuilds <out>.part from the finished tasks, resumes the
 * others from their state, and ends with the same numbers as an
 * uninterrupted run. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bl_blas.h"
#include "bl_checkpoint.h"
#include "bl_log.h"
#include "bl_ncio.h"
#include "bl_par.h"
#include "bl_plan.h"
#include "bl_run.h"
#include "bl_train.h"

/* A task's result travels to rank 0 and into its done file as one payload
 * laid out by bl_result.h; nothing here looks inside but the outcomes. */

#define POLL_SECONDS 0.002

static volatile sig_atomic_t signal_received;

static void on_signal(int sig) { signal_received = sig; }

/* SIGTERM (scheduler time limit, scancel), SIGUSR1 (Slurm --signal) and
 * SIGINT (Ctrl-C) all mean: save and stop at the next step boundary. */
static void install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

struct runner {
    const struct bl_plan *plan;
    struct bl_result_layout layout;
    struct bl_output out;
    int rank;
    int node_ranks; /* ranks of this job on rank 0's node */
    long payload_len;
    char ckpt_dir[BL_PATH_MAX + 16];
    double started, last_line, last_poll, last_checkpoint, checkpoint_seconds, progress_seconds;
    double steps_done;    /* optimizer steps of tasks finished by this run */
    double steps_run;     /* of those, the steps this run took (not restored) */
    double steps_resumed; /* steps of tasks an earlier attempt finished */
    int resumed;          /* an earlier attempt's checkpoint directory was found */
    int tasks_done, tasks_resumed;
};

static void task_file(const struct runner *r, const char *kind, int task, char *path,
                      size_t len)
{
    snprintf(path, len, "%s/%s_%06d.bin", r->ckpt_dir, kind, task);
}

/* Rank 0: a finished task goes to its done file first (the durable copy),
 * then into the output, and its running state is no longer needed. */
static void store_result(struct runner *r, int task, const double *payload, long n,
                         int write_done_file)
{
    const struct bl_plan *plan = r->plan;
    char path[BL_PATH_MAX + 64], err[BL_ERR_MAX];
    if (write_done_file) {
        task_file(r, "done", task, path, sizeof path);
        if (bl_blob_write(path, BL_BLOB_RESULT, payload, n, err, sizeof err))
            bl_fatal(BL_EXIT_RUNTIME, "%s", err);
        task_file(r, "state", task, path, sizeof path);
        unlink(path);
    }
    bl_output_write_task(&r->out, bl_task_point(plan, task), bl_task_seed_index(plan, task),
                         payload);
    const struct bl_result_layout *L = &r->layout;
    double steps = payload[L->fields[BL_FIELD_STEPS_DONE].offset];
    if (write_done_file) {
        r->steps_done += steps; /* steps of this process, for the rate */
        r->steps_run += payload[L->fields[BL_FIELD_STEPS_RUN].offset];
    } else
        r->steps_resumed += steps;
    r->tasks_done++;
}

static void on_result(void *ctx, int task, const double *payload, long n)
{
    store_result(ctx, task, payload, n, 1);
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

static void on_progress(void *ctx, int results_in)
{
    struct runner *r = ctx;
    if (signal_received)
        bl_sched_request_stop();
    double now = bl_now();
    if (now - r->last_line < r->progress_seconds)
        return;
    r->last_line = now;
    double elapsed = now - r->started;
    double rate = r->steps_done / elapsed;
    double left_steps = r->plan->total_steps - r->steps_done - r->steps_resumed;
    double eta = rate > 0 ? left_steps / rate : NAN;
    char e[32], left[32];
    format_seconds(elapsed, e, sizeof e);
    format_seconds(eta, left, sizeof left);
    bl_info("biaslab: %d/%d tasks done, %.3g steps/s, elapsed %s, ETA %s", r->tasks_done,
            r->plan->n_tasks, rate, e, left);
    (void)results_in;
}

/* Before every training step: serve the scheduler (rank 0), notice a stop,
 * ask for a periodic checkpoint. Cheap: a clock read unless it is time. */
static int step_hook(void *ctx)
{
    struct runner *r = ctx;
    if (signal_received)
        bl_sched_request_stop();
    double now = bl_now();
    if (now - r->last_poll >= POLL_SECONDS) {
        r->last_poll = now;
        if (r->rank == 0)
            bl_sched_poll();
        else
            bl_sched_stopping();
    }
    if (bl_sched_stopping())
        return BL_ACTION_STOP;
    if (r->checkpoint_seconds > 0 && now - r->last_checkpoint >= r->checkpoint_seconds) {
        r->last_checkpoint = now;
        return BL_ACTION_CHECKPOINT;
    }
    return BL_ACTION_CONTINUE;
}

/* Every rank leaves with code after rank 0 printed msg (all ranks agree). */
static int refuse(int rank, int code, const char *msg)
{
    if (rank == 0)
        fprintf(stderr, "biaslab: error: %s\n", msg);
    return code;
}

/* Returns the BLAS threads per rank, or 0 when the BLAS's own variable decides. */
static int set_blas_threads(const struct bl_config *cfg, int per_node, int rank)
{
    int threads = cfg->parallel.blas_threads;
    if (threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = (int)(cores / per_node);
        if (threads < 1)
            threads = 1;
    }
    if (bl_blas_set_threads(threads) == 0)
        return threads;
    if (cfg->parallel.blas_threads > 0 && rank == 0)
        bl_info("biaslab: parallel.blas_threads = %d is ignored: the linked BLAS is not "
                "OpenBLAS (set its own variable, e.g. MKL_NUM_THREADS)", threads);
    return 0;
}

/* Remove the checkpoint directory and what is in it. */
static void remove_checkpoints(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[BL_PATH_MAX + 300];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    closedir(d);
    rmdir(dir);
}

/* Rank 0: decide between a fresh start and a resume, create the output, and
 * load the finished tasks of an earlier attempt. order[] receives the tasks
 * still to run; returns their count, or -1 with err set. */
static int prepare_output(struct runner *r, const char *path, const struct bl_config *base,
                          const struct bl_run_args *args, const struct bl_par *par, int *order,
                          char *err, size_t err_len)
{
    const struct bl_plan *plan = r->plan;
    if (bl_plan_check_memory(plan, par->group_size, r->node_ranks, err, err_len))
        return -1;
    if (bl_output_check_target(path, args->force, err, err_len))
        return -1;
    char config_path[BL_PATH_MAX + 64];
    snprintf(config_path, sizeof config_path, "%s/config.ini", r->ckpt_dir);
    char *ini = bl_config_ini_string(base);
    if (args->force)
        remove_checkpoints(r->ckpt_dir);
    char *earlier = bl_text_read(config_path);
    int resume = earlier != NULL;
    r->resumed = resume;
    char format_path[BL_PATH_MAX + 64];
    snprintf(format_path, sizeof format_path, "%s/format", r->ckpt_dir);
    /* first the format: the saved states must be in one this biaslab reads
     * (a different config from another version would be misleading) */
    char *format = resume ? bl_text_read(format_path) : NULL;
    int format_ok = !resume || (format && atoi(format) == BL_CHECKPOINT_FORMAT);
    if (!format_ok)
        snprintf(err, err_len,
                 "'%s' holds an interrupted run saved in checkpoint format %d by another "
                 "biaslab; this one reads format %d. Finish it with the biaslab that started "
                 "it, or pass --force to discard its saved state",
                 r->ckpt_dir, format ? atoi(format) : 1, BL_CHECKPOINT_FORMAT);
    else if (resume && strcmp(earlier, ini) != 0)
        snprintf(err, err_len,
                 "'%s' holds an interrupted run of a different config; run that config "
                 "again to resume it, or pass --force to discard it",
                 r->ckpt_dir);
    int refused = !format_ok || (resume && strcmp(earlier, ini) != 0);
    free(format);
    free(earlier);
    if (refused) {
        free(ini);
        return -1;
    }
    if (!resume) {
        if (mkdir(r->ckpt_dir, 0777) != 0 && errno != EEXIST) {
            snprintf(err, err_len, "cannot create '%s': %s", r->ckpt_dir, strerror(errno));
            free(ini);
            return -1;
        }
        char format_text[16];
        snprintf(format_text, sizeof format_text, "%d\n", BL_CHECKPOINT_FORMAT);
        if (bl_text_write(format_path, format_text, err, err_len) ||
            bl_text_write(config_path, ini, err, err_len)) {
            free(ini);
            return -1;
        }
    }
    free(ini);
    struct bl_run_info info = {args->command_line, par->world_size, par->group_size};
    if (bl_output_create(&r->out, path, base, &info, &r->layout, plan->steps, err, err_len))
        return -1;
    int n_left = 0;
    int *all = bl_plan_order(plan); /* (n_tasks) */
    for (int k = 0; k < plan->n_tasks; k++) {
        int task = all[k];
        char done[BL_PATH_MAX + 64], why[BL_ERR_MAX];
        double *payload = NULL;
        long n = 0;
        int rc = 1; /* 1: not done */
        if (resume) {
            task_file(r, "done", task, done, sizeof done);
            rc = bl_blob_read(done, BL_BLOB_RESULT, &payload, &n, why, sizeof why);
            if (rc == 0 && n != r->payload_len) {
                snprintf(why, sizeof why, "'%s' has %ld values, expected %ld", done, n,
                         r->payload_len);
                rc = 2;
            }
            if (rc == 2)
                bl_info("biaslab: warning: %s; task %d runs again", why, task);
        }
        if (args->slice_count && task % args->slice_count != args->slice_index) {
            /* another slice's task: stays not_run here, merged later */
        } else if (rc == 0) {
            store_result(r, task, payload, n, 0);
            r->tasks_resumed++;
        } else {
            order[n_left++] = task;
        }
        free(payload);
    }
    free(all);
    return n_left;
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
    if (bl_plan_check_slice(&plan, args->slice_index, args->slice_count, err, sizeof err))
        return refuse(rank, BL_EXIT_USAGE, err);
    char path[BL_PATH_MAX];
    if (args->output)
        snprintf(path, sizeof path, "%s", args->output);
    else
        bl_config_output_path(&base, path, sizeof path);

    /* before anything is written, so a signal from now on means "stop cleanly" */
    install_signal_handlers();
    struct runner r;
    memset(&r, 0, sizeof r);
    r.plan = &plan;
    r.rank = rank;
    bl_result_layout_make(&r.layout, &plan);
    r.payload_len = r.layout.length;
    r.checkpoint_seconds = base.experiment.checkpoint_seconds;
    r.progress_seconds = base.experiment.progress_seconds;
    snprintf(r.ckpt_dir, sizeof r.ckpt_dir, "%s.ckpt", path);
    r.started = r.last_line = bl_now();
    r.node_ranks = bl_par_node_ranks(); /* collective: every rank calls it */

    /* only rank 0 touches the output; it tells the others the verdict */
    int *order = bl_malloc(sizeof(int) * (size_t)plan.n_tasks);
    int n_left = 0;
    if (rank == 0)
        n_left = prepare_output(&r, path, &base, args, &par, order, err, sizeof err);
    bl_par_bcast_int(&n_left);
    if (n_left < 0)
        return refuse(rank, BL_EXIT_USAGE, err);

    int blas_threads = set_blas_threads(&base, r.node_ranks, rank);
    double *payload = bl_malloc(sizeof(double) * (size_t)r.payload_len);
    if (rank == 0) {
        char threads[64] = "";
        if (blas_threads)
            snprintf(threads, sizeof threads, "; %d BLAS thread%s per rank", blas_threads,
                     blas_threads == 1 ? "" : "s");
        bl_info("biaslab: %s: %d points x %d seeds = %d tasks on %d ranks (%d groups of %d%s)",
                base.experiment.name, plan.n_points, plan.n_seeds, plan.n_tasks,
                par.world_size, par.n_groups, par.group_size, threads);
        if (plan.data_note[0])
            bl_info("biaslab: note: %s", plan.data_note);
        if (args->slice_count)
            bl_info("biaslab: slice %lld/%lld: %d tasks of this slice to run", args->slice_index,
                    args->slice_count, n_left);
        if (r.resumed)
            bl_info("biaslab: resuming from %s: %d task%s already done, %d to run (interrupted "
                    "ones continue from their saved state)",
                    r.ckpt_dir, r.tasks_resumed, r.tasks_resumed == 1 ? "" : "s", n_left);
    }
    bl_sched_start(order, n_left, r.payload_len, on_result, on_progress, &r);
    struct bl_train_io io = {step_hook, &r, NULL, &r.layout, payload};
    char state_path[BL_PATH_MAX + 64];
    for (;;) {
        int task = bl_sched_next(&par);
        if (task < 0)
            break;
        task_file(&r, "state", task, state_path, sizeof state_path);
        io.checkpoint_path = state_path;
        r.last_checkpoint = bl_now();
        const struct bl_config *cfg = &plan.points[bl_task_point(&plan, task)];
        struct bl_task_result res;
        if (bl_train_task(cfg, bl_task_seed(&plan, task), par.group, &io, &res, err,
                          sizeof err)) {
            fprintf(stderr, "biaslab: error: task %d: %s\n", task, err);
            bl_par_abort(BL_EXIT_RUNTIME);
        }
        if (res.resumed_step > 0 && bl_group_rank(par.group) == 0)
            bl_info("biaslab: task %d continued from its saved state at step %ld", task,
                    res.resumed_step);
        if (res.status != BL_STATUS_INTERRUPTED)
            bl_sched_submit(&par, task, payload, r.payload_len);
        bl_task_result_free(&res);
        if (rank == 0)
            bl_sched_poll();
    }
    bl_sched_finish();
    int interrupted = rank == 0 ? bl_sched_stopping() : 0;
    bl_par_bcast_int(&interrupted);
    char wall[32];
    format_seconds(bl_now() - r.started, wall, sizeof wall);
    if (rank == 0 && interrupted) {
        bl_output_close(&r.out);
        bl_info("biaslab: interrupted after %s: %d of %d tasks done; state saved in %s. Run "
                "the same command again to resume.",
                wall, r.tasks_done, plan.n_tasks, r.ckpt_dir);
    } else if (rank == 0) {
        bl_output_finish(&r.out);
        remove_checkpoints(r.ckpt_dir);
        bl_info("biaslab: wrote %s (%d of %d tasks, %.0f steps trained by this run, wall %s)",
                path, r.tasks_done, plan.n_tasks, r.steps_run, wall);
    }
    free(payload);
    free(order);
    bl_plan_free(&plan);
    return interrupted ? BL_EXIT_INTERRUPTED : BL_EXIT_OK;
}
