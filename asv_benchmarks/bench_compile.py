"""Start-up cost of the JIT variant: compile time is part of the user's time.

- ``timeraw_cold_train``: a fresh process with an empty ``NUMBA_CACHE_DIR``
  imports the numba kernels and trains one epoch: import + compilation.
- ``timeraw_warm_train``: the same in a fresh process whose cache a previous
  process filled (``cache=True``): what every later start costs.

numpy and numba are imported before the clock starts; the data are tiny, so
the time is the compilation (or the cache load).
"""

import os
import textwrap

from .common import DTYPES, WORKLOADS, WORKLOADS_BY_KEY, get_variant

COMPILE_WORKLOADS = [WORKLOADS_BY_KEY["a"].name, WORKLOADS_BY_KEY["c"].name]

#: Untimed: a private Numba cache directory, removed at exit; numba imported.
_SETUP = """
import atexit, os, shutil, subprocess, sys, tempfile
cache = tempfile.mkdtemp(prefix="fastnn-asv-numba-cache-")
atexit.register(shutil.rmtree, cache, True)
os.environ["NUMBA_CACHE_DIR"] = cache
"""

#: One epoch of a workload's net on 16 examples (batches of 8 for mini-batch workloads).
_TRAIN = """
import sys
sys.path.insert(0, {kernels_parent!r})  # the kernels the benchmark process imported
import numpy as np
import kernels
dtype = np.dtype({dtype!r})
rng = np.random.default_rng(0)
sizes, m = {sizes!r}, 16
X = rng.standard_normal((sizes[0], m)).astype(dtype)
Y = (rng.random((1, m)) < 0.5).astype(dtype)
weights = [(rng.standard_normal((n, p)) * 0.1).astype(dtype) for p, n in zip(sizes[:-1], sizes[1:])]
biases = [np.zeros((n, 1), dtype=dtype) for n in sizes[1:]]
batch_size = {batch_size!r}
orders = None if batch_size is None else rng.permutation(m).reshape(1, m).astype(np.int64)
kernels.get("numba").train(weights, biases, X, Y, {activations!r}, 1, 0.01,
                           batch_size=batch_size, orders=orders)
"""


def _train_code(dtype, workload):
    import kernels

    spec = WORKLOADS[workload]
    return textwrap.dedent(_TRAIN).format(
        kernels_parent=os.path.dirname(os.path.dirname(os.path.abspath(kernels.__file__))),
        dtype=dtype,
        sizes=tuple(spec.sizes),
        activations=list(spec.activations),
        batch_size=None if spec.batch_size is None else 8,
    )


class Compile:
    params = [DTYPES, COMPILE_WORKLOADS]
    param_names = ["dtype", "workload"]
    number = 1
    repeat = (1, 3, 60.0)
    warmup_time = 0
    timeout = 600

    def setup(self, dtype, workload):
        get_variant("numba")  # skip where this commit has no numba variant

    def timeraw_cold_train(self, dtype, workload):
        return _train_code(dtype, workload), _SETUP + "import numba\n"

    def timeraw_warm_train(self, dtype, workload):
        # hex: asv pastes this setup into a triple-quoted string, where escapes would break
        code = _train_code(dtype, workload).encode().hex()
        fill_cache = (
            f"subprocess.run([sys.executable, '-c', bytes.fromhex('{code}').decode()], "
            "check=True)\n"
        )
        return _train_code(dtype, workload), _SETUP + fill_cache + "import numba\n"
