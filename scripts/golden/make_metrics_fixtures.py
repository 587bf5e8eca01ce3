#!/usr/bin/python3
"""Golden fixtures for io.deepens.core.metrics, computed with scikit-learn / numpy / scipy (an implementation
independent of the Java code).

Run from the repository root with the Debian python (needs python3-numpy, python3-sklearn, python3-scipy):

    /usr/bin/python3 scripts/golden/make_metrics_fixtures.py

Writes ensemble-core/src/test/resources/io/deepens/core/metrics/{classification,roc,regression}.json.
The inputs are drawn from numpy.random.default_rng with fixed seeds, so re-running reproduces the files exactly
(for the same numpy/sklearn versions, recorded in each file's "generator" field).
"""
import json
import os
import sys

import numpy as np
import scipy
import scipy.stats
import sklearn
from sklearn.metrics import (accuracy_score, average_precision_score, brier_score_loss, log_loss, roc_auc_score,
                             roc_curve)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                   "ensemble-core/src/test/resources/io/deepens/core/metrics")
GENERATOR = (f"scripts/golden/make_metrics_fixtures.py with python {sys.version.split()[0]}, numpy {np.__version__}, "
             f"scikit-learn {sklearn.__version__}, scipy {scipy.__version__}")


def floats(a):
    return [float(x) for x in np.asarray(a, dtype=np.float64).ravel()]


def classification_case(name, probs, labels, bins):
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    n, k = probs.shape
    pred = np.argmax(probs, axis=1)  # first index on ties, as in Java
    conf = probs[np.arange(n), pred]
    # Guo et al. 2017 bins ((b-1)/B, b/B]; confidence 0 goes to the first bin.
    b = np.clip(np.ceil(conf * bins).astype(np.int64) - 1, 0, bins - 1)
    counts = np.bincount(b, minlength=bins)
    correct = (pred == labels).astype(np.float64)
    conf_sum = np.bincount(b, weights=conf, minlength=bins)
    acc_sum = np.bincount(b, weights=correct, minlength=bins)
    ece = float(np.sum(np.abs(acc_sum - conf_sum)) / n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.where(counts > 0, conf_sum / np.maximum(counts, 1), np.nan)
        mean_acc = np.where(counts > 0, acc_sum / np.maximum(counts, 1), np.nan)
    brier = sum(brier_score_loss((labels == c).astype(int), probs[:, c], pos_label=1) for c in range(k))
    return {
        "name": name,
        "rows": n,
        "classes": k,
        "bins": bins,
        "probs": floats(probs),
        "labels": [int(x) for x in labels],
        "accuracy": float(accuracy_score(labels, pred)),
        "nll": float(log_loss(labels, probs, eps=1e-12, labels=list(range(k)))),
        "brier": float(brier),
        "ece": ece,
        "binCount": [int(x) for x in counts],
        "binMeanConfidence": [None if np.isnan(x) else float(x) for x in mean_conf],
        "binAccuracy": [None if np.isnan(x) else float(x) for x in mean_acc],
    }


def classification():
    rng = np.random.default_rng(20170101)
    cases = []
    # Small case with exact 0 and 1 probabilities, a tie between classes, and zero probability on the truth.
    small = np.array([
        [1.0, 0.0, 0.0, 0.0],
        [0.0, 1.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 1.0],   # label 2: zero on the truth, clamped in the NLL
        [0.5, 0.5, 0.0, 0.0],   # tie: argmax picks class 0
        [0.25, 0.25, 0.25, 0.25],
        [0.7, 0.1, 0.1, 0.1],
        [0.1, 0.2, 0.3, 0.4],
        [0.0, 0.0, 1.0, 0.0],
    ])
    cases.append(classification_case("small_exact", small, [0, 1, 2, 1, 3, 0, 2, 2], 15))
    # Larger random case: Dirichlet rows sharpened to various degrees, with some exact one-hot rows.
    n, k = 600, 5
    logits = rng.normal(size=(n, k)) * rng.uniform(0.2, 6.0, size=(n, 1))
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    onehot = rng.random(n) < 0.05
    p[onehot] = np.eye(k)[rng.integers(0, k, size=onehot.sum())]
    labels = np.array([rng.choice(k, p=row) if rng.random() < 0.8 else rng.integers(0, k) for row in p])
    cases.append(classification_case("random_600x5", p, labels, 15))
    cases.append(classification_case("random_600x5_bins10", p, labels, 10))
    return {"generator": GENERATOR, "cases": cases}


def roc_case(name, pos, neg):
    pos = np.asarray(pos, dtype=np.float64)
    neg = np.asarray(neg, dtype=np.float64)
    y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
    s = np.concatenate([pos, neg])
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    return {
        "name": name,
        "positive": floats(pos),
        "negative": floats(neg),
        "auroc": float(roc_auc_score(y, s)),
        "averagePrecision": float(average_precision_score(y, s)),
        "fpr": floats(fpr),
        "tpr": floats(tpr),
    }


def roc():
    rng = np.random.default_rng(20170102)
    cases = [
        roc_case("tiny_ties", [0.9, 0.5, 0.5, 0.1], [0.5, 0.3, 0.1]),
        roc_case("integer_ties", rng.integers(0, 8, size=300) + 1, rng.integers(0, 8, size=400)),
        roc_case("continuous", rng.normal(1.0, 1.0, size=500), rng.normal(0.0, 1.0, size=700)),
        roc_case("signed_zeros_and_ties", [0.0, -0.0, 1.0, 0.0, 2.0], [-0.0, 0.0, -1.0, 1.0]),
        roc_case("perfect", [2.0, 3.0], [0.0, 1.0]),
        roc_case("all_tied", [1.0, 1.0, 1.0], [1.0, 1.0]),
    ]
    return {"generator": GENERATOR, "cases": cases}


def regression():
    rng = np.random.default_rng(20170103)
    n = 400
    mean = rng.normal(size=n) * 3
    var = np.exp(rng.normal(size=n))
    # Targets from a slightly over-dispersed truth so that coverage differs from nominal.
    target = mean + rng.normal(size=n) * np.sqrt(var) * 1.2
    levels = [0.5, 0.8, 0.9, 0.95, 0.99]
    sd = np.sqrt(var)
    coverage = {str(c): float(np.mean(np.abs(target - mean) <= scipy.stats.norm.ppf((1 + c) / 2) * sd)) for c in levels}
    return {
        "generator": GENERATOR,
        "rows": n,
        "mean": floats(mean),
        "variance": floats(var),
        "target": floats(target),
        "rmse": float(np.sqrt(np.mean((target - mean) ** 2))),
        "gaussianNll": float(-np.mean(scipy.stats.norm.logpdf(target, loc=mean, scale=sd))),
        "levels": levels,
        "halfWidth": {str(c): float(scipy.stats.norm.ppf((1 + c) / 2)) for c in levels},
        "coverage": coverage,
    }


def write(name, obj):
    path = os.path.normpath(os.path.join(OUT, name))
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, allow_nan=False)
        f.write("\n")
    print("wrote", path)


if __name__ == "__main__":
    write("classification.json", classification())
    write("roc.json", roc())
    write("regression.json", regression())
