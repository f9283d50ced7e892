"""The first compilation of the numba variant's training kernels, in a helper process.

Numba's code for a kernel compiled in this process and the same kernel loaded from its cache
give results that differ in the last bits (measured: a 64-32-10 tanh/softmax run, forced onto one
product path, differed at 1 ulp after 5 epochs; heap state and array alignment ruled out). A seed
must give the same parameters in every process, so the kernels that ``train`` and ``forward``
run are never used as compiled in-process where there is a cache: the first time a process
needs them and the cache lacks them, a helper process compiles them into the cache (and says so
on stderr, once), and this process loads them from there, like every later one.

Without a cache (``kernels._cache`` found nowhere writable) every process compiles for itself,
and they agree among themselves. Should the helper fail (no ``sys.executable``, say), the kernels
compile here as usual.
"""

import inspect
import os
import subprocess
import sys

import numpy as np

from . import _cache

_ready = set()  # (dtype name, tiles) settled in this process


def _index_has(dtype_name, tiles):
    """Whether the cache holds the training kernel for this dtype and kind of work buffer."""
    from numba import types

    from . import jit_train

    cache = getattr(jit_train.train_kernel, "_cache", None)
    try:
        index = cache._cache_file._load_index() if cache is not None else {}
    except Exception:  # an unreadable index: the compilation will say so itself
        return False
    arguments = list(inspect.signature(jit_train.train_kernel.py_func).parameters)
    params_at, work_at = arguments.index("params"), arguments.index("work")
    for key in index:
        signature = key[0]
        if (
            str(signature[params_at].dtype) == dtype_name
            and isinstance(signature[work_at], types.NoneType) != tiles
        ):
            return True
    return False


def ensure_compiled(dtype, tiles=False):
    """Make sure the kernels of ``train`` and ``forward`` for ``dtype`` (with the TILES path's
    buffer when ``tiles``) come from the cache (see the module docstring)."""
    key = (np.dtype(dtype).name, bool(tiles))
    if key in _ready:
        return
    _ready.add(key)
    if _cache.directory() is None or _index_has(*key):
        return
    print(
        f"fastnn: compiling the numba kernels for {key[0]} (once; cached for later runs)",
        file=sys.stderr,
        flush=True,
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            [root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        ),
    )
    command = [
        sys.executable,
        "-c",
        f"from kernels import jit_compile; jit_compile.compile_here({key[0]!r}, {tiles})",
    ]
    try:
        subprocess.run(
            command,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=900,
        )
    except (OSError, subprocess.SubprocessError):
        pass  # compiled here instead, on first use


def compile_here(dtype_name, tiles):
    """Compile (into the cache) every kernel ``train`` and ``forward`` call for this dtype and
    kind of work buffer, on a tiny problem: the helper process's whole job."""
    from . import jit_products, jit_sweeps, jit_train
    from .contract import ACTIVATION_CODES

    _ready.update({(dtype_name, False), (dtype_name, True)})  # no helper of a helper
    dtype = np.dtype(dtype_name)
    dt = dtype.type
    rng = np.random.default_rng(0)
    work = np.empty(jit_products.work_size(4, 4, 4), dtype) if tiles else None
    A = rng.standard_normal((4, 4)).astype(dtype)
    for form in (jit_products.NN, jit_products.NT, jit_products.TN):
        for path in (jit_products.BLAS, jit_products.LOOPS) + (
            (jit_products.TILES,) if tiles else ()
        ):
            jit_products.product(form, path, A, A, np.empty((4, 4), dtype), work)
    jit_sweeps.bias_activation(A.copy(), A[0].copy(), ACTIVATION_CODES["tanh"], dt(0.01))
    jit_sweeps.softmax_columns(A.copy(), A.copy(), np.empty(4, dtype), np.empty(4, dtype))
    jit_sweeps.transpose(A, np.empty((4, 4), dtype))  # the layout measurement (jit_products)
    jit_sweeps.sum_squares(A.reshape(-1))  # the Gram form's set-up (jit_gram)
    weights = [rng.standard_normal((3, 2)).astype(dtype), rng.standard_normal((1, 3)).astype(dtype)]
    biases = [np.zeros((3, 1), dtype), np.zeros((1, 1), dtype)]
    params, offsets, shapes = jit_train.flatten(weights, biases)
    X = rng.standard_normal((2, 5)).astype(dtype)
    Y = (rng.random((1, 5)) < 0.5).astype(dtype)
    paths = np.full((2, 3), jit_products.TILES if tiles else jit_products.LOOPS, np.int64)
    jit_train.train_kernel(
        params,
        np.zeros_like(params),
        np.empty(0, dtype),
        offsets,
        shapes,
        np.array([ACTIVATION_CODES["tanh"], ACTIVATION_CODES["sigmoid"]], np.int64),
        paths,
        np.array([jit_products.NN, jit_products.NT], np.int64),
        X,
        np.empty((0, 0), dtype),
        Y,
        dt(0.01),
        1,
        np.array([0.1]),
        (0.0, 0.0, 0.999, 1e-8, 1.0),
        0.0,
        5,
        np.zeros((0, 0), np.intp),
        np.empty(1),
        False,
        False,
        np.empty(jit_products.work_size(3, 1, 1), dtype) if tiles else None,
        np.empty(0, dtype),
        5.0,
        np.empty(0, dtype),
        np.empty((0, 0), dtype),
        np.empty(int(jit_train.workspace_layout(shapes, 5, params.size, True).sum()), dtype),
    )  # no sample weights: an empty array; the total weight m
