"""GFLOP/s of the hand-written Numba products against OpenBLAS, side by side in one process.

For each form (nn: A @ B, nt: A @ B.T, tn: A.T @ B) and dtype, on the shapes of the four training
workloads and on squares, prints GFLOP/s of each path a product of the training run can take
(jit_products.product: the plain loops, the serial tiled kernels, np.dot inside compiled code, i.e.
SciPy's OpenBLAS), of the tiled kernels with parallel strips (jit_gemm.hand_*) and of NumPy's np.dot
(NumPy's OpenBLAS), each the best of several repeats (the machine is shared), and tiles / NumPy. Calls from Python add about 0.3-1 us: the smallest
shapes are overhead-bound here; in compiled code np.dot costs about 0.1 us a call.

    python scripts/bench_gemm.py                 # all shapes, squares up to 2048
    python scripts/bench_gemm.py --max-square 4096 --threads 1
"""

import argparse
import os
import sys
import time

import numpy as np
from numba import config, njit, set_num_threads
from threadpoolctl import threadpool_info, threadpool_limits

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fastnn.workloads import WORKLOADS  # noqa: E402
from kernels import jit_gemm, jit_products  # noqa: E402


def workload_shapes():
    """``{form: [((M, N, K), where from), ...]}``: every product of a training step of the
    four workloads (``fastnn.workloads``), C (M, N) with K terms per output, one row per
    distinct shape. A step works on ``batch_size`` examples (all of them in full batch)."""
    shapes = {"nn": {}, "nt": {}, "tn": {}}
    for key, workload in WORKLOADS.items():
        n, m = workload.sizes, workload.batch_size or workload.examples
        for l in range(1, len(n)):
            shapes["nn"].setdefault((n[l], m, n[l - 1]), []).append(f"{key} Z{l}")  # W A_prev
            shapes["nt"].setdefault((n[l], n[l - 1], m), []).append(f"{key} dW{l}")  # dZ A^T
            if l > 1:  # W^T dZ; no variant computes the first layer's dX
                shapes["tn"].setdefault((n[l - 1], m, n[l]), []).append(f"{key} dA{l - 1}")
    return {
        form: [(shape, ",".join(labels)) for shape, labels in table.items()]
        for form, table in shapes.items()
    }


#: pause between implementations: each thread pool (Numba's OpenMP, each OpenBLAS) keeps spinning
#: for a while after use and would slow the next one down (see the module docstring of jit_gemm).
SETTLE_S = 1.0

HAND = {"nn": jit_gemm.hand_nn, "nt": jit_gemm.hand_nt, "tn": jit_gemm.hand_tn}


def _path(path, form):
    """``f(A, B, C)``: jit_products.product on one path, with its work buffer."""

    work = [None]  # grown as needed, kept between calls (not timed)

    def call(A, B, C):
        if work[0] is None or work[0].size < A.size + jit_gemm.STRIP_BUFFER:
            work[0] = np.empty(A.size + jit_gemm.STRIP_BUFFER, C.dtype)
        jit_products.product(jit_products.FORM_NAMES.index(form), path, A, B, C, work[0])

    return call


LOOPS = {form: _path(jit_products.LOOPS, form) for form in ("nn", "nt", "tn")}
TILES = {form: _path(jit_products.TILES, form) for form in ("nn", "nt", "tn")}


@njit(cache=True)
def _blas_nn(A, B, C):
    np.dot(A, B, C)


@njit(cache=True)
def _blas_nt(A, B, C):
    np.dot(A, B.T, C)


@njit(cache=True)
def _blas_tn(A, B, C):
    np.dot(A.T, B, C)


BLAS_IN_NUMBA = {"nn": _blas_nn, "nt": _blas_nt, "tn": _blas_tn}
NUMPY = {
    "nn": lambda A, B, C: np.dot(A, B, C),
    "nt": lambda A, B, C: np.dot(A, B.T, C),
    "tn": lambda A, B, C: np.dot(A.T, B, C),
}


def operands(form, M, N, K, dtype, rng):
    a_shape = (K, M) if form == "tn" else (M, K)
    b_shape = (N, K) if form == "nt" else (K, N)
    A = rng.standard_normal(a_shape).astype(dtype)
    B = rng.standard_normal(b_shape).astype(dtype)
    return A, B, np.empty((M, N), dtype)


def best_time(call, budget_s, repeats):
    """Best of ``repeats`` timings, each long enough to be measured (loops of a short call)."""
    t0 = time.perf_counter()
    call()
    once = time.perf_counter() - t0
    inner = max(1, int(0.002 / max(once, 1e-9)))
    best = float("inf")
    start = time.perf_counter()
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            call()
        best = min(best, (time.perf_counter() - t0) / inner)
        if time.perf_counter() - start > budget_s:
            break
    return best


def gflops(M, N, K, seconds):
    return 2.0 * M * N * K / seconds / 1e9


def run(forms, dtypes, squares, repeats, budget_s):
    """One implementation at a time over all shapes of a form, so that no thread pool (Numba's
    OpenMP, either OpenBLAS) runs while another one's workers are still spinning."""
    rng = np.random.default_rng(0)
    header = (
        f"{'form':4} {'dtype':7} {'shape (M,N,K)':>18} {'from':8} {'loops':>7} {'tiles':>7} "
        f"{'hand':>7} {'np.dot@nb':>9} {'numpy':>7} {'tiles/numpy':>11}"
    )
    for dtype in dtypes:
        for form in forms:
            shapes = workload_shapes()[form] + [((s, s, s), "square") for s in squares]
            problems = [operands(form, M, N, K, dtype, rng) for (M, N, K), _ in shapes]
            rates = np.zeros((len(shapes), 5))
            implementations = (
                LOOPS[form],
                TILES[form],
                HAND[form],
                BLAS_IN_NUMBA[form],
                NUMPY[form],
            )
            for column, impl in enumerate(implementations):
                time.sleep(SETTLE_S)
                for row, (((M, N, K), _), operands_) in enumerate(zip(shapes, problems)):
                    seconds = best_time(_call(impl, operands_), budget_s, repeats)
                    rates[row, column] = gflops(M, N, K, seconds)
            print(header)
            for ((M, N, K), origin), r in zip(shapes, rates):
                print(
                    f"{form:4} {np.dtype(dtype).name:7} {str((M, N, K)):>18} {origin:8} "
                    f"{r[0]:7.1f} {r[1]:7.1f} {r[2]:7.1f} {r[3]:9.1f} {r[4]:7.1f} {r[1] / r[4]:11.2f}",
                    flush=True,
                )


def _call(impl, operands_):
    return lambda: impl(*operands_)


def peak(dtype, repeats):
    rng = np.random.default_rng(1)
    A = rng.standard_normal((4096, 4096)).astype(dtype)
    B = rng.standard_normal((4096, 4096)).astype(dtype)
    C = np.empty_like(A)
    return gflops(4096, 4096, 4096, best_time(lambda: np.dot(A, B, C), 60, repeats))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", default="nn,nt,tn")
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--max-square", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per timing at most")
    parser.add_argument(
        "--threads", type=int, default=None, help="Numba and BLAS threads (default: all cores)"
    )
    parser.add_argument("--no-peak", action="store_true")
    args = parser.parse_args()

    dtypes = [np.dtype(d).type for d in args.dtypes.split(",")]
    forms = args.forms.split(",")
    squares = [s for s in (256, 512, 1024, 2048, 4096) if s <= args.max_square]
    # Load SciPy's OpenBLAS (np.dot inside Numba) before threadpoolctl looks for libraries.
    for dtype in dtypes:
        for form in forms:
            A, B, C = operands(form, 2, 2, 2, dtype, np.random.default_rng(0))
            BLAS_IN_NUMBA[form](A, B, C)
    threads = args.threads or config.NUMBA_NUM_THREADS
    set_num_threads(threads)
    with threadpool_limits(threads):
        print(
            f"Numba threads {threads}, threading layer default; "
            f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}"
        )
        for info in threadpool_info():
            print(
                f"  {info['internal_api']} {info.get('version')} {info.get('architecture')} "
                f"threads={info['num_threads']} {os.path.basename(info['filepath'])}"
            )
        if not args.no_peak:
            for dtype in dtypes:
                print(
                    f"OpenBLAS 4096^2 peak {np.dtype(dtype).name}: "
                    f"{peak(dtype, min(args.repeats, 3)):.1f} GFLOP/s",
                    flush=True,
                )
        run(forms, dtypes, squares, args.repeats, args.budget)


if __name__ == "__main__":
    main()
