/* One task's training loop: the learning-rate schedule (constant, or the
 * loss-based rate of SCIENCE.md 1 with its epoch undo), divergence, records
 * and checkpoints. The task core (task.c) does the passes over the data,
 * the optimizer (src/optim/) the update, measure.c the records. All buffers
 * are sized when the task starts; the step itself allocates nothing. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bl_checkpoint.h"
#include "bl_log.h"
#include "bl_measure.h"
#include "bl_optim.h"
#include "bl_plan.h"
#include "bl_task.h"
#include "bl_train.h"

/* Log spacing: the j-th candidate step floor(10^(j / per_decade) + 1/2),
 * j = 0, 1, ...; records are step 0, the distinct candidates below the last
 * step, and the last step. Walking j is cheap (12 per_decade candidates
 * reach 1e12), and the loop asks only when a record is taken. */
static long log_candidate(int per_decade, long j)
{
    return (long)floor(pow(10.0, (double)j / per_decade) + 0.5);
}

/* The record r of log spacing (r >= 1, before the last), or the last step
 * when r is past the candidates below it; *count gets how many records
 * there are when count is given. */
static long log_record(const struct bl_optim_cfg *optim, const struct bl_measure_cfg *measure,
                       long r, long *count)
{
    long found = 1, previous = 0; /* record 0 is step 0 */
    for (long j = 0;; j++) {
        long step = log_candidate(measure->per_decade, j);
        if (step >= optim->steps)
            break;
        if (step == previous)
            continue;
        previous = step;
        if (found++ == r && !count)
            return step;
    }
    if (count)
        *count = found + 1; /* and the last step */
    return optim->steps;
}

long bl_record_count(const struct bl_optim_cfg *optim, const struct bl_measure_cfg *measure)
{
    if (measure->spacing == BL_SPACING_LOG) {
        long count;
        log_record(optim, measure, 0, &count);
        return count;
    }
    return optim->steps / measure->every + 1 + (optim->steps % measure->every != 0);
}

long bl_record_step(const struct bl_optim_cfg *optim, const struct bl_measure_cfg *measure,
                    long record)
{
    if (measure->spacing == BL_SPACING_LOG)
        return record == 0 ? 0 : log_record(optim, measure, record, NULL);
    long step = record * measure->every;
    return step < optim->steps ? step : optim->steps;
}

/* Everything besides theta and the optimizer's state that the loop carries
 * from one step to the next. */
struct loop_state {
    long step;                      /* the next step to take */
    long next_record;
    double alpha;                   /* loss_based: eta_t = alpha / L */
    double epoch_log_objective;     /* loss_based: log L at the epoch start */
    struct pass_totals epoch_totals;
    double initial_log_objective;   /* divergence is judged against it */
    double wall_before;             /* seconds spent before the last resume */
    long epochs_undone;             /* loss_based: epochs the schedule undid */
};
enum { LOOP_SCALARS = 11 };

/* The loss-based schedule's snapshot at the start of an epoch. */
struct epoch_snapshot {
    double *theta;             /* (P) */
    double *grad;              /* (P) gd: the gradient at the epoch start */
    struct bl_optim_state opt; /* the optimizer's state */
};

/* The whole state of a running task, as named arrays for a checkpoint. */
struct train_state {
    struct task *t;
    struct bl_optim_state *opt;
    struct epoch_snapshot *epoch; /* NULL without the loss-based schedule */
    double loop[LOOP_SCALARS];
    double *payload;
    long payload_length;
};

static int state_arrays(struct train_state *s, struct bl_named_array *a)
{
    static char names[2][BL_OPTIM_MAX_VECTORS + 1][40];
    const struct bl_optimizer *o = s->opt->opt;
    long P = s->t->n_params;
    int k = 0;
    a[k++] = (struct bl_named_array){"loop", s->loop, LOOP_SCALARS};
    a[k++] = (struct bl_named_array){"theta", s->t->theta, P};
    for (int e = 0; e < (s->epoch ? 2 : 1); e++) {
        struct bl_optim_state *st = e ? &s->epoch->opt : s->opt;
        const char *prefix = e ? "epoch." : "";
        for (int v = 0; v < o->n_vectors; v++) {
            snprintf(names[e][v], sizeof names[e][v], "%soptim.%s", prefix, o->vector_names[v]);
            a[k++] = (struct bl_named_array){names[e][v], st->vectors[v], P};
        }
        if (o->n_scalars) {
            snprintf(names[e][BL_OPTIM_MAX_VECTORS], 40, "%soptim.scalars", prefix);
            a[k++] = (struct bl_named_array){names[e][BL_OPTIM_MAX_VECTORS], st->scalars,
                                             o->n_scalars};
        }
    }
    if (s->epoch) {
        a[k++] = (struct bl_named_array){"epoch.theta", s->epoch->theta, P};
        a[k++] = (struct bl_named_array){"epoch.grad", s->epoch->grad, P};
    }
    a[k++] = (struct bl_named_array){"result", s->payload, s->payload_length};
    return k;
}

static void pack_loop(struct train_state *s, const struct loop_state *ls, double wall_now)
{
    double v[LOOP_SCALARS] = {(double)ls->step, (double)ls->next_record, ls->alpha,
                              ls->epoch_log_objective, ls->epoch_totals.log_loss_sum,
                              ls->epoch_totals.correct, ls->epoch_totals.count,
                              ls->epoch_totals.q_min, ls->initial_log_objective, wall_now,
                              (double)ls->epochs_undone};
    memcpy(s->loop, v, sizeof v);
}

static void save_state(struct train_state *s, const struct loop_state *ls, double wall_now,
                       const char *path)
{
    pack_loop(s, ls, wall_now);
    struct bl_named_array a[2 * BL_OPTIM_MAX_VECTORS + 8];
    int n = state_arrays(s, a);
    char err[BL_ERR_MAX];
    if (bl_arrays_write(path, a, n, err, sizeof err))
        bl_fatal_now(BL_EXIT_RUNTIME, "checkpoint: %s", err);
}

/* Restore a checkpoint if path has one. Returns 0 (restored or none), or
 * non-zero with err set when the file is corrupt or does not fit the task. */
static int load_state(struct train_state *s, struct loop_state *ls, const char *path,
                      char *err, unsigned long err_len)
{
    struct bl_named_array a[2 * BL_OPTIM_MAX_VECTORS + 8];
    int n = state_arrays(s, a);
    int rc = bl_arrays_read(path, a, n, err, err_len);
    if (rc == 1)
        return 0;
    if (rc)
        return 1;
    const double *v = s->loop;
    ls->step = (long)v[0];
    ls->next_record = (long)v[1];
    ls->alpha = v[2];
    ls->epoch_log_objective = v[3];
    ls->epoch_totals = (struct pass_totals){v[4], v[5], v[6], v[7]};
    ls->initial_log_objective = v[8];
    ls->wall_before = v[9];
    ls->epochs_undone = (long)v[10];
    return 0;
}

/* Loss-based rate: the state at an epoch start, and the return to it. */
static void take_snapshot(struct train_state *s)
{
    struct task *t = s->t;
    memcpy(s->epoch->theta, t->theta, sizeof(double) * t->n_params);
    bl_optim_state_copy(&s->epoch->opt, s->opt);
    if (t->full_batch)
        memcpy(s->epoch->grad, t->grad, sizeof(double) * t->n_params);
}

/* After an epoch that did not lower the loss, or blew up midway (which with
 * mini-batches and a rate of alpha / L can happen before the epoch ends):
 * back to the epoch start, and alpha shrinks. */
static void undo_epoch(struct train_state *s, struct loop_state *ls)
{
    struct task *t = s->t;
    memcpy(t->theta, s->epoch->theta, sizeof(double) * t->n_params);
    bl_optim_state_copy(s->opt, &s->epoch->opt);
    if (t->full_batch)
        memcpy(t->grad, s->epoch->grad, sizeof(double) * t->n_params);
    ls->alpha *= t->cfg->optim.loss_down;
    bl_optim_undo(&t->cfg->optim, s->opt); /* e.g. momentum restarts from rest */
    ls->epochs_undone++;
}

/* Every metric of record r back to NaN (not measured), and the record's
 * row of every array over record (e.g. sharpness_top, params). */
static void clear_record(const struct bl_result_layout *L, double *payload, long r)
{
    for (int m = 0; m < BL_METRIC_COUNT; m++)
        if (L->metric_field[m] >= 0)
            bl_result_at(L, payload, L->metric_field[m])[r] = NAN;
    for (int k = 0; k < L->n_fields; k++) {
        const struct bl_field *f = &L->fields[k];
        if (f->shape != BL_FIELD_ARRAY || f->n_axes != 2 || strcmp(f->axes[0].name, "record"))
            continue;
        double *row = payload + f->offset + r * f->axes[1].length;
        for (long i = 0; i < f->axes[1].length; i++)
            row[i] = NAN;
    }
}

/* An undo at a record's step: the step's state is the restored one (as at
 * an epoch end), so the record taken before the undo is taken again.
 * Measuring leaves theta alone and the next step recomputes its gradient. */
static void retake_record(struct bl_measure *ms, struct task *t, const struct loop_state *ls,
                          struct pass_totals *full, double *payload)
{
    bl_task_train_pass(t, 1, full);
    double lr = bl_optimizer_of(t->cfg->optim.kind)->scale_free
                    ? ls->alpha : ls->alpha / exp(ls->epoch_log_objective);
    bl_measure_record(ms, t, full, lr, ls->next_record - 1, payload);
}

/* NaN, +Inf, or a loss grown past diverge_factor times its initial value
 * (log_factor = log diverge_factor); -Inf is a loss of exactly 0. */
static int exploded(double log_objective, double initial_log, double log_factor)
{
    if (isnan(log_objective) || log_objective == INFINITY)
        return 1;
    return isfinite(initial_log) && log_objective > initial_log + log_factor;
}

static int finite_vector(const double *x, long n)
{
    double s = 0;
    for (long i = 0; i < n; i++)
        s += x[i] * 0.0; /* NaN or Inf anywhere makes s NaN */
    return s == 0;
}

/* A layout for cfg alone, when the caller brings none (tests, bench). */
static struct bl_result_layout *layout_for(const struct bl_config *cfg, char *err,
                                           unsigned long err_len)
{
    struct bl_plan plan;
    if (bl_plan_make(cfg, &plan, err, err_len))
        return NULL;
    struct bl_result_layout *L = bl_malloc(sizeof *L);
    bl_result_layout_make(L, &plan);
    bl_plan_free(&plan);
    return L;
}

int bl_train_task(const struct bl_config *cfg, uint64_t seed, const struct bl_group *g,
                  const struct bl_train_io *io, struct bl_task_result *res, char *err,
                  unsigned long err_len)
{
    double started = bl_now();
    memset(res, 0, sizeof *res);
    const struct bl_result_layout *L = io && io->layout ? io->layout : NULL;
    if (!L && !(L = res->own_layout = layout_for(cfg, err, err_len)))
        return 1;
    res->layout = L;
    res->payload = io && io->payload ? io->payload : NULL;
    if (!res->payload) {
        res->payload = bl_malloc(sizeof(double) * (size_t)L->length);
        res->own_payload = 1;
    }
    double *payload = res->payload;
    bl_result_clear(L, payload);
    struct task t;
    if (bl_task_setup(&t, cfg, seed, g, bl_measure_needs_hvp(&cfg->measure), err, err_len)) {
        bl_task_result_free(res);
        return 1;
    }
    const struct bl_optim_cfg *opt = &cfg->optim;
    int loss_based = opt->schedule == BL_SCHED_LOSS_BASED;
    struct bl_optim_state opt_state;
    bl_optim_state_alloc(&opt_state, bl_optimizer_of(opt->kind), t.n_params);
    struct epoch_snapshot epoch;
    memset(&epoch, 0, sizeof epoch);
    if (loss_based) {
        epoch.theta = bl_malloc(sizeof(double) * (size_t)(2 * t.n_params));
        epoch.grad = epoch.theta + t.n_params;
        bl_optim_state_alloc(&epoch.opt, opt_state.opt, t.n_params);
    }
    struct train_state state = {&t, &opt_state, loss_based ? &epoch : NULL, {0}, payload,
                                L->length};
    struct bl_measure ms;
    bl_measure_setup(&ms, &t, L, payload);

    long steps_per_epoch = t.full_batch ? 1 : t.batcher.steps_per_epoch;
    struct loop_state ls = {0, 0, opt->lr, NAN, {0, 0, 0, 0}, NAN, 0.0, 0};
    const char *ckpt = io ? io->checkpoint_path : NULL;
    if (ckpt && load_state(&state, &ls, ckpt, err, err_len)) {
        bl_measure_free(&ms);
        bl_optim_state_free(&opt_state);
        bl_optim_state_free(&epoch.opt);
        free(epoch.theta);
        bl_task_free(&t);
        bl_task_result_free(res);
        return 1;
    }
    res->resumed_step = ls.step;
    res->status = BL_STATUS_OK;
    double log_diverge = log(cfg->measure.diverge_factor);
    struct pass_totals batch = {0}, full = {0};
    /* the step of record next_record, recomputed only when it changes (log
     * spacing walks its candidates); not state: a resume recomputes it */
    long cached_record = -1, next_record_step = 0;
    for (;; ls.step++) {
        long step = ls.step;
        /* a checkpoint is the state before this step: resuming from it
         * re-enters the loop here with identical numbers */
        int action = io && io->hook ? io->hook(io->hook_ctx) : BL_ACTION_CONTINUE;
        if (bl_group_size(g) > 1) { /* the group's ranks must act alike */
            double agreed = action;
            bl_group_max(g, &agreed, 1);
            action = (int)agreed;
        }
        if (action != BL_ACTION_CONTINUE && ckpt && bl_group_rank(g) == 0)
            save_state(&state, &ls, ls.wall_before + bl_now() - started, ckpt);
        if (action == BL_ACTION_STOP) {
            res->status = BL_STATUS_INTERRUPTED;
            break;
        }
        if (ls.next_record != cached_record) {
            cached_record = ls.next_record;
            next_record_step = bl_record_step(opt, &cfg->measure, ls.next_record);
        }
        int record_now = next_record_step == step;
        /* the loss-based schedule checks every epoch it completes, the last
         * (possibly partial) one at the final step too */
        int epoch_end = loss_based && step > 0 &&
                        (step % steps_per_epoch == 0 || step == opt->steps);
        int epoch_start = loss_based && step % steps_per_epoch == 0 && step < opt->steps;
        /* gd computes the full-batch gradient once per step and lets records
         * and the epoch check reuse it */
        int have_batch = 0;
        if (t.full_batch && (step < opt->steps || record_now)) {
            bl_task_batch_gradient(&t, step, &batch);
            full = batch;
            have_batch = 1;
        } else if (record_now || epoch_end || epoch_start) {
            bl_task_train_pass(&t, record_now, &full);
        }
        double full_log = bl_task_objective_log(&t, full.log_loss_sum, full.count);
        if (step == 0)
            ls.initial_log_objective = full_log;
        if (epoch_end) {
            /* SCIENCE.md section 1: after an epoch that lowered the loss, alpha
             * grows; after one that did not, the epoch is undone and alpha
             * shrinks. */
            if (!(full_log < ls.epoch_log_objective)) {
                undo_epoch(&state, &ls);
                batch = full = ls.epoch_totals;
                full_log = ls.epoch_log_objective;
                /* a record here shows the restored state, gradient included
                 * (gd restored its own; a mini-batch run recomputes it) */
                if (record_now && !t.full_batch)
                    bl_task_train_pass(&t, 1, &full);
            } else {
                ls.alpha *= opt->loss_up;
            }
        }
        if (epoch_start) {
            take_snapshot(&state);
            ls.epoch_log_objective = full_log;
            ls.epoch_totals = full;
        }
        /* a scale_free optimizer (Adam) takes alpha itself and the gradient of f / L */
        double lr = !loss_based ? opt->lr
                    : opt_state.opt->scale_free ? ls.alpha
                                                : ls.alpha / exp(ls.epoch_log_objective);
        if (record_now) {
            bl_measure_record(&ms, &t, &full, lr, ls.next_record, payload);
            ls.next_record++;
        }
        /* Divergence is judged where the loss is known whatever is recorded
         * (every step with gd, epoch boundaries and every batch otherwise), so
         * how often metrics are recorded never changes the trajectory. */
        int measured = have_batch || epoch_end || epoch_start; /* full is this step's */
        if ((measured && exploded(full_log, ls.initial_log_objective, log_diverge)) ||
            !finite_vector(t.theta, t.n_params)) {
            if (loss_based && step > 0 && step < opt->steps) {
                /* an epoch gone wrong is undone, not fatal */
                undo_epoch(&state, &ls);
                if (record_now)
                    retake_record(&ms, &t, &ls, &full, payload);
                continue;
            }
            res->status = BL_STATUS_DIVERGED;
            if (record_now) /* a diverged state enters no statistics */
                clear_record(L, payload, ls.next_record - 1);
            break;
        }
        if (step >= opt->steps)
            break;
        if (!have_batch)
            bl_task_batch_gradient(&t, step, &batch);
        double batch_log = bl_task_objective_log(&t, batch.log_loss_sum, batch.count);
        if (exploded(batch_log, ls.initial_log_objective, log_diverge)) {
            if (loss_based && step > 0) { /* step < steps here */
                undo_epoch(&state, &ls);
                if (record_now)
                    retake_record(&ms, &t, &ls, &full, payload);
                continue;
            }
            res->status = BL_STATUS_DIVERGED;
            if (record_now) /* a diverged state enters no statistics */
                clear_record(L, payload, ls.next_record - 1);
            break;
        }
        /* eta * grad(objective) = eta * factor * g; with the loss-based rate
         * eta = alpha / L_epoch this is alpha * g * exp(log L_batch - log L_epoch),
         * evaluated in log space so neither factor underflows. */
        struct bl_step_in in;
        in.grad = t.grad;
        in.log_scale = batch_log;
        in.lr = lr;
        in.log_lr = loss_based ? log(ls.alpha) - ls.epoch_log_objective : log(opt->lr);
        if (loss_based && opt_state.opt->scale_free)
            in.log_lr = log(ls.alpha);
        in.log_norm = loss_based ? ls.epoch_log_objective : 0.0;
        in.step_scale = loss_based ? ls.alpha * exp(batch_log - ls.epoch_log_objective)
                                   : opt->lr * exp(batch_log);
        in.weight_decay = opt->weight_decay;
        /* with the loss-based rate lr overflows to inf once L < 1e-308;
         * without weight decay that must not turn into inf * 0 = NaN */
        in.decay = opt->weight_decay > 0 ? lr * opt->weight_decay : 0.0;
        bl_optim_step(opt, &opt_state, &in, t.theta);
        bl_task_restore_frozen(&t);
    }
    res->steps_done = ls.step;
    res->steps_run = ls.step - res->resumed_step;
    res->n_params = t.n_params;
    /* the final parameters: the only vector of final, the second of first_last
     * (records took theirs at every record) */
    if (L->params >= 0 && res->status != BL_STATUS_INTERRUPTED && L->params_at != BL_SAVE_RECORDS)
        memcpy(bl_result_at(L, payload, L->params) +
                   (L->params_at == BL_SAVE_FIRST_LAST ? L->max_params : 0),
               t.theta, sizeof(double) * t.n_params);
    res->wall_seconds = ls.wall_before + bl_now() - started;
    payload[L->fields[BL_FIELD_STATUS].offset] = res->status;
    payload[L->fields[BL_FIELD_WALL].offset] = res->wall_seconds;
    payload[L->fields[BL_FIELD_STEPS_DONE].offset] = (double)res->steps_done;
    payload[L->fields[BL_FIELD_STEPS_RUN].offset] = (double)res->steps_run;
    payload[L->fields[BL_FIELD_RESUMED_STEP].offset] = (double)res->resumed_step;
    if (L->epochs_undone >= 0)
        /* a constant-rate point of a sweep over optim.schedule undid none */
        *bl_result_at(L, payload, L->epochs_undone) = loss_based ? (double)ls.epochs_undone : 0.0;
    if (res->status != BL_STATUS_INTERRUPTED)
        bl_measure_finish(&ms, &t, bl_record_step, payload);
    bl_measure_free(&ms);
    bl_optim_state_free(&opt_state);
    bl_optim_state_free(&epoch.opt);
    free(epoch.theta);
    bl_task_free(&t);
    return 0;
}

void bl_task_result_free(struct bl_task_result *res)
{
    if (res->own_payload)
        free(res->payload);
    free(res->own_layout);
    memset(res, 0, sizeof *res);
}

double bl_result_metric(const struct bl_task_result *r, enum bl_metric m, long record)
{
    int f = r->layout->metric_field[m];
    return f < 0 ? NAN : r->payload[r->layout->fields[f].offset + record];
}

const double *bl_result_params(const struct bl_task_result *r)
{
    return r->layout->params < 0 ? NULL : r->payload + r->layout->fields[r->layout->params].offset;
}
