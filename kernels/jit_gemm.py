"""Matrix products for the JIT variant: hand-written Numba kernels, and OpenBLAS where it is faster.

    gemm_nn(A, B, C)   C[:, :] = A @ B      A (M, K), B (K, N), C (M, N)
    gemm_nt(A, B, C)   C[:, :] = A @ B.T    A (M, K), B (N, K)
    gemm_tn(A, B, C)   C[:, :] = A.T @ B    A (K, M), B (K, N)
    matmul(A, B)       A @ B from Python (allocates C, calls gemm_nn)
    hand_nn, hand_nt, hand_tn (same arguments), hand_tn_work(A, B, C, work), work_size(M, N, K):
                       the hand kernels alone, whatever the shape (comparison, tests, callers that
                       own the threads)

All arguments are C-contiguous 2-D arrays of one dtype (float32 or float64); every element of C is
written. The functions are ``@njit(cache=True)`` and callable from other compiled code. ``gemm_*``
allocate nothing and never open a parallel region. ``hand_tn`` allocates A.T (M*K elements) when
K >= SMALL_K; ``hand_tn_work`` takes that buffer from the caller instead.

The hand kernels
----------------
The kernel is the "dot form": a 6x4 register tile of C whose 24 outputs are each a sum over a
contiguous k range with both operands k-contiguous; LLVM turns the 24 scalar sums into 24 zmm
accumulators, 10 vector loads per 24 FMAs. (Numba runs LLVM's loop vectoriser but not its SLP
vectoriser, NUMBA_SLP_VECTORIZE=0: a broadcast-form tile with its accumulators in registers, the
OpenBLAS way, cannot be written with plain loops; tried, 3-8 GFLOP/s.) nt uses A and B as they are.
nn copies each strip of NB columns of B, transposed, one k-block of KC at a time, into a buffer on the
stack, used by every row of A (rows of the buffer are padded: at a power-of-two distance they share
L1 sets and the copy ran 3x slower). nn with fewer than FEW_ROWS rows instead updates rows of C along
contiguous rows of B, four rows and four terms at a time (no copy to amortise). tn transposes A once
and runs nn. Fewer than SMALL_K terms: plain loops along rows of C. Work is cut into column strips of
C, each computed by one thread in a fixed order: 1 or 2 threads give bit-identical results.

Measurements (AMD EPYC Zen 4, 2 cores, AVX-512; OpenBLAS 0.3.30 of SciPy, SkylakeX kernel, for np.dot
inside compiled code, NumPy's 0.3.31 likewise; scripts/bench_gemm.py; GFLOP/s, best of repeats)
----------------------------------------------------------------------------------------------
OpenBLAS 4096^2 on an idle machine: 97.9 float32 / 52.2 float64 on one thread, 197 / 100 on two.
Most figures below were taken while other jobs kept the load at 5-12 on the 2 cores, hence the
lower absolute values; ratios are of runs interleaved in one process.

- Dot-form tile, first prototype, one thread, nearly idle machine (hand vs OpenBLAS): nt float32
  (24,12288,208) 75 vs 32, (24,208,12288) 85 vs 35, (264,128,784) 102 vs 89, 1008x1024x1024 94 vs
  94; float64 the same shapes 20 vs 28, 26 vs 29, 56 vs 49, 32 vs 52.
- This module's hand_* over NumPy's OpenBLAS, one thread each, load 1-2 (OpenBLAS 4096^2: 72 / 41
  in that run; on the workload shapes it reached 93-100 / 50-53): nn 0.62-0.78 float32, 0.76-0.98
  float64 on the workload and square shapes from 128 to 1024 (1024x8192x1024: 72 vs 93, 40 vs 52);
  nt 0.54-0.88 (the weight gradient of the wide layer (20,12288,209): 1.60 float32, 0.92 float64);
  tn 0.39-0.87 (it transposes A first). The aim of >= 0.75 of OpenBLAS on large products is met by
  nn (float64 all, float32 at 512^3 and 1024x8192x1024) and tn float64 1024x8192x1024, not by nt.
- Two threads (hand_* with prange, OpenBLAS with its two threads), one implementation at a time,
  load about 1: nn 0.42-0.98 of NumPy (1024x8192x1024: 149 vs 199 float32, 86 vs 105 float64),
  nt 0.40-1.73 (wide-layer weight gradient 117 vs 68-95 float32, 46 vs 44-50 float64), tn
  0.28-0.76 (1024x8192x1024: 150 vs 198, 77 vs 103).
- Small products, called in a compiled loop (np.dot costs about 0.1 us a call there): OpenBLAS's
  small-matrix kernels win from a few thousand multiply-adds: (7,209,20) nn 1.39 us hand vs 0.71,
  (20,209,7) tn 2.3 vs 0.7, 64^3 13 vs 4.6. The hand loops win only for K == 1 (outer products, tn
  (128,128,1) 0.89 vs 1.03 us, (1024,8192,1) 2.6-5x) and a single row with few terms ((1,400,4) nn
  1.2-1.7x).

- nt with few rows and long sums (the forward of a wide first layer with X stored transposed), one
  serial thread against OpenBLAS on two, compiled loops: (20,209,12288) float32 48 vs 42 (OpenBLAS
  computing the same product as nn: 31), float64 22.5 vs 8.8. The weight gradient (20,12288,209)
  is not in this class: 29 vs 39 (nn form 53) float32.

So the crossover is not a size. Dispatch in gemm_*: the hand loops for K == 1 and for one row with
K < SMALL_K, the serial hand nt for M <= FEW_ROWS_LONG_K and K >= LONG_K, OpenBLAS through
np.dot(a, b, out) for everything else.

Threads
-------
gemm_* leave all threading to OpenBLAS: the hand paths they take are serial, so a training step has
one owner of the threads. Mixing pools was measured to be costly here: in a compiled loop
alternating np.dot(W, X) (OpenBLAS, 2 threads) with hand_nt(dZ, X) (Numba prange) on the 12288-input
layer, the float32 weight gradient took 42 ms against 7.7 ms through OpenBLAS; in the two-thread
benchmark NumPy's product right after a Numba parallel region fell to 0.6-4 GFLOP/s, and on the busy
machine a parallel region alone held a 4M multiply-add product to 0.7 GFLOP/s. This is why the weight
gradient of the wide layer, where hand_nt wins on one thread, goes to OpenBLAS in gemm_nt. hand_* run their
strips with prange above PARALLEL_MIN_MADDS multiply-adds; use them in parallel only with OpenBLAS
held to one thread (threadpoolctl, after np.dot has been compiled once: SciPy's library is loaded
then).

Compile time: cold, both dtypes and all entry points, about 70-80 s on the loaded machine (31 s for
the first float32 entry point); with the cache, about 1 s.
"""

import numpy as np
from numba import carray, njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

#: reassociation and contraction for vectorised sums, but NaN/inf keep their meaning.
FASTMATH = {"contract", "reassoc", "arcp", "nsz", "afn"}

MR = 6     # rows of the register tile
NR = 4     # columns of the register tile
KC = 512   # k-block: long enough to amortise the 24 horizontal sums that end each tile
NB = 32    # columns of C per strip (a multiple of NR); the packed strip is NB x KC
SMALL_K = 8  # below this many terms per output, plain loops beat the tiled kernel
FEW_ROWS = 128  # nn with fewer rows of A than this updates rows of C instead of packing B
KC_ROWS = 256  # k-block of those row updates
COLUMNS_FEW_ROWS = 512  # columns of C per strip in those row updates
#: gemm_nt computes products with at most FEW_ROWS_LONG_K rows and at least LONG_K terms (a wide
#: first layer's forward with X stored transposed) with the serial hand kernel
FEW_ROWS_LONG_K = 32
LONG_K = 1024
#: hand_* products of at least this many multiply-adds (about 0.2 ms of work on one core) run their
#: strips in a parallel region: its start-up is about 2 us on an idle machine, but milliseconds when
#: other processes hold the cores (measured: a 4M multiply-add product at 0.7 GFLOP/s)
PARALLEL_MIN_MADDS = 1 << 24

# Rows of the packed strip are KC + 16 elements apart: at a power-of-two distance every row would
# fall in the same few L1 sets and the transposed writes would evict each other (measured 3x slower).
_STRIP_STRIDE = KC + 16
_STRIP_BUFFER = NB * _STRIP_STRIDE


@intrinsic
def _stack_buffer(typingctx, size, dtype):
    """Pointer to ``size`` elements of ``dtype`` on the stack of the calling function."""
    if not isinstance(size, types.IntegerLiteral):
        return None
    count = size.literal_value

    def codegen(context, builder, signature, args):
        return cgutils.alloca_once(builder, context.get_value_type(dtype.dtype), size=count)

    return types.CPointer(dtype.dtype)(size, dtype), codegen


# --- register tiles: C[ic.., jc..] (+)= A[ia.., ka:ka+kc] . B[jb.., kb:kb+kc] ----------------------

@njit(cache=True, fastmath=FASTMATH, inline="always")
def _put(C, i, j, value, accumulate):
    if accumulate:
        C[i, j] += value
    else:
        C[i, j] = value


@njit(cache=True, fastmath=FASTMATH)
def _tile_6x4(A, ia, ka, B, jb, kb, kc, C, ic, jc, accumulate):
    a0 = A[ia, ka:ka + kc]
    a1 = A[ia + 1, ka:ka + kc]
    a2 = A[ia + 2, ka:ka + kc]
    a3 = A[ia + 3, ka:ka + kc]
    a4 = A[ia + 4, ka:ka + kc]
    a5 = A[ia + 5, ka:ka + kc]
    b0 = B[jb, kb:kb + kc]
    b1 = B[jb + 1, kb:kb + kc]
    b2 = B[jb + 2, kb:kb + kc]
    b3 = B[jb + 3, kb:kb + kc]
    z = C.dtype.type(0)
    s00 = z; s01 = z; s02 = z; s03 = z
    s10 = z; s11 = z; s12 = z; s13 = z
    s20 = z; s21 = z; s22 = z; s23 = z
    s30 = z; s31 = z; s32 = z; s33 = z
    s40 = z; s41 = z; s42 = z; s43 = z
    s50 = z; s51 = z; s52 = z; s53 = z
    for k in range(kc):
        y0 = b0[k]; y1 = b1[k]; y2 = b2[k]; y3 = b3[k]
        x = a0[k]; s00 += x * y0; s01 += x * y1; s02 += x * y2; s03 += x * y3
        x = a1[k]; s10 += x * y0; s11 += x * y1; s12 += x * y2; s13 += x * y3
        x = a2[k]; s20 += x * y0; s21 += x * y1; s22 += x * y2; s23 += x * y3
        x = a3[k]; s30 += x * y0; s31 += x * y1; s32 += x * y2; s33 += x * y3
        x = a4[k]; s40 += x * y0; s41 += x * y1; s42 += x * y2; s43 += x * y3
        x = a5[k]; s50 += x * y0; s51 += x * y1; s52 += x * y2; s53 += x * y3
    _put(C, ic, jc, s00, accumulate); _put(C, ic, jc + 1, s01, accumulate)
    _put(C, ic, jc + 2, s02, accumulate); _put(C, ic, jc + 3, s03, accumulate)
    _put(C, ic + 1, jc, s10, accumulate); _put(C, ic + 1, jc + 1, s11, accumulate)
    _put(C, ic + 1, jc + 2, s12, accumulate); _put(C, ic + 1, jc + 3, s13, accumulate)
    _put(C, ic + 2, jc, s20, accumulate); _put(C, ic + 2, jc + 1, s21, accumulate)
    _put(C, ic + 2, jc + 2, s22, accumulate); _put(C, ic + 2, jc + 3, s23, accumulate)
    _put(C, ic + 3, jc, s30, accumulate); _put(C, ic + 3, jc + 1, s31, accumulate)
    _put(C, ic + 3, jc + 2, s32, accumulate); _put(C, ic + 3, jc + 3, s33, accumulate)
    _put(C, ic + 4, jc, s40, accumulate); _put(C, ic + 4, jc + 1, s41, accumulate)
    _put(C, ic + 4, jc + 2, s42, accumulate); _put(C, ic + 4, jc + 3, s43, accumulate)
    _put(C, ic + 5, jc, s50, accumulate); _put(C, ic + 5, jc + 1, s51, accumulate)
    _put(C, ic + 5, jc + 2, s52, accumulate); _put(C, ic + 5, jc + 3, s53, accumulate)


@njit(cache=True, fastmath=FASTMATH)
def _tile_1x4(A, ia, ka, B, jb, kb, kc, C, ic, jc, accumulate):
    a0 = A[ia, ka:ka + kc]
    b0 = B[jb, kb:kb + kc]
    b1 = B[jb + 1, kb:kb + kc]
    b2 = B[jb + 2, kb:kb + kc]
    b3 = B[jb + 3, kb:kb + kc]
    z = C.dtype.type(0)
    s0 = z; s1 = z; s2 = z; s3 = z
    for k in range(kc):
        x = a0[k]
        s0 += x * b0[k]; s1 += x * b1[k]; s2 += x * b2[k]; s3 += x * b3[k]
    _put(C, ic, jc, s0, accumulate); _put(C, ic, jc + 1, s1, accumulate)
    _put(C, ic, jc + 2, s2, accumulate); _put(C, ic, jc + 3, s3, accumulate)


@njit(cache=True, fastmath=FASTMATH)
def _tile_6x1(A, ia, ka, B, jb, kb, kc, C, ic, jc, accumulate):
    a0 = A[ia, ka:ka + kc]
    a1 = A[ia + 1, ka:ka + kc]
    a2 = A[ia + 2, ka:ka + kc]
    a3 = A[ia + 3, ka:ka + kc]
    a4 = A[ia + 4, ka:ka + kc]
    a5 = A[ia + 5, ka:ka + kc]
    b0 = B[jb, kb:kb + kc]
    z = C.dtype.type(0)
    s0 = z; s1 = z; s2 = z; s3 = z; s4 = z; s5 = z
    for k in range(kc):
        y = b0[k]
        s0 += a0[k] * y; s1 += a1[k] * y; s2 += a2[k] * y
        s3 += a3[k] * y; s4 += a4[k] * y; s5 += a5[k] * y
    _put(C, ic, jc, s0, accumulate); _put(C, ic + 1, jc, s1, accumulate)
    _put(C, ic + 2, jc, s2, accumulate); _put(C, ic + 3, jc, s3, accumulate)
    _put(C, ic + 4, jc, s4, accumulate); _put(C, ic + 5, jc, s5, accumulate)


@njit(cache=True, fastmath=FASTMATH)
def _tile_1x1(A, ia, ka, B, jb, kb, kc, C, ic, jc, accumulate):
    a0 = A[ia, ka:ka + kc]
    b0 = B[jb, kb:kb + kc]
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
        s = S[k0 + k, j0:j0 + nb]
        for j in range(nb):
            P[j, k] = s[j]


@njit(cache=True, fastmath=FASTMATH)
def _strip_nn(A, B, C, j0, nb):
    M, K = A.shape
    Bt = carray(_stack_buffer(_STRIP_BUFFER, C.dtype), (NB, _STRIP_STRIDE))
    for k0 in range(0, K, KC):
        kc = min(KC, K - k0)
        _pack_transposed(B, k0, kc, j0, nb, Bt)
        for i in range(0, M, MR):
            _dot_rows(A, i, k0, Bt, 0, 0, kc, C, i, j0, min(MR, M - i), nb, k0 > 0)


# --- few rows (nn): row updates along contiguous rows of B and C, nothing packed ----------------

@njit(cache=True, fastmath=FASTMATH, inline="always")
def _rows4_terms4(A, i, k, B, C, j0, j1):
    """C[i:i+4, j0:j1] += A[i:i+4, k:k+4] @ B[k:k+4, j0:j1]"""
    c0 = C[i, j0:j1]; c1 = C[i + 1, j0:j1]; c2 = C[i + 2, j0:j1]; c3 = C[i + 3, j0:j1]
    b0 = B[k, j0:j1]; b1 = B[k + 1, j0:j1]; b2 = B[k + 2, j0:j1]; b3 = B[k + 3, j0:j1]
    x00 = A[i, k]; x01 = A[i, k + 1]; x02 = A[i, k + 2]; x03 = A[i, k + 3]
    x10 = A[i + 1, k]; x11 = A[i + 1, k + 1]; x12 = A[i + 1, k + 2]; x13 = A[i + 1, k + 3]
    x20 = A[i + 2, k]; x21 = A[i + 2, k + 1]; x22 = A[i + 2, k + 2]; x23 = A[i + 2, k + 3]
    x30 = A[i + 3, k]; x31 = A[i + 3, k + 1]; x32 = A[i + 3, k + 2]; x33 = A[i + 3, k + 3]
    for j in range(j1 - j0):
        y0 = b0[j]; y1 = b1[j]; y2 = b2[j]; y3 = b3[j]
        c0[j] += x00 * y0 + x01 * y1 + x02 * y2 + x03 * y3
        c1[j] += x10 * y0 + x11 * y1 + x12 * y2 + x13 * y3
        c2[j] += x20 * y0 + x21 * y1 + x22 * y2 + x23 * y3
        c3[j] += x30 * y0 + x31 * y1 + x32 * y2 + x33 * y3


@njit(cache=True, fastmath=FASTMATH, inline="always")
def _row_terms4(A, i, k, B, C, j0, j1):
    """C[i, j0:j1] += A[i, k:k+4] @ B[k:k+4, j0:j1]"""
    c = C[i, j0:j1]
    b0 = B[k, j0:j1]; b1 = B[k + 1, j0:j1]; b2 = B[k + 2, j0:j1]; b3 = B[k + 3, j0:j1]
    x0 = A[i, k]; x1 = A[i, k + 1]; x2 = A[i, k + 2]; x3 = A[i, k + 3]
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

@njit(cache=True, fastmath=FASTMATH)
def _small_k_nn(A, B, C):
    M, K = A.shape
    for i in range(M):
        c = C[i]
        a = A[i]
        b = B[0]
        x = a[0]
        for j in range(c.size):
            c[j] = x * b[j]
        for k in range(1, K):
            b = B[k]
            x = a[k]
            for j in range(c.size):
                c[j] += x * b[j]


@njit(cache=True, fastmath=FASTMATH)
def _small_k_tn(A, B, C):
    K, M = A.shape
    for i in range(M):
        c = C[i]
        b = B[0]
        x = A[0, i]
        for j in range(c.size):
            c[j] = x * b[j]
        for k in range(1, K):
            b = B[k]
            x = A[k, i]
            for j in range(c.size):
                c[j] += x * b[j]


@njit(cache=True, fastmath=FASTMATH)
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
def _nn_strips(A, B, C):
    N = C.shape[1]
    for j0 in range(0, N, NB):
        _strip_nn(A, B, C, j0, min(NB, N - j0))


@njit(cache=True, parallel=True)
def _nn_strips_parallel(A, B, C):
    N = C.shape[1]
    for s in prange((N + NB - 1) // NB):
        _strip_nn(A, B, C, s * NB, min(NB, N - s * NB))


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


# --- the hand kernels, whatever the shape ------------------------------------------------------

@njit(cache=True)
def hand_nn(A, B, C):
    """C[:, :] = A @ B with the hand kernels only (never OpenBLAS)."""
    M, K = A.shape
    if C.size == 0:
        return
    if K == 0:
        _zero(C)
    elif K < SMALL_K:
        _small_k_nn(A, B, C)
    elif M < FEW_ROWS:
        if _parallel(C, K, COLUMNS_FEW_ROWS):
            _nn_few_rows_parallel(A, B, C)
        else:
            _nn_few_rows(A, B, C)
    elif _parallel(C, K, NB):
        _nn_strips_parallel(A, B, C)
    else:
        _nn_strips(A, B, C)


@njit(cache=True)
def hand_nt(A, B, C):
    """C[:, :] = A @ B.T with the hand kernels only (never OpenBLAS)."""
    K = A.shape[1]
    if C.size == 0:
        return
    if K == 0:
        _zero(C)
    elif K < SMALL_K:
        _small_k_nt(A, B, C)
    elif _parallel(C, K, NB):
        _nt_strips_parallel(A, B, C)
    else:
        _nt_strips(A, B, C)


@njit(cache=True)
def work_size(M, N, K):
    """Elements of ``work`` that ``hand_tn_work`` needs (A.T): M * K."""
    return M * K


@njit(cache=True)
def hand_tn_work(A, B, C, work):
    """C[:, :] = A.T @ B with the hand kernels only; work: 1-D, at least work_size(M, N, K)."""
    K, M = A.shape
    if C.size == 0:
        return
    if K == 0:
        _zero(C)
    elif K < SMALL_K:
        _small_k_tn(A, B, C)
    else:
        At = work[:M * K].reshape((M, K))
        _transpose(A, At)
        hand_nn(At, B, C)


@njit(cache=True)
def hand_tn(A, B, C):
    """C[:, :] = A.T @ B with the hand kernels only (allocates A.T when K >= SMALL_K)."""
    K, M = A.shape
    hand_tn_work(A, B, C, np.empty(M * K if K >= SMALL_K else 0, C.dtype))


# --- the products the training loop calls: the hand kernel where it is faster, else OpenBLAS -----

@njit(cache=True, inline="always")
def _hand_is_faster(M, N, K):
    """Outer products and single rows with a few terms: np.dot's ~0.1 us call costs more."""
    return K == 1 or (M == 1 and K < SMALL_K)


@njit(cache=True)
def gemm_nn(A, B, C):
    """C[:, :] = A @ B for A (M, K), B (K, N), C (M, N)."""
    M, K = A.shape
    if K == 0 or _hand_is_faster(M, C.shape[1], K):
        hand_nn(A, B, C)
    else:
        np.dot(A, B, C)


@njit(cache=True)
def gemm_nt(A, B, C):
    """C[:, :] = A @ B.T for A (M, K), B (N, K), C (M, N)."""
    M, K = A.shape
    if K == 0 or _hand_is_faster(M, C.shape[1], K):
        hand_nt(A, B, C)
    elif M <= FEW_ROWS_LONG_K and K >= LONG_K:
        _nt_strips(A, B, C)  # serial: no parallel region next to OpenBLAS's threads
    else:
        np.dot(A, B.T, C)


@njit(cache=True)
def gemm_tn(A, B, C):
    """C[:, :] = A.T @ B for A (K, M), B (K, N), C (M, N)."""
    K, M = A.shape
    if K == 0 or _hand_is_faster(M, C.shape[1], K):
        hand_tn_work(A, B, C, np.empty(0, C.dtype))  # K < SMALL_K: no work used
    else:
        np.dot(A.T, B, C)


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
