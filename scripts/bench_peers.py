"""fastnn against what a user would pick instead, on the four workloads, each peer in its own process.

    python scripts/bench_peers.py                          # every workload, dtype and peer found
    python scripts/bench_peers.py --only a b --dtype float64 --peers fastnn numpy jax
    pip install ".[bench]"                                 # PyTorch, JAX, scikit-learn (optional)

Peers: ``fastnn`` (``MLPClassifier.fit``, standardize=False, warm-started from the shared initial
parameters), ``numpy`` (the notes' vectorized NumPy code, ``kernels.vectorized.train``),
``torch`` (PyTorch eager, autograd), ``torch_compile`` (the same step under ``torch.compile``),
``jax`` (``jax.jit`` of the whole run: ``lax.fori_loop`` over epochs, ``lax.scan`` over
mini-batches) and ``sklearn`` (``MLPClassifier(solver="sgd")`` warm-started from the shared
weights, ``fit`` for the epochs timed). A peer that is not installed is left out, with a note.

Each peer runs in a fresh process (peers in one process slow each other down: thread pools and
compiled code linger), from the same initial parameters and data, written once to a file; each
warms up first (compilation is not timed) and times the best of ``--repeats`` runs. The numbers
printed: time per epoch (one full-batch iteration for (a), (b), (d)), fastnn's speed-up over each
peer, GFLOP/s (the FLOPs of the products done: forward, dW, and dA but for the first layer), and
the floor: those FLOPs at the machine's GEMM peak (NumPy's 4096^2 product, measured in this run).
In float64, the peers' costs after the same epochs are compared with NumPy's (mini-batch peers
shuffle differently: a looser check there).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from fastnn.workloads import WORKLOADS, he_parameters  # noqa: E402

PEERS = ("fastnn", "numpy", "torch", "torch_compile", "jax", "sklearn")
#: (epochs per timed run, repeats) by workload; (c) epochs are long. (a)'s fastest runs take
#: 8 ms: the best of 3 of them varied by 10 % from one process to the next, the best of 10 less
TIMED = {"a": (2000, 10), "b": (40, 3), "c": (1, 2), "d": (2, 2)}
#: seconds a peer's process may take for one workload and dtype
PEER_TIMEOUT = 300
REQUIRES = {"torch": "torch", "torch_compile": "torch", "jax": "jax", "sklearn": "sklearn"}


def gemm_peak(dtype, n=4096, repeats=3):
    """GFLOP/s of NumPy's n x n product (its BLAS, all threads): the machine's GEMM peak."""
    A = np.random.default_rng(1).standard_normal((n, n)).astype(dtype)
    B = A.T.copy()
    A @ B
    best = min(best_of(lambda: A @ B, 1)[0] for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def write_problem(path, name, dtype, seed=0):
    workload = WORKLOADS[name]
    rng = np.random.default_rng(seed)
    weights, biases = he_parameters(workload.sizes, rng, dtype)
    arrays = {f"W{l + 1}": W for l, W in enumerate(weights)}
    arrays.update({f"b{l + 1}": b for l, b in enumerate(biases)})
    m = workload.examples
    arrays["X"] = rng.standard_normal((m, workload.sizes[0])).astype(dtype)  # rows: examples
    arrays["y"] = (rng.random(m) < 0.5).astype(np.int64)
    np.savez(path, **arrays)


def load_problem(path):
    data = np.load(path)
    L = sum(1 for key in data.files if key.startswith("W"))
    weights = [data[f"W{l + 1}"] for l in range(L)]
    biases = [data[f"b{l + 1}"] for l in range(L)]
    return weights, biases, data["X"], data["y"]


def best_of(run, repeats):
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        cost = run()
        best = min(best, time.perf_counter() - start)
    return best, cost


# --- the peers: each returns (seconds per epoch, final cost after `epochs` from the start) ------


def peer_fastnn(weights, biases, X, y, spec, lr, epochs, repeats):
    import fastnn

    hidden = tuple(W.shape[0] for W in weights[:-1])
    model = fastnn.MLPClassifier(
        hidden=hidden,
        activation=spec.hidden_activation,
        learning_rate=lr,
        epochs=epochs,
        batch_size=spec.batch_size,
        solver="sgd",
        standardize=False,
        warm_start=True,
        dtype=X.dtype.name,
    )
    start = {
        **{f"W{l + 1}": W for l, W in enumerate(weights)},
        **{f"b{l + 1}": b for l, b in enumerate(biases)},
    }

    def run():
        model.parameters_ = {k: v.copy() for k, v in start.items()}
        if hasattr(model, "history_"):
            del model.history_
        model.fit(X, y)
        return float(model.history_[-1])

    model.set_params(epochs=1)
    run()  # compile or load from the cache, calibrate
    model.set_params(epochs=epochs)
    seconds, cost = best_of(run, repeats)
    return seconds / epochs, cost


def peer_numpy(weights, biases, X, y, spec, lr, epochs, repeats):
    from kernels import vectorized

    XT = np.ascontiguousarray(X.T)
    Y = y.reshape(1, -1).astype(X.dtype)
    activations = [spec.hidden_activation] * (len(weights) - 1) + ["sigmoid"]
    rng = np.random.default_rng(3)
    orders = np.array([rng.permutation(len(y)) for _ in range(epochs)]) if spec.batch_size else None

    def run():
        W, b = [w.copy() for w in weights], [x.copy() for x in biases]
        return float(
            vectorized.train(
                W, b, XT, Y, activations, epochs, lr, batch_size=spec.batch_size, orders=orders
            )[-1]
        )

    seconds, cost = best_of(run, repeats)
    return seconds / epochs, cost


def _torch_step(torch, compiled):
    """One descent step on a batch, the notes' formulas written in torch (no autograd, so that
    torch.compile sees one graph); returns the batch's cost."""

    def step(params, X, Y, lr, relu):
        L = len(params) // 2
        acts = [X]
        A = X
        for l in range(L):
            Z = params[2 * l] @ A + params[2 * l + 1]
            A = Z if l == L - 1 else (torch.relu(Z) if relu else torch.tanh(Z))
            acts.append(A)
        Z = acts[-1]
        m = X.shape[1]
        cost = torch.nn.functional.softplus(Z).sub(Y * Z).sum() / m
        dZ = torch.sigmoid(Z) - Y
        for l in range(L - 1, -1, -1):
            W = params[2 * l]
            dW = dZ @ acts[l].T / m
            db = dZ.sum(dim=1, keepdim=True) / m
            if l > 0:
                dA = W.T @ dZ
                dZ = dA * ((acts[l] > 0).to(dA.dtype) if relu else 1 - acts[l] * acts[l])
            params[2 * l] = W - lr * dW
            params[2 * l + 1] = params[2 * l + 1] - lr * db
        return cost

    return torch.compile(step) if compiled else step


def _peer_torch(weights, biases, X, y, spec, lr, epochs, repeats, compiled):
    import torch

    torch.set_num_threads(os.cpu_count())
    XT = torch.from_numpy(np.ascontiguousarray(X.T))
    Y = torch.from_numpy(y.reshape(1, -1).astype(X.dtype))
    relu = spec.hidden_activation == "relu"
    step = _torch_step(torch, compiled)
    batch, m = spec.batch_size, len(y)
    rng = np.random.default_rng(3)

    def run(n_epochs=epochs):
        params = [torch.from_numpy(a.copy()) for W, b in zip(weights, biases) for a in (W, b)]
        with torch.no_grad():
            for _ in range(n_epochs):
                if batch is None:
                    cost = step(params, XT, Y, lr, relu)
                    continue
                order = torch.from_numpy(rng.permutation(m))
                total = 0.0
                for start in range(0, m, batch):
                    idx = order[start : start + batch]
                    total += float(step(params, XT[:, idx], Y[:, idx], lr, relu)) * len(idx)
                cost = total / m
        return float(cost)

    run(1)  # warm up (and compile)
    seconds, cost = best_of(run, repeats)
    return seconds / epochs, cost


def peer_torch(*args):
    return _peer_torch(*args, compiled=False)


def peer_torch_compile(*args):
    return _peer_torch(*args, compiled=True)


def peer_jax(weights, biases, X, y, spec, lr, epochs, repeats):
    import jax

    if X.dtype == np.float64:
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    relu = spec.hidden_activation == "relu"
    XT = jnp.asarray(np.ascontiguousarray(X.T))
    Y = jnp.asarray(y.reshape(1, -1).astype(X.dtype))
    batch, m = spec.batch_size, len(y)

    def cost_of(params, Xb, Yb):
        A = Xb
        L = len(params) // 2
        for l in range(L):
            Z = params[2 * l] @ A + params[2 * l + 1]
            A = Z if l == L - 1 else (jax.nn.relu(Z) if relu else jnp.tanh(Z))
        return jnp.sum(jax.nn.softplus(A) - Yb * A) / Xb.shape[1]

    grad = jax.value_and_grad(cost_of)

    def descend(params, Xb, Yb):
        cost, grads = grad(params, Xb, Yb)
        return [p - lr * g for p, g in zip(params, grads)], cost

    if batch is None:

        @jax.jit
        def run_epochs(params, orders):
            def body(_, carry):
                params, _ = carry
                return descend(params, XT, Y)

            return jax.lax.fori_loop(0, orders.shape[0], body, (params, jnp.zeros((), XT.dtype)))
    else:
        n_full = m // batch  # full batches scanned; the remainder as one more step

        @jax.jit
        def run_epochs(params, orders):
            def epoch(params, order):
                def one(params, idx):
                    params, cost = descend(params, XT[:, idx], Y[:, idx])
                    return params, cost * idx.shape[0]

                params, costs = jax.lax.scan(
                    one, params, order[: n_full * batch].reshape(n_full, batch)
                )
                params, last = one(params, order[n_full * batch :])
                return params, (costs.sum() + last) / m

            params, costs = jax.lax.scan(epoch, params, orders)
            return params, costs[-1]

    rng = np.random.default_rng(3)
    orders = jnp.asarray(np.array([rng.permutation(m) for _ in range(epochs)]))
    start = [jnp.asarray(a) for W, b in zip(weights, biases) for a in (W, b)]

    def run():
        params, cost = run_epochs(start, orders)
        jax.block_until_ready(params)
        return float(cost)

    run()  # compile
    seconds, cost = best_of(run, repeats)
    return seconds / epochs, cost


def peer_sklearn(weights, biases, X, y, spec, lr, epochs, repeats):
    import warnings

    from sklearn.neural_network import MLPClassifier

    hidden = tuple(W.shape[0] for W in weights[:-1])
    model = MLPClassifier(
        hidden_layer_sizes=hidden,
        activation=spec.hidden_activation,
        solver="sgd",
        learning_rate_init=lr,
        momentum=0.0,
        alpha=0.0,
        shuffle=True,
        batch_size=spec.batch_size or len(y),
        random_state=3,
        warm_start=True,
        max_iter=1,
        tol=0.0,
        n_iter_no_change=10**9,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)  # builds the network; its weights are replaced below

    def run():
        model.coefs_ = [W.T.copy() for W in weights]
        model.intercepts_ = [b.ravel().copy() for b in biases]
        model.set_params(max_iter=epochs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "maximum iterations reached"
            model.fit(X, y)
        return float(model.loss_)

    seconds, cost = best_of(run, repeats)
    return seconds / epochs, cost


def worker(peer, problem, name, epochs, repeats):
    weights, biases, X, y = load_problem(problem)
    spec = WORKLOADS[name]
    gram_forms = []
    if peer == "fastnn":  # note whether its first layer took the Gram form (kernels.jit_gram)
        from kernels import jit_gram

        real = jit_gram.GramForm
        jit_gram.GramForm = lambda *args: gram_forms.append(1) or real(*args)
    seconds, cost = globals()[f"peer_{peer}"](
        weights, biases, X, y, spec, spec.learning_rate, epochs, repeats
    )
    json.dump({"seconds": seconds, "cost": cost, "gram_form": bool(gram_forms)}, sys.stdout)


def available(peer):
    module = REQUIRES.get(peer)
    if module is None:
        return True
    import importlib.util

    return importlib.util.find_spec(module) is not None


def measure(peer, problem, name, epochs, repeats):
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        peer,
        "--problem",
        problem,
        "--workload",
        name,
        "--epochs",
        str(epochs),
        "--repeats",
        str(repeats),
    ]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=ROOT),
            timeout=PEER_TIMEOUT,
        )
    except subprocess.TimeoutExpired:  # a peer that hangs (torch.compile did, once) is left out
        return None, f"no result in {PEER_TIMEOUT} s"
    if done.returncode != 0:
        return None, done.stderr.strip().splitlines()[-1] if done.stderr else "failed"
    return json.loads(done.stdout.strip().splitlines()[-1]), None


def _fmt(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.3f} s"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(WORKLOADS), default=sorted(WORKLOADS))
    parser.add_argument(
        "--dtype", nargs="+", choices=["float64", "float32"], default=["float64", "float32"]
    )
    parser.add_argument("--peers", nargs="+", choices=PEERS, default=list(PEERS))
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the epochs timed")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--worker", choices=PEERS, help=argparse.SUPPRESS)
    parser.add_argument("--problem", help=argparse.SUPPRESS)
    parser.add_argument("--workload", help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.problem, args.workload, args.epochs, args.repeats)

    peers = [p for p in args.peers if available(p)]
    for p in set(args.peers) - set(peers):
        print(f"note: {p} is not installed (pip install '.[bench]'); left out")
    peaks = {d: gemm_peak(np.dtype(d).type) for d in args.dtype}
    from threadpoolctl import threadpool_info

    kernels = sorted({str(i.get("architecture")) for i in threadpool_info()})
    print(
        "GEMM peak (NumPy 4096^2): "
        + ", ".join(f"{d} {p:.0f} GFLOP/s" for d, p in peaks.items())
        + f"; OpenBLAS kernel {'/'.join(kernels)}; NUMBA_CPU_NAME="
        f"{os.environ.get('NUMBA_CPU_NAME', '(host)')}"
    )
    header = f"{'load':4} {'dtype':7} " + " ".join(f"{p:>13}" for p in peers)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.only:
            epochs, repeats = TIMED[name]
            epochs = max(1, int(round(epochs * args.scale)))
            repeats = args.repeats or repeats
            for dtype in args.dtype:
                problem = os.path.join(scratch, f"{name}-{dtype}.npz")
                write_problem(problem, name, dtype)
                results = {}
                for peer in peers:
                    result, error = measure(peer, problem, name, epochs, repeats)
                    if error:
                        print(f"  ({name}) {dtype} {peer} failed: {error}")
                    results[peer] = result
                rows.append((name, dtype, results))
                print_row(
                    name, dtype, results, peers, peaks[dtype], header if len(rows) == 1 else None
                )
    return rows


def print_row(name, dtype, results, peers, peak, header):
    if header:
        print(header)
    flops = WORKLOADS[name].flops_per_epoch()
    times = {p: r["seconds"] for p, r in results.items() if r}
    print(
        f"({name})  {dtype:7} "
        + " ".join(f"{_fmt(times[p]) if p in times else 'n/a':>13}" for p in peers)
    )
    if "fastnn" in times:
        ours = times["fastnn"]
        ratios = ", ".join(
            f"{times[p] / ours:.2f}x {p}" for p in peers if p in times and p != "fastnn"
        )
        floor = flops / (peak * 1e9)
        print(
            f"      fastnn: {flops / ours / 1e9:.1f} GFLOP/s, floor {_fmt(floor)} "
            f"({floor / ours:.0%} of peak); faster than: {ratios}"
        )
        if results["fastnn"].get("gram_form"):
            print(
                "      (fastnn trained its first layer in the Gram form, kernels/jit_gram.py: "
                "GFLOP/s and floor count the notes' products, most of which it does not do)"
            )
    if dtype == "float64" and "numpy" in results and results["numpy"]:
        reference = results["numpy"]["cost"]
        loose = WORKLOADS[name].batch_size is not None
        for p, r in results.items():
            if r and abs(r["cost"] - reference) > (2e-2 if loose else 1e-6) * abs(reference):
                print(f"      cost check: {p} ends at {r['cost']:.8g}, numpy at {reference:.8g}")


if __name__ == "__main__":
    main()
