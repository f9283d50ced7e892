"""What the benchmark modules share: the variants, the workloads, problem builders.

The benchmarks depend on the kernel contract only (``kernels.get`` and the
functions of ``kernels/vectorized.py``), not on the rest of ``fastnn``, so that
``asv run`` over older commits measures whatever those commits have. A variant
that a commit does not have, or that needs a GPU this machine lacks, is skipped
by raising ``NotImplementedError`` in ``setup`` (asv's way to skip).
"""

import numpy as np

#: Every kernel variant; "loops" only runs on the tiny sizes.
VARIANTS = ["loops", "numpy", "numba", "cuda"]
DTYPES = ["float64", "float32"]

#: The four workloads of the kernels issue, scaled to asv's time budget (one
#: call a fraction of a second with NumPy): layer sizes, activations, examples,
#: batch size (None = full batch), epochs per timed call, learning rate.
WORKLOADS = {
    # (a) the notes' planar net, m = 400, full batch
    "a_planar_2-4-1": dict(sizes=(2, 4, 1), activations=("tanh", "sigmoid"), examples=400,
                           batch_size=None, epochs=50, learning_rate=1.2),
    # (b) cat images, 12288-20-7-5-1, m = 209, full batch
    "b_images_12288-20-7-5-1": dict(sizes=(12288, 20, 7, 5, 1),
                                    activations=("relu", "relu", "relu", "sigmoid"),
                                    examples=209, batch_size=None, epochs=5,
                                    learning_rate=0.0075),
    # (c) MNIST-sized, 784-256-128-1, mini-batches of 128; m scaled from 60000 to 2048
    "c_minibatch_784-256-128-1": dict(sizes=(784, 256, 128, 1),
                                      activations=("relu", "relu", "sigmoid"), examples=2048,
                                      batch_size=128, epochs=1, learning_rate=0.01),
    # (d) wide, 1024-1024-1024-1, full batch; m scaled from 8192 to 1024
    "d_wide_1024-1024-1024-1": dict(sizes=(1024, 1024, 1024, 1),
                                    activations=("relu", "relu", "sigmoid"), examples=1024,
                                    batch_size=None, epochs=1, learning_rate=0.01),
}

#: Workloads small enough for the explicit loops.
LOOPS_WORKLOADS = {"a_planar_2-4-1"}

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


def gpu_present():
    """True where numba.cuda sees a real GPU, not the simulator."""
    try:
        from numba import config, cuda

        return not getattr(config, "ENABLE_CUDASIM", False) and bool(cuda.is_available())
    except Exception:  # no numba.cuda, or a broken driver: no GPU
        return False


def parse_shape(text):
    """``"20x12288x209"`` -> ``(20, 12288, 209)``."""
    return tuple(int(part) for part in text.split("x"))


def skip_loops_if_large(variant, macs):
    if variant == "loops" and macs > LOOPS_MAX_MACS:
        raise NotImplementedError("loops runs on tiny sizes only")


def random_matrix(rng, shape, dtype):
    return np.ascontiguousarray(rng.standard_normal(shape), dtype=dtype)


def training_flops(sizes, examples):
    """Floating-point operations of one epoch, matrix products only (2 per multiply-add):
    ``W A`` forward, ``dZ A^T`` for dW, ``W^T dZ`` for every layer but the first."""
    macs = sum(n * n_prev * examples * (3 if layer else 2)
               for layer, (n_prev, n) in enumerate(zip(sizes[:-1], sizes[1:])))
    return 2 * macs


class TrainingProblem:
    """A workload's data, initial parameters and work buffers, ready for ``train``."""

    def __init__(self, workload, dtype, seed=0):
        spec = WORKLOADS[workload]
        self.__dict__.update(spec)
        dtype = np.dtype(dtype)
        rng = np.random.default_rng(seed)
        sizes, m = spec["sizes"], spec["examples"]
        if workload.startswith("a_"):
            self.X, self.Y = _planar(m, dtype)
        else:
            self.X = random_matrix(rng, (sizes[0], m), dtype)
            self.Y = (rng.random((1, m)) < 0.5).astype(dtype)
        # The notes' small init for the planar net, He init for the ReLU nets.
        scales = [0.01 if workload.startswith("a_") else np.sqrt(2.0 / n_prev)
                  for n_prev in sizes[:-1]]
        self.initial_weights = [(rng.standard_normal((n, n_prev)) * scale).astype(dtype)
                                for n_prev, n, scale in zip(sizes[:-1], sizes[1:], scales)]
        self.initial_biases = [np.zeros((n, 1), dtype=dtype) for n in sizes[1:]]
        self.weights = [W.copy() for W in self.initial_weights]
        self.biases = [b.copy() for b in self.initial_biases]
        self.orders = None
        if self.batch_size is not None:
            self.orders = np.stack([rng.permutation(m) for _ in range(self.epochs)]).astype(np.int64)
        self.flops_per_call = training_flops(sizes, m) * self.epochs

    def reset(self):
        """Back to the initial parameters (a cheap copy; every call trains the same run)."""
        for param, initial in zip(self.weights + self.biases,
                                  self.initial_weights + self.initial_biases):
            param[...] = initial

    def train(self, module, epochs=None):
        """One whole run from the initial parameters; returns the costs."""
        epochs = epochs or self.epochs
        orders = None if self.orders is None else self.orders[:epochs]
        self.reset()
        return module.train(self.weights, self.biases, self.X, self.Y, list(self.activations),
                            epochs, self.learning_rate, batch_size=self.batch_size, orders=orders)


def _planar(m, dtype):
    """The notes' planar data in the kernels' layout; fastnn.datasets if this commit has it."""
    try:
        from fastnn.datasets import planar
    except ImportError as error:
        raise NotImplementedError(f"fastnn.datasets.planar not available: {error}") from None
    X, y = planar(m=m, seed=1)
    return np.ascontiguousarray(X.T, dtype=dtype), y.reshape(1, -1).astype(dtype)
