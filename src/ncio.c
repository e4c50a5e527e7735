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
#include "bl_par.h"
#include "bl_plan.h"
#include "bl_result.h"
#include "bl_stats.h"
#include "bl_train.h"

/* The file the NC() calls below are about, for their messages. */
static const char *nc_path = "(no file)";

/* A failed NetCDF call on nc_path: its name, the library's reason and the
 * system's (a full disk shows only as "HDF error" in the library's words),
 * then out at once: HDF5's exit handlers would flush the broken file again
 * and crash. Every checkpoint and done file written so far stays. */
__attribute__((noreturn)) static void nc_failed(const char *call, int rc, int sys_errno)
{
    char call_name[64];
    snprintf(call_name, sizeof call_name, "%s", call);
    char *paren = strchr(call_name, '(');
    if (paren)
        *paren = '\0';
    if (sys_errno)
        bl_fatal_now(BL_EXIT_RUNTIME, "%s on '%s' failed: %s (NetCDF: %s)", call_name, nc_path,
                     strerror(sys_errno), nc_strerror(rc));
    bl_fatal_now(BL_EXIT_RUNTIME, "%s on '%s' failed: %s", call_name, nc_path, nc_strerror(rc));
}

#define NC(call)                                                                         \
    do {                                                                                 \
        errno = 0;                                                                       \
        int nc_rc_ = (call);                                                             \
        if (nc_rc_ != NC_NOERR)                                                          \
            nc_failed(#call, nc_rc_, errno);                                             \
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
    struct stat st;
    size_t len = strlen(path);
    if (len == 0) {
        snprintf(err, err_len, "the output path is empty: give -o a file name, or leave both "
                               "-o and experiment.output unset for results/<name>.nc");
        return 1;
    }
    if (path[len - 1] == '/' || (stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
        snprintf(err, err_len, "output '%s' is a directory: the output must be a file, e.g. "
                               "'%s%sname.nc'", path, path, path[len - 1] == '/' ? "" : "/");
        return 1;
    }
    char ckpt[BL_PATH_MAX + 16];
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", path);
    if (access(path, F_OK) == 0 && !force) {
        if (access(ckpt, F_OK) == 0)
            snprintf(err, err_len,
                     "output '%s' already exists, and '%s' holds checkpoints left over from the "
                     "run that wrote it (it was stopped after its output was complete): remove "
                     "them (rm -r '%s'), or pass --force to run again and overwrite the output",
                     path, ckpt, ckpt);
        else
            snprintf(err, err_len,
                     "output '%s' already exists; pass --force to overwrite it or -o to write "
                     "elsewhere",
                     path);
        return 1;
    }
    if (make_parent_dirs(path, err, err_len))
        return 1;
    char dir[BL_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    if (access(dir, W_OK | X_OK) != 0) {
        snprintf(err, err_len, "cannot write the output in '%s': %s", dir, strerror(errno));
        return 1;
    }
    return 0;
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
    size_t used = 0;
    for (int k = 0; k < base->n_sweep; k++) {
        const struct bl_sweep_key *sw = &base->sweep[k];
        char name[BL_NAME_MAX];
        coord_name(sw->key, name, sizeof name);
        used += (size_t)snprintf(o->sweep_coords + used, sizeof o->sweep_coords - used, "%s%s",
                                 used ? " " : "", name);
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

/* optim.scaling_rule, svag_l and sde_substeps: what they resolved for each point
 * (kappa with a rule, and the values the tasks ran with), and with a rule
 * epoch(record). Returns the epoch variable, or -1. */
static int define_resolved(struct bl_output *o, const struct bl_config *base,
                           const struct bl_config *points, int dim_point, int dim_record)
{
    static const char *const names[7] = {"kappa", "resolved_optim_lr", "resolved_optim_beta1",
                                          "resolved_optim_beta2", "resolved_optim_eps",
                                          "resolved_optim_steps", "resolved_measure_every"};
    static const char *const long_names[7] = {
        "optim.batch_size / optim.base_batch_size", "learning rate the point ran with",
        "beta1 the point ran with", "beta2 the point ran with", "eps the point ran with",
        "optimizer steps the point ran", "steps between the point's records"};
    int rule = base->optim.scaling_rule != BL_RULE_NONE; /* else SVAG alone: no kappa, epoch */
    for (int k = rule ? 0 : 1; k < 7; k++) {
        /* coordinates of every variable over point, like the swept keys */
        size_t used = strlen(o->sweep_coords);
        snprintf(o->sweep_coords + used, sizeof o->sweep_coords - used, "%s%s", used ? " " : "",
                 names[k]);
        int var;
        NC(nc_def_var(o->ncid, names[k], NC_DOUBLE, 1, &dim_point, &var));
        put_text_attr(o->ncid, var, "long_name", long_names[k]);
        put_text_attr(o->ncid, var, "units", "1");
        for (int p = 0; p < o->n_points; p++) {
            const struct bl_optim_cfg *opt = &points[p].optim;
            double v[7] = {(double)opt->batch_size / base->optim.base_batch_size, opt->lr,
                           opt->beta1, opt->beta2, opt->eps, (double)opt->steps,
                           (double)points[p].measure.every};
            size_t at = (size_t)p;
            NC(nc_put_var1_double(o->ncid, var, &at, &v[k]));
        }
    }
    if (!rule)
        return -1;
    int v_epoch;
    NC(nc_def_var(o->ncid, "epoch", NC_DOUBLE, 1, &dim_record, &v_epoch));
    put_text_attr(o->ncid, v_epoch, "long_name",
                  "epochs (passes over the training set) at the record, the same at every "
                  "point under optim.scaling_rule");
    put_text_attr(o->ncid, v_epoch, "units", "1");
    return v_epoch;
}

/* The CF coordinates attribute of a variable over point: the step variable
 * of its record or snapshot axis (own, or NULL) and the swept keys, so
 * xarray makes them coordinates (ds.swap_dims(point="optim_lr")). */
static void put_coordinates(const struct bl_output *o, int var, const char *own)
{
    char text[sizeof o->sweep_coords + 64];
    snprintf(text, sizeof text, "%s%s%s", own ? own : "", own && o->sweep_coords[0] ? " " : "",
             o->sweep_coords);
    if (text[0])
        put_text_attr(o->ncid, var, "coordinates", text);
}

/* measure.compare: <metric>_distance (point) for each compared metric that
 * the file records. The base point is the first at kappa = 1 under a scaling
 * rule (the batch size the rule starts from), else point 0. */
static void define_compare(struct bl_output *o, const struct bl_config *base,
                           const struct bl_config *points, int d_point)
{
    int ids[BL_MAX_COMPARE];
    char err[256];
    int n = bl_metric_parse_list(base->measure.compare, ids, BL_MAX_COMPARE, err, sizeof err);
    o->n_compare = 0;
    o->compare_base = 0;
    if (base->optim.scaling_rule != BL_RULE_NONE)
        for (int p = o->n_points - 1; p >= 0; p--)
            if (points[p].optim.batch_size == base->optim.base_batch_size)
                o->compare_base = p;
    for (int i = 0; i < n; i++) {
        int k = o->layout->metric_field[ids[i]];
        if (k < 0 || o->var_stats[k] < 0)
            continue;
        char name[BL_NAME_MAX + 16], long_name[512];
        snprintf(name, sizeof name, "%s_distance", bl_metric_table[ids[i]].name);
        snprintf(long_name, sizeof long_name,
                 "max over records of |mean %s - base point's| / sqrt(h^2 + h_base^2), h the "
                 "95%% CI half-width of each mean (<= 1: within the bands)",
                 bl_metric_table[ids[i]].name);
        int var;
        NC(nc_def_var(o->ncid, name, NC_DOUBLE, 1, &d_point, &var));
        put_text_attr(o->ncid, var, "long_name", long_name);
        put_text_attr(o->ncid, var, "units", "1");
        NC(nc_put_att_int(o->ncid, var, "base_point", NC_INT, 1, &o->compare_base));
        put_coordinates(o, var, NULL);
        o->compare_field[o->n_compare] = k;
        o->var_compare[o->n_compare++] = var;
    }
}

/* The variable of each field, and the dimensions the fields share. */
static int define_dim(int ncid, const char *name, size_t len)
{
    int d;
    if (nc_inq_dimid(ncid, name, &d) == NC_NOERR)
        return d;
    NC(nc_def_dim(ncid, name, len, &d));
    return d;
}

static nc_type nc_type_of(enum bl_field_type t)
{
    return t == BL_TYPE_BYTE ? NC_BYTE : t == BL_TYPE_INT64 ? NC_INT64 : NC_DOUBLE;
}

/* Define field f's variable (and its statistics for a trajectory). */
static void define_field(struct bl_output *o, int k, int d_point, int d_seed, int d_record,
                         int d_stat)
{
    const struct bl_field *f = &o->layout->fields[k];
    int ncid = o->ncid, dimids[4] = {d_point, d_seed, 0, 0}, n = 2;
    size_t chunk[4] = {1, 1, 1, 1};
    if (f->shape == BL_FIELD_RECORDS) {
        dimids[n] = d_record, chunk[n++] = (size_t)o->layout->n_records;
    } else if (f->shape == BL_FIELD_ARRAY) {
        for (int j = 0; j < f->n_axes; j++) {
            dimids[n] = define_dim(ncid, f->axes[j].name, (size_t)f->axes[j].length);
            chunk[n] = j == f->n_axes - 1 ? (size_t)f->axes[j].length : 1;
            if (f->axes[j].step_name) {
                int v;
                if (nc_inq_varid(ncid, f->axes[j].step_name, &v) != NC_NOERR) {
                    NC(nc_def_var(ncid, f->axes[j].step_name, NC_INT64, 1, &dimids[n], &v));
                    put_text_attr(ncid, v, "long_name", "optimizer step of each entry");
                    put_text_attr(ncid, v, "units", "1");
                }
            }
            n++;
        }
    }
    int var;
    NC(nc_def_var(ncid, f->name, nc_type_of(f->type), n, dimids, &var));
    o->var[k] = var;
    if (n > 2)
        NC(nc_def_var_chunking(ncid, var, NC_CHUNKED, chunk));
    if (f->type == BL_TYPE_DOUBLE) {
        double fill = NAN;
        NC(nc_def_var_fill(ncid, var, 0, &fill));
    }
    put_text_attr(ncid, var, "long_name", f->long_name);
    if (f->units)
        put_text_attr(ncid, var, "units", f->units);
    if (k == BL_FIELD_STATUS) {
        signed char flags[4] = {BL_STATUS_OK, BL_STATUS_DIVERGED, BL_STATUS_INTERRUPTED,
                                BL_STATUS_NOT_RUN};
        NC(nc_put_att_schar(ncid, var, "flag_values", NC_BYTE, 4, flags));
        put_text_attr(ncid, var, "flag_meanings", "ok diverged interrupted not_run");
    } else if (f->type == BL_TYPE_BYTE && f->attr_name[0] &&
               !strcmp(f->attr_name[0], "flag_meanings")) {
        /* flag values 0, 1, ...: one per word of flag_meanings */
        signed char flags[16];
        int n_flags = 1;
        for (const char *c = f->attr_value[0]; *c; c++)
            n_flags += *c == ' ';
        if (n_flags > 16)
            n_flags = 16;
        for (int i = 0; i < n_flags; i++)
            flags[i] = (signed char)i;
        NC(nc_put_att_schar(ncid, var, "flag_values", NC_BYTE, (size_t)n_flags, flags));
    }
    for (int j = 0; j < 2; j++)
        if (f->attr_name[j])
            put_text_attr(ncid, var, f->attr_name[j], f->attr_value[j]);
    const char *own = NULL;
    if (f->shape == BL_FIELD_RECORDS || (f->shape == BL_FIELD_ARRAY && !strcmp(f->axes[0].name, "record")))
        own = "step";
    else if (f->shape == BL_FIELD_ARRAY && f->axes[0].step_name)
        own = f->axes[0].step_name;
    put_coordinates(o, var, own);
    o->var_stats[k] = -1;
    if (f->shape != BL_FIELD_RECORDS)
        return;
    char name[128], text[512];
    snprintf(name, sizeof name, "%s_stats", f->name);
    int stat_dimids[3] = {d_point, d_stat, d_record};
    double fill = NAN;
    NC(nc_def_var(ncid, name, NC_DOUBLE, 3, stat_dimids, &o->var_stats[k]));
    NC(nc_def_var_fill(ncid, o->var_stats[k], 0, &fill));
    snprintf(text, sizeof text, "%s: statistics across seeds", f->long_name);
    put_text_attr(ncid, o->var_stats[k], "long_name", text);
    put_text_attr(ncid, o->var_stats[k], "units", f->units);
    put_coordinates(o, o->var_stats[k], "step");
}

/* Rank 0 keeps the trajectories it writes up to this much memory (137 MB
 * for 10,000 seeds x 101 records x 17 metrics), else reads them back. */
#define KEEP_MAX_BYTES (1L << 30)

/* Whether field k is a trajectory with statistics (doubles over record). */
static int has_stats(const struct bl_output *o, int k)
{
    return o->var_stats[k] >= 0 && o->layout->fields[k].type == BL_TYPE_DOUBLE;
}

static void keep_trajectories(struct bl_output *o)
{
    const struct bl_result_layout *L = o->layout;
    size_t one = (size_t)o->n_points * o->n_seeds * o->n_records, total = 0;
    for (int k = 0; k < L->n_fields; k++)
        total += has_stats(o, k) ? one * sizeof(double) : 0;
    if (total > KEEP_MAX_BYTES)
        return;
    for (int k = 0; k < L->n_fields; k++) {
        if (!has_stats(o, k))
            continue;
        o->kept[k] = bl_malloc(sizeof(double) * one);
        for (size_t i = 0; i < one; i++)
            o->kept[k][i] = NAN; /* the variable's fill value */
    }
}

static void free_kept(struct bl_output *o)
{
    for (int k = 0; k < BL_MAX_FIELDS; k++) {
        free(o->kept[k]);
        o->kept[k] = NULL;
    }
}

/* The step coordinates of the array fields' snapshot dimensions. */
static void write_snapshot_steps(struct bl_output *o)
{
    for (int k = 0; k < o->layout->n_fields; k++) {
        const struct bl_field *f = &o->layout->fields[k];
        if (f->shape != BL_FIELD_ARRAY || !f->axes[0].step_name)
            continue;
        int v;
        NC(nc_inq_varid(o->ncid, f->axes[0].step_name, &v));
        long long steps[2] = {f->axes[0].steps[0], f->axes[0].steps[1]};
        size_t at = 0, count = (size_t)f->axes[0].length;
        NC(nc_put_vara_longlong(o->ncid, v, &at, &count, steps));
    }
}

int bl_output_create(struct bl_output *o, const char *path, const struct bl_config *base,
                     const struct bl_run_info *info, const struct bl_result_layout *layout,
                     const long *steps, const struct bl_config *points, char *err,
                     size_t err_len)
{
    memset(o, 0, sizeof *o);
    snprintf(o->path, sizeof o->path, "%s", path);
    snprintf(o->part_path, sizeof o->part_path, "%s.part", path);
    o->layout = layout;
    o->last_sync = 0;
    o->n_points = (int)bl_config_n_points(base); /* at most BL_MAX_SWEEP_POINTS */
    o->n_seeds = base->experiment.seeds;
    o->n_records = layout->n_records;
    long n_records = layout->n_records;
    int resolved = bl_config_resolves_points(base); /* resolved per point, like a scaling rule */
    errno = 0;
    int rc = nc_create(o->part_path, NC_CLOBBER | NC_NETCDF4, &o->ncid);
    if (rc != NC_NOERR) {
        if (errno)
            snprintf(err, err_len, "cannot create '%s': %s (NetCDF: %s)", o->part_path,
                     strerror(errno), nc_strerror(rc));
        else
            snprintf(err, err_len, "cannot create '%s': %s", o->part_path, nc_strerror(rc));
        return 1;
    }
    nc_path = o->part_path;
    int ncid = o->ncid;
    int d_point, d_seed, d_record, d_stat;
    NC(nc_def_dim(ncid, "point", (size_t)o->n_points, &d_point));
    NC(nc_def_dim(ncid, "seed", (size_t)o->n_seeds, &d_seed));
    NC(nc_def_dim(ncid, "record", (size_t)n_records, &d_record));
    NC(nc_def_dim(ncid, "stat", BL_STAT_COUNT, &d_stat));

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
    if (info->blas)
        put_text_attr(ncid, NC_GLOBAL, "blas", info->blas);
    if (info->host)
        put_text_attr(ncid, NC_GLOBAL, "host", info->host);

    /* coordinates */
    int v_step, v_seed, v_stat;
    NC(nc_def_var(ncid, "step", NC_INT64, 1, &d_record, &v_step));
    put_text_attr(ncid, v_step, "long_name",
                  base->optim.scaling_rule == BL_RULE_NONE && !resolved
                      ? "optimizer step of the record"
                      : "optimizer step of the record as configured (at optim.base_batch_size, "
                        "svag_l = 1 and sde_substeps = 1; a point's own steps are "
                        "resolved_optim_steps)");
    put_text_attr(ncid, v_step, "units", "1");
    NC(nc_def_var(ncid, "seed", NC_INT, 1, &d_seed, &v_seed));
    put_text_attr(ncid, v_seed, "long_name", "random seed of the task");
    NC(nc_def_var(ncid, "stat", NC_STRING, 1, &d_stat, &v_stat));
    put_text_attr(ncid, v_stat, "long_name", "statistic across seeds");
    define_sweep_coords(o, base, d_point);
    int v_epoch = -1;
    if (base->optim.scaling_rule != BL_RULE_NONE || resolved)
        v_epoch = define_resolved(o, base, points, d_point, d_record);

    /* every field of the task's result, in layout order */
    for (int k = 0; k < layout->n_fields; k++)
        if (bl_field_in_output(layout, k))
            define_field(o, k, d_point, d_seed, d_record, d_stat);
        else
            o->var[k] = o->var_stats[k] = -1;
    define_compare(o, base, points, d_point);
    int n_ok_dimids[2] = {d_point, d_record};
    NC(nc_def_var(ncid, "n_ok", NC_INT, 2, n_ok_dimids, &o->var_n_ok));
    put_text_attr(ncid, o->var_n_ok, "long_name",
                  "seeds measured at the record (not diverged, run): the statistics' sample size");
    put_text_attr(ncid, o->var_n_ok, "units", "1");
    put_coordinates(o, o->var_n_ok, "step");
    NC(nc_enddef(ncid));

    NC(nc_put_var_longlong(ncid, v_step, (const long long *)steps));
    if (v_epoch >= 0) /* steps at the base batch size: epoch = step B0 / n */
        for (long r = 0; r < n_records; r++) {
            size_t at = (size_t)r;
            double e = (double)steps[r] * base->optim.base_batch_size / points[0].data.n_train;
            NC(nc_put_var1_double(ncid, v_epoch, &at, &e));
        }
    write_snapshot_steps(o);
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
    /* a point's row per call: a call per task is slow for millions of tasks */
    signed char *not_run = bl_malloc((size_t)o->n_seeds); /* (seed) */
    memset(not_run, BL_STATUS_NOT_RUN, (size_t)o->n_seeds);
    for (int p = 0; p < o->n_points; p++) {
        size_t at[2] = {(size_t)p, 0}, count[2] = {1, (size_t)o->n_seeds};
        NC(nc_put_vara_schar(ncid, o->var[BL_FIELD_STATUS], at, count, not_run));
    }
    free(not_run);
    NC(nc_sync(ncid));
    keep_trajectories(o);
    return 0;
}

/* The start and count of field f of task (point, seed) in its variable. */
static int field_slab(const struct bl_output *o, const struct bl_field *f, int point, int seed,
                      size_t *at, size_t *count)
{
    at[0] = (size_t)point, at[1] = (size_t)seed, count[0] = count[1] = 1;
    if (f->shape == BL_FIELD_TASK)
        return 2;
    if (f->shape == BL_FIELD_RECORDS) {
        at[2] = 0, count[2] = (size_t)o->n_records;
        return 3;
    }
    for (int j = 0; j < f->n_axes; j++)
        at[2 + j] = 0, count[2 + j] = (size_t)f->axes[j].length;
    return 2 + f->n_axes;
}

void bl_output_write_task(struct bl_output *o, int point, int seed_index, const double *payload)
{
    const struct bl_result_layout *L = o->layout;
    for (int k = 0; k < L->n_fields; k++) {
        if (o->var[k] < 0)
            continue;
        const struct bl_field *f = &L->fields[k];
        const double *v = payload + f->offset;
        size_t at[4], count[4];
        field_slab(o, f, point, seed_index, at, count);
        if (f->type == BL_TYPE_BYTE) {
            signed char b = (signed char)v[0];
            NC(nc_put_var1_schar(o->ncid, o->var[k], at, &b));
        } else if (f->type == BL_TYPE_INT64) {
            long long x = (long long)v[0];
            NC(nc_put_var1_longlong(o->ncid, o->var[k], at, &x));
        } else {
            NC(nc_put_vara_double(o->ncid, o->var[k], at, count, v));
        }
        if (o->kept[k])
            memcpy(o->kept[k] + ((long)point * o->n_seeds + seed_index) * o->n_records, v,
                   sizeof(double) * (size_t)o->n_records);
    }
    /* The done files are the durable copy (a resume rebuilds <out>.part from
     * them), so the file is flushed at most once a second: a flush per task
     * cost more as the file grew (2000 tiny tasks: 42 s -> 34 s, the ingest
     * rate no longer falling), and a full disk still shows within a second. */
    double now = bl_now();
    if (now - o->last_sync >= 1.0) {
        NC(nc_sync(o->ncid));
        o->last_sync = now;
    }
}

/* Read task (point, seed)'s fields of layout L back from an open file into
 * payload (the merge's inverse of bl_output_write_task). */
static void read_task(int ncid, const struct bl_output *o, int point, int seed, double *payload,
                      const char *path)
{
    const struct bl_result_layout *L = o->layout;
    bl_result_clear(L, payload);
    const char *writing = nc_path;
    nc_path = path; /* the messages of failed reads name the input */
    for (int k = 0; k < L->n_fields; k++) {
        if (!bl_field_in_output(L, k))
            continue;
        const struct bl_field *f = &L->fields[k];
        int v;
        if (nc_inq_varid(ncid, f->name, &v) != NC_NOERR)
            bl_fatal(BL_EXIT_USAGE, "merge: '%s' has no variable %s, which its config records",
                     path, f->name);
        size_t at[4], count[4];
        field_slab(o, f, point, seed, at, count);
        double *dst = payload + f->offset;
        if (f->type == BL_TYPE_BYTE) {
            signed char b;
            NC(nc_get_var1_schar(ncid, v, at, &b));
            dst[0] = b;
        } else if (f->type == BL_TYPE_INT64) {
            long long x;
            NC(nc_get_var1_longlong(ncid, v, at, &x));
            dst[0] = (double)x;
        } else {
            NC(nc_get_vara_double(ncid, v, at, count, dst));
        }
    }
    nc_path = writing;
}

/* Largest |mean - base mean| / sqrt(half^2 + base half^2) over the records
 * where both are finite (R of each); records with equal means count 0
 * (e.g. step 0, the same initializations), a difference with zero width
 * infinite; NaN when no record has both. */
static double compare_distance(const double *mean, const double *half, const double *base_mean,
                               const double *base_half, long R)
{
    double worst = NAN;
    for (long r = 0; r < R; r++) {
        if (!isfinite(mean[r]) || !isfinite(base_mean[r]) || !isfinite(half[r]) ||
            !isfinite(base_half[r]))
            continue;
        double diff = fabs(mean[r] - base_mean[r]);
        double width = sqrt(half[r] * half[r] + base_half[r] * base_half[r]);
        double d = diff == 0 ? 0 : width > 0 ? diff / width : INFINITY;
        if (isnan(worst) || d > worst)
            worst = d;
    }
    return worst;
}

void bl_output_finish(struct bl_output *o)
{
    const struct bl_result_layout *L = o->layout;
    int S = o->n_seeds;
    long R = o->n_records;
    double *traj = bl_malloc(sizeof(double) * (size_t)S * R);     /* (seed, record) */
    double *stats = bl_malloc(sizeof(double) * BL_STAT_COUNT * R); /* (stat, record) */
    double *by_record = bl_malloc(sizeof(double) * BL_STAT_COUNT * R); /* (record, stat) */
    int *n_ok = bl_malloc(sizeof(int) * (size_t)R); /* (record) */
    /* measure.compare: each compared metric's mean and CI half-width, (point, record) */
    double *cmp_mean[BL_MAX_COMPARE], *cmp_half[BL_MAX_COMPARE];
    for (int c = 0; c < o->n_compare; c++) {
        cmp_mean[c] = bl_malloc(sizeof(double) * (size_t)o->n_points * R);
        cmp_half[c] = bl_malloc(sizeof(double) * (size_t)o->n_points * R);
    }
    for (int k = 0; k < L->n_fields; k++) {
        if (o->var_stats[k] < 0)
            continue;
        for (int p = 0; p < o->n_points; p++) {
            size_t at[3] = {(size_t)p, 0, 0};
            size_t count[3] = {1, (size_t)S, (size_t)R};
            const double *cells = o->kept[k] ? o->kept[k] + (long)p * S * R : traj;
            if (!o->kept[k])
                NC(nc_get_vara_double(o->ncid, o->var[k], at, count, traj));
            /* every record's statistics, spread over the ranks (par.c) */
            bl_par_stats_columns(cells, S, (int)R, by_record, n_ok);
            for (long r = 0; r < R; r++)
                for (int st = 0; st < BL_STAT_COUNT; st++)
                    stats[(long)st * R + r] = by_record[r * BL_STAT_COUNT + st];
            size_t stat_count[3] = {1, BL_STAT_COUNT, (size_t)R};
            NC(nc_put_vara_double(o->ncid, o->var_stats[k], at, stat_count, stats));
            for (int c = 0; c < o->n_compare; c++)
                if (o->compare_field[c] == k)
                    for (long r = 0; r < R; r++) {
                        cmp_mean[c][(long)p * R + r] = stats[(long)BL_STAT_MEAN * R + r];
                        cmp_half[c][(long)p * R + r] = (stats[(long)BL_STAT_CI95_HIGH * R + r] -
                                                        stats[(long)BL_STAT_CI95_LOW * R + r]) / 2;
                    }
            /* the parameter norm is finite exactly when a task was measured */
            if (L->fields[k].metric == BL_M_PARAM_NORM) {
                size_t ok_at[2] = {(size_t)p, 0}, ok_count[2] = {1, (size_t)R};
                NC(nc_put_vara_int(o->ncid, o->var_n_ok, ok_at, ok_count, n_ok));
            }
        }
    }
    for (int c = 0; c < o->n_compare; c++) {
        for (int p = 0; p < o->n_points; p++) {
            double d = compare_distance(cmp_mean[c] + (long)p * R, cmp_half[c] + (long)p * R,
                                        cmp_mean[c] + (long)o->compare_base * R,
                                        cmp_half[c] + (long)o->compare_base * R, R);
            size_t at = (size_t)p;
            NC(nc_put_var1_double(o->ncid, o->var_compare[c], &at, &d));
        }
        free(cmp_mean[c]);
        free(cmp_half[c]);
    }
    free(traj);
    free(stats);
    free(by_record);
    free(n_ok);
    free_kept(o);
    NC(nc_close(o->ncid));
    if (rename(o->part_path, o->path) != 0)
        bl_fatal_now(BL_EXIT_RUNTIME, "cannot rename '%s' to '%s': %s", o->part_path, o->path,
                     strerror(errno));
}

void bl_output_close(struct bl_output *o)
{
    free_kept(o);
    NC(nc_close(o->ncid));
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

    struct bl_result_layout layout;
    bl_result_layout_make(&layout, &plan);
    /* the slices' BLAS and host: the first slice's (they may differ) */
    char *blas = text_attribute(ncids[0], "blas"), *host = text_attribute(ncids[0], "host");
    struct bl_run_info info = {command_line, ranks, group_size, blas, host};
    struct bl_output out;
    if (bl_output_create(&out, out_path, &base, &info, &layout, plan.steps, plan.points, err,
                         sizeof err))
        bl_fatal(BL_EXIT_RUNTIME, "merge: %s", err);
    double *payload = bl_malloc(sizeof(double) * (size_t)layout.length);
    for (int p = 0; p < plan.n_points; p++)
        for (int s = 0; s < plan.n_seeds; s++) {
            int task = p * plan.n_seeds + s;
            if (owner[task] < 0)
                continue;
            read_task(ncids[owner[task]], &out, p, s, payload, inputs[owner[task]]);
            bl_output_write_task(&out, p, s, payload);
        }
    for (int i = 0; i < n_inputs; i++)
        nc_close(ncids[i]);
    bl_output_finish(&out);
    if (missing)
        bl_info("biaslab: merge: %d of %d tasks are in none of the slices (status not_run)",
                missing, plan.n_tasks);
    bl_info("biaslab: merged %d files into %s", n_inputs, out_path);
    free(payload);
    free(owner);
    free(ncids);
    free(config);
    free(blas);
    free(host);
    bl_plan_free(&plan);
    return BL_EXIT_OK;
}
