"""Time per epoch of ``vectorized.train`` and ``jit.train`` on the kernels issue's workloads.

    python scripts/bench_workloads.py                 # all workloads, float32 and float64
    python scripts/bench_workloads.py --only a b --dtype float32 --scale 0.5
    python scripts/bench_workloads.py --compile       # also cold/warm start-up times

Workloads (random data; the sizes are what matter):
  (a) 2-4-1 tanh/sigmoid, m = 400, full batch
  (b) 12288-20-7-5-1 relu/sigmoid, m = 209, full batch
  (c) 784-256-128-1 relu/sigmoid, m = 60000, mini-batches of 128
  (d) 1024-1024-1024-1 relu/sigmoid, m = 8192, full batch

Both variants run side by side in one process, JIT warmed up first (compilation is not
timed here), interleaved, best of ``--repeats``: the machine is shared, and the best of
repeats is the least disturbed. FLOPs per epoch count the matrix products only:
forward ``2 n_l n_{l-1} m`` per layer and backward twice that (``dW`` and ``dA_prev``),
less the first layer's ``dA_prev`` (dX), which no variant computes: the work done.
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

from kernels import jit, vectorized  # noqa: E402

WORKLOADS = {
    "a": dict(sizes=(2, 4, 1), hidden="tanh", m=400, batch=None, epochs=(300, 20000)),
    "b": dict(sizes=(12288, 20, 7, 5, 1), hidden="relu", m=209, batch=None, epochs=(10, 100)),
    "c": dict(sizes=(784, 256, 128, 1), hidden="relu", m=60000, batch=128, epochs=(1, 2)),
    "d": dict(sizes=(1024, 1024, 1024, 1), hidden="relu", m=8192, batch=None, epochs=(1, 3)),
}
#: epochs = (vectorized, jit) per timed call, before --scale


def problem(spec, dtype, seed=0):
    rng = np.random.default_rng(seed)
    sizes, m = spec["sizes"], spec["m"]
    weights = [(rng.standard_normal((n, p)) * np.sqrt(2.0 / p)).astype(dtype)
               for p, n in zip(sizes, sizes[1:])]
    biases = [np.zeros((n, 1), dtype) for n in sizes[1:]]
    X = rng.standard_normal((sizes[0], m)).astype(dtype)
    Y = (rng.random((1, m)) < 0.5).astype(dtype)
    activations = [spec["hidden"]] * (len(sizes) - 2) + ["sigmoid"]
    return weights, biases, X, Y, activations


def flops_per_epoch(spec):
    sizes, m = spec["sizes"], spec["m"]
    forward = sum(2 * n * p * m for p, n in zip(sizes, sizes[1:]))
    first_layer_dX = 2 * sizes[0] * sizes[1] * m
    return 3 * forward - first_layer_dX


def gemm_peak(dtype, n=4096, repeats=3):
    A = np.random.default_rng(1).standard_normal((n, n)).astype(dtype)
    B = A.T.copy()
    A @ B
    best = min(_timed(lambda: A @ B) for _ in range(repeats))
    return 2 * n ** 3 / best / 1e9


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def time_train(module, spec, dtype, epochs, lr=0.01):
    """Seconds per epoch of one call of ``module.train`` for ``epochs`` epochs (fresh parameters)."""
    weights, biases, X, Y, activations = problem(spec, dtype)
    orders = None
    if spec["batch"]:
        rng = np.random.default_rng(3)
        orders = np.array([rng.permutation(spec["m"]) for _ in range(epochs)])
    seconds = _timed(lambda: module.train(weights, biases, X, Y, activations, epochs, lr,
                                          batch_size=spec["batch"], orders=orders))
    return seconds / epochs


def bench(names, dtypes, scale, repeats):
    peaks = {np.dtype(d).name: gemm_peak(d) for d in dtypes}
    for dtype, peak in peaks.items():
        print(f"OpenBLAS np.dot 4096^2 peak, {dtype}: {peak:.0f} GFLOP/s")
    print()
    header = (f"{'load':4} {'dtype':7} {'numpy/epoch':>12} {'jit/epoch':>12} {'speed-up':>8} "
              f"{'GFLOP':>8} {'jit GF/s':>8} {'of peak':>7}")
    print(header)
    print("-" * len(header))
    rows = []
    for name in names:
        spec = WORKLOADS[name]
        for dtype in dtypes:
            e_numpy, e_jit = (max(1, int(round(e * scale))) for e in spec["epochs"])
            time_train(jit, spec, dtype, 1)  # compile / load from cache, warm up
            best_numpy, best_jit = np.inf, np.inf
            for _ in range(repeats):
                best_numpy = min(best_numpy, time_train(vectorized, spec, dtype, e_numpy))
                best_jit = min(best_jit, time_train(jit, spec, dtype, e_jit))
            flops = flops_per_epoch(spec)
            gflops = flops / best_jit / 1e9
            dname = np.dtype(dtype).name
            rows.append((name, dname, best_numpy, best_jit))
            print(f"({name})  {dname:7} {_fmt(best_numpy):>12} {_fmt(best_jit):>12} "
                  f"{best_numpy / best_jit:8.1f} {flops / 1e9:8.3f} {gflops:8.1f} "
                  f"{gflops / peaks[dname]:7.0%}", flush=True)
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
        env = dict(os.environ, NUMBA_CACHE_DIR=cache,
                   PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
        print("\nstart-up (fresh process; import kernels.jit, then the first train call):")
        for label in ("cold (empty cache)", "warm (cache present)"):
            out = subprocess.run([sys.executable, "-c", STARTUP], env=env, cwd=ROOT,
                                 capture_output=True, text=True, check=True).stdout.split()
            imported, f64, f32 = (float(x) for x in out)
            print(f"  {label:22} import {imported:6.2f} s, first train float64 {f64:6.2f} s, "
                  f"float32 {f32:6.2f} s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(WORKLOADS), default=sorted(WORKLOADS))
    parser.add_argument("--dtype", nargs="+", choices=["float32", "float64"],
                        default=["float32", "float64"])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the epochs timed")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compile", action="store_true", help="also measure start-up times")
    args = parser.parse_args(argv)
    import numba

    print(f"numba {numba.__version__}, numpy {np.__version__}, "
          f"{numba.config.NUMBA_NUM_THREADS} threads, {os.cpu_count()} CPUs")
    bench(args.only, [np.dtype(d).type for d in args.dtype], args.scale, args.repeats)
    if args.compile:
        startup_times()


if __name__ == "__main__":
    main()
