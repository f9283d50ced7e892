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
partitions. Early stopping's validation split is made in ``prepare`` once the
targets are known (before the scaling statistics: ``hold_out_validation``) and
travels in the plan; ``train`` checks it after every epoch and hands ``finish``
an ``Outcome`` holding the best epoch's parameters rather than the last.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np

import kernels
from kernels import vectorized

from . import early_stopping, exceptions, initialization, scaling, training, weights
from .early_stopping import StoppingSettings, ValidationMonitor
from .memory import check_fit_memory
from .optimizers import OptimizerSettings
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
    optimizer: OptimizerSettings = OptimizerSettings()  # solver, Adam's constants, schedule
    stopping: StoppingSettings = StoppingSettings()  # the validation split, early stopping


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
    optimizer: OptimizerSettings = OptimizerSettings()  # default: the notes' gradient descent

    @classmethod
    def from_config(cls, config: FitConfig, output_activation: str) -> TrainingSpec:
        return cls(
            activations=config.activations + (output_activation,),
            epochs=config.epochs,
            learning_rate=config.learning_rate,
            batch_size=config.batch_size,
            momentum=config.momentum,
            l2=config.l2,
            backend=config.backend,
            optimizer=config.optimizer,
        )

    def optimizer_arguments(self) -> dict:
        """The kernels' ``train`` keywords of the update rule (``state`` aside)."""
        o = self.optimizer
        return dict(
            optimizer=o.name, beta1=o.beta1, beta2=o.beta2, epsilon=o.epsilon, schedule=o.schedule
        )

    def mini_batch(self, m: int) -> int | None:
        """The batch size for ``m`` examples; None when one batch holds them all."""
        return mini_batch(self.batch_size, m)


#: From this many features the inputs are prepared examples-contiguous even for a full batch
#: (measured: the notes' 12288 x 209 images in float32 take 6.6 ms transposed, 0.7 ms copied).
WIDE_INPUTS = 64


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
    ``validation``: the held-out ``(X, Y)`` of early stopping, scaled and laid out
    the same way, or None.
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
    # the optimiser state carried in (partial_fit: a kernels.contract.OptimizerState),
    # updated in place; None: a fresh one
    optimizer_state: object | None = None
    validation: tuple[np.ndarray, np.ndarray] | None = None


@dataclass(frozen=True)
class Validated:
    """The validation record of a run: per-epoch cost (no L2 term) and score, and the
    0-based epoch (of this run) whose parameters were kept, or None."""

    costs: np.ndarray
    scores: np.ndarray
    best_index: int | None


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
    validated: Validated | None = None


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
    # held out before the scaling statistics: they are the training rows' alone
    X, targets, sample_weight, held_out = hold_out_validation(config, X, targets, sample_weight)
    m, n_features = X.shape
    architecture = check_architecture(estimator, config, targets, n_features)
    check_fit_memory(
        type(estimator).__name__,
        architecture.layer_sizes,
        m,
        config,
        isinstance(targets, RegressorTargets),
    )
    # mini-batches gather examples: they want the examples contiguous (see prepare_inputs);
    # so do wide inputs: that layout is a plain copy of X's rows, the notes' a transposition
    by_example = mini_batch(config.batch_size, m) is not None or n_features >= WIDE_INPUTS
    kept = None if partial is None else partial.scaling
    X_notes, x_mean, x_scale = scaling.prepare_inputs(
        X,
        config.dtype,
        config.standardize,
        by_example=by_example,
        weights=sample_weight,
        statistics=None if kept is None else (kept.x_mean, kept.x_scale),
    )
    fitted_scaling = (
        kept
        if kept is not None
        else _targets_scaling(targets, x_mean, x_scale, config.standardize, sample_weight)
    )
    del X  # only its shape is needed from here on; let a converted copy go
    kernels.get(config.backend)  # a missing variant fails here, before any work
    Y_notes = targets.transposed(fitted_scaling, config.dtype)
    validation = None
    if held_out is not None:
        X_held, targets_held = held_out
        validation = (
            scaling.scaled_transposed(X_held, fitted_scaling, config.dtype),
            targets_held.transposed(fitted_scaling, config.dtype),
        )
    fit_plan = plan(
        estimator,
        config,
        architecture,
        targets,
        fitted_scaling,
        feature_names,
        m,
        X_notes,
        Y_notes,
        validation,
    )
    return dataclasses.replace(
        fit_plan,
        sample_weight=weights.in_dtype(sample_weight, config.dtype),
        optimizer_state=None if partial is None else partial.optimizer_state,
    )


def hold_out_validation(config: FitConfig, X, targets: Targets, sample_weight=None):
    """``(X, targets, sample_weight, held_out)``: with early stopping, the training rows
    (and their weights) and ``held_out = (X_held, targets_held)`` (stratified for a
    classifier, drawn from the seed; its cost is not weighted); otherwise the arguments and
    None."""
    stopping = config.stopping
    if not stopping.early_stopping:
        return X, targets, sample_weight, None
    seed = DEFAULT_SEED if config.seed is None else config.seed
    # a third stream of the seed: the initial parameters and batch orders are the first two
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[2])
    groups = getattr(targets, "indices", None)  # class indices: a stratified split
    train, held = early_stopping.validation_split(len(X), stopping.validation_fraction, rng, groups)
    kept_weights = None if sample_weight is None else sample_weight[train]
    return X[train], targets.rows(train), kept_weights, (X[held], targets.rows(held))


def _weigh(estimator, X, targets, sample_weight, check_classes):
    """The examples' weights (``sample_weight`` times the estimator's ``class_weight``),
    checked, and the examples of weight 0 left out (``fastnn.weights``)."""
    w = weights.fit_sample_weight(
        sample_weight, getattr(estimator, "class_weight", None), targets, len(X)
    )
    weighted = w is not None
    X, targets, w = weights.drop_zero_weights(X, targets, w)
    weights.check_classes_left(targets, weighted and check_classes)
    return X, targets, w


def _targets_scaling(targets, x_mean, x_scale, standardize, sample_weight):
    """The fit's scaling; a regressor's targets standardised with the weighted moments."""
    if sample_weight is not None and standardize and isinstance(targets, RegressorTargets):
        return targets.scaling(
            x_mean, x_scale, standardize, scaling.target_scaling(targets.values, sample_weight)
        )
    return targets.scaling(x_mean, x_scale, standardize)


def check_architecture(
    estimator, config: FitConfig, targets: Targets, n_features: int
) -> Architecture:
    """The layer sizes, and the warm-start parameters checked against them."""
    layer_sizes = (n_features,) + config.hidden + (targets.n_outputs,)
    return Architecture(layer_sizes, estimator._warm_parameters(config, layer_sizes))


def plan(
    estimator,
    config: FitConfig,
    architecture: Architecture,
    targets: Targets,
    fitted_scaling: scaling.Scaling,
    feature_names,
    m: int,
    X=None,
    Y=None,
    validation=None,
) -> FitPlan:
    """The initial parameters (fresh, or the warm ones unfolded) and the seeds."""
    init_seed, order_seed = np.random.SeedSequence(
        DEFAULT_SEED if config.seed is None else config.seed
    ).spawn(2)
    if architecture.warm is not None:
        weights, biases = scaling.unfold(*architecture.warm, fitted_scaling, config.dtype)
    else:
        weights, biases = initialization.initialize(
            architecture.layer_sizes, config.init, np.random.default_rng(init_seed), config.dtype
        )
    previous = getattr(estimator, "history_", None) if architecture.warm is not None else None
    return FitPlan(
        estimator_name=type(estimator).__name__,
        config=config,
        spec=TrainingSpec.from_config(config, targets.output_activation),
        layer_sizes=architecture.layer_sizes,
        targets=targets,
        scaling=fitted_scaling,
        weights=weights,
        biases=biases,
        order_seed=order_seed,
        previous_history=previous,
        feature_names=feature_names,
        m=m,
        X=X,
        Y=Y,
        validation=validation,
    )


# -- train (locally) -------------------------------------------------------------


def train(plan: FitPlan) -> Outcome:
    """The plan's run on this machine, in chunks of epochs (``training.run``); with a
    validation set, checked after every epoch and ended with the best epoch's parameters."""
    monitor = validation_monitor(plan)
    progress = make_progress(plan.spec.epochs, plan.config.verbose, description=plan.estimator_name)
    try:
        result = training.run(
            plan.spec,
            plan.weights,
            plan.biases,
            plan.X,
            plan.Y,
            np.random.default_rng(plan.order_seed),
            progress,
            monitor=monitor,
            sample_weight=plan.sample_weight,
            optimizer_state=plan.optimizer_state,
        )
    finally:
        progress.close()
    diverged = result.diverged_epoch is not None
    validated = None
    if monitor is not None:
        if not diverged:  # a divergence keeps the last finite parameters, as it says
            monitor.restore_best(plan.weights, plan.biases)
        validated = Validated(
            np.asarray(monitor.costs, dtype=np.float64),
            np.asarray(monitor.scores, dtype=np.float64),
            None if diverged else monitor.best_index,
        )
    return Outcome(
        plan.weights,
        plan.biases,
        result.costs,
        diverged=diverged,
        interrupted=result.interrupted,
        validated=validated,
    )


def validation_monitor(plan: FitPlan) -> ValidationMonitor | None:
    """The per-epoch check of early stopping on the plan's validation set, or None."""
    if plan.validation is None:
        return None
    # the reference variant's forward (NumPy's BLAS products) whatever the backend: a few
    # products, as fast as the numba variant's (0.055 ms both on a digits-sized validation
    # set, measured side by side), and no copy to and from a GPU each epoch
    return ValidationMonitor(
        *plan.validation, plan.targets.output_activation, plan.config.stopping, vectorized.forward
    )


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
    _set_validated(estimator, plan, outcome.validated, len(history) - len(outcome.costs))

    name = plan.estimator_name
    if outcome.failure is not None:
        raise outcome.failure
    if outcome.interrupted:
        # stacklevel 3: the warning points at the caller of fit
        warnings.warn(
            f"{name}.fit was interrupted after {len(outcome.costs)} of "
            f"{plan.spec.epochs} epochs; the model keeps the parameters of the last "
            "completed epoch",
            exceptions.TrainingInterruptedWarning,
            stacklevel=3,
        )
    if outcome.diverged:
        epoch = len(history) + 1
        raise exceptions.TrainingDivergedError(
            f"{name}.fit diverged: the cost of epoch {epoch} is not finite (NaN or "
            f"infinity) with learning_rate={plan.spec.learning_rate:g}. Try a smaller "
            "learning_rate (or standardize=True, or a smaller momentum). The model keeps "
            f"the parameters of the last finite epoch ({epoch - 1}).",
            epoch,
        )
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


def _set_validated(estimator, plan: FitPlan, validated: Validated | None, epochs_before: int):
    """``validation_history_``/``validation_scores_`` aligned with ``history_`` (NaN for
    epochs trained without a validation set; None when no fit had one) and ``best_epoch_``
    (1-based, counted as ``history_``; None without early stopping)."""
    previous = None
    if plan.previous_history is not None:
        previous = (
            getattr(estimator, "validation_history_", None),
            getattr(estimator, "validation_scores_", None),
        )
    if validated is None and (previous is None or previous[0] is None):
        estimator.validation_history_ = estimator.validation_scores_ = None
        estimator.best_epoch_ = None
        return
    n_new = estimator.n_epochs_ - epochs_before
    if validated is None:
        validated = Validated(np.full(n_new, np.nan), np.full(n_new, np.nan), None)
    before = [np.full(epochs_before, np.nan)] * 2
    if previous is not None and previous[0] is not None and len(previous[0]) == epochs_before:
        before = [np.asarray(p, dtype=np.float64) for p in previous]
    estimator.validation_history_ = np.concatenate([before[0], validated.costs])
    estimator.validation_scores_ = np.concatenate([before[1], validated.scores])
    estimator.best_epoch_ = (
        None if validated.best_index is None else epochs_before + validated.best_index + 1
    )
