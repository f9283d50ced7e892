"""Hand-written matrix products for the JIT variant (the LOOPS and TILES paths of ``jit_products``).

    loops_nn(A, B, C)          C[:, :] = A @ B      A (M, K), B (K, N), C (M, N)
    loops_nt(A, B, C)          C[:, :] = A @ B.T    A (M, K), B (N, K)
    loops_tn(A, B, C)          C[:, :] = A.T @ B    A (K, M), B (K, N)
    tiled_nn(A, B, C, work), tiled_nt(A, B, C), tiled_tn(A, B, C, work)
                               the same with register tiles, serial
    work_size(M, N, K)         elements of ``work`` that tiled_nn / tiled_tn need
    hand_nn, hand_nt, hand_tn  (A, B, C): the tiled products with their column strips shared among
                               Numba's threads above PARALLEL_MIN_MADDS (benchmarks, tests)

The plain loops (row updates for nn and tn, one contiguous dot product per element for nt) are the
fast path for small and degenerate products and compile in a fraction of a second; the tiled
kernels are faster on skinny products with a long side but take seconds to compile, so
``jit_products`` compiles them only for a run that has such a product.

All arguments are C-contiguous 2-D arrays of one dtype (float32 or float64); every element of C is
written. The functions are ``@njit(cache=True)`` and callable from other compiled code. ``loops_*``
and ``tiled_*`` allocate nothing and never open a parallel region: they are what the training run
calls, and whether a product takes them or OpenBLAS is decided by measurement in ``jit_products``.

The kernel is the "dot form": a 6x4 register tile of C whose 24 outputs are each a sum over a
contiguous k range with both operands k-contiguous; LLVM turns the 24 scalar sums into vector
accumulators. (Numba runs LLVM's loop vectoriser but not its SLP vectoriser: a broadcast-form tile
with its accumulators in registers, the OpenBLAS way, cannot be written with plain loops.) nt uses A
and B as they are. nn copies each strip of NB columns of B, transposed, one k-block of KC at a time,
into the caller's work buffer, used by every row of A (rows of the buffer are padded: at a
power-of-two distance they share L1 sets and the copy ran 3x slower). nn with fewer than FEW_ROWS
rows instead updates rows of C along contiguous rows of B, four rows and four terms at a time (no
copy to amortise). tn transposes A once and runs nn. Fewer than SMALL_K terms: plain loops along rows
of C. Work is cut into column strips of C, each computed by one thread in a fixed order, so the
parallel hand_* give the results of tiled_* bit for bit. Measured figures: docs/performance.md.
"""

import numpy as np
from numba import njit, prange

#: reassociation and contraction for vectorised sums, but NaN/inf keep their meaning.
FASTMATH = {"contract", "reassoc", "arcp", "nsz", "afn"}

MR = 6  # rows of the register tile
NR = 4  # columns of the register tile
KC = 512  # k-block: long enough to amortise the 24 horizontal sums that end each tile
NB = 32  # columns of C per strip (a multiple of NR); the packed strip is NB x KC
SMALL_K = 8  # below this many terms per output, plain loops beat the tiled kernel
FEW_ROWS = 128  # nn with fewer rows of A than this updates rows of C instead of packing B
KC_ROWS = 256  # k-block of those row updates
COLUMNS_FEW_ROWS = 512  # columns of C per strip in those row updates
#: hand_* products of at least this many multiply-adds (about 0.2 ms of work on one core) run their
#: strips in a parallel region (its start-up is milliseconds when other processes hold the cores)
PARALLEL_MIN_MADDS = 1 << 24

# Rows of the packed strip are KC + 16 elements apart: at a power-of-two distance every row would
# fall in the same few L1 sets and the transposed writes would evict each other (measured 3x slower).
_STRIP_STRIDE = KC + 16
#: elements of the packed strip of B that an nn product needs in its work buffer
STRIP_BUFFER = NB * _STRIP_STRIDE


# --- register tiles: C[ic.., jc..] (+)= A[ia.., ka:ka+kc] . B[jb.., kb:kb+kc] ----------------------


@njit(cache=True, fastmath=FASTMATH, inline="always")
def _put(C, i, j, value, accumulate):
    if accumulate:
        C[i, j] += value
    else:
        C[i, j] = value


@njit(cache=True, fastmath=FASTMATH)
def _tile_6x4(A, ia, ka, B, jb, kb, kc, C, ic, jc, accumulate):
    a0 = A[ia, ka : ka + kc]
    a1 = A[ia + 1, ka : ka + kc]
    a2 = A[ia + 2, ka : ka + kc]
    a3 = A[ia + 3, ka : ka + kc]
    a4 = A[ia + 4, ka : ka + kc]
    a5 = A[ia + 5, ka : ka + kc]
    b0 = B[jb, kb : kb + kc]
    b1 = B[jb + 1, kb : kb + kc]
    b2 = B[jb + 2, kb : kb + kc]
    b3 = B[jb + 3, kb : kb + kc]
    z = C.dtype.type(0)
    s00 = z
    s01 = z
    s02 = z
    s03 = z
    s10 = z
    s11 = z
    s12 = z
    s13 = z
    s20 = z
    s21 = z
    s22 = z
    s23 = z
    s30 = z
    s31 = z
    s32 = z
    s33 = z
    s40 = z
    s41 = z
    s42 = z
    s43 = z
    s50 = z
    s51 = z
    s52 = z
    s53 = z
    for k in range(kc):
        y0 = b0[k]
        y1 = b1[k]
        y2 = b2[k]
        y3 = b3[k]
        x = a0[k]
        s00 += x * y0
        s01 += x * y1
        s02 += x * y2
        s03 += x * y3
        x = a1[k]
        s10 += x * y0
        s11 += x * y1
        s12 += x * y2
        s13 += x * y3
        x = a2[k]
        s20 += x * y0
        s21 += x * y1
        s22 += x * y2
        s23 += x * y3
        x = a3[k]
        s30 += x * y0
        s31 += x * y1
        s32 += x * y2
        s33 += x * y3
        x = a4[k]
        s40 += x * y0
        s41 += x * y1
        s42 += x * y2
        s43 += x * y3
        x = a5[k]
        s50 += x * y0
        s51 += x * y1
        s52 += x * y2
        s53 += x * y3
    _put(C, ic, jc, s00, accumulate)
    _put(C, ic, jc + 1, s01, accumulate)
    _put(C, ic, jc + 2, s02, accumulate)
    _put(C, ic, jc + 3, s03, accumulate)
    _put(C, ic + 1, jc, s10, accumulate)
    _put(C, ic + 1, jc + 1, s11, accumulate)
    _put(C, ic + 1, jc + 2, s12, accumulate)
    _put(C, ic + 1, jc + 3, s13, accumulate)
    _put(C, ic + 2, jc, s20, accumulate)
    _put(C, ic + 2, jc + 1, s21, accumulate)
    _put(C, ic + 2, jc + 2, s22, accumulate)
    _put(C, ic + 2, jc + 3, s23, accumulate)
    _put(C, ic + 3, jc, s30, accumulate)
    _put(C, ic + 3, jc + 1, s31, accumulate)
    _put(C, ic + 3, jc + 2, s32, accumulate)
    _put(C, ic + 3, jc + 3, s33, accumulate)
    _put(C, ic + 4, jc, s40, accumulate)
    _put(C, ic + 4, jc + 1, s41, accumulate)
    _put(C, ic + 4, jc + 2, s42, accumulate)
    _put(C, ic + 4, jc + 3, s43, accumulate)
    _put(C, ic + 5, jc, s50, accumulate)
    _put(C, ic + 5, jc + 1, s51, accumulate)
    _put(C, ic + 5, jc + 2, s52, accumulate)
    _put(C, ic + 5, jc + 3, s53, accumulate)


@njit(cache=True, fastmath=FASTMATH)
def _tile_1x4(A, ia, ka, B, jb, kb, kc, C, ic, jc, accumulate):
    a0 = A[ia, ka : ka + kc]
    b0 = B[jb, kb : kb + kc]
    b1 = B[jb + 1, kb : kb + kc]
    b2 = B[jb + 2, kb : kb + kc]
    b3 = B[jb + 3, kb : kb + kc]
    z = C.dtype.type(0)
    s0 = z
    s1 = z
    s2 = z
    s3 = z
    for k in range(kc):
        x = a0[k]
        s0 += x * b0[k]
        s1 += x * b1[k]
        s2 += x * b2[k]
        s3 += x * b3[k]
    _put(C, ic, jc, s0, accumulate)
    _put(C, ic, jc + 1, s1, accumulate)
    _put(C, ic, jc + 2, s2, accumulate)
    _put(C, ic, jc + 3, s3, accumulate)


@njit(cache=True, fastmath=FASTMATH)
def _tile_6x1(A, ia, ka, B, jb, kb, kc, C, ic, jc, accumulate):
    a0 = A[ia, ka : ka + kc]
    a1 = A[ia + 1, ka : ka + kc]
    a2 = A[ia + 2, ka : ka + kc]
    a3 = A[ia + 3, ka : ka + kc]
    a4 = A[ia + 4, ka : ka + kc]
    a5 = A[ia + 5, ka : ka + kc]
    b0 = B[jb, kb : kb + kc]
    z = C.dtype.type(0)
    s0 = z
    s1 = z
    s2 = z
    s3 = z
    s4 = z
    s5 = z
    for k in range(kc):
        y = b0[k]
        s0 += a0[k] * y
        s1 += a1[k] * y
        s2 += a2[k] * y
        s3 += a3[k] * y
        s4 += a4[k] * y
        s5 += a5[k] * y
    _put(C, ic, jc, s0, accumulate)
    _put(C, ic + 1, jc, s1, accumulate)
    _put(C, ic + 2, jc, s2, accumulate)
    _put(C, ic + 3, jc, s3, accumulate)
    _put(C, ic + 4, jc, s4, accumulate)
    _put(C, ic + 5, jc, s5, accumulate)


@njit(cache=True, fastmath=FASTMATH)
def _tile_1x1(A, ia, ka, B, jb, kb, kc, C, ic, jc, accumulate):
    a0 = A[ia, ka : ka + kc]
    b0 = B[jb, kb : kb + kc]
    s = C.dtype.type(0)
    for k in range(kc):
        s += a0[k] * b0[k]
    _put(C, ic, jc, s, accumulate)


@njit(cache=True, fastmath=FASTMATH)
def _dot_rows(A, ia, ka, B, jb, kb, kc, C, ic, jc, mr, nc, accumulate):
    """Rows ic..ic+mr (mr <= MR) of the block C[:, jc:jc+nc] over one k-block."""
    n4 = nc - nc % NR
    if mr == MR:
        for j in range(0, n4, NR):
            _tile_6x4(A, ia, ka, B, jb + j, kb, kc, C, ic, jc + j, accumulate)
        for j in range(n4, nc):
            _tile_6x1(A, ia, ka, B, jb + j, kb, kc, C, ic, jc + j, accumulate)
    else:
        for r in range(mr):
            for j in range(0, n4, NR):
                _tile_1x4(A, ia + r, ka, B, jb + j, kb, kc, C, ic + r, jc + j, accumulate)
            for j in range(n4, nc):
                _tile_1x1(A, ia + r, ka, B, jb + j, kb, kc, C, ic + r, jc + j, accumulate)


# --- column strips: C[:, j0:j0+nb] for every row, all k-blocks ------------------------------------


@njit(cache=True, fastmath=FASTMATH)
def _strip_nt(A, B, C, j0, nb):
    M, K = A.shape
    for k0 in range(0, K, KC):
        kc = min(KC, K - k0)
        for i in range(0, M, MR):
            _dot_rows(A, i, k0, B, j0, k0, kc, C, i, j0, min(MR, M - i), nb, k0 > 0)


@njit(cache=True, fastmath=FASTMATH, inline="always")
def _pack_transposed(S, k0, kc, j0, nb, P):
    """P[:nb, :kc] = S[k0:k0+kc, j0:j0+nb].T"""
    for k in range(kc):
        s = S[k0 + k, j0 : j0 + nb]
        for j in range(nb):
            P[j, k] = s[j]


@njit(cache=True, fastmath=FASTMATH)
def _strip_nn(A, B, C, j0, nb, strip):
    """``strip``: 1-D, at least STRIP_BUFFER elements, for the packed strip of B."""
    M, K = A.shape
    Bt = strip[:STRIP_BUFFER].reshape((NB, _STRIP_STRIDE))
    for k0 in range(0, K, KC):
        kc = min(KC, K - k0)
        _pack_transposed(B, k0, kc, j0, nb, Bt)
        for i in range(0, M, MR):
            _dot_rows(A, i, k0, Bt, 0, 0, kc, C, i, j0, min(MR, M - i), nb, k0 > 0)


# --- few rows (nn): row updates along contiguous rows of B and C, nothing packed ----------------


@njit(cache=True, fastmath=FASTMATH, inline="always")
def _rows4_terms4(A, i, k, B, C, j0, j1):
    """C[i:i+4, j0:j1] += A[i:i+4, k:k+4] @ B[k:k+4, j0:j1]"""
    c0 = C[i, j0:j1]
    c1 = C[i + 1, j0:j1]
    c2 = C[i + 2, j0:j1]
    c3 = C[i + 3, j0:j1]
    b0 = B[k, j0:j1]
    b1 = B[k + 1, j0:j1]
    b2 = B[k + 2, j0:j1]
    b3 = B[k + 3, j0:j1]
    x00 = A[i, k]
    x01 = A[i, k + 1]
    x02 = A[i, k + 2]
    x03 = A[i, k + 3]
    x10 = A[i + 1, k]
    x11 = A[i + 1, k + 1]
    x12 = A[i + 1, k + 2]
    x13 = A[i + 1, k + 3]
    x20 = A[i + 2, k]
    x21 = A[i + 2, k + 1]
    x22 = A[i + 2, k + 2]
    x23 = A[i + 2, k + 3]
    x30 = A[i + 3, k]
    x31 = A[i + 3, k + 1]
    x32 = A[i + 3, k + 2]
    x33 = A[i + 3, k + 3]
    for j in range(j1 - j0):
        y0 = b0[j]
        y1 = b1[j]
        y2 = b2[j]
        y3 = b3[j]
        c0[j] += x00 * y0 + x01 * y1 + x02 * y2 + x03 * y3
        c1[j] += x10 * y0 + x11 * y1 + x12 * y2 + x13 * y3
        c2[j] += x20 * y0 + x21 * y1 + x22 * y2 + x23 * y3
        c3[j] += x30 * y0 + x31 * y1 + x32 * y2 + x33 * y3


@njit(cache=True, fastmath=FASTMATH, inline="always")
def _row_terms4(A, i, k, B, C, j0, j1):
    """C[i, j0:j1] += A[i, k:k+4] @ B[k:k+4, j0:j1]"""
    c = C[i, j0:j1]
    b0 = B[k, j0:j1]
    b1 = B[k + 1, j0:j1]
    b2 = B[k + 2, j0:j1]
    b3 = B[k + 3, j0:j1]
    x0 = A[i, k]
    x1 = A[i, k + 1]
    x2 = A[i, k + 2]
    x3 = A[i, k + 3]
    for j in range(j1 - j0):
        c[j] += x0 * b0[j] + x1 * b1[j] + x2 * b2[j] + x3 * b3[j]


@njit(cache=True, fastmath=FASTMATH, inline="always")
def _row_term(A, i, k, B, C, j0, j1):
    """C[i, j0:j1] += A[i, k] * B[k, j0:j1]"""
    c = C[i, j0:j1]
    b = B[k, j0:j1]
    x = A[i, k]
    for j in range(j1 - j0):
        c[j] += x * b[j]


@njit(cache=True, fastmath=FASTMATH)
def _columns_few_rows_nn(A, B, C, j0, j1):
    """C[:, j0:j1] = A @ B[:, j0:j1]: k-blocks of B stay in cache while every row of C is updated."""
    M, K = A.shape
    m4 = M - M % 4
    for i in range(M):
        c = C[i, j0:j1]
        for j in range(j1 - j0):
            c[j] = 0
    for k0 in range(0, K, KC_ROWS):
        k1 = min(K, k0 + KC_ROWS)
        k4 = k1 - (k1 - k0) % 4
        for i in range(0, m4, 4):
            for k in range(k0, k4, 4):
                _rows4_terms4(A, i, k, B, C, j0, j1)
            for k in range(k4, k1):
                for r in range(4):
                    _row_term(A, i + r, k, B, C, j0, j1)
        for i in range(m4, M):
            for k in range(k0, k4, 4):
                _row_terms4(A, i, k, B, C, j0, j1)
            for k in range(k4, k1):
                _row_term(A, i, k, B, C, j0, j1)


# --- few terms per output: plain loops along rows of C -----------------------------------------
# These and the LOOPS path's functions are inlined by Numba (inline="always"): typed and optimised
# once, inside `product`. As functions of their own, each was compiled alone, then again in each
# module that linked it (product -> loops_nn -> _small_k_nn): 0.8 s of a first compilation.
# Inlined code compiles with its caller's flags, so every caller carries FASTMATH.


@njit(cache=True, fastmath=FASTMATH, inline="always")
def _small_k_nn(A, B, C):
    """C = A @ B, row by row: each pass over a row of C adds two terms (an odd K's first term
    alone): half the loads and stores of C of a pass per term (docs/performance.md)."""
    M, K = A.shape
    for i in range(M):
        c = C[i]
        a = A[i]
        if K % 2:
            b, x = B[0], a[0]
            for j in range(c.size):
                c[j] = x * b[j]
        else:
            b, d, x, y = B[0], B[1], a[0], a[1]
            for j in range(c.size):
                c[j] = x * b[j] + y * d[j]
        for k in range(2 - K % 2, K, 2):
            b, d, x, y = B[k], B[k + 1], a[k], a[k + 1]
            for j in range(c.size):
                c[j] += x * b[j] + y * d[j]


@njit(cache=True, fastmath=FASTMATH, inline="always")
def _small_k_tn(A, B, C):
    """C = A.T @ B, row by row, two terms a pass, as ``_small_k_nn``."""
    K, M = A.shape
    for i in range(M):
        c = C[i]
        if K % 2:
            b, x = B[0], A[0, i]
            for j in range(c.size):
                c[j] = x * b[j]
        else:
            b, d, x, y = B[0], B[1], A[0, i], A[1, i]
            for j in range(c.size):
                c[j] = x * b[j] + y * d[j]
        for k in range(2 - K % 2, K, 2):
            b, d, x, y = B[k], B[k + 1], A[k, i], A[k + 1, i]
            for j in range(c.size):
                c[j] += x * b[j] + y * d[j]


@njit(cache=True, fastmath=FASTMATH, inline="always")
def _small_k_nt(A, B, C):
    M, K = A.shape
    N = B.shape[0]
    for i in range(M):
        a = A[i]
        for j in range(N):
            b = B[j]
            s = a[0] * b[0]
            for k in range(1, K):
                s += a[k] * b[k]
            C[i, j] = s


@njit(cache=True, inline="always")
def _transpose(A, At):
    """At[:, :] = A.T, in blocks of 32 rows of A so that reads and writes both stay in cache."""
    K, M = A.shape
    for k0 in range(0, K, 32):
        k1 = min(K, k0 + 32)
        for i in range(M):
            t = At[i]
            for k in range(k0, k1):
                t[k] = A[k, i]


# --- drivers: strips of columns, one owner per strip -------------------------------------------
# Kept shallow on purpose: Numba re-optimises every callee inside each caller's module, so each
# extra layer of calls costs compile time (cold compile: see the figures above).


@njit(cache=True)
def _nt_strips(A, B, C):
    N = C.shape[1]
    for j0 in range(0, N, NB):
        _strip_nt(A, B, C, j0, min(NB, N - j0))


@njit(cache=True, parallel=True)
def _nt_strips_parallel(A, B, C):
    N = C.shape[1]
    for s in prange((N + NB - 1) // NB):
        _strip_nt(A, B, C, s * NB, min(NB, N - s * NB))


@njit(cache=True)
def _nn_strips(A, B, C, strip):
    N = C.shape[1]
    for j0 in range(0, N, NB):
        _strip_nn(A, B, C, j0, min(NB, N - j0), strip)


@njit(cache=True, parallel=True)
def _nn_strips_parallel(A, B, C):
    N = C.shape[1]
    for s in prange((N + NB - 1) // NB):
        _strip_nn(A, B, C, s * NB, min(NB, N - s * NB), np.empty(STRIP_BUFFER, C.dtype))


@njit(cache=True)
def _nn_few_rows(A, B, C):
    N = C.shape[1]
    for j0 in range(0, N, COLUMNS_FEW_ROWS):
        _columns_few_rows_nn(A, B, C, j0, min(N, j0 + COLUMNS_FEW_ROWS))


@njit(cache=True, parallel=True)
def _nn_few_rows_parallel(A, B, C):
    N = C.shape[1]
    for s in prange((N + COLUMNS_FEW_ROWS - 1) // COLUMNS_FEW_ROWS):
        j0 = s * COLUMNS_FEW_ROWS
        _columns_few_rows_nn(A, B, C, j0, min(N, j0 + COLUMNS_FEW_ROWS))


@njit(cache=True, inline="always")
def _parallel(C, K, width):
    """Whether the product pays for a parallel region and has at least two strips to share."""
    return C.shape[0] * C.shape[1] * K >= PARALLEL_MIN_MADDS and C.shape[1] > width


@njit(cache=True, inline="always")
def _zero(C):
    for i in range(C.shape[0]):
        c = C[i]
        for j in range(c.size):
            c[j] = 0


# --- the plain loops (the LOOPS path): any shape, quick to compile ------------------------------


@njit(cache=True, fastmath=FASTMATH, inline="always")
def loops_nn(A, B, C):
    """C[:, :] = A @ B by row updates along contiguous rows of B and C."""
    K = A.shape[1]
    if C.size == 0:
        return
    if K == 0:
        _zero(C)
    else:
        _small_k_nn(A, B, C)


@njit(cache=True, fastmath=FASTMATH, inline="always")
def loops_nt(A, B, C):
    """C[:, :] = A @ B.T, one contiguous dot product per element."""
    if C.size == 0:
        return
    if A.shape[1] == 0:
        _zero(C)
    else:
        _small_k_nt(A, B, C)


@njit(cache=True, fastmath=FASTMATH, inline="always")
def loops_tn(A, B, C):
    """C[:, :] = A.T @ B by row updates along contiguous rows of B and C."""
    if C.size == 0:
        return
    if A.shape[0] == 0:
        _zero(C)
    else:
        _small_k_tn(A, B, C)


# --- the tiled kernels (the TILES path), serial ------------------------------------------------


@njit(cache=True)
def work_size(M, N, K):
    """Elements of ``work`` that ``tiled_nn`` / ``tiled_tn`` need for C (M, N) over K terms:
    the packed strip of B, and A.T for tn."""
    return M * K + STRIP_BUFFER


@njit(cache=True, fastmath=FASTMATH)  # _small_k_* compile with these
def tiled_nn(A, B, C, work):
    """C[:, :] = A @ B on one thread; ``work``: 1-D, at least ``work_size(M, N, K)``."""
    M, K = A.shape
    if C.size == 0:
        return
    if K == 0:
        _zero(C)
    elif K < SMALL_K:
        _small_k_nn(A, B, C)
    elif M < FEW_ROWS:
        _nn_few_rows(A, B, C)
    else:
        _nn_strips(A, B, C, work)


@njit(cache=True, fastmath=FASTMATH)  # _small_k_* compile with these
def tiled_nt(A, B, C):
    """C[:, :] = A @ B.T on one thread."""
    K = A.shape[1]
    if C.size == 0:
        return
    if K == 0:
        _zero(C)
    elif K < SMALL_K:
        _small_k_nt(A, B, C)
    else:
        _nt_strips(A, B, C)


@njit(cache=True, fastmath=FASTMATH)  # _small_k_* compile with these
def tiled_tn(A, B, C, work):
    """C[:, :] = A.T @ B on one thread (A.T is written to ``work`` first, then nn);
    ``work``: 1-D, at least ``work_size(M, N, K)``."""
    K, M = A.shape
    if C.size == 0:
        return
    if K == 0:
        _zero(C)
    elif K < SMALL_K:
        _small_k_tn(A, B, C)
    else:
        At = work[: M * K].reshape((M, K))
        _transpose(A, At)
        tiled_nn(At, B, C, work[M * K :])


# --- the hand kernels with their strips shared among threads (benchmarks, tests) ---------------


@njit(cache=True)
def hand_nn(A, B, C):
    """C[:, :] = A @ B with the hand kernels only, strips in parallel above PARALLEL_MIN_MADDS."""
    M, K = A.shape
    if K >= SMALL_K and M < FEW_ROWS and _parallel(C, K, COLUMNS_FEW_ROWS):
        _nn_few_rows_parallel(A, B, C)
    elif K >= SMALL_K and M >= FEW_ROWS and _parallel(C, K, NB):
        _nn_strips_parallel(A, B, C)
    else:
        tiled_nn(A, B, C, np.empty(STRIP_BUFFER, C.dtype))


@njit(cache=True)
def hand_nt(A, B, C):
    """C[:, :] = A @ B.T with the hand kernels only, strips in parallel above PARALLEL_MIN_MADDS."""
    K = A.shape[1]
    if K >= SMALL_K and _parallel(C, K, NB):
        _nt_strips_parallel(A, B, C)
    else:
        tiled_nt(A, B, C)


@njit(cache=True)
def hand_tn(A, B, C):
    """C[:, :] = A.T @ B with the hand kernels only (allocates A.T), strips as in ``hand_nn``."""
    K, M = A.shape
    if K < SMALL_K or C.size == 0:
        tiled_tn(A, B, C, np.empty(0, C.dtype))
    else:
        At = np.empty((M, K), C.dtype)
        _transpose(A, At)
        hand_nn(At, B, C)
