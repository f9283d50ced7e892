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
    # constrained layout keeps a legend placed beside the axes inside the figure
    return _pyplot().subplots(layout="constrained")[1]


#: The cost each kind of model minimises (the kernels' names, as a reader says them).
COST_NAMES = {
    "binary_cross_entropy": "binary cross-entropy",
    "categorical_cross_entropy": "categorical cross-entropy",
    "mean_squared_error": "half mean squared error",
}


def cost_name(model):
    """What ``model.history_`` measures: a classifier of two classes has a sigmoid output
    (binary cross-entropy), of more a softmax (categorical cross-entropy); a regressor a
    linear one (half the mean squared error). ``+ L2 penalty`` when ``model.l2`` is set."""
    classes = getattr(model, "classes_", None)
    if classes is None:
        name = COST_NAMES["mean_squared_error"]
    elif len(classes) <= 2:
        name = COST_NAMES["binary_cross_entropy"]
    else:
        name = COST_NAMES["categorical_cross_entropy"]
    l2 = getattr(model, "l2", 0)
    return f"{name} + L2 penalty" if isinstance(l2, (int, float)) and l2 > 0 else name


def plot_history(model, ax=None):
    """The cost of each epoch (``model.history_``) against the epoch; returns the Axes.

    The y axis names the cost. When the model kept a validation cost per epoch
    (``model.validation_history_``, as early stopping does; NaN for an epoch
    without one) it is drawn too, and a legend tells the two apart.
    """
    history = getattr(model, "history_", None)
    if history is None:
        from . import exceptions

        raise exceptions.NotFittedError(
            f"This {type(model).__name__} instance is not fitted yet: it has no history_ "
            "to plot. Call 'fit' first."
        )
    ax = _axes(ax)
    curves = [("training", np.asarray(history, dtype=float))]
    validation = getattr(model, "validation_history_", None)
    if validation is not None and len(validation):
        curves.append(("validation", np.asarray(validation, dtype=float)))
    for label, curve in curves:
        ax.plot(np.arange(1, len(curve) + 1), curve, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"cost ({cost_name(model)})")
    ax.set_title(f"{type(model).__name__}: learning curve")
    if len(curves) > 1:
        ax.legend()
    values = np.concatenate([curve for _, curve in curves])
    values = values[np.isfinite(values)]
    if len(values) and np.all(values > 0) and values.max() / values.min() > 100:
        ax.set_yscale("log")
    return ax


def class_colors(n):
    """``n`` colours that tell classes apart: tab10 up to 10 classes; up to 20, tab10's
    then tab20's paler partners; beyond, evenly spaced on turbo. (A qualitative map has
    no pale middle, unlike coolwarm, whose middle class was nearly white.)"""
    from matplotlib import colormaps

    if n <= 10:
        return [colormaps["tab10"](k) for k in range(n)]
    if n <= 20:  # tab20 pairs each tab10 colour (even index) with a paler one (odd)
        return [colormaps["tab20"](k) for k in (list(range(0, 20, 2)) + list(range(1, 20, 2)))[:n]]
    return [colormaps["turbo"](x) for x in np.linspace(0.05, 0.95, n)]


def _feature_names(model, X):
    """The model's feature names (``feature_names_in_``), else a data frame's columns,
    else the notes' x1, x2."""
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        from .validation import feature_names_of

        names = feature_names_of(X)
    if names is None or len(names) != 2:
        return ["x1", "x2"]
    return [str(name) for name in names]


def plot_decision_boundary(model, X, y, ax=None, resolution=200, margin=0.5):
    """The classes a fitted 2-feature classifier predicts over the plane, with the data.

    ``X`` (n_samples, 2) and ``y`` are drawn as points, one colour per class of
    ``model.classes_`` (named in the legend); the background is ``model.predict``
    on a ``resolution`` x ``resolution`` grid spanning the data plus ``margin``,
    in the same colours. The axes carry the model's feature names. For a
    regressor the background is the prediction itself, with a colour bar.
    Labels in ``y`` that the model does not know are drawn grey. Returns the Axes.
    """
    from matplotlib.colors import ListedColormap

    from .validation import check_integer, check_X

    names = _feature_names(model, X)
    columns = getattr(X, "columns", None)
    X = check_X(X)
    y = np.asarray(y)
    if X.shape[1] != 2:
        raise ValueError(f"X must have 2 features to draw a decision boundary, got {X.shape[1]}")
    if len(y) != len(X):
        raise ValueError(f"X and y have different numbers of samples: {len(X)} and {len(y)}")
    resolution = check_integer(resolution, "resolution", minimum=2)
    low, high = X.min(axis=0) - margin, X.max(axis=0) + margin
    u, v = np.meshgrid(
        np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
    )
    grid = np.column_stack([u.ravel(), v.ravel()])
    if columns is not None:  # a model fitted on a data frame is asked with one
        import pandas

        grid = pandas.DataFrame(grid, columns=columns)
    predicted = np.asarray(model.predict(grid))
    ax = _axes(ax)
    classes = getattr(model, "classes_", None)
    if classes is None:  # a regressor: shade the prediction itself
        surface = predicted.astype(float).reshape(u.shape)
        lowest = min(surface.min(), y.astype(float).min())
        highest = max(surface.max(), y.astype(float).max())
        filled = ax.contourf(
            u, v, surface, levels=20, cmap="viridis", alpha=0.4, vmin=lowest, vmax=highest
        )
        ax.scatter(
            X[:, 0],
            X[:, 1],
            c=y.astype(float),
            cmap="viridis",
            vmin=lowest,
            vmax=highest,
            edgecolors="k",
            s=20,
        )
        ax.figure.colorbar(filled, ax=ax, label="prediction")
    else:
        classes = np.asarray(classes)
        colors = class_colors(len(classes))
        surface = np.searchsorted(classes, predicted).reshape(u.shape)
        ax.contourf(
            u,
            v,
            surface,
            levels=np.arange(len(classes) + 1) - 0.5,
            cmap=ListedColormap(colors),
            alpha=0.3,
        )
        for k, label in enumerate(classes):
            mine = y == label
            if mine.any():
                ax.scatter(
                    X[mine, 0], X[mine, 1], color=colors[k], edgecolors="k", s=20, label=str(label)
                )
        unknown = ~np.isin(y, classes)
        if unknown.any():
            ax.scatter(
                X[unknown, 0],
                X[unknown, 1],
                color="0.6",
                marker="x",
                s=20,
                label="not a class of the model",
            )
        # beside the plane, where it hides no point (however many classes)
        ax.legend(title="class", loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    what = "prediction" if classes is None else "decision boundary"
    ax.set_title(f"{type(model).__name__}: {what}")
    return ax
