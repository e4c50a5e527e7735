/* One task: training a model for one (sweep point, seed), recording metrics
 * every measure.every steps. The task's whole state sits in one struct. */
#ifndef BL_TRAIN_H
#define BL_TRAIN_H

#include <stdint.h>

#include "bl_config.h"
#include "bl_data.h"
#include "bl_metrics.h"
#include "bl_model.h"
#include "bl_par.h"

enum bl_status { BL_STATUS_OK = 0, BL_STATUS_DIVERGED = 1, BL_STATUS_INTERRUPTED = 2,
                 BL_STATUS_NOT_RUN = 3 };

/* What a task hands back. records: (BL_METRIC_COUNT, n_records), NaN where
 * not measured; params: (n_params) final parameters when saved, else NULL. */
struct bl_task_result {
    int status;
    long steps_done;
    long resumed_step;  /* the step a checkpoint restored (0: started afresh) */
    long steps_run;     /* optimizer steps taken by this call */
    double wall_seconds;
    long n_records;
    double *records;
    long n_params;
    double *params;
    int n_spectra;      /* full Hessian spectra taken (measure.hessian_spectrum) */
    double *spectra;    /* (n_spectra, n_params) ascending eigenvalues, NaN if not reached */
    int n_densities;    /* SLQ densities taken (measure.density) */
    double *densities;  /* (n_densities, bl_density_length) nodes then weights */
    double svm_margin;  /* gamma_SVM of the task's training set, NaN without a reference */
    double margin_best; /* best normalized margin (exact on planar data), NaN without a reference */
};

/* How many snapshots (full spectra, densities) `at` asks for (0, 1 or 2),
 * and the record of snapshot k. */
int bl_snapshot_count(enum bl_spectrum_at at);
long bl_snapshot_record(enum bl_spectrum_at at, long n_records, int k);
/* Doubles of one SLQ density: nodes then weights, probes x steps each. */
long bl_density_length(const struct bl_measure_cfg *measure);

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
};

/* Train cfg (one sweep point's config) for seed on group g (NULL = alone).
 * Fills res (its buffers are allocated here; free with bl_task_result_free);
 * an interrupted task has status BL_STATUS_INTERRUPTED and its checkpoint
 * saved. Returns 0, or non-zero with err set when the task cannot start
 * (including a corrupt checkpoint). */
int bl_train_task(const struct bl_config *cfg, uint64_t seed, const struct bl_group *g,
                  const struct bl_train_io *io, struct bl_task_result *res, char *err,
                  unsigned long err_len);
void bl_task_result_free(struct bl_task_result *res);

/* Costs of the Hessian machinery at a task's initialization (for `bench`):
 * full-batch gradients and Hessian-vector products per second, and the
 * products Lanczos and power iteration need to reach a relative residual of
 * tol on the top eigenvalue. */
struct bl_hvp_costs {
    double gradients_per_second, hvps_per_second;
    int lanczos_hvps, power_hvps;
    double lanczos_value, power_value;
};
int bl_train_hvp_costs(const struct bl_config *cfg, uint64_t seed, int repeats, double tol,
                       struct bl_hvp_costs *out, char *err, unsigned long err_len);

#endif
