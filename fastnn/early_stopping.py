"""Early stopping: a validation split held out of ``fit``, checked after every epoch.

With ``early_stopping=True`` the fit holds out ``validation_fraction`` of the
rows (of each class, for a classifier), trains on the rest and, after each
epoch, computes on the held-out rows with the reference kernels' ``forward``:

- the validation cost: the training cost's loss (cross-entropy, or half the
  mean squared error in standardised units) *without* the L2 term, so that it
  measures the fit alone;
- the validation score: accuracy, or R^2 (what ``score`` returns).

It stops when the validation cost has not fallen below its best by more than
``tol`` for ``n_iter_no_change`` epochs in a row, and the model keeps the
parameters of the epoch of lowest validation cost (also when the epochs run
out). scikit-learn watches the validation score; the cost is finer-grained
than the accuracy of a small validation set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kernels import vectorized

from ._base import r2_score
from .validation import check_integer, check_real


@dataclass(frozen=True)
class StoppingSettings:
    """The early-stopping hyperparameters, checked."""

    early_stopping: bool = False
    validation_fraction: float = 0.1
    n_iter_no_change: int = 10
    tol: float = 1e-4


def check_stopping_settings(get, check_flag) -> StoppingSettings:
    """The settings from the hyperparameters (``get(name)``); ValueError/TypeError naming
    the first bad one."""
    return StoppingSettings(
        early_stopping=check_flag(get("early_stopping"), "early_stopping"),
        validation_fraction=check_real(
            get("validation_fraction"),
            "validation_fraction",
            low=0,
            high=1,
            low_open=True,
            high_open=True,
        ),
        n_iter_no_change=check_integer(get("n_iter_no_change"), "n_iter_no_change", minimum=1),
        tol=check_real(get("tol"), "tol", low=0),
    )


def validation_split(m, fraction, rng, groups=None):
    """``(train, validation)``: sorted row indices, ``fraction`` of the rows held out at
    random; with ``groups`` (each row's class index) the same fraction of each class,
    and every class keeps at least one training row. ValueError when none is held out."""
    if groups is None:
        members = [np.arange(m)]
    else:
        members = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    held = []
    for rows in members:
        count = min(int(round(fraction * len(rows))), len(rows) - 1)
        held.append(rng.permutation(rows)[:count])
    held = np.sort(np.concatenate(held)).astype(np.intp)
    if held.size == 0:
        raise ValueError(
            f"validation_fraction={fraction:g} of {m} samples holds out none: "
            "give more data, a larger validation_fraction, or "
            "early_stopping=False"
        )
    train = np.setdiff1d(np.arange(m), held, assume_unique=True)
    return train, held


class ValidationMonitor:
    """After each epoch: the validation cost and score, the best epoch's parameters, and
    whether to stop. ``X (n_x, m_val)``/``Y (n_out, m_val)`` are scaled as the training
    data; the score is invariant to the regressor's target scaling."""

    def __init__(self, X, Y, output_activation, settings: StoppingSettings, forward):
        self.X, self.Y, self.output = X, Y, output_activation
        self.settings, self.forward = settings, forward
        self.costs, self.scores = [], []
        self.best_cost, self.best_index, self.best = np.inf, None, None
        self.waited = 0

    def observe(self, weights, biases, activations) -> bool:
        """Record this epoch's validation cost and score; True when the run should stop."""
        # Z[L]: the output layer before its activation (the stable cross-entropy wants Z)
        Z = np.asarray(
            self.forward(weights, biases, self.X, list(activations[:-1]) + ["linear"]),
            dtype=np.float64,
        )
        Y = np.asarray(self.Y, dtype=np.float64)
        A = vectorized.activation_forward(Z, self.output)
        cost = float(vectorized.cost(Z, A, Y, self.output))
        self.costs.append(cost)
        self.scores.append(self._score(Z, Y))
        # scikit-learn's rule: an epoch counts as no improvement unless it beats the best by
        # more than tol; the best (kept) is the lowest cost, however small its lead
        self.waited = self.waited + 1 if cost > self.best_cost - self.settings.tol else 0
        if cost < self.best_cost:
            self.best_cost, self.best_index = cost, len(self.costs) - 1
            self.best = [p.copy() for p in weights + biases]
        return self.waited >= self.settings.n_iter_no_change

    def _score(self, Z, Y):
        if self.output == "linear":
            return r2_score(Y.T, Z.T)
        if self.output == "sigmoid":
            return float(np.mean((Z[0] > 0) == (Y[0] > 0.5)))
        return float(np.mean(np.argmax(Z, axis=0) == np.argmax(Y, axis=0)))

    def restore_best(self, weights, biases):
        """Put the best epoch's parameters back into ``weights``/``biases`` (in place)."""
        if self.best is not None:
            for p, saved in zip(weights + biases, self.best):
                p[...] = saved
