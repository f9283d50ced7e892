"""Bad input: a clear ValueError/TypeError naming the argument, raised before any
kernel runs, and the model left exactly as it was."""

import copy

import numpy as np
import pytest

import fastnn
import kernels
from fastnn import validation

X_GOOD, Y_GOOD = fastnn.datasets.blobs(m=40, n_features=3, centers=3, seed=4)


def fitted_model(cls=fastnn.MLPClassifier, **params):
    params.setdefault("epochs", 3)
    params.setdefault("hidden", (4,))
    y = Y_GOOD if cls is not fastnn.MLPRegressor else X_GOOD[:, 0]
    return cls(backend="numpy", **params).fit(X_GOOD, y)


def snapshot(model):
    return copy.deepcopy(vars(model))


def assert_same_state(model, before):
    after = vars(model)
    assert after.keys() == before.keys()
    for key, value in before.items():
        if isinstance(value, dict):
            assert value.keys() == after[key].keys()
            for name in value:
                np.testing.assert_array_equal(after[key][name], value[name])
        elif isinstance(value, np.ndarray):
            np.testing.assert_array_equal(after[key], value)
        else:
            assert after[key] == value


@pytest.fixture
def kernels_must_not_run(monkeypatch):
    """Fail if any kernel's train is reached."""

    def refuse(name):
        raise AssertionError(f"kernels.get({name!r}) was reached with bad input")

    monkeypatch.setattr("fastnn._network.kernels.get", refuse)


# ---------------------------------------------------------------------------
# Hyperparameters: (name, value, error type)
# ---------------------------------------------------------------------------

BAD_HYPERPARAMETERS = [
    ("learning_rate", 0.0, ValueError),
    ("learning_rate", -0.1, ValueError),
    ("learning_rate", float("nan"), ValueError),
    ("learning_rate", float("inf"), ValueError),
    ("learning_rate", "fast", TypeError),
    ("epochs", 0, ValueError),
    ("epochs", 2.5, TypeError),
    ("epochs", True, TypeError),
    ("batch_size", 0, ValueError),
    ("batch_size", -3, ValueError),
    ("batch_size", 16.0, TypeError),
    ("momentum", -0.1, ValueError),
    ("momentum", 1.0, ValueError),
    ("momentum", 1.5, ValueError),
    ("l2", -1e-3, ValueError),
    ("l2", None, TypeError),
    ("hidden", (4, 0), ValueError),
    ("hidden", (-2,), ValueError),
    ("hidden", (4.5,), TypeError),
    ("hidden", "100", TypeError),
    ("activation", "swish", ValueError),
    ("activation", ("relu", "tanh"), ValueError),  # two names for one hidden layer
    ("activation", ("relu", "nope"), ValueError),
    ("activation", 3, TypeError),
    ("init", "glorot", ValueError),
    ("backend", "tensorflow", ValueError),
    ("backend", None, ValueError),
    ("dtype", "float16", ValueError),
    ("dtype", "int64", ValueError),
    ("dtype", None, ValueError),
    ("seed", -1, ValueError),
    ("seed", 1.5, TypeError),
    ("warm_start", "yes", TypeError),
    ("standardize", 2, TypeError),
    ("verbose", -1, ValueError),
]


@pytest.mark.parametrize(
    "name, value, error", BAD_HYPERPARAMETERS, ids=[f"{n}={v!r}" for n, v, _ in BAD_HYPERPARAMETERS]
)
def test_bad_hyperparameter_is_named_and_model_unchanged(name, value, error, kernels_must_not_run):
    model = fastnn.MLPClassifier(hidden=(4,), epochs=3, backend="numpy")
    model.set_params(**{name: value})  # stored as given: checked in fit
    assert getattr(model, name) is value
    with pytest.raises(error, match=name):
        model.fit(X_GOOD, Y_GOOD)
    assert not hasattr(model, "parameters_")


def test_fitted_model_unchanged_by_bad_refit():
    model = fitted_model()
    before = snapshot(model)
    rate = model.learning_rate
    model.set_params(learning_rate=-1.0)
    with pytest.raises(ValueError, match="learning_rate"):
        model.fit(X_GOOD, Y_GOOD)
    model.set_params(learning_rate=rate)
    with pytest.raises(ValueError, match="NaN"):
        model.fit(np.where(X_GOOD > 1, np.nan, X_GOOD), Y_GOOD)
    assert_same_state(model, before)


@pytest.mark.parametrize(
    "cls", [fastnn.MLPRegressor, fastnn.LogisticRegression], ids=lambda c: c.__name__
)
def test_other_estimators_check_their_hyperparameters(cls, kernels_must_not_run):
    with pytest.raises(ValueError, match="epochs"):
        cls(epochs=0, backend="numpy").fit(X_GOOD, Y_GOOD)
    with pytest.raises(ValueError, match="momentum"):
        cls(momentum=1, backend="numpy").fit(X_GOOD, Y_GOOD)


def test_activation_one_name_per_layer_accepted():
    model = fastnn.MLPClassifier(
        hidden=(4, 3), activation=["tanh", "relu"], epochs=2, backend="numpy"
    ).fit(X_GOOD, Y_GOOD)
    assert model._activations == ("tanh", "relu", "softmax")
    assert model.activation == ["tanh", "relu"]  # stored as given


def test_dtype_accepts_numpy_types():
    model = fastnn.MLPClassifier(hidden=(4,), epochs=2, dtype=np.float32, backend="numpy").fit(
        X_GOOD, Y_GOOD
    )
    assert model.parameters_["W1"].dtype == np.float32


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def _bad_data_cases():
    X, y = X_GOOD, Y_GOOD
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    X_inf = X.copy()
    X_inf[0, 0] = -np.inf
    y_float_nan = y.astype(float)
    y_float_nan[2] = np.nan
    strings = np.array([["a", "b", "c"]] * len(X))
    X_object = X.astype(object)
    X_object[0, 0] = {"not": "a number"}
    return [
        ("X 1-D", X[:, 0], y, ValueError, "Reshape your data"),
        ("X 3-D", X[:, :, None], y, ValueError, "2-D"),
        ("X scalar", 3.0, y, ValueError, "2-D"),
        ("y shorter", X, y[:-1], ValueError, "different numbers of samples"),
        ("y longer", X[:-1], y, ValueError, "different numbers of samples"),
        ("X NaN", X_nan, y, ValueError, "NaN"),
        ("X inf", X_inf, y, ValueError, "inf"),
        ("y NaN", X, y_float_nan, ValueError, "NaN"),
        ("no samples", np.empty((0, 3)), np.empty(0), ValueError, "0 sample"),
        ("no features", np.empty((40, 0)), y, ValueError, r"0 feature\(s\)"),
        ("strings", strings, y, ValueError, "X must hold numbers"),
        ("object with dict", X_object, y, TypeError, "X must hold numbers"),
        ("complex", X + 1j, y, ValueError, "Complex data not supported"),
        ("single class", X, np.zeros(len(X)), ValueError, "1 class"),
        ("continuous labels", X, X[:, 0], ValueError, "Unknown label type: continuous"),
        ("multi-output labels", X, np.column_stack([y, y]), ValueError, "y must be a 1-D"),
        (
            "mixed labels",
            X,
            np.array([1, "a"] * 20, dtype=object),
            ValueError,
            "Unknown label type",
        ),
        ("y None", X, None, ValueError, "requires y to be passed"),
    ]


BAD_DATA = _bad_data_cases()


@pytest.mark.parametrize("case, X, y, error, message", BAD_DATA, ids=[case[0] for case in BAD_DATA])
def test_bad_data_raises_before_kernels_and_leaves_model(
    case, X, y, error, message, kernels_must_not_run
):
    model = fastnn.MLPClassifier(hidden=(4,), epochs=2, backend="numpy")
    with pytest.raises(error, match=message):
        model.fit(X, y)
    assert not hasattr(model, "parameters_")


def test_sparse_input_is_refused_by_name():
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="sparse"):
        fastnn.MLPClassifier(backend="numpy").fit(sparse.csr_matrix(X_GOOD), Y_GOOD)


def test_regressor_targets_checked(kernels_must_not_run):
    model = fastnn.MLPRegressor(backend="numpy")
    with pytest.raises(ValueError, match="y contains infinity"):
        model.fit(X_GOOD, np.full(len(X_GOOD), np.inf))
    with pytest.raises(ValueError, match="y must be 1-D"):
        model.fit(X_GOOD, np.zeros((len(X_GOOD), 2, 2)))
    with pytest.raises(ValueError, match="y must hold numbers"):
        model.fit(X_GOOD, np.array(["a"] * len(X_GOOD)))
    assert not hasattr(model, "parameters_")


def test_column_vector_labels_warn_and_fit():
    with pytest.warns(fastnn.DataConversionWarning, match="column-vector y"):
        model = fastnn.MLPClassifier(hidden=(4,), epochs=2, backend="numpy").fit(
            X_GOOD, Y_GOOD[:, None]
        )
    assert model.predict(X_GOOD).shape == (len(X_GOOD),)


# ---------------------------------------------------------------------------
# Prediction
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["predict", "predict_proba", "decision_function", "score"])
def test_not_fitted_error(method):
    model = fastnn.MLPClassifier(backend="numpy")
    args = (X_GOOD, Y_GOOD) if method == "score" else (X_GOOD,)
    with pytest.raises(fastnn.NotFittedError, match="not fitted"):
        getattr(model, method)(*args)
    assert issubclass(fastnn.NotFittedError, ValueError)
    assert issubclass(fastnn.NotFittedError, AttributeError)


@pytest.mark.parametrize(
    "cls",
    [fastnn.MLPClassifier, fastnn.MLPRegressor, fastnn.LogisticRegression],
    ids=lambda c: c.__name__,
)
def test_predict_with_other_number_of_features(cls):
    model = (
        fitted_model(cls)
        if cls is not fastnn.LogisticRegression
        else fastnn.LogisticRegression(epochs=2, backend="numpy").fit(X_GOOD, Y_GOOD)
    )
    with pytest.raises(
        ValueError, match=f"X has 2 features, but {cls.__name__} is expecting 3 features as input"
    ):
        model.predict(X_GOOD[:, :2])
    with pytest.raises(ValueError, match="NaN"):
        model.predict(np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match="Reshape your data"):
        model.predict(X_GOOD[0])


# ---------------------------------------------------------------------------
# Warm start and assigned parameters
# ---------------------------------------------------------------------------


def test_warm_start_with_other_number_of_features():
    model = fitted_model(warm_start=True)
    before = snapshot(model)
    with pytest.raises(ValueError, match="warm_start: X has 2 features"):
        model.fit(X_GOOD[:, :2], Y_GOOD)
    assert_same_state(model, before)


def test_warm_start_with_unknown_labels():
    model = fitted_model(warm_start=True)
    before = snapshot(model)
    with pytest.raises(ValueError, match="warm_start: y has labels"):
        model.fit(X_GOOD, Y_GOOD + 10)
    assert_same_state(model, before)


def test_warm_start_regressor_with_other_number_of_targets():
    model = fitted_model(fastnn.MLPRegressor, warm_start=True)
    before = snapshot(model)
    with pytest.raises(ValueError, match="warm_start: y has 2 targets"):
        model.fit(X_GOOD, X_GOOD[:, :2])
    assert_same_state(model, before)


@pytest.mark.parametrize("bad", ["shape", "missing", "extra", "nan", "type"])
def test_assigned_parameters_of_wrong_shape(bad):
    model = fitted_model(warm_start=True)
    parameters = {key: value.copy() for key, value in model.parameters_.items()}
    if bad == "shape":
        parameters["W2"] = np.zeros((3, 5))
    elif bad == "missing":
        del parameters["b1"]
    elif bad == "extra":
        parameters["W3"] = np.zeros((1, 1))
    elif bad == "nan":
        parameters["b2"][0, 0] = np.nan
    else:
        parameters = [parameters["W1"]]
    model.parameters_ = parameters
    with pytest.raises((ValueError, TypeError), match="parameters_"):
        model.fit(X_GOOD, Y_GOOD)
    assert model.parameters_ is parameters


def test_assigned_parameters_need_a_fit_before_predict():
    model = fastnn.MLPClassifier(hidden=(2,), backend="numpy")
    model.parameters_ = fitted_model(hidden=(2,)).parameters_
    with pytest.raises(fastnn.NotFittedError, match="warm_start=True"):
        model.predict(X_GOOD)
    model.set_params(warm_start=True, epochs=1).fit(X_GOOD, Y_GOOD)
    assert model.predict(X_GOOD).shape == (len(X_GOOD),)


def test_predict_refuses_parameters_of_wrong_shape():
    model = fitted_model()
    model.parameters_ = dict(model.parameters_, W1=np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"parameters_\['W1'\] has shape"):
        model.predict(X_GOOD)


# ---------------------------------------------------------------------------
# The checks themselves
# ---------------------------------------------------------------------------


def test_check_labels_sorted_classes_and_indices():
    classes, indices = validation.check_labels(np.array(["b", "a", "c", "a"], dtype=object))
    assert classes.tolist() == ["a", "b", "c"]
    assert indices.tolist() == [1, 0, 2, 0]
    classes, indices = validation.check_labels([2.0, -1.0, 2.0])
    assert classes.tolist() == [-1.0, 2.0] and indices.tolist() == [1, 0, 1]


def test_every_variant_name_is_a_valid_backend():
    for name in kernels.VARIANTS:
        assert validation.check_backend(name) == name
