#!/usr/bin/python3
"""PyTorch peer of TrainThroughputBench: the reference MLP 784-200-200-200-10 (ReLU, cross-entropy, Adam 1e-3),
batch 128, 50 preallocated random minibatches, WARMUP untimed iterations then ITERS timed ones.
With ARCH `cnn`, the peer of CnnThroughputBench: conf/fashion-mnist-cnn.yaml's network (1x28x28 -> conv 5x5x20
same -> max pool 2 -> dropout 0.25 -> conv 5x5x50 same -> max pool 2 -> dropout -> dense 500 -> dropout -> 10),
AdamW 1e-3 with weight decay 1e-4 (DL4J's lr-scaled decay).
Usage: torch_train_throughput.py THREADS [WARMUP] [ITERS] [mlp|cnn]; prints
`RESULT torch THREADS samples_per_second samples_per_cpu_second` (process CPU time, all threads); `torch-cnn` for
the CNN."""
import os
import sys

threads = int(sys.argv[1])
for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[k] = str(threads)
warmup = int(sys.argv[2]) if len(sys.argv) > 2 else 200
iters = int(sys.argv[3]) if len(sys.argv) > 3 else 800
arch = sys.argv[4] if len(sys.argv) > 4 else "mlp"

import time  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(threads)
torch.set_num_interop_threads(1)
torch.manual_seed(42)
B, IN, K, NB = 128, 784, 10, 50
xs = [torch.rand(B, IN) for _ in range(NB)]
ys = [torch.randint(0, K, (B,)) for _ in range(NB)]
nn = torch.nn
if arch == "cnn":
    model = nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 20, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Conv2d(20, 50, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.25),
        nn.Linear(2450, 500), nn.ReLU(), nn.Dropout(0.25),
        nn.Linear(500, K))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
else:
    model = nn.Sequential(
        nn.Linear(IN, 200), nn.ReLU(),
        nn.Linear(200, 200), nn.ReLU(),
        nn.Linear(200, 200), nn.ReLU(),
        nn.Linear(200, K))
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
print("RESULT %s %d %.0f %.0f" % ("torch" if arch == "mlp" else "torch-cnn", threads, iters * B / s, iters * B / c))
