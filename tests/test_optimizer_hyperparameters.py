"""The estimators' optimiser hyperparameters (issue 11, point 1): they reach the kernels."""

import numpy as np
import pytest

import fastnn
from fastnn import fitting, training
from fastnn.progress import make_progress
from kernels import vectorized
from kernels.contract import Schedule


def _data():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((60, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] ** 2 > 0.3).astype(int) + (X[:, 2] > 1)
    return X, y


def _direct(model, X, y, schedule=None, fits=1):
    """The same fit as one kernels ``train`` call per ``fit``, from the plan's initial
    parameters and batch orders: what the estimator must reduce to."""
    plan = fitting.prepare(model, X, y)
    weights = [W.copy() for W in plan.weights]
    biases = [b.copy() for b in plan.biases]
    costs = []
    for _ in range(fits):  # a warm start draws the same orders and a fresh state
        rng = np.random.default_rng(plan.order_seed)
        orders = training.draw_orders(rng, model.epochs, plan.m)
        costs.append(
            vectorized.train(
                weights,
                biases,
                plan.X,
                plan.Y,
                list(plan.spec.activations),
                model.epochs,
                model.learning_rate,
                batch_size=model.batch_size,
                l2=model.l2,
                orders=orders,
                optimizer="adam",
                beta1=model.beta_1,
                beta2=model.beta_2,
                epsilon=model.epsilon,
                schedule=schedule,
            )
        )
    return weights, biases, np.concatenate(costs)


def _flat(model):
    return np.concatenate([p.ravel() for p in model.parameters_.values()])


PARAMS = dict(
    hidden=(5,),
    solver="adam",
    learning_rate=0.01,
    beta_1=0.8,
    beta_2=0.99,
    epsilon=1e-6,
    epochs=7,
    batch_size=16,
    l2=0.05,
    backend="numpy",
    standardize=False,
    seed=3,
)


def test_adam_fit_equals_one_kernels_train_call_from_the_same_start():
    X, y = _data()
    model = fastnn.MLPClassifier(**PARAMS)
    weights, biases, costs = _direct(model, X, y)
    model.fit(X, y)
    np.testing.assert_allclose(
        _flat(model),
        np.concatenate([p.ravel() for pair in zip(weights, biases) for p in pair]),
        rtol=1e-12,
        atol=1e-14,
    )
    np.testing.assert_allclose(model.history_, costs, rtol=1e-12)


def test_the_schedule_reaches_the_kernels():
    X, y = _data()
    params = dict(PARAMS, learning_rate_schedule="inverse_time", decay_rate=0.5, decay_epochs=2)
    model = fastnn.MLPClassifier(**params)
    weights, _, costs = _direct(model, X, y, schedule=Schedule("inverse_time", 0.5, 2))
    model.fit(X, y)
    np.testing.assert_allclose(model.parameters_["W1"], weights[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(model.history_, costs, rtol=1e-12)
    constant = fastnn.MLPClassifier(**PARAMS).fit(X, y)
    assert not np.allclose(constant.parameters_["W1"], model.parameters_["W1"])


def test_warm_start_starts_a_fresh_optimiser_state():
    X, y = _data()
    model = fastnn.MLPClassifier(**dict(PARAMS, warm_start=True))
    weights, _, costs = _direct(model, X, y, fits=2)
    model.fit(X, y).fit(X, y)
    np.testing.assert_allclose(model.parameters_["W1"], weights[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(model.history_, costs, rtol=1e-12)


@pytest.mark.parametrize(
    "optimizer",
    [
        dict(solver="adam", learning_rate=0.01),
        dict(solver="sgd", momentum=0.9, learning_rate=0.1),
        dict(
            solver="adam", learning_rate=0.02, learning_rate_schedule="exponential", decay_rate=0.7
        ),
    ],
)
def test_a_run_cut_into_chunks_equals_one_call(optimizer):
    X, y = _data()
    model = fastnn.MLPClassifier(**dict(PARAMS, **optimizer, epochs=9))
    runs = []
    for chunk_epochs in (1, 4, 9):
        plan = fitting.prepare(model, X, y)
        result = training.run(
            plan.spec,
            plan.weights,
            plan.biases,
            plan.X,
            plan.Y,
            np.random.default_rng(plan.order_seed),
            make_progress(9, 0),
            chunk_epochs=chunk_epochs,
        )
        assert len(result.chunks) == -(-9 // chunk_epochs)
        runs.append((np.concatenate([W.ravel() for W in plan.weights]), result.costs))
    for weights, costs in runs[:2]:
        np.testing.assert_allclose(weights, runs[2][0], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(costs, runs[2][1], rtol=1e-12)


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(solver="rmsprop"), "solver must be one of"),
        (
            dict(solver="adam", momentum=0.9),
            "momentum=0.9 is the 'sgd' solver's: pass solver='sgd'",
        ),
        (dict(beta_1=1.0), "beta_1 must be"),
        (dict(beta_2=-0.1), "beta_2 must be"),
        (dict(epsilon=0.0), "epsilon must be"),
        (dict(learning_rate_schedule="cosine"), "learning_rate_schedule must be one of"),
        (
            dict(learning_rate_schedule="exponential", decay_rate=1.5),
            "decay_rate must be in (0, 1]",
        ),
        (dict(decay_rate=-1.0), "decay_rate must be"),
        (dict(decay_epochs=0), "decay_epochs must be >= 1"),
    ],
)
def test_bad_optimiser_values_are_refused_before_training(bad, message, monkeypatch):
    X, y = _data()

    def no_training(*args, **kwargs):
        raise AssertionError("training ran")

    monkeypatch.setattr(training, "run", no_training)
    model = fastnn.MLPClassifier(**dict(PARAMS, **bad))
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("]", r"\]")):
        model.fit(X, y)
    assert not hasattr(model, "parameters_")


def test_the_defaults_are_adam_on_mini_batches_and_the_notes_descent_is_one_step_away():
    for cls in (fastnn.MLPClassifier, fastnn.MLPRegressor, fastnn.LogisticRegression):
        params = cls().get_params()
        assert (params["solver"], params["learning_rate"], params["batch_size"]) == (
            "adam",
            0.001,
            32,
        )
        assert params["learning_rate_schedule"] == "constant" and not params["early_stopping"]
    X, y = _data()
    notes = fastnn.MLPClassifier(
        solver="sgd", batch_size=None, learning_rate=0.1, hidden=(3,), epochs=2, backend="numpy"
    ).fit(X, y)
    spec = fitting.prepare(notes, X, y).spec
    assert (spec.optimizer.name, spec.batch_size, spec.momentum) == ("gradient_descent", None, 0)


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(), "supports solver='sgd' only"),
        (
            dict(solver="sgd", learning_rate=0.1, learning_rate_schedule="inverse_time"),
            "learning_rate_schedule='constant' only",
        ),
        (
            dict(solver="sgd", learning_rate=0.1, early_stopping=True),
            "does not support early_stopping=True",
        ),
    ],
)
def test_the_distributed_fit_refuses_adam_schedules_and_early_stopping(params, message):
    distributed = pytest.importorskip("fastnn.distributed")  # the optional [dask] extra
    X, y = _data()
    # refused before the cluster is touched: no client needed
    with pytest.raises(ValueError, match=message):
        distributed.fit(fastnn.MLPClassifier(**params), X, y, client=None)
