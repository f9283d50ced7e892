"""The Numba JIT variant: the notes' operations compiled for the CPU.

The same public functions as ``vectorized.py``, in the same order, with the same meaning. Each is
a thin Python wrapper that checks its arguments (ValueError / TypeError naming the argument,
before any compiled code runs), maps activation names to the integer codes of
``kernels.contract`` and calls compiled code:

- ``jit_sweeps``: the element-wise passes, each fused into one sweep (bias + activation after a
  product; derivative and bias gradient in one pass; the output layer's loss, ``dZ`` and ``db``);
- ``jit_products``: every matrix product, on OpenBLAS or the hand kernels of ``jit_gemm``, the
  path measured for its shape on this machine (``jit_products.explain()`` says which and why);
- ``jit_train``: ``train`` as one compiled call (the epoch loop, the mini-batch loop and every
  layer, no Python between iterations) and ``forward``'s whole pass;
- ``jit_math``: exp, log, tanh and sigmoid as plain arithmetic that LLVM vectorises.

Arrays in, arrays out; float32 stays float32 (constants are typed). Every kernel is compiled with
``cache=True``, once per dtype in use: a first call compiles (a few seconds, said once on stderr;
``jit_compile`` does it in a helper process, so that every process runs the cached code), later
processes load it from Numba's cache. Numba's cache does not notice edits to another file
that a kernel calls: after editing one of the jit_* modules, delete ``kernels/__pycache__``.
"""

import numpy as np

from . import checks, jit_products, jit_sweeps, jit_train
from .contract import (
    ADAM,
    LEAKY_SLOPE,
    activation_code,
    bias_correction,
    check_optimizer,
    check_schedule,
    epoch_learning_rates,
    resolve_state,
)
from .jit_products import NN, NT, TN
from .jit_sweeps import (
    BACKWARD,
    DERIVATIVE,
    FORWARD,
    LEAKY_RELU,
    LINEAR,
    RELU,
    SIGMOID,
    SOFTMAX,
    TANH,
)

_FLOATS = (np.float32, np.float64)
# ---------------------------------------------------------------------------
# Argument checks (Python, before compiled code)
# ---------------------------------------------------------------------------


def _float_array(x, name, contiguous=True):
    """``x`` as a float32/float64 array, C-contiguous unless ``contiguous`` is False;
    TypeError naming ``name`` otherwise."""
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


# ---------------------------------------------------------------------------
# 1. Activations and their derivatives g'(Z)
# ---------------------------------------------------------------------------


def _elementwise(mode, Z, code, slope=LEAKY_SLOPE):
    Z = _float_array(Z, "Z")
    out = np.empty(Z.shape, Z.dtype)
    flat = Z.reshape(-1)
    jit_sweeps.elementwise(mode, flat, flat, out.reshape(-1), code, Z.dtype.type(slope))
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
        jit_sweeps.softmax_columns(
            Z, out, np.empty(Z.shape[1], Z.dtype), np.empty(Z.shape[1], Z.dtype)
        )
    return out


def activation_forward(Z, activation):
    """``g(Z)`` for an activation name."""
    code = activation_code(activation)
    if code == SOFTMAX:
        return softmax(Z)
    return _elementwise(FORWARD, Z, code)


def activation_backward(dA, Z, activation):
    """``dZ = dA * g'(Z)`` for a hidden-layer activation name, in one sweep.

    Softmax has no entry: as an output its ``dZ`` comes from the cost
    (``output_gradient``).
    """
    code = checks.hidden_code(activation)
    Z = _float_array(Z, "Z")
    dA = _float_array(dA, "dA")
    _same_dtype(Z.dtype, dA=dA)
    if dA.shape != Z.shape:
        raise ValueError(f"dA must have the shape of Z {Z.shape}, got {dA.shape}")
    out = np.empty(Z.shape, Z.dtype)
    jit_sweeps.elementwise(
        BACKWARD, Z.reshape(-1), dA.reshape(-1), out.reshape(-1), code, Z.dtype.type(LEAKY_SLOPE)
    )
    return out


# ---------------------------------------------------------------------------
# 2. Matrix product and the dense layer
# ---------------------------------------------------------------------------


def _product(form, A, B, C):
    """``C =`` the product of ``form`` on the path measured for its shape (jit_products)."""
    M, N = C.shape
    K = A.shape[1] if form != TN else A.shape[0]
    if C.size:
        path = jit_products.choose(form, M, N, K, C.dtype)
        work = (
            np.empty(jit_products.work_size(M, N, K), C.dtype)
            if path == jit_products.TILES
            else None
        )
        jit_products.product(form, path, A, B, C, work)
    return C


def matmul(A, B):
    """``A @ B`` (2-D): the compiled product (OpenBLAS or the hand kernels, as measured)."""
    A = _matrix(A, "A")
    B = _matrix(B, "B")
    _same_dtype(A.dtype, B=B)
    if A.shape[1] != B.shape[0]:
        raise ValueError(f"A.shape[1] ({A.shape[1]}) must equal B.shape[0] ({B.shape[0]})")
    return _product(NN, A, B, np.empty((A.shape[0], B.shape[1]), A.dtype))


def _check_layer(A_prev, W, b=None):
    A_prev = _matrix(A_prev, "A_prev")
    W = _matrix(W, "W")
    _same_dtype(A_prev.dtype, W=W)
    if W.shape[1] != A_prev.shape[0]:
        raise ValueError(
            f"W.shape[1] ({W.shape[1]}) must equal A_prev.shape[0] ({A_prev.shape[0]})"
        )
    if b is not None:
        b = _matrix(b, "b")
        _same_dtype(A_prev.dtype, b=b)
        if b.shape != (W.shape[0], 1):
            raise ValueError(f"b must have shape {(W.shape[0], 1)}, got {b.shape}")
    return A_prev, W, b


def dense_forward(A_prev, W, b, activation):
    """``Z = W A_prev + b``, ``A = g(Z)``; returns ``(A, Z)`` (Z is what backward needs)."""
    code = activation_code(activation)
    A_prev, W, b = _check_layer(A_prev, W, b)
    n, m = W.shape[0], A_prev.shape[1]
    Z = _product(NN, W, A_prev, np.empty((n, m), W.dtype))
    if not Z.size:
        return np.empty((n, m), W.dtype), Z
    slope = W.dtype.type(LEAKY_SLOPE)
    jit_sweeps.bias_activation(Z, b.reshape(-1), LINEAR, slope)
    if code == SOFTMAX:
        return softmax(Z), Z
    return _elementwise(FORWARD, Z, code), Z


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
    _product(NT, dZ, A_prev, dW)
    jit_sweeps.scale_gradient(dW, W, dtype(1.0 / m), dtype(l2 / m_total) if l2 else dtype(0))
    jit_sweeps.derivative_from_output(dZ, dZ, LINEAR, dtype(0), db.reshape(-1), dtype(1.0 / m))
    _product(TN, W, dZ, dA_prev)
    return dA_prev, dW, db


def dense_backward(dA, A_prev, W, Z, activation, l2=0.0, m_total=None):
    """Backward of a hidden dense layer: ``dZ = dA * g'(Z)``, then ``linear_backward``.

    Returns ``(dA_prev, dW, db)``.
    """
    return linear_backward(activation_backward(dA, Z, activation), A_prev, W, l2, m_total)


# ---------------------------------------------------------------------------
# 3. Costs and the output gradient
# ---------------------------------------------------------------------------


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
    return Z.dtype.type(jit_sweeps.loss_sum(SIGMOID, Z, Y) / Z.shape[1])


def categorical_cross_entropy(Z, Y):
    """Mean over examples of ``-sum_k y_k log softmax(z)_k``, from Z (log-sum-exp)."""
    Z, Y = _cost_pair(Z, Y)
    if Z.shape[0] == 0:
        return Z.dtype.type(0)
    m = Z.shape[1]
    return Z.dtype.type(jit_sweeps.loss_sum(SOFTMAX, Z, Y) / m)


def mean_squared_error(A, Y):
    """Half mean squared error: ``sum((A - Y)**2) / (2 m)`` (summed over outputs)."""
    A, Y = _cost_pair(A, Y, "A")
    return A.dtype.type(jit_sweeps.loss_sum(LINEAR, A, Y) / (2 * A.shape[1]))


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
    code = checks.output_code(output_activation)
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
        total += float(jit_sweeps.sum_squares(W.reshape(-1))) if W.size else 0.0
    return l2 / (2 * m) * total


# ---------------------------------------------------------------------------
# 4. The update
# ---------------------------------------------------------------------------


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
        raise ValueError(
            f"grad and velocity must have the shape of param {param.shape}, "
            f"got {grad.shape} and {velocity.shape}"
        )
    dtype = param.dtype.type
    # the training run's update sweep, with no L2, no 1/m and nothing saved
    rule = (
        False,
        dtype(momentum),
        dtype(1 - momentum),
        dtype(0),
        dtype(0),
        dtype(1),
        dtype(1),
        dtype(0),
    )
    flat = param.reshape(-1)
    jit_train.update(
        flat,
        grad.reshape(-1),
        velocity.reshape(-1),
        flat[:0],
        flat[:0],
        False,
        dtype(learning_rate),
        dtype(0),
        dtype(1),
        rule,
    )


def adam_step(param, grad, v, s, t, learning_rate, beta1, beta2, epsilon):
    """In place, the course's bias-corrected Adam for the ``t``-th update (``t`` from 1).

    ``v = beta1 v + (1 - beta1) grad``; ``s = beta2 s + (1 - beta2) grad**2``;
    ``param -= learning_rate (v / (1 - beta1**t)) / (sqrt(s / (1 - beta2**t)) + epsilon)``,
    in one compiled sweep (the training run's); ``1 - beta**t`` in float64, then the dtype's.
    """
    for name, x in (("param", param), ("v", v), ("s", s)):
        if not isinstance(x, np.ndarray) or x.dtype.type not in _FLOATS:
            raise TypeError(f"{name} must be a float32 or float64 ndarray (updated in place)")
        if not (x.flags.c_contiguous and x.flags.writeable):
            raise ValueError(f"{name} must be a writeable C-contiguous array (updated in place)")
    grad = _float_array(grad, "grad")
    _same_dtype(param.dtype, grad=grad, v=v, s=s)
    if not (grad.shape == v.shape == s.shape == param.shape):
        raise ValueError(
            f"grad, v and s must have the shape of param {param.shape}, "
            f"got {grad.shape}, {v.shape} and {s.shape}"
        )
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 1:
        raise ValueError(f"t must be an integer >= 1 (the update's number), got {t!r}")
    dtype = param.dtype.type
    rule = (
        True,
        dtype(beta1),
        dtype(1 - beta1),
        dtype(beta2),
        dtype(1 - beta2),
        dtype(bias_correction(beta1, t)),
        dtype(bias_correction(beta2, t)),
        dtype(epsilon),
    )
    flat = param.reshape(-1)
    jit_train.update(
        flat,
        grad.reshape(-1),
        v.reshape(-1),
        s.reshape(-1),
        flat[:0],
        False,
        dtype(learning_rate),
        dtype(0),
        dtype(1),
        rule,
    )


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
        raise ValueError(
            f"activations must name one activation per layer ({L}), got {len(activations)}"
        )
    hidden_codes, output_code = checks.network_codes(activations)
    codes = hidden_codes + (output_code,)
    n_prev = X.shape[0]
    for l in range(L):
        W, b = weights[l], biases[l]
        for name, x in ((f"weights[{l}]", W), (f"biases[{l}]", b)):
            if not isinstance(x, np.ndarray) or x.dtype != dtype:
                raise TypeError(
                    f"{name} must be an ndarray of dtype {dtype} (the dtype of {name_X})"
                )
            if x.ndim != 2:
                raise ValueError(f"{name} must be 2-D, got shape {x.shape}")
        if W.shape[1] != n_prev or W.shape[0] == 0:
            raise ValueError(
                f"weights[{l}] must have shape (n[{l + 1}] >= 1, {n_prev}), got {W.shape}"
            )
        if b.shape != (W.shape[0], 1):
            raise ValueError(f"biases[{l}] must have shape {(W.shape[0], 1)}, got {b.shape}")
        n_prev = W.shape[0]
    return weights, biases, X, codes


def forward(weights, biases, X, activations):
    """``A[L]`` of the network for inputs ``X`` (n_x, m)."""
    weights, biases, X, codes = _check_network(weights, biases, X, activations)
    weights = [np.ascontiguousarray(W) for W in weights]
    biases = [np.ascontiguousarray(b) for b in biases]
    return jit_train.forward(weights, biases, X, codes, LEAKY_SLOPE)


def train(
    weights,
    biases,
    X,
    Y,
    activations,
    epochs,
    learning_rate,
    batch_size=None,
    momentum=0.0,
    l2=0.0,
    orders=None,
    velocities=None,
    optimizer="gradient_descent",
    beta1=0.9,
    beta2=0.999,
    epsilon=1e-8,
    schedule=None,
    state=None,
    sample_weight=None,
):
    """Train in place for ``epochs`` epochs; return the cost of each epoch.

    ``weights``/``biases``: lists of ``W[l]``/``b[l]``, updated in place.
    ``activations``: one name per layer, the last an output activation.
    ``batch_size``: ``None`` (or ``>= m``) for full-batch descent.
    ``orders``: int array ``(epochs, m)``, the example order of each epoch
    (drawn by the caller); required for mini-batches, ignored for full batch.
    ``velocities``: ``(v_weights, v_biases)`` carried between calls (updated in
    place); ``None`` starts them at zero.
    ``optimizer``: ``"gradient_descent"`` (with ``momentum``) or ``"adam"``
    (``beta1``, ``beta2``, ``epsilon``); ``schedule``: a ``contract.Schedule`` for the
    learning rate of each epoch; ``state``: a ``contract.OptimizerState`` carried between
    calls (exclusive with ``velocities``); ``sample_weight``: None or (m,) in the data's dtype,
    fused into the output layer's sweep. See ``kernels.contract`` for the conventions.

    The cost of an epoch is the mean loss of its forward passes plus the L2
    term ``l2 / (2 m) sum ||W||^2`` (``m`` the training-set size; each batch's
    term weighted by its share of the examples). For full batch it is the cost
    of the parameters at the start of the epoch, before its update.

    Divergence: the run stops at the first epoch whose cost is not finite (or
    whose starting parameters are not finite); the parameters are put back to
    the last epoch start at which they were all finite, and the remaining costs
    are NaN. A last epoch whose update leaves non-finite parameters is undone
    the same way (its cost, finite, is kept).

    Everything runs in one compiled call (``jit_train``): the epoch loop, the
    mini-batch loop and every layer, with the work buffers allocated once.
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
    epochs = checks.check_epochs(epochs)
    sample_weight = checks.check_sample_weight(sample_weight, m, dtype)
    batch, orders = checks.check_batches(batch_size, orders, epochs, m)
    if batch is None:  # full batch: the run reads no orders
        batch, orders = m, np.zeros((0, 0), np.intp)
    code = check_optimizer(optimizer, momentum, beta1, beta2, epsilon)
    checks.check_velocities(velocities, weights, biases, dtype)
    state = resolve_state(weights, biases, code, check_schedule(schedule)[0], state, velocities)
    moments = [state.v_weights, state.v_biases] + (
        [state.s_weights, state.s_biases] if code == ADAM else []
    )
    for name, params in (("weights", weights), ("biases", biases)):
        for l, p in enumerate(params):
            if not p.flags.writeable:
                raise ValueError(f"{name}[{l}] must be writeable (trained in place)")
    if not all(a.flags.writeable for group in moments for a in group):
        raise ValueError("the velocities / optimizer state must be writeable (updated in place)")
    rates = epoch_learning_rates(learning_rate, schedule, state.epoch, epochs)
    costs = np.full(epochs, np.nan)
    if epochs:
        optimizer_rule = (float(code == ADAM), beta1 if code == ADAM else momentum, beta2, epsilon)
        costs = jit_train.run(
            weights,
            biases,
            X,
            Y,
            codes,
            epochs,
            rates,
            batch,
            optimizer_rule,
            l2,
            orders,
            state,
            LEAKY_SLOPE,
            sample_weight,
        )
    state.advance(costs, 1 if batch >= m else -(-m // batch))
    return costs
