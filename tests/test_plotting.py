"""What the pictures say: axis names, legends, colours, curves (matplotlib's Agg backend)."""

import numpy as np
import pytest

import fastnn

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def fit(model, X, y):
    return model.fit(X, y)


def classifier(**options):
    return fastnn.MLPClassifier(
        hidden=(4,), epochs=20, learning_rate=0.5, backend="numpy", **options
    )


def legend_labels(ax):
    legend = ax.get_legend()
    return None if legend is None else [text.get_text() for text in legend.get_texts()]


def class_point_colors(ax):
    """The face colour of each scatter (one per class), as RGB."""
    return [
        tuple(to_rgb(c.get_facecolor()[0]))
        for c in ax.collections
        if c.get_label() and not c.get_label().startswith("_")
    ]


def luminance(rgb):
    r, g, b = rgb
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


# ---------------------------------------------------------------------------
# plot_decision_boundary
# ---------------------------------------------------------------------------


def test_decision_boundary_names_features_and_classes():
    pandas = pytest.importorskip("pandas")
    X, y = fastnn.datasets.planar(m=60, seed=1)
    frame = pandas.DataFrame(X, columns=["sepal length", "sepal width"])
    labels = np.where(y == 1, "yes", "no")
    model = fit(classifier(), frame, labels)
    assert list(model.feature_names_in_) == ["sepal length", "sepal width"]
    ax = fastnn.plot_decision_boundary(model, frame, labels, resolution=20)
    assert ax.get_xlabel() == "sepal length" and ax.get_ylabel() == "sepal width"
    assert legend_labels(ax) == ["no", "yes"]  # model.classes_, in its order
    assert ax.get_legend().get_title().get_text() == "class"
    assert ax.get_title() == "MLPClassifier: decision boundary"


def test_decision_boundary_without_feature_names_uses_x1_x2():
    X, y = fastnn.datasets.planar(m=60, seed=1)
    ax = fastnn.plot_decision_boundary(fit(classifier(), X, y), X, y, resolution=20)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x1", "x2")
    assert legend_labels(ax) == ["0", "1"]


@pytest.mark.parametrize("centers", [3, 7, 12])
def test_every_class_has_its_own_visible_colour(centers):
    X, y = fastnn.datasets.blobs(m=20 * centers, centers=centers, seed=4)
    model = fit(classifier(), X, y)
    ax = fastnn.plot_decision_boundary(model, X, y, resolution=20)
    assert legend_labels(ax) == [str(c) for c in model.classes_]
    colors = class_point_colors(ax)
    assert len(colors) == centers
    assert len(set(colors)) == centers  # no two classes share a colour
    # coolwarm's middle class was nearly white (luminance 0.87); a qualitative map has none
    assert max(luminance(c) for c in colors) < 0.8
    assert (
        min(np.abs(np.subtract(a, b)).sum() for i, a in enumerate(colors) for b in colors[i + 1 :])
        > 0.1
    )


def test_labels_the_model_does_not_know_are_marked():
    X, y = fastnn.datasets.blobs(m=60, centers=3, seed=4)
    model = fit(classifier(), X, y)
    y_other = y.copy()
    y_other[:5] = 9
    ax = fastnn.plot_decision_boundary(model, X, y_other, resolution=20)
    assert legend_labels(ax) == ["0", "1", "2", "not a class of the model"]


def test_regressor_prediction_has_a_colour_bar_and_no_legend():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (40, 2))
    y = X[:, 0] - X[:, 1]
    model = fastnn.MLPRegressor(hidden=(4,), epochs=10, backend="numpy").fit(X, y)
    ax = fastnn.plot_decision_boundary(model, X, y, resolution=20)
    assert ax.get_legend() is None
    assert ax.get_title() == "MLPRegressor: prediction"
    colorbars = [a for a in ax.figure.axes if a is not ax]
    assert len(colorbars) == 1 and colorbars[0].get_ylabel() == "prediction"


def test_the_legend_stays_inside_a_figure_it_makes():
    X, y = fastnn.datasets.blobs(m=60, centers=3, seed=4)
    ax = fastnn.plot_decision_boundary(fit(classifier(), X, y), X, y, resolution=20)
    figure = ax.figure
    figure.canvas.draw()
    legend_box = ax.get_legend().get_window_extent()
    figure_box = figure.bbox
    assert legend_box.x1 <= figure_box.x1 and legend_box.y1 <= figure_box.y1


# ---------------------------------------------------------------------------
# plot_history
# ---------------------------------------------------------------------------


def test_history_names_the_cost():
    X, y = fastnn.datasets.planar(m=40, seed=1)
    ax = fastnn.plot_history(fit(classifier(), X, y))
    assert ax.get_ylabel() == "cost (binary cross-entropy)"
    assert ax.get_xlabel() == "epoch"
    assert len(ax.lines) == 1 and len(ax.lines[0].get_xdata()) == 20
    assert ax.get_legend() is None  # one curve: the axis says what it is

    X3, y3 = fastnn.datasets.blobs(m=30, centers=3, seed=2)
    ax = fastnn.plot_history(fit(classifier(l2=0.5), X3, y3))
    assert ax.get_ylabel() == "cost (categorical cross-entropy + L2 penalty)"

    regressor = fastnn.MLPRegressor(hidden=(3,), epochs=5, backend="numpy").fit(X, y * 1.0)
    assert fastnn.plot_history(regressor).get_ylabel() == "cost (half mean squared error)"


def test_history_draws_the_validation_curve_when_there_is_one():
    X, y = fastnn.datasets.planar(m=40, seed=1)
    model = fit(classifier(), X, y)
    # validation_history_: the attribute early stopping is to keep (not there yet)
    model.validation_history_ = np.asarray(model.history_)[:15] + 0.1
    ax = fastnn.plot_history(model)
    assert len(ax.lines) == 2
    assert legend_labels(ax) == ["training", "validation"]
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), model.validation_history_)
    np.testing.assert_array_equal(ax.lines[1].get_xdata(), np.arange(1, 16))

    model.validation_history_ = None  # kept as "no validation split"
    ax = fastnn.plot_history(model)
    assert len(ax.lines) == 1 and ax.get_legend() is None


def test_history_log_scale_for_a_long_fall():
    class Fitted:
        history_ = np.array([100.0, 10.0, 0.5])
        validation_history_ = np.array([120.0, np.nan, 0.9])

    ax = fastnn.plot_history(Fitted())
    assert ax.get_yscale() == "log"
    assert ax.get_ylabel() == "cost (half mean squared error)"  # no classes_: a regressor


def test_history_of_an_unfitted_model_is_refused():
    with pytest.raises(fastnn.NotFittedError):
        fastnn.plot_history(fastnn.MLPClassifier())
