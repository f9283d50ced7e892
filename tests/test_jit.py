"""What only the Numba JIT variant needs: NaN through fastmath kernels, any memory order
and rank, the per-layer tuples of one to six layers, the notes' planar run (1000 epochs),
float32 divergence, NUMBA_NUM_THREADS=1 against 2 in subprocesses, and its error messages.
The function-by-function comparison with the reference is in ``test_variants.py``."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from kernels import jit, vectorized
from kernels.contract import HIDDEN_ACTIVATIONS

from conftest import DTYPES, labels, random_array, tolerance

#: float64 training agrees with the reference to this relative error
TRAIN_RTOL = 1e-9


def assert_matches(actual, expected, dtype, **tol):
    """Same dtype and shape as the reference, same values within ``tolerance(dtype)``."""
    assert np.asarray(actual).dtype == np.dtype(dtype)
    assert np.shape(actual) == np.shape(expected)
    np.testing.assert_allclose(actual, expected, **(tol or tolerance(dtype)))


# ---------------------------------------------------------------------------
# Element-wise kernels
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", HIDDEN_ACTIVATIONS + ("softmax",))
def test_nan_propagates(name, dtype):
    """A NaN input gives NaN (what divergence detection relies on)."""
    Z = np.array([[np.nan, 1.0], [0.5, -2.0]], dtype)
    assert np.isnan(getattr(jit, name)(Z)[0, 0])


def test_non_contiguous_and_any_rank_inputs(rng):
    Z = random_array(rng, (31, 13), np.float64).T  # Fortran order
    assert_matches(jit.tanh(Z), vectorized.tanh(Z), np.float64)
    Z3 = random_array(rng, (3, 4, 5), np.float32)
    assert_matches(jit.sigmoid(Z3), vectorized.sigmoid(Z3), np.float32)


# ---------------------------------------------------------------------------
# Whole runs
# ---------------------------------------------------------------------------


def network(rng, sizes, dtype, scale=0.5):
    weights = [
        (scale * rng.standard_normal((n, n_prev))).astype(dtype)
        for n_prev, n in zip(sizes, sizes[1:])
    ]
    biases = [(0.1 * rng.standard_normal((n, 1))).astype(dtype) for n in sizes[1:]]
    return weights, biases


def copies(arrays):
    return [a.copy() for a in arrays]


def run_both(
    rng, dtype, hidden, output, epochs, batch_size, momentum, l2, lr=0.1, sizes=(7, 13, 5), m=67
):
    """The same run on both variants; returns (jit costs, ref costs, jit params, ref params,
    jit velocities, ref velocities)."""
    n_out = 1 if output == "sigmoid" else 3
    weights, biases = network(rng, sizes + (n_out,), dtype)
    X = random_array(rng, (sizes[0], m), dtype, 1.0)
    Y = labels(rng, output, n_out, m, dtype)
    activations = [hidden] * (len(sizes) - 1) + [output]
    orders = np.array([rng.permutation(m) for _ in range(epochs)])
    results = []
    for module in (jit, vectorized):
        W, b = copies(weights), copies(biases)
        velocities = ([np.zeros_like(w) for w in W], [np.zeros_like(x) for x in b])
        costs = module.train(
            W,
            b,
            X,
            Y,
            activations,
            epochs,
            lr,
            batch_size=batch_size,
            momentum=momentum,
            l2=l2,
            orders=orders,
            velocities=velocities,
        )
        results.append((costs, W + b, velocities[0] + velocities[1]))
    return results


def test_train_depths_and_layouts(rng):
    """One to six layers (the per-layer tuples are padded), Fortran-ordered X, a batch
    larger than m, velocities carried between calls."""
    for sizes in [(3,), (3, 4), (5, 4, 3, 3, 2, 2)]:
        n_out = 1
        weights, biases = network(rng, sizes + (n_out,), np.float64)
        X = np.asfortranarray(random_array(rng, (sizes[0], 31), np.float64, 1.0))
        Y = labels(rng, "sigmoid", 1, 31, np.float64)
        activations = ["relu"] * (len(sizes) - 1) + ["sigmoid"]
        out = []
        for module in (jit, vectorized):
            W, b = copies(weights), copies(biases)
            velocities = ([np.zeros_like(w) for w in W], [np.zeros_like(x) for x in b])
            first = module.train(
                W, b, X, Y, activations, 4, 0.5, batch_size=100, momentum=0.5, velocities=velocities
            )
            second = module.train(
                W, b, X, Y, activations, 4, 0.5, momentum=0.5, velocities=velocities
            )
            out.append((np.concatenate([first, second]), W + b))
        np.testing.assert_allclose(out[0][0], out[1][0], rtol=TRAIN_RTOL)
        for got, want in zip(out[0][1], out[1][1]):
            np.testing.assert_allclose(got, want, rtol=TRAIN_RTOL, atol=1e-14)


def test_planar_flower_1000_epochs_agrees_with_numpy():
    """The notes' run: planar data, 2-4-1 tanh/sigmoid, randn * 0.01, lr 1.2, full batch."""
    from fastnn.datasets import planar

    X_rows, y = planar()
    X, Y = X_rows.T.astype(np.float64), y[None].astype(np.float64)
    rng = np.random.default_rng(2)
    weights = [rng.standard_normal((4, 2)) * 0.01, rng.standard_normal((1, 4)) * 0.01]
    biases = [np.zeros((4, 1)), np.zeros((1, 1))]
    runs = []
    for module in (jit, vectorized):
        W, b = copies(weights), copies(biases)
        runs.append((module.train(W, b, X, Y, ["tanh", "sigmoid"], 1000, 1.2), W + b))
    (costs, params), (costs_ref, params_ref) = runs
    assert costs[-1] < 0.5 * costs[0]  # it learned
    np.testing.assert_allclose(costs, costs_ref, rtol=TRAIN_RTOL)
    for got, want in zip(params, params_ref):
        np.testing.assert_allclose(got, want, rtol=TRAIN_RTOL)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_size", [None, 13])
def test_diverging_run_stops_with_finite_parameters(batch_size, dtype, rng):
    """The run stops at the first non-finite cost, the later costs are NaN and the
    parameters are the last finite epoch start's. float64 stops where the reference does,
    with its parameters; float32 rounding may move the blow-up by an epoch."""
    (costs, params, _), (costs_ref, params_ref, _) = run_both(
        rng,
        dtype,
        "relu",
        "linear",
        40,
        batch_size,
        0.0,
        0.0,
        lr=1e5 if dtype == np.float64 else 1e3,
    )
    stop_ref = int(np.argmax(~np.isfinite(costs_ref)))
    assert not np.isfinite(costs_ref[-1]) and stop_ref > 0, "the reference run must diverge"
    stop = int(np.argmax(~np.isfinite(costs)))
    assert not np.isfinite(costs[stop]) and np.isnan(costs[stop + 1 :]).all()
    assert all(np.isfinite(p).all() for p in params)
    if dtype == np.float64:
        assert stop == stop_ref
        np.testing.assert_allclose(costs[:stop], costs_ref[:stop], rtol=TRAIN_RTOL)
        for got, want in zip(params, params_ref):
            np.testing.assert_allclose(got, want, rtol=TRAIN_RTOL)
    else:
        assert abs(stop - stop_ref) <= 1
        first = max(min(stop, stop_ref) - 1, 0)
        np.testing.assert_allclose(costs[:first], costs_ref[:first], rtol=1e-3)


def test_non_finite_starting_parameters_stop_at_once(rng):
    weights, biases = network(rng, (3, 4, 1), np.float64)
    weights[0][0, 0] = np.inf
    X, Y = random_array(rng, (3, 7), np.float64), labels(rng, "sigmoid", 1, 7, np.float64)
    costs = jit.train(weights, biases, X, Y, ["tanh", "sigmoid"], 3, 0.1)
    assert np.isnan(costs).all() and weights[0][0, 0] == np.inf


THREADS_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from kernels import jit
    rng = np.random.default_rng(5)
    sizes = (300, 257, 131, 3)
    weights = [rng.standard_normal((n, p)) * 0.1 for p, n in zip(sizes, sizes[1:])]
    biases = [np.zeros((n, 1)) for n in sizes[1:]]
    X = rng.standard_normal((300, 509))
    Y = np.zeros((3, 509)); Y[rng.integers(0, 3, 509), np.arange(509)] = 1
    orders = np.array([rng.permutation(509) for _ in range(2)])
    costs = jit.train(weights, biases, X, Y, ["relu", "tanh", "softmax"], 2, 0.05,
                      batch_size=200, momentum=0.9, l2=0.1, orders=orders)
    # a skinny net: no OpenBLAS product, so Numba's own parallel regions run
    W2 = [rng.standard_normal((16, 2000)) * 0.03, rng.standard_normal((1, 16)) * 0.3]
    b2 = [np.zeros((16, 1)), np.zeros((1, 1))]
    X2 = rng.standard_normal((2000, 600))
    Y2 = (rng.random((1, 600)) < 0.5).astype(np.float64)
    costs2 = jit.train(W2, b2, X2, Y2, ["tanh", "sigmoid"], 3, 0.5, momentum=0.5)
    json.dump({"costs": costs.tolist() + costs2.tolist(),
               "params": [p.ravel().tolist() for p in weights + biases + W2 + b2]}, sys.stdout)
""")


def test_one_and_two_threads_agree():
    """NUMBA_NUM_THREADS=1 and =2 (fresh processes) give the same run within rounding."""
    results = []
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for threads in ("1", "2"):
        env = dict(
            os.environ,
            NUMBA_NUM_THREADS=threads,
            PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]),
        )
        done = subprocess.run(
            [sys.executable, "-c", THREADS_SCRIPT],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        results.append(json.loads(done.stdout))
    one, two = results
    np.testing.assert_allclose(one["costs"], two["costs"], rtol=1e-12)
    for a, b in zip(one["params"], two["params"]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


# ---------------------------------------------------------------------------
# Bad input: clear errors before compiled code runs
# ---------------------------------------------------------------------------


def test_bad_inputs_raise_clear_errors(rng):
    Z = random_array(rng, (3, 4), np.float64)
    with pytest.raises(TypeError, match="Z must be a float32 or float64 array"):
        jit.tanh(np.ones((2, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="activation must be one of"):
        jit.activation_forward(Z, "swish")
    with pytest.raises(ValueError, match="hidden activation must be one of"):
        jit.activation_backward(Z, Z, "softmax")
    with pytest.raises(ValueError, match=r"A.shape\[1\] \(4\) must equal B.shape\[0\] \(3\)"):
        jit.matmul(Z, Z)
    with pytest.raises(TypeError, match="B must have dtype"):
        jit.matmul(Z, Z.T.astype(np.float32))
    with pytest.raises(ValueError, match=r"W.shape\[1\]"):
        jit.dense_forward(Z, Z, Z[:, :1], "relu")
    with pytest.raises(ValueError, match="Y must have the shape"):
        jit.binary_cross_entropy(Z, Z[:, :2])
    with pytest.raises(ValueError, match="output activation must be one of"):
        jit.cost(Z, Z, Z, "relu")


def test_bad_training_inputs_raise_clear_errors(rng):
    weights, biases = network(rng, (3, 4, 1), np.float64)
    X, Y = random_array(rng, (3, 7), np.float64), labels(rng, "sigmoid", 1, 7, np.float64)
    acts = ["tanh", "sigmoid"]
    with pytest.raises(ValueError, match="orders"):
        jit.train(weights, biases, X, Y, acts, 2, 0.1, batch_size=3)
    with pytest.raises(ValueError, match=r"orders must hold example indices in \[0, 7\)"):
        jit.train(weights, biases, X, Y, acts, 2, 0.1, batch_size=3, orders=np.full((2, 7), 7))
    with pytest.raises(ValueError, match=r"orders must be an integer array of shape \(2, 7\)"):
        jit.train(weights, biases, X, Y, acts, 2, 0.1, batch_size=3, orders=np.zeros((1, 7)))
    with pytest.raises(ValueError, match="Y must have shape"):
        jit.train(weights, biases, X, Y[:, :3], acts, 2, 0.1)
    with pytest.raises(ValueError, match=r"weights\[1\] must have shape"):
        jit.train([weights[0], weights[0]], biases, X, Y, acts, 2, 0.1)
    with pytest.raises(TypeError, match=r"weights\[0\] must be an ndarray of dtype float64"):
        jit.train([weights[0].astype(np.float32), weights[1]], biases, X, Y, acts, 2, 0.1)
    with pytest.raises(ValueError, match="activations must name one activation per layer"):
        jit.train(weights, biases, X, Y, ["sigmoid"], 2, 0.1)
    with pytest.raises(ValueError, match="output activation must be one of"):
        jit.train(weights, biases, X, Y, ["tanh", "relu"], 2, 0.1)
    with pytest.raises(ValueError, match="velocities of weights"):
        jit.train(
            weights,
            biases,
            X,
            Y,
            acts,
            2,
            0.1,
            velocities=([np.zeros((1, 1))] * 2, [np.zeros((4, 1)), np.zeros((1, 1))]),
        )
