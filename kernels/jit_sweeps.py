"""The element-wise passes of the JIT variant, each fused into one sweep over its arrays.

    elementwise(mode, z, dA, out, code, slope)  g(z), g'(z) or dA * g'(z) of a hidden activation
    softmax_columns(Z, out, colmax, colsum)     column-wise softmax (column_max: its first pass)
    bias_activation(Z, b, code, slope)          in place Z <- g(Z + b): the pass after a forward product
    derivative_from_output(dA, A, code, slope, db, inv_m)
                                                in place dA <- dA * g'(Z) from A = g(Z), and db
    OUTPUT_SWEEPS[code](Z, b, Y, dZ, db, inv_m, colmax, colsum, w)
                                                the output layer: Z + b, the loss, dZ = A - Y, db
                                                (output_sweep: the same, code an argument)
    loss_sum(code, Z, Y)                        the loss of an output code, summed over examples
    scale_gradient(dW, W, inv_m, l2c)           in place dW <- dW inv_m + l2c W
    sum_squares(x), finite_check(x), transpose(A, AT)
    matrix_view(flat, start, rows, cols)        a (rows, cols) view of part of a flat buffer
    vector_view(flat, start, n)                 flat[start:start + n], as the run's views (no reference)

Activation codes are ``kernels.contract``'s. Arrays are C-contiguous; float32 stays float32
(constants are typed from the arrays' dtype).
"""

import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.core.imputils import impl_ret_untracked
from numba.extending import intrinsic
from numba.np.arrayobj import make_array, populate_array

from . import jit_math
from .contract import ACTIVATION_CODES
from .jit_vectors import wide_vectors

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

#: what ``elementwise`` computes
FORWARD, DERIVATIVE, BACKWARD = 0, 1, 2


@njit(**_JIT)
def elementwise(mode, z, dA, out, code, slope):
    """One flat sweep for a hidden activation code: ``out = g(z)`` (FORWARD),
    ``g'(z)`` (DERIVATIVE) or ``dA * g'(z)`` (BACKWARD; ``dA`` is unused otherwise).
    One kernel for the three keeps the compilations few."""
    wide_vectors()
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


@njit(inline="always", **_JIT)  # one caller in a fit: compiled there, not also alone
def column_max(Z, colmax):
    """``colmax[j] = max_k Z[k, j]``, rows swept whole (contiguous, vectorised)."""
    n, m = Z.shape
    z0 = Z[0]
    for j in range(m):
        colmax[j] = z0[j]
    for k in range(1, n):
        zk = Z[k]
        for j in range(m):
            v = zk[j]
            colmax[j] = v if v > colmax[j] else colmax[j]


@njit(**_JIT)
def softmax_columns(Z, out, colmax, colsum):
    """Column-wise softmax of Z (n, m) into out, shifted by the column max.

    Rows are swept whole (contiguous, vectorised), with per-column running max
    and sum in ``colmax``/``colsum`` (length m).
    """
    wide_vectors()
    n, m = Z.shape
    column_max(Z, colmax)
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


@njit(**_JIT)
def transpose(A, AT):
    """``AT[:, :] = A.T``, in 32 x 32 tiles (both sides stay in cache)."""
    wide_vectors()
    n, m = A.shape
    for i0 in range(0, n, 32):
        i1 = min(i0 + 32, n)
        for j0 in range(0, m, 32):
            for j in range(j0, min(j0 + 32, m)):
                row = AT[j]
                for i in range(i0, i1):
                    row[i] = A[i, j]


@njit(**_JIT)
def bias_activation(Z, b, code, slope):
    """In place: ``Z[i, :] = g(Z[i, :] + b[i])`` (the pass after the forward product)."""
    wide_vectors()
    n, m = Z.shape
    zero = Z.dtype.type(0)
    for i in range(n):
        row = Z[i]
        bi = b[i]
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
def derivative_from_output(dA, A, code, slope, db, inv_m):
    """In place ``dA <- dA * g'(Z)`` with ``g'`` computed from ``A = g(Z)``, and
    ``db[i] = sum_j dA[i, j] * inv_m``: the backward's one element-wise sweep.

    relu/leaky relu: ``A > 0`` exactly where ``Z > 0``; sigmoid ``A (1 - A)``; tanh ``1 - A^2``.
    """
    wide_vectors()
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


@njit(inline="always", **_JIT)  # the output sweeps' alone: compiled there, not also apart
def _sum_float64(x, w):
    """``sum_j x[j] (* w[j])`` in float64 (``w`` empty: unweighted).

    The output sweeps write each example's loss to a scratch row and sums it here: with the
    float64 sum in its loop, a float32 sweep vectorised at half width."""
    total = 0.0
    if w.shape[0] > 0:
        for j in range(x.shape[0]):
            total += np.float64(x[j]) * np.float64(w[j])
    else:
        for j in range(x.shape[0]):
            total += np.float64(x[j])
    return total


# The output layer's sweep, one kernel per output code: a fit compiles only its own (the three
# in one kernel took about three times as long to compile: docs/performance.md). Each takes
# ``(Z, b, Y, dZ, db, inv_m, colmax, colsum, w)``: ``Z += b``, ``A = g(Z)``, the loss summed over
# the batch (float64; the cost times the batch size), ``dZ = A - Y`` and ``db = rowsum(dZ) *
# inv_m``. ``Z`` keeps ``Z + b``; A itself is never stored. ``w``: the batch's sample weights
# (one per column), or empty for none: then each column's loss and ``dZ`` are multiplied by its
# weight in the same pass (``dZ = w (A - Y)``; ``inv_m`` is then one over the batch's weight
# sum). ``colmax``, ``colsum``: scratch of at least m elements (softmax's column sums; the other
# codes' losses per example).


@njit(**_JIT)
def sigmoid_output_sweep(Z, b, Y, dZ, db, inv_m, colmax, colsum, w):
    """The sigmoid output's sweep, with binary cross-entropy (see above)."""
    wide_vectors()
    n, m = Z.shape
    zero = Z.dtype.type(0)
    one = Z.dtype.type(1)
    weighted = w.shape[0] > 0
    loss = 0.0
    for i in range(n):
        z = Z[i]
        y = Y[i]
        d = dZ[i]
        bi = b[i]
        s = zero
        for j in range(m):
            v = z[j] + bi
            e = jit_math.exp(-abs(v))
            a = (one if v >= zero else e) / (one + e)
            # softplus(v) - y v, softplus(v) = max(v, 0) + log1p(exp(-|v|))
            colsum[j] = (v if v > zero else zero) - y[j] * v + jit_math.log1p_unit(e)
            g = a - y[j]
            if weighted:
                g *= w[j]
            d[j] = g
            s += g
        db[i] = s * inv_m
        loss += _sum_float64(colsum[:m], w)
    return loss


@njit(**_JIT)
def softmax_output_sweep(Z, b, Y, dZ, db, inv_m, colmax, colsum, w):
    """The softmax output's sweep, with categorical cross-entropy (see above)."""
    wide_vectors()
    n, m = Z.shape
    zero = Z.dtype.type(0)
    weighted = w.shape[0] > 0
    loss = 0.0
    for i in range(n):
        z = Z[i]
        bi = b[i]
        for j in range(m):
            z[j] += bi
    softmax_columns(Z, dZ, colmax, colsum)
    # log-sum-exp = max + log(sum exp(z - max)); loss = sum_k y_k (lse - z_k)
    for j in range(m):
        colsum[j] = colmax[j] + jit_math.log(colsum[j])
    for i in range(n):
        z = Z[i]
        y = Y[i]
        d = dZ[i]
        s = zero
        for j in range(m):
            lj = np.float64(y[j] * (colsum[j] - z[j]))
            g = d[j] - y[j]
            if weighted:
                lj *= np.float64(w[j])
                g *= w[j]
            loss += lj
            d[j] = g
            s += g
        db[i] = s * inv_m
    return loss


@njit(**_JIT)
def linear_output_sweep(Z, b, Y, dZ, db, inv_m, colmax, colsum, w):
    """The linear output's sweep, with half the squared error (see above)."""
    wide_vectors()
    n, m = Z.shape
    zero = Z.dtype.type(0)
    weighted = w.shape[0] > 0
    loss = 0.0
    for i in range(n):
        z = Z[i]
        y = Y[i]
        d = dZ[i]
        bi = b[i]
        s = zero
        for j in range(m):
            v = z[j] + bi
            g = v - y[j]
            colsum[j] = g * g
            if weighted:
                g *= w[j]
            d[j] = g
            s += g
        db[i] = s * inv_m
        loss += _sum_float64(colsum[:m], w)
    return loss * 0.5


#: the output layer's sweep of each output code
OUTPUT_SWEEPS = {
    SIGMOID: sigmoid_output_sweep,
    SOFTMAX: softmax_output_sweep,
    LINEAR: linear_output_sweep,
}


def output_sweep(Z, b, Y, code, dZ, db, inv_m, colmax, colsum, w):
    """The sweep of output ``code`` (``OUTPUT_SWEEPS``) on these arguments, from Python."""
    return OUTPUT_SWEEPS[code](Z, b, Y, dZ, db, inv_m, colmax, colsum, w)


@njit(**_JIT)
def sum_squares(x):
    """The sum of squares of a 1-D array (an index loop: ``ravel`` was 0.2 s more compilation)."""
    wide_vectors()
    s = x.dtype.type(0)
    for i in range(x.shape[0]):
        s += x[i] * x[i]
    return s


@njit(**_JIT)
def finite_check(x):
    """0 if every element of a 1-D array is finite, else NaN."""
    wide_vectors()
    zero = x.dtype.type(0)
    s = zero
    for i in range(x.shape[0]):
        s += x[i] * zero
    return s


@njit(**_JIT)
def loss_sum(code, Z, Y):
    """The loss summed over examples (float64) for an output code: SIGMOID binary
    cross-entropy from Z, SOFTMAX categorical cross-entropy from Z (log-sum-exp),
    LINEAR the squared error of ``Z`` (there: A) summed, not halved."""
    wide_vectors()
    n, m = Z.shape
    zero = Z.dtype.type(0)
    loss = 0.0
    if code == SIGMOID:
        for i in range(n):
            z = Z[i]
            y = Y[i]
            for j in range(m):
                v = z[j]
                loss += np.float64(
                    (v if v > zero else zero)
                    - y[j] * v
                    + jit_math.log1p_unit(jit_math.exp(-abs(v)))
                )
    elif code == SOFTMAX:
        colmax = np.empty(m, Z.dtype)
        colsum = np.empty(m, Z.dtype)
        column_max(Z, colmax)
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


@njit(**_JIT)
def scale_gradient(dW, W, inv_m, l2c):
    """In place ``dW <- dW * inv_m + l2c * W`` (the weight gradient of a batch, with L2)."""
    wide_vectors()
    zero = W.dtype.type(0)
    for i in range(dW.shape[0]):
        g = dW[i]
        w = W[i]
        if l2c != zero:
            for k in range(g.size):
                g[k] = g[k] * inv_m + w[k] * l2c
        else:
            for k in range(g.size):
                g[k] = g[k] * inv_m


# The run's views of its flat buffers hold no reference (a null meminfo): making and dropping a
# counted view is an atomic increment and decrement in a call each, and these were a third of
# an iteration of a small net. Valid only while the buffer itself is alive: the run takes them
# of its arguments and of buffers it keeps for the whole call, and no view leaves the run.


@intrinsic
def matrix_view(typingctx, flat, start, rows, cols):
    """``flat[start:start + rows * cols]`` as a C-ordered (rows, cols) array, sharing its memory
    and holding no reference to it (see above); the caller keeps it in bounds.

    ``reshape`` would do, but its error path (a formatted message with the shapes) costs about
    a second of compilation in every process with an empty cache; the callers compute the
    sizes from shapes checked in Python, so there is nothing for that path to catch."""
    if not (isinstance(flat, types.Array) and flat.ndim == 1 and flat.layout == "C"):
        return None
    view_type = flat.copy(ndim=2, layout="C")

    def codegen(context, builder, signature, args):
        start_value, rows_value, cols_value = (
            context.cast(builder, value, ty, types.intp)
            for value, ty in zip(args[1:], signature.args[1:])
        )
        return _view(
            context, builder, flat, args[0], view_type, start_value, [rows_value, cols_value]
        )

    return view_type(flat, start, rows, cols), codegen


@intrinsic
def vector_view(typingctx, flat, start, n):
    """``flat[start:start + n]`` for ``start >= 0``, clamped to ``flat`` as that slice is,
    holding no reference to it (see above)."""
    if not (isinstance(flat, types.Array) and flat.ndim == 1 and flat.layout == "C"):
        return None

    def codegen(context, builder, signature, args):
        start_value, n_value = (
            context.cast(builder, value, ty, types.intp)
            for value, ty in zip(args[1:], signature.args[1:])
        )
        size = make_array(flat)(context, builder, value=args[0]).nitems
        start_value = _smaller(builder, start_value, size)
        n_value = _smaller(builder, n_value, builder.sub(size, start_value))
        return _view(context, builder, flat, args[0], flat, start_value, [n_value])

    return flat(flat, start, n), codegen


def _smaller(builder, a, b):
    return builder.select(builder.icmp_signed("<", a, b), a, b)


def _view(context, builder, flat, flat_value, view_type, start, shape):
    """An untracked C-ordered array of ``view_type`` and ``shape`` over ``flat`` from ``start``."""
    source = make_array(flat)(context, builder, value=flat_value)
    view = make_array(view_type)(context, builder)
    itemsize = context.get_constant(
        types.intp, context.get_abi_sizeof(context.get_data_type(flat.dtype))
    )
    strides = [itemsize]
    for extent in reversed(shape[1:]):
        strides.insert(0, builder.mul(extent, strides[0]))
    populate_array(
        view,
        data=builder.gep(source.data, [start]),
        shape=cgutils.pack_array(builder, shape),
        strides=cgutils.pack_array(builder, strides),
        itemsize=itemsize,
        meminfo=cgutils.get_null_value(source.meminfo.type),
        parent=source.parent,
    )
    return impl_ret_untracked(context, builder, view_type, view._getvalue())
