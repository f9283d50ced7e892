"""The estimators: ``MLPClassifier``, ``MLPRegressor`` and ``LogisticRegression``.

scikit-learn conventions without scikit-learn: rows are examples in ``fit``
and ``predict``; every hyperparameter is an ``__init__`` argument, stored as
given and checked in ``fit``; fitted state ends with ``_``, in the notes'
notation: ``parameters_ = {"W1": (n1, n0), "b1": (n1, 1), ...}``.

Choices where the task left room (see also ``scaling`` and ``_network``):

- ``standardize=True`` (an extra hyperparameter): ``fit`` trains on
  standardised features (and, for the regressor, standardised targets) and
  folds the scaling back into ``parameters_``, which therefore act on the raw
  data. ``history_`` holds the costs of that standardised problem.
  ``standardize=False`` runs the notes' gradient descent on the data as given.
  The L2 term, like the rest of the training, acts on the weights of the
  standardised problem.
- ``seed=None`` means the fixed seed 0: fits are reproducible by default.
- ``warm_start=True`` appends to ``history_``; ``n_epochs_`` counts all epochs.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from kernels import vectorized

from . import incremental, weights
from ._base import ClassifierMixin, RegressorMixin
from ._network import Network
from .targets import ClassifierTargets, RegressorTargets
from .validation import check_labels, check_targets

__all__ = ["MLPClassifier", "MLPRegressor", "LogisticRegression"]


class _Classifier(ClassifierMixin, Network):
    """Sigmoid output and binary cross-entropy for two classes; softmax and
    categorical cross-entropy for more."""

    def _config(self):
        config = super()._config()
        weights.check_class_weight(self.class_weight)  # save and load check it too
        return config

    def _prepare_targets(self, y, config) -> ClassifierTargets:
        classes, indices = check_labels(y)
        if config.warm_start and hasattr(self, "parameters_") and hasattr(self, "classes_"):
            known = {label: index for index, label in enumerate(self.classes_.tolist())}
            unknown = [label for label in classes.tolist() if label not in known]
            if unknown:
                raise ValueError(
                    f"warm_start: y has labels {unknown!r} that the fitted model "
                    f"does not know (classes_ = {self.classes_.tolist()!r}); fit "
                    "with warm_start=False to start again"
                )
            indices = np.array([known[label] for label in classes.tolist()])[indices]
            classes = self.classes_
        return ClassifierTargets(classes, indices)

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """``Z[L]``, the output layer before its activation: shape (n_samples,) for two
        classes (positive means ``classes_[1]``), (n_samples, n_classes) for more."""
        Z = self._output(X)
        return Z[:, 0] if Z.shape[1] == 1 else Z

    def partial_fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        classes: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> _Classifier:
        """One epoch on the batch ``X``, ``y``, continuing from the current model, the
        optimiser state kept between calls; ``classes`` (every label the model will see)
        is required on the first call. See ``fastnn.incremental``."""
        return incremental.partial_fit(self, X, y, classes, sample_weight, classifier=True)

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """``log(predict_proba(X))``, computed from ``Z[L]`` (finite where a probability
        underflows to 0): log-sigmoid for two classes, log-softmax for more."""
        Z = self._output(X)
        if Z.shape[1] == 1:
            z = Z[:, 0]
            # log(1 - p) = -softplus(z), log(p) = -softplus(-z)
            return -np.column_stack([np.logaddexp(0, z), np.logaddexp(0, -z)])
        Zmax = Z.max(axis=1, keepdims=True)
        return Z - (Zmax + np.log(np.exp(Z - Zmax).sum(axis=1, keepdims=True)))

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Probability of each class, shape (n_samples, n_classes), in ``classes_`` order."""
        Z = self._output(X)
        if Z.shape[1] == 1:
            p = vectorized.sigmoid(Z[:, 0])
            return np.column_stack([1 - p, p])
        return vectorized.softmax(Z.T).T

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The most probable class of each example (labels as in ``classes_``)."""
        Z = self._output(X)
        if Z.shape[1] == 1:
            return self.classes_[(Z[:, 0] > 0).astype(np.intp)]
        return self.classes_[np.argmax(Z, axis=1)]


class MLPClassifier(_Classifier):
    """A fully connected network for classification.

    Parameters
    ----------
    hidden : tuple of int, default (100,)
        Sizes of the hidden layers; ``()`` for none (logistic regression).
    activation : str or tuple of str, default "relu"
        Hidden activation: "relu", "leaky_relu", "tanh", "sigmoid" or "linear";
        one name for every hidden layer or one per hidden layer.
    init : {"he", "xavier", "small"}, default "he"
        Initial ``W[l]``: randn times sqrt(2/n[l-1]), sqrt(1/n[l-1]) or 0.01; b = 0.
    solver : {"sgd", "adam"}, default "adam"
        "sgd": the notes' gradient descent (with ``momentum``); "adam": the course's
        bias-corrected Adam (``beta_1``, ``beta_2``, ``epsilon``). The notes'
        full-batch gradient descent is ``solver="sgd", batch_size=None,
        learning_rate=0.1``.
    learning_rate : float > 0, default 0.001
        The initial learning rate (scikit-learn's ``learning_rate_init``); 0.001 is
        Adam's usual rate; gradient descent wants about 0.1.
    learning_rate_schedule : {"constant", "inverse_time", "exponential"}, default "constant"
        With ``k = epoch // decay_epochs``: ``learning_rate``,
        ``learning_rate / (1 + decay_rate k)`` (the course's decay) or
        ``learning_rate * decay_rate**k``.
    decay_rate : float >= 0 (in (0, 1] for "exponential"), default 1.0
    decay_epochs : int >= 1, default 1
        Epochs between changes of the scheduled rate.
    epochs : int >= 1, default 200
        Epochs of training per call of ``fit`` (fewer with ``early_stopping``).
    batch_size : int >= 1 or None, default 32
        Mini-batch size (Keras's default); None for full batch. The defaults (Adam,
        0.001, 32, 200 epochs) match scikit-learn's default MLP on its bundled data
        sets without tuning (docs/real_data.md).
    momentum : float in [0, 1), default 0.0
        "sgd" only, the course's momentum: ``v = momentum v + (1 - momentum) dW;
        W -= learning_rate v``.
    beta_1, beta_2 : float in [0, 1), default 0.9, 0.999
        "adam" only: the decay rates of the first and second moments.
    epsilon : float > 0, default 1e-8
        "adam" only: added to the denominator.
    l2 : float >= 0, default 0.0
        L2 regularisation: ``l2 / (2 m) sum ||W||^2`` added to the cost.
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the rows (stratified for a classifier),
        check the validation cost after every epoch, stop when it has not improved by
        more than ``tol`` for ``n_iter_no_change`` epochs, and keep the best epoch's
        parameters.
    validation_fraction : float in (0, 1), default 0.1
    n_iter_no_change : int >= 1, default 10
    tol : float >= 0, default 1e-4
    backend : {"numba", "numpy", "loops", "cuda"}, default "numba"
        The kernel variant that trains and predicts.
    dtype : {"float64", "float32"}, default "float64"
    seed : int or None, default None
        Seed of the initial weights and the mini-batch orders; None is seed 0.
    warm_start : bool, default False
        Continue from the current ``parameters_`` instead of starting again.
    standardize : bool, default True
        Train on standardised features; ``parameters_`` still act on raw data.
    verbose : bool or int, default False
        Show a progress bar (tqdm if installed) with the current cost.
    class_weight : None, "balanced" or dict, default None
        Weights of the classes, multiplied into ``fit``'s ``sample_weight``:
        ``{label: weight}`` (labels not named weigh 1), or "balanced",
        scikit-learn's ``n_samples / (n_classes * np.bincount(y))``.

    Attributes
    ----------
    parameters_ : dict
        ``{"W1": (n1, n_features), "b1": (n1, 1), ..., "WL": ..., "bL": ...}``.
    history_ : ndarray
        Cost of each epoch (L2 term included).
    validation_history_ : ndarray or None
        With ``early_stopping``: the validation cost of each epoch, the cost of
        ``history_`` *without* the L2 term (NaN for epochs of earlier fits that had
        no validation set); None otherwise.
    validation_scores_ : ndarray or None
        Likewise, the validation accuracy of each epoch.
    best_epoch_ : int or None
        With ``early_stopping``: the epoch (1-based, counted as ``history_``) whose
        parameters the model keeps.
    classes_ : ndarray
        The sorted class labels.
    n_features_in_ : int
    n_epochs_ : int
        Epochs trained (all warm-started fits together).
    """

    def __init__(
        self,
        hidden=(100,),
        activation="relu",
        init="he",
        learning_rate=0.001,
        epochs=200,
        batch_size=32,
        momentum=0.0,
        l2=0.0,
        solver="adam",
        learning_rate_schedule="constant",
        decay_rate=1.0,
        decay_epochs=1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        backend="numba",
        dtype="float64",
        seed=None,
        warm_start=False,
        standardize=True,
        verbose=False,
        class_weight=None,
    ):
        self._store_hyperparameters(locals())


class LogisticRegression(_Classifier):
    """The notes' section 2: a classifier with no hidden layer, ``W`` starting at 0.

    Sigmoid and binary cross-entropy for two classes; softmax (multinomial
    logistic regression) for more. The hyperparameters are MLPClassifier's
    without ``hidden``, ``activation`` and ``init`` (``class_weight`` included).
    """

    _fixed = {"hidden": (), "activation": (), "init": "zeros"}

    def __init__(
        self,
        learning_rate=0.001,
        epochs=200,
        batch_size=32,
        momentum=0.0,
        l2=0.0,
        solver="adam",
        learning_rate_schedule="constant",
        decay_rate=1.0,
        decay_epochs=1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        backend="numba",
        dtype="float64",
        seed=None,
        warm_start=False,
        standardize=True,
        verbose=False,
        class_weight=None,
    ):
        self._store_hyperparameters(locals())


class MLPRegressor(RegressorMixin, Network):
    """A fully connected network for regression: linear output, half mean squared error,
    one or several targets.

    The hyperparameters and defaults are MLPClassifier's. With ``solver="sgd"``
    take a smaller ``learning_rate`` than for a classifier (about 0.01): the
    squared error's curvature grows with the width of the last hidden layer
    (about its width at He initialisation, so gradient descent is stable below
    about 2 / 100 for the default 100 units), while the cross-entropies' is at
    most a quarter of it. With ``standardize=True``
    (default) the targets are standardised too, so unscaled targets train with
    the default learning rate; ``history_`` is then the cost in standardised
    units.

    Attributes: ``parameters_``, ``history_``, ``n_features_in_``, ``n_epochs_``,
    ``n_outputs_``, and with ``early_stopping`` ``validation_history_`` (half the mean
    squared error on the validation rows, standardised units, no L2 term),
    ``validation_scores_`` (R^2) and ``best_epoch_``. ``predict`` returns shape
    (n_samples,) when fitted on a 1-D y, (n_samples, n_outputs) otherwise.
    """

    def __init__(
        self,
        hidden=(100,),
        activation="relu",
        init="he",
        learning_rate=0.001,
        epochs=200,
        batch_size=32,
        momentum=0.0,
        l2=0.0,
        solver="adam",
        learning_rate_schedule="constant",
        decay_rate=1.0,
        decay_epochs=1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        backend="numba",
        dtype="float64",
        seed=None,
        warm_start=False,
        standardize=True,
        verbose=False,
    ):
        self._store_hyperparameters(locals())

    def _prepare_targets(self, y, config) -> RegressorTargets:
        values, one_dimensional = check_targets(y)
        fitted = getattr(self, "n_outputs_", None)
        if (
            config.warm_start
            and hasattr(self, "parameters_")
            and fitted is not None
            and fitted != values.shape[1]
        ):
            raise ValueError(
                f"warm_start: y has {values.shape[1]} targets, but the model was "
                f"fitted with {fitted}; fit with warm_start=False to start again"
            )
        return RegressorTargets(values, values.shape[1], one_dimensional)

    def partial_fit(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> MLPRegressor:
        """One epoch on the batch ``X``, ``y``, continuing from the current model, the
        optimiser state kept between calls. See ``fastnn.incremental``."""
        return incremental.partial_fit(self, X, y, None, sample_weight)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predicted targets: (n_samples,) if fitted on a 1-D y, else (n_samples, n_outputs)."""
        Y = self._output(X)
        if getattr(self, "_one_dimensional_targets", False) and Y.shape[1] == 1:
            return Y[:, 0]
        return Y
