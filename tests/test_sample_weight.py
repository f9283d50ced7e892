"""Sample weights under the one kernel contract (issue 11, point 4).

``train(..., sample_weight=w)`` in every variant, held against ``vectorized``;
and the meaning of a weight, in every variant: weights all 1 are no weights
(bit for bit), integer weights are repeated columns, zero weights are columns
removed (full batch: the same numbers up to rounding), and the argument checks.
"""

import numpy as np
import pytest

import kernels
from kernels import vectorized as ref

from conftest import AWKWARD_SIZES, DTYPES, labels, random_array, tolerance

#: Every variant; the CUDA one runs under the simulator (tests/conftest.py) or a GPU.
VARIANTS = ["loops", "numpy", "numba", "cuda"]
OTHERS = ["loops", "numba", "cuda"]

#: (layer sizes, activations, batch size, options): the three output costs, full batch and
#: mini-batches with a short last batch, momentum, Adam and L2.
CASES = [
    ([3, 5, 1], ["tanh", "sigmoid"], None, dict(l2=0.3)),
    ([2, 7, 3], ["relu", "softmax"], 4, dict(momentum=0.9)),
    ([3, 3, 2], ["leaky_relu", "linear"], 5, dict(optimizer="adam", l2=0.2)),
    ([4, 2], ["softmax"], None, dict(optimizer="adam")),
]


def variant(name):
    if name == "cuda":
        pytest.importorskip("kernels.cuda")
    return kernels.get(name)


def problem(rng, sizes, activations, dtype, m=AWKWARD_SIZES[4], epochs=3):
    X = random_array(rng, (sizes[0], m), dtype, 1.0)
    Y = labels(rng, activations[-1], sizes[-1], m, dtype)
    orders = np.stack([rng.permutation(m) for _ in range(epochs)])
    weights = [random_array(rng, (n, n_prev), dtype, 0.5) for n_prev, n in zip(sizes, sizes[1:])]
    biases = [random_array(rng, (n, 1), dtype, 0.1) for n in sizes[1:]]
    return X, Y, orders, weights, biases


def run(
    module, weights, biases, X, Y, activations, epochs, batch_size=None, orders=None, **options
):
    W, b = [a.copy() for a in weights], [a.copy() for a in biases]
    costs = module.train(
        W, b, X, Y, activations, epochs, 0.1, batch_size=batch_size, orders=orders, **options
    )
    return costs, W + b


def assert_runs_close(first, second, dtype):
    np.testing.assert_allclose(first[0], second[0], **tolerance(dtype))
    for p, q in zip(first[1], second[1]):
        np.testing.assert_allclose(p, q, **tolerance(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("name", OTHERS)
def test_weighted_train_matches_vectorized(name, case, dtype, rng):
    module = variant(name)
    sizes, activations, batch_size, options = CASES[case]
    X, Y, orders, weights, biases = problem(rng, sizes, activations, dtype)
    w = rng.uniform(0.0, 3.0, X.shape[1]).astype(dtype)
    w[1] = 0
    args = (weights, biases, X, Y, activations, 3, batch_size, orders)
    result = run(module, *args, sample_weight=w, **options)
    assert result[0].dtype == np.float64 and all(p.dtype == dtype for p in result[1])
    assert_runs_close(result, run(ref, *args, sample_weight=w, **options), dtype)
    # the weights change the run (a test that would pass with the weights ignored is none)
    unweighted = run(ref, *args, **options)
    assert not np.allclose(result[0], unweighted[0], **tolerance(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_size", [None, 4])
@pytest.mark.parametrize("name", VARIANTS)
def test_unit_weights_are_no_weights_bit_for_bit(name, batch_size, dtype, rng):
    module = variant(name)
    sizes, activations = [3, 4, 3], ["tanh", "softmax"]
    X, Y, orders, weights, biases = problem(rng, sizes, activations, dtype)
    args = (weights, biases, X, Y, activations, 3, batch_size, orders)
    plain = run(module, *args, momentum=0.5, l2=0.1)
    ones = run(module, *args, momentum=0.5, l2=0.1, sample_weight=np.ones(X.shape[1], dtype))
    np.testing.assert_array_equal(plain[0], ones[0])
    for p, q in zip(plain[1], ones[1]):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activations", [["tanh", "sigmoid"], ["relu", "linear"]])
@pytest.mark.parametrize("name", VARIANTS)
def test_integer_weights_are_repeated_columns(name, activations, dtype, rng):
    module = variant(name)
    X, Y, _, weights, biases = problem(rng, [3, 4, 2], activations, dtype)
    w = rng.integers(1, 4, X.shape[1])
    repeated = np.repeat(np.arange(X.shape[1]), w)
    weighted = run(
        module, weights, biases, X, Y, activations, 4, l2=0.3, sample_weight=w.astype(dtype)
    )
    expected = run(
        module,
        weights,
        biases,
        np.ascontiguousarray(X[:, repeated]),
        np.ascontiguousarray(Y[:, repeated]),
        activations,
        4,
        l2=0.3,
    )
    assert_runs_close(weighted, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", VARIANTS)
def test_zero_weights_are_columns_removed(name, dtype, rng):
    module = variant(name)
    activations = ["sigmoid", "softmax"]
    X, Y, _, weights, biases = problem(rng, [2, 3, 3], activations, dtype)
    w = np.ones(X.shape[1], dtype)
    w[[0, 5, 6]] = 0
    kept = np.flatnonzero(w)
    weighted = run(
        module, weights, biases, X, Y, activations, 4, momentum=0.5, l2=0.2, sample_weight=w
    )
    expected = run(
        module,
        weights,
        biases,
        np.ascontiguousarray(X[:, kept]),
        np.ascontiguousarray(Y[:, kept]),
        activations,
        4,
        momentum=0.5,
        l2=0.2,
    )
    assert_runs_close(weighted, expected, dtype)


@pytest.mark.parametrize("name", VARIANTS)
def test_a_batch_of_zero_weights_has_no_data_gradient(name, rng):
    """Weights 0 on every example of a mini-batch: its update is the L2 decay alone."""
    module = variant(name)
    dtype = np.float64
    activations = ["linear"]
    X, Y, _, weights, biases = problem(rng, [2, 1], activations, dtype, m=4, epochs=1)
    orders = np.array([[0, 1, 2, 3]])
    w = np.array([0.0, 0.0, 2.0, 1.0])
    costs, params = run(
        module, weights, biases, X, Y, activations, 1, 2, orders, l2=0.5, sample_weight=w
    )
    W = weights[0] * (1 - 0.1 * 0.5 / 3.0)  # the first batch: W -= lr (l2 / W_total) W
    b = biases[0].copy()
    Xb, Yb, wb = X[:, 2:], Y[:, 2:], w[2:]
    dZ = (W @ Xb + b - Yb) * wb
    W_expected = W - 0.1 * (dZ @ Xb.T / 3.0 + 0.5 / 3.0 * W)
    b_expected = b - 0.1 * dZ.sum(axis=1, keepdims=True) / 3.0
    np.testing.assert_allclose(params[0], W_expected, rtol=1e-12)
    np.testing.assert_allclose(params[1], b_expected, rtol=1e-12)
    assert np.isfinite(costs).all()


@pytest.mark.parametrize("name", VARIANTS)
@pytest.mark.parametrize(
    "bad, error, match",
    [
        (np.ones(5), ValueError, r"sample_weight must have shape \(4,\)"),
        (np.ones((4, 1)), ValueError, r"sample_weight must have shape"),
        (np.array([1.0, np.nan, 1.0, 1.0]), ValueError, "sample_weight must be finite"),
        (np.array([1.0, -1.0, 1.0, 1.0]), ValueError, "sample_weight must be >= 0"),
        (np.zeros(4), ValueError, "sample_weight must not be all zero"),
        (np.ones(4, np.float32), TypeError, "sample_weight must have the data's dtype float64"),
    ],
)
def test_bad_sample_weights_are_refused(name, bad, error, match, rng):
    module = variant(name)
    activations = ["sigmoid"]
    X, Y, _, weights, biases = problem(rng, [2, 1], activations, np.float64, m=4, epochs=1)
    before = [a.copy() for a in weights + biases]
    with pytest.raises(error, match=match):
        module.train(weights, biases, X, Y, activations, 1, 0.1, sample_weight=bad)
    for p, q in zip(before, weights + biases):
        np.testing.assert_array_equal(p, q)


def test_numba_run_is_compiled_once_with_and_without_weights(rng):
    """The weights travel as an array always (empty: none): a weighted run takes the
    signature of the unweighted one, compiled no second time."""
    jit_train = pytest.importorskip("kernels.jit_train")
    module = variant("numba")
    activations = ["tanh", "sigmoid"]
    X, Y, orders, weights, biases = problem(rng, [3, 2, 1], activations, np.float64)
    w = rng.uniform(0.5, 2.0, X.shape[1])
    for batch_size in (None, 4):
        run(module, weights, biases, X, Y, activations, 3, batch_size, orders)
        compiled = list(jit_train.train_kernel.signatures)
        run(module, weights, biases, X, Y, activations, 3, batch_size, orders, sample_weight=w)
        assert jit_train.train_kernel.signatures == compiled
