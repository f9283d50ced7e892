"""fastnn's compute layer: the notes' operations written three (four) ways.

``kernels.get(name)`` returns a variant module; every variant exposes the same
functions with the same meaning (see ``kernels.contract``):

- ``"loops"``: explicit Python for-loops (the notes' non-vectorized form);
- ``"numpy"``: vectorized NumPy, the reference (``kernels.vectorized``);
- ``"numba"``: Numba JIT on the CPU (``kernels.jit``);
- ``"cuda"``: numba.cuda on the GPU (``kernels.cuda``; needs ``fastnn[cuda]``
  and a GPU, or the CUDA simulator).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .contract import Variant

# first, before anything imports numba: a cache directory that can be written
from . import _cache

_cache.configure()

#: Variant name -> module name inside this package.
VARIANTS = {"loops": "loops", "numpy": "vectorized", "numba": "jit", "cuda": "cuda"}


def get(name: str) -> Variant:
    """The kernel module of a variant, imported on first use (see ``contract.Variant``)."""
    try:
        module = VARIANTS[name]
    except (KeyError, TypeError):
        raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {name!r}") from None
    try:
        return importlib.import_module(f"{__name__}.{module}")
    except ImportError as error:
        raise ImportError(
            f"kernel variant {name!r} is not available: {error}. "
            + ("Install the extra: pip install 'fastnn[cuda]'." if name == "cuda" else "")
        ) from error
