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
``b[l].shape == (n[l], 1)``.
"""

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
