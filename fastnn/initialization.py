"""Initial parameters: ``W[l]`` random, ``b[l] = 0`` (the notes, section 3.5).

- ``"small"``: ``randn * 0.01`` (the notes' default);
- ``"xavier"``: ``randn * sqrt(1 / n[l-1])`` (tanh, sigmoid);
- ``"he"``: ``randn * sqrt(2 / n[l-1])`` (relu);
- ``"zeros"``: ``W = 0`` (logistic regression, the notes' section 2.3: a convex
  cost has no symmetry to break).

Numbers are drawn in float64 from a NumPy Generator and then cast, so that a
float32 and a float64 model with the same seed start from the same values.
"""

import numpy as np

SCALES = {
    "small": lambda n_prev: 0.01,
    "xavier": lambda n_prev: np.sqrt(1.0 / n_prev),
    "he": lambda n_prev: np.sqrt(2.0 / n_prev),
}


def initialize(layer_sizes, init, rng, dtype):
    """``(weights, biases)`` for ``layer_sizes = (n[0], n[1], ..., n[L])``.

    ``weights[l-1].shape == (n[l], n[l-1])``, ``biases[l-1].shape == (n[l], 1)``,
    C-contiguous, of ``dtype``.
    """
    weights, biases = [], []
    for n_prev, n in zip(layer_sizes[:-1], layer_sizes[1:]):
        if init == "zeros":
            W = np.zeros((n, n_prev))
        else:
            W = rng.standard_normal((n, n_prev)) * SCALES[init](n_prev)
        weights.append(np.ascontiguousarray(W, dtype=dtype))
        biases.append(np.zeros((n, 1), dtype=dtype))
    return weights, biases


def parameters_dict(weights, biases):
    """The notes' names: ``{"W1": ..., "b1": ..., "W2": ...}``."""
    parameters = {}
    for layer, (W, b) in enumerate(zip(weights, biases), start=1):
        parameters[f"W{layer}"] = W
        parameters[f"b{layer}"] = b
    return parameters


def check_parameters(
    parameters, layer_sizes, dtype, name="parameters_", copy=True, check_finite=True
):
    """``(weights, biases)`` from a ``{"W1": ..., "b1": ...}`` dict, checked against
    the expected ``layer_sizes``; C-contiguous arrays of ``dtype`` (fresh copies
    with ``copy``, else copied only where a conversion is needed).

    ValueError/TypeError naming the entry that is missing, of the wrong shape,
    not numeric or not finite.
    """
    if not isinstance(parameters, dict):
        raise TypeError(
            f"{name} must be a dict {{'W1': array, 'b1': array, ...}}, "
            f"got {type(parameters).__name__}"
        )
    n_layers = len(layer_sizes) - 1
    expected_keys = {f"{p}{l}" for l in range(1, n_layers + 1) for p in "Wb"}
    if set(parameters) != expected_keys:
        raise ValueError(
            f"{name} must have the keys {sorted(expected_keys)} for layer sizes "
            f"{tuple(layer_sizes)}, got {sorted(map(str, parameters))}"
        )
    weights, biases = [], []
    for layer in range(1, n_layers + 1):
        shapes = {"W": (layer_sizes[layer], layer_sizes[layer - 1]), "b": (layer_sizes[layer], 1)}
        for prefix, target in (("W", weights), ("b", biases)):
            key = f"{prefix}{layer}"
            try:
                array = np.array(parameters[key], dtype=dtype, order="C", copy=copy or None)
            except (TypeError, ValueError) as error:
                raise TypeError(f"{name}[{key!r}] must be a numeric array: {error}") from None
            if array.shape != shapes[prefix]:
                raise ValueError(
                    f"{name}[{key!r}] has shape {array.shape}, expected "
                    f"{shapes[prefix]} for layer sizes {tuple(layer_sizes)}"
                )
            if check_finite and not np.isfinite(array).all():
                raise ValueError(f"{name}[{key!r}] contains NaN or infinity")
            target.append(array)
    return weights, biases
