"""Which metrics a biaslab output must hold, read off its stored config.

An independent statement of the rule in src/metrics/metrics.c (each metric
with what it needs): the file holds a metric exactly when it applies to at
least one sweep point, and svm_margin / margin_best exactly when the SVM
reference applies. Written from the README's metric table, not from the C.
"""
import itertools
import os

import netCDF4
import numpy as np

ALWAYS = ["train_loss", "train_log_loss", "param_norm", "grad_norm", "learning_rate",
          "grad_cosine", "trained_norm", "effective_lr", "init_distance"]


def _points(ini):
    """One dict section.key -> text per sweep point (the base config's keys
    overridden by that point's sweep values)."""
    base = {f"{s}.{k}": v.strip() for s in ini.sections() if s != "sweep" for k, v in ini[s].items()}
    if not ini.has_section("sweep"):
        return [base]
    keys = list(ini["sweep"].keys())
    values = [[x.strip() for x in ini["sweep"][k].split(",")] for k in keys]
    out = []
    for combo in itertools.product(*values):
        p = dict(base)
        p.update(zip(keys, combo))
        out.append(p)
    return out


def _data_shape(p):
    """(classes, regression) of a point's data: the config's own for synthetic
    data, read off the files for fashion_mnist and netcdf."""
    kind = p.get("data.kind", "separable")
    if kind == "matrix_completion":  # index pairs with one real target each
        return 1, True
    if kind == "fashion_mnist":
        sel = [x for x in p.get("data.select", "").replace(",", " ").split() if x]
        return (len(sel) if sel else 10), False
    if kind == "netcdf":
        path = p.get("data.path", "")
        if not os.path.isfile(path):
            return int(p.get("data.classes", "2")), False
        with netCDF4.Dataset(path) as d:
            if "target" in d.variables and "y" not in d.variables:
                return 0, True
            if "classes" in d.ncattrs():
                return int(d.getncattr("classes")), False
            y = np.asarray(d["y"][:], dtype=np.float64)
            k = int(y.max()) + 1
            if "y_test" in d.variables:
                k = max(k, int(np.asarray(d["y_test"][:]).max()) + 1)
            return k, False
    return int(p.get("data.classes", "2")), False


def _n_test(p):
    """Test examples: matrix_completion tests every entry it does not train on,
    d^2 - max(1, min(d^2 - 1, round(observed d^2)))."""
    if p.get("data.kind", "separable") == "matrix_completion":
        d = int(p.get("data.size", "97"))
        n = min(max(int(np.floor(float(p.get("data.observed", "0.05")) * d * d + 0.5)), 1), d * d - 1)
        return d * d - n
    return int(p.get("data.n_test", "1000"))


def _point_metrics(p):
    model = p.get("model.kind", "mlp")
    loss = p.get("loss.kind", "logistic")
    classes, regression = _data_shape(p)
    data = model not in ("quadratic", "noisy_quadratic")
    labels = data and not regression
    outputs = 1 if (not regression and loss != "cross_entropy" and classes <= 2) else classes
    binary = labels and outputs == 1
    features = model in ("linear", "mlp")
    bias = p.get("model.bias", "false") == "true"
    depth = 1 if model == "linear" else int(p.get("model.depth", "2"))
    # the margin references: a linear model or a two-layer net, one output
    margin_ref = features and outputs == 1 and depth <= 2
    svm = p.get("measure.reference", "none") == "svm" and margin_ref and binary
    homogeneous = (features and (not bias or p.get("model.normalize", "false") == "true")) or model == "diag_linear"
    sharp = p.get("measure.sharpness", "none") != "none"
    m = set(ALWAYS)
    if labels:
        m |= {"train_acc", "normalized_margin"}
        if p.get("measure.near_support", "true") == "true":
            m |= {"near_support_1", "near_support_2", "near_support_3"}
        if loss != "squared":
            m.add("smoothed_margin")
    if regression and data:
        m.add("train_mse")
    if model == "factorization":  # its outputs are the entries of one symmetric matrix
        m |= {"nuclear_norm", "effective_rank"}
    if data and _n_test(p) > 0:
        m |= {"test_loss", "test_log_loss"}
        if labels:
            m.add("test_acc")
        if regression:
            m.add("test_mse")
    if sharp:
        m |= {"sharpness", "sharpness_residual", "sharpness_iters", "eta_sharpness",
              "spherical_sharpness"}
    if data and features:
        m.add("stable_rank")
        if binary:
            m.add("mu_alignment")
        if svm:
            m |= {"svm_alignment", "svm_cosine", "margin_ratio"}
    # GD's equilibrium with weight decay; the Adam family has another
    if (float(p.get("optim.weight_decay", "0")) > 0 and
            p.get("optim.kind", "gd") not in ("rmsprop", "adam", "adamw")):
        m.add("equilibrium_norm")
    if int(p.get("measure.trace_probes", "0")) > 0:
        m |= {"hessian_trace", "hessian_trace_se"}
    if p.get("measure.min_eigenvalue", "false") == "true":
        m |= {"hessian_min_eigenvalue", "hessian_min_residual"}
    if p.get("measure.kkt", "false") == "true" and binary and homogeneous:
        m |= {"kkt_epsilon", "kkt_delta"}
    if data and p.get("measure.noise", "none") != "none":
        m |= {"grad_norm_sq", "noise_trace", "noise_ratio"}
    # a diagonal net with reference = svm: the max-L2 and max-L1-margin classifiers
    if model == "diag_linear" and binary and p.get("measure.reference", "none") == "svm":
        m |= {"l2_cosine", "l1_cosine"}
    return m, svm


def expected(ini):
    """(set of metric names, whether svm_margin/margin_best exist) for a file
    whose stored config is ini."""
    metrics, svm = set(), False
    for p in _points(ini):
        m, s = _point_metrics(p)
        metrics |= m
        svm |= s
    return metrics, svm


def loss_based(ini):
    """Whether some point uses the loss-based schedule (epochs_undone exists)."""
    return any(p.get("optim.schedule", "constant") == "loss_based" for p in _points(ini))


def grokking_outcomes(ini):
    """The per-task grokking outcomes the file holds (README "Grokking"):
    memorize_step with train_acc (or train_mse), grok_step with test_acc (or
    test_mse), ungrok_step with test_acc, kernel_test_mse and
    target_nuclear_norm with a factorization's nuclear_norm and a test set,
    t_star when some point trains a model on data with weight decay or is a
    diag_linear, init_coordinate and init_norm with a diag_linear,
    kernel_test_acc with a pair_mlp and a test set."""
    metrics, _ = expected(ini)
    out = set()
    if "train_acc" in metrics or "train_mse" in metrics:
        out.add("memorize_step")
    if "test_acc" in metrics or "test_mse" in metrics:
        out.add("grok_step")
    if "test_acc" in metrics:
        out.add("ungrok_step")
    if "nuclear_norm" in metrics and "test_mse" in metrics:
        out |= {"kernel_test_mse", "target_nuclear_norm"}
    pts = _points(ini)
    diag = any(p.get("model.kind", "mlp") == "diag_linear" for p in pts)
    decay = any(p.get("model.kind", "mlp") != "quadratic" and float(p.get("optim.weight_decay", "0")) > 0
                for p in pts)
    if diag or decay:
        out.add("t_star")
    if diag:
        out |= {"init_coordinate", "init_norm"}
    if "l1_cosine" in metrics:
        out |= {"l2_test_acc", "l1_test_acc"}
    if "noise_trace" in metrics:
        out.add("noise_exact")
    # the kernel (NTK at init) predictor: a pair_mlp (the model with a
    # closed-form NTK) trained on labels with a test set
    if any(p.get("model.kind", "mlp") == "pair_mlp" and int(p.get("data.n_test", "1000")) > 0
           for p in pts):
        out.add("kernel_test_acc")
    return out


def t_star(p):
    """A point's predicted transition step ln(alpha) / (lr lambda), NaN for
    alpha <= 1, no weight decay, the loss-based rate or the quadratic."""
    alpha = float(p.get("model.init_scale", "1.0"))
    lam = float(p.get("optim.weight_decay", "0"))
    if (alpha <= 1 or lam <= 0 or p.get("optim.schedule", "constant") != "constant"
            or p.get("model.kind", "mlp") == "quadratic"):
        return float("nan")
    return np.log(alpha) / (float(p.get("optim.lr", "0.1")) * lam)


def points(ini):
    return _points(ini)
