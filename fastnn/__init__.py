"""fastnn: the fully connected networks of the "Neural Networks and Deep Learning" notes, fast.

Estimators with scikit-learn's conventions (scikit-learn itself is not needed)::

    import fastnn
    X, y = fastnn.datasets.planar()
    model = fastnn.MLPClassifier(hidden=(4,), activation="tanh").fit(X, y)
    model.score(X, y)
    fastnn.save(model, "flower.npz"); fastnn.load("flower.npz")

The compute happens in the ``kernels`` package (``backend="numba"`` by default).
"""

from . import datasets
from .estimators import LogisticRegression, MLPClassifier, MLPRegressor
from .exceptions import TrainingDivergedError, TrainingInterruptedWarning
from .persistence import load, save
from .plotting import plot_decision_boundary, plot_history

__version__ = "0.1.0"
__all__ = [
    "MLPClassifier",
    "MLPRegressor",
    "LogisticRegression",
    "save",
    "load",
    "plot_history",
    "plot_decision_boundary",
    "datasets",
    "NotFittedError",
    "DataConversionWarning",
    "TrainingDivergedError",
    "TrainingInterruptedWarning",
    "__version__",
]


def __getattr__(name):
    # built on first use: they subclass scikit-learn's classes when it is installed,
    # and importing scikit-learn at `import fastnn` would cost most of a second
    if name in ("NotFittedError", "DataConversionWarning"):
        from . import exceptions

        return getattr(exceptions, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
