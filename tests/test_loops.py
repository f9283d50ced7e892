"""The explicit-loops variant against the NumPy reference, function by function."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from conftest import AWKWARD_SIZES, DTYPES, labels, random_array, tolerance
from kernels import loops, vectorized
from kernels.contract import HIDDEN_ACTIVATIONS, OUTPUT_COSTS

# Python loops are slow: the small end of the shared awkward sizes only.
SMALL = tuple(s for s in AWKWARD_SIZES if s <= 31)
SHAPES = [(1, 1), (1, SMALL[-1]), (SMALL[-1], 1), (2, 13), (7, 3), (13, 31), (3, 7)]
ELEMENTWISE = ("sigmoid", "sigmoid_derivative", "tanh", "tanh_derivative", "relu",
               "relu_derivative", "leaky_relu", "leaky_relu_derivative", "linear",
               "linear_derivative", "softmax")


def assert_matches(actual, expected, dtype):
    """Same dtype as the input, same values as the reference within ``tolerance(dtype)``."""
    assert np.asarray(actual).dtype == np.dtype(dtype)
    assert np.asarray(expected).dtype == np.dtype(dtype)
    assert np.shape(actual) == np.shape(expected)
    np.testing.assert_allclose(actual, expected, **tolerance(dtype))


# ---------------------------------------------------------------------------
# 1. Activations
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_activation_functions(name, shape, dtype, rng):
    Z = random_array(rng, shape, dtype)
    Z.flat[0] = 0  # the kink of relu and leaky relu
    assert_matches(getattr(loops, name)(Z), getattr(vectorized, name)(Z), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(HIDDEN_ACTIVATIONS) + ["softmax"])
def test_activation_forward_and_backward(name, dtype, rng):
    Z = random_array(rng, (7, 13), dtype)
    assert_matches(loops.activation_forward(Z, name), vectorized.activation_forward(Z, name), dtype)
    if name != "softmax":
        dA = random_array(rng, (7, 13), dtype)
        assert_matches(loops.activation_backward(dA, Z, name),
                       vectorized.activation_backward(dA, Z, name), dtype)


def test_unknown_activation_is_a_value_error():
    Z = np.zeros((2, 3))
    with pytest.raises(ValueError, match="activation must be one of"):
        loops.activation_forward(Z, "swish")
    with pytest.raises(ValueError, match="hidden activation must be one of"):
        loops.activation_backward(Z, Z, "softmax")


def test_arrays_must_be_two_dimensional():
    with pytest.raises(ValueError, match="Z must be a 2-D array"):
        loops.sigmoid(np.zeros(3))


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", DTYPES)
def test_extreme_inputs_stay_finite(dtype):
    Z = np.array([[-1e4, -800.0, -89.0, 0.0, 89.0, 800.0, 1e4]], dtype=dtype)
    Y = np.array([[1, 1, 0, 1, 1, 0, 0]], dtype=dtype)
    for name in ELEMENTWISE:
        A = getattr(loops, name)(Z)
        assert np.isfinite(A).all(), name
        assert_matches(A, getattr(vectorized, name)(Z), dtype)
    costs = [(loops.binary_cross_entropy(Z, Y), vectorized.binary_cross_entropy(Z, Y)),
             (loops.categorical_cross_entropy(Z.T, Y.T), vectorized.categorical_cross_entropy(Z.T, Y.T))]
    for actual, expected in costs:
        assert np.isfinite(actual)
        assert_matches(actual, expected, dtype)


@st.composite
def extreme_arrays(draw):
    """A float32 or float64 (n, m) array of awkward small shape, values anywhere in [-1e4, 1e4]."""
    dtype = draw(st.sampled_from(DTYPES))
    shape = (draw(st.sampled_from(SMALL[:4])), draw(st.sampled_from(SMALL[:5])))
    values = st.floats(-1e4, 1e4, width=np.finfo(dtype).bits)
    return draw(hnp.arrays(dtype, shape, elements=values))


@pytest.mark.filterwarnings("error")
@settings(max_examples=60, deadline=None)
@given(Z=extreme_arrays(), data=st.data())
def test_elementwise_and_costs_on_any_values(Z, data):
    dtype = Z.dtype.type
    for name in ELEMENTWISE:
        assert_matches(getattr(loops, name)(Z), getattr(vectorized, name)(Z), dtype)
    Y = data.draw(hnp.arrays(dtype, Z.shape, elements=st.sampled_from([0.0, 1.0])))
    for name in ("binary_cross_entropy", "categorical_cross_entropy", "mean_squared_error"):
        actual, expected = getattr(loops, name)(Z, Y), getattr(vectorized, name)(Z, Y)
        assert np.isfinite(actual)
        assert_matches(actual, expected, dtype)


# ---------------------------------------------------------------------------
# 2. Matrix product and the dense layer
# ---------------------------------------------------------------------------

PRODUCT_SHAPES = [(1, 1, 1), (1, 31, 1), (31, 1, 13), (7, 13, 3), (2, 3, 31), (13, 7, 1)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, k, m", PRODUCT_SHAPES)
def test_matmul(n, k, m, dtype, rng):
    A, B = random_array(rng, (n, k), dtype), random_array(rng, (k, m), dtype)
    assert_matches(loops.matmul(A, B), vectorized.matmul(A, B), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", list(HIDDEN_ACTIVATIONS) + ["softmax"])
@pytest.mark.parametrize("n, n_prev, m", PRODUCT_SHAPES)
def test_dense_forward(n, n_prev, m, activation, dtype, rng):
    A_prev = random_array(rng, (n_prev, m), dtype)
    W, b = random_array(rng, (n, n_prev), dtype, 0.5), random_array(rng, (n, 1), dtype)
    A, Z = loops.dense_forward(A_prev, W, b, activation)
    A_ref, Z_ref = vectorized.dense_forward(A_prev, W, b, activation)
    assert_matches(Z, Z_ref, dtype)
    assert_matches(A, A_ref, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("l2, m_total", [(0.0, None), (0.7, None), (0.7, 101)])
@pytest.mark.parametrize("n, n_prev, m", PRODUCT_SHAPES)
def test_linear_backward(n, n_prev, m, l2, m_total, dtype, rng):
    dZ, A_prev = random_array(rng, (n, m), dtype), random_array(rng, (n_prev, m), dtype)
    W = random_array(rng, (n, n_prev), dtype)
    for actual, expected in zip(loops.linear_backward(dZ, A_prev, W, l2, m_total),
                                vectorized.linear_backward(dZ, A_prev, W, l2, m_total)):
        assert_matches(actual, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("n, n_prev, m", PRODUCT_SHAPES[2:5])
def test_dense_backward(n, n_prev, m, activation, dtype, rng):
    dA, Z = random_array(rng, (n, m), dtype), random_array(rng, (n, m), dtype)
    A_prev, W = random_array(rng, (n_prev, m), dtype), random_array(rng, (n, n_prev), dtype)
    for actual, expected in zip(loops.dense_backward(dA, A_prev, W, Z, activation, 0.3, 2 * m),
                                vectorized.dense_backward(dA, A_prev, W, Z, activation, 0.3, 2 * m)):
        assert_matches(actual, expected, dtype)


# ---------------------------------------------------------------------------
# 3. Costs and the output gradient
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", sorted(OUTPUT_COSTS))
@pytest.mark.parametrize("n, m", SHAPES)
def test_costs_and_output_gradient(n, m, output, dtype, rng):
    if output == "softmax" and n == 1:
        n = 2  # one class is not a classification
    Z, Y = random_array(rng, (n, m), dtype), labels(rng, output, n, m, dtype)
    A = vectorized.activation_forward(Z, output)
    cost_name = OUTPUT_COSTS[output]
    inputs = (A, Y) if cost_name == "mean_squared_error" else (Z, Y)
    assert_matches(getattr(loops, cost_name)(*inputs), getattr(vectorized, cost_name)(*inputs), dtype)
    assert_matches(loops.cost(Z, A, Y, output), vectorized.cost(Z, A, Y, output), dtype)
    assert_matches(loops.output_gradient(A, Y), vectorized.output_gradient(A, Y), dtype)


def test_cost_names_the_output_activations():
    Z = np.zeros((1, 2))
    with pytest.raises(ValueError, match="output activation must be one of"):
        loops.cost(Z, Z, Z, "tanh")


@pytest.mark.parametrize("dtype", DTYPES)
def test_l2_penalty(dtype, rng):
    weights = [random_array(rng, shape, dtype) for shape in [(7, 3), (1, 7), (13, 1)]]
    expected = vectorized.l2_penalty(weights, 0.7, 31)
    np.testing.assert_allclose(loops.l2_penalty(weights, 0.7, 31), expected, **tolerance(dtype))
    assert loops.l2_penalty(weights, 0.0, 31) == 0.0


# ---------------------------------------------------------------------------
# 4. The update
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (31, 1)])
def test_gradient_descent_step(shape, momentum, dtype, rng):
    param, velocity = random_array(rng, shape, dtype), random_array(rng, shape, dtype)
    copies = param.copy(), velocity.copy()
    for _ in range(3):
        grad = random_array(rng, shape, dtype)
        loops.gradient_descent_step(param, grad, velocity, 0.05, momentum)
        vectorized.gradient_descent_step(copies[0], grad, copies[1], 0.05, momentum)
    assert_matches(param, copies[0], dtype)
    assert_matches(velocity, copies[1], dtype)


# ---------------------------------------------------------------------------
# 5. The network
# ---------------------------------------------------------------------------


def network(rng, sizes, dtype, scale=0.5):
    weights = [random_array(rng, (n, n_prev), dtype, scale) for n_prev, n in zip(sizes, sizes[1:])]
    biases = [random_array(rng, (n, 1), dtype, 0.1) for n in sizes[1:]]
    return weights, biases


def copy_of(arrays):
    return [a.copy() for a in arrays]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", sorted(OUTPUT_COSTS))
def test_forward(output, dtype, rng):
    weights, biases = network(rng, (3, 7, 2, 3), dtype)
    X = random_array(rng, (3, 13), dtype)
    activations = ["tanh", "relu", output]
    assert_matches(loops.forward(weights, biases, X, activations),
                   vectorized.forward(weights, biases, X, activations), dtype)


TRAINING_SETUPS = {
    "full batch": dict(batch_size=None, momentum=0.0, l2=0.0),
    "full batch, momentum, L2": dict(batch_size=None, momentum=0.9, l2=0.5),
    "mini-batch, momentum, L2": dict(batch_size=4, momentum=0.8, l2=0.3),
}


def training_problem(rng, hidden, output, dtype=np.float64, m=13):
    n_out = 3 if output == "softmax" else 2 if output == "linear" else 1
    weights, biases = network(rng, (3, 5, 4, n_out), dtype)
    X = random_array(rng, (3, m), dtype, 1.0)
    Y = labels(rng, output, n_out, m, dtype)
    return weights, biases, X, Y, [hidden, hidden, output]


@pytest.mark.parametrize("setup", sorted(TRAINING_SETUPS))
@pytest.mark.parametrize("output", sorted(OUTPUT_COSTS))
@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
def test_train_matches_reference_float64(hidden, output, setup, rng):
    """Same costs and parameters after a few epochs, within 1e-9 relative."""
    weights, biases, X, Y, activations = training_problem(rng, hidden, output)
    epochs = 4
    orders = np.array([rng.permutation(X.shape[1]) for _ in range(epochs)])
    kwargs = dict(TRAINING_SETUPS[setup], orders=orders)
    ref_weights, ref_biases = copy_of(weights), copy_of(biases)
    costs = loops.train(weights, biases, X, Y, activations, epochs, 0.1, **kwargs)
    ref_costs = vectorized.train(ref_weights, ref_biases, X, Y, activations, epochs, 0.1, **kwargs)
    assert np.isfinite(ref_costs).all()
    np.testing.assert_allclose(costs, ref_costs, rtol=1e-9)
    for actual, expected in zip(weights + biases, ref_weights + ref_biases):
        np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_train_keeps_dtype_and_carries_velocities(dtype, rng):
    weights, biases, X, Y, activations = training_problem(rng, "tanh", "sigmoid", dtype)
    velocities = ([np.zeros_like(W) for W in weights], [np.zeros_like(b) for b in biases])
    ref = copy_of(weights), copy_of(biases)
    ref_velocities = tuple(copy_of(v) for v in velocities)
    for _ in range(2):  # two calls, velocities carried from the first to the second
        costs = loops.train(weights, biases, X, Y, activations, 2, 0.3, momentum=0.9,
                            velocities=velocities)
        ref_costs = vectorized.train(*ref, X, Y, activations, 2, 0.3, momentum=0.9,
                                     velocities=ref_velocities)
        np.testing.assert_allclose(costs, ref_costs, **tolerance(dtype))
    for actual, expected in zip(weights + biases + velocities[0] + velocities[1],
                                ref[0] + ref[1] + ref_velocities[0] + ref_velocities[1]):
        assert_matches(actual, expected, dtype)


@pytest.mark.parametrize("batch_size, learning_rate", [(None, 1e30), (5, 1e10)])
def test_train_divergence_matches_reference(batch_size, learning_rate, rng):
    weights, biases, X, Y, activations = training_problem(rng, "relu", "linear")
    orders = np.array([rng.permutation(X.shape[1]) for _ in range(6)])
    ref_weights, ref_biases = copy_of(weights), copy_of(biases)
    costs = loops.train(weights, biases, X, Y, activations, 6, learning_rate, batch_size,
                        orders=orders)
    ref_costs = vectorized.train(ref_weights, ref_biases, X, Y, activations, 6, learning_rate,
                                 batch_size, orders=orders)
    # the run did diverge, after at least one finite epoch
    assert np.isfinite(ref_costs[0]) and not np.isfinite(ref_costs[-1])
    np.testing.assert_array_equal(np.isfinite(costs), np.isfinite(ref_costs))
    finite = np.isfinite(ref_costs)
    np.testing.assert_allclose(costs[finite], ref_costs[finite], rtol=1e-9)
    for actual, expected in zip(weights + biases, ref_weights + ref_biases):
        assert np.isfinite(actual).all()
        np.testing.assert_allclose(actual, expected, rtol=1e-9)


def test_mini_batches_need_orders(rng):
    weights, biases, X, Y, activations = training_problem(rng, "tanh", "sigmoid")
    with pytest.raises(ValueError, match="orders"):
        loops.train(weights, biases, X, Y, activations, 1, 0.1, batch_size=4)
