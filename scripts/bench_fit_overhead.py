"""How much ``fit`` adds to the kernels: the numba backend's ``MLPClassifier.fit``
against one direct call of ``kernels.get("numba").train`` with the same epochs.

The four workloads of the kernels issue (``fastnn.workloads``; epochs scaled down so
the whole script runs in a few minutes).

``fit`` does everything a user's call does: checks, the conversion of X
(rows are examples, float64) to the notes' layout with standardisation, the
initialisation, the chunked run with its mini-batch orders, the folding back.
The direct call gets X already in the notes' layout and its orders drawn
beforehand (untimed). Both are run after a warm-up (compilation excluded),
alternately, ``--repeat`` times; the ratio is of the best times.

The epochs are chosen so that, at the kernels issue's target speeds, each run
takes 0.1-8 s; ``--scale`` multiplies them (slower kernels: a smaller scale).
The fixed cost of a fit is mostly the conversion of X, shown on its own
("convert s": ``fastnn.scaling.prepare_inputs``); it is why (c) needs a fair
number of epochs before the ratio approaches 1.

Usage: python scripts/bench_fit_overhead.py [--dtypes float64 float32] [--repeat 3]
       [--workloads a b c d] [--scale 1.0]
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import fastnn  # noqa: E402
import kernels  # noqa: E402
from fastnn import scaling  # noqa: E402
from fastnn.workloads import WORKLOADS, he_parameters  # noqa: E402

#: Epochs of each workload's runs, before --scale.
EPOCHS = {"a": 20000, "b": 300, "c": 20, "d": 5}
#: One rate for every workload: a fit that diverged would stop early and time nothing.
LEARNING_RATE = 0.01


def make_data(n_x, m, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n_x))
    y = (X[:, 0] + 0.5 * rng.standard_normal(m) > 0).astype(np.int64)
    return X, y


def direct_run(module, model, X, y, epochs, dtype):
    """The kernel call the fit makes, set up outside the timer; returns a callable."""
    n_x, m = X.shape[1], X.shape[0]
    XT = np.ascontiguousarray(((X - X.mean(axis=0)) / X.std(axis=0)).T, dtype=dtype)
    Y = y.reshape(1, m).astype(dtype)
    sizes = (n_x,) + tuple(model.hidden) + (1,)
    rng = np.random.default_rng(0)
    initial, _ = he_parameters(sizes, rng, dtype)
    batch = model.batch_size
    orders = None if batch is None else np.stack([rng.permutation(m) for _ in range(epochs)])
    activations = [model.activation] * len(model.hidden) + ["sigmoid"]

    def run():
        weights = [W.copy() for W in initial]
        biases = [np.zeros((W.shape[0], 1), dtype=dtype) for W in initial]
        start = time.perf_counter()
        module.train(
            weights,
            biases,
            XT,
            Y,
            activations,
            epochs,
            LEARNING_RATE,
            batch_size=batch,
            orders=orders,
        )
        return time.perf_counter() - start

    return run


def fit_run(model, X, y):
    def run():
        start = time.perf_counter()
        model.fit(X, y)
        return time.perf_counter() - start

    return run


def measure(name, dtype, repeat, scale):
    workload = WORKLOADS[name]
    batch = workload.batch_size
    epochs = max(1, int(round(EPOCHS[name] * scale)))
    X, y = make_data(workload.sizes[0], workload.examples)
    module = kernels.get("numba")
    model = fastnn.MLPClassifier(
        hidden=workload.sizes[1:-1],
        activation=workload.hidden_activation,
        init="he",
        learning_rate=LEARNING_RATE,
        epochs=epochs,
        batch_size=batch,
        solver="sgd",
        backend="numba",
        dtype=dtype,
        seed=0,
    )
    direct = direct_run(module, model, X, y, epochs, dtype)
    fit = fit_run(model, X, y)
    # warm-up: compile both paths (one epoch each)
    model.set_params(epochs=1).fit(X, y)
    model.set_params(epochs=epochs)
    direct_times, fit_times = [], []
    for _ in range(repeat):
        direct_times.append(direct())
        fit_times.append(fit())
    best_direct, best_fit = min(direct_times), min(fit_times)
    convert = min(
        _time(
            lambda: scaling.prepare_inputs(X, np.dtype(dtype), True, by_example=batch is not None)
        )
        for _ in range(repeat)
    )
    return dict(
        name=name,
        dtype=dtype,
        epochs=epochs,
        direct=best_direct,
        fit=best_fit,
        convert=convert,
        ratio=best_fit / best_direct,
        median_ratio=float(np.median(np.array(fit_times) / np.array(direct_times))),
    )


def _time(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dtypes", nargs="+", default=["float64"], choices=["float64", "float32"])
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply every workload's epochs by this"
    )
    args = parser.parse_args(argv)
    print(
        f"fit vs direct kernels.train (numba), best of {args.repeat}; "
        f"NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', 'default')}"
    )
    print(
        f"{'workload':>8} {'dtype':>8} {'epochs':>7} {'kernel s':>10} {'fit s':>10} "
        f"{'fit/kernel':>10} {'median':>8} {'convert s':>10}"
    )
    worst = 0.0
    for dtype in args.dtypes:
        for name in args.workloads:
            r = measure(name, dtype, args.repeat, args.scale)
            worst = max(worst, r["ratio"])
            print(
                f"{r['name']:>8} {r['dtype']:>8} {r['epochs']:>7} {r['direct']:>10.4f} "
                f"{r['fit']:>10.4f} {r['ratio']:>10.3f} {r['median_ratio']:>8.3f} "
                f"{r['convert']:>10.4f}",
                flush=True,
            )
    print(f"worst fit/kernel ratio: {worst:.3f} (bound: 1.10)")


if __name__ == "__main__":
    main()
