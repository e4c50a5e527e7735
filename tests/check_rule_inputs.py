#!/usr/bin/env python3
"""check_rule_inputs.py BIASLAB INPUT.ini...: the scaling-rule and SVAG
inputs (inputs/linear_rule_sgd.ini, sqrt_rule_*.ini, svag.ini) resolve, per
sweep point, the values the rules of SCIENCE.md 5-6 give, restated here from
the base values in the file:
- linear: lr kappa, betas and eps unchanged;
- sqrt:   lr sqrt(kappa), 1 - beta -> kappa (1 - beta) (rmsprop: beta2
          only), eps / sqrt(kappa);
- both:   steps and measure.every / kappa (kappa = batch_size / base);
- SVAG with sgd: lr / l, steps and measure.every x l.
`biaslab check` prints each point's resolved values ("# point p: ..."); they
must match to 1e-12. For a rule input the no-rule comparison its header
documents, `check --set optim.scaling_rule=none`, must be accepted and keep
lr, betas, eps and steps at the base values for every batch size (one record
axis in steps). Prints PASS/FAIL per input; exit 1 on any failure."""
import configparser
import math
import re
import subprocess
import sys

POINT = re.compile(r"^# point (\d+): batch_size (\d+), lr (\S+), beta1 (\S+), beta2 (\S+), "
                   r"eps (\S+), steps (\d+), measure.every (\d+)$", re.M)


def check(bl, ini, *extra):
    out = subprocess.run([bl, "check", ini, *extra], capture_output=True, text=True)
    if out.returncode != 0:
        raise AssertionError(f"check {' '.join(extra)} exited {out.returncode}: {out.stderr.strip()}")
    return out.stdout


def close(a, b):
    return abs(a - b) <= 1e-12 * max(abs(a), abs(b))


def expected(cfg):
    """[(batch, lr, beta1, beta2, eps, steps, every)] per sweep point, from the base values."""
    o = cfg["optim"]
    lr, steps, every = float(o["lr"]), int(o["steps"]), int(cfg["measure"]["every"])
    beta1, beta2 = float(o.get("beta1", "0.9")), float(o.get("beta2", "0.999"))
    eps, batch = float(o.get("eps", "1e-8")), int(o["batch_size"])
    sweep = cfg["sweep"]
    if "optim.svag_l" in sweep:
        assert o["kind"] == "sgd", "only SVAG with sgd is restated here"
        return [(batch, lr / ell, beta1, beta2, eps, steps * ell, every * ell)
                for ell in (int(v) for v in sweep["optim.svag_l"].split(","))]
    rule, base = o["scaling_rule"], int(o["base_batch_size"])
    points = []
    for b in (int(v) for v in sweep["optim.batch_size"].split(",")):
        k = b / base
        if rule == "linear":
            p = (b, lr * k, beta1, beta2, eps)
        else:
            b1 = beta1 if o["kind"] == "rmsprop" else 1 - k * (1 - beta1)
            p = (b, lr * math.sqrt(k), b1, 1 - k * (1 - beta2), eps / math.sqrt(k))
        points.append(p + (round(steps / k), round(every / k)))
    return points


def check_input(bl, ini):
    cfg = configparser.ConfigParser()
    cfg.read(ini)
    want = expected(cfg)
    got = [tuple(float(x) for x in m.groups()[1:]) for m in POINT.finditer(check(bl, ini))]
    if len(got) != len(want):
        raise AssertionError(f"{len(got)} resolved points printed, {len(want)} expected")
    for p, (g, w) in enumerate(zip(got, want)):
        bad = [name for name, a, b in zip(("batch_size", "lr", "beta1", "beta2", "eps", "steps", "every"), g, w)
               if not close(a, b)]
        if bad:
            raise AssertionError(f"point {p}: {', '.join(bad)} resolved to {g}, expected {w}")
    if "optim.batch_size" in cfg["sweep"]:
        text = check(bl, ini, "--set", "optim.scaling_rule=none")
        o = cfg["optim"]
        resolved = configparser.ConfigParser()
        resolved.read_string("\n".join(line for line in text.splitlines() if not line.startswith("#")))
        r = resolved["optim"]
        if r["scaling_rule"] != "none" or not close(float(r["lr"]), float(o["lr"])) or r["steps"] != o["steps"]:
            raise AssertionError(f"no rule resolved to scaling_rule {r['scaling_rule']}, lr {r['lr']}, "
                                 f"steps {r['steps']}")
        if POINT.search(text) or f"# points: {len(want)}," not in text:
            raise AssertionError("no rule: expected the plain sweep of batch sizes, nothing resolved per point")
        if f"(steps 0 .. {o['steps']})" not in text:
            raise AssertionError("no rule: every batch size should run the base steps")
    return len(want)


def main():
    bl, inis = sys.argv[1], sys.argv[2:]
    ok = True
    for ini in inis:
        try:
            n = check_input(bl, ini)
            print(f"PASS {ini}: {n} points resolve as the rule says" +
                  (" (and the no-rule override keeps the base values)" if "svag" not in ini else ""))
        except (AssertionError, KeyError) as e:
            print(f"FAIL {ini}: {e}")
            ok = False
    return 0 if ok and inis else 1


if __name__ == "__main__":
    sys.exit(main())
