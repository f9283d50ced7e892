"""The Numba JIT variant: the notes' operations compiled for the CPU.

The same public functions as ``vectorized.py``, in the same order, with the same
meaning; each is a thin Python wrapper that checks its arguments (ValueError /
TypeError naming the argument, before any compiled code runs), maps activation
names to the integer codes of ``kernels.contract`` and calls ``@njit(cache=True)``
kernels. Arrays in, arrays out; float32 stays float32 (constants are typed).

The whole run
-------------
``train`` runs in one compiled call (``_train_kernel``): the epoch loop, the
mini-batch loop and every layer, with no Python between iterations and every work
buffer (activations, gradients, the gathered batch, ``dW``, the saved parameters)
allocated once per call; a last partial batch uses leading views of the same flat
buffers. Per batch (``_batch_step``):

- forward: the product ``W A_prev`` into the layer's buffer, then one sweep that adds
  ``b`` and applies ``g`` in place (``_bias_activation``); ``Z`` is not kept: every
  hidden derivative is computed from ``A`` (``A > 0`` iff ``Z > 0`` for relu/leaky relu);
- the output layer's sweep (``_output_sweep``) adds ``b``, computes the loss (binary
  cross-entropy as ``softplus(z) - y z``, categorical via log-sum-exp, half squared
  error), ``dZ = A - Y`` and ``db`` in one pass; ``A[L]`` itself is never stored;
- backward, last layer first: ``dW`` and ``dA_prev`` products (``dA_prev`` with ``W``
  before its update, and never for the first layer), then one sweep for
  ``dZ = dA * g'`` and ``db`` (``_derivative_from_output``);
- the update, one sweep per parameter (``_update``): L2, momentum (the course's
  ``v = beta v + (1 - beta) dW``, ``W -= alpha v``), saving the epoch's starting
  values on its first batch, and, as by-products, ``sum W^2`` (the next batch's L2
  term) and a finiteness check: divergence costs no extra pass.

The costs, the L2 term, the divergence rule and NaN costs after a stop are those of
``vectorized.train`` (float64 runs agree with it to ~1e-15 relative per epoch).

Inputs are used in the layout each product wants: a Fortran-ordered ``X`` (the
transpose of row-major ``(m, n_x)`` data) is read as ``XT`` without a copy; mini-batches
are gathered as rows of ``XT`` (``X`` is transposed once per call when needed: a
random column gather from ``X`` measured 3-4x slower than that transposition, per
epoch, on the 784 x 60000 workload); a full batch with a skinny first layer keeps both
layouts, so that both of its products are in jit_gemm's dot form.

Matrix products
---------------
A product goes to OpenBLAS (``np.dot`` in compiled code: SciPy's BLAS) when all of M,
N and K are at least ``BLAS_MIN_SIZE`` (48); skinny and small products go to the
hand-written kernels of ``kernels.jit_gemm`` (which is faster than OpenBLAS on the
skinny first-layer products: e.g. 20x12288 @ 12288x209 in the dot form 1.4x, and
whose ``A.T @ B`` gets a work buffer allocated once per run).

Threads: one owner of the cores per run
---------------------------------------
OpenBLAS's threads spin for a while after each call, and a Numba parallel region in
that window runs several times slower (NUMBA_NOTES). So a run with any product that
goes to OpenBLAS holds Numba to one thread (``numba.set_num_threads(1)``, restored
after the call): OpenBLAS owns both cores. A run without one (small and skinny nets)
leaves the cores to Numba: jit_gemm parallelises its products above 2M multiply-adds
(column strips, one owner per strip, so results do not depend on the thread count).
The element-wise sweeps are serial: in these workloads they are either below the
~25k elements from which a parallel region pays (small nets, mini-batches of 128) or
in runs whose cores belong to OpenBLAS.

Compilation
-----------
``cache=True`` everywhere; per-layer arrays are passed as tuples padded to a multiple
of four layers (``_LAYER_BUCKET``), so one compilation per dtype serves every depth up
to four. Few, multi-purpose kernels (one element-wise, one layer, one cost kernel)
keep the number of compilations small: every top-level kernel re-optimises all the
code it calls. Numba's cache does not notice edits to other files: after changing
jit_gemm.py or jit_math.py, delete ``kernels/__pycache__``.
"""

import numba
import numpy as np
from numba import njit

from . import jit_gemm, jit_math
from .contract import ACTIVATION_CODES, HIDDEN_ACTIVATIONS, LEAKY_SLOPE, OUTPUT_COSTS

#: Reassociation and contraction for vectorised loops and reductions; no ``nnan``/``ninf``,
#: so NaN and inf keep their meaning (the divergence checks run inside compiled code).
FASTMATH = {"contract", "reassoc", "arcp", "nsz", "afn"}
# error_model="numpy": a float division by zero gives inf/NaN instead of a Python
# exception check, whose branch would stop LLVM from vectorising the loops.
_JIT = dict(cache=True, fastmath=FASTMATH, error_model="numpy")

LINEAR = ACTIVATION_CODES["linear"]
SIGMOID = ACTIVATION_CODES["sigmoid"]
TANH = ACTIVATION_CODES["tanh"]
RELU = ACTIVATION_CODES["relu"]
LEAKY_RELU = ACTIVATION_CODES["leaky_relu"]
SOFTMAX = ACTIVATION_CODES["softmax"]

_FLOATS = (np.float32, np.float64)

#: Per-layer arrays reach compiled code as tuples padded to a multiple of this length,
#: so that one compilation serves every depth up to it (a tuple's length is part of
#: its type). Tuples cost 2-9 us a call for 2-8 layers; numba.typed.List 250-400 us
#: to build (11 us prebuilt), measured on this machine.
_LAYER_BUCKET = 4

_threads_ready = False


def _ready():
    """Start Numba's threading layer before the first compiled call: a kernel loaded
    from the cache that reaches a parallel region needs its symbols (``allocate_sched``),
    and they exist only once the layer is running."""
    global _threads_ready
    if not _threads_ready:
        numba.get_num_threads()
        _threads_ready = True


def _padded(arrays, filler):
    """``tuple(arrays)`` padded with ``filler`` to a multiple of ``_LAYER_BUCKET``."""
    missing = -len(arrays) % _LAYER_BUCKET
    return tuple(arrays) + (filler,) * missing


# ---------------------------------------------------------------------------
# Argument checks (Python, before compiled code)
# ---------------------------------------------------------------------------


def _float_array(x, name, contiguous=True):
    """``x`` as a float32/float64 array, C-contiguous unless ``contiguous`` is False;
    TypeError naming ``name`` otherwise. (Every wrapper passes here before its compiled
    call: the threading layer starts here.)"""
    _ready()
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    if x.dtype.type not in _FLOATS:
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {x.dtype}")
    return x if x.flags.c_contiguous or not contiguous else np.ascontiguousarray(x)


def _matrix(x, name, contiguous=True):
    x = _float_array(x, name, contiguous)
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {x.shape}")
    return x


def _same_dtype(dtype, **arrays):
    for name, x in arrays.items():
        if x.dtype != dtype:
            raise TypeError(f"{name} must have dtype {dtype} like the other arrays, got {x.dtype}")


def _hidden_code(activation):
    if activation not in HIDDEN_ACTIVATIONS:
        raise ValueError(
            f"hidden activation must be one of {sorted(HIDDEN_ACTIVATIONS)}, got {activation!r}")
    return ACTIVATION_CODES[activation]


def _any_code(activation):
    if activation not in ACTIVATION_CODES:
        raise ValueError(f"activation must be one of {sorted(ACTIVATION_CODES)}, got {activation!r}")
    return ACTIVATION_CODES[activation]


def _output_code(activation):
    if activation not in OUTPUT_COSTS:
        raise ValueError(
            f"output activation must be one of {sorted(OUTPUT_COSTS)}, got {activation!r}")
    return ACTIVATION_CODES[activation]


# ---------------------------------------------------------------------------
# Compiled building blocks
# ---------------------------------------------------------------------------


#: what ``_elementwise_kernel`` computes
FORWARD, DERIVATIVE, BACKWARD = 0, 1, 2


@njit(**_JIT)
def _elementwise_kernel(mode, z, dA, out, code, slope):
    """One flat sweep for a hidden activation code: ``out = g(z)`` (FORWARD),
    ``g'(z)`` (DERIVATIVE) or ``dA * g'(z)`` (BACKWARD; ``dA`` is unused otherwise).
    One kernel for the three keeps the compilations few."""
    n = z.size
    zero = z.dtype.type(0)
    one = z.dtype.type(1)
    if mode == FORWARD:
        if code == TANH:
            for i in range(n):
                out[i] = jit_math.tanh(z[i])
        elif code == SIGMOID:
            for i in range(n):
                out[i] = jit_math.sigmoid(z[i])
        elif code == RELU:
            for i in range(n):
                v = z[i]
                out[i] = zero if v < zero else v  # NaN stays NaN
        elif code == LEAKY_RELU:
            for i in range(n):
                v = z[i]
                out[i] = v if v > zero else v * slope
        else:
            for i in range(n):
                out[i] = z[i]
        return
    if mode == DERIVATIVE:
        for i in range(n):
            out[i] = one
    else:
        for i in range(n):
            out[i] = dA[i]
    if code == TANH:
        for i in range(n):
            a = jit_math.tanh(z[i])
            out[i] *= one - a * a
    elif code == SIGMOID:
        for i in range(n):
            a = jit_math.sigmoid(z[i])
            out[i] *= a * (one - a)
    elif code == RELU:
        for i in range(n):
            out[i] *= one if z[i] > zero else zero
    elif code == LEAKY_RELU:
        for i in range(n):
            out[i] *= one if z[i] > zero else slope


@njit(**_JIT)
def _softmax_columns(Z, out, colmax, colsum):
    """Column-wise softmax of Z (n, m) into out, shifted by the column max.

    Rows are swept whole (contiguous, vectorised), with per-column running max
    and sum in ``colmax``/``colsum`` (length m).
    """
    n, m = Z.shape
    z0 = Z[0]
    for j in range(m):
        colmax[j] = z0[j]
    for k in range(1, n):
        zk = Z[k]
        for j in range(m):
            v = zk[j]
            colmax[j] = v if v > colmax[j] else colmax[j]
    for j in range(m):
        colsum[j] = 0
    for k in range(n):
        zk = Z[k]
        ok = out[k]
        for j in range(m):
            e = jit_math.exp(zk[j] - colmax[j])
            ok[j] = e
            colsum[j] += e
    for k in range(n):
        ok = out[k]
        for j in range(m):
            ok[j] = ok[j] / colsum[j]


# Matrix products: OpenBLAS (np.dot) where every side is large, the hand-written
# kernels of jit_gemm for skinny and small products (see the module docstring).

#: A product goes to OpenBLAS when M, N and K are all at least this.
BLAS_MIN_SIZE = 48

# jit_gemm's hand-written kernels only: the choice between them and OpenBLAS is made
# here, where the threads policy of a run is decided (newer jit_gemm versions route some
# products of their gemm_* to OpenBLAS themselves and expose the hand kernels as hand_*).
_hand_nn = getattr(jit_gemm, "hand_nn", jit_gemm.gemm_nn)
_hand_nt = getattr(jit_gemm, "hand_nt", jit_gemm.gemm_nt)
_hand_tn_work = getattr(jit_gemm, "hand_tn_work", None) or jit_gemm.gemm_tn_work


@njit(**_JIT)
def _blas_pays(M, N, K):
    return M >= BLAS_MIN_SIZE and N >= BLAS_MIN_SIZE and K >= BLAS_MIN_SIZE


@njit(**_JIT)
def _mm_nn(A, B, C):
    """``C = A @ B``."""
    if _blas_pays(A.shape[0], B.shape[1], A.shape[1]):
        np.dot(A, B, C)
    else:
        _hand_nn(A, B, C)


@njit(**_JIT)
def _mm_nt(A, B, C):
    """``C = A @ B.T``."""
    if _blas_pays(A.shape[0], B.shape[0], A.shape[1]):
        np.dot(A, B.T, C)
    else:
        _hand_nt(A, B, C)


@njit(**_JIT)
def _mm_tn(A, B, C, work):
    """``C = A.T @ B``; ``work`` (1-D, at least ``A.size``) holds A.T for jit_gemm."""
    if _blas_pays(A.shape[1], B.shape[1], A.shape[0]):
        np.dot(A.T, B, C)
    else:
        _hand_tn_work(A, B, C, work)


@njit(**_JIT)
def _transpose(A, AT):
    """``AT[:, :] = A.T``, in 32 x 32 tiles (both sides stay in cache)."""
    n, m = A.shape
    for i0 in range(0, n, 32):
        i1 = min(i0 + 32, n)
        for j0 in range(0, m, 32):
            for j in range(j0, min(j0 + 32, m)):
                row = AT[j]
                for i in range(i0, i1):
                    row[i] = A[i, j]


@njit(**_JIT)
def _bias_activation(Z, b, code, slope):
    """In place: ``Z[i, :] = g(Z[i, :] + b[i])`` (the pass after the forward product)."""
    n, m = Z.shape
    zero = Z.dtype.type(0)
    for i in range(n):
        row = Z[i]
        bi = b[i, 0]
        if code == TANH:
            for j in range(m):
                row[j] = jit_math.tanh(row[j] + bi)
        elif code == SIGMOID:
            for j in range(m):
                row[j] = jit_math.sigmoid(row[j] + bi)
        elif code == RELU:
            for j in range(m):
                v = row[j] + bi
                row[j] = zero if v < zero else v
        elif code == LEAKY_RELU:
            for j in range(m):
                v = row[j] + bi
                row[j] = v if v > zero else v * slope
        else:
            for j in range(m):
                row[j] = row[j] + bi


@njit(**_JIT)
def _derivative_from_output(dA, A, code, slope, db, inv_m):
    """In place ``dA <- dA * g'(Z)`` with ``g'`` computed from ``A = g(Z)``, and
    ``db[i] = sum_j dA[i, j] * inv_m``: the backward's one element-wise sweep.

    relu/leaky relu: ``A > 0`` exactly where ``Z > 0``; sigmoid ``A (1 - A)``; tanh ``1 - A^2``.
    """
    n, m = A.shape
    zero = A.dtype.type(0)
    one = A.dtype.type(1)
    for i in range(n):
        d = dA[i]
        a = A[i]
        s = zero
        if code == TANH:
            for j in range(m):
                v = d[j] * (one - a[j] * a[j])
                d[j] = v
                s += v
        elif code == SIGMOID:
            for j in range(m):
                v = d[j] * (a[j] * (one - a[j]))
                d[j] = v
                s += v
        elif code == RELU:
            for j in range(m):
                v = d[j] * (one if a[j] > zero else zero)
                d[j] = v
                s += v
        elif code == LEAKY_RELU:
            for j in range(m):
                v = d[j] * (one if a[j] > zero else slope)
                d[j] = v
                s += v
        else:
            for j in range(m):
                s += d[j]
        db[i] = s * inv_m


@njit(**_JIT)
def _output_sweep(Z, b, Y, code, dZ, db, inv_m, colmax, colsum):
    """The output layer's pass after its product: ``Z += b``, ``A = g(Z)``, the loss
    summed over the batch (float64; the cost times the batch size), ``dZ = A - Y`` and
    ``db = rowsum(dZ) * inv_m``. ``Z`` keeps ``Z + b``; A itself is never stored."""
    n, m = Z.shape
    zero = Z.dtype.type(0)
    loss = 0.0
    if code == SIGMOID:
        one = Z.dtype.type(1)
        for i in range(n):
            z = Z[i]
            y = Y[i]
            d = dZ[i]
            bi = b[i, 0]
            s = zero
            for j in range(m):
                v = z[j] + bi
                e = jit_math.exp(-abs(v))
                a = (one if v >= zero else e) / (one + e)
                # softplus(v) - y v, softplus(v) = max(v, 0) + log1p(exp(-|v|))
                loss += np.float64((v if v > zero else zero) - y[j] * v + jit_math.log1p_unit(e))
                g = a - y[j]
                d[j] = g
                s += g
            db[i] = s * inv_m
    elif code == SOFTMAX:
        for i in range(n):
            z = Z[i]
            bi = b[i, 0]
            for j in range(m):
                z[j] += bi
        _softmax_columns(Z, dZ, colmax, colsum)
        # log-sum-exp = max + log(sum exp(z - max)); loss = sum_k y_k (lse - z_k)
        for j in range(m):
            colsum[j] = colmax[j] + jit_math.log(colsum[j])
        for i in range(n):
            z = Z[i]
            y = Y[i]
            d = dZ[i]
            s = zero
            for j in range(m):
                loss += np.float64(y[j] * (colsum[j] - z[j]))
                g = d[j] - y[j]
                d[j] = g
                s += g
            db[i] = s * inv_m
    else:  # linear output, half squared error
        for i in range(n):
            z = Z[i]
            y = Y[i]
            d = dZ[i]
            bi = b[i, 0]
            s = zero
            for j in range(m):
                v = z[j] + bi
                g = v - y[j]
                loss += np.float64(g * g)
                d[j] = g
                s += g
            db[i] = s * inv_m
        loss = loss * 0.5
    return loss


@njit(**_JIT)
def _update(param, grad, velocity, saved, save, lr, beta, one_minus_beta, l2c, inv_m):
    """One parameter's update, in one sweep (flat arrays):
    ``g = grad * inv_m (+ l2c * param)``, ``v = beta v + (1 - beta) g``, ``param -= lr v``;
    the old values go to ``saved`` when ``save``. Returns ``(sum param^2, sum param * 0)``
    of the new values: the L2 term of the next batch and a finiteness check (NaN iff a
    parameter is not finite)."""
    n = param.size
    sq = param.dtype.type(0)
    fin = param.dtype.type(0)
    zero = param.dtype.type(0)
    if save:
        for i in range(n):
            saved[i] = param[i]
    if l2c != zero:
        for i in range(n):
            p = param[i]
            g = grad[i] * inv_m + l2c * p
            v = beta * velocity[i] + one_minus_beta * g
            velocity[i] = v
            p = p - lr * v
            param[i] = p
            sq += p * p
            fin += p * zero
    else:
        for i in range(n):
            g = grad[i] * inv_m
            v = beta * velocity[i] + one_minus_beta * g
            velocity[i] = v
            p = param[i] - lr * v
            param[i] = p
            sq += p * p
            fin += p * zero
    return sq, fin


@njit(**_JIT)
def _sum_squares(x):
    s = x.dtype.type(0)
    for v in x.ravel():
        s += v * v
    return s


@njit(**_JIT)
def _finite_check(x):
    """0 if every element is finite, else NaN."""
    zero = x.dtype.type(0)
    s = zero
    for v in x.ravel():
        s += v * zero
    return s


# ---------------------------------------------------------------------------
# 1. Activations and their derivatives g'(Z)
# ---------------------------------------------------------------------------


def _elementwise(mode, Z, code, slope=LEAKY_SLOPE):
    Z = _float_array(Z, "Z")
    out = np.empty(Z.shape, Z.dtype)
    flat = Z.reshape(-1)
    _elementwise_kernel(mode, flat, flat, out.reshape(-1), code, Z.dtype.type(slope))
    return out


def sigmoid(Z):
    """``1 / (1 + exp(-Z))``, computed from ``exp(-|Z|)`` so it never overflows."""
    return _elementwise(FORWARD, Z, SIGMOID)


def sigmoid_derivative(Z):
    """``a (1 - a)`` with ``a = sigmoid(Z)``."""
    return _elementwise(DERIVATIVE, Z, SIGMOID)


def tanh(Z):
    """Hyperbolic tangent."""
    return _elementwise(FORWARD, Z, TANH)


def tanh_derivative(Z):
    """``1 - a**2`` with ``a = tanh(Z)``."""
    return _elementwise(DERIVATIVE, Z, TANH)


def relu(Z):
    """``max(0, Z)`` (NaN stays NaN)."""
    return _elementwise(FORWARD, Z, RELU)


def relu_derivative(Z):
    """1 where ``Z > 0``, else 0 (the notes leave ``Z == 0`` open; we take 0)."""
    return _elementwise(DERIVATIVE, Z, RELU)


def leaky_relu(Z, slope=LEAKY_SLOPE):
    """``max(slope * Z, Z)``, slope 0.01 as in the notes."""
    return _elementwise(FORWARD, Z, LEAKY_RELU, slope)


def leaky_relu_derivative(Z, slope=LEAKY_SLOPE):
    """1 where ``Z > 0``, else ``slope`` (``slope`` at exactly 0)."""
    return _elementwise(DERIVATIVE, Z, LEAKY_RELU, slope)


def linear(Z):
    """The identity (for a regression output); a copy."""
    return _elementwise(FORWARD, Z, LINEAR)


def linear_derivative(Z):
    """1 everywhere."""
    return _elementwise(DERIVATIVE, Z, LINEAR)


def softmax(Z):
    """Column-wise softmax (one column per example), shifted by the column max."""
    Z = _matrix(Z, "Z")
    out = np.empty(Z.shape, Z.dtype)
    if Z.size:
        _softmax_columns(Z, out, np.empty(Z.shape[1], Z.dtype), np.empty(Z.shape[1], Z.dtype))
    return out


def activation_forward(Z, activation):
    """``g(Z)`` for an activation name."""
    code = _any_code(activation)
    if code == SOFTMAX:
        return softmax(Z)
    return _elementwise(FORWARD, Z, code)


def activation_backward(dA, Z, activation):
    """``dZ = dA * g'(Z)`` for a hidden-layer activation name, in one sweep.

    Softmax has no entry: as an output its ``dZ`` comes from the cost
    (``output_gradient``).
    """
    code = _hidden_code(activation)
    Z = _float_array(Z, "Z")
    dA = _float_array(dA, "dA")
    _same_dtype(Z.dtype, dA=dA)
    if dA.shape != Z.shape:
        raise ValueError(f"dA must have the shape of Z {Z.shape}, got {dA.shape}")
    out = np.empty(Z.shape, Z.dtype)
    _elementwise_kernel(BACKWARD, Z.reshape(-1), dA.reshape(-1), out.reshape(-1), code,
                        Z.dtype.type(LEAKY_SLOPE))
    return out


# ---------------------------------------------------------------------------
# 2. Matrix product and the dense layer
# ---------------------------------------------------------------------------


#: what ``_layer_kernel`` computes
PRODUCT, LAYER_FORWARD, LAYER_BACKWARD = 0, 1, 2


@njit(**_JIT)
def _layer_kernel(mode, A_prev, W, b, code, slope, Z, A, dZ, l2c, dA_prev, dW, db):
    """One dense layer (one kernel, so that the products are compiled in as few places
    as possible): PRODUCT ``Z = W A_prev``; LAYER_FORWARD ``Z = W A_prev + b``,
    ``A = g(Z)``; LAYER_BACKWARD, from ``dZ``: ``dW = dZ A_prev^T / m + l2c W``,
    ``db = rowsum(dZ) / m``, ``dA_prev = W^T dZ``. Unused arrays may be empty."""
    zero = W.dtype.type(0)
    if mode == PRODUCT:
        _mm_nn(W, A_prev, Z)
        return
    if mode == LAYER_FORWARD:
        _mm_nn(W, A_prev, Z)
        n, m = Z.shape
        for i in range(n):
            z = Z[i]
            bi = b[i, 0]
            for j in range(m):
                z[j] += bi
        if code == SOFTMAX:
            _softmax_columns(Z, A, np.empty(m, Z.dtype), np.empty(m, Z.dtype))
        else:
            flat = Z.ravel()
            _elementwise_kernel(FORWARD, flat, flat, A.ravel(), code, slope)
        return
    m = dZ.shape[1]
    inv_m = dZ.dtype.type(1.0 / m)
    _mm_nt(dZ, A_prev, dW)
    for i in range(dW.shape[0]):
        g = dW[i]
        w = W[i]
        if l2c != zero:
            for k in range(g.size):
                g[k] = g[k] * inv_m + w[k] * l2c
        else:
            for k in range(g.size):
                g[k] = g[k] * inv_m
        d = dZ[i]
        s = zero
        for j in range(m):
            s += d[j]
        db[i, 0] = s * inv_m
    _mm_tn(W, dZ, dA_prev, np.empty(W.size, W.dtype))


def _unused(dtype):
    return np.empty((0, 0), dtype)


def matmul(A, B):
    """``A @ B`` (2-D): the compiled product (hand-written kernels, or BLAS for large ones)."""
    A = _matrix(A, "A")
    B = _matrix(B, "B")
    _same_dtype(A.dtype, B=B)
    if A.shape[1] != B.shape[0]:
        raise ValueError(f"A.shape[1] ({A.shape[1]}) must equal B.shape[0] ({B.shape[0]})")
    C = np.empty((A.shape[0], B.shape[1]), A.dtype)
    if C.size:
        if A.shape[1]:
            u = _unused(A.dtype)
            _layer_kernel(PRODUCT, B, A, u, 0, A.dtype.type(0), C, u, u, A.dtype.type(0), u, u, u)
        else:
            C[...] = 0
    return C


def _check_layer(A_prev, W, b=None):
    A_prev = _matrix(A_prev, "A_prev")
    W = _matrix(W, "W")
    _same_dtype(A_prev.dtype, W=W)
    if W.shape[1] != A_prev.shape[0]:
        raise ValueError(f"W.shape[1] ({W.shape[1]}) must equal A_prev.shape[0] ({A_prev.shape[0]})")
    if b is not None:
        b = _matrix(b, "b")
        _same_dtype(A_prev.dtype, b=b)
        if b.shape != (W.shape[0], 1):
            raise ValueError(f"b must have shape {(W.shape[0], 1)}, got {b.shape}")
    return A_prev, W, b


def dense_forward(A_prev, W, b, activation):
    """``Z = W A_prev + b``, ``A = g(Z)``; returns ``(A, Z)`` (Z is what backward needs)."""
    code = _any_code(activation)
    A_prev, W, b = _check_layer(A_prev, W, b)
    n, m = W.shape[0], A_prev.shape[1]
    Z = np.empty((n, m), W.dtype)
    A = np.empty((n, m), W.dtype)
    if Z.size:
        u = _unused(W.dtype)
        _layer_kernel(LAYER_FORWARD, A_prev, W, b, code, W.dtype.type(LEAKY_SLOPE), Z, A, u,
                      W.dtype.type(0), u, u, u)
    return A, Z


def linear_backward(dZ, A_prev, W, l2=0.0, m_total=None):
    """``dA_prev = W^T dZ``, ``dW = dZ A_prev^T / m + (l2 / m_total) W``, ``db = sum(dZ) / m``.

    ``m`` is the number of examples in this batch (columns of ``dZ``);
    ``m_total`` is the size of the training set the L2 term is scaled by
    (defaults to ``m``: full-batch descent).
    """
    A_prev, W, _ = _check_layer(A_prev, W)
    dZ = _matrix(dZ, "dZ")
    _same_dtype(W.dtype, dZ=dZ)
    if dZ.shape != (W.shape[0], A_prev.shape[1]):
        raise ValueError(f"dZ must have shape {(W.shape[0], A_prev.shape[1])}, got {dZ.shape}")
    m = dZ.shape[1]
    if m == 0:
        raise ValueError("dZ must have at least one column (example)")
    m_total = m if m_total is None else m_total
    dtype = W.dtype.type
    dA_prev = np.empty(A_prev.shape, W.dtype)
    dW = np.empty(W.shape, W.dtype)
    db = np.empty((W.shape[0], 1), W.dtype)
    if W.shape[0] == 0 or W.shape[1] == 0:
        dA_prev[...] = 0
        dW[...] = 0
        db[...] = 0
        return dA_prev, dW, db
    u = _unused(W.dtype)
    _layer_kernel(LAYER_BACKWARD, A_prev, W, db, 0, dtype(0), u, u, dZ,
                  dtype(l2 / m_total) if l2 else dtype(0), dA_prev, dW, db)
    return dA_prev, dW, db


def dense_backward(dA, A_prev, W, Z, activation, l2=0.0, m_total=None):
    """Backward of a hidden dense layer: ``dZ = dA * g'(Z)``, then ``linear_backward``.

    Returns ``(dA_prev, dW, db)``.
    """
    return linear_backward(activation_backward(dA, Z, activation), A_prev, W, l2, m_total)


# ---------------------------------------------------------------------------
# 3. Costs and the output gradient
# ---------------------------------------------------------------------------


@njit(**_JIT)
def _cost_kernel(code, Z, Y):
    """The loss summed over examples (float64) for an output code: SIGMOID binary
    cross-entropy from Z, SOFTMAX categorical cross-entropy from Z (log-sum-exp),
    LINEAR the squared error of ``Z`` (there: A) summed, not halved."""
    n, m = Z.shape
    zero = Z.dtype.type(0)
    loss = 0.0
    if code == SIGMOID:
        for i in range(n):
            z = Z[i]
            y = Y[i]
            for j in range(m):
                v = z[j]
                loss += np.float64((v if v > zero else zero) - y[j] * v
                                   + jit_math.log1p_unit(jit_math.exp(-abs(v))))
    elif code == SOFTMAX:
        colmax = np.empty(m, Z.dtype)
        colsum = np.empty(m, Z.dtype)
        z0 = Z[0]
        for j in range(m):
            colmax[j] = z0[j]
        for k in range(1, n):
            zk = Z[k]
            for j in range(m):
                v = zk[j]
                colmax[j] = v if v > colmax[j] else colmax[j]
        for j in range(m):
            colsum[j] = 0
        for k in range(n):
            zk = Z[k]
            for j in range(m):
                colsum[j] += jit_math.exp(zk[j] - colmax[j])
        for j in range(m):
            colsum[j] = colmax[j] + jit_math.log(colsum[j])
        for k in range(n):
            zk = Z[k]
            yk = Y[k]
            for j in range(m):
                loss += np.float64(yk[j] * (colsum[j] - zk[j]))
    else:
        for i in range(n):
            a = Z[i]
            y = Y[i]
            for j in range(m):
                d = a[j] - y[j]
                loss += np.float64(d * d)
    return loss


def _cost_pair(Z, Y, name_Z="Z"):
    Z = _matrix(Z, name_Z)
    Y = _matrix(Y, "Y")
    _same_dtype(Z.dtype, Y=Y)
    if Y.shape != Z.shape:
        raise ValueError(f"Y must have the shape of {name_Z} {Z.shape}, got {Y.shape}")
    if Z.shape[1] == 0:
        raise ValueError(f"{name_Z} must have at least one column (example)")
    return Z, Y


def binary_cross_entropy(Z, Y):
    """Mean of ``-(y log a + (1-y) log(1-a))``, ``a = sigmoid(Z)``, from Z.

    Written as ``softplus(z) - y z`` with ``softplus(z) = max(z, 0) + log1p(exp(-|z|))``:
    finite however far the prediction saturates. Returned in Z's dtype.
    """
    Z, Y = _cost_pair(Z, Y)
    return Z.dtype.type(_cost_kernel(SIGMOID, Z, Y) / Z.shape[1])


def categorical_cross_entropy(Z, Y):
    """Mean over examples of ``-sum_k y_k log softmax(z)_k``, from Z (log-sum-exp)."""
    Z, Y = _cost_pair(Z, Y)
    if Z.shape[0] == 0:
        return Z.dtype.type(0)
    m = Z.shape[1]
    return Z.dtype.type(_cost_kernel(SOFTMAX, Z, Y) / m)


def mean_squared_error(A, Y):
    """Half mean squared error: ``sum((A - Y)**2) / (2 m)`` (summed over outputs)."""
    A, Y = _cost_pair(A, Y, "A")
    return A.dtype.type(_cost_kernel(LINEAR, A, Y) / (2 * A.shape[1]))


def output_gradient(A, Y):
    """``dZ[L] = A[L] - Y``: the same for each output/cost pair."""
    A = _float_array(A, "A")
    Y = _float_array(Y, "Y")
    _same_dtype(A.dtype, Y=Y)
    if Y.shape != A.shape:
        raise ValueError(f"Y must have the shape of A {A.shape}, got {Y.shape}")
    return A - Y


def cost(Z, A, Y, output_activation):
    """The cost paired with an output activation (sigmoid, softmax, linear)."""
    code = _output_code(output_activation)
    if code == LINEAR:
        return mean_squared_error(A, Y)
    if code == SIGMOID:
        return binary_cross_entropy(Z, Y)
    return categorical_cross_entropy(Z, Y)


def l2_penalty(weights, l2, m):
    """``l2 / (2 m) * sum_l ||W[l]||_F^2`` (a Python float)."""
    total = 0.0
    for index, W in enumerate(weights):
        W = _float_array(W, f"weights[{index}]")
        total += float(_sum_squares(W.reshape(1, -1))) if W.size else 0.0
    return l2 / (2 * m) * total


# ---------------------------------------------------------------------------
# 4. The update
# ---------------------------------------------------------------------------


@njit(**_JIT)
def _gradient_descent_kernel(param, grad, velocity, lr, beta, one_minus_beta):
    for i in range(param.size):
        v = beta * velocity[i] + one_minus_beta * grad[i]
        velocity[i] = v
        param[i] = param[i] - lr * v


def gradient_descent_step(param, grad, velocity, learning_rate, momentum):
    """In place: ``v = momentum v + (1 - momentum) grad``; ``param -= learning_rate v``.

    The course's exponentially weighted form of momentum; ``momentum = 0`` is
    plain gradient descent. L2 enters through ``grad`` (``linear_backward``).
    """
    for name, x in (("param", param), ("velocity", velocity)):
        if not isinstance(x, np.ndarray) or x.dtype.type not in _FLOATS:
            raise TypeError(f"{name} must be a float32 or float64 ndarray (updated in place)")
        if not (x.flags.c_contiguous and x.flags.writeable):
            raise ValueError(f"{name} must be a writeable C-contiguous array (updated in place)")
    grad = _float_array(grad, "grad")
    _same_dtype(param.dtype, grad=grad, velocity=velocity)
    if grad.shape != param.shape or velocity.shape != param.shape:
        raise ValueError(f"grad and velocity must have the shape of param {param.shape}, "
                         f"got {grad.shape} and {velocity.shape}")
    dtype = param.dtype.type
    _gradient_descent_kernel(param.reshape(-1), grad.reshape(-1), velocity.reshape(-1),
                             dtype(learning_rate), dtype(momentum), dtype(1 - momentum))


# ---------------------------------------------------------------------------
# 5. The network: prediction and a whole training run
# ---------------------------------------------------------------------------


def _check_network(weights, biases, X, activations, contiguous=True):
    """Checked (weights, biases, X, codes) for a whole network."""
    name_X = "X"
    X = _matrix(X, name_X, contiguous)
    dtype = X.dtype
    weights, biases = list(weights), list(biases)
    L = len(weights)
    if L == 0:
        raise ValueError("weights must hold at least one layer")
    if len(biases) != L:
        raise ValueError(f"biases must hold one array per layer ({L}), got {len(biases)}")
    activations = list(activations) if not isinstance(activations, str) else [activations]
    if len(activations) != L:
        raise ValueError(f"activations must name one activation per layer ({L}), got {len(activations)}")
    codes = tuple([_hidden_code(a) for a in activations[:-1]] + [_output_code(activations[-1])])
    n_prev = X.shape[0]
    for l in range(L):
        W, b = weights[l], biases[l]
        for name, x in ((f"weights[{l}]", W), (f"biases[{l}]", b)):
            if not isinstance(x, np.ndarray) or x.dtype != dtype:
                raise TypeError(f"{name} must be an ndarray of dtype {dtype} (the dtype of {name_X})")
            if x.ndim != 2:
                raise ValueError(f"{name} must be 2-D, got shape {x.shape}")
        if W.shape[1] != n_prev or W.shape[0] == 0:
            raise ValueError(f"weights[{l}] must have shape (n[{l + 1}] >= 1, {n_prev}), got {W.shape}")
        if b.shape != (W.shape[0], 1):
            raise ValueError(f"biases[{l}] must have shape {(W.shape[0], 1)}, got {b.shape}")
        n_prev = W.shape[0]
    return weights, biases, X, codes


def forward(weights, biases, X, activations):
    """``A[L]`` of the network for inputs ``X`` (n_x, m)."""
    weights, biases, X, codes = _check_network(weights, biases, X, activations)
    m = X.shape[1]
    dtype = X.dtype
    u = _unused(dtype)
    A = X
    for W, b, code in zip(weights, biases, codes):
        Z = np.empty((W.shape[0], m), dtype)
        A_next = np.empty((W.shape[0], m), dtype)
        if m:
            _layer_kernel(LAYER_FORWARD, A, np.ascontiguousarray(W), np.ascontiguousarray(b),
                          code, dtype.type(LEAKY_SLOPE), Z, A_next, u, dtype.type(0), u, u, u)
        A = A_next
    return A


@njit(**_JIT)
def _restore(Ws, bs, n_layers, saved):
    off = 0
    for l in range(n_layers):
        for p in (Ws[l].ravel(), bs[l].ravel()):
            for i in range(p.size):
                p[i] = saved[off + i]
            off += p.size


@njit(**_JIT)
def _batch_step(Ws, bs, vWs, vbs, L, A0, A0T, Y, codes, slope, lr, beta, one_minus_beta, l2c,
                acts, grad_a, grad_b, dW, tn_work, db, colmax, colsum, saved, save, sq):
    """Forward, loss, backward and update on one batch of ``nb`` examples.

    The inputs come as ``A0`` (n_x, nb) and/or ``A0T`` (nb, n_x) (an unused one is
    empty): the first layer's forward product takes ``A0T`` when there is one (dot form),
    its ``dW`` takes ``A0`` when there is one. Returns ``(loss_sum, fin)``: the loss summed
    over the batch (float64), and ``fin``, NaN when an updated parameter is not finite.
    When the loss is not finite nothing is updated (the reference's rule).
    """
    dtype = acts.dtype
    zero = dtype.type(0)
    nb = Y.shape[1]
    inv_m = dtype.type(1.0 / nb)
    # forward: A[l] = g(W[l] A[l-1] + b[l]) into acts, layer after layer
    off = 0
    for l in range(L):
        W = Ws[l]
        n_l, n_in = W.shape
        Z = acts[off:off + n_l * nb].reshape(n_l, nb)
        if l > 0:
            _mm_nn(W, acts[off - n_in * nb:off].reshape(n_in, nb), Z)
        elif A0T.shape[0] > 0:
            _mm_nt(W, A0T, Z)
        else:
            _mm_nn(W, A0, Z)
        if l < L - 1:
            _bias_activation(Z, bs[l], codes[l], slope)
        off += n_l * nb
    # the output layer's sweep: its loss, dZ[L] = A[L] - Y (into grad_a) and db[L]
    n_out = Ws[L - 1].shape[0]
    dZ = grad_a[:n_out * nb].reshape(n_out, nb)
    loss = _output_sweep(acts[off - n_out * nb:off].reshape(n_out, nb), bs[L - 1], Y,
                         codes[L - 1], dZ, db, inv_m, colmax, colsum)
    if not np.isfinite(loss):
        return loss, zero
    # backward and update, last layer first; dA[l-1] uses W[l] before its update
    fin = zero
    use_a = True
    p_off = saved.size
    for l in range(L - 1, -1, -1):
        W = Ws[l]
        n_l, n_in = W.shape
        off -= n_l * nb
        p_off -= W.size + n_l
        dZ = (grad_a if use_a else grad_b)[:n_l * nb].reshape(n_l, nb)
        g = dW[:W.size].reshape(n_l, n_in)
        if l > 0:
            A_prev = acts[off - n_in * nb:off].reshape(n_in, nb)
            _mm_nt(dZ, A_prev, g)
            dA_prev = (grad_b if use_a else grad_a)[:n_in * nb].reshape(n_in, nb)
            _mm_tn(W, dZ, dA_prev, tn_work)
        elif A0.shape[0] > 0:
            _mm_nt(dZ, A0, g)
        else:
            _mm_nn(dZ, A0T, g)
        w_sq, w_fin = _update(W.ravel(), g.ravel(), vWs[l].ravel(), saved[p_off:p_off + W.size],
                              save, lr, beta, one_minus_beta, l2c, inv_m)
        b_sq, b_fin = _update(bs[l].ravel(), db[:n_l], vbs[l].ravel(),
                              saved[p_off + W.size:p_off + W.size + n_l],
                              save, lr, beta, one_minus_beta, zero, dtype.type(1))
        sq[l] = w_sq
        fin += w_fin + b_fin
        if l > 0:
            _derivative_from_output(dA_prev, A_prev, codes[l - 1], slope, db, inv_m)
        use_a = not use_a
    return loss, fin


@njit(**_JIT)
def _train_kernel(Ws, bs, vWs, vbs, L, X, XT, Y, codes, slope, epochs, lr, beta, one_minus_beta,
               l2, batch_size, orders, costs, make_X, make_XT):
    """The whole run (see ``train``): the epoch loop, the batch loop, every layer.

    The inputs come as ``X`` (n_x, m) and/or ``XT`` (m, n_x); ``make_X``/``make_XT``
    build the missing layout from the other once per call. Mini-batches are gathered
    from ``XT`` (row copies) when there is one, else from ``X`` (column gathers).
    """
    dtype = Y.dtype
    zero = dtype.type(0)
    n_y, m = Y.shape
    n_x = Ws[0].shape[1]
    if make_XT:
        XT = np.empty((m, n_x), dtype)
        _transpose(X, XT)
    if make_X:
        X = np.empty((n_x, m), dtype)
        _transpose(XT, X)
    mb = min(batch_size, m)
    full = mb >= m
    by_example = XT.shape[0] > 0
    l2c = dtype.type(l2 / m)
    l2_cost = l2 / (2.0 * m)

    # work buffers, once per call
    act_size = 0
    max_n = 0
    max_w = 0
    n_params = 0
    for l in range(L):
        n_l, n_in = Ws[l].shape
        act_size += n_l * mb
        max_n = max(max_n, n_l)
        max_w = max(max_w, n_l * n_in)
        n_params += n_l * n_in + n_l
    acts = np.empty(act_size, dtype)
    grad_a = np.empty(max_n * mb, dtype)
    grad_b = np.empty(max_n * mb, dtype)
    dW = np.empty(max_w, dtype)
    tn_work = np.empty(max_w, dtype)  # W.T for jit_gemm's A.T @ B
    db = np.empty(max_n, dtype)
    colmax = np.empty(mb, dtype)
    colsum = np.empty(mb, dtype)
    saved = np.empty(n_params, dtype)
    x_batch = np.empty(0 if full else n_x * mb, dtype)
    y_batch = np.empty(0 if full else n_y * mb, dtype)
    no_input = x_batch[:0].reshape(0, 0)
    sq = np.empty(L, dtype)
    fin = zero
    for l in range(L):
        sq[l] = _sum_squares(Ws[l])
        fin += _finite_check(Ws[l]) + _finite_check(bs[l])
    finite = fin == zero
    have_saved = False

    for epoch in range(epochs):
        if not finite:
            if have_saved:
                _restore(Ws, bs, L, saved)
            return
        saved_now = False  # does `saved` hold this epoch's start yet?
        total = 0.0
        for start in range(0, m, mb):
            nb = min(mb, m - start)
            # the L2 term of this batch, from the current weights (NaN/inf when they are not)
            s = 0.0
            for l in range(L):
                s += np.float64(sq[l])
            total += l2_cost * s * nb
            if full:
                loss, fin = _batch_step(Ws, bs, vWs, vbs, L, X, XT, Y, codes, slope, lr, beta,
                                        one_minus_beta, l2c, acts, grad_a, grad_b, dW, tn_work, db,
                                        colmax, colsum, saved, not saved_now, sq)
            else:
                idx = orders[epoch, start:start + nb]
                Yb = y_batch[:n_y * nb].reshape(n_y, nb)
                for k in range(n_y):
                    src = Y[k]
                    dst = Yb[k]
                    for j in range(nb):
                        dst[j] = src[idx[j]]
                if by_example:
                    XbT = x_batch[:nb * n_x].reshape(nb, n_x)
                    for j in range(nb):
                        src = XT[idx[j]]
                        dst = XbT[j]
                        for k in range(n_x):
                            dst[k] = src[k]
                    Xb = no_input
                else:
                    Xb = x_batch[:n_x * nb].reshape(n_x, nb)
                    for k in range(n_x):
                        src = X[k]
                        dst = Xb[k]
                        for j in range(nb):
                            dst[j] = src[idx[j]]
                    XbT = no_input
                loss, fin = _batch_step(Ws, bs, vWs, vbs, L, Xb, XbT, Yb, codes, slope, lr, beta,
                                        one_minus_beta, l2c, acts, grad_a, grad_b, dW, tn_work, db,
                                        colmax, colsum, saved, not saved_now, sq)
            total += loss
            if not np.isfinite(loss):
                break
            saved_now = True
            have_saved = True
            finite = fin == zero
            if not np.isfinite(total):
                break
        costs[epoch] = total / m
        if not np.isfinite(costs[epoch]):
            if saved_now:
                _restore(Ws, bs, L, saved)
            return
    if not finite and have_saved:
        _restore(Ws, bs, L, saved)


def _writeable_c(x):
    return x.flags.c_contiguous and x.flags.writeable


#: The second layout of X is built (once per call) only up to this size.
_MAX_LAYOUT_COPY_BYTES = 1 << 30


def _input_layouts(X, n_1, batch):
    """``(X, XT, make_X, make_XT)`` for ``_train_kernel``: the layouts of the inputs the
    run uses, each an array or an empty placeholder, and which to build from the other.

    A Fortran-ordered X (the transpose of row-major (m, n_x) data) is used as ``XT``
    without a copy. Mini-batches are gathered as rows of ``XT`` (a random column gather
    from X costs several times a transposition of it, measured) unless n_x is tiny.
    A full batch whose first layer is skinny (jit_gemm, not BLAS) wants both: ``XT`` for
    the forward product and ``X`` for ``dW`` (each in the dot form).
    """
    n_x, m = X.shape
    empty = np.empty((0, 0), X.dtype)
    affordable = X.nbytes <= _MAX_LAYOUT_COPY_BYTES
    if X.flags.f_contiguous and not X.flags.c_contiguous:
        XT, X = X.T, None
    else:
        XT, X = None, np.ascontiguousarray(X)
    if batch < m:
        want_X = want_XT = False
        if XT is None and n_x >= 8 and affordable:
            want_XT = True
    else:
        both = n_x >= 64 and not (n_1 >= BLAS_MIN_SIZE and m >= BLAS_MIN_SIZE) and affordable
        want_X = want_XT = both
    make_X, make_XT = want_X and X is None, want_XT and XT is None
    # one array type for every call (compiled code is specialised on it): writeable C
    arrays = [empty if a is None else a if _writeable_c(a) else np.array(a, order="C")
              for a in (X, XT)]
    return arrays[0], arrays[1], make_X, make_XT


def train(weights, biases, X, Y, activations, epochs, learning_rate,
          batch_size=None, momentum=0.0, l2=0.0, orders=None, velocities=None):
    """Train in place for ``epochs`` epochs; return the cost of each epoch.

    ``weights``/``biases``: lists of ``W[l]``/``b[l]``, updated in place.
    ``activations``: one name per layer, the last an output activation.
    ``batch_size``: ``None`` (or ``>= m``) for full-batch descent.
    ``orders``: int array ``(epochs, m)``, the example order of each epoch
    (drawn by the caller); required for mini-batches, ignored for full batch.
    ``velocities``: ``(v_weights, v_biases)`` carried between calls (updated in
    place); ``None`` starts them at zero.

    The cost of an epoch is the mean loss of its forward passes plus the L2
    term ``l2 / (2 m) sum ||W||^2`` (``m`` the training-set size; each batch's
    term weighted by its share of the examples). For full batch it is the cost
    of the parameters at the start of the epoch, before its update.

    Divergence: the run stops at the first epoch whose cost is not finite (or
    whose starting parameters are not finite); the parameters are put back to
    the last epoch start at which they were all finite, and the remaining costs
    are NaN. A last epoch whose update leaves non-finite parameters is undone
    the same way (its cost, finite, is kept).

    Everything runs in one compiled call: the epoch loop, the mini-batch loop and
    every layer, with the work buffers allocated once.
    """
    weights, biases, X, codes = _check_network(weights, biases, X, activations, contiguous=False)
    dtype = X.dtype
    n_x, m = X.shape
    Y = _matrix(Y, "Y")
    _same_dtype(dtype, Y=Y)
    if Y.shape != (weights[-1].shape[0], m):
        raise ValueError(f"Y must have shape {(weights[-1].shape[0], m)}, got {Y.shape}")
    if m == 0:
        raise ValueError("X must have at least one column (example)")
    epochs = int(epochs)
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    full_batch = batch_size is None or batch_size >= m
    if full_batch:
        batch = m
        orders = np.zeros((0, 0), np.intp)
    else:
        batch = int(batch_size)
        if batch < 1:
            raise ValueError(f"batch_size must be >= 1 or None, got {batch_size!r}")
        if orders is None:
            raise ValueError("orders (epochs, m) is required for mini-batch training")
        orders = np.ascontiguousarray(orders, dtype=np.intp)
        if orders.ndim != 2 or orders.shape[0] < epochs or orders.shape[1] != m:
            raise ValueError(f"orders must have shape ({epochs}, {m}), got {orders.shape}")
        if orders.size and (orders.min() < 0 or orders.max() >= m):
            raise ValueError(f"orders must hold example indices in [0, {m})")
    if velocities is None:
        velocities = ([np.zeros_like(W) for W in weights], [np.zeros_like(b) for b in biases])
    v_weights, v_biases = velocities
    if len(v_weights) != len(weights) or len(v_biases) != len(biases):
        raise ValueError("velocities must hold one array per weight and per bias")
    for name, params, vs in (("weights", weights, v_weights), ("biases", biases, v_biases)):
        for l, (p, v) in enumerate(zip(params, vs)):
            if not isinstance(v, np.ndarray) or v.dtype != dtype or v.shape != p.shape:
                raise ValueError(f"velocities of {name}[{l}] must be an array of shape {p.shape} "
                                 f"and dtype {dtype}")
            if not (p.flags.writeable and v.flags.writeable):
                raise ValueError(f"{name}[{l}] and its velocity must be writeable (trained in place)")
    # compiled code takes C-contiguous arrays: copy in and back out where needed
    arrays = [weights, biases, list(v_weights), list(v_biases)]
    copies = [[p if _writeable_c(p) else np.ascontiguousarray(p) for p in group] for group in arrays]
    dt = dtype.type
    costs = np.full(epochs, np.nan)
    if epochs:
        _ready()
        X_in, XT_in, make_X, make_XT = _input_layouts(X, weights[0].shape[0], batch)
        if not _writeable_c(Y):
            Y = np.array(Y, order="C")
        filler = np.empty((0, 0), dtype)
        # One owner of the cores: when a product of the run goes to OpenBLAS (whose threads
        # spin for a while after each call), Numba's parallel regions get one thread.
        threads = numba.get_num_threads()
        if any(_blas_pays(W.shape[0], min(batch, m), W.shape[1]) for W in weights):
            numba.set_num_threads(1)
        try:
            _train_kernel(*[_padded(group, filler) for group in copies], len(weights),
                          X_in, XT_in, Y, _padded(codes, 0), dt(LEAKY_SLOPE), epochs,
                          dt(learning_rate), dt(momentum), dt(1 - momentum), float(l2), batch,
                          orders, costs, make_X, make_XT)
        finally:
            numba.set_num_threads(threads)
    for group, copied in zip(arrays, copies):
        for p, c in zip(group, copied):
            if p is not c:
                p[...] = c
    return costs
