/* The only file that calls MPI.
 *
 * Groups: consecutive world ranks, group_size each. A group trains one task
 * at a time; its ranks reduce gradients and evaluation sums in place.
 *
 * Scheduling: rank 0 keeps the queue of task ids and also trains in group 0.
 * A group's first rank (its leader) asks rank 0 for a task and broadcasts
 * the answer to its group; when a task ends the leader sends the result to
 * rank 0, which hands it to the writer as it arrives. Rank 0 answers between
 * its own training steps (bl_sched_poll), so no rank is ever idle waiting
 * for a dedicated master. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bl_log.h"
#include "bl_par.h"
#include "bl_stats.h"

enum { TAG_REQUEST = 1, TAG_ASSIGN = 2, TAG_RESULT = 3, TAG_STOP = 4, TAG_STOPPED = 5,
       TAG_PROGRESS = 6 };

struct bl_group {
    MPI_Comm comm;
    int size, rank;
};

static struct bl_group my_group;

static struct {
    MPI_Comm comm;         /* a duplicate of MPI_COMM_WORLD for scheduler messages */
    const int *order;      /* rank 0: task ids in the order they are handed out */
    int n_tasks;
    int next;              /* rank 0: next position in order */
    int results_in;        /* rank 0: results received */
    int leaders_done;      /* rank 0: groups that will send nothing more */
    int n_leaders;
    int stopping;          /* a stop was requested (signal, or rank 0 said so) */
    long max_doubles;
    double *buffer;        /* (max_doubles + 1) message buffer: task id, payload */
    bl_result_fn on_result;
    bl_progress_fn on_progress;
    void *ctx;
    int group_size;
    double *steps_of;      /* rank 0: (world size) steps each rank reported */
} sched;

static void check(int rc, const char *what)
{
    if (rc != MPI_SUCCESS) {
        char text[MPI_MAX_ERROR_STRING];
        int len = 0;
        MPI_Error_string(rc, text, &len);
        fprintf(stderr, "biaslab: MPI error in %s: %s\n", what, text);
        MPI_Abort(MPI_COMM_WORLD, BL_EXIT_RUNTIME);
    }
}

void bl_par_init(int *argc, char ***argv)
{
    check(MPI_Init(argc, argv), "MPI_Init");
    my_group.comm = MPI_COMM_NULL;
    check(MPI_Comm_dup(MPI_COMM_WORLD, &sched.comm), "MPI_Comm_dup");
}

int bl_par_world_rank(void)
{
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank;
}

int bl_par_world_size(void)
{
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    return size;
}

int bl_par_make_groups(struct bl_par *par, int group_size, char *err, unsigned long err_len)
{
    par->world_rank = bl_par_world_rank();
    par->world_size = bl_par_world_size();
    if (par->world_size % group_size != 0) {
        snprintf(err, err_len,
                 "parallel.group_size = %d does not divide the %d MPI ranks; run with a "
                 "multiple of %d ranks or change group_size",
                 group_size, par->world_size, group_size);
        return 1;
    }
    par->group_size = group_size;
    par->n_groups = par->world_size / group_size;
    par->group_index = par->world_rank / group_size;
    check(MPI_Comm_split(MPI_COMM_WORLD, par->group_index, par->world_rank, &my_group.comm),
          "MPI_Comm_split");
    MPI_Comm_size(my_group.comm, &my_group.size);
    MPI_Comm_rank(my_group.comm, &my_group.rank);
    par->group = &my_group;
    return 0;
}

void bl_par_finalize(void)
{
    free(sched.buffer);
    sched.buffer = NULL;
    if (my_group.comm != MPI_COMM_NULL)
        MPI_Comm_free(&my_group.comm);
    MPI_Comm_free(&sched.comm);
    MPI_Finalize();
}

void bl_par_exit(int code)
{
    bl_par_finalize();
    exit(code);
}

void bl_par_abort(int code)
{
    MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

int bl_par_node_ranks(void)
{
    MPI_Comm node;
    int size = 1;
    check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node),
          "MPI_Comm_split_type");
    MPI_Comm_size(node, &size);
    MPI_Comm_free(&node);
    return size;
}

void bl_par_bcast_int(int *value)
{
    check(MPI_Bcast(value, 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Bcast");
}

double bl_par_world_max(double value)
{
    check(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD),
          "MPI_Allreduce");
    return value;
}

/* BLACS's C interface: a system context for an MPI communicator. */
extern int Csys2blacs_handle(MPI_Comm comm);

int bl_group_blacs_context(const struct bl_group *g)
{
    return g ? Csys2blacs_handle(g->comm) : -1;
}

int bl_group_size(const struct bl_group *g) { return g ? g->size : 1; }
int bl_group_rank(const struct bl_group *g) { return g ? g->rank : 0; }

static void group_reduce(const struct bl_group *g, double *buf, long n, MPI_Op op)
{
    if (!g || g->size == 1)
        return;
    /* counts are int in MPI: reduce long vectors in pieces */
    const long piece = 1L << 30;
    for (long start = 0; start < n; start += piece) {
        int count = (int)(n - start < piece ? n - start : piece);
        check(MPI_Allreduce(MPI_IN_PLACE, buf + start, count, MPI_DOUBLE, op, g->comm),
              "MPI_Allreduce (group)");
    }
}

void bl_group_sum(const struct bl_group *g, double *buf, long n)
{
    group_reduce(g, buf, n, MPI_SUM);
}

void bl_group_max(const struct bl_group *g, double *buf, long n)
{
    group_reduce(g, buf, n, MPI_MAX);
}

void bl_sched_start(const int *order, int n_tasks, long max_doubles, bl_result_fn on_result,
                    bl_progress_fn on_progress, void *ctx)
{
    sched.order = order;
    sched.n_tasks = n_tasks;
    sched.next = 0;
    sched.results_in = 0;
    sched.leaders_done = 0;
    sched.stopping = 0;
    sched.group_size = my_group.size;
    sched.n_leaders = bl_par_world_size() / my_group.size;
    sched.max_doubles = max_doubles;
    sched.buffer = bl_malloc(sizeof(double) * (size_t)(max_doubles + 1));
    sched.on_result = on_result;
    sched.on_progress = on_progress;
    sched.ctx = ctx;
    if (bl_par_world_rank() == 0)
        sched.steps_of = bl_calloc((size_t)bl_par_world_size(), sizeof(double));
}

void bl_sched_report_steps(double steps)
{
    if (bl_par_world_rank() == 0) {
        sched.steps_of[0] = steps;
        return;
    }
    /* one double: sent eagerly, rank 0 takes it at its next poll */
    check(MPI_Send(&steps, 1, MPI_DOUBLE, 0, TAG_PROGRESS, sched.comm), "MPI_Send (progress)");
}

double bl_sched_steps_reported(void)
{
    double sum = 0;
    for (int r = 0; sched.steps_of && r < bl_par_world_size(); r++)
        sum += sched.steps_of[r];
    return sum;
}

/* Rank 0: the next task id, or -1 (and one more group done). */
static int pop_task(void)
{
    if (!sched.stopping && sched.next < sched.n_tasks)
        return sched.order[sched.next++];
    sched.leaders_done++;
    return -1;
}

void bl_sched_request_stop(void)
{
    if (sched.stopping)
        return;
    sched.stopping = 1;
    if (bl_par_world_rank() != 0)
        return; /* the group leader reports it to rank 0 at its next task boundary */
    /* tell every rank, so groups that were not signalled stop too */
    int size = bl_par_world_size(), one = 1;
    for (int r = 1; r < size; r++)
        check(MPI_Send(&one, 1, MPI_INT, r, TAG_STOP, sched.comm), "MPI_Send (stop)");
}

int bl_sched_stopping(void)
{
    if (!sched.stopping && bl_par_world_rank() != 0) {
        int flag = 0;
        check(MPI_Iprobe(0, TAG_STOP, sched.comm, &flag, MPI_STATUS_IGNORE), "MPI_Iprobe");
        if (flag) {
            int unused;
            check(MPI_Recv(&unused, 1, MPI_INT, 0, TAG_STOP, sched.comm, MPI_STATUS_IGNORE),
                  "MPI_Recv (stop)");
            sched.stopping = 1;
        }
    }
    return sched.stopping;
}

static void handle_message(const MPI_Status *st)
{
    if (st->MPI_TAG == TAG_PROGRESS) {
        double steps;
        check(MPI_Recv(&steps, 1, MPI_DOUBLE, st->MPI_SOURCE, TAG_PROGRESS, sched.comm,
                       MPI_STATUS_IGNORE),
              "MPI_Recv (progress)");
        sched.steps_of[st->MPI_SOURCE] = steps;
        return;
    }
    if (st->MPI_TAG == TAG_STOPPED) {
        int unused;
        check(MPI_Recv(&unused, 1, MPI_INT, st->MPI_SOURCE, TAG_STOPPED, sched.comm,
                       MPI_STATUS_IGNORE),
              "MPI_Recv (stopped)");
        sched.leaders_done++;
        bl_sched_request_stop();
        return;
    }
    if (st->MPI_TAG == TAG_REQUEST) {
        int unused;
        check(MPI_Recv(&unused, 1, MPI_INT, st->MPI_SOURCE, TAG_REQUEST, sched.comm,
                       MPI_STATUS_IGNORE),
              "MPI_Recv (request)");
        int task = pop_task();
        check(MPI_Send(&task, 1, MPI_INT, st->MPI_SOURCE, TAG_ASSIGN, sched.comm),
              "MPI_Send (assign)");
        return;
    }
    int count = 0;
    MPI_Get_count(st, MPI_DOUBLE, &count);
    if (count < 1 || count > sched.max_doubles + 1)
        bl_fatal_at(__FILE__, __LINE__, "result message of %d doubles from rank %d", count,
                    st->MPI_SOURCE);
    check(MPI_Recv(sched.buffer, count, MPI_DOUBLE, st->MPI_SOURCE, TAG_RESULT, sched.comm,
                   MPI_STATUS_IGNORE),
          "MPI_Recv (result)");
    sched.results_in++;
    sched.on_result(sched.ctx, (int)sched.buffer[0], sched.buffer + 1, count - 1);
}

void bl_sched_poll(void)
{
    for (;;) {
        int flag = 0;
        MPI_Status st;
        check(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, sched.comm, &flag, &st), "MPI_Iprobe");
        if (!flag)
            break;
        handle_message(&st);
    }
    if (sched.on_progress)
        sched.on_progress(sched.ctx, sched.results_in);
}

int bl_sched_next(const struct bl_par *par)
{
    int task = -1;
    if (my_group.rank == 0) {
        if (par->world_rank == 0) {
            task = pop_task();
        } else if (bl_sched_stopping()) {
            int stopped = 1;
            check(MPI_Send(&stopped, 1, MPI_INT, 0, TAG_STOPPED, sched.comm),
                  "MPI_Send (stopped)");
        } else {
            int request = 0;
            check(MPI_Send(&request, 1, MPI_INT, 0, TAG_REQUEST, sched.comm),
                  "MPI_Send (request)");
            check(MPI_Recv(&task, 1, MPI_INT, 0, TAG_ASSIGN, sched.comm, MPI_STATUS_IGNORE),
                  "MPI_Recv (assign)");
        }
    }
    if (my_group.size > 1)
        check(MPI_Bcast(&task, 1, MPI_INT, 0, my_group.comm), "MPI_Bcast (task)");
    return task;
}

void bl_sched_submit(const struct bl_par *par, int task, const double *payload, long n)
{
    if (my_group.rank != 0)
        return;
    if (n > sched.max_doubles)
        bl_fatal_at(__FILE__, __LINE__, "result of %ld doubles exceeds %ld", n,
                    sched.max_doubles);
    if (par->world_rank == 0) {
        sched.results_in++;
        sched.on_result(sched.ctx, task, payload, n);
        return;
    }
    sched.buffer[0] = task;
    memcpy(sched.buffer + 1, payload, sizeof(double) * (size_t)n);
    check(MPI_Send(sched.buffer, (int)(n + 1), MPI_DOUBLE, 0, TAG_RESULT, sched.comm),
          "MPI_Send (result)");
}

void bl_sched_finish(void)
{
    if (bl_par_world_rank() != 0)
        return;
    while (sched.leaders_done < sched.n_leaders) {
        int flag = 0;
        MPI_Status st;
        check(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, sched.comm, &flag, &st), "MPI_Iprobe");
        if (flag) {
            handle_message(&st);
            continue;
        }
        if (sched.on_progress)
            sched.on_progress(sched.ctx, sched.results_in);
        /* nothing waiting: sleep a little rather than spin on a shared core */
        struct timespec pause = {0, 2000000};
        nanosleep(&pause, NULL);
    }
}

/* ---- end-of-run statistics over every rank ---- */

/* Each rank's scratch for its share of a block, grown as blocks need
 * (blocks of one run all have the same shape: allocated once). */
static struct {
    struct bl_bootstrap_draws draws; /* for the block's n, when it fits */
    double *x;                       /* ranks but 0: (n, cols) the block */
    double *work, *stats;            /* bl_stats_columns' work; (share, BL_STAT_COUNT) */
    int *finite;                     /* (share) */
    size_t x_len, work_len, stats_len, finite_len; /* what each holds */
} stats_scratch;

static void *grown(void *p, size_t *len, size_t need, size_t size)
{
    if (need <= *len)
        return p;
    free(p);
    *len = need;
    return bl_malloc(size * need);
}

/* Columns [*lo, *hi) of cols for rank of size: contiguous, whole lanes,
 * the lanes shared as evenly as they go. */
static void column_share(int cols, int rank, int size, int *lo, int *hi)
{
    long lanes = (cols + BL_STATS_LANES - 1) / BL_STATS_LANES;
    long a = lanes * rank / size * BL_STATS_LANES, b = lanes * (rank + 1) / size * BL_STATS_LANES;
    *lo = (int)(a < cols ? a : cols);
    *hi = (int)(b < cols ? b : cols);
}

/* This rank's columns of x (n, cols) into the scratch's stats and finite. */
static void share_statistics(const double *x, int n, int cols, int lo, int hi)
{
    struct bl_bootstrap_draws *d = &stats_scratch.draws;
    /* the draws for n values: 2000 n indices, up to 2^25 (128 MB: 16777
     * seeds); beyond that each column draws its own, as fast as before */
    if (d->capacity < n && (long)BL_BOOTSTRAP_RESAMPLES * n <= (1L << 25)) {
        free(d->idx);
        d->idx = bl_malloc(sizeof(int32_t) * (size_t)BL_BOOTSTRAP_RESAMPLES * n);
        d->capacity = n;
        d->n = 0;
    }
    int share = hi - lo;
    stats_scratch.work = grown(stats_scratch.work, &stats_scratch.work_len,
                               bl_stats_columns_work_doubles(n, share), sizeof(double));
    stats_scratch.stats = grown(stats_scratch.stats, &stats_scratch.stats_len,
                                (size_t)share * BL_STAT_COUNT + 1, sizeof(double));
    stats_scratch.finite = grown(stats_scratch.finite, &stats_scratch.finite_len,
                                 (size_t)share + 1, sizeof(int));
    if (share > 0)
        bl_stats_columns(x + lo, n, share, cols, BL_BOOTSTRAP_SEED, d->capacity ? d : NULL,
                         stats_scratch.stats, stats_scratch.finite, stats_scratch.work);
}

/* x (count) from world rank 0, in pieces MPI's int counts can hold. */
static void bcast_doubles(double *x, size_t count)
{
    const size_t piece = (size_t)1 << 30;
    for (size_t at = 0; at < count; at += piece) {
        size_t k = count - at < piece ? count - at : piece;
        check(MPI_Bcast(x + at, (int)k, MPI_DOUBLE, 0, MPI_COMM_WORLD), "MPI_Bcast (block)");
    }
}

/* One block, on every rank: header[] = {n, cols} already known; x on rank 0. */
static void block_statistics(const double *x, int n, int cols, double *stats, int *finite)
{
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int lo, hi;
    column_share(cols, rank, size, &lo, &hi);
    share_statistics(x, n, cols, lo, hi);
    int counts[size], offsets[size], stat_counts[size], stat_offsets[size];
    for (int k = 0; k < size; k++) {
        int a, b;
        column_share(cols, k, size, &a, &b);
        counts[k] = b - a, offsets[k] = a;
        stat_counts[k] = (b - a) * BL_STAT_COUNT, stat_offsets[k] = a * BL_STAT_COUNT;
    }
    check(MPI_Gatherv(stats_scratch.stats, stat_counts[rank], MPI_DOUBLE, stats, stat_counts,
                      stat_offsets, MPI_DOUBLE, 0, MPI_COMM_WORLD),
          "MPI_Gatherv (statistics)");
    check(MPI_Gatherv(stats_scratch.finite, counts[rank], MPI_INT, finite, counts, offsets,
                      MPI_INT, 0, MPI_COMM_WORLD),
          "MPI_Gatherv (counts)");
}

static int world_size_or_one(void)
{
    int initialized = 0, finalized = 0, size = 1;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (initialized && !finalized)
        MPI_Comm_size(MPI_COMM_WORLD, &size);
    return size;
}

void bl_par_stats_columns(const double *x, int n, int cols, double *stats, int *finite)
{
    if (world_size_or_one() == 1) {
        share_statistics(x, n, cols, 0, cols);
        memcpy(stats, stats_scratch.stats, sizeof(double) * (size_t)cols * BL_STAT_COUNT);
        memcpy(finite, stats_scratch.finite, sizeof(int) * (size_t)cols);
        return;
    }
    int header[2] = {n, cols};
    check(MPI_Bcast(header, 2, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Bcast (block header)");
    bcast_doubles((double *)x, (size_t)n * cols);
    block_statistics(x, n, cols, stats, finite);
}

void bl_par_stats_serve(void)
{
    for (;;) {
        int header[2];
        check(MPI_Bcast(header, 2, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Bcast (block header)");
        if (header[1] == 0)
            break;
        int n = header[0], cols = header[1];
        stats_scratch.x = grown(stats_scratch.x, &stats_scratch.x_len, (size_t)n * cols,
                                sizeof(double));
        bcast_doubles(stats_scratch.x, (size_t)n * cols);
        block_statistics(stats_scratch.x, n, cols, NULL, NULL);
    }
}

void bl_par_stats_end(void)
{
    if (world_size_or_one() > 1) {
        int header[2] = {0, 0};
        check(MPI_Bcast(header, 2, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Bcast (block header)");
    }
}
