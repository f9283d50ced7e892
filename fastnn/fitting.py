"""One fit pipeline, shared by ``Network.fit`` and ``fastnn.distributed.fit``.

``prepare`` does everything before the first kernel call and returns a frozen
``FitPlan``; a training run (local: ``train``; on a cluster: the distributed
trainer) turns it into an ``Outcome``; ``finish`` stores the fitted model. In
order, so that bad input leaves the model as it was and never reaches compiled
code: hyperparameters (``FitConfig``), data, targets, warm-start state
(``check_architecture``), the conversion to the notes' layout with the scaling
(it finds NaN and infinity in X from the column sums), the kernel import, the
initial parameters and seeds (``plan``).

A cluster replaces only the data steps: it calls ``check_architecture`` and ``plan``
itself, with the targets, scaling and example count it computed from the
partitions. Where a later feature fits: a validation split is made in
``prepare`` once the targets are known (before the scaling statistics) and
travels in the plan; an early stop hands ``finish`` an ``Outcome`` holding the
best epoch's parameters rather than the last.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np

import kernels

from . import exceptions, initialization, scaling, training, weights
from .memory import check_fit_memory
from .progress import make_progress
from .targets import RegressorTargets, Targets
from .validation import check_same_length, check_X, check_y_present, fit_feature_names

#: The seed used when ``seed=None``: fits are reproducible by default.
DEFAULT_SEED = 0


@dataclass(frozen=True)
class FitConfig:
    """Every hyperparameter of an estimator, checked (``Network._config``)."""

    hidden: tuple[int, ...]
    activations: tuple[str, ...]  # one per hidden layer
    init: str
    learning_rate: float
    epochs: int
    batch_size: int | None  # None: full batch
    momentum: float
    l2: float
    backend: str
    dtype: np.dtype
    seed: int | None  # None: DEFAULT_SEED
    warm_start: bool
    standardize: bool
    verbose: int


@dataclass(frozen=True)
class TrainingSpec:
    """What a training run does, besides its arrays: the kernels' ``train`` arguments."""

    activations: tuple[str, ...]  # every layer's, the output's last
    epochs: int
    learning_rate: float
    batch_size: int | None  # None: full batch
    momentum: float
    l2: float
    backend: str  # the kernel variant's name, as in kernels.VARIANTS

    @classmethod
    def from_config(cls, config: FitConfig, output_activation: str) -> TrainingSpec:
        return cls(activations=config.activations + (output_activation,),
                   epochs=config.epochs, learning_rate=config.learning_rate,
                   batch_size=config.batch_size, momentum=config.momentum, l2=config.l2,
                   backend=config.backend)

    def mini_batch(self, m: int) -> int | None:
        """The batch size for ``m`` examples; None when one batch holds them all."""
        return mini_batch(self.batch_size, m)


def mini_batch(batch_size: int | None, m: int) -> int | None:
    """``batch_size`` for ``m`` examples; None (full batch) when one batch holds them all."""
    return None if batch_size is None or batch_size >= m else batch_size


@dataclass(frozen=True)
class Architecture:
    """The network a fit trains: ``layer_sizes (n[0], ..., n[L])`` and, on a warm start,
    the raw-data ``(weights, biases)`` to continue from (checked), else None."""

    layer_sizes: tuple[int, ...]
    warm: tuple[list, list] | None


@dataclass(frozen=True)
class FitPlan:
    """Everything a training run needs, and what ``finish`` needs afterwards.

    ``weights``/``biases`` are the initial parameters of the scaled problem; the
    run trains them in place. ``X (n_x, m)``/``Y (n_out, m)`` are the training
    data in the notes' layout, or None where the rows live elsewhere (a cluster).
    """

    estimator_name: str
    config: FitConfig
    spec: TrainingSpec
    layer_sizes: tuple[int, ...]
    targets: Targets
    scaling: scaling.Scaling
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    order_seed: np.random.SeedSequence  # the mini-batch orders are drawn from it
    previous_history: np.ndarray | None  # a warm start extends it
    feature_names: np.ndarray | None
    m: int
    X: np.ndarray | None = None
    Y: np.ndarray | None = None
    # the examples' weights (sample_weight times class_weight) in the model's dtype, or None
    sample_weight: np.ndarray | None = None
    # momentum velocities carried in (partial_fit), updated in place; None: from zero
    velocities: tuple | None = None


@dataclass(frozen=True)
class Outcome:
    """What a run did: the parameters to keep (of the scaled problem), the finite costs
    of the epochs completed, and how it ended. ``failure``: an error that stopped the
    run (a lost worker), raised by ``finish`` once the model is stored."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    costs: np.ndarray
    diverged: bool = False
    interrupted: bool = False
    failure: Exception | None = None


# -- prepare -------------------------------------------------------------------


def prepare(estimator, X, y, sample_weight=None, partial=None) -> FitPlan:
    """Every check and conversion of a local fit, before any training.

    ``sample_weight``: ``fit``'s (``fastnn.weights``; examples of weight 0 are left out);
    ``partial``: a ``fastnn.incremental.PartialFit`` for a ``partial_fit`` call.
    """
    config = estimator._config() if partial is None else partial.config
    check_y_present(y, type(estimator).__name__)
    feature_names = fit_feature_names(estimator, X, config.warm_start)
    X = check_X(X, check_finite=False)  # checked from its column ranges in prepare_inputs
    if partial is not None and partial.classes is not None:
        targets = weights.partial_fit_targets(y, partial.classes)
    else:
        targets = estimator._prepare_targets(y, config)
    check_same_length(X, range(targets.n_examples))
    X, targets, sample_weight = _weigh(estimator, X, targets, sample_weight, partial is None)
    m, n_features = X.shape
    architecture = check_architecture(estimator, config, targets, n_features)
    check_fit_memory(type(estimator).__name__, architecture.layer_sizes, m, config,
                     isinstance(targets, RegressorTargets))
    # mini-batches gather examples: they want the examples contiguous (see prepare_inputs)
    by_example = mini_batch(config.batch_size, m) is not None
    kept = None if partial is None else partial.scaling
    XT, x_mean, x_scale = scaling.prepare_inputs(
        X, config.dtype, config.standardize, by_example=by_example, weights=sample_weight,
        statistics=None if kept is None else (kept.x_mean, kept.x_scale))
    fitted_scaling = kept if kept is not None else _targets_scaling(
        targets, x_mean, x_scale, config.standardize, sample_weight)
    del X  # only its shape is needed from here on; let a converted copy go
    kernels.get(config.backend)  # a missing variant fails here, before any work
    YT = targets.transposed(fitted_scaling, config.dtype)
    fit_plan = plan(estimator, config, architecture, targets, fitted_scaling, feature_names, m,
                    XT, YT)
    return dataclasses.replace(
        fit_plan, sample_weight=weights.in_dtype(sample_weight, config.dtype),
        velocities=None if partial is None else partial.velocities)


def _weigh(estimator, X, targets, sample_weight, check_classes):
    """The examples' weights (``sample_weight`` times the estimator's ``class_weight``),
    checked, and the examples of weight 0 left out (``fastnn.weights``)."""
    w = weights.fit_sample_weight(sample_weight, getattr(estimator, "class_weight", None),
                                  targets, len(X))
    weighted = w is not None
    X, targets, w = weights.drop_zero_weights(X, targets, w)
    weights.check_classes_left(targets, weighted and check_classes)
    return X, targets, w


def _targets_scaling(targets, x_mean, x_scale, standardize, sample_weight):
    """The fit's scaling; a regressor's targets standardised with the weighted moments."""
    if sample_weight is not None and standardize and isinstance(targets, RegressorTargets):
        return targets.scaling(x_mean, x_scale, standardize,
                               scaling.target_scaling(targets.values, sample_weight))
    return targets.scaling(x_mean, x_scale, standardize)


def check_architecture(estimator, config: FitConfig, targets: Targets,
                       n_features: int) -> Architecture:
    """The layer sizes, and the warm-start parameters checked against them."""
    layer_sizes = (n_features,) + config.hidden + (targets.n_outputs,)
    return Architecture(layer_sizes, estimator._warm_parameters(config, layer_sizes))


def plan(estimator, config: FitConfig, architecture: Architecture, targets: Targets,
         fitted_scaling: scaling.Scaling, feature_names, m: int, X=None, Y=None) -> FitPlan:
    """The initial parameters (fresh, or the warm ones unfolded) and the seeds."""
    init_seed, order_seed = np.random.SeedSequence(
        DEFAULT_SEED if config.seed is None else config.seed).spawn(2)
    if architecture.warm is not None:
        weights, biases = scaling.unfold(*architecture.warm, fitted_scaling, config.dtype)
    else:
        weights, biases = initialization.initialize(
            architecture.layer_sizes, config.init, np.random.default_rng(init_seed), config.dtype)
    previous = getattr(estimator, "history_", None) if architecture.warm is not None else None
    return FitPlan(
        estimator_name=type(estimator).__name__, config=config,
        spec=TrainingSpec.from_config(config, targets.output_activation),
        layer_sizes=architecture.layer_sizes, targets=targets, scaling=fitted_scaling,
        weights=weights, biases=biases, order_seed=order_seed, previous_history=previous,
        feature_names=feature_names, m=m, X=X, Y=Y)


# -- train (locally) -------------------------------------------------------------


def train(plan: FitPlan) -> Outcome:
    """The plan's run on this machine, in chunks of epochs (``training.run``)."""
    progress = make_progress(plan.spec.epochs, plan.config.verbose,
                             description=plan.estimator_name)
    try:
        result = training.run(plan.spec, plan.weights, plan.biases, plan.X, plan.Y,
                              np.random.default_rng(plan.order_seed), progress,
                              sample_weight=plan.sample_weight, velocities=plan.velocities)
    finally:
        progress.close()
    return Outcome(plan.weights, plan.biases, result.costs,
                   diverged=result.diverged_epoch is not None, interrupted=result.interrupted)


# -- finish ----------------------------------------------------------------------


def finish(estimator, plan: FitPlan, outcome: Outcome):
    """Fold the scaling back, set the fitted attributes, then report how the run ended:
    ``outcome.failure`` raised, a TrainingInterruptedWarning, or TrainingDivergedError."""
    weights, biases = outcome.weights, outcome.biases
    if plan.config.standardize:
        weights, biases = scaling.fold(weights, biases, plan.scaling, plan.config.dtype)
    history = outcome.costs
    if plan.previous_history is not None:
        history = np.concatenate([np.asarray(plan.previous_history, dtype=np.float64), history])
    _set_fitted(estimator, plan, weights, biases, history)

    name = plan.estimator_name
    if outcome.failure is not None:
        raise outcome.failure
    if outcome.interrupted:
        # stacklevel 3: the warning points at the caller of fit
        warnings.warn(f"{name}.fit was interrupted after {len(outcome.costs)} of "
                      f"{plan.spec.epochs} epochs; the model keeps the parameters of the last "
                      "completed epoch", exceptions.TrainingInterruptedWarning, stacklevel=3)
    if outcome.diverged:
        epoch = len(history) + 1
        raise exceptions.TrainingDivergedError(
            f"{name}.fit diverged: the cost of epoch {epoch} is not finite (NaN or "
            f"infinity) with learning_rate={plan.spec.learning_rate:g}. Try a smaller "
            "learning_rate (or standardize=True, or a smaller momentum). The model keeps "
            f"the parameters of the last finite epoch ({epoch - 1}).", epoch)
    return estimator


def _set_fitted(estimator, plan: FitPlan, weights, biases, history):
    estimator.parameters_ = initialization.parameters_dict(weights, biases)
    estimator.history_ = history
    estimator.n_epochs_ = len(history)
    estimator.n_features_in_ = plan.layer_sizes[0]
    estimator._layer_sizes = tuple(plan.layer_sizes)
    estimator._activations = tuple(plan.spec.activations)
    for attribute, value in plan.targets.fitted_attributes().items():
        setattr(estimator, attribute, value)
    if plan.feature_names is not None:
        estimator.feature_names_in_ = plan.feature_names
    elif hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_
