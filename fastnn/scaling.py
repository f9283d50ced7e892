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


def _mean_and_scale(A):
    mean = A.mean(axis=0, dtype=np.float64)
    scale = A.std(axis=0, dtype=np.float64)
    # constant columns stay as they are (up to the shift); so do tiny relative spreads
    scale[~(scale > 1e-12 * np.maximum(np.abs(mean), 1.0))] = 1.0
    return mean, scale


def identity(n_features, n_outputs=None):
    """No scaling (``standardize=False``)."""
    x = (np.zeros(n_features), np.ones(n_features))
    y = (None, None) if n_outputs is None else (np.zeros(n_outputs), np.ones(n_outputs))
    return Scaling(*x, *y)


def fit_scaling(X, Y=None):
    """Statistics of ``X`` (rows are examples) and optionally ``Y`` (m, n_outputs)."""
    x_mean, x_scale = _mean_and_scale(X)
    if Y is None:
        return Scaling(x_mean, x_scale)
    y_mean, y_scale = _mean_and_scale(Y)
    return Scaling(x_mean, x_scale, y_mean, y_scale)


def transposed_inputs(X, scaling, dtype):
    """``(X - mean) / scale`` in the notes' layout ``(n_x, m)``, C-contiguous, ``dtype``.

    One conversion per fit; the identity scaling only transposes and casts.
    """
    XT = np.empty((X.shape[1], X.shape[0]), dtype=np.float64)
    np.subtract(X.T, scaling.x_mean[:, None], out=XT)
    XT /= scaling.x_scale[:, None]
    return np.ascontiguousarray(XT, dtype=dtype)


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
