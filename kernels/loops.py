"""The notes' "non-vectorized" column: every operation as explicit for-loops.

The same functions as ``vectorized.py``, in the same order and with the same
meaning, written the way section 2.4 of the notes writes ``z = w^T x + b``
before vectorizing it::

    z = 0
    for i in range(n_x):
        z += w[i] * x[i]
    z += b

Loops run over units ``i`` (rows) and examples ``j`` (columns) of 2-D arrays
``(n, m)``; each element is computed with scalar math (``math.exp``,
``math.tanh``, ``math.log1p``) and written into a result array of the input's
dtype (float32 stays float32). No NumPy array operation runs inside a loop.

It is for teaching and for comparison: Python runs each multiply-add one by
one. Measured on this machine: an epoch of the 2-4-1 flower (m = 400) takes
6 ms against NumPy's 85 us (70x), a 31x31x31 product 6.5 ms against 2.3 us
(2800x). Tiny sizes only.
"""

import math

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


def _units_and_examples(Z, name="Z"):
    """``(n, m)`` of a 2-D array; ValueError naming ``name`` otherwise."""
    if np.ndim(Z) != 2:
        raise ValueError(f"{name} must be a 2-D array (units, examples), got shape {np.shape(Z)}")
    return Z.shape


def _elementwise(Z, g):
    """``A[i, j] = g(Z[i, j])`` for every unit ``i`` and example ``j``."""
    n, m = _units_and_examples(Z)
    A = np.empty((n, m), dtype=Z.dtype)
    for i in range(n):
        for j in range(m):
            A[i, j] = g(Z[i, j])
    return A


# ---------------------------------------------------------------------------
# 1. Activations and their derivatives g'(Z): one scalar function each, applied
#    to every element
# ---------------------------------------------------------------------------


def _sigmoid(z):
    # from e = exp(-|z|) <= 1: never overflows
    e = math.exp(-abs(z))
    return 1 / (1 + e) if z >= 0 else e / (1 + e)


def sigmoid(Z):
    """``1 / (1 + exp(-Z))``, computed from ``exp(-|Z|)`` so it never overflows."""
    return _elementwise(Z, _sigmoid)


def sigmoid_derivative(Z):
    """``a (1 - a)`` with ``a = sigmoid(Z)``."""

    def derivative(z):
        a = _sigmoid(z)
        return a * (1 - a)

    return _elementwise(Z, derivative)


def tanh(Z):
    """Hyperbolic tangent."""
    return _elementwise(Z, math.tanh)


def tanh_derivative(Z):
    """``1 - a**2`` with ``a = tanh(Z)``."""

    def derivative(z):
        a = math.tanh(z)
        return 1 - a * a

    return _elementwise(Z, derivative)


def relu(Z):
    """``max(0, Z)``."""
    # max(z, 0.0), not max(0.0, z): a NaN stays NaN, as with np.maximum
    return _elementwise(Z, lambda z: max(z, 0.0))


def relu_derivative(Z):
    """1 where ``Z > 0``, else 0 (the notes leave ``Z == 0`` open; we take 0)."""
    return _elementwise(Z, lambda z: 1.0 if z > 0 else 0.0)


def leaky_relu(Z, slope=LEAKY_SLOPE):
    """``max(slope * Z, Z)``, slope 0.01 as in the notes."""
    return _elementwise(Z, lambda z: z if z > 0 else slope * z)


def leaky_relu_derivative(Z, slope=LEAKY_SLOPE):
    """1 where ``Z > 0``, else ``slope`` (``slope`` at exactly 0)."""
    return _elementwise(Z, lambda z: 1.0 if z > 0 else slope)


def linear(Z):
    """The identity (for a regression output)."""
    return _elementwise(Z, lambda z: z)


def linear_derivative(Z):
    """1 everywhere."""
    return _elementwise(Z, lambda z: 1.0)


def softmax(Z):
    """Column-wise softmax (one column per example), shifted by the column max."""
    n, m = _units_and_examples(Z)
    A = np.empty((n, m), dtype=Z.dtype)
    for j in range(m):
        z_max = Z[0, j]
        for i in range(1, n):
            z_max = max(z_max, Z[i, j])
        total = 0.0
        for i in range(n):
            e = math.exp(Z[i, j] - z_max)  # <= 1: never overflows
            A[i, j] = e
            total += e
        for i in range(n):
            A[i, j] = A[i, j] / total
    return A


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
    g_prime = derivative(Z)
    n, m = _units_and_examples(dA, "dA")
    dZ = np.empty((n, m), dtype=np.result_type(dA, Z))
    for i in range(n):
        for j in range(m):
            dZ[i, j] = dA[i, j] * g_prime[i, j]
    return dZ


# ---------------------------------------------------------------------------
# 2. Matrix product and the dense layer
# ---------------------------------------------------------------------------


def matmul(A, B):
    """``A @ B``: ``C[i, j] = sum_k A[i, k] B[k, j]``."""
    n, K = _units_and_examples(A, "A")
    _, m = _units_and_examples(B, "B")
    C = np.empty((n, m), dtype=np.result_type(A, B))
    for i in range(n):
        for j in range(m):
            c = 0.0
            for k in range(K):
                c += A[i, k] * B[k, j]
            C[i, j] = c
    return C


def dense_forward(A_prev, W, b, activation):
    """``Z = W A_prev + b``, ``A = g(Z)``; returns ``(A, Z)`` (Z is what backward needs)."""
    n, n_prev = _units_and_examples(W, "W")
    m = _units_and_examples(A_prev, "A_prev")[1]
    Z = np.empty((n, m), dtype=np.result_type(A_prev, W, b))
    for i in range(n):  # each unit of the layer ...
        for j in range(m):  # ... on each example
            z = 0.0
            for k in range(n_prev):
                z += W[i, k] * A_prev[k, j]
            z += b[i, 0]
            Z[i, j] = z
    return activation_forward(Z, activation), Z


def linear_backward(dZ, A_prev, W, l2=0.0, m_total=None):
    """``dA_prev = W^T dZ``, ``dW = dZ A_prev^T / m + (l2 / m_total) W``, ``db = sum(dZ) / m``.

    ``m`` is the number of examples in this batch (columns of ``dZ``);
    ``m_total`` is the size of the training set the L2 term is scaled by
    (defaults to ``m``: full-batch descent).
    """
    return _linear_backward(dZ, A_prev, W, l2, m_total, None)


def _linear_backward(dZ, A_prev, W, l2, m_total, normaliser):
    """``linear_backward`` dividing by ``normaliser`` (a batch's weight sum), or by the
    batch size when it is None."""
    n, m = _units_and_examples(dZ, "dZ")
    n_prev = _units_and_examples(W, "W")[1]
    m_total = m if m_total is None else m_total
    inv_m = 1.0 / (m if normaliser is None else normaliser)
    dtype = np.result_type(dZ, A_prev, W)
    dW = np.empty((n, n_prev), dtype=dtype)
    db = np.empty((n, 1), dtype=dtype)
    dA_prev = np.empty((n_prev, m), dtype=dtype)
    for i in range(n):
        for k in range(n_prev):
            dw = 0.0
            for j in range(m):
                dw += dZ[i, j] * A_prev[k, j]
            dw *= inv_m
            if l2:
                dw += (l2 / m_total) * W[i, k]
            dW[i, k] = dw
        db_i = 0.0
        for j in range(m):
            db_i += dZ[i, j]
        db[i, 0] = db_i * inv_m
    for k in range(n_prev):
        for j in range(m):
            da = 0.0
            for i in range(n):
                da += W[i, k] * dZ[i, j]
            dA_prev[k, j] = da
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
    n, m = _units_and_examples(Z)
    total = 0.0
    for i in range(n):
        for j in range(m):
            z, y = Z[i, j], Y[i, j]
            total += max(z, 0.0) - y * z + math.log1p(math.exp(-abs(z)))
    return np.result_type(Z, Y).type(total / m)


def categorical_cross_entropy(Z, Y):
    """Mean over examples of ``-sum_k y_k log softmax(z)_k``, from Z (log-sum-exp)."""
    n, m = _units_and_examples(Z)
    total = 0.0
    for j in range(m):
        z_max = Z[0, j]
        for i in range(1, n):
            z_max = max(z_max, Z[i, j])
        sum_exp = 0.0
        for i in range(n):
            sum_exp += math.exp(Z[i, j] - z_max)
        log_sum_exp = z_max + math.log(sum_exp)
        for i in range(n):
            total += Y[i, j] * (log_sum_exp - Z[i, j])
    return np.result_type(Z, Y).type(total / m)


def mean_squared_error(A, Y):
    """Half mean squared error: ``sum((A - Y)**2) / (2 m)`` (summed over outputs)."""
    n, m = _units_and_examples(A, "A")
    total = 0.0
    for i in range(n):
        for j in range(m):
            d = A[i, j] - Y[i, j]
            total += d * d
    return np.result_type(A, Y).type(total / (2 * m))


def output_gradient(A, Y):
    """``dZ[L] = A[L] - Y``: the same for each output/cost pair."""
    n, m = _units_and_examples(A, "A")
    dZ = np.empty((n, m), dtype=np.result_type(A, Y))
    for i in range(n):
        for j in range(m):
            dZ[i, j] = A[i, j] - Y[i, j]
    return dZ


def cost(Z, A, Y, output_activation):
    """The cost paired with an output activation (sigmoid, softmax, linear)."""
    name = OUTPUT_COSTS[check_output_activation(output_activation)]
    if name == "mean_squared_error":
        return mean_squared_error(A, Y)
    return globals()[name](Z, Y)


def l2_penalty(weights, l2, m):
    """``l2 / (2 m) * sum_l ||W[l]||_F^2``."""
    squares = 0.0
    for W in weights:
        rows, columns = _units_and_examples(W, "W")
        for i in range(rows):
            for k in range(columns):
                squares += W[i, k] * W[i, k]
    return float(l2 / (2 * m) * squares)


# ---------------------------------------------------------------------------
# 4. The update
# ---------------------------------------------------------------------------


def gradient_descent_step(param, grad, velocity, learning_rate, momentum):
    """In place: ``v = momentum v + (1 - momentum) grad``; ``param -= learning_rate v``.

    The course's exponentially weighted form of momentum; ``momentum = 0`` is
    plain gradient descent. L2 enters through ``grad`` (``linear_backward``).
    """
    rows, columns = _units_and_examples(param, "param")
    for i in range(rows):
        for k in range(columns):
            velocity[i, k] = momentum * velocity[i, k] + (1 - momentum) * grad[i, k]
            param[i, k] = param[i, k] - learning_rate * velocity[i, k]


def adam_step(param, grad, v, s, t, learning_rate, beta1, beta2, epsilon):
    """In place, the course's bias-corrected Adam for the ``t``-th update (``t`` from 1).

    ``v = beta1 v + (1 - beta1) grad``; ``s = beta2 s + (1 - beta2) grad**2``;
    ``param -= learning_rate (v / (1 - beta1**t)) / (sqrt(s / (1 - beta2**t)) + epsilon)``,
    element by element, every constant in the parameter's dtype.
    """
    rows, columns = _units_and_examples(param, "param")
    dtype = param.dtype.type
    b1, one_minus_b1 = dtype(beta1), dtype(1 - beta1)
    b2, one_minus_b2 = dtype(beta2), dtype(1 - beta2)
    c1, c2 = dtype(bias_correction(beta1, t)), dtype(bias_correction(beta2, t))
    lr, eps = dtype(learning_rate), dtype(epsilon)
    for i in range(rows):
        for k in range(columns):
            g = grad[i, k]
            v[i, k] = b1 * v[i, k] + one_minus_b1 * g
            s[i, k] = b2 * s[i, k] + one_minus_b2 * (g * g)
            v_hat = v[i, k] / c1
            s_hat = s[i, k] / c2
            # np.sqrt of a NumPy scalar keeps its dtype (math.sqrt would make it float64)
            param[i, k] = param[i, k] - lr * v_hat / (np.sqrt(s_hat) + eps)


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
    (its cost times its size; with weights ``w``, each example's loss times its weight), or
    a non-finite number, in which case nothing is updated. ``m_total``: the total weight."""
    caches = []
    A = X
    for W, b, activation in zip(weights, biases, activations):
        A_prev = A
        A, Z = dense_forward(A_prev, W, b, activation)
        caches.append((A_prev, Z))
    m = X.shape[1]
    normaliser = None
    if w is None:
        loss_sum = float(cost(Z, A, Y, activations[-1])) * m
    else:
        loss_sum, weight_sum = 0.0, 0.0
        for j in range(m):  # each example's loss (a one-column cost) times its weight
            column = slice(j, j + 1)
            loss_sum += float(
                cost(Z[:, column], A[:, column], Y[:, column], activations[-1])
            ) * float(w[j])
            weight_sum += float(w[j])
        normaliser = batch_normaliser(weight_sum)
    if not math.isfinite(loss_sum):
        return loss_sum
    dZ = output_gradient(A, Y)
    if w is not None:
        for i in range(dZ.shape[0]):
            for j in range(m):
                dZ[i, j] *= w[j]
    dA = None  # the layer above's dA_prev, from the second iteration on
    for layer in range(len(weights) - 1, -1, -1):
        A_prev, Z = caches[layer]
        if layer < len(weights) - 1:
            dZ = activation_backward(dA, Z, activations[layer])
        dA, dW, db = _linear_backward(dZ, A_prev, weights[layer], l2, m_total, normaliser)
        s_W = None if adam is None else state.s_weights[layer]
        s_b = None if adam is None else state.s_biases[layer]
        _update(weights[layer], dW, state.v_weights[layer], s_W, t, learning_rate, momentum, adam)
        _update(biases[layer], db, state.v_biases[layer], s_b, t, learning_rate, momentum, adam)
    return loss_sum


def _batch_weights(w, order, start, batch_size):
    """The weights of the examples ``order[start:start + batch_size]``, one by one."""
    examples = [int(order[j]) for j in range(start, min(start + batch_size, len(order)))]
    wb = np.empty(len(examples), dtype=w.dtype)
    for column, example in enumerate(examples):
        wb[column] = w[example]
    return wb


def _batch_columns(X, Y, order, start, batch_size):
    """The examples ``order[start:start + batch_size]`` of ``X`` and ``Y``, copied column by column."""
    examples = [int(order[j]) for j in range(start, min(start + batch_size, len(order)))]
    Xb = np.empty((X.shape[0], len(examples)), dtype=X.dtype)
    Yb = np.empty((Y.shape[0], len(examples)), dtype=Y.dtype)
    for column, example in enumerate(examples):
        for i in range(X.shape[0]):
            Xb[i, column] = X[i, example]
        for i in range(Y.shape[0]):
            Yb[i, column] = Y[i, example]
    return Xb, Yb


def _all_finite(params):
    for p in params:
        rows, columns = p.shape
        for i in range(rows):
            for k in range(columns):
                if not math.isfinite(p[i, k]):
                    return False
    return True


def _copy_into(destinations, sources):
    for d, s in zip(destinations, sources):
        rows, columns = s.shape
        for i in range(rows):
            for k in range(columns):
                d[i, k] = s[i, k]


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
    ``optimizer``, ``beta1``, ``beta2``, ``epsilon``, ``schedule``, ``state``,
    ``sample_weight``: as in ``kernels.vectorized.train`` (conventions in
    ``kernels.contract``).

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
    _, orders = checks.check_batches(batch_size, orders, epochs, m)
    full_batch = batch_size is None or batch_size >= m
    code = check_optimizer(optimizer, momentum, beta1, beta2, epsilon)
    state = resolve_state(weights, biases, code, check_schedule(schedule)[0], state, velocities)
    sample_weight = checks.check_sample_weight(sample_weight, m, X.dtype)
    total_weight = sample_weight_total(sample_weight, m)
    adam = (beta1, beta2, epsilon) if code == ADAM else None
    # Python floats: a NumPy float64 would promote float32 scalar arithmetic (NEP 50)
    rates = epoch_learning_rates(learning_rate, schedule, state.epoch, epochs).tolist()
    n_batches = 1 if full_batch else -(-m // batch_size)
    costs = np.full(epochs, np.nan, dtype=np.float64)
    params = list(weights) + list(biases)
    saved = [np.empty(p.shape, p.dtype) for p in params]
    _copy_into(saved, params)
    # a diverging run overflows element by element: its NaN/inf are handled below
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(epochs):
            if not _all_finite(params):
                _copy_into(params, saved)
                break
            _copy_into(saved, params)
            total = 0.0
            for batch, start in enumerate(range(0, m, m if full_batch else batch_size)):
                wb = sample_weight
                if full_batch:
                    Xb, Yb = X, Y
                else:
                    Xb, Yb = _batch_columns(X, Y, orders[epoch], start, batch_size)
                    if sample_weight is not None:
                        wb = _batch_weights(sample_weight, orders[epoch], start, batch_size)
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
                    batch_weight = sum(float(w) for w in wb)
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
                if not math.isfinite(total):
                    break
            costs[epoch] = total / total_weight
            if not math.isfinite(costs[epoch]):
                _copy_into(params, saved)
                break
        else:
            # the last update is checked by no next epoch start: check it here
            if not _all_finite(params):
                _copy_into(params, saved)
    state.advance(costs, n_batches)
    return costs
