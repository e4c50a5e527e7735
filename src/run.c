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
#include <fcntl.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bl_blas.h"
#include "bl_checkpoint.h"
#include "bl_data.h"
#include "bl_log.h"
#include "bl_ncio.h"
#include "bl_par.h"
#include "bl_plan.h"
#include "bl_run.h"
#include "bl_train.h"

/* A task's result travels to rank 0 and into its done file as one payload
 * laid out by bl_result.h; nothing here looks inside but the outcomes. */

#define POLL_SECONDS 0.002

static volatile sig_atomic_t signal_received, signals_seen;
static volatile sig_atomic_t in_task;   /* a task is training in this process */
static volatile sig_atomic_t emergency; /* leave without the stop protocol */

/* The first signal asks every rank to save and stop together. A second one
 * (a user insisting, or mpirun tearing the job down) means leave now:
 * between tasks every state is already on disk, so this process exits at
 * once; inside a task it stops at the next step boundary, which saves the
 * task's state first. */
static void on_signal(int sig)
{
    signal_received = sig;
    if (++signals_seen >= 2) {
        if (!in_task)
            _exit(BL_EXIT_INTERRUPTED);
        emergency = 1;
    }
}

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

/* Finished tasks whose done files one flush makes durable: at most this
 * many, and none waits longer than DONE_FLUSH_SECONDS. */
#define DONE_BATCH 64
#define DONE_FLUSH_SECONDS 0.2

struct runner {
    const struct bl_plan *plan;
    struct bl_result_layout layout;
    struct bl_output out;
    int rank;
    int node_ranks; /* ranks of this job on rank 0's node */
    char blas[384];  /* the BLAS, its kernels and threads per rank (the output says it) */
    long payload_len;
    char ckpt_dir[BL_PATH_MAX + 16];
    double started, last_line, last_poll, last_checkpoint, checkpoint_seconds, progress_seconds;
    double steps_done;    /* optimizer steps of tasks finished by this run */
    double steps_run;     /* of those, the steps this run took (not restored) */
    double steps_resumed; /* steps of tasks an earlier attempt finished */
    int resumed;          /* an earlier attempt's checkpoint directory was found */
    int tasks_done, tasks_resumed;
    int lock_fd;          /* rank 0: the output's lock, held until exit */
    pid_t parent;         /* the launcher; another parent means it died */
    int group_leader;     /* the rank that speaks for its group */
    double steps_trained; /* this group's steps in finished tasks of this run */
    double task_steps;    /* steps of the running task in this run */
    double last_report;
    double store_seconds; /* rank 0's time storing this run's finished tasks */
    /* rank 0: finished tasks whose done files are written but not yet on
     * disk, made durable together (flush_done) */
    struct bl_pending_blob *pending; /* [DONE_BATCH] */
    int pending_task[DONE_BATCH];
    int n_pending;
    double pending_since;
};

static void task_file(const struct runner *r, const char *kind, int task, char *path,
                      size_t len)
{
    snprintf(path, len, "%s/%s_%06d.bin", r->ckpt_dir, kind, task);
}

/* Rank 0: the pending done files onto the disk in one flush; only then is
 * each task's running state no longer needed (until then a crash resumes
 * it from that state, to the same result). */
static void flush_done(struct runner *r)
{
    if (r->n_pending == 0)
        return;
    char path[BL_PATH_MAX + 64], err[BL_ERR_MAX];
    if (bl_blobs_commit(r->pending, r->n_pending, err, sizeof err))
        bl_fatal_now(BL_EXIT_RUNTIME, "%s", err);
    for (int i = 0; i < r->n_pending; i++) {
        task_file(r, "state", r->pending_task[i], path, sizeof path);
        unlink(path);
    }
    r->n_pending = 0;
}

/* Rank 0: a finished task goes to its done file (the durable copy, flushed
 * with others within DONE_FLUSH_SECONDS), and into the output. */
static void store_result(struct runner *r, int task, const double *payload, long n,
                         int write_done_file)
{
    const struct bl_plan *plan = r->plan;
    char path[BL_PATH_MAX + 64], err[BL_ERR_MAX];
    if (write_done_file) {
        task_file(r, "done", task, path, sizeof path);
        if (bl_blob_write_pending(path, BL_BLOB_RESULT, payload, n, &r->pending[r->n_pending],
                                  err, sizeof err))
            bl_fatal_now(BL_EXIT_RUNTIME, "%s", err);
        if (r->n_pending == 0)
            r->pending_since = bl_now();
        r->pending_task[r->n_pending++] = task;
        if (r->n_pending == DONE_BATCH)
            flush_done(r);
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
    struct runner *r = ctx;
    double started = bl_now();
    store_result(r, task, payload, n, 1);
    r->store_seconds += bl_now() - started;
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
    if (r->n_pending > 0 && bl_now() - r->pending_since >= DONE_FLUSH_SECONDS) {
        double started = bl_now();
        flush_done(r);
        r->store_seconds += bl_now() - started;
    }
    if (signal_received)
        bl_sched_request_stop();
    double now = bl_now();
    if (now - r->last_line < r->progress_seconds)
        return;
    r->last_line = now;
    double elapsed = now - r->started;
    /* every group's steps in this run, running tasks included (their
     * leaders report them), so a run of a few long tasks shows a rate */
    double trained = bl_sched_steps_reported();
    double rate = trained / elapsed;
    double left_steps = r->plan->total_steps - r->steps_resumed - trained;
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
    if (emergency) /* no messages: the other ranks may be gone */
        return BL_ACTION_STOP;
    r->task_steps++;
    if (signal_received)
        bl_sched_request_stop();
    double now = bl_now();
    if (now - r->last_poll >= POLL_SECONDS) {
        r->last_poll = now;
        if (getppid() != r->parent) { /* mpirun (or the shell) is gone: orphaned */
            emergency = 1;
            return BL_ACTION_STOP;
        }
        if (r->group_leader && now - r->last_report >= r->progress_seconds / 2) {
            r->last_report = now;
            bl_sched_report_steps(r->steps_trained + r->task_steps);
        }
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

/* Below this batch x parameters (about 1.5 MFLOP a step) every GEMM of a
 * step is under OpenBLAS's own threading threshold (m n k < 2^18: it runs
 * them on one thread), so more threads would only wait: one rank of a tiny
 * model on 2 cores spent 20% more CPU time in their sched_yield calls. */
#define BL_TINY_STEP_WORK (1 << 18)

/* The BLAS threads policy: parallel.blas_threads when set; else one thread
 * for tiny steps, and cores / ranks on the node otherwise (ranks that fill
 * the cores run one thread each, so no thread ever spins). Returns the
 * threads per rank, or 0 when the BLAS's own variable decides. */
static int set_blas_threads(const struct bl_config *cfg, const struct bl_plan *plan,
                            int per_node, int rank)
{
    int threads = cfg->parallel.blas_threads;
    if (threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = (int)(cores / per_node);
        if (threads < 1 || plan->max_step_work < BL_TINY_STEP_WORK)
            threads = 1;
    }
    if (bl_blas_set_threads(threads) == 0)
        return threads;
    if (cfg->parallel.blas_threads > 0 && rank == 0)
        bl_info("biaslab: parallel.blas_threads = %d is ignored: the linked BLAS is not "
                "OpenBLAS (set its own variable, e.g. MKL_NUM_THREADS)", threads);
    return 0;
}

/* Remove what the checkpoint directory holds, but the lock (the run holding
 * it is this one), and with whole also the lock and the directory. */
static void remove_checkpoints(const char *dir, int whole)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[BL_PATH_MAX + 300];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            (whole || strcmp(e->d_name, "lock"))) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    closedir(d);
    if (whole)
        rmdir(dir);
}

/* Rank 0: one writer per output. An exclusive flock on <out>.ckpt/lock,
 * held for the run's life (the kernel drops it when the process dies, so a
 * lock left by a killed run is no lock): a second run on the same output is
 * refused before it touches the output, naming the first. Returns 0, or 1
 * with err set. */
static int lock_output(struct runner *r, const char *path, char *err, size_t err_len)
{
    if (mkdir(r->ckpt_dir, 0777) != 0 && errno != EEXIST) {
        snprintf(err, err_len, "cannot create '%s': %s", r->ckpt_dir, strerror(errno));
        return 1;
    }
    char lock_path[BL_PATH_MAX + 64];
    snprintf(lock_path, sizeof lock_path, "%s/lock", r->ckpt_dir);
    int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, err_len, "cannot open '%s': %s", lock_path, strerror(errno));
        return 1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char holder[256] = "";
        ssize_t got = pread(fd, holder, sizeof holder - 1, 0);
        holder[got > 0 ? got : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        snprintf(err, err_len,
                 "another biaslab run is writing '%s' (%s); wait for it to end, or stop it "
                 "(kill -USR1 saves its state), then run this command again to resume it",
                 path, holder[0] ? holder : "its process holds the lock");
        close(fd);
        return 1;
    }
    char host[128] = "?", stamp[64];
    gethostname(host, sizeof host);
    host[sizeof host - 1] = '\0';
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    char text[512];
    int n = snprintf(text, sizeof text, "pid %ld on %s since %s\n", (long)getpid(), host, stamp);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)n, 0) != n) {
        snprintf(err, err_len, "cannot write '%s': %s", lock_path, strerror(errno));
        close(fd);
        return 1;
    }
    r->lock_fd = fd;
    return 0;
}

/* The fingerprints of every data file the plan reads, one line each. */
static char *data_fingerprints(const struct bl_plan *plan, char *err, size_t err_len)
{
    size_t cap = 4096, used = 0;
    char *text = bl_malloc(cap);
    text[0] = '\0';
    char files[4][BL_FILE_MAX], line[BL_FILE_MAX + 128], print[96];
    for (int p = 0; p < plan->n_points; p++) {
        int n = bl_data_files(&plan->points[p].data, files, 4);
        for (int k = 0; k < n; k++) {
            if (bl_file_fingerprint(files[k], print, sizeof print, err, err_len)) {
                free(text);
                return NULL;
            }
            int len = snprintf(line, sizeof line, "%s: %s\n", files[k], print);
            if (strstr(text, line)) /* points may share their data */
                continue;
            if (used + (size_t)len + 1 > cap) {
                cap = 2 * (used + (size_t)len + 1);
                char *bigger = realloc(text, cap);
                if (!bigger)
                    bl_fatal(BL_EXIT_RUNTIME, "out of memory listing the data files");
                text = bigger;
            }
            memcpy(text + used, line, (size_t)len + 1);
            used += (size_t)len;
        }
    }
    return text;
}

/* The first line of `now` that `before` lacks (a changed data file). */
static void changed_line(const char *before, const char *now, char *out, size_t len)
{
    snprintf(out, len, "(the list of files changed)");
    const char *p = now;
    while (*p) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p + 1) : strlen(p);
        char line[BL_FILE_MAX + 128];
        snprintf(line, sizeof line, "%.*s", (int)n, p);
        if (!strstr(before, line)) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(out, len, "%s", line);
            return;
        }
        p += n;
    }
}

/* Rank 0: decide between a fresh start and a resume, create the output, and
 * load the finished tasks of an earlier attempt. order[] receives the tasks
 * still to run; returns their count, or PREPARE_REFUSED (bad input: nothing
 * written) or PREPARE_FAILED (an I/O failure) with err set. */
enum { PREPARE_REFUSED = -1, PREPARE_FAILED = -2 };
static int prepare_output(struct runner *r, const char *path, const struct bl_config *base,
                          const struct bl_run_args *args, const struct bl_par *par, int *order,
                          char *err, size_t err_len)
{
    const struct bl_plan *plan = r->plan;
    if (bl_plan_check_memory(plan, par->group_size, r->node_ranks, err, err_len))
        return PREPARE_REFUSED;
    if (bl_output_check_target(path, args->force, err, err_len) ||
        lock_output(r, path, err, err_len))
        return PREPARE_REFUSED;
    if (args->force) /* the lock is ours now: the old run's state can go */
        remove_checkpoints(r->ckpt_dir, 0);
    char config_path[BL_PATH_MAX + 64];
    snprintf(config_path, sizeof config_path, "%s/config.ini", r->ckpt_dir);
    char *ini = bl_config_ini_string(base);
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
        return PREPARE_REFUSED;
    }
    /* the data the run trained on must be the data a resume trains on */
    char *data = data_fingerprints(plan, err, err_len);
    if (!data) {
        free(ini);
        return PREPARE_REFUSED;
    }
    char data_path[BL_PATH_MAX + 64];
    snprintf(data_path, sizeof data_path, "%s/data.txt", r->ckpt_dir);
    char *before = resume ? bl_text_read(data_path) : NULL;
    if (resume && (!before || strcmp(before, data) != 0)) {
        char what[BL_FILE_MAX + 128];
        changed_line(before ? before : "", data, what, sizeof what);
        snprintf(err, err_len,
                 "the data changed since the interrupted run in '%s' started: now %s. Restore "
                 "the file it trained on to resume it, or pass --force to start over",
                 r->ckpt_dir, what);
        free(before);
        free(data);
        free(ini);
        return PREPARE_REFUSED;
    }
    free(before);
    if (!resume) {
        char format_text[16];
        snprintf(format_text, sizeof format_text, "%d\n", BL_CHECKPOINT_FORMAT);
        if (bl_text_write(format_path, format_text, err, err_len) ||
            bl_text_write(data_path, data, err, err_len) ||
            bl_text_write(config_path, ini, err, err_len)) {
            free(data);
            free(ini);
            return PREPARE_FAILED;
        }
    }
    free(data);
    free(ini);
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    struct bl_run_info info = {args->command_line, par->world_size, par->group_size, r->blas,
                               host[0] ? host : NULL};
    if (bl_output_create(&r->out, path, base, &info, &r->layout, plan->steps, plan->points,
                         err, err_len))
        return PREPARE_FAILED;
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
                       sizeof err) ||
        bl_data_resolve_sizes(&base.data, err, sizeof err))
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
    r.parent = getppid();
    r.group_leader = bl_group_rank(par.group) == 0;
    r.node_ranks = bl_par_node_ranks(); /* collective: every rank calls it */

    int blas_threads = set_blas_threads(&base, &plan, r.node_ranks, rank);
    char blas_line[256];
    bl_blas_describe(blas_line, sizeof blas_line);
    snprintf(r.blas, sizeof r.blas, "%s; %d thread%s per rank", blas_line, blas_threads,
             blas_threads == 1 ? "" : "s");
    if (!blas_threads)
        snprintf(r.blas, sizeof r.blas, "%s; threads as the BLAS's own variables say", blas_line);

    /* only rank 0 touches the output; it tells the others the verdict */
    int *order = bl_malloc(sizeof(int) * (size_t)plan.n_tasks);
    int n_left = 0;
    if (rank == 0)
        n_left = prepare_output(&r, path, &base, args, &par, order, err, sizeof err);
    bl_par_bcast_int(&n_left);
    if (n_left < 0)
        return refuse(rank, n_left == PREPARE_FAILED ? BL_EXIT_RUNTIME : BL_EXIT_USAGE, err);

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
        if (plan.rule_note[0])
            bl_info("biaslab: warning: the sqrt rule leaves its first-order regime at %s",
                    plan.rule_note);
        char advice[512];
        if (bl_blas_core_advice(advice, sizeof advice))
            bl_info("biaslab: %s", advice);
        if (args->slice_count)
            bl_info("biaslab: slice %lld/%lld: %d tasks of this slice to run", args->slice_index,
                    args->slice_count, n_left);
        if (r.resumed)
            bl_info("biaslab: resuming from %s: %d task%s already done, %d to run (interrupted "
                    "ones continue from their saved state)",
                    r.ckpt_dir, r.tasks_resumed, r.tasks_resumed == 1 ? "" : "s", n_left);
    }
    if (rank == 0)
        r.pending = bl_malloc(sizeof(struct bl_pending_blob) * DONE_BATCH);
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
        in_task = 1;
        if (bl_train_task(cfg, bl_task_seed(&plan, task), par.group, &io, &res, err,
                          sizeof err)) {
            fprintf(stderr, "biaslab: error: task %d: %s\n", task, err);
            bl_par_abort(BL_EXIT_RUNTIME);
        }
        in_task = 0;
        r.steps_trained += (double)res.steps_run;
        r.task_steps = 0;
        if (r.group_leader)
            bl_sched_report_steps(r.steps_trained);
        if (emergency) {
            if (rank == 0)
                flush_done(&r); /* the results already in keep their place */
            fprintf(stderr,
                    "biaslab: stopped at once (%s); task %d's state is saved in %s: run the "
                    "same command again to resume\n",
                    signals_seen >= 2 ? "a second signal" : "the launcher is gone", task,
                    r.ckpt_dir);
            fflush(stdout);
            _exit(BL_EXIT_INTERRUPTED);
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
    if (rank == 0) {
        double started = bl_now();
        flush_done(&r);
        r.store_seconds += bl_now() - started;
    }
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
        /* the wall time includes the statistics (every rank computes a share) */
        double stats_started = bl_now();
        bl_output_finish(&r.out);
        bl_par_stats_end();
        remove_checkpoints(r.ckpt_dir, 1); /* the result is in place: nothing to resume */
        char stats_time[32];
        format_seconds(bl_now() - stats_started, stats_time, sizeof stats_time);
        format_seconds(bl_now() - r.started, wall, sizeof wall);
        /* what a rank 0 costs per finished task tells how many ranks it can
         * serve (README, "How many ranks one rank 0 serves") */
        int stored = r.tasks_done - r.tasks_resumed;
        bl_info("biaslab: wrote %s (%d of %d tasks, %.0f steps trained by this run, wall %s, "
                "of which statistics %s; rank 0 stored %d results in %.1f s, %.2f ms each)",
                path, r.tasks_done, plan.n_tasks, r.steps_run, wall, stats_time, stored,
                r.store_seconds, stored > 0 ? 1e3 * r.store_seconds / stored : 0.0);
    } else if (!interrupted) {
        bl_par_stats_serve(); /* rank 0's statistics, a share of every block */
    }
    free(r.pending);
    free(payload);
    free(order);
    bl_plan_free(&plan);
    return interrupted ? BL_EXIT_INTERRUPTED : BL_EXIT_OK;
}
