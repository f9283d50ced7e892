"""How a row block becomes the kernels' arrays, on the worker that holds it.

Small picklable callables, sent with the tasks: ``inputs(x)`` gives
``X (n_x, m_p)`` and ``targets(y)`` gives ``Y (n_out, m_p)``, both C-contiguous
in the training dtype. With a standardisation (``fastnn.scaling.Scaling``:
``x_mean``, ``x_scale``, ``y_mean``, ``y_scale``) they compute what the
estimators' ``fit`` trains on: ``(x - mean) / scale`` per column.
"""

import numpy as np


def _floats(data):
    array = np.asarray(data)
    if array.dtype.kind == "c":  # refused before training (summaries); never cast to real
        raise ValueError(f"Complex data not supported: a block has dtype {array.dtype}")
    if array.dtype.kind not in "biuf":
        array = array.astype(np.float64)
    return array


class TransposedInputs:
    """``x (m_p, n_x)`` -> ``X (n_x, m_p)``: cast to ``dtype``, standardised by ``scaling``."""

    def __init__(self, dtype, scaling=None):
        self.dtype = np.dtype(dtype)
        self.scaling = scaling

    def __call__(self, x):
        x = _floats(x)
        if self.scaling is None:
            return np.ascontiguousarray(x.T, dtype=self.dtype)
        # as the estimators (scaling.prepare_inputs): centre and scale in float64, then cast
        # (a scale without a finite inverse, subnormal, divides instead)
        centred = x - self.scaling.x_mean
        with np.errstate(over="ignore"):
            inverse = 1.0 / self.scaling.x_scale
        if np.isfinite(inverse).all():
            centred *= inverse
        else:
            centred /= self.scaling.x_scale
        return np.ascontiguousarray(centred.T, dtype=self.dtype)


class NumericTargets:
    """``y (m_p,)`` or ``(m_p, k)`` -> ``Y (k, m_p)``: cast, standardised by ``scaling``."""

    def __init__(self, dtype, scaling=None):
        self.dtype = np.dtype(dtype)
        self.scaling = scaling

    def __call__(self, y):
        y = _floats(y).astype(np.float64)
        y = y.reshape(y.shape[0], -1)
        if self.scaling is not None and self.scaling.y_mean is not None:
            y = (y - self.scaling.y_mean) / self.scaling.y_scale
        return np.ascontiguousarray(y.T, dtype=self.dtype)


class LabelTargets:
    """Class labels -> ``Y``: one row ``y == classes[1]`` for two classes (sigmoid
    output), one-hot rows in the order of ``classes`` for more (softmax) — the
    encoding of the estimators' ``fit``."""

    def __init__(self, classes, dtype):
        self.classes = np.asarray(classes)
        self.dtype = np.dtype(dtype)

    @property
    def n_outputs(self):
        return 1 if len(self.classes) == 2 else len(self.classes)

    def __call__(self, y):
        y = np.asarray(y).ravel()
        if len(self.classes) == 2:
            return (y == self.classes[1]).astype(self.dtype)[None, :]
        order = np.argsort(self.classes, kind="stable")
        index = order[np.searchsorted(self.classes[order], y)]
        Y = np.zeros((len(self.classes), y.shape[0]), dtype=self.dtype)
        Y[index, np.arange(y.shape[0])] = 1
        return Y
