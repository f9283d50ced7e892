"""``partial_fit``: one epoch on the batch given, the optimiser state kept between calls.

As scikit-learn's ``partial_fit``: a classifier's classes are declared on the first call
(``classes=``; a model fitted by ``fit`` knows them already), and each call continues from
the model's parameters. What one call leaves for the next, beside the fitted attributes:
the scaling of the first call (``standardize=True``: every later batch is standardised
with the same statistics, so that the trained problem does not change from batch to
batch) and the optimiser's state (momentum velocities or Adam's moments and counters;
``_partial_fit_state``). ``fit`` starts again and
forgets them. A batch may hold examples of any number of the declared classes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from kernels.contract import OptimizerState

from . import fitting, weights
from .validation import check_feature_names


@dataclass(frozen=True)
class PartialFit:
    """What ``fitting.prepare`` takes from a ``partial_fit`` call: the checked config
    (one epoch, a warm start once fitted), the declared classes (classifiers, else
    None), and the kept scaling and optimiser state (None on the first call)."""

    config: fitting.FitConfig
    classes: np.ndarray | None
    scaling: object | None
    optimizer_state: object | None


@dataclass
class PartialFitState:
    """Kept on the estimator between ``partial_fit`` calls."""

    scaling: object
    optimizer_state: object


def partial_fit(estimator, X, y, classes=None, sample_weight=None, classifier=False):
    """One epoch of ``estimator`` on ``X``, ``y`` (see the module); returns the estimator."""
    config = estimator._config()
    fitted = estimator.__sklearn_is_fitted__()
    if classifier:
        classes = weights.declared_classes(
            classes, getattr(estimator, "classes_", None) if fitted else None
        )
    if fitted:
        check_feature_names(estimator, X)  # the names first, as scikit-learn checks them
    if fitted and np.ndim(X) == 2 and np.shape(X)[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {np.shape(X)[1]} features, but {type(estimator).__name__} is "
            f"expecting {estimator.n_features_in_} features as input (the number "
            "of features cannot change between calls to partial_fit)"
        )
    kept = getattr(estimator, "_partial_fit_state", None) if fitted else None
    config = dataclasses.replace(config, epochs=1, warm_start=fitted)
    partial = PartialFit(
        config,
        classes,
        None if kept is None else kept.scaling,
        None if kept is None else kept.optimizer_state,
    )
    plan = fitting.prepare(estimator, X, y, sample_weight, partial=partial)
    if plan.optimizer_state is None:
        plan = dataclasses.replace(
            plan,
            optimizer_state=OptimizerState.zeros(
                plan.weights, plan.biases, plan.spec.optimizer.name
            ),
        )
    outcome = fitting.train(plan)
    fitting.finish(estimator, plan, outcome)
    estimator._partial_fit_state = PartialFitState(plan.scaling, plan.optimizer_state)
    return estimator
