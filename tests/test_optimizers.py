"""Optimisers and learning-rate schedules under the one kernel contract (issue 11, point 1).

Adam (the course's bias-corrected form) and gradient descent with momentum,
with a per-epoch learning-rate schedule, in every variant: the per-function
``adam_step`` and the whole-run ``train``, each held against ``vectorized``,
Adam against two steps worked by hand, the schedules against their values,
and chunked calls (``state`` carried) against one call.
"""

import numpy as np
import pytest

import kernels
from kernels import vectorized as ref
from kernels.contract import (
    OPTIMIZERS,
    SCHEDULES,
    OptimizerState,
    Schedule,
    bias_correction,
    epoch_learning_rates,
    learning_rate_at,
)

from conftest import AWKWARD_SIZES, DTYPES, labels, random_array, tolerance

#: Every variant; the CUDA one runs under the simulator (tests/conftest.py) or a GPU.
VARIANTS = ["loops", "numpy", "numba", "cuda"]
#: Every variant but the reference.
OTHERS = ["loops", "numba", "cuda"]


def variant(name):
    if name == "cuda":
        pytest.importorskip("kernels.cuda")
    return kernels.get(name)


#: Float32 results stay within a few ulps of each other (same operations, same order).
STEP_TOLERANCE = {np.float32: dict(rtol=2e-6, atol=1e-7), np.float64: dict(rtol=1e-13, atol=1e-15)}


# ---------------------------------------------------------------------------
# The learning-rate schedules
# ---------------------------------------------------------------------------


def test_inverse_time_is_the_courses_decay():
    # The course's example: alpha0 = 0.2, decay_rate = 1 gives 0.1, 0.067, 0.05, 0.04 after
    # 1, 2, 3, 4 epochs; the first epoch (0 done before it) runs at alpha0.
    rates = epoch_learning_rates(0.2, Schedule("inverse_time", decay_rate=1.0), 0, 5)
    np.testing.assert_allclose(rates, [0.2, 0.1, 0.2 / 3, 0.05, 0.04], rtol=1e-15)
    assert rates.dtype == np.float64


def test_exponential_and_staircase_values():
    np.testing.assert_allclose(
        epoch_learning_rates(0.5, Schedule("exponential", 0.95), 0, 4),
        [0.5, 0.475, 0.45125, 0.4286875],
        rtol=1e-15,
    )
    # decay_epochs=2: the rate changes every second epoch (k = epoch // 2)
    np.testing.assert_allclose(
        epoch_learning_rates(0.8, Schedule("exponential", 0.5, 2), 0, 5),
        [0.8, 0.8, 0.4, 0.4, 0.2],
        rtol=1e-15,
    )
    np.testing.assert_allclose(
        epoch_learning_rates(0.6, Schedule("inverse_time", 2.0, 3), 0, 7),
        [0.6, 0.6, 0.6, 0.2, 0.2, 0.2, 0.12],
        rtol=1e-15,
    )


def test_constant_schedule_and_epoch_offset():
    np.testing.assert_array_equal(epoch_learning_rates(0.3, None, 7, 3), [0.3, 0.3, 0.3])
    np.testing.assert_array_equal(epoch_learning_rates(0.3, Schedule(), 0, 2), [0.3, 0.3])
    schedule = Schedule("inverse_time", 0.5)
    # a call starting after 4 epochs continues the same sequence
    np.testing.assert_array_equal(
        epoch_learning_rates(1.0, schedule, 4, 3), epoch_learning_rates(1.0, schedule, 0, 7)[4:]
    )
    assert learning_rate_at(1.0, schedule, 6) == 1.0 / (1 + 0.5 * 6)
    assert SCHEDULES == ("constant", "inverse_time", "exponential")


@pytest.mark.parametrize(
    "schedule",
    [
        None,
        Schedule("inverse_time", 0.3, 4),
        Schedule("exponential", 0.9, 3),
        Schedule("exponential", 0.7),
    ],
)
@pytest.mark.parametrize("first_epoch, epochs", [(0, 1), (5, 13), (11, 0), (2, 29), (997, 3000)])
def test_epoch_rates_are_learning_rate_at_epoch_by_epoch(schedule, first_epoch, epochs):
    rates = epoch_learning_rates(0.45, schedule, first_epoch, epochs)
    expected = [learning_rate_at(0.45, schedule, first_epoch + e) for e in range(epochs)]
    assert rates.shape == (epochs,) and rates.dtype == np.float64
    np.testing.assert_array_equal(rates, expected)


@pytest.mark.parametrize(
    "costs, done",
    [
        ([], 0),
        ([0.5, 0.4], 2),
        ([0.5, np.nan, 0.3], 1),
        ([np.inf], 0),
        (np.array([1.0, 2.0, -np.inf]), 2),
    ],
)
def test_a_state_counts_the_epochs_up_to_the_first_non_finite_cost(costs, done):
    state = OptimizerState([np.zeros((1, 1))], [np.zeros((1, 1))], step=4, epoch=2)
    state.advance(costs, 3)
    assert (state.epoch, state.step) == (2 + done, 4 + 3 * done)


@pytest.mark.parametrize(
    "schedule, match",
    [
        (Schedule("cosine"), "schedule name"),
        (Schedule("inverse_time", -0.1), "inverse_time decay_rate"),
        (Schedule("exponential", 0.0), "exponential decay_rate"),
        (Schedule("exponential", 1.5), "exponential decay_rate"),
        (Schedule("inverse_time", float("nan")), "decay_rate"),
        (Schedule("exponential", 0.5, 0), "decay_epochs"),
        (Schedule("exponential", 0.5, 1.5), "decay_epochs"),
        (Schedule("exponential", 0.5, True), "decay_epochs"),
    ],
)
def test_bad_schedules_are_refused(schedule, match):
    with pytest.raises(ValueError, match=match):
        epoch_learning_rates(0.1, schedule, 0, 3)


def test_schedule_must_be_a_schedule():
    with pytest.raises(TypeError, match="Schedule"):
        epoch_learning_rates(0.1, "inverse_time", 0, 3)


# ---------------------------------------------------------------------------
# The per-function update: adam_step
# ---------------------------------------------------------------------------

# Two Adam steps by hand: lr = 0.1, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, p0 = [1, -2].
# Step 1 (t = 1), g1 = [0.5, -1]:
#   v = 0.1 g1 = [0.05, -0.1];  s = 0.001 g1^2 = [0.00025, 0.001]
#   v_hat = v / (1 - 0.9) = [0.5, -1];  s_hat = s / (1 - 0.999) = [0.25, 1]
#   p = p0 - 0.1 v_hat / (sqrt(s_hat) + 1e-8) = [1 - 0.05 / 0.50000001, -2 + 0.1 / 1.00000001]
#     = [0.9000000020, -1.9000000010]   (the first step is lr * sign(g), less epsilon)
# Step 2 (t = 2), g2 = [0.1, 0.2]:
#   v = 0.9 [0.05, -0.1] + 0.1 [0.1, 0.2] = [0.055, -0.07]
#   s = 0.999 [0.00025, 0.001] + 0.001 [0.01, 0.04] = [0.00025975, 0.001039]
#   v_hat = v / (1 - 0.81) = [0.28947368421, -0.36842105263]
#   s_hat = s / (1 - 0.998001) = [0.12993996998, 0.51975987994]; sqrt = [0.36047187128, 0.72094374256]
#   p = [0.9000000020 - 0.1 * 0.28947368421 / 0.36047188128,
#        -1.9000000010 + 0.1 * 0.36842105263 / 0.72094375256]
#     = [0.81969590638, -1.84889739399]
HAND_STEPS = [  # (grad, v, s, param) after each step
    ([0.5, -1.0], [0.05, -0.1], [0.00025, 0.001], [0.9000000019999999600, -1.9000000009999999900]),
    (
        [0.1, 0.2],
        [0.055, -0.07],
        [0.00025975, 0.001039],
        [0.81969590638465121, -1.8488973939904942],
    ),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", VARIANTS)
def test_adam_step_two_steps_by_hand(name, dtype):
    module = variant(name)
    param = np.array([[1.0, -2.0]], dtype=dtype)
    v, s = np.zeros_like(param), np.zeros_like(param)
    for t, (grad, v_want, s_want, p_want) in enumerate(HAND_STEPS, start=1):
        module.adam_step(param, np.array([grad], dtype=dtype), v, s, t, 0.1, 0.9, 0.999, 1e-8)
        assert param.dtype == v.dtype == s.dtype == dtype
        np.testing.assert_allclose(v, [v_want], **STEP_TOLERANCE[dtype])
        np.testing.assert_allclose(s, [s_want], **STEP_TOLERANCE[dtype])
        np.testing.assert_allclose(param, [p_want], **STEP_TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (AWKWARD_SIZES[3], AWKWARD_SIZES[4]), (31, 1)])
@pytest.mark.parametrize("name", OTHERS)
def test_adam_step_matches_vectorized(name, shape, dtype, rng):
    module = variant(name)
    param, grad = random_array(rng, shape, dtype), random_array(rng, shape, dtype)
    v = random_array(rng, shape, dtype, 0.1)
    s = np.abs(random_array(rng, shape, dtype, 0.1))
    t = 3
    want = [a.copy() for a in (param, v, s)]
    ref.adam_step(*want[:1], grad, *want[1:], t, 0.01, 0.8, 0.99, 1e-7)
    got = [a.copy() for a in (param, v, s)]
    module.adam_step(got[0], grad, got[1], got[2], t, 0.01, 0.8, 0.99, 1e-7)
    for g, w in zip(got, want):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, w, **STEP_TOLERANCE[dtype])


def test_bias_correction():
    assert bias_correction(0.9, 1) == pytest.approx(0.1, rel=1e-15)
    assert bias_correction(0.9, 2) == pytest.approx(0.19, rel=1e-14)
    assert bias_correction(0.999, 2) == pytest.approx(0.001999, rel=1e-12)


# ---------------------------------------------------------------------------
# The whole run: train with optimizer, schedule and state
# ---------------------------------------------------------------------------

# (sizes, activations, batch size, optimizer options): awkward sizes, short last batches.
TRAIN_CASES = [
    (
        [2, 3, 1],
        ["tanh", "sigmoid"],
        None,
        dict(optimizer="adam", schedule=Schedule("inverse_time", 0.5)),
    ),
    (
        [3, 7, 3],
        ["relu", "softmax"],
        4,
        dict(optimizer="adam", beta1=0.8, beta2=0.99, epsilon=1e-6, l2=0.3),
    ),
    (
        [2, 3, 2],
        ["leaky_relu", "linear"],
        5,
        dict(momentum=0.9, schedule=Schedule("exponential", 0.5, 2)),
    ),
    (
        [1, 2, 1],
        ["sigmoid", "sigmoid"],
        3,
        dict(optimizer="adam", schedule=Schedule("exponential", 0.9)),
    ),
]


def problem(rng, sizes, activations, dtype, m=13, epochs=3):
    X = random_array(rng, (sizes[0], m), dtype, 1.0)
    Y = labels(rng, activations[-1], sizes[-1], m, dtype)
    orders = np.stack([rng.permutation(m) for _ in range(epochs)])
    weights = [random_array(rng, (n, n_prev), dtype, 0.5) for n_prev, n in zip(sizes, sizes[1:])]
    biases = [random_array(rng, (n, 1), dtype, 0.1) for n in sizes[1:]]
    return X, Y, orders, weights, biases


def copies(arrays):
    return [a.copy() for a in arrays]


def run(
    module,
    weights,
    biases,
    X,
    Y,
    activations,
    epochs,
    batch_size,
    orders,
    state=None,
    learning_rate=0.05,
    **options,
):
    W, b = copies(weights), copies(biases)
    costs = module.train(
        W,
        b,
        X,
        Y,
        activations,
        epochs,
        learning_rate,
        batch_size=batch_size,
        orders=orders,
        state=state,
        **options,
    )
    return costs, W, b


def state_arrays(state):
    arrays = state.v_weights + state.v_biases
    if state.s_weights is not None:
        arrays += state.s_weights + state.s_biases
    return arrays


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(TRAIN_CASES)))
@pytest.mark.parametrize("name", OTHERS)
def test_train_matches_vectorized(name, case, dtype, rng):
    module = variant(name)
    sizes, activations, batch_size, options = TRAIN_CASES[case]
    epochs = 3
    X, Y, orders, weights, biases = problem(rng, sizes, activations, dtype, epochs=epochs)
    runs = []
    for m in (ref, module):
        state = OptimizerState.zeros(weights, biases, options.get("optimizer", "gradient_descent"))
        costs, W, b = run(
            m, weights, biases, X, Y, activations, epochs, batch_size, orders, state, **options
        )
        runs.append((costs, W + b + state_arrays(state), state))
    (costs_ref, arrays_ref, state_ref), (costs, arrays, state) = runs
    assert costs.dtype == np.float64 and costs.shape == (epochs,)
    np.testing.assert_allclose(costs, costs_ref, **tolerance(dtype))
    for got, want in zip(arrays, arrays_ref):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, **tolerance(dtype))
    n_batches = 1 if batch_size is None else -(-X.shape[1] // batch_size)
    assert (
        (state.epoch, state.step)
        == (state_ref.epoch, state_ref.step)
        == (epochs, epochs * n_batches)
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("name", VARIANTS)
def test_chunked_calls_equal_one_call(name, optimizer, dtype, rng):
    module = variant(name)
    sizes, activations, batch_size = [3, 4, 2], ["tanh", "softmax"], 3
    epochs = 3
    X, Y, orders, weights, biases = problem(rng, sizes, activations, dtype, m=7, epochs=epochs)
    options = dict(
        optimizer=optimizer,
        schedule=Schedule("inverse_time", 1.0),
        l2=0.1,
        momentum=0.9 if optimizer == "gradient_descent" else 0.0,
    )
    whole = OptimizerState.zeros(weights, biases, optimizer)
    costs, W, b = run(
        module,
        weights,
        biases,
        X,
        Y,
        activations,
        epochs,
        batch_size,
        orders,
        whole,
        learning_rate=0.5,
        **options,
    )
    chunked = OptimizerState.zeros(weights, biases, optimizer)
    W2, b2 = copies(weights), copies(biases)
    parts = []
    for first, n in ((0, 1), (1, 2)):
        parts.append(
            module.train(
                W2,
                b2,
                X,
                Y,
                activations,
                n,
                0.5,
                batch_size=batch_size,
                orders=orders[first : first + n],
                state=chunked,
                **options,
            )
        )
        assert (chunked.epoch, chunked.step) == (first + n, (first + n) * 3)
    np.testing.assert_array_equal(np.concatenate(parts), costs)
    for got, want in zip(W2 + b2 + state_arrays(chunked), W + b + state_arrays(whole)):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("name", VARIANTS)
def test_schedule_sets_each_epochs_rate(name, optimizer, rng):
    """A scheduled run is the run of one-epoch calls at the schedule's rates."""
    module = variant(name)
    sizes, activations = [2, 3, 1], ["relu", "linear"]
    X, Y, orders, weights, biases = problem(rng, sizes, activations, np.float64, m=7)
    schedule = Schedule("exponential", 0.5)
    momentum = 0.5 if optimizer == "gradient_descent" else 0.0
    state = OptimizerState.zeros(weights, biases, optimizer)
    costs, W, b = run(
        module,
        weights,
        biases,
        X,
        Y,
        activations,
        3,
        3,
        orders,
        state,
        learning_rate=0.4,
        optimizer=optimizer,
        momentum=momentum,
        schedule=schedule,
    )
    by_hand = OptimizerState.zeros(weights, biases, optimizer)
    W2, b2 = copies(weights), copies(biases)
    for epoch, rate in enumerate([0.4, 0.2, 0.1]):
        cost = module.train(
            W2,
            b2,
            X,
            Y,
            activations,
            1,
            rate,
            batch_size=3,
            orders=orders[epoch : epoch + 1],
            optimizer=optimizer,
            momentum=momentum,
            state=by_hand,
        )
        assert cost[0] == costs[epoch]
    for got, want in zip(W2 + b2, W + b):
        np.testing.assert_array_equal(got, want)


def test_train_counts_t_over_batches_and_calls(rng):
    """vectorized.train's Adam is adam_step with t = 1, 2, ... over every batch and call."""
    sizes, activations = [2, 1], ["sigmoid"]
    m, batch_size = 7, 3
    X, Y, orders, weights, biases = problem(rng, sizes, activations, np.float64, m=m, epochs=4)
    state = OptimizerState.zeros(weights, biases, "adam")
    W, b = copies(weights), copies(biases)
    ref.train(
        W,
        b,
        X,
        Y,
        activations,
        2,
        0.1,
        batch_size,
        orders=orders[:2],
        optimizer="adam",
        state=state,
    )
    ref.train(
        W,
        b,
        X,
        Y,
        activations,
        2,
        0.1,
        batch_size,
        orders=orders[2:],
        optimizer="adam",
        state=state,
    )
    assert (state.step, state.epoch) == (12, 4)
    # by hand: one logistic unit, dZ = A - Y, dW = dZ X^T / m_b, db = mean(dZ)
    W2, b2 = weights[0].copy(), biases[0].copy()
    vW, sW, vb, sb = (np.zeros_like(W2), np.zeros_like(W2), np.zeros_like(b2), np.zeros_like(b2))
    t = 0
    for epoch in range(4):
        for start in range(0, m, batch_size):
            idx = orders[epoch, start : start + batch_size]
            Xb, Yb = X[:, idx], Y[:, idx]
            dZ = 1 / (1 + np.exp(-(W2 @ Xb + b2))) - Yb
            dW, db = dZ @ Xb.T / Xb.shape[1], dZ.sum(axis=1, keepdims=True) / Xb.shape[1]
            t += 1
            ref.adam_step(W2, dW, vW, sW, t, 0.1, 0.9, 0.999, 1e-8)
            ref.adam_step(b2, db, vb, sb, t, 0.1, 0.9, 0.999, 1e-8)
    np.testing.assert_allclose(W[0], W2, rtol=1e-13)
    np.testing.assert_allclose(b[0], b2, rtol=1e-13)
    np.testing.assert_allclose(state.s_weights[0], sW, rtol=1e-13)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", VARIANTS)
def test_defaults_are_todays_gradient_descent(name, dtype, rng):
    """The new options at their defaults change nothing, and state is velocities' twin."""
    module = variant(name)
    sizes, activations, batch_size = [2, 4, 3], ["tanh", "softmax"], 4
    X, Y, orders, weights, biases = problem(rng, sizes, activations, dtype, m=9)
    velocities = ([np.zeros_like(W) for W in weights], [np.zeros_like(b) for b in biases])
    W1, b1 = copies(weights), copies(biases)
    costs = module.train(
        W1, b1, X, Y, activations, 3, 0.3, batch_size, 0.9, 0.2, orders, velocities
    )
    state = OptimizerState.zeros(weights, biases)
    costs2, W2, b2 = run(
        module,
        weights,
        biases,
        X,
        Y,
        activations,
        3,
        batch_size,
        orders,
        state,
        learning_rate=0.3,
        momentum=0.9,
        l2=0.2,
        optimizer="gradient_descent",
        beta1=0.9,
        beta2=0.999,
        epsilon=1e-8,
        schedule=Schedule("constant"),
    )
    np.testing.assert_array_equal(costs2, costs)
    for got, want in zip(
        W2 + b2 + list(state.v_weights) + list(state.v_biases),
        W1 + b1 + velocities[0] + velocities[1],
    ):
        np.testing.assert_array_equal(got, want)
    assert state.s_weights is None and (state.epoch, state.step) == (3, 9)


@pytest.mark.parametrize("name", VARIANTS)
def test_bad_optimizer_arguments_are_refused(name, rng):
    module = variant(name)
    X, Y, orders, weights, biases = problem(rng, [2, 1], ["sigmoid"], np.float64)
    adam_state = OptimizerState.zeros(weights, biases, "adam")
    bad = [
        (dict(optimizer="rmsprop"), "optimizer must be one of"),
        (dict(optimizer="adam", beta1=1.0), "beta1"),
        (dict(optimizer="adam", beta2=-0.1), "beta2"),
        (dict(optimizer="adam", epsilon=0.0), "epsilon"),
        (dict(optimizer="adam", momentum=0.9), "momentum is gradient descent's"),
        (dict(optimizer="adam", state=OptimizerState.zeros(weights, biases)), "second moments"),
        (dict(optimizer="adam", velocities=adam_state.velocities), "velocities carries"),
        (
            dict(schedule=Schedule("inverse_time", 1.0), velocities=adam_state.velocities),
            "velocities carries",
        ),
        (dict(state=adam_state, velocities=adam_state.velocities), "either velocities or state"),
        (
            dict(
                optimizer="adam",
                state=OptimizerState.zeros([w.astype(np.float32) for w in weights], biases, "adam"),
            ),
            "dtype",
        ),
        (dict(schedule=Schedule("exponential", 2.0)), "decay_rate"),
    ]
    for options, match in bad:
        W, b = copies(weights), copies(biases)
        with pytest.raises(ValueError, match=match):
            module.train(W, b, X, Y, ["sigmoid"], 2, 0.1, **options)
        np.testing.assert_array_equal(W[0], weights[0])  # refused before any update


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # simulated CUDA threads overflow in NumPy
@pytest.mark.parametrize("name", VARIANTS)
def test_adam_divergence_stops_and_restores_like_the_reference(name, rng):
    """Adam's steps are about lr each: a huge rate overflows float32 within a few epochs."""
    module = variant(name)
    X, Y, orders, weights, biases = problem(
        rng, [2, 3, 1], ["relu", "linear"], np.float32, m=7, epochs=6
    )
    results = []
    for m in (ref, module):
        state = OptimizerState.zeros(weights, biases, "adam")
        with np.errstate(all="ignore"):
            costs, W, b = run(
                m,
                weights,
                biases,
                X,
                Y,
                ["relu", "linear"],
                6,
                None,
                None,
                state,
                learning_rate=1e12,
                optimizer="adam",
            )
        results.append((costs, W + b, state))
    (costs_ref, params_ref, state_ref), (costs, params, state) = results
    finite = np.isfinite(costs_ref)
    assert not finite.all() and finite[0]  # the run diverged, after a finite first epoch
    np.testing.assert_array_equal(np.isfinite(costs), finite)
    np.testing.assert_allclose(costs[finite], costs_ref[finite], rtol=1e-5)
    for got, want in zip(params, params_ref):
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, want, rtol=1e-5)
    # the counters count the epochs kept (those with a finite cost)
    assert state.epoch == state_ref.epoch == finite.sum() == state.step
