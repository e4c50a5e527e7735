/* The plan of a run: sweep points x seeds -> tasks, the order in which they
 * are handed out, and what each needs. */
#ifndef BL_PLAN_H
#define BL_PLAN_H

#include <stdint.h>

#include "bl_config.h"

struct bl_plan {
    int n_points, n_seeds, n_tasks;
    struct bl_config *points; /* (n_points) resolved config of each point */
    double *cost;             /* (n_points) relative cost of one task of each point */
    long n_records;
    long *steps;              /* (n_records) step of each record */
    long max_params;          /* largest model over the points */
    double max_step_work;     /* largest batch x parameters over the points: how big a
                               * step's GEMMs are (the BLAS thread policy) */
    char layout[512];         /* parameter layout of the largest model */
    double total_steps;       /* sum of optimizer steps over all tasks */
    char data_note[1024];     /* what the data loaders want said once, or "" */
    int resolved_rule;        /* the points were resolved by optim.scaling_rule or svag_l */
    char rule_note[1024];     /* optim.scaling_rule: the points whose kappa (1 - beta) > 0.1
                               * (the rule's first-order regime is left), or "" */
};

/* Task id t is (point t / n_seeds, seed index t % n_seeds). */
static inline int bl_task_point(const struct bl_plan *p, int task) { return task / p->n_seeds; }
static inline int bl_task_seed_index(const struct bl_plan *p, int task)
{
    return task % p->n_seeds;
}
/* The RNG seed of a task: first_seed + seed index (the same across points, so
 * points are compared on the same data and initializations). */
uint64_t bl_task_seed(const struct bl_plan *p, int task);

/* Build the plan; returns non-zero with err set when the sweep changes what
 * all points must share (the record axis), or the counts do not fit. Work
 * and memory grow with the points, not the tasks. */
int bl_plan_make(const struct bl_config *base, struct bl_plan *plan, char *err,
                 unsigned long err_len);
void bl_plan_free(struct bl_plan *plan);

/* The order in which a run hands out its tasks, most expensive first:
 * points by cost descending (ties by point index), each point's seeds
 * ascending. Returns (n_tasks) task ids; the caller frees them. */
int *bl_plan_order(const struct bl_plan *plan);

/* Refuse --slice K/N (0 <= K < N already) with N beyond the plan's tasks:
 * returns non-zero with err naming the allowed range. */
int bl_plan_check_slice(const struct bl_plan *plan, long long k, long long n, char *err,
                        unsigned long err_len);

/* Bytes one rank needs for the task of point p with group_size ranks. */
double bl_plan_task_bytes(const struct bl_config *point_cfg, int group_size);

/* Refuse a plan whose largest task and the plan itself need more memory per
 * rank than this machine has for ranks_per_node ranks (with rank 0's task
 * queue and statistics): returns non-zero with err giving the estimate and
 * the machine's memory. */
int bl_plan_check_memory(const struct bl_plan *plan, int group_size, int ranks_per_node,
                         char *err, unsigned long err_len);

/* Print the plan (`biaslab check`): points, seeds, groups, tasks per group,
 * memory per rank. */
void bl_plan_print(const struct bl_plan *plan, int ranks, int group_size);

#endif
