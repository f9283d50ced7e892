"""The notes' "vectorized" column: every operation as NumPy array expressions.

This module is the reference: every other variant is tested against it.
Arrays keep their dtype (float32 stays float32). Shapes follow the notes:
``X.shape == (n_x, m)``, ``W.shape == (n[l], n[l-1])``, ``b.shape == (n[l], 1)``.
"""

import numpy as np

from . import checks
from .contract import (
    ADAM,
    LEAKY_SLOPE,
    OUTPUT_COSTS,
    batch_normaliser,
    bias_correction,
    check_optimizer,
    check_output_activation,
    check_schedule,
    epoch_learning_rates,
    resolve_state,
    sample_weight_total,
)

# ---------------------------------------------------------------------------
# 1. Activations and their derivatives g'(Z)
# ---------------------------------------------------------------------------


def sigmoid(Z):
    """``1 / (1 + exp(-Z))``, computed from ``exp(-|Z|)`` so it never overflows."""
    E = np.exp(-np.abs(Z))
    return np.where(Z >= 0, 1 / (1 + E), E / (1 + E))


def sigmoid_derivative(Z):
    """``a (1 - a)`` with ``a = sigmoid(Z)``."""
    A = sigmoid(Z)
    return A * (1 - A)


def tanh(Z):
    """Hyperbolic tangent."""
    return np.tanh(Z)


def tanh_derivative(Z):
    """``1 - a**2`` with ``a = tanh(Z)``."""
    A = np.tanh(Z)
    return 1 - A * A


def relu(Z):
    """``max(0, Z)``."""
    return np.maximum(Z, 0)


def relu_derivative(Z):
    """1 where ``Z > 0``, else 0 (the notes leave ``Z == 0`` open; we take 0)."""
    return (Z > 0).astype(Z.dtype)


def leaky_relu(Z, slope=LEAKY_SLOPE):
    """``max(slope * Z, Z)``, slope 0.01 as in the notes."""
    return np.where(Z > 0, Z, Z * Z.dtype.type(slope))


def leaky_relu_derivative(Z, slope=LEAKY_SLOPE):
    """1 where ``Z > 0``, else ``slope`` (``slope`` at exactly 0)."""
    return np.where(Z > 0, Z.dtype.type(1), Z.dtype.type(slope))


def linear(Z):
    """The identity (for a regression output)."""
    return Z.copy()


def linear_derivative(Z):
    """1 everywhere."""
    return np.ones_like(Z)


def softmax(Z):
    """Column-wise softmax (one column per example), shifted by the column max."""
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


_FORWARD = {
    "linear": linear,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "softmax": softmax,
}
_DERIVATIVE = {
    "linear": linear_derivative,
    "sigmoid": sigmoid_derivative,
    "tanh": tanh_derivative,
    "relu": relu_derivative,
    "leaky_relu": leaky_relu_derivative,
}


def activation_forward(Z, activation):
    """``g(Z)`` for an activation name."""
    try:
        return _FORWARD[activation](Z)
    except KeyError:
        raise ValueError(
            f"activation must be one of {sorted(_FORWARD)}, got {activation!r}"
        ) from None


def activation_backward(dA, Z, activation):
    """``dZ = dA * g'(Z)`` for a hidden-layer activation name.

    Softmax has no entry: as an output its ``dZ`` comes from the cost
    (``output_gradient``).
    """
    try:
        derivative = _DERIVATIVE[activation]
    except KeyError:
        raise ValueError(
            f"hidden activation must be one of {sorted(_DERIVATIVE)}, got {activation!r}"
        ) from None
    return dA * derivative(Z)


# ---------------------------------------------------------------------------
# 2. Matrix product and the dense layer
# ---------------------------------------------------------------------------


def matmul(A, B):
    """``A @ B``."""
    return A @ B


def dense_forward(A_prev, W, b, activation):
    """``Z = W A_prev + b``, ``A = g(Z)``; returns ``(A, Z)`` (Z is what backward needs)."""
    Z = W @ A_prev + b
    return activation_forward(Z, activation), Z


def linear_backward(dZ, A_prev, W, l2=0.0, m_total=None):
    """``dA_prev = W^T dZ``, ``dW = dZ A_prev^T / m + (l2 / m_total) W``, ``db = sum(dZ) / m``.

    ``m`` is the number of examples in this batch (columns of ``dZ``);
    ``m_total`` is the size of the training set the L2 term is scaled by
    (defaults to ``m``: full-batch descent).
    """
    return _linear_backward(dZ, A_prev, W, l2, m_total, dZ.shape[1])


def _linear_backward(dZ, A_prev, W, l2, m_total, m):
    """``linear_backward`` with the batch's normaliser ``m`` given (a weight sum)."""
    m_total = m if m_total is None else m_total
    inv_m = dZ.dtype.type(1.0 / m)
    dW = (dZ @ A_prev.T) * inv_m
    if l2:
        dW += W * W.dtype.type(l2 / m_total)
    db = dZ.sum(axis=1, keepdims=True) * inv_m
    dA_prev = W.T @ dZ
    return dA_prev, dW, db


def dense_backward(dA, A_prev, W, Z, activation, l2=0.0, m_total=None):
    """Backward of a hidden dense layer: ``dZ = dA * g'(Z)``, then ``linear_backward``.

    Returns ``(dA_prev, dW, db)``.
    """
    return linear_backward(activation_backward(dA, Z, activation), A_prev, W, l2, m_total)


# ---------------------------------------------------------------------------
# 3. Costs and the output gradient
# ---------------------------------------------------------------------------


def binary_cross_entropy(Z, Y):
    """Mean of ``-(y log a + (1-y) log(1-a))``, ``a = sigmoid(Z)``, from Z.

    Written as ``softplus(z) - y z`` with ``softplus(z) = max(z, 0) + log1p(exp(-|z|))``:
    finite however far the prediction saturates.
    """
    loss = np.maximum(Z, 0) - Y * Z + np.log1p(np.exp(-np.abs(Z)))
    return loss.sum() / Z.shape[1]


def categorical_cross_entropy(Z, Y):
    """Mean over examples of ``-sum_k y_k log softmax(z)_k``, from Z (log-sum-exp)."""
    Zmax = Z.max(axis=0, keepdims=True)
    log_sum_exp = Zmax + np.log(np.exp(Z - Zmax).sum(axis=0, keepdims=True))
    return (Y * (log_sum_exp - Z)).sum() / Z.shape[1]


def mean_squared_error(A, Y):
    """Half mean squared error: ``sum((A - Y)**2) / (2 m)`` (summed over outputs)."""
    D = A - Y
    return (D * D).sum() / (2 * A.shape[1])


def output_gradient(A, Y):
    """``dZ[L] = A[L] - Y``: the same for each output/cost pair."""
    return A - Y


def cost(Z, A, Y, output_activation):
    """The cost paired with an output activation (sigmoid, softmax, linear)."""
    name = OUTPUT_COSTS[check_output_activation(output_activation)]
    if name == "mean_squared_error":
        return mean_squared_error(A, Y)
    return globals()[name](Z, Y)


def _weighted_loss_sum(Z, A, Y, output_activation, w):
    """``sum_j w_j loss_j`` (the loss of each column of the batch times its weight)."""
    name = OUTPUT_COSTS[check_output_activation(output_activation)]
    if name == "binary_cross_entropy":
        losses = (np.maximum(Z, 0) - Y * Z + np.log1p(np.exp(-np.abs(Z)))).sum(axis=0)
    elif name == "categorical_cross_entropy":
        Zmax = Z.max(axis=0, keepdims=True)
        log_sum_exp = Zmax + np.log(np.exp(Z - Zmax).sum(axis=0, keepdims=True))
        losses = (Y * (log_sum_exp - Z)).sum(axis=0)
    else:
        D = A - Y
        losses = (D * D).sum(axis=0) / 2
    return float((losses.astype(np.float64) * w).sum())


def l2_penalty(weights, l2, m):
    """``l2 / (2 m) * sum_l ||W[l]||_F^2``."""
    return l2 / (2 * m) * sum(float((W * W).sum()) for W in weights)


# ---------------------------------------------------------------------------
# 4. The update
# ---------------------------------------------------------------------------


def gradient_descent_step(param, grad, velocity, learning_rate, momentum):
    """In place: ``v = momentum v + (1 - momentum) grad``; ``param -= learning_rate v``.

    The course's exponentially weighted form of momentum; ``momentum = 0`` is
    plain gradient descent. L2 enters through ``grad`` (``linear_backward``).
    """
    dtype = param.dtype.type
    velocity *= dtype(momentum)
    velocity += dtype(1 - momentum) * grad
    param -= dtype(learning_rate) * velocity


def adam_step(param, grad, v, s, t, learning_rate, beta1, beta2, epsilon):
    """In place, the course's bias-corrected Adam for the ``t``-th update (``t`` from 1).

    ``v = beta1 v + (1 - beta1) grad``; ``s = beta2 s + (1 - beta2) grad**2``;
    ``param -= learning_rate (v / (1 - beta1**t)) / (sqrt(s / (1 - beta2**t)) + epsilon)``.
    Constants in the parameter's dtype; ``1 - beta**t`` is computed in float64
    and rounded to it (``contract.bias_correction``).
    """
    dtype = param.dtype.type
    v *= dtype(beta1)
    v += dtype(1 - beta1) * grad
    s *= dtype(beta2)
    s += dtype(1 - beta2) * (grad * grad)
    v_hat = v / dtype(bias_correction(beta1, t))
    s_hat = s / dtype(bias_correction(beta2, t))
    param -= dtype(learning_rate) * v_hat / (np.sqrt(s_hat) + dtype(epsilon))


def _update(param, grad, v, s, t, learning_rate, momentum, adam):
    """The update of one parameter array: Adam (``adam = (beta1, beta2, epsilon)``) or descent."""
    if adam is None:
        gradient_descent_step(param, grad, v, learning_rate, momentum)
    else:
        adam_step(param, grad, v, s, t, learning_rate, *adam)


# ---------------------------------------------------------------------------
# 5. The network: prediction and a whole training run
# ---------------------------------------------------------------------------


def forward(weights, biases, X, activations):
    """``A[L]`` of the network for inputs ``X`` (n_x, m)."""
    A = X
    for W, b, activation in zip(weights, biases, activations):
        A, _ = dense_forward(A, W, b, activation)
    return A


def _batch_step(
    weights, biases, state, t, X, Y, activations, learning_rate, momentum, adam, l2, m_total, w=None
):
    """Forward, cost, backward and update on one batch; returns the batch's loss sum
    (its cost times its size; with weights ``w`` (m,), the weighted sum), or a non-finite
    number, in which case nothing is updated. ``m_total``: the training set's total weight."""
    caches = []
    A = X
    for W, b, activation in zip(weights, biases, activations):
        A_prev = A
        A, Z = dense_forward(A_prev, W, b, activation)
        caches.append((A_prev, Z))
    m = X.shape[1]
    if w is None:
        loss_sum = cost(Z, A, Y, activations[-1]) * m
    else:
        loss_sum = _weighted_loss_sum(Z, A, Y, activations[-1], w)
        m = batch_normaliser(float(w.sum(dtype=np.float64)))
    if not np.isfinite(loss_sum):
        return loss_sum
    dZ = output_gradient(A, Y)
    if w is not None:
        dZ *= w
    dA = None  # the layer above's dA_prev, from the second iteration on
    for layer in range(len(weights) - 1, -1, -1):
        A_prev, Z = caches[layer]
        if layer < len(weights) - 1:
            dZ = activation_backward(dA, Z, activations[layer])
        dA, dW, db = _linear_backward(dZ, A_prev, weights[layer], l2, m_total, m)
        s_W = None if adam is None else state.s_weights[layer]
        s_b = None if adam is None else state.s_biases[layer]
        _update(weights[layer], dW, state.v_weights[layer], s_W, t, learning_rate, momentum, adam)
        _update(biases[layer], db, state.v_biases[layer], s_b, t, learning_rate, momentum, adam)
    return loss_sum


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
    ``sample_weight``: None or an array (m,) in the data's dtype: each example's
    loss and gradient times its weight, means over examples weighted means, the
    training-set size of the L2 term the total weight (see ``kernels.contract``).
    ``optimizer``: ``"gradient_descent"`` (with ``momentum``) or ``"adam"``
    (``beta1``, ``beta2``, ``epsilon``; ``adam_step``).
    ``schedule``: a ``contract.Schedule`` for the learning rate of each epoch
    (``None``: constant).
    ``state``: a ``contract.OptimizerState`` carried between calls (moments,
    update count ``t``, epochs done), updated in place; ``None`` starts a fresh
    one. Needed to chunk a run with Adam or a schedule; exclusive with
    ``velocities``. See ``kernels.contract`` for the conventions.

    The cost of an epoch is the mean loss of its forward passes plus the L2
    term ``l2 / (2 m) sum ||W||^2`` (``m`` the training-set size; each batch's
    term weighted by its share of the examples). For full batch it is the cost
    of the parameters at the start of the epoch, before its update.

    Divergence: the run stops at the first epoch whose cost is not finite (or
    whose starting parameters are not finite); the parameters are put back to
    the last epoch start at which they were all finite, and the remaining costs
    are NaN. A last epoch whose update leaves non-finite parameters is undone
    the same way (its cost, finite, is kept).
    """
    m = X.shape[1]
    full_batch = batch_size is None or batch_size >= m
    if not full_batch and orders is None:
        raise ValueError("orders (epochs, m) is required for mini-batch training")
    code = check_optimizer(optimizer, momentum, beta1, beta2, epsilon)
    state = resolve_state(weights, biases, code, check_schedule(schedule)[0], state, velocities)
    sample_weight = checks.check_sample_weight(sample_weight, m, X.dtype)
    total_weight = sample_weight_total(sample_weight, m)
    adam = (beta1, beta2, epsilon) if code == ADAM else None
    # Python floats: a NumPy float64 would promote float32 scalar arithmetic (NEP 50)
    rates = epoch_learning_rates(learning_rate, schedule, state.epoch, epochs).tolist()
    n_batches = 1 if full_batch else -(-m // batch_size)
    costs = np.full(epochs, np.nan, dtype=np.float64)
    saved = [p.copy() for p in weights + biases]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(epochs):
            params = weights + biases
            if not all(np.isfinite(p).all() for p in params):
                _restore(params, saved)
                break
            for p, s in zip(params, saved):
                s[...] = p
            total = 0.0
            for batch, start in enumerate(range(0, m, m if full_batch else batch_size)):
                wb = sample_weight
                if full_batch:
                    Xb, Yb = X, Y
                else:
                    idx = orders[epoch, start : start + batch_size]
                    Xb, Yb = X[:, idx], Y[:, idx]
                    wb = None if sample_weight is None else sample_weight[idx]
                t = state.step + epoch * n_batches + batch + 1  # Adam's t: this update's number
                if wb is None:
                    total += l2_penalty(weights, l2, m) * Xb.shape[1]
                    total += _batch_step(
                        weights,
                        biases,
                        state,
                        t,
                        Xb,
                        Yb,
                        activations,
                        rates[epoch],
                        momentum,
                        adam,
                        l2,
                        m,
                    )
                else:
                    batch_weight = float(wb.sum(dtype=np.float64))
                    total += l2_penalty(weights, l2, total_weight) * batch_weight
                    total += _batch_step(
                        weights,
                        biases,
                        state,
                        t,
                        Xb,
                        Yb,
                        activations,
                        rates[epoch],
                        momentum,
                        adam,
                        l2,
                        total_weight,
                        wb,
                    )
                if not np.isfinite(total):
                    break
            costs[epoch] = total / total_weight
            if not np.isfinite(costs[epoch]):
                _restore(params, saved)
                break
        else:
            # the last update is checked by no next epoch start: check it here
            params = weights + biases
            if not all(np.isfinite(p).all() for p in params):
                _restore(params, saved)
    state.advance(costs, n_batches)
    return costs


def _restore(params, saved):
    for p, s in zip(params, saved):
        p[...] = s
