"""Time per epoch of ``vectorized.train`` and ``jit.train`` on the kernels issue's workloads.

    python scripts/bench_workloads.py                 # all workloads, float32 and float64
    python scripts/bench_workloads.py --only a b --dtype float32 --scale 0.5
    python scripts/bench_workloads.py --compile       # also cold/warm start-up times

Workloads: ``fastnn.workloads`` (a)-(d), on random data (the sizes are what matter).

Both variants run side by side in one process, JIT warmed up first (compilation is not
timed here), interleaved, best of ``--repeats``: the machine is shared, and the best of
repeats is the least disturbed. FLOPs per epoch: ``fastnn.workloads.training_flops``
(the matrix products the variants do).
GFLOP/s is that count over the time; "peak" is OpenBLAS's (np.dot) 4096^2 product
measured here, and "of peak" is the time floor (FLOPs / peak) over the time.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from fastnn.workloads import WORKLOADS, random_problem  # noqa: E402
from kernels import jit, vectorized  # noqa: E402

#: Epochs per timed call (vectorized, jit), before --scale.
EPOCHS = {"a": (300, 20000), "b": (10, 100), "c": (1, 2), "d": (1, 3)}


def gemm_peak(dtype, n=4096, repeats=3):
    A = np.random.default_rng(1).standard_normal((n, n)).astype(dtype)
    B = A.T.copy()
    A @ B
    best = min(_timed(lambda: A @ B) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def time_train(module, workload, dtype, epochs):
    """Seconds per epoch of one call of ``module.train`` for ``epochs`` epochs (fresh
    parameters)."""
    weights, biases, X, Y = random_problem(workload, dtype, np.random.default_rng(0))
    orders = None
    if workload.batch_size:
        rng = np.random.default_rng(3)
        orders = np.array([rng.permutation(workload.examples) for _ in range(epochs)])
    seconds = _timed(
        lambda: module.train(
            weights,
            biases,
            X,
            Y,
            list(workload.activations),
            epochs,
            workload.learning_rate,
            batch_size=workload.batch_size,
            orders=orders,
        )
    )
    return seconds / epochs


def bench(names, dtypes, scale, repeats):
    peaks = {np.dtype(d).name: gemm_peak(d) for d in dtypes}
    for dtype, peak in peaks.items():
        print(f"OpenBLAS np.dot 4096^2 peak, {dtype}: {peak:.0f} GFLOP/s")
    print()
    header = (
        f"{'load':4} {'dtype':7} {'numpy/epoch':>12} {'jit/epoch':>12} {'speed-up':>8} "
        f"{'GFLOP':>8} {'jit GF/s':>8} {'of peak':>7}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    for name in names:
        workload = WORKLOADS[name]
        for dtype in dtypes:
            e_numpy, e_jit = (max(1, int(round(e * scale))) for e in EPOCHS[name])
            time_train(jit, workload, dtype, 1)  # compile / load from cache, warm up
            best_numpy, best_jit = np.inf, np.inf
            for _ in range(repeats):
                best_numpy = min(best_numpy, time_train(vectorized, workload, dtype, e_numpy))
                best_jit = min(best_jit, time_train(jit, workload, dtype, e_jit))
            flops = workload.flops_per_epoch()
            gflops = flops / best_jit / 1e9
            dname = np.dtype(dtype).name
            rows.append((name, dname, best_numpy, best_jit))
            print(
                f"({name})  {dname:7} {_fmt(best_numpy):>12} {_fmt(best_jit):>12} "
                f"{best_numpy / best_jit:8.1f} {flops / 1e9:8.3f} {gflops:8.1f} "
                f"{gflops / peaks[dname]:7.0%}",
                flush=True,
            )
    return rows


def _fmt(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.3f} s"


STARTUP = textwrap.dedent("""
    import sys, time
    start = time.perf_counter()
    import numpy as np
    from kernels import jit
    imported = time.perf_counter()
    rng = np.random.default_rng(0)
    times = []
    for dtype in (np.float64, np.float32):
        W = [rng.standard_normal((4, 2)).astype(dtype), rng.standard_normal((1, 4)).astype(dtype)]
        b = [np.zeros((4, 1), dtype), np.zeros((1, 1), dtype)]
        X = rng.standard_normal((2, 50)).astype(dtype)
        Y = (rng.random((1, 50)) < 0.5).astype(dtype)
        t = time.perf_counter()
        jit.train(W, b, X, Y, ["tanh", "sigmoid"], 2, 0.1)
        times.append(time.perf_counter() - t)
    print(imported - start, *times)
""")


def startup_times():
    """Cold (empty cache) and warm (cache present) start: import, then the first train
    call per dtype, each in a fresh process with its own NUMBA_CACHE_DIR."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(
            os.environ,
            NUMBA_CACHE_DIR=cache,
            PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]),
        )
        print("\nstart-up (fresh process; import kernels.jit, then the first train call):")
        for label in ("cold (empty cache)", "warm (cache present)"):
            out = subprocess.run(
                [sys.executable, "-c", STARTUP],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            imported, f64, f32 = (float(x) for x in out)
            print(
                f"  {label:22} import {imported:6.2f} s, first train float64 {f64:6.2f} s, "
                f"float32 {f32:6.2f} s"
            )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(WORKLOADS), default=sorted(WORKLOADS))
    parser.add_argument(
        "--dtype", nargs="+", choices=["float32", "float64"], default=["float32", "float64"]
    )
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the epochs timed")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compile", action="store_true", help="also measure start-up times")
    args = parser.parse_args(argv)
    import numba

    print(
        f"numba {numba.__version__}, numpy {np.__version__}, "
        f"{numba.config.NUMBA_NUM_THREADS} threads, {os.cpu_count()} CPUs"
    )
    bench(args.only, [np.dtype(d).type for d in args.dtype], args.scale, args.repeats)
    if args.compile:
        startup_times()


if __name__ == "__main__":
    main()
