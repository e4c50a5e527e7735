/* The only interface to MPI. Communicators, group reductions, the task
 * scheduler and the messages that carry results to rank 0 live in par.c;
 * everything else sees a group only through these functions, and a NULL
 * group means "this process alone" so the math runs without MPI. */
#ifndef BL_PAR_H
#define BL_PAR_H

struct bl_group; /* the ranks that train one task together */

struct bl_par {
    int world_rank, world_size;
    int group_size, n_groups, group_index;
    struct bl_group *group; /* this rank's group */
};

/* MPI_Init and the group split (group_size ranks each, consecutive ranks). */
void bl_par_init(int *argc, char ***argv);
int bl_par_world_rank(void);
int bl_par_world_size(void);
/* Split into groups; returns 0, or non-zero when world_size is not a
 * multiple of group_size (err says so). */
int bl_par_make_groups(struct bl_par *par, int group_size, char *err, unsigned long err_len);
void bl_par_finalize(void);
/* Every rank leaves with this code; used when all ranks know they must stop
 * (they parsed the same bad config), so no MPI_Abort is needed. */
void bl_par_exit(int code) __attribute__((noreturn));
/* Abort every rank: only where ranks cannot agree to stop. */
void bl_par_abort(int code) __attribute__((noreturn));

/* Ranks of this job on this node (to size OpenBLAS threads). */
int bl_par_node_ranks(void);

/* Broadcast from world rank 0. */
void bl_par_bcast_int(int *value);
/* World-wide maximum of one double. */
double bl_par_world_max(double value);

int bl_group_size(const struct bl_group *g);
int bl_group_rank(const struct bl_group *g);
/* A BLACS system context over the group's ranks (for ScaLAPACK grids of one
 * group), or -1 for a NULL group (no MPI). */
int bl_group_blacs_context(const struct bl_group *g);

/* In-place sum / max over the group; a no-op for a NULL or 1-rank group.
 * Every rank of the group must call with the same n. */
void bl_group_sum(const struct bl_group *g, double *buf, long n);
void bl_group_max(const struct bl_group *g, double *buf, long n);

/* ---- task scheduling: rank 0 hands out task ids and collects results ---- */

/* Called on rank 0 for every finished task, in arrival order. */
typedef void (*bl_result_fn)(void *ctx, int task, const double *payload, long n_doubles);
/* Called on rank 0 now and then with tasks done so far (progress lines). */
typedef void (*bl_progress_fn)(void *ctx, int tasks_done);

/* Start scheduling n_tasks tasks in the order given (rank 0 only keeps it).
 * max_doubles bounds a result payload. */
void bl_sched_start(const int *order, int n_tasks, long max_doubles, bl_result_fn on_result,
                    bl_progress_fn on_progress, void *ctx);
/* The next task for this rank's group, or -1 when none is left. Collective
 * over the group: the group's first rank asks rank 0, then tells the group. */
int bl_sched_next(const struct bl_par *par);
/* Send a finished task's payload to rank 0 (group leader only; on rank 0 it
 * is handed to on_result directly). */
void bl_sched_submit(const struct bl_par *par, int task, const double *payload, long n);
/* Rank 0: answer requests and take results that are waiting, without
 * blocking. Cheap enough to call every training step. */
void bl_sched_poll(void);
/* Rank 0: after its own group is done, serve until every group has been
 * told there is no more work or has reported that it stopped. Other ranks
 * return at once. */
void bl_sched_finish(void);

/* Progress of running tasks: a group leader reports the optimizer steps
 * its group has taken in this run (finished and running tasks), now and
 * then; rank 0 sums the latest report of every rank. */
void bl_sched_report_steps(double steps);
double bl_sched_steps_reported(void);

/* Ask every group to stop at its next step boundary (a signal arrived).
 * On rank 0 this tells all ranks; elsewhere the group leader reports it to
 * rank 0 at its next task boundary, and rank 0 then tells all. */
void bl_sched_request_stop(void);
/* Whether a stop was requested here or announced by rank 0 (checks for the
 * announcement without blocking). */
int bl_sched_stopping(void);

/* ---- end-of-run statistics, spread over every rank ---- */

/* Rank 0: bl_stats_columns of x (n, cols) (bootstrap key BL_BOOTSTRAP_SEED)
 * into stats (cols, BL_STAT_COUNT) and finite[cols], the columns dealt out
 * in contiguous ranges of whole lanes to every rank (the others wait in
 * bl_par_stats_serve). A column's statistics come from the same code
 * wherever it lands, so they are bitwise those of one rank. Without MPI
 * (merge) or on one rank everything runs here. */
void bl_par_stats_columns(const double *x, int n, int cols, double *stats, int *finite);
/* Ranks but 0: take part in every block rank 0 sends, until bl_par_stats_end. */
void bl_par_stats_serve(void);
/* Rank 0: no more blocks. */
void bl_par_stats_end(void);

#endif
