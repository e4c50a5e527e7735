/* Sweep points x seeds -> tasks, ordered longest first so that the dynamic
 * hand-out in par.c balances groups well (the classic LPT rule). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bl_data.h"
#include "bl_log.h"
#include "bl_model.h"
#include "bl_optim.h"
#include "bl_plan.h"
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
    double bytes = 8 * vectors + bl_workspace_bytes(&m, (int)shard, bl_model_has_hvp(&m));
    bl_model_free(&m);
    return bytes;
}

/* Relative cost of a point's task: steps x examples per step x parameters. */
static double task_cost(const struct bl_config *cfg)
{
    double batch = cfg->optim.batch_size ? cfg->optim.batch_size : cfg->data.n_train;
    char err[BL_ERR_MAX];
    return (double)cfg->optim.steps * batch * (double)model_params(cfg, NULL, 0, err, sizeof err);
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
    int ok = bl_model_margin_reference(&m, &slope) != BL_MARGIN_NONE &&
             cfg->loss.kind != BL_LOSS_CROSS_ENTROPY && cfg->data.classes == 2 &&
             cfg->data.targets == 0;
    bl_model_free(&m);
    if (!ok)
        snprintf(err, err_len,
                 "measure.reference = svm compares a linear predictor with the binary "
                 "hard-margin SVM: it needs data.classes = 2 with a logistic, exponential "
                 "or squared loss, and model.kind = linear or model.depth = 2");
    return !ok;
}

static const struct bl_plan *sort_plan;
static int by_cost_desc(const void *a, const void *b)
{
    int ta = *(const int *)a, tb = *(const int *)b;
    double ca = task_cost(&sort_plan->points[bl_task_point(sort_plan, ta)]);
    double cb = task_cost(&sort_plan->points[bl_task_point(sort_plan, tb)]);
    if (ca != cb)
        return ca > cb ? -1 : 1;
    return ta - tb; /* ties keep task order, so the plan is deterministic */
}

int bl_plan_make(const struct bl_config *base, struct bl_plan *plan, char *err,
                 unsigned long err_len)
{
    memset(plan, 0, sizeof *plan);
    for (int k = 0; k < base->n_sweep; k++) {
        const char *key = base->sweep[k].key;
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
    if (mc->normalize && mc->kind != BL_MODEL_MLP) {
        snprintf(err, err_len, "model.normalize = true needs model.kind = mlp (it normalizes "
                               "hidden layers)");
        return 1;
    }
    plan->n_points = bl_config_n_points(base);
    plan->n_seeds = base->experiment.seeds;
    plan->n_tasks = plan->n_points * plan->n_seeds;
    plan->points = bl_malloc(sizeof(struct bl_config) * (size_t)plan->n_points);
    for (int p = 0; p < plan->n_points; p++) {
        struct bl_config *point = &plan->points[p];
        if (bl_config_for_point(base, p, point, err, err_len))
            return 1;
        /* file data decide their own shape; the cross-key checks then apply */
        if (bl_data_shape(&point->data, err, err_len) || bl_config_validate(point, err, err_len))
            return 1;
        long params = model_params(point, NULL, 0, err, err_len);
        if (params < 0)
            return 1;
        if (point->measure.reference == BL_REF_SVM && reference_refused(point, err, err_len))
            return 1;
        if (params > plan->max_params) {
            plan->max_params = params;
            model_params(point, plan->layout, sizeof plan->layout, err, err_len);
        }
        plan->total_steps += (double)plan->points[p].optim.steps * plan->n_seeds;
    }
    if (base->measure.hessian_spectrum != BL_SPEC_NONE && plan->max_params > 4096) {
        snprintf(err, err_len,
                 "measure.hessian_spectrum needs the dense Hessian, but the model has %ld "
                 "parameters (at most 4096); use measure.sharpness for large models",
                 plan->max_params);
        return 1;
    }
    plan->n_records = bl_record_count(&base->optim, &base->measure);
    plan->steps = bl_malloc(sizeof(long) * (size_t)plan->n_records);
    for (long r = 0; r < plan->n_records; r++)
        plan->steps[r] = bl_record_step(&base->optim, &base->measure, r);
    plan->order = bl_malloc(sizeof(int) * (size_t)plan->n_tasks);
    for (int t = 0; t < plan->n_tasks; t++)
        plan->order[t] = t;
    sort_plan = plan;
    qsort(plan->order, (size_t)plan->n_tasks, sizeof(int), by_cost_desc);
    return 0;
}

void bl_plan_free(struct bl_plan *plan)
{
    free(plan->points);
    free(plan->order);
    free(plan->steps);
    memset(plan, 0, sizeof *plan);
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
    double records = (double)BL_METRIC_COUNT *
                     bl_record_count(&cfg->optim, &cfg->measure) * 8.0;
    return data + batch + model + records;
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

int bl_plan_check_memory(const struct bl_plan *plan, int group_size, int ranks_per_node,
                         char *err, unsigned long err_len)
{
    double machine = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    double need = largest_task_bytes(plan, group_size) * ranks_per_node;
    if (machine <= 0 || need <= machine)
        return 0;
    snprintf(err, err_len,
             "the largest task needs about %.1f GiB per rank, %.1f GiB for the %d ranks on "
             "this node, but the machine has %.1f GiB; use fewer ranks per node, a larger "
             "parallel.group_size, or a smaller model or data set",
             need / ranks_per_node / 1073741824.0, need / 1073741824.0, ranks_per_node,
             machine / 1073741824.0);
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
    printf("# memory per rank: about %.1f MiB (largest task)\n", worst / 1048576.0);
}
