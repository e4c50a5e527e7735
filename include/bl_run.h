/* `biaslab run`: the whole batch run on every rank. */
#ifndef BL_RUN_H
#define BL_RUN_H

struct bl_run_args {
    const char *config_path;
    const char *output;             /* -o, or NULL */
    const char *const *overrides;   /* --set values */
    int n_overrides;
    int force;
    /* --slice K/N: run tasks with id % N == K; N = 0: all. Parsed as given
     * (0 <= K < N); bl_run refuses N beyond the config's task count. */
    long long slice_index, slice_count;
    const char *command_line;       /* recorded in the output's history */
};

/* Runs under MPI (bl_par_init already called); returns the exit code. */
int bl_run(const struct bl_run_args *args);

#endif
