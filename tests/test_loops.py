"""What only the explicit-loops variant needs: its own argument check, and a property test
on any values (the variant is small enough for hypothesis to try many). The
function-by-function comparison with the reference is in ``test_variants.py``."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kernels import loops, vectorized
from kernels.contract import HIDDEN_ACTIVATIONS

from conftest import AWKWARD_SIZES, DTYPES, tolerance

# Python loops are slow: the small end of the shared awkward sizes only.
SMALL = tuple(s for s in AWKWARD_SIZES if s <= 31)
ELEMENTWISE = tuple(
    f"{name}{suffix}" for name in HIDDEN_ACTIVATIONS for suffix in ("", "_derivative")
) + ("softmax",)


def assert_matches(actual, expected, dtype):
    """Same dtype as the input, same values as the reference within ``tolerance(dtype)``."""
    assert np.asarray(actual).dtype == np.dtype(dtype)
    assert np.asarray(expected).dtype == np.dtype(dtype)
    assert np.shape(actual) == np.shape(expected)
    np.testing.assert_allclose(actual, expected, **tolerance(dtype))


def test_arrays_must_be_two_dimensional():
    with pytest.raises(ValueError, match="Z must be a 2-D array"):
        loops.sigmoid(np.zeros(3))


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
