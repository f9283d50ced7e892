"""Sample and class weights of a fit, checked as scikit-learn checks them.

``fit(X, y, sample_weight=None)``: one weight per example (``_check_sample_weight``'s
rules: a number is every example's weight; an array-like of shape ``(n_samples,)``,
real, finite, non-negative and not all zero). ``class_weight`` (classifiers):
None, ``"balanced"`` (``n_samples / (n_classes * count of the class)``, scikit-learn's
formula, from the unweighted counts) or a dict ``{label: weight}`` (labels it does not
name weigh 1); it multiplies the sample weights. The kernels' meaning of a weight
(weighted means, the L2 term over the total weight) is in ``kernels/contract.py``.

Examples of weight 0 are left out of the fit before anything is computed from the
data (the scaling statistics, the mini-batches): a zero weight is exactly a row removed.
"""

from __future__ import annotations

import dataclasses
import numbers

import numpy as np

from .targets import ClassifierTargets, RegressorTargets


def check_sample_weight(sample_weight, n_samples):
    """float64 ``(n_samples,)`` (a new array), or None; ValueError/TypeError naming it."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number) and not isinstance(sample_weight, bool):
        w = np.full(n_samples, sample_weight, dtype=np.float64)
    else:
        w = np.asarray(sample_weight)
        if w.dtype.kind not in "biuf":
            raise TypeError(f"sample_weight must hold real numbers, got dtype {w.dtype}")
        if w.shape != (n_samples,):
            raise ValueError(
                f"sample_weight.shape == {w.shape}, expected ({n_samples},): one weight per sample"
            )
        w = w.astype(np.float64)  # a copy: the caller's array is never written
    if not np.isfinite(w).all():
        raise ValueError("sample_weight must be finite (no NaN or infinity)")
    if (w < 0).any():
        raise ValueError("sample_weight must be non-negative")
    if not (w > 0).any():
        raise ValueError(
            "sample_weight must not be all zero: at least one sample needs a non-zero weight"
        )
    return w


def check_class_weight(class_weight):
    """The hyperparameter's form (its labels are checked against y in ``fit``): None,
    ``"balanced"`` or a dict of finite weights >= 0; ValueError naming it otherwise."""
    if class_weight is None or (isinstance(class_weight, str) and class_weight == "balanced"):
        return class_weight
    if not isinstance(class_weight, dict):
        raise ValueError(
            f"class_weight must be None, 'balanced' or a dict {{label: weight}}, "
            f"got {class_weight!r}"
        )
    for label, value in class_weight.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not np.isfinite(value)
            or value < 0
        ):
            raise ValueError(f"class_weight[{label!r}] must be a finite number >= 0, got {value!r}")
    return class_weight


def class_weights(class_weight, classes, indices):
    """float64 weight of each class of ``classes`` (None for ``class_weight=None``)."""
    if check_class_weight(class_weight) is None:
        return None
    n_classes = len(classes)
    if isinstance(class_weight, str):  # "balanced"
        counts = np.bincount(indices, minlength=n_classes).astype(np.float64)
        weights = np.zeros(n_classes)
        present = counts > 0
        weights[present] = len(indices) / (np.count_nonzero(present) * counts[present])
        return weights
    known = {label: index for index, label in enumerate(classes.tolist())}
    weights = np.ones(n_classes)
    for label, value in class_weight.items():
        key = label.item() if isinstance(label, np.generic) else label
        if key not in known:
            raise ValueError(
                f"class_weight has the label {label!r}, which is not a class of y "
                f"(classes: {classes.tolist()!r})"
            )
        weights[known[key]] = float(value)
    return weights


def fit_sample_weight(sample_weight, class_weight, targets, n_samples):
    """The weight of each example (float64), sample weights times class weights, or None
    when neither is given or every weight is 1. ValueError when every weight is zero."""
    w = check_sample_weight(sample_weight, n_samples)
    if class_weight is not None and isinstance(targets, ClassifierTargets):
        per_class = class_weights(class_weight, targets.classes, targets.indices)
        w = per_class[targets.indices] if w is None else w * per_class[targets.indices]
        if not (w > 0).any():
            raise ValueError(
                "sample_weight times class_weight is zero for every sample: at "
                "least one sample needs a non-zero weight"
            )
    if w is not None and (w == 1).all():
        return None  # the unweighted fit, bit for bit
    return w


def drop_zero_weights(X, targets, sample_weight):
    """``(X, targets, sample_weight)`` without the examples of weight 0."""
    if sample_weight is None:
        return X, targets, None
    keep = sample_weight > 0
    if keep.all():
        return X, targets, sample_weight
    kept = sample_weight[keep]
    # weights 1 and 0 only: the unweighted fit of the rows kept, bit for bit
    return X[keep], select_rows(targets, keep), None if (kept == 1).all() else kept


def select_rows(targets, keep):
    """The targets of the examples selected by the boolean mask ``keep``."""
    if isinstance(targets, ClassifierTargets):
        return dataclasses.replace(targets, indices=targets.indices[keep])
    if isinstance(targets, RegressorTargets):
        return dataclasses.replace(targets, values=targets.values[keep])
    raise TypeError(f"unknown targets {type(targets).__name__}")


def check_classes_left(targets, weighted):
    """ValueError when the weights leave a classifier one class to learn from."""
    if weighted and isinstance(targets, ClassifierTargets):
        left = np.unique(targets.indices)
        if len(left) < 2:
            raise ValueError(
                f"sample_weight (times class_weight) leaves only the class "
                f"{targets.classes[left[0]].item()!r} with a non-zero weight: a classifier "
                "needs at least 2 classes with non-zero weights to learn from"
            )


def partial_fit_targets(y, classes):
    """Classifier targets of ``y`` against the classes declared in ``partial_fit``
    (any number of them may be in this batch); ValueError for a label not declared."""
    from .validation import check_label_kinds

    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels.ravel()
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(
            f"y must be a non-empty 1-D array of class labels, got shape {labels.shape}"
        )
    check_label_kinds(labels)
    indices = np.searchsorted(classes, labels)
    inside = indices < len(classes)
    unknown = ~inside
    unknown[inside] = classes[indices[inside]] != labels[inside]
    if unknown.any():
        raise ValueError(
            f"y has labels {np.unique(labels[unknown]).tolist()!r} that are not "
            f"in classes {classes.tolist()!r} (declared in the first call to "
            "partial_fit)"
        )
    return ClassifierTargets(classes, indices.astype(np.intp))


def declared_classes(classes, fitted):
    """The sorted distinct labels of ``classes`` (partial_fit's argument), checked against
    the ``classes_`` of a fitted model (``fitted``, or None)."""
    if classes is None:
        if fitted is None:
            raise ValueError("classes must be passed on the first call to partial_fit")
        return fitted
    classes = np.unique(np.asarray(classes))
    if len(classes) < 2:
        raise ValueError(f"classes must hold at least 2 distinct labels, got {classes.tolist()!r}")
    if fitted is not None and not np.array_equal(classes, fitted):
        raise ValueError(
            f"classes={classes.tolist()!r} is not the same as on the last call to "
            f"partial_fit (or fit), was: {fitted.tolist()!r}"
        )
    return classes


def in_dtype(sample_weight, dtype):
    """The weights in the model's dtype (the kernels' rule), or None; ValueError when a
    weight is beyond that dtype's range."""
    if sample_weight is None:
        return None
    largest = np.finfo(dtype).max
    if sample_weight.max() > largest:
        raise ValueError(
            f"sample_weight has values up to {sample_weight.max():.3g}, beyond the "
            f"range of the model's dtype {np.dtype(dtype).name}: rescale the "
            "weights (only their ratios matter)"
        )
    return np.ascontiguousarray(sample_weight, dtype=dtype)
