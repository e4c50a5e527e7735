/* The command line: run, check, info, bench, --help, --version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bl_bench.h"
#include "bl_blas.h"
#include "bl_build_info.h"
#include "bl_config.h"
#include "bl_data.h"
#include "bl_log.h"
#include "bl_info.h"
#include "bl_ncio.h"
#include "bl_par.h"
#include "bl_plan.h"
#include "bl_run.h"

#define MAX_OVERRIDES 256

static const char usage[] =
    "usage: biaslab run CONFIG [-o OUT.nc] [--set section.key=value]... [--force]\n"
    "                   [--slice K/N]\n"
    "       biaslab merge OUT.nc SLICE.nc... [--force]\n"
    "       biaslab check CONFIG [--set section.key=value]... [--ranks N] [--slice K/N]\n"
    "       biaslab info FILE.nc [--json]\n"
    "       biaslab bench [--quick]\n"
    "       biaslab blas [--best]\n"
    "       biaslab keys\n"
    "       biaslab --help | --version\n"
    "\n"
    "run    train every (sweep point, seed) task of CONFIG on the MPI ranks\n"
    "       (mpirun -np N bin/biaslab run ...) and write results/<name>.nc\n"
    "       -o OUT.nc      write OUT.nc instead\n"
    "       --set k=v      override a config key, e.g. --set optim.lr=0.05\n"
    "                      or a sweep, e.g. --set sweep.optim.lr=0.1,0.2\n"
    "       --force        overwrite an existing output file (and discard the\n"
    "                      saved state of an interrupted run)\n"
    "       --slice K/N    run only tasks whose id % N == K (0 <= K < N), e.g. one\n"
    "                      per Slurm array job; join the outputs with merge\n"
    "       running the same command again after an interruption resumes it\n"
    "merge  join slice outputs of one config into OUT.nc and recompute statistics\n"
    "check  validate CONFIG, print the resolved config as INI and the plan\n"
    "       --ranks N      plan for N MPI ranks (default 1)\n"
    "       --slice K/N    check that the slice exists (N at most the tasks)\n"
    "info   print final mean and 95% CI of each metric per sweep point\n"
    "       --json     the same as one JSON object (NaN as null)\n"
    "bench  time the training step on three workloads against dgemm\n"
    "blas   the BLAS in use, its OpenBLAS kernels and the ones this CPU would take\n"
    "       --best  print only the latter's name (OPENBLAS_CORETYPE)\n"
    "keys   list every config key with its type, allowed values and default\n"
    "\n"
    "exit codes: 0 done, 1 runtime error, 2 bad command line, config or input,\n"
    "            3 interrupted\n";

struct options {
    const char *command, *config, *output;
    const char *inputs[MAX_OVERRIDES]; /* merge: slice files */
    int n_inputs;
    long long slice_index, slice_count; /* N is checked against the plan's tasks */
    const char *overrides[MAX_OVERRIDES];
    int n_overrides, force, ranks, quick, best, json;
};

/* A whole number written in digits only (no sign, space or exponent);
 * returns 0, or -1 when text is not one or is beyond what a long long holds. */
static int parse_count(const char *text, size_t len, long long *out)
{
    if (len == 0 || len > 18)
        return -1; /* 18 digits always fit */
    long long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        v = 10 * v + (text[i] - '0');
    }
    *out = v;
    return 0;
}

/* Parse argv; on error print the reason (when loud) and return non-zero. */
static int parse_options(int argc, char **argv, struct options *o, int loud)
{
    memset(o, 0, sizeof *o);
    o->ranks = 1;
    if (argc < 2) {
        if (loud)
            fprintf(stderr, "%s", usage);
        return 1;
    }
    o->command = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-o") || !strcmp(a, "--output") || !strcmp(a, "--set") ||
            !strcmp(a, "--ranks") || !strcmp(a, "--slice")) {
            if (!value) {
                if (loud)
                    fprintf(stderr, "biaslab: error: %s needs a value\n", a);
                return 1;
            }
            i++;
            if (!strcmp(a, "--set")) {
                if (o->n_overrides == MAX_OVERRIDES) {
                    if (loud)
                        fprintf(stderr, "biaslab: error: more than %d --set options\n",
                                MAX_OVERRIDES);
                    return 1;
                }
                o->overrides[o->n_overrides++] = value;
            } else if (!strcmp(a, "--slice")) {
                const char *slash = strchr(value, '/');
                long long k, n;
                if (!slash || parse_count(value, (size_t)(slash - value), &k) ||
                    parse_count(slash + 1, strlen(slash + 1), &n)) {
                    if (loud)
                        fprintf(stderr, "biaslab: error: --slice %s: expected K/N, two whole "
                                        "numbers in digits with 0 <= K < N <= the number of "
                                        "tasks, e.g. --slice 2/8\n", value);
                    return 1;
                }
                if (n < 1 || k >= n) {
                    if (loud && n < 1)
                        fprintf(stderr, "biaslab: error: --slice %s: N must be at least 1\n",
                                value);
                    else if (loud)
                        fprintf(stderr, "biaslab: error: --slice %s: K must be 0 .. N-1 = 0 .. "
                                        "%lld\n", value, n - 1);
                    return 1;
                }
                o->slice_index = k;
                o->slice_count = n;
            } else if (!strcmp(a, "--ranks")) {
                char *end;
                long n = strtol(value, &end, 10);
                if (*end || n < 1 || n > 1000000) {
                    if (loud)
                        fprintf(stderr, "biaslab: error: --ranks %s: need a whole number "
                                        ">= 1\n", value);
                    return 1;
                }
                o->ranks = (int)n;
            } else {
                o->output = value;
            }
        } else if (!strcmp(a, "--force")) {
            o->force = 1;
        } else if (!strcmp(a, "--best")) {
            o->best = 1;
        } else if (!strcmp(a, "--json")) {
            o->json = 1;
        } else if (!strcmp(a, "--quick")) {
            o->quick = 1;
        } else if (a[0] == '-') {
            if (loud)
                fprintf(stderr, "biaslab: error: unknown option '%s' (see biaslab --help)\n",
                        a);
            return 1;
        } else if (!o->config) {
            o->config = a;
        } else if (!strcmp(o->command, "merge") && o->n_inputs < MAX_OVERRIDES) {
            o->inputs[o->n_inputs++] = a;
        } else {
            if (loud)
                fprintf(stderr, "biaslab: error: unexpected argument '%s' (see biaslab "
                                "--help)\n", a);
            return 1;
        }
    }
    if (!strcmp(o->command, "merge") && (!o->config || o->n_inputs < 1)) {
        if (loud)
            fprintf(stderr, "biaslab: error: merge needs an output and at least one slice file "
                            "(biaslab merge OUT.nc SLICE.nc...)\n");
        return 1;
    }
    int needs_file = !strcmp(o->command, "run") || !strcmp(o->command, "check") ||
                     !strcmp(o->command, "info");
    if (needs_file && !o->config) {
        if (loud)
            fprintf(stderr, "biaslab: error: '%s' needs a %s file (see biaslab --help)\n",
                    o->command, strcmp(o->command, "info") ? "config" : "NetCDF");
        return 1;
    }
    return 0;
}

static char *join_command_line(int argc, char **argv)
{
    size_t len = 1;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *s = bl_malloc(len);
    s[0] = '\0';
    for (int i = 0; i < argc; i++) {
        strcat(s, argv[i]);
        if (i + 1 < argc)
            strcat(s, " ");
    }
    return s;
}

static int command_check(const struct options *o)
{
    char err[BL_ERR_MAX];
    struct bl_config cfg;
    if (bl_config_load(o->config, o->overrides, o->n_overrides, &cfg, err, sizeof err) ||
        bl_data_resolve_sizes(&cfg.data, err, sizeof err)) {
        fprintf(stderr, "biaslab: error: %s\n", err);
        return BL_EXIT_USAGE;
    }
    struct bl_plan plan;
    if (bl_plan_make(&cfg, &plan, err, sizeof err)) {
        fprintf(stderr, "biaslab: error: %s\n", err);
        return BL_EXIT_USAGE;
    }
    if (bl_plan_check_slice(&plan, o->slice_index, o->slice_count, err, sizeof err)) {
        fprintf(stderr, "biaslab: error: %s\n", err);
        return BL_EXIT_USAGE;
    }
    if (o->ranks % cfg.parallel.group_size) {
        fprintf(stderr,
                "biaslab: error: --ranks %d is not a multiple of parallel.group_size = %d\n",
                o->ranks, cfg.parallel.group_size);
        return BL_EXIT_USAGE;
    }
    /* --ranks N are taken to share this machine, as on a workstation */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int per_node = o->ranks < cores ? o->ranks : (int)cores;
    if (bl_plan_check_memory(&plan, cfg.parallel.group_size, per_node, err, sizeof err)) {
        fprintf(stderr, "biaslab: error: %s\n", err);
        bl_plan_free(&plan);
        return BL_EXIT_USAGE;
    }
    bl_config_write_ini(&cfg, stdout);
    printf("\n");
    bl_plan_print(&plan, o->ranks, cfg.parallel.group_size);
    char path[BL_PATH_MAX];
    bl_config_output_path(&cfg, path, sizeof path);
    printf("# output: %s\n", o->output ? o->output : path);
    bl_plan_free(&plan);
    return BL_EXIT_OK;
}

/* `biaslab blas [--best]`: the BLAS, its kernels and the ones this CPU
 * would take; --best prints only the latter's OpenBLAS name (for
 * BIASLAB_BLAS_CORE=auto in the job scripts). */
static int blas_command(int best_only)
{
    char features[128], line[1024];
    const char *best = bl_blas_best_core(features, sizeof features);
    if (best_only) {
        printf("%s\n", best);
        return BL_EXIT_OK;
    }
    bl_blas_describe(line, sizeof line);
    printf("BLAS: %s\ncore %s\nbest %s (CPU features: %s)\n", line, bl_blas_core(), best,
           features);
    printf("dgemm kernels: %s on core %s, %s on %s\n", bl_blas_dgemm_family(bl_blas_core()),
           bl_blas_core(), bl_blas_dgemm_family(best), best);
    if (bl_blas_core_advice(line, sizeof line))
        printf("%s\n", line);
    return BL_EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "bench") && !strcmp(argv[2], "--dgemm-probe"))
        return bl_bench_dgemm_probe(atoi(argv[3]), argv[4]); /* bench's own child */
    if ((argc == 5 || argc == 6) && !strcmp(argv[1], "bench") && !strcmp(argv[2], "--workload"))
        return bl_bench_one(argv[3], atoi(argv[4]), argc == 6 && !strcmp(argv[5], "--quick"));
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
                      !strcmp(argv[1], "help"))) {
        printf("%s", usage);
        return BL_EXIT_OK;
    }
    if (argc >= 2 && !strcmp(argv[1], "--version")) {
        char blas[1024];
        bl_blas_describe(blas, sizeof blas);
        printf("biaslab %s (git %s, built with %s)\nBLAS: %s\n", BL_VERSION, BL_GIT_COMMIT,
               BL_BUILD_FLAGS, blas);
        return BL_EXIT_OK;
    }
    struct options o;
    if (argc >= 2 && !strcmp(argv[1], "run")) {
        /* every rank parses; only rank 0 speaks */
        bl_par_init(&argc, &argv);
        int rank = bl_par_world_rank();
        if (parse_options(argc, argv, &o, rank == 0))
            bl_par_exit(BL_EXIT_USAGE);
        char *command_line = join_command_line(argc, argv);
        struct bl_run_args args = {.config_path = o.config,
                                   .output = o.output,
                                   .overrides = o.overrides,
                                   .n_overrides = o.n_overrides,
                                   .force = o.force,
                                   .slice_index = o.slice_index,
                                   .slice_count = o.slice_count,
                                   .command_line = command_line};
        int code = bl_run(&args);
        free(command_line);
        bl_par_exit(code);
    }
    if (parse_options(argc, argv, &o, 1))
        return BL_EXIT_USAGE;
    if (!strcmp(o.command, "check"))
        return command_check(&o);
    if (!strcmp(o.command, "info"))
        return bl_output_info(o.config, o.json);
    if (!strcmp(o.command, "merge")) {
        char *command_line = join_command_line(argc, argv);
        int code = bl_output_merge(o.config, o.inputs, o.n_inputs, o.force, command_line);
        free(command_line);
        return code;
    }
    if (!strcmp(o.command, "bench"))
        return bl_bench(o.quick);
    if (!strcmp(o.command, "blas"))
        return blas_command(o.best);
    if (!strcmp(o.command, "keys")) {
        bl_config_write_reference(stdout);
        return BL_EXIT_OK;
    }
    fprintf(stderr, "biaslab: error: unknown command '%s'; use run, check, info, merge, bench or keys "
                    "(see biaslab --help)\n", o.command);
    return BL_EXIT_USAGE;
}
