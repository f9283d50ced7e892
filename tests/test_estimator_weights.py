"""``sample_weight``, ``class_weight``, ``partial_fit`` and ``predict_log_proba`` of the
estimators (issue 11, point 4).

The meaning of a weight is the kernels' (tests/test_sample_weight.py); here: the checks
of scikit-learn's ``_check_sample_weight``, weights all 1 and zero weights exactly as no
weights and rows removed, integer weights as repeated rows, the class weights, and
``partial_fit`` continuing one run.
"""

import numpy as np
import pytest

import fastnn
from fastnn import training, weights

from conftest import notes

BACKENDS = ["numpy", "numba"]


def data(m=40, seed=0, classes=2):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, 3)) * [1.0, 5.0, 0.1] + [0.0, 3.0, -1.0]
    score = X[:, 0] + 0.2 * X[:, 1] + 0.3 * rng.standard_normal(m)
    y = np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1]))
    return X, y


def params(model):
    return [model.parameters_[k] for k in sorted(model.parameters_)]


def assert_same_model(a, b):
    for p, q in zip(params(a), params(b)):
        np.testing.assert_array_equal(p, q)
    np.testing.assert_array_equal(a.history_, b.history_)


def assert_close_model(a, b, rtol=1e-9, atol=1e-12):
    for p, q in zip(params(a), params(b)):
        np.testing.assert_allclose(p, q, rtol=rtol, atol=atol)
    np.testing.assert_allclose(a.history_, b.history_, rtol=rtol, atol=atol)


def classifier(backend, **options):
    options = {"hidden": (5,), "epochs": 15, "backend": backend, **options}
    return notes(fastnn.MLPClassifier, **options)


# -- sample_weight -----------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, error, match",
    [
        (np.ones(39), ValueError, r"sample_weight.shape == \(39,\), expected \(40,\)"),
        (np.ones((40, 2)), ValueError, r"sample_weight.shape == \(40, 2\)"),
        (np.full(40, np.nan), ValueError, "sample_weight must be finite"),
        (-np.ones(40), ValueError, "sample_weight must be non-negative"),
        (np.zeros(40), ValueError, "sample_weight must not be all zero"),
        (np.array(["a"] * 40), TypeError, "sample_weight must hold real numbers"),
    ],
)
def test_bad_sample_weights_are_refused_and_the_model_kept(bad, error, match):
    X, y = data()
    model = classifier("numpy").fit(X, y)
    before = params(model)
    with pytest.raises(error, match=match):
        model.fit(X, y, sample_weight=bad)
    for p, q in zip(before, params(model)):
        np.testing.assert_array_equal(p, q)


def test_a_number_is_every_samples_weight():
    assert np.array_equal(weights.check_sample_weight(2, 3), [2.0, 2.0, 2.0])
    assert weights.check_sample_weight(None, 3) is None


@pytest.mark.parametrize("batch_size", [None, 16])
@pytest.mark.parametrize("backend", BACKENDS)
def test_unit_weights_are_no_weights_bit_for_bit(backend, batch_size):
    X, y = data()
    plain = classifier(backend, batch_size=batch_size).fit(X, y)
    ones = classifier(backend, batch_size=batch_size).fit(X, y, sample_weight=np.ones(40))
    assert_same_model(plain, ones)


@pytest.mark.parametrize("batch_size", [None, 7])
@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_weights_are_rows_removed_bit_for_bit(backend, batch_size):
    X, y = data(classes=3)
    w = np.ones(40)
    w[[1, 4, 30]] = 0
    keep = w > 0
    weighted = classifier(backend, batch_size=batch_size).fit(X, y, sample_weight=w)
    removed = classifier(backend, batch_size=batch_size).fit(X[keep], y[keep])
    assert_same_model(weighted, removed)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "cls", [fastnn.MLPClassifier, fastnn.MLPRegressor, fastnn.LogisticRegression]
)
def test_integer_weights_are_repeated_rows(cls, backend):
    X, y = data(classes=3)
    if cls is fastnn.MLPRegressor:
        y = X @ [1.0, -0.5, 2.0] + 10.0
    w = np.random.default_rng(1).integers(0, 4, len(y))
    rows = np.repeat(np.arange(len(y)), w)
    options = {"epochs": 20, "backend": backend, "l2": 0.1}
    # full batch: mini-batches of repeated rows would hold other examples
    weighted = notes(cls, **options).fit(X, y, sample_weight=w)
    repeated = notes(cls, **options).fit(X[rows], y[rows])
    assert_close_model(weighted, repeated)
    # the weights matter: the unweighted fit is another model
    unweighted = notes(cls, **options).fit(X, y)
    assert not np.allclose(unweighted.history_, weighted.history_)


def test_sample_weight_is_not_written():
    X, y = data()
    w = np.arange(40, dtype=np.float64) % 3
    given = w.copy()
    classifier("numpy").fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(w, given)


def test_float32_model_with_weights():
    X, y = data()
    w = np.random.default_rng(2).uniform(0.5, 2.0, 40)
    model = classifier("numba", dtype="float32").fit(X, y, sample_weight=w)
    reference = classifier("numpy", dtype="float32").fit(X, y, sample_weight=w)
    assert model.parameters_["W1"].dtype == np.float32
    assert_close_model(model, reference, rtol=2e-4, atol=1e-5)
    with pytest.raises(ValueError, match="sample_weight has values up to .* float32"):
        classifier("numpy", dtype="float32").fit(X, y, sample_weight=np.full(40, 1e39))


def test_weights_leaving_one_class_are_refused():
    X, y = data()
    with pytest.raises(ValueError, match=r"only the class 1 .* at least 2 classes"):
        classifier("numpy").fit(X, y, sample_weight=(y == 1).astype(float))


# -- class_weight --------------------------------------------------------------------


@pytest.mark.parametrize("cls", [fastnn.MLPClassifier, fastnn.LogisticRegression])
def test_balanced_is_sklearns_formula(cls):
    X, y = data(classes=3)
    y = np.where(np.arange(40) < 25, y, 0)  # unbalanced
    counts = np.bincount(y)
    manual = {label: 40 / (3 * counts[label]) for label in range(3)}
    balanced = cls(epochs=10, backend="numpy", class_weight="balanced").fit(X, y)
    by_hand = cls(epochs=10, backend="numpy", class_weight=manual).fit(X, y)
    assert_same_model(balanced, by_hand)
    assert "class_weight" in cls().get_params()


def test_class_weight_multiplies_sample_weight():
    X, y = data()
    w = np.random.default_rng(3).uniform(0.5, 2.0, 40)
    by_class = classifier("numpy", class_weight={0: 3.0}).fit(X, y, sample_weight=w)
    by_sample = classifier("numpy").fit(X, y, sample_weight=w * np.where(y == 0, 3.0, 1.0))
    assert_same_model(by_class, by_sample)


def test_class_weight_changes_the_predictions():
    X, y = data()
    heavy = classifier("numpy", epochs=100, class_weight={0: 1000, 1: 0.001}).fit(X, y)
    assert (heavy.predict(X) == 0).mean() > 0.9
    assert (classifier("numpy", epochs=100).fit(X, y).predict(X) == 0).mean() < 0.7


@pytest.mark.parametrize(
    "class_weight, match",
    [
        ({5: 1.0}, "class_weight has the label 5"),
        ({0: -1.0}, r"class_weight\[0\] must be a finite number >= 0"),
        ({0: np.nan}, r"class_weight\[0\] must be a finite number >= 0"),
        ("even", "class_weight must be None, 'balanced' or a dict"),
        ({0: 0, 1: 0}, "sample_weight times class_weight is zero for every sample"),
    ],
)
def test_bad_class_weights_are_refused(class_weight, match):
    X, y = data()
    with pytest.raises(ValueError, match=match):
        classifier("numpy", class_weight=class_weight).fit(X, y)


def test_distributed_fit_refuses_class_weight():
    from fastnn.distributed import fit

    X, y = data()
    with pytest.raises(ValueError, match="class_weight is not supported"):
        fit(classifier("numpy", class_weight="balanced"), X, y, client=None)


# -- partial_fit and predict_log_proba ---------------------------------------------------


def test_partial_fit_needs_classes_on_the_first_call():
    X, y = data()
    model = classifier("numpy")
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        model.partial_fit(X, y)
    model.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="is not the same as on the last call"):
        model.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"y has labels \[7\] that are not in classes"):
        model.partial_fit(X, np.full(40, 7))
    with pytest.raises(ValueError, match="X has 2 features, but MLPClassifier is expecting 3"):
        model.partial_fit(X[:, :2], y)


def test_partial_fit_batches_may_hold_one_class():
    X, y = data(classes=3)
    model = classifier("numpy")
    model.partial_fit(X[y == 0], y[y == 0], classes=[0, 1, 2])
    model.partial_fit(X[y == 2], y[y == 2])
    assert model.classes_.tolist() == [0, 1, 2] and model.n_epochs_ == 2
    assert model.predict_proba(X).shape == (40, 3)


@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("backend", BACKENDS)
def test_partial_fit_calls_are_one_run(backend, standardize):
    """Full-batch partial_fit calls on the same data: the epochs of one fit, the momentum
    velocities and the first call's scaling carried from call to call."""
    X, y = data(classes=3)
    options = {"momentum": 0.9, "standardize": standardize}
    model = classifier(backend, **options)
    for _ in range(4):
        model.partial_fit(X, y, classes=[0, 1, 2])
    one_run = classifier(backend, epochs=4, **options).fit(X, y)
    assert_close_model(model, one_run, rtol=1e-10)
    # fit starts again: its partial_fit state is dropped
    model.fit(X, y)
    assert not hasattr(model, "_partial_fit_state")


def test_regressor_partial_fit_with_weights():
    X, _ = data()
    y = X @ [1.0, -0.5, 2.0]
    w = np.random.default_rng(4).integers(1, 3, 40)
    model = notes(fastnn.MLPRegressor, hidden=(4,), backend="numpy", momentum=0.5)
    for _ in range(3):
        model.partial_fit(X, y, sample_weight=w)
    one_run = notes(fastnn.MLPRegressor, hidden=(4,), backend="numpy", momentum=0.5, epochs=3).fit(
        X, y, sample_weight=w
    )
    assert_close_model(model, one_run, rtol=1e-10)


@pytest.mark.parametrize("classes", [2, 3])
def test_predict_log_proba(classes):
    X, y = data(classes=classes)
    model = classifier("numpy", epochs=50).fit(X, y)
    np.testing.assert_allclose(
        model.predict_log_proba(X), np.log(model.predict_proba(X)), rtol=1e-10, atol=1e-12
    )
    far = X * 1e4  # probabilities that underflow to 0: their logs stay finite
    assert np.isfinite(model.predict_log_proba(far)).all()


@pytest.mark.parametrize("class_weight", ["balanced", {"a": 2.0, "b": 1}])
def test_class_weight_is_saved_and_loaded(class_weight, tmp_path):
    X, y = data()
    labels = np.array(["a", "b"])[y]
    model = classifier("numpy", class_weight=class_weight).fit(X, labels)
    path = tmp_path / "model.npz"
    fastnn.persistence.save(model, path)
    loaded = fastnn.persistence.load(path)
    assert loaded.class_weight == class_weight
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_ctrl_c_inside_partial_fit_keeps_the_velocities(monkeypatch):
    """An interrupted partial_fit call puts back the parameters and the kept velocities."""
    import kernels

    X, y = data()
    real = kernels.get("numpy")
    model = classifier("numpy", momentum=0.9)
    model.partial_fit(X, y, classes=[0, 1])
    velocities = [v.copy() for v in training.state_arrays(model._partial_fit_state.optimizer_state)]
    before = params(model)

    class HalfWay:
        forward = staticmethod(real.forward)

        @staticmethod
        def train(weights, biases, *args, state=None, **kwargs):
            state.v_weights[0] += 1.0  # half an update, then Ctrl-C
            weights[0] += 1.0
            raise KeyboardInterrupt

    monkeypatch.setattr("fastnn.training.kernels.get", lambda name: HalfWay)
    with pytest.warns(fastnn.TrainingInterruptedWarning):
        model.partial_fit(X, y)
    monkeypatch.undo()
    kept = training.state_arrays(model._partial_fit_state.optimizer_state)
    for p, q in zip(velocities + before, kept + params(model)):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-15)
