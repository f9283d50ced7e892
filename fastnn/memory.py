"""Before a fit allocates: an estimate of the memory it needs, against what is available.

A fit that cannot fit in memory should fail at once, with the numbers, not part way
through (a MemoryError after minutes) or by swapping the machine to a standstill.
``fit_memory`` counts the arrays a fit allocates, from the shapes alone:

- the inputs in the notes' layout, ``X (n_x, m)`` in the training dtype, and the
  targets ``Y (n_out, m)`` (with the float64 copy a regressor's scaling makes);
- the training's work arrays for one batch (``b = m`` for full batch, else
  ``batch_size``): each layer's ``Z`` and ``A`` and the backward pass's ``dZ``/``dA``
  (NumPy and loops variants), or the Numba kernel's buffers (one activation per
  layer, two gradient buffers of the widest layer, the gathered mini-batch, and
  the second layout of a wide X that a full-batch run builds, up to 1 GiB);
- the parameters, their velocities, gradients and snapshots (about eight copies);
- one epoch of mini-batch orders (int64).

The arrays the caller already holds (``X`` as given) are not counted: they are
in use already. It is an estimate of the peak, within tens of percent (tested
against ``tracemalloc`` on the NumPy variant); the CUDA variant's device
memory is not counted, only its host arrays.

``available_bytes`` is the smallest of the machine's ``MemAvailable``, the
memory cgroup's limit less its working set (a container's limit), and the
address-space limit (``ulimit -v``) less the process's size; None where none of
them can be read (then nothing is refused).
"""

import math
import os
import time

import numpy as np

#: The Numba variant builds X's second layout only up to this size (kernels/jit.py).
SECOND_LAYOUT_BYTES = 1 << 30
#: Copies of the parameters alive at once: the parameters, velocities, gradients,
#: the chunk's snapshot (training.run), the kernel's saved copy, and the float64
#: copies of folding the scaling back (counted as two in the training dtype).
PARAMETER_COPIES = 8


def fit_memory(layer_sizes, m, dtype, batch_size=None, backend="numba", regression=False):
    """``{part: bytes}`` of a fit of a network of ``layer_sizes`` on ``m`` examples."""
    itemsize = np.dtype(dtype).itemsize
    n_x, n_out = layer_sizes[0], layer_sizes[-1]
    layers = layer_sizes[1:]
    batch = m if batch_size is None else min(int(batch_size), m)
    full_batch = batch >= m
    parameters = sum(n * n_prev + n for n_prev, n in zip(layer_sizes[:-1], layer_sizes[1:]))
    parts = {
        "X in the training layout": n_x * m * itemsize,
        "y as training targets": n_out * m * (itemsize + (8 if regression else 0)),
        "parameters and their copies": PARAMETER_COPIES * parameters * itemsize,
    }
    if not full_batch:
        parts["mini-batch orders"] = 8 * m
    if backend == "cuda":  # the work arrays live on the device
        return parts
    if backend == "numba":
        work = (sum(layers) + 2 * max(layers)) * batch
        if not full_batch:
            work += (n_x + n_out) * batch
        elif n_x >= 64:
            work += min(n_x * m, SECOND_LAYOUT_BYTES // itemsize)
    else:  # NumPy and loops: Z and A per layer, dZ and dA of the widest, a gathered batch
        work = (2 * sum(layers) + 2 * max(layer_sizes)) * batch
        if not full_batch:
            work += (n_x + n_out) * batch
    parts["training work arrays"] = work * itemsize
    return parts


def _read_int(path):
    try:
        with open(path) as file:
            text = file.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _stat_value(path, key):
    try:
        with open(path) as file:
            for line in file:
                name, _, value = line.partition(" ")
                if name == key and value.strip().isdigit():
                    return int(value)
    except OSError:
        pass
    return 0


def _meminfo_available():
    try:
        with open("/proc/meminfo") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_available():
    """The memory cgroup's limit less its working set (page cache it can drop excluded)."""
    found = []
    v2 = "/sys/fs/cgroup"
    limit = _read_int(os.path.join(v2, "memory.max"))
    if limit is not None:
        used = _read_int(os.path.join(v2, "memory.current")) or 0
        used -= _stat_value(os.path.join(v2, "memory.stat"), "inactive_file")
        found.append(limit - used)
    v1 = "/sys/fs/cgroup/memory"
    limit = _read_int(os.path.join(v1, "memory.limit_in_bytes"))
    if limit is not None and limit < 1 << 60:  # v1 writes a huge number for no limit
        used = _read_int(os.path.join(v1, "memory.usage_in_bytes")) or 0
        used -= _stat_value(os.path.join(v1, "memory.stat"), "total_inactive_file")
        found.append(limit - used)
    return min(found) if found else None


def _address_space_available():
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError, AttributeError):
        return None
    if soft == resource.RLIM_INFINITY:
        return None
    size = 0
    try:
        with open("/proc/self/status") as file:
            for line in file:
                if line.startswith("VmSize:"):
                    size = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        size = 0
    return soft - size


#: ``available_bytes`` reads the system at most this often (seconds): its three files took
#: 20-25 us, a tenth of a small net's whole ``fit`` (docs/performance.md)
AVAILABLE_SECONDS = 0.5
_last_read = (-math.inf, None)  # (_clock() of the last reading, its value)
_clock = time.monotonic


def available_bytes():
    """Bytes a fit may still allocate, or None where it cannot be told (read again after
    ``AVAILABLE_SECONDS``)."""
    global _last_read
    now = _clock()
    if now - _last_read[0] < AVAILABLE_SECONDS:
        return _last_read[1]
    found = [
        value
        for value in (_meminfo_available(), _cgroup_available(), _address_space_available())
        if value is not None
    ]
    available = max(0, min(found)) if found else None
    _last_read = (now, available)
    return available


def _size(n_bytes):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n_bytes < 1024 or unit == "TiB":
            return f"{n_bytes:.0f} {unit}" if unit == "bytes" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.1f} TiB"


def check_fit_memory(estimator_name, layer_sizes, m, config, regression=False):
    """ValueError, before anything is allocated, when the fit needs more than is available.

    ``config``: the checked hyperparameters (``dtype``, ``batch_size``, ``backend``).
    """
    parts = fit_memory(layer_sizes, m, config.dtype, config.batch_size, config.backend, regression)
    needed = sum(parts.values())
    available = available_bytes()
    if available is None or needed <= available:
        return needed
    detail = ", ".join(f"{name} {_size(n)}" for name, n in parts.items())
    raise ValueError(
        f"{estimator_name}.fit needs about {_size(needed)} of memory ({detail}) for "
        f"{m} examples and layer sizes {tuple(layer_sizes)} in {np.dtype(config.dtype).name}, "
        f"but only {_size(available)} is available: fit on fewer examples, with mini-batches "
        "(batch_size), with dtype='float32', or with smaller hidden layers"
    )
