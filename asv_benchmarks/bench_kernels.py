"""The kernel contract's building blocks, per variant x dtype x size.

Sizes are the layers of the four workloads (``MxKxN`` products, ``n x n_prev x m``
layers). Every ``setup`` calls the benchmarked function once, so a JIT variant
compiles there and never inside a timed body.
"""

import time

import numpy as np

from kernels.contract import HIDDEN_ACTIVATIONS as _HIDDEN_ACTIVATIONS

from .common import (
    DTYPES,
    VARIANTS,
    WORKLOADS,
    get_variant,
    parse_shape,
    random_matrix,
    skip_loops_if_large,
)


def _first_layer(workload):
    """``"n1xn0xm"``: the first layer's product, on a mini-batch where there are batches."""
    m = workload.batch_size or workload.examples
    return f"{workload.sizes[1]}x{workload.sizes[0]}x{m}"


#: Products ``(M x K) @ (K x N)``: the planar layer, the skinny first layer of (b),
#: a mini-batch layer of (c), and the square product of (d) ("4x2x400", ...).
PRODUCTS = [_first_layer(w) for w in WORKLOADS.values()]

#: Dense layers ``n x n_prev x m`` with their activation ("4x2x400 tanh", ...).
LAYERS = [f"{_first_layer(w)} {w.hidden_activation}" for w in WORKLOADS.values()]

HIDDEN_ACTIVATIONS = list(_HIDDEN_ACTIVATIONS)

#: Element-wise sizes ``n x m``: the planar hidden layer, a wide layer.
ELEMENTWISE = ["4x400", "256x4096"]


def _best_seconds(call, repeat=5):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


class Matmul:
    params = [VARIANTS, DTYPES, PRODUCTS]
    param_names = ["variant", "dtype", "MxKxN"]

    def setup(self, variant, dtype, shape):
        M, K, N = parse_shape(shape)
        skip_loops_if_large(variant, M * K * N)
        self.kernels = get_variant(variant)
        rng = np.random.default_rng(0)
        self.A = random_matrix(rng, (M, K), dtype)
        self.B = random_matrix(rng, (K, N), dtype)
        self.flops = 2 * M * K * N
        self.kernels.matmul(self.A, self.B)  # JIT warm-up

    def time_matmul(self, variant, dtype, shape):
        self.kernels.matmul(self.A, self.B)

    def track_gflops(self, variant, dtype, shape):
        return self.flops / _best_seconds(lambda: self.kernels.matmul(self.A, self.B)) / 1e9

    track_gflops.unit = "GFLOP/s"


class _Layer:
    params = [VARIANTS, DTYPES, LAYERS]
    param_names = ["variant", "dtype", "layer"]

    def setup(self, variant, dtype, layer):
        shape, self.activation = layer.split()
        n, n_prev, m = parse_shape(shape)
        skip_loops_if_large(variant, n * n_prev * m)
        self.kernels = get_variant(variant)
        rng = np.random.default_rng(0)
        self.A_prev = random_matrix(rng, (n_prev, m), dtype)
        self.W = random_matrix(rng, (n, n_prev), dtype) * np.dtype(dtype).type(np.sqrt(1 / n_prev))
        self.b = random_matrix(rng, (n, 1), dtype)
        self.dA = random_matrix(rng, (n, m), dtype)
        self.Z = self.W @ self.A_prev + self.b


class DenseForward(_Layer):
    def setup(self, variant, dtype, layer):
        super().setup(variant, dtype, layer)
        self.time_dense_forward(variant, dtype, layer)  # JIT warm-up

    def time_dense_forward(self, variant, dtype, layer):
        self.kernels.dense_forward(self.A_prev, self.W, self.b, self.activation)


class DenseBackward(_Layer):
    def setup(self, variant, dtype, layer):
        super().setup(variant, dtype, layer)
        self.time_dense_backward(variant, dtype, layer)  # JIT warm-up

    def time_dense_backward(self, variant, dtype, layer):
        self.kernels.dense_backward(self.dA, self.A_prev, self.W, self.Z, self.activation)


class _Elementwise:
    param_names = ["variant", "dtype", "activation", "n x m"]

    def setup(self, variant, dtype, activation, shape):
        n, m = parse_shape(shape)
        skip_loops_if_large(variant, n * m)
        self.kernels = get_variant(variant)
        rng = np.random.default_rng(0)
        self.Z = random_matrix(rng, (n, m), dtype) * np.dtype(dtype).type(3)
        self.dA = random_matrix(rng, (n, m), dtype)


class ActivationForward(_Elementwise):
    params = [VARIANTS, DTYPES, HIDDEN_ACTIVATIONS + ["softmax"], ELEMENTWISE]

    def setup(self, variant, dtype, activation, shape):
        super().setup(variant, dtype, activation, shape)
        self.kernels.activation_forward(self.Z, activation)  # JIT warm-up

    def time_activation_forward(self, variant, dtype, activation, shape):
        self.kernels.activation_forward(self.Z, activation)


class ActivationBackward(_Elementwise):
    # softmax has no backward of its own: as an output its dZ comes from the cost.
    params = [VARIANTS, DTYPES, HIDDEN_ACTIVATIONS, ELEMENTWISE]

    def setup(self, variant, dtype, activation, shape):
        super().setup(variant, dtype, activation, shape)
        self.kernels.activation_backward(self.dA, self.Z, activation)  # JIT warm-up

    def time_activation_backward(self, variant, dtype, activation, shape):
        self.kernels.activation_backward(self.dA, self.Z, activation)
