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

A constant feature (or target) gets scale 1: constant relative to its own
magnitude (no spread beyond its values' rounding), never by an absolute
threshold. The moments are overflow-safe up to the largest finite values
(``column_statistics``), and values beyond the model's dtype are refused.
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


#: A column whose magnitude is within [2**-SAFE_EXPONENT, 2**SAFE_EXPONENT] has its
#: squares summed as it is (no overflow, no underflow for any realistic m);
#: others are summed scaled by a power of two (exact), in a second pass.
SAFE_EXPONENT = 450
#: A spread below this many units in the last place of the mean is the inputs'
#: own rounding: the feature is constant (relative to its magnitude, never absolute).
ROUNDING_ULPS = 4


def rounding_eps(dtype):
    """The relative rounding of values of ``dtype`` (0 for integers and booleans: exact;
    float64's for anything else, which is converted to float64)."""
    dtype = np.dtype(dtype)
    if dtype.kind in "biu":
        return 0.0
    return float(np.finfo(dtype if dtype.kind == "f" else np.float64).eps)


_FLOAT64_EPS = float(np.finfo(np.float64).eps)


def scale_from(mean, std, eps=_FLOAT64_EPS):
    """Per-column scales: the standard deviation, or 1 where a column is constant.

    Constant means no spread beyond the rounding of its own values (``eps`` of the
    data's dtype): ``std <= ROUNDING_ULPS * eps * |mean|``. A feature in small
    units (std 1e-13 around 0) is not constant; 1e10 plus one ulp is.
    """
    scale = np.array(std, dtype=np.float64)
    constant = ~(scale > ROUNDING_ULPS * eps * np.abs(mean)) | ~(scale > 0)
    scale[constant] = 1.0
    return scale


def power_of_two_factor(magnitude):
    """``2**-e`` with ``magnitude < 2**e``: scales a column into (-1, 1) exactly (a power
    of two changes no digit); capped at ``2**1000`` for subnormal magnitudes."""
    exponent = np.frexp(np.asarray(magnitude, dtype=np.float64))[1]
    return np.ldexp(1.0, np.minimum(-exponent, 1000))


def _blocks(m):
    return range(0, m, BLOCK_ROWS)


def _shifted_moments(X, columns=slice(None), factor=None, ranges=None, weights=None):
    """``(mean, std)`` of ``X[:, columns] * factor``, one blocked pass, float64.

    The squares are summed around the first row (the "shifted data" formula),
    so that a mean far from zero does not cancel the variance away. With
    ``ranges = (lowest, highest)`` (arrays, updated in place) the same pass
    also finds each column's range. ``weights`` (m,): the weighted mean and
    standard deviation (each row counted its weight's times).
    """
    m = X.shape[0]
    total = m if weights is None else float(weights.sum())
    first = X[0, columns].astype(np.float64)
    shift = first if factor is None else first * factor
    sums, squares = np.zeros_like(shift), np.zeros_like(shift)
    block = np.empty((min(BLOCK_ROWS, m), len(shift)))
    for start in _blocks(m):
        rows = X[start : start + BLOCK_ROWS, columns]
        if ranges is not None:
            np.minimum(ranges[0], rows.min(axis=0), out=ranges[0])
            np.maximum(ranges[1], rows.max(axis=0), out=ranges[1])
        shifted = block[: len(rows)]
        if factor is None:
            np.subtract(rows, shift, out=shifted)
        else:
            np.multiply(rows, factor, out=shifted)
            shifted -= shift
        if weights is None:
            sums += shifted.sum(axis=0)
            squares += np.einsum("ij,ij->j", shifted, shifted)
        else:
            w = weights[start : start + BLOCK_ROWS]
            sums += np.einsum("i,ij->j", w, shifted)  # not BLAS: see _no_blas_product
            squares += np.einsum("i,ij,ij->j", w, shifted, shifted)
    variance = np.maximum(squares / total - (sums / total) ** 2, 0.0)
    return shift + sums / total, np.sqrt(variance)


def _new_range(n):
    return np.full(n, np.inf), np.full(n, -np.inf)


def _column_range(X):
    """Per-column ``(lowest, highest)`` as float64 (NaN where a column holds NaN)."""
    lowest, highest = _new_range(X.shape[1])
    for start in _blocks(X.shape[0]):
        rows = X[start : start + BLOCK_ROWS]
        np.minimum(lowest, rows.min(axis=0), out=lowest)
        np.maximum(highest, rows.max(axis=0), out=highest)
    return lowest, highest


def _check_finite_range(X, lowest, highest, name):
    """NaN or infinity in a column shows in its range: one cheap test for the usual
    case, the full check (and its clear message) only when it fails."""
    if np.isfinite(lowest).all() and np.isfinite(highest).all():
        return
    from .validation import check_targets, check_X

    if name == "X":
        check_X(X)  # raises naming the NaN or infinity
    else:
        check_targets(X)
    raise ValueError(f"{name} contains NaN or infinity.")


def check_values(X, dtype, name="X"):
    """ValueError where ``X`` (m, n) holds NaN or infinity, or values beyond ``dtype``'s range.

    One read of X in the usual case: its columns' sums of squares are finite and at most
    ``dtype``'s largest value squared only if every value is finite and within range (NaN and
    infinities propagate, squares never cancel). Where they are not (a bad value, or a sum that
    overflowed), the column ranges decide and the message names the column; they alone took
    three times as long. The sums come from NumPy's own loops (``einsum``), not its BLAS
    (``_no_blas_product``; measured: a (b) fit 2-4x slower after a ``np.dot`` here)."""
    if X.dtype.kind in "biu":
        return  # every integer is finite and within float32's range
    if X.dtype in (np.float32, np.float64) and X.ndim == 2:
        largest = float(np.finfo(dtype).max)
        with np.errstate(over="ignore", invalid="ignore"):
            squares = float(np.einsum("ij,ij->j", X, X).max(initial=0.0))
        if squares < np.inf and squares <= largest * largest:  # False for NaN
            return
    lowest, highest = _column_range(X)
    _check_finite_range(X, lowest, highest, name)
    check_in_range(lowest, highest, dtype, name)


def check_in_range(lowest, highest, dtype, name):
    """ValueError where values cannot be represented in the model's ``dtype``."""
    largest = np.finfo(dtype).max
    magnitude = np.maximum(np.abs(lowest), np.abs(highest))
    beyond = np.flatnonzero(magnitude > largest)
    if beyond.size:
        j = int(beyond[0])
        raise ValueError(
            f"{name} has values up to {magnitude[j]:.3g} in magnitude (column {j}), "
            f"beyond the range of the model's dtype {np.dtype(dtype).name} "
            f"(largest {largest:.3g}): fit with dtype='float64', or rescale {name}"
        )


def column_statistics(X, name="X", weights=None):
    """``(mean, std, lowest, highest)`` of each column of ``X`` (m, n), float64.

    Overflow- and underflow-safe up to the largest finite values: a column far
    from unit magnitude is summed scaled by a power of two (exact), and its
    mean and standard deviation scaled back; the variance itself, which may not
    be representable, is never formed. NaN/inf raise (``name``'s message).
    ``weights``: positive weights of the rows (``fastnn.weights``): weighted moments.
    """
    lowest, highest = _new_range(X.shape[1])
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        mean, std = _shifted_moments(X, ranges=(lowest, highest), weights=weights)
    _check_finite_range(X, lowest, highest, name)
    magnitude = np.maximum(np.abs(lowest), np.abs(highest))
    constant = lowest == highest
    mean[constant], std[constant] = lowest[constant], 0.0  # exact
    exponent = np.frexp(magnitude)[1]
    unsafe = np.flatnonzero(~constant & (np.abs(exponent) > SAFE_EXPONENT))
    if unsafe.size:
        factor = power_of_two_factor(magnitude[unsafe])  # |X * factor| < 1
        scaled_mean, scaled_std = _shifted_moments(X, unsafe, factor, weights=weights)
        mean[unsafe] = scaled_mean / factor
        std[unsafe] = scaled_std / factor
    return mean, std, lowest, highest


def prepare_inputs(X, dtype, standardize, by_example=False, weights=None, statistics=None):
    """``X`` (m, n_x), rows are examples -> ``(XT, x_mean, x_scale)``.

    ``XT`` is the notes' ``(n_x, m)`` array of ``dtype``, ``(X - mean) / scale``
    per feature with ``standardize``, else ``X`` itself; also the finiteness
    check of X and the check that X fits in ``dtype`` (from the column ranges the
    moments' pass finds, else ``check_values``).
    Its memory order:

    - C-contiguous (one column per example, the notes' layout), the default;
    - ``by_example``: F-contiguous, the transpose of a row-major (m, n_x) copy,
      what mini-batch runs want (a mini-batch gathers examples, contiguous
      rows of that copy; the Numba variant takes it without a copy, and the
      conversion needs no transposition).

    Two blocked passes over X (range and moments; centre, scale and write) and
    one write; one more over the rare columns far from unit magnitude.
    Without ``standardize``, a writeable X already in ``dtype`` and row-major is used as it is
    (no copy) where the examples-contiguous layout is asked for.
    ``weights``: the rows' (positive) sample weights, for weighted moments;
    ``statistics``: ``(mean, scale)`` to use instead of X's own (``partial_fit``).
    """
    m, n_x = X.shape
    if standardize and statistics is None:
        mean, std, lowest, highest = column_statistics(X, weights=weights)
        scale = scale_from(mean, std, rounding_eps(X.dtype))
        check_in_range(lowest, highest, dtype, "X")
    else:
        check_values(X, dtype, "X")
        if standardize:
            mean, scale = (np.asarray(a, dtype=np.float64) for a in statistics)
        else:
            mean, scale = np.zeros(n_x), np.ones(n_x)
    as_is = X.dtype == dtype and X.flags.c_contiguous and X.flags.writeable
    if not standardize and by_example and as_is:
        # X itself, as scikit-learn does: nothing writes to it (a read-only X is copied here
        # once: the numba variant would copy it in every call)
        return X.T, mean, scale
    with np.errstate(over="ignore"):
        inverse = 1.0 / scale
    # a subnormal scale has no finite inverse: divide those columns instead
    divide = not np.isfinite(inverse).all()
    out = np.empty((m, n_x) if by_example else (n_x, m), dtype=dtype)
    block = np.empty((min(BLOCK_ROWS, m), n_x))
    for start in _blocks(m):
        rows = X[start : start + BLOCK_ROWS]
        if standardize:
            scaled = block[: len(rows)]
            np.subtract(rows, mean, out=scaled)
            if divide:
                scaled /= scale
            else:
                scaled *= inverse
        else:
            scaled = rows
        if by_example:
            out[start : start + BLOCK_ROWS] = scaled
        else:
            out[:, start : start + BLOCK_ROWS] = scaled.T
    return (out.T if by_example else out), mean, scale


def scaled_transposed(X, scaling, dtype):
    """``(X - x_mean) / x_scale`` as ``(n_x, m)``, C-contiguous, ``dtype``: other rows
    (a validation split) scaled with the training rows' statistics."""
    check_values(X, dtype, "X")  # NaN or infinity named as for training rows
    XT = (np.asarray(X, dtype=np.float64).T - scaling.x_mean[:, None]) / scaling.x_scale[:, None]
    return np.ascontiguousarray(XT, dtype=dtype)


def target_scaling(Y, weights=None):
    """Mean and scale of each target column of ``Y`` (m, n_outputs), overflow-safe
    (weighted by the rows' ``weights`` when given)."""
    mean, std, _, _ = column_statistics(Y, "y", weights)
    return mean, scale_from(mean, std, rounding_eps(Y.dtype))


def transposed_targets(Y, scaling, dtype):
    """``(Y - mean) / scale`` as ``(n_outputs, m)``, C-contiguous, ``dtype``.

    ValueError where ``Y`` holds values beyond ``dtype``'s range.
    """
    check_in_range(Y.min(axis=0), Y.max(axis=0), dtype, "y")
    YT = (Y.T - scaling.y_mean[:, None]) / scaling.y_scale[:, None]
    return np.ascontiguousarray(YT, dtype=dtype)


def fold(weights, biases, scaling, dtype):
    """Parameters trained on scaled data -> parameters acting on raw data (new arrays).

    ValueError where the folded parameters are beyond ``dtype``'s range (a
    feature of tiny spread makes ``W1 / scale`` huge, a target of huge spread
    ``scale * W[L]``): the model could not predict with them.
    """
    weights = [np.asarray(W, dtype=np.float64).copy() for W in weights]
    biases = [np.asarray(b, dtype=np.float64).copy() for b in biases]
    with np.errstate(over="ignore", invalid="ignore"):
        weights[0] /= scaling.x_scale[None, :]
        biases[0] -= _no_blas_product(weights[0], scaling.x_mean)
        if scaling.y_mean is not None:
            weights[-1] *= scaling.y_scale[:, None]
            biases[-1] *= scaling.y_scale[:, None]
            biases[-1] += scaling.y_mean[:, None]
        weights, biases = _cast(weights, dtype), _cast(biases, dtype)
    for layer, (W, b) in enumerate(zip(weights, biases), start=1):
        if not (np.isfinite(W).all() and np.isfinite(b).all()):
            raise ValueError(
                f"the fitted parameters of layer {layer} cannot be represented in the model's "
                f"dtype {np.dtype(dtype).name} once the standardisation is folded into them "
                "(features or targets whose spread is too small or too large for it): fit "
                "with dtype='float64', or rescale X and y"
            )
    return weights, biases


def unfold(weights, biases, scaling, dtype):
    """Parameters acting on raw data -> parameters acting on scaled data (new arrays)."""
    weights = [np.asarray(W, dtype=np.float64).copy() for W in weights]
    biases = [np.asarray(b, dtype=np.float64).copy() for b in biases]
    if scaling.y_mean is not None:
        biases[-1] -= scaling.y_mean[:, None]
        biases[-1] /= scaling.y_scale[:, None]
        weights[-1] /= scaling.y_scale[:, None]
    biases[0] += _no_blas_product(weights[0], scaling.x_mean)
    weights[0] *= scaling.x_scale[None, :]
    return _cast(weights, dtype), _cast(biases, dtype)


def _no_blas_product(W, x):
    """``W @ x`` as a column, by NumPy's own loops: a BLAS call wakes NumPy's copy of
    OpenBLAS, whose threads then spin for a while against those of the compiled kernels, which
    use SciPy's (measured: a 512^2 product of the kernels 2x slower right after NumPy's
    1024^2 matrix-vector product, as fast as ever after this one)."""
    return np.einsum("ij,j->i", W, x)[:, None]


def _cast(arrays, dtype):
    return [np.ascontiguousarray(a, dtype=dtype) for a in arrays]
