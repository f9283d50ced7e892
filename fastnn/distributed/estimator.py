"""``fit(estimator, X, y, client)``: an estimator's ``fit``, data-parallel on a Dask cluster.

It is the estimators' own pipeline (``fastnn.fitting``: the hyperparameter
checks, the target rules, the warm-start checks, the initialisation and seeds,
then ``finish``), so that the result is the model a local ``fit`` on the
concatenated rows would give — within rounding for full-batch and mini-batch
descent, by construction different with ``local_epochs`` — and an ordinary
local estimator: ``predict``, ``save`` and ``load`` need no cluster.

Only the data path is distributed: the rows stay on the workers. The column
means and standard deviations are combined from per-block moments; the labels
are the union of each block's distinct labels.
"""

from __future__ import annotations

import numpy as np

import kernels

from .. import fitting, scaling
from .._base import ClassifierMixin
from .._network import Network
from ..progress import make_progress
from ..targets import RegressorTargets
from ..training import draw_orders
from ..validation import check_integer, check_y_present, fit_feature_names
from .encoding import LabelTargets, NumericTargets, TransposedInputs
from .partitions import (
    as_dask_arrays,
    check_summaries,
    column_moments,
    distinct_labels,
    persist_partitions,
    summarize_blocks,
)
from .trainer import TrainingInterrupted, WorkerLost, train


def fit(
    estimator: Network, X, y, client, *, local_epochs: int | None = None, fan_in: int = 4
) -> Network:
    """Fit ``estimator`` (MLPClassifier, MLPRegressor, LogisticRegression) on a Dask cluster.

    ``X``: a dask array (n_samples, n_features) partitioned by rows, or a dask
    DataFrame, or an in-memory array (then cut in two blocks per worker); ``y``
    likewise (labels for a classifier, numbers for a regressor). ``client``: a
    ``dask.distributed.Client``. ``local_epochs``: ``None`` for the exact
    synchronous descent (one round trip per step); ``k`` for rounds of ``k``
    epochs on each partition alone followed by a row-weighted average of the
    parameters (``k`` times fewer round trips, not the local fit's result).
    ``fan_in``: inputs per node of the reduction tree.

    Returns ``estimator``, fitted. Raises as a local ``fit`` does (ValueError /
    TypeError before training for bad hyperparameters or data, naming the
    partition; ``TrainingDivergedError``; a ``TrainingInterruptedWarning`` on
    Ctrl-C), and ``WorkerLost`` when the cluster cannot complete a step (the
    model then keeps the parameters of the epochs completed).
    """
    name = type(estimator).__name__
    config = estimator._config()
    if config.backend == "cuda":
        raise ValueError(
            "backend='cuda' is not supported on a Dask cluster: use 'numba' or "
            "'numpy' (the workers run the CPU kernels)"
        )
    _refuse_what_the_cluster_lacks(config)
    if getattr(estimator, "class_weight", None) is not None:
        raise ValueError(
            "class_weight is not supported by fastnn.distributed.fit (nor is "
            "sample_weight): fit locally, or set class_weight=None"
        )
    if local_epochs is not None:
        local_epochs = check_integer(local_epochs, "local_epochs", minimum=1)
    fan_in = check_integer(fan_in, "fan_in", minimum=2)
    check_y_present(y, name)
    classification = isinstance(estimator, ClassifierMixin)

    # a dask DataFrame's columns, as for pandas (a warm start checks them)
    feature_names = fit_feature_names(estimator, X, config.warm_start)
    X, y = as_dask_arrays(client, X, y)
    blocks = summarize_blocks(client, X, y, classification)
    n_features = check_summaries(blocks.summaries, classification)
    targets = _targets(estimator, blocks, config, classification)
    architecture = fitting.check_architecture(estimator, config, targets, n_features)
    kernels.get(config.backend)  # a missing variant fails here, before any work

    fitted_scaling = _scaling(config, blocks, targets, n_features, scaling.rounding_eps(X.dtype))
    target_encoder = (
        LabelTargets(targets.classes, config.dtype)
        if classification
        else NumericTargets(config.dtype, fitted_scaling)
    )
    partitions = persist_partitions(
        client,
        blocks,
        TransposedInputs(config.dtype, fitted_scaling),
        target_encoder,
        n_features,
        targets.n_outputs,
        config.dtype,
    )
    plan = fitting.plan(
        estimator, config, architecture, targets, fitted_scaling, feature_names, partitions.m
    )
    try:
        outcome = _train(plan, partitions, local_epochs, fan_in)
    finally:
        partitions.release()
    return fitting.finish(estimator, plan, outcome)


def _refuse_what_the_cluster_lacks(config):
    """The cluster runs the notes' gradient descent only (with momentum and L2, constant
    rate): Adam, a schedule or early stopping are refused before any work, not ignored."""
    if config.optimizer.name != "gradient_descent":
        raise ValueError(
            "fastnn.distributed.fit supports solver='sgd' only (gradient descent "
            "with momentum), got solver='adam': set solver='sgd' (and a "
            "learning_rate for it, e.g. 0.1), or fit locally"
        )
    if config.optimizer.schedule.name != "constant":
        raise ValueError(
            "fastnn.distributed.fit supports learning_rate_schedule='constant' "
            f"only, got {config.optimizer.schedule.name!r}"
        )
    if config.stopping.early_stopping:
        raise ValueError(
            "fastnn.distributed.fit does not support early_stopping=True (no "
            "validation split on the cluster): set early_stopping=False"
        )


def _train(plan, partitions, local_epochs, fan_in):
    """The plan's run on the cluster: an ``Outcome`` however it ends."""
    spec = plan.spec
    orders = None
    if spec.mini_batch(plan.m) is not None and local_epochs is None:
        orders = EpochOrders(np.random.default_rng(plan.order_seed), plan.m)
    progress = make_progress(spec.epochs, plan.config.verbose, description=plan.estimator_name)
    interrupted, lost = False, None
    try:
        costs = train(
            partitions,
            plan.weights,
            plan.biases,
            list(spec.activations),
            spec.epochs,
            spec.learning_rate,
            spec.batch_size,
            spec.momentum,
            spec.l2,
            orders,
            backend=spec.backend,
            local_epochs=local_epochs,
            seed=plan.order_seed,
            fan_in=fan_in,
            callback=lambda epoch, cost: progress.update(epoch + 1, cost),
        )
    except TrainingInterrupted as stop:
        costs, interrupted = stop.costs, True
    except WorkerLost as error:
        costs, lost = error.costs, error
    finally:
        progress.close()
    finite = np.isfinite(costs)
    diverged = not finite.all()
    costs = costs[: int(np.argmin(finite))] if diverged else costs
    return fitting.Outcome(
        plan.weights, plan.biases, costs, diverged=diverged, interrupted=interrupted, failure=lost
    )


class EpochOrders:
    """``orders[epoch]``, drawn when first asked, epoch after epoch, from one Generator:
    the numbers a local fit draws (``training.draw_orders``), without holding
    ``(epochs, m)`` integers at once."""

    def __init__(self, rng, m):
        self.rng, self.m = rng, m
        self.epoch, self.order = -1, None

    def __getitem__(self, epoch):
        while self.epoch < epoch:
            self.order = draw_orders(self.rng, 1, self.m)[0]
            self.epoch += 1
        if epoch != self.epoch:
            raise IndexError("epoch orders are drawn in sequence; an earlier one was asked")
        return self.order


def _targets(estimator, blocks, config, classification):
    """The estimator's own target rules, applied to a small stand-in for ``y``.

    A classifier gets the union of the partitions' labels (its label checks,
    warm-start classes and column-vector warning then apply as in ``fit``); a
    regressor gets one row of the shape of ``y`` (its shape and warm-start
    checks apply; the values come from the partitions).
    """
    columns = blocks.y_columns
    if classification:
        labels = distinct_labels(blocks.summaries)
        if blocks.y_ndim == 2:
            labels = labels.reshape(-1, 1) if columns == 1 else np.zeros((2, columns))
        return estimator._prepare_targets(labels, config).without_rows()
    stand_in = np.zeros(1) if blocks.y_ndim == 1 else np.zeros((1, columns))
    return estimator._prepare_targets(stand_in, config).without_rows()


def _scaling(config, blocks, targets, n_features, x_eps):
    """The estimators' standardisation, from the partitions' column moments; values
    beyond the model's dtype refused, as in a local fit."""
    x_mean, x_std, x_peak = column_moments(blocks.summaries, "x_moments")
    scaling.check_in_range(-x_peak, x_peak, config.dtype, "X")
    if config.standardize:
        x_scale = scaling.scale_from(x_mean, x_std, x_eps)  # the local rule, X's dtype
    else:
        x_mean, x_scale = np.zeros(n_features), np.ones(n_features)
    if not isinstance(targets, RegressorTargets):
        return scaling.Scaling(x_mean, x_scale)
    y_mean, y_std, y_peak = column_moments(blocks.summaries, "y_moments")
    scaling.check_in_range(-y_peak, y_peak, config.dtype, "y")
    if not config.standardize:
        n_outputs = targets.n_outputs
        return scaling.Scaling(x_mean, x_scale, np.zeros(n_outputs), np.ones(n_outputs))
    return scaling.Scaling(x_mean, x_scale, y_mean, scaling.scale_from(y_mean, y_std))
