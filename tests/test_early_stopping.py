"""Early stopping on a validation split (issue 11, point 2)."""

import numpy as np
import pytest

import fastnn
from fastnn import fitting, training
from fastnn.early_stopping import validation_split
from kernels import vectorized


def _noisy(m=120, seed=0):
    """Few rows, noisy labels: a wide net with a large rate overfits within tens of epochs."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, 5))
    y = np.digitize(X[:, 0] + 0.8 * rng.standard_normal(m), [-0.5, 0.5])
    return X, y


OVERFIT = dict(
    hidden=(64,),
    solver="adam",
    learning_rate=0.02,
    batch_size=16,
    epochs=300,
    early_stopping=True,
    validation_fraction=0.25,
    n_iter_no_change=6,
    tol=0.0,
    l2=0.01,
    backend="numpy",
    seed=1,
)


def _held_out(model, X, y):
    """The validation rows of ``model``'s fit, in raw form."""
    config = model._config()
    targets = model._prepare_targets(y, config)
    _, _, _, (X_held, held) = fitting.hold_out_validation(config, np.asarray(X, float), targets)
    labels = getattr(held, "indices", None)
    return X_held, (held.classes[labels] if labels is not None else held.values[:, 0])


def test_the_split_is_stratified_and_keeps_every_class_in_training():
    groups = np.repeat([0, 1, 2], [50, 30, 1])
    train, held = validation_split(len(groups), 0.2, np.random.default_rng(0), groups)
    assert np.bincount(groups[held], minlength=3).tolist() == [10, 6, 0]
    assert sorted(set(groups[train])) == [0, 1, 2]
    assert np.array_equal(np.sort(np.concatenate([train, held])), np.arange(len(groups)))


def test_early_stopping_stops_and_keeps_the_best_epoch():
    X, y = _noisy()
    model = fastnn.MLPClassifier(**OVERFIT).fit(X, y)
    history = model.validation_history_
    assert len(history) == len(model.history_) == model.n_epochs_ < OVERFIT["epochs"]
    best = int(np.argmin(history))
    assert model.best_epoch_ == best + 1
    assert model.n_epochs_ == model.best_epoch_ + OVERFIT["n_iter_no_change"]
    # the kept parameters are the best epoch's: their cost on the held-out rows (the
    # training loss, no L2 term) and their accuracy are the ones recorded for it
    X_held, y_held = _held_out(model, X, y)
    probabilities = model.predict_proba(X_held)
    Y = (y_held[None, :] == model.classes_[:, None]).astype(float)
    cost = -np.sum(Y * np.log(probabilities.T)) / len(y_held)
    np.testing.assert_allclose(cost, history[best], rtol=1e-9)
    assert model.score(X_held, y_held) == pytest.approx(model.validation_scores_[best])
    assert history[-1] > history[best]  # it did overfit after the best epoch


def test_the_validation_cost_has_no_l2_term():
    X, y = _noisy()
    plain = fastnn.MLPClassifier(**dict(OVERFIT, l2=0.0, epochs=3)).fit(X, y)
    model = fastnn.MLPClassifier(**dict(OVERFIT, l2=5.0, epochs=3)).fit(X, y)
    X_held, y_held = _held_out(model, X, y)
    Z = model.decision_function(X_held).T
    Y = (y_held[None, :] == model.classes_[:, None]).astype(float)
    expected = vectorized.categorical_cross_entropy(Z, Y)
    np.testing.assert_allclose(model.validation_history_[-1], expected, rtol=1e-9)
    assert model.history_[-1] - plain.history_[-1] > 0.5  # the training cost has the L2 term


def test_regressor_records_r2_and_the_split_is_not_stratified():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((80, 3))
    y = 30 * X[:, 0] + rng.standard_normal(80) + 100
    model = fastnn.MLPRegressor(
        hidden=(8,), epochs=20, early_stopping=True, validation_fraction=0.3, backend="numpy"
    ).fit(X, y)
    X_held, y_held = _held_out(model, X, y)
    assert len(y_held) == 24
    best = model.best_epoch_ - 1
    assert model.score(X_held, y_held) == pytest.approx(model.validation_scores_[best])


def test_warm_start_extends_the_validation_record():
    X, y = _noisy()
    params = dict(OVERFIT, epochs=5, n_iter_no_change=50, warm_start=True)
    model = fastnn.MLPClassifier(**dict(params, early_stopping=False)).fit(X, y)
    assert model.validation_history_ is None and model.best_epoch_ is None
    model.set_params(early_stopping=True).fit(X, y)
    assert len(model.validation_history_) == len(model.validation_scores_) == 10
    assert np.isnan(model.validation_history_[:5]).all()
    assert np.isfinite(model.validation_history_[5:]).all()
    assert 6 <= model.best_epoch_ <= 10
    model.fit(X, y)
    assert len(model.validation_history_) == 15 and model.best_epoch_ >= 11


def test_early_stopping_checks_every_epoch():
    X, y = _noisy()
    model = fastnn.MLPClassifier(**dict(OVERFIT, epochs=4, n_iter_no_change=10))
    plan = fitting.prepare(model, X, y)
    monitor = fitting.validation_monitor(plan)
    result = training.run(
        plan.spec,
        plan.weights,
        plan.biases,
        plan.X,
        plan.Y,
        np.random.default_rng(plan.order_seed),
        fastnn.progress.make_progress(4, 0),
        monitor=monitor,
    )
    assert result.chunks == [1, 1, 1, 1] and len(monitor.costs) == 4
    assert plan.m + plan.validation[0].shape[1] == len(y)


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(validation_fraction=1.0), "validation_fraction must be"),
        (dict(validation_fraction=0.001), "validation_fraction=0.001 of 120 samples holds out"),
        (dict(n_iter_no_change=0), "n_iter_no_change must be >= 1"),
        (dict(tol=-1.0), "tol must be"),
    ],
)
def test_bad_early_stopping_values_are_refused_before_training(bad, message, monkeypatch):
    X, y = _noisy()

    def no_training(*args, **kwargs):
        raise AssertionError("training ran")

    monkeypatch.setattr(training, "run", no_training)
    model = fastnn.MLPClassifier(**dict(OVERFIT, **bad))
    with pytest.raises(ValueError, match=message):
        model.fit(X, y)
    assert not hasattr(model, "parameters_")


def test_nan_in_the_validation_rows_is_refused():
    X, y = _noisy()
    model = fastnn.MLPClassifier(**OVERFIT)
    X_held, _ = _held_out(model, X, y)
    rows = np.flatnonzero((X[:, None, :] == X_held[None, :, :]).all(axis=2).any(axis=1))
    X = X.copy()
    X[rows[0], 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.fit(X, y)
