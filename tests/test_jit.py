"""The Numba JIT variant against the NumPy reference, function by function, and whole runs.

Every public function of ``kernels.jit`` on random inputs of awkward shapes (1, primes,
sizes that are not multiples of any block), in float32 and float64, within
``tolerance(dtype)``, output dtype checked. ``train`` for every hidden activation and
each output/cost pair, full batch and mini-batch, with momentum and L2: float64 within
1e-9 relative, float32 over short runs. The notes' planar run (1000 epochs), a diverging
run, and NUMBA_NUM_THREADS=1 against 2 in subprocesses.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import AWKWARD_SIZES, DTYPES, labels, random_array, tolerance
from kernels import jit, vectorized
from kernels.contract import HIDDEN_ACTIVATIONS, OUTPUT_COSTS

ELEMENTWISE = ("sigmoid", "sigmoid_derivative", "tanh", "tanh_derivative", "relu",
               "relu_derivative", "leaky_relu", "leaky_relu_derivative", "linear",
               "linear_derivative", "softmax")
SHAPES = [(1, 1), (1, 131), (131, 1), (2, 13), (7, 3), (13, 31), (67, 7), (3, 131)]
#: (M, K, N) of the products: awkward sizes on each side, small and large K
PRODUCTS = [(1, 1, 1), (1, 131, 1), (7, 1, 13), (2, 3, 7), (13, 31, 67), (67, 131, 31),
            (131, 13, 2), (31, 67, 131)]
#: float64 training agrees with the reference to this relative error
TRAIN_RTOL = 1e-9


def assert_matches(actual, expected, dtype, **tol):
    """Same dtype and shape as the reference, same values within ``tolerance(dtype)``."""
    assert np.asarray(actual).dtype == np.dtype(dtype)
    assert np.shape(actual) == np.shape(expected)
    np.testing.assert_allclose(actual, expected, **(tol or tolerance(dtype)))


def assert_sum_matches(actual, expected, bound, dtype):
    """For sums of products (matrix products): the error is relative to ``bound``, the same
    sum taken over absolute values, since an entry may cancel to near zero."""
    assert np.asarray(actual).dtype == np.dtype(dtype)
    assert np.shape(actual) == np.shape(expected)
    tol = tolerance(dtype)
    error = np.abs(np.asarray(actual, np.float64) - expected)
    np.testing.assert_array_less(error, tol["rtol"] * bound + tol["atol"])


# ---------------------------------------------------------------------------
# 1. Activations
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_activation_functions(name, dtype, rng):
    for shape in SHAPES:
        Z = random_array(rng, shape, dtype)
        Z.flat[0] = 0  # the kink of relu and leaky relu
        assert_matches(getattr(jit, name)(Z), getattr(vectorized, name)(Z), dtype)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_activations_at_extreme_inputs(name, dtype, rng):
    """|z| up to 1e4: finite, no warning, the reference's values."""
    Z = np.concatenate([np.array([-1e4, 1e4, -800.0, 800.0, -90.0, 90.0, -20.0, 20.0, 0.0]),
                        rng.uniform(-1e4, 1e4, 40)]).astype(dtype).reshape(7, 7)
    out = getattr(jit, name)(Z)
    assert np.isfinite(out).all()
    assert_matches(out, getattr(vectorized, name)(Z), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax"])
def test_nan_propagates(name, dtype):
    """A NaN input gives NaN (what divergence detection relies on)."""
    Z = np.array([[np.nan, 1.0], [0.5, -2.0]], dtype)
    assert np.isnan(getattr(jit, name)(Z)[0, 0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(HIDDEN_ACTIVATIONS) + ["softmax"])
def test_activation_forward_and_backward(name, dtype, rng):
    Z = random_array(rng, (13, 31), dtype)
    assert_matches(jit.activation_forward(Z, name), vectorized.activation_forward(Z, name), dtype)
    if name != "softmax":
        dA = random_array(rng, (13, 31), dtype)
        assert_matches(jit.activation_backward(dA, Z, name),
                       vectorized.activation_backward(dA, Z, name), dtype)


def test_non_contiguous_and_any_rank_inputs(rng):
    Z = random_array(rng, (31, 13), np.float64).T  # Fortran order
    assert_matches(jit.tanh(Z), vectorized.tanh(Z), np.float64)
    Z3 = random_array(rng, (3, 4, 5), np.float32)
    assert_matches(jit.sigmoid(Z3), vectorized.sigmoid(Z3), np.float32)


# ---------------------------------------------------------------------------
# 2. Matrix product and the dense layer
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul(dtype, rng):
    for M, K, N in PRODUCTS:
        A, B = random_array(rng, (M, K), dtype), random_array(rng, (K, N), dtype)
        assert_sum_matches(jit.matmul(A, B), vectorized.matmul(A, B), abs(A) @ abs(B), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", list(HIDDEN_ACTIVATIONS) + ["softmax"])
def test_dense_forward(activation, dtype, rng):
    for n, n_prev, m in [(1, 1, 1), (7, 13, 1), (13, 2, 67), (31, 131, 3)]:
        A_prev = random_array(rng, (n_prev, m), dtype, 1.0)
        W = random_array(rng, (n, n_prev), dtype, 0.5)
        b = random_array(rng, (n, 1), dtype)
        A, Z = jit.dense_forward(A_prev, W, b, activation)
        A_ref, Z_ref = vectorized.dense_forward(A_prev, W, b, activation)
        bound = abs(W) @ abs(A_prev) + abs(b)  # every activation is 1-Lipschitz
        assert_sum_matches(Z, Z_ref, bound, dtype)
        assert_sum_matches(A, A_ref, bound, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("l2, m_total", [(0.0, None), (0.7, None), (0.7, 1000)])
def test_linear_backward(l2, m_total, dtype, rng):
    for n, n_prev, m in [(1, 1, 1), (7, 13, 1), (13, 2, 67), (31, 131, 3), (2, 67, 131)]:
        dZ = random_array(rng, (n, m), dtype)
        A_prev = random_array(rng, (n_prev, m), dtype)
        W = random_array(rng, (n, n_prev), dtype)
        bounds = (abs(W).T @ abs(dZ), abs(dZ) @ abs(A_prev).T / m + abs(W),
                  abs(dZ).sum(axis=1, keepdims=True) / m)
        for got, want, bound in zip(jit.linear_backward(dZ, A_prev, W, l2, m_total),
                                    vectorized.linear_backward(dZ, A_prev, W, l2, m_total), bounds):
            assert_sum_matches(got, want, bound, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_dense_backward(activation, dtype, rng):
    n, n_prev, m = 13, 7, 31
    dA = random_array(rng, (n, m), dtype)
    A_prev = random_array(rng, (n_prev, m), dtype)
    W = random_array(rng, (n, n_prev), dtype)
    Z = random_array(rng, (n, m), dtype)
    dZ = abs(dA)  # |g'| <= 1
    bounds = (abs(W).T @ dZ, dZ @ abs(A_prev).T / m + abs(W), dZ.sum(axis=1, keepdims=True) / m)
    for got, want, bound in zip(jit.dense_backward(dA, A_prev, W, Z, activation, 0.3),
                                vectorized.dense_backward(dA, A_prev, W, Z, activation, 0.3),
                                bounds):
        assert_sum_matches(got, want, bound, dtype)


# ---------------------------------------------------------------------------
# 3. Costs and the output gradient
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", OUTPUT_COSTS)
def test_costs(output, dtype, rng):
    for m in AWKWARD_SIZES:
        n = 1 if output == "sigmoid" else 5
        Z = random_array(rng, (n, m), dtype)
        A = vectorized.activation_forward(Z, output)
        Y = labels(rng, output, n, m, dtype)
        assert_matches(jit.cost(Z, A, Y, output), vectorized.cost(Z, A, Y, output), dtype)
        assert_matches(jit.output_gradient(A, Y), vectorized.output_gradient(A, Y), dtype)
    for name, first in (("binary_cross_entropy", Z), ("categorical_cross_entropy", Z),
                        ("mean_squared_error", A)):
        assert_matches(getattr(jit, name)(first, Y), getattr(vectorized, name)(first, Y), dtype)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", DTYPES)
def test_costs_saturated(dtype, rng):
    """Predictions far in the tails: finite costs, equal to the reference's."""
    Z = np.array([[-1e4, 1e4, -800.0, 800.0, -40.0, 40.0, 0.0]], dtype)
    Y = np.array([[0, 1, 1, 0, 1, 0, 1]], dtype)
    for name in ("binary_cross_entropy", "categorical_cross_entropy"):
        Zs = Z if name == "binary_cross_entropy" else np.vstack([Z, -Z])
        Ys = Y if name == "binary_cross_entropy" else np.vstack([Y, 1 - Y])
        got = getattr(jit, name)(Zs, Ys)
        assert np.isfinite(got)
        assert_matches(got, getattr(vectorized, name)(Zs, Ys), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_l2_penalty(dtype, rng):
    weights = [random_array(rng, shape, dtype) for shape in [(1, 1), (13, 7), (2, 131)]]
    assert jit.l2_penalty(weights, 0.7, 67) == pytest.approx(
        vectorized.l2_penalty(weights, 0.7, 67), rel=tolerance(dtype)["rtol"])


# ---------------------------------------------------------------------------
# 4. The update
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_gradient_descent_step(momentum, dtype, rng):
    for shape in [(1, 1), (13, 7), (131, 2)]:
        param, grad, velocity = (random_array(rng, shape, dtype) for _ in range(3))
        p_ref, v_ref = param.copy(), velocity.copy()
        jit.gradient_descent_step(param, grad, velocity, 0.3, momentum)
        vectorized.gradient_descent_step(p_ref, grad, v_ref, 0.3, momentum)
        assert_matches(param, p_ref, dtype)
        assert_matches(velocity, v_ref, dtype)


# ---------------------------------------------------------------------------
# 5. The network: forward and train
# ---------------------------------------------------------------------------


def network(rng, sizes, dtype, scale=0.5):
    weights = [(scale * rng.standard_normal((n, n_prev))).astype(dtype)
               for n_prev, n in zip(sizes, sizes[1:])]
    biases = [(0.1 * rng.standard_normal((n, 1))).astype(dtype) for n in sizes[1:]]
    return weights, biases


def copies(arrays):
    return [a.copy() for a in arrays]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", OUTPUT_COSTS)
def test_forward(output, dtype, rng):
    sizes = (13, 7, 31, 1 if output == "sigmoid" else 3)
    weights, biases = network(rng, sizes, dtype)
    X = random_array(rng, (13, 67), dtype, 1.0)
    activations = ["tanh", "relu", output]
    got = jit.forward(weights, biases, X, activations)
    assert_matches(got, vectorized.forward(weights, biases, X, activations), dtype,
                   **(tolerance(dtype) if dtype == np.float64 else dict(rtol=1e-3, atol=1e-4)))


def run_both(rng, dtype, hidden, output, epochs, batch_size, momentum, l2, lr=0.1,
             sizes=(7, 13, 5), m=67):
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
        costs = module.train(W, b, X, Y, activations, epochs, lr, batch_size=batch_size,
                             momentum=momentum, l2=l2, orders=orders, velocities=velocities)
        results.append((costs, W + b, velocities[0] + velocities[1]))
    return results


@pytest.mark.parametrize("output", OUTPUT_COSTS)
@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("batch_size, momentum, l2", [(None, 0.0, 0.0), (13, 0.9, 0.5)])
def test_train_float64_agrees_tightly(hidden, output, batch_size, momentum, l2, rng):
    """Full batch and mini-batches (last one partial: 67 = 5 * 13 + 2), momentum and L2."""
    (costs, params, vel), (costs_ref, params_ref, vel_ref) = run_both(
        rng, np.float64, hidden, output, 25, batch_size, momentum, l2)
    assert costs.dtype == np.float64 and np.isfinite(costs).all()
    np.testing.assert_allclose(costs, costs_ref, rtol=TRAIN_RTOL)
    for got, want in zip(params + vel, params_ref + vel_ref):
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=TRAIN_RTOL, atol=1e-13)


@pytest.mark.parametrize("output", OUTPUT_COSTS)
@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
def test_train_float32_short_runs(hidden, output, rng):
    for batch_size, momentum, l2 in [(None, 0.0, 0.0), (13, 0.9, 0.5)]:
        (costs, params, _), (costs_ref, params_ref, _) = run_both(
            rng, np.float32, hidden, output, 3, batch_size, momentum, l2)
        np.testing.assert_allclose(costs, costs_ref, rtol=1e-4)
        for got, want in zip(params, params_ref):
            assert_matches(got, want, np.float32)


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
            first = module.train(W, b, X, Y, activations, 4, 0.5, batch_size=100,
                                 momentum=0.5, velocities=velocities)
            second = module.train(W, b, X, Y, activations, 4, 0.5, momentum=0.5,
                                  velocities=velocities)
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
        rng, dtype, "relu", "linear", 40, batch_size, 0.0, 0.0,
        lr=1e5 if dtype == np.float64 else 1e3)
    stop_ref = int(np.argmax(~np.isfinite(costs_ref)))
    assert not np.isfinite(costs_ref[-1]) and stop_ref > 0, "the reference run must diverge"
    stop = int(np.argmax(~np.isfinite(costs)))
    assert not np.isfinite(costs[stop]) and np.isnan(costs[stop + 1:]).all()
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
        env = dict(os.environ, NUMBA_NUM_THREADS=threads,
                   PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
        done = subprocess.run([sys.executable, "-c", THREADS_SCRIPT], env=env, cwd=root,
                              capture_output=True, text=True, timeout=600)
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
        jit.train(weights, biases, X, Y, acts, 2, 0.1, batch_size=3,
                  orders=np.full((2, 7), 7))
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
        jit.train(weights, biases, X, Y, acts, 2, 0.1,
                  velocities=([np.zeros((1, 1))] * 2, [np.zeros((4, 1)), np.zeros((1, 1))]))
