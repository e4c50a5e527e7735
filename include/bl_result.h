/* A task's result, described once. The layout lists every field a task
 * hands back (its outcomes, a trajectory per measured metric, and the
 * arrays: parameters, Hessian spectra, spectral densities), each with its
 * place in one flat payload of doubles and its NetCDF variable. The task
 * fills the payload in place, the payload travels to rank 0 and into the
 * done file as it is, and ncio writes, reads back and merges every field by
 * walking the same layout. A new outcome is one line in result.c. */
#ifndef BL_RESULT_H
#define BL_RESULT_H

#include "bl_config.h"
#include "bl_metrics.h"

#define BL_MAX_FIELDS 64
/* measure.save_params = records: at most this many doubles (records x
 * parameters, 1 GiB) per task, which travel in one MPI message */
#define BL_MAX_SAVED_PARAMS (1 << 27)

/* A task's outcome (the status field). */
enum bl_status { BL_STATUS_OK = 0, BL_STATUS_DIVERGED = 1, BL_STATUS_INTERRUPTED = 2,
                 BL_STATUS_NOT_RUN = 3 };

/* How many snapshots (full spectra, densities) `at` asks for (0, 1 or 2),
 * and the record of snapshot k. */
int bl_snapshot_count(enum bl_spectrum_at at);
long bl_snapshot_record(enum bl_spectrum_at at, long n_records, int k);

/* Where a field lives in the output, after the (point, seed) dimensions. */
enum bl_field_shape {
    BL_FIELD_TASK,    /* one value per task: (point, seed) */
    BL_FIELD_RECORDS, /* one value per record: (point, seed, record), with <name>_stats */
    BL_FIELD_ARRAY,   /* an array of its own dimensions: (point, seed, dims...) */
};
enum bl_field_type { BL_TYPE_DOUBLE, BL_TYPE_INT64, BL_TYPE_BYTE };

/* A dimension of an array field; with steps, a coordinate variable
 * step_name(name) holding the optimizer step of each entry. */
struct bl_field_dim {
    const char *name;
    long length;
    const char *step_name; /* or NULL */
    long steps[2];
};

struct bl_field {
    const char *name, *long_name, *units;
    enum bl_field_shape shape;
    enum bl_field_type type;
    int metric;                   /* RECORDS: the enum bl_metric; else -1 */
    int n_axes;                   /* ARRAY: its own dimensions */
    struct bl_field_dim axes[2];
    const char *attr_name[2];     /* extra text attributes, or NULL */
    const char *attr_value[2];
    long offset, length;          /* doubles of the payload */
};

/* Fields every layout has, in this order; the others follow. */
enum { BL_FIELD_STATUS, BL_FIELD_WALL, BL_FIELD_STEPS_DONE, BL_FIELD_STEPS_RUN,
       BL_FIELD_RESUMED_STEP, BL_FIELD_FIXED_COUNT };

struct bl_result_layout {
    int n_fields;
    struct bl_field fields[BL_MAX_FIELDS];
    long length;                       /* doubles of one payload */
    long n_records;
    int metric_field[BL_METRIC_COUNT]; /* the field of each metric, -1 when not measured */
    int svm_margin, margin_best;       /* fields of the references, -1 without them */
    int reference_status;              /* why a reference is missing, -1 without them */
    int epochs_undone;                 /* loss_based: epochs undone, -1 without it */
    /* grokking (SCIENCE.md 3), -1 without them: the first record steps with
     * train / test accuracy >= fit_threshold (regression: MSE <= it) and,
     * after grok_step, test
     * accuracy < drop_threshold; the predicted ln(alpha) / (eta lambda); and
     * diag_linear's per-coordinate init c and ||theta_0|| */
    int memorize_step, grok_step, ungrok_step, t_star, init_coordinate, init_norm;
    int l2_test_acc, l1_test_acc;      /* the diagonal net's references, -1 without them */
    int kernel_test_mse, target_nuclear_norm; /* matrix completion's references, or -1 */
    int noise_exact;                   /* measure.noise: 1 exact, 0 estimated; -1 without */
    int kernel_test_acc;               /* the NTK-at-init predictor's test accuracy, or -1 */
    int params, spectra, density_nodes, density_weights; /* ARRAY fields, or -1 */
    enum bl_save_params params_at;     /* which parameter vectors params holds */
    int sharpness_top, sharpness_top_residual; /* (record, top) with sharpness_k > 1, or -1 */
    int top_k;
    int trace_blocks;                  /* (record, block) Hutchinson per block, or -1 */
    int n_blocks;                      /* parameter blocks of the largest model */
    char block_names[1024];            /* their names, space-separated */
    long max_params;                   /* length of params and of each spectrum */
    int n_spectra, n_densities;
    long density_nodes_per;            /* nodes (= weights) of one density */
    char layout_text[1024];            /* the largest model's parameter layout */
};

struct bl_plan;

/* The layout of every task of a plan (identical on every rank). */
void bl_result_layout_make(struct bl_result_layout *L, const struct bl_plan *plan);

/* A payload with every value NaN, and status not_run. */
void bl_result_clear(const struct bl_result_layout *L, double *payload);

/* Whether a field is stored as a NetCDF variable of its own (steps_run and
 * resumed_step are for the run's log and checks, not the output). */
int bl_field_in_output(const struct bl_result_layout *L, int field);

/* The values of one field of a payload. */
static inline double *bl_result_at(const struct bl_result_layout *L, double *payload, int field)
{
    return payload + L->fields[field].offset;
}

#endif
