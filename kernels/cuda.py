"""numba.cuda on the GPU: the kernel contract of ``kernels.vectorized``, same names and order.

Functions take NumPy arrays (device arrays are accepted and copied to the
host first), copy their operands to the device in one buffer, run the
kernels of ``cuda_kernels`` and return NumPy arrays of the input's dtype
(float32 stays float32). ``train`` keeps everything on the device for the
whole run (``cuda_train``).

What runs on the device: a tiled shared-memory matrix product with register
tiles, in the three forms the backward pass needs (A B, A B^T, A^T B, chosen
by flags) and split-K for skinny products; its epilogue fuses the bias and the
activation (forward), the activation derivative (backward), and the gradient
with its bias column, L2 and the momentum or Adam update; reductions for the costs
and the L2 sum; element-wise activations.

Importing this module without a CUDA GPU (and without the simulator,
``NUMBA_ENABLE_CUDASIM=1``) raises ImportError saying so.

Differences from ``vectorized``: ``leaky_relu``/``leaky_relu_derivative`` take
only the default slope; reductions sum in float64 and products in tile order,
so results agree to rounding, not bit for bit.
"""

import numpy as np
from numba import cuda

from . import checks, cuda_train
from . import cuda_kernels as ck
from .contract import (
    ACTIVATION_CODES,
    ADAM,
    LEAKY_SLOPE,
    OUTPUT_COSTS,
    bias_correction,
    check_optimizer,
    check_output_activation,
    check_schedule,
    epoch_learning_rates,
    resolve_state,
)
from .cuda_launch import PARTS, THREADS, Arena, elementwise, grid_for, planned_product, state_array

# ---------------------------------------------------------------------------
# Host helpers: checks, and one arena per call
# ---------------------------------------------------------------------------


def _is_device_array(x):
    return hasattr(x, "copy_to_host") or hasattr(x, "__cuda_array_interface__")


def _array(x, name, ndim=2):
    """A float32/float64 NumPy array of ``ndim`` dimensions; device arrays are copied to
    the host."""
    if _is_device_array(x):
        x = (x if hasattr(x, "copy_to_host") else cuda.as_cuda_array(x)).copy_to_host()
    x = np.asarray(x)
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64, got dtype {x.dtype}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {x.shape}")
    return x


def _same_dtype(**arrays):
    dtypes = {name: a.dtype for name, a in arrays.items()}
    if len(set(dtypes.values())) > 1:
        raise TypeError(f"arrays must share one dtype, got {dtypes}")
    return next(iter(dtypes.values())).type


def _elementwise(op, activation, X, Y=None):
    arena = Arena(X.dtype)
    x = arena.put(X)
    y = arena.put(Y) if Y is not None else x
    out = arena.reserve(X.size)
    F = arena.upload()
    if X.size:
        elementwise(X.dtype)["elementwise"][grid_for(X.size), THREADS](
            F, X.size, op, ACTIVATION_CODES[activation], x, y, out
        )
    return arena.read(out, X.shape)


def _activation(op, activation, Z):
    return _elementwise(op, activation, _array(Z, "Z", None))


def _check_slope(slope):
    if slope != LEAKY_SLOPE:
        raise ValueError(f"the cuda variant supports slope={LEAKY_SLOPE} only, got {slope!r}")


# ---------------------------------------------------------------------------
# 1. Activations and their derivatives g'(Z)
# ---------------------------------------------------------------------------


def sigmoid(Z):
    """``1 / (1 + exp(-Z))``, computed from ``exp(-|Z|)`` so it never overflows."""
    return _activation(ck.EW_FORWARD, "sigmoid", Z)


def sigmoid_derivative(Z):
    """``a (1 - a)`` with ``a = sigmoid(Z)``."""
    return _activation(ck.EW_DERIVATIVE, "sigmoid", Z)


def tanh(Z):
    """Hyperbolic tangent."""
    return _activation(ck.EW_FORWARD, "tanh", Z)


def tanh_derivative(Z):
    """``1 - a**2`` with ``a = tanh(Z)``."""
    return _activation(ck.EW_DERIVATIVE, "tanh", Z)


def relu(Z):
    """``max(0, Z)``."""
    return _activation(ck.EW_FORWARD, "relu", Z)


def relu_derivative(Z):
    """1 where ``Z > 0``, else 0 (0 at exactly 0)."""
    return _activation(ck.EW_DERIVATIVE, "relu", Z)


def leaky_relu(Z, slope=LEAKY_SLOPE):
    """``max(slope * Z, Z)``, slope 0.01 (the only slope this variant compiles)."""
    _check_slope(slope)
    return _activation(ck.EW_FORWARD, "leaky_relu", Z)


def leaky_relu_derivative(Z, slope=LEAKY_SLOPE):
    """1 where ``Z > 0``, else ``slope`` (``slope`` at exactly 0)."""
    _check_slope(slope)
    return _activation(ck.EW_DERIVATIVE, "leaky_relu", Z)


def linear(Z):
    """The identity (a copy)."""
    return _activation(ck.EW_FORWARD, "linear", Z)


def linear_derivative(Z):
    """1 everywhere."""
    return _activation(ck.EW_DERIVATIVE, "linear", Z)


def softmax(Z):
    """Column-wise softmax (one column per example), shifted by the column max."""
    Z = _array(Z, "Z")
    arena = Arena(Z.dtype)
    z = arena.put(Z)
    out = arena.reserve(Z.size)
    F = arena.upload()
    if Z.size:
        elementwise(Z.dtype)["softmax_columns"][grid_for(Z.shape[1]), THREADS](
            F, Z.shape[0], Z.shape[1], z, out
        )
    return arena.read(out, Z.shape)


_FORWARD = {
    "linear": linear,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "softmax": softmax,
}


def activation_forward(Z, activation):
    """``g(Z)`` for an activation name."""
    try:
        return _FORWARD[activation](Z)
    except (KeyError, TypeError):
        raise ValueError(
            f"activation must be one of {sorted(_FORWARD)}, got {activation!r}"
        ) from None


def activation_backward(dA, Z, activation):
    """``dZ = dA * g'(Z)`` for a hidden-layer activation name (one fused pass)."""
    checks.hidden_code(activation)
    dA, Z = _array(dA, "dA", None), _array(Z, "Z", None)
    _same_dtype(dA=dA, Z=Z)
    if dA.shape != Z.shape:
        raise ValueError(f"dA and Z must have one shape, got {dA.shape} and {Z.shape}")
    return _elementwise(ck.EW_BACKWARD, activation, dA, Z)


# ---------------------------------------------------------------------------
# 2. Matrix product and the dense layer
# ---------------------------------------------------------------------------


def _gemm(A, B, trans_a=False, trans_b=False, tile=None):
    """``op(A) @ op(B)`` with ``op`` the transpose where asked: the tiled product itself,
    in the three forms the backward pass uses (the tests and the GPU check call it).

    ``tile`` forces a ``cuda_kernels.TileShape`` (default: chosen by size).
    """
    A, B = _array(A, "A"), _array(B, "B")
    dtype = _same_dtype(A=A, B=B)
    M, K = A.shape[::-1] if trans_a else A.shape
    K_b, N = B.shape[::-1] if trans_b else B.shape
    if K != K_b:
        raise ValueError(f"inner dimensions differ: op(A) is {(M, K)}, op(B) is {(K_b, N)}")
    if M * N == 0:
        return np.zeros((M, N), dtype=dtype)
    arena = Arena(dtype)
    a, b, c = arena.put(A), arena.put(B), arena.reserve(M * N)
    product = planned_product(
        dtype,
        arena,
        M,
        N,
        K,
        (a, A.shape[1], trans_a),
        (b, B.shape[1], trans_b),
        (ck.STORE, 0, c, -1, -1, -1, -1),
        tile=tile,
    )
    F = arena.upload()
    product.launch(F, cuda.to_device(state_array()))
    return arena.read(c, (M, N))


def matmul(A, B):
    """``A @ B``."""
    return _gemm(A, B)


def _layer_shapes(A_prev, W, b):
    if W.shape[1] != A_prev.shape[0]:
        raise ValueError(f"W has {W.shape[1]} columns but A_prev has {A_prev.shape[0]} rows")
    if b.size != W.shape[0]:
        raise ValueError(f"b must hold {W.shape[0]} values (one per unit), got shape {b.shape}")


def dense_forward(A_prev, W, b, activation):
    """``Z = W A_prev + b``, ``A = g(Z)`` in one product; returns ``(A, Z)``."""
    A_prev, W, b = _array(A_prev, "A_prev"), _array(W, "W"), _array(b, "b", None)
    dtype = _same_dtype(A_prev=A_prev, W=W, b=b)
    _layer_shapes(A_prev, W, b)
    if activation not in _FORWARD:
        raise ValueError(f"activation must be one of {sorted(_FORWARD)}, got {activation!r}")
    (n, n_prev), m = W.shape, A_prev.shape[1]
    arena = Arena(dtype)
    x, w, bias = arena.put(A_prev), arena.put(W), arena.put(b)
    a, z = arena.reserve(n * m), arena.reserve(n * m)
    code = ck.LINEAR if activation == "softmax" else ACTIVATION_CODES[activation]
    product = planned_product(
        dtype,
        arena,
        n,
        m,
        n_prev,
        (w, n_prev, 0),
        (x, m, 0),
        (ck.FORWARD, code, a, z, bias, -1, -1),
    )
    F = arena.upload()
    if n * m:
        product.launch(F, cuda.to_device(state_array()))
        if activation == "softmax":
            elementwise(dtype)["softmax_columns"][grid_for(m), THREADS](F, n, m, z, a)
    return arena.read(a, (n, m)), arena.read(z, (n, m))


def _backward(dZ_or_dA, A_prev, W, l2, m_total, Z=None, activation=None):
    """dA_prev, dW, db of a layer, in one arena; with ``activation``, dZ = dA * g'(Z) first."""
    dtype = dZ_or_dA.dtype.type
    (n, n_prev), m = W.shape, dZ_or_dA.shape[1]
    if dZ_or_dA.shape != (n, A_prev.shape[1]) or A_prev.shape[0] != n_prev:
        raise ValueError(
            f"shapes do not chain: dZ {dZ_or_dA.shape}, A_prev {A_prev.shape}, W {W.shape}"
        )
    if m == 0:
        raise ValueError("dZ must hold at least one example (column)")
    m_total = m if m_total is None else m_total
    arena = Arena(dtype)
    dz, x, w = arena.put(dZ_or_dA), arena.put(A_prev), arena.put(W)
    z = arena.put(Z) if Z is not None else -1
    if activation is not None:
        dz_in, dz = dz, arena.reserve(n * m)
    da, dw, db = arena.reserve(n_prev * m), arena.reserve(n * n_prev), arena.reserve(n)
    back = planned_product(
        dtype, arena, n_prev, m, n, (w, n_prev, 1), (dz, m, 0), (ck.STORE, 0, da, -1, -1, -1, -1)
    )
    grad = planned_product(
        dtype,
        arena,
        n,
        n_prev,
        m,
        (dz, m, 0),
        (x, m, 1),
        (ck.GRADIENT, 0, dw, w, db, -1, -1),
        (dtype(1.0 / m), dtype(l2 / m_total) if l2 else 0, 0, 0, 1),
        bias_column=True,
    )
    F = arena.upload()
    I = cuda.to_device(state_array())
    if activation is not None:
        elementwise(dtype)["elementwise"][grid_for(n * m), THREADS](
            F, n * m, ck.EW_BACKWARD, ACTIVATION_CODES[activation], dz_in, z, dz
        )
    if n_prev:
        back.launch(F, I)
    grad.launch(F, I)
    return arena.read(da, (n_prev, m)), arena.read(dw, (n, n_prev)), arena.read(db, (n, 1))


def linear_backward(dZ, A_prev, W, l2=0.0, m_total=None):
    """``dA_prev = W^T dZ``, ``dW = dZ A_prev^T / m + (l2 / m_total) W``, ``db = sum(dZ) / m``.

    ``m`` is the batch size (columns of ``dZ``); ``m_total`` the training-set
    size the L2 term is scaled by (default ``m``). dW and db come from one
    product (db through a column of ones).
    """
    dZ, A_prev, W = _array(dZ, "dZ"), _array(A_prev, "A_prev"), _array(W, "W")
    _same_dtype(dZ=dZ, A_prev=A_prev, W=W)
    return _backward(dZ, A_prev, W, l2, m_total)


def dense_backward(dA, A_prev, W, Z, activation, l2=0.0, m_total=None):
    """Backward of a hidden dense layer: ``dZ = dA * g'(Z)``, then ``linear_backward``.

    Returns ``(dA_prev, dW, db)``.
    """
    checks.hidden_code(activation)
    dA, A_prev, W, Z = _array(dA, "dA"), _array(A_prev, "A_prev"), _array(W, "W"), _array(Z, "Z")
    _same_dtype(dA=dA, A_prev=A_prev, W=W, Z=Z)
    if dA.shape != Z.shape:
        raise ValueError(f"dA and Z must have one shape, got {dA.shape} and {Z.shape}")
    return _backward(dA, A_prev, W, l2, m_total, Z, activation)


# ---------------------------------------------------------------------------
# 3. Costs and the output gradient
# ---------------------------------------------------------------------------


def _cost(Z, Y, out_code, name):
    Z, Y = _array(Z, name), _array(Y, "Y")
    dtype = _same_dtype(**{name: Z, "Y": Y})
    if Z.shape != Y.shape:
        raise ValueError(f"{name} and Y must have one shape, got {Z.shape} and {Y.shape}")
    n_out, m = Z.shape
    if m == 0:
        raise ValueError(f"{name} must hold at least one example (column)")
    arena = Arena(dtype)
    z, yt = arena.put(Z), arena.put(Y, transposed=True)
    F = arena.upload()
    D = cuda.to_device(np.zeros(1))
    elementwise(dtype)["batch_cost"][1, THREADS](
        F,
        cuda.to_device(state_array()),
        D,
        (n_out, m),
        (z, yt, -1, 0, -1),
        (0, 0, 0),
        out_code,
        (0.0, 0, 0),
        (-1, 0, 0, 0),
        (0.0, 0.0),
    )  # no update scalars: a cost alone
    return dtype(D.copy_to_host()[0] / m)


def binary_cross_entropy(Z, Y):
    """Mean of ``-(y log a + (1-y) log(1-a))``, ``a = sigmoid(Z)``, from Z
    (``softplus(z) - y z``)."""
    return _cost(Z, Y, ck.SIGMOID, "Z")


def categorical_cross_entropy(Z, Y):
    """Mean over examples of ``-sum_k y_k log softmax(z)_k``, from Z (log-sum-exp)."""
    return _cost(Z, Y, ck.SOFTMAX, "Z")


def mean_squared_error(A, Y):
    """Half mean squared error: ``sum((A - Y)**2) / (2 m)`` (summed over outputs)."""
    return _cost(A, Y, ck.LINEAR, "A")


def output_gradient(A, Y):
    """``dZ[L] = A[L] - Y``: the same for each output/cost pair."""
    A, Y = _array(A, "A", None), _array(Y, "Y", None)
    _same_dtype(A=A, Y=Y)
    if A.shape != Y.shape:
        raise ValueError(f"A and Y must have one shape, got {A.shape} and {Y.shape}")
    return _elementwise(ck.EW_SUBTRACT, "linear", A, Y)


def cost(Z, A, Y, output_activation):
    """The cost paired with an output activation (sigmoid, softmax, linear)."""
    name = OUTPUT_COSTS[check_output_activation(output_activation)]
    if name == "mean_squared_error":
        return mean_squared_error(A, Y)
    return globals()[name](Z, Y)


def l2_penalty(weights, l2, m):
    """``l2 / (2 m) * sum_l ||W[l]||_F^2`` (one reduction over all the weights)."""
    weights = [_array(W, f"weights[{i}]", None) for i, W in enumerate(weights)]
    if not weights:
        return 0.0
    dtype = _same_dtype(**{f"weights[{i}]": W for i, W in enumerate(weights)})
    flat = np.concatenate([W.ravel() for W in weights])
    arena = Arena(dtype)
    w = arena.put(flat)
    F = arena.upload()
    D = cuda.to_device(np.zeros(PARTS))
    elementwise(dtype)["sum_squares"][PARTS, THREADS](
        F, cuda.to_device(state_array()), D, w, flat.size, 0
    )
    return l2 / (2 * m) * float(D.copy_to_host().sum())


# ---------------------------------------------------------------------------
# 4. The update
# ---------------------------------------------------------------------------


def _write_back(target, values):
    if _is_device_array(target):
        device = target if hasattr(target, "copy_to_device") else cuda.as_cuda_array(target)
        device.copy_to_device(np.ascontiguousarray(values))
    else:
        target[...] = values


def gradient_descent_step(param, grad, velocity, learning_rate, momentum):
    """In place: ``v = momentum v + (1 - momentum) grad``; ``param -= learning_rate v``.

    The course's exponentially weighted form of momentum; ``momentum = 0`` is
    plain gradient descent. L2 enters through ``grad`` (``linear_backward``).
    """
    p, g = _array(param, "param", None), _array(grad, "grad", None)
    v = _array(velocity, "velocity", None)
    dtype = _same_dtype(param=p, grad=g, velocity=v)
    if not p.shape == g.shape == v.shape:
        raise ValueError(
            f"param, grad and velocity must have one shape, got {p.shape}, {g.shape}, {v.shape}"
        )
    arena = Arena(dtype)
    po, go, vo = arena.put(p), arena.put(g), arena.put(v)
    F = arena.upload()
    if p.size:
        elementwise(dtype)["momentum_step"][grid_for(p.size), THREADS](
            F, p.size, po, go, vo, dtype(learning_rate), dtype(momentum), dtype(1 - momentum)
        )
    _write_back(param, arena.read(po, p.shape))
    _write_back(velocity, arena.read(vo, v.shape))


def adam_step(param, grad, v, s, t, learning_rate, beta1, beta2, epsilon):
    """In place, the course's bias-corrected Adam for the ``t``-th update (``t`` from 1).

    ``v = beta1 v + (1 - beta1) grad``; ``s = beta2 s + (1 - beta2) grad**2``;
    ``param -= learning_rate (v / (1 - beta1**t)) / (sqrt(s / (1 - beta2**t)) + epsilon)``.
    """
    arrays = {
        name: _array(x, name, None)
        for name, x in (("param", param), ("grad", grad), ("v", v), ("s", s))
    }
    dtype = _same_dtype(**arrays)
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) > 1:
        raise ValueError(
            f"param, grad, v and s must have one shape, got {[a.shape for a in arrays.values()]}"
        )
    t = int(t)
    if t < 1:
        raise ValueError(f"t (the update's number, from 1) must be >= 1, got {t}")
    p = arrays["param"]
    arena = Arena(dtype)
    po, go, vo, so = (arena.put(arrays[name]) for name in ("param", "grad", "v", "s"))
    F = arena.upload()
    if p.size:
        betas = (dtype(beta1), dtype(1 - beta1), dtype(beta2), dtype(1 - beta2))
        corrections = (dtype(bias_correction(beta1, t)), dtype(bias_correction(beta2, t)))
        elementwise(dtype)["adam_step"][grid_for(p.size), THREADS](
            F, p.size, po, go, vo, so, dtype(learning_rate), betas, corrections, dtype(epsilon)
        )
    _write_back(param, arena.read(po, p.shape))
    _write_back(v, arena.read(vo, p.shape))
    _write_back(s, arena.read(so, p.shape))


# ---------------------------------------------------------------------------
# 5. The network: prediction and a whole training run
# ---------------------------------------------------------------------------


def _check_network(weights, biases, X, activations, Y=None):
    """Arrays as NumPy, checked to chain; returns (weights, biases, X, Y, dtype)."""
    if not isinstance(weights, (list, tuple)) or not isinstance(biases, (list, tuple)):
        raise TypeError("weights and biases must be lists of arrays")
    L = len(weights)
    if L == 0 or len(biases) != L or len(activations) != L:
        raise ValueError(
            f"weights, biases and activations must have one entry per layer "
            f"(at least one), got {len(weights)}, {len(biases)}, {len(activations)}"
        )
    X = _array(X, "X")
    arrays = {"X": X}
    n_prev = X.shape[0]
    for l, (W, b) in enumerate(zip(weights, biases)):
        W, b = _array(W, f"weights[{l}]"), _array(b, f"biases[{l}]")
        if W.shape[1] != n_prev:
            raise ValueError(f"weights[{l}] must have {n_prev} columns, got shape {W.shape}")
        if b.shape != (W.shape[0], 1):
            raise ValueError(f"biases[{l}] must have shape {(W.shape[0], 1)}, got {b.shape}")
        arrays[f"weights[{l}]"], arrays[f"biases[{l}]"] = W, b
        n_prev = W.shape[0]
    for activation in activations[:-1]:
        checks.hidden_code(activation)
    check_output_activation(activations[-1])
    if Y is not None:
        Y = _array(Y, "Y")
        arrays["Y"] = Y
        if Y.shape != (n_prev, X.shape[1]):
            raise ValueError(f"Y must have shape {(n_prev, X.shape[1])}, got {Y.shape}")
    dtype = _same_dtype(**arrays)
    if X.shape[1] == 0:
        raise ValueError("X must hold at least one example (column)")
    return dtype


def forward(weights, biases, X, activations):
    """``A[L]`` of the network for inputs ``X`` (n_x, m): every layer on the device, one
    copy back."""
    dtype = _check_network(weights, biases, X, activations)
    X = _array(X, "X")
    m = X.shape[1]
    arena = Arena(dtype)
    a_prev = arena.put(X)
    products, n = [], X.shape[0]
    for W, b, activation in zip(weights, biases, activations):
        W, b = _array(W, "W"), _array(b, "b")
        w, bias, a = arena.put(W), arena.put(b), arena.reserve(W.shape[0] * m)
        code = ck.LINEAR if activation == "softmax" else ACTIVATION_CODES[activation]
        products.append(
            planned_product(
                dtype,
                arena,
                W.shape[0],
                m,
                n,
                (w, n, 0),
                (a_prev, m, 0),
                (ck.FORWARD, code, a, -1, bias, -1, -1),
            )
        )
        a_prev, n = a, W.shape[0]
    out = arena.reserve(n * m) if activations[-1] == "softmax" else a_prev
    F = arena.upload()
    I = cuda.to_device(state_array())
    for product in products:
        product.launch(F, I)
    if activations[-1] == "softmax":
        elementwise(dtype)["softmax_columns"][grid_for(m), THREADS](F, n, m, a_prev, out)
    return arena.read(out, (n, m))


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

    The semantics of ``kernels.vectorized.train`` (arguments, sample weights, cost of an
    epoch, L2 scaled by the training-set size, the course's momentum with
    velocities carried in and out, Adam and the learning-rate schedule with
    ``state`` carried in and out (conventions in ``kernels.contract``), the
    divergence rule and NaN costs after a stop). Parameters, moments, X, Y, the
    orders and the epochs' learning rates are copied to the device once;
    mini-batches are gathered there; the costs come back once, at the end.
    """
    dtype = _check_network(weights, biases, X, activations, Y)
    X, Y = _array(X, "X"), _array(Y, "Y")
    epochs = checks.check_epochs(epochs)
    m = X.shape[1]
    # full batch: None, whatever batch_size >= m was given (the run does not look at it)
    batch, orders = checks.check_batches(batch_size, orders, epochs, m, np.int64)
    sample_weight = checks.check_sample_weight(sample_weight, m, dtype)
    checks.check_finite(learning_rate=learning_rate, momentum=momentum, l2=l2)
    checks.check_velocities(velocities, weights, biases, dtype)
    code = check_optimizer(optimizer, momentum, beta1, beta2, epsilon)
    schedule_code = check_schedule(schedule)[0]
    host_weights = [_array(W, "W") for W in weights]
    host_biases = [_array(b, "b") for b in biases]
    state = resolve_state(host_weights, host_biases, code, schedule_code, state, velocities)
    rates = epoch_learning_rates(learning_rate, schedule, state.epoch, epochs)
    if not np.isfinite(rates).all():
        raise ValueError(f"the learning rates of the schedule must be finite, got {rates}")
    adam = (float(beta1), float(beta2), float(epsilon)) if code == ADAM else None
    hidden_codes, output_code = checks.network_codes(activations)
    costs = cuda_train.run(
        host_weights,
        host_biases,
        X,
        Y,
        list(hidden_codes),
        output_code,
        epochs,
        rates,
        batch,
        momentum,
        l2,
        orders,
        state,
        adam,
        sample_weight,
    )
    state.advance(costs, 1 if batch is None else -(-m // batch))
    for target, values in zip(list(weights) + list(biases), host_weights + host_biases):
        if target is not values:
            _write_back(target, values)
    return costs
