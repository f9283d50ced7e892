"""Data-parallel training on a Dask cluster (``pip install 'fastnn[dask]'``).

The rows of the training set stay on the workers, in partitions; each step
the current parameters go out, each partition sums its rows' gradients with
the kernels, a tree of tasks adds the sums, and the client applies the update
once. See ``docs/distributed.md``.

- ``load_partitions(client, X, y, ...)``: checked row partitions persisted on the workers;
- ``train(partitions, weights, biases, ...)``: the kernels' ``train``, data-parallel;
- ``fit(estimator, X, y, client)``: an estimator's ``fit``, data-parallel; returns the
  fitted (ordinary, local) estimator.
"""

try:
    import distributed as _distributed  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError("fastnn.distributed needs Dask: pip install 'fastnn[dask]'") from error

from .encoding import LabelTargets, NumericTargets, TransposedInputs
from .estimator import fit
from .partitions import RowPartitions, load_partitions
from .trainer import TrainingInterrupted, WorkerLost, train

__all__ = [
    "LabelTargets",
    "NumericTargets",
    "RowPartitions",
    "TrainingInterrupted",
    "TransposedInputs",
    "WorkerLost",
    "fit",
    "load_partitions",
    "train",
]
