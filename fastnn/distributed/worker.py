"""What runs on the Dask workers: plain functions of NumPy arrays, no cluster code.

A partition is a block of rows already in the notes' layout,
``Partition(X (n_x, m_p), Y (n_out, m_p))``. Each step the client sends the
current parameters; every partition returns the *sums* over its rows (the
kernels' ``linear_backward`` divides by the batch's ``m``; we multiply back),
and the sums of all partitions are added up by a tree of ``add`` tasks.

Everything returned is a NamedTuple of arrays and numbers so that Dask's
``sizeof`` (which sums tuple items) sees the real size when it decides to
spill to disk.
"""

from typing import NamedTuple

import numpy as np

import kernels

from .._threading import kernel_guard
from ..scaling import power_of_two_factor
from ..validation import as_float_array


class Summary(NamedTuple):
    """What the client checks before training, and the column moments the
    standardisation needs (small: no rows travel)."""

    rows: int
    columns: int
    x_error: str  # why X cannot be used, or ""
    x_nan: bool
    x_inf: bool
    x_moments: object  # (magnitude, scaled sum, scaled sum of squares) per column, float64
    y_rows: int
    y_ndim: int
    y_columns: int
    y_error: str
    y_nan: bool
    y_inf: bool
    y_moments: object  # as x_moments (regression only)
    labels: object  # the distinct labels (classification only)


class Partition(NamedTuple):
    """A block ready for the kernels: ``X (n_x, m_p)``, ``Y (n_out, m_p)``."""

    X: np.ndarray
    Y: np.ndarray


class GradientSums(NamedTuple):
    """Sums over the rows of a batch: ``loss_sum`` (cost times rows), ``dW``/``db``
    per layer (``dZ A_prev^T`` and ``rowsum(dZ)``, not divided by m), ``rows``."""

    loss_sum: float
    rows: int
    dW: tuple
    db: tuple


class LocalRun(NamedTuple):
    """A partition's local epochs, every field multiplied by its ``rows`` so that the
    tree's sum divided by the total rows is the row-weighted average."""

    rows: int
    weights: tuple
    biases: tuple
    v_weights: tuple
    v_biases: tuple
    costs: np.ndarray


# ---------------------------------------------------------------------------
# Checking a block, and making it a partition
# ---------------------------------------------------------------------------


def _numbers(data, name):
    """``(float64 array, "")`` or ``(None, why not)``: the local fit's rules and messages
    (complex data refused, not cast to its real part)."""
    try:
        return as_float_array(data, name).astype(np.float64, copy=False), ""
    except (TypeError, ValueError) as error:
        return None, str(error)


def _moments(values):
    """Per column: the magnitude (largest |value|), and the sum and the sum of squares
    about the block's mean of the values scaled by ``power_of_two_factor(magnitude)``
    (overflow-safe at any magnitude; ``partitions.column_moments`` combines them)."""
    if values.shape[0] == 0:
        return np.zeros(values.shape[1]), np.zeros(values.shape[1]), np.zeros(values.shape[1])
    magnitude = np.abs(values).max(axis=0)
    scaled = values * power_of_two_factor(magnitude)
    mean = scaled.mean(axis=0)
    return magnitude, scaled.sum(axis=0), ((scaled - mean) ** 2).sum(axis=0)


def summarize_block(x, y, classification):
    """The ``Summary`` of a pair of row blocks (rows are examples)."""
    x, y = np.asarray(x), np.asarray(y)
    rows, columns, x_error = -1, -1, ""
    x_nan = x_inf = False
    x_moments = None
    if x.ndim != 2:
        x_error = f"X must be a 2-D array (n_samples, n_features), got a {x.ndim}-D block"
    else:
        rows, columns = x.shape
        values, x_error = _numbers(x, "X")
        if values is not None:
            x_nan, x_inf = bool(np.isnan(values).any()), bool(np.isinf(values).any())
            if not (x_nan or x_inf):
                x_moments = _moments(values)
    y_rows = y.shape[0] if y.ndim else -1
    y_columns = (1 if y.ndim == 1 else y.shape[1]) if y.ndim in (1, 2) else -1
    y_error, y_nan, y_inf, y_moments, labels = "", False, False, None, None
    if y.ndim not in (1, 2):
        y_error = f"y must be 1-D or 2-D (n_samples[, n_outputs]), got a {y.ndim}-D block"
    elif classification:
        flat = y.ravel()
        try:
            labels = np.unique(flat)
        except TypeError:  # labels of mixed kinds do not sort: let the client say so
            labels = np.array(list(dict.fromkeys(flat.tolist())), dtype=object)
    else:
        values, y_error = _numbers(y, "y")
        if values is not None:
            y_nan, y_inf = bool(np.isnan(values).any()), bool(np.isinf(values).any())
            if not (y_nan or y_inf):
                y_moments = _moments(values.reshape(values.shape[0], -1))
    return Summary(
        rows,
        columns,
        x_error,
        x_nan,
        x_inf,
        x_moments,
        y_rows,
        y.ndim,
        y_columns,
        y_error,
        y_nan,
        y_inf,
        y_moments,
        labels,
    )


def prepare_partition(x, y, inputs, targets):
    """``Partition(inputs(x), targets(y))``: the block in the kernels' layout and dtype."""
    return Partition(inputs(x), targets(y))


# ---------------------------------------------------------------------------
# One step: the summed gradients of a partition's rows
# ---------------------------------------------------------------------------


def gradient_sums(partition, parameters, activations, backend, rows=None):
    """Forward and backward over the partition (or its ``rows``), with ``backend``'s kernels.

    ``parameters`` is ``(weights, biases)``, never modified. Returns ``GradientSums``;
    the L2 term is left to the client, which knows the training-set size.
    """
    k = kernels.get(backend)
    weights, biases = parameters
    X, Y = partition
    with kernel_guard(backend):  # a worker may run several tasks at once, on threads
        return _gradient_sums(k, X, Y, weights, biases, activations, rows)


def _gradient_sums(k, X, Y, weights, biases, activations, rows):
    if rows is not None:
        X, Y = X[:, rows], Y[:, rows]
    m = X.shape[1]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        caches = []
        A = X
        for W, b, activation in zip(weights, biases, activations):
            A_prev = A
            A, Z = k.dense_forward(A_prev, W, b, activation)
            caches.append((A_prev, Z))
        loss_sum = float(k.cost(Z, A, Y, activations[-1])) * m
        dZ = k.output_gradient(A, Y)
        dW_sums, db_sums = [None] * len(weights), [None] * len(weights)
        scale = X.dtype.type(m)
        dA = None  # the layer above's, from the previous iteration
        for layer in range(len(weights) - 1, -1, -1):
            A_prev, Z = caches[layer]
            if layer < len(weights) - 1:
                dZ = k.activation_backward(dA, Z, activations[layer])  # dA of the layer above
            dA, dW, db = k.linear_backward(dZ, A_prev, weights[layer])
            dW_sums[layer], db_sums[layer] = dW * scale, db * scale
    return GradientSums(loss_sum, m, tuple(dW_sums), tuple(db_sums))


def local_epochs(
    partition,
    parameters,
    velocities,
    activations,
    backend,
    epochs,
    learning_rate,
    batch_size,
    momentum,
    l2_per_row,
    seed,
):
    """``epochs`` epochs of the kernels' whole-run ``train`` on this partition alone.

    The L2 strength is scaled to the partition (``l2_per_row * m_p``) so that its
    term ``l2 / (2 m) ||W||^2`` is the same as on the whole training set. The
    shuffling orders come from a NumPy Generator seeded by ``seed`` (a
    ``SeedSequence``), drawn here in Python and passed to the kernel.
    Returns a ``LocalRun`` weighted by the partition's rows.
    """
    k = kernels.get(backend)
    X, Y = partition
    m = X.shape[1]
    # the inputs may be shared: never train them in place
    weights = [W.copy() for W in parameters[0]]
    biases = [b.copy() for b in parameters[1]]
    v_weights = [v.copy() for v in velocities[0]]
    v_biases = [v.copy() for v in velocities[1]]
    orders = None
    if batch_size is not None and batch_size < m:
        rng = np.random.default_rng(seed)
        orders = np.stack([rng.permutation(m) for _ in range(epochs)])
    with kernel_guard(backend):
        costs = k.train(
            weights,
            biases,
            X,
            Y,
            list(activations),
            epochs,
            learning_rate,
            batch_size=batch_size,
            momentum=momentum,
            l2=l2_per_row * m,
            orders=orders,
            velocities=(v_weights, v_biases),
        )
    scale = X.dtype.type(m)
    return LocalRun(
        m,
        tuple(W * scale for W in weights),
        tuple(b * scale for b in biases),
        tuple(v * scale for v in v_weights),
        tuple(v * scale for v in v_biases),
        np.asarray(costs, dtype=np.float64) * m,
    )


# ---------------------------------------------------------------------------
# The reduction
# ---------------------------------------------------------------------------


def add(*items):
    """The element-wise sum of NamedTuples/tuples of arrays and numbers (a tree node)."""
    first = items[0]
    if isinstance(first, tuple):
        summed = [add(*parts) for parts in zip(*items)]
        return type(first)(*summed) if hasattr(first, "_fields") else tuple(summed)
    total = first
    for item in items[1:]:
        total = total + item
    return total
