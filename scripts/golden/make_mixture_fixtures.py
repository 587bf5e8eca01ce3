#!/usr/bin/python3
"""Golden fixtures for io.deepens.core.mixture and io.deepens.core.weighting, computed with numpy / scipy in a
direct (non-log-space) formulation independent of the Java code.

Run from the repository root with the Debian python (python3-numpy, python3-scipy):

    /usr/bin/python3 scripts/golden/make_mixture_fixtures.py

Writes ensemble-core/src/test/resources/io/deepens/core/mixture/classify.json, .../mixture/regress.json and
ensemble-core/src/test/resources/io/deepens/core/weighting/weighting.json. Inputs come from numpy.random.default_rng
with fixed seeds. Member probabilities are float32 values (what the scoring loop gets from ND4J); expected values are
computed in float64 from those float32 values.
"""
import json
import os
import sys

import numpy as np
import scipy
import scipy.optimize
import scipy.special

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                    "ensemble-core/src/test/resources/io/deepens/core")
GENERATOR = (f"scripts/golden/make_mixture_fixtures.py with python {sys.version.split()[0]}, numpy {np.__version__}, "
             f"scipy {scipy.__version__}")


def floats(a):
    return [float(x) for x in np.asarray(a, dtype=np.float64).ravel()]


def member_probs(rng, members, rows, classes):
    """float32 softmax rows with some exact one-hot rows and exact zeros."""
    out = []
    for m in range(members):
        z = rng.normal(size=(rows, classes)) * rng.uniform(0.3, 4.0)
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[rng.random(rows) < 0.1] = 0.0
        zero_rows = ~(p.sum(axis=1) > 0)
        p[zero_rows] = np.eye(classes)[rng.integers(0, classes, size=zero_rows.sum())]
        out.append(p.astype(np.float32))
    return out


def classify_expected(probs, weights, temperature):
    """Direct formula: p_T = p^(1/T) / sum p^(1/T) (0^(1/T) = 0); entropies with scipy.special.entr (0 log 0 = 0)."""
    comps = []
    for p in probs:
        p = p.astype(np.float64)
        p = p / p.sum(axis=1, keepdims=True)
        q = np.power(p, 1.0 / temperature)
        q = q / q.sum(axis=1, keepdims=True)
        comps.append(q)
    comps = np.stack(comps)                      # [C, rows, classes]
    w = np.asarray(weights, dtype=np.float64)
    mix = np.einsum("c,crk->rk", w, comps)
    h_members = scipy.special.entr(comps).sum(axis=2)      # [C, rows]
    expected = w @ h_members
    total = scipy.special.entr(mix).sum(axis=1)
    pred = np.argmax(mix, axis=1)
    rows = np.arange(mix.shape[0])
    pk = comps[:, rows, pred]                    # [C, rows]
    var = w @ (pk - mix[rows, pred]) ** 2
    return {
        "probability": floats(mix),
        "prediction": [int(x) for x in pred],
        "maxProbability": floats(mix[rows, pred]),
        "predictiveEntropy": floats(total),
        "expectedEntropy": floats(expected),
        "mutualInformation": floats(np.maximum(0.0, total - expected)),
        "predictedClassVariance": floats(var),
    }


def classify():
    rng = np.random.default_rng(20171201)
    cases = []
    members, rows, classes = 3, 40, 4
    probs = member_probs(rng, members, rows, classes)
    weights = [0.5, 0.3, 0.2]
    for t in [1.0, 0.7, 2.5]:
        case = {"name": f"M3_T{t}", "members": members, "samplesPerMember": 1, "rows": rows, "classes": classes,
                "weights": weights, "temperature": t, "probs": [floats(p) for p in probs]}
        case.update(classify_expected(probs, weights, t))
        cases.append(case)
    # MC dropout: 2 members x 3 samples, member weights (0.6, 0.4) -> component weights w_m / 3.
    comps = member_probs(rng, 6, 25, 3)
    w = [0.6, 0.4]
    cw = [w[c // 3] / 3 for c in range(6)]
    case = {"name": "mc_dropout_M2_S3", "members": 2, "samplesPerMember": 3, "rows": 25, "classes": 3,
            "weights": w, "temperature": 1.0, "probs": [floats(p) for p in comps]}
    case.update(classify_expected(comps, cw, 1.0))
    cases.append(case)
    return {"generator": GENERATOR, "cases": cases}


def regress():
    rng = np.random.default_rng(20171202)
    members, rows = 4, 30
    means = (rng.normal(size=(members, rows)) * 2).astype(np.float32)
    variances = np.exp(rng.normal(size=(members, rows))).astype(np.float32)
    w = np.array([0.1, 0.2, 0.3, 0.4])
    mu = means.astype(np.float64)
    s2 = variances.astype(np.float64)
    mean = w @ mu
    alea = w @ s2
    # Mixture variance from the second moment, a different route from the Java two-pass formula.
    second = w @ (s2 + mu ** 2)
    total = second - mean ** 2
    epi = w @ (mu - mean) ** 2
    return {
        "generator": GENERATOR,
        "members": members,
        "rows": rows,
        "weights": floats(w),
        "means": [floats(m) for m in means],
        "variances": [floats(v) for v in variances],
        "mean": floats(mean),
        "variance": floats(total),
        "aleatoricVariance": floats(alea),
        "epistemicVariance": floats(epi),
    }


def weighting():
    rng = np.random.default_rng(20180101)
    # Stacking: maximise mean log sum_m w_m exp(L_mi) over the simplex with SLSQP.
    members, rows = 4, 300
    p = rng.uniform(0.01, 1.0, size=(members, rows)) ** rng.uniform(0.5, 3.0, size=(members, 1))
    loglik = np.log(p)

    def neg(w):
        return -np.mean(scipy.special.logsumexp(loglik, b=np.maximum(w, 0)[:, None], axis=0))

    res = scipy.optimize.minimize(neg, np.full(members, 1.0 / members), method="SLSQP",
                                  bounds=[(0, 1)] * members,
                                  constraints=[{"type": "eq", "fun": lambda w: np.sum(w) - 1}],
                                  options={"ftol": 1e-15, "maxiter": 1000})
    w_opt = np.maximum(res.x, 0)
    w_opt /= w_opt.sum()
    # Pseudo-BMA without bootstrap.
    elpd = loglik.sum(axis=1)
    bma = np.exp(elpd - elpd.max())
    bma /= bma.sum()
    # Temperature: one T minimising the NLL of the tempered mixture, by bounded scalar search on log T.
    tm, tr, tk = 2, 200, 4
    probs = member_probs(rng, tm, tr, tk)
    tw = np.array([0.7, 0.3])
    # Labels drawn from the mixture of members tempered at T = 1.5 (the members are over-confident), so the NLL has
    # an interior minimum near 1.5.
    true_mix = np.zeros((tr, tk))
    for m in range(tm):
        pp = np.power(probs[m].astype(np.float64), 1.0 / 1.5)
        true_mix += tw[m] * pp / pp.sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(tk, p=row / row.sum()) for row in true_mix])

    def nll(log_t):
        t = np.exp(log_t)
        mix = np.zeros(tr)
        for m in range(tm):
            pp = probs[m].astype(np.float64)
            pp = pp / pp.sum(axis=1, keepdims=True)
            q = np.power(pp, 1.0 / t)
            q = q / q.sum(axis=1, keepdims=True)
            mix += tw[m] * q[np.arange(tr), labels]
        return -np.mean(np.log(np.maximum(mix, 1e-12)))

    grid = np.linspace(np.log(0.05), np.log(20), 400)
    g = grid[np.argmin([nll(u) for u in grid])]
    opt = scipy.optimize.minimize_scalar(nll, bounds=(g - 0.05, g + 0.05), method="bounded",
                                         options={"xatol": 1e-10})
    return {
        "generator": GENERATOR,
        "stacking": {"memberLogLik": [floats(l) for l in loglik], "weights": floats(w_opt),
                     "objective": float(-neg(w_opt))},
        "pseudoBma": {"weights": floats(bma)},
        "temperature": {"members": tm, "rows": tr, "classes": tk, "weights": floats(tw),
                        "probs": [floats(p) for p in probs], "labels": [int(x) for x in labels],
                        "temperature": float(np.exp(opt.x)), "nll": float(opt.fun), "nllAtT1": float(nll(0.0))},
    }


def write(rel, obj):
    path = os.path.normpath(os.path.join(ROOT, rel))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, allow_nan=False)
        f.write("\n")
    print("wrote", path)


if __name__ == "__main__":
    write("mixture/classify.json", classify())
    write("mixture/regress.json", regress())
    write("weighting/weighting.json", weighting())
