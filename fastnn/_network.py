"""What the three estimators share: hyperparameter checks, ``fit`` and the forward pass.

``fit`` is the shared pipeline of ``fastnn.fitting``: ``prepare`` (every check,
before any compiled code runs), ``train``, ``finish`` (the fitted attributes).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

import kernels

from . import exceptions, fitting, initialization
from ._base import BaseEstimator
from ._threading import kernel_guard
from .early_stopping import check_stopping_settings
from .optimizers import check_optimizer_settings
from .validation import (
    INITS,
    check_activations,
    check_backend,
    check_choice,
    check_dtype,
    check_fitted_X,
    check_hidden,
    check_integer,
    check_real,
    check_seed,
)


def _check_flag(value, name):
    if isinstance(value, (bool, np.bool_)) or (
        isinstance(value, (int, np.integer)) and value in (0, 1)
    ):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r}")


def _check_verbose(value):
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    return check_integer(value, "verbose", minimum=0)


class Network(BaseEstimator):
    """Base of the estimators: a fully connected network trained by the kernels.

    Subclasses define ``_prepare_targets(y, config)`` (returning ``fastnn.targets``'
    classifier or regressor targets); ``_fixed`` gives the values of hyperparameters a
    subclass does not expose (LogisticRegression has no hidden layer).
    """

    _fixed = {}

    # -- hyperparameters ---------------------------------------------------

    def _store_hyperparameters(self, init_locals):
        """``__init__``'s arguments, stored as given under their own names (checked in
        ``fit``, as scikit-learn wants): each estimator's signature is the one list."""
        for name in self._get_param_names():
            setattr(self, name, init_locals[name])

    def _hyperparameter(self, name):
        if name in self._fixed:
            return self._fixed[name]
        return getattr(self, name)

    def _config(self) -> fitting.FitConfig:
        """Every hyperparameter checked; ValueError/TypeError naming the first bad one."""
        get = self._hyperparameter
        hidden = check_hidden(get("hidden"))
        init = get("init")
        if "init" not in self._fixed:
            check_choice(init, "init", INITS)
        momentum = check_real(get("momentum"), "momentum", low=0, high=1, high_open=True)
        return fitting.FitConfig(
            hidden=hidden,
            activations=check_activations(get("activation"), len(hidden)),
            init=init,
            learning_rate=check_real(get("learning_rate"), "learning_rate", low=0, low_open=True),
            epochs=check_integer(get("epochs"), "epochs", minimum=1),
            batch_size=check_integer(get("batch_size"), "batch_size", minimum=1, allow_none=True),
            momentum=momentum,
            l2=check_real(get("l2"), "l2", low=0),
            backend=check_backend(get("backend")),
            dtype=check_dtype(get("dtype")),
            seed=check_seed(get("seed")),
            warm_start=_check_flag(get("warm_start"), "warm_start"),
            standardize=_check_flag(get("standardize"), "standardize"),
            verbose=_check_verbose(get("verbose")),
            optimizer=check_optimizer_settings(get, momentum),
            stopping=check_stopping_settings(get, _check_flag),
        )

    # -- fit -----------------------------------------------------------------

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Network:
        """Train on ``X`` (n_samples, n_features) and ``y``; returns the estimator.

        ``sample_weight``: one weight per sample (a number for all), finite, >= 0, not all
        zero; each sample's loss and gradient are multiplied by it and the means over
        samples become weighted means (``kernels/contract.py``); a classifier's
        ``class_weight`` multiplies it. Samples of weight 0 are left out.

        With ``warm_start=True`` and a fitted (or assigned) ``parameters_``,
        training continues from them for ``epochs`` more epochs.

        Raises ValueError/TypeError for bad hyperparameters or data (the model
        is left as it was), TrainingDivergedError when the cost becomes NaN or
        infinite (the model keeps the last finite parameters). Ctrl-C stops
        training between chunks with a TrainingInterruptedWarning; the model
        keeps the parameters of the epochs completed.
        """
        plan = fitting.prepare(self, X, y, sample_weight)
        self.__dict__.pop("_partial_fit_state", None)  # fit starts again (fastnn.incremental)
        return fitting.finish(self, plan, fitting.train(plan))

    def _warm_parameters(self, config, layer_sizes):
        """``(weights, biases)`` to continue from, checked; None for a fresh start."""
        if not config.warm_start or not hasattr(self, "parameters_"):
            return None
        fitted_features = getattr(self, "n_features_in_", layer_sizes[0])
        if fitted_features != layer_sizes[0]:
            raise ValueError(
                f"warm_start: X has {layer_sizes[0]} features, but the model was "
                f"fitted with {fitted_features}; fit with warm_start=False to "
                "start again"
            )
        return initialization.check_parameters(self.parameters_, layer_sizes, np.float64)

    # -- forward -------------------------------------------------------------

    def _check_fitted(self):
        if not self.__sklearn_is_fitted__():
            raise exceptions.NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator (assigned parameters_ "
                "are used by a fit with warm_start=True)."
            )

    def _output(self, X):
        """``Z[L]`` (before the output activation), examples as rows ``(m, n_out)``."""
        self._check_fitted()
        X = check_fitted_X(self, X)  # feature names, shape, finite, in the model's dtype
        backend = check_backend(self.backend)
        first = self.parameters_.get("W1") if isinstance(self.parameters_, dict) else None
        dtype = getattr(first, "dtype", None)
        dtype = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)
        weights, biases = initialization.check_parameters(
            self.parameters_, self._layer_sizes, dtype, copy=False, check_finite=False
        )
        XT = np.ascontiguousarray(X.T, dtype=dtype)
        # compiled kernels type read-only arrays (a memory-mapped model or X) apart from
        # writeable ones: hand them writeable arrays, one signature, no recompilation
        XT, *arrays = [a if a.flags.writeable else a.copy() for a in [XT] + weights + biases]
        weights, biases = arrays[: len(weights)], arrays[len(weights) :]
        activations = list(self._activations[:-1]) + ["linear"]
        with kernel_guard(backend):
            Z = kernels.get(backend).forward(weights, biases, XT, activations)
        return np.asarray(Z).T
