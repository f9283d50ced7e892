"""What ``y`` becomes in ``fit``: classifier targets or regressor targets, each typed.

Each kind knows its output activation (which fixes the cost), its part of the
standardisation, how it is laid out for the kernels (``(n_outputs, m)``), and
the fitted attributes it leaves on the estimator. On a Dask cluster the rows
stay on the workers: the per-example field is then None (``without_rows``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from . import scaling


@dataclass(frozen=True)
class ClassifierTargets:
    """Class labels: ``classes`` (sorted, or the fitted ``classes_`` on a warm start) and
    ``indices``, each example's index into ``classes`` (None where the rows are elsewhere)."""

    classes: np.ndarray
    indices: np.ndarray | None

    @property
    def n_outputs(self) -> int:
        # two classes: one sigmoid unit; more: one softmax unit per class
        return 1 if len(self.classes) == 2 else len(self.classes)

    @property
    def output_activation(self) -> str:
        return "sigmoid" if self.n_outputs == 1 else "softmax"

    @property
    def n_examples(self) -> int:
        return len(self.indices)

    def without_rows(self) -> ClassifierTargets:
        return dataclasses.replace(self, indices=None)

    def rows(self, index) -> ClassifierTargets:
        """The targets of the rows ``index`` (every class kept: a validation split)."""
        return dataclasses.replace(self, indices=self.indices[index])

    def scaling(self, x_mean, x_scale, standardize, y_mean_scale=None) -> scaling.Scaling:
        """Labels are never scaled."""
        return scaling.Scaling(x_mean, x_scale)

    def transposed(self, fitted_scaling, dtype) -> np.ndarray:
        """``Y (n_outputs, m)``: ``y == classes[1]`` for two classes, one-hot rows for more."""
        m = len(self.indices)
        if self.n_outputs == 1:
            return (self.indices == 1).astype(dtype).reshape(1, m)
        Y = np.zeros((self.n_outputs, m), dtype=dtype)
        Y[self.indices, np.arange(m)] = 1
        return Y

    def fitted_attributes(self) -> dict:
        return {"classes_": self.classes}


@dataclass(frozen=True)
class RegressorTargets:
    """Numbers: ``values`` float64 ``(m, n_outputs)`` (None where the rows are elsewhere),
    and whether ``y`` was 1-D (``predict`` then returns 1-D)."""

    values: np.ndarray | None
    n_outputs: int
    one_dimensional: bool

    output_activation = "linear"

    @property
    def n_examples(self) -> int:
        return len(self.values)

    def without_rows(self) -> RegressorTargets:
        return dataclasses.replace(self, values=None)

    def rows(self, index) -> RegressorTargets:
        """The targets of the rows ``index`` (a validation split)."""
        return dataclasses.replace(self, values=self.values[index])

    def scaling(self, x_mean, x_scale, standardize, y_mean_scale=None) -> scaling.Scaling:
        """The inputs' scaling and the targets': standardised with ``standardize`` (from
        ``values``, or ``y_mean_scale`` when the mean and scale are already known),
        else the identity."""
        if not standardize:
            return scaling.Scaling(
                x_mean, x_scale, np.zeros(self.n_outputs), np.ones(self.n_outputs)
            )
        if y_mean_scale is None:
            y_mean_scale = scaling.target_scaling(self.values)
        return scaling.Scaling(x_mean, x_scale, *y_mean_scale)

    def transposed(self, fitted_scaling, dtype) -> np.ndarray:
        return scaling.transposed_targets(self.values, fitted_scaling, dtype)

    def fitted_attributes(self) -> dict:
        return {"n_outputs_": self.n_outputs, "_one_dimensional_targets": self.one_dimensional}


Targets = ClassifierTargets | RegressorTargets
