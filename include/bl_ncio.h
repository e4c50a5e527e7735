/* The NetCDF output (DESIGN.md "The NetCDF contract"). Only rank 0 calls
 * these. The file is written under <path>.part and renamed into place by
 * bl_output_finish, so a file under its final name is always complete. */
#ifndef BL_NCIO_H
#define BL_NCIO_H

#include <stddef.h>

#include "bl_config.h"
#include "bl_metrics.h"
#include "bl_result.h"

struct bl_output {
    int ncid;
    char path[BL_PATH_MAX];
    char part_path[BL_PATH_MAX + 8];
    int n_points, n_seeds;
    long n_records;
    const struct bl_result_layout *layout; /* the fields of every task */
    int var[BL_MAX_FIELDS];       /* each field's variable, -1 when not stored */
    int var_stats[BL_MAX_FIELDS]; /* a trajectory's <name>_stats, else -1 */
    int var_n_ok;
    /* the swept keys' variables over point, space-separated: every variable
     * over point names them in its CF coordinates attribute */
    char sweep_coords[BL_MAX_SWEEP_KEYS * BL_NAME_MAX];
    /* measure.compare: the compared metrics' fields and <metric>_distance
     * variables, and the point the others are compared with */
    int n_compare;
    int compare_field[BL_MAX_COMPARE];
    int var_compare[BL_MAX_COMPARE];
    int compare_base;
    double last_sync; /* bl_now() of the last nc_sync while tasks are written */
    /* a copy of each trajectory with statistics, (point, seed, record), NaN
     * until written, so that bl_output_finish need not read the file back
     * (10,000 seeds: 0.08 s a metric in (1, 1, record) chunks); NULL when
     * the copies would pass KEEP_MAX_BYTES (ncio.c) */
    double *kept[BL_MAX_FIELDS];
};

/* Refuse an existing output unless force; create the parent directory.
 * Returns 0, or non-zero with err set. */
int bl_output_check_target(const char *path, int force, char *err, size_t err_len);

/* What the file records about the run that produced it. */
struct bl_run_info {
    const char *command_line;
    int mpi_ranks, group_size;
    const char *blas; /* the BLAS, its kernels and threads per rank, or NULL */
    const char *host; /* rank 0's host name, or NULL */
};

/* Create <path>.part with every dimension, coordinate and attribute, and a
 * variable for every field of layout (the tasks' results); every task
 * starts as not_run. steps[layout->n_records] is the step of each record;
 * points[n_points] the resolved config of each point (a scaling rule's
 * resolved values become variables over point). */
int bl_output_create(struct bl_output *o, const char *path, const struct bl_config *base,
                     const struct bl_run_info *info, const struct bl_result_layout *layout,
                     const long *steps, const struct bl_config *points, char *err,
                     size_t err_len);

/* One finished task's payload (layout->length doubles): every field goes
 * to its variable. Synced to disk at once. */
void bl_output_write_task(struct bl_output *o, int point, int seed_index, const double *payload);

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

#endif
