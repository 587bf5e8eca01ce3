#!/usr/bin/env python3
"""How much an ensemble's test metrics move with the seed alone.

Reads the ensemble metrics of several runs that differ only in their seed: deepens `evaluate` reports
(`metrics.json`, key `ensemble`) and PyTorch peer results (`pytorch_ensemble.py --out`, key
`metrics["ensemble (M)"]`), and prints each run's row, then per side the median, min and max of every metric, and
how many runs meet each target of issue 7.

    scripts/bench/seed_spread.py --deepens R1/metrics.json R2/metrics.json --torch T1.json T2.json
"""
import argparse
import json
import statistics

METRICS = ["accuracy", "nll", "brier", "ece", "auroc_entropy", "auroc_mi"]
# issue 7's targets for the MLP ensemble: (direction, bound)
TARGETS = {"accuracy": (">=", 0.90), "nll": ("<=", 0.265), "ece": ("<=", 0.010), "auroc_entropy": (">=", 0.88),
           "auroc_mi": (">=", 0.92)}


def deepens_row(path):
    d = json.load(open(path))
    return {m: d["ensemble"][m] for m in METRICS}


def torch_row(path):
    d = json.load(open(path))
    key = next(k for k in d["metrics"] if k.startswith("ensemble"))
    return {m: d["metrics"][key][m] for m in METRICS}


def meets(metric, value):
    if metric not in TARGETS or value is None:
        return None
    op, bound = TARGETS[metric]
    return value >= bound if op == ">=" else value <= bound


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--deepens", nargs="*", default=[], help="metrics.json files of deepens evaluate reports")
    p.add_argument("--torch", nargs="*", default=[], help="JSON files written by pytorch_ensemble.py --out")
    a = p.parse_args()
    sides = [("deepens", [(f, deepens_row(f)) for f in a.deepens]), ("pytorch", [(f, torch_row(f)) for f in a.torch])]
    head = f"{'run':<48}" + "".join(f"{m:>15}" for m in METRICS)
    print(head)
    for side, rows in sides:
        for f, r in rows:
            print(f"{side + ' ' + f[-40:]:<48}" + "".join(f"{r[m]:>15.4f}" for m in METRICS))
    print()
    print(head)
    for side, rows in sides:
        if not rows:
            continue
        for name, fn in (("median", statistics.median), ("min", min), ("max", max)):
            print(f"{side + ' ' + name + f' of {len(rows)}':<48}"
                  + "".join(f"{fn([r[m] for _, r in rows]):>15.4f}" for m in METRICS))
        counts = []
        for m in METRICS:
            met = [meets(m, r[m]) for _, r in rows]
            counts.append("-" if met[0] is None else f"{sum(met)}/{len(met)}")
        print(f"{side + ' runs meeting the target':<48}" + "".join(f"{c:>15}" for c in counts))
    print(f"{'issue 7 target':<48}" + "".join(
        f"{(TARGETS[m][0] + ' ' + str(TARGETS[m][1])) if m in TARGETS else '-':>15}" for m in METRICS))


if __name__ == "__main__":
    main()
