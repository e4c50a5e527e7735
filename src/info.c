/* `biaslab info FILE.nc [--json]`: what a result file measured, per sweep
 * point: its sweep coordinates, the task outcomes, and each metric's final
 * mean with its 95% CI. One reader fills a struct per point; two printers
 * write it as a table or as JSON (for scripts on login nodes). */
#include <math.h>
#include <netcdf.h>
#include <stdio.h>
#include <string.h>

#include "bl_info.h"
#include "bl_log.h"
#include "bl_metrics.h"
#include "bl_result.h"
#include "bl_stats.h"

#define INFO_MAX_VARS 128
#define INFO_MAX_FLAGS 16

struct coord {
    char name[NC_MAX_NAME + 1];
    int is_text;
    char text[256];
    double number;
};

/* A per-task variable over (point, seed) other than status and wall time:
 * a flag's task count per meaning, or a number's mean, min and max. */
struct outcome {
    char name[NC_MAX_NAME + 1];
    int is_flag, n_flags, n_tasks;
    char flag_name[INFO_MAX_FLAGS][64];
    int flag_count[INFO_MAX_FLAGS];
    double mean, min, max;
    double ci95_low, ci95_high; /* percentile bootstrap of the mean, as the metrics' */
};

/* A metric's statistics at its last record with a known mean. */
struct metric_row {
    const char *name;
    int measured;
    long long step;
    double mean, ci95_low, ci95_high;
};

struct point_info {
    size_t index;
    int n_coords, n_outcomes, n_metrics;
    struct coord coords[INFO_MAX_VARS];
    struct outcome outcomes[INFO_MAX_VARS];
    struct metric_row metrics[BL_METRIC_COUNT];
    int status_count[4]; /* ok, diverged, interrupted, not_run */
};

/* The open file and what every point shares. */
struct info_file {
    const char *path;
    int ncid, nvars, d_point, d_seed, v_status, v_step;
    size_t n_points, n_seeds, n_records, n_stat;
    long long last_step;
    char title[256];
    double *stats;       /* (stat, record) of one metric at one point */
    signed char *status; /* (seed) of one point */
    double *values;      /* (seed) of one outcome at one point */
    double *stats_work;  /* (2 seeds + resamples) bl_stats_compute's scratch */
};

static int info_fail(const char *path, int rc, const char *what)
{
    fprintf(stderr, "biaslab: error: %s: %s%s%s\n", path, what, rc ? ": " : "",
            rc ? nc_strerror(rc) : "");
    return BL_EXIT_USAGE;
}

/* The sweep coordinates of point p: every variable over (point) alone. */
static void read_coords(const struct info_file *f, struct point_info *pi)
{
    size_t p = pi->index;
    for (int v = 0; v < f->nvars && pi->n_coords < INFO_MAX_VARS; v++) {
        int ndims, dim;
        nc_type type;
        struct coord *c = &pi->coords[pi->n_coords];
        if (nc_inq_var(f->ncid, v, c->name, &type, &ndims, NULL, NULL) || ndims != 1)
            continue;
        nc_inq_vardimid(f->ncid, v, &dim);
        if (dim != f->d_point)
            continue;
        if (type == NC_STRING) {
            char *value = NULL;
            if (nc_get_var1_string(f->ncid, v, &p, &value) != NC_NOERR)
                continue;
            c->is_text = 1;
            snprintf(c->text, sizeof c->text, "%s", value);
            nc_free_string(1, &value);
        } else if (nc_get_var1_double(f->ncid, v, &p, &c->number) != NC_NOERR) {
            continue;
        }
        pi->n_coords++;
    }
}

static void read_outcomes(const struct info_file *f, struct point_info *pi)
{
    size_t p = pi->index;
    for (int var = 0; var < f->nvars && pi->n_outcomes < INFO_MAX_VARS; var++) {
        int ndims, dimids[2];
        nc_type type;
        struct outcome *o = &pi->outcomes[pi->n_outcomes];
        memset(o, 0, sizeof *o);
        if (nc_inq_var(f->ncid, var, o->name, &type, &ndims, NULL, NULL) || ndims != 2 ||
            !strcmp(o->name, "wall_seconds") || !strcmp(o->name, "status"))
            continue;
        nc_inq_vardimid(f->ncid, var, dimids);
        if (dimids[0] != f->d_point || dimids[1] != f->d_seed)
            continue;
        if (type == NC_BYTE) {
            /* a flag: how many tasks have each meaning */
            char meanings[512] = "";
            size_t len = 0;
            if (nc_inq_attlen(f->ncid, var, "flag_meanings", &len) != NC_NOERR ||
                len >= sizeof meanings ||
                nc_get_att_text(f->ncid, var, "flag_meanings", meanings) != NC_NOERR)
                continue;
            meanings[len] = '\0';
            signed char flags[4096];
            size_t at[2] = {p, 0}, count[2] = {1, f->n_seeds < 4096 ? f->n_seeds : 4096};
            if (nc_get_vara_schar(f->ncid, var, at, count, flags) != NC_NOERR)
                continue;
            o->is_flag = 1;
            int k = 0;
            char *save = NULL;
            for (char *word = strtok_r(meanings, " ", &save); word && k < INFO_MAX_FLAGS;
                 word = strtok_r(NULL, " ", &save), k++) {
                snprintf(o->flag_name[k], sizeof o->flag_name[k], "%s", word);
                for (size_t s = 0; s < count[1]; s++)
                    o->flag_count[k] += f->status[s] != BL_STATUS_NOT_RUN && flags[s] == k;
            }
            o->n_flags = k;
            pi->n_outcomes++;
            continue;
        }
        if (type != NC_DOUBLE)
            continue;
        size_t at[2] = {p, 0}, count[2] = {1, f->n_seeds};
        if (nc_get_vara_double(f->ncid, var, at, count, f->values) != NC_NOERR)
            continue;
        /* the statistics of the tasks that ran, like a metric's across seeds */
        for (size_t s = 0; s < f->n_seeds; s++)
            if (f->status[s] == BL_STATUS_NOT_RUN)
                f->values[s] = NAN;
        double stats[BL_STAT_COUNT];
        o->n_tasks = bl_stats_compute(f->values, (int)f->n_seeds, BL_BOOTSTRAP_SEED, NULL, stats,
                                      f->stats_work);
        o->mean = stats[BL_STAT_MEAN];
        o->min = stats[BL_STAT_MIN];
        o->max = stats[BL_STAT_MAX];
        o->ci95_low = stats[BL_STAT_CI95_LOW];
        o->ci95_high = stats[BL_STAT_CI95_HIGH];
        pi->n_outcomes++;
    }
}

/* Each metric the file holds, at the last record whose mean is known
 * (divergence can end a point's statistics early). */
static void read_metrics(const struct info_file *f, struct point_info *pi)
{
    size_t nr = f->n_records;
    for (int m = 0; m < BL_METRIC_COUNT; m++) {
        char name[128];
        int v;
        snprintf(name, sizeof name, "%s_stats", bl_metric_table[m].name);
        if (nc_inq_varid(f->ncid, name, &v) != NC_NOERR)
            continue;
        size_t at[3] = {pi->index, 0, 0}, count[3] = {1, f->n_stat, nr};
        if (!nr || nc_get_vara_double(f->ncid, v, at, count, f->stats) != NC_NOERR)
            continue;
        struct metric_row *row = &pi->metrics[pi->n_metrics++];
        row->name = bl_metric_table[m].name;
        long r = (long)nr - 1;
        while (r >= 0 && isnan(f->stats[BL_STAT_MEAN * nr + r]))
            r--;
        row->measured = r >= 0;
        if (r < 0)
            continue;
        size_t rr = (size_t)r;
        row->step = r;
        nc_get_var1_longlong(f->ncid, f->v_step, &rr, &row->step);
        row->mean = f->stats[BL_STAT_MEAN * nr + r];
        row->ci95_low = f->stats[BL_STAT_CI95_LOW * nr + r];
        row->ci95_high = f->stats[BL_STAT_CI95_HIGH * nr + r];
    }
}

static void read_point(const struct info_file *f, size_t p, struct point_info *pi)
{
    memset(pi, 0, sizeof *pi);
    pi->index = p;
    read_coords(f, pi);
    size_t at[2] = {p, 0}, count[2] = {1, f->n_seeds};
    nc_get_vara_schar(f->ncid, f->v_status, at, count, f->status);
    for (size_t s = 0; s < f->n_seeds; s++)
        if (f->status[s] >= 0 && f->status[s] < 4)
            pi->status_count[f->status[s]]++;
    read_outcomes(f, pi);
    read_metrics(f, pi);
}

/* ---- the table ---- */

static void text_header(const struct info_file *f)
{
    printf("%s: %s\n%zu points x %zu seeds, %zu records (last step %lld)\n", f->path, f->title,
           f->n_points, f->n_seeds, f->n_records, f->last_step);
}

static void text_point(const struct point_info *pi)
{
    printf("point %zu:", pi->index);
    for (int k = 0; k < pi->n_coords; k++)
        if (pi->coords[k].is_text)
            printf(" %s=%s", pi->coords[k].name, pi->coords[k].text);
        else
            printf(" %s=%g", pi->coords[k].name, pi->coords[k].number);
    printf("\n  status: ok %d, diverged %d, interrupted %d, not_run %d\n", pi->status_count[0],
           pi->status_count[1], pi->status_count[2], pi->status_count[3]);
    for (int k = 0; k < pi->n_outcomes; k++) {
        const struct outcome *o = &pi->outcomes[k];
        if (o->is_flag) {
            printf("  %-22s", o->name);
            for (int j = 0; j < o->n_flags; j++)
                if (o->flag_count[j])
                    printf(" %s %d", o->flag_name[j], o->flag_count[j]);
            printf("\n");
        } else if (o->n_tasks) {
            printf("  %-22s mean %.6g [95%% CI %.6g, %.6g], min %.6g, max %.6g over %d tasks\n",
                   o->name, o->mean, o->ci95_low, o->ci95_high, o->min, o->max, o->n_tasks);
        } else {
            printf("  %-22s not computed for any task\n", o->name);
        }
    }
    printf("  %-22s %8s %14s %14s %14s\n", "metric", "step", "mean", "ci95_low", "ci95_high");
    for (int k = 0; k < pi->n_metrics; k++) {
        const struct metric_row *row = &pi->metrics[k];
        if (!row->measured)
            printf("  %-22s %8s %14s\n", row->name, "-", "not measured");
        else
            printf("  %-22s %8lld %14.6g %14.6g %14.6g\n", row->name, row->step, row->mean,
                   row->ci95_low, row->ci95_high);
    }
}

/* ---- JSON ---- */

static void json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            printf("\\%c", *c);
        else if (*c < 0x20)
            printf("\\u%04x", *c);
        else
            putchar(*c);
    }
    putchar('"');
}

/* JSON has no NaN or infinity: they are null */
static void json_number(double x)
{
    if (isfinite(x))
        printf("%.17g", x);
    else
        printf("null");
}

static void json_point(const struct point_info *pi, int first)
{
    printf("%s\n    {\"point\": %zu, \"sweep\": {", first ? "" : ",", pi->index);
    for (int k = 0; k < pi->n_coords; k++) {
        printf("%s", k ? ", " : "");
        json_string(pi->coords[k].name);
        printf(": ");
        if (pi->coords[k].is_text)
            json_string(pi->coords[k].text);
        else
            json_number(pi->coords[k].number);
    }
    printf("},\n     \"status\": {\"ok\": %d, \"diverged\": %d, \"interrupted\": %d, "
           "\"not_run\": %d},\n     \"outcomes\": {",
           pi->status_count[0], pi->status_count[1], pi->status_count[2], pi->status_count[3]);
    for (int k = 0; k < pi->n_outcomes; k++) {
        const struct outcome *o = &pi->outcomes[k];
        printf("%s", k ? ", " : "");
        json_string(o->name);
        if (o->is_flag) {
            printf(": {");
            for (int j = 0; j < o->n_flags; j++) {
                printf("%s", j ? ", " : "");
                json_string(o->flag_name[j]);
                printf(": %d", o->flag_count[j]);
            }
            printf("}");
        } else {
            printf(": {\"mean\": ");
            json_number(o->mean);
            printf(", \"ci95_low\": ");
            json_number(o->n_tasks ? o->ci95_low : NAN);
            printf(", \"ci95_high\": ");
            json_number(o->n_tasks ? o->ci95_high : NAN);
            printf(", \"min\": ");
            json_number(o->n_tasks ? o->min : NAN);
            printf(", \"max\": ");
            json_number(o->n_tasks ? o->max : NAN);
            printf(", \"tasks\": %d}", o->n_tasks);
        }
    }
    printf("},\n     \"metrics\": {");
    for (int k = 0; k < pi->n_metrics; k++) {
        const struct metric_row *row = &pi->metrics[k];
        printf("%s\n       ", k ? "," : "");
        json_string(row->name);
        if (!row->measured) {
            printf(": null");
            continue;
        }
        printf(": {\"step\": %lld, \"mean\": ", row->step);
        json_number(row->mean);
        printf(", \"ci95_low\": ");
        json_number(row->ci95_low);
        printf(", \"ci95_high\": ");
        json_number(row->ci95_high);
        printf("}");
    }
    printf("}}");
}

static void json_header(const struct info_file *f)
{
    printf("{\"file\": ");
    json_string(f->path);
    printf(", \"title\": ");
    json_string(f->title);
    printf(", \"points\": %zu, \"seeds\": %zu, \"records\": %zu, \"last_step\": %lld,\n"
           " \"point\": [",
           f->n_points, f->n_seeds, f->n_records, f->last_step);
}

int bl_output_info(const char *path, int json)
{
    struct info_file f = {.path = path, .last_step = -1};
    int rc;
    if ((rc = nc_open(path, NC_NOWRITE, &f.ncid)) != NC_NOERR)
        return info_fail(path, rc, "cannot open as NetCDF");
    int d_record, d_stat;
    if (nc_inq_dimid(f.ncid, "point", &f.d_point) || nc_inq_dimid(f.ncid, "seed", &f.d_seed) ||
        nc_inq_dimid(f.ncid, "record", &d_record) || nc_inq_dimid(f.ncid, "stat", &d_stat) ||
        nc_inq_varid(f.ncid, "status", &f.v_status)) {
        nc_close(f.ncid);
        return info_fail(path, 0, "not a biaslab output (needs dimensions point, seed, "
                                  "record, stat and variable status)");
    }
    nc_inq_dimlen(f.ncid, f.d_point, &f.n_points);
    nc_inq_dimlen(f.ncid, f.d_seed, &f.n_seeds);
    nc_inq_dimlen(f.ncid, d_record, &f.n_records);
    nc_inq_dimlen(f.ncid, d_stat, &f.n_stat);
    size_t len = 0;
    if (nc_inq_attlen(f.ncid, NC_GLOBAL, "title", &len) == NC_NOERR && len < sizeof f.title)
        nc_get_att_text(f.ncid, NC_GLOBAL, "title", f.title);
    size_t last = f.n_records ? f.n_records - 1 : 0;
    f.v_step = -1;
    if (f.n_records && nc_inq_varid(f.ncid, "step", &f.v_step) == NC_NOERR)
        nc_get_var1_longlong(f.ncid, f.v_step, &last, &f.last_step);
    nc_inq_nvars(f.ncid, &f.nvars);
    f.stats = bl_malloc(sizeof(double) * f.n_stat * (f.n_records ? f.n_records : 1));
    f.status = bl_malloc(f.n_seeds + 1);
    f.values = bl_malloc(sizeof(double) * (f.n_seeds + 1));
    f.stats_work = bl_malloc(sizeof(double) * (2 * f.n_seeds + BL_BOOTSTRAP_RESAMPLES));
    struct point_info *pi = bl_malloc(sizeof *pi);
    if (json)
        json_header(&f);
    else
        text_header(&f);
    for (size_t p = 0; p < f.n_points; p++) {
        read_point(&f, p, pi);
        if (json)
            json_point(pi, p == 0);
        else
            text_point(pi);
    }
    if (json)
        printf("\n]}\n");
    free(pi);
    free(f.stats);
    free(f.status);
    free(f.values);
    free(f.stats_work);
    nc_close(f.ncid);
    return BL_EXIT_OK;
}
