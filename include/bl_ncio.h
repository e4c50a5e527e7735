/* The NetCDF output (DESIGN.md "The NetCDF contract"). Only rank 0 calls
 * these. The file is written under <path>.part and renamed into place by
 * bl_output_finish, so a file under its final name is always complete. */
#ifndef BL_NCIO_H
#define BL_NCIO_H

#include <stddef.h>

#include "bl_config.h"
#include "bl_metrics.h"

struct bl_output {
    int ncid;
    char path[BL_PATH_MAX];
    char part_path[BL_PATH_MAX + 8];
    int n_points, n_seeds;
    long n_records, n_params; /* n_params: 0 when parameters are not saved */
    int var_metric[BL_METRIC_COUNT], var_stats[BL_METRIC_COUNT];
    int var_status, var_wall, var_steps, var_params, var_n_ok, var_svm_margin, var_margin_best;
    int n_spectra, var_spectra; /* full Hessian spectra per task, and their variable */
    int n_densities, var_density_nodes, var_density_weights;
    long density_nodes;         /* nodes (= weights) per density */
};

/* Refuse an existing output unless force; create the parent directory.
 * Returns 0, or non-zero with err set. */
int bl_output_check_target(const char *path, int force, char *err, size_t err_len);

/* What the file records about the run that produced it. */
struct bl_run_info {
    const char *command_line;
    int mpi_ranks, group_size;
};

/* Create <path>.part with every dimension, coordinate and attribute; every
 * task starts as not_run. points[p] is the config of sweep point p;
 * steps[n_records] the step of each record; n_params the largest model's
 * parameter count when parameters are saved (else 0), layout its layout. */
int bl_output_create(struct bl_output *o, const char *path, const struct bl_config *base,
                     const struct bl_run_info *info, const long *steps, long n_records,
                     long n_params, const char *layout, char *err, size_t err_len);

/* Add hessian_eigenvalues(point, seed, spectrum, eig) for n_spectra spectra
 * of up to n_eig eigenvalues, taken at steps spectrum_steps[n_spectra].
 * Call right after bl_output_create, before any task is written. */
void bl_output_add_spectra(struct bl_output *o, int n_spectra, const long *spectrum_steps,
                           long n_eig);

/* A task's scalar outcomes. */
struct bl_task_outcome {
    int status;
    double wall_seconds;
    long steps_done;
    double svm_margin, margin_best; /* NaN without a reference */
};

/* One finished task: records (BL_METRIC_COUNT, n_records); params (n_params)
 * or NULL. Synced to disk at once. */
void bl_output_write_task(struct bl_output *o, int point, int seed_index,
                          const struct bl_task_outcome *outcome, const double *records,
                          const double *params, long n_params);

/* Add density_nodes(point, seed, density, node) and density_weights (the
 * same shape) for n_densities SLQ densities of length/2 nodes each, taken at
 * density_steps[n_densities]. Call before any task is written. */
void bl_output_add_densities(struct bl_output *o, int n_densities, const long *density_steps,
                             long length);
/* A task's densities (n_densities, length): nodes then weights each. */
void bl_output_write_densities(struct bl_output *o, int point, int seed_index,
                               const double *densities);

/* A task's spectra (n_spectra, n_eig), after bl_output_write_task. */
void bl_output_write_spectra(struct bl_output *o, int point, int seed_index,
                             const double *spectra);

/* Statistics across seeds for every point, metric and record, read back from
 * the trajectories on disk; then close and rename into place. */
void bl_output_finish(struct bl_output *o);

/* Close <path>.part without statistics (an interrupted run). */
void bl_output_close(struct bl_output *o);

/* `biaslab merge OUT IN...`: join the slice outputs of one config (tasks
 * run in exactly one of them) into OUT and compute the statistics. Returns
 * an exit code; messages name the file and the problem. */
int bl_output_merge(const char *out_path, const char *const *inputs, int n_inputs, int force,
                    const char *command_line);

/* `biaslab info FILE`: a table per sweep point. Returns an exit code. */
int bl_output_info(const char *path);

#endif
