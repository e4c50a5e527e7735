#!/usr/bin/python3
"""PyTorch on the workloads of `biaslab bench` (src/bench.c), for make bench.

    /usr/bin/python3 tools/bench_torch.py [--biaslab bin/biaslab] [--quick]

The same models, data, losses, learning rate and step counts as bench's
workload_config, in float64, at the thread counts bench uses (1, and all
cores), one seed after the other as biaslab trains them:
  tiny_ensemble  n=128, d=20, width 32, bias-free 2-layer ReLU MLP, separable
                 data (margin 0.1), logistic loss (mean), full-batch GD
                 lr 0.01, 16 seeds x 2000 steps
  wide_mlp       n=4096, d=256, width 2048, depth 2, 10 Gaussian clusters
                 (centres sd 3, sd 1), cross-entropy (mean), GD lr 0.01, 20 steps
  deep_mlp       n=1024, d=64, width 256, depth 4, 10 clusters, 100 steps
  HVP            on bench's HVP MLP (deep_mlp at initialization, 1 thread):
                 full-batch gradients/s against Hessian-vector products/s by
                 double backward (torch.autograd.grad with create_graph).
A step is what biaslab's is: forward, loss, gradient, theta -= lr * grad;
a task's time includes drawing its data and initial weights (biaslab's
includes that and its metrics at the first and last step).

With --biaslab BINARY it runs `biaslab bench --workload NAME THREADS` (the
same workload through biaslab's bench) in turns with its own, biaslab
first, two rounds (one for wide_mlp), and prints biaslab / PyTorch, the
median over the rounds: on a shared machine each pair meets the same load. Needs python3-torch (Debian:
apt-get install python3-torch); exits 3 when torch cannot be imported.
"""
import argparse
import ctypes
import math
import os
import re
import subprocess
import sys
import time

try:
    import torch
except ImportError:
    sys.exit(3)


def blas_of_torch():
    """(what torch's BLAS is, the OpenBLAS core or None, openblas_set_num_threads
    or None): the libraries this process mapped, and OpenBLAS's own answer
    when one of them is OpenBLAS (dlopen of a mapped path returns that copy)."""
    libs = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and re.search(r"(blas|lapack|mkl)[^/]*\.so", fields[-1]):
                libs.add(os.path.realpath(fields[-1]))
    info = re.search(r"BLAS_INFO=([^,]+)", torch.__config__.show())
    core, set_count = None, None
    for path in sorted(libs):
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            core = lib.openblas_get_corename().decode()
            set_count = lib.openblas_set_num_threads
            break
        except (OSError, AttributeError):
            continue
    what = "BLAS_INFO=%s, mapped %s" % (info.group(1) if info else "?",
                                        ", ".join(sorted(libs)) or "no BLAS library")
    return what, core, set_count


def set_threads(threads, openblas_threads):
    torch.set_num_threads(threads)
    if openblas_threads:  # torch does not pass its count on to OpenBLAS
        openblas_threads(threads)


def separable(n, d, margin, gen):
    w = torch.randn(d, generator=gen, dtype=torch.float64)
    w /= w.norm()
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    side = torch.where(x @ w >= 0, 1.0, -1.0).to(torch.float64)
    x += side[:, None] * margin * w
    return x, side


def clusters(n, d, classes, gen, spread=3.0, std=1.0):
    centres = spread * torch.randn(classes, d, generator=gen, dtype=torch.float64)
    labels = torch.arange(n) % classes
    x = centres[labels] + std * torch.randn(n, d, generator=gen, dtype=torch.float64)
    return x, labels


def init(sizes, gen):
    """N(0, 1/fan_in) weights (out, in), no biases: biaslab's mlp."""
    return [(torch.randn(o, i, generator=gen, dtype=torch.float64) / math.sqrt(i))
            .requires_grad_() for i, o in zip(sizes[:-1], sizes[1:])]


def forward(ws, x):
    h = x
    for w in ws[:-1]:
        h = torch.relu(h @ w.t())
    return h @ ws[-1].t()


def loss_of(ws, x, y, classes):
    f = forward(ws, x)
    if classes == 2:  # logistic on one logit, labels +-1, mean
        return torch.nn.functional.softplus(-y * f[:, 0]).mean()
    return torch.nn.functional.cross_entropy(f, y)


def task(load, seed):
    """One seed's data and weights (not timed apart: biaslab's task wall
    includes its setup too)."""
    gen = torch.Generator().manual_seed(seed)
    if load["classes"] == 2:
        x, y = separable(load["n"], load["d"], 0.1, gen)
    else:
        x, y = clusters(load["n"], load["d"], load["classes"], gen)
    outputs = 1 if load["classes"] == 2 else load["classes"]
    sizes = [load["d"]] + [load["width"]] * (load["depth"] - 1) + [outputs]
    return x, y, init(sizes, gen)


def train(load, seed, steps, stamps):
    """One task; stamps[k] = the clock before step k (as biaslab's step hook),
    stamps[steps] after the last."""
    x, y, ws = task(load, seed)
    for k in range(steps):
        stamps[k] = time.perf_counter()
        loss = loss_of(ws, x, y, load["classes"])
        grads = torch.autograd.grad(loss, ws)
        with torch.no_grad():
            for w, g in zip(ws, grads):
                w.sub_(load["lr"] * g)
    stamps[steps] = time.perf_counter()


def median(values):
    values = sorted(values)
    if not values:
        return float("nan")
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else 0.5 * (values[mid - 1] + values[mid])


def matmul_rate(n=2048, reps=3):
    """GFLOP/s of a float64 n x n torch matmul, the best of reps: against
    bench's dgemm line it shows whether the machine's load changed."""
    a = torch.rand(n, n, dtype=torch.float64)
    b = torch.rand(n, n, dtype=torch.float64)
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2.0 * n ** 3 / best / 1e9


def rates_of(load):
    """(steps/s of the whole run, setup included; seconds of one step): the
    step as bench's step us, the median of steps 1 .. S-1."""
    stamps = [0.0] * (load["steps"] + 1)
    train(load, 1000, 2, stamps)  # warm-up: thread pool, allocator
    inner = []
    start = time.perf_counter()
    for seed in range(load["seeds"]):
        train(load, seed, load["steps"], stamps)
        inner += [b - a for a, b in zip(stamps[1:-1], stamps[2:])]
    total = load["seeds"] * load["steps"] / (time.perf_counter() - start)
    return total, median(inner)


def hvp_rates(load, repeats):
    """(gradients/s, HVP/s, gradients per HVP) at initialization, as biaslab's
    bench: 8 gradients and then 8 HVPs in turns, each block timed, medians of
    the times and of their ratios (so a shared machine's load hits both).
    The HVPs of a block are at one theta, as Lanczos uses them: the gradient
    graph is built once (create_graph) and each HVP is the gradient of g.v
    (retain_graph), v <- Hv / |Hv| between them, v = theta at first."""
    block = 8
    x, y, ws = task(load, 0)
    v = [w.detach().clone() for w in ws]

    def gradients():
        for _ in range(block):
            torch.autograd.grad(loss_of(ws, x, y, load["classes"]), ws)

    def hvps(v):
        g = torch.autograd.grad(loss_of(ws, x, y, load["classes"]), ws, create_graph=True)
        for _ in range(block):
            hv = torch.autograd.grad(sum((gi * vi).sum() for gi, vi in zip(g, v)), ws,
                                     retain_graph=True)
            norm = torch.sqrt(sum((h * h).sum() for h in hv))
            v = [h / norm for h in hv]
        return v

    gradients(), hvps(v)  # warm-up
    grads, hvp_times = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        gradients()
        t1 = time.perf_counter()
        v = hvps(v)
        t2 = time.perf_counter()
        grads.append((t1 - t0) / block)
        hvp_times.append((t2 - t1) / block)
    return (1 / median(grads), 1 / median(hvp_times),
            median([h / g for g, h in zip(grads, hvp_times)]))


def workloads(quick):
    """bench_at's MLP workloads (src/bench.c), --quick as bench --quick."""
    shrink = 4 if quick else 1
    return [
        dict(name="wide_mlp", n=4096 // shrink, d=256, width=2048, depth=2, classes=10,
             seeds=1, steps=2 if quick else 20, lr=0.01),
        dict(name="tiny_ensemble", n=128, d=20, width=32, depth=2, classes=2,
             seeds=2 if quick else 16, steps=200 if quick else 2000, lr=0.01),
        dict(name="deep_mlp", n=1024 // shrink, d=64, width=256, depth=4, classes=10,
             seeds=1, steps=5 if quick else 100, lr=0.01),
    ]


def biaslab_run(biaslab, name, threads, quick):
    """bench's own figures for one workload, from `biaslab bench --workload`
    run now: (steps/s, step seconds), or for "hvp" (HVP/s, gradients/s,
    gradients per HVP)."""
    cmd = [biaslab, "bench", "--workload", name, str(threads)] + (["--quick"] if quick else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    if name == "hvp":
        m = re.search(r"([\d.]+) HVP/s against ([\d.]+) gradients/s \(an HVP costs ([\d.]+)",
                      out)
        return tuple(float(m.group(i)) for i in (1, 2, 3))
    for line in out.splitlines():
        fields = line.split()
        if fields and fields[0] == name:
            return float(fields[2]), float(fields[7]) * 1e-6
    sys.exit("bench_torch: no %s row in: %s" % (name, out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--biaslab", help="the biaslab binary: run in turns with PyTorch")
    ap.add_argument("--quick", action="store_true", help="the sizes of bench --quick")
    args = ap.parse_args()
    torch.set_default_dtype(torch.float64)
    what, core, openblas_threads = blas_of_torch()
    cores = os.cpu_count() or 1
    print("PyTorch %s, float64; its BLAS: %s; %s" % (
        torch.__version__, what,
        "OpenBLAS core %s" % core if core else "NOT OpenBLAS: its figures use another BLAS"))
    ratios = {}
    for threads in sorted({1, cores}):
        set_threads(threads, openblas_threads)
        size = 512 if args.quick else 2048
        print("%d thread%s (torch.set_num_threads%s; torch matmul %dx%d float64 %.2f GFLOP/s): "
              "steps/s of the whole run (setup included), and the median step" % (
                  threads, "" if threads == 1 else "s",
                  ", openblas_set_num_threads" if openblas_threads else "", size, size,
                  matmul_rate(size)))
        for load in workloads(args.quick):
            # in turns, biaslab first: each pair meets the same load
            rounds = 1 if load["name"] == "wide_mlp" else 2
            pairs = []
            for _ in range(rounds):
                ours = biaslab_run(args.biaslab, load["name"], threads, args.quick) \
                    if args.biaslab else None
                pairs.append((ours, rates_of(load)))
            total = median([p[1][0] for p in pairs])
            step = median([p[1][1] for p in pairs])
            line = "  torch %-15s %10.1f steps/s %12.1f us/step" % (
                load["name"], total, 1e6 * step)
            if args.biaslab:
                ratio = (median([o[0] / t[0] for o, t in pairs]),
                         median([t[1] / o[1] for o, t in pairs]))
                ratios[(threads, load["name"])] = ratio
                line += "   biaslab %10.1f steps/s %12.1f us/step: biaslab / PyTorch %.2fx " \
                        "steps/s, %.2fx per step" % (
                            median([o[0] for o, _ in pairs]),
                            1e6 * median([o[1] for o, _ in pairs]), *ratio)
            print(line)
    set_threads(1, openblas_threads)
    deep = workloads(args.quick)[2]
    pairs = []
    for _ in range(2):
        ours = biaslab_run(args.biaslab, "hvp", 1, args.quick) if args.biaslab else None
        pairs.append((ours, hvp_rates(deep, 2 if args.quick else 5)))
    grads, hvps, cost = (median([t[i] for _, t in pairs]) for i in range(3))
    print("torch HVP (double backward) on bench's HVP MLP (deep_mlp, n=%d), 1 thread: %.1f "
          "HVP/s against %.1f gradients/s (an HVP costs %.2f gradients)" % (
              deep["n"], hvps, grads, cost))
    hvp_ratio = None
    if args.biaslab:
        hvp_ratio = median([o[0] / t[1] for o, t in pairs])
        print("  biaslab %.1f HVP/s against %.1f gradients/s, an HVP costs %.2f gradients: "
              "biaslab / PyTorch %.2fx HVP/s, %.2fx gradients/s" % (
                  median([o[0] for o, _ in pairs]), median([o[1] for o, _ in pairs]),
                  median([o[2] for o, _ in pairs]), hvp_ratio,
                  median([o[1] / t[0] for o, t in pairs])))
    if ratios:
        def r(name, which):
            got = ratios.get((1, name))
            return "%.2fx" % got[which] if got else "-"
        tiny = workloads(args.quick)[1]
        print("biaslab / PyTorch, this run, in turns, 1 thread each, OpenBLAS core %s for both: "
              "tiny_ensemble %s steps/s (%d seeds x %d steps, setup included), wide_mlp %s "
              "and deep_mlp %s per step, HVP/s %.2fx" % (
                  core or "? (torch's BLAS is not OpenBLAS)", r("tiny_ensemble", 0),
                  tiny["seeds"], tiny["steps"], r("wide_mlp", 1), r("deep_mlp", 1), hvp_ratio))


if __name__ == "__main__":
    main()
