"""Standardisation inside ``fit``, folded into the parameters afterwards.

Gradient descent with one learning rate is only stable when the inputs (and, for
a regressor, the targets) are of unit scale: on features of mean 100 or targets
of standard deviation 100 any fixed default learning rate diverges. So ``fit``
(with ``standardize=True``, the default) trains on ``(x - mean) / scale`` and,
for a regressor, ``(y - mean) / scale``, and then folds these affine maps into
the first and last layers, exactly::

    W[1] x_s + b[1]  =  (W[1] / s) x + (b[1] - (W[1] / s) mu)         (input side)
    s_y (W[L] a + b[L]) + mu_y  =  (s_y W[L]) a + (s_y b[L] + mu_y)   (output side)

so ``parameters_`` always act on the raw data: ``predict`` is the notes' plain
forward pass, and a saved model needs no scaler. A warm start unfolds the
current ``parameters_`` with the statistics of the new data.

A constant feature (or target) gets scale 1.
"""

from dataclasses import dataclass

import numpy as np


@dataclass
class Scaling:
    """Per-feature ``x_mean``/``x_scale``; per-output ``y_mean``/``y_scale`` (or None)."""

    x_mean: np.ndarray
    x_scale: np.ndarray
    y_mean: np.ndarray = None
    y_scale: np.ndarray = None


#: Rows of X per block: a block (float64) stays in cache while it is shifted,
#: squared and summed, or centred, scaled and written transposed. A plain
#: ``X.T`` copy of a (60000, 784) X is 2-3x slower than the blocked one.
BLOCK_ROWS = 256


def _scale_from(mean, variance):
    scale = np.sqrt(variance)
    # constant columns stay as they are (up to the shift); so do tiny relative spreads
    scale[~(scale > 1e-12 * np.maximum(np.abs(mean), 1.0))] = 1.0
    return scale


def _blocks(m):
    return range(0, m, BLOCK_ROWS)


def _column_moments(X):
    """Column sums (as float64) and variances, in one blocked pass over X.

    The squares are summed around the first row (the "shifted data" formula),
    so that a mean far from zero does not cancel the variance away.
    """
    m, n_x = X.shape
    shift = X[0].astype(np.float64)
    shifted_sums, shifted_squares = np.zeros(n_x), np.zeros(n_x)
    block = np.empty((min(BLOCK_ROWS, m), n_x))
    for start in _blocks(m):
        rows = X[start:start + BLOCK_ROWS]
        shifted = block[:len(rows)]
        np.subtract(rows, shift, out=shifted)
        shifted_sums += shifted.sum(axis=0)
        shifted_squares += np.einsum("ij,ij->j", shifted, shifted)
    sums = shifted_sums + m * shift
    variance = np.maximum(shifted_squares / m - (shifted_sums / m) ** 2, 0.0)
    return sums, variance


def _check_column_sums(X, sums):
    """Any NaN or infinity in a column makes its sum non-finite: one cheap test for
    the usual case, the full check (and its clear message) only when it fails."""
    if np.isfinite(sums).all():
        return
    from .validation import check_X

    check_X(X)  # raises naming the NaN or infinity
    raise ValueError("X has values too large to standardize (a column sum overflows); "
                     "rescale X or fit with standardize=False")


def prepare_inputs(X, dtype, standardize, by_example=False):
    """``X`` (m, n_x), rows are examples -> ``(XT, x_mean, x_scale)``.

    ``XT`` is the notes' ``(n_x, m)`` array of ``dtype``, ``(X - mean) / scale``
    per feature with ``standardize``, else ``X`` itself; also the finiteness
    check of X (from the column sums). Its memory order:

    - C-contiguous (one column per example, the notes' layout), the default;
    - ``by_example``: F-contiguous, the transpose of a row-major (m, n_x) copy,
      what mini-batch runs want (a mini-batch gathers examples, contiguous
      rows of that copy; the Numba variant takes it without a copy, and the
      conversion needs no transposition).

    Two blocked passes over X (moments; centre, scale and write) and one write.
    """
    m, n_x = X.shape
    with np.errstate(over="ignore", invalid="ignore"):  # NaN/inf in X: reported just below
        if standardize:
            sums, variance = _column_moments(X)
        else:
            sums = X.sum(axis=0, dtype=np.float64)
    _check_column_sums(X, sums)
    if standardize:
        mean = sums / m
        scale = _scale_from(mean, variance)
    else:
        mean, scale = np.zeros(n_x), np.ones(n_x)
    inverse = 1.0 / scale
    out = np.empty((m, n_x) if by_example else (n_x, m), dtype=dtype)
    block = np.empty((min(BLOCK_ROWS, m), n_x))
    for start in _blocks(m):
        rows = X[start:start + BLOCK_ROWS]
        if standardize:
            scaled = block[:len(rows)]
            np.subtract(rows, mean, out=scaled)
            scaled *= inverse
        else:
            scaled = rows
        if by_example:
            out[start:start + BLOCK_ROWS] = scaled
        else:
            out[:, start:start + BLOCK_ROWS] = scaled.T
    return (out.T if by_example else out), mean, scale


def target_scaling(Y):
    """Mean and scale of each target column of ``Y`` (m, n_outputs)."""
    mean = Y.mean(axis=0)
    return mean, _scale_from(mean, Y.var(axis=0))


def transposed_targets(Y, scaling, dtype):
    """``(Y - mean) / scale`` as ``(n_outputs, m)``, C-contiguous, ``dtype``."""
    YT = (Y.T - scaling.y_mean[:, None]) / scaling.y_scale[:, None]
    return np.ascontiguousarray(YT, dtype=dtype)


def fold(weights, biases, scaling, dtype):
    """Parameters trained on scaled data -> parameters acting on raw data (new arrays)."""
    weights = [np.asarray(W, dtype=np.float64).copy() for W in weights]
    biases = [np.asarray(b, dtype=np.float64).copy() for b in biases]
    weights[0] /= scaling.x_scale[None, :]
    biases[0] -= weights[0] @ scaling.x_mean[:, None]
    if scaling.y_mean is not None:
        weights[-1] *= scaling.y_scale[:, None]
        biases[-1] *= scaling.y_scale[:, None]
        biases[-1] += scaling.y_mean[:, None]
    return _cast(weights, dtype), _cast(biases, dtype)


def unfold(weights, biases, scaling, dtype):
    """Parameters acting on raw data -> parameters acting on scaled data (new arrays)."""
    weights = [np.asarray(W, dtype=np.float64).copy() for W in weights]
    biases = [np.asarray(b, dtype=np.float64).copy() for b in biases]
    if scaling.y_mean is not None:
        biases[-1] -= scaling.y_mean[:, None]
        biases[-1] /= scaling.y_scale[:, None]
        weights[-1] /= scaling.y_scale[:, None]
    biases[0] += weights[0] @ scaling.x_mean[:, None]
    weights[0] *= scaling.x_scale[None, :]
    return _cast(weights, dtype), _cast(biases, dtype)


def _cast(arrays, dtype):
    return [np.ascontiguousarray(a, dtype=dtype) for a in arrays]
