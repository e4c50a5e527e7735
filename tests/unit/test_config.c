/* Config: defaults, every class of error message, [sweep] expansion, --set
 * and the INI round trip. Fixtures are written to a fresh temporary
 * directory so the suite needs no files of its own. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bl_config.h"
#include "bl_test.h"

static char tmpdir[PATH_MAX];
static int n_fixtures;

/* Configs are big (the sweep table), so they live here, not on the stack. */
static struct bl_config cfg, cfg2;
static char err[BL_ERR_MAX];
static char path[PATH_MAX + 32];

static int suite_init(void)
{
    const char *base = getenv("TMPDIR");
    int len = snprintf(tmpdir, sizeof tmpdir, "%s/bl_config_XXXXXX", base && *base ? base : "/tmp");
    if (len < 0 || (size_t)len >= sizeof tmpdir) {
        fprintf(stderr, "config suite: TMPDIR is too long (%d characters)\n", len);
        return -1;
    }
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "config suite: cannot create %s\n", tmpdir);
        return -1;
    }
    return 0;
}

static int suite_cleanup(void)
{
    DIR *dir = opendir(tmpdir);
    if (!dir)
        return -1;
    struct dirent *e;
    char file[PATH_MAX + 300];
    while ((e = readdir(dir))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(file, sizeof file, "%s/%s", tmpdir, e->d_name);
        unlink(file);
    }
    closedir(dir);
    return rmdir(tmpdir);
}

/* Writes text to a new file in tmpdir; its name is left in `path`. */
static void write_fixture(const char *text)
{
    snprintf(path, sizeof path, "%s/c%d.ini", tmpdir, ++n_fixtures);
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
}

static int load(const char *text, const char *const *sets, int n_sets)
{
    write_fixture(text);
    err[0] = '\0';
    return bl_config_load(path, sets, n_sets, &cfg, err, sizeof err);
}

/* Loads and says why when the load was expected to work but did not. */
static int load_ok(const char *text, const char *const *sets, int n_sets)
{
    int rc = load(text, sets, n_sets);
    if (rc)
        fprintf(stderr, "\n    [config] unexpected error: %s", err);
    return rc == 0;
}

static int contains(const char *haystack, const char *needle)
{
    int found = strstr(haystack, needle) != NULL;
    if (!found)
        fprintf(stderr, "\n    [config] expected '%s' in: %s", needle, haystack);
    return found;
}

/* The message starts with "<fixture>:<line>: " (or "<fixture>: " when line
 * is 0) and contains every part. */
static void expect_error(const char *text, const char *const *sets, int n_sets, int line,
                         const char *const *parts)
{
    CU_ASSERT(load(text, sets, n_sets) != 0);
    char where[PATH_MAX + 64];
    if (line > 0)
        snprintf(where, sizeof where, "%s:%d: ", path, line);
    else
        snprintf(where, sizeof where, "%s: ", path);
    CU_ASSERT(strncmp(err, where, strlen(where)) == 0);
    if (strncmp(err, where, strlen(where)))
        fprintf(stderr, "\n    [config] expected to start with '%s': %s", where, err);
    for (int i = 0; parts && parts[i]; i++)
        CU_ASSERT(contains(err, parts[i]));
}

/* Same, with the whole message given (after "<fixture>:<line>: "). */
static void expect_exact(const char *text, int line, const char *message)
{
    CU_ASSERT(load(text, NULL, 0) != 0);
    char want[PATH_MAX + BL_ERR_MAX];
    snprintf(want, sizeof want, "%s:%d: %s", path, line, message);
    CU_ASSERT_STRING_EQUAL(err, want);
}

/* Field by field, so that source_path is left out. */
static int configs_equal(const struct bl_config *a, const struct bl_config *b)
{
    /* which data sizes were given differs by design: a resolved config gives all */
    struct bl_data_cfg da = a->data, db = b->data;
    da.n_train_given = db.n_train_given = da.n_test_given = db.n_test_given = 0;
    return !memcmp(&a->experiment, &b->experiment, sizeof a->experiment) &&
           !memcmp(&da, &db, sizeof da) &&
           !memcmp(&a->model, &b->model, sizeof a->model) &&
           !memcmp(&a->loss, &b->loss, sizeof a->loss) &&
           !memcmp(&a->optim, &b->optim, sizeof a->optim) &&
           !memcmp(&a->measure, &b->measure, sizeof a->measure) &&
           !memcmp(&a->parallel, &b->parallel, sizeof a->parallel) && a->n_sweep == b->n_sweep &&
           !memcmp(a->sweep, b->sweep, sizeof a->sweep);
}

static void test_defaults_from_minimal_file(void)
{
    CU_ASSERT_FATAL(load_ok("[experiment]\nname = tiny\n", NULL, 0));
    CU_ASSERT_STRING_EQUAL(cfg.experiment.name, "tiny");
    CU_ASSERT_EQUAL(cfg.experiment.seeds, 8);
    CU_ASSERT_EQUAL(cfg.experiment.first_seed, 0);
    CU_ASSERT_STRING_EQUAL(cfg.experiment.output, "");
    CU_ASSERT_EQUAL(cfg.data.kind, BL_DATA_SEPARABLE);
    CU_ASSERT_EQUAL(cfg.data.n_train, 200);
    CU_ASSERT_EQUAL(cfg.data.n_test, 1000);
    CU_ASSERT_EQUAL(cfg.data.dim, 20);
    CU_ASSERT_EQUAL(cfg.data.classes, 2);
    CU_ASSERT_EQUAL(cfg.data.margin, 0.1);
    CU_ASSERT_EQUAL(cfg.data.cluster_std, 1.0);
    CU_ASSERT_EQUAL(cfg.data.cluster_spread, 3.0);
    CU_ASSERT_EQUAL(cfg.model.kind, BL_MODEL_MLP);
    CU_ASSERT_EQUAL(cfg.model.depth, 2);
    CU_ASSERT_EQUAL(cfg.model.width, 64);
    CU_ASSERT_EQUAL(cfg.model.activation, BL_ACT_RELU);
    CU_ASSERT_EQUAL(cfg.model.leaky_slope, 0.1);
    CU_ASSERT_EQUAL(cfg.model.bias, 0);
    CU_ASSERT_EQUAL(cfg.model.init_scale, 1.0);
    CU_ASSERT_EQUAL(cfg.loss.kind, BL_LOSS_LOGISTIC);
    CU_ASSERT_EQUAL(cfg.loss.reduction, BL_REDUCE_MEAN);
    CU_ASSERT_EQUAL(cfg.optim.kind, BL_OPT_GD);
    CU_ASSERT_EQUAL(cfg.optim.lr, 0.1);
    CU_ASSERT_EQUAL(cfg.optim.schedule, BL_SCHED_CONSTANT);
    CU_ASSERT_EQUAL(cfg.optim.momentum, 0.9);
    CU_ASSERT_EQUAL(cfg.optim.weight_decay, 0.0);
    CU_ASSERT_EQUAL(cfg.optim.batch_size, 0);
    CU_ASSERT_EQUAL(cfg.optim.steps, 1000);
    BL_ASSERT_CLOSE(cfg.optim.loss_up, pow(2.0, 1.0 / 5.0), 1e-15);
    BL_ASSERT_CLOSE(cfg.optim.loss_down, pow(2.0, -1.0 / 10.0), 1e-15);
    CU_ASSERT_EQUAL(cfg.measure.every, 10);
    CU_ASSERT_EQUAL(cfg.measure.save_params, BL_SAVE_NONE);
    CU_ASSERT_EQUAL(cfg.parallel.group_size, 1);
    CU_ASSERT_EQUAL(cfg.parallel.blas_threads, 0);
    CU_ASSERT_EQUAL(cfg.n_sweep, 0);
    CU_ASSERT_EQUAL(bl_config_n_points(&cfg), 1);
    CU_ASSERT_STRING_EQUAL(cfg.source_path, path);

    char out[256];
    bl_config_output_path(&cfg, out, sizeof out);
    CU_ASSERT_STRING_EQUAL(out, "results/tiny.nc");

    /* An empty file is a valid config too, and equals the defaults. */
    CU_ASSERT_FATAL(load_ok("", NULL, 0));
    bl_config_defaults(&cfg2);
    CU_ASSERT(configs_equal(&cfg, &cfg2));
    CU_ASSERT_STRING_EQUAL(cfg.experiment.name, "experiment");
    CU_ASSERT_EQUAL(bl_config_validate(&cfg2, err, sizeof err), 0);
}

static void test_comments_whitespace_and_values(void)
{
    CU_ASSERT_FATAL(load_ok("# a comment\n"
                            "; another\n"
                            "[experiment]\n"
                            "name = run-1.v2_ok\n"
                            "output = out/dir/run.nc\n"
                            "[optim]\n"
                            "   lr = 0.5   # inline comment\n"
                            "\tsteps = 1e3 ; also inline\n"
                            "kind: sgd\n"
                            "batch_size = 20\n"
                            "[model]\n"
                            "bias = yes\n"
                            "[data]\n"
                            "n_train = 2e2\n"
                            "margin = 1e-3\n",
                            NULL, 0));
    CU_ASSERT_STRING_EQUAL(cfg.experiment.name, "run-1.v2_ok");
    CU_ASSERT_EQUAL(cfg.optim.lr, 0.5);
    CU_ASSERT_EQUAL(cfg.optim.steps, 1000);
    CU_ASSERT_EQUAL(cfg.optim.kind, BL_OPT_SGD);
    CU_ASSERT_EQUAL(cfg.model.bias, 1);
    CU_ASSERT_EQUAL(cfg.data.n_train, 200);
    CU_ASSERT_EQUAL(cfg.data.margin, 1e-3);
    char out[256];
    bl_config_output_path(&cfg, out, sizeof out);
    CU_ASSERT_STRING_EQUAL(out, "out/dir/run.nc");

    static const char *const truths[] = {"true", "YES", "on", "1"};
    static const char *const lies[] = {"false", "no", "Off", "0"};
    char text[64];
    for (int i = 0; i < 4; i++) {
        snprintf(text, sizeof text, "[model]\nbias = %s\n", truths[i]);
        CU_ASSERT(load_ok(text, NULL, 0) && cfg.model.bias == 1);
        snprintf(text, sizeof text, "[model]\nbias = %s\n", lies[i]);
        CU_ASSERT(load_ok(text, NULL, 0) && cfg.model.bias == 0);
    }
}

static void test_error_out_of_range(void)
{
    expect_exact("[optim]\nlr = -0.1\n", 2,
                 "optim.lr = -0.1 is out of range: must be > 0 and <= 1e+06");
    expect_exact("[data]\nn_train = 0\n", 2,
                 "data.n_train = 0 is out of range: must be >= 1 and <= 100000000");
    expect_exact("[model]\nleaky_slope = 1\n", 2,
                 "model.leaky_slope = 1 is out of range: must be >= 0 and < 1");
    expect_exact("[experiment]\n\nfirst_seed = 2147483648\n", 3,
                 "experiment.first_seed = 2147483648 is out of range: must be >= 0 and <= "
                 "2147483647");
    expect_exact("[optim]\nsteps = 1e13\n", 2,
                 "optim.steps = 1e13 is out of range: must be >= 1 and <= 1000000000000");
    /* the Adam family: beta in [0, 1), eps > 0 */
    expect_exact("[optim]\nkind = adam\nbeta1 = 1\n", 3,
                 "optim.beta1 = 1 is out of range: must be >= 0 and < 1");
    expect_exact("[optim]\nbeta2 = -0.1\n", 2,
                 "optim.beta2 = -0.1 is out of range: must be >= 0 and < 1");
    expect_exact("[optim]\neps = 0\n", 2,
                 "optim.eps = 0 is out of range: must be > 0 and <= 1e+06");
    const char *const sets[] = {"optim.kind=rmsprop", "optim.beta2=1.5"};
    CU_ASSERT(load("[optim]\n", sets, 2) != 0);
    CU_ASSERT_STRING_EQUAL(err, "--set: optim.beta2 = 1.5 is out of range: must be >= 0 and < 1");
    const char *const huge[] = {"optim.lr", "1e400", "out of range", NULL};
    expect_error("[optim]\nlr = 1e400\n", NULL, 0, 2, huge);
}

static void test_error_unknown_key_suggests(void)
{
    const char *const lr[] = {"unknown key 'lerning_rate' in [optim]", "did you mean 'lr'?",
                              "(keys of [optim]: kind, lr, schedule, momentum", NULL};
    expect_error("[experiment]\nname = x\n\n; the optimizer\n[optim]\nkind = gd\nlerning_rate = "
                 "0.1\n",
                 NULL, 0, 7, lr);

    /* A key of another section that is closer is suggested as section.key. */
    const char *const depth[] = {"unknown key 'depth' in [optim]", "did you mean 'model.depth'?",
                                 NULL};
    expect_error("[optim]\ndepth = 3\n", NULL, 0, 2, depth);

    const char *const typo[] = {"unknown key 'stpes' in [optim]", "did you mean 'steps'?", NULL};
    expect_error("[optim]\nstpes = 3\n", NULL, 0, 2, typo);

    /* Nothing close: no suggestion, just the list. */
    CU_ASSERT(load("[data]\nzzzzzzzzzz = 3\n", NULL, 0) != 0);
    CU_ASSERT(strstr(err, "did you mean") == NULL);
    CU_ASSERT(contains(err, "keys of [data]: kind, n_train, n_test, dim, classes"));

    const char *const outside[] = {"key 'lr' comes before any [section]", NULL};
    expect_error("lr = 0.1\n[optim]\n", NULL, 0, 1, outside);
}

static void test_error_unknown_section(void)
{
    expect_exact("[experiment]\nname = a\n[modle]\nkind = mlp\n", 3,
                 "unknown section [modle]; did you mean [model]? (sections: experiment, data, "
                 "model, loss, optim, measure, parallel, sweep)");
    /* Reported on its header line even when it holds no keys. */
    const char *const empty[] = {"unknown section [optimizer]", "did you mean [optim]?", NULL};
    expect_error("[data]\n\n[optimizer]\n", NULL, 0, 3, empty);
}

static void test_error_bad_enum_and_bool(void)
{
    expect_exact("[model]\nkind = cnn\n", 2,
                 "model.kind = cnn is not allowed: use one of linear, mlp, quadratic, noisy_quadratic, diag_linear, factorization, pair_mlp");
    expect_exact("[loss]\nkind = hinge\n", 2,
                 "loss.kind = hinge is not allowed: use one of logistic, exponential, "
                 "cross_entropy, squared");
    const char *const bias[] = {"model.bias = maybe", "true or false", NULL};
    expect_error("[model]\nbias = maybe\n", NULL, 0, 2, bias);
}

static void test_error_not_integer_or_number(void)
{
    expect_exact("[data]\nn_train = 12.5\n", 2,
                 "data.n_train = 12.5 is not an integer (it must be >= 1 and <= 100000000)");
    const char *const word[] = {"data.n_train = many is not an integer", NULL};
    expect_error("[data]\nn_train = many\n", NULL, 0, 2, word);
    const char *const hex[] = {"data.dim = 0x10 is not an integer", NULL};
    expect_error("[data]\ndim = 0x10\n", NULL, 0, 2, hex);
    const char *const nan_[] = {"optim.lr = nan is not a finite number", NULL};
    expect_error("[optim]\nlr = nan\n", NULL, 0, 2, nan_);
    const char *const inf_[] = {"optim.lr = inf is not a finite number", NULL};
    expect_error("[optim]\nlr = inf\n", NULL, 0, 2, inf_);
    const char *const none[] = {"optim.lr has no value", "must be > 0", NULL};
    expect_error("[optim]\nlr =\n", NULL, 0, 2, none);

    /* 1e5 is an integer; 1.5e0 is not. */
    CU_ASSERT(load_ok("[data]\nn_train = 1e5\nn_test = 20000\n", NULL, 0));
    CU_ASSERT_EQUAL(cfg.data.n_train, 100000);
    const char *const frac[] = {"data.dim = 1.5e0 is not an integer", NULL};
    expect_error("[data]\ndim = 1.5e0\n", NULL, 0, 2, frac);
}

static void test_error_strings(void)
{
    const char *const space[] = {"experiment.name = 'my run'", "letters, digits", NULL};
    expect_error("[experiment]\nname = my run\n", NULL, 0, 2, space);
    const char *const empty[] = {"experiment.name = ''", "must not be empty", NULL};
    expect_error("[experiment]\nname =\n", NULL, 0, 2, empty);
}

static void test_error_missing_file(void)
{
    char missing[PATH_MAX + 32], want[PATH_MAX + 256];
    snprintf(missing, sizeof missing, "%s/missing.ini", tmpdir);
    CU_ASSERT(bl_config_load(missing, NULL, 0, &cfg, err, sizeof err) != 0);
    snprintf(want, sizeof want, "cannot open config '%s': No such file or directory", missing);
    CU_ASSERT_STRING_EQUAL(err, want);
}

static void test_error_duplicate_key(void)
{
    expect_exact("[optim]\nlr = 0.1\nsteps = 5\nlr = 0.2\n", 4,
                 "optim.lr is set twice (first on line 2)");
    /* Also when the section is opened twice. */
    expect_exact("[optim]\nlr = 0.1\n[data]\ndim = 3\n[optim]\nlr = 0.2\n", 6,
                 "optim.lr is set twice (first on line 2)");
    expect_exact("[sweep]\noptim.lr = 0.1, 0.2\noptim.lr = 0.3\n", 3,
                 "sweep.optim.lr is set twice (first on line 2)");
}

static void test_error_syntax(void)
{
    const char *const noeq[] = {"cannot parse 'this line is wrong'", "key = value", NULL};
    expect_error("[optim]\nlr = 0.1\nthis line is wrong\nsteps = 10\n", NULL, 0, 3, noeq);
    const char *const bracket[] = {"cannot parse '[model'", "closing ']'", NULL};
    expect_error("[data]\ndim = 3\n[model\ndepth = 3\n", NULL, 0, 3, bracket);
    /* The first error in the file wins, whichever kind it is. */
    expect_error("[optim]\nbad line\nlr = -1\n", NULL, 0, 2, noeq + 1);
    const char *const lr[] = {"optim.lr = -1", NULL};
    expect_error("[optim]\nlr = -1\nbad line\n", NULL, 0, 2, lr);
}

static void test_long_lines(void)
{
    /* 64 values: far longer than inih's default 200-character line. */
    char text[4096] = "[sweep]\noptim.lr = ";
    char value[32];
    for (int i = 1; i <= BL_MAX_SWEEP_VALUES; i++) {
        snprintf(value, sizeof value, "%s%de-4", i > 1 ? ", " : "", i);
        strcat(text, value);
    }
    strcat(text, "\n");
    CU_ASSERT_FATAL(load_ok(text, NULL, 0));
    CU_ASSERT_EQUAL(cfg.sweep[0].n_values, BL_MAX_SWEEP_VALUES);
    CU_ASSERT_STRING_EQUAL(cfg.sweep[0].values[63], "64e-4");

    text[strlen(text) - 1] = '\0';
    strcat(text, ", 0.5\n");
    const char *const many[] = {"sweep.optim.lr has more than 64 values", NULL};
    expect_error(text, NULL, 0, 2, many);

    size_t n = 20000;
    char *huge = malloc(n + 32);
    CU_ASSERT_FATAL(huge != NULL);
    strcpy(huge, "[experiment]\nname = ");
    size_t used = strlen(huge);
    memset(huge + used, 'a', n);
    strcpy(huge + used + n, "\n");
    const char *const longline[] = {"line is longer than", NULL};
    expect_error(huge, NULL, 0, 2, longline);
    free(huge);
}

static void test_sweep_expansion(void)
{
    CU_ASSERT_FATAL(load_ok("[optim]\nlr = 0.05\n[sweep]\nmodel.width = 8, 16\n"
                            "optim.lr = 0.1,0.2 ,  0.3\n",
                            NULL, 0));
    CU_ASSERT_EQUAL(cfg.n_sweep, 2);
    CU_ASSERT_STRING_EQUAL(cfg.sweep[0].key, "model.width");
    CU_ASSERT_STRING_EQUAL(cfg.sweep[1].key, "optim.lr");
    CU_ASSERT_STRING_EQUAL(cfg.sweep[1].values[1], "0.2");
    CU_ASSERT_EQUAL(bl_config_n_points(&cfg), 6);

    /* The last key varies fastest. */
    static const int width[6] = {8, 8, 8, 16, 16, 16};
    static const double lr[6] = {0.1, 0.2, 0.3, 0.1, 0.2, 0.3};
    for (int p = 0; p < 6; p++) {
        CU_ASSERT_EQUAL(bl_config_sweep_index(&cfg, p, 0), p / 3);
        CU_ASSERT_EQUAL(bl_config_sweep_index(&cfg, p, 1), p % 3);
        CU_ASSERT_FATAL(bl_config_for_point(&cfg, p, &cfg2, err, sizeof err) == 0);
        CU_ASSERT_EQUAL(cfg2.model.width, width[p]);
        CU_ASSERT_EQUAL(cfg2.optim.lr, lr[p]);
        CU_ASSERT_EQUAL(cfg2.n_sweep, 0);
    }
    CU_ASSERT_FATAL(bl_config_for_point(&cfg, 4, &cfg2, err, sizeof err) == 0);
    CU_ASSERT_EQUAL(cfg2.model.width, 16);
    CU_ASSERT_EQUAL(cfg2.optim.lr, 0.2);
    /* Unswept keys keep the file's values; the base is not touched. */
    CU_ASSERT_EQUAL(cfg2.model.depth, 2);
    CU_ASSERT_EQUAL(cfg.optim.lr, 0.05);

    CU_ASSERT(bl_config_for_point(&cfg, 6, &cfg2, err, sizeof err) != 0);
    CU_ASSERT(contains(err, "sweep point 6 does not exist"));
    CU_ASSERT(bl_config_for_point(&cfg, -1, &cfg2, err, sizeof err) != 0);

    /* No sweep: one point, the config itself. */
    CU_ASSERT_FATAL(load_ok("[optim]\nlr = 0.3\n", NULL, 0));
    CU_ASSERT_FATAL(bl_config_for_point(&cfg, 0, &cfg2, err, sizeof err) == 0);
    CU_ASSERT(configs_equal(&cfg, &cfg2));
}

static void test_sweep_errors(void)
{
    const char *const neg[] = {"optim.lr = -1 is out of range: must be > 0", NULL};
    expect_error("[sweep]\noptim.lr = 0.1, -1\n", NULL, 0, 2, neg);
    const char *const kind[] = {"model.kind = cnn is not allowed: use one of linear, mlp, quadratic, noisy_quadratic, diag_linear, factorization, pair_mlp", NULL};
    expect_error("[data]\n[sweep]\n\nmodel.kind = linear, cnn\n", NULL, 0, 4, kind);
    const char *const empty[] = {"sweep.optim.lr has an empty value", NULL};
    expect_error("[sweep]\noptim.lr = 0.1,,0.2\n", NULL, 0, 2, empty);
    const char *const none[] = {"sweep.optim.lr has no values", NULL};
    expect_error("[sweep]\noptim.lr =\n", NULL, 0, 2, none);
    const char *const twice[] = {"sweep.optim.lr lists the value 0.1 twice", NULL};
    expect_error("[sweep]\noptim.lr = 0.1, 0.10\n", NULL, 0, 2, twice);
    const char *const typo[] = {"unknown sweep key 'optim.lerning_rate'",
                                "did you mean 'optim.lr'?", NULL};
    expect_error("[sweep]\noptim.lerning_rate = 0.1, 0.2\n", NULL, 0, 2, typo);
    const char *const bare[] = {"unknown sweep key 'lr'", "did you mean 'optim.lr'?", NULL};
    expect_error("[sweep]\nlr = 0.1, 0.2\n", NULL, 0, 2, bare);

    /* [experiment] and [parallel] describe the run, not a point. */
    const char *const par[] = {"parallel.group_size cannot be swept", NULL};
    expect_error("[sweep]\nparallel.group_size = 1, 2\n", NULL, 0, 2, par);
    const char *const seeds[] = {"experiment.seeds cannot be swept", NULL};
    expect_error("[sweep]\nexperiment.seeds = 1, 2\n", NULL, 0, 2, seeds);

    char text[1024] = "[sweep]\n";
    static const char *const nine[] = {"data.n_train", "data.n_test",   "data.dim",
                                       "data.margin",  "model.width",   "optim.lr",
                                       "optim.steps",  "measure.every", "model.init_scale"};
    for (int i = 0; i < 9; i++) {
        strcat(text, nine[i]);
        strcat(text, " = 2, 4\n");
    }
    const char *const keys[] = {"too many sweep keys: at most 8", NULL};
    expect_error(text, NULL, 0, 10, keys);
}

static void test_sweep_points_checked_together(void)
{
    /* The base's loss.kind (logistic) clashes with classes = 5, but it is
     * swept away at every point. */
    CU_ASSERT(load_ok("[data]\nkind = clusters\nclasses = 5\n[sweep]\nloss.kind = cross_entropy, "
                      "squared\n",
                      NULL, 0));
    const char *const clash[] = {"sweep point 1 of 2 (loss.kind = logistic)",
                                 "loss.kind = logistic needs data.classes = 2", NULL};
    expect_error("[data]\nkind = clusters\nclasses = 5\n[loss]\nkind = cross_entropy\n[sweep]\n"
                 "loss.kind = cross_entropy, logistic\n",
                 NULL, 0, 7, clash);
}

static void test_linear_model_depth(void)
{
    CU_ASSERT_FATAL(load_ok("[model]\nkind = linear\n", NULL, 0));
    CU_ASSERT_EQUAL(cfg.model.depth, 1);
    CU_ASSERT_FATAL(load_ok("[model]\nkind = linear\ndepth = 1\n", NULL, 0));
    const char *const deep[] = {"model.depth = 3 but model.kind = linear", NULL};
    expect_error("[model]\nkind = linear\ndepth = 3\n", NULL, 0, 3, deep);
    /* activation only matters for mlp, so it is fine on a linear model. */
    CU_ASSERT(load_ok("[model]\nkind = linear\nactivation = leaky_relu\n", NULL, 0));

    /* Sweeping the kind: depth is the mlp points' depth. */
    CU_ASSERT_FATAL(load_ok("[model]\ndepth = 3\n[sweep]\nmodel.kind = linear, mlp\n", NULL, 0));
    CU_ASSERT_FATAL(bl_config_for_point(&cfg, 0, &cfg2, err, sizeof err) == 0);
    CU_ASSERT(cfg2.model.kind == BL_MODEL_LINEAR && cfg2.model.depth == 1);
    CU_ASSERT_FATAL(bl_config_for_point(&cfg, 1, &cfg2, err, sizeof err) == 0);
    CU_ASSERT(cfg2.model.kind == BL_MODEL_MLP && cfg2.model.depth == 3);

    const char *const swept[] = {"sweep point 1 of 2 (model.depth = 2)",
                                 "model.depth = 2 but model.kind = linear", NULL};
    expect_error("[model]\nkind = linear\n[sweep]\nmodel.depth = 1, 2\n", NULL, 0, 4, swept);
}

static void test_cross_key_errors(void)
{
    const char *const mlp[] = {"model.kind = mlp needs model.depth >= 2", NULL};
    expect_error("[model]\ndepth = 1\n", NULL, 0, 2, mlp);
    const char *const sep[] = {"data.kind = separable needs data.classes = 2", "clusters", NULL};
    expect_error("[data]\nclasses = 5\n", NULL, 0, 2, sep);
    const char *const logistic[] = {
        "loss.kind = logistic needs data.classes = 2; use cross_entropy for 5 classes", NULL};
    expect_error("[data]\nkind = clusters\nclasses = 5\n", NULL, 0, 3, logistic);
    CU_ASSERT(
        load_ok("[data]\nkind = clusters\nclasses = 5\n[loss]\nkind = cross_entropy\n", NULL, 0));
    const char *const sym[] = {"data.kind = symmetric needs an even data.n_train (got 201)", NULL};
    expect_error("[data]\nkind = symmetric\nn_train = 201\n", NULL, 0, 3, sym);
    const char *const symt[] = {"data.kind = symmetric needs an even data.n_test (got 7)", NULL};
    expect_error("[data]\nn_test = 7\nkind = symmetric\n", NULL, 0, 3, symt);
    const char *const gd[] = {"optim.kind = gd", "optim.batch_size must be 0 or data.n_train",
                              "optim.kind = sgd", NULL};
    expect_error("[optim]\nbatch_size = 10\n", NULL, 0, 2, gd);
    CU_ASSERT(load_ok("[data]\nn_train = 50\n[optim]\nbatch_size = 50\n", NULL, 0));
    const char *const big[] = {"optim.batch_size = 500 is larger than data.n_train = 200", NULL};
    expect_error("[optim]\nkind = sgd\nbatch_size = 500\n", NULL, 0, 3, big);
    const char *const group[] = {"data.n_train = 2 is smaller than parallel.group_size = 4", NULL};
    expect_error("[data]\nn_train = 2\n[parallel]\ngroup_size = 4\n", NULL, 0, 4, group);

    /* The same rule broken from the command line points at --set. */
    const char *const set[] = {"model.depth=1"};
    CU_ASSERT(load("", set, 1) != 0);
    CU_ASSERT(contains(err, "--set: model.kind = mlp needs model.depth >= 2"));
}

static void test_set_overrides(void)
{
    const char *const sets[] = {"optim.lr=0.5",
                                " model.kind = linear ",
                                "optim.kind=sgd",
                                "sweep.model.width=4,8,12",
                                "sweep.optim.steps = 10, 20",
                                "experiment.name=from_cli"};
    CU_ASSERT_FATAL(load_ok("[optim]\nlr = 0.1\n[sweep]\nmodel.width = 8, 16\n", sets, 6));
    CU_ASSERT_EQUAL(cfg.optim.lr, 0.5);
    CU_ASSERT_EQUAL(cfg.model.kind, BL_MODEL_LINEAR);
    CU_ASSERT_EQUAL(cfg.model.depth, 1);
    CU_ASSERT_EQUAL(cfg.optim.kind, BL_OPT_SGD);
    CU_ASSERT_STRING_EQUAL(cfg.experiment.name, "from_cli");
    CU_ASSERT_EQUAL(cfg.n_sweep, 2);
    CU_ASSERT_EQUAL(cfg.sweep[0].n_values, 3);
    CU_ASSERT_STRING_EQUAL(cfg.sweep[1].key, "optim.steps");
    CU_ASSERT_EQUAL(bl_config_n_points(&cfg), 6);

    /* bl_config_set directly, as the INI parser and --set use it. */
    CU_ASSERT(bl_config_set(&cfg, "optim", "lr", " 0.25 ", "--set", 0, err, sizeof err) == 0);
    CU_ASSERT_EQUAL(cfg.optim.lr, 0.25);
    CU_ASSERT(bl_config_set(&cfg, "optim", "lr", "0", "x.ini", 9, err, sizeof err) != 0);
    CU_ASSERT_STRING_EQUAL(err, "x.ini:9: optim.lr = 0 is out of range: must be > 0 and <= 1e+06");

    const char *const noeq[] = {"optim.lr"};
    CU_ASSERT(load("", noeq, 1) != 0);
    CU_ASSERT_STRING_EQUAL(err, "--set 'optim.lr': expected section.key=value");
    const char *const nodot[] = {"lr=0.1"};
    CU_ASSERT(load("", nodot, 1) != 0);
    CU_ASSERT_STRING_EQUAL(err, "--set 'lr=0.1': expected section.key=value");
    const char *const neg[] = {"optim.lr=-1"};
    CU_ASSERT(load("", neg, 1) != 0);
    CU_ASSERT_STRING_EQUAL(err, "--set: optim.lr = -1 is out of range: must be > 0 and <= 1e+06");
    const char *const typo[] = {"optim.lerning_rate=1"};
    CU_ASSERT(load("", typo, 1) != 0);
    CU_ASSERT(contains(err, "--set: unknown key 'lerning_rate' in [optim]; did you mean 'lr'?"));
    const char *const section[] = {"modle.depth=3"};
    CU_ASSERT(load("", section, 1) != 0);
    CU_ASSERT(contains(err, "--set: unknown section [modle]; did you mean [model]?"));
    /* Setting a swept key would do nothing, so it is refused. */
    const char *const swept[] = {"model.width=32"};
    CU_ASSERT(load("[sweep]\nmodel.width = 8, 16\n", swept, 1) != 0);
    CU_ASSERT(contains(err, "model.width is swept in [sweep]"));
    CU_ASSERT(contains(err, "sweep.model.width="));
    const char *const run[] = {"sweep.parallel.group_size=1,2"};
    CU_ASSERT(load("", run, 1) != 0);
    CU_ASSERT(contains(err, "--set: parallel.group_size cannot be swept"));
}

static void test_round_trip(void)
{
    CU_ASSERT_FATAL(
        load_ok("[experiment]\nname = rt\nseeds = 3\noutput = r/rt.nc\n"
                "[data]\nkind = clusters\nclasses = 4\n"
                "[model]\nactivation = leaky_relu\nbias = on\n"
                "[loss]\nkind = cross_entropy\nreduction = sum\n"
                "[optim]\nkind = momentum\nschedule = loss_based\nsteps = 123456789012\n"
                "[measure]\nsave_params = final\nevery = 1000000\n"
                "[sweep]\noptim.lr = 1e-3, 0.01\nmodel.depth = 2, 3, 4\n",
                NULL, 0));
    /* Values with no short decimal form must survive too. */
    cfg.data.margin = 1.0 / 3.0;
    cfg.optim.lr = 0.1 * 3;
    cfg.model.init_scale = 5e-324;
    cfg.optim.weight_decay = 123.456789012345678;
    CU_ASSERT_FATAL(bl_config_validate(&cfg, err, sizeof err) == 0);

    char *first = bl_config_ini_string(&cfg);
    CU_ASSERT_FATAL(first != NULL);
    CU_ASSERT(contains(first, "[experiment]\nname = rt\nseeds = 3\nfirst_seed = 0\n"));
    CU_ASSERT(contains(first, "lr = 0.30000000000000004\n"));
    CU_ASSERT(contains(first, "bias = true\n"));
    CU_ASSERT(contains(first, "\n[sweep]\noptim.lr = 1e-3, 0.01\nmodel.depth = 2, 3, 4\n"));

    /* bl_config_write_ini gives the same text. */
    write_fixture("");
    char written[PATH_MAX + 32];
    snprintf(written, sizeof written, "%s", path);
    FILE *f = fopen(written, "w");
    CU_ASSERT_FATAL(f != NULL);
    bl_config_write_ini(&cfg, f);
    fclose(f);
    CU_ASSERT_FATAL(bl_config_load(written, NULL, 0, &cfg2, err, sizeof err) == 0);
    char *second = bl_config_ini_string(&cfg2);
    CU_ASSERT_FATAL(second != NULL);
    CU_ASSERT_STRING_EQUAL(first, second);
    CU_ASSERT(configs_equal(&cfg, &cfg2));
    CU_ASSERT_EQUAL(cfg2.model.init_scale, 5e-324);
    free(first);
    free(second);

    /* The defaults too, with their empty experiment.output. */
    bl_config_defaults(&cfg);
    char *defaults = bl_config_ini_string(&cfg);
    CU_ASSERT_FATAL(defaults != NULL);
    CU_ASSERT(contains(defaults, "\noutput =\n"));
    CU_ASSERT_FATAL(load_ok(defaults, NULL, 0));
    bl_config_defaults(&cfg2);
    CU_ASSERT(configs_equal(&cfg, &cfg2));
    free(defaults);

    /* A point written out is a plain runnable config. */
    CU_ASSERT_FATAL(load_ok("[sweep]\noptim.lr = 1e-3, 0.01\nmodel.depth = 2, 3, 4\n", NULL, 0));
    CU_ASSERT_FATAL(bl_config_for_point(&cfg, 5, &cfg2, err, sizeof err) == 0);
    char *point = bl_config_ini_string(&cfg2);
    CU_ASSERT_FATAL(point != NULL);
    CU_ASSERT(strstr(point, "[sweep]") == NULL);
    CU_ASSERT(contains(point, "depth = 4\n"));
    free(point);
}

/* A fixture of n bytes, NULs included (write_fixture stops at the first). */
static int load_bytes(const char *bytes, size_t n)
{
    snprintf(path, sizeof path, "%s/c%d.ini", tmpdir, ++n_fixtures);
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_FATAL(fwrite(bytes, 1, n, f) == n);
    fclose(f);
    err[0] = '\0';
    return bl_config_load(path, NULL, 0, &cfg, err, sizeof err);
}

static void test_control_characters(void)
{
    /* "steps = 3\0 00" used to read as steps = 3 */
    static const char nul[] = "[optim]\nlr = 0.2\nsteps = 3\0 00\n";
    CU_ASSERT(load_bytes(nul, sizeof nul - 1) != 0);
    char where[PATH_MAX + 64];
    snprintf(where, sizeof where, "%s:3: byte 0x00 (NUL) at column 10", path);
    CU_ASSERT(contains(err, where));
    CU_ASSERT(contains(err, "only control characters may be tab, CR and LF"));
    const char *const ctrl[] = {"byte 0x01 (a control character) at column 8", NULL};
    expect_error("[data]\ndim = 3\x01\n", NULL, 0, 2, ctrl);
    const char *const esc[] = {"byte 0x1b", NULL};
    expect_error("; a comment \x1b[31m in red\n[data]\n", NULL, 0, 1, esc);
    const char *const del[] = {"byte 0x7f (DEL)", NULL};
    expect_error("[model]\nwidth = 8\n\nkind = mlp\x7f\n", NULL, 0, 4, del);
    /* tab, CR and LF are whitespace; bytes above 0x7f (UTF-8) stay allowed */
    CU_ASSERT(load_ok("[optim]\r\n\tsteps = 7\t; seven\r\n; \xc3\xa9tape\n", NULL, 0));
    CU_ASSERT_EQUAL(cfg.optim.steps, 7);

    const char *const set[] = {"optim.steps=3\x01" "00"};
    CU_ASSERT(load("", set, 1) != 0);
    CU_ASSERT(contains(err, "--set: 'optim.steps=3' is followed by byte 0x01"));
    const char *const set_del[] = {"optim.lr=0.1", "data.dim=\x7f"};
    CU_ASSERT(load("", set_del, 2) != 0);
    CU_ASSERT(contains(err, "--set: 'data.dim=' is followed by byte 0x7f"));
    const char *const set_tab[] = {"optim.steps=\t12"};
    CU_ASSERT(load_ok("", set_tab, 1));
    CU_ASSERT_EQUAL(cfg.optim.steps, 12);
}

/* Every count a run is sized by must fit what holds it: tasks an int,
 * records per task BL_MAX_RECORDS, seed numbers an int. */
static void test_counts_fit(void)
{
    char text[4096] = "[experiment]\nseeds = 65537\n[optim]\nkind = momentum\n[sweep]\n";
    static const char *const four[] = {"optim.lr", "optim.momentum", "optim.weight_decay",
                                       "data.margin"};
    char value[32];
    for (int k = 0; k < 4; k++) {
        strcat(text, four[k]);
        strcat(text, " = ");
        for (int i = 1; i <= 16; i++) {
            snprintf(value, sizeof value, "%s0.0%02d", i > 1 ? ", " : "", i);
            strcat(text, value);
        }
        strcat(text, "\n");
    }
    /* 16^4 = 65536 points x 65537 seeds = 2^32 + 65536 tasks, which an int
     * read as 65536 */
    const char *const tasks[] = {"65536 sweep points x experiment.seeds = 65537 make "
                                 "4295032832 tasks, more than the 2147483647",
                                 "use at most 32767 seeds", NULL};
    expect_error(text, NULL, 0, 9, tasks);
    const char *const fewer[] = {"experiment.seeds=32767"};
    CU_ASSERT(load_ok(text, fewer, 1));
    CU_ASSERT_EQUAL(bl_config_n_points(&cfg), 65536);
    CU_ASSERT_EQUAL(bl_config_n_tasks(&cfg), 65536LL * 32767);
    const char *const more[] = {"experiment.seeds=32768"};
    CU_ASSERT(load(text, more, 1) != 0);
    CU_ASSERT(contains(err, "--set: 65536 sweep points x experiment.seeds = 32768 make "
                            "2147483648 tasks"));

    const char *const records[] = {"optim.steps = 1000000000 with measure.every = 1 makes "
                                   "1000000001 records per task, more than the 1000000",
                                   "raise measure.every to at least 1001", NULL};
    expect_error("[optim]\nsteps = 1e9\n[measure]\nevery = 1\n", NULL, 0, 4, records);
    CU_ASSERT(load_ok("[optim]\nsteps = 1e9\n[measure]\nevery = 1001\n", NULL, 0));
    CU_ASSERT(load_ok("[optim]\nsteps = 999998\n[measure]\nevery = 1\n", NULL, 0));
    const char *const seed[] = {"experiment.first_seed = 2147483647 with experiment.seeds = 2 "
                                "goes past seed 2147483647",
                                "lower first_seed to at most 2147483646", NULL};
    expect_error("[experiment]\nseeds = 2\nfirst_seed = 2147483647\n", NULL, 0, 3, seed);
    CU_ASSERT(load_ok("[experiment]\nseeds = 2\nfirst_seed = 2147483646\n", NULL, 0));
}

static void test_key_is_numeric(void)
{
    CU_ASSERT_EQUAL(bl_config_key_is_numeric("optim.lr"), 1);
    CU_ASSERT_EQUAL(bl_config_key_is_numeric("optim.steps"), 1);
    CU_ASSERT_EQUAL(bl_config_key_is_numeric("data.n_train"), 1);
    CU_ASSERT_EQUAL(bl_config_key_is_numeric("model.bias"), 0);
    CU_ASSERT_EQUAL(bl_config_key_is_numeric("model.kind"), 0);
    CU_ASSERT_EQUAL(bl_config_key_is_numeric("experiment.name"), 0);
    CU_ASSERT_EQUAL(bl_config_key_is_numeric("optim.nope"), 0);
    CU_ASSERT_EQUAL(bl_config_key_is_numeric("lr"), 0);
}

static void test_validate_fields_set_in_code(void)
{
    bl_config_defaults(&cfg);
    cfg.optim.lr = -1;
    CU_ASSERT(bl_config_validate(&cfg, err, sizeof err) != 0);
    CU_ASSERT(contains(err, "optim.lr = -1 is out of range"));
    bl_config_defaults(&cfg);
    cfg.model.kind = 7;
    CU_ASSERT(bl_config_validate(&cfg, err, sizeof err) != 0);
    CU_ASSERT(contains(err, "model.kind = 7 is not allowed"));

    /* The key reference lists every key with its default. */
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    CU_ASSERT_FATAL(f != NULL);
    bl_config_write_reference(f);
    fclose(f);
    CU_ASSERT(contains(buf, "optim.lr: number, must be > 0 and <= 1e+06; default '0.1'"));
    CU_ASSERT(contains(buf, "model.kind: one of linear, mlp, quadratic, noisy_quadratic, diag_linear, factorization, pair_mlp; default 'mlp'"));
    free(buf);
}

/* optim.scaling_rule: each point's resolved values against the rules written
 * out here (kappa = B / B0; linear: lr kappa; sqrt: lr sqrt(kappa),
 * 1 - beta -> kappa (1 - beta), eps / sqrt(kappa); steps and measure.every
 * / kappa), and the refusals. */
static void test_scaling_rules_resolve_each_point(void)
{
    const char *base_text = "[data]\nn_train = 512\n[optim]\nkind = %s\nlr = 0.01\nbeta1 = 0.9\n"
                            "beta2 = 0.99\neps = 1e-6\nsteps = 8000\nbase_batch_size = 16\n"
                            "batch_size = 16\nscaling_rule = %s\n[measure]\nevery = 400\n"
                            "[sweep]\noptim.batch_size = 8, 16, 32, 64\n";
    const char *rules[3] = {"none", "linear", "sqrt"};
    const double batch[4] = {8, 16, 32, 64};
    static struct bl_config point;
    char text[1024];
    for (int r = 0; r < 3; r++) {
        snprintf(text, sizeof text, base_text, "adam", rules[r]);
        CU_ASSERT_FATAL(load_ok(text, NULL, 0));
        for (int p = 0; p < 4; p++) {
            CU_ASSERT_EQUAL_FATAL(bl_config_for_point(&cfg, p, &point, err, sizeof err), 0);
            double k = r ? batch[p] / 16 : 1;
            double lr = r == 0 ? 0.01 : r == 1 ? 0.01 * k : 0.01 * sqrt(k);
            double b1 = r == 2 ? 1 - k * 0.1 : 0.9, b2 = r == 2 ? 1 - k * 0.01 : 0.99;
            double eps = r == 2 ? 1e-6 / sqrt(k) : 1e-6;
            BL_ASSERT_CLOSE(point.optim.lr, lr, 1e-15);
            BL_ASSERT_CLOSE(point.optim.beta1, b1, 1e-15);
            BL_ASSERT_CLOSE(point.optim.beta2, b2, 1e-15);
            BL_ASSERT_CLOSE(point.optim.eps, eps, 1e-15);
            CU_ASSERT_EQUAL(point.optim.steps, (long)(8000 / k));
            CU_ASSERT_EQUAL(point.measure.every, (long)(400 / k));
            CU_ASSERT_EQUAL(point.optim.batch_size, (int)batch[p]);
            CU_ASSERT_EQUAL(point.optim.scaling_rule, BL_RULE_NONE); /* a plain config now */
        }
    }
    /* the linear rule for sgd; rmsprop's beta1 is not touched (it has none) */
    snprintf(text, sizeof text, base_text, "sgd", "linear");
    CU_ASSERT_FATAL(load_ok(text, NULL, 0));
    CU_ASSERT_EQUAL_FATAL(bl_config_for_point(&cfg, 3, &point, err, sizeof err), 0);
    BL_ASSERT_CLOSE(point.optim.lr, 0.04, 1e-15);
    snprintf(text, sizeof text, base_text, "rmsprop", "sqrt");
    CU_ASSERT_FATAL(load_ok(text, NULL, 0));
    CU_ASSERT_EQUAL_FATAL(bl_config_for_point(&cfg, 3, &point, err, sizeof err), 0);
    CU_ASSERT_EQUAL(point.optim.beta1, 0.9);
    BL_ASSERT_CLOSE(point.optim.beta2, 0.96, 1e-15);

    /* refusals name the point, kappa and beta */
    const char *const big[] = {"sweep.optim.batch_size=16,256"};
    snprintf(text, sizeof text, base_text, "adam", "sqrt");
    CU_ASSERT(load(text, big, 1) != 0);
    CU_ASSERT(contains(err, "sweep point 1 of 2 (optim.batch_size = 256)"));
    CU_ASSERT(contains(err, "kappa = 16"));
    CU_ASSERT(contains(err, "optim.beta1 = 1 - kappa (1 - 0.9) = -0.6"));
    const char *const odd[] = {"sweep.optim.batch_size=16,48"};
    CU_ASSERT(load(text, odd, 1) != 0);
    CU_ASSERT(contains(err, "kappa = 3"));
    CU_ASSERT(contains(err, "optim.steps = 8000 at the base batch is not a whole number"));
    CU_ASSERT(contains(err, "choose optim.steps divisible by 3"));
    const char *const every[] = {"sweep.optim.batch_size=16,64", "measure.every=10"};
    CU_ASSERT(load(text, every, 2) != 0);
    CU_ASSERT(contains(err, "measure.every = 10 at the base batch is not a whole number"));
    /* the smallest divisor that works: 64 / gcd(64, 16), not the batch size */
    CU_ASSERT(contains(err, "choose measure.every divisible by 4"));
    snprintf(text, sizeof text, base_text, "momentum", "sqrt");
    CU_ASSERT(load(text, NULL, 0) != 0);
    CU_ASSERT(contains(err, "optim.scaling_rule = sqrt is the rule of rmsprop, adam and adamw"));
    const char *const no_base[] = {"optim.base_batch_size=0"};
    snprintf(text, sizeof text, base_text, "adam", "linear");
    CU_ASSERT(load(text, no_base, 1) != 0);
    CU_ASSERT(contains(err, "needs optim.base_batch_size >= 1"));
    /* without a sweep the config itself is resolved and checked */
    CU_ASSERT(load("[optim]\nkind = adam\nscaling_rule = sqrt\nbase_batch_size = 10\n"
                   "batch_size = 30\nsteps = 1000\n",
                   NULL, 0) != 0);
    CU_ASSERT(contains(err, "optim.steps = 1000 at the base batch is not a whole number"));
}

/* optim.svag_l: the Adam family's variant (lr / l, 1 - beta -> (1 - beta) /
 * l^2, eps l, l^2 steps and record spacing), sgd's (lr / l, l x), and what
 * it refuses. */
static void test_svag_resolves_and_refuses(void)
{
    static struct bl_config point;
    CU_ASSERT_FATAL(load_ok("[optim]\nkind = adam\nlr = 0.01\nbeta1 = 0.9\nbeta2 = 0.99\n"
                            "eps = 1e-6\nbatch_size = 8\nsampling = with_replacement\n"
                            "steps = 100\n[measure]\nevery = 10\n[sweep]\noptim.svag_l = 1, 3\n",
                            NULL, 0));
    CU_ASSERT_EQUAL_FATAL(bl_config_for_point(&cfg, 1, &point, err, sizeof err), 0);
    BL_ASSERT_CLOSE(point.optim.lr, 0.01 / 3, 1e-15);
    BL_ASSERT_CLOSE(point.optim.beta1, 1 - 0.1 / 9, 1e-15);
    BL_ASSERT_CLOSE(point.optim.beta2, 1 - 0.01 / 9, 1e-15);
    BL_ASSERT_CLOSE(point.optim.eps, 3e-6, 1e-15);
    CU_ASSERT_EQUAL(point.optim.steps, 900);
    CU_ASSERT_EQUAL(point.measure.every, 90);
    CU_ASSERT_EQUAL_FATAL(bl_config_for_point(&cfg, 0, &point, err, sizeof err), 0);
    CU_ASSERT_EQUAL(point.optim.steps, 100); /* l = 1: untouched */
    BL_ASSERT_CLOSE(point.optim.lr, 0.01, 0);
    const char *const sgd[] = {"optim.kind=sgd"};
    CU_ASSERT_FATAL(load_ok("[optim]\nbatch_size = 8\nsampling = with_replacement\nlr = 0.4\n"
                            "steps = 100\nsvag_l = 4\n[measure]\nevery = 10\n", sgd, 1));
    CU_ASSERT_EQUAL_FATAL(bl_config_for_point(&cfg, 0, &point, err, sizeof err), 0);
    BL_ASSERT_CLOSE(point.optim.lr, 0.1, 1e-15);
    CU_ASSERT_EQUAL(point.optim.steps, 400);
    CU_ASSERT_EQUAL(point.measure.every, 40);
    const char *const mom[] = {"optim.kind=momentum"};
    CU_ASSERT(load("[optim]\nbatch_size = 8\nsampling = with_replacement\nsvag_l = 2\n", mom, 1));
    CU_ASSERT(contains(err, "optim.svag_l = 2 needs optim.kind = sgd, rmsprop, adam or adamw"));
    CU_ASSERT(load("[optim]\nkind = sgd\nbatch_size = 8\nsvag_l = 2\n", NULL, 0));
    CU_ASSERT(contains(err, "optim.sampling = with_replacement"));
}

void bl_test_register_config(void)
{
    CU_pSuite s = CU_add_suite("config", suite_init, suite_cleanup);
    BL_ADD_TEST(s, test_defaults_from_minimal_file);
    BL_ADD_TEST(s, test_comments_whitespace_and_values);
    BL_ADD_TEST(s, test_error_out_of_range);
    BL_ADD_TEST(s, test_error_unknown_key_suggests);
    BL_ADD_TEST(s, test_error_unknown_section);
    BL_ADD_TEST(s, test_error_bad_enum_and_bool);
    BL_ADD_TEST(s, test_error_not_integer_or_number);
    BL_ADD_TEST(s, test_error_strings);
    BL_ADD_TEST(s, test_error_missing_file);
    BL_ADD_TEST(s, test_error_duplicate_key);
    BL_ADD_TEST(s, test_error_syntax);
    BL_ADD_TEST(s, test_long_lines);
    BL_ADD_TEST(s, test_sweep_expansion);
    BL_ADD_TEST(s, test_sweep_errors);
    BL_ADD_TEST(s, test_sweep_points_checked_together);
    BL_ADD_TEST(s, test_linear_model_depth);
    BL_ADD_TEST(s, test_cross_key_errors);
    BL_ADD_TEST(s, test_set_overrides);
    BL_ADD_TEST(s, test_round_trip);
    BL_ADD_TEST(s, test_control_characters);
    BL_ADD_TEST(s, test_counts_fit);
    BL_ADD_TEST(s, test_key_is_numeric);
    BL_ADD_TEST(s, test_validate_fields_set_in_code);
    BL_ADD_TEST(s, test_scaling_rules_resolve_each_point);
    BL_ADD_TEST(s, test_svag_resolves_and_refuses);
}
