"""Pictures of a fitted model: the learning curve and a 2-feature decision boundary.

matplotlib is an optional extra (``pip install 'fastnn[plot]'``), imported only
when a plot is drawn.
"""

import numpy as np


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError("plotting needs matplotlib: pip install 'fastnn[plot]'") from error
    return plt


def _axes(ax):
    if ax is not None:
        return ax
    return _pyplot().subplots()[1]


def plot_history(model, ax=None):
    """The cost of each epoch (``model.history_``) against the epoch; returns the Axes."""
    history = getattr(model, "history_", None)
    if history is None:
        from . import exceptions

        raise exceptions.NotFittedError(
            f"This {type(model).__name__} instance is not fitted yet: it has no history_ "
            "to plot. Call 'fit' first.")
    ax = _axes(ax)
    history = np.asarray(history)
    ax.plot(np.arange(1, len(history) + 1), history)
    ax.set_xlabel("epoch")
    ax.set_ylabel("cost")
    ax.set_title(f"{type(model).__name__}: learning curve")
    if len(history) and np.all(history > 0) and history.max() / history.min() > 100:
        ax.set_yscale("log")
    return ax


def plot_decision_boundary(model, X, y, ax=None, resolution=200, margin=0.5):
    """The classes a fitted 2-feature classifier predicts over the plane, with the data.

    ``X`` (n_samples, 2) and ``y`` are drawn as points coloured by label;
    the background is ``model.predict`` on a ``resolution`` x ``resolution``
    grid spanning the data plus ``margin``. Returns the Axes.
    """
    from .validation import check_integer, check_X

    X = check_X(X)
    y = np.asarray(y)
    if X.shape[1] != 2:
        raise ValueError(f"X must have 2 features to draw a decision boundary, "
                         f"got {X.shape[1]}")
    if len(y) != len(X):
        raise ValueError(f"X and y have different numbers of samples: {len(X)} and {len(y)}")
    resolution = check_integer(resolution, "resolution", minimum=2)
    low, high = X.min(axis=0) - margin, X.max(axis=0) + margin
    u, v = np.meshgrid(np.linspace(low[0], high[0], resolution),
                       np.linspace(low[1], high[1], resolution))
    predicted = model.predict(np.column_stack([u.ravel(), v.ravel()]))
    classes = getattr(model, "classes_", None)
    if classes is None:  # a regressor: shade the prediction itself
        surface, points = np.asarray(predicted, dtype=float), y.astype(float)
    else:
        surface, points = np.searchsorted(classes, predicted), np.searchsorted(classes, y)
    ax = _axes(ax)
    ax.contourf(u, v, surface.reshape(u.shape), alpha=0.3, cmap="coolwarm")
    ax.scatter(X[:, 0], X[:, 1], c=points, cmap="coolwarm", edgecolors="k", s=20)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(f"{type(model).__name__}: decision boundary")
    return ax
