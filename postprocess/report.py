#!/usr/bin/python3
"""A static report of one or more biaslab output files: figures of every
phenomenon the files show, with the theory's lines, tables of final values,
and where the runs came from.

  /usr/bin/python3 postprocess/report.py FILE.nc [FILE.nc ...] -o DIR
      [--stat mean|median|iqm] [--allow KEY]...

Writes DIR/index.html and DIR/report.md (the same content), the figures
DIR/fig_<phenomenon>.png beside them and each run's resolved config as
DIR/<label>.config.ini. The HTML is one static page: no script, no server,
nothing fetched from the network.

Figures. A phenomenon is drawn when a file holds the metrics it needs and
its config condition holds at one point at least (a point is the base config
with that point's swept values). Each figure plots, per sweep point, the
--stat across seeds (default the mean) with a 95% band against the step,
the theory's values (black dashed: one value; dotted in a point's colour:
a value per point, e.g. the mean over seeds of margin_best), and, where
they tell something, each seed faintly (× where a seed diverged). --stat
mean draws the bootstrap CI of the mean the file stores; median and iqm
draw a percentile bootstrap computed here from the per-seed trajectories
(2000 resamples, fixed seed; see postprocess/biaslab_nc.py).

Adding a phenomenon is one entry of PHENOMENA below: the metrics it needs,
a condition on a point's config, its panels (metric, log axes, per-seed
traces) and their theory lines.

Several files. Their points are drawn side by side, labelled by file. Files
are comparable when their resolved configs agree on every key except
  - the keys swept in any of them (each point is labelled with its values),
  - what names or schedules the run and not what it computes:
    experiment.name, experiment.output, experiment.checkpoint_seconds,
    experiment.progress_seconds, parallel.group_size, parallel.blas_threads,
  - the sample: experiment.seeds and experiment.first_seed (the tables give
    the number of seeds behind every value),
  - keys named with --allow KEY (then also shown in the point labels).
Anything else (another model, data set, loss, number of steps or
measurement) is refused with exit 2, naming the keys that differ.

Exit codes: 0 written; 1 cannot write DIR; 2 bad arguments, a file that is
not a biaslab output, or files that are not comparable.
"""
import argparse
import datetime
import html
import os
import re
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")  # no display on compute nodes
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import biaslab_nc as bnc  # noqa: E402

# Keys that may differ between the files of one report (see the docstring).
MAY_DIFFER = ("experiment.name", "experiment.output", "experiment.checkpoint_seconds",
              "experiment.progress_seconds", "experiment.seeds", "experiment.first_seed",
              "parallel.group_size", "parallel.blas_threads")


# ---------------------------------------------------------------------------
# The phenomena. Each entry says what it needs and what to draw.
# ---------------------------------------------------------------------------

class Line:
    """A theory line on a panel.

    y=NUMBER (or x=NUMBER for a vertical line): one black dashed line.
    y=FUNCTION(point) (or x=...): one dotted line per point in its colour;
      the function returns None where the line does not apply.
    metric=NAME: another metric measured along the run that the theory
      predicts this one to follow (e.g. equilibrium_norm for trained_norm),
      drawn dashed in the point's colour (its --stat, no band)."""

    def __init__(self, label, y=None, x=None, metric=None):
        self.label, self.y, self.x, self.metric = label, y, x, metric


class Panel:
    """One axes of a figure: a metric against the step (kind "step"), or a
    value per point against a per-point quantity (kind "points": x and y
    are functions of a point, xlabel and ylabel their names)."""

    def __init__(self, metric=None, logx=False, logy=False, traces=False, theory=(), optional=False,
                 kind="step", x=None, y=None, xlabel="", ylabel=""):
        self.metric, self.logx, self.logy, self.traces = metric, logx, logy, traces
        self.theory, self.optional, self.kind = tuple(theory), optional, kind
        self.x, self.y, self.xlabel, self.ylabel = x, y, xlabel, ylabel


class Phenomenon:
    def __init__(self, id, title, cite, needs, when, about, panels):
        self.id, self.title, self.cite, self.needs = id, title, cite, tuple(needs)
        self.when, self.about, self.panels = when, about, tuple(panels)


def outcome_mean(name):
    """Theory value per point: the mean over the point's tasks of a per-task outcome (e.g. margin_best)."""
    def value(pt):
        v = pt.per_seed(name)
        return float(np.mean(v)) if len(v) else None
    return value


def leaky_slope(pt):
    """s of φ(z) = max(z, s·z): 0 for relu, the slope for leaky_relu, 1 for identity."""
    return {"relu": 0.0, "identity": 1.0}.get(pt.get("model.activation"), pt.num("model.leaky_slope"))


def symmetric_line(pt):
    """(1+s)/4 · γ_SVM, the max normalized margin of a two-layer net on symmetric data, mean over seeds."""
    v = pt.per_seed("svm_margin")
    return float(np.mean((1 + leaky_slope(pt)) / 4 * v)) if len(v) else None


def symmetric_ratio(pt):
    """(1+s)/4 · γ_SVM / margin_best, mean over seeds: where the symmetric-data line sits in margin_ratio."""
    g, best = pt.per_seed("svm_margin", keep_nan=True), pt.per_seed("margin_best", keep_nan=True)
    r = (1 + leaky_slope(pt)) / 4 * g / best
    r = r[np.isfinite(r)]
    return float(np.mean(r)) if len(r) else None


def fit_step(pt):
    """The first recorded step at which every seed fits the training set (train_acc stat = 1)."""
    if "train_acc" not in pt.run.metrics:
        return None
    acc = bnc.stat_values(pt.run.ds, "train_acc", "min")[pt.index]
    hit = np.nonzero(acc >= 1)[0]
    return float(pt.run.step[hit[0]]) if len(hit) and pt.run.step[hit[0]] > 0 else None


def is_scale_invariant_wd(pt):
    return pt.get("model.kind") == "mlp" and pt.flag("model.normalize") and pt.num("optim.weight_decay") > 0


def kappa(pt):
    """κ = batch_size / base_batch_size of a point under a scaling rule."""
    return pt.num("optim.batch_size") / pt.num("optim.base_batch_size")


def resolved_lr(pt):
    """The point's learning rate after its scaling rule (SCIENCE.md §5)."""
    rule, lr = pt.get("optim.scaling_rule"), pt.num("optim.lr")
    return lr * kappa(pt) if rule == "linear" else lr * np.sqrt(kappa(pt)) if rule == "sqrt" else lr


def frozen_v_loss(pt):
    """E f of Adam on the noisy quadratic with its second moment frozen at σ_B²:
    each coordinate's stationary f_i is η σ_B / 4 whatever h_i, so E f = width · η σ_B / 4
    (η and σ_B = noise/√B of the point); None off that model."""
    if pt.get("model.kind") != "noisy_quadratic" or pt.get("optim.kind") not in ("adam", "adamw", "rmsprop"):
        return None
    sigma_b = pt.num("model.noise") / np.sqrt(pt.num("optim.batch_size"))
    return pt.num("model.width") * resolved_lr(pt) * sigma_b / 4


PHENOMENA = [
    Phenomenon(
        id="sharpness_reduction",
        title="Edge of stability and sharpness reduction",
        cite="Lyu, Li, Arora 2022; SCIENCE.md §4",
        needs=("eta_sharpness",),
        when=is_scale_invariant_wd,
        about="With layer normalization (the loss is scale-invariant in the trained weights w) and weight "
              "decay, gradient descent shrinks ‖w‖ until lr·λ₁(∇²L), the learning rate times the top Hessian "
              "eigenvalue, reaches 2 (the edge of stability) and hovers there; the direction then drifts so "
              "that the spherical sharpness ‖w‖²·λ₁ keeps falling. Look for eta_sharpness rising to the "
              "line at 2 and staying near it (a seed now and then jumps away and comes back: a catapult, "
              "seen in the faint per-seed traces), spherical_sharpness falling by orders of magnitude, and "
              "‖w‖ approaching its equilibrium (η Ĝ/(λ(2−ηλ)))^¼.",
        panels=(
            Panel("eta_sharpness", logy=True, traces=True, theory=(Line("2: edge of stability, lr·λ₁ = 2", y=2),)),
            Panel("spherical_sharpness", logy=True, traces=True, optional=True),
            Panel("trained_norm", optional=True, theory=(
                Line("equilibrium_norm (η Ĝ/(λ(2−ηλ)))^¼, measured at each record", metric="equilibrium_norm"),)),
        )),
    Phenomenon(
        id="edge_of_stability",
        title="Sharpness and the edge of stability",
        cite="SCIENCE.md §4",
        needs=("eta_sharpness",),
        when=lambda pt: pt.get("model.kind") != "quadratic" and not is_scale_invariant_wd(pt),
        about="Gradient descent with learning rate η is stable on a quadratic only while η·λ₁ < 2; on a "
              "network the sharpness λ₁ tends to rise until η·λ₁ reaches 2. Look for eta_sharpness "
              "against the line at 2, and the sharpness against 2/η.",
        panels=(
            Panel("eta_sharpness", logy=True, traces=True, theory=(Line("2: edge of stability, lr·λ₁ = 2", y=2),)),
            Panel("sharpness", traces=True, theory=(
                Line("2/lr (per point)",
                     y=lambda pt: 2 / pt.num("optim.lr") if pt.get("optim.schedule") == "constant" else None),)),
        )),
    Phenomenon(
        id="quadratic_divergence",
        title="Gradient descent on a quadratic: divergence exactly when lr·λ_max > 2",
        cite="SCIENCE.md §4",
        needs=("train_log_loss",),
        when=lambda pt: pt.get("model.kind") == "quadratic",
        about="On ½θᵀAθ gradient descent multiplies the component along an eigenvector of eigenvalue λ by "
              "(1 − lr·λ) each step: it converges when lr·λ_max < 2 and diverges when lr·λ_max > 2 "
              "(λ_max = model.eig_max). Look for the per-seed losses falling below the threshold and "
              "blowing up above it (their traces end with × where biaslab marked the divergence), and "
              "for the fraction of diverged seeds jumping from 0 to 1 at the line lr·λ_max = 2.",
        panels=(
            Panel("train_log_loss", traces=True),
            Panel("eta_sharpness", optional=True, theory=(Line("2: divergence threshold lr·λ_max = 2", y=2),)),
            Panel(kind="points", x=lambda pt: pt.num("optim.lr") * pt.num("model.eig_max"),
                  y=lambda pt: pt.status_fraction("diverged"),
                  xlabel="lr·λ_max (optim.lr × model.eig_max)", ylabel="fraction of seeds diverged",
                  theory=(Line("2: divergence threshold lr·λ_max = 2", x=2),)),
        )),
    Phenomenon(
        id="svm_direction",
        title="Linear model: the direction converges to the hard-margin SVM",
        cite="Soudry et al. 2018; SCIENCE.md §1",
        needs=("svm_cosine",),
        when=lambda pt: pt.get("model.kind") == "linear",
        about="On separable data, gradient descent on a linear model with the logistic or exponential "
              "loss converges in direction to the hard-margin SVM (computed by biaslab's own solver, "
              "independent of training): svm_cosine → 1 and the normalized margin → γ_SVM, slowly "
              "(margin gap O(1/log t)), hence the log step axis.",
        panels=(
            Panel("svm_cosine", logx=True, theory=(Line("1: the SVM direction w_SVM", y=1),)),
            Panel("margin_ratio", logx=True, traces=True,
                  theory=(Line("1: margin_ratio = normalized_margin/γ_SVM reaches 1", y=1),)),
            Panel("normalized_margin", logx=True,
                  theory=(Line("margin_best = γ_SVM (mean over seeds)", y=outcome_mean("margin_best")),)),
        )),
    Phenomenon(
        id="two_layer_margin",
        title="Two-layer nets: maximum margin and simplicity bias",
        cite="Lyu, Li, Wang, Arora 2021; SCIENCE.md §2",
        needs=("margin_ratio",),
        when=lambda pt: pt.get("model.kind") == "mlp" and pt.num("model.depth") == 2,
        about="A bias-free two-layer (leaky-)ReLU net from small initialization on symmetric data "
              "converges to a linear classifier with the global max normalized margin (1+s)/4·γ_SVM, "
              "with a rank-one first layer along w_SVM. margin_best is the file's best normalized "
              "margin per task: (1+s)/4·γ_SVM, or, for data in a plane, the exact optimum over all "
              "two-layer nets (LP), which the symmetric-data line can fall below. Look for "
              "margin_ratio → 1, stable_rank → 1 and svm_cosine → 1; on asymmetric data, seeds that "
              "stop below 1 (a sub-optimal linear classifier) are visible as separate faint traces.",
        panels=(
            Panel("normalized_margin", logx=True, theory=(
                Line("margin_best (mean over seeds)", y=outcome_mean("margin_best")),
                Line("(1+s)/4·γ_SVM from svm_margin (mean over seeds)", y=symmetric_line))),
            Panel("margin_ratio", logx=True, traces=True, theory=(
                Line("1: margin_best reached", y=1),
                Line("(1+s)/4·γ_SVM / margin_best (mean over seeds)", y=symmetric_ratio))),
            Panel("stable_rank", logx=True, logy=True, optional=True, theory=(Line("1: rank one", y=1),)),
            Panel("svm_cosine", logx=True, optional=True, theory=(Line("1: along w_SVM", y=1),)),
        )),
    Phenomenon(
        id="margin_rise",
        title="The normalized margin keeps rising after the data are fit",
        cite="Lyu & Li 2020; SCIENCE.md §1",
        needs=("normalized_margin",),
        when=lambda pt: (pt.get("model.kind") in ("linear", "mlp") and not pt.flag("model.bias")
                         and not pt.flag("model.normalize")
                         and pt.get("loss.kind") != "squared" and not pt.has("margin_ratio")),
        about="For a homogeneous (bias-free) network, once the training loss is below ℓ(0) gradient "
              "descent keeps increasing the smoothed normalized margin γ̃ = ℓ⁻¹(𝓛)/‖θ‖^L, a lower bound "
              "of the normalized margin γ̄ = q_min/‖θ‖^L, and converges in direction to a KKT point of "
              "the max-margin problem, slowly: hence the log step axis. Look for γ̄ rising long after "
              "the step at which every seed fits the training set (the dotted vertical line), with γ̃ "
              "below it.",
        panels=(
            Panel("normalized_margin", logx=True, theory=(
                Line("smoothed_margin γ̃ (≤ γ̄, non-decreasing after the fit)", metric="smoothed_margin"),
                Line("every seed fits the training set (train_acc = 1)", x=fit_step))),
            Panel("param_norm", logx=True, logy=True, optional=True),
        )),
    Phenomenon(
        id="grokking",
        title="Grokking: the kernel regime first, the rich regime after t* = ln α / (ηλ)",
        cite="Lyu, Jin, Li, Du, Lee, Hu 2024; SCIENCE.md §3",
        needs=("test_acc",),
        when=lambda pt: pt.get("model.kind") == "diag_linear",
        about="With a large initialization ‖θ₀‖ = α and a small weight decay λ, gradient descent first fits "
              "the training set like the kernel (max-L2-margin) predictor, while ‖θ‖ decays as (1 − ηλ)^k; "
              "around t* = ln α / (ηλ) (dotted, per point) the net turns to the max-L1-margin (rich-regime) "
              "solution. Look for train_acc at 1 early and test_acc near chance until t*, then rising to 1 "
              "(grokking) or, on misgrok data, falling (misgrokking); l2_cosine falling and l1_cosine rising "
              "through t*; and grok_step against t* across points on a line of slope about 1.",
        panels=(
            Panel("test_acc", logx=True, traces=True, theory=(Line("t* = ln α / (ηλ)", x=outcome_mean("t_star")),)),
            Panel("train_acc", logx=True, optional=True, theory=(Line("t* = ln α / (ηλ)", x=outcome_mean("t_star")),)),
            Panel("l2_cosine", logx=True, optional=True),
            Panel("l1_cosine", logx=True, optional=True),
            Panel("param_norm", logx=True, logy=True, optional=True),
            Panel(kind="points", x=outcome_mean("t_star"), y=outcome_mean("grok_step"),
                  xlabel="t* = ln α / (ηλ) (steps)", ylabel="grok_step, mean over seeds"),
        )),
    Phenomenon(
        id="grokking_matrix",
        title="Grokking in matrix completion: the kernel plateau, then a low-rank completion after t*",
        cite="Lyu, Jin, Li, Du, Lee, Hu 2024; SCIENCE.md §3",
        needs=("test_mse",),
        when=lambda pt: pt.get("model.kind") == "factorization",
        about="W = UUᵀ − VVᵀ started at U = V = αI fits the observed entries at once like the kernel "
              "predictor (the observed entries and their transposes, 0 elsewhere), so the test MSE sits on "
              "kernel_test_mse (dotted, per point) while ‖θ‖ decays as (1 − ηλ)^k; around t* = ln α / (ηλ) "
              "(dotted) it falls as W turns low rank and ‖θ‖² approaches the target's nuclear norm "
              "‖X*‖_* (target_nuclear_norm, dotted on the nuclear_norm panel). Look for the plateau on the kernel line, the drop after t*, "
              "effective_rank falling to about 1 and nuclear_norm settling at ‖X*‖_*.",
        panels=(
            Panel("test_mse", logx=True, logy=True, traces=True,
                  theory=(Line("t* = ln α / (ηλ)", x=outcome_mean("t_star")),
                          Line("kernel_test_mse (the kernel-regime predictor)", y=outcome_mean("kernel_test_mse")))),
            Panel("train_mse", logx=True, logy=True, optional=True),
            Panel("nuclear_norm", logx=True, optional=True,
                  theory=(Line("‖X*‖_* (target_nuclear_norm)", y=outcome_mean("target_nuclear_norm")),)),
            Panel("effective_rank", logx=True, optional=True),
            Panel("param_norm", logx=True, logy=True, optional=True),
        )),
    Phenomenon(
        id="scaling_rule",
        title="Scaling rules across batch sizes: curves at the same epochs",
        cite="Malladi, Lyu, Panigrahi, Arora 2022; SCIENCE.md §5–6",
        needs=("train_loss",),
        when=lambda pt: pt.get("optim.scaling_rule") in ("linear", "sqrt"),
        about="Each point is the base configuration moved to a batch size κ times larger by its rule "
              "(linear: η → κη; sqrt: η → √κ η, 1 − β → κ(1 − β), ε → ε/√κ), for the same epochs; the "
              "step axis is the base batch's, so every point's records fall at the same examples seen. A "
              "rule that keeps the SDE fixed keeps the curves on top of each other within their bands. "
              "On the noisy quadratic the dotted lines are Adam's frozen-second-moment prediction "
              "E f = width·η σ_B/4 per point: constant under the sqrt rule, growing as √κ under the "
              "linear one.",
        panels=(
            Panel("train_loss", logy=True, theory=(Line("frozen-v prediction width·η σ_B / 4", y=frozen_v_loss),)),
            Panel("test_loss", logy=True, optional=True),
        )),
    Phenomenon(
        id="training",
        title="Training and test losses and accuracies",
        cite="",
        needs=("train_log_loss",),
        when=lambda pt: pt.get("model.kind") != "quadratic",
        about="How the fit proceeds: the natural log of the training loss (exact far below 1e-308), "
              "and the training and test accuracies when the data have class labels.",
        panels=(
            Panel("train_log_loss", logx=True),
            Panel("train_acc", logx=True, optional=True),
            Panel("test_acc", logx=True, optional=True),
        )),
]


# ---------------------------------------------------------------------------
# Files and points
# ---------------------------------------------------------------------------

class Point:
    """One sweep point of one file: its resolved config and per-task outcomes."""

    def __init__(self, run, index):
        self.run, self.index = run, index
        self.cfg = dict(run.cfg)
        for var in run.sweep_vars:  # the point's swept values, at full precision
            v = run.ds[var].values[index]
            if isinstance(v, (float, np.floating)):
                v = str(int(v)) if float(v).is_integer() and abs(v) < 2**53 else repr(float(v))
            self.cfg[bnc.variable_key(var)] = bnc.fmt_value(v)
        self.status = run.ds["status"].values[index]
        self.ran = self.status != bnc.NOT_RUN
        self.label = ""
        self.color = None

    def get(self, key):
        return self.cfg.get(key, "")

    def num(self, key):
        try:
            return float(self.cfg[key])
        except (KeyError, ValueError):
            return float("nan")

    def flag(self, key):
        return self.cfg.get(key) == "true"

    def has(self, metric):
        """The file holds metric and it was measured at this point."""
        return metric in self.run.metrics and bool(np.isfinite(self.run.traj(metric)[self.index]).any())

    def per_seed(self, name, keep_nan=False):
        """A per-task outcome (point, seed) over the tasks that ran; finite values only unless keep_nan."""
        if name not in self.run.ds:
            return np.array([])
        v = self.run.ds[name].values[self.index][self.ran].astype(float)
        return v if keep_nan else v[np.isfinite(v)]

    def status_fraction(self, meaning):
        k = bnc.STATUS_MEANINGS.index(meaning)
        n = int(self.ran.sum())
        return float((self.status[self.ran] == k).sum()) / n if n else None


class Run:
    def __init__(self, path, ds):
        self.path, self.ds = path, ds
        self.label = os.path.splitext(os.path.basename(path))[0]
        self.cfg, self.sweep = bnc.parse_config(ds.attrs.get("config", ""))
        self.sweep_vars = bnc.sweep_variables(ds)
        self.metrics = bnc.metrics(ds)
        self.step = ds["step"].values.astype(float)
        self.points = [Point(self, p) for p in range(ds.sizes["point"])]
        self._traj, self._band = {}, {}

    def traj(self, metric):
        if metric not in self._traj:
            self._traj[metric] = self.ds[metric].values.astype(float)
        return self._traj[metric]

    def band(self, metric, stat):
        if (metric, stat) not in self._band:
            self._band[(metric, stat)] = bnc.center_and_band(self.ds, metric, stat)
        return self._band[(metric, stat)]


def comparability(runs, allowed):
    """The keys that label points across files (swept or allowed to differ); UsageError when the
    files differ in any other key."""
    swept = []
    for r in runs:
        for var in r.sweep_vars:
            key = bnc.variable_key(var)
            if key not in swept:
                swept.append(key)
    if len(runs) == 1:
        return swept, []
    keys = []
    for r in runs:
        keys += [k for k in r.cfg if k not in keys]
    differing, shown = [], []
    for k in keys:
        values = [r.cfg.get(k, "(absent)") for r in runs]
        if len(set(values)) == 1 or k in swept or k in MAY_DIFFER:
            continue
        if k in allowed:
            shown.append(k)
            continue
        differing.append(f"  {k}: " + ", ".join(f"{r.label} {v!r}" for r, v in zip(runs, values)))
    if differing:
        shown_lines = differing[:12] + ([f"  ... and {len(differing) - 12} more"] if len(differing) > 12 else [])
        raise bnc.UsageError(
            f"the files are not comparable: {len(differing)} config key(s) differ that no file sweeps:\n"
            + "\n".join(shown_lines)
            + "\nFiles of one report may differ only in swept keys, " + ", ".join(MAY_DIFFER)
            + " and keys named with --allow KEY.")
    return swept, shown


def label_points(runs, label_keys):
    """Point labels: the file (with several files), then the values of the label keys."""
    for r in runs:
        for pt in r.points:
            parts = []
            for key in label_keys:
                if key in pt.cfg:
                    v = pt.cfg[key]
                    try:
                        v = f"{float(v):g}"
                    except ValueError:
                        pass
                    parts.append(f"{key.replace('.', '_', 1)}={v}")
            text = ", ".join(parts)
            pt.label = (f"{r.label}: {text}" if text else r.label) if len(runs) > 1 else (text or "all")


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------

def applicable_points(ph, runs):
    pts = []
    for r in runs:
        for pt in r.points:
            if pt.ran.any() and all(pt.has(m) for m in ph.needs) and ph.when(pt):
                pts.append(pt)
    return pts


def panel_present(panel, pts):
    if panel.kind == "points":
        return len(pts) > 0
    return any(pt.has(panel.metric) for pt in pts)


def theory_value(spec, pt):
    if spec is None:
        return None
    v = spec(pt) if callable(spec) else spec
    return None if v is None or not np.isfinite(v) else float(v)


DIVERGED = "× a seed diverged (where its trace ends)"


def draw_step_panel(ax, panel, pts, stat, notes):
    m = panel.metric
    drawn_labels = set()

    def label_once(text):
        if text in drawn_labels:
            return None
        drawn_labels.add(text)
        return text

    for pt in pts:
        if not pt.has(m):
            continue
        r, p = pt.run, pt.index
        center, low, high, _ = r.band(m, stat)
        keep = r.step > 0 if panel.logx else np.ones(r.step.shape, bool)
        x = r.step[keep]
        few = len(x) <= 15  # a handful of records: mark them, a single one would draw nothing
        ax.plot(x, center[p, keep], color=pt.color, lw=1.6, label=pt.label, marker="o" if few else None, ms=3)
        ax.fill_between(x, low[p, keep], high[p, keep], color=pt.color, alpha=0.2, lw=0)
        if panel.traces:
            traj = r.traj(m)[p]
            for s in np.nonzero(pt.ran)[0]:
                y = traj[s, keep]
                ax.plot(x, y, color=pt.color, lw=0.6, alpha=0.35)
                if pt.status[s] == 1:  # diverged: mark where its trajectory ends
                    last = bnc.last_known(y)
                    if last >= 0:
                        ax.plot(x[last], y[last], "x", color=pt.color, ms=5, mew=1.2)
                        if label_once(DIVERGED) is not None:  # a neutral legend entry
                            ax.plot([], [], "x", color="0.3", ms=5, mew=1.2, label=DIVERGED)
    for line in panel.theory:
        if line.metric is not None:
            values = []
            for pt in pts:
                if not pt.has(line.metric):
                    continue
                r, p = pt.run, pt.index
                keep = r.step > 0 if panel.logx else np.ones(r.step.shape, bool)
                c = r.band(line.metric, stat)[0][p]
                ax.plot(r.step[keep], c[keep], color=pt.color, lw=1.1, ls="--", label=label_once(line.label))
                last = bnc.last_known(c)
                values.append((pt, c[last] if last >= 0 else float("nan")))
            if values:
                notes.append(f"{m}: {line.label}; its final {stat}: "
                             + ", ".join(f"{pt.label} {bnc.fmt_num(v)}" for pt, v in values))
            continue
        add_reference_line(ax, line, pts, notes, m, label_once)


def add_reference_line(ax, line, pts, notes, what, label_once):
    spec, vertical = (line.x, True) if line.x is not None else (line.y, False)
    draw = ax.axvline if vertical else ax.axhline
    if not callable(spec):
        draw(float(spec), color="black", ls="--", lw=1.1, label=label_once(line.label))
        notes.append(f"{what}: {line.label} (value {bnc.fmt_num(float(spec))})")
        return
    values = [(pt, theory_value(spec, pt)) for pt in pts]
    values = [(pt, v) for pt, v in values if v is not None]
    if not values:
        return
    same = all(abs(v - values[0][1]) <= 1e-12 * max(1.0, abs(values[0][1])) for _, v in values)
    if same:  # one value for every point (e.g. a sweep that leaves the data alone): one line
        draw(values[0][1], color="0.25", ls=":", lw=1.4)
    else:
        for pt, v in values:
            draw(v, color=pt.color, ls=":", lw=1.4)
    if label_once(line.label) is not None:  # a neutral legend entry for the per-point lines
        ax.plot([], [], color="0.25", ls=":", lw=1.4, label=line.label)
    notes.append(f"{what}: {line.label}: " + (f"{bnc.fmt_num(values[0][1])} at every point" if same and len(values) > 1
                                              else ", ".join(f"{pt.label} {bnc.fmt_num(v)}" for pt, v in values)))


def draw_points_panel(ax, panel, pts, notes):
    drawn = set()

    def label_once(text):
        if text in drawn:
            return None
        drawn.add(text)
        return text

    xs, ys = [], []
    for pt in pts:
        x, y = theory_value(panel.x, pt), theory_value(panel.y, pt)
        if x is None or y is None:
            continue
        ax.plot(x, y, "o", color=pt.color, ms=7)
        xs.append(x), ys.append(y)
    for line in panel.theory:
        add_reference_line(ax, line, pts, notes, panel.ylabel, label_once)
    ax.set_xlabel(panel.xlabel, fontsize=9)
    ax.set_ylabel(panel.ylabel, fontsize=9)
    if panel.ylabel.startswith("fraction"):
        ax.set_ylim(-0.05, 1.05)


def metric_title(ds, metric):
    long = ds[metric].attrs.get("long_name", metric)
    return metric if long == metric else f"{metric}: {long}"


def draw_figure(ph, pts, stat, path):
    panels = [pn for pn in ph.panels if panel_present(pn, pts)]
    n = len(panels)
    cols = 1 if n == 1 else 2
    rows = (n + cols - 1) // cols
    fig = plt.figure(figsize=(5.6 * cols, 3.7 * rows + 1.0), constrained_layout=True)
    # the last row holds the legend (matplotlib 3.6 lays out axes legends, not figure legends)
    gs = fig.add_gridspec(rows + 1, cols, height_ratios=[1] * rows + [0.25])
    axes = [fig.add_subplot(gs[i // cols, i % cols]) for i in range(n)]
    legend_ax = fig.add_subplot(gs[rows, :])
    legend_ax.axis("off")
    notes = []
    for ax, pn in zip(axes, panels):
        if pn.kind == "points":
            draw_points_panel(ax, pn, pts, notes)
            ax.set_title(f"{pn.ylabel} per point", fontsize=9)
        else:
            draw_step_panel(ax, pn, pts, stat, notes)
            ds = next(pt.run.ds for pt in pts if pt.has(pn.metric))
            ax.set_title(metric_title(ds, pn.metric), fontsize=9, wrap=True)
            ax.set_xlabel("step", fontsize=9)
            ax.set_ylabel(f"{pn.metric} ({stat})", fontsize=9)
            if pn.logx:
                ax.set_xscale("log")
            if pn.logy:
                ax.set_yscale("log", nonpositive="mask")
                low, high = ax.get_ylim()
                if high / low < 30:  # a narrow log axis: plain numbers, not 6×10^0
                    plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")
                    ax.yaxis.set_major_formatter(plain)
                    ax.yaxis.set_minor_formatter(plain)
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=8)
    handles, labels, seen = [], [], set()
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in seen and not lab.startswith("_"):
                seen.add(lab)
                handles.append(h), labels.append(lab)
    point_names = [pt.label for pt in pts]  # the points first, in order, then the theory entries
    order = sorted(range(len(labels)), key=lambda i: (labels[i] not in point_names,
                                                       point_names.index(labels[i]) if labels[i] in point_names else i))
    handles, labels = [handles[i] for i in order], [labels[i] for i in order]
    # as many legend columns as the longest label leaves room for (7.5 pt text: ~0.06 in a character)
    labels = [textwrap.fill(lab, 70) for lab in labels]
    longest = max([max(len(x) for x in lab.split("\n")) for lab in labels] or [1])
    fit = max(1, int(5.6 * cols // (0.06 * longest + 0.6)))
    ncol = min(3 if cols > 1 else 2, max(1, len(labels)), fit)
    legend_rows = sum(lab.count("\n") + 1 for lab in labels[::ncol]) if labels else 1
    gs.set_height_ratios([1] * rows + [(0.17 * max(1, legend_rows) + 0.15) / 3.7])
    fig.set_figheight(3.7 * rows + 0.17 * max(1, legend_rows) + 0.6)
    legend_ax.legend(handles, labels, loc="center", ncol=ncol, fontsize=7.5, frameon=False)
    fig.suptitle(ph.title, fontsize=11)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return [pn.metric or pn.ylabel for pn in panels], notes


# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------

def outcome_rows(pt):
    """The per-task outcomes of a point: flags as counts, numbers as mean, min, max."""
    ds, rows = pt.run.ds, []
    counts = ", ".join(f"{m} {int(((pt.status == k) & pt.ran).sum()) if m != 'not_run' else int((~pt.ran).sum())}"
                       for k, m in enumerate(bnc.STATUS_MEANINGS))
    rows.append(["status", counts, "", "", ""])
    for name in ds.data_vars:
        if ds[name].dims != ("point", "seed") or name == "status":
            continue
        var = ds[name]
        if "flag_meanings" in var.attrs:
            meanings = var.attrs["flag_meanings"].split()
            v = var.values[pt.index][pt.ran]
            text = ", ".join(f"{mn} {int((v == k).sum())}" for k, mn in enumerate(meanings) if (v == k).any())
            rows.append([name, text or "none", "", "", ""])
            continue
        v = pt.per_seed(name)
        units = var.attrs.get("units", "")
        label = name + (f" [{units}]" if units and units != "1" else "")
        if len(v):
            rows.append([label, "", bnc.fmt_num(np.mean(v)), bnc.fmt_num(np.min(v)), bnc.fmt_num(np.max(v))
                         + f" ({len(v)} task{'' if len(v) == 1 else 's'})"])
        else:
            rows.append([label, "not computed for any task", "", "", ""])
    return rows


def metric_rows(pt, stat):
    r, p = pt.run, pt.index
    rows = []
    for m in r.metrics:
        mean = bnc.stat_values(r.ds, m, "mean")[p]
        last = bnc.last_known(mean)
        if last < 0:
            rows.append([m, "-", "0", "not measured", "", ""] + ([""] if stat != "mean" else []))
            continue
        st = lambda name: bnc.stat_values(r.ds, m, name)[p, last]  # noqa: E731
        n = int(np.isfinite(r.traj(m)[p][:, last]).sum())
        row = [m, str(int(r.step[last])), str(n),
               f"{bnc.fmt_num(st('mean'))} [{bnc.fmt_num(st('ci95_low'))}, {bnc.fmt_num(st('ci95_high'))}]",
               bnc.fmt_num(st("median")), bnc.fmt_num(st("iqm"))]
        if stat != "mean":  # the bootstrap of this one cell only
            low, high = bnc.bootstrap_band(r.traj(m)[p][pt.ran][:, last:last + 1], stat)
            row.append(f"{bnc.fmt_num(st(stat))} [{bnc.fmt_num(low[0])}, {bnc.fmt_num(high[0])}]")
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------
# Provenance
# ---------------------------------------------------------------------------

def provenance(run, out_dir):
    a = run.ds.attrs
    source = str(a.get("source", ""))
    m = re.fullmatch(r"biaslab (\S+) \(git ([^)]+)\)", source)
    version, commit = (m.group(1), m.group(2)) if m else (source or "not recorded", "not recorded")
    wall = run.ds["wall_seconds"].values[run.ds["status"].values != bnc.NOT_RUN].astype(float)
    wall = wall[np.isfinite(wall)]
    ranks = a.get("mpi_ranks", "not recorded")
    history = str(a.get("history", ""))
    hm = re.match(r"\s*\S+Z: (.*)", history.splitlines()[0] if history else "")
    command = hm.group(1) if hm else history
    ini = f"{run.label}.config.ini"
    with open(os.path.join(out_dir, ini), "w") as f:
        f.write(str(a.get("config", "")))
    status = run.ds["status"].values
    totals = ", ".join(f"{mn} {int((status == k).sum())}" for k, mn in enumerate(bnc.STATUS_MEANINGS))
    rows = [
        ["file", os.path.abspath(run.path)],
        ["title", str(a.get("title", ""))],
        ["biaslab version", version],
        ["commit", commit],
        ["created", str(a.get("created", "not recorded"))],
        ["MPI ranks", str(ranks)],
        ["group size", str(a.get("group_size", "not recorded"))],
        ["BLAS", str(a.get("blas", "not recorded (a file from before biaslab stored it)"))],
        ["host", str(a.get("host", "not recorded"))],
        ["tasks", f"{run.ds.sizes['point']} points × {run.ds.sizes['seed']} seeds: {totals}"],
        ["wall time", (f"sum {wall.sum():.1f} s, max {wall.max():.2f} s over {len(wall)} tasks"
                       if len(wall) else "not recorded")],
        ["history", history],
    ]
    try:
        np_ranks = int(ranks)
    except (TypeError, ValueError):
        np_ranks = None
    launch = f"mpirun -np {np_ranks} " if np_ranks else ""
    reproduce = [
        f"{launch}{command}",
        "# or from the stored config (independent of later edits to the input file; add -o to choose the output):",
        f"{launch}bin/biaslab run {os.path.join(os.path.abspath(out_dir), ini)}",
    ]
    return rows, reproduce, ini, str(a.get("config", ""))


# ---------------------------------------------------------------------------
# Output: one list of blocks rendered to Markdown and to HTML
# ---------------------------------------------------------------------------

def md_cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks):
    out = []
    for b in blocks:
        kind = b[0]
        if kind == "h":
            out.append("#" * b[1] + " " + b[2])
        elif kind == "p":
            out.append(b[1])
        elif kind == "ul":
            out.append("\n".join(f"- {item}" for item in b[1]))
        elif kind == "table":
            header, rows = b[1], b[2]
            out.append("\n".join(["| " + " | ".join(md_cell(h) for h in header) + " |",
                                  "| " + " | ".join("---" for _ in header) + " |"]
                                 + ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]))
        elif kind == "img":
            out.append(f"![{b[2]}]({b[1]})\n\n*{b[3]}*")
        elif kind == "pre":
            out.append("```" + (b[2] if len(b) > 2 else "") + "\n" + b[1].rstrip("\n") + "\n```")
    return "\n\n".join(out) + "\n"


def inline_html(text):
    """Escape, then `code` spans."""
    parts = str(text).split("`")
    return "".join(f"<code>{html.escape(s)}</code>" if i % 2 else html.escape(s) for i, s in enumerate(parts))


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


CSS = """
body { font-family: sans-serif; max-width: 1180px; margin: 1.5em auto; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 1.6em; }
h3 { margin-top: 1.3em; } h4 { margin: 1em 0 .3em; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: .86em; }
th, td { border: 1px solid #ccc; padding: .2em .5em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; } tr:nth-child(even) td { background: #fafafa; }
img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figure { margin: .5em 0 1.5em; } figcaption { font-size: .88em; color: #444; }
pre { background: #f6f6f6; padding: .6em; overflow-x: auto; font-size: .85em; }
code { background: #f3f3f3; padding: 0 .2em; }
"""


def to_html(blocks, title):
    ids = {}

    def unique_id(text):  # headings repeat across files (e.g. "Config"): number the repeats
        base = slug(text)
        ids[base] = ids.get(base, 0) + 1
        return base if ids[base] == 1 else f"{base}-{ids[base]}"

    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{html.escape(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>"]
    for b in blocks:
        kind = b[0]
        if kind == "h":
            out.append(f'<h{b[1]} id="{unique_id(b[2])}">{inline_html(b[2])}</h{b[1]}>')
        elif kind == "p":
            out.append(f"<p>{inline_html(b[1])}</p>")
        elif kind == "ul":
            out.append("<ul>" + "".join(f"<li>{inline_html(i)}</li>" for i in b[1]) + "</ul>")
        elif kind == "table":
            header, rows = b[1], b[2]
            out.append("<table><thead><tr>" + "".join(f"<th>{inline_html(h)}</th>" for h in header)
                       + "</tr></thead><tbody>"
                       + "".join("<tr>" + "".join(f"<td>{inline_html(c)}</td>" for c in row) + "</tr>"
                                 for row in rows)
                       + "</tbody></table>")
        elif kind == "img":
            out.append(f'<figure><img src="{html.escape(b[1])}" alt="{html.escape(b[2])}">'
                       f"<figcaption>{inline_html(b[3])}</figcaption></figure>")
        elif kind == "pre" and len(b) > 3:  # long text: folded (a native element, no script)
            out.append(f"<details><summary>{inline_html(b[3])}</summary><pre>{html.escape(b[1])}</pre></details>")
        elif kind == "pre":
            out.append(f"<pre>{html.escape(b[1])}</pre>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------

def fail(message, code=2):
    print(f"report: {message}", file=sys.stderr)
    sys.exit(code)


def build(runs, out_dir, stat, label_keys, allowed_shown):
    blocks = []
    names = ", ".join(r.label for r in runs)
    title = f"biaslab report: {names}"
    blocks.append(("h", 1, title))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    blocks.append(("p", f"Written by `postprocess/report.py` at {now} from "
                   + ", ".join(f"`{r.path}`" for r in runs)
                   + f". Figures show the {bnc.STAT_NAMES[stat]} across seeds per sweep point."))
    if len(runs) > 1:
        blocks.append(("p", "Comparable files: their configs agree on every key except the swept ones ("
                       + (", ".join(f"`{k}`" for k in label_keys if k not in allowed_shown) or "none")
                       + "), names, output paths, schedules of checkpoints and progress, the seed count and "
                       + "first seed, the group size and BLAS threads"
                       + (", and the keys allowed with --allow (" + ", ".join(f"`{k}`" for k in allowed_shown)
                          + ")" if allowed_shown else "")
                       + ". Each point is labelled with its file."))
        sources = sorted({str(r.ds.attrs.get("source", "")) for r in runs})
        if len(sources) > 1:
            blocks.append(("p", "Note: the files were made by different biaslab builds: " + "; ".join(sources)
                           + "."))

    colors_needed = sum(len(r.points) for r in runs)
    palette = (plt.cm.tab10(np.arange(colors_needed) % 10) if colors_needed <= 10
               else plt.cm.viridis(np.linspace(0, 0.92, colors_needed)))
    k = 0
    for r in runs:
        for pt in r.points:
            pt.color = palette[k]
            k += 1

    # figures
    figure_blocks, found = [], []
    for ph in PHENOMENA:
        pts = applicable_points(ph, runs)
        if not pts:
            continue
        fig_name = f"fig_{ph.id}.png"
        panels, notes = draw_figure(ph, pts, stat, os.path.join(out_dir, fig_name))
        found.append(ph)
        band = next(pt.run.band(pn.metric, stat)[3] for pn in ph.panels if pn.kind == "step"
                    for pt in pts if pt.has(pn.metric)) if any(pn.kind == "step" for pn in ph.panels) else ""
        figure_blocks.append(("h", 3, ph.title + (f" ({ph.cite})" if ph.cite else "")))
        figure_blocks.append(("p", ph.about))
        caption = (f"Panels: {', '.join(panels)}. Solid: the {bnc.STAT_NAMES[stat]} across seeds per point; "
                   f"{band}. Black dashed: a theory value; dotted in a point's colour: a theory value per "
                   f"point; dashed in a point's colour: a predicted quantity measured along the run."
                   + (" Faint: each seed (× where a seed diverged)." if any(pn.traces for pn in ph.panels) else "")
                   + (" Log step axis: step 0 is not shown." if any(pn.logx for pn in ph.panels) else ""))
        figure_blocks.append(("img", fig_name, ph.title, caption))
        figure_blocks.append(("p", "Theory lines drawn: " + ("none." if not notes else "")))
        if notes:
            figure_blocks.append(("ul", notes))
        figure_blocks.append(("p", "Points: " + "; ".join(pt.label for pt in pts) + "."))
    blocks.append(("h", 2, "Phenomena"))
    blocks.append(("p", ("Found in the file" + ("s" if len(runs) > 1 else "") + ": "
                         + ", ".join(ph.title for ph in found) + ".") if found else
                   "No phenomenon of report.py's table applies to these files (see the tables below)."))
    blocks += figure_blocks

    # tables
    blocks.append(("h", 2, "Final values per point"))
    blocks.append(("p", "Each metric at the last record where its mean is known (the record `biaslab info` "
                   "reports; divergence can end a point early): n seeds with a finite value, the mean with "
                   "its 95% bootstrap CI as stored in the file, the median and the IQM"
                   + (f", and the {stat} with its 95% percentile bootstrap CI computed by report.py "
                      f"({bnc.BOOTSTRAP_RESAMPLES} resamples, seed {bnc.BOOTSTRAP_SEED})" if stat != "mean" else "")
                   + ". Per-task outcomes: mean, min and max over the tasks that ran; flags as counts."))
    header = ["metric", "step", "n", "mean [95% CI]", "median", "IQM"]
    if stat != "mean":
        header.append(f"{stat} [95% bootstrap CI]")
    for r in runs:
        for pt in r.points:
            blocks.append(("h", 3, f"Point {pt.label}" + (f" ({r.label}, point {pt.index})" if len(runs) > 1
                                                          else f" (point {pt.index})")))
            blocks.append(("table", ["outcome", "counts", "mean", "min", "max"], outcome_rows(pt)))
            blocks.append(("table", header, metric_rows(pt, stat)))

    # provenance
    blocks.append(("h", 2, "Provenance"))
    for r in runs:
        rows, reproduce, ini, config = provenance(r, out_dir)
        blocks.append(("h", 3, f"{r.label}"))
        blocks.append(("table", ["", ""], rows))
        blocks.append(("p", "Reproduce (the recorded command on the recorded number of ranks; run from the "
                       f"repository root; the stored config is also in `{ini}` beside this report):"))
        blocks.append(("pre", "\n".join(reproduce), "sh"))
        blocks.append(("h", 4, "Config (global attribute `config`)"))
        blocks.append(("pre", config, "ini", "the resolved config (click to open)"))
    return blocks, title, found


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", metavar="FILE.nc")
    ap.add_argument("-o", "--out", required=True, metavar="DIR", help="directory to write the report into")
    ap.add_argument("--stat", choices=bnc.STAT_CHOICES, default="mean",
                    help="the statistic across seeds the figures draw (default mean)")
    ap.add_argument("--allow", action="append", default=[], metavar="KEY",
                    help="let config key KEY (section.key) differ between the files")
    args = ap.parse_args()

    if len(set(os.path.realpath(f) for f in args.files)) != len(args.files):
        fail("a file is given twice")
    runs = []
    try:
        for f in args.files:
            runs.append(Run(f, bnc.open_output(f)))
        labels = [r.label for r in runs]
        for r in runs:  # same stem in two folders: label by the path instead
            if labels.count(r.label) > 1:
                r.label = re.sub(r"[^A-Za-z0-9_.-]+", "_", os.path.splitext(r.path)[0]).strip("_")
        swept, shown = comparability(runs, set(args.allow))
    except bnc.UsageError as e:
        fail(str(e))
    label_points(runs, swept + shown)

    try:
        os.makedirs(args.out, exist_ok=True)
        blocks, title, found = build(runs, args.out, args.stat, swept + shown, shown)
        md = to_markdown(blocks)
        page = to_html(blocks, title)
        for name, text in (("report.md", md), ("index.html", page)):
            tmp = os.path.join(args.out, name + ".tmp")
            with open(tmp, "w") as f:
                f.write(text)
            os.replace(tmp, os.path.join(args.out, name))
    except OSError as e:
        fail(f"cannot write the report into {args.out}: {e}", code=1)
    finally:
        for r in runs:
            r.ds.close()
    print(os.path.join(args.out, "index.html"))
    print("phenomena: " + (", ".join(ph.id for ph in found) or "none"))


if __name__ == "__main__":
    main()
