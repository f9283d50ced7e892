"""Feature names checked as scikit-learn checks them (``_check_feature_names``).

A model fitted on a DataFrame refuses columns renamed or reordered, and warns for
an array; a model fitted on an array warns for a DataFrame. The messages are
scikit-learn's, so its own check (not part of ``check_estimator``'s default list
in every version) is run here too.
"""

import warnings

import numpy as np
import pytest

import fastnn

pd = pytest.importorskip("pandas")

X, Y = fastnn.datasets.blobs(m=80, n_features=3, centers=2, seed=4)
NAMES = ["alpha", "beta", "gamma"]
ESTIMATORS = [
    lambda: fastnn.MLPClassifier(hidden=(4,), epochs=5, backend="numpy"),
    lambda: fastnn.LogisticRegression(epochs=5, backend="numpy"),
    lambda: fastnn.MLPRegressor(hidden=(4,), epochs=5, backend="numpy"),
]
IDS = ["MLPClassifier", "LogisticRegression", "MLPRegressor"]


def _fitted(make, data=None):
    model = make()
    y = Y if hasattr(model, "predict_proba") else X[:, 0] + Y
    return model.fit(pd.DataFrame(X, columns=NAMES) if data is None else data, y)


def _methods(model):
    names = ["predict", "predict_proba", "decision_function"]
    return [getattr(model, name) for name in names if hasattr(model, name)]


@pytest.mark.parametrize("make", ESTIMATORS, ids=IDS)
def test_reordered_columns_are_refused(make):
    model = _fitted(make)
    reordered = pd.DataFrame(X, columns=NAMES)[["gamma", "alpha", "beta"]]
    for method in _methods(model):
        with pytest.raises(
            ValueError, match="Feature names must be in the same order as they were in fit"
        ):
            method(reordered)


@pytest.mark.parametrize("make", ESTIMATORS, ids=IDS)
def test_renamed_and_missing_columns_are_refused(make):
    model = _fitted(make)
    renamed = pd.DataFrame(X, columns=["alpha", "beta", "delta"])
    with pytest.raises(
        ValueError,
        match="(?s)should match those that were passed during fit"
        r".*unseen at fit time:\n- delta\n"
        r".*seen at fit time, yet now missing:\n- gamma",
    ):
        model.predict(renamed)
    with pytest.raises(ValueError, match="yet now missing:\n- gamma"):
        model.predict(pd.DataFrame(X[:, :2], columns=["alpha", "beta"]))


@pytest.mark.parametrize("make", ESTIMATORS, ids=IDS)
def test_same_columns_predict_without_warning(make):
    model = _fitted(make)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        expected = model.predict(pd.DataFrame(X, columns=NAMES))
    with pytest.warns(
        UserWarning,
        match="X does not have valid feature names, but "
        f"{type(model).__name__} was fitted with feature names",
    ):
        from_array = model.predict(X)
    np.testing.assert_array_equal(from_array, expected)


@pytest.mark.parametrize("make", ESTIMATORS, ids=IDS)
def test_dataframe_after_array_fit_warns(make):
    model = _fitted(make, X)
    assert not hasattr(model, "feature_names_in_")
    with pytest.warns(
        UserWarning,
        match=f"X has feature names, but {type(model).__name__} was fitted without feature names",
    ):
        model.predict(pd.DataFrame(X, columns=NAMES))


def test_refit_on_array_forgets_the_names():
    model = _fitted(ESTIMATORS[0])
    model.fit(X, Y)
    assert not hasattr(model, "feature_names_in_")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(X)


def test_warm_start_checks_the_names_it_continues_from():
    model = _fitted(
        lambda: fastnn.MLPClassifier(hidden=(4,), epochs=3, backend="numpy", warm_start=True)
    )
    parameters = {key: value.copy() for key, value in model.parameters_.items()}
    reordered = pd.DataFrame(X, columns=NAMES)[["beta", "alpha", "gamma"]]
    with pytest.raises(ValueError, match="same order as they were in fit"):
        model.fit(reordered, Y)
    for key, value in parameters.items():  # refused before training
        np.testing.assert_array_equal(model.parameters_[key], value)
    model.fit(pd.DataFrame(X, columns=NAMES), Y)
    assert model.n_epochs_ == 6 and list(model.feature_names_in_) == NAMES


def test_mixed_column_name_types_are_refused_as_scikit_learn_does():
    frame = pd.DataFrame(X, columns=["alpha", 1, "gamma"])
    with pytest.raises(
        TypeError, match="Feature names are only supported if all input features have string names"
    ):
        fastnn.MLPClassifier(hidden=(4,), epochs=2, backend="numpy").fit(frame, Y)


def test_non_string_column_names_are_not_feature_names():
    model = _fitted(ESTIMATORS[0], pd.DataFrame(X))  # integer column labels
    assert not hasattr(model, "feature_names_in_")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(pd.DataFrame(X)[[2, 0, 1]])  # scikit-learn checks only string names


def test_accuracy_kept_or_refused_the_issue_12_case():
    """The reported case: reordered columns gave accuracy 0.99 -> 0.52, silently."""
    frame = pd.DataFrame(X, columns=NAMES)
    model = fastnn.MLPClassifier(hidden=(8,), epochs=50, backend="numpy").fit(frame, Y)
    assert model.score(frame, Y) > 0.9
    with pytest.raises(ValueError, match="feature names should match"):
        model.score(frame[NAMES[::-1]], Y)


@pytest.mark.parametrize("make", ESTIMATORS, ids=IDS)
def test_scikit_learn_column_names_check(make):
    sklearn_checks = pytest.importorskip("sklearn.utils.estimator_checks")
    model = make()
    sklearn_checks.check_dataframe_column_names_consistency(type(model).__name__, model)
