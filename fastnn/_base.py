"""The scikit-learn estimator protocol, implemented without importing scikit-learn.

``get_params``/``set_params`` read the hyperparameter names from the signature
of ``__init__`` (every hyperparameter is an ``__init__`` argument, stored
unmodified under its own name); ``__sklearn_tags__`` builds scikit-learn's tag
objects (only scikit-learn calls it, so scikit-learn is importable then);
``score`` is accuracy for classifiers and R^2 for regressors, as in
scikit-learn's mixins.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np
from numpy.typing import ArrayLike


@functools.cache  # inspect.signature is slow beside a small fit, and every fit asks
def _init_parameter_names(cls, init):
    """The sorted names of ``init``'s parameters but ``self`` (``init``: ``cls.__init__``, part
    of the key, so that a class whose ``__init__`` is replaced is read again)."""
    names = []
    for parameter in inspect.signature(init).parameters.values():
        if parameter.name == "self":
            continue
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise TypeError(
                f"{cls.__name__}.__init__ must name every hyperparameter (no *args or **kwargs)"
            )
        names.append(parameter.name)
    return tuple(sorted(names))


class BaseEstimator:
    """Hyperparameters from ``__init__``'s signature; ``get_params``/``set_params``; repr."""

    @classmethod
    def _get_param_names(cls):
        return list(_init_parameter_names(cls, cls.__init__))

    def get_params(self, deep=True):
        """The hyperparameters as a dict (``deep``: with those of nested estimators)."""
        params = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                params.update(
                    (f"{name}__{key}", nested) for key, nested in value.get_params().items()
                )
            params[name] = value
        return params

    def set_params(self, **params):
        """Set hyperparameters (validated later, in ``fit``); returns the estimator."""
        if not params:
            return self
        valid = self._get_param_names()
        nested = {}
        for key, value in params.items():
            name, delimiter, sub_key = key.partition("__")
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {self!r}. "
                    f"Valid parameters are: {valid!r}."
                )
            if delimiter:
                nested.setdefault(name, {})[sub_key] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            getattr(self, name).set_params(**sub_params)
        return self

    def __repr__(self):
        defaults = {
            name: parameter.default
            for name, parameter in inspect.signature(type(self).__init__).parameters.items()
        }
        changed = []
        for name in self._get_param_names():
            value = getattr(self, name, None)
            default = defaults.get(name, inspect.Parameter.empty)
            try:
                same = value is default or bool(value == default)
            except (TypeError, ValueError):  # arrays and other odd values
                same = False
            if not same:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_is_fitted__(self):
        # parameters_ alone may be assigned by a user (for a warm start): fit sets the rest
        return hasattr(self, "parameters_") and hasattr(self, "_layer_sizes")

    def __sklearn_tags__(self):
        from sklearn.utils import InputTags, Tags, TargetTags

        return Tags(
            estimator_type=None, target_tags=TargetTags(required=True), input_tags=InputTags()
        )


class ClassifierMixin:
    """Accuracy as ``score``; scikit-learn's classifier tags."""

    _estimator_type = "classifier"  # what scikit-learn < 1.6 looks at

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Mean accuracy of ``predict(X)`` against ``y`` (weighted by ``sample_weight``)."""
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        predictions = self.predict(X)
        if len(y) != len(predictions):
            raise ValueError(f"y has {len(y)} labels but X has {len(predictions)} samples")
        return float(np.average(predictions == y, weights=sample_weight))

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags

        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags(multi_class=True)
        return tags


class RegressorMixin:
    """The coefficient of determination R^2 as ``score``; scikit-learn's regressor tags."""

    _estimator_type = "regressor"

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """R^2 of ``predict(X)`` against ``y``, averaged over the outputs (1 is perfect)."""
        return r2_score(y, self.predict(X), sample_weight)

    def __sklearn_tags__(self):
        from sklearn.utils import RegressorTags

        tags = super().__sklearn_tags__()
        tags.estimator_type = "regressor"
        tags.regressor_tags = RegressorTags()
        tags.target_tags.multi_output = True
        return tags


def r2_score(y_true, y_pred, sample_weight=None):
    """R^2 averaged uniformly over outputs, as scikit-learn's ``r2_score``.

    An output whose true values are constant scores 1 if predicted exactly, else 0.
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    y_true = y_true.reshape(len(y_true), -1)
    y_pred = y_pred.reshape(len(y_pred), -1)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y has shape {y_true.shape} but the predictions have shape {y_pred.shape}"
        )
    weights = (
        np.ones(len(y_true))
        if sample_weight is None
        else np.asarray(sample_weight, dtype=np.float64)
    )
    weights = weights[:, None]
    # R^2 does not change with the units: scale each output by a power of two (exact)
    # so that the squares cannot overflow (targets near 1e160 square beyond float64)
    with np.errstate(over="ignore", invalid="ignore"):
        magnitude = np.maximum(np.abs(y_true).max(axis=0), np.abs(y_pred).max(axis=0))
    factor = np.where(
        np.isfinite(magnitude) & (magnitude > 0),
        np.ldexp(1.0, -np.frexp(np.where(np.isfinite(magnitude), magnitude, 1))[1]),
        1.0,
    )
    y_true, y_pred = y_true * factor, y_pred * factor
    residual = (weights * (y_true - y_pred) ** 2).sum(axis=0)
    mean = (weights * y_true).sum(axis=0) / weights.sum()
    total = (weights * (y_true - mean) ** 2).sum(axis=0)
    scores = np.where(
        total > 0, 1 - residual / np.where(total > 0, total, 1), np.where(residual == 0, 1.0, 0.0)
    )
    return float(scores.mean())
