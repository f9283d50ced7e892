"""The acceptance test: scikit-learn's own estimator checks, no check switched off.

scikit-learn is a test dependency only; fastnn implements its protocol itself.
The default backend is "numba" (kernels/jit.py); the same checks also run on
the NumPy backend, which needs nothing compiled.
"""

import pickle
import warnings

import numpy as np
import pytest

# scikit-learn is in the test extra: it imports, or these tests fail
from sklearn.base import clone, is_classifier, is_regressor  # noqa: E402
from sklearn.exceptions import DataConversionWarning as SklearnDataConversionWarning  # noqa: E402
from sklearn.exceptions import NotFittedError as SklearnNotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils import get_tags  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks  # noqa: E402

import fastnn  # noqa: E402

# fastnn's estimators implement the protocol without subclassing scikit-learn's
# BaseEstimator (scikit-learn is not a dependency); the checks warn about that.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Estimator .* does not inherit from `sklearn.base.BaseEstimator`:UserWarning"
)

ESTIMATORS = (fastnn.MLPClassifier, fastnn.MLPRegressor, fastnn.LogisticRegression)


with warnings.catch_warnings():  # the same warning, raised while the checks are collected
    warnings.filterwarnings("ignore", "Estimator .* does not inherit from", UserWarning)
    ALL_CHECKS = parametrize_with_checks([cls() for cls in ESTIMATORS])


@ALL_CHECKS
def test_sklearn_checks_with_defaults(estimator, check):
    """Every check of ``check_estimator`` on the default estimators (backend numba)."""
    assert estimator.backend == "numba"
    check(estimator)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_check_estimator_on_numpy_backend(cls):
    results = check_estimator(cls(backend="numpy"), on_fail=None, on_skip=None)
    failed = [(r["check_name"], repr(r["exception"])) for r in results if r["status"] == "failed"]
    assert not failed
    passed = [r for r in results if r["status"] == "passed"]
    assert len(passed) > 40


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_tags_and_type(cls):
    estimator = cls()
    tags = get_tags(estimator)
    assert tags.input_tags.sparse is False and tags.input_tags.allow_nan is False
    assert tags.target_tags.required
    if cls is fastnn.MLPRegressor:
        assert is_regressor(estimator) and tags.target_tags.multi_output
    else:
        assert is_classifier(estimator) and tags.classifier_tags.multi_class


def test_errors_subclass_sklearn_classes():
    assert issubclass(fastnn.NotFittedError, SklearnNotFittedError)
    assert issubclass(fastnn.NotFittedError, ValueError)
    assert issubclass(fastnn.NotFittedError, AttributeError)
    assert issubclass(fastnn.DataConversionWarning, SklearnDataConversionWarning)
    with pytest.raises(SklearnNotFittedError, match="not fitted"):
        fastnn.MLPClassifier(backend="numpy").predict(np.zeros((2, 2)))


def test_clone_keeps_params_and_drops_fitted_state():
    X, y = fastnn.datasets.blobs(m=60, seed=1)
    model = fastnn.MLPClassifier(
        hidden=(5, 3), activation=("tanh", "relu"), epochs=5, backend="numpy", seed=3
    ).fit(X, y)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "parameters_")


def test_pickle_round_trip_predicts_the_same():
    X, y = fastnn.datasets.blobs(m=60, seed=1)
    model = fastnn.MLPClassifier(hidden=(5,), epochs=20, backend="numpy").fit(X, y)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))


def test_pipeline_and_grid_search():
    X, y = fastnn.datasets.blobs(m=120, seed=2)
    pipeline = make_pipeline(
        StandardScaler(), fastnn.MLPClassifier(hidden=(8,), epochs=50, backend="numpy")
    )
    search = GridSearchCV(pipeline, {"mlpclassifier__learning_rate": [0.05, 0.2]}, cv=3)
    search.fit(X, y)
    assert search.best_params_["mlpclassifier__learning_rate"] in (0.05, 0.2)
    assert search.score(X, y) > 0.9


def test_grid_search_over_regressor_hidden_sizes():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(90)
    search = GridSearchCV(
        fastnn.MLPRegressor(epochs=100, backend="numpy"), {"hidden": [(), (8,)]}, cv=3
    ).fit(X, y)
    assert search.best_estimator_.score(X, y) > 0.9
