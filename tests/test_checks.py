"""The argument checks the compiled variants share (``kernels.checks``)."""

import inspect

import numpy as np
import pytest

import kernels
from kernels import checks, contract
from kernels.contract import ACTIVATION_CODES, HIDDEN_ACTIVATIONS, OUTPUT_COSTS


def test_codes_come_from_the_contract():
    for name in HIDDEN_ACTIVATIONS:
        assert checks.hidden_code(name) == ACTIVATION_CODES[name]
    for name in OUTPUT_COSTS:
        assert checks.output_code(name) == ACTIVATION_CODES[name]
    assert checks.network_codes(["tanh", "relu", "softmax"]) == (
        (ACTIVATION_CODES["tanh"], ACTIVATION_CODES["relu"]),
        ACTIVATION_CODES["softmax"],
    )


@pytest.mark.parametrize(
    "activations, match",
    [
        (["softmax", "sigmoid"], "hidden activation"),  # softmax is an output only
        (["tanh", "relu"], "output activation"),  # relu has no cost
        ([], "at least one"),
        (["tanh", "swish", "sigmoid"], "swish"),
    ],
)
def test_bad_activations_are_named(activations, match):
    with pytest.raises(ValueError, match=match):
        checks.network_codes(activations)


def test_full_batch_ignores_orders():
    assert checks.check_batches(None, "not looked at", 3, 10) == (None, None)
    assert checks.check_batches(10, None, 3, 10) == (None, None)  # one batch holds them all


def test_orders_are_exactly_epochs_by_m():
    orders = np.tile(np.arange(10), (3, 1))
    batch, checked = checks.check_batches(4, orders, 3, 10, np.int64)
    assert batch == 4 and checked.dtype == np.int64 and checked.flags.c_contiguous
    np.testing.assert_array_equal(checked, orders)
    for bad in (
        None,
        orders[:2],
        np.tile(np.arange(10), (4, 1)),
        orders[:, :9],
        orders.astype(float),
    ):
        with pytest.raises(ValueError, match=r"orders must be an integer array of shape \(3, 10\)"):
            checks.check_batches(4, bad, 3, 10)
    with pytest.raises(ValueError, match=r"indices in \[0, 10\)"):
        checks.check_batches(4, orders + 1, 3, 10)
    with pytest.raises(ValueError, match="batch_size"):
        checks.check_batches(0, orders, 3, 10)


def test_epochs_finite_numbers_and_velocities():
    assert checks.check_epochs(np.int64(4)) == 4
    with pytest.raises(ValueError, match="epochs"):
        checks.check_epochs(-1)
    with pytest.raises(ValueError, match="momentum must be finite"):
        checks.check_finite(learning_rate=0.1, momentum=float("nan"))
    weights, biases = [np.zeros((2, 3))], [np.zeros((2, 1))]
    checks.check_velocities(None, weights, biases, np.float64)
    checks.check_velocities(([np.ones((2, 3))], [np.ones((2, 1))]), weights, biases, np.float64)
    with pytest.raises(ValueError, match="shape and dtype"):
        checks.check_velocities(
            ([np.ones((2, 3), np.float32)], [np.ones((2, 1))]), weights, biases, np.float64
        )
    with pytest.raises(ValueError, match="one array per"):
        checks.check_velocities(([], []), weights, biases, np.float64)


@pytest.mark.parametrize("variant", sorted(kernels.VARIANTS))
def test_every_variant_has_the_contract_signatures(variant):
    """``contract.Variant`` states the contract once: each variant has its functions, with
    the same parameter names in the same order."""
    module = kernels.get(variant)
    for name, stated in inspect.getmembers(contract.Variant, inspect.isfunction):
        if name.startswith("_"):
            continue
        assert hasattr(module, name), f"kernels.{variant} lacks {name}"
        expected = list(inspect.signature(stated).parameters)[1:]  # without self
        assert list(inspect.signature(getattr(module, name)).parameters) == expected, name
