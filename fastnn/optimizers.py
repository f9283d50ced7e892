"""The estimators' optimiser hyperparameters, checked, in the kernels' terms.

scikit-learn's names where they mean the same thing: ``solver`` ("sgd": the
notes' gradient descent, with ``momentum`` in the course's form
``v = momentum v + (1 - momentum) g``; "adam": the course's bias-corrected
Adam), ``beta_1``, ``beta_2``, ``epsilon``. ``learning_rate`` is the float
(scikit-learn's ``learning_rate_init``); the schedule is
``learning_rate_schedule`` with ``decay_rate`` and ``decay_epochs``
(``kernels.contract.Schedule``). Checked here, in Python, before any kernel runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernels.contract import SCHEDULES, Schedule, check_schedule

from .validation import check_choice, check_integer, check_real

#: The estimators' solver names -> the kernels' optimizer names.
SOLVERS = {"sgd": "gradient_descent", "adam": "adam"}


@dataclass(frozen=True)
class OptimizerSettings:
    """The update rule of a fit: the kernels' ``optimizer``, Adam's constants and the
    learning-rate ``schedule`` (``momentum`` stays a field of ``FitConfig``)."""

    name: str = "gradient_descent"  # a name of kernels.contract.OPTIMIZERS
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    schedule: Schedule = Schedule()


def check_optimizer_settings(get, momentum: float) -> OptimizerSettings:
    """The settings from the hyperparameters (``get(name)``); ValueError/TypeError naming
    the first bad one. ``momentum`` (checked already) is gradient descent's: a non-zero
    value with Adam is refused rather than ignored."""
    solver = check_choice(get("solver"), "solver", tuple(SOLVERS))
    beta1 = check_real(get("beta_1"), "beta_1", low=0, high=1, high_open=True)
    beta2 = check_real(get("beta_2"), "beta_2", low=0, high=1, high_open=True)
    epsilon = check_real(get("epsilon"), "epsilon", low=0, low_open=True)
    if solver == "adam" and momentum:
        raise ValueError(
            f"momentum={momentum!r} is the 'sgd' solver's: pass solver='sgd' to "
            "use it, or momentum=0.0 with solver='adam' (Adam's first-moment "
            "decay is beta_1)"
        )
    name = check_choice(get("learning_rate_schedule"), "learning_rate_schedule", SCHEDULES)
    decay_rate = check_real(get("decay_rate"), "decay_rate", low=0)
    if name == "exponential" and not 0 < decay_rate <= 1:
        raise ValueError(
            "decay_rate must be in (0, 1] with learning_rate_schedule="
            f"'exponential' (the rate is multiplied by it), got {decay_rate!r}"
        )
    decay_epochs = check_integer(get("decay_epochs"), "decay_epochs", minimum=1)
    schedule = Schedule(name, decay_rate, decay_epochs)
    check_schedule(schedule)  # the kernels' own rule agrees
    return OptimizerSettings(SOLVERS[solver], beta1, beta2, epsilon, schedule)
