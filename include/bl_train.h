/* One task: training a model for one (sweep point, seed), recording metrics
 * every measure.every steps. The loop (src/task/train.c) drives the task
 * core (bl_task.h), the optimizer (bl_optim.h) and the measurements
 * (bl_measure.h); the result is one payload laid out by bl_result.h. */
#ifndef BL_TRAIN_H
#define BL_TRAIN_H

#include <stdint.h>

#include "bl_config.h"
#include "bl_metrics.h"
#include "bl_par.h"
#include "bl_result.h"

/* What a task hands back: its payload (every field of the layout) and, for
 * the caller's convenience, the outcomes also as plain fields. */
struct bl_task_result {
    const struct bl_result_layout *layout;
    double *payload;    /* (layout->length) */
    int status;
    long steps_done;
    long resumed_step;  /* the step a checkpoint restored (0: started afresh) */
    long steps_run;     /* optimizer steps taken by this call */
    double wall_seconds;
    long n_params;      /* the task's own parameter count */
    struct bl_result_layout *own_layout; /* made by bl_train_task, or NULL */
    int own_payload;
};

/* A metric of record r, NaN when the layout does not record it. */
double bl_result_metric(const struct bl_task_result *r, enum bl_metric m, long record);
/* The saved final parameters (n_params of them), or NULL. */
const double *bl_result_params(const struct bl_task_result *r);

/* Records are taken at steps 0, every, 2 every, ... and at the last step. */
long bl_record_count(const struct bl_optim_cfg *optim, const struct bl_measure_cfg *measure);
long bl_record_step(const struct bl_optim_cfg *optim, const struct bl_measure_cfg *measure,
                    long record);

/* What the run asks of a task at a step boundary. */
enum bl_action { BL_ACTION_CONTINUE = 0, BL_ACTION_CHECKPOINT = 1, BL_ACTION_STOP = 2 };

/* Called before every training step; returns a bl_action. The ranks of a
 * group agree on the largest action any of them asked for. */
typedef int (*bl_step_hook)(void *ctx);

struct bl_train_io {
    bl_step_hook hook;           /* may be NULL */
    void *hook_ctx;
    const char *checkpoint_path; /* resume from it if it exists, save to it on
                                  * CHECKPOINT and STOP; NULL = no checkpoints */
    /* the run's layout and a payload buffer to fill; NULL: bl_train_task
     * makes both for cfg alone (tests, bench) */
    const struct bl_result_layout *layout;
    double *payload;
};

/* Train cfg (one sweep point's config) for seed on group g (NULL = alone).
 * Fills res; an interrupted task has status BL_STATUS_INTERRUPTED and its
 * checkpoint saved. Returns 0, or non-zero with err set when the task cannot
 * start (including a corrupt or mismatched checkpoint). */
int bl_train_task(const struct bl_config *cfg, uint64_t seed, const struct bl_group *g,
                  const struct bl_train_io *io, struct bl_task_result *res, char *err,
                  unsigned long err_len);
void bl_task_result_free(struct bl_task_result *res);

#endif
