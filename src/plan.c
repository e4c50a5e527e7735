/* Sweep points x seeds -> tasks, ordered longest first so that the dynamic
 * hand-out in par.c balances groups well (the classic LPT rule). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bl_data.h"
#include "bl_log.h"
#include "bl_metrics.h"
#include "bl_model.h"
#include "bl_optim.h"
#include "bl_plan.h"
#include "bl_stats.h"
#include "bl_train.h"

uint64_t bl_task_seed(const struct bl_plan *p, int task)
{
    return (uint64_t)p->points[0].experiment.first_seed + (uint64_t)bl_task_seed_index(p, task);
}

/* Parameters of a point's model (and its layout text when asked); -1 with
 * err set when the model cannot be built. */
static long model_params(const struct bl_config *cfg, char *layout, size_t len, char *err,
                         size_t err_len)
{
    struct bl_model m;
    if (bl_model_build(&m, &cfg->model, cfg->data.dim,
                       bl_data_outputs(&cfg->data, cfg->loss.kind), err, err_len))
        return -1;
    if (layout)
        bl_model_layout(&m, layout, len);
    long n = m.n_params;
    bl_model_free(&m);
    return n;
}

/* The memory of a point's task: its model's parameters, workspace and
 * optimizer state, as the model and optimizer report them. */
static double model_bytes(const struct bl_config *cfg, double shard, int loss_based)
{
    struct bl_model m;
    char err[BL_ERR_MAX];
    if (bl_model_build(&m, &cfg->model, cfg->data.dim,
                       bl_data_outputs(&cfg->data, cfg->loss.kind), err, sizeof err))
        return 0;
    double P = (double)m.n_params;
    const struct bl_optimizer *opt = bl_optimizer_of(cfg->optim.kind);
    /* theta, grad, chunk grad, the optimizer's state; loss_based keeps a copy
     * of theta, the gradient and that state */
    double vectors = 3 * P + bl_optim_state_doubles(opt, (long)P);
    if (loss_based)
        vectors += 2 * P + bl_optim_state_doubles(opt, (long)P);
    if (cfg->optim.svag_l > 1) /* the first batch's gradient */
        vectors += P;
    double bytes = 8 * vectors + bl_workspace_bytes(&m, (int)shard, bl_model_has_hvp(&m));
    bl_model_free(&m);
    return bytes;
}

/* Relative cost of a point's task: steps x examples per step x parameters. */
static double task_cost(const struct bl_config *cfg, long params)
{
    double batch = cfg->optim.batch_size ? cfg->optim.batch_size : cfg->data.n_train;
    return (double)cfg->optim.steps * batch * (double)params;
}

/* measure.reference = svm compares a linear predictor with the binary
 * hard-margin SVM: the model must have a margin reference, on binary data. */
static int reference_refused(const struct bl_config *cfg, char *err, size_t err_len)
{
    struct bl_model m;
    if (bl_model_build(&m, &cfg->model, cfg->data.dim,
                       bl_data_outputs(&cfg->data, cfg->loss.kind), err, err_len))
        return 1;
    double slope;
    /* a diagonal net compares with the max-L2 and max-L1-margin classifiers */
    int diag = m.ops->l1_l2_references;
    int ok = (diag || bl_model_margin_reference(&m, &slope) != BL_MARGIN_NONE) &&
             cfg->loss.kind != BL_LOSS_CROSS_ENTROPY && cfg->data.classes == 2 &&
             cfg->data.targets == 0;
    bl_model_free(&m);
    if (!ok)
        snprintf(err, err_len,
                 "measure.reference = svm compares a linear predictor with the binary "
                 "hard-margin SVM: it needs data.classes = 2 with a logistic, exponential "
                 "or squared loss, and model.kind = linear, diag_linear (also the "
                 "max-L1-margin classifier) or model.depth = 2");
    return !ok;
}

/* measure.compare names metrics that some point records. */
static int compare_refused(const struct bl_plan *plan, const struct bl_config *base, char *err,
                           size_t err_len)
{
    int ids[BL_MAX_COMPARE];
    char why[256];
    int n = bl_metric_parse_list(base->measure.compare, ids, BL_MAX_COMPARE, why, sizeof why);
    if (n < 0) {
        snprintf(err, err_len, "measure.compare: %s", why);
        return 1;
    }
    int recorded[BL_MAX_COMPARE] = {0}; /* some point records metric ids[i] */
    for (int p = 0; p < plan->n_points && n > 0; p++) {
        const struct bl_config *c = &plan->points[p];
        struct bl_model m;
        if (bl_model_build(&m, &c->model, c->data.dim, bl_data_outputs(&c->data, c->loss.kind),
                           err, err_len))
            return 1;
        for (int i = 0; i < n; i++)
            recorded[i] |= bl_metric_applies(ids[i], c, &m);
        bl_model_free(&m);
    }
    for (int i = 0; i < n; i++)
        if (!recorded[i]) {
            snprintf(err, err_len, "measure.compare: this run does not record %s (see the "
                     "README's metric table for what each metric needs)",
                     bl_metric_table[ids[i]].name);
            return 1;
        }
    return 0;
}

/* What is physically there, or 0 when the system does not say. */
static double machine_bytes(void)
{
    double bytes = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    return bytes > 0 ? bytes : 0;
}

/* optim.scaling_rule: every point sees the same data (its records are at the
 * same epochs), and a point with kappa (1 - beta) > 0.1 is noted: the sqrt
 * rule is a first-order statement in 1 - beta. */
static int rule_point(const struct bl_config *base, const struct bl_config *point, int p,
                      struct bl_plan *plan, char *err, unsigned long err_len)
{
    if (point->data.n_train != plan->points[0].data.n_train) {
        snprintf(err, err_len,
                 "optim.scaling_rule compares batch sizes at the same epochs, so every point "
                 "needs the same data.n_train (point %d has %d, point 0 %d)",
                 p, point->data.n_train, plan->points[0].data.n_train);
        return 1;
    }
    if (base->optim.scaling_rule != BL_RULE_SQRT)
        return 0;
    double kappa = (double)point->optim.batch_size / base->optim.base_batch_size;
    const double beta[2] = {base->optim.beta1, base->optim.beta2};
    for (int k = base->optim.kind == BL_OPT_RMSPROP; k < 2; k++) {
        if (!(kappa * (1 - beta[k]) > 0.1))
            continue;
        size_t used = strlen(plan->rule_note);
        snprintf(plan->rule_note + used, sizeof plan->rule_note - used,
                 "%spoint %d: kappa = %g, kappa (1 - beta%d) = %g > 0.1 (beta%d %g -> %g)",
                 used ? "; " : "", p, kappa, k + 1, kappa * (1 - beta[k]), k + 1, beta[k],
                 k ? point->optim.beta2 : point->optim.beta1);
    }
    return 0;
}

int bl_plan_make(const struct bl_config *base, struct bl_plan *plan, char *err,
                 unsigned long err_len)
{
    memset(plan, 0, sizeof *plan);
    for (int k = 0; k < base->n_sweep; k++) {
        const char *key = base->sweep[k].key;
        int no_rule = base->optim.scaling_rule == BL_RULE_NONE;
        for (int v = 0; v < base->sweep[k].n_values && !no_rule; v++)
            no_rule = !strcmp(base->sweep[k].values[v], "none");
        if (!strcmp(key, "optim.scaling_rule") && no_rule) {
            snprintf(err, err_len,
                     "[sweep] optim.scaling_rule: every point must follow a rule (linear, sqrt), "
                     "and optim.scaling_rule itself must name one: the points then share the "
                     "record axis in epochs");
            return 1;
        }
        if (!strcmp(key, "optim.steps") || !strncmp(key, "measure.", 8)) {
            snprintf(err, err_len,
                     "[sweep] %s: all points share one record axis, so optim.steps and "
                     "measure.* cannot be swept; run one experiment per value instead",
                     key);
            return 1;
        }
    }
    const struct bl_model_cfg *mc = &base->model;
    if ((mc->normalize || !mc->train_last) && mc->bias) {
        snprintf(err, err_len,
                 "model.normalize = true and model.train_last = false need model.bias = false "
                 "(a bias breaks the scale invariance they are for)");
        return 1;
    }
    /* a loaded config is within these; one built in code may not be */
    long points = bl_config_n_points(base);
    long long tasks = bl_config_n_tasks(base);
    if (points > BL_MAX_SWEEP_POINTS || tasks > BL_MAX_TASKS) {
        snprintf(err, err_len,
                 "%ld sweep points x %d seeds make %lld tasks; a run has at most %ld points "
                 "and %ld tasks",
                 points, base->experiment.seeds, tasks, BL_MAX_SWEEP_POINTS, BL_MAX_TASKS);
        return 1;
    }
    /* every rank holds each point's resolved config: refuse before allocating */
    double config_bytes = (double)points * sizeof(struct bl_config), machine = machine_bytes();
    if (machine > 0 && config_bytes > machine) {
        snprintf(err, err_len,
                 "the sweep's %ld points need %.1f GiB on every rank for their resolved configs "
                 "(%.0f KiB each), but the machine has %.1f GiB; sweep fewer points, or split "
                 "the sweep into several experiments",
                 points, config_bytes / 1073741824.0, sizeof(struct bl_config) / 1024.0,
                 machine / 1073741824.0);
        return 1;
    }
    plan->resolved_rule = bl_config_resolves_points(base);
    plan->n_points = (int)points;
    plan->n_seeds = base->experiment.seeds;
    plan->n_tasks = (int)tasks;
    plan->points = bl_malloc(sizeof(struct bl_config) * (size_t)plan->n_points);
    plan->cost = bl_malloc(sizeof(double) * (size_t)plan->n_points);
    for (int p = 0; p < plan->n_points; p++) {
        struct bl_config *point = &plan->points[p];
        if (bl_config_for_point(base, p, point, err, err_len))
            return 1;
        /* file data decide their own shape; the cross-key checks then apply */
        char note[sizeof plan->data_note];
        if (bl_data_shape(&point->data, note, sizeof note, err, err_len) ||
            bl_config_validate(point, err, err_len))
            return 1;
        /* points usually share one file: say each thing once */
        size_t used = strlen(plan->data_note);
        if (note[0] && !strstr(plan->data_note, note))
            snprintf(plan->data_note + used, sizeof plan->data_note - used, "%s%s",
                     used ? "; " : "", note);
        long params = model_params(point, NULL, 0, err, err_len);
        if (params < 0)
            return 1;
        if (point->measure.reference == BL_REF_SVM && reference_refused(point, err, err_len))
            return 1;
        if (params > plan->max_params) {
            plan->max_params = params;
            model_params(point, plan->layout, sizeof plan->layout, err, err_len);
        }
        if (base->optim.scaling_rule != BL_RULE_NONE && rule_point(base, point, p, plan, err,
                                                                  err_len))
            return 1;
        plan->cost[p] = task_cost(point, params);
        double batch = point->optim.batch_size ? point->optim.batch_size : point->data.n_train;
        if (batch * (double)params > plan->max_step_work)
            plan->max_step_work = batch * (double)params;
        plan->total_steps += (double)plan->points[p].optim.steps * plan->n_seeds;
    }
    if (compare_refused(plan, base, err, err_len))
        return 1;
    if (base->measure.hessian_spectrum != BL_SPEC_NONE && plan->max_params > 4096) {
        snprintf(err, err_len,
                 "measure.hessian_spectrum needs the dense Hessian, but the model has %ld "
                 "parameters (at most 4096); use measure.sharpness for large models",
                 plan->max_params);
        return 1;
    }
    plan->n_records = bl_record_count(&base->optim, &base->measure);
    /* a task's result travels in one MPI message and one checkpoint array */
    double stored = (double)plan->n_records * (double)plan->max_params;
    if (base->measure.save_params == BL_SAVE_RECORDS && stored > BL_MAX_SAVED_PARAMS) {
        snprintf(err, err_len,
                 "measure.save_params = records keeps %ld records x %ld parameters = %.3g "
                 "doubles (%.1f GiB) per task, more than the %d allowed (%.0f GiB); use "
                 "first_last or final, or a larger measure.every",
                 plan->n_records, plan->max_params, stored, stored * 8 / 1073741824.0,
                 BL_MAX_SAVED_PARAMS, BL_MAX_SAVED_PARAMS * 8.0 / 1073741824.0);
        return 1;
    }
    plan->steps = bl_malloc(sizeof(long) * (size_t)plan->n_records);
    for (long r = 0; r < plan->n_records; r++)
        plan->steps[r] = bl_record_step(&base->optim, &base->measure, r);
    return 0;
}

void bl_plan_free(struct bl_plan *plan)
{
    free(plan->points);
    free(plan->cost);
    free(plan->steps);
    memset(plan, 0, sizeof *plan);
}

struct point_cost {
    double cost;
    int point;
};

static int by_cost_desc(const void *a, const void *b)
{
    const struct point_cost *pa = a, *pb = b;
    if (pa->cost != pb->cost)
        return pa->cost > pb->cost ? -1 : 1;
    return pa->point - pb->point; /* ties keep point order, so the plan is deterministic */
}

int *bl_plan_order(const struct bl_plan *plan)
{
    /* A point's tasks are consecutive ids of one cost, so sorting the points
     * and listing each one's seeds gives the task order that sorting every
     * task by (cost descending, id) would, in O(points log points + tasks). */
    struct point_cost *by_point = bl_malloc(sizeof *by_point * (size_t)plan->n_points);
    for (int p = 0; p < plan->n_points; p++)
        by_point[p] = (struct point_cost){plan->cost[p], p};
    qsort(by_point, (size_t)plan->n_points, sizeof *by_point, by_cost_desc);
    int *order = bl_malloc(sizeof(int) * (size_t)plan->n_tasks); /* (n_tasks) */
    size_t k = 0;
    for (int i = 0; i < plan->n_points; i++)
        for (int s = 0; s < plan->n_seeds; s++)
            order[k++] = by_point[i].point * plan->n_seeds + s;
    free(by_point);
    return order;
}

int bl_plan_check_slice(const struct bl_plan *plan, long long k, long long n, char *err,
                        unsigned long err_len)
{
    if (n <= plan->n_tasks)
        return 0;
    snprintf(err, err_len,
             "--slice %lld/%lld: this config has %d tasks, so N must be 1 .. %d (and K 0 .. "
             "N-1)",
             k, n, plan->n_tasks, plan->n_tasks);
    return 1;
}

double bl_plan_task_bytes(const struct bl_config *cfg, int group_size)
{
    const struct bl_data_cfg *d = &cfg->data;
    /* every rank holds the whole data set (it is generated, not scattered) */
    double data = ((double)d->n_train + d->n_test) * (d->dim * 8.0 + 4.0);
    double shard = (double)(d->n_train > d->n_test ? d->n_train : d->n_test) / group_size;
    if (shard > 4096)
        shard = 4096;
    if (shard < 1)
        shard = 1;
    double batch = shard * (d->dim * 8.0 + 4.0 + 16.0); /* gathered rows, losses, margins */
    double model = model_bytes(cfg, shard, cfg->optim.schedule == BL_SCHED_LOSS_BASED);
    double n_records = (double)bl_record_count(&cfg->optim, &cfg->measure);
    double records = (double)BL_METRIC_COUNT * n_records * 8.0;
    enum bl_save_params sp = cfg->measure.save_params;
    double kept = sp == BL_SAVE_RECORDS ? n_records : sp == BL_SAVE_FIRST_LAST ? 2 : 1;
    char err[BL_ERR_MAX];
    double params = sp == BL_SAVE_NONE ? 0 : kept * model_params(cfg, NULL, 0, err, sizeof err) * 8.0;
    return data + batch + model + records + params;
}

static double largest_task_bytes(const struct bl_plan *plan, int group_size)
{
    double worst = 0;
    for (int p = 0; p < plan->n_points; p++) {
        double bytes = bl_plan_task_bytes(&plan->points[p], group_size);
        if (bytes > worst)
            worst = bytes;
    }
    return worst;
}

/* The plan on every rank: a resolved config and a cost per point, the
 * record steps. */
static double plan_bytes(const struct bl_plan *plan)
{
    return (double)plan->n_points * (sizeof(struct bl_config) + sizeof(double)) +
           (double)plan->n_records * sizeof(long);
}

/* Rank 0 alone: the task order and the run's queue of tasks left (an int per
 * task each), and at the end one metric's (seed, record) trajectories of a
 * point with their statistics (ncio's bl_output_finish). */
static double rank0_bytes(const struct bl_plan *plan)
{
    return 2.0 * plan->n_tasks * sizeof(int) +
           8.0 * ((double)plan->n_seeds + BL_STAT_COUNT + 1) * (double)plan->n_records;
}

int bl_plan_check_memory(const struct bl_plan *plan, int group_size, int ranks_per_node,
                         char *err, unsigned long err_len)
{
    double machine = machine_bytes();
    double task = largest_task_bytes(plan, group_size), own = plan_bytes(plan);
    double rank0 = rank0_bytes(plan);
    double need = (task + own) * ranks_per_node + rank0;
    if (machine <= 0 || need <= machine)
        return 0;
    snprintf(err, err_len,
             "the run needs about %.1f GiB per rank (the largest task %.1f GiB, the plan of %d "
             "points %.1f GiB) and %.1f GiB more on rank 0 (task queue, statistics across %d "
             "seeds): %.1f GiB for the %d ranks on this node, but the machine has %.1f GiB; "
             "use fewer ranks per node, a larger parallel.group_size, fewer points or seeds, "
             "or a smaller model or data set",
             (task + own) / 1073741824.0, task / 1073741824.0, plan->n_points,
             own / 1073741824.0, rank0 / 1073741824.0, plan->n_seeds, need / 1073741824.0,
             ranks_per_node, machine / 1073741824.0);
    return 1;
}

void bl_plan_print(const struct bl_plan *plan, int ranks, int group_size)
{
    int groups = ranks / group_size;
    double worst = largest_task_bytes(plan, group_size);
    printf("# plan\n");
    printf("# points: %d, seeds: %d, tasks: %d\n", plan->n_points, plan->n_seeds,
           plan->n_tasks);
    printf("# ranks: %d, group_size: %d, groups: %d, tasks per group: %.1f (handed out "
           "longest first)\n",
           ranks, group_size, groups, groups ? (double)plan->n_tasks / groups : 0.0);
    printf("# records per task: %ld (steps 0 .. %ld), largest model: %ld parameters\n",
           plan->n_records, plan->steps[plan->n_records - 1], plan->max_params);
    if (plan->data_note[0])
        printf("# data: %s\n", plan->data_note);
    if (plan->rule_note[0])
        printf("# warning: the sqrt rule leaves its first-order regime at %s\n", plan->rule_note);
    for (int p = 0; p < plan->n_points && plan->resolved_rule; p++) {
        const struct bl_optim_cfg *o = &plan->points[p].optim;
        printf("# point %d: batch_size %d, lr %.17g, beta1 %.17g, beta2 %.17g, eps %.17g, "
               "steps %ld, measure.every %ld\n",
               p, o->batch_size, o->lr, o->beta1, o->beta2, o->eps, o->steps,
               plan->points[p].measure.every);
    }
    printf("# memory per rank: about %.1f MiB (largest task and the plan), rank 0 %.1f MiB "
           "more\n",
           (worst + plan_bytes(plan)) / 1048576.0, rank0_bytes(plan) / 1048576.0);
}
