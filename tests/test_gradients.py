"""The full backward pass against central finite differences, in float64.

A 3-layer net of awkward sizes; the analytic gradients come from each
variant's own layer functions (``dense_forward``, ``output_gradient``,
``linear_backward``, ``dense_backward``), the numeric ones from the same
variant's ``cost`` + ``l2_penalty`` by central differences. Every hidden
activation, each output/cost pair, with and without L2, for W and b of every
layer.

Error measure, per parameter array: ``max|num - ana| / max(|num| + |ana|)``,
a relative error of the array as a whole, meaningful where single entries are
near zero. Step ``1e-5``: the truncation error (``h^2``) and the rounding
error (``eps J / h``) are both near 1e-10, far below the 1e-6 asked for.
"""

import importlib.util

import numpy as np
import pytest

import kernels
from kernels.contract import HIDDEN_ACTIVATIONS, OUTPUT_COSTS

STEP = 1e-5
MAX_RELATIVE_ERROR = 1e-6
SIZES = (3, 7, 2)  # n_x and the two hidden layers; the output size depends on the cost
OUTPUT_UNITS = {"sigmoid": 1, "softmax": 3, "linear": 2}
M = 13
KINK_MARGIN = 1e-3  # relu/leaky relu inputs stay this far from 0: far more than STEP moves them


def available_variants():
    """The variants whose module is in the package (their import is then part of the test)."""
    return [
        name
        for name in ("numpy", "loops", "numba")
        if importlib.util.find_spec(f"kernels.{kernels.VARIANTS[name]}") is not None
    ]


def network(seed, hidden, output):
    """Parameters and data; for relu and leaky relu, drawn until no hidden Z is near the kink."""
    ref = kernels.get("numpy")
    for attempt in range(100):
        rng = np.random.default_rng([seed, attempt])
        sizes = SIZES + (OUTPUT_UNITS[output],)
        weights = [rng.standard_normal((n, n_prev)) for n_prev, n in zip(sizes, sizes[1:])]
        biases = [0.5 * rng.standard_normal((n, 1)) for n in sizes[1:]]
        X = rng.standard_normal((sizes[0], M))
        if output == "sigmoid":
            Y = (rng.random((sizes[-1], M)) < 0.5).astype(np.float64)
        elif output == "softmax":
            Y = np.zeros((sizes[-1], M))
            Y[rng.integers(0, sizes[-1], M), np.arange(M)] = 1
        else:
            Y = rng.standard_normal((sizes[-1], M))
        activations = [hidden] * (len(sizes) - 2) + [output]
        A, hidden_Z = X, []
        for W, b, activation in zip(weights, biases, activations):
            A, Z = ref.dense_forward(A, W, b, activation)
            hidden_Z.append(Z)
        if min(np.abs(Z).min() for Z in hidden_Z[:-1]) > KINK_MARGIN:
            return weights, biases, X, Y, activations
    raise AssertionError("no network away from the kink in 100 draws")


def objective(module, weights, biases, X, Y, activations, l2, m_total):
    """The cost the backward pass differentiates: ``cost + l2 / (2 m_total) sum ||W||^2``."""
    A = X
    for W, b, activation in zip(weights, biases, activations):
        A, Z = module.dense_forward(A, W, b, activation)
    return float(module.cost(Z, A, Y, activations[-1])) + float(
        module.l2_penalty(weights, l2, m_total)
    )


def analytic_gradients(module, weights, biases, X, Y, activations, l2, m_total):
    """``[dW1, dW2, dW3, db1, db2, db3]`` from the variant's layer functions."""
    caches, A = [], X
    for W, b, activation in zip(weights, biases, activations):
        A_prev = A
        A, Z = module.dense_forward(A_prev, W, b, activation)
        caches.append((A_prev, Z))
    L = len(weights)
    dW, db = [None] * L, [None] * L
    dZ = module.output_gradient(A, Y)
    dA, dW[-1], db[-1] = module.linear_backward(dZ, caches[-1][0], weights[-1], l2, m_total)
    for layer in range(L - 2, -1, -1):
        A_prev, Z = caches[layer]
        dA, dW[layer], db[layer] = module.dense_backward(
            dA, A_prev, weights[layer], Z, activations[layer], l2, m_total
        )
    return dW + db


def numeric_gradients(module, weights, biases, X, Y, activations, l2, m_total):
    gradients = []
    for p in weights + biases:
        g = np.empty_like(p)
        for index in np.ndindex(p.shape):
            saved = p[index]
            p[index] = saved + STEP
            up = objective(module, weights, biases, X, Y, activations, l2, m_total)
            p[index] = saved - STEP
            down = objective(module, weights, biases, X, Y, activations, l2, m_total)
            p[index] = saved
            g[index] = (up - down) / (2 * STEP)
        gradients.append(g)
    return gradients


def relative_error(numeric, analytic):
    return np.abs(numeric - analytic).max() / (np.abs(numeric) + np.abs(analytic)).max()


def check_gradients(variant, hidden, output, l2, m_total=M, seed=0):
    module = kernels.get(variant)
    weights, biases, X, Y, activations = network(seed, hidden, output)
    analytic = analytic_gradients(module, weights, biases, X, Y, activations, l2, m_total)
    numeric = numeric_gradients(module, weights, biases, X, Y, activations, l2, m_total)
    names = [f"dW{l + 1}" for l in range(len(weights))] + [f"db{l + 1}" for l in range(len(biases))]
    for name, p, num, ana in zip(names, weights + biases, numeric, analytic):
        assert ana.shape == p.shape and ana.dtype == np.float64, name
        assert np.abs(num).max() > 0, f"{name}: a zero gradient tests nothing"
        error = relative_error(num, ana)
        assert error < MAX_RELATIVE_ERROR, f"{name}: relative error {error:.2e}"


@pytest.mark.parametrize("l2", [0.0, 0.7], ids=["no L2", "L2"])
@pytest.mark.parametrize("output", sorted(OUTPUT_COSTS))
@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("variant", available_variants())
def test_backward_pass_matches_central_differences(variant, hidden, output, l2):
    check_gradients(variant, hidden, output, l2)


@pytest.mark.parametrize("variant", available_variants())
def test_l2_gradient_is_scaled_by_the_training_set_size(variant):
    """A mini-batch of M examples out of 3 M: ``dW`` is the gradient of the batch
    cost + ``l2 / (2 * 3M) sum ||W||^2``."""
    check_gradients(variant, "tanh", "sigmoid", l2=0.7, m_total=3 * M, seed=1)


def test_the_error_measure_sees_a_wrong_gradient():
    """The check is not vacuous: a gradient off by 1e-5 of its scale fails it."""
    weights, biases, X, Y, activations = network(0, "tanh", "sigmoid")
    module = kernels.get("numpy")
    analytic = analytic_gradients(module, weights, biases, X, Y, activations, 0.0, M)
    numeric = numeric_gradients(module, weights, biases, X, Y, activations, 0.0, M)
    wrong = analytic[0].copy()
    wrong.flat[0] += 1e-5 * np.abs(wrong).max()
    assert relative_error(numeric[0], analytic[0]) < MAX_RELATIVE_ERROR
    assert relative_error(numeric[0], wrong) > MAX_RELATIVE_ERROR
