"""The argument checks of the kernel contract, written once for every variant.

A wrong argument should get the same ``ValueError`` whichever variant trains, and the
compiled variants' integer activation codes come from ``contract`` only. ``cuda`` calls
these; ``jit`` is to call them in place of its own copies, and ``loops``/``vectorized``
to call ``check_batches`` (today they index with the orders unchecked: an index out of
range is an IndexError, a negative one wraps). ``tests/test_variants.py`` marks each
variant that does not yet check as the contract says.
"""

import math

import numpy as np

from .contract import ACTIVATION_CODES, HIDDEN_ACTIVATIONS, OUTPUT_COSTS


def hidden_code(activation):
    """The integer code of a hidden-layer activation; ValueError naming the choices."""
    if activation not in HIDDEN_ACTIVATIONS:
        raise ValueError(
            f"hidden activation must be one of {sorted(HIDDEN_ACTIVATIONS)}, got {activation!r}"
        )
    return ACTIVATION_CODES[activation]


def output_code(activation):
    """The integer code of an output activation (one with a cost); ValueError otherwise."""
    if activation not in OUTPUT_COSTS:
        raise ValueError(
            f"output activation must be one of {sorted(OUTPUT_COSTS)}, got {activation!r}"
        )
    return ACTIVATION_CODES[activation]


def network_codes(activations):
    """``(hidden codes, output code)`` of a network's activations, one per layer, the
    output's last."""
    if len(activations) == 0:
        raise ValueError("activations must name one activation per layer (at least one)")
    return tuple(hidden_code(a) for a in activations[:-1]), output_code(activations[-1])


def check_epochs(epochs):
    """``epochs`` as an int >= 0."""
    epochs = int(epochs)
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    return epochs


def check_batches(batch_size, orders, epochs, m, index_dtype=np.intp):
    """``(batch_size, orders)`` for ``m`` examples: ``(None, None)`` for full batch
    (``batch_size`` None or >= m: ``orders`` is not used); else the batch size and the
    orders as a C-contiguous ``index_dtype`` array of shape exactly ``(epochs, m)``,
    every entry an example index in ``[0, m)``."""
    if batch_size is not None and int(batch_size) < 1:
        raise ValueError(f"batch_size must be None or >= 1, got {batch_size!r}")
    if batch_size is None or batch_size >= m:
        return None, None
    orders = None if orders is None else np.asarray(orders)
    if orders is None or orders.shape != (epochs, m) or not np.issubdtype(orders.dtype, np.integer):
        raise ValueError(
            f"orders must be an integer array of shape {(epochs, m)} for "
            f"mini-batches, got {None if orders is None else orders.shape}"
        )
    if orders.size and (orders.min() < 0 or orders.max() >= m):
        raise ValueError(f"orders must hold example indices in [0, {m})")
    return int(batch_size), np.ascontiguousarray(orders, dtype=index_dtype)


def check_finite(**values):
    """Each named number finite (a learning rate, a momentum, an L2 strength)."""
    for name, value in values.items():
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")


def check_velocities(velocities, weights, biases, dtype):
    """``velocities = (v_weights, v_biases)``: one array per parameter, of its shape and
    ``dtype``; None passes (the run starts from zero velocities)."""
    if velocities is None:
        return
    v_weights, v_biases = velocities
    if len(v_weights) != len(weights) or len(v_biases) != len(biases):
        raise ValueError("velocities must hold one array per weight and per bias")
    for name, params, vs in (("weights", weights, v_weights), ("biases", biases, v_biases)):
        for l, (p, v) in enumerate(zip(params, vs)):
            if np.shape(v) != np.shape(p) or np.asarray(v).dtype != dtype:
                raise ValueError(
                    f"velocities of {name}[{l}] must match the parameter in shape "
                    f"and dtype: {np.shape(p)} {np.dtype(dtype)}, got {np.shape(v)} "
                    f"{np.asarray(v).dtype}"
                )


def check_sample_weight(sample_weight, m, dtype):
    """``sample_weight`` for ``m`` examples as a C-contiguous 1-D array of ``dtype`` (the
    data's), or None (every weight 1). ValueError naming it unless it is a real array of shape
    ``(m,)``, finite, >= 0 and not all zero (``contract.sample_weight_total``); TypeError for
    another dtype (float32 stays float32: no silent conversion). Weights all 1 come back as
    None: the run without weights, which they give bit for bit."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.dtype != np.dtype(dtype):
        raise TypeError(
            f"sample_weight must have the data's dtype {np.dtype(dtype)}, got {w.dtype}"
        )
    if w.shape != (m,):
        raise ValueError(
            f"sample_weight must have shape ({m},), one weight per example, got {w.shape}"
        )
    if not np.isfinite(w).all():
        raise ValueError("sample_weight must be finite (no NaN or infinity)")
    if (w < 0).any():
        raise ValueError("sample_weight must be >= 0")
    if not (w > 0).any():
        raise ValueError(
            "sample_weight must not be all zero: at least one example needs a non-zero weight"
        )
    if (w == 1).all():
        return None  # the same run, bit for bit (see kernels.contract): the unweighted path
    return np.ascontiguousarray(w)
