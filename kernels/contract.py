"""Names shared by every kernel variant.

Every variant module (``loops``, ``vectorized``, ``jit``, ``cuda``) exposes the
same functions, in the same order, with the same meaning:

1. activations and their derivatives: ``sigmoid``, ``tanh``, ``relu``,
   ``leaky_relu``, ``linear`` (each with ``<name>_derivative``), ``softmax``,
   and the dispatchers ``activation_forward`` / ``activation_backward``;
2. the matrix product ``matmul`` and the dense layer pair ``dense_forward`` /
   ``dense_backward`` (with ``linear_backward`` for a known ``dZ``);
3. the costs ``binary_cross_entropy``, ``categorical_cross_entropy``,
   ``mean_squared_error``, the output gradient ``output_gradient``
   (``dZ[L] = A[L] - Y`` for each output/cost pair), ``cost`` and ``l2_penalty``;
4. the update ``gradient_descent_step`` (plain, momentum, L2 through ``dW``);
5. ``forward`` (prediction) and ``train`` (a whole run in one call).

Notation is the notes': ``X.shape == (n_x, m)``, ``W[l].shape == (n[l], n[l-1])``,
``b[l].shape == (n[l], 1)``. ``Variant`` below states the signatures once; the
compiled variants check their arguments with ``kernels.checks``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

Array = np.ndarray

#: Hidden-layer activations, in the order of their integer codes (used by
#: compiled variants, which cannot dispatch on strings cheaply).
HIDDEN_ACTIVATIONS = ("linear", "sigmoid", "tanh", "relu", "leaky_relu")

#: Output activations and the cost each is paired with; every pair has
#: ``dZ[L] = A[L] - Y``.
OUTPUT_COSTS = {
    "sigmoid": "binary_cross_entropy",
    "softmax": "categorical_cross_entropy",
    "linear": "mean_squared_error",
}

#: All activation names, with integer codes shared by every compiled variant.
ACTIVATION_CODES = {name: code for code, name in enumerate(HIDDEN_ACTIVATIONS + ("softmax",))}

#: Slope of leaky ReLU for negative inputs: ``max(0.01 z, z)`` as in the notes.
LEAKY_SLOPE = 0.01


def activation_code(name):
    """Integer code of an activation name; ValueError naming the choices."""
    try:
        return ACTIVATION_CODES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"activation must be one of {sorted(ACTIVATION_CODES)}, got {name!r}"
        ) from None


def check_output_activation(name):
    """Raise ValueError unless ``name`` is an output activation with a cost."""
    if name not in OUTPUT_COSTS:
        raise ValueError(
            f"output activation must be one of {sorted(OUTPUT_COSTS)}, got {name!r}"
        )
    return name


class Variant(Protocol):
    """What every variant module provides (``kernels.get(name)`` returns one).

    Arrays are float32 or float64, one dtype per call; ``activations`` names one
    activation per layer, the output's last (a key of ``OUTPUT_COSTS``).
    """

    # 1. activations: g(Z) and g'(Z) element-wise; softmax over each column
    def sigmoid(self, Z: Array) -> Array: ...
    def sigmoid_derivative(self, Z: Array) -> Array: ...
    def tanh(self, Z: Array) -> Array: ...
    def tanh_derivative(self, Z: Array) -> Array: ...
    def relu(self, Z: Array) -> Array: ...
    def relu_derivative(self, Z: Array) -> Array: ...
    def leaky_relu(self, Z: Array, slope: float = LEAKY_SLOPE) -> Array: ...
    def leaky_relu_derivative(self, Z: Array, slope: float = LEAKY_SLOPE) -> Array: ...
    def linear(self, Z: Array) -> Array: ...
    def linear_derivative(self, Z: Array) -> Array: ...
    def softmax(self, Z: Array) -> Array: ...
    def activation_forward(self, Z: Array, activation: str) -> Array: ...
    def activation_backward(self, dA: Array, Z: Array, activation: str) -> Array: ...

    # 2. the product and the dense layer: forward returns (A, Z), backward (dA_prev, dW, db)
    def matmul(self, A: Array, B: Array) -> Array: ...
    def dense_forward(self, A_prev: Array, W: Array, b: Array,
                      activation: str) -> tuple[Array, Array]: ...
    def linear_backward(self, dZ: Array, A_prev: Array, W: Array, l2: float = 0.0,
                        m_total: int | None = None) -> tuple[Array, Array, Array]: ...
    def dense_backward(self, dA: Array, A_prev: Array, W: Array, Z: Array, activation: str,
                       l2: float = 0.0,
                       m_total: int | None = None) -> tuple[Array, Array, Array]: ...

    # 3. costs (from Z where a log is involved: never log(0)) and dZ[L] = A[L] - Y
    def binary_cross_entropy(self, Z: Array, Y: Array) -> float: ...
    def categorical_cross_entropy(self, Z: Array, Y: Array) -> float: ...
    def mean_squared_error(self, A: Array, Y: Array) -> float: ...
    def output_gradient(self, A: Array, Y: Array) -> Array: ...
    def cost(self, Z: Array, A: Array, Y: Array, output_activation: str) -> float: ...
    def l2_penalty(self, weights: Sequence[Array], l2: float, m: int) -> float: ...

    # 4. the update, in place: v = momentum v + (1 - momentum) grad; param -= rate v
    def gradient_descent_step(self, param: Array, grad: Array, velocity: Array,
                              learning_rate: float, momentum: float) -> None: ...

    # 5. prediction A[L], and a whole run in place returning each epoch's cost (float64;
    #    NaN after a divergence, the last finite parameters kept); orders (epochs, m)
    def forward(self, weights: Sequence[Array], biases: Sequence[Array], X: Array,
                activations: Sequence[str]) -> Array: ...
    def train(self, weights: list[Array], biases: list[Array], X: Array, Y: Array,
              activations: Sequence[str], epochs: int, learning_rate: float,
              batch_size: int | None = None, momentum: float = 0.0, l2: float = 0.0,
              orders: Array | None = None,
              velocities: tuple[list[Array], list[Array]] | None = None) -> Array: ...
