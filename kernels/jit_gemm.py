"""Hand-written Numba matrix products for the JIT variant (first, simple version).

    gemm_nn(A, B, C)   C[:, :] = A @ B      A (M, K), B (K, N), C (M, N)
    gemm_nt(A, B, C)   C[:, :] = A @ B.T    A (M, K), B (N, K)
    gemm_tn(A, B, C)   C[:, :] = A.T @ B    A (K, M), B (K, N)

All arguments are C-contiguous 2-D arrays of one dtype (float32 or float64); every element of C is
written. The functions are ``@njit(cache=True)`` and callable from other compiled code.
"""

import numpy as np
from numba import njit

#: reassociation and contraction for vectorised reductions, but NaN/inf keep their meaning.
FASTMATH = {"contract", "reassoc", "arcp", "nsz", "afn"}


@njit(cache=True, fastmath=FASTMATH)
def gemm_nn(A, B, C):
    M, K = A.shape
    N = B.shape[1]
    zero = C.dtype.type(0)
    for i in range(M):
        c = C[i]
        for j in range(N):
            c[j] = zero
        a = A[i]
        for k in range(K):
            aik = a[k]
            b = B[k]
            for j in range(N):
                c[j] += aik * b[j]


@njit(cache=True, fastmath=FASTMATH)
def gemm_nt(A, B, C):
    M, K = A.shape
    N = B.shape[0]
    for i in range(M):
        a = A[i]
        for j in range(N):
            b = B[j]
            s = C.dtype.type(0)
            for k in range(K):
                s += a[k] * b[k]
            C[i, j] = s


@njit(cache=True, fastmath=FASTMATH)
def gemm_tn(A, B, C):
    K, M = A.shape
    N = B.shape[1]
    zero = C.dtype.type(0)
    for i in range(M):
        c = C[i]
        for j in range(N):
            c[j] = zero
    for k in range(K):
        a = A[k]
        b = B[k]
        for i in range(M):
            aki = a[i]
            c = C[i]
            for j in range(N):
                c[j] += aki * b[j]


def matmul(A, B):
    """``A @ B`` for C-contiguous 2-D float32/float64 arrays of one dtype, through ``gemm_nn``."""
    A = np.ascontiguousarray(A)
    B = np.ascontiguousarray(B)
    if A.ndim != 2 or B.ndim != 2:
        raise ValueError(f"A and B must be 2-D, got A.ndim={A.ndim}, B.ndim={B.ndim}")
    if A.dtype != B.dtype or A.dtype not in (np.float32, np.float64):
        raise TypeError(f"A and B must share dtype float32 or float64, got {A.dtype} and {B.dtype}")
    if A.shape[1] != B.shape[0]:
        raise ValueError(f"A.shape[1] ({A.shape[1]}) must equal B.shape[0] ({B.shape[0]})")
    C = np.empty((A.shape[0], B.shape[1]), dtype=A.dtype)
    gemm_nn(A, B, C)
    return C
