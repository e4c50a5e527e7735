#!/usr/bin/python3
"""Check a biaslab results file against the output contract.

  /usr/bin/python3 tests/check_output.py FILE.nc... [--points N] [--seeds N]
      [--allow-not-run] [--allow-no-ok] [--rtol 1e-12]

Several files are checked one after another, each with its own verdict line.

Fails (exit 1, one line per failed check) unless all of these hold:

- Structure: dimensions point, seed, record, stat; every variable of the
  schema with its dimensions and type (each metric that applies to the
  run's config, tests/checkers/applies.py, and its _stats; status,
  wall_seconds, steps_done, n_ok; svm_margin and margin_best with the SVM
  reference; params, spectra and densities when present) and no variable
  outside it (a metric that does not apply is an error); the stat labels;
  attributes of metrics and status; the global attributes.
- Against the stored config: seed values first_seed..first_seed+seeds-1;
  step = the record schedule of optim.steps and measure.every (0, every,
  2*every, ..., steps; with measure.spacing = log: 0, the distinct
  floor(10^(j/per_decade) + 1/2) below steps, and steps); one point per combination of the [sweep] values and
  each sweep coordinate equal to its value at that point (last key fastest);
  spectrum_step and density_step are record steps.
- Task outcomes: status is ok, diverged or not_run (interrupted never reaches
  a finished file); at least one task ok (unless --allow-no-ok) and at
  least one task run; not_run only with --allow-not-run (slice files), and
  then everything of that task NaN (trajectories, wall_seconds, svm_margin,
  margin_best, params, spectra, densities) and steps_done never written.
  An ok task has steps_done = optim.steps; a diverged one 0 <= steps_done
  <= optim.steps. Records a task lived through (every record of an ok task,
  records before steps_done of a diverged one) have train_log_loss neither
  NaN nor +inf, train_loss not NaN, train_acc in [0, 1] and param_norm finite
  >= 0;
  records at and after a diverged task's steps_done are NaN in every metric
  (a diverged state enters no statistics).
  A train_log_loss of -inf (a loss of exactly 0) comes with train_acc 1.
  wall_seconds is finite >= 0 for a task that ran. Without reference = svm,
  svm_margin and margin_best are NaN.
- train_loss = exp(train_log_loss) (and test_loss = exp(test_log_loss))
  cell by cell: where the loss is a normal double, |log(loss) - log_loss| <=
  1e-12 max(1, |log_loss|) (about a relative error of 1e-12 in the loss); a
  subnormal loss within 2 units of the last place of exp(log_loss); a loss
  of exactly 0 only where log_loss < -745; inf only where log_loss > 709.78;
  NaN together; a log_loss of +-inf gives inf / 0.
- n_ok(point, record) = the number of seeds with a finite param_norm, and
  lies between the number of tasks alive at that record and that plus the
  diverged tasks whose divergence step is that record.
- Every statistic of every metric, ci95_low and ci95_high included,
  recomputed from the trajectories by tests/checkers/contract.py (an
  independent numpy implementation of biaslab's statistics contract, the
  Philox4x32-10 bootstrap included) and compared with a purely relative
  tolerance: |a - b| <= rtol*max(|a|, |b|) (default 1e-12; biaslab's files
  agree bitwise, --rtol 0), so 0 matches only 0 and values of 1e-300 are
  checked as strictly as values of 1; NaN matches only NaN. The contract
  module first checks its Philox4x32-10 against Random123's known answers.
- xarray opens the file without a warning and decodes step, wall_seconds and
  the metrics as numbers.

The file is read with netCDF4 (not xarray) so dtypes and attributes are seen
exactly as stored. Exit 0 when all pass, 1 when a check failed, 2 on bad
usage or an unreadable file, 3 when the checker itself crashed.
"""
import argparse
import itertools
import math
import os
import sys
import time
import traceback
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import netCDF4  # before xarray's warning check: its import warns about numpy ABI
import numpy as np
import xarray as xr

from checkers import applies, common, contract

STATS = contract.STATS
# Every metric biaslab writes (src/metrics.c, bl_metric_table), in its order.
METRICS = ["train_loss", "train_log_loss", "train_acc", "test_loss", "test_log_loss", "test_acc",
           "normalized_margin", "smoothed_margin", "param_norm", "grad_norm", "learning_rate",
           "sharpness", "sharpness_residual", "sharpness_iters", "eta_sharpness", "grad_cosine",
           "stable_rank", "mu_alignment", "svm_alignment", "svm_cosine", "margin_ratio",
           "trained_norm", "effective_lr", "spherical_sharpness", "equilibrium_norm",
           "hessian_trace", "hessian_trace_se", "kkt_epsilon", "kkt_delta",
           "hessian_min_eigenvalue", "hessian_min_residual", "near_support_1", "near_support_2",
           "near_support_3", "init_distance", "l2_cosine", "l1_cosine", "train_mse", "test_mse",
           "nuclear_norm", "effective_rank", "grad_norm_sq", "noise_trace", "noise_ratio"]
TRAJ_DIMS = ("point", "seed", "record")
STATS_DIMS = ("point", "stat", "record")
TASK_DIMS = ("point", "seed")
GLOBALS = ["title", "history", "source", "config", "mpi_ranks", "group_size", "created", "Conventions"]
OK, DIVERGED, INTERRUPTED, NOT_RUN = 0, 1, 2, 3
RTOL = 1e-12      # statistics against their recomputation (--rtol)
LOG_RTOL = 1e-12  # log(train_loss) against train_log_loss, relative to max(1, |log loss|)
LOG_DBL_MAX = 709.782712893384
DBL_MIN = np.finfo(np.float64).tiny  # smallest normal double
DBL_TRUE_MIN = 5e-324
UNDERFLOW_LOG = -745.0  # exp(x) is 0 in double only below about -745.13


def text_attr(v, name):
    value = v.getncattr(name) if name in v.ncattrs() else None
    return value if isinstance(value, str) else None


def schema(dims, metrics, svm, loss_based, save_params="final", outcomes=()):
    """name -> (dims, kind) of every variable biaslab writes for a run whose
    applicable metrics are `metrics` (and the SVM outcomes when svm), sweep
    coordinates aside. kind: 'f8', 'i8', 'i4', 'i1', 'int' (any integer), 'str'."""
    s = {"step": (("record",), "i8"), "seed": (("seed",), "int"), "stat": (("stat",), "str"),
         "status": (TASK_DIMS, "i1"), "wall_seconds": (TASK_DIMS, "f8"),
         "steps_done": (TASK_DIMS, "i8"), "n_ok": (("point", "record"), "i4")}
    if svm:
        s["svm_margin"] = (TASK_DIMS, "f8")
        s["margin_best"] = (TASK_DIMS, "f8")
        s["reference_status"] = (TASK_DIMS, "i1")
    if loss_based:
        s["epochs_undone"] = (TASK_DIMS, "i8")
    for name in outcomes:  # noise_exact is a flag: 1 exact, 0 estimated
        s[name] = (TASK_DIMS, "i1" if name == "noise_exact" else "f8")
    for m in METRICS:
        if m in metrics:
            s[m] = (TRAJ_DIMS, "f8")
            s[m + "_stats"] = (STATS_DIMS, "f8")
    params_dims = {"first_last": ("point", "seed", "params_snapshot", "param"),
                   "records": ("point", "seed", "record", "param")}.get(save_params, ("point", "seed", "param"))
    optional = {"params": (params_dims, "f8"),
                "params_step": (("params_snapshot",), "i8"),
                "spectrum_step": (("spectrum",), "i8"),
                "hessian_eigenvalues": (("point", "seed", "spectrum", "eig"), "f8"),
                "density_step": (("density",), "i8"),
                "density_nodes": (("point", "seed", "density", "node"), "f8"),
                "density_weights": (("point", "seed", "density", "node"), "f8"),
                "sharpness_top": (("point", "seed", "record", "top"), "f8"),
                "sharpness_top_residual": (("point", "seed", "record", "top"), "f8"),
                "hessian_trace_blocks": (("point", "seed", "record", "block"), "f8")}
    return s, optional


def kind_ok(v, kind):
    dt = v.dtype
    if kind == "str":
        return dt == str
    if kind == "int":
        return np.issubdtype(dt, np.integer)
    return dt == np.dtype(kind)


def check_structure(c, ds, dims, want_points, want_seeds):
    """Dimensions and the variable schema. Returns False when nothing else can be checked."""
    for d in ("point", "seed", "record", "stat"):
        c.check(d in dims, f"dimension {d} missing")
    if want_points is not None:
        c.check(dims.get("point") == want_points, f"point: {dims.get('point')} points, expected {want_points}")
    if want_seeds is not None:
        c.check(dims.get("seed") == want_seeds, f"seed: {dims.get('seed')} seeds, expected {want_seeds}")
    c.check(dims.get("stat") == len(STATS), f"stat: length {dims.get('stat')}, expected {len(STATS)}")
    if not all(d in dims for d in ("point", "seed", "record", "stat")):
        return False
    V = ds.variables
    try:
        ini = common.config(ds)
        metrics, svm = applies.expected(ini)
        loss_based = applies.loss_based(ini)
        save_params = ini.get("measure", "save_params", fallback="none")
        outcomes = applies.grokking_outcomes(ini)
    except (common.CheckError, KeyError, ValueError, OSError) as e:
        c.fail(f"config: cannot tell which metrics apply: {e}")
        metrics, svm, loss_based, save_params, outcomes = set(METRICS), True, True, "final", set()
    required, optional = schema(dims, metrics, svm, loss_based, save_params, outcomes)
    try:
        if common.config(ds)["optim"].get("scaling_rule", "none").strip() != "none":
            required["epoch"] = (("record",), "f8")  # RULE_VARS are checked as coordinates
    except (common.CheckError, KeyError):
        pass
    if save_params != "none":
        c.check("params" in V, f"params missing although measure.save_params = {save_params}")
    good = True
    for name, (want_dims, kind) in itertools.chain(required.items(), optional.items()):
        if name not in V:
            if name in required:
                good = c.fail(f"variable {name}{want_dims} missing") and good
            continue
        v = V[name]
        if not c.check(tuple(v.dimensions) == want_dims,
                       f"{name}: dimensions {v.dimensions}, expected {want_dims}"):
            good = False
            continue
        c.check(kind_ok(v, kind), f"{name}: type {v.dtype}, expected {kind}")
    for group, members in (("param", ["params"]), ("spectrum", ["spectrum_step", "hessian_eigenvalues"]),
                           ("density", ["density_step", "density_nodes", "density_weights"]),
                           ("top", ["sharpness_top", "sharpness_top_residual"]),
                           ("params_snapshot", ["params_step"])):
        if group in dims or any(m in V for m in members):
            for m in members:
                c.check(m in V, f"{m} missing although {group} data are present")
    for name, v in V.items():
        if name in required or name in optional:
            continue
        what = ("a metric that does not apply to this run's config"
                if name in METRICS or name.removesuffix("_stats") in METRICS or name in ("svm_margin", "margin_best")
                else "not in biaslab's schema")
        c.check(tuple(v.dimensions) == ("point",),
                f"unexpected variable {name}{tuple(v.dimensions)} ({what})")
    return good


def record_steps(steps, every, per_decade=None):
    """The record schedule: 0, every, 2 every, ..., steps; or with log
    spacing (per_decade given) 0, the distinct floor(10^(j/per_decade) + 1/2)
    below steps, and steps."""
    if per_decade is None:
        n = steps // every + 1 + (steps % every != 0)
        return np.minimum(np.arange(n, dtype=np.int64) * every, steps)
    out, j = [0], 0
    while True:
        s = int(math.floor(10.0 ** (j / per_decade) + 0.5))
        if s >= steps:
            break
        if s != out[-1]:
            out.append(s)
        j += 1
    return np.array(out + [steps], dtype=np.int64)


def parse_number(text):
    try:
        return float(text)
    except ValueError:
        return float.fromhex(text)


def check_config(c, ds, dims):
    """Coordinates against the stored config. Returns (optim.steps, measure.reference,
    model.kind) or None."""
    V = ds.variables
    try:
        ini = common.config(ds)
    except common.CheckError as e:
        c.fail(str(e))
        return None
    try:
        seeds = int(ini["experiment"]["seeds"])
        first_seed = int(ini["experiment"]["first_seed"])
        steps = int(ini["optim"]["steps"])
        every = int(ini["measure"]["every"])
        per_decade = (int(ini["measure"]["per_decade"])
                      if ini["measure"].get("spacing", "linear").strip() == "log" else None)
        reference = ini["measure"].get("reference", "none").strip()
        model_kind = ini["model"].get("kind", "mlp").strip() if ini.has_section("model") else "mlp"
    except (KeyError, ValueError) as e:
        c.fail(f"config: experiment.seeds, experiment.first_seed, optim.steps or measure.every "
               f"missing or not an integer ({type(e).__name__}: {e})")
        return None
    c.check(dims["seed"] == seeds, f"seed dimension {dims['seed']}, config says seeds = {seeds}")
    if dims["seed"] == seeds:
        got = np.asarray(V["seed"][:], dtype=np.int64)
        want = first_seed + np.arange(seeds, dtype=np.int64)
        c.check(np.array_equal(got, want), lambda: f"seed values {got.tolist()[:8]}..., expected "
                f"{first_seed}..{first_seed + seeds - 1}")
    want_steps = record_steps(steps, every, per_decade)
    got_steps = np.asarray(V["step"][:], dtype=np.int64)
    c.check(got_steps.shape == want_steps.shape and np.array_equal(got_steps, want_steps),
            lambda: f"step {got_steps.tolist()[:6]}... ({len(got_steps)} records), expected the schedule "
            f"of optim.steps = {steps}, measure.every = {every}: {want_steps.tolist()[:6]}... "
            f"({len(want_steps)} records)")
    c.check(units_ok(V["step"]), f"step: units {text_attr(V['step'], 'units')!r}, expected '1'")
    for name in ("spectrum_step", "density_step"):
        if name in V:
            s = np.asarray(V[name][:], dtype=np.int64)
            c.check(np.all(np.isin(s, got_steps)), f"{name} {s.tolist()} not all record steps")
    sweep = [(k, [x.strip() for x in v.split(",")]) for k, v in ini["sweep"].items()] \
        if ini.has_section("sweep") else []
    n_points = int(np.prod([len(v) for _, v in sweep])) if sweep else 1
    c.check(dims["point"] == n_points, f"{dims['point']} points, the config's [sweep] makes {n_points}")
    coords = [n for n, v in V.items() if tuple(v.dimensions) == ("point",) and not is_distance(n)]
    want_names = [k.replace(".", "_") for k, _ in sweep]
    rule = ini["optim"].get("scaling_rule", "none").strip()
    svag = any(int(ini["optim"].get(key, "1")) > 1 or any(k == "optim." + key for k, _ in sweep)
               for key in ("svag_l", "sde_substeps"))
    point_steps = None
    if rule != "none" or svag:
        want_names += RULE_VARS if rule != "none" else RULE_VARS[1:]
        steps, point_steps = check_scaling_rule(c, ini, V, sweep, rule, steps, every, got_steps)
    for n in coords:
        c.check(n in want_names, f"{n}(point) is not a [sweep] key of the config")
    for k, (key, vals) in enumerate(sweep):
        name = key.replace(".", "_")
        if not c.check(name in V, f"config: sweep key {key} has no coordinate variable {name}(point)"):
            continue
        if dims["point"] != n_points:
            continue
        stride = int(np.prod([len(v) for _, v in sweep[k + 1:]])) if k + 1 < len(sweep) else 1
        texts = [vals[(p // stride) % len(vals)] for p in range(n_points)]
        v = V[name]
        if v.dtype == str:
            got = [str(x) for x in v[:]]
            c.check(got == texts, f"{name} = {got}, the config's sweep gives {texts}")
        elif v.dtype == np.float64:
            try:
                want = np.array([parse_number(t) for t in texts])
            except ValueError:
                c.fail(f"{name} is numeric but the sweep values {vals} are not numbers")
                continue
            got = np.asarray(v[:], dtype=np.float64)
            c.check(np.array_equal(got, want), f"{name} = {got.tolist()}, the config's sweep gives {want.tolist()}")
        else:
            c.fail(f"{name}: type {v.dtype}, expected double (numeric key) or string")
    return steps, reference, model_kind, point_steps


RULE_VARS = ["kappa", "resolved_optim_lr", "resolved_optim_beta1", "resolved_optim_beta2",
             "resolved_optim_eps", "resolved_optim_steps", "resolved_measure_every"]


def swept(sweep, key, base, n_points):
    """Each point's value of key: its sweep values (last key fastest) or base."""
    for k, (name, vals) in enumerate(sweep):
        if name == key:
            stride = int(np.prod([len(v) for _, v in sweep[k + 1:]])) if k + 1 < len(sweep) else 1
            return [vals[(p // stride) % len(vals)].strip() for p in range(n_points)]
    return [base] * n_points


def check_scaling_rule(c, ini, V, sweep, rule, steps, every, base_steps):
    """optim.scaling_rule and optim.svag_l, stated independently of config.c. Per
    point: kappa = batch_size / base_batch_size; linear: lr kappa; sqrt: lr
    sqrt(kappa), 1 - beta -> kappa (1 - beta) (beta1 too, but not for rmsprop),
    eps / sqrt(kappa); steps and measure.every / kappa. Then SVAG with l: m = l
    (sgd) or l^2 (adaptive); lr / l, steps and every x m, adaptive: 1 - beta ->
    (1 - beta) / m, eps l. Euler-Maruyama with sde_substeps = s (sgd): lr / s,
    steps and every x s. With a rule, epoch = step base_batch_size / n_train.
    Returns each point's steps (P, 1) and record steps (P, 1, R)."""
    o = ini["optim"]
    n_points = int(np.prod([len(v) for _, v in sweep])) if sweep else 1
    batch = np.array([float(x) for x in swept(sweep, "optim.batch_size", o["batch_size"], n_points)])
    rules = swept(sweep, "optim.scaling_rule", rule, n_points)
    ls = np.array([float(x) for x in swept(sweep, "optim.svag_l", o.get("svag_l", "1"), n_points)])
    kind = o.get("kind", "gd").strip()
    adaptive = kind in ("rmsprop", "adam", "adamw")
    b0 = int(o["base_batch_size"])
    kappa = batch / b0 if rule != "none" else np.ones(n_points)
    sqrt_rule = np.array([r == "sqrt" for r in rules])
    lin_rule = np.array([r == "linear" for r in rules])
    lr, b1, b2, eps = (float(o[k]) for k in ("lr", "beta1", "beta2", "eps"))
    r_lr = np.where(sqrt_rule, lr * np.sqrt(kappa), np.where(lin_rule, lr * kappa, lr))
    r_b1 = np.where(sqrt_rule & (kind != "rmsprop"), 1 - kappa * (1 - b1), b1)
    r_b2 = np.where(sqrt_rule, 1 - kappa * (1 - b2), b2)
    r_eps = np.where(sqrt_rule, eps / np.sqrt(kappa), eps)
    subs = np.array([float(x) for x in swept(sweep, "optim.sde_substeps", o.get("sde_substeps", "1"),
                                             n_points)])
    m = (ls * ls if adaptive else ls) * subs
    r_lr = r_lr / ls / subs
    if adaptive:
        if kind != "rmsprop":
            r_b1 = 1 - (1 - r_b1) / m
        r_b2 = 1 - (1 - r_b2) / m
        r_eps = r_eps * ls
    want = {"resolved_optim_steps": steps / kappa * m, "resolved_measure_every": every / kappa * m,
            "resolved_optim_lr": r_lr, "resolved_optim_beta1": r_b1, "resolved_optim_beta2": r_b2,
            "resolved_optim_eps": r_eps}
    if rule != "none":
        want["kappa"] = kappa
    for name, w in want.items():
        if not c.check(name in V, f"optim.scaling_rule / svag_l: variable {name}(point) missing"):
            continue
        got = np.asarray(V[name][:], dtype=np.float64)
        c.check(got.shape == w.shape and np.allclose(got, w, rtol=1e-14, atol=0),
                f"{name} = {got.tolist()}, the rules give {w.tolist()}")
    if rule != "none" and c.check("epoch" in V, "optim.scaling_rule: variable epoch(record) missing"):
        n_train = int(ini["data"]["n_train"])
        got = np.asarray(V["epoch"][:], dtype=np.float64)
        c.check(np.allclose(got, base_steps * b0 / n_train, rtol=1e-15),
                f"epoch {got.tolist()[:6]}... is not step x {b0} / {n_train}")
    factor = m / kappa
    return (np.rint(steps * factor).astype(np.int64)[:, None],
            np.rint(base_steps[None, :] * factor[:, None]).astype(np.int64)[:, None, :])


def units_ok(v):
    return text_attr(v, "units") == "1"


def check_globals(c, ds):
    for a in GLOBALS:
        c.check(a in ds.ncattrs(), f"global attribute {a} missing")
    c.check(getattr(ds, "Conventions", None) == "CF-1.8",
            f"Conventions is {getattr(ds, 'Conventions', None)!r}, expected 'CF-1.8'")
    for a in ("mpi_ranks", "group_size"):
        value = getattr(ds, a, None)
        c.check(value is not None and np.issubdtype(np.asarray(value).dtype, np.integer) and np.all(value >= 1),
                f"global attribute {a} is {value!r}, expected a positive integer")
    for a in ("title", "history", "source", "created", "config", "blas", "host"):
        value = getattr(ds, a, None)
        c.check(value is None or (isinstance(value, str) and value.strip()), f"global attribute {a} is empty")


def check_log_pair(c, name, loss, log_loss, rtol=LOG_RTOL):
    """loss = exp(log_loss), cell by cell (arrays (point, seed, record))."""
    dims = TRAJ_DIMS
    bad = np.isnan(loss) != np.isnan(log_loss)
    c.check(not bad.any(), lambda: f"{name} and {name.replace('_loss', '_log_loss')} not NaN together: "
            f"{common.where(bad, dims)}")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        both = ~np.isnan(loss) & ~np.isnan(log_loss)
        inf_log = both & np.isinf(log_loss)
        bad = inf_log & (loss != np.exp(log_loss))
        fin = both & np.isfinite(log_loss)
        normal = fin & np.isfinite(loss) & (loss >= DBL_MIN)
        bad |= normal & ~(np.abs(np.log(np.where(normal, loss, 1.0)) - log_loss)
                          <= rtol * np.maximum(1.0, np.abs(log_loss)))
        sub = fin & (loss > 0) & (loss < DBL_MIN)
        bad |= sub & ~(np.abs(loss - np.exp(log_loss)) <= 2 * DBL_TRUE_MIN)
        bad |= fin & (loss == 0) & ~(log_loss < UNDERFLOW_LOG)
        bad |= fin & (loss < 0)
        bad |= fin & np.isinf(loss) & ~(log_loss > LOG_DBL_MAX)
    lname = name.replace("_loss", "_log_loss")
    if bad.any():
        idx = tuple(np.argwhere(bad)[0])
        c.fail(f"{name} is not exp({lname}): {common.where(bad, dims)}: {name} {loss[idx]!r}, "
               f"{lname} {log_loss[idx]!r}")
    else:
        c.check(True, "")


def first_step(steps, acc, threshold, above, start=0, at_most=False):
    """The step of the first record r >= start with acc >= threshold (above),
    acc <= threshold (at_most) or acc < threshold, and r; (NaN, len) when
    there is none."""
    for r in range(start, len(steps)):
        if (acc[r] >= threshold) if above else (acc[r] <= threshold) if at_most else (acc[r] < threshold):
            return float(steps[r]), r
    return float("nan"), len(steps)


def check_grokking(c, ds, status, traj):
    """The grokking outcomes recomputed from the stored trajectories and
    config: memorize_step / grok_step the first record step with train /
    test accuracy >= measure.fit_threshold (regression: train / test MSE <=
    it), ungrok_step the first after
    grok_step with test accuracy < measure.drop_threshold, t_star =
    ln(init_scale) / (lr weight_decay) per point; NaN for not_run tasks."""
    V = ds.variables
    try:
        ini = common.config(ds)
    except (common.CheckError, KeyError, ValueError, OSError):
        return
    fit = float(ini.get("measure", "fit_threshold", fallback="0.95"))
    drop = float(ini.get("measure", "drop_threshold", fallback="0.75"))
    base_steps = np.asarray(V["step"][:], dtype=np.int64)
    want = {n: np.full(status.shape, np.nan) for n in ("memorize_step", "grok_step", "ungrok_step", "t_star")}
    pts = applies.points(ini)
    for p in range(status.shape[0]):
        # The outcomes are the point's own steps. Under a scaling rule or SVAG the
        # step coordinate is the base point's (records at the same epochs); the
        # point's record k is at k every_p = step[k] steps_p / steps_base.
        steps = base_steps
        if "resolved_optim_steps" in V:
            own = int(V["resolved_optim_steps"][p])
            steps = base_steps * own // int(ini.get("optim", "steps"))
        for s in range(status.shape[1]):
            if status[p, s] not in (OK, DIVERGED):
                continue
            if "train_mse" in traj:  # regression: the first MSE at most fit_threshold
                want["memorize_step"][p, s] = first_step(steps, traj["train_mse"][p, s], fit, False,
                                                         at_most=True)[0]
            if "test_mse" in traj:
                want["grok_step"][p, s] = first_step(steps, traj["test_mse"][p, s], fit, False,
                                                     at_most=True)[0]
            if "train_acc" in traj:
                want["memorize_step"][p, s] = first_step(steps, traj["train_acc"][p, s], fit, True)[0]
            if "test_acc" in traj:
                g, r = first_step(steps, traj["test_acc"][p, s], fit, True)
                want["grok_step"][p, s] = g
                if r < len(steps):
                    want["ungrok_step"][p, s] = first_step(steps, traj["test_acc"][p, s], drop, False, r + 1)[0]
            if p < len(pts):
                want["t_star"][p, s] = applies.t_star(pts[p])
    for name, w in want.items():
        if name not in V:
            continue
        x = np.asarray(V[name][:], dtype=np.float64)
        bad = ~((np.isnan(x) & np.isnan(w)) | np.isclose(x, w, rtol=1e-12, atol=0))
        c.check(not bad.any(), lambda: f"{name} disagrees with its recomputation from the "
                f"trajectories and config at {common.where(bad, TASK_DIMS)}")


def check_tasks(c, ds, dims, steps_cfg, reference, model_kind, traj, allow_not_run, allow_no_ok,
                point_steps=None):
    """Status, steps_done, wall time and which records must hold what."""
    V = ds.variables
    st = V["status"]
    fv = st.getncattr("flag_values") if "flag_values" in st.ncattrs() else None
    c.check(fv is not None and np.array_equal(np.atleast_1d(fv), [0, 1, 2, 3]) and np.asarray(fv).dtype == st.dtype,
            f"status: flag_values {fv!r}, expected [0, 1, 2, 3] of the variable's type")
    fm = text_attr(st, "flag_meanings")
    c.check(fm == "ok diverged interrupted not_run",
            f"status: flag_meanings {fm!r}, expected 'ok diverged interrupted not_run'")
    status = np.asarray(st[:], dtype=np.int64)
    bad = ~np.isin(status, [OK, DIVERGED, INTERRUPTED, NOT_RUN])
    c.check(not bad.any(), lambda: f"status: value(s) outside 0..3: {common.where(bad, TASK_DIMS)}")
    bad = status == INTERRUPTED
    c.check(not bad.any(), lambda: f"status: interrupted task(s) in a finished file: {common.where(bad, TASK_DIMS)}")
    ok, div, nr = status == OK, status == DIVERGED, status == NOT_RUN
    counts = f"ok {ok.sum()}, diverged {div.sum()}, not_run {nr.sum()} of {status.size}"
    c.check(ok.any() or div.any(), f"no task ran ({counts})")
    if not allow_no_ok:
        c.check(ok.any(), f"no task ended ok ({counts}); --allow-no-ok accepts that")
    if not allow_not_run:
        c.check(not nr.any(), lambda: f"not_run task(s) ({counts}): {common.where(nr, TASK_DIMS)}; "
                "--allow-not-run accepts slice files")

    sd = np.asarray(V["steps_done"][:], dtype=np.int64)
    wall = np.asarray(V["wall_seconds"][:], dtype=np.float64)
    ran = ok | div
    bad = ran & ~common.finite_and(wall, lambda w: w >= 0)
    c.check(not bad.any(), lambda: f"wall_seconds not finite >= 0 for a task that ran: {common.where(bad, TASK_DIMS)}")
    bad = nr & ~np.isnan(wall)
    c.check(not bad.any(), lambda: f"wall_seconds not NaN for a not_run task: {common.where(bad, TASK_DIMS)}")
    bad = nr & (sd != common.FILL_INT64)
    c.check(not bad.any(), lambda: f"steps_done set for a not_run task: {common.where(bad, TASK_DIMS)}")
    if steps_cfg is not None:
        bad = ok & (sd != steps_cfg)
        c.check(not bad.any(), lambda: f"steps_done of an ok task is not optim.steps = {steps_cfg}: "
                f"{common.where(bad, TASK_DIMS)}: {sd[tuple(np.argwhere(bad)[0])]}")
        bad = div & ~((sd >= 0) & (sd <= steps_cfg))
        c.check(not bad.any(), lambda: f"steps_done of a diverged task outside 0..{steps_cfg}: "
                f"{common.where(bad, TASK_DIMS)}: {sd[tuple(np.argwhere(bad)[0])]}")
    if "epochs_undone" in V:
        eu = np.asarray(V["epochs_undone"][:], dtype=np.int64)
        bad = ran & ~((eu >= 0) & (eu <= sd))
        c.check(not bad.any(), lambda: f"epochs_undone not in 0..steps_done for a task that ran: "
                f"{common.where(bad, TASK_DIMS)}")
    if "reference_status" in V:
        rs = np.asarray(V["reference_status"][:], dtype=np.int64)
        sm, mb = (np.asarray(V[n][:], dtype=np.float64) for n in ("svm_margin", "margin_best"))
        # 0: both computed; 1: neither; 2: margin_best from the LP alone; 3, 4: both
        bad = ran & ~np.isin(rs, [0, 1, 2, 3, 4])
        c.check(not bad.any(), lambda: f"reference_status outside 0..4: {common.where(bad, TASK_DIMS)}")
        bad = ran & (((rs == 0) | (rs >= 3)) & ~(np.isfinite(sm) & np.isfinite(mb))
                     | (rs == 1) & ~(np.isnan(sm) & np.isnan(mb))
                     | (rs == 2) & ~(np.isnan(sm) & np.isfinite(mb)))
        c.check(not bad.any(), lambda: f"reference_status disagrees with svm_margin / margin_best: "
                f"{common.where(bad, TASK_DIMS)}")
    for name in ("svm_margin", "margin_best"):
        if name not in V:
            continue
        x = np.asarray(V[name][:], dtype=np.float64)
        bad = nr & ~np.isnan(x)
        c.check(not bad.any(), lambda: f"{name} not NaN for a not_run task: {common.where(bad, TASK_DIMS)}")
        if reference == "none":
            bad = ~np.isnan(x)
            c.check(not bad.any(), lambda: f"{name} set although measure.reference = none: "
                    f"{common.where(bad, TASK_DIMS)}")
        else:
            with np.errstate(invalid="ignore"):
                bad = np.isfinite(x) & ~(x > 0)
            c.check(not bad.any(), lambda: f"{name} not positive: {common.where(bad, TASK_DIMS)}")
    check_grokking(c, ds, status, traj)
    for name in ("params", "hessian_eigenvalues", "density_nodes", "density_weights"):
        if name in V:
            x = np.asarray(V[name][:], dtype=np.float64)
            bad = nr & ~np.all(np.isnan(x.reshape(x.shape[0], x.shape[1], -1)), axis=2)
            c.check(not bad.any(), lambda: f"{name} not all NaN for a not_run task: {common.where(bad, TASK_DIMS)}")

    # Which records a task lived through (alive) and which it never reached
    # or diverged at (dead): a diverged state enters no statistics, so the
    # record taken at the divergence step itself is NaN too.
    step = np.asarray(V["step"][:], dtype=np.int64)[None, None, :]
    if point_steps is not None:  # a scaling rule: each point's own steps
        step = point_steps
    sdx = sd[:, :, None]
    alive = ok[:, :, None] | (div[:, :, None] & (step < sdx))
    edge = np.zeros_like(alive)
    dead = nr[:, :, None] | (div[:, :, None] & (step >= sdx))
    for m in traj:
        bad = dead & ~np.isnan(traj[m])
        c.check(not bad.any(), lambda: f"{m} not NaN where the task never got (not_run, at or after "
                f"its divergence): {common.where(bad, TRAJ_DIMS)}")
    tll, tl = traj["train_log_loss"], traj["train_loss"]
    bad = alive & (np.isnan(tll) | (tll == np.inf))
    c.check(not bad.any(), lambda: f"train_log_loss NaN or +inf at a record the task lived through: "
            f"{common.where(bad, TRAJ_DIMS)}")
    bad = alive & np.isnan(tl)
    c.check(not bad.any(), lambda: f"train_loss NaN at a record the task lived through: {common.where(bad, TRAJ_DIMS)}")
    if "train_acc" in traj:
        acc = traj["train_acc"]
        bad = alive & ~common.finite_and(acc, lambda a: (a >= 0) & (a <= 1))
        c.check(not bad.any(), lambda: f"train_acc not in [0, 1] at a record the task lived through: "
                f"{common.where(bad, TRAJ_DIMS)}")
    bad = alive & ~common.finite_and(traj["param_norm"], lambda a: a >= 0)
    c.check(not bad.any(), lambda: f"param_norm not finite >= 0 at a record the task lived through: "
            f"{common.where(bad, TRAJ_DIMS)}")
    if "train_acc" in traj:
        bad = (tll == -np.inf) & ~np.isnan(traj["train_acc"]) & (traj["train_acc"] != 1)
        c.check(not bad.any(), lambda: f"train_log_loss -inf (a loss of exactly 0) with train_acc below 1 "
                f"(NaN parameters read as a zero loss?): {common.where(bad, TRAJ_DIMS)}")
    if "test_acc" in traj:
        with np.errstate(invalid="ignore"):
            bad = ~np.isnan(traj["test_acc"]) & ~((traj["test_acc"] >= 0) & (traj["test_acc"] <= 1))
        c.check(not bad.any(), lambda: f"test_acc outside [0, 1]: {common.where(bad, TRAJ_DIMS)}")

    n_ok = np.asarray(V["n_ok"][:], dtype=np.int64)
    finite_norm = np.isfinite(traj["param_norm"]).sum(axis=1)
    bad = n_ok != finite_norm
    c.check(not bad.any(), lambda: f"n_ok is not the number of seeds with a finite param_norm: "
            f"{common.where(bad, ('point', 'record'))}: n_ok {n_ok[tuple(np.argwhere(bad)[0])]}, "
            f"finite {finite_norm[tuple(np.argwhere(bad)[0])]}")
    lo, hi = alive.sum(axis=1), (alive | edge).sum(axis=1)
    bad = (n_ok < lo) | (n_ok > hi)
    c.check(not bad.any(), lambda: f"n_ok disagrees with status and steps_done: "
            f"{common.where(bad, ('point', 'record'))}: n_ok {n_ok[tuple(np.argwhere(bad)[0])]}, "
            f"tasks alive {lo[tuple(np.argwhere(bad)[0])]}")


def check_stats(c, traj, stats, rtol):
    names = [m for m in METRICS if m in traj and m in stats]
    if not names:
        return 0.0
    X = np.stack([traj[m] for m in names])
    got = np.stack([stats[m] for m in names])
    want, _ = contract.stats_over_seeds(X)
    bad = contract.relative_mismatch(got, want, rtol)
    for i, m in enumerate(names):
        for k, s in enumerate(STATS):
            b = bad[i, :, k, :]
            if b.any():
                p, r = np.argwhere(b)[0]
                c.fail(f"{m}_stats {s} differs from the trajectories: {int(b.sum())} cell(s), first at "
                       f"point={p} record={r}: file {got[i, p, k, r]!r}, recomputed {want[i, p, k, r]!r}")
            else:
                c.check(True, "")
    with np.errstate(invalid="ignore", divide="ignore"):
        dev = np.abs(got - want) / np.maximum(np.abs(got), np.abs(want))
    dev = dev[np.isfinite(dev)]
    return float(dev.max()) if dev.size else 0.0


def check_metric_attrs(c, ds):
    V = ds.variables
    for m in METRICS:
        for name in (m, m + "_stats"):
            if name not in V:
                continue
            v = V[name]
            fill = v.getncattr("_FillValue") if "_FillValue" in v.ncattrs() else None
            c.check(fill is not None and np.isnan(fill), f"{name}: _FillValue {fill!r}, expected NaN")
            for a in ("long_name", "units"):
                c.check(text_attr(v, a) is not None, f"{name}: attribute {a} missing")
    for name in ("n_ok", "steps_done"):
        if name in V:
            c.check(text_attr(V[name], "units") == "1", f"{name}: units {text_attr(V[name], 'units')!r}, expected '1'")
    if "params" in V:
        c.check(bool(text_attr(V["params"], "layout")), "params: attribute layout missing")
    # CF coordinates: every variable over record names step, every variable
    # over point the swept keys (xarray needs one of them to make a coordinate;
    # other CF tools read each variable's own)
    sweep = [n for n, v in V.items() if v.dimensions == ("point",) and not is_distance(n)]
    for name, v in V.items():
        if name in sweep or "point" not in v.dimensions:
            continue
        named = (text_attr(v, "coordinates") or "").split()
        want = (["step"] if "record" in v.dimensions else []) + sweep
        missing = [w for w in want if w not in named]
        c.check(not missing, f"{name}: attribute coordinates {' '.join(named)!r} lacks {missing}")


def check_measurements(c, ds, traj):
    """The measurements that come in families agree with each other: the top
    k eigenvalues descend from sharpness itself, the block traces sum to the
    trace, the smallest eigenvalue is at most the largest, and the
    near-support counts nest and count at least the minimising example."""
    V = ds.variables
    if "sharpness_top" in V:
        top = np.asarray(V["sharpness_top"][:], dtype=np.float64)
        if "sharpness" in traj:
            a, b = top[..., 0], traj["sharpness"]
            bad = ~((a == b) | (np.isnan(a) & np.isnan(b)))
            c.check(not bad.any(), lambda: "sharpness_top[..., 0] is not sharpness at "
                    f"{common.where(bad, TRAJ_DIMS)}")
        with np.errstate(invalid="ignore"):
            bad = np.any(np.diff(top, axis=-1) > 0, axis=-1)
        c.check(not bad.any(), lambda: f"sharpness_top not descending at {common.where(bad, TRAJ_DIMS)}")
    if "hessian_trace_blocks" in V and "hessian_trace" in traj:
        blocks = np.asarray(V["hessian_trace_blocks"][:], dtype=np.float64)
        names = (text_attr(V["hessian_trace_blocks"], "blocks") or "").split()
        c.check(len(names) == blocks.shape[-1], f"hessian_trace_blocks: attribute blocks names "
                f"{len(names)} blocks, the dimension has {blocks.shape[-1]}")
        total, have = np.nansum(blocks, axis=-1), np.any(np.isfinite(blocks), axis=-1)
        tr = traj["hessian_trace"]
        scale = np.nansum(np.abs(blocks), axis=-1) + np.abs(np.nan_to_num(tr))
        with np.errstate(invalid="ignore"):
            bad = have & ~(np.abs(total - tr) <= 1e-9 * scale + 1e-300)
        c.check(not bad.any(), lambda: "hessian_trace_blocks do not sum to hessian_trace at "
                f"{common.where(bad, TRAJ_DIMS)}")
        bad = have != np.isfinite(tr)
        c.check(not bad.any(), lambda: "hessian_trace_blocks and hessian_trace disagree on "
                f"which records were measured: {common.where(bad, TRAJ_DIMS)}")
    if "hessian_min_eigenvalue" in traj and "sharpness" in traj:
        lo, hi = traj["hessian_min_eigenvalue"], traj["sharpness"]
        with np.errstate(invalid="ignore"):
            bad = lo > hi + 1e-6 * np.maximum(1, np.abs(hi))
        c.check(not bad.any(), lambda: "hessian_min_eigenvalue above sharpness at "
                f"{common.where(bad, TRAJ_DIMS)}")
    if "params" in V and "param_norm" in traj:
        # the stored vectors are the ones param_norm measured: at the records
        # they were taken at (first_last: the first and the last, final: the
        # last), for the tasks that ended ok
        x = np.asarray(V["params"][:], dtype=np.float64)
        norm = traj["param_norm"]
        ok = np.asarray(V["status"][:]) == 0
        if x.ndim == 3:
            pairs = [(x, norm[:, :, -1])]
        elif "params_snapshot" in V["params"].dimensions:
            pairs = [(x[:, :, 0], norm[:, :, 0]), (x[:, :, 1], norm[:, :, -1])]
        else:
            pairs = [(x[:, :, r], norm[:, :, r]) for r in range(x.shape[2])]
        worst = 0.0
        for vec, want in pairs:
            got = np.sqrt(np.nansum(vec * vec, axis=-1))
            with np.errstate(invalid="ignore"):
                rel = np.abs(got - want) / np.maximum(np.abs(want), 1e-300)
            rel = np.where(ok & np.isfinite(want), rel, 0.0)
            worst = max(worst, float(np.max(rel)) if rel.size else 0.0)
        c.check(worst <= 1e-12, f"params: the stored vectors' norms differ from param_norm by "
                f"{worst:.3g} relative")
    counts = [traj.get(f"near_support_{j}") for j in (1, 2, 3)]
    if all(x is not None for x in counts):
        with np.errstate(invalid="ignore"):
            bad = (counts[0] < 1) | (counts[0] > counts[1]) | (counts[1] > counts[2])
            bad |= np.isfinite(counts[0]) & (counts[0] != np.round(counts[0]))
        c.check(not bad.any(), lambda: "near_support counts not whole numbers with 1 <= n_1 <= "
                f"n_2 <= n_3 at {common.where(bad, TRAJ_DIMS)}")


def check_xarray_coords(c, xds):
    """The README's selections work: step is a coordinate of every variable
    over record (swap_dims(record="step").sel(step=...)), and every swept key
    is a coordinate over point (swap_dims(point=key) for a one-key sweep,
    where(key == value, drop=True) for several)."""
    sweep = [n for n, v in xds.variables.items()
             if v.dims == ("point",) and n not in ("status",) and not is_distance(n)]
    for n in sweep:
        c.check(n in xds.coords, f"xarray: swept key {n} is not a coordinate")
    c.check("step" in xds.coords, "xarray: step is not a coordinate")
    if "step" in xds.coords and "train_loss" in xds:
        last = int(xds["step"].values[-1])
        picked = xds["train_loss"].swap_dims(record="step").sel(step=last)
        c.check(np.array_equal(picked.values, xds["train_loss"].isel(record=-1).values, equal_nan=True),
                "xarray: sel(step=last) is not the last record")
    if len(sweep) == 1 and len(np.unique(xds[sweep[0]].values)) == xds.sizes["point"]:
        key = sweep[0]
        value = xds[key].values[-1]
        picked = xds.swap_dims(point=key).sel({key: value})["status"]
        c.check(np.array_equal(picked.values, xds["status"].isel(point=-1).values),
                f"xarray: swap_dims(point={key!r}).sel({key}={value!r}) is not the last point")


def check_xarray(c, path):
    """xarray must read the file without complaint and with the stored dtypes
    (e.g. units "seconds" would turn wall_seconds into timedelta64)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with xr.open_dataset(path) as xds:
                xds.load()
                kinds = {n: xds[n].dtype for n in ["step", "wall_seconds"] + METRICS if n in xds.variables}
                check_xarray_coords(c, xds)
        except Exception as e:  # any failure here is a finding, not a crash
            kinds = {}
            c.fail(f"xarray.open_dataset fails: {type(e).__name__}: {e}")
    for n, dt in kinds.items():
        c.check(dt.kind in "if", f"xarray decodes {n} as {dt}, not as a number")
    c.check(not caught, lambda: "xarray.open_dataset warns: " +
            "; ".join(f"{w.category.__name__}: {w.message}" for w in caught))


def is_distance(name):
    """measure.compare's <metric>_distance (point): data, not a coordinate."""
    return name.endswith("_distance") and name.removesuffix("_distance") in METRICS


def check_compare(c, ds, stats):
    """measure.compare: <metric>_distance of each point recomputed from the
    stored means and 95% CIs (README "Comparing points"): the largest
    |mean - base mean| / sqrt(h^2 + h_base^2) over records where both are
    finite, h = (ci95_high - ci95_low) / 2; base = the first point with
    kappa = 1 under a scaling rule, else point 0."""
    try:
        ini = common.config(ds)
    except common.CheckError:
        return
    names = [x for x in ini.get("measure", "compare", fallback="").replace(",", " ").split() if x]
    V = ds.variables
    base = 0
    if "kappa" in V:
        kappa = np.asarray(V["kappa"][:], dtype=np.float64)
        ones = np.flatnonzero(kappa == 1)
        base = int(ones[0]) if len(ones) else 0
    mean_i, lo_i, hi_i = STATS.index("mean"), STATS.index("ci95_low"), STATS.index("ci95_high")
    for m in names:
        if m not in stats:
            c.check(m + "_distance" not in V, f"{m}_distance present although {m} is not recorded")
            continue
        if not c.check(m + "_distance" in V, f"{m}_distance missing although measure.compare names {m}"):
            continue
        c.check(int(V[m + "_distance"].getncattr("base_point")) == base,
                f"{m}_distance: base_point {V[m + '_distance'].getncattr('base_point')}, expected {base}")
        st = stats[m]  # (point, stat, record)
        got = np.asarray(V[m + "_distance"][:], dtype=np.float64)
        for p in range(st.shape[0]):
            mean, half = st[p, mean_i], (st[p, hi_i] - st[p, lo_i]) / 2
            bmean, bhalf = st[base, mean_i], (st[base, hi_i] - st[base, lo_i]) / 2
            ok = np.isfinite(mean) & np.isfinite(half) & np.isfinite(bmean) & np.isfinite(bhalf)
            if not ok.any():
                want = np.nan
            else:
                diff = np.abs(mean[ok] - bmean[ok])
                width = np.hypot(half[ok], bhalf[ok])
                with np.errstate(divide="ignore", invalid="ignore"):
                    d = np.where(diff == 0, 0.0, np.where(width > 0, diff / width, np.inf))
                want = float(d.max())
            same = (np.isnan(want) and np.isnan(got[p])) or np.isclose(got[p], want, rtol=1e-12, atol=0) \
                or (np.isinf(want) and got[p] == want)
            c.check(same, f"{m}_distance point {p}: {got[p]}, recomputed {want}")


def check_file(path, want_points=None, want_seeds=None, allow_not_run=False, allow_no_ok=False, rtol=RTOL):
    c = common.Report("check_output")
    ds = netCDF4.Dataset(path)
    ds.set_auto_mask(False)
    info = {}
    try:
        dims = {name: len(d) for name, d in ds.dimensions.items()}
        if not check_structure(c, ds, dims, want_points, want_seeds):
            return c, info  # nothing below makes sense without the schema
        V = ds.variables
        labels = [str(s) for s in V["stat"][:]]
        c.check(labels == STATS, f"stat labels {labels}, expected {STATS}")
        check_globals(c, ds)
        cfg = check_config(c, ds, dims)
        steps_cfg, reference, model_kind, point_steps = cfg if cfg else (None, "svm", "mlp", None)
        check_metric_attrs(c, ds)
        traj = {m: np.asarray(V[m][:], dtype=np.float64) for m in METRICS if m in V}
        stats = {m: np.asarray(V[m + "_stats"][:], dtype=np.float64) for m in METRICS if m + "_stats" in V}
        check_tasks(c, ds, dims, steps_cfg, reference, model_kind, traj, allow_not_run, allow_no_ok,
                    point_steps)
        check_measurements(c, ds, traj)
        check_log_pair(c, "train_loss", traj["train_loss"], traj["train_log_loss"])
        if "test_loss" in traj:
            check_log_pair(c, "test_loss", traj["test_loss"], traj["test_log_loss"])
        if labels == STATS:
            info["max_rel_dev"] = check_stats(c, traj, stats, rtol)
            check_compare(c, ds, stats)
    finally:
        ds.close()
    check_xarray(c, path)
    return c, info


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", metavar="FILE")
    ap.add_argument("--points", type=int, help="expected number of sweep points")
    ap.add_argument("--seeds", type=int, help="expected number of seeds")
    ap.add_argument("--allow-not-run", action="store_true",
                    help="accept not_run tasks (a --slice file, or a merge with slices missing)")
    ap.add_argument("--allow-no-ok", action="store_true",
                    help="accept a file in which no task ended ok (e.g. every task diverged)")
    ap.add_argument("--rtol", type=float, default=RTOL,
                    help="relative tolerance of the recomputed statistics (default %(default)g)")
    args = ap.parse_args()
    problems = contract.self_test()
    if problems:
        for p in problems:
            print(f"check_output: FAIL: statistics contract self-test: {p}")
        return 1
    worst = 0
    for path in args.files:
        if not os.path.isfile(path):
            print(f"check_output: no such file: {path}", file=sys.stderr)
            worst = max(worst, 2)
            continue
        t0 = time.time()
        try:
            c, info = check_file(path, args.points, args.seeds, args.allow_not_run, args.allow_no_ok, args.rtol)
        except OSError as e:
            print(f"check_output: cannot read {path} as NetCDF: {e}", file=sys.stderr)
            worst = max(worst, 2)
            continue
        except Exception:  # a checker bug: say so, never as a verdict on the file
            traceback.print_exc()
            print(f"check_output: ERROR (the checker crashed) {path}")
            worst = max(worst, 3)
            continue
        extra = f" {path}"
        if len(args.files) > 1:  # every line names its file
            c.prog, extra = f"check_output: {path}", ""
        if "max_rel_dev" in info:
            extra += f"{';' if extra else ''} statistics recomputed, largest relative deviation {info['max_rel_dev']:.3g}"
        extra += f"; {time.time() - t0:.1f} s"
        if c.finish(extra) and worst == 0:
            worst = 1
    return worst


if __name__ == "__main__":
    sys.exit(main())
