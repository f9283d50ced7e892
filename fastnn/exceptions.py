"""The errors and warnings of the fastnn API.

``NotFittedError`` and ``DataConversionWarning`` subclass scikit-learn's classes
of the same name when scikit-learn is installed, so that code written for
scikit-learn (``except sklearn.exceptions.NotFittedError``) catches ours.
scikit-learn is not a dependency, and importing it costs most of a second, so
these two classes are built on first use (module ``__getattr__``), not when
fastnn is imported.
"""

import importlib
import threading

__all__ = [
    "NotFittedError",
    "DataConversionWarning",
    "TrainingDivergedError",
    "TrainingInterruptedWarning",
]


class TrainingDivergedError(FloatingPointError):
    """The cost of an epoch became NaN or infinite.

    ``epoch`` is the 1-based number of the epoch whose cost was not finite; the
    estimator keeps the parameters from before that epoch (``parameters_``),
    and ``history_`` holds the finite costs that came before.
    """

    def __init__(self, message, epoch):
        super().__init__(message)
        self.epoch = epoch


class TrainingInterruptedWarning(UserWarning):
    """``fit`` was interrupted (Ctrl-C); the model keeps its last parameters."""


def _build_not_fitted_error(base):
    bases = (base,) if base is not None else (ValueError, AttributeError)

    class NotFittedError(*bases):
        """``predict`` (or a similar method) was called before ``fit``.

        A subclass of ValueError and AttributeError, as scikit-learn's is (and
        of scikit-learn's own class when scikit-learn is installed).
        """

    NotFittedError.__module__ = __name__
    return NotFittedError


def _build_data_conversion_warning(base):
    class DataConversionWarning(base if base is not None else UserWarning):
        """The input was converted (for example a column-vector y raveled)."""

    DataConversionWarning.__module__ = __name__
    return DataConversionWarning


_BUILDERS = {
    "NotFittedError": _build_not_fitted_error,
    "DataConversionWarning": _build_data_conversion_warning,
}
_built = {}
_lock = threading.Lock()


def _sklearn_class(name):
    try:
        return getattr(importlib.import_module("sklearn.exceptions"), name)
    except ImportError:
        return None


def __getattr__(name):
    if name not in _BUILDERS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _lock:  # one class per process, whichever thread asks first
        if name not in _built:
            _built[name] = _BUILDERS[name](_sklearn_class(name))
        return _built[name]
