"""Every path a product of the numba variant can take, against NumPy on awkward shapes, in both
dtypes: ``jit_products.product`` on each of BLAS, LOOPS and TILES for each form, and the parallel
``jit_gemm.hand_*``.

Every call writes into an output poisoned with NaN, so an element the kernel forgets shows up.
Shapes are chosen to reach every branch of kernels/jit_gemm.py: few terms (K < SMALL_K), serial and
parallel column strips, nn with few rows and with the packed strip, tn through A.T.
"""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import config, set_num_threads

from kernels import jit_gemm, jit_products

from conftest import AWKWARD_SIZES, DTYPES, tolerance

SHAPES = {
    "nn": lambda M, N, K: ((M, K), (K, N)),
    "nt": lambda M, N, K: ((M, K), (N, K)),
    "tn": lambda M, N, K: ((K, M), (K, N)),
}
REFERENCES = {"nn": lambda A, B: A @ B, "nt": lambda A, B: A @ B.T, "tn": lambda A, B: A.T @ B}


def through_product(path, form):
    """``kernel(A, B, C)``: jit_products.product on one path (a work buffer for TILES)."""
    path_code = jit_products.PATH_NAMES.index(path)
    form_code = jit_products.FORM_NAMES.index(form)

    def kernel(A, B, C):
        M, N = C.shape
        K = A.shape[0] if form == "tn" else A.shape[1]
        work = (
            np.full(jit_products.work_size(M, N, K), np.nan, C.dtype) if path == "tiles" else None
        )
        jit_products.product(form_code, path_code, A, B, C, work)

    return kernel


# "<path>_<form>": what a product of the training run may call; "hand_<form>": the tiled kernels
# with their strips shared among Numba's threads.
FORMS = {
    f"{path}_{form}": (through_product(path, form), SHAPES[form], REFERENCES[form])
    for path in jit_products.PATH_NAMES
    for form in SHAPES
}
FORMS.update(
    {
        f"hand_{form}": (getattr(jit_gemm, f"hand_{form}"), SHAPES[form], REFERENCES[form])
        for form in SHAPES
    }
)


def problem(form, M, N, K, dtype, rng):
    _, shapes, _ = FORMS[form]
    a_shape, b_shape = shapes(M, N, K)
    return rng.standard_normal(a_shape).astype(dtype), rng.standard_normal(b_shape).astype(dtype)


def assert_matches(form, A, B, C):
    """C against the float64 product of the same inputs. Sums of K unit-variance terms are of size
    sqrt(K), so the absolute part of the tolerance is taken relative to that."""
    _, _, reference = FORMS[form]
    expected = reference(A.astype(np.float64), B.astype(np.float64))
    assert C.dtype == A.dtype
    K = A.shape[0] if form.endswith("tn") else A.shape[1]
    tol = tolerance(C.dtype)
    np.testing.assert_allclose(C, expected, rtol=tol["rtol"], atol=tol["atol"] * np.sqrt(max(K, 1)))


def check(form, M, N, K, dtype, rng):
    kernel, _, _ = FORMS[form]
    A, B = problem(form, M, N, K, dtype, rng)
    C = np.full((M, N), np.nan, dtype=dtype)
    kernel(A, B, C)
    assert_matches(form, A, B, C)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_combination_of_awkward_sizes(form, dtype, rng):
    for M, N, K in itertools.product(AWKWARD_SIZES, repeat=3):
        check(form, M, N, K, dtype, rng)


LARGER_SHAPES = [
    (257, 131, 509),  # packed nn, parallel strips, two k-blocks
    (131, 67, 1031),  # k-blocks with a remainder, rows not a multiple of the tile
    (20, 209, 1531),  # nn with few rows (row updates); a skinny product with a long K
    (13, 1031, 1279),  # nn with few rows in parallel strips
    (1, 2053, 263),  # one row
    (263, 1, 2053),  # one column
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("shape", LARGER_SHAPES)
def test_larger_shapes_not_multiples_of_the_blocks(form, shape, dtype, rng):
    check(form, *shape, dtype, rng)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("form", sorted(FORMS))
def test_one_row_and_outer_products(form, dtype, rng):
    # degenerate shapes: one row, outer products (where the loops measured faster)
    for M, N, K in [(1, 401, 1), (1, 401, 7), (1, 401, 8), (131, 257, 1), (1, 1, 1)]:
        check(form, M, N, K, dtype, rng)


@settings(max_examples=60, deadline=None)
@given(
    form=st.sampled_from(sorted(FORMS)),
    dtype=st.sampled_from(DTYPES),
    M=st.integers(1, 70),
    N=st.integers(1, 70),
    K=st.integers(1, 600),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_shapes(form, dtype, M, N, K, seed):
    check(form, M, N, K, dtype, np.random.default_rng(seed))


@pytest.mark.parametrize("form", sorted(FORMS))
def test_empty_inner_dimension_gives_zeros(form):
    kernel, shapes, _ = FORMS[form]
    a_shape, b_shape = shapes(3, 5, 0)
    C = np.full((3, 5), np.nan)
    kernel(np.ones(a_shape), np.ones(b_shape), C)
    np.testing.assert_array_equal(C, np.zeros((3, 5)))


@pytest.mark.skipif(config.NUMBA_NUM_THREADS < 2, reason="needs two Numba threads")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("form", ["hand_nn", "hand_nt", "hand_tn"])
def test_one_and_two_threads_give_identical_results(form, dtype, rng):
    # Each column strip of C has one owner and a fixed order of sums: the thread count cannot
    # change a bit of the result.
    kernel, _, _ = FORMS[form]
    M, N, K = 131, 257, 509
    assert M * N * K >= jit_gemm.PARALLEL_MIN_MADDS
    A, B = problem(form, M, N, K, dtype, rng)
    results = []
    for threads in (1, 2):
        set_num_threads(threads)
        try:
            C = np.full((M, N), np.nan, dtype=dtype)
            kernel(A, B, C)
            results.append(C)
        finally:
            set_num_threads(config.NUMBA_NUM_THREADS)
    np.testing.assert_array_equal(results[0], results[1])


def test_products_are_callable_from_compiled_code(rng):
    from numba import njit

    @njit
    def layer_products(W, A_prev, dZ, Z, dW, dA_prev, work):
        jit_products.product(jit_products.NN, jit_products.LOOPS, W, A_prev, Z, work)
        jit_products.product(jit_products.NT, jit_products.BLAS, dZ, A_prev, dW, work)
        jit_products.product(jit_products.TN, jit_products.TILES, W, dZ, dA_prev, work)

    W = rng.standard_normal((7, 13))
    A_prev = rng.standard_normal((13, 31))
    dZ = rng.standard_normal((7, 31))
    Z, dW, dA_prev = np.empty((7, 31)), np.empty((7, 13)), np.empty((13, 31))
    layer_products(W, A_prev, dZ, Z, dW, dA_prev, np.empty(jit_products.work_size(13, 31, 7)))
    tol = tolerance(np.float64)
    np.testing.assert_allclose(Z, W @ A_prev, **tol)
    np.testing.assert_allclose(dW, dZ @ A_prev.T, **tol)
    np.testing.assert_allclose(dA_prev, W.T @ dZ, **tol)
