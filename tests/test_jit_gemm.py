"""The hand-written Numba products against NumPy on awkward shapes, both dtypes."""

import itertools

import numpy as np
import pytest

from kernels import jit_gemm
from conftest import AWKWARD_SIZES, DTYPES, tolerance

FORMS = {
    "nn": (jit_gemm.gemm_nn, lambda M, N, K: ((M, K), (K, N)), lambda A, B: A @ B),
    "nt": (jit_gemm.gemm_nt, lambda M, N, K: ((M, K), (N, K)), lambda A, B: A @ B.T),
    "tn": (jit_gemm.gemm_tn, lambda M, N, K: ((K, M), (K, N)), lambda A, B: A.T @ B),
}


def check(form, M, N, K, dtype, rng):
    kernel, shapes, reference = FORMS[form]
    a_shape, b_shape = shapes(M, N, K)
    A = rng.standard_normal(a_shape).astype(dtype)
    B = rng.standard_normal(b_shape).astype(dtype)
    C = np.full((M, N), np.nan, dtype=dtype)  # poisoned: every element must be written
    kernel(A, B, C)
    expected = reference(A.astype(np.float64), B.astype(np.float64))
    scale = np.sqrt(K)  # sums of K unit-variance products
    tol = tolerance(dtype)
    np.testing.assert_allclose(C, expected, rtol=tol["rtol"], atol=tol["atol"] * scale * 10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("form", sorted(FORMS))
def test_awkward_shapes(form, dtype, rng):
    for M, N, K in itertools.product(AWKWARD_SIZES, repeat=3):
        check(form, M, N, K, dtype, rng)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("shape", [(257, 131, 509), (20, 209, 1531)])
def test_larger_shapes(form, shape, dtype, rng):
    check(form, *shape, dtype, rng)


def test_matmul_allocates_and_matches(rng):
    A = rng.standard_normal((13, 7))
    B = rng.standard_normal((7, 31))
    np.testing.assert_allclose(jit_gemm.matmul(A, B), A @ B, **tolerance(np.float64))


def test_matmul_rejects_mismatched_inner_size():
    with pytest.raises(ValueError, match="A.shape"):
        jit_gemm.matmul(np.ones((2, 3)), np.ones((4, 2)))
