"""The JIT variant's whole training run as one compiled call, and its forward pass.

``run`` (called by ``jit.train`` once its arguments are checked) trains in one call of
``train_kernel``: the epoch loop, the mini-batch loop and every layer, with no Python between
iterations and every work buffer allocated once per call; a last partial batch uses leading views
of the same flat buffers.

Parameters travel as one flat array (``W[1], b[1], W[2], b[2], ...``; the velocities likewise),
with the layer shapes, activation codes and product paths as small integer arrays: one compiled
signature per dtype serves every depth and width, and each layer's ``W``/``b`` is a view.

Per batch (``batch_step``):

- forward: the product ``W A_prev`` into the layer's buffer, then one sweep that adds ``b`` and
  applies ``g`` in place; ``Z`` is not kept: every hidden derivative is computed from ``A``;
- the output layer's sweep adds ``b``, computes the loss, ``dZ = A - Y`` and ``db`` in one pass;
- backward, last layer first: ``dW`` and ``dA_prev`` products (``dA_prev`` with ``W`` before its
  update, never for the first layer), then one sweep for ``dZ = dA * g'`` and ``db``;
- the update, one sweep per parameter: L2, momentum (the course's ``v = beta v + (1 - beta) dW``,
  ``W -= alpha v``) or Adam, saving the epoch's starting values on its first batch, and, as a
  by-product, a finiteness check.

Each product goes through ``jit_products.product`` on the path ``jit_products.choose`` measured
for its shape on this machine. The first layer's inputs come in the layout its products want: a
Fortran-ordered ``X`` is read as ``XT`` (m, n_x) without a copy; mini-batches are gathered as rows
of ``XT``; a full batch with a wide input may keep both layouts, and then each first-layer product
takes the form (nn or nt) and path measured fastest.

A wide first layer under full-batch descent may be trained in its Gram form instead
(``jit_gram``): its "weights" are then coefficients over the examples, its input ``G = X^T X``,
and ``W`` is formed again when the call ends; the FLOP count decides, per call. The large work
buffers come from one workspace the caller allocates (``workspace_layout``) and keeps with the
optimiser state for its next call.

No parallel region is opened: the products on OpenBLAS use its threads, the hand kernels are
serial, and the element-wise sweeps are below the size from which a parallel region pays (or sit
between OpenBLAS calls, whose spinning threads slow a Numba region several times). The costs, the
L2 term and the divergence rule are those of ``vectorized.train``.
"""

import functools
import math
import weakref

import numpy as np
from numba import njit, typeof, types
from numba.core import cgutils
from numba.extending import intrinsic
from numba.np.arrayobj import make_array

from . import jit_compile, jit_gram, jit_products
from .contract import sample_weight_total
from .jit_calls import address, borrowed, function_value
from .jit_products import NN, NT, TN, product
from .jit_sweeps import (
    LINEAR,
    OUTPUT_SWEEPS,
    SOFTMAX,
    bias_activation,
    derivative_from_output,
    finite_check,
    matrix_view,
    softmax_columns,
    sum_squares,
    transpose,
    vector_view,
)
from .jit_vectors import wide_vectors

FASTMATH = {"contract", "reassoc", "arcp", "nsz", "afn"}
_JIT = dict(cache=True, fastmath=FASTMATH, error_model="numpy")

#: The second layout of X is built (once per call) only up to this size.
MAX_LAYOUT_COPY_BYTES = 1 << 30
#: Full batches with at least this many inputs may keep X in both layouts (see ``_layouts``).
WIDE_INPUT = 64
#: The workspace starts on a cache line (bytes), and each of its buffers takes a multiple of
#: SEGMENT elements (64 bytes or more in either dtype): a vector's loads and stores then do not
#: straddle two lines where a buffer's rows do not (measured: docs/performance.md).
ALIGNMENT = 64
SEGMENT = 16
#: Mini-batches are gathered as rows of XT from this many inputs (a column gather is slower).
GATHER_ROWS_FROM = 8
#: The forms as compiled code here passes them: NumPy integers, which Numba types as int64.
#: A Python int global is a literal to it, and each literal form compiled ``product`` once more.
_NN, _NT, _TN = np.int64(NN), np.int64(NT), np.int64(TN)


@njit(**_JIT)
def update(param, grad, v, s, saved, save, lr, l2c, inv_m, rule):
    """One parameter's update, in one sweep (flat arrays): ``g = grad * inv_m (+ l2c * param)``,
    then the optimiser's rule; returns ``(sum param^2, fin)`` of the new values: their squares'
    sum, and a finiteness check (NaN iff one is not finite); the old values go to ``saved`` when
    ``save``.

    ``rule``: ``(adam, beta, one_minus_beta, beta2, one_minus_beta2, c1, c2, epsilon)`` in the
    parameters' dtype. Gradient descent (``adam`` False): the course's momentum,
    ``v = beta v + (1 - beta) g``, ``param -= lr v``. Adam: ``v`` as above with ``beta = beta1``,
    ``s = beta2 s + (1 - beta2) g^2``, ``param -= lr (v / c1) / (sqrt(s / c2) + epsilon)`` with
    the bias corrections ``c1 = 1 - beta1^t``, ``c2 = 1 - beta2^t`` of this update."""
    wide_vectors()
    adam, beta, one_minus_beta, beta2, one_minus_beta2, c1, c2, epsilon = rule
    n = param.size
    zero = param.dtype.type(0)
    sq = zero
    fin = zero
    if save:
        for i in range(n):
            saved[i] = param[i]
    if adam:
        for i in range(n):
            p = param[i]
            g = grad[i] * inv_m + l2c * p
            vi = beta * v[i] + one_minus_beta * g
            si = beta2 * s[i] + one_minus_beta2 * (g * g)
            v[i] = vi
            s[i] = si
            p = p - lr * (vi / c1) / (np.sqrt(si / c2) + epsilon)
            param[i] = p
            sq += p * p
            fin += p * zero
    else:
        for i in range(n):
            p = param[i]
            g = grad[i] * inv_m + l2c * p
            vi = beta * v[i] + one_minus_beta * g
            v[i] = vi
            p = p - lr * vi
            param[i] = p
            sq += p * p
            fin += p * zero
    return sq, fin


@njit(**_JIT)
def _gather_columns(source, idx, batch):
    """``batch[:, j] = source[:, idx[j]]``: a mini-batch's examples, row by row."""
    wide_vectors()
    for k in range(batch.shape[0]):
        src = source[k]
        dst = batch[k]
        for j in range(batch.shape[1]):
            dst[j] = src[idx[j]]


@njit(**_JIT)
def _restore(params, saved, gram):
    """``params[:] = saved`` (as a loop: a slice assignment compiles a second of error paths),
    and the Gram form's coefficients ``c, f`` likewise."""
    wide_vectors()
    for i in range(params.size):
        params[i] = saved[i]
    if gram.shape[0] > 0:
        gram[0], gram[1] = gram[4], gram[5]


@njit(inline="always", **_JIT)  # the step's alone: compiled there, not also apart
def _add_basis(Z, c, f, basis):
    """``Z += c P0 + f Q0``, ``basis`` = ``[P0; Q0]`` (2 n1, m): the Gram form's first layer's
    part of ``W X`` that lies outside the span of X's examples (see ``jit_gram``)."""
    n_l, nb = Z.shape
    for i in range(n_l):
        z = Z[i]
        p0 = basis[i]
        q0 = basis[n_l + i]
        for j in range(nb):
            z[j] += c * p0[j] + f * q0[j]


@njit(**_JIT)
def _gram_weight_squares(A, G, gram, basis, scratch, path, work, product):
    """``sum W[1]^2`` of the Gram form's first layer, ``W = c W0 + f V0 + A X^T``, without ``W``:
    ``c^2 |W0|^2 + 2 c f <W0, V0> + f^2 |V0|^2 + 2 <A, c P0 + f Q0> + <A, A G>`` (float64).
    ``product``: that kernel by address (``product_call``)."""
    wide_vectors()
    c, f = np.float64(gram[0]), np.float64(gram[1])
    n_l, m = A.shape
    product(_NN, path, A, borrowed(G), scratch, borrowed(work))
    s = c * c * np.float64(gram[8]) + 2.0 * c * f * np.float64(gram[9])
    s += f * f * np.float64(gram[10])
    for i in range(n_l):
        a = A[i]
        ag = scratch[i]
        p0 = basis[i]
        q0 = basis[n_l + i]
        for j in range(m):
            s += np.float64(a[j]) * (2.0 * (c * p0[j] + f * q0[j]) + ag[j])
    return s


# compiled apart and called only by address (step_call): no wrapper for calls from Python (its 31
# arguments' boxing was 0.08 s of its compilation)
@njit(no_cpython_wrapper=True, **_JIT)
def batch_step(
    params,
    velocity,
    moments,
    offsets,
    shapes,
    codes,
    paths,
    first_forms,
    A0,
    A0T,
    Y,
    slope,
    lr,
    rule,
    l2c,
    acts,
    grad_a,
    grad_b,
    dW,
    work,
    db,
    colmax,
    colsum,
    saved,
    save,
    sq,
    wb,
    norm,
    gram,
    basis,
    output_sweep,
    product,
    bias_activation,
):
    """Forward, loss, backward and update on one batch of ``nb`` examples.

    ``offsets[l]``: where layer l's ``W`` starts in ``params`` (its ``b`` follows it);
    ``paths[l]``: the paths of its forward, ``dW`` and ``dA_prev`` products; ``first_forms``:
    the forms of the first layer's forward (NN with ``A0`` (n_x, nb), or NT with ``A0T``
    (nb, n_x)) and ``dW`` (NT with ``A0``, or NN with ``A0T``). Returns ``(loss_sum, fin)``:
    the loss summed over the batch (float64), and ``fin``, NaN when an updated parameter is
    not finite. When the loss is not finite nothing is updated (the reference's rule).
    ``wb``: the batch's sample weights (empty: none), fused into the output sweep; ``norm``:
    what the batch's gradients are divided by (its size, or its weight sum; float64).
    ``gram``/``basis``: the Gram form of the first layer (``jit_gram``), or empty: then layer 1's
    "weights" are its coefficients ``A`` (n1, m), ``A0`` is ``G = X^T X``, ``Z += c P0 + f Q0``
    after the product, and ``A``'s gradient is ``dZ`` itself (no product).
    ``output_sweep``, ``product``, ``bias_activation``: those kernels by address
    (``output_sweep_call``, ``product_call``, ``bias_activation_call``): the step's largest
    callees, so that its compilation does not take their code through LLVM again.
    """
    wide_vectors()
    L = shapes.shape[0]
    dtype = acts.dtype
    zero = dtype.type(0)
    nb = Y.shape[1]
    inv_m = dtype.type(1.0 / norm)
    in_gram = gram.shape[0] > 0
    # forward: A[l] = g(W[l] A[l-1] + b[l]) into acts, layer after layer
    off = 0
    for l in range(L):
        n_l, n_in = shapes[l, 0], shapes[l, 1]
        p = offsets[l]
        W = matrix_view(params, p, n_l, n_in)
        Z = matrix_view(acts, off, n_l, nb)
        if l > 0:
            A_in = matrix_view(acts, off - n_in * nb, n_in, nb)
            product(_NN, paths[l, 0], W, A_in, Z, borrowed(work))
        elif first_forms[0] == NT:
            product(_NT, paths[0, 0], W, borrowed(A0T), Z, borrowed(work))
        else:
            product(_NN, paths[0, 0], W, borrowed(A0), Z, borrowed(work))
        if l == 0 and in_gram:
            _add_basis(Z, gram[0], gram[1], basis)
        if l < L - 1:
            bias_activation(Z, vector_view(params, p + n_l * n_in, n_l), codes[l], slope)
        off += n_l * nb
    # the output layer's sweep: its loss, dZ[L] = A[L] - Y (into grad_a) and db[L]
    n_out, n_last = shapes[L - 1, 0], shapes[L - 1, 1]
    p = offsets[L - 1] + n_out * n_last
    dZ = matrix_view(grad_a, 0, n_out, nb)
    loss = output_sweep(
        matrix_view(acts, off - n_out * nb, n_out, nb),
        vector_view(params, p, n_out),
        Y,
        dZ,
        db,
        inv_m,
        colmax,
        colsum,
        wb,
    )
    if not np.isfinite(loss):
        return loss, zero
    # backward and update, last layer first; dA[l-1] uses W[l] before its update
    fin = zero
    use_a = True
    for l in range(L - 1, -1, -1):
        n_l, n_in = shapes[l, 0], shapes[l, 1]
        p = offsets[l]
        n_w = n_l * n_in
        W = matrix_view(params, p, n_l, n_in)
        off -= n_l * nb
        dZ = matrix_view(grad_a if use_a else grad_b, 0, n_l, nb)
        g = matrix_view(dW, 0, n_l, n_in)
        grad = vector_view(dW, 0, n_w)
        if l == 0 and in_gram:
            grad = vector_view(grad_a if use_a else grad_b, 0, n_w)  # A's gradient: dZ (n1, m)
        elif l > 0:
            A_prev = matrix_view(acts, off - n_in * nb, n_in, nb)
            product(_NT, paths[l, 1], dZ, A_prev, g, borrowed(work))
            dA_prev = matrix_view(grad_b if use_a else grad_a, 0, n_in, nb)
            product(_TN, paths[l, 2], W, dZ, dA_prev, borrowed(work))
        elif first_forms[1] == NT:
            product(_NT, paths[0, 1], dZ, borrowed(A0), g, borrowed(work))
        else:
            product(_NN, paths[0, 1], dZ, borrowed(A0T), g, borrowed(work))
        w_sq, w_fin = update(
            vector_view(params, p, n_w),
            grad,
            vector_view(velocity, p, n_w),
            vector_view(moments, p, n_w),  # empty without Adam, as the slice
            vector_view(saved, p, n_w),
            save,
            lr,
            l2c,
            inv_m,
            rule,
        )
        bias_at = p + n_w
        b_sq, b_fin = update(
            vector_view(params, bias_at, n_l),
            vector_view(db, 0, n_l),
            vector_view(velocity, bias_at, n_l),
            vector_view(moments, bias_at, n_l),
            vector_view(saved, bias_at, n_l),
            save,
            lr,
            zero,
            dtype.type(1),
            rule,
        )
        sq[l] = w_sq
        fin += w_fin + b_fin
        if l == 0 and in_gram:  # c, f: W0's and V0's coefficients, with no gradient of their own
            _, c_fin = update(
                vector_view(gram, 0, 2),
                vector_view(gram, 6, 2),
                vector_view(gram, 2, 2),
                vector_view(gram, 2, 2),
                vector_view(gram, 4, 2),
                save,
                lr,
                l2c,
                inv_m,
                rule,
            )
            fin += c_fin
        if l > 0:
            derivative_from_output(dA_prev, A_prev, codes[l - 1], slope, db, inv_m)
        use_a = not use_a
    return loss, fin


@njit(**_JIT)
def workspace_layout(shapes, mb, n_params, full):
    """The sizes of the run's buffers, carved in this order from one workspace: the
    activations, two gradient buffers (each layer's dZ, then dA of the layer below), dW, the
    parameters saved at an epoch's start, a mini-batch of inputs and one of targets (none for
    a full batch), ``db``, and the output sweep's two scratch rows. Each size is rounded up to
    ``SEGMENT`` elements, so that in a workspace starting on a cache line every buffer does too.

    The caller allocates it with NumPy, which asks the OS for huge pages: 270 MB (the
    1024-1024-1024 net on 8192 examples) measured 13 ms to fault in with that advice, 94 without."""
    act_size = 0
    max_n = 0
    max_w = 0
    L = shapes.shape[0]
    for l in range(L):
        n_l, n_in = shapes[l, 0], shapes[l, 1]
        act_size += n_l * mb
        max_n = max(max_n, n_l)
        max_w = max(max_w, n_l * n_in)
    sizes = np.empty(10, np.int64)
    sizes[0] = act_size
    sizes[1] = sizes[2] = max_n * mb
    sizes[3] = max_w
    sizes[4] = n_params
    sizes[5] = 0 if full else shapes[0, 1] * mb
    sizes[6] = 0 if full else shapes[L - 1, 0] * mb
    sizes[7] = max_n
    sizes[8] = sizes[9] = mb
    for i in range(sizes.shape[0]):
        sizes[i] = -(-sizes[i] // SEGMENT) * SEGMENT
    return sizes


@njit(**_JIT)
def train_kernel(
    params,
    velocity,
    moments,
    offsets,
    shapes,
    codes,
    paths,
    first_forms,
    X,
    XT,
    Y,
    slope,
    epochs,
    rates,
    optimizer,
    l2,
    batch_size,
    orders,
    costs,
    make_X,
    make_XT,
    work,
    sample_weight,
    total_weight,
    gram,
    basis,
    workspace,
    callees,
):
    """The whole run (see ``run``): the epoch loop, the batch loop, every layer.

    The inputs come as ``X`` (n_x, m) and/or ``XT`` (m, n_x); ``make_X``/``make_XT`` build the
    missing layout from the other once per call. Mini-batches are gathered from ``XT`` (row
    copies) when there is one, else from ``X`` (column gathers). ``work``: the TILES path's
    buffer, or None when no product takes that path (its kernels are then not compiled in).

    ``rates``: the learning rate of each epoch (float64); ``optimizer``: ``(adam, beta, beta2,
    epsilon, first_update)`` in float64 (``beta``: momentum, or Adam's beta1; ``first_update``:
    Adam's t of the first update of this call); ``moments``: Adam's second moments (empty for
    gradient descent), laid out like ``params``. ``sample_weight``: (m,) or empty (no
    weights); ``total_weight``: its sum (float64), ``m`` without weights: the L2 term and the
    epoch's cost are divided by it (``kernels.contract``). ``gram``/``basis``: empty, or the first
    layer in its Gram form (``jit_gram``): ``gram`` = ``[c, f, their velocities, their saved
    values, two zeros, |W0|^2, <W0, V0>, |V0|^2]``, ``basis`` = ``[W0 X; V0 X]``.
    ``workspace``: at least ``sum(workspace_layout(...))`` elements, allocated by the caller.
    ``callees``: the addresses of the kernels it calls by address, in ``CALLEES``' order
    (``callee_addresses``): ``batch_step`` and ``_gram_weight_squares``, and what they call,
    passed on to them.
    """
    wide_vectors()
    # (one call each: Numba warns of an experimental feature when a tuple of them is unpacked)
    step = _callee(callees, STEP_AT, Y, work)
    weight_squares = _callee(callees, WEIGHT_SQUARES_AT, Y, work)
    output_sweep = _callee(callees, OUTPUT_SWEEP_AT, Y, work)
    product = _callee(callees, PRODUCT_AT, Y, work)
    bias_activation = _callee(callees, BIAS_ACTIVATION_AT, Y, work)
    dtype = Y.dtype
    zero = dtype.type(0)
    L = shapes.shape[0]
    n_y, m = Y.shape
    n_x = shapes[0, 1]
    if make_XT:
        XT = np.empty((m, n_x), dtype)
        transpose(X, XT)
    if make_X:
        X = np.empty((n_x, m), dtype)
        transpose(XT, X)
    mb = min(batch_size, m)
    full = mb >= m
    by_example = XT.shape[0] > 0
    weighted = sample_weight.shape[0] > 0
    l2c = dtype.type(l2 / total_weight)
    l2_cost = l2 / (2.0 * total_weight)
    adam, beta, beta2, epsilon, first_update = optimizer
    use_adam = adam != 0.0
    n_batches = (m + mb - 1) // mb

    # work buffers: the large ones carved from `workspace` (see workspace_layout), once per call
    max_n = 0
    for l in range(L):
        max_n = max(max_n, shapes[l, 0])
    ends = workspace_layout(shapes, mb, params.size, full)
    for i in range(1, ends.shape[0]):  # a running sum: np.cumsum is one more compilation
        ends[i] += ends[i - 1]
    acts = workspace[: ends[0]]
    grad_a = workspace[ends[0] : ends[1]]
    grad_b = workspace[ends[1] : ends[2]]
    dW = workspace[ends[2] : ends[3]]
    saved = workspace[ends[3] : ends[4]]
    x_batch = workspace[ends[4] : ends[5]]
    y_batch = workspace[ends[5] : ends[6]]
    db = workspace[ends[6] : ends[7]]
    colmax = workspace[ends[7] : ends[8]]
    colsum = workspace[ends[8] : ends[9]]
    w_batch = np.empty(0 if full or not weighted else mb, dtype)
    no_input = matrix_view(x_batch, 0, 0, 0)
    sq = np.empty(L, dtype)  # sum W^2 per layer, after each update (see the L2 term below)
    for l in range(L):
        sq[l] = sum_squares(params[offsets[l] : offsets[l] + shapes[l, 0] * shapes[l, 1]])
    finite = finite_check(params) == zero
    have_saved = False
    in_gram = gram.shape[0] > 0
    n_1 = shapes[0, 0]

    for epoch in range(epochs):
        if not finite:
            if have_saved:
                _restore(params, saved, gram)
            return
        saved_now = False  # does `saved` hold this epoch's start yet?
        total = 0.0
        lr = dtype.type(rates[epoch])
        for start in range(0, m, mb):
            t = first_update + epoch * n_batches + start // mb  # Adam's t of this update
            c1, c2 = 1.0, 1.0
            if use_adam:
                c1 = 1.0 - math.pow(beta, t)
                c2 = 1.0 - math.pow(beta2, t)
            rule = (
                use_adam,
                dtype.type(beta),
                dtype.type(1.0 - beta),
                dtype.type(beta2),
                dtype.type(1.0 - beta2),
                dtype.type(c1),
                dtype.type(c2),
                dtype.type(epsilon),
            )
            nb = min(mb, m - start)
            wb = sample_weight
            if not full and weighted:
                idx = orders[epoch, start : start + nb]
                wb = vector_view(w_batch, 0, nb)
                for j in range(nb):
                    wb[j] = sample_weight[idx[j]]
            share = float(nb)  # the batch's part of the examples: its size or its weight sum
            if weighted:
                share = 0.0
                for j in range(nb):
                    share += np.float64(wb[j])
            # the L2 term of this batch, from the current weights (NaN/inf when they are not).
            # With L2 its sum is taken afresh, so that a run cut into calls adds the same
            # numbers; without, only its finiteness counts (0 * inf is NaN, as the reference's
            # 0 * sum), and the update's by-product tells it.
            s = 0.0
            for l in range(L):
                if l2 != 0.0 and l == 0 and in_gram:
                    s += weight_squares(
                        matrix_view(params, 0, n_1, m),
                        borrowed(X),
                        borrowed(gram),
                        borrowed(basis),
                        matrix_view(dW, 0, n_1, m),
                        paths[0, 0],
                        borrowed(work),
                        product,
                    )
                elif l2 != 0.0:
                    n_w = shapes[l, 0] * shapes[l, 1]
                    s += np.float64(sum_squares(vector_view(params, offsets[l], n_w)))
                else:
                    s += np.float64(sq[l])
            if l2 != 0.0:
                total += l2_cost * s * share
            elif not np.isfinite(s):
                total += np.nan
            if full:
                Xb, XbT, Yb = X, XT, Y
            else:
                idx = orders[epoch, start : start + nb]
                Yb = matrix_view(y_batch, 0, n_y, nb)
                _gather_columns(Y, idx, Yb)
                if by_example:
                    XbT = matrix_view(x_batch, 0, nb, n_x)
                    for j in range(nb):
                        src = XT[idx[j]]
                        dst = XbT[j]
                        for k in range(n_x):
                            dst[k] = src[k]
                    Xb = no_input
                else:
                    Xb = matrix_view(x_batch, 0, n_x, nb)
                    _gather_columns(X, idx, Xb)
                    XbT = no_input
            norm = share if share > 0.0 else 1.0  # no inline branch in a call of 31 arguments
            loss, fin = step(
                borrowed(params),
                borrowed(velocity),
                borrowed(moments),
                borrowed(offsets),
                borrowed(shapes),
                borrowed(codes),
                borrowed(paths),
                borrowed(first_forms),
                borrowed(Xb),
                borrowed(XbT),
                borrowed(Yb),
                slope,
                lr,
                rule,
                l2c,
                borrowed(acts),
                borrowed(grad_a),
                borrowed(grad_b),
                borrowed(dW),
                borrowed(work),
                borrowed(db),
                borrowed(colmax),
                borrowed(colsum),
                borrowed(saved),
                not saved_now,
                borrowed(sq),
                borrowed(wb),
                norm,
                borrowed(gram),
                borrowed(basis),
                output_sweep,
                product,
                bias_activation,
            )
            total += loss
            if not np.isfinite(loss):
                break
            saved_now = True
            have_saved = True
            finite = fin == zero
            if not np.isfinite(total):
                break
        costs[epoch] = total / total_weight
        if not np.isfinite(costs[epoch]):
            if saved_now:
                _restore(params, saved, gram)
            return
    if not finite and have_saved:
        _restore(params, saved, gram)


# ---------------------------------------------------------------------------------------------
# The calls by address between the kernels (jit_calls), with their signatures
# ---------------------------------------------------------------------------------------------


def _kinds(dtype, tiles):
    """The Numba types of what the run's kernels pass each other: a scalar of the dtype, a C
    vector, a C matrix, and the TILES path's work buffer (a vector) or None."""
    vector = typeof(np.empty(1, dtype))
    return (
        typeof(dtype.type(0)),
        vector,
        typeof(np.empty((1, 1), dtype)),
        (vector if tiles else types.none),
    )


def _output_sweep_signature(dtype):
    """The output sweeps' signature (``jit_sweeps.OUTPUT_SWEEPS``), as ``batch_step`` calls one."""
    dt, vector, matrix, _ = _kinds(dtype, False)
    return types.float64(matrix, vector, matrix, matrix, vector, dt, vector, vector, vector)


#: What ``train_kernel`` calls by address, in the order of its ``callees``
CALLEES = ("step", "weight_squares", "output_sweep", "product", "bias_activation")
STEP_AT, WEIGHT_SQUARES_AT, OUTPUT_SWEEP_AT, PRODUCT_AT, BIAS_ACTIVATION_AT = range(len(CALLEES))


@functools.cache  # a signature takes 0.1-0.3 ms to build; a run calls this each time
def callee_addresses(dtype, tiles, output):
    """The addresses of ``train_kernel``'s callees (``CALLEES``) for this dtype, kind of work
    buffer and output code, as the integers it takes (read-only: a wrong one would crash)."""
    calls = list(_callee_calls(dtype, tiles))
    calls[OUTPUT_SWEEP_AT] = output_sweep_call(dtype, output)
    addresses = np.array([call.__wrapper_address__() for call in calls], np.intp)
    addresses.flags.writeable = False
    return addresses


def _callee_calls(dtype, tiles):
    """The ``Address`` of each of ``CALLEES`` (the output sweep's: any code's, one type)."""
    return (
        step_call(dtype, tiles),
        weight_squares_call(dtype, tiles),
        output_sweep_call(dtype, SOFTMAX),
        product_call(dtype, tiles),
        bias_activation_call(dtype),
    )


@intrinsic(prefer_literal=True)
def _callee(typingctx, addresses, index, like, work):
    """``CALLEES[index]`` made from its address in ``addresses`` (``callee_addresses``), as the
    first-class function ``train_kernel`` calls or passes on, typed for the dtype of ``like``
    and the kind of ``work`` (None: no TILES path)."""
    if not isinstance(index, types.IntegerLiteral):
        return None
    dtype, tiles = np.dtype(like.dtype.name), not isinstance(work, types.NoneType)
    kind = _callee_calls(dtype, tiles)[index.literal_value].function_type

    def codegen(context, builder, signature, args):
        array = make_array(signature.args[0])(context, builder, args[0])
        at = cgutils.gep(builder, array.data, index.literal_value)
        return function_value(context, builder, kind, builder.load(at))

    return kind(addresses, index, like, work), codegen


@functools.cache  # a signature takes 0.1-0.3 ms to build; a run calls these each time
def output_sweep_call(dtype, code):
    """The output sweep of output ``code`` by address, as ``batch_step`` calls it."""
    return address(OUTPUT_SWEEPS[code], _output_sweep_signature(dtype))


@functools.cache  # a signature takes 0.1-0.3 ms to build; a run calls these each time
def bias_activation_call(dtype):
    """``bias_activation`` by address, as ``batch_step`` calls it."""
    dt, vector, matrix, _ = _kinds(dtype, False)
    return address(bias_activation, types.none(matrix, vector, types.int64, dt))


@functools.cache  # a signature takes 0.1-0.3 ms to build; a run calls these each time
def product_call(dtype, tiles):
    """``product`` by address, as ``batch_step`` and ``_gram_weight_squares`` call it."""
    _, _, matrix, work = _kinds(dtype, tiles)
    signature = types.none(types.int64, types.int64, matrix, matrix, matrix, work)
    return address(product, signature)


@functools.cache  # a signature takes 0.1-0.3 ms to build; a run calls these each time
def weight_squares_call(dtype, tiles):
    """``_gram_weight_squares`` by address, as ``train_kernel`` calls it."""
    dt, vector, matrix, work = _kinds(dtype, tiles)
    product = typeof(product_call(dtype, tiles))
    signature = types.float64(matrix, matrix, vector, matrix, matrix, types.int64, work, product)
    return address(_gram_weight_squares, signature)


@functools.cache  # a signature takes 0.1-0.3 ms to build; a run calls these each time
def step_call(dtype, tiles):
    """``batch_step`` by address, as ``train_kernel`` calls it, for this dtype and kind of work
    buffer (the TILES path's when ``tiles``)."""
    return address(batch_step, step_signature(dtype, tiles))


def step_signature(dtype, tiles):
    """``batch_step``'s signature as ``train_kernel`` calls it, typed from placeholder values of
    each argument's kind (the run passes C-ordered views of its buffers)."""
    dtype = np.dtype(dtype)
    dt = dtype.type
    vector, matrix = np.empty(1, dtype), np.empty((1, 1), dtype)
    ints, int_matrix = np.empty(1, np.int64), np.empty((1, 1), np.int64)
    rule = (False,) + (dt(0),) * 7
    example = (vector, vector, vector, ints, int_matrix, ints, int_matrix, ints)
    example += (matrix, matrix, matrix, dt(0), dt(0), rule, dt(0))
    example += (vector, vector, vector, vector, vector if tiles else None, vector, vector, vector)
    example += (vector, True, vector, vector, 0.0, vector, matrix)
    example += (product_call(dtype, tiles), bias_activation_call(dtype))
    arguments = [typeof(value) for value in example]
    # every output code's sweep has this type: one step serves them all
    arguments.insert(-2, types.FunctionType(_output_sweep_signature(dtype)))
    returns = types.Tuple((types.float64, typeof(dt(0))))
    return returns(*arguments)


# ---------------------------------------------------------------------------------------------
# Python side: the flat parameters, the layouts of X, the product paths
# ---------------------------------------------------------------------------------------------


def flatten(weights, biases):
    """``(params, offsets, shapes)``: the parameters in one flat array, where each layer's W
    starts, and the layer shapes (n[l], n[l-1])."""
    shapes = np.array([W.shape for W in weights], dtype=np.int64).reshape(-1, 2)
    sizes = [W.size + b.size for W, b in zip(weights, biases)]
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    params = np.concatenate([a.reshape(-1) for W, b in zip(weights, biases) for a in (W, b)])
    return params, offsets, shapes


def unflatten_into(params, offsets, weights, biases):
    """Copy a flat array back into the layers' arrays (in place)."""
    for p, W, b in zip(offsets, weights, biases):
        W[...] = params[p : p + W.size].reshape(W.shape)
        b[...] = params[p + W.size : p + W.size + b.size].reshape(b.shape)


def _writeable_c(x):
    return x.flags.c_contiguous and x.flags.writeable


def _first_layer_plan(X, n_1, batch, dtype, epochs):
    """``(X, XT, make_X, make_XT, forward form, dW form, forward path, dW path)`` for the first
    layer: which layouts of the inputs the run uses, each an array or an empty placeholder, and
    which to build from the other; the forms and paths of its two products.

    Mini-batches: rows of ``XT`` from GATHER_ROWS_FROM inputs on (nt forward, nn dW), else
    columns of X. Full batch: X as given (a Fortran-ordered X is XT); with a wide input the other
    layout too, when a form it allows measured faster for a product by more, over the call's
    ``epochs``, than building that layout takes.
    """
    n_x, m = X.shape
    nb = min(batch, m)
    empty = np.empty((0, 0), dtype)
    affordable = X.nbytes <= MAX_LAYOUT_COPY_BYTES
    if X.flags.f_contiguous and not X.flags.c_contiguous:
        have_X, have_XT, XT, X = False, True, X.T, None
    else:
        have_X, have_XT, XT, X = True, False, None, X
    if batch < m:
        use_XT = have_XT or (n_x >= GATHER_ROWS_FROM and affordable)
        forms = (NT, NN) if use_XT else (NN, NT)
        want_X, want_XT = not use_XT, use_XT
    else:
        given = (NN, NT) if have_X else (NT, NN)
        forms = given
        if n_x >= WIDE_INPUT and affordable:
            forms = (
                _fastest_form([NN, NT], n_1, nb, n_x, dtype),
                _fastest_form([NT, NN], n_1, n_x, nb, dtype),
            )
            if forms != given and not _other_layout_pays(given, forms, n_1, n_x, nb, epochs, dtype):
                forms = given
        want_X = NN in forms[:1] or NT in forms[1:]
        want_XT = NT in forms[:1] or NN in forms[1:]
    paths = (
        jit_products.choose(forms[0], n_1, nb, n_x, dtype),
        jit_products.choose(forms[1], n_1, n_x, nb, dtype),
    )
    make_X, make_XT = want_X and X is None, want_XT and XT is None
    # a layout is passed when the run uses it or builds the other from it
    X = X if want_X or make_XT else None
    XT = XT if want_XT or make_X else None
    # one array type for every call (compiled code is specialised on it): writeable C
    arrays = [
        empty if a is None else a if _writeable_c(a) else np.array(a, order="C") for a in (X, XT)
    ]
    return (*arrays, make_X, make_XT, *forms, *paths)


def _other_layout_pays(given, forms, n_1, n_x, m, epochs, dtype):
    """Whether building X's other layout (once per call) costs less than the time the faster
    ``forms`` save over the ``given`` ones in ``epochs`` epochs, as measured here."""

    def epoch_seconds(pair):
        forward = jit_products.seconds(pair[0], n_1, m, n_x, dtype)
        dW = jit_products.seconds(pair[1], n_1, n_x, m, dtype)
        return None if None in (forward, dW) else forward + dW

    slow, fast = epoch_seconds(given), epoch_seconds(forms)
    if slow is None or fast is None:
        return False  # a rule chose a path (OpenBLAS takes either layout): nothing to gain
    source = (n_x, m) if given[0] == NN else (m, n_x)  # the layout the call would transpose
    return epochs * (slow - fast) > jit_products.transpose_seconds(*source, dtype)


def _fastest_form(forms, M, N, K, dtype):
    """Of the forms a product can take (one layout of X each), the one with the fastest path."""
    times = [jit_products.seconds(form, M, N, K, dtype) for form in forms]
    if len(forms) == 1 or None in times:
        return forms[0]
    return forms[times.index(min(times))]


def _work(shapes, paths, dtype):
    """The TILES path's work buffer for every product of a network, or None where no product
    takes that path."""
    if not (paths == jit_products.TILES).any():
        return None
    return np.empty(jit_products.work_size(int((shapes[:, 0] * shapes[:, 1]).max()), 1, 1), dtype)


#: Each optimiser state's workspace, kept for its next call (see ``_workspace``).
_workspaces = weakref.WeakKeyDictionary()


def _workspace(state, size, dtype):
    """The run's work buffer (``workspace_layout``): the one this optimiser state's previous
    call used when it is large enough, else a new one, kept with the state. A fit carries one
    state from chunk to chunk, so its calls after the first touch no new memory, which the OS
    would fault in and zero again (measured: 10-35 ms a one-epoch call, of about 500, for the
    1024-1024-1024 net on 8192 examples, 270 MB); the buffer goes when the state does."""
    kept = _workspaces.get(state)
    if kept is None or kept.dtype != dtype or kept.size < size:
        _workspaces.pop(state, None)  # the old one first: never both at once
        kept = _aligned_empty(size, dtype)
        _workspaces[state] = kept
    return kept[:size]


def _aligned_empty(size, dtype):
    """``np.empty(size, dtype)`` starting on an ``ALIGNMENT``-byte boundary (NumPy's own start
    on 16)."""
    itemsize = np.dtype(dtype).itemsize
    raw = np.empty(size * itemsize + ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return raw[start : start + size * itemsize].view(dtype)


def run(
    weights,
    biases,
    X,
    Y,
    codes,
    epochs,
    rates,
    batch,
    optimizer,
    l2,
    orders,
    state,
    slope,
    sample_weight=None,
    gram_allowed=True,
):
    """Train ``weights``/``biases`` and the moments of ``state`` (a ``contract.OptimizerState``)
    in place; return the costs (see ``jit.train``, which checks every argument first).
    ``rates``: the learning rate of each epoch; ``optimizer``: ``(adam, beta, beta2, epsilon)``;
    ``sample_weight``: (m,) in X's dtype, or None (passed as an empty array: one signature).
    ``gram_allowed``: False keeps the first layer in the usual form (see ``jit_gram``); a call
    whose Gram form would overflow (W, V or G not finite) is made again that way, from the
    same arguments (nothing is written back before)."""
    dtype = X.dtype
    output = int(codes[-1])
    jit_compile.ensure_compiled(dtype, output=output)  # before any kernel, the calibration's too
    n_x, m = X.shape
    nb = min(batch, m)
    adam = state.s_weights is not None and optimizer[0]
    n_1 = weights[0].shape[0]
    gram_form = None
    moving = bool(optimizer[1] != 0 and np.any(state.v_weights[0]))  # V0 enters W (jit_gram)
    if gram_allowed and jit_gram.pays(n_1, n_x, m, epochs, batch, adam, l2, moving, dtype):
        gram_form = jit_gram.GramForm(weights[0], state.v_weights[0], X, moving)
        if not gram_form.usable():
            gram_form = None
    first = [gram_form.coefficients] if gram_form else weights[:1]
    first_v = [gram_form.velocity] if gram_form else state.v_weights[:1]
    params, offsets, shapes = flatten(first + weights[1:], biases)
    velocity, _, _ = flatten(first_v + state.v_weights[1:], state.v_biases)
    moments = flatten(state.s_weights, state.s_biases)[0] if adam else np.empty(0, dtype)
    if gram_form:
        X_in, XT_in, make_X, make_XT = gram_form.G, np.empty((0, 0), dtype), False, False
        forward_form = dW_form = NN
        forward_path, dW_path = jit_products.choose(NN, n_1, m, m, dtype), jit_products.LOOPS
    else:
        (X_in, XT_in, make_X, make_XT, forward_form, dW_form, forward_path, dW_path) = (
            _first_layer_plan(X, n_1, batch, dtype, epochs)
        )
    paths = np.zeros((len(shapes), 3), np.int64)
    paths[0, 0], paths[0, 1] = forward_path, dW_path
    for l in range(1, len(shapes)):
        n_l, n_in = shapes[l]
        paths[l] = (
            jit_products.choose(NN, n_l, nb, n_in, dtype),
            jit_products.choose(NT, n_l, n_in, nb, dtype),
            jit_products.choose(TN, n_in, nb, n_l, dtype),
        )
    if not _writeable_c(Y):
        Y = np.array(Y, order="C")
    tiles = bool((paths == jit_products.TILES).any())
    if tiles:
        jit_compile.ensure_compiled(dtype, tiles=True)
    costs = np.full(epochs, np.nan)
    rule = tuple(float(x) for x in optimizer) + (float(state.step + 1),)
    train_kernel(
        params,
        velocity,
        moments,
        offsets,
        shapes,
        np.asarray(codes, np.int64),
        paths,
        np.array([forward_form, dW_form], np.int64),
        X_in,
        XT_in,
        Y,
        dtype.type(slope),
        epochs,
        np.asarray(rates, np.float64),
        rule,
        float(l2),
        batch,
        orders,
        costs,
        make_X,
        make_XT,
        _work(shapes, paths, dtype),
        np.empty(0, dtype) if sample_weight is None else sample_weight,
        sample_weight_total(sample_weight, m),
        gram_form.gram if gram_form else np.empty(0, dtype),
        gram_form.basis if gram_form else np.empty((0, 0), dtype),
        _workspace(state, int(workspace_layout(shapes, nb, params.size, batch >= m).sum()), dtype),
        callee_addresses(dtype, tiles, output),
    )
    if gram_form:
        formed = gram_form.formed(params[: n_1 * m], velocity[: n_1 * m])
        if formed is None:
            args = (weights, biases, X, Y, codes, epochs, rates, batch, optimizer, l2, orders)
            return run(*args, state, slope, sample_weight, gram_allowed=False)
    unflatten_into(params, offsets, first + weights[1:], biases)
    unflatten_into(velocity, offsets, first_v + state.v_weights[1:], state.v_biases)
    if gram_form:
        weights[0][...], state.v_weights[0][...] = formed
    if adam:
        unflatten_into(moments, offsets, state.s_weights, state.s_biases)
    return costs


def forward(weights, biases, X, codes, slope):
    """``A[L]`` for checked arguments (see ``jit.forward``): layer by layer from Python, with the
    training run's compiled product and sweeps (a few microseconds of Python a layer; no kernel of
    its own to compile)."""
    dtype = X.dtype
    # no output sweep runs here (a classifier's predict asks for a linear output): only
    # softmax's columns, which compile with softmax's sweep
    jit_compile.ensure_compiled(dtype, output=SOFTMAX if codes[-1] == SOFTMAX else None)
    m = X.shape[1]
    dt = dtype.type
    A = np.ascontiguousarray(X)
    for W, b, code in zip(weights, biases, codes):
        n_l, n_in = W.shape
        Z = np.empty((n_l, m), dtype)
        if m:
            path = jit_products.choose(NN, n_l, m, n_in, dtype)
            work = None
            if path == jit_products.TILES:
                jit_compile.ensure_compiled(dtype, tiles=True)
                work = np.empty(jit_products.work_size(n_l, m, n_in), dtype)
            product(NN, path, np.ascontiguousarray(W), A, Z, work)
            bias = np.ascontiguousarray(b).reshape(-1)
            if code == SOFTMAX:
                bias_activation(Z, bias, LINEAR, dt(slope))
                softmax_columns(Z, Z, np.empty(m, dtype), np.empty(m, dtype))
            else:
                bias_activation(Z, bias, code, dt(slope))
        A = Z
    return A
