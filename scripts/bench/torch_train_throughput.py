#!/usr/bin/python3
"""PyTorch peer of TrainThroughputBench: the reference MLP 784-200-200-200-10 (ReLU, cross-entropy, Adam 1e-3),
batch 128, 50 preallocated random minibatches, WARMUP untimed iterations then ITERS timed ones.
Usage: torch_train_throughput.py THREADS [WARMUP] [ITERS]; prints
`RESULT torch THREADS samples_per_second samples_per_cpu_second` (process CPU time, all threads)."""
import os
import sys

threads = int(sys.argv[1])
for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[k] = str(threads)
warmup = int(sys.argv[2]) if len(sys.argv) > 2 else 200
iters = int(sys.argv[3]) if len(sys.argv) > 3 else 800

import time  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(threads)
torch.set_num_interop_threads(1)
torch.manual_seed(42)
B, IN, K, NB = 128, 784, 10, 50
xs = [torch.rand(B, IN) for _ in range(NB)]
ys = [torch.randint(0, K, (B,)) for _ in range(NB)]
model = torch.nn.Sequential(
    torch.nn.Linear(IN, 200), torch.nn.ReLU(),
    torch.nn.Linear(200, 200), torch.nn.ReLU(),
    torch.nn.Linear(200, 200), torch.nn.ReLU(),
    torch.nn.Linear(200, K))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = torch.nn.CrossEntropyLoss()
t0 = c0 = 0.0
for it in range(warmup + iters):
    if it == warmup:
        t0 = time.perf_counter()
        c0 = time.process_time()
    x, y = xs[it % NB], ys[it % NB]
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
s = time.perf_counter() - t0
c = time.process_time() - c0
print("RESULT torch %d %.0f %.0f" % (threads, iters * B / s, iters * B / c))
