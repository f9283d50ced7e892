"""The NumPy reference against ground truth that does not come from it.

Activations and costs are held against their definitions (SciPy's ``expit``,
``log_expit``, ``softmax``, ``log_softmax``, or the closed forms written out
here), the layer against the notes' per-example formulas, the update against
the course's momentum formula, and ``train`` against gradient descent on the
cost it reports (gradients by central differences).
"""

import math

import numpy as np
import pytest
from scipy import special

import kernels
from fastnn.datasets import planar
from kernels import loops
from kernels import vectorized as ref
from kernels.contract import LEAKY_SLOPE, OUTPUT_COSTS

from conftest import DTYPES, tolerance

# |z| from tiny to far past where exp overflows: float32 at 88.7, float64 at 709.8.
EXTREMES = np.array(
    [
        -1e4,
        -1000.0,
        -745.0,
        -710.0,
        -100.0,
        -89.0,
        -88.0,
        -20.0,
        -1.0,
        -1e-3,
        0.0,
        1e-3,
        1.0,
        20.0,
        88.0,
        89.0,
        100.0,
        710.0,
        745.0,
        1000.0,
        1e4,
    ]
)


def extreme_inputs(dtype, rng):
    """A (3, 21) array: the extremes, their negatives, and ordinary values."""
    rows = [EXTREMES, -EXTREMES[::-1] * 0.5, rng.standard_normal(EXTREMES.size) * 5]
    return np.array(rows, dtype=dtype)


def assert_close(actual, expected, dtype):
    assert np.asarray(actual).dtype == np.dtype(dtype)
    np.testing.assert_allclose(actual, expected, **tolerance(dtype))


# ---------------------------------------------------------------------------
# 1. Activations against their definitions, at |z| up to 1e4, warnings as errors
# ---------------------------------------------------------------------------


def _tanh_definition(z):
    # (e^z - e^-z) / (e^z + e^-z), written with e = exp(-2|z|) <= 1
    e = np.exp(-2 * np.abs(z))
    return np.sign(z) * (1 - e) / (1 + e)


def _tanh_derivative_definition(z):
    # 1 / cosh(z)^2 = 4 e / (1 + e)^2 with e = exp(-2|z|)
    e = np.exp(-2 * np.abs(z))
    return 4 * e / (1 + e) ** 2


DEFINITIONS = {
    "sigmoid": special.expit,
    "sigmoid_derivative": lambda z: special.expit(z) * special.expit(-z),
    "tanh": _tanh_definition,
    "tanh_derivative": _tanh_derivative_definition,
    "relu": np.vectorize(lambda z: max(0.0, z)),
    "relu_derivative": np.vectorize(lambda z: 1.0 if z > 0 else 0.0),
    "leaky_relu": np.vectorize(lambda z: max(LEAKY_SLOPE * z, z)),
    "leaky_relu_derivative": np.vectorize(lambda z: 1.0 if z > 0 else LEAKY_SLOPE),
    "linear": lambda z: z,
    "linear_derivative": np.ones_like,
    "softmax": lambda z: special.softmax(z, axis=0),
}


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(DEFINITIONS))
def test_activation_against_definition(name, dtype, rng):
    Z = extreme_inputs(dtype, rng)
    A = getattr(ref, name)(Z)
    assert np.isfinite(A).all()
    # the definition evaluated in float64, then compared in the input's dtype
    assert_close(A, DEFINITIONS[name](Z.astype(np.float64)), dtype)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_and_tanh_saturate_inside_their_range(dtype, rng):
    Z = extreme_inputs(dtype, rng)
    A, T = ref.sigmoid(Z), ref.tanh(Z)
    assert ((0 <= A) & (A <= 1)).all() and ((-1 <= T) & (T <= 1)).all()
    assert ref.sigmoid(np.zeros((1, 1), dtype))[0, 0] == 0.5
    assert ref.sigmoid(np.array([[1e4]], dtype))[0, 0] == 1
    assert ref.sigmoid(np.array([[-1e4]], dtype))[0, 0] == 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_derivative_at_zero_is_zero(dtype):
    Z = np.array([[0.0, -0.0, 1e-30, -1e-30]], dtype=dtype)
    np.testing.assert_array_equal(ref.relu_derivative(Z), [[0, 0, 1, 0]])
    np.testing.assert_array_equal(
        ref.leaky_relu_derivative(Z), np.array([[LEAKY_SLOPE, LEAKY_SLOPE, 1, LEAKY_SLOPE]], dtype)
    )
    assert ref.relu_derivative(Z).dtype == np.dtype(dtype)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_columns_sum_to_one(dtype, rng):
    Z = extreme_inputs(dtype, rng)
    A = ref.softmax(Z)
    assert A.dtype == np.dtype(dtype)
    assert_close(A.sum(axis=0), np.ones(Z.shape[1], dtype), dtype)
    # a column whose largest entry is far ahead is one-hot
    np.testing.assert_array_equal(
        ref.softmax(np.array([[1e4], [-1e4], [0.0]], dtype)), [[1], [0], [0]]
    )
    # shift invariance, the reason for subtracting the column max
    assert_close(ref.softmax(Z + dtype(3)), A, dtype)


def test_activation_dispatch_names_the_choices():
    Z = np.zeros((2, 2))
    for bad in ["swish", None]:
        with pytest.raises(ValueError, match="activation must be one of"):
            ref.activation_forward(Z, bad)
    # softmax is an output: its dZ comes from the cost, not from a derivative
    with pytest.raises(ValueError, match="hidden activation must be one of"):
        ref.activation_backward(Z, Z, "softmax")


# ---------------------------------------------------------------------------
# 2. The dense layer against the notes' per-example formulas
# ---------------------------------------------------------------------------


def test_dense_forward_unit_by_unit(rng):
    """``z_i = w_i^T x + b_i`` (notes 2.4 and 3.2), summed exactly with math.fsum."""
    A_prev, W, b = (
        rng.standard_normal((7, 13)),
        rng.standard_normal((3, 7)),
        rng.standard_normal((3, 1)),
    )
    A, Z = ref.dense_forward(A_prev, W, b, "tanh")
    for i in range(3):
        for j in range(13):
            z = math.fsum(W[i, k] * A_prev[k, j] for k in range(7)) + b[i, 0]
            assert Z[i, j] == pytest.approx(z, rel=1e-13, abs=1e-14)
            assert A[i, j] == pytest.approx(math.tanh(z), rel=1e-13, abs=1e-14)
    np.testing.assert_allclose(ref.matmul(W, A_prev), Z - b, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("l2, m_total", [(0.0, None), (0.7, None), (0.7, 40)])
def test_linear_backward_as_sums_over_examples(l2, m_total, rng):
    """``dW = 1/m sum_j dz(j) a(j)^T + (l2/m_total) W``, ``db = 1/m sum_j dz(j)``, ``dA = W^T dZ``."""
    m = 13
    dZ, A_prev, W = (
        rng.standard_normal((3, m)),
        rng.standard_normal((7, m)),
        rng.standard_normal((3, 7)),
    )
    dA_prev, dW, db = ref.linear_backward(dZ, A_prev, W, l2, m_total)
    expected_dW = sum(np.outer(dZ[:, j], A_prev[:, j]) for j in range(m)) / m
    expected_dW += l2 / (m if m_total is None else m_total) * W
    np.testing.assert_allclose(dW, expected_dW, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        db[:, 0], sum(dZ[:, j] for j in range(m)) / m, rtol=1e-12, atol=1e-14
    )
    for j in range(m):
        np.testing.assert_allclose(dA_prev[:, j], W.T.dot(dZ[:, j]), rtol=1e-12, atol=1e-14)
    assert db.shape == (3, 1) and dW.shape == W.shape and dA_prev.shape == A_prev.shape


@pytest.mark.parametrize("dtype", DTYPES)
def test_layer_keeps_dtype(dtype, rng):
    A_prev, W, b = (rng.standard_normal(s).astype(dtype) for s in [(7, 13), (3, 7), (3, 1)])
    A, Z = ref.dense_forward(A_prev, W, b, "relu")
    outputs = [A, Z, *ref.dense_backward(A, A_prev, W, Z, "relu", 0.5)]
    assert all(x.dtype == np.dtype(dtype) for x in outputs)


# ---------------------------------------------------------------------------
# 3. Costs: definitions, saturation, and dZ[L] = A[L] - Y
# ---------------------------------------------------------------------------


def bce_definition(Z, Y):
    # -(y log a + (1-y) log(1-a)) with log a = log_expit(z), log(1-a) = log_expit(-z)
    return -(Y * special.log_expit(Z) + (1 - Y) * special.log_expit(-Z)).sum() / Z.shape[1]


def cce_definition(Z, Y):
    return -(Y * special.log_softmax(Z, axis=0)).sum() / Z.shape[1]


def mse_definition(A, Y):
    return ((A - Y) ** 2).sum() / (2 * A.shape[1])


def one_hot(rng, n, m, dtype=np.float64):
    Y = np.zeros((n, m), dtype)
    Y[rng.integers(0, n, m), np.arange(m)] = 1
    return Y


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", DTYPES)
def test_costs_against_definitions_at_saturation(dtype, rng):
    Z = extreme_inputs(dtype, rng)
    Y = (rng.random(Z.shape) < 0.5).astype(dtype)
    Z64, Y64 = Z.astype(np.float64), Y.astype(np.float64)
    bce = ref.binary_cross_entropy(Z, Y)
    assert np.isfinite(bce)
    assert_close(bce, bce_definition(Z64, Y64), dtype)
    Yc = one_hot(rng, 3, Z.shape[1], dtype)
    cce = ref.categorical_cross_entropy(Z, Yc)
    assert np.isfinite(cce)
    assert_close(cce, cce_definition(Z64, Yc.astype(np.float64)), dtype)
    mse = ref.mean_squared_error(Z, Y)
    assert_close(mse, mse_definition(Z64, Y64), dtype)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", DTYPES)
def test_confidently_wrong_prediction_costs_its_margin(dtype):
    """A saturated wrong prediction costs |z|, finite: no log(0) anywhere."""
    Z = np.array([[1e4, -1e4]], dtype)
    assert ref.binary_cross_entropy(Z, np.array([[0, 1]], dtype)) == pytest.approx(1e4)
    assert ref.binary_cross_entropy(Z, np.array([[1, 0]], dtype)) == pytest.approx(0, abs=1e-30)
    Zc = np.array([[1e4], [-1e4]], dtype)
    assert ref.categorical_cross_entropy(Zc, np.array([[0], [1]], dtype)) == pytest.approx(2e4)


@pytest.mark.parametrize("output", sorted(OUTPUT_COSTS))
def test_output_gradient_is_the_cost_derivative(output, rng):
    """``dZ[L] = A[L] - Y`` is m times d cost / d Z[L] for each output/cost pair."""
    n, m = (3 if output == "softmax" else 2), 7
    Z = rng.standard_normal((n, m))
    Y = one_hot(rng, n, m) if output == "softmax" else rng.random((n, m))
    if output == "sigmoid":
        Y = np.round(Y)
    A = ref.activation_forward(Z, output)
    step, numeric = 1e-6, np.empty_like(Z)
    for index in np.ndindex(Z.shape):
        Zp, Zm = Z.copy(), Z.copy()
        Zp[index] += step
        Zm[index] -= step
        cost_p = ref.cost(Zp, ref.activation_forward(Zp, output), Y, output)
        cost_m = ref.cost(Zm, ref.activation_forward(Zm, output), Y, output)
        numeric[index] = (cost_p - cost_m) / (2 * step) * m
    np.testing.assert_allclose(ref.output_gradient(A, Y), numeric, rtol=1e-7, atol=1e-9)


def test_cost_names_the_output_activations():
    with pytest.raises(ValueError, match="output activation must be one of"):
        ref.cost(np.zeros((1, 1)), np.zeros((1, 1)), np.zeros((1, 1)), "relu")


def test_l2_penalty_is_the_squared_frobenius_norms(rng):
    weights = [rng.standard_normal((3, 7)), rng.standard_normal((1, 3))]
    expected = 0.7 / (2 * 13) * sum(np.linalg.norm(W) ** 2 for W in weights)
    assert ref.l2_penalty(weights, 0.7, 13) == pytest.approx(expected, rel=1e-13)


# ---------------------------------------------------------------------------
# 4. The update: the course's momentum formula
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_momentum_step_is_the_course_formula(momentum, dtype, rng):
    """``v = beta v + (1 - beta) dW``, ``W -= alpha v``, v starting at zero; in place."""
    W = rng.standard_normal((3, 7)).astype(dtype)
    velocity = np.zeros_like(W)
    W_expected, v_expected = W.astype(np.float64), np.zeros((3, 7))
    W_id, v_id = id(W), id(velocity)
    for _ in range(4):
        dW = rng.standard_normal((3, 7)).astype(dtype)
        ref.gradient_descent_step(W, dW, velocity, 0.1, momentum)
        v_expected = momentum * v_expected + (1 - momentum) * dW
        W_expected = W_expected - 0.1 * v_expected
    assert id(W) == W_id and id(velocity) == v_id
    assert_close(W, W_expected, dtype)
    assert_close(velocity, v_expected, dtype)


# ---------------------------------------------------------------------------
# 5. train: gradient descent on the cost it reports
# ---------------------------------------------------------------------------

INDEPENDENT_G = {
    "sigmoid": special.expit,
    "tanh": np.tanh,
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0),
    "leaky_relu": lambda z: np.where(z > 0, z, LEAKY_SLOPE * z),
    "softmax": lambda z: special.softmax(z, axis=0),
}


def objective(weights, biases, X, Y, activations, l2, m_total):
    """Mean loss over the columns of X plus ``l2 / (2 m_total) sum ||W||^2``, from definitions."""
    A = X
    for W, b, activation in zip(weights, biases, activations):
        Z = W @ A + b
        A = INDEPENDENT_G[activation](Z)
    loss = {"sigmoid": bce_definition, "softmax": cce_definition}.get(activations[-1])
    value = loss(Z, Y) if loss else mse_definition(A, Y)
    return value + l2 / (2 * m_total) * sum((W**2).sum() for W in weights)


def numeric_gradients(weights, biases, X, Y, activations, l2, m_total, step=1e-6):
    """Central differences of ``objective`` for every parameter."""
    gradients = []
    for p in weights + biases:
        g = np.empty_like(p)
        for index in np.ndindex(p.shape):
            saved = p[index]
            p[index] = saved + step
            up = objective(weights, biases, X, Y, activations, l2, m_total)
            p[index] = saved - step
            down = objective(weights, biases, X, Y, activations, l2, m_total)
            p[index] = saved
            g[index] = (up - down) / (2 * step)
        gradients.append(g)
    return gradients


def small_problem(rng, output="sigmoid", m=7):
    n_out = 3 if output == "softmax" else 1
    weights = [rng.standard_normal((3, 2)), rng.standard_normal((n_out, 3))]
    biases = [rng.standard_normal((3, 1)) * 0.1, rng.standard_normal((n_out, 1)) * 0.1]
    X = rng.standard_normal((2, m))
    Y = one_hot(rng, n_out, m) if output == "softmax" else np.round(rng.random((n_out, m)))
    return weights, biases, X, Y, ["tanh", output]


def copy_of(arrays):
    return [a.copy() for a in arrays]


@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_full_batch_train_is_gradient_descent(output, momentum, rng):
    weights, biases, X, Y, activations = small_problem(rng, output)
    lr, l2, m = 0.5, 0.3, X.shape[1]
    expected = copy_of(weights + biases)
    velocity = [np.zeros_like(p) for p in expected]
    expected_costs = []
    for _ in range(3):
        w, b = expected[:2], expected[2:]
        expected_costs.append(objective(w, b, X, Y, activations, l2, m))
        for p, v, g in zip(expected, velocity, numeric_gradients(w, b, X, Y, activations, l2, m)):
            v[...] = momentum * v + (1 - momentum) * g
            p -= lr * v
    costs = ref.train(weights, biases, X, Y, activations, 3, lr, momentum=momentum, l2=l2)
    # the first cost is exact; later ones carry the central differences' error (~1e-10)
    np.testing.assert_allclose(costs[0], expected_costs[0], rtol=1e-13)
    np.testing.assert_allclose(costs, expected_costs, rtol=1e-8)
    for actual, want in zip(weights + biases, expected):
        np.testing.assert_allclose(actual, want, rtol=1e-7, atol=1e-9)


def test_mini_batch_epoch_cost_and_steps(rng):
    """Each batch steps down its own mean loss + ``l2/(2m) sum ||W||^2`` (m the training
    set); the epoch cost weights each batch's objective by its share of the examples."""
    weights, biases, X, Y, activations = small_problem(rng, "sigmoid", m=7)
    lr, l2, m, batch = 0.5, 0.3, 7, 3  # batches of 3, 3 and 1
    orders = np.array([rng.permutation(m) for _ in range(2)])
    expected = copy_of(weights + biases)
    expected_costs = []
    for order in orders:
        epoch_cost = 0.0
        for start in range(0, m, batch):
            idx = order[start : start + batch]
            w, b = expected[:2], expected[2:]
            epoch_cost += objective(w, b, X[:, idx], Y[:, idx], activations, l2, m) * len(idx) / m
            for p, g in zip(
                expected, numeric_gradients(w, b, X[:, idx], Y[:, idx], activations, l2, m)
            ):
                p -= lr * g
        expected_costs.append(epoch_cost)
    costs = ref.train(
        weights, biases, X, Y, activations, 2, lr, batch_size=batch, l2=l2, orders=orders
    )
    np.testing.assert_allclose(costs, expected_costs, rtol=1e-8)
    for actual, want in zip(weights + biases, expected):
        np.testing.assert_allclose(actual, want, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("batch_size", [None, 3])
def test_velocities_carry_between_calls(batch_size, rng):
    weights, biases, X, Y, activations = small_problem(rng)
    orders = np.array([rng.permutation(X.shape[1]) for _ in range(4)])
    one_call = copy_of(weights), copy_of(biases)
    costs = ref.train(*one_call, X, Y, activations, 4, 0.3, batch_size, 0.9, orders=orders)
    velocities = ([np.zeros_like(W) for W in weights], [np.zeros_like(b) for b in biases])
    split_costs = [
        ref.train(
            weights,
            biases,
            X,
            Y,
            activations,
            2,
            0.3,
            batch_size,
            0.9,
            orders=orders[half * 2 : half * 2 + 2],
            velocities=velocities,
        )
        for half in range(2)
    ]
    np.testing.assert_allclose(np.concatenate(split_costs), costs, rtol=1e-14)
    for actual, want in zip(weights + biases, one_call[0] + one_call[1]):
        np.testing.assert_allclose(actual, want, rtol=1e-14)


@pytest.mark.parametrize("dtype", DTYPES)
def test_train_keeps_parameter_dtype(dtype, rng):
    weights, biases, X, Y, activations = small_problem(rng)
    weights, biases = [W.astype(dtype) for W in weights], [b.astype(dtype) for b in biases]
    costs = ref.train(weights, biases, X.astype(dtype), Y.astype(dtype), activations, 3, 0.1)
    assert all(p.dtype == np.dtype(dtype) for p in weights + biases)
    assert np.isfinite(costs).all() and costs[-1] < costs[0]


@pytest.mark.parametrize("batch_size, learning_rate", [(None, 1e30), (3, 1e10)])
def test_divergence_stops_and_keeps_an_epoch_start(batch_size, learning_rate, rng):
    """A huge learning rate: the run stops, later costs are NaN, the parameters are
    finite and equal to the start of one of the last epochs."""
    weights = [rng.standard_normal((3, 2)), rng.standard_normal((1, 3))]
    biases = [np.zeros((3, 1)), np.zeros((1, 1))]
    X, Y = rng.standard_normal((2, 7)), rng.standard_normal((1, 7))
    activations, epochs = ["relu", "linear"], 8
    orders = np.array([rng.permutation(7) for _ in range(epochs)])
    # the epoch starts, recorded by running one epoch per call (velocities carried)
    starts, stepped = [], (copy_of(weights), copy_of(biases))
    velocities = ([np.zeros_like(W) for W in weights], [np.zeros_like(b) for b in biases])
    for epoch in range(epochs):
        starts.append(copy_of(stepped[0] + stepped[1]))
        ref.train(
            *stepped,
            X,
            Y,
            activations,
            1,
            learning_rate,
            batch_size,
            orders=orders[epoch : epoch + 1],
            velocities=velocities,
        )
    costs = ref.train(
        weights, biases, X, Y, activations, epochs, learning_rate, batch_size, orders=orders
    )
    stop = int(np.argmin(np.isfinite(costs)))
    assert 0 < stop < epochs - 1, costs  # it ran, then diverged before the end
    assert np.isfinite(costs[:stop]).all() and np.isnan(costs[stop + 1 :]).all()
    params = weights + biases
    assert all(np.isfinite(p).all() for p in params)
    assert any(
        all(np.array_equal(p, s) for p, s in zip(params, start))
        for start in starts[max(stop - 1, 0) : stop + 1]
    )


def test_overflowing_last_update_is_undone(rng):
    weights, biases, X, _, _ = small_problem(rng)
    Y = np.full((1, X.shape[1]), 1e3)  # db ~ -1e3: b - 1e308 db overflows
    activations = ["relu", "linear"]
    before = copy_of(weights + biases)
    costs = ref.train(weights, biases, X, Y, activations, 1, 1e308)
    assert np.isfinite(costs).all()
    for p, s in zip(weights + biases, before):
        np.testing.assert_array_equal(p, s)


def test_mini_batches_need_orders(rng):
    weights, biases, X, Y, activations = small_problem(rng)
    with pytest.raises(ValueError, match="orders"):
        ref.train(weights, biases, X, Y, activations, 1, 0.1, batch_size=2)


# ---------------------------------------------------------------------------
# The notes' planar "flower": 2-4-1 tanh/sigmoid, full batch, learning rate 1.2
# ---------------------------------------------------------------------------


def flower_problem():
    X, y = planar()
    rng = np.random.default_rng(2)
    weights = [rng.standard_normal((4, 2)) * 0.01, rng.standard_normal((1, 4)) * 0.01]
    biases = [np.zeros((4, 1)), np.zeros((1, 1))]
    return weights, biases, np.ascontiguousarray(X.T), y[np.newaxis, :].astype(np.float64)


@pytest.mark.parametrize("variant, epochs", [("loops", 5), ("numba", 1000)])
def test_flower_cost_curve_matches_across_variants(variant, epochs):
    weights, biases, X, Y = flower_problem()
    ref_weights, ref_biases = copy_of(weights), copy_of(biases)
    module = loops if variant == "loops" else kernels.get(variant)
    costs = module.train(weights, biases, X, Y, ["tanh", "sigmoid"], epochs, 1.2)
    ref_costs = ref.train(ref_weights, ref_biases, X, Y, ["tanh", "sigmoid"], epochs, 1.2)
    assert ref_costs[-1] < ref_costs[0]  # it learns
    np.testing.assert_allclose(costs, ref_costs, rtol=1e-9)
