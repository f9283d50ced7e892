"""The fit pipeline (``fastnn.fitting``): prepare -> train -> finish, shared by every fit."""

import dataclasses

import numpy as np
import pytest

import fastnn
from fastnn import fitting
from fastnn.targets import ClassifierTargets, RegressorTargets

from conftest import notes

#: Parameters (W1, b1, W2, ... flattened) of the fits below, as the code before the
#: pipeline gave them (numpy variant, float64). The refactor was checked bit for bit
#: on more configurations and both CPU variants; here a tight tolerance keeps the test
#: independent of the BLAS's rounding on another machine.
BEFORE_THE_PIPELINE = {
    "binary": [
        -0.24784530232959034,
        0.07561147471501936,
        -0.004898589685691414,
        0.6778334033470556,
        0.0367545414700986,
        0.005737899254111603,
        -0.48142659454228137,
        0.0066290543333906975,
        -0.011728484471270501,
        -0.7022709587777795,
        0.23556830289228337,
        -0.7746535724216094,
        0.26557481409829503,
        0.8050392310170841,
        -0.37340555249539037,
        0.11024104570428979,
    ],
    "softmax_minibatch": [
        -0.47317570386244845,
        0.028276273107450286,
        -0.003355164765850767,
        0.707066291835585,
        -0.20077220229943568,
        -0.008983054986641382,
        -0.11610260714570943,
        0.08530940260745729,
        0.007879906667977273,
        -0.3838101494952092,
        0.5960360588177916,
        -0.13781707671105897,
        0.8944779328397923,
        -0.5942461877731818,
        -1.0544862892696059,
        0.1651532197323904,
        -0.4451355116059218,
        -0.5139203334631757,
        0.5405816882770423,
        -0.573791121821542,
        0.0413677300689209,
        0.00496768852142011,
        0.04991863307455455,
        -0.05488632159597466,
    ],
    "regressor": [
        0.9801536455447298,
        -0.06564399555218783,
        0.006133809672730853,
        0.011012693829589755,
        0.06494295555522163,
        0.0014300845331671045,
        0.765521176345387,
        -0.27886121690930554,
        1.2903918200942792,
        1.3478459172270212,
        2.8430477692706955,
    ],
    "logistic_raw": [
        -0.0019112128389285588,
        0.003481290692334596,
        0.021397545019288856,
        -0.00012243539660011067,
        0.005559979878937656,
        -0.004681874140089059,
        0.0020336482355286694,
        -0.00904127057127225,
        -0.016715670879199812,
        -0.00033608733896699325,
        0.0006512076880897361,
        -0.00031512034912274276,
    ],
}


def _data():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 3)) * [1, 10, 100] + [0, 5, -50]
    return X, np.digitize(X[:, 0], [-0.5, 0.5]), X @ [1, 0.1, 0.01] + 3


def _cases():
    # the notes' gradient descent, as these parameters were computed (before Adam was the
    # default)
    X, y3, yr = _data()
    return {
        "binary": (
            notes(
                fastnn.MLPClassifier,
                hidden=(3,),
                activation="tanh",
                epochs=6,
                backend="numpy",
                seed=4,
            ),
            (y3 > 0).astype(int),
        ),
        "softmax_minibatch": (
            notes(
                fastnn.MLPClassifier,
                hidden=(3,),
                epochs=4,
                batch_size=16,
                momentum=0.9,
                l2=0.1,
                backend="numpy",
                seed=1,
            ),
            y3,
        ),
        "regressor": (notes(fastnn.MLPRegressor, hidden=(2,), epochs=5, backend="numpy"), yr),
        "logistic_raw": (
            notes(
                fastnn.LogisticRegression,
                epochs=5,
                standardize=False,
                learning_rate=1e-3,
                backend="numpy",
            ),
            y3,
        ),
    }


@pytest.mark.parametrize("name", sorted(BEFORE_THE_PIPELINE))
def test_same_parameters_as_before_the_pipeline(name):
    X = _data()[0]
    model, y = _cases()[name]
    model.fit(X, y)
    flat = np.concatenate([p.ravel() for p in model.parameters_.values()])
    np.testing.assert_allclose(flat, BEFORE_THE_PIPELINE[name], rtol=1e-12, atol=1e-15)


def test_prepare_makes_a_frozen_plan_in_the_notes_layout():
    X, y3, _ = _data()
    model = fastnn.MLPClassifier(hidden=(5,), batch_size=8, backend="numpy")
    plan = fitting.prepare(model, X, y3)
    assert plan.X.shape == (3, 40) and plan.Y.shape == (3, 40) and plan.m == 40
    assert plan.layer_sizes == (3, 5, 3)
    assert plan.spec.activations == ("relu", "softmax")
    assert plan.spec.mini_batch(plan.m) == 8
    assert isinstance(plan.targets, ClassifierTargets)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.spec = None
    assert not hasattr(model, "parameters_")  # prepare leaves the model as it was


def test_full_batch_when_one_batch_holds_every_example():
    spec = fitting.TrainingSpec(("sigmoid",), 1, 0.1, 50, 0.0, 0.0, "numpy")
    assert spec.mini_batch(50) is None and spec.mini_batch(51) == 50
    assert dataclasses.replace(spec, batch_size=None).mini_batch(10) is None


def test_regressor_targets_scale_and_lay_out():
    _, _, yr = _data()
    model = fastnn.MLPRegressor(hidden=(2,), backend="numpy")
    plan = fitting.prepare(model, _data()[0], yr)
    assert isinstance(plan.targets, RegressorTargets) and plan.targets.one_dimensional
    np.testing.assert_allclose(plan.Y.mean(), 0, atol=1e-12)
    np.testing.assert_allclose(plan.Y.std(), 1)
    assert plan.targets.without_rows().values is None


def test_finish_keeps_the_parameters_it_is_given():
    """What an early stop will do: hand finish the best epoch's parameters, not the last."""
    X, y3, _ = _data()
    model = fastnn.MLPClassifier(hidden=(3,), epochs=3, backend="numpy", standardize=False)
    plan = fitting.prepare(model, X, y3)
    best = ([W + 1 for W in plan.weights], [b - 1 for b in plan.biases])
    fitting.finish(model, plan, fitting.Outcome(*best, costs=np.array([0.5, 0.4])))
    np.testing.assert_array_equal(model.parameters_["W1"], best[0][0])
    np.testing.assert_array_equal(model.parameters_["b2"], best[1][1])
    assert model.n_epochs_ == 2 and model.classes_.tolist() == [0, 1, 2]


def test_finish_raises_a_failure_after_storing_the_model():
    X, y3, _ = _data()
    model = fastnn.MLPClassifier(hidden=(3,), epochs=3, backend="numpy")
    plan = fitting.prepare(model, X, y3)
    outcome = fitting.Outcome(
        plan.weights, plan.biases, np.array([0.7]), failure=RuntimeError("worker lost")
    )
    with pytest.raises(RuntimeError, match="worker lost"):
        fitting.finish(model, plan, outcome)
    assert model.n_epochs_ == 1
