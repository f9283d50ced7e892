"""The four benchmark workloads of the kernels issue, and the FLOPs of an epoch.

(a) the notes' planar net, 2-4-1 tanh/sigmoid, m = 400, full batch;
(b) cat images, 12288-20-7-5-1 relu/sigmoid, m = 209, full batch;
(c) MNIST-sized, 784-256-128-1 relu/sigmoid, m = 60000, mini-batches of 128;
(d) wide, 1024-1024-1024-1 relu/sigmoid, m = 8192, full batch.

Every consumer (``fastnn compare``, ``asv_benchmarks/``, ``scripts/``) takes the
workloads from here and chooses only its own budget: fewer examples
(``with_examples``) and the epochs it times; ``gpu_present`` says whether the cuda
variant can be timed.

This module imports nothing but NumPy, and nothing from fastnn: the asv
benchmarks load this file by its path (see ``asv_benchmarks/common.py``), so
that one definition measures every commit of the project, older ones included.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Workload:
    """A network and its data size: ``sizes (n[0], ..., n[L])``, the hidden layers'
    activation (the output is a sigmoid unit), ``examples`` m, ``batch_size`` (None:
    full batch) and the learning rate the workload is trained at."""

    key: str  # "a" .. "d"
    name: str  # the asv parameter value: stable, results are stored under it
    sizes: tuple[int, ...]
    hidden_activation: str
    examples: int
    batch_size: int | None
    learning_rate: float

    @property
    def activations(self) -> tuple[str, ...]:
        return (self.hidden_activation,) * (len(self.sizes) - 2) + ("sigmoid",)

    @property
    def label(self) -> str:
        """``(c) 784-256-128-1 relu/sigmoid, m=60000, batches of 128``."""
        batches = "full batch" if self.batch_size is None else f"batches of {self.batch_size}"
        return (
            f"({self.key}) {'-'.join(map(str, self.sizes))} {self.hidden_activation}/sigmoid, "
            f"m={self.examples}, {batches}"
        )

    def with_examples(self, examples: int) -> Workload:
        """The same network on fewer (or more) examples: a consumer's time budget."""
        return dataclasses.replace(self, examples=int(examples))

    def flops_per_epoch(self) -> int:
        return training_flops(self.sizes, self.examples)


def training_flops(sizes, examples: int) -> int:
    """Floating-point operations of one training epoch, matrix products only (2 per
    multiply-add): ``W A`` forward and ``dZ A^T`` (dW) for every layer, ``W^T dZ`` (dA)
    for every layer but the first, which no variant computes. Element-wise work is left
    out, as is usual."""
    macs = sum(
        n * n_prev * examples * (3 if layer else 2)
        for layer, (n_prev, n) in enumerate(zip(sizes[:-1], sizes[1:]))
    )
    return 2 * macs


WORKLOADS: dict[str, Workload] = {
    w.key: w
    for w in (
        Workload("a", "a_planar_2-4-1", (2, 4, 1), "tanh", 400, None, 1.2),
        Workload("b", "b_images_12288-20-7-5-1", (12288, 20, 7, 5, 1), "relu", 209, None, 0.0075),
        Workload("c", "c_minibatch_784-256-128-1", (784, 256, 128, 1), "relu", 60000, 128, 0.01),
        Workload("d", "d_wide_1024-1024-1024-1", (1024, 1024, 1024, 1), "relu", 8192, None, 0.01),
    )
}


def he_parameters(sizes, rng: np.random.Generator, dtype):
    """``(weights, biases)``: ``W[l] = randn * sqrt(2 / n[l-1])`` (He), ``b[l] = 0``."""
    weights = [
        (rng.standard_normal((n, n_prev)) * np.sqrt(2.0 / n_prev)).astype(dtype)
        for n_prev, n in zip(sizes[:-1], sizes[1:])
    ]
    return weights, [np.zeros((n, 1), dtype=dtype) for n in sizes[1:]]


def random_problem(workload: Workload, dtype, rng: np.random.Generator):
    """``(weights, biases, X (n_x, m), Y (1, m))``: He-initialised parameters, standard
    normal inputs, random 0/1 labels (for timing, the sizes are what matter)."""
    weights, biases = he_parameters(workload.sizes, rng, dtype)
    X = rng.standard_normal((workload.sizes[0], workload.examples)).astype(dtype)
    Y = (rng.random((1, workload.examples)) < 0.5).astype(dtype)
    return weights, biases, X, Y


def gpu_present() -> bool:
    """True where numba.cuda sees a real GPU (the CUDA simulator does not count): where the
    cuda variant is benchmarked."""
    try:
        from numba import config, cuda
    except ImportError:
        return False
    if getattr(config, "ENABLE_CUDASIM", False):
        return False
    try:
        return bool(cuda.is_available())
    except Exception:  # a broken driver is the same as no GPU here
        return False
