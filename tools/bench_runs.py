#!/usr/bin/python3
"""The MPI part of make bench: real `mpirun ... biaslab run` of configs in a
temporary directory, timed from outside by when rank 0's lines arrive.

    /usr/bin/python3 tools/bench_runs.py [--quick] [--biaslab bin/biaslab]

1. Many tasks: 2000 seeds x 200 GD steps of the tiny MLP (n=128, d=20,
   width 32), a record every 2 steps (101 records), on 2 ranks, progress
   lines every 0.1 s. Rank 0's ingest rate = tasks (and steps) per second
   from its start line to the last progress line (the one that counts the
   last task, or the latest before the final line), for the first and the
   second half of the tasks too; the share of the wall time after the last
   task finished, from the line times and from the final line's own "wall"
   and "statistics" (whole seconds).
2. Ensemble scaling: the same tiny MLP, 64 seeds x 3000 steps, records at
   the first and last step, 1 BLAS thread per rank, on 1 rank and on 2:
   steps/s from the start line to the final line; efficiency = rate2 /
   (2 rate1).
3. Data parallel: one model, n=4096, d=128, width 512, 10 clusters,
   cross-entropy, 30 GD steps, 1 BLAS thread per rank: parallel.group_size
   = 2 on 2 ranks (each rank half the examples, the gradient allreduced:
   70k doubles per step against ~1.7 GFLOP per step, so the allreduce is a
   small part) against group_size = 1 on 1 rank; efficiency = rate2 /
   (2 rate1).
The machine's other load is printed (load average) since ranks share cores.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

TINY = """[experiment]
name = {name}
seeds = {seeds}
progress_seconds = 0.1
[data]
kind = separable
n_train = 128
n_test = 0
dim = 20
[model]
kind = mlp
depth = 2
width = 32
[loss]
kind = logistic
[optim]
kind = gd
lr = 0.01
steps = {steps}
[measure]
every = {every}
[parallel]
blas_threads = 1
"""

WIDE = """[experiment]
name = {name}
seeds = 1
progress_seconds = 0.1
[data]
kind = clusters
n_train = {n}
n_test = 0
dim = 128
classes = 10
[model]
kind = mlp
depth = 2
width = 512
[loss]
kind = cross_entropy
[optim]
kind = gd
lr = 0.01
steps = {steps}
[measure]
every = {steps}
[parallel]
group_size = {group}
blas_threads = 1
"""

PROGRESS = re.compile(r"biaslab: (\d+)/(\d+) tasks done")
FINAL = re.compile(r"biaslab: wrote .*\((\d+) of (\d+) tasks, (\d+) steps trained by this "
                   r"run, wall ([\d.]+)(s|min|h), of which statistics ([\d.]+)(s|min|h); "
                   r"rank 0 stored (\d+) results in ([\d.]+) s, ([\d.]+) ms each\)")
UNIT = {"s": 1.0, "min": 60.0, "h": 3600.0}


def run(biaslab, ranks, text, workdir, name):
    """Run one config; returns (launch time, [(arrival time, line)], exit time)."""
    ini = os.path.join(workdir, name + ".ini")
    with open(ini, "w") as f:
        f.write(text)
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    cmd = ["mpirun", "-n", str(ranks), biaslab, "run", ini, "-o",
           os.path.join(workdir, name + ".nc"), "--force"]
    launched = time.monotonic()
    lines = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                          text=True, bufsize=1) as proc:
        for line in proc.stdout:
            lines.append((time.monotonic(), line.rstrip("\n")))
    ended = time.monotonic()
    if proc.returncode != 0:
        sys.stdout.write("".join(l + "\n" for _, l in lines[-20:]))
        sys.exit("bench_runs: %s failed (exit %d): %s" % (name, proc.returncode, " ".join(cmd)))
    return launched, lines, ended


def final_of(lines):
    for t, line in lines:
        m = FINAL.search(line)
        if m:
            return t, m
    sys.exit("bench_runs: no final line in the run's output")


def progress_of(lines):
    """[(arrival time, tasks done)] of the progress lines."""
    out = []
    for t, line in lines:
        m = PROGRESS.search(line)
        if m:
            out.append((t, int(m.group(1))))
    return out


def rate_between(progress, lo, hi):
    """Tasks per second between the first progress lines at >= lo and >= hi tasks."""
    a = next(((t, k) for t, k in progress if k >= lo), None)
    b = next(((t, k) for t, k in progress if k >= hi), None)
    if not a or not b or b[0] <= a[0]:
        return float("nan")
    return (b[1] - a[1]) / (b[0] - a[0])


def many_tasks(biaslab, workdir, quick):
    seeds, steps = (200, 200) if quick else (2000, 200)
    launched, lines, ended = run(biaslab, 2, TINY.format(name="many", seeds=seeds,
                                                          steps=steps, every=2),
                                 workdir, "many")
    started = lines[0][0]
    final_t, final = final_of(lines)
    progress = progress_of(lines)
    last_t, last_k = progress[-1] if progress else (started, 0)
    tasks_s = last_k / (last_t - started)
    wall = float(final.group(4)) * UNIT[final.group(5)]
    stats = float(final.group(6)) * UNIT[final.group(7)]
    print("many tasks (2 ranks, %d seeds x %d steps of the tiny MLP, a record every 2 steps: "
          "%d records): rank 0 ingests %.1f tasks/s = %.0f steps/s (first half of the tasks "
          "%.1f tasks/s, second half %.1f)" % (
              seeds, steps, steps // 2 + 1, tasks_s, tasks_s * steps,
              rate_between(progress, 1, seeds // 2), rate_between(progress, seeds // 2, last_k)))
    print("  after the last task (%d/%d counted at %.1f s): %.1f s of %.1f s = %.0f%% of the "
          "wall time (final line: wall %.0f s, of which statistics %.0f s = %.0f%%)" % (
              last_k, seeds, last_t - launched, ended - last_t, ended - launched,
              100 * (ended - last_t) / (ended - launched), wall, stats,
              100 * stats / wall if wall > 0 else float("nan")))
    print("  rank 0 stored each finished task (done file, NetCDF) in %s ms: at that cost it "
          "keeps up with at most %.0f finished tasks per second" % (final.group(10), 1e3 / float(final.group(10))
                                 if float(final.group(10)) > 0 else float("nan")))


def rate_of(lines, steps):
    """Steps per second from the start line to the final line."""
    final_t, _ = final_of(lines)
    return steps / (final_t - lines[0][0])


def scaling(biaslab, workdir, quick):
    seeds, steps = (16, 1000) if quick else (64, 3000)
    text = TINY.format(name="ensemble", seeds=seeds, steps=steps, every=steps)
    rates = [rate_of(run(biaslab, ranks, text, workdir, "ensemble%d" % ranks)[1], seeds * steps)
             for ranks in (1, 2)]
    print("ensemble scaling (tiny MLP, %d seeds x %d steps, records at the first and last, 1 "
          "BLAS thread per rank): 1 rank %.0f steps/s, 2 ranks %.0f steps/s, efficiency "
          "%.2f" % (seeds, steps, rates[0], rates[1], rates[1] / (2 * rates[0])))
    n, steps = (1024, 10) if quick else (4096, 30)
    rates = [rate_of(run(biaslab, group, WIDE.format(name="dp%d" % group, n=n, steps=steps,
                                                     group=group),
                         workdir, "dp%d" % group)[1], steps) for group in (1, 2)]
    print("data parallel (one MLP n=%d, d=128, width 512, 10 classes, %d GD steps, records at "
          "the first and last, 1 BLAS thread per rank): group_size 1 on 1 rank %.2f steps/s, "
          "group_size 2 on 2 ranks %.2f steps/s, efficiency %.2f" % (
              n, steps, rates[0], rates[1], rates[1] / (2 * rates[0])))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--biaslab", default="bin/biaslab")
    ap.add_argument("--quick", action="store_true", help="smaller runs (a smoke test)")
    args = ap.parse_args()
    biaslab = os.path.abspath(args.biaslab)
    print("MPI runs (%s); load average before: %s" % (
        "quick: smaller than the figures" if args.quick else "mpirun of bin/biaslab run",
        " ".join(open("/proc/loadavg").read().split()[:3])))
    with tempfile.TemporaryDirectory(prefix="biaslab-bench-") as workdir:
        many_tasks(biaslab, workdir, args.quick)
        scaling(biaslab, workdir, args.quick)
    print("load average after: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))


if __name__ == "__main__":
    main()
