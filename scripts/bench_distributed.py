"""Data-parallel training on a local Dask cluster: what a step costs, and a fit bigger
than a worker's memory.

    python scripts/bench_distributed.py [--backend numba|numpy] [--parts overhead,memory,averaging]

1. overhead: per step, the cluster (two worker processes, one thread each) against a
   local step of the same kernels, on the four workloads of the kernels issue
   ((c) and (d) with fewer rows: a step's cost does not depend on m for (c), and (d)
   would not leave the machine's memory to the other users); and the bare round trip
   (the same graph of tasks doing nothing).
2. memory: ``fastnn.distributed.fit`` on ~600 MB of float64 rows generated on the
   workers, with a 400 MB memory limit per worker (the rest spills to disk): rows/s.
3. averaging: the cost curve of ``local_epochs`` rounds against the exact descent, on
   partitions that look alike (shuffled rows) and on partitions that do not (sorted).

Timings are best-of-``--repeat``; the machine is shared, so read the ratios.
"""

import argparse
import os
import tempfile
import time

import numpy as np

import kernels
from fastnn.workloads import WORKLOADS, he_parameters

#: This script's budget: examples, and steps timed, of each workload (``fastnn.workloads``).
BUDGET = {"a": (400, 20), "b": (209, 10), "c": (8192, 64), "d": (2048, 3)}


def cluster(**options):
    from distributed import Client, LocalCluster

    # one Numba thread per worker: two workers on two cores, no oversubscription
    local = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        env={"NUMBA_NUM_THREADS": "1"},
        **options,
    )
    return local, Client(local)


def best(function, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def noop(*args):
    return 0


def overhead(backend, repeat):

    print(f"\n## Per step: cluster vs local ({backend} kernels, float64, 2 workers x 1 thread)\n")
    print("| workload | local step | cluster step | cluster / local | bare round trip |")
    print("|---|---|---|---|---|")
    local_cluster, client = cluster()
    rng = np.random.default_rng(0)
    try:
        for key, (m, steps) in BUDGET.items():
            workload = WORKLOADS[key].with_examples(m)
            t_local, t_cluster, t_bare = _step_times(client, backend, workload, steps, rng, repeat)
            print(
                f"| {workload.label} | {t_local * 1e3:.3g} ms | {t_cluster * 1e3:.3g} ms | "
                f"{t_cluster / t_local:.3g}x | {t_bare * 1e3:.3g} ms |",
                flush=True,
            )
    finally:
        client.close()
        local_cluster.close()


def _step_times(client, backend, workload, steps, rng, repeat):
    """Seconds per step: locally, on the cluster, and the bare round trip."""
    import dask.array as da
    from dask import delayed

    from fastnn.distributed import load_partitions, train
    from fastnn.distributed.reduce import tree_reduce

    variant = kernels.get(backend)
    m, sizes, batch_size = workload.examples, workload.sizes, workload.batch_size
    X = rng.standard_normal((m, sizes[0]))
    y = (rng.random(m) < 0.5).astype(np.float64)
    XT, Y = np.ascontiguousarray(X.T), y[None, :].copy()
    parts = load_partitions(
        client, da.from_array(X, chunks=(-(-m // 2), -1)), da.from_array(y, chunks=-(-m // 2))
    )
    activations = list(workload.activations)
    epochs = 1 if batch_size else steps
    orders = np.stack([rng.permutation(m) for _ in range(epochs)]) if batch_size else None
    start = he_parameters(sizes, np.random.default_rng(1), np.float64)

    def local_run():
        weights, biases = [w.copy() for w in start[0]], [b.copy() for b in start[1]]
        variant.train(
            weights, biases, XT, Y, activations, epochs, 0.01, batch_size=batch_size, orders=orders
        )

    def cluster_run():
        weights, biases = [w.copy() for w in start[0]], [b.copy() for b in start[1]]
        train(
            parts,
            weights,
            biases,
            activations,
            epochs,
            0.01,
            batch_size=batch_size,
            orders=orders,
            backend=backend,
        )

    def round_trips():
        for _ in range(steps):
            client.compute(
                tree_reduce([delayed(noop, pure=False)(f) for f in parts.futures])
            ).result()

    try:
        local_run(), cluster_run()  # compile, warm the caches and the workers
        return (
            best(local_run, repeat) / steps,
            best(cluster_run, repeat) / steps,
            best(round_trips, repeat) / steps,
        )
    finally:
        parts.release()


def memory(backend, repeat, rows=300_000, features=256, chunk_rows=12_500, memory_limit="400MB"):
    import threading

    import dask.array as da

    import fastnn
    from fastnn.distributed import fit, load_partitions, train

    size_mb = rows * features * 8 / 1e6
    print(
        f"\n## A fit larger than a worker's memory ({size_mb:.0f} MB of float64 rows, "
        f"{rows // chunk_rows} partitions, memory_limit={memory_limit} per worker)\n"
    )
    scratch = tempfile.mkdtemp(prefix="fastnn-dask-")
    local_cluster, client = cluster(memory_limit=memory_limit, local_directory=scratch)
    peaks = {}
    stop = threading.Event()
    watcher = threading.Thread(
        target=_watch_memory, args=(local_cluster.scheduler_address, peaks, stop), daemon=True
    )
    watcher.start()
    try:
        # generated on the workers from a seed: recomputable, never on the client
        X = da.random.default_rng(0).standard_normal((rows, features), chunks=(chunk_rows, -1))
        teacher = np.random.default_rng(1).standard_normal(features)
        y = (X @ teacher > 0).astype(np.int64)
        epochs = 3
        model = fastnn.MLPClassifier(
            hidden=(32,),
            epochs=epochs,
            learning_rate=0.5,
            solver="sgd",
            batch_size=None,
            backend=backend,
        )
        start = time.perf_counter()
        fit(model, X, y, client)
        elapsed = time.perf_counter() - start
        print(
            f"- fastnn.distributed.fit, {epochs} full-batch epochs (the source read twice, "
            f"checked, standardised, persisted, trained): {elapsed:.1f} s, "
            f"{rows * epochs / elapsed:,.0f} rows/s; "
            f"costs {np.round(model.history_, 4).tolist()}"
        )
        # the two phases apart, through the kernel-level API
        start = time.perf_counter()
        parts = load_partitions(client, X, y.astype(np.float64))
        loaded = time.perf_counter() - start
        weights, biases = he_parameters((features, 32, 1), np.random.default_rng(2), np.float64)
        start = time.perf_counter()
        train(parts, weights, biases, ["relu", "sigmoid"], epochs, 0.5, backend=backend)
        trained = time.perf_counter() - start
        print(
            f"- load_partitions: {loaded:.1f} s ({rows / loaded:,.0f} rows/s); "
            f"train, {epochs} epochs on persisted partitions: {trained:.1f} s, "
            f"{rows * epochs / trained:,.0f} rows/s ({trained / epochs:.2f} s per epoch)"
        )
        parts.release()
    finally:
        stop.set()
        watcher.join()
        client.close()
        local_cluster.close()
    print(
        "- peaks per worker: "
        + "; ".join(
            f"process {p['memory'] / 1e6:.0f} MB, spilled to disk {p['disk'] / 1e6:.0f} MB"
            for p in peaks.values()
        )
    )


def _watch_memory(address, peaks, stop):
    """Peak process memory and bytes spilled to disk of each worker, polled each 0.5 s."""
    from distributed import Client

    with Client(address, timeout=30) as watcher:
        while not stop.wait(0.5):
            for name, worker in watcher.scheduler_info()["workers"].items():
                metrics = worker["metrics"]
                peak = peaks.setdefault(name, {"memory": 0, "disk": 0})
                peak["memory"] = max(peak["memory"], metrics["memory"])
                peak["disk"] = max(peak["disk"], metrics["spilled_bytes"]["disk"])


def averaging(backend, repeat):
    import dask.array as da

    import fastnn
    from fastnn.distributed import fit

    print("\n## Local epochs with parameter averaging: the cost curve (4 partitions)\n")
    local_cluster, client = cluster()
    try:
        X, y = fastnn.datasets.planar(4000, seed=3)
        shuffled = np.random.default_rng(0).permutation(len(y))
        data = {
            "shuffled rows (partitions alike)": (X[shuffled], y[shuffled]),
            "sorted by class (partitions differ)": (X, y),
        }
        epochs = 600
        marks = [0, 100, 300]  # epoch starts where every round (5, 25, 100 epochs) starts
        print(
            "| rows | local_epochs | cost at the start of epoch "
            + " | ".join(str(e + 1) for e in marks)
            + " | final cost | accuracy | round trips "
            "| time |"
        )
        print("|---|---|" + "---|" * len(marks) + "---|---|---|---|")
        warm_up = fastnn.MLPClassifier(
            hidden=(8,),
            activation="tanh",
            epochs=2,
            solver="sgd",
            learning_rate=0.1,
            batch_size=None,
            backend=backend,
        )
        for k in (None, 1):  # compile both kernels' paths on the workers before timing
            fit(warm_up, X[shuffled[:100]], y[shuffled[:100]], client, local_epochs=k)
        for label, (Xs, ys) in data.items():
            Xd, yd = da.from_array(Xs, chunks=(1000, 2)), da.from_array(ys, chunks=1000)
            for k in (None, 5, 25, 100):
                model = fastnn.MLPClassifier(
                    hidden=(8,),
                    activation="tanh",
                    learning_rate=1.2,
                    epochs=epochs,
                    solver="sgd",
                    batch_size=None,
                    backend=backend,
                )
                start = time.perf_counter()
                fit(model, Xd, yd, client, local_epochs=k)
                elapsed = time.perf_counter() - start
                # full batch: a round's first local epoch starts from the averaged parameters,
                # so its recorded cost is the exact cost on all rows; the final cost is
                # recomputed from the model
                costs = [model.history_[e] for e in marks] + [_log_loss(model, Xs, ys)]
                trips = epochs if k is None else -(-epochs // k)
                print(
                    f"| {label} | {k or 'exact'} | "
                    + " | ".join(f"{c:.4f}" for c in costs)
                    + f" | {model.score(Xs, ys):.3f} | {trips} | {elapsed:.1f} s |",
                    flush=True,
                )
        print(
            "\n| mini-batches of 64, 10 epochs, shuffled rows | local_epochs | final cost | "
            "accuracy | round trips | time |"
        )
        print("|---|---|---|---|---|---|")
        Xs, ys = data["shuffled rows (partitions alike)"]
        Xd, yd = da.from_array(Xs, chunks=(1000, 2)), da.from_array(ys, chunks=1000)
        for k in (None, 1, 2, 5):
            model = fastnn.MLPClassifier(
                hidden=(8,),
                activation="tanh",
                learning_rate=0.3,
                epochs=10,
                batch_size=64,
                solver="sgd",
                backend=backend,
            )
            start = time.perf_counter()
            fit(model, Xd, yd, client, local_epochs=k)
            elapsed = time.perf_counter() - start
            trips = 10 * -(-len(ys) // 64) if k is None else -(-10 // k)
            print(
                f"| | {k or 'exact'} | {_log_loss(model, Xs, ys):.4f} | "
                f"{model.score(Xs, ys):.3f} | {trips} | {elapsed:.1f} s |",
                flush=True,
            )
    finally:
        client.close()
        local_cluster.close()


def _log_loss(model, X, y):
    p = np.clip(model.predict_proba(X)[:, 1], 1e-15, 1 - 1e-15)
    positive = y == model.classes_[1]
    return float(-np.mean(np.where(positive, np.log(p), np.log(1 - p))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numba", choices=["numba", "numpy"])
    parser.add_argument("--parts", default="overhead,memory,averaging")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    try:
        kernels.get(args.backend)
    except ImportError as error:
        print(f"{args.backend} unavailable ({error}); using numpy")
        args.backend = "numpy"
    print(f"# fastnn.distributed benchmark ({os.cpu_count()} cores, backend {args.backend})")
    parts = {"overhead": overhead, "memory": memory, "averaging": averaging}
    for part in args.parts.split(","):
        parts[part](args.backend, args.repeat)


if __name__ == "__main__":
    main()
