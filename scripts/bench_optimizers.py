"""Time per epoch of the numba variant's run with Adam against plain gradient descent.

    python scripts/bench_optimizers.py            # the four workloads, float32 and float64

The update is fused into the run's per-parameter sweep (kernels/jit_train.py): Adam adds a second
moment, a square root and a division per parameter, and should stay a small part of an epoch.
One process, the two optimisers interleaved, best of ``--repeats``; (c) and (d) on fewer epochs.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from fastnn.workloads import WORKLOADS, random_problem  # noqa: E402
from kernels import jit  # noqa: E402

EPOCHS = {"a": 5000, "b": 50, "c": 1, "d": 2}


def seconds_per_epoch(workload, dtype, optimizer, epochs):
    rng = np.random.default_rng(0)
    weights, biases, X, Y = random_problem(workload, dtype, rng)
    m = workload.examples
    orders = np.array([rng.permutation(m) for _ in range(epochs)]) if workload.batch_size else None
    lr = 0.001 if optimizer == "adam" else workload.learning_rate
    start = time.perf_counter()
    jit.train(
        weights,
        biases,
        X,
        Y,
        list(workload.activations),
        epochs,
        lr,
        batch_size=workload.batch_size,
        orders=orders,
        optimizer=optimizer,
    )
    return (time.perf_counter() - start) / epochs


def _fmt(seconds):
    return f"{seconds * 1e6:.2f} us" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", default=sorted(WORKLOADS))
    parser.add_argument("--dtype", nargs="+", default=["float64", "float32"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"{'load':4} {'dtype':7} {'descent/epoch':>14} {'adam/epoch':>12} {'adam/descent':>12}")
    for key in args.only:
        workload = WORKLOADS[key]
        for dtype in args.dtype:
            for optimizer in ("gradient_descent", "adam"):  # compile, calibrate
                seconds_per_epoch(
                    workload.with_examples(min(workload.examples, 256)), dtype, optimizer, 1
                )
            best = {"gradient_descent": np.inf, "adam": np.inf}
            for _ in range(args.repeats):
                for optimizer in best:
                    best[optimizer] = min(
                        best[optimizer], seconds_per_epoch(workload, dtype, optimizer, EPOCHS[key])
                    )
            descent, adam = best["gradient_descent"], best["adam"]
            print(
                f"({key})  {dtype:7} {_fmt(descent):>14} {_fmt(adam):>12} {adam / descent:12.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
