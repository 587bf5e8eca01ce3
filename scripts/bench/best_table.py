#!/usr/bin/env python3
"""The table of issue 19's comparison, from the results uncertainty-best.sh leaves in WORK:

  WORK/torch-SEED.json            pytorch_ensemble.py --out (with --shift)
  WORK/best-SEED/report/metrics.json, WORK/best-SEED/store/versions/*/manifest.json   the recipe
  WORK/plain-SEED/...             deepens' plain 5-member ensemble (cost ratios)
  WORK/times.tsv                  wall seconds per step

Prints (Markdown) every run's metrics, the medians, each goal of issue 19 with its verdict, NLL under every
corruption, and the cost of the recipe against the plain ensemble (member-epochs, training wall time, forward passes
per scored row).

    scripts/bench/best_table.py WORK
"""
import glob
import json
import os
import statistics
import sys

METRICS = ["accuracy", "nll", "brier", "ece", "auroc_entropy", "auroc_mi"]


def torch_runs(work):
    runs = {}
    for path in sorted(glob.glob(os.path.join(work, "torch-*.json"))):
        d = json.load(open(path))
        key = next(k for k in d["metrics"] if k.startswith("ensemble"))
        runs[f"PyTorch {d['config']['seed']}"] = {
            "metrics": {m: d["metrics"][key][m] for m in METRICS},
            "shift": {n: v["ensemble"]["nll"] for n, v in d.get("shift", {}).items()},
        }
    return runs


def manifest(run_dir):
    found = sorted(glob.glob(os.path.join(run_dir, "store", "versions", "*", "manifest.json")))
    return json.load(open(found[-1])) if found else {}


def member_epochs(m):
    """Member-epochs the run trained: a hyper-deep manifest's cost (pool + retraining), else the members' epochs."""
    cost = (m.get("hyperDeep") or {}).get("cost") or {}
    if "memberEpochs" in cost:
        return cost["memberEpochs"]
    total = 0
    for e in m.get("members", []):
        r = e.get("report", {})
        r = r.get("report", r)
        total += r.get("epochsRun", len(r.get("epochs", [])))
    return total


def passes_per_row(m):
    cost = (m.get("provenance") or {}).get("scoringCost") or {}
    if "forwardPassesPerRow" in cost:
        return cost["forwardPassesPerRow"]
    members = len([e for e in m.get("members", []) if e.get("usable", True)])
    spec = m.get("spec", {}).get("ensemble", {})
    samples = max(1, spec.get("mcDropoutSamples", 0) or 0, (spec.get("swag") or {}).get("samples", 0) or 0)
    return members * samples


def deepens_runs(work, tag, times):
    runs = {}
    for d in sorted(glob.glob(os.path.join(work, f"{tag}-*"))):
        path = os.path.join(d, "report", "metrics.json")
        if not os.path.exists(path):
            continue
        seed = d.rsplit("-", 1)[1]
        r = json.load(open(path))
        m = manifest(d)
        runs[f"deepens {tag} {seed}"] = {
            "metrics": {k: r["ensemble"][k] for k in METRICS},
            "shift": {n: v["ensemble"]["nll"] for n, v in r.get("shift", {}).items()},
            "member_epochs": member_epochs(m),
            "passes": passes_per_row(m),
            "train_s": times.get(f"train {tag} {seed}"),
        }
    return runs


def med(runs, f):
    vals = [f(r) for r in runs.values() if f(r) is not None]
    return statistics.median(vals) if vals else None


def fmt(v):
    return "n/a" if v is None else f"{v:.4f}"


def main():
    work = sys.argv[1]
    times = {}
    if os.path.exists(os.path.join(work, "times.tsv")):
        for line in open(os.path.join(work, "times.tsv")):
            k, v = line.rstrip("\n").split("\t")
            times[k] = float(v)
    torch, best, plain = torch_runs(work), deepens_runs(work, "best", times), deepens_runs(work, "plain", times)
    if not torch or not best:
        raise SystemExit(f"{work}: need torch-*.json and best-*/report/metrics.json")
    print("| run | " + " | ".join(METRICS) + " |")
    print("|---" * (len(METRICS) + 1) + "|")
    for name, r in list(best.items()) + list(plain.items()) + list(torch.items()):
        print(f"| {name} | " + " | ".join(fmt(r["metrics"][k]) for k in METRICS) + " |")
    for label, runs in (("recipe", best), ("deepens plain", plain), ("PyTorch", torch)):
        if runs:
            print(f"| **median, {label} ({len(runs)})** | "
                  + " | ".join(fmt(med(runs, lambda r, k=k: r["metrics"][k])) for k in METRICS) + " |")
    print()
    tm = lambda k: [r["metrics"][k] for r in torch.values()]
    bm = lambda k: med(best, lambda r: r["metrics"][k])
    goals = [
        ("NLL: recipe median below the best PyTorch seed", bm("nll"), min(tm("nll")), bm("nll") < min(tm("nll"))),
        ("AUROC(MI): recipe median above the best PyTorch seed", bm("auroc_mi"), max(tm("auroc_mi")),
         bm("auroc_mi") > max(tm("auroc_mi"))),
        ("ECE: recipe median at or below the PyTorch median", bm("ece"), statistics.median(tm("ece")),
         bm("ece") <= statistics.median(tm("ece"))),
        ("accuracy: recipe median not below the PyTorch median", bm("accuracy"), statistics.median(tm("accuracy")),
         bm("accuracy") >= statistics.median(tm("accuracy"))),
    ]
    names = sorted(set().union(*[r["shift"].keys() for r in torch.values()]))
    print("| dataset shift: NLL | recipe median | deepens plain | PyTorch median | PyTorch best |")
    print("|---|---|---|---|---|")
    for n in names:
        b = med(best, lambda r: r["shift"].get(n))
        p = med(plain, lambda r: r["shift"].get(n)) if plain else None
        t = [r["shift"][n] for r in torch.values() if n in r["shift"]]
        print(f"| {n} | {fmt(b)} | {fmt(p)} | {fmt(statistics.median(t))} | {fmt(min(t))} |")
        goals.append((f"shift {n}: recipe median NLL at or below the PyTorch median", b, statistics.median(t),
                      b is not None and b <= statistics.median(t)))
    print()
    print("| goal | recipe | PyTorch | met |")
    print("|---|---|---|---|")
    for g, b, t, ok in goals:
        print(f"| {g} | {fmt(b)} | {fmt(t)} | {'yes' if ok else '**no**'} |")
    print()
    if plain:
        pe, pp, pt = med(plain, lambda r: r["member_epochs"]), med(plain, lambda r: r["passes"]), \
            med(plain, lambda r: r["train_s"])
        be, bp, bt = med(best, lambda r: r["member_epochs"]), med(best, lambda r: r["passes"]), \
            med(best, lambda r: r["train_s"])
        print("| cost (median) | recipe | deepens plain 5 members | ratio |")
        print("|---|---|---|---|")
        print(f"| member-epochs trained | {be} | {pe} | {be / pe:.2f} |")
        if bt and pt:
            print(f"| training wall time, s (train command, this machine) | {bt:.0f} | {pt:.0f} | {bt / pt:.2f} |")
        print(f"| forward passes per scored row | {bp} | {pp} | {bp / pp:.2f} |")
        ts = [v for k, v in times.items() if k.startswith("torch")]
        if ts:
            print(f"\nPyTorch: {statistics.median(ts):.0f} s per 5-member run (median; data load, training, test, OOD "
                  "and shift scoring)")


if __name__ == "__main__":
    main()
