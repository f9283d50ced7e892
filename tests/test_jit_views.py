"""The run's views of its flat buffers (``jit_sweeps.matrix_view`` and ``vector_view``): the
same elements as NumPy's slices, sharing the buffer's memory, on awkward sizes in both dtypes.

They hold no reference to the buffer, so they never leave compiled code: each test copies what
it reads into an array of its own, or writes through the view into the buffer it passed.
"""

import numpy as np
import pytest
from numba import njit

from kernels.jit_sweeps import matrix_view, vector_view


@njit(cache=False)
def _vector_copy(flat, start, n):
    return vector_view(flat, start, n).copy()


@njit(cache=False)
def _matrix_copy(flat, start, rows, cols):
    return matrix_view(flat, start, rows, cols).copy()


@njit(cache=False)
def _fill_vector(flat, start, n, value):
    view = vector_view(flat, start, n)
    for i in range(view.size):
        view[i] = value


@njit(cache=False)
def _fill_matrix_column(flat, start, rows, cols, j, value):
    view = matrix_view(flat, start, rows, cols)
    for i in range(rows):
        view[i, j] = value


SIZES = [0, 1, 2, 7, 13, 64, 97]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", SIZES)
def test_vector_view_is_the_slice_clamped_as_numpy_clamps_it(dtype, size):
    flat = np.random.default_rng(size).standard_normal(size).astype(dtype)
    for start in sorted(s for s in {0, 1, size // 3, size - 1, size, size + 5} if s >= 0):
        for n in (0, 1, 3, size, size + 2):
            got = _vector_copy(flat, start, n)
            expected = flat[start : start + n]
            assert got.dtype == flat.dtype and got.shape == expected.shape, (start, n)
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("rows", "cols"), [(1, 1), (1, 13), (7, 1), (3, 5), (11, 2), (0, 4)])
def test_matrix_view_is_the_reshaped_slice(dtype, rows, cols):
    size = rows * cols + 17
    flat = np.random.default_rng(rows * 100 + cols).standard_normal(size).astype(dtype)
    for start in (0, 1, 17):
        got = _matrix_copy(flat, start, rows, cols)
        expected = flat[start : start + rows * cols].reshape(rows, cols)
        assert got.dtype == flat.dtype and got.shape == (rows, cols)
        np.testing.assert_array_equal(got, expected)


def test_writes_through_the_views_reach_the_buffer_and_only_their_part():
    flat = np.arange(30.0)
    _fill_vector(flat, 3, 4, -1.0)
    expected = np.arange(30.0)
    expected[3:7] = -1.0
    np.testing.assert_array_equal(flat, expected)
    _fill_matrix_column(flat, 10, 4, 5, 2, -2.0)  # the 4 x 5 block at 10, its third column
    expected[10 : 10 + 20].reshape(4, 5)[:, 2] = -2.0
    np.testing.assert_array_equal(flat, expected)
