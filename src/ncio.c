/* NetCDF-4 output: schema, per-task writes, statistics, and the `info`
 * reader. Every nc_* call goes through NC() so a failure names the call,
 * the file and the library's reason. */
#include <errno.h>
#include <math.h>
#include <netcdf.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bl_build_info.h"
#include "bl_log.h"
#include "bl_metrics.h"
#include "bl_ncio.h"
#include "bl_plan.h"
#include "bl_stats.h"
#include "bl_train.h"

#define NC(call)                                                                         \
    do {                                                                                 \
        int nc_rc_ = (call);                                                             \
        if (nc_rc_ != NC_NOERR)                                                          \
            bl_fatal_at(__FILE__, __LINE__, "%s: %s", #call, nc_strerror(nc_rc_));       \
    } while (0)

static int make_parent_dirs(const char *path, char *err, size_t err_len)
{
    char dir[BL_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
            snprintf(err, err_len, "cannot create directory '%s' for the output: %s", dir,
                     strerror(errno));
            return 1;
        }
        *p = '/';
    }
    return 0;
}

int bl_output_check_target(const char *path, int force, char *err, size_t err_len)
{
    if (access(path, F_OK) == 0 && !force) {
        snprintf(err, err_len,
                 "output '%s' already exists; pass --force to overwrite it or -o to write "
                 "elsewhere",
                 path);
        return 1;
    }
    return make_parent_dirs(path, err, err_len);
}

static void put_text_attr(int ncid, int var, const char *name, const char *value)
{
    NC(nc_put_att_text(ncid, var, name, strlen(value), value));
}

/* A sweep key's coordinate variable name: "optim.lr" -> "optim_lr". */
static void coord_name(const char *key, char *out, size_t len)
{
    snprintf(out, len, "%s", key);
    for (char *p = out; *p; p++)
        if (*p == '.')
            *p = '_';
}

static void define_sweep_coords(struct bl_output *o, const struct bl_config *base,
                                int dim_point)
{
    for (int k = 0; k < base->n_sweep; k++) {
        const struct bl_sweep_key *sw = &base->sweep[k];
        char name[BL_NAME_MAX];
        coord_name(sw->key, name, sizeof name);
        int numeric = bl_config_key_is_numeric(sw->key);
        int var;
        NC(nc_def_var(o->ncid, name, numeric ? NC_DOUBLE : NC_STRING, 1, &dim_point, &var));
        char long_name[2 * BL_NAME_MAX];
        snprintf(long_name, sizeof long_name, "swept config key %s", sw->key);
        put_text_attr(o->ncid, var, "long_name", long_name);
        if (numeric)
            put_text_attr(o->ncid, var, "units", "1");
        for (int p = 0; p < o->n_points; p++) {
            size_t at = (size_t)p;
            const char *text = sw->values[bl_config_sweep_index(base, p, k)];
            if (numeric) {
                double v = strtod(text, NULL);
                NC(nc_put_var1_double(o->ncid, var, &at, &v));
            } else {
                NC(nc_put_var1_string(o->ncid, var, &at, &text));
            }
        }
    }
}

int bl_output_create(struct bl_output *o, const char *path, const struct bl_config *base,
                     const struct bl_run_info *info, const long *steps, long n_records,
                     long n_params, const char *layout, char *err, size_t err_len)
{
    memset(o, 0, sizeof *o);
    snprintf(o->path, sizeof o->path, "%s", path);
    snprintf(o->part_path, sizeof o->part_path, "%s.part", path);
    o->n_points = bl_config_n_points(base);
    o->n_seeds = base->experiment.seeds;
    o->n_records = n_records;
    o->n_params = n_params;
    int rc = nc_create(o->part_path, NC_CLOBBER | NC_NETCDF4, &o->ncid);
    if (rc != NC_NOERR) {
        snprintf(err, err_len, "cannot create '%s': %s", o->part_path, nc_strerror(rc));
        return 1;
    }
    int ncid = o->ncid;
    int d_point, d_seed, d_record, d_stat, d_param = -1;
    NC(nc_def_dim(ncid, "point", (size_t)o->n_points, &d_point));
    NC(nc_def_dim(ncid, "seed", (size_t)o->n_seeds, &d_seed));
    NC(nc_def_dim(ncid, "record", (size_t)n_records, &d_record));
    NC(nc_def_dim(ncid, "stat", BL_STAT_COUNT, &d_stat));
    if (n_params > 0)
        NC(nc_def_dim(ncid, "param", (size_t)n_params, &d_param));

    /* global attributes */
    char text[512];
    char created[64];
    time_t now = time(NULL);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    put_text_attr(ncid, NC_GLOBAL, "Conventions", "CF-1.8");
    snprintf(text, sizeof text, "biaslab: %s", base->experiment.name);
    put_text_attr(ncid, NC_GLOBAL, "title", text);
    char history[BL_PATH_MAX + 128];
    snprintf(history, sizeof history, "%s: %s", created, info->command_line);
    put_text_attr(ncid, NC_GLOBAL, "history", history);
    snprintf(text, sizeof text, "biaslab %s (git %s)", BL_VERSION, BL_GIT_COMMIT);
    put_text_attr(ncid, NC_GLOBAL, "source", text);
    char *ini = bl_config_ini_string(base);
    put_text_attr(ncid, NC_GLOBAL, "config", ini);
    free(ini);
    NC(nc_put_att_int(ncid, NC_GLOBAL, "mpi_ranks", NC_INT, 1, &info->mpi_ranks));
    NC(nc_put_att_int(ncid, NC_GLOBAL, "group_size", NC_INT, 1, &info->group_size));
    put_text_attr(ncid, NC_GLOBAL, "created", created);

    /* coordinates */
    int v_step, v_seed, v_stat;
    NC(nc_def_var(ncid, "step", NC_INT64, 1, &d_record, &v_step));
    put_text_attr(ncid, v_step, "long_name", "optimizer step of the record");
    put_text_attr(ncid, v_step, "units", "1");
    NC(nc_def_var(ncid, "seed", NC_INT, 1, &d_seed, &v_seed));
    put_text_attr(ncid, v_seed, "long_name", "random seed of the task");
    NC(nc_def_var(ncid, "stat", NC_STRING, 1, &d_stat, &v_stat));
    put_text_attr(ncid, v_stat, "long_name", "statistic across seeds");
    define_sweep_coords(o, base, d_point);

    /* per-task trajectories and their statistics */
    double fill = NAN;
    int traj_dims[3] = {d_point, d_seed, d_record};
    int stat_dims[3] = {d_point, d_stat, d_record};
    size_t traj_chunk[3] = {1, 1, (size_t)n_records};
    for (int m = 0; m < BL_METRIC_COUNT; m++) {
        const struct bl_metric_info *mi = &bl_metric_table[m];
        NC(nc_def_var(ncid, mi->name, NC_DOUBLE, 3, traj_dims, &o->var_metric[m]));
        NC(nc_def_var_chunking(ncid, o->var_metric[m], NC_CHUNKED, traj_chunk));
        NC(nc_def_var_fill(ncid, o->var_metric[m], 0, &fill));
        put_text_attr(ncid, o->var_metric[m], "long_name", mi->long_name);
        put_text_attr(ncid, o->var_metric[m], "units", mi->units);
        put_text_attr(ncid, o->var_metric[m], "coordinates", "step");
        char name[128];
        snprintf(name, sizeof name, "%s_stats", mi->name);
        NC(nc_def_var(ncid, name, NC_DOUBLE, 3, stat_dims, &o->var_stats[m]));
        NC(nc_def_var_fill(ncid, o->var_stats[m], 0, &fill));
        snprintf(text, sizeof text, "%s: statistics across seeds", mi->long_name);
        put_text_attr(ncid, o->var_stats[m], "long_name", text);
        put_text_attr(ncid, o->var_stats[m], "units", mi->units);
        put_text_attr(ncid, o->var_stats[m], "coordinates", "step");
    }

    int task_dims[2] = {d_point, d_seed};
    NC(nc_def_var(ncid, "status", NC_BYTE, 2, task_dims, &o->var_status));
    put_text_attr(ncid, o->var_status, "long_name", "outcome of the task");
    signed char flags[4] = {BL_STATUS_OK, BL_STATUS_DIVERGED, BL_STATUS_INTERRUPTED,
                            BL_STATUS_NOT_RUN};
    NC(nc_put_att_schar(ncid, o->var_status, "flag_values", NC_BYTE, 4, flags));
    put_text_attr(ncid, o->var_status, "flag_meanings", "ok diverged interrupted not_run");
    NC(nc_def_var(ncid, "wall_seconds", NC_DOUBLE, 2, task_dims, &o->var_wall));
    NC(nc_def_var_fill(ncid, o->var_wall, 0, &fill));
    put_text_attr(ncid, o->var_wall, "long_name", "wall-clock time of the task");
    put_text_attr(ncid, o->var_wall, "units", "s");
    NC(nc_def_var(ncid, "steps_done", NC_INT64, 2, task_dims, &o->var_steps));
    put_text_attr(ncid, o->var_steps, "long_name",
                  "optimizer steps taken (for a diverged task, the step it diverged at)");
    put_text_attr(ncid, o->var_steps, "units", "1");
    NC(nc_def_var(ncid, "svm_margin", NC_DOUBLE, 2, task_dims, &o->var_svm_margin));
    NC(nc_def_var_fill(ncid, o->var_svm_margin, 0, &fill));
    put_text_attr(ncid, o->var_svm_margin, "long_name",
                  "hard-margin SVM margin gamma_SVM of the task's training set (reference = svm)");
    put_text_attr(ncid, o->var_svm_margin, "units", "1");
    NC(nc_def_var(ncid, "margin_best", NC_DOUBLE, 2, task_dims, &o->var_margin_best));
    NC(nc_def_var_fill(ncid, o->var_margin_best, 0, &fill));
    put_text_attr(ncid, o->var_margin_best, "long_name",
                  "best normalized margin: gamma_SVM (linear); two layers: the exact optimum "
                  "(LP) when the training data lie in a plane, else (1+s)/4 gamma_SVM");
    put_text_attr(ncid, o->var_margin_best, "units", "1");
    int n_ok_dims[2] = {d_point, d_record};
    NC(nc_def_var(ncid, "n_ok", NC_INT, 2, n_ok_dims, &o->var_n_ok));
    put_text_attr(ncid, o->var_n_ok, "long_name",
                  "seeds measured at the record (not diverged, run): the statistics' sample size");
    put_text_attr(ncid, o->var_n_ok, "units", "1");
    put_text_attr(ncid, o->var_n_ok, "coordinates", "step");
    o->var_params = -1;
    o->var_spectra = -1;
    o->var_density_nodes = o->var_density_weights = -1;
    if (n_params > 0) {
        int param_dims[3] = {d_point, d_seed, d_param};
        size_t param_chunk[3] = {1, 1, (size_t)n_params};
        NC(nc_def_var(ncid, "params", NC_DOUBLE, 3, param_dims, &o->var_params));
        NC(nc_def_var_chunking(ncid, o->var_params, NC_CHUNKED, param_chunk));
        NC(nc_def_var_fill(ncid, o->var_params, 0, &fill));
        put_text_attr(ncid, o->var_params, "long_name", "final parameters");
        put_text_attr(ncid, o->var_params, "layout", layout);
        put_text_attr(ncid, o->var_params, "layout_note",
                      "weight matrices in layer order, each row-major (out, in), then "
                      "biases; NaN past a smaller model's end");
    }
    NC(nc_enddef(ncid));

    NC(nc_put_var_longlong(ncid, v_step, (const long long *)steps));
    for (int s = 0; s < o->n_seeds; s++) {
        size_t at = (size_t)s;
        int seed = base->experiment.first_seed + s;
        NC(nc_put_var1_int(ncid, v_seed, &at, &seed));
    }
    for (int st = 0; st < BL_STAT_COUNT; st++) {
        size_t at = (size_t)st;
        const char *name = bl_stat_names[st];
        NC(nc_put_var1_string(ncid, v_stat, &at, (const char **)&name));
    }
    signed char not_run = BL_STATUS_NOT_RUN;
    for (int p = 0; p < o->n_points; p++)
        for (int s = 0; s < o->n_seeds; s++) {
            size_t at[2] = {(size_t)p, (size_t)s};
            NC(nc_put_var1_schar(ncid, o->var_status, at, &not_run));
        }
    NC(nc_sync(ncid));
    return 0;
}

void bl_output_add_spectra(struct bl_output *o, int n_spectra, const long *spectrum_steps,
                           long n_eig)
{
    if (n_spectra == 0)
        return;
    int ncid = o->ncid, d_point, d_seed, d_spec, d_eig, v_step;
    NC(nc_redef(ncid));
    NC(nc_inq_dimid(ncid, "point", &d_point));
    NC(nc_inq_dimid(ncid, "seed", &d_seed));
    NC(nc_def_dim(ncid, "spectrum", (size_t)n_spectra, &d_spec));
    NC(nc_def_dim(ncid, "eig", (size_t)n_eig, &d_eig));
    NC(nc_def_var(ncid, "spectrum_step", NC_INT64, 1, &d_spec, &v_step));
    put_text_attr(ncid, v_step, "long_name", "optimizer step of each full Hessian spectrum");
    put_text_attr(ncid, v_step, "units", "1");
    int dims[4] = {d_point, d_seed, d_spec, d_eig};
    size_t chunk[4] = {1, 1, 1, (size_t)n_eig};
    double fill = NAN;
    NC(nc_def_var(ncid, "hessian_eigenvalues", NC_DOUBLE, 4, dims, &o->var_spectra));
    NC(nc_def_var_chunking(ncid, o->var_spectra, NC_CHUNKED, chunk));
    NC(nc_def_var_fill(ncid, o->var_spectra, 0, &fill));
    put_text_attr(ncid, o->var_spectra, "long_name",
                  "all eigenvalues of the training-loss Hessian, ascending (ScaLAPACK); "
                  "NaN past a smaller model's end or where the task did not get there");
    put_text_attr(ncid, o->var_spectra, "units", "1");
    put_text_attr(ncid, o->var_spectra, "coordinates", "spectrum_step");
    NC(nc_enddef(ncid));
    NC(nc_put_var_longlong(ncid, v_step, (const long long *)spectrum_steps));
    o->n_spectra = n_spectra;
}

void bl_output_add_densities(struct bl_output *o, int n_densities, const long *density_steps,
                             long length)
{
    if (n_densities == 0)
        return;
    int ncid = o->ncid, d_point, d_seed, d_dens, d_node, v_step;
    NC(nc_redef(ncid));
    NC(nc_inq_dimid(ncid, "point", &d_point));
    NC(nc_inq_dimid(ncid, "seed", &d_seed));
    NC(nc_def_dim(ncid, "density", (size_t)n_densities, &d_dens));
    NC(nc_def_dim(ncid, "node", (size_t)(length / 2), &d_node));
    NC(nc_def_var(ncid, "density_step", NC_INT64, 1, &d_dens, &v_step));
    put_text_attr(ncid, v_step, "long_name", "optimizer step of each spectral density");
    put_text_attr(ncid, v_step, "units", "1");
    int dims[4] = {d_point, d_seed, d_dens, d_node};
    double fill = NAN;
    NC(nc_def_var(ncid, "density_nodes", NC_DOUBLE, 4, dims, &o->var_density_nodes));
    NC(nc_def_var_fill(ncid, o->var_density_nodes, 0, &fill));
    put_text_attr(ncid, o->var_density_nodes, "long_name",
                  "stochastic Lanczos quadrature nodes (Ritz values), probe-major");
    put_text_attr(ncid, o->var_density_nodes, "units", "1");
    put_text_attr(ncid, o->var_density_nodes, "coordinates", "density_step");
    NC(nc_def_var(ncid, "density_weights", NC_DOUBLE, 4, dims, &o->var_density_weights));
    NC(nc_def_var_fill(ncid, o->var_density_weights, 0, &fill));
    put_text_attr(ncid, o->var_density_weights, "long_name",
                  "stochastic Lanczos quadrature weights (sum to 1 over the nodes)");
    put_text_attr(ncid, o->var_density_weights, "units", "1");
    put_text_attr(ncid, o->var_density_weights, "coordinates", "density_step");
    NC(nc_enddef(ncid));
    NC(nc_put_var_longlong(ncid, v_step, (const long long *)density_steps));
    o->n_densities = n_densities;
    o->density_nodes = length / 2;
}

void bl_output_write_densities(struct bl_output *o, int point, int seed_index,
                               const double *densities)
{
    if (o->var_density_nodes < 0)
        return;
    for (int k = 0; k < o->n_densities; k++) {
        const double *d = densities + 2L * k * o->density_nodes;
        size_t at[4] = {(size_t)point, (size_t)seed_index, (size_t)k, 0};
        size_t count[4] = {1, 1, 1, (size_t)o->density_nodes};
        NC(nc_put_vara_double(o->ncid, o->var_density_nodes, at, count, d));
        NC(nc_put_vara_double(o->ncid, o->var_density_weights, at, count, d + o->density_nodes));
    }
    NC(nc_sync(o->ncid));
}

void bl_output_write_spectra(struct bl_output *o, int point, int seed_index,
                             const double *spectra)
{
    if (o->var_spectra < 0)
        return;
    size_t n_eig;
    int d_eig;
    NC(nc_inq_dimid(o->ncid, "eig", &d_eig));
    NC(nc_inq_dimlen(o->ncid, d_eig, &n_eig));
    size_t at[4] = {(size_t)point, (size_t)seed_index, 0, 0};
    size_t count[4] = {1, 1, (size_t)o->n_spectra, n_eig};
    NC(nc_put_vara_double(o->ncid, o->var_spectra, at, count, spectra));
    NC(nc_sync(o->ncid));
}

void bl_output_write_task(struct bl_output *o, int point, int seed_index,
                          const struct bl_task_outcome *outcome, const double *records,
                          const double *params, long n_params)
{
    size_t at[3] = {(size_t)point, (size_t)seed_index, 0};
    size_t count[3] = {1, 1, (size_t)o->n_records};
    for (int m = 0; m < BL_METRIC_COUNT; m++)
        NC(nc_put_vara_double(o->ncid, o->var_metric[m], at, count,
                              records + (long)m * o->n_records));
    if (params && o->var_params >= 0) {
        count[2] = (size_t)n_params;
        NC(nc_put_vara_double(o->ncid, o->var_params, at, count, params));
    }
    signed char flag = (signed char)outcome->status;
    NC(nc_put_var1_schar(o->ncid, o->var_status, at, &flag));
    NC(nc_put_var1_double(o->ncid, o->var_wall, at, &outcome->wall_seconds));
    NC(nc_put_var1_double(o->ncid, o->var_svm_margin, at, &outcome->svm_margin));
    NC(nc_put_var1_double(o->ncid, o->var_margin_best, at, &outcome->margin_best));
    long long steps = outcome->steps_done;
    NC(nc_put_var1_longlong(o->ncid, o->var_steps, at, &steps));
    NC(nc_sync(o->ncid));
}

void bl_output_finish(struct bl_output *o)
{
    int S = o->n_seeds;
    long R = o->n_records;
    double *traj = bl_malloc(sizeof(double) * (size_t)S * R);     /* (seed, record) */
    double *stats = bl_malloc(sizeof(double) * BL_STAT_COUNT * R); /* (stat, record) */
    double *column = bl_malloc(sizeof(double) * S);                /* (seed) */
    double *work = bl_malloc(sizeof(double) * (2 * S + BL_BOOTSTRAP_RESAMPLES));
    int *n_ok = bl_malloc(sizeof(int) * (size_t)R); /* (record) */
    double one[BL_STAT_COUNT];
    for (int m = 0; m < BL_METRIC_COUNT; m++) {
        for (int p = 0; p < o->n_points; p++) {
            size_t at[3] = {(size_t)p, 0, 0};
            size_t count[3] = {1, (size_t)S, (size_t)R};
            NC(nc_get_vara_double(o->ncid, o->var_metric[m], at, count, traj));
            for (long r = 0; r < R; r++) {
                for (int s = 0; s < S; s++)
                    column[s] = traj[(long)s * R + r];
                int finite = bl_stats_compute(column, S, BL_BOOTSTRAP_SEED, one, work);
                for (int st = 0; st < BL_STAT_COUNT; st++)
                    stats[(long)st * R + r] = one[st];
                n_ok[r] = finite;
            }
            size_t stat_count[3] = {1, BL_STAT_COUNT, (size_t)R};
            NC(nc_put_vara_double(o->ncid, o->var_stats[m], at, stat_count, stats));
            /* the parameter norm is finite exactly when a task was measured */
            if (m == BL_M_PARAM_NORM) {
                size_t ok_at[2] = {(size_t)p, 0}, ok_count[2] = {1, (size_t)R};
                NC(nc_put_vara_int(o->ncid, o->var_n_ok, ok_at, ok_count, n_ok));
            }
        }
    }
    free(traj);
    free(stats);
    free(column);
    free(work);
    free(n_ok);
    NC(nc_close(o->ncid));
    if (rename(o->part_path, o->path) != 0)
        bl_fatal(BL_EXIT_RUNTIME, "cannot rename '%s' to '%s': %s", o->part_path, o->path,
                 strerror(errno));
}

void bl_output_close(struct bl_output *o) { NC(nc_close(o->ncid)); }

/* ---- `biaslab info` ---- */

static int info_fail(const char *path, int rc, const char *what)
{
    fprintf(stderr, "biaslab: error: %s: %s%s%s\n", path, what, rc ? ": " : "",
            rc ? nc_strerror(rc) : "");
    return BL_EXIT_USAGE;
}

/* Print the point's sweep coordinates: every variable over (point) alone. */
static void info_point_header(int ncid, int nvars, int d_point, size_t p)
{
    printf("point %zu:", p);
    for (int v = 0; v < nvars; v++) {
        int ndims, dim;
        nc_type type;
        char name[NC_MAX_NAME + 1];
        if (nc_inq_var(ncid, v, name, &type, &ndims, NULL, NULL) || ndims != 1)
            continue;
        nc_inq_vardimid(ncid, v, &dim);
        if (dim != d_point)
            continue;
        if (type == NC_STRING) {
            char *value = NULL;
            if (nc_get_var1_string(ncid, v, &p, &value) == NC_NOERR) {
                printf(" %s=%s", name, value);
                nc_free_string(1, &value);
            }
        } else {
            double value;
            if (nc_get_var1_double(ncid, v, &p, &value) == NC_NOERR)
                printf(" %s=%g", name, value);
        }
    }
    printf("\n");
}

int bl_output_info(const char *path)
{
    int ncid, rc;
    if ((rc = nc_open(path, NC_NOWRITE, &ncid)) != NC_NOERR)
        return info_fail(path, rc, "cannot open as NetCDF");
    int d_point, d_seed, d_record, d_stat, v_status;
    size_t n_points, n_seeds, n_records, n_stat;
    if (nc_inq_dimid(ncid, "point", &d_point) || nc_inq_dimid(ncid, "seed", &d_seed) ||
        nc_inq_dimid(ncid, "record", &d_record) || nc_inq_dimid(ncid, "stat", &d_stat) ||
        nc_inq_varid(ncid, "status", &v_status)) {
        nc_close(ncid);
        return info_fail(path, 0, "not a biaslab output (needs dimensions point, seed, "
                                  "record, stat and variable status)");
    }
    nc_inq_dimlen(ncid, d_point, &n_points);
    nc_inq_dimlen(ncid, d_seed, &n_seeds);
    nc_inq_dimlen(ncid, d_record, &n_records);
    nc_inq_dimlen(ncid, d_stat, &n_stat);
    char title[256] = "";
    nc_get_att_text(ncid, NC_GLOBAL, "title", title);
    long long last_step = -1;
    int v_step;
    size_t last = n_records ? n_records - 1 : 0;
    if (n_records && nc_inq_varid(ncid, "step", &v_step) == NC_NOERR)
        nc_get_var1_longlong(ncid, v_step, &last, &last_step);
    printf("%s: %s\n%zu points x %zu seeds, %zu records (last step %lld)\n", path, title,
           n_points, n_seeds, n_records, last_step);
    int nvars;
    nc_inq_nvars(ncid, &nvars);
    double *stats = bl_malloc(sizeof(double) * n_stat * (n_records ? n_records : 1));
    signed char *status = bl_malloc(n_seeds + 1);
    for (size_t p = 0; p < n_points; p++) {
        info_point_header(ncid, nvars, d_point, p);
        size_t at[2] = {p, 0}, count[2] = {1, n_seeds};
        nc_get_vara_schar(ncid, v_status, at, count, status);
        int counts[4] = {0, 0, 0, 0};
        for (size_t s = 0; s < n_seeds; s++)
            if (status[s] >= 0 && status[s] < 4)
                counts[status[s]]++;
        printf("  status: ok %d, diverged %d, interrupted %d, not_run %d\n", counts[0],
               counts[1], counts[2], counts[3]);
        printf("  %-22s %8s %14s %14s %14s\n", "metric", "step", "mean", "ci95_low",
               "ci95_high");
        for (int m = 0; m < BL_METRIC_COUNT; m++) {
            char name[128];
            int v;
            snprintf(name, sizeof name, "%s_stats", bl_metric_table[m].name);
            if (nc_inq_varid(ncid, name, &v) != NC_NOERR)
                continue;
            size_t s_at[3] = {p, 0, 0}, s_count[3] = {1, n_stat, n_records};
            if (!n_records || nc_get_vara_double(ncid, v, s_at, s_count, stats) != NC_NOERR)
                continue;
            /* the last record whose mean is known (divergence can end early) */
            long r = (long)n_records - 1;
            while (r >= 0 && isnan(stats[BL_STAT_MEAN * n_records + r]))
                r--;
            if (r < 0) {
                printf("  %-22s %8s %14s\n", bl_metric_table[m].name, "-", "not measured");
                continue;
            }
            long long step = r;
            size_t rr = (size_t)r;
            nc_get_var1_longlong(ncid, v_step, &rr, &step);
            printf("  %-22s %8lld %14.6g %14.6g %14.6g\n", bl_metric_table[m].name, step,
                   stats[BL_STAT_MEAN * n_records + r], stats[BL_STAT_CI95_LOW * n_records + r],
                   stats[BL_STAT_CI95_HIGH * n_records + r]);
        }
    }
    free(stats);
    free(status);
    nc_close(ncid);
    return BL_EXIT_OK;
}

/* ---- `biaslab merge` ---- */

/* The global text attribute name of ncid as a malloc'd string, or NULL. */
static char *text_attribute(int ncid, const char *name)
{
    size_t len;
    if (nc_inq_attlen(ncid, NC_GLOBAL, name, &len) != NC_NOERR)
        return NULL;
    char *s = bl_malloc(len + 1);
    if (nc_get_att_text(ncid, NC_GLOBAL, name, s) != NC_NOERR) {
        free(s);
        return NULL;
    }
    s[len] = '\0';
    return s;
}

/* Load the resolved config stored in a file's `config` attribute. */
static int config_from_text(const char *text, struct bl_config *cfg, char *err, size_t len)
{
    char tmp[] = "/tmp/biaslab-merge-XXXXXX";
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, len, "cannot create a temporary file: %s", strerror(errno));
        return 1;
    }
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    int rc = bl_config_load(tmp, NULL, 0, cfg, err, len);
    unlink(tmp);
    return rc;
}

/* The shape of a file's snapshots (spectra or densities): how many (the
 * length of dimension `count_dim`, 0 if absent), the length of `size_dim`,
 * and their steps (at most 2) from variable `step_var`. */
static int snapshot_shape(int ncid, const char *count_dim, const char *size_dim,
                          const char *step_var, size_t *size, long *steps)
{
    int d, v;
    size_t count;
    if (nc_inq_dimid(ncid, count_dim, &d) != NC_NOERR)
        return 0;
    NC(nc_inq_dimlen(ncid, d, &count));
    NC(nc_inq_dimid(ncid, size_dim, &d));
    NC(nc_inq_dimlen(ncid, d, size));
    long long read[2] = {0, 0};
    NC(nc_inq_varid(ncid, step_var, &v));
    NC(nc_get_var_longlong(ncid, v, read));
    steps[0] = (long)read[0];
    steps[1] = count > 1 ? (long)read[1] : 0;
    return (int)count;
}

int bl_output_merge(const char *out_path, const char *const *inputs, int n_inputs, int force,
                    const char *command_line)
{
    char err[BL_ERR_MAX];
    int *ncids = bl_malloc(sizeof(int) * (size_t)n_inputs);
    char *config = NULL;
    int rc;
    for (int i = 0; i < n_inputs; i++) {
        if ((rc = nc_open(inputs[i], NC_NOWRITE, &ncids[i])) != NC_NOERR)
            bl_fatal(BL_EXIT_USAGE, "merge: cannot open '%s': %s", inputs[i], nc_strerror(rc));
        char *text = text_attribute(ncids[i], "config");
        if (!text)
            bl_fatal(BL_EXIT_USAGE, "merge: '%s' is not a biaslab output (no config attribute)",
                     inputs[i]);
        if (config && strcmp(config, text) != 0)
            bl_fatal(BL_EXIT_USAGE,
                     "merge: '%s' was run with another config than '%s'; only slices of "
                     "one run can be merged",
                     inputs[i], inputs[0]);
        if (!config)
            config = text;
        else
            free(text);
    }
    struct bl_config base;
    if (config_from_text(config, &base, err, sizeof err))
        bl_fatal(BL_EXIT_USAGE, "merge: the config stored in '%s' does not load: %s", inputs[0],
                 err);
    struct bl_plan plan;
    if (bl_plan_make(&base, &plan, err, sizeof err))
        bl_fatal(BL_EXIT_USAGE, "merge: %s", err);
    if (bl_output_check_target(out_path, force, err, sizeof err))
        bl_fatal(BL_EXIT_USAGE, "merge: %s", err);
    int ranks = 0, group_size = 1;
    nc_get_att_int(ncids[0], NC_GLOBAL, "mpi_ranks", &ranks);
    nc_get_att_int(ncids[0], NC_GLOBAL, "group_size", &group_size);
    int params_var = -1;
    long n_params = 0;
    if (nc_inq_varid(ncids[0], "params", &params_var) == NC_NOERR)
        n_params = plan.max_params;
    /* which input ran each task, decided before anything is written */
    int *owner = bl_malloc(sizeof(int) * (size_t)plan.n_tasks); /* (task), -1: none */
    int missing = 0;
    for (int p = 0; p < plan.n_points; p++)
        for (int s = 0; s < plan.n_seeds; s++) {
            size_t at[2] = {(size_t)p, (size_t)s};
            int task = p * plan.n_seeds + s;
            owner[task] = -1;
            for (int i = 0; i < n_inputs; i++) {
                int v;
                signed char status = BL_STATUS_NOT_RUN;
                if (nc_inq_varid(ncids[i], "status", &v) == NC_NOERR)
                    nc_get_var1_schar(ncids[i], v, at, &status);
                if (status == BL_STATUS_NOT_RUN)
                    continue;
                if (owner[task] >= 0)
                    bl_fatal(BL_EXIT_USAGE,
                             "merge: task (point %d, seed %d) was run in both '%s' and '%s'; "
                             "slices must not overlap",
                             p, s, inputs[owner[task]], inputs[i]);
                owner[task] = i;
            }
            missing += owner[task] < 0;
        }

    struct bl_run_info info = {command_line, ranks, group_size};
    struct bl_output out;
    if (bl_output_create(&out, out_path, &base, &info, plan.steps, plan.n_records, n_params,
                         plan.layout, err, sizeof err))
        bl_fatal(BL_EXIT_RUNTIME, "merge: %s", err);
    long R = plan.n_records;
    /* full Hessian spectra and SLQ densities, when the run took them */
    long snapshot_steps[2];
    size_t n_eig = 0, n_nodes = 0;
    int n_spectra =
        snapshot_shape(ncids[0], "spectrum", "eig", "spectrum_step", &n_eig, snapshot_steps);
    bl_output_add_spectra(&out, n_spectra, snapshot_steps, (long)n_eig);
    double *spectra = bl_malloc(sizeof(double) * ((size_t)n_spectra * n_eig + 1));
    int n_densities =
        snapshot_shape(ncids[0], "density", "node", "density_step", &n_nodes, snapshot_steps);
    bl_output_add_densities(&out, n_densities, snapshot_steps, 2 * (long)n_nodes);
    double *densities = bl_malloc(sizeof(double) * (2 * (size_t)n_densities * n_nodes + 1));
    double *records = bl_malloc(sizeof(double) * BL_METRIC_COUNT * (size_t)R);
    double *params = bl_malloc(sizeof(double) * (size_t)(n_params + 1));
    for (int p = 0; p < plan.n_points; p++)
        for (int s = 0; s < plan.n_seeds; s++) {
            int task = p * plan.n_seeds + s;
            if (owner[task] < 0)
                continue;
            size_t at[3] = {(size_t)p, (size_t)s, 0};
            int in = ncids[owner[task]], v;
            size_t count[3] = {1, 1, (size_t)R};
            for (int m = 0; m < BL_METRIC_COUNT; m++) {
                NC(nc_inq_varid(in, bl_metric_table[m].name, &v));
                NC(nc_get_vara_double(in, v, at, count, records + (long)m * R));
            }
            signed char status;
            long long steps;
            struct bl_task_outcome outcome;
            NC(nc_inq_varid(in, "status", &v));
            NC(nc_get_var1_schar(in, v, at, &status));
            NC(nc_inq_varid(in, "wall_seconds", &v));
            NC(nc_get_var1_double(in, v, at, &outcome.wall_seconds));
            NC(nc_inq_varid(in, "steps_done", &v));
            NC(nc_get_var1_longlong(in, v, at, &steps));
            NC(nc_inq_varid(in, "svm_margin", &v));
            NC(nc_get_var1_double(in, v, at, &outcome.svm_margin));
            NC(nc_inq_varid(in, "margin_best", &v));
            NC(nc_get_var1_double(in, v, at, &outcome.margin_best));
            outcome.status = status;
            outcome.steps_done = (long)steps;
            if (n_params > 0) {
                count[2] = (size_t)n_params;
                NC(nc_inq_varid(in, "params", &v));
                NC(nc_get_vara_double(in, v, at, count, params));
            }
            bl_output_write_task(&out, p, s, &outcome, records, n_params > 0 ? params : NULL,
                                 n_params);
            if (n_spectra) {
                size_t s_at[4] = {(size_t)p, (size_t)s, 0, 0};
                size_t s_count[4] = {1, 1, (size_t)n_spectra, n_eig};
                NC(nc_inq_varid(in, "hessian_eigenvalues", &v));
                NC(nc_get_vara_double(in, v, s_at, s_count, spectra));
                bl_output_write_spectra(&out, p, s, spectra);
            }
            for (int k = 0; k < n_densities; k++) {
                size_t d_at[4] = {(size_t)p, (size_t)s, (size_t)k, 0};
                size_t d_count[4] = {1, 1, 1, n_nodes};
                double *dk = densities + 2 * (size_t)k * n_nodes;
                NC(nc_inq_varid(in, "density_nodes", &v));
                NC(nc_get_vara_double(in, v, d_at, d_count, dk));
                NC(nc_inq_varid(in, "density_weights", &v));
                NC(nc_get_vara_double(in, v, d_at, d_count, dk + n_nodes));
            }
            if (n_densities)
                bl_output_write_densities(&out, p, s, densities);
        }
    for (int i = 0; i < n_inputs; i++)
        nc_close(ncids[i]);
    bl_output_finish(&out);
    if (missing)
        bl_info("biaslab: merge: %d of %d tasks are in none of the slices (status not_run)",
                missing, plan.n_tasks);
    bl_info("biaslab: merged %d files into %s", n_inputs, out_path);
    free(spectra);
    free(densities);
    free(records);
    free(params);
    free(owner);
    free(ncids);
    free(config);
    bl_plan_free(&plan);
    return BL_EXIT_OK;
}
