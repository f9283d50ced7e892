"""Shared test helpers: awkward sizes, per-dtype tolerances, random problems."""

import os

# Where no GPU is present the CUDA variant runs under Numba's CUDA simulator. It
# must be chosen before numba is first imported, hence here, at the top of conftest.
# FASTNN_TEST_GPU=1 runs the CUDA tests on a real GPU instead.
if os.environ.get("FASTNN_TEST_GPU") != "1":
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

# Sizes that are 1, primes, or not multiples of any block size a kernel might use.
AWKWARD_SIZES = (1, 2, 3, 7, 13, 31, 67, 131)

DTYPES = (np.float32, np.float64)

#: Relative tolerance when a variant is held against the NumPy reference.
RTOL = {np.float32: 2e-4, np.float64: 1e-10}
#: Absolute tolerance (values near zero).
ATOL = {np.float32: 1e-5, np.float64: 1e-12}


def notes(cls, **params):
    """``cls(**params)`` with the notes' full-batch gradient descent where ``params`` do not
    say otherwise (``solver="sgd"``, ``batch_size=None`` and the rates the estimators had
    before Adam became the default: 0.1, 0.01 for a regressor). Tests that pin the
    course's numbers or gradient descent's behaviour use it."""
    regressor = cls.__name__ == "MLPRegressor"
    defaults = dict(solver="sgd", batch_size=None, learning_rate=0.01 if regressor else 0.1)
    return cls(**{**defaults, **params})


def tolerance(dtype):
    """``dict(rtol=..., atol=...)`` for ``np.testing.assert_allclose`` in ``dtype``."""
    dtype = np.dtype(dtype).type
    return {"rtol": RTOL[dtype], "atol": ATOL[dtype]}


def random_array(rng, shape, dtype, scale=3.0):
    """Normal random values of the given spread, in ``dtype``."""
    return (scale * rng.standard_normal(shape)).astype(dtype)


def labels(rng, output, n, m, dtype):
    """Targets an output can fit: 0/1 for sigmoid, one-hot columns for softmax, reals for linear."""
    if output == "sigmoid":
        return (rng.random((n, m)) < 0.5).astype(dtype)
    if output == "softmax":
        Y = np.zeros((n, m), dtype=dtype)
        Y[rng.integers(0, n, size=m), np.arange(m)] = 1
        return Y
    return rng.standard_normal((n, m)).astype(dtype)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def pytest_report_header(config):
    return (
        f"NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', 'default')}, "
        f"NUMBA_ENABLE_CUDASIM={os.environ.get('NUMBA_ENABLE_CUDASIM', '0')}"
    )
