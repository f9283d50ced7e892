"""What the benchmark modules share: the variants, the workloads, problem builders.

The benchmarks depend on the kernel contract only (``kernels.get``, ``kernels.VARIANTS``
and the functions of ``kernels/vectorized.py``) and on ``fastnn/workloads.py`` of this
checkout (loaded by its path), not on the rest of ``fastnn``, so that
``asv run`` over older commits measures whatever those commits have. A variant
that a commit does not have, or that needs a GPU this machine lacks, is skipped
by raising ``NotImplementedError`` in ``setup`` (asv's way to skip).
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np

from kernels import VARIANTS as _VARIANTS


def _load_workloads():
    """``fastnn/workloads.py`` of this checkout, loaded by its path rather than imported:
    ``scripts/asv_history.sh`` puts an older commit first on the import path, and the
    benchmarks must measure every commit on the same workloads."""
    path = Path(__file__).resolve().parent.parent / "fastnn" / "workloads.py"
    spec = importlib.util.spec_from_file_location("_asv_fastnn_workloads", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses looks its module up by name
    spec.loader.exec_module(module)
    return module


_workloads = _load_workloads()
training_flops = _workloads.training_flops
gpu_present = _workloads.gpu_present

#: Every kernel variant; "loops" only runs on the tiny sizes.
VARIANTS = list(_VARIANTS)
DTYPES = ["float64", "float32"]

#: asv's time budget (one call a fraction of a second with NumPy): examples, and epochs
#: per timed call, of each workload. (c) scaled from 60000 examples, (d) from 8192.
_BUDGET = {"a": (400, 50), "b": (209, 5), "c": (2048, 1), "d": (1024, 1)}

#: The workloads at asv's budget, by their asv names ("a_planar_2-4-1", ...).
WORKLOADS = {w.name: w.with_examples(_BUDGET[key][0]) for key, w in _workloads.WORKLOADS.items()}
WORKLOADS_BY_KEY = {w.key: w for w in WORKLOADS.values()}
EPOCHS = {_workloads.WORKLOADS[key].name: epochs for key, (_, epochs) in _BUDGET.items()}

#: Workloads small enough for the explicit loops.
LOOPS_WORKLOADS = {_workloads.WORKLOADS["a"].name}

#: Multiply-adds above which the loops variant is not run (about a second).
LOOPS_MAX_MACS = 20_000


def get_variant(name):
    """The kernel module of a variant, or NotImplementedError (asv skips the benchmark)."""
    import kernels

    if name == "cuda" and not gpu_present():
        raise NotImplementedError("cuda needs a GPU (the simulator is for tests only)")
    try:
        return kernels.get(name)
    except (ImportError, ValueError, AttributeError) as error:
        raise NotImplementedError(f"variant {name!r} not available: {error}") from None


def parse_shape(text):
    """``"20x12288x209"`` -> ``(20, 12288, 209)``."""
    return tuple(int(part) for part in text.split("x"))


def skip_loops_if_large(variant, macs):
    if variant == "loops" and macs > LOOPS_MAX_MACS:
        raise NotImplementedError("loops runs on tiny sizes only")


def random_matrix(rng, shape, dtype):
    return np.ascontiguousarray(rng.standard_normal(shape), dtype=dtype)


class TrainingProblem:
    """A workload's data, initial parameters and work buffers, ready for ``train``."""

    def __init__(self, workload, dtype, seed=0):
        spec = WORKLOADS[workload]
        self.sizes, self.activations = spec.sizes, spec.activations
        self.examples, self.batch_size = spec.examples, spec.batch_size
        self.learning_rate, self.epochs = spec.learning_rate, EPOCHS[workload]
        dtype = np.dtype(dtype)
        rng = np.random.default_rng(seed)
        sizes, m = spec.sizes, spec.examples
        if workload.startswith("a_"):
            self.X, self.Y = _planar(m, dtype)
        else:
            self.X = random_matrix(rng, (sizes[0], m), dtype)
            self.Y = (rng.random((1, m)) < 0.5).astype(dtype)
        # The notes' small init for the planar net, He init for the ReLU nets.
        scales = [
            0.01 if workload.startswith("a_") else np.sqrt(2.0 / n_prev) for n_prev in sizes[:-1]
        ]
        self.initial_weights = [
            (rng.standard_normal((n, n_prev)) * scale).astype(dtype)
            for n_prev, n, scale in zip(sizes[:-1], sizes[1:], scales)
        ]
        self.initial_biases = [np.zeros((n, 1), dtype=dtype) for n in sizes[1:]]
        self.weights = [W.copy() for W in self.initial_weights]
        self.biases = [b.copy() for b in self.initial_biases]
        self.orders = None
        if self.batch_size is not None:
            orders = [rng.permutation(m) for _ in range(self.epochs)]
            self.orders = np.stack(orders).astype(np.int64)
        self.flops_per_call = training_flops(sizes, m) * self.epochs

    def reset(self):
        """Back to the initial parameters (a cheap copy; every call trains the same run)."""
        for param, initial in zip(
            self.weights + self.biases, self.initial_weights + self.initial_biases
        ):
            param[...] = initial

    def train(self, module, epochs=None):
        """One whole run from the initial parameters; returns the costs."""
        epochs = epochs or self.epochs
        orders = None if self.orders is None else self.orders[:epochs]
        self.reset()
        return module.train(
            self.weights,
            self.biases,
            self.X,
            self.Y,
            list(self.activations),
            epochs,
            self.learning_rate,
            batch_size=self.batch_size,
            orders=orders,
        )


def _planar(m, dtype):
    """The notes' planar data in the kernels' layout; fastnn.datasets if this commit has it."""
    try:
        from fastnn.datasets import planar
    except ImportError as error:
        raise NotImplementedError(f"fastnn.datasets.planar not available: {error}") from None
    X, y = planar(m=m, seed=1)
    return np.ascontiguousarray(X.T, dtype=dtype), y.reshape(1, -1).astype(dtype)
