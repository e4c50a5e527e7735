/* Configuration: one table of keys drives INI parsing, --set, [sweep],
 * validation and printing, so a key is described in exactly one place. */
#include "bl_config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "bl_log.h"

/* Longest INI line we accept: a [sweep] line can list 64 values, and
 * experiment.output can be a long path. */
#define MAX_LINE 16384

/* Enough for any value printed back from a struct field (paths included). */
#define VALUE_TEXT_MAX (BL_PATH_MAX + 64)

/* Sweepable keys are numbers or enum names, always short once printed. */
#define SWEEP_TEXT_MAX 64

enum key_type { T_INT, T_LONG, T_DOUBLE, T_BOOL, T_ENUM, T_STRING };

struct key_desc {
    const char *section;
    const char *key;
    enum key_type type;
    double min, max;          /* int, long and double keys */
    int min_open, max_open;   /* 1 when the bound itself is not allowed */
    const char *const *names; /* enum keys: value i is names[i], NULL-terminated */
    int ident;                /* string keys: non-empty, only [A-Za-z0-9_.-] */
    const char *def;          /* the default, as it would be written in the INI */
    const char *desc;
    size_t offset, size; /* where the value lives in struct bl_config */
};

/* Enum fields are read and written through an int. */
_Static_assert(sizeof(enum bl_data_kind) == sizeof(int), "enums are int-sized");

static const char *const data_kinds[] = {"separable", "symmetric", "clusters",
                                         "fashion_mnist", "netcdf", "asymmetric",
                                         "sparse_sign", "misgrok", "matrix_completion",
                                         "modular_add", NULL};
static const char *const model_kinds[] = {"linear",          "mlp",         "quadratic",
                                          "noisy_quadratic", "diag_linear", "factorization",
                                          "pair_mlp",        NULL};
static const char *const activations[] = {"relu", "leaky_relu", "identity", NULL};
static const char *const loss_kinds[] = {"logistic", "exponential", "cross_entropy", "squared",
                                         NULL};
static const char *const reductions[] = {"mean", "sum", NULL};
static const char *const optim_kinds[] = {"gd", "sgd", "momentum", "rmsprop", "adam", "adamw",
                                          NULL};
static const char *const samplings[] = {"without_replacement", "with_replacement", NULL};
static const char *const scaling_rules[] = {"none", "linear", "sqrt", NULL};
static const char *const schedules[] = {"constant", "loss_based", NULL};
static const char *const save_params[] = {"none", "final", "first_last", "records", NULL};
static const char *const sharpness_methods[] = {"none", "lanczos", "power", NULL};
static const char *const references[] = {"none", "svm", NULL};
static const char *const spectrum_records[] = {"none", "first", "last", "first_last", NULL};
static const char *const spectrum_solvers[] = {"pdsyev", "pdsyevd", NULL};
static const char *const spacings[] = {"linear", "log", NULL};
static const char *const noise_methods[] = {"none", "auto", "exact", "batches", NULL};

/* Each table above is indexed by its enum of bl_config.h (one name per
 * value, then NULL): a value added to an enum without its name stops the
 * build here. */
#define NAMES_FOLLOW(table, count) \
    _Static_assert(sizeof table / sizeof table[0] == (count) + 1, #table " follows its enum")
NAMES_FOLLOW(data_kinds, BL_DATA_COUNT);
NAMES_FOLLOW(model_kinds, BL_MODEL_COUNT);
NAMES_FOLLOW(activations, BL_ACT_COUNT);
NAMES_FOLLOW(loss_kinds, BL_LOSS_COUNT);
NAMES_FOLLOW(reductions, BL_REDUCE_COUNT);
NAMES_FOLLOW(optim_kinds, BL_OPT_COUNT);
NAMES_FOLLOW(samplings, BL_SAMPLE_COUNT);
NAMES_FOLLOW(scaling_rules, BL_RULE_COUNT);
NAMES_FOLLOW(schedules, BL_SCHED_COUNT);
NAMES_FOLLOW(save_params, BL_SAVE_COUNT);
NAMES_FOLLOW(sharpness_methods, BL_SHARP_COUNT);
NAMES_FOLLOW(references, BL_REF_COUNT);
NAMES_FOLLOW(spectrum_records, BL_SPEC_COUNT);
NAMES_FOLLOW(spacings, BL_SPACING_COUNT);
NAMES_FOLLOW(noise_methods, BL_NOISE_COUNT);

#define FIELD(m) .offset = offsetof(struct bl_config, m), .size = sizeof(((struct bl_config *)0)->m)

/* clang-format off */
static const struct key_desc keys[] = {
    {.section = "experiment", .key = "name", .type = T_STRING, .ident = 1, .def = "experiment",
     .desc = "run name; the output is results/<name>.nc unless output is set",
     FIELD(experiment.name)},
    {.section = "experiment", .key = "seeds", .type = T_INT, .min = 1, .max = 100000, .def = "8",
     .desc = "number of seeds per sweep point", FIELD(experiment.seeds)},
    {.section = "experiment", .key = "first_seed", .type = T_INT, .min = 0, .max = 2147483647,
     .def = "0", .desc = "seeds are first_seed .. first_seed+seeds-1",
     FIELD(experiment.first_seed)},
    {.section = "experiment", .key = "output", .type = T_STRING, .def = "",
     .desc = "output NetCDF file; empty means results/<name>.nc", FIELD(experiment.output)},
    {.section = "experiment", .key = "checkpoint_seconds", .type = T_DOUBLE, .min = 0,
     .max = 1e9, .def = "300",
     .desc = "save each running task's state this often (0 = only when signalled)",
     FIELD(experiment.checkpoint_seconds)},
    {.section = "experiment", .key = "progress_seconds", .type = T_DOUBLE, .min = 0.1,
     .max = 1e6, .def = "5",
     .desc = "rank 0 prints a progress line at most this often", FIELD(experiment.progress_seconds)},

    {.section = "data", .key = "kind", .type = T_ENUM, .names = data_kinds, .def = "separable",
     .desc = "separable (margin around w*), symmetric (pairs (x,y),(-x,-y)), asymmetric "
             "(planar counterexample, see README), clusters, fashion_mnist, netcdf, sparse_sign "
             "or misgrok (grokking, SCIENCE.md 3), matrix_completion (index pairs of the d x d "
             "matrix i j / d^2), modular_add (token pairs (a, b), label (a + b) mod p)",
     FIELD(data.kind)},
    {.section = "data", .key = "n_train", .type = T_INT, .min = 1, .max = 1e8, .def = "200",
     .desc = "training examples", FIELD(data.n_train)},
    {.section = "data", .key = "n_test", .type = T_INT, .min = 0, .max = 1e8, .def = "1000",
     .desc = "test examples", FIELD(data.n_test)},
    {.section = "data", .key = "dim", .type = T_INT, .min = 1, .max = 1e6, .def = "20",
     .desc = "input features", FIELD(data.dim)},
    {.section = "data", .key = "classes", .type = T_INT, .min = 2, .max = 1000, .def = "2",
     .desc = "number of classes (2 for separable, symmetric and asymmetric)", FIELD(data.classes)},
    {.section = "data", .key = "margin", .type = T_DOUBLE, .min = 0, .max = 100, .def = "0.1",
     .desc = "separable/symmetric: every example has |<w*,x>| >= margin", FIELD(data.margin)},
    {.section = "data", .key = "cluster_std", .type = T_DOUBLE, .min = 0, .min_open = 1,
     .max = 1e6, .def = "1.0", .desc = "clusters: standard deviation of each cluster",
     FIELD(data.cluster_std)},
    {.section = "data", .key = "cluster_spread", .type = T_DOUBLE, .min = 0, .min_open = 1,
     .max = 1e6, .def = "3.0", .desc = "clusters: standard deviation of the cluster centres",
     FIELD(data.cluster_spread)},
    {.section = "data", .key = "angle", .type = T_DOUBLE, .min = 0, .min_open = 1, .max = 90,
     .max_open = 1, .def = "75",
     .desc = "asymmetric: degrees between w* and each of the two positive clusters",
     FIELD(data.angle)},
    {.section = "data", .key = "far_distance", .type = T_DOUBLE, .min = 0, .min_open = 1,
     .max = 1e6, .def = "10",
     .desc = "asymmetric: distance of the few far positives along w*", FIELD(data.far_distance)},
    {.section = "data", .key = "negative_distance", .type = T_DOUBLE, .min = 0, .min_open = 1,
     .max = 1e6, .def = "0.3",
     .desc = "asymmetric: distance of the negatives along -w*", FIELD(data.negative_distance)},
    {.section = "data", .key = "noise", .type = T_DOUBLE, .min = 0, .max = 1e6, .def = "0.02",
     .desc = "asymmetric: standard deviation of the in-plane noise added to every example",
     FIELD(data.noise)},
    {.section = "data", .key = "path", .type = T_STRING,
     .def = "/usr/share/datasets/fashion-mnist",
     .desc = "fashion_mnist: directory of the IDX .gz files; netcdf: the file (x(sample, "
             "feature), y(sample), optional x_test, y_test)",
     FIELD(data.path)},
    {.section = "data", .key = "select", .type = T_STRING, .def = "",
     .desc = "fashion_mnist: classes to keep, relabelled 0.. in this order, e.g. 0,6 "
             "(empty = all 10)",
     FIELD(data.select)},
    /* grokking data (SCIENCE.md 3) */
    {.section = "data", .key = "sparsity", .type = T_INT, .min = 1, .max = 1e6, .def = "3",
     .desc = "sparse_sign: k (odd, at most dim), the coordinates of w* (random +-1) whose "
             "sum's sign is the label", FIELD(data.sparsity)},
    {.section = "data", .key = "gamma", .type = T_DOUBLE, .min = 0, .max = 1e6, .def = "25",
     .desc = "misgrok: x = z + y (gamma / 2) w*, z ~ N(0, I), y = sign <z, w*>",
     FIELD(data.gamma)},
    {.section = "data", .key = "size", .type = T_INT, .min = 2, .max = 4096, .def = "97",
     .desc = "matrix_completion: d, the target X*_ij = i j / d^2 (i, j = 0 .. d-1)",
     FIELD(data.size)},
    {.section = "data", .key = "observed", .type = T_DOUBLE, .min = 0, .min_open = 1, .max = 1,
     .max_open = 1, .def = "0.05",
     .desc = "matrix_completion: fraction of the d^2 entries that train (the first of a seeded "
             "permutation, at least one); all the others are the test set",
     FIELD(data.observed)},
    {.section = "data", .key = "modulus", .type = T_INT, .min = 3, .max = 1000, .def = "59",
     .desc = "modular_add: p; the examples are all p^2 pairs (a, b) of tokens in [0, p), label "
             "(a + b) mod p (sets data.dim = 2, data.classes = p, n_train and n_test)",
     FIELD(data.modulus)},
    {.section = "data", .key = "train_fraction", .type = T_DOUBLE, .min = 0, .min_open = 1,
     .max = 1, .max_open = 1, .def = "0.4",
     .desc = "modular_add: the first round(fraction p^2) pairs of a seeded permutation train, "
             "all the others test", FIELD(data.train_fraction)},
    {.section = "data", .key = "standardize", .type = T_BOOL, .def = "true",
     .desc = "file data: z-score each feature with the training set's mean and std",
     FIELD(data.standardize)},

    {.section = "model", .key = "kind", .type = T_ENUM, .names = model_kinds, .def = "mlp",
     .desc = "linear (one weight layer), mlp, quadratic (loss 1/2 theta^T A theta with "
             "width parameters and eigenvalues eig_max .. eig_min; no data), noisy_quadratic "
             "(the same with gradient noise noise / sqrt(batch_size)), or diag_linear "
             "(f = <u^L - v^L, x>, L = depth, u = v = init_scale / sqrt(2 dim) at init), or "
             "factorization (W = U U^T - V V^T, output W_ij at the index pair (i, j); U = V = "
             "init_scale I at init), pair_mlp (W2 relu(E_a + F_b + b1) on a token pair; "
             "modular_add data)",
     FIELD(model.kind)},
    {.section = "model", .key = "depth", .type = T_INT, .min = 1, .max = 64, .def = "2",
     .desc = "weight layers; linear is 1, mlp needs at least 2", FIELD(model.depth)},
    {.section = "model", .key = "width", .type = T_INT, .min = 1, .max = 1e6, .def = "64",
     .desc = "units per hidden layer", FIELD(model.width)},
    {.section = "model", .key = "activation", .type = T_ENUM, .names = activations,
     .def = "relu", .desc = "hidden-layer activation (mlp only)", FIELD(model.activation)},
    {.section = "model", .key = "leaky_slope", .type = T_DOUBLE, .min = 0, .max = 1,
     .max_open = 1, .def = "0.1", .desc = "s in leaky_relu(z) = max(z, s z)",
     FIELD(model.leaky_slope)},
    {.section = "model", .key = "bias", .type = T_BOOL, .def = "false",
     .desc = "bias terms; without them the network is homogeneous", FIELD(model.bias)},
    {.section = "model", .key = "eig_max", .type = T_DOUBLE, .min = 0, .min_open = 1,
     .max = 1e12, .def = "10",
     .desc = "quadratic: largest Hessian eigenvalue (GD diverges iff lr * eig_max > 2)",
     FIELD(model.eig_max)},
    {.section = "model", .key = "eig_min", .type = T_DOUBLE, .min = 0, .min_open = 1,
     .max = 1e12, .def = "0.1", .desc = "quadratic: smallest Hessian eigenvalue",
     FIELD(model.eig_min)},
    {.section = "model", .key = "noise", .type = T_DOUBLE, .min = 0, .max = 1e12, .def = "1",
     .desc = "noisy_quadratic: sigma; each step's gradient gets N(0, sigma^2 / batch_size) per "
             "coordinate", FIELD(model.noise)},
    {.section = "model", .key = "normalize", .type = T_BOOL, .def = "false",
     .desc = "mlp: follow each hidden layer by a layer normalization without affine "
             "parameters (scale-invariant in that layer's weights; needs bias = false)",
     FIELD(model.normalize)},
    {.section = "model", .key = "train_last", .type = T_BOOL, .def = "true",
     .desc = "false: keep the last layer fixed at its initialization (with normalize, the "
             "loss is then scale-invariant in all trained weights)",
     FIELD(model.train_last)},
    {.section = "model", .key = "last_zero", .type = T_BOOL, .def = "false",
     .desc = "pair_mlp: the second layer W2 starts at zero (the output is 0 at init)",
     FIELD(model.last_zero)},
    {.section = "model", .key = "init_scale", .type = T_DOUBLE, .min = 0, .min_open = 1,
     .max = 1e6, .def = "1.0",
     .desc = "multiplies the default N(0, 1/fan_in) initialization; diag_linear: ||theta_0||; "
             "factorization: alpha in U = V = alpha I",
     FIELD(model.init_scale)},

    {.section = "loss", .key = "kind", .type = T_ENUM, .names = loss_kinds, .def = "logistic",
     .desc = "logistic and exponential need 2 classes", FIELD(loss.kind)},
    {.section = "loss", .key = "reduction", .type = T_ENUM, .names = reductions, .def = "mean",
     .desc = "training objective: mean or sum over the examples", FIELD(loss.reduction)},

    {.section = "optim", .key = "kind", .type = T_ENUM, .names = optim_kinds, .def = "gd",
     .desc = "gd (full batch), sgd, momentum (heavy ball), rmsprop, adam (coupled L2 decay) or "
             "adamw (decoupled decay)", FIELD(optim.kind)},
    {.section = "optim", .key = "lr", .type = T_DOUBLE, .min = 0, .min_open = 1, .max = 1e6,
     .def = "0.1", .desc = "learning rate (the initial one for loss_based)", FIELD(optim.lr)},
    {.section = "optim", .key = "schedule", .type = T_ENUM, .names = schedules,
     .def = "constant", .desc = "constant lr, or loss_based: grow after a good epoch, shrink "
                                "after an undone one", FIELD(optim.schedule)},
    {.section = "optim", .key = "momentum", .type = T_DOUBLE, .min = 0, .max = 1, .max_open = 1,
     .def = "0.9", .desc = "heavy-ball coefficient (kind = momentum)", FIELD(optim.momentum)},
    {.section = "optim", .key = "weight_decay", .type = T_DOUBLE, .min = 0, .max = 1000,
     .def = "0", .desc = "lambda: adds lambda*theta to the gradient", FIELD(optim.weight_decay)},
    {.section = "optim", .key = "batch_size", .type = T_INT, .min = 0, .max = 1e8, .def = "0",
     .desc = "examples per step; 0 = full batch", FIELD(optim.batch_size)},
    {.section = "optim", .key = "steps", .type = T_LONG, .min = 1, .max = 1e12, .def = "1000",
     .desc = "optimizer steps", FIELD(optim.steps)},
    {.section = "optim", .key = "loss_up", .type = T_DOUBLE, .min = 1, .max = 10,
     .def = "1.148698354997035", .desc = "loss_based: lr factor after a good epoch (2^(1/5))",
     FIELD(optim.loss_up)},
    {.section = "optim", .key = "loss_down", .type = T_DOUBLE, .min = 0, .min_open = 1, .max = 1,
     .def = "0.933032991536807", .desc = "loss_based: lr factor after an undone epoch "
                                         "(2^(-1/10))", FIELD(optim.loss_down)},
    /* the Adam family: torch's Adam defaults, which the authors' code of SCIENCE.md 5 uses */
    {.section = "optim", .key = "beta1", .type = T_DOUBLE, .min = 0, .max = 1, .max_open = 1,
     .def = "0.9", .desc = "adam/adamw: decay of the first moment m (rmsprop: 0)",
     FIELD(optim.beta1)},
    {.section = "optim", .key = "beta2", .type = T_DOUBLE, .min = 0, .max = 1, .max_open = 1,
     .def = "0.999", .desc = "rmsprop/adam/adamw: decay of the second moment v",
     FIELD(optim.beta2)},
    {.section = "optim", .key = "eps", .type = T_DOUBLE, .min = 0, .min_open = 1, .max = 1e6,
     .def = "1e-08", .desc = "rmsprop/adam/adamw: added to sqrt(v-hat), outside the root",
     FIELD(optim.eps)},
    {.section = "optim", .key = "bias_correction", .type = T_BOOL, .def = "true",
     .desc = "rmsprop/adam/adamw: divide m and v by 1 - beta^t", FIELD(optim.bias_correction)},
    {.section = "optim", .key = "sampling", .type = T_ENUM, .names = samplings,
     .def = "without_replacement",
     .desc = "mini-batches: a permutation per epoch, or with_replacement (i.i.d. each step)",
     FIELD(optim.sampling)},
    {.section = "optim", .key = "scaling_rule", .type = T_ENUM, .names = scaling_rules,
     .def = "none",
     .desc = "per point, from the values at base_batch_size: linear (lr x kappa) or sqrt (lr x "
             "sqrt(kappa), 1-beta x kappa, eps / sqrt(kappa)), kappa = batch_size / "
             "base_batch_size, steps and measure.every / kappa (same epochs)",
     FIELD(optim.scaling_rule)},
    {.section = "optim", .key = "base_batch_size", .type = T_INT, .min = 0, .max = 1e8,
     .def = "0", .desc = "scaling_rule: the batch size the lr, betas, eps, steps and "
                         "measure.every are given for", FIELD(optim.base_batch_size)},
    {.section = "optim", .key = "svag_l", .type = T_INT, .min = 1, .max = 1000, .def = "1",
     .desc = "SVAG: two batches per step, gradient of c1 L_B1 + c2 L_B2; sgd: lr / l, l x "
             "steps; rmsprop/adam/adamw: lr / l, 1-beta / l^2, eps x l, l^2 x steps",
     FIELD(optim.svag_l)},
    {.section = "optim", .key = "sde_substeps", .type = T_INT, .min = 1, .max = 100000,
     .def = "1",
     .desc = "sgd on noisy_quadratic: integrate SGD's SDE by Euler-Maruyama with m substeps "
             "of time lr / m per step (lr / m, noise x sqrt(m), m x steps and measure.every); "
             "1 = SGD itself", FIELD(optim.sde_substeps)},

    {.section = "measure", .key = "every", .type = T_LONG, .min = 1, .max = 1e12, .def = "10",
     .desc = "record the metrics every this many steps", FIELD(measure.every)},
    {.section = "measure", .key = "spacing", .type = T_ENUM, .names = spacings,
     .def = "linear",
     .desc = "linear: a record every `every` steps; log: per_decade records per factor of 10 "
             "(the distinct steps round(10^(j/per_decade)), with step 0 and the last step)",
     FIELD(measure.spacing)},
    {.section = "measure", .key = "per_decade", .type = T_INT, .min = 1, .max = 1000,
     .def = "10", .desc = "log spacing: records per decade of steps",
     FIELD(measure.per_decade)},
    {.section = "measure", .key = "save_params", .type = T_ENUM, .names = save_params,
     .def = "none",
     .desc = "store the parameters: final; first_last (the initialization and the final); "
             "records (at every record, at most 2^27 doubles per task)",
     FIELD(measure.save_params)},
    {.section = "measure", .key = "sharpness", .type = T_ENUM, .names = sharpness_methods,
     .def = "none",
     .desc = "top Hessian eigenvalue at each record: lanczos (largest algebraic) or power "
             "(largest magnitude)",
     FIELD(measure.sharpness)},
    {.section = "measure", .key = "sharpness_k", .type = T_INT, .min = 1, .max = 32, .def = "1",
     .desc = "lanczos: the top k eigenvalues; with k > 1 all k are recorded "
             "(sharpness_top, sharpness_top_residual over a top dimension)",
     FIELD(measure.sharpness_k)},
    {.section = "measure", .key = "min_eigenvalue", .type = T_BOOL, .def = "false",
     .desc = "record the smallest algebraic Hessian eigenvalue (negative curvature) by "
             "Lanczos from the other end, with its residual",
     FIELD(measure.min_eigenvalue)},
    {.section = "measure", .key = "near_support", .type = T_BOOL, .def = "true",
     .desc = "record the near-support counts #{i : q_i < q_min + ln 10^j}, j = 1, 2, 3 "
             "(class labels only)",
     FIELD(measure.near_support)},
    {.section = "measure", .key = "sharpness_tol", .type = T_DOUBLE, .min = 0, .min_open = 1,
     .max = 1, .def = "1e-6",
     .desc = "stop when ||Hv - lambda v|| <= tol * max(1, |lambda|)", FIELD(measure.sharpness_tol)},
    {.section = "measure", .key = "sharpness_iters", .type = T_INT, .min = 2, .max = 10000,
     .def = "100", .desc = "iteration cap (Hessian-vector products) per measurement",
     FIELD(measure.sharpness_iters)},
    {.section = "measure", .key = "hessian_spectrum", .type = T_ENUM, .names = spectrum_records,
     .def = "none",
     .desc = "all Hessian eigenvalues (ScaLAPACK over the group's ranks) at the first and/or "
             "last record; models of at most 4096 parameters",
     FIELD(measure.hessian_spectrum)},
    {.section = "measure", .key = "density", .type = T_ENUM, .names = spectrum_records,
     .def = "none",
     .desc = "Hessian spectral density by stochastic Lanczos quadrature (nodes and weights) "
             "at the first and/or last record; for models of any size",
     FIELD(measure.density)},
    {.section = "measure", .key = "density_probes", .type = T_INT, .min = 1, .max = 1000,
     .def = "4", .desc = "density: Rademacher start vectors", FIELD(measure.density_probes)},
    {.section = "measure", .key = "density_steps", .type = T_INT, .min = 2, .max = 1000,
     .def = "50", .desc = "density: Lanczos steps per start vector (nodes per probe)",
     FIELD(measure.density_steps)},
    {.section = "measure", .key = "kkt", .type = T_BOOL, .def = "false",
     .desc = "record the (epsilon, delta)-KKT residuals of the margin problem (NNLS on the "
             "per-example margin gradients; binary, bias-free models)",
     FIELD(measure.kkt)},
    {.section = "measure", .key = "trace_probes", .type = T_INT, .min = 0, .max = 100000,
     .def = "0",
     .desc = "Hutchinson estimate of the Hessian trace at each record from this many "
             "Rademacher probes (0 = off)",
     FIELD(measure.trace_probes)},
    {.section = "measure", .key = "spectrum_solver", .type = T_ENUM, .names = spectrum_solvers,
     .def = "pdsyevd",
     .desc = "ScaLAPACK driver for hessian_spectrum: pdsyevd (divide and conquer) or pdsyev "
             "(eigenvalues only: half the memory, faster here)",
     FIELD(measure.spectrum_solver)},
    {.section = "measure", .key = "reference", .type = T_ENUM, .names = references,
     .def = "none",
     .desc = "svm: solve each task's hard-margin SVM and record svm_cosine, margin_ratio, "
             "svm_alignment (binary data; linear or two-layer model); on a diag_linear the "
             "max-L2 and max-L1-margin classifiers (l2_cosine, l1_cosine)",
     FIELD(measure.reference)},
    /* grokking outcomes (SCIENCE.md 3) */
    {.section = "measure", .key = "fit_threshold", .type = T_DOUBLE, .min = 0, .min_open = 1,
     .max = 1, .def = "0.95",
     .desc = "memorize_step / grok_step: the first record with train / test accuracy at "
             "least this (regression targets: with train / test MSE at most this)",
     FIELD(measure.fit_threshold)},
    {.section = "measure", .key = "drop_threshold", .type = T_DOUBLE, .min = 0, .min_open = 1,
     .max = 1, .def = "0.75",
     .desc = "ungrok_step: the first record after grok_step with test accuracy below this",
     FIELD(measure.drop_threshold)},
    /* gradient-noise statistics (SCIENCE.md 6) */
    {.section = "measure", .key = "noise", .type = T_ENUM, .names = noise_methods,
     .def = "none",
     .desc = "grad_norm_sq, noise_trace (tr of the mini-batch gradient covariance) and "
             "noise_ratio at every record: exact (per-example gradients), batches (unbiased "
             "estimate from noise_batches batches), auto (exact when n_train <= noise_batches "
             "x batch size, the cheaper one), none", FIELD(measure.noise)},
    {.section = "measure", .key = "noise_batches", .type = T_INT, .min = 2, .max = 1000000,
     .def = "64", .desc = "measure.noise = batches or auto: batches drawn per record",
     FIELD(measure.noise_batches)},
    {.section = "measure", .key = "compare", .type = T_STRING, .def = "",
     .desc = "metrics (comma-separated) whose mean curve at each point is compared with the "
             "base point's: <metric>_distance, the largest |difference of means| over the "
             "pooled 95% CI half-width (<= 1: within the bands)",
     FIELD(measure.compare)},
    {.section = "measure", .key = "diverge_factor", .type = T_DOUBLE, .min = 1, .min_open = 1,
     .max = 1e300, .def = "1e12",
     .desc = "a task diverges when its loss is NaN/Inf or exceeds this times its initial loss",
     FIELD(measure.diverge_factor)},

    {.section = "parallel", .key = "group_size", .type = T_INT, .min = 1, .max = 4096, .def = "1",
     .desc = "ranks per task: 1 runs an ensemble, more splits the data",
     FIELD(parallel.group_size)},
    {.section = "parallel", .key = "blas_threads", .type = T_INT, .min = 0, .max = 256,
     .def = "0", .desc = "OpenBLAS threads per rank; 0 = cores / ranks",
     FIELD(parallel.blas_threads)},
};

/* clang-format on */

#define N_KEYS ((int)(sizeof keys / sizeof keys[0]))

/* Table order; "sweep" is not in keys[] because its keys are section.key. */
static const char *const sections[] = {"experiment", "data",    "model",    "loss",
                                       "optim",      "measure", "parallel", "sweep"};
#define N_SECTIONS ((int)(sizeof sections / sizeof sections[0]))

/* Names people bring from other tools. Only used to suggest the real key. */
/* clang-format off */
static const struct {
    const char *section, *alias, *key;
} aliases[] = {
    {"optim", "learning_rate", "lr"},  {"optim", "step_size", "lr"},
    {"optim", "eta", "lr"},            {"optim", "alpha", "lr"},
    {"optim", "iterations", "steps"},  {"optim", "iters", "steps"},
    {"optim", "n_steps", "steps"},     {"optim", "num_steps", "steps"},
    {"optim", "max_steps", "steps"},   {"optim", "epochs", "steps"},
    {"optim", "batch", "batch_size"},  {"optim", "batchsize", "batch_size"},
    {"optim", "minibatch", "batch_size"}, {"optim", "wd", "weight_decay"},
    {"optim", "l2", "weight_decay"},   {"optim", "optimizer", "kind"},
    {"optim", "type", "kind"},         {"optim", "beta", "momentum"},
    {"model", "layers", "depth"},      {"model", "n_layers", "depth"},
    {"model", "num_layers", "depth"},  {"model", "hidden", "width"},
    {"model", "hidden_size", "width"}, {"model", "n_hidden", "width"},
    {"model", "units", "width"},       {"model", "act", "activation"},
    {"model", "nonlinearity", "activation"}, {"model", "use_bias", "bias"},
    {"model", "type", "kind"},         {"model", "init", "init_scale"},
    {"data", "train_size", "n_train"}, {"data", "n_samples", "n_train"},
    {"data", "samples", "n_train"},    {"data", "test_size", "n_test"},
    {"data", "input_dim", "dim"},      {"data", "n_features", "dim"},
    {"data", "features", "dim"},       {"data", "n_classes", "classes"},
    {"data", "num_classes", "classes"}, {"data", "type", "kind"},
    {"loss", "type", "kind"},          {"loss", "reduce", "reduction"},
    {"experiment", "n_seeds", "seeds"}, {"experiment", "num_seeds", "seeds"},
    {"experiment", "seed", "first_seed"}, {"experiment", "out", "output"},
    {"measure", "log_every", "every"}, {"measure", "eval_every", "every"},
    {"measure", "interval", "every"},  {"parallel", "ranks_per_task", "group_size"},
    {"parallel", "threads", "blas_threads"},
};
/* clang-format on */
#define N_ALIASES ((int)(sizeof aliases / sizeof aliases[0]))

/* Writes "origin:line: " (or "origin: ", or nothing when origin is NULL)
 * and the message to err. Always returns -1 so callers can return it. */
static int fail(char *err, size_t len, const char *origin, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(char *err, size_t len, const char *origin, int line, const char *fmt, ...)
{
    if (!err || len == 0)
        return -1;
    int n = 0;
    if (origin && line > 0)
        n = snprintf(err, len, "%s:%d: ", origin, line);
    else if (origin)
        n = snprintf(err, len, "%s: ", origin);
    else
        err[0] = '\0';
    if (n < 0 || (size_t)n >= len)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, len - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static void *field(const struct key_desc *d, struct bl_config *c)
{
    return (char *)c + d->offset;
}

static const void *cfield(const struct key_desc *d, const struct bl_config *c)
{
    return (const char *)c + d->offset;
}

static int find_key(const char *section, const char *key)
{
    for (int i = 0; i < N_KEYS; i++)
        if (!strcmp(keys[i].section, section) && !strcmp(keys[i].key, key))
            return i;
    return -1;
}

/* "section.key" -> index in keys[], or -1. */
static int find_dotted(const char *dotted)
{
    const char *dot = strchr(dotted, '.');
    if (!dot)
        return -1;
    for (int i = 0; i < N_KEYS; i++) {
        size_t ls = strlen(keys[i].section);
        if ((size_t)(dot - dotted) == ls && !strncmp(dotted, keys[i].section, ls) &&
            !strcmp(dot + 1, keys[i].key))
            return i;
    }
    return -1;
}

static int section_known(const char *section)
{
    for (int i = 0; i < N_SECTIONS; i++)
        if (!strcmp(sections[i], section))
            return 1;
    return 0;
}

/* [experiment] and [parallel] describe the run, not one point of it. */
static int sweepable(const struct key_desc *d)
{
    return strcmp(d->section, "experiment") && strcmp(d->section, "parallel");
}

/* Index in cfg->sweep of the sweep over keys[k], or -1. */
static int sweep_slot(const struct bl_config *cfg, int k)
{
    for (int i = 0; i < cfg->n_sweep; i++)
        if (find_dotted(cfg->sweep[i].key) == k)
            return i;
    return -1;
}

/* Levenshtein distance, case-insensitive; long strings are never "close". */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 1000;
    int row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            int best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return (int)row[lb];
}

/* A suggestion further away than this is more noise than help. */
static int close_enough(const char *typed, int distance)
{
    int limit = (int)strlen(typed) / 2;
    return distance <= (limit > 2 ? limit : 2);
}

/* Nearest key to `typed` among the keys (and their aliases) of `section`,
 * or of every section when section is NULL. Returns the key index and sets
 * *dist, or -1. When dotted, `typed` is compared as section.key. */
static int nearest_key(const char *typed, const char *section, int dotted, int *dist)
{
    int best = -1, best_d = 1 << 30;
    char name[2 * BL_NAME_MAX];
    for (int i = 0; i < N_KEYS; i++) {
        if (section && strcmp(keys[i].section, section))
            continue;
        if (dotted)
            snprintf(name, sizeof name, "%s.%s", keys[i].section, keys[i].key);
        else
            snprintf(name, sizeof name, "%s", keys[i].key);
        int d = edit_distance(typed, name);
        if (d < best_d) {
            best = i;
            best_d = d;
        }
    }
    for (int a = 0; a < N_ALIASES; a++) {
        if (section && strcmp(aliases[a].section, section))
            continue;
        if (dotted)
            snprintf(name, sizeof name, "%s.%s", aliases[a].section, aliases[a].alias);
        else
            snprintf(name, sizeof name, "%s", aliases[a].alias);
        int d = edit_distance(typed, name);
        if (d < best_d) {
            best = find_key(aliases[a].section, aliases[a].key);
            best_d = d;
        }
    }
    *dist = best_d;
    return best;
}

static void list_sections(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < N_SECTIONS && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", sections[i]);
}

static void list_keys(const char *section, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < N_KEYS && used < len; i++)
        if (!strcmp(keys[i].section, section))
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", keys[i].key);
}

static int unknown_section(const char *section, const char *origin, int line, char *err, size_t len)
{
    char all[256];
    list_sections(all, sizeof all);
    int best = -1, best_d = 1 << 30;
    for (int i = 0; i < N_SECTIONS; i++) {
        int d = edit_distance(section, sections[i]);
        if (d < best_d) {
            best = i;
            best_d = d;
        }
    }
    if (best >= 0 && close_enough(section, best_d))
        return fail(err, len, origin, line,
                    "unknown section [%s]; did you mean [%s]? (sections: %s)", section,
                    sections[best], all);
    return fail(err, len, origin, line, "unknown section [%s] (sections: %s)", section, all);
}

static int unknown_key(const char *section, const char *key, const char *origin, int line,
                       char *err, size_t len)
{
    char known[512];
    list_keys(section, known, sizeof known);
    int d_here, d_any;
    int here = nearest_key(key, section, 0, &d_here);
    int any = nearest_key(key, NULL, 0, &d_any);
    /* A key of another section wins only when it is strictly closer. */
    if (any >= 0 && d_any < d_here && close_enough(key, d_any))
        return fail(err, len, origin, line,
                    "unknown key '%s' in [%s]; did you mean '%s.%s'? (keys of [%s]: %s)", key,
                    section, keys[any].section, keys[any].key, section, known);
    if (here >= 0 && close_enough(key, d_here))
        return fail(err, len, origin, line,
                    "unknown key '%s' in [%s]; did you mean '%s'? (keys of [%s]: %s)", key, section,
                    keys[here].key, section, known);
    return fail(err, len, origin, line, "unknown key '%s' in [%s] (keys of [%s]: %s)", key, section,
                section, known);
}

static int unknown_sweep_key(const char *dotted, const char *origin, int line, char *err,
                             size_t len)
{
    int dist;
    int best = nearest_key(dotted, NULL, strchr(dotted, '.') != NULL, &dist);
    if (best >= 0 && close_enough(dotted, dist))
        return fail(err, len, origin, line,
                    "unknown sweep key '%s'; did you mean '%s.%s'? (a sweep key is "
                    "section.key, e.g. optim.lr = 0.1, 0.2)",
                    dotted, keys[best].section, keys[best].key);
    return fail(err, len, origin, line,
                "unknown sweep key '%s' (a sweep key is section.key, e.g. optim.lr = 0.1, 0.2)",
                dotted);
}

static void format_bound(const struct key_desc *d, double v, char *buf, size_t len)
{
    if (d->type == T_DOUBLE)
        snprintf(buf, len, "%g", v);
    else
        snprintf(buf, len, "%.0f", v);
}

/* "must be > 0 and <= 1e+06" */
static void describe_range(const struct key_desc *d, char *buf, size_t len)
{
    char lo[32], hi[32];
    format_bound(d, d->min, lo, sizeof lo);
    format_bound(d, d->max, hi, sizeof hi);
    snprintf(buf, len, "must be %s %s and %s %s", d->min_open ? ">" : ">=", lo,
             d->max_open ? "<" : "<=", hi);
}

static void list_names(const char *const *names, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; names[i] && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", names[i]);
}

static int in_range(const struct key_desc *d, double v)
{
    /* Written so that NaN fails both tests. */
    int lo_ok = d->min_open ? v > d->min : v >= d->min;
    int hi_ok = d->max_open ? v < d->max : v <= d->max;
    return lo_ok && hi_ok;
}

/* Digits, sign, point and exponent only: rules out hex, inf and nan, which
 * strtod would otherwise accept. */
static int number_chars_only(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s) && !strchr("+-.eE", *s))
            return 0;
    return 1;
}

enum number_status { NUM_OK, NUM_NOT_NUMBER, NUM_NOT_INTEGER, NUM_TOO_LARGE };

static enum number_status parse_double(const char *s, double *out)
{
    if (!number_chars_only(s))
        return NUM_NOT_NUMBER;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end)
        return NUM_NOT_NUMBER;
    /* Overflow gives inf; underflow gives a tiny or zero value that the
     * range check then judges. */
    if (!isfinite(v))
        return NUM_TOO_LARGE;
    *out = v;
    return NUM_OK;
}

/* Integers, also written as 1e5 when that is an exact integer. */
static enum number_status parse_integer(const char *s, long *out)
{
    if (!number_chars_only(s))
        return NUM_NOT_NUMBER;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end != s && !*end) {
        if (errno == ERANGE)
            return NUM_TOO_LARGE;
        *out = v;
        return NUM_OK;
    }
    double x;
    enum number_status st = parse_double(s, &x);
    if (st != NUM_OK)
        return st;
    if (x != floor(x))
        return NUM_NOT_INTEGER;
    if (fabs(x) > 9e18)
        return NUM_TOO_LARGE;
    *out = (long)x;
    return NUM_OK;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i])) {
            *out = 1;
            return 0;
        }
        if (!strcasecmp(s, no[i])) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* A string that survives being written to INI and read back unchanged. */
static const char *string_problem(const struct key_desc *d, const char *s)
{
    if (d->ident) {
        if (!*s)
            return "must not be empty";
        for (const char *p = s; *p; p++)
            if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
                return "may contain only letters, digits, '_', '.' and '-'";
        return NULL;
    }
    for (const char *p = s; *p; p++) {
        if (iscntrl((unsigned char)*p))
            return "must not contain control characters";
        if (*p == ';' || *p == '#')
            return "must not contain ';' or '#' (they start INI comments)";
    }
    if (*s && (isspace((unsigned char)s[0]) || isspace((unsigned char)s[strlen(s) - 1])))
        return "must not start or end with a space";
    return NULL;
}

/* Parse `text` (already trimmed) as the value of key d and store it in c.
 * Every per-key rule lives here. */
static int set_value(const struct key_desc *d, struct bl_config *c, const char *text,
                     const char *origin, int line, char *err, size_t len)
{
    char allowed[256];
    void *dst = field(d, c);

    if (d->type == T_INT || d->type == T_LONG || d->type == T_DOUBLE)
        describe_range(d, allowed, sizeof allowed);
    else if (d->type == T_ENUM)
        list_names(d->names, allowed, sizeof allowed);

    switch (d->type) {
    case T_INT:
    case T_LONG: {
        long v = 0;
        enum number_status st = parse_integer(text, &v);
        if (st == NUM_NOT_NUMBER && !*text)
            return fail(err, len, origin, line, "%s.%s has no value; it %s", d->section, d->key,
                        allowed);
        if (st == NUM_NOT_NUMBER || st == NUM_NOT_INTEGER)
            return fail(err, len, origin, line, "%s.%s = %s is not an integer (it %s)", d->section,
                        d->key, text, allowed);
        if (st == NUM_TOO_LARGE || !in_range(d, (double)v))
            return fail(err, len, origin, line, "%s.%s = %s is out of range: %s", d->section,
                        d->key, text, allowed);
        if (d->type == T_INT)
            *(int *)dst = (int)v;
        else
            *(long *)dst = v;
        return 0;
    }
    case T_DOUBLE: {
        double v = 0;
        enum number_status st = parse_double(text, &v);
        if (st == NUM_NOT_NUMBER && !*text)
            return fail(err, len, origin, line, "%s.%s has no value; it %s", d->section, d->key,
                        allowed);
        if (st == NUM_NOT_NUMBER)
            return fail(err, len, origin, line, "%s.%s = %s is not a finite number (it %s)",
                        d->section, d->key, text, allowed);
        if (st == NUM_TOO_LARGE || !in_range(d, v))
            return fail(err, len, origin, line, "%s.%s = %s is out of range: %s", d->section,
                        d->key, text, allowed);
        *(double *)dst = v;
        return 0;
    }
    case T_BOOL: {
        int v;
        if (parse_bool(text, &v))
            return fail(err, len, origin, line,
                        "%s.%s = %s is not allowed: use true or false (or yes/no, on/off, 1/0)",
                        d->section, d->key, text);
        *(int *)dst = v;
        return 0;
    }
    case T_ENUM:
        for (int i = 0; d->names[i]; i++) {
            if (!strcmp(text, d->names[i])) {
                *(int *)dst = i;
                return 0;
            }
        }
        return fail(err, len, origin, line, "%s.%s = %s is not allowed: use one of %s", d->section,
                    d->key, text, allowed);
    case T_STRING: {
        size_t n = strlen(text);
        if (n >= d->size)
            return fail(err, len, origin, line,
                        "%s.%s = %.40s... is too long (at most %zu characters)", d->section, d->key,
                        text, d->size - 1);
        const char *why = string_problem(d, text);
        if (why)
            return fail(err, len, origin, line, "%s.%s = '%s' is not allowed: it %s", d->section,
                        d->key, text, why);
        /* Zero the whole buffer so configs compare equal byte for byte. */
        memset(dst, 0, d->size);
        memcpy(dst, text, n);
        return 0;
    }
    }
    return fail(err, len, origin, line, "%s.%s: internal error: unknown key type", d->section,
                d->key);
}

/* Shortest of %.15g..%.17g that reads back to the same bits: exact, and
 * "0.1" stays readable instead of becoming 0.10000000000000001. */
static void format_double(double v, char *buf, size_t len)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* The value of key d in c, as INI text that set_value reads back exactly. */
static void format_value(const struct key_desc *d, const struct bl_config *c, char *buf, size_t len)
{
    const void *src = cfield(d, c);
    switch (d->type) {
    case T_INT:
        snprintf(buf, len, "%d", *(const int *)src);
        return;
    case T_LONG:
        snprintf(buf, len, "%ld", *(const long *)src);
        return;
    case T_DOUBLE:
        format_double(*(const double *)src, buf, len);
        return;
    case T_BOOL:
        snprintf(buf, len, "%s", *(const int *)src ? "true" : "false");
        return;
    case T_ENUM: {
        int v = *(const int *)src, n = 0;
        while (d->names[n])
            n++;
        if (v >= 0 && v < n)
            snprintf(buf, len, "%s", d->names[v]);
        else
            snprintf(buf, len, "%d", v);
        return;
    }
    case T_STRING:
        snprintf(buf, len, "%s", (const char *)src);
        return;
    }
    buf[0] = '\0';
}

/* A struct field that does not satisfy its key's rules (for configs built
 * or changed in code rather than parsed). */
static int check_field(const struct key_desc *d, const struct bl_config *c, char *msg, size_t len)
{
    char text[VALUE_TEXT_MAX], allowed[256];
    const void *src = cfield(d, c);
    double v;
    switch (d->type) {
    case T_INT:
        v = *(const int *)src;
        break;
    case T_LONG:
        v = (double)*(const long *)src;
        break;
    case T_DOUBLE:
        v = *(const double *)src;
        break;
    case T_BOOL: {
        int b = *(const int *)src;
        if (b != 0 && b != 1)
            return fail(msg, len, NULL, 0, "%s.%s = %d is not a boolean", d->section, d->key, b);
        return 0;
    }
    case T_ENUM: {
        int e = *(const int *)src, n = 0;
        while (d->names[n])
            n++;
        if (e < 0 || e >= n) {
            list_names(d->names, allowed, sizeof allowed);
            return fail(msg, len, NULL, 0, "%s.%s = %d is not allowed: use one of %s", d->section,
                        d->key, e, allowed);
        }
        return 0;
    }
    case T_STRING: {
        const char *s = src;
        if (!memchr(s, '\0', d->size))
            return fail(msg, len, NULL, 0, "%s.%s is not terminated", d->section, d->key);
        const char *why = string_problem(d, s);
        if (why)
            return fail(msg, len, NULL, 0, "%s.%s = '%s' is not allowed: it %s", d->section, d->key,
                        s, why);
        return 0;
    }
    default:
        return 0;
    }
    if (!in_range(d, v)) {
        format_value(d, c, text, sizeof text);
        describe_range(d, allowed, sizeof allowed);
        return fail(msg, len, NULL, 0, "%s.%s = %s is out of range: %s", d->section, d->key, text,
                    allowed);
    }
    return 0;
}

/* Cross-key rules. On failure writes the message (without a location) and
 * the keys involved (indices in keys[], -1 for unused) so that the caller
 * can say where they were set. */
/* What index data decide for the rest of the config: matrix_completion's
 * sizes follow from data.size and data.observed (n_train = round(observed
 * d^2), at least 1 and at most d^2 - 1; every other entry tests), each
 * example is an index pair (dim 2) with one real target, and the model sees
 * indices in [0, d). Run after every change of a key, so the printed config
 * holds the values used. */
static void derive_index_data(struct bl_config *c)
{
    struct bl_data_cfg *d = &c->data;
    c->model.index_range = 0;
    if (d->kind != BL_DATA_MATRIX_COMPLETION) {
        if (d->kind != BL_DATA_NETCDF && d->kind != BL_DATA_FASHION_MNIST)
            d->targets = 0; /* synthetic labels; a file's targets come from bl_data_shape */
        return;
    }
    long entries = (long)d->size * d->size;
    long n = lround(d->observed * (double)entries);
    d->n_train = (int)(n < 1 ? 1 : n > entries - 1 ? entries - 1 : n);
    d->n_test = (int)(entries - d->n_train);
    d->dim = 2;
    d->targets = 1;
    c->model.index_range = d->size;
}

static int cross_check(const struct bl_config *c, char *msg, size_t len, int involved[3])
{
    involved[0] = involved[1] = involved[2] = -1;
    for (int i = 0; i < N_KEYS; i++) {
        if (check_field(&keys[i], c, msg, len)) {
            involved[0] = i;
            return -1;
        }
    }

    const struct bl_data_cfg *data = &c->data;
    const char *data_kind = data_kinds[data->kind];
    if (c->model.kind == BL_MODEL_MLP && c->model.depth < 2) {
        involved[0] = find_key("model", "kind");
        involved[1] = find_key("model", "depth");
        return fail(msg, len, NULL, 0,
                    "model.kind = mlp needs model.depth >= 2 (got %d); set depth = 2 or more, "
                    "or use model.kind = linear for a single layer",
                    c->model.depth);
    }
    if (c->measure.noise != BL_NOISE_NONE &&
        (c->model.kind == BL_MODEL_QUADRATIC || c->model.kind == BL_MODEL_NOISY_QUADRATIC)) {
        involved[0] = find_key("measure", "noise");
        involved[1] = find_key("model", "kind");
        return fail(msg, len, NULL, 0,
                    "measure.noise = %s needs a model trained on examples (got model.kind = "
                    "%s, which has no per-example gradients; noisy_quadratic's noise is "
                    "model.noise / sqrt(batch_size) per coordinate by construction)",
                    noise_methods[c->measure.noise], model_kinds[c->model.kind]);
    }
    if (c->model.normalize && c->model.kind != BL_MODEL_MLP) {
        involved[0] = find_key("model", "kind");
        involved[1] = find_key("model", "normalize");
        return fail(msg, len, NULL, 0,
                    "model.normalize = true needs model.kind = mlp (got %s; it normalizes "
                    "hidden layers)",
                    model_kinds[c->model.kind]);
    }
    if (!c->model.train_last && c->model.kind != BL_MODEL_MLP) {
        /* a linear model's only layer is its last: fixing it trains nothing */
        involved[0] = find_key("model", "kind");
        involved[1] = find_key("model", "train_last");
        return fail(msg, len, NULL, 0,
                    "model.train_last = false needs model.kind = mlp (got %s: %s, so nothing "
                    "would be trained)",
                    model_kinds[c->model.kind],
                    c->model.kind == BL_MODEL_LINEAR        ? "its only layer is the last"
                    : c->model.kind == BL_MODEL_DIAG_LINEAR ? "u and v are both its last layer"
                    : c->model.kind == BL_MODEL_PAIR_MLP
                        ? "a pair_mlp trains both layers; model.last_zero = true starts the "
                          "second at zero"
                        : "it has no layers");
    }
    /* pair_mlp reads token pairs, which only modular_add provides, and the
     * other models read dense rows, which modular_add does not have */
    if ((c->model.kind == BL_MODEL_PAIR_MLP) != (data->kind == BL_DATA_MODULAR_ADD)) {
        involved[0] = find_key("model", "kind");
        involved[1] = find_key("data", "kind");
        return fail(msg, len, NULL, 0,
                    c->model.kind == BL_MODEL_PAIR_MLP
                        ? "model.kind = pair_mlp reads a pair of tokens (a, b) per example: it "
                          "needs data.kind = modular_add (got %s)"
                        : "data.kind = modular_add gives token pairs (a, b), not feature rows: "
                          "it needs model.kind = pair_mlp (got %s)",
                    c->model.kind == BL_MODEL_PAIR_MLP ? data_kind
                                                       : model_kinds[c->model.kind]);
    }
    if (c->model.kind == BL_MODEL_PAIR_MLP && (c->model.depth != 2 || c->model.normalize)) {
        involved[0] = find_key("model", "kind");
        involved[1] = find_key("model", c->model.normalize ? "normalize" : "depth");
        return fail(msg, len, NULL, 0,
                    c->model.normalize
                        ? "model.normalize = true is for model.kind = mlp; a pair_mlp has no "
                          "normalization layer"
                        : "model.kind = pair_mlp has exactly two weight layers, so model.depth "
                          "must be 2 (got %d)",
                    c->model.depth);
    }
    if (c->model.last_zero && c->model.kind != BL_MODEL_PAIR_MLP) {
        involved[0] = find_key("model", "last_zero");
        involved[1] = find_key("model", "kind");
        return fail(msg, len, NULL, 0,
                    "model.last_zero = true needs model.kind = pair_mlp (got %s)",
                    model_kinds[c->model.kind]);
    }
    if ((data->kind == BL_DATA_SEPARABLE || data->kind == BL_DATA_SYMMETRIC ||
         data->kind == BL_DATA_ASYMMETRIC || data->kind == BL_DATA_SPARSE_SIGN ||
         data->kind == BL_DATA_MISGROK) &&
        data->classes != 2) {
        involved[0] = find_key("data", "kind");
        involved[1] = find_key("data", "classes");
        return fail(msg, len, NULL, 0,
                    "data.kind = %s needs data.classes = 2 (got %d); use data.kind = clusters "
                    "for %d classes",
                    data_kind, data->classes, data->classes);
    }
    if (data->kind == BL_DATA_SPARSE_SIGN &&
        (data->sparsity % 2 == 0 || data->sparsity > data->dim)) {
        int even = data->sparsity % 2 == 0;
        involved[0] = find_key("data", "sparsity");
        involved[1] = find_key("data", even ? "kind" : "dim");
        return fail(msg, len, NULL, 0,
                    even ? "data.kind = sparse_sign needs an odd data.sparsity (got %d): the "
                           "label is the sign of a sum of k entries +-1, which is 0 for some "
                           "inputs when k is even"
                         : "data.sparsity = %d is larger than data.dim = %d: w* has k nonzero "
                           "coordinates among dim",
                    data->sparsity, data->dim);
    }
    if (c->model.kind == BL_MODEL_DIAG_LINEAR &&
        (c->loss.kind == BL_LOSS_CROSS_ENTROPY || (data->targets == 0 && data->classes != 2) ||
         data->targets > 1)) {
        involved[0] = find_key("model", "kind");
        involved[1] = find_key(c->loss.kind == BL_LOSS_CROSS_ENTROPY ? "loss" : "data",
                               c->loss.kind == BL_LOSS_CROSS_ENTROPY ? "kind" : "classes");
        return fail(msg, len, NULL, 0,
                    "model.kind = diag_linear has one output: it needs two classes with loss "
                    "logistic, exponential or squared, or one regression target (got %s loss, "
                    "%d classes)",
                    loss_kinds[c->loss.kind], data->classes);
    }
    if ((data->kind == BL_DATA_MATRIX_COMPLETION) != (c->model.kind == BL_MODEL_FACTORIZATION)) {
        involved[0] = find_key("data", "kind");
        involved[1] = find_key("model", "kind");
        return fail(msg, len, NULL, 0,
                    data->kind == BL_DATA_MATRIX_COMPLETION
                        ? "data.kind = matrix_completion gives index pairs (i, j), not feature "
                          "rows: it needs model.kind = factorization (got %s)"
                        : "model.kind = factorization reads index pairs (i, j): it needs "
                          "data.kind = matrix_completion (got %s)",
                    data->kind == BL_DATA_MATRIX_COMPLETION ? model_kinds[c->model.kind]
                                                            : data_kind);
    }
    if (data->kind == BL_DATA_MATRIX_COMPLETION && c->loss.kind != BL_LOSS_SQUARED) {
        involved[0] = find_key("data", "kind");
        involved[1] = find_key("loss", "kind");
        return fail(msg, len, NULL, 0,
                    "data.kind = matrix_completion has real-valued targets (the entries i j / "
                    "d^2): it needs loss.kind = squared (got %s)",
                    loss_kinds[c->loss.kind]);
    }
    if (data->targets > 0 && c->loss.kind != BL_LOSS_SQUARED) {
        involved[0] = find_key("loss", "kind");
        involved[1] = find_key("data", "path");
        return fail(msg, len, NULL, 0,
                    "loss.kind = %s needs class labels, but '%s' holds real-valued targets "
                    "(variable 'target'): use loss.kind = squared for regression",
                    loss_kinds[c->loss.kind], data->path);
    }
    if ((c->loss.kind == BL_LOSS_LOGISTIC || c->loss.kind == BL_LOSS_EXPONENTIAL) &&
        data->classes != 2 && data->targets == 0) {
        involved[0] = find_key("loss", "kind");
        involved[1] = find_key("data", "classes");
        return fail(msg, len, NULL, 0,
                    "loss.kind = %s needs data.classes = 2; use cross_entropy for %d classes",
                    loss_kinds[c->loss.kind], data->classes);
    }
    if (data->kind == BL_DATA_ASYMMETRIC && (data->dim < 2 || data->n_train < 16)) {
        int few = data->n_train < 16;
        involved[0] = find_key("data", "kind");
        involved[1] = find_key("data", few ? "n_train" : "dim");
        return fail(msg, len, NULL, 0,
                    few ? "data.kind = asymmetric needs data.n_train >= 16 (got %d): its examples "
                          "cycle through 16 slots (10 angled positives, 1 far positive, 5 "
                          "negatives)"
                        : "data.kind = asymmetric needs data.dim >= 2 (got %d): its examples lie "
                          "in a plane",
                    few ? data->n_train : data->dim);
    }
    if (data->kind == BL_DATA_SYMMETRIC && (data->n_train % 2 || data->n_test % 2)) {
        int odd_train = data->n_train % 2 != 0;
        involved[0] = find_key("data", "kind");
        involved[1] = find_key("data", odd_train ? "n_train" : "n_test");
        return fail(msg, len, NULL, 0,
                    "data.kind = symmetric needs an even data.%s (got %d): its examples come "
                    "in pairs (x,y), (-x,-y)",
                    odd_train ? "n_train" : "n_test", odd_train ? data->n_train : data->n_test);
    }
    if (c->optim.kind == BL_OPT_GD && c->optim.batch_size != 0 &&
        c->optim.batch_size != data->n_train) {
        involved[0] = find_key("optim", "kind");
        involved[1] = find_key("optim", "batch_size");
        involved[2] = find_key("data", "n_train");
        return fail(msg, len, NULL, 0,
                    "optim.kind = gd uses the full batch, so optim.batch_size must be 0 or "
                    "data.n_train = %d (got %d); use optim.kind = sgd for mini-batches",
                    data->n_train, c->optim.batch_size);
    }
    if (c->model.kind == BL_MODEL_NOISY_QUADRATIC && c->optim.batch_size < 1) {
        involved[0] = find_key("model", "kind");
        involved[1] = find_key("optim", "batch_size");
        return fail(msg, len, NULL, 0,
                    "model.kind = noisy_quadratic needs optim.batch_size >= 1 (its gradient noise "
                    "has standard deviation model.noise / sqrt(batch_size)) and a mini-batch "
                    "optim.kind (not gd)");
    }
    if (c->optim.batch_size > data->n_train) {
        involved[0] = find_key("optim", "batch_size");
        involved[1] = find_key("data", "n_train");
        return fail(msg, len, NULL, 0,
                    "optim.batch_size = %d is larger than data.n_train = %d; lower batch_size "
                    "or use 0 for the full batch",
                    c->optim.batch_size, data->n_train);
    }
    /* the output's seed coordinate is an int */
    if ((long)c->experiment.first_seed + c->experiment.seeds - 1 > 2147483647L) {
        involved[0] = find_key("experiment", "first_seed");
        involved[1] = find_key("experiment", "seeds");
        return fail(msg, len, NULL, 0,
                    "experiment.first_seed = %d with experiment.seeds = %d goes past seed "
                    "2147483647, the largest seed; lower first_seed to at most %ld",
                    c->experiment.first_seed, c->experiment.seeds,
                    2147483647L - c->experiment.seeds + 1);
    }
    /* as bl_record_count: step 0, every `every` steps, and the last step */
    long steps = c->optim.steps, every = c->measure.every;
    long records = steps / every + 1 + (steps % every != 0);
    /* log spacing makes at most per_decade x 12 + 2 records: far below the cap */
    if (c->measure.spacing == BL_SPACING_LINEAR && records > BL_MAX_RECORDS) {
        involved[0] = find_key("optim", "steps");
        involved[1] = find_key("measure", "every");
        return fail(msg, len, NULL, 0,
                    "optim.steps = %ld with measure.every = %ld makes %ld records per task, "
                    "more than the %ld allowed (every task keeps each metric's records in "
                    "memory); raise measure.every to at least %ld",
                    steps, every, records, BL_MAX_RECORDS,
                    (steps + BL_MAX_RECORDS - 3) / (BL_MAX_RECORDS - 2));
    }
    if (data->n_train < c->parallel.group_size) {
        involved[0] = find_key("data", "n_train");
        involved[1] = find_key("parallel", "group_size");
        return fail(msg, len, NULL, 0,
                    "data.n_train = %d is smaller than parallel.group_size = %d: every rank of "
                    "a group needs at least one example; raise n_train or lower group_size",
                    data->n_train, c->parallel.group_size);
    }
    return 0;
}

/* Copy of s without surrounding whitespace (caller frees), or NULL. */
static char *trimmed_copy(const char *s, size_t n)
{
    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

static long long sweep_points_with(const struct bl_config *cfg, int replace_slot, int n_values)
{
    long long total = 1;
    for (int i = 0; i < cfg->n_sweep; i++)
        total *= i == replace_slot ? n_values : cfg->sweep[i].n_values;
    if (replace_slot < 0)
        total *= n_values;
    return total;
}

/* [sweep] section.key = v1, v2, ...: checks every value and adds or
 * replaces the sweep over that key. */
static int set_sweep(struct bl_config *cfg, const char *dotted, const char *list,
                     const char *origin, int line, char *err, size_t len)
{
    int k = find_dotted(dotted);
    if (k < 0)
        return unknown_sweep_key(dotted, origin, line, err, len);
    const struct key_desc *d = &keys[k];
    if (!sweepable(d))
        return fail(err, len, origin, line,
                    "%s.%s cannot be swept: [experiment] and [parallel] describe the run, not "
                    "a point (sweep keys of [data], [model], [loss], [optim] or [measure])",
                    d->section, d->key);
    if (!*list)
        return fail(err, len, origin, line,
                    "sweep.%s.%s has no values; list them separated by commas, e.g. %s.%s = "
                    "%s, ...",
                    d->section, d->key, d->section, d->key, d->def);

    struct bl_sweep_key *entry = calloc(1, sizeof *entry);
    struct bl_config *scratch = malloc(sizeof *scratch);
    char(*canon)[SWEEP_TEXT_MAX] = calloc(BL_MAX_SWEEP_VALUES, SWEEP_TEXT_MAX);
    int rc = 0;
    if (!entry || !scratch || !canon) {
        rc = fail(err, len, origin, line, "out of memory reading sweep.%s", dotted);
        goto done;
    }
    snprintf(entry->key, sizeof entry->key, "%s.%s", d->section, d->key);
    *scratch = *cfg;

    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char *value = trimmed_copy(p, n);
        if (!value) {
            rc = fail(err, len, origin, line, "out of memory reading sweep.%s", dotted);
            goto done;
        }
        if (!*value)
            rc = fail(err, len, origin, line,
                      "sweep.%s has an empty value (values are separated by commas)", entry->key);
        else if (entry->n_values == BL_MAX_SWEEP_VALUES)
            rc = fail(err, len, origin, line, "sweep.%s has more than %d values", entry->key,
                      BL_MAX_SWEEP_VALUES);
        else if (strlen(value) >= BL_NAME_MAX)
            rc = fail(err, len, origin, line, "sweep.%s: value '%.40s...' is too long", entry->key,
                      value);
        else
            rc = set_value(d, scratch, value, origin, line, err, len);
        if (!rc) {
            int i = entry->n_values;
            format_value(d, scratch, canon[i], SWEEP_TEXT_MAX);
            for (int j = 0; j < i && !rc; j++)
                if (!strcmp(canon[j], canon[i]))
                    rc = fail(err, len, origin, line,
                              "sweep.%s lists the value %s twice (as '%s' and '%s')", entry->key,
                              canon[i], entry->values[j], value);
            if (!rc) {
                memcpy(entry->values[i], value, strlen(value) + 1);
                entry->n_values++;
            }
        }
        free(value);
        if (rc)
            goto done;
        if (!comma)
            break;
        p = comma + 1;
    }

    int slot = sweep_slot(cfg, k);
    if (slot < 0 && cfg->n_sweep == BL_MAX_SWEEP_KEYS) {
        rc = fail(err, len, origin, line, "too many sweep keys: at most %d (adding sweep.%s)",
                  BL_MAX_SWEEP_KEYS, entry->key);
        goto done;
    }
    long long total = sweep_points_with(cfg, slot, entry->n_values);
    if (total > BL_MAX_SWEEP_POINTS) {
        rc = fail(err, len, origin, line,
                  "the sweep would have %lld points with sweep.%s; at most %ld", total, entry->key,
                  BL_MAX_SWEEP_POINTS);
        goto done;
    }
    if (slot < 0)
        slot = cfg->n_sweep++;
    cfg->sweep[slot] = *entry;

done:
    free(entry);
    free(scratch);
    free(canon);
    return rc;
}

void bl_config_defaults(struct bl_config *cfg)
{
    /* Zeroed first so padding and string tails compare equal too. */
    memset(cfg, 0, sizeof *cfg);
    for (int i = 0; i < N_KEYS; i++) {
        const struct key_desc *d = &keys[i];
        size_t want = d->type == T_LONG     ? sizeof(long)
                      : d->type == T_DOUBLE ? sizeof(double)
                      : d->type == T_STRING ? d->size
                                            : sizeof(int);
        if (d->size != want)
            bl_fatal_at(__FILE__, __LINE__, "config key %s.%s: field size %zu, type needs %zu",
                        d->section, d->key, d->size, want);
        char err[BL_ERR_MAX];
        if (set_value(d, cfg, d->def, "defaults", 0, err, sizeof err))
            bl_fatal_at(__FILE__, __LINE__, "bad default: %s", err);
    }
    derive_index_data(cfg);
}

int bl_config_set(struct bl_config *cfg, const char *section, const char *key, const char *value,
                  const char *origin, int line, char *err, size_t err_len)
{
    if (!origin)
        origin = "config";
    if (!value)
        value = "";
    char *text = trimmed_copy(value, strlen(value));
    if (!text)
        return fail(err, err_len, origin, line, "out of memory");
    int rc;
    if (!strcmp(section, "sweep")) {
        rc = set_sweep(cfg, key, text, origin, line, err, err_len);
    } else if (!section_known(section)) {
        rc = unknown_section(section, origin, line, err, err_len);
    } else {
        int k = find_key(section, key);
        rc = k < 0 ? unknown_key(section, key, origin, line, err, err_len)
                   : set_value(&keys[k], cfg, text, origin, line, err, err_len);
        /* a data file's sizes are its own unless these are given */
        if (rc == 0 && !strcmp(section, "data") && !strcmp(key, "n_train"))
            cfg->data.n_train_given = 1;
        if (rc == 0 && !strcmp(section, "data") && !strcmp(key, "n_test"))
            cfg->data.n_test_given = 1;
        if (rc == 0)
            derive_index_data(cfg);
    }
    free(text);
    return rc;
}

int bl_config_validate(const struct bl_config *cfg, char *err, size_t err_len)
{
    char msg[BL_ERR_MAX];
    int involved[3];
    if (cross_check(cfg, msg, sizeof msg, involved))
        return fail(err, err_len, cfg->source_path[0] ? cfg->source_path : "config", 0, "%s", msg);
    return 0;
}

long bl_config_n_points(const struct bl_config *cfg)
{
    return (long)sweep_points_with(cfg, -1, 1);
}

long long bl_config_n_tasks(const struct bl_config *cfg)
{
    /* points are at most 64^8 = 2^48 here, seeds any int in a config built
     * in code: saturate rather than wrap */
    long long points = sweep_points_with(cfg, -1, 1), seeds = cfg->experiment.seeds;
    return seeds > 0 && points > LLONG_MAX / seeds ? LLONG_MAX : points * seeds;
}

int bl_config_sweep_index(const struct bl_config *cfg, int point, int k)
{
    /* The last key varies fastest, like C array indices. */
    int stride = 1;
    for (int j = cfg->n_sweep - 1; j > k; j--)
        stride *= cfg->sweep[j].n_values;
    return (point / stride) % cfg->sweep[k].n_values;
}

/* "model.width = 16, optim.lr = 0.2" */
static void describe_point(const struct bl_config *base, int point, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < base->n_sweep && used < len; k++)
        used +=
            (size_t)snprintf(buf + used, len - used, "%s%s = %s", k ? ", " : "", base->sweep[k].key,
                             base->sweep[k].values[bl_config_sweep_index(base, point, k)]);
}

/* Turn c (a copy of base) into sweep point `point`: the swept sections come
 * from base, then each sweep value is applied, then model.depth resolved.
 * [experiment] and [parallel] are never swept, so they are left alone. */
/* n * num / den when that is a whole number (0 when not), without overflow */
static long gcd(long a, long b)
{
    while (b) {
        long r = a % b;
        a = b;
        b = r;
    }
    return a;
}

static long scaled_count(long n, long num, long den)
{
    long a = gcd(num, den);
    long num_g = num / a, den_g = den / a;
    if (n % den_g || n / den_g > LONG_MAX / num_g)
        return 0;
    return n / den_g * num_g;
}

/* optim.scaling_rule (SCIENCE.md 5, 6): the point's batch size B against the
 * base B0 gives kappa = B / B0; the same epochs take steps / kappa steps,
 * recorded every measure.every / kappa, so records of every point fall at
 * the same examples seen. linear: lr kappa. sqrt: lr sqrt(kappa),
 * 1 - beta -> kappa (1 - beta) for beta1 and beta2, eps / sqrt(kappa). The
 * resolved point has rule none (its INI is a plain config). */
static int resolve_scaling(struct bl_config *c, char *msg, size_t len, int involved[3])
{
    struct bl_optim_cfg *o = &c->optim;
    if (o->scaling_rule == BL_RULE_NONE)
        return 0;
    const char *rule = scaling_rules[o->scaling_rule];
    involved[0] = find_key("optim", "scaling_rule");
    if (c->measure.spacing != BL_SPACING_LINEAR) {
        /* log-spaced records of steps / kappa steps would not fall at the
         * same epochs as the base point's */
        involved[1] = find_key("measure", "spacing");
        return fail(msg, len, NULL, 0,
                    "optim.scaling_rule = %s records every point at the same epochs, which "
                    "needs measure.spacing = linear (got log)",
                    rule);
    }
    int adaptive = o->kind == BL_OPT_RMSPROP || o->kind == BL_OPT_ADAM || o->kind == BL_OPT_ADAMW;
    if (o->scaling_rule == BL_RULE_SQRT && !adaptive) {
        involved[1] = find_key("optim", "kind");
        return fail(msg, len, NULL, 0,
                    "optim.scaling_rule = sqrt is the rule of rmsprop, adam and adamw (got "
                    "optim.kind = %s); SGD's is linear",
                    optim_kinds[o->kind]);
    }
    if (o->base_batch_size < 1 || o->batch_size < 1) {
        involved[1] = find_key("optim", o->base_batch_size < 1 ? "base_batch_size" : "batch_size");
        return fail(msg, len, NULL, 0,
                    "optim.scaling_rule = %s needs optim.base_batch_size >= 1 (the batch size "
                    "optim.lr, beta1, beta2, eps, steps and measure.every are given for) and "
                    "optim.batch_size >= 1 (got %d and %d)",
                    rule, o->base_batch_size, o->batch_size);
    }
    double kappa = (double)o->batch_size / o->base_batch_size;
    long steps = scaled_count(o->steps, o->base_batch_size, o->batch_size);
    long every = scaled_count(c->measure.every, o->base_batch_size, o->batch_size);
    if (!steps || !every) {
        involved[1] = find_key(steps ? "measure" : "optim", steps ? "every" : "steps");
        involved[2] = find_key("optim", "batch_size");
        return fail(msg, len, NULL, 0,
                    "optim.scaling_rule = %s with kappa = %g (batch_size %d / base_batch_size "
                    "%d): %s = %ld at the base batch is not a whole number of steps at this "
                    "batch (%ld x %d / %d); choose %s divisible by %ld",
                    rule, kappa, o->batch_size, o->base_batch_size,
                    steps ? "measure.every" : "optim.steps", steps ? c->measure.every : o->steps,
                    steps ? c->measure.every : o->steps, o->base_batch_size, o->batch_size,
                    steps ? "measure.every" : "optim.steps",
                    (long)o->batch_size / gcd(o->batch_size, o->base_batch_size));
    }
    o->steps = steps;
    c->measure.every = every;
    if (o->scaling_rule == BL_RULE_LINEAR) {
        o->lr *= kappa;
    } else {
        double *beta[2] = {&o->beta1, &o->beta2};
        for (int k = o->kind == BL_OPT_RMSPROP; k < 2; k++) { /* rmsprop has no beta1 */
            double scaled = 1 - kappa * (1 - *beta[k]);
            if (!(scaled > 0)) {
                involved[1] = find_key("optim", k ? "beta2" : "beta1");
                involved[2] = find_key("optim", "batch_size");
                return fail(msg, len, NULL, 0,
                            "optim.scaling_rule = sqrt with kappa = %g makes optim.beta%d = "
                            "1 - kappa (1 - %g) = %g, not in (0, 1): the rule does not reach "
                            "this batch size; lower kappa below %g or raise beta%d",
                            kappa, k + 1, *beta[k], scaled, 1 / (1 - *beta[k]), k + 1);
            }
            *beta[k] = scaled;
        }
        o->lr *= sqrt(kappa);
        o->eps /= sqrt(kappa);
    }
    o->scaling_rule = BL_RULE_NONE;
    involved[0] = involved[1] = involved[2] = -1;
    return 0;
}

/* optim.steps and measure.every times m for optim.<key> = value (SVAG and
 * the SDE substeps: records stay at the same times), refused past 1e12. */
static int more_steps(struct bl_config *c, long m, const char *key, long value, char *msg,
                      size_t len, int involved[3])
{
    if (c->optim.steps > 1000000000000L / m || c->measure.every > 1000000000000L / m) {
        involved[1] = find_key("optim", "steps");
        return fail(msg, len, NULL, 0, "optim.%s = %ld makes optim.steps = %ld x %ld, more than 1e12",
                    key, value, c->optim.steps, m);
    }
    c->optim.steps *= m;
    c->measure.every *= m;
    return 0;
}

/* optim.svag_l = l (SCIENCE.md 5, 6; Li, Malladi, Arora 2021): each step
 * uses two independent batches and the gradient of c1 L_B1 + c2 L_B2 with
 * c1 + c2 = 1 and c1^2 + c2^2 = m (task.c), which multiplies the gradient
 * noise variance by m; sgd: m = l, lr / l, l x the steps; the Adam family
 * (the authors' variant, the sqrt rule at kappa = 1/l^2): m = l^2, lr / l,
 * 1 - beta -> (1 - beta) / l^2, eps l, l^2 x the steps. measure.every grows
 * with the steps, so records fall at the same times. l = 1 changes nothing. */
static int resolve_svag(struct bl_config *c, char *msg, size_t len, int involved[3])
{
    struct bl_optim_cfg *o = &c->optim;
    if (o->svag_l == 1 || o->svag_applied)
        return 0;
    involved[0] = find_key("optim", "svag_l");
    if (c->measure.spacing != BL_SPACING_LINEAR) {
        involved[1] = find_key("measure", "spacing");
        return fail(msg, len, NULL, 0,
                    "optim.svag_l = %d records at the plain optimizer's times, which needs "
                    "measure.spacing = linear (got log)",
                    o->svag_l);
    }
    int adaptive = o->kind == BL_OPT_RMSPROP || o->kind == BL_OPT_ADAM || o->kind == BL_OPT_ADAMW;
    if (!(adaptive || o->kind == BL_OPT_SGD) || o->batch_size < 1 ||
        o->sampling != BL_SAMPLE_WITH_REPLACEMENT || c->model.kind == BL_MODEL_QUADRATIC ||
        c->model.kind == BL_MODEL_NOISY_QUADRATIC) {
        involved[1] = find_key("optim", "kind");
        involved[2] = find_key("optim", "sampling");
        return fail(msg, len, NULL, 0,
                    "optim.svag_l = %d needs optim.kind = sgd, rmsprop, adam or adamw (got %s), "
                    "optim.batch_size >= 1 (got %d), optim.sampling = with_replacement (its two "
                    "batches are independent; got %s) and a model with data (got %s%s)",
                    o->svag_l, optim_kinds[o->kind], o->batch_size, samplings[o->sampling],
                    model_kinds[c->model.kind],
                    c->model.kind == BL_MODEL_NOISY_QUADRATIC
                        ? ": optim.sde_substeps integrates its SDE instead"
                        : "");
    }
    long l = o->svag_l, m = adaptive ? l * l : l;
    if (more_steps(c, m, "svag_l", l, msg, len, involved))
        return -1;
    o->lr /= (double)l;
    if (adaptive) {
        if (o->kind != BL_OPT_RMSPROP)
            o->beta1 = 1 - (1 - o->beta1) / (double)m;
        o->beta2 = 1 - (1 - o->beta2) / (double)m;
        o->eps *= (double)l;
    }
    o->svag_applied = 1;
    involved[0] = involved[1] = involved[2] = -1;
    return 0;
}

/* optim.sde_substeps = m (SCIENCE.md 5-6): SGD's SDE dtheta = -grad f dt +
 * sqrt(lr) sigma_B dW, t = lr x steps, on the noisy quadratic, integrated by
 * Euler-Maruyama with time step lr / m: theta -= (lr / m) (grad f +
 * sqrt(m) sigma_B z), i.e. SGD with lr / m and noise sqrt(m) sigma_B, m x the
 * steps and measure.every (records at the same times t). Its stationary
 * variance lr sigma_B^2 / (h (2 - lr h / m)) tends to the SDE's
 * lr sigma_B^2 / (2 h) as m grows; m = 1 is SGD itself. */
static int resolve_sde(struct bl_config *c, char *msg, size_t len, int involved[3])
{
    struct bl_optim_cfg *o = &c->optim;
    if (o->sde_substeps == 1 || o->sde_applied)
        return 0;
    involved[0] = find_key("optim", "sde_substeps");
    if (o->kind != BL_OPT_SGD || c->model.kind != BL_MODEL_NOISY_QUADRATIC ||
        o->schedule != BL_SCHED_CONSTANT || o->svag_l > 1 ||
        c->measure.spacing != BL_SPACING_LINEAR) {
        involved[1] = find_key("optim", "kind");
        involved[2] = find_key("model", "kind");
        return fail(msg, len, NULL, 0,
                    "optim.sde_substeps = %d integrates SGD's SDE on the noisy quadratic: it "
                    "needs optim.kind = sgd (got %s), model.kind = noisy_quadratic (got %s), "
                    "the constant rate, svag_l = 1 and measure.spacing = linear",
                    o->sde_substeps, optim_kinds[o->kind], model_kinds[c->model.kind]);
    }
    long m = o->sde_substeps;
    if (more_steps(c, m, "sde_substeps", m, msg, len, involved))
        return -1;
    o->lr /= (double)m;
    c->model.noise *= sqrt((double)m);
    o->sde_applied = 1;
    involved[0] = involved[1] = involved[2] = -1;
    return 0;
}

int bl_config_resolves_points(const struct bl_config *cfg)
{
    int resolved = cfg->optim.scaling_rule != BL_RULE_NONE || cfg->optim.svag_l > 1 ||
                   cfg->optim.sde_substeps > 1;
    for (int k = 0; k < cfg->n_sweep; k++)
        resolved |= !strcmp(cfg->sweep[k].key, "optim.svag_l") ||
                    !strcmp(cfg->sweep[k].key, "optim.sde_substeps");
    return resolved;
}

/* data.kind = modular_add (SCIENCE.md 3): all p^2 pairs, the first
 * round(train_fraction p^2) of a seeded permutation train and the rest
 * test, so n_train and n_test follow from modulus and train_fraction; each
 * example is a token pair (dim 2, the arity models receive) with p classes.
 * Sizes given in the config must agree (a resolved config read back does). */
static int resolve_modular(struct bl_config *c, char *msg, size_t len, int involved[3])
{
    struct bl_data_cfg *d = &c->data;
    if (d->kind != BL_DATA_MODULAR_ADD)
        return 0;
    long pairs = (long)d->modulus * d->modulus;
    long n_train = lround(d->train_fraction * (double)pairs);
    if (n_train < 1) {
        involved[0] = find_key("data", "train_fraction");
        return fail(msg, len, NULL, 0,
                    "data.train_fraction = %g of the %ld pairs of data.modulus = %d trains on "
                    "no pair; raise it to at least %g",
                    d->train_fraction, pairs, d->modulus, 0.5 / (double)pairs);
    }
    int train_off = d->n_train_given && d->n_train != n_train;
    if (train_off || (d->n_test_given && d->n_test != pairs - n_train)) {
        involved[0] = find_key("data", train_off ? "n_train" : "n_test");
        involved[1] = find_key("data", "train_fraction");
        return fail(msg, len, NULL, 0,
                    "data.kind = modular_add trains on round(train_fraction p^2) = %ld of the "
                    "%ld pairs and tests on the other %ld, but data.%s = %d; remove it (it "
                    "follows from data.modulus and data.train_fraction)",
                    n_train, pairs, pairs - n_train, train_off ? "n_train" : "n_test",
                    train_off ? d->n_train : d->n_test);
    }
    d->n_train = (int)n_train;
    d->n_test = (int)(pairs - n_train);
    d->dim = 2;
    d->classes = d->modulus;
    return 0;
}

static int apply_point(struct bl_config *c, const struct bl_config *base, int point, char *msg,
                       size_t len, int involved[3])
{
    involved[0] = involved[1] = involved[2] = -1;
    c->data = base->data;
    c->model = base->model;
    c->loss = base->loss;
    c->optim = base->optim;
    c->measure = base->measure;
    int depth_swept = 0;
    for (int k = 0; k < base->n_sweep; k++) {
        int key = find_dotted(base->sweep[k].key);
        if (key < 0 || !sweepable(&keys[key])) {
            involved[0] = key;
            return fail(msg, len, NULL, 0, "sweep key '%s' cannot be swept", base->sweep[k].key);
        }
        int v = bl_config_sweep_index(base, point, k);
        if (set_value(&keys[key], c, base->sweep[k].values[v], NULL, 0, msg, len)) {
            involved[0] = key;
            return -1;
        }
        if (key == find_key("model", "depth"))
            depth_swept = 1;
    }
    derive_index_data(c);
    /* A linear model has one layer whatever the depth says, unless this
     * point asks for another depth on purpose. */
    if (c->model.kind == BL_MODEL_LINEAR) {
        if (depth_swept && c->model.depth != 1) {
            involved[0] = find_key("model", "kind");
            involved[1] = find_key("model", "depth");
            return fail(msg, len, NULL, 0,
                        "model.depth = %d but model.kind = linear has exactly one weight layer; "
                        "sweep depth only with model.kind = mlp",
                        c->model.depth);
        }
        c->model.depth = 1;
    }
    return resolve_modular(c, msg, len, involved) || resolve_scaling(c, msg, len, involved) ||
           resolve_svag(c, msg, len, involved) || resolve_sde(c, msg, len, involved);
}

int bl_config_for_point(const struct bl_config *base, int point, struct bl_config *out, char *err,
                        size_t err_len)
{
    const char *origin = base->source_path[0] ? base->source_path : "config";
    int n = (int)bl_config_n_points(base);
    if (point < 0 || point >= n)
        return fail(err, err_len, origin, 0, "sweep point %d does not exist: there are %d", point,
                    n);
    char msg[BL_ERR_MAX], what[512];
    int involved[3];
    if (out != base)
        *out = *base;
    if (apply_point(out, base, point, msg, sizeof msg, involved) ||
        cross_check(out, msg, sizeof msg, involved)) {
        describe_point(base, point, what, sizeof what);
        return fail(err, err_len, origin, 0, "sweep point %d of %d (%s): %s", point, n, what, msg);
    }
    /* A point is a plain config: writing it gives a runnable single-point INI. */
    out->n_sweep = 0;
    memset(out->sweep, 0, sizeof out->sweep);
    return 0;
}

struct load_state {
    struct bl_config *cfg;
    const char *path;
    FILE *file;
    int line;               /* lines read so far: the one inih is handling */
    int key_line[N_KEYS];   /* where each key was set: 0 default, -1 --set */
    int sweep_line[N_KEYS]; /* where the sweep over each key was set */
    int failed;             /* the first error is in err; stop reading */
    int fail_line;
    char *err;
    size_t err_len;
};

static void record_failure(struct load_state *st)
{
    st->failed = 1;
    st->fail_line = st->line;
}

/* The line a key's current value comes from: its [sweep] line when swept. */
static int line_of(const struct load_state *st, int k)
{
    return sweep_slot(st->cfg, k) >= 0 ? st->sweep_line[k] : st->key_line[k];
}

/* Where to point the user for an error about these keys: the latest line
 * that set one of them, or --set. */
static int where_of(const struct load_state *st, const int involved[3], const char **origin)
{
    int line = 0;
    *origin = st->path;
    for (int i = 0; i < 3; i++) {
        if (involved[i] < 0)
            continue;
        int l = line_of(st, involved[i]);
        if (l < 0) {
            *origin = "--set";
            return 0;
        }
        if (l > line)
            line = l;
    }
    return line;
}

/* Section headers are checked as they are read, so an unknown section is
 * reported on its own line even when it holds no keys. */
static int check_section_header(struct load_state *st, char *text)
{
    char *s = text;
    if (st->line == 1 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
        (unsigned char)s[2] == 0xBF)
        s += 3;
    while (isspace((unsigned char)*s))
        s++;
    if (*s != '[')
        return 0;
    /* Same rule as inih: an inline comment before ']' means no ']'. */
    char *end = s + 1;
    int was_space = 0;
    while (*end && *end != ']' && !(was_space && strchr(";#", *end))) {
        was_space = isspace((unsigned char)*end);
        end++;
    }
    if (*end != ']')
        return 0; /* inih reports it as a syntax error */
    char name[BL_NAME_MAX];
    size_t n = (size_t)(end - s - 1);
    if (n >= sizeof name)
        n = sizeof name - 1;
    memcpy(name, s + 1, n);
    name[n] = '\0';
    if (section_known(name))
        return 0;
    unknown_section(name, st->path, st->line, st->err, st->err_len);
    record_failure(st);
    return -1;
}

/* fgets for inih that also counts lines (Debian builds inih without line
 * numbers in the handler) and refuses lines too long for its buffer,
 * which inih would otherwise silently split in two. */
static char *read_line(char *buf, int size, void *stream)
{
    struct load_state *st = stream;
    if (st->failed || !fgets(buf, size, st->file))
        return NULL;
    st->line++;
    size_t n = strlen(buf);
    if (n == (size_t)size - 1 && buf[n - 1] != '\n') {
        int c = getc(st->file);
        if (c != EOF) {
            fail(st->err, st->err_len, st->path, st->line, "line is longer than %d characters",
                 size - 2);
            record_failure(st);
            return NULL;
        }
    }
    if (check_section_header(st, buf))
        return NULL;
    return buf;
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
    struct load_state *st = user;
    if (st->failed)
        return 0;
    if (!*section) {
        char all[256];
        list_sections(all, sizeof all);
        fail(st->err, st->err_len, st->path, st->line,
             "key '%s' comes before any [section] (sections: %s)", name, all);
        record_failure(st);
        return 0;
    }
    int is_sweep = !strcmp(section, "sweep");
    int k = is_sweep ? find_dotted(name) : find_key(section, name);
    int *seen = k < 0 ? NULL : is_sweep ? &st->sweep_line[k] : &st->key_line[k];
    if (seen && *seen > 0) {
        fail(st->err, st->err_len, st->path, st->line, "%s%s%s is set twice (first on line %d)",
             is_sweep ? "sweep." : section, is_sweep ? "" : ".", name, *seen);
        record_failure(st);
        return 0;
    }
    if (bl_config_set(st->cfg, section, name, value, st->path, st->line, st->err, st->err_len)) {
        record_failure(st);
        return 0;
    }
    if (seen)
        *seen = st->line;
    return 1;
}

/* A byte a text config never holds: a control character other than tab,
 * CR and LF, or DEL. */
static int control_byte(int c)
{
    return (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f;
}

/* inih reads C strings, so a NUL byte would silently end its line early
 * ("steps = 3\0 00" reads as 3); other control characters mean a binary or
 * damaged file. Refuse them before inih sees the file. */
static int check_bytes(struct load_state *st)
{
    int c, line = 1, column = 0;
    while ((c = getc(st->file)) != EOF) {
        column++;
        if (c == '\n') {
            line++;
            column = 0;
        } else if (control_byte(c)) {
            return fail(st->err, st->err_len, st->path, line,
                        "byte 0x%02x%s at column %d: a config is plain text, and its only "
                        "control characters may be tab, CR and LF",
                        c, c == 0 ? " (NUL)" : c == 0x7f ? " (DEL)" : " (a control character)",
                        column);
        }
    }
    if (ferror(st->file))
        return fail(st->err, st->err_len, NULL, 0, "cannot read config '%s'", st->path);
    rewind(st->file);
    return 0;
}

/* Line `lineno` of f, trimmed, for quoting in a syntax error. */
static void quote_line(FILE *f, int lineno, char *out, size_t len)
{
    out[0] = '\0';
    rewind(f);
    int c, line = 1;
    while (line < lineno && (c = getc(f)) != EOF)
        if (c == '\n')
            line++;
    size_t n = 0;
    while (n + 1 < len && (c = getc(f)) != EOF && c != '\n')
        if (n > 0 || !isspace(c))
            out[n++] = (char)c;
    while (n > 0 && isspace((unsigned char)out[n - 1]))
        n--;
    out[n] = '\0';
}

static int parse_file(struct load_state *st)
{
    st->file = fopen(st->path, "r");
    if (!st->file)
        return fail(st->err, st->err_len, NULL, 0, "cannot open config '%s': %s", st->path,
                    strerror(errno));

    /* Debian's libinih exposes its compile-time options as variables. We
     * want: no multi-line values (an indented key is still a key), # as
     * well as ; for inline comments, long lines (checked by read_line). */
    ini_allow_multiline = false;
    ini_inline_comment_prefixes = ";#";
    ini_start_comment_prefixes = ";#";
    ini_allow_inline_comments = true;
    ini_max_line = MAX_LINE;

    if (check_bytes(st)) {
        fclose(st->file);
        st->file = NULL;
        return -1;
    }
    int rc = ini_parse_stream(read_line, st, on_entry, st);
    int read_error = ferror(st->file);
    int result = 0;
    if (rc > 0 && (!st->failed || rc < st->fail_line)) {
        /* inih's own syntax error, and it came first. */
        char text[120];
        quote_line(st->file, rc, text, sizeof text);
        if (text[0] == '[')
            result = fail(st->err, st->err_len, st->path, rc,
                          "cannot parse '%s': a section header needs a closing ']'", text);
        else
            result = fail(st->err, st->err_len, st->path, rc,
                          "cannot parse '%s': expected key = value, [section] or a comment "
                          "(; or #)",
                          text);
    } else if (st->failed) {
        result = -1;
    } else if (rc == -2) {
        result = fail(st->err, st->err_len, st->path, 0, "out of memory while parsing");
    } else if (read_error) {
        result = fail(st->err, st->err_len, NULL, 0, "cannot read config '%s'", st->path);
    }
    fclose(st->file);
    st->file = NULL;
    return result;
}

static int apply_overrides(struct load_state *st, const char *const *overrides, int n)
{
    for (int i = 0; i < n; i++) {
        const char *o = overrides[i];
        for (size_t j = 0; o[j]; j++)
            if (control_byte((unsigned char)o[j]))
                return fail(st->err, st->err_len, "--set", 0,
                            "'%.*s' is followed by byte 0x%02x (a control character) at "
                            "character %zu; --set takes plain text, with no control "
                            "characters but tab, CR and LF",
                            (int)j, o, (unsigned char)o[j], j + 1);
        const char *eq = strchr(o, '=');
        char *lhs = eq ? trimmed_copy(o, (size_t)(eq - o)) : NULL;
        char *dot = lhs ? strchr(lhs, '.') : NULL;
        if (!dot || dot == lhs || !dot[1]) {
            free(lhs);
            return fail(st->err, st->err_len, NULL, 0, "--set '%s': expected section.key=value", o);
        }
        *dot = '\0';
        const char *section = lhs, *key = dot + 1;
        int is_sweep = !strcmp(section, "sweep");
        int k = is_sweep ? find_dotted(key) : find_key(section, key);
        int rc = 0;
        /* Setting a swept key would silently do nothing: the sweep wins. */
        if (!is_sweep && k >= 0 && sweep_slot(st->cfg, k) >= 0)
            rc = fail(st->err, st->err_len, "--set", 0,
                      "%s.%s is swept in [sweep]; to change its values use --set "
                      "sweep.%s.%s=V1,V2,...",
                      section, key, section, key);
        else
            rc = bl_config_set(st->cfg, section, key, eq + 1, "--set", 0, st->err, st->err_len);
        if (!rc && k >= 0) {
            if (is_sweep)
                st->sweep_line[k] = -1;
            else
                st->key_line[k] = -1;
        }
        free(lhs);
        if (rc)
            return rc;
    }
    return 0;
}

/* model.kind = linear means one layer. When kind is swept, the base depth
 * is the depth of the mlp points and each point resolves its own. */
static int resolve_base(struct load_state *st)
{
    struct bl_config *c = st->cfg;
    int kind = find_key("model", "kind"), depth = find_key("model", "depth");
    if (sweep_slot(c, kind) >= 0 || c->model.kind != BL_MODEL_LINEAR)
        return 0;
    if (c->model.depth != 1 && st->key_line[depth] != 0 && sweep_slot(c, depth) < 0) {
        const char *origin;
        int involved[3] = {kind, depth, -1};
        int line = where_of(st, involved, &origin);
        return fail(st->err, st->err_len, origin, line,
                    "model.depth = %d but model.kind = linear has exactly one weight layer; "
                    "remove depth (or set it to 1), or use model.kind = mlp",
                    c->model.depth);
    }
    c->model.depth = 1;
    return 0;
}

/* Task ids are int: points x seeds must fit one. Checked before the points
 * are validated one by one. */
static int check_task_count(struct load_state *st)
{
    const struct bl_config *c = st->cfg;
    long long tasks = bl_config_n_tasks(c);
    if (tasks <= BL_MAX_TASKS)
        return 0;
    const char *origin;
    int involved[3] = {find_key("experiment", "seeds"),
                       c->n_sweep ? find_dotted(c->sweep[c->n_sweep - 1].key) : -1, -1};
    int line = where_of(st, involved, &origin);
    long points = bl_config_n_points(c);
    return fail(st->err, st->err_len, origin, line,
                "%ld sweep points x experiment.seeds = %d make %lld tasks, more than the %ld a "
                "run can number; use at most %ld seeds with this sweep, or split the sweep into "
                "several experiments",
                points, c->experiment.seeds, tasks, BL_MAX_TASKS, BL_MAX_TASKS / points);
}

/* Every sweep point must be a valid config, not just every value: values
 * of different keys can clash (e.g. classes = 5 with logistic loss). */
static int validate_points(struct load_state *st)
{
    const struct bl_config *base = st->cfg;
    struct bl_config *point = malloc(sizeof *point);
    if (!point)
        return fail(st->err, st->err_len, st->path, 0, "out of memory checking the sweep");
    *point = *base;
    int n = (int)bl_config_n_points(base), rc = 0;
    char msg[BL_ERR_MAX], what[512];
    int involved[3];
    for (int p = 0; p < n && !rc; p++) {
        if (apply_point(point, base, p, msg, sizeof msg, involved) ||
            cross_check(point, msg, sizeof msg, involved)) {
            const char *origin;
            int line = where_of(st, involved, &origin);
            describe_point(base, p, what, sizeof what);
            rc = fail(st->err, st->err_len, origin, line, "sweep point %d of %d (%s): %s", p, n,
                      what, msg);
        }
    }
    free(point);
    return rc;
}

int bl_config_load(const char *path, const char *const *overrides, int n_overrides,
                   struct bl_config *cfg, char *err, size_t err_len)
{
    bl_config_defaults(cfg);
    if (strlen(path) >= sizeof cfg->source_path)
        return fail(err, err_len, NULL, 0, "config path '%.60s...' is too long", path);
    strcpy(cfg->source_path, path);

    struct load_state *st = calloc(1, sizeof *st);
    if (!st)
        return fail(err, err_len, NULL, 0, "out of memory loading '%s'", path);
    st->cfg = cfg;
    st->path = path;
    st->err = err;
    st->err_len = err_len;

    int rc = parse_file(st);
    if (!rc)
        rc = apply_overrides(st, overrides, n_overrides);
    if (!rc)
        rc = resolve_base(st);
    if (!rc) {
        char msg[BL_ERR_MAX];
        int involved[3] = {-1, -1, -1};
        if (resolve_modular(cfg, msg, sizeof msg, involved)) {
            const char *origin;
            int line = where_of(st, involved, &origin);
            rc = fail(err, err_len, origin, line, "%s", msg);
        }
    }
    if (!rc)
        rc = check_task_count(st);
    if (!rc && (cfg->n_sweep > 0 || bl_config_resolves_points(cfg))) {
        rc = validate_points(st);
    } else if (!rc) {
        char msg[BL_ERR_MAX];
        int involved[3];
        if (cross_check(cfg, msg, sizeof msg, involved)) {
            const char *origin;
            int line = where_of(st, involved, &origin);
            rc = fail(err, err_len, origin, line, "%s", msg);
        }
    }
    free(st);
    return rc;
}

void bl_config_write_ini(const struct bl_config *cfg, FILE *out)
{
    char value[VALUE_TEXT_MAX];
    const char *section = NULL;
    for (int i = 0; i < N_KEYS; i++) {
        if (!section || strcmp(section, keys[i].section)) {
            fprintf(out, "%s[%s]\n", section ? "\n" : "", keys[i].section);
            section = keys[i].section;
        }
        format_value(&keys[i], cfg, value, sizeof value);
        /* No trailing space after an empty value (experiment.output). */
        fprintf(out, "%s =%s%s\n", keys[i].key, value[0] ? " " : "", value);
    }
    if (cfg->n_sweep > 0) {
        fprintf(out, "\n[sweep]\n");
        for (int k = 0; k < cfg->n_sweep; k++) {
            fprintf(out, "%s =", cfg->sweep[k].key);
            for (int v = 0; v < cfg->sweep[k].n_values; v++)
                fprintf(out, "%s %s", v ? "," : "", cfg->sweep[k].values[v]);
            fprintf(out, "\n");
        }
    }
}

char *bl_config_ini_string(const struct bl_config *cfg)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return NULL;
    bl_config_write_ini(cfg, f);
    if (fclose(f)) {
        free(buf);
        return NULL;
    }
    return buf;
}

void bl_config_write_reference(FILE *out)
{
    char range[256];
    for (int i = 0; i < N_KEYS; i++) {
        const struct key_desc *d = &keys[i];
        switch (d->type) {
        case T_INT:
        case T_LONG:
            describe_range(d, range, sizeof range);
            fprintf(out, "%s.%s: integer, %s", d->section, d->key, range);
            break;
        case T_DOUBLE:
            describe_range(d, range, sizeof range);
            fprintf(out, "%s.%s: number, %s", d->section, d->key, range);
            break;
        case T_BOOL:
            fprintf(out, "%s.%s: true or false", d->section, d->key);
            break;
        case T_ENUM:
            list_names(d->names, range, sizeof range);
            fprintf(out, "%s.%s: one of %s", d->section, d->key, range);
            break;
        case T_STRING:
            fprintf(out, "%s.%s: text", d->section, d->key);
            break;
        }
        fprintf(out, "; default '%s'\n    %s\n", d->def, d->desc);
    }
}

int bl_config_key_is_numeric(const char *section_dot_key)
{
    int k = find_dotted(section_dot_key);
    return k >= 0 && (keys[k].type == T_INT || keys[k].type == T_LONG || keys[k].type == T_DOUBLE);
}

void bl_config_output_path(const struct bl_config *cfg, char *out, size_t len)
{
    if (cfg->experiment.output[0])
        snprintf(out, len, "%s", cfg->experiment.output);
    else
        snprintf(out, len, "results/%s.nc", cfg->experiment.name);
}
