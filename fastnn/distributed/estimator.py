"""``fit(estimator, X, y, client)``: an estimator's ``fit``, data-parallel on a Dask cluster.

It follows the estimators' own ``fit`` step by step, reusing its pieces (the
hyperparameter checks, the target rules, the standardisation, the
initialisation, the seeds, the fitted attributes), so that the result is the
model a local ``fit`` on the concatenated rows would give — within rounding
for full-batch and mini-batch descent, by construction different with
``local_epochs`` — and an ordinary local estimator: ``predict``, ``save`` and
``load`` need no cluster.

Only the data path differs: the rows stay on the workers. The column means and
standard deviations are combined from per-block moments; the labels are the
union of each block's distinct labels.
"""

import inspect
import warnings

import numpy as np

import kernels

from .. import exceptions, initialization, scaling
from .._base import ClassifierMixin
from .._network import DEFAULT_SEED
from ..progress import make_progress
from ..training import draw_orders
from ..validation import check_integer, check_y_present, fit_feature_names
from .encoding import LabelTargets, NumericTargets, TransposedInputs
from .partitions import (as_dask_arrays, check_summaries, column_moments, distinct_labels,
                         persist_partitions, summarize_blocks)
from .trainer import TrainingInterrupted, WorkerLost, train


def fit(estimator, X, y, client, *, local_epochs=None, fan_in=4):
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
        raise ValueError("backend='cuda' is not supported on a Dask cluster: use 'numba' or "
                         "'numpy' (the workers run the CPU kernels)")
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
    layer_sizes = (n_features,) + config.hidden + (targets.n_outputs,)
    warm = estimator._warm_parameters(config, layer_sizes)
    kernels.get(config.backend)  # a missing variant fails here, before any work

    fitted_scaling = _scaling(config, blocks, targets, n_features, scaling.rounding_eps(X.dtype))
    dtype = config.dtype
    target_encoder = (LabelTargets(targets.classes, dtype) if classification
                      else NumericTargets(dtype, fitted_scaling))
    partitions = persist_partitions(client, blocks, TransposedInputs(dtype, fitted_scaling),
                                    target_encoder, n_features, targets.n_outputs, dtype)
    init_sequence, order_sequence = np.random.SeedSequence(
        DEFAULT_SEED if config.seed is None else config.seed).spawn(2)
    if warm is not None:
        weights, biases = scaling.unfold(*warm, fitted_scaling, dtype)
    else:
        weights, biases = initialization.initialize(
            layer_sizes, config.init, np.random.default_rng(init_sequence), dtype)
    activations = config.activations + (estimator._output_activation(targets),)
    mini_batches = config.batch_size is not None and config.batch_size < partitions.m
    orders = EpochOrders(np.random.default_rng(order_sequence), partitions.m) \
        if mini_batches and local_epochs is None else None

    progress = make_progress(config.epochs, config.verbose, description=name)
    interrupted, lost = False, None
    try:
        costs = train(partitions, weights, biases, list(activations), config.epochs,
                      config.learning_rate, config.batch_size, config.momentum, config.l2,
                      orders, backend=config.backend, local_epochs=local_epochs,
                      seed=order_sequence, fan_in=fan_in,
                      callback=lambda epoch, cost: progress.update(epoch + 1, cost))
    except TrainingInterrupted as stop:
        costs, interrupted = stop.costs, True
    except WorkerLost as error:
        costs, lost = error.costs, error
    finally:
        progress.close()
        partitions.release()

    finite = np.isfinite(costs)
    diverged = not finite.all()
    costs = costs[:int(np.argmin(finite))] if diverged else costs
    if config.standardize:
        weights, biases = scaling.fold(weights, biases, fitted_scaling, dtype)
    previous = estimator.history_ if warm is not None and hasattr(estimator, "history_") else None
    _set_fitted(estimator, targets=targets, layer_sizes=layer_sizes, activations=activations,
                weights=weights, biases=biases, costs=costs, previous_history=previous,
                feature_names=feature_names)

    if lost is not None:
        raise lost
    if interrupted:
        warnings.warn(f"{name}.fit was interrupted after {len(costs)} of {config.epochs} "
                      "epochs; the model keeps the parameters of the last completed epoch",
                      exceptions.TrainingInterruptedWarning, stacklevel=2)
    if diverged:
        epoch = len(estimator.history_) + 1
        raise exceptions.TrainingDivergedError(
            f"{name}.fit diverged: the cost of epoch {epoch} is not finite (NaN or "
            f"infinity) with learning_rate={config.learning_rate:g}. Try a smaller "
            "learning_rate (or standardize=True, or a smaller momentum). The model keeps "
            f"the parameters of the last finite epoch ({epoch - 1}).", epoch)
    return estimator


def _set_fitted(estimator, **fitted):
    """The estimator's own ``_set_fitted``, given the arguments its signature names."""
    names = inspect.signature(estimator._set_fitted).parameters
    estimator._set_fitted(**{name: value for name, value in fitted.items() if name in names})


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
        return estimator._prepare_targets(labels, config)
    stand_in = np.zeros(1) if blocks.y_ndim == 1 else np.zeros((1, columns))
    targets = estimator._prepare_targets(stand_in, config)
    targets.labels = targets.values = None
    return targets


def _scaling(config, blocks, targets, n_features, x_eps):
    """The estimators' standardisation, from the partitions' column moments; values
    beyond the model's dtype refused, as in a local fit."""
    x_mean, x_std, x_peak = column_moments(blocks.summaries, "x_moments")
    scaling.check_in_range(-x_peak, x_peak, config.dtype, "X")
    if config.standardize:
        x_scale = scaling.scale_from(x_mean, x_std, x_eps)  # the local rule, X's dtype
    else:
        x_mean, x_scale = np.zeros(n_features), np.ones(n_features)
    if not targets.scale_targets:
        return scaling.Scaling(x_mean, x_scale)
    y_mean, y_std, y_peak = column_moments(blocks.summaries, "y_moments")
    scaling.check_in_range(-y_peak, y_peak, config.dtype, "y")
    if not config.standardize:
        n_outputs = targets.n_outputs
        return scaling.Scaling(x_mean, x_scale, np.zeros(n_outputs), np.ones(n_outputs))
    return scaling.Scaling(x_mean, x_scale, y_mean, scaling.scale_from(y_mean, y_std))
