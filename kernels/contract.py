"""Names shared by every kernel variant.

Every variant module (``loops``, ``vectorized``, ``jit``, ``cuda``) exposes the
same functions, in the same order, with the same meaning:

1. activations and their derivatives: ``sigmoid``, ``tanh``, ``relu``,
   ``leaky_relu``, ``linear`` (each with ``<name>_derivative``), ``softmax``,
   and the dispatchers ``activation_forward`` / ``activation_backward``;
2. the matrix product ``matmul`` and the dense layer pair ``dense_forward`` /
   ``dense_backward`` (with ``linear_backward`` for a known ``dZ``);
3. the costs ``binary_cross_entropy``, ``categorical_cross_entropy``,
   ``mean_squared_error``, the output gradient ``output_gradient``
   (``dZ[L] = A[L] - Y`` for each output/cost pair), ``cost`` and ``l2_penalty``;
4. the update ``gradient_descent_step`` (plain, momentum, L2 through ``dW``);
5. ``forward`` (prediction) and ``train`` (a whole run in one call).

Notation is the notes': ``X.shape == (n_x, m)``, ``W[l].shape == (n[l], n[l-1])``,
``b[l].shape == (n[l], 1)``. ``Variant`` below states the signatures once; the
compiled variants check their arguments with ``kernels.checks``.
"""

from __future__ import annotations

import math as _math
import numbers as _numbers
from collections import namedtuple as _namedtuple
from collections.abc import Sequence
from typing import Protocol

import numpy as np

Array = np.ndarray

#: Hidden-layer activations, in the order of their integer codes (used by
#: compiled variants, which cannot dispatch on strings cheaply).
HIDDEN_ACTIVATIONS = ("linear", "sigmoid", "tanh", "relu", "leaky_relu")

#: Output activations and the cost each is paired with; every pair has
#: ``dZ[L] = A[L] - Y``.
OUTPUT_COSTS = {
    "sigmoid": "binary_cross_entropy",
    "softmax": "categorical_cross_entropy",
    "linear": "mean_squared_error",
}

#: All activation names, with integer codes shared by every compiled variant.
ACTIVATION_CODES = {name: code for code, name in enumerate(HIDDEN_ACTIVATIONS + ("softmax",))}

#: Slope of leaky ReLU for negative inputs: ``max(0.01 z, z)`` as in the notes.
LEAKY_SLOPE = 0.01


def activation_code(name):
    """Integer code of an activation name; ValueError naming the choices."""
    try:
        return ACTIVATION_CODES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"activation must be one of {sorted(ACTIVATION_CODES)}, got {name!r}"
        ) from None


def check_output_activation(name):
    """Raise ValueError unless ``name`` is an output activation with a cost."""
    if name not in OUTPUT_COSTS:
        raise ValueError(f"output activation must be one of {sorted(OUTPUT_COSTS)}, got {name!r}")
    return name


class Variant(Protocol):
    """What every variant module provides (``kernels.get(name)`` returns one).

    Arrays are float32 or float64, one dtype per call; ``activations`` names one
    activation per layer, the output's last (a key of ``OUTPUT_COSTS``).
    """

    # 1. activations: g(Z) and g'(Z) element-wise; softmax over each column
    def sigmoid(self, Z: Array) -> Array: ...
    def sigmoid_derivative(self, Z: Array) -> Array: ...
    def tanh(self, Z: Array) -> Array: ...
    def tanh_derivative(self, Z: Array) -> Array: ...
    def relu(self, Z: Array) -> Array: ...
    def relu_derivative(self, Z: Array) -> Array: ...
    def leaky_relu(self, Z: Array, slope: float = LEAKY_SLOPE) -> Array: ...
    def leaky_relu_derivative(self, Z: Array, slope: float = LEAKY_SLOPE) -> Array: ...
    def linear(self, Z: Array) -> Array: ...
    def linear_derivative(self, Z: Array) -> Array: ...
    def softmax(self, Z: Array) -> Array: ...
    def activation_forward(self, Z: Array, activation: str) -> Array: ...
    def activation_backward(self, dA: Array, Z: Array, activation: str) -> Array: ...

    # 2. the product and the dense layer: forward returns (A, Z), backward (dA_prev, dW, db)
    def matmul(self, A: Array, B: Array) -> Array: ...
    def dense_forward(
        self, A_prev: Array, W: Array, b: Array, activation: str
    ) -> tuple[Array, Array]: ...
    def linear_backward(
        self, dZ: Array, A_prev: Array, W: Array, l2: float = 0.0, m_total: int | None = None
    ) -> tuple[Array, Array, Array]: ...
    def dense_backward(
        self,
        dA: Array,
        A_prev: Array,
        W: Array,
        Z: Array,
        activation: str,
        l2: float = 0.0,
        m_total: int | None = None,
    ) -> tuple[Array, Array, Array]: ...

    # 3. costs (from Z where a log is involved: never log(0)) and dZ[L] = A[L] - Y
    def binary_cross_entropy(self, Z: Array, Y: Array) -> float: ...
    def categorical_cross_entropy(self, Z: Array, Y: Array) -> float: ...
    def mean_squared_error(self, A: Array, Y: Array) -> float: ...
    def output_gradient(self, A: Array, Y: Array) -> Array: ...
    def cost(self, Z: Array, A: Array, Y: Array, output_activation: str) -> float: ...
    def l2_penalty(self, weights: Sequence[Array], l2: float, m: int) -> float: ...

    # 4. the update, in place: v = momentum v + (1 - momentum) grad; param -= rate v
    def gradient_descent_step(
        self, param: Array, grad: Array, velocity: Array, learning_rate: float, momentum: float
    ) -> None: ...
    def adam_step(
        self,
        param: Array,
        grad: Array,
        v: Array,
        s: Array,
        t: int,
        learning_rate: float,
        beta1: float,
        beta2: float,
        epsilon: float,
    ) -> None: ...

    # 5. prediction A[L], and a whole run in place returning each epoch's cost (float64;
    #    NaN after a divergence, the last finite parameters kept); orders (epochs, m)
    def forward(
        self,
        weights: Sequence[Array],
        biases: Sequence[Array],
        X: Array,
        activations: Sequence[str],
    ) -> Array: ...
    def train(
        self,
        weights: list[Array],
        biases: list[Array],
        X: Array,
        Y: Array,
        activations: Sequence[str],
        epochs: int,
        learning_rate: float,
        batch_size: int | None = None,
        momentum: float = 0.0,
        l2: float = 0.0,
        orders: Array | None = None,
        velocities: tuple[list[Array], list[Array]] | None = None,
        optimizer: str = "gradient_descent",
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
        schedule: Schedule | None = None,
        state: OptimizerState | None = None,
        sample_weight: Array | None = None,
    ) -> Array: ...


# ---------------------------------------------------------------------------
# Optimisers and learning-rate schedules (issue 11, point 1)
#
# ``train`` in every variant takes, besides ``momentum``:
#
#     optimizer="gradient_descent" | "adam", beta1=0.9, beta2=0.999,
#     epsilon=1e-8, schedule=None (a ``Schedule``), state=None (an ``OptimizerState``)
#
# and each variant has the per-function update ``adam_step`` beside
# ``gradient_descent_step``. Left at their defaults, ``train`` is today's.
#
# Conventions shared by every variant (so chunked calls give one call's result):
#
# - ``t``, Adam's bias-correction counter, is the 1-based number of the update
#   being applied, counted over every mini-batch of every call:
#   batch ``j`` (0-based) of epoch ``e`` (0-based within the call) has
#   ``t = state.step + e * n_batches + j + 1``, ``n_batches = ceil(m / batch_size)``
#   (1 for full batch).
# - the schedule's epoch of epoch ``e`` of a call is ``state.epoch + e``: the
#   number of epochs done before it (the first epoch ever runs at ``learning_rate``).
# - on return ``state.epoch`` grows by the number of epochs whose cost is
#   finite and ``state.step`` by that times ``n_batches``. After a divergence
#   stop the moments are left as they were at the stop (as the velocities are
#   today): such a run is not continued.
# - Adam, per element, in the parameters' dtype (every constant in that dtype,
#   the two bias corrections computed in float64 then rounded to it):
#       v = beta1 v + (1 - beta1) g
#       s = beta2 s + (1 - beta2) g g
#       p -= lr (v / (1 - beta1**t)) / (sqrt(s / (1 - beta2**t)) + epsilon)
#   L2 enters through g, as for gradient descent; Adam has no ``momentum``
#   (``beta1`` is its first-moment decay): a non-zero ``momentum`` with Adam is
#   refused.
# - the learning rate of each epoch comes from ``epoch_learning_rates``
#   (float64 on the host, rounded to the dtype where it is used): compiled
#   variants read it from that array, they do not recompute the rule.
# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# Sample weights (issue 11, point 4)
#
# ``train`` in every variant takes ``sample_weight=None``: a float array (m,) in
# the data's dtype, finite, >= 0, not all zero (``checks.check_sample_weight``);
# None is every weight 1. Each example's loss and its gradient contribution are
# multiplied by its weight, and each mean over examples becomes a weighted mean:
#
# - a batch's data gradient is ``dZ[L] = w (A[L] - Y)`` (column j times w_j),
#   propagated as usual, and ``dW``, ``db`` are divided by the batch's weight
#   sum ``W_b = sum_{i in batch} w_i`` instead of its size (a batch whose
#   weights are all zero has a zero data gradient: its normaliser is 1);
# - the L2 term is today's with the training-set size ``m`` replaced by the
#   total weight ``W = sum_i w_i``: ``l2 / (2 W) sum ||W[l]||^2`` in the cost and
#   ``(l2 / W) W[l]`` in the gradient;
# - the cost of an epoch is ``(sum_b sum_{i in b} w_i loss_i + W_b L2_b) / W``,
#   today's with each count replaced by a weight sum.
#
# This is scikit-learn's choice for its MLP (``np.average(loss, weights=sw)``;
# gradients and the L2 term divided by the weight sum): integer weights are
# repeated rows (exactly so, up to rounding, for full-batch descent), zero
# weights are rows removed, and scaling every weight by a constant changes
# nothing. With unit weights every count equals its weight sum exactly, so
# ``sample_weight=np.ones(m)`` gives bit for bit the run without weights. The
# weight sums are float64 (``sample_weight_total``), rounded to the dtype
# where they are used, as ``1 / m`` is today.
#
# Compiled variants always receive a weights array (empty: no weights), so
# that their code is not specialised twice; mini-batches gather the batch's
# weights as they gather Y.
# ---------------------------------------------------------------------------


def sample_weight_total(sample_weight, m):
    """The total weight ``W`` (float64): ``m`` when ``sample_weight`` is None."""
    if sample_weight is None:
        return float(m)
    return float(np.sum(sample_weight, dtype=np.float64))


def batch_normaliser(weight_sum):
    """What a batch's gradient is divided by: its weight sum, or 1 when that is 0."""
    return weight_sum if weight_sum > 0 else 1.0


#: Update rules, in the order of their integer codes. Gradient descent takes
#: ``momentum`` (0: plain descent); Adam takes ``beta1``, ``beta2``, ``epsilon``.
OPTIMIZERS = ("gradient_descent", "adam")
OPTIMIZER_CODES = {name: code for code, name in enumerate(OPTIMIZERS)}
GRADIENT_DESCENT, ADAM = range(2)

#: Learning-rate schedules, in the order of their integer codes. With
#: ``k = epoch // decay_epochs`` (``epoch`` counted from 0):
#: ``constant``: ``lr``; ``inverse_time``: ``lr / (1 + decay_rate k)`` (the course's
#: ``alpha0 / (1 + decay_rate * epoch_num)`` with ``decay_epochs=1``);
#: ``exponential``: ``lr * decay_rate**k`` (``decay_epochs > 1``: a staircase).
SCHEDULES = ("constant", "inverse_time", "exponential")
SCHEDULE_CODES = {name: code for code, name in enumerate(SCHEDULES)}


class Schedule(_namedtuple("Schedule", "name decay_rate decay_epochs")):
    """A learning-rate schedule: ``Schedule("inverse_time", decay_rate=1.0)``.

    ``decay_rate`` (>= 0 for ``inverse_time``, in (0, 1] for ``exponential``) and
    ``decay_epochs`` (an int >= 1: the rate changes every that many epochs).
    ``train(..., schedule=None)`` is ``Schedule("constant")``.
    """

    __slots__ = ()

    def __new__(cls, name="constant", decay_rate=0.0, decay_epochs=1):
        return super().__new__(cls, name, decay_rate, decay_epochs)


def check_schedule(schedule):
    """``(code, decay_rate, decay_epochs)`` of a ``Schedule`` (or None); ValueError otherwise."""
    if schedule is None:
        schedule = Schedule()
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be None or a kernels.contract.Schedule, got {schedule!r}")
    if schedule.name not in SCHEDULE_CODES:
        raise ValueError(f"schedule name must be one of {list(SCHEDULES)}, got {schedule.name!r}")
    rate = schedule.decay_rate
    if isinstance(rate, bool) or not isinstance(rate, _numbers.Real) or not _math.isfinite(rate):
        raise ValueError(f"schedule decay_rate must be a finite real number, got {rate!r}")
    rate = float(rate)
    if schedule.name == "inverse_time" and rate < 0:
        raise ValueError(f"inverse_time decay_rate must be >= 0, got {rate!r}")
    if schedule.name == "exponential" and not 0 < rate <= 1:
        raise ValueError(f"exponential decay_rate must be in (0, 1], got {rate!r}")
    every = schedule.decay_epochs
    if isinstance(every, bool) or not isinstance(every, _numbers.Integral) or every < 1:
        raise ValueError(f"schedule decay_epochs must be an integer >= 1, got {every!r}")
    return SCHEDULE_CODES[schedule.name], rate, int(every)


def _rate_of_step(learning_rate, code, rate, k):
    if code == SCHEDULE_CODES["inverse_time"]:
        return float(learning_rate) / (1.0 + rate * k)
    if code == SCHEDULE_CODES["exponential"]:
        return float(learning_rate) * rate**k
    return float(learning_rate)


def learning_rate_at(learning_rate, schedule, epoch):
    """The learning rate of epoch ``epoch`` (0-based, counted over every call), float64."""
    code, rate, every = check_schedule(schedule)
    return _rate_of_step(learning_rate, code, rate, int(epoch) // every)


def epoch_learning_rates(learning_rate, schedule, first_epoch, epochs):
    """float64 array ``(epochs,)``: the rate of each epoch of a call starting at ``first_epoch``.

    The same numbers as ``learning_rate_at`` epoch by epoch, computed once per step of the
    schedule: a call of a few thousand short epochs (a small net) spent microseconds an epoch
    here, in Python."""
    import numpy as np

    code, rate, every = check_schedule(schedule)
    first, epochs = int(first_epoch), int(epochs)
    if epochs <= 0:
        return np.zeros(0, dtype=np.float64)
    if code == SCHEDULE_CODES["constant"]:
        return np.full(epochs, float(learning_rate))
    steps = np.arange(first, first + epochs) // every
    if code == SCHEDULE_CODES["inverse_time"]:  # the same IEEE operations as _rate_of_step's
        return float(learning_rate) / (1.0 + rate * steps.astype(np.float64))
    k0 = int(steps[0])
    per_step = [_rate_of_step(learning_rate, code, rate, k) for k in range(k0, int(steps[-1]) + 1)]
    return np.array(per_step, dtype=np.float64)[steps - k0]


def bias_correction(beta, t):
    """Adam's ``1 - beta**t`` for the 1-based update ``t``, in float64."""
    return 1.0 - float(beta) ** int(t)


def _real_in(value, name, low, high, low_open=False, high_open=True):
    if isinstance(value, bool) or not isinstance(value, _numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    below = value <= low if low_open else value < low
    above = value >= high if high_open else value > high
    if not _math.isfinite(value) or below or above:
        raise ValueError(
            f"{name} must be in {'(' if low_open else '['}{low}, {high}"
            f"{')' if high_open else ']'}, got {value!r}"
        )
    return value


def check_optimizer(optimizer, momentum, beta1, beta2, epsilon):
    """The optimiser's integer code, its hyperparameters checked; ValueError naming the argument."""
    if optimizer not in OPTIMIZER_CODES:
        raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {optimizer!r}")
    code = OPTIMIZER_CODES[optimizer]
    if code == ADAM:
        if momentum:
            raise ValueError(
                f"momentum is gradient descent's (Adam's first-moment decay is "
                f"beta1): pass momentum=0 with optimizer='adam', got {momentum!r}"
            )
        _real_in(beta1, "beta1", 0.0, 1.0)
        _real_in(beta2, "beta2", 0.0, 1.0)
        _real_in(epsilon, "epsilon", 0.0, _math.inf, low_open=True)
    return code


class OptimizerState:
    """What an optimiser carries from one ``train`` call to the next (updated in place).

    ``v_weights``/``v_biases``: first moments, one array per ``W[l]``/``b[l]``
    (gradient descent's momentum velocities; Adam's ``v``);
    ``s_weights``/``s_biases``: Adam's second moments ``s`` (None for gradient
    descent); ``step``: updates applied so far (Adam's next ``t`` is
    ``step + 1``); ``epoch``: epochs done so far (the schedule's next epoch).
    """

    def __init__(self, v_weights, v_biases, s_weights=None, s_biases=None, step=0, epoch=0):
        self.v_weights, self.v_biases = list(v_weights), list(v_biases)
        self.s_weights = None if s_weights is None else list(s_weights)
        self.s_biases = None if s_biases is None else list(s_biases)
        self.step, self.epoch = int(step), int(epoch)

    @classmethod
    def zeros(cls, weights, biases, optimizer="gradient_descent"):
        """A fresh state (moments 0, counters 0) for parameters like ``weights``/``biases``."""
        import numpy as np

        def like(arrays):
            return [np.zeros(a.shape, dtype=a.dtype) for a in arrays]

        adam = optimizer == "adam"
        return cls(
            like(weights),
            like(biases),
            like(weights) if adam else None,
            like(biases) if adam else None,
        )

    @property
    def velocities(self):
        """``(v_weights, v_biases)``: the first moments, in the form of ``train``'s ``velocities``."""
        return self.v_weights, self.v_biases

    def advance(self, costs, n_batches):
        """Count the epochs of a finished call: those with a finite cost, and their updates."""
        finite = np.isfinite(np.asarray(costs, dtype=np.float64))
        done = int(finite.size if finite.all() else finite.argmin())  # up to the first non-finite
        self.epoch += done
        self.step += done * int(n_batches)

    def __repr__(self):
        return (
            f"OptimizerState(step={self.step}, epoch={self.epoch}, "
            f"adam={self.s_weights is not None})"
        )


def resolve_state(weights, biases, optimizer_code, schedule_code, state, velocities):
    """The ``OptimizerState`` a ``train`` call updates, checked against the parameters.

    ``velocities`` (today's argument) is gradient descent's state without the
    counters: it is refused with Adam or a non-constant schedule (whose chunks
    need ``state``), and together with ``state``.
    """
    import numpy as np

    if velocities is not None:
        if state is not None:
            raise ValueError("pass either velocities or state, not both")
        if optimizer_code == ADAM or schedule_code != SCHEDULE_CODES["constant"]:
            raise ValueError(
                "velocities carries gradient descent's velocities only: pass "
                "state=kernels.contract.OptimizerState(...) so that Adam's moments "
                "and the schedule's epoch carry between calls"
            )
        state = OptimizerState(
            velocities[0], velocities[1]
        )  # the caller's arrays, updated in place
    elif state is None:
        state = OptimizerState.zeros(weights, biases, OPTIMIZERS[optimizer_code])
    elif not isinstance(state, OptimizerState):
        raise TypeError(
            f"state must be a kernels.contract.OptimizerState, got {type(state).__name__}"
        )
    groups = [("v_weights", state.v_weights, weights), ("v_biases", state.v_biases, biases)]
    if optimizer_code == ADAM:
        if state.s_weights is None or state.s_biases is None:
            raise ValueError(
                "state has no second moments (s_weights, s_biases): make it with "
                "OptimizerState.zeros(weights, biases, 'adam')"
            )
        groups += [("s_weights", state.s_weights, weights), ("s_biases", state.s_biases, biases)]
    for name, moments, params in groups:
        if len(moments) != len(params):
            raise ValueError(
                f"state.{name} must have one array per layer ({len(params)}), got {len(moments)}"
            )
        for l, (a, p) in enumerate(zip(moments, params)):
            if np.shape(a) != np.shape(p) or a.dtype != p.dtype:
                raise ValueError(
                    f"state.{name}[{l}] must match the parameter in shape and dtype "
                    f"{np.shape(p)} {p.dtype}, got {np.shape(a)} {a.dtype}"
                )
    if state.step < 0 or state.epoch < 0:
        raise ValueError(
            f"state.step and state.epoch must be >= 0, got {state.step}, {state.epoch}"
        )
    return state
