/* Configuration: INI file + --set overrides -> one validated, fully resolved
 * config. Every key lives in one table (config.c) that knows its section,
 * type, range, allowed values and default, so parsing, validation, --set,
 * [sweep] and printing back as INI all share one description. */
#ifndef BL_CONFIG_H
#define BL_CONFIG_H

#include <stdio.h>

#define BL_NAME_MAX 128
#define BL_PATH_MAX 1024
#define BL_MAX_SWEEP_KEYS 8
#define BL_MAX_SWEEP_VALUES 64
#define BL_ERR_MAX 4096

/* The counts a run is sized by, checked when a config loads. Task ids are
 * int (the scheduler's MPI messages, the done files), so points x seeds
 * must fit one; a sweep larger than BL_MAX_SWEEP_POINTS is almost certainly
 * a typo; every task keeps each metric's records in memory. */
#define BL_MAX_SWEEP_POINTS 1000000L
#define BL_MAX_TASKS 2147483647L
#define BL_MAX_RECORDS 1000000L

enum bl_data_kind { BL_DATA_SEPARABLE, BL_DATA_SYMMETRIC, BL_DATA_CLUSTERS,
                    BL_DATA_FASHION_MNIST, BL_DATA_NETCDF, BL_DATA_ASYMMETRIC,
                    BL_DATA_SPARSE_SIGN, BL_DATA_MISGROK, BL_DATA_MATRIX_COMPLETION,
                    BL_DATA_MODULAR_ADD, BL_DATA_COUNT };
enum bl_model_kind { BL_MODEL_LINEAR, BL_MODEL_MLP, BL_MODEL_QUADRATIC, BL_MODEL_NOISY_QUADRATIC,
                     BL_MODEL_DIAG_LINEAR, BL_MODEL_FACTORIZATION, BL_MODEL_PAIR_MLP,
                     BL_MODEL_COUNT };
enum bl_activation { BL_ACT_RELU, BL_ACT_LEAKY_RELU, BL_ACT_IDENTITY, BL_ACT_COUNT };
enum bl_loss_kind { BL_LOSS_LOGISTIC, BL_LOSS_EXPONENTIAL, BL_LOSS_CROSS_ENTROPY, BL_LOSS_SQUARED,
                    BL_LOSS_COUNT };
enum bl_reduction { BL_REDUCE_MEAN, BL_REDUCE_SUM, BL_REDUCE_COUNT };
enum bl_optim_kind { BL_OPT_GD, BL_OPT_SGD, BL_OPT_MOMENTUM, BL_OPT_RMSPROP, BL_OPT_ADAM,
                     BL_OPT_ADAMW, BL_OPT_COUNT };
/* optim.sampling: how a mini-batch run draws its batches */
enum bl_sampling { BL_SAMPLE_WITHOUT_REPLACEMENT, BL_SAMPLE_WITH_REPLACEMENT, BL_SAMPLE_COUNT };
/* optim.scaling_rule: how a point's batch size rescales the base hyperparameters */
enum bl_scaling_rule { BL_RULE_NONE, BL_RULE_LINEAR, BL_RULE_SQRT, BL_RULE_COUNT };
enum bl_schedule { BL_SCHED_CONSTANT, BL_SCHED_LOSS_BASED, BL_SCHED_COUNT };
/* measure.save_params: which parameter vectors a task stores */
enum bl_save_params { BL_SAVE_NONE, BL_SAVE_FINAL, BL_SAVE_FIRST_LAST, BL_SAVE_RECORDS, BL_SAVE_COUNT };
enum bl_sharpness { BL_SHARP_NONE, BL_SHARP_LANCZOS, BL_SHARP_POWER, BL_SHARP_COUNT };
enum bl_reference { BL_REF_NONE, BL_REF_SVM, BL_REF_COUNT };
/* measure.spacing: records every `every` steps, or per_decade per decade */
enum bl_spacing { BL_SPACING_LINEAR, BL_SPACING_LOG, BL_SPACING_COUNT };
/* measure.noise: how the mini-batch gradient noise is measured (README "Gradient noise") */
enum bl_noise_method { BL_NOISE_NONE, BL_NOISE_AUTO, BL_NOISE_EXACT, BL_NOISE_BATCHES,
                       BL_NOISE_COUNT };
enum bl_spectrum_at { BL_SPEC_NONE, BL_SPEC_FIRST, BL_SPEC_LAST, BL_SPEC_FIRST_LAST,
                      BL_SPEC_COUNT };

struct bl_experiment_cfg {
    char name[BL_NAME_MAX];     /* output is results/<name>.nc unless set */
    int seeds;                  /* number of seeds per sweep point */
    int first_seed;             /* seeds are first_seed .. first_seed+seeds-1 */
    char output[BL_PATH_MAX];   /* "" means results/<name>.nc */
    double checkpoint_seconds;  /* periodic checkpoints of running tasks; 0 = on signal only */
    double progress_seconds;    /* least interval between progress lines */
};

struct bl_data_cfg {
    enum bl_data_kind kind;
    int n_train, n_test;        /* examples */
    int dim;                    /* input features */
    int classes;                /* 2 for separable/symmetric */
    double margin;              /* separable/symmetric: |<w*,x>| >= margin */
    double cluster_std;         /* clusters: std of each cluster */
    double cluster_spread;      /* clusters: std of the cluster centres */
    double angle;               /* asymmetric: degrees between w* and each positive cluster */
    double far_distance;        /* asymmetric: |x| of the few far positives along w* */
    double negative_distance;   /* asymmetric: |x| of the negatives along -w* */
    double noise;               /* asymmetric: std of the in-plane noise of every example */
    char path[BL_PATH_MAX];     /* fashion_mnist: directory; netcdf: file */
    char select[BL_NAME_MAX];   /* fashion_mnist: classes to keep, e.g. "0,6"; "" = all */
    int standardize;            /* file data: per-feature z-score with training statistics */
    /* grokking data (SCIENCE.md 3) */
    int sparsity;               /* sparse_sign: k, the odd number of coordinates of w* */
    double gamma;               /* misgrok: x = z + y (gamma / 2) w* */
    int size;                   /* matrix_completion: d, the target is d x d */
    double observed;            /* matrix_completion: fraction of the d^2 entries that train */
    /* not a key: real-valued targets per example (regression), read off a
     * data file by bl_data_shape; 0 = class labels */
    int targets;
    /* not keys: whether n_train / n_test were set (in the file, by --set or
     * a sweep); a NetCDF data file's own sizes replace unset ones */
    int n_train_given, n_test_given;
    int modulus;                /* modular_add: p; all p^2 pairs (a, b), label (a + b) mod p */
    double train_fraction;      /* modular_add: the share of the permuted pairs that trains */
};

struct bl_model_cfg {
    enum bl_model_kind kind;
    int depth;                  /* weight layers; linear is depth 1 */
    int width;                  /* hidden units per hidden layer */
    enum bl_activation activation;
    double leaky_slope;         /* s in max(z, s z) */
    int bias;                   /* 0/1; bias-free is homogeneous */
    double init_scale;          /* multiplies the default N(0, 1/fan_in) init */
    double eig_max, eig_min;    /* quadratic: Hessian eigenvalues, geometric from max to min */
    int normalize;              /* mlp: RMS-normalize each hidden pre-activation (no affine) */
    int train_last;             /* 0: the last layer stays at its initialization */
    double noise;               /* noisy_quadratic: sigma, gradient noise sigma / sqrt(B) */
    int noise_batch;            /* not a key: B = optim.batch_size, set by task.c for the build */
    /* not a key: the values each index of index data takes, [0, index_range)
     * (matrix_completion: data.size), set by config.c from the data; 0 for
     * dense rows */
    int index_range;
    int last_zero;              /* pair_mlp: the second layer starts at zero */
};

struct bl_loss_cfg {
    enum bl_loss_kind kind;
    enum bl_reduction reduction; /* training objective: mean or sum over examples */
};

struct bl_optim_cfg {
    enum bl_optim_kind kind;
    double lr;                  /* constant lr, or alpha_0 for loss_based */
    enum bl_schedule schedule;
    double momentum;            /* heavy-ball coefficient for kind=momentum */
    double weight_decay;        /* lambda: adds lambda*theta to the gradient */
    int batch_size;             /* sgd/momentum: examples per step; 0 = full */
    long steps;                 /* optimizer steps */
    double loss_up;             /* loss_based: factor on alpha after a good epoch */
    double loss_down;           /* loss_based: factor on alpha after an undone epoch */
    /* the Adam family (src/optim/adam.c); rmsprop uses beta1 = 0 */
    double beta1, beta2;        /* decay of the first and second moment, in [0, 1) */
    double eps;                 /* added to sqrt(v-hat), outside the root */
    int bias_correction;        /* divide m and v by 1 - beta^t */
    enum bl_sampling sampling;  /* mini-batches: a permutation per epoch, or i.i.d. per step */
    /* a scaling rule resolves each point from the base values at base_batch_size
     * (config.c, resolve_scaling); a resolved point has rule none */
    enum bl_scaling_rule scaling_rule;
    int base_batch_size;        /* B0: lr, betas, eps, steps and measure.every are given for it */
    /* SVAG (config.c, resolve_svag; task.c): each step the gradient of c1 L_B1 + c2 L_B2 */
    int svag_l;                 /* l >= 1; 1 = the plain optimizer */
    int svag_applied;           /* not a key: the point's lr, steps, ... are already scaled */
    /* Euler-Maruyama of SGD's SDE on the noisy quadratic (config.c,
     * resolve_sde): m substeps of time lr / m per SGD step; 1 = SGD itself */
    int sde_substeps;
    int sde_applied;            /* not a key: the point's lr, steps, noise are already scaled */
};

struct bl_measure_cfg {
    long every;                 /* record metrics every this many steps (linear spacing) */
    enum bl_spacing spacing;    /* linear (every) or log (per_decade) */
    int per_decade;             /* log spacing: records per factor of 10 in the step */
    enum bl_save_params save_params;
    double diverge_factor;      /* diverged when the loss exceeds this times its initial value */
    enum bl_sharpness sharpness; /* how the top Hessian eigenvalue is measured, if at all */
    int sharpness_k;
    double sharpness_tol;
    int sharpness_iters;
    enum bl_reference reference; /* independent solution the metrics compare with */
    enum bl_spectrum_at hessian_spectrum; /* records with the full Hessian spectrum */
    int spectrum_solver;        /* enum bl_scalapack_solver: 0 pdsyev, 1 pdsyevd */
    int trace_probes;           /* Hutchinson probes per record, 0 = no trace */
    int kkt;                    /* record the KKT residuals of the margin problem */
    int min_eigenvalue;         /* record the smallest algebraic Hessian eigenvalue */
    int near_support;           /* record the near-support counts of the margins */
    enum bl_spectrum_at density; /* records with an SLQ spectral density */
    int density_probes, density_steps;
    /* grokking outcomes (SCIENCE.md 3): memorize_step / grok_step at the first
     * record with train / test accuracy >= fit_threshold; ungrok_step at the
     * first record after grok_step with test accuracy < drop_threshold */
    double fit_threshold, drop_threshold;
    /* gradient-noise statistics (SCIENCE.md 6): exact from per-example
     * gradients, or estimated from noise_batches fresh batches per record */
    enum bl_noise_method noise;
    int noise_batches;
    /* metrics whose mean curves are compared with the base point's, e.g.
     * "train_loss, test_loss" ("" = none) */
    char compare[BL_NAME_MAX];
};

struct bl_parallel_cfg {
    int group_size;             /* ranks per task: 1 ensemble, >1 data-parallel */
    int blas_threads;           /* OpenBLAS threads per rank; 0 = cores/ranks */
};

/* A [sweep] entry: the key (section.key) and its values as text. */
struct bl_sweep_key {
    char key[BL_NAME_MAX];
    int n_values;
    char values[BL_MAX_SWEEP_VALUES][BL_NAME_MAX];
};

struct bl_config {
    struct bl_experiment_cfg experiment;
    struct bl_data_cfg data;
    struct bl_model_cfg model;
    struct bl_loss_cfg loss;
    struct bl_optim_cfg optim;
    struct bl_measure_cfg measure;
    struct bl_parallel_cfg parallel;
    int n_sweep;
    struct bl_sweep_key sweep[BL_MAX_SWEEP_KEYS];
    char source_path[BL_PATH_MAX]; /* the INI file it came from */
};

/* Fill every key with its default. */
void bl_config_defaults(struct bl_config *cfg);

/* Parse an INI file, then apply overrides ("section.key=value" each), then
 * validate (including every sweep value). On error returns non-zero and
 * writes one message to err naming file, line (when it has one), key, the
 * bad value and what is allowed. */
int bl_config_load(const char *path, const char *const *overrides, int n_overrides,
                   struct bl_config *cfg, char *err, size_t err_len);

/* Set one key from text, as the INI parser and --set do. line is for the
 * message (0 when the value comes from --set). */
int bl_config_set(struct bl_config *cfg, const char *section, const char *key,
                  const char *value, const char *origin, int line, char *err,
                  size_t err_len);

/* Cross-key checks (e.g. logistic loss needs 2 classes). */
int bl_config_validate(const struct bl_config *cfg, char *err, size_t err_len);

/* Number of sweep points: the product of the sweep value counts (1 if none),
 * exact; at most BL_MAX_SWEEP_POINTS in a loaded config. */
long bl_config_n_points(const struct bl_config *cfg);
/* Whether each point's lr, steps, measure.every ... are resolved from the
 * given values (optim.scaling_rule, or svag_l or sde_substeps set or swept):
 * the output then holds them per point (resolved_*). */
int bl_config_resolves_points(const struct bl_config *cfg);

/* Tasks: points x seeds, exact or LLONG_MAX when larger (a loaded config
 * has at most BL_MAX_TASKS). */
long long bl_config_n_tasks(const struct bl_config *cfg);

/* The config of sweep point p (0-based, last sweep key varies fastest). */
int bl_config_for_point(const struct bl_config *base, int point, struct bl_config *out,
                        char *err, size_t err_len);

/* Index of point p's value of sweep key k. */
int bl_config_sweep_index(const struct bl_config *cfg, int point, int k);

/* Write the resolved config as INI text (every key, with [sweep] if any). */
void bl_config_write_ini(const struct bl_config *cfg, FILE *out);

/* The same text in a malloc'd string (caller frees). */
char *bl_config_ini_string(const struct bl_config *cfg);

/* Every key with its type, allowed values, default and description (for
 * the command line's help on config keys). */
void bl_config_write_reference(FILE *out);

/* Whether a "section.key" names a numeric key (sweep coordinates are stored
 * as doubles when numeric and as strings otherwise). */
int bl_config_key_is_numeric(const char *section_dot_key);

/* The output path: experiment.output or results/<name>.nc */
void bl_config_output_path(const struct bl_config *cfg, char *out, size_t len);

#endif
