"""The JIT variant's vectorisable transcendentals (kernels.jit_math) against NumPy.

Each function in float32 and float64, on wide grids (tiny to huge arguments, both signs),
called from compiled code as the kernels call them. Errors are measured in units of the
dtype's epsilon against NumPy's float64 result (for float64 NumPy's own error, under
one ulp, is inside the bound). Special values: NaN propagates, +-inf and |x| up to 1e4
give the limits, no overflow.
"""

import numpy as np
import pytest
from numba import njit

from kernels import jit_math

from conftest import DTYPES

NAMES = ("exp", "expm1", "log", "log1p", "tanh", "sigmoid", "softplus", "log1p_unit")
#: the largest error allowed, in units of the dtype's epsilon (relative)
MAX_EPS = 4.0


@njit(cache=True, error_model="numpy")
def apply(code, x, out):
    """Apply function number ``code`` of NAMES to x, element by element, in compiled code."""
    for i in range(x.size):
        v = x[i]
        if code == 0:
            out[i] = jit_math.exp(v)
        elif code == 1:
            out[i] = jit_math.expm1(v)
        elif code == 2:
            out[i] = jit_math.log(v)
        elif code == 3:
            out[i] = jit_math.log1p(v)
        elif code == 4:
            out[i] = jit_math.tanh(v)
        elif code == 5:
            out[i] = jit_math.sigmoid(v)
        elif code == 6:
            out[i] = jit_math.softplus(v)
        else:
            out[i] = jit_math.log1p_unit(v)


def compiled(name, x):
    out = np.empty_like(x)
    apply(NAMES.index(name), x, out)
    return out


def reference(name, x):
    """NumPy's value in float64."""
    x = x.astype(np.float64)
    with np.errstate(all="ignore"):
        if name == "sigmoid":
            e = np.exp(-np.abs(x))
            return np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        if name == "softplus":
            return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))
        if name == "log1p_unit":
            return np.log1p(x)
        return getattr(np, name)(x)


def grid(name, dtype, rng):
    """Arguments over the whole useful range of each function."""
    big = 700.0 if dtype == np.float64 else 85.0
    n = 20000
    tiny = rng.uniform(-1, 1, n) * 10.0 ** rng.uniform(-30, 0, n)
    if name == "exp":
        x = np.concatenate([rng.uniform(-big, big, n), tiny, rng.uniform(-2, 2, n)])
    elif name == "expm1":
        x = np.concatenate([rng.uniform(-60, big, n), tiny, rng.uniform(-2, 2, n)])
    elif name == "log":
        low, high = (-300, 300) if dtype == np.float64 else (-37, 37)
        x = np.concatenate([10.0 ** rng.uniform(low, high, n), rng.uniform(0.5, 2, n)])
    elif name == "log1p_unit":  # its domain: [0, 1]
        x = np.concatenate([rng.uniform(0, 1, n), np.abs(tiny), np.linspace(0.40, 0.52, n)])
    elif name == "log1p":
        x = np.concatenate(
            [
                rng.uniform(0, 1, n),
                np.abs(tiny),
                tiny * 0.99,
                10.0 ** rng.uniform(0, 30, n),
                rng.uniform(-0.999, 0, n),
            ]
        )
    else:
        x = np.concatenate([rng.uniform(-40, 40, n), tiny, rng.uniform(-3, 3, n)])
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_accuracy_in_ulp(name, dtype, rng):
    x = grid(name, dtype, rng)
    got = compiled(name, x)
    assert got.dtype == np.dtype(dtype)
    want = reference(name, x)
    # results below the smallest normal number are flushed to zero: judged absolutely
    normal = np.abs(want) >= np.finfo(dtype).tiny * 4
    error = np.abs(got.astype(np.float64) - want)
    relative = error[normal] / np.abs(want[normal])
    assert relative.max() <= MAX_EPS * np.finfo(dtype).eps, (
        f"{name} {np.dtype(dtype).name}: {relative.max() / np.finfo(dtype).eps:.2f} eps at "
        f"x = {x[normal][np.argmax(relative)]!r}"
    )
    assert (error[~normal] <= np.finfo(dtype).tiny * 4).all()


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_special_values(name, dtype):
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e4, -1e4, 1e-30, -1e-30], dtype)
    if name == "log1p_unit":  # defined on [0, 1]
        x = np.array([np.nan, 0.0, 1.0, 1e-30, 0.5, np.float32(0.41421357)], dtype)
    got = compiled(name, x)
    want = reference(name, x)
    if name == "exp":
        want[np.abs(want) < np.finfo(dtype).tiny] = 0  # flushed below the normal range
    if name == "expm1":
        # accurate up to x = 709 (float32: 88); larger x is clamped there: finite, no overflow
        assert np.isfinite(got[[1, 5]]).all() and (got[[1, 5]] > 1e38).all()
        keep = [0, 2, 3, 4, 6, 7, 8]
        got, want = got[keep], want[keep]
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=4 * np.finfo(dtype).eps, atol=0)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["tanh", "sigmoid", "softplus", "exp"])
def test_finite_for_inputs_up_to_1e4(name, dtype, rng):
    x = rng.uniform(-1e4, 1e4, 5000).astype(dtype)
    got = compiled(name, x)
    if name in ("softplus", "exp"):
        x = x[x < 80]  # exp and softplus grow without bound: check where they are finite
        got = compiled(name, x)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(
        got, reference(name, x), rtol=4 * np.finfo(dtype).eps, atol=np.finfo(dtype).tiny * 4
    )


@pytest.mark.parametrize("name", NAMES)
def test_generic_names_from_python(name):
    """The generic names also work from Python, picking the version by dtype."""
    for dtype in DTYPES:
        x = dtype(0.75)
        got = getattr(jit_math, name)(x)
        assert np.asarray(got).dtype == np.dtype(dtype)
        np.testing.assert_allclose(
            got, reference(name, np.array([x]))[0], rtol=4 * np.finfo(dtype).eps
        )
