"""What the three estimators share: hyperparameter checks, ``fit`` and the forward pass.

``fit`` runs in this order, so that bad input leaves the model as it was and
never reaches compiled code: hyperparameters, data, warm-start state, the
conversion to the notes' layout (once per fit; it finds NaN and infinity in X
from the column sums), the kernel import; then the chunked run
(``training.run``), and only then the fitted attributes.
"""

import warnings
from types import SimpleNamespace

import numpy as np

import kernels

from . import exceptions, initialization, scaling, training
from ._base import BaseEstimator
from ._threading import kernel_guard
from .memory import check_fit_memory
from .progress import make_progress
from .validation import (INITS, check_activations, check_backend, check_choice, check_dtype,
                         check_fitted_X, check_hidden, check_integer, check_real,
                         check_same_length, check_seed, check_X, check_y_present,
                         fit_feature_names)

#: The seed used when ``seed=None``: fits are reproducible by default.
DEFAULT_SEED = 0


def _check_flag(value, name):
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, (int, np.integer))
                                               and value in (0, 1)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r}")


def _check_verbose(value):
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    return check_integer(value, "verbose", minimum=0)


class Network(BaseEstimator):
    """Base of the estimators: a fully connected network trained by the kernels.

    Subclasses define ``_output_activation``, ``_prepare_targets`` and
    ``_set_target_attributes``; ``_fixed`` gives the values of hyperparameters a
    subclass does not expose (LogisticRegression has no hidden layer).
    """

    _fixed = {}

    # -- hyperparameters ---------------------------------------------------

    def _hyperparameter(self, name):
        if name in self._fixed:
            return self._fixed[name]
        return getattr(self, name)

    def _config(self):
        """Every hyperparameter checked; ValueError/TypeError naming the first bad one."""
        get = self._hyperparameter
        hidden = check_hidden(get("hidden"))
        init = get("init")
        if "init" not in self._fixed:
            check_choice(init, "init", INITS)
        return SimpleNamespace(
            hidden=hidden,
            activations=check_activations(get("activation"), len(hidden)),
            init=init,
            learning_rate=check_real(get("learning_rate"), "learning_rate", low=0, low_open=True),
            epochs=check_integer(get("epochs"), "epochs", minimum=1),
            batch_size=check_integer(get("batch_size"), "batch_size", minimum=1,
                                     allow_none=True),
            momentum=check_real(get("momentum"), "momentum", low=0, high=1, high_open=True),
            l2=check_real(get("l2"), "l2", low=0),
            backend=check_backend(get("backend")),
            dtype=check_dtype(get("dtype")),
            seed=check_seed(get("seed")),
            warm_start=_check_flag(get("warm_start"), "warm_start"),
            standardize=_check_flag(get("standardize"), "standardize"),
            verbose=_check_verbose(get("verbose")),
        )

    # -- fit -----------------------------------------------------------------

    def fit(self, X, y):
        """Train on ``X`` (n_samples, n_features) and ``y``; returns the estimator.

        With ``warm_start=True`` and a fitted (or assigned) ``parameters_``,
        training continues from them for ``epochs`` more epochs.

        Raises ValueError/TypeError for bad hyperparameters or data (the model
        is left as it was), TrainingDivergedError when the cost becomes NaN or
        infinite (the model keeps the last finite parameters). Ctrl-C stops
        training between chunks with a TrainingInterruptedWarning; the model
        keeps the parameters of the epochs completed.
        """
        name = type(self).__name__
        config = self._config()
        check_y_present(y, name)
        feature_names = fit_feature_names(self, X, config.warm_start)
        X = check_X(X, check_finite=False)  # checked from its column sums in prepare_inputs
        targets = self._prepare_targets(y, config)
        check_same_length(X, targets.labels)
        n_features = X.shape[1]
        layer_sizes = (n_features,) + config.hidden + (targets.n_outputs,)
        warm = self._warm_parameters(config, layer_sizes)
        check_fit_memory(name, layer_sizes, len(X), config, targets.scale_targets)
        mini_batches = config.batch_size is not None and config.batch_size < len(X)
        XT, x_mean, x_scale = scaling.prepare_inputs(X, config.dtype, config.standardize,
                                                     by_example=mini_batches)
        fitted_scaling = self._scaling(config, x_mean, x_scale, targets)
        del X  # only its shape is needed from here on; let a converted copy go
        kernel_module = kernels.get(config.backend)
        YT = self._transposed_targets(targets, fitted_scaling, config.dtype)
        init_sequence, order_sequence = np.random.SeedSequence(
            DEFAULT_SEED if config.seed is None else config.seed).spawn(2)
        if warm is not None:
            weights, biases = scaling.unfold(*warm, fitted_scaling, config.dtype)
        else:
            weights, biases = initialization.initialize(
                layer_sizes, config.init, np.random.default_rng(init_sequence), config.dtype)
        activations = config.activations + (self._output_activation(targets),)

        progress = make_progress(config.epochs, config.verbose, description=name)
        try:
            result = training.run(kernel_module, config.backend, weights, biases, XT, YT,
                                  list(activations), config.epochs, config.learning_rate,
                                  config.batch_size, config.momentum, config.l2,
                                  np.random.default_rng(order_sequence), progress)
        finally:
            progress.close()

        if config.standardize:
            weights, biases = scaling.fold(weights, biases, fitted_scaling, config.dtype)
        previous = self.history_ if warm is not None and hasattr(self, "history_") else None
        self._set_fitted(targets, layer_sizes, activations, weights, biases,
                         result.costs, previous, feature_names)

        if result.interrupted:
            warnings.warn(f"{name}.fit was interrupted after {result.epochs_done} of "
                          f"{config.epochs} epochs; the model keeps the parameters of the last "
                          "completed epoch", exceptions.TrainingInterruptedWarning, stacklevel=2)
        if result.diverged_epoch is not None:
            epoch = len(self.history_) + 1
            raise exceptions.TrainingDivergedError(
                f"{name}.fit diverged: the cost of epoch {epoch} is not finite (NaN or "
                f"infinity) with learning_rate={config.learning_rate:g}. Try a smaller "
                "learning_rate (or standardize=True, or a smaller momentum). The model keeps "
                f"the parameters of the last finite epoch ({epoch - 1}).", epoch)
        return self

    @staticmethod
    def _scaling(config, x_mean, x_scale, targets):
        if not targets.scale_targets:
            return scaling.Scaling(x_mean, x_scale)
        if not config.standardize:
            return scaling.Scaling(x_mean, x_scale, np.zeros(targets.n_outputs),
                                   np.ones(targets.n_outputs))
        return scaling.Scaling(x_mean, x_scale, *scaling.target_scaling(targets.values))

    def _warm_parameters(self, config, layer_sizes):
        """``(weights, biases)`` to continue from, checked; None for a fresh start."""
        if not config.warm_start or not hasattr(self, "parameters_"):
            return None
        fitted_features = getattr(self, "n_features_in_", layer_sizes[0])
        if fitted_features != layer_sizes[0]:
            raise ValueError(f"warm_start: X has {layer_sizes[0]} features, but the model was "
                             f"fitted with {fitted_features}; fit with warm_start=False to "
                             "start again")
        return initialization.check_parameters(self.parameters_, layer_sizes, np.float64)

    def _set_fitted(self, targets, layer_sizes, activations, weights, biases, costs,
                    previous_history, feature_names):
        self.parameters_ = initialization.parameters_dict(weights, biases)
        history = costs if previous_history is None else np.concatenate(
            [np.asarray(previous_history, dtype=np.float64), costs])
        self.history_ = history
        self.n_epochs_ = len(history)
        self.n_features_in_ = layer_sizes[0]
        self._layer_sizes = tuple(layer_sizes)
        self._activations = tuple(activations)
        self._set_target_attributes(targets)
        if feature_names is not None:
            self.feature_names_in_ = feature_names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    # -- forward -------------------------------------------------------------

    def _check_fitted(self):
        if not self.__sklearn_is_fitted__():
            raise exceptions.NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator (assigned parameters_ "
                "are used by a fit with warm_start=True).")

    def _output(self, X):
        """``Z[L]`` (before the output activation), examples as rows ``(m, n_out)``."""
        self._check_fitted()
        X = check_fitted_X(self, X)  # feature names, shape, finite, in the model's dtype
        backend = check_backend(self.backend)
        first = self.parameters_.get("W1") if isinstance(self.parameters_, dict) else None
        dtype = getattr(first, "dtype", None)
        dtype = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)
        weights, biases = initialization.check_parameters(
            self.parameters_, self._layer_sizes, dtype, copy=False, check_finite=False)
        XT = np.ascontiguousarray(X.T, dtype=dtype)
        # compiled kernels type read-only arrays (a memory-mapped model or X) apart from
        # writeable ones: hand them writeable arrays, one signature, no recompilation
        XT, *arrays = [a if a.flags.writeable else a.copy() for a in [XT] + weights + biases]
        weights, biases = arrays[:len(weights)], arrays[len(weights):]
        activations = list(self._activations[:-1]) + ["linear"]
        with kernel_guard(backend):
            Z = kernels.get(backend).forward(weights, biases, XT, activations)
        return np.asarray(Z).T
