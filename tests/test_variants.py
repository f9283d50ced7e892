"""Every variant against the reference (``kernels.vectorized``), operation by operation.

One test per operation of the contract, parametrised over the variants, the dtypes and
awkward shapes (1, primes, sizes that are not multiples of any block): adding an
operation is one test here, adding a variant is one entry in ``SIZES``. What only one
variant has (the CUDA tiles, the Numba threads, the loops' property test) stays in
``test_loops.py``, ``test_jit.py`` and ``test_cuda.py``.
"""

import contextlib
import itertools
import warnings

import numpy as np
import pytest

import kernels
from kernels import vectorized
from kernels.contract import HIDDEN_ACTIVATIONS, OUTPUT_COSTS

from conftest import DTYPES, labels, random_array, tolerance

#: Each variant is held against the reference, which is not held against itself.
VARIANTS = [name for name in kernels.VARIANTS if kernels.VARIANTS[name] != "vectorized"]

ELEMENTWISE = tuple(
    itertools.chain.from_iterable((name, f"{name}_derivative") for name in HIDDEN_ACTIVATIONS)
) + ("softmax",)
ACTIVATIONS = HIDDEN_ACTIVATIONS + ("softmax",)

#: The sizes each variant is tried on: Python loops and the CUDA simulator (every GPU
#: thread a Python thread) take the small ones; ``products`` are ``(n, k, m)``, a
#: ``(n, k) @ (k, m)`` product or a layer of ``n`` units on ``k`` inputs and ``m`` examples.
SIZES = {
    "loops": dict(
        elementwise=[(1, 1), (1, 31), (31, 1), (2, 13), (7, 3), (13, 31), (3, 7)],
        products=[(1, 1, 1), (1, 31, 1), (31, 1, 13), (7, 13, 3), (2, 3, 31), (13, 7, 1)],
        examples=(1, 2, 7, 31),
    ),
    "numba": dict(
        elementwise=[(1, 1), (1, 131), (131, 1), (2, 13), (7, 3), (13, 31), (67, 7), (3, 131)],
        products=[
            (1, 1, 1),
            (1, 131, 1),
            (7, 1, 13),
            (2, 3, 7),
            (13, 31, 67),
            (67, 131, 31),
            (131, 13, 2),
            (31, 67, 131),
        ],
        examples=(1, 2, 3, 7, 13, 31, 67, 131),
    ),
    "cuda": dict(
        elementwise=[(1, 1), (7, 13)],
        products=[(1, 1, 1), (3, 7, 2), (7, 13, 3), (1, 2, 17)],
        examples=(1, 13),
    ),
}


@pytest.fixture(params=VARIANTS)
def variant(request):
    return request.param


def kernels_of(variant):
    return kernels.get(variant)


def assert_matches(actual, expected, dtype, **tol):
    """Same dtype and shape as the reference, same values within ``tolerance(dtype)``."""
    assert np.asarray(actual).dtype == np.dtype(dtype)
    assert np.shape(actual) == np.shape(expected)
    np.testing.assert_allclose(actual, expected, **(tol or tolerance(dtype)))


def assert_sum_matches(actual, expected, bound, dtype):
    """For sums of products: the error is relative to ``bound``, the same sum taken over
    absolute values, since an entry may cancel to near zero (and the variants sum in
    different orders: blocks, split-K)."""
    assert np.asarray(actual).dtype == np.dtype(dtype)
    assert np.shape(actual) == np.shape(expected)
    tol = tolerance(dtype)
    error = np.abs(np.asarray(actual, np.float64) - expected)
    np.testing.assert_array_less(error, tol["rtol"] * bound + tol["atol"])


@contextlib.contextmanager
def no_warnings_unless_simulated(variant):
    """A warning fails the test; but the CUDA simulator runs device code as NumPy scalars,
    which warn on an overflow the GPU takes silently (exp(1e4) -> inf)."""
    with warnings.catch_warnings():
        if variant != "cuda":
            warnings.simplefilter("error")
        yield


# ---------------------------------------------------------------------------
# 1. Activations
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise(variant, name, dtype, rng):
    for shape in SIZES[variant]["elementwise"]:
        Z = random_array(rng, shape, dtype)
        Z.flat[0] = 0  # the kink of relu and leaky relu
        assert_matches(getattr(kernels_of(variant), name)(Z), getattr(vectorized, name)(Z), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_at_extreme_inputs(variant, name, dtype, rng):
    """|z| up to 1e4: finite, no warning, the reference's values."""
    Z = (
        np.concatenate(
            [
                np.array([-1e4, 1e4, -800.0, 800.0, -90.0, 90.0, -20.0, 20.0, 0.0]),
                rng.uniform(-1e4, 1e4, 40),
            ]
        )
        .astype(dtype)
        .reshape(7, 7)
    )
    with no_warnings_unless_simulated(variant):
        out = getattr(kernels_of(variant), name)(Z)
    assert np.isfinite(out).all()
    assert_matches(out, getattr(vectorized, name)(Z), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_forward_and_backward(variant, name, dtype, rng):
    k = kernels_of(variant)
    Z = random_array(rng, (7, 13), dtype)
    assert_matches(k.activation_forward(Z, name), vectorized.activation_forward(Z, name), dtype)
    if name != "softmax":
        dA = random_array(rng, (7, 13), dtype)
        assert_matches(
            k.activation_backward(dA, Z, name), vectorized.activation_backward(dA, Z, name), dtype
        )


def test_unknown_activations_are_value_errors(variant):
    k, Z = kernels_of(variant), np.zeros((2, 3))
    with pytest.raises(ValueError, match="activation must be one of"):
        k.activation_forward(Z, "swish")
    with pytest.raises(ValueError, match="hidden activation must be one of"):
        k.activation_backward(Z, Z, "softmax")
    with pytest.raises(ValueError, match="output activation must be one of"):
        k.cost(Z, Z, Z, "relu")


# ---------------------------------------------------------------------------
# 2. Matrix product and the dense layer
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul(variant, dtype, rng):
    for n, k, m in SIZES[variant]["products"]:
        A, B = random_array(rng, (n, k), dtype), random_array(rng, (k, m), dtype)
        assert_sum_matches(
            kernels_of(variant).matmul(A, B), vectorized.matmul(A, B), abs(A) @ abs(B), dtype
        )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_forward(variant, activation, dtype, rng):
    for n, n_prev, m in SIZES[variant]["products"]:
        A_prev = random_array(rng, (n_prev, m), dtype, 1.0)
        W, b = random_array(rng, (n, n_prev), dtype, 0.5), random_array(rng, (n, 1), dtype)
        A, Z = kernels_of(variant).dense_forward(A_prev, W, b, activation)
        A_ref, Z_ref = vectorized.dense_forward(A_prev, W, b, activation)
        bound = abs(W) @ abs(A_prev) + abs(b)  # every activation is 1-Lipschitz
        assert_sum_matches(Z, Z_ref, bound, dtype)
        assert_sum_matches(A, A_ref, bound, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("l2, m_total", [(0.0, None), (0.7, None), (0.7, 1000)])
def test_linear_backward(variant, l2, m_total, dtype, rng):
    for n, n_prev, m in SIZES[variant]["products"]:
        dZ, A_prev = random_array(rng, (n, m), dtype), random_array(rng, (n_prev, m), dtype)
        W = random_array(rng, (n, n_prev), dtype)
        bounds = (
            abs(W).T @ abs(dZ),
            abs(dZ) @ abs(A_prev).T / m + abs(W),
            abs(dZ).sum(axis=1, keepdims=True) / m,
        )
        for got, want, bound in zip(
            kernels_of(variant).linear_backward(dZ, A_prev, W, l2, m_total),
            vectorized.linear_backward(dZ, A_prev, W, l2, m_total),
            bounds,
        ):
            assert_sum_matches(got, want, bound, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_dense_backward(variant, activation, dtype, rng):
    for n, n_prev, m in SIZES[variant]["products"][1:3]:
        dA, Z = random_array(rng, (n, m), dtype), random_array(rng, (n, m), dtype)
        A_prev, W = random_array(rng, (n_prev, m), dtype), random_array(rng, (n, n_prev), dtype)
        dZ = abs(dA)  # |g'| <= 1
        bounds = (abs(W).T @ dZ, dZ @ abs(A_prev).T / m + abs(W), dZ.sum(axis=1, keepdims=True) / m)
        for got, want, bound in zip(
            kernels_of(variant).dense_backward(dA, A_prev, W, Z, activation, 0.3, 2 * m),
            vectorized.dense_backward(dA, A_prev, W, Z, activation, 0.3, 2 * m),
            bounds,
        ):
            assert_sum_matches(got, want, bound, dtype)


# ---------------------------------------------------------------------------
# 3. Costs, the output gradient, L2
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", sorted(OUTPUT_COSTS))
def test_costs_and_output_gradient(variant, output, dtype, rng):
    k = kernels_of(variant)
    for m in SIZES[variant]["examples"]:
        n = 1 if output == "sigmoid" else 3
        Z, Y = random_array(rng, (n, m), dtype), labels(rng, output, n, m, dtype)
        A = vectorized.activation_forward(Z, output)
        name = OUTPUT_COSTS[output]
        inputs = (A, Y) if name == "mean_squared_error" else (Z, Y)
        assert_matches(getattr(k, name)(*inputs), getattr(vectorized, name)(*inputs), dtype)
        assert_matches(k.cost(Z, A, Y, output), vectorized.cost(Z, A, Y, output), dtype)
        assert_matches(k.output_gradient(A, Y), vectorized.output_gradient(A, Y), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_costs_saturated(variant, dtype):
    """Predictions far in the tails: finite costs (computed from Z), the reference's."""
    Z = np.array([[-1e4, 1e4, -800.0, 800.0, -40.0, 40.0, 0.0]], dtype)
    Y = np.array([[0, 1, 1, 0, 1, 0, 1]], dtype)
    for name, Zs, Ys in (
        ("binary_cross_entropy", Z, Y),
        ("categorical_cross_entropy", np.vstack([Z, -Z]), np.vstack([Y, 1 - Y])),
    ):
        with no_warnings_unless_simulated(variant):
            got = getattr(kernels_of(variant), name)(Zs, Ys)
        assert np.isfinite(got)
        assert_matches(got, getattr(vectorized, name)(Zs, Ys), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_l2_penalty(variant, dtype, rng):
    weights = [random_array(rng, shape, dtype) for shape in [(1, 1), (13, 7), (2, 31)]]
    k = kernels_of(variant)
    assert k.l2_penalty(weights, 0.7, 67) == pytest.approx(
        vectorized.l2_penalty(weights, 0.7, 67), rel=tolerance(dtype)["rtol"]
    )
    assert k.l2_penalty(weights, 0.0, 67) == 0.0


# ---------------------------------------------------------------------------
# 4. The update
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_gradient_descent_step(variant, momentum, dtype, rng):
    for shape in [(1, 1), (13, 7), (31, 2)]:
        param, velocity = random_array(rng, shape, dtype), random_array(rng, shape, dtype)
        p_ref, v_ref = param.copy(), velocity.copy()
        for _ in range(3):  # the velocity carries from step to step
            grad = random_array(rng, shape, dtype)
            kernels_of(variant).gradient_descent_step(param, grad, velocity, 0.3, momentum)
            vectorized.gradient_descent_step(p_ref, grad, v_ref, 0.3, momentum)
        assert_matches(param, p_ref, dtype)
        assert_matches(velocity, v_ref, dtype)


# ---------------------------------------------------------------------------
# 5. The network: forward and whole runs
# ---------------------------------------------------------------------------


def network(rng, sizes, dtype, scale=0.5):
    weights = [random_array(rng, (n, n_prev), dtype, scale) for n_prev, n in zip(sizes, sizes[1:])]
    biases = [random_array(rng, (n, 1), dtype, 0.1) for n in sizes[1:]]
    return weights, biases


def copies(arrays):
    return [a.copy() for a in arrays]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", sorted(OUTPUT_COSTS))
def test_forward(variant, output, dtype, rng):
    weights, biases = network(rng, (3, 7, 2, 1 if output == "sigmoid" else 3), dtype)
    X = random_array(rng, (3, 13), dtype, 1.0)
    activations = ["tanh", "relu", output]
    assert_matches(
        kernels_of(variant).forward(weights, biases, X, activations),
        vectorized.forward(weights, biases, X, activations),
        dtype,
    )


def run_both(variant, rng, dtype, hidden, output, epochs, lr=0.1, m=13, **options):
    """The same run by ``variant`` and by the reference, from the same parameters and
    velocities: ``[(costs, parameters + velocities)] * 2``, the variant's first."""
    n_out = {"sigmoid": 1, "softmax": 3, "linear": 2}[output]
    weights, biases = network(rng, (3, 5, 4, n_out), dtype)
    X = random_array(rng, (3, m), dtype, 1.0)
    Y = labels(rng, output, n_out, m, dtype)
    orders = np.array([rng.permutation(m) for _ in range(epochs)])
    velocities = (
        [random_array(rng, W.shape, dtype, 0.01) for W in weights],
        [random_array(rng, b.shape, dtype, 0.01) for b in biases],
    )
    runs = []
    for k in (kernels_of(variant), vectorized):
        W, b, v = copies(weights), copies(biases), (copies(velocities[0]), copies(velocities[1]))
        with np.errstate(all="ignore"):  # the divergence test overflows on purpose
            costs = k.train(
                W,
                b,
                X,
                Y,
                [hidden, hidden, output],
                epochs,
                lr,
                orders=orders,
                velocities=v,
                **options,
            )
        runs.append((np.asarray(costs), W + b + v[0] + v[1]))
    return runs


SETUPS = {
    "full batch": dict(batch_size=None, momentum=0.0, l2=0.0),
    "full batch, momentum, L2": dict(batch_size=None, momentum=0.9, l2=0.5),
    "mini-batches (the last one short), momentum, L2": dict(batch_size=4, momentum=0.8, l2=0.3),
}
#: Every hidden activation with every output and setup; the simulator takes a covering
#: subset (each hidden activation, output and setup at least once).
ALL_RUNS = list(itertools.product(HIDDEN_ACTIVATIONS, sorted(OUTPUT_COSTS), sorted(SETUPS)))
COVERING_RUNS = [
    (h, o, s)
    for h, o, s in zip(
        HIDDEN_ACTIVATIONS, itertools.cycle(sorted(OUTPUT_COSTS)), itertools.cycle(sorted(SETUPS))
    )
]
RUNS = {"loops": ALL_RUNS, "numba": ALL_RUNS, "cuda": COVERING_RUNS}
RUN_CASES = [pytest.param(v, *run, id=f"{v}-{'-'.join(run)}") for v in VARIANTS for run in RUNS[v]]


@pytest.mark.parametrize("variant, hidden, output, setup", RUN_CASES)
def test_train_float64_agrees_tightly(variant, hidden, output, setup, rng):
    """Costs, parameters and velocities after a few epochs within 1e-9 relative."""
    (costs, params), (costs_ref, params_ref) = run_both(
        variant, rng, np.float64, hidden, output, 4, **SETUPS[setup]
    )
    assert costs.dtype == np.float64 and np.isfinite(costs_ref).all()
    np.testing.assert_allclose(costs, costs_ref, rtol=1e-9)
    for got, want in zip(params, params_ref):
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("setup", sorted(SETUPS))
def test_train_float32_short_runs(variant, setup, rng):
    """float32 trajectories drift with the order of summation: short runs, float32 tolerance."""
    (costs, params), (costs_ref, params_ref) = run_both(
        variant, rng, np.float32, "tanh", "softmax", 3, **SETUPS[setup]
    )
    np.testing.assert_allclose(costs, costs_ref, rtol=1e-4)
    for got, want in zip(params, params_ref):
        assert_matches(got, want, np.float32)


#: Where the reference overflows to NaN at lr 1e30 (after two finite epochs), the cuda
#: variant's costs stay finite two epochs longer (1e234, 1e294): its arithmetic overflows
#: later. Not settled whether that is a fault; strict, so the test says when it changes.
CUDA_OVERFLOWS_LATER = pytest.mark.xfail(strict=True, reason="cuda stops 2 epochs later")


@pytest.mark.parametrize("batch_size, learning_rate", [(None, 1e30), (None, 1e60), (5, 1e10)])
def test_train_divergence_stops_where_the_reference_does(
    variant, batch_size, learning_rate, rng, request
):
    """The first non-finite cost ends the run, NaN after it, the last finite parameters kept."""
    if variant == "cuda" and learning_rate == 1e30:
        request.applymarker(CUDA_OVERFLOWS_LATER)
    (costs, params), (costs_ref, params_ref) = run_both(
        variant, rng, np.float64, "relu", "linear", 6, lr=learning_rate, batch_size=batch_size
    )
    assert np.isfinite(costs_ref[0]) and not np.isfinite(costs_ref[-1]), "it must diverge"
    np.testing.assert_array_equal(np.isfinite(costs), np.isfinite(costs_ref))
    stop = int(np.argmin(np.isfinite(costs)))  # its cost is inf or NaN; NaN after it
    assert np.isnan(costs[stop + 1 :]).all()
    finite = np.isfinite(costs_ref)
    np.testing.assert_allclose(costs[finite], costs_ref[finite], rtol=1e-9)
    for got, want in zip(params, params_ref):
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, want, rtol=1e-9)


def test_mini_batches_need_orders_of_shape_epochs_by_m(variant, rng):
    weights, biases = network(rng, (3, 4, 1), np.float64)
    X, Y = random_array(rng, (3, 7), np.float64), labels(rng, "sigmoid", 1, 7, np.float64)
    train = kernels_of(variant).train
    with pytest.raises(ValueError, match="orders"):
        train(weights, biases, X, Y, ["tanh", "sigmoid"], 2, 0.1, batch_size=3)
    with pytest.raises(ValueError, match=r"indices in \[0, 7\)"):
        train(
            weights,
            biases,
            X,
            Y,
            ["tanh", "sigmoid"],
            2,
            0.1,
            batch_size=3,
            orders=np.full((2, 7), 7),
        )
    with pytest.raises(ValueError, match="orders"):
        train(
            weights,
            biases,
            X,
            Y,
            ["tanh", "sigmoid"],
            2,
            0.1,
            batch_size=3,
            orders=np.tile(np.arange(7), (3, 1)),
        )
