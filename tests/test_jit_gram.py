"""The numba variant's Gram form of a wide first layer (``kernels.jit_gram``): the same descent as
the reference, step for step, on awkward sizes, with momentum, L2, sample weights, schedules,
divergence and runs cut into calls; and the rule that takes it."""

import numpy as np
import pytest

import fastnn
from kernels import jit, jit_gram, vectorized
from kernels.contract import OptimizerState, Schedule

from conftest import labels, random_array, tolerance

#: (layer sizes, m): inputs well above the examples; m = 1; a logistic regression (the first
#: layer is the output layer); a softmax output; a deeper net
SHAPES = [((97, 5, 3, 1), 13), ((211, 7, 1), 1), ((101, 1), 17), ((61, 4, 3), 11)]
SHAPES += [((131, 7, 7, 2, 1), 31)]


def problem(rng, sizes, m, dtype):
    weights = [random_array(rng, (n, p), dtype, 1.0 / np.sqrt(p)) for p, n in zip(sizes, sizes[1:])]
    biases = [random_array(rng, (n, 1), dtype, 0.1) for n in sizes[1:]]
    X = random_array(rng, (sizes[0], m), dtype, 1.0)
    output = "softmax" if sizes[-1] > 1 else "sigmoid"
    activations = (["tanh", "relu", "leaky_relu"] * 2)[: len(sizes) - 2] + [output]
    return weights, biases, X, labels(rng, output, sizes[-1], m, dtype), activations


def trained(module, weights, biases, *args, gram=None, state=None, **kwargs):
    W, b = [w.copy() for w in weights], [x.copy() for x in biases]
    state = state if state is not None else OptimizerState.zeros(W, b)
    if gram is None:
        costs = module.train(W, b, *args, state=state, **kwargs)
    else:
        with jit_gram.forced(gram):
            costs = module.train(W, b, *args, state=state, **kwargs)
    return np.asarray(costs), W + b, state.v_weights + state.v_biases


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sizes, m", SHAPES)
@pytest.mark.parametrize("momentum, l2", [(0.0, 0.0), (0.9, 0.0), (0.5, 0.7)])
def test_the_gram_form_trains_like_the_reference(sizes, m, momentum, l2, dtype, rng):
    weights, biases, X, Y, activations = problem(rng, sizes, m, dtype)
    args = (X, Y, activations, 25, 0.05)
    kwargs = dict(momentum=momentum, l2=l2)
    expected = trained(vectorized, weights, biases, *args, **kwargs)
    got = trained(jit, weights, biases, *args, gram=True, **kwargs)
    for a, b in zip(got[1] + got[2], expected[1] + expected[2]):
        np.testing.assert_allclose(a, b, **tolerance(dtype))
    np.testing.assert_allclose(got[0], expected[0], **tolerance(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_gram_form_with_weights_and_a_schedule(dtype, rng):
    weights, biases, X, Y, activations = problem(rng, (89, 6, 1), 19, dtype)
    kwargs = dict(
        momentum=0.8,
        l2=0.2,
        sample_weight=rng.uniform(0.2, 3.0, 19).astype(dtype),
        schedule=Schedule("inverse_time", 0.5, 3),
    )
    expected = trained(vectorized, weights, biases, X, Y, activations, 20, 0.1, **kwargs)
    got = trained(jit, weights, biases, X, Y, activations, 20, 0.1, gram=True, **kwargs)
    for a, b in zip(got[1] + got[2], expected[1] + expected[2]):
        np.testing.assert_allclose(a, b, **tolerance(dtype))
    np.testing.assert_allclose(got[0], expected[0], **tolerance(dtype))


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_a_run_cut_into_calls_carries_the_velocity(momentum, rng):
    """Calls after the first start from a velocity: its part in W (``f V0``) is tracked."""
    weights, biases, X, Y, activations = problem(rng, (97, 5, 1), 13, np.float64)
    kwargs = dict(momentum=momentum, l2=0.3)
    expected = trained(vectorized, weights, biases, X, Y, activations, 30, 0.1, **kwargs)
    W, b = [w.copy() for w in weights], [x.copy() for x in biases]
    state = OptimizerState.zeros(W, b)
    costs = []
    for epochs, gram in ((7, True), (11, False), (12, True)):
        with jit_gram.forced(gram):
            costs.extend(jit.train(W, b, X, Y, activations, epochs, 0.1, state=state, **kwargs))
    for a, e in zip(W + b + state.v_weights + state.v_biases, expected[1] + expected[2]):
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(costs, expected[0], rtol=1e-10)


def test_divergence_puts_back_the_last_finite_parameters(rng):
    weights, biases, X, Y, activations = problem(rng, (97, 5, 1), 13, np.float64)
    X *= 1e3
    expected = trained(vectorized, weights, biases, X, Y, ["relu", "sigmoid"], 40, 1e8)
    got = trained(jit, weights, biases, X, Y, ["relu", "sigmoid"], 40, 1e8, gram=True)
    assert np.isnan(expected[0][-1])  # the run diverged
    np.testing.assert_array_equal(np.isnan(got[0]), np.isnan(expected[0]))
    for a, b in zip(got[1], expected[1]):
        assert np.isfinite(a).all()
        np.testing.assert_allclose(a, b, rtol=1e-9)


def test_the_rule():
    """Taken for wide inputs over enough epochs of full-batch descent; never for Adam or
    mini-batches; forced either way by ``forced`` or FASTNN_GRAM."""
    args = dict(n_1=20, n_x=12288, m=209, batch=209, adam=False, l2=0.0, momentum=False)
    assert jit_gram.pays(epochs=40, dtype=np.float32, **args)
    assert not jit_gram.pays(epochs=1, dtype=np.float32, **args)  # the set-up outweighs it
    assert not jit_gram.pays(epochs=40, dtype=np.float32, **{**args, "adam": True})
    assert not jit_gram.pays(epochs=40, dtype=np.float32, **{**args, "batch": 64})
    assert not jit_gram.pays(epochs=40, dtype=np.float32, **{**args, "n_x": 100})  # m > n_x/2
    with jit_gram.forced(True):
        assert jit_gram.pays(epochs=1, dtype=np.float32, **args)
        assert not jit_gram.pays(epochs=1, dtype=np.float32, **{**args, "adam": True})
    with jit_gram.forced(False):
        assert not jit_gram.pays(epochs=40, dtype=np.float32, **args)
    huge = {**args, "m": 10_000, "batch": 10_000, "n_x": 10**6}  # G of 400 MB: not kept
    assert not jit_gram.pays(epochs=1000, dtype=np.float32, **huge)


def test_the_environment_forces_it(monkeypatch):
    args = dict(n_1=20, n_x=12288, m=209, batch=209, adam=False, l2=0.0, momentum=False)
    monkeypatch.setenv("FASTNN_GRAM", "never")
    assert not jit_gram.pays(epochs=40, dtype=np.float64, **args)
    monkeypatch.setenv("FASTNN_GRAM", "always")
    assert jit_gram.pays(epochs=1, dtype=np.float64, **args)


def test_the_estimator_takes_it_on_wide_images_and_fits_the_same(rng, monkeypatch):
    """The notes' image shape, scaled down: a fit in the Gram form equals one without."""
    taken = []
    real = jit_gram.GramForm
    monkeypatch.setattr(jit_gram, "GramForm", lambda *a: taken.append(1) or real(*a))
    X = rng.standard_normal((61, 1500))
    y = (X[:, :7].sum(axis=1) > 0).astype(int)
    params = dict(hidden=(9, 4), activation="relu", solver="sgd", batch_size=None, epochs=60)
    model = fastnn.MLPClassifier(learning_rate=0.01, seed=3, **params).fit(X, y)
    assert taken
    with jit_gram.forced(False):
        usual = fastnn.MLPClassifier(learning_rate=0.01, seed=3, **params).fit(X, y)
    for key, value in usual.parameters_.items():
        np.testing.assert_allclose(model.parameters_[key], value, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(model.history_, usual.history_, rtol=1e-10)


def test_a_non_finite_start_keeps_the_usual_form_and_its_rules(rng):
    """A velocity holding an infinity (a state carried past a diverged call), or inputs whose
    Gram matrix overflows: the usual form runs, with the reference's rules for them."""
    weights, biases, X, Y, activations = problem(rng, (97, 5, 1), 13, np.float64)
    state = OptimizerState.zeros(weights, biases)
    state.v_weights[0][1, 2] = np.inf
    expected = trained(
        vectorized,
        weights,
        biases,
        X,
        Y,
        activations,
        5,
        0.1,
        momentum=0.9,
        state=OptimizerState(*[[a.copy() for a in g] for g in (state.v_weights, state.v_biases)]),
    )
    got = trained(
        jit, weights, biases, X, Y, activations, 5, 0.1, gram=True, momentum=0.9, state=state
    )
    np.testing.assert_array_equal(np.isnan(got[0]), np.isnan(expected[0]))
    for a, b in zip(got[1], expected[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    huge = np.full((97, 13), 3e19, np.float32)  # X^T X overflows float32
    form = jit_gram.GramForm(
        weights[0].astype(np.float32), np.zeros((5, 97), np.float32), huge, False
    )
    assert not form.usable()


def test_a_gram_form_that_overflows_at_the_end_is_made_again_the_usual_way(rng, monkeypatch):
    weights, biases, X, Y, activations = problem(rng, (97, 5, 1), 13, np.float64)
    calls = []
    monkeypatch.setattr(jit_gram.GramForm, "formed", lambda self, A, B: calls.append(1))
    expected = trained(vectorized, weights, biases, X, Y, activations, 9, 0.1, momentum=0.5)
    got = trained(jit, weights, biases, X, Y, activations, 9, 0.1, gram=True, momentum=0.5)
    assert calls == [1]  # once: the second run is in the usual form
    for a, b in zip(got[1] + got[2], expected[1] + expected[2]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-10)


def test_no_second_layout_where_a_rule_chose_the_paths():
    """Products large on every side take OpenBLAS unmeasured: X stays in the layout given."""
    from kernels import jit_train

    X = np.asfortranarray(np.zeros((300, 260)))
    plan = jit_train._first_layer_plan(X, 280, 260, np.float64, 50)
    make_X, make_XT = plan[2], plan[3]
    assert not make_X and not make_XT
