#!/usr/bin/python3
"""The PyTorch peer of scripts/bench/scoring.sh: the forward passes of a 5-member 784-200-200-200-10 MLP ensemble
(ReLU, softmax outputs, uniform mixture) on batches of the same size deepens scores, in inference mode, on one
thread. Prints every run's rows/s and `torch_rows_per_s=` (median). Weights are random (speed does not depend on
them); the inputs are k/16 values like the benchmark's Parquet table.

  OMP_NUM_THREADS=1 /usr/bin/python3 scripts/bench/pytorch_scoring.py --rows 200000 --batch 2048 --runs 5
"""
import argparse
import os
import statistics
import time

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import torch  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=2048)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--members", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    members = []
    for _ in range(a.members):
        members.append(torch.nn.Sequential(
            torch.nn.Linear(784, 200), torch.nn.ReLU(),
            torch.nn.Linear(200, 200), torch.nn.ReLU(),
            torch.nn.Linear(200, 200), torch.nn.ReLU(),
            torch.nn.Linear(200, 10)).eval())
    x = torch.randint(0, 17, (a.batch, 784)).float() / 16
    rates = []
    with torch.inference_mode():
        for run in range(-1, a.runs):  # run -1 warms up
            t0 = time.perf_counter()
            done = 0
            while done < a.rows:
                mix = torch.zeros(a.batch, 10)
                for m in members:
                    mix += torch.softmax(m(x), dim=1)
                mix /= len(members)
                done += a.batch
            s = time.perf_counter() - t0
            if run >= 0:
                rates.append(done / s)
    print("torch %s, %d thread(s), batch %d, %d rows per run" % (torch.__version__, a.threads, a.batch, a.rows))
    print("torch runs rows/s: " + ", ".join("%.0f" % r for r in rates))
    print("torch_rows_per_s=%.0f" % statistics.median(rates))


if __name__ == "__main__":
    main()
