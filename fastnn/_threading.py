"""Two threads may fit two models at once.

Numba's ``workqueue`` threading layer aborts the process when two threads enter
parallel regions at the same time; the ``omp`` (and ``tbb``) layers are thread
safe. Before the first compiled kernel runs, fastnn asks Numba for a thread-safe
layer ("threadsafe": tbb or omp) unless the user chose one (NUMBA_THREADING_LAYER
or ``numba.config.THREADING_LAYER``) or none is installed. Where the layer that
ends up running is not thread safe, kernel calls take a process-wide lock:
correct, one at a time.
"""

import contextlib
import importlib
import os
import threading

_SAFE_LAYERS = ("omp", "tbb")
_lock = threading.RLock()
_configured = False


def _layer_available(name):
    try:
        importlib.import_module(f"numba.np.ufunc.{name}pool")
    except Exception:  # ImportError, or OSError for a missing shared library
        return False
    return True


def prefer_threadsafe_layer():
    """Ask Numba for a thread-safe layer if the user has not chosen and one exists."""
    global _configured
    with _lock:
        if _configured:
            return
        _configured = True
        import numba

        if os.environ.get("NUMBA_THREADING_LAYER") or numba.config.THREADING_LAYER != "default":
            return
        try:
            numba.threading_layer()
            return  # already launched: too late to choose
        except ValueError:
            pass
        if any(_layer_available(name) for name in _SAFE_LAYERS):
            numba.config.THREADING_LAYER = "threadsafe"


def _concurrent_calls_are_safe():
    import numba

    try:
        return numba.threading_layer() in _SAFE_LAYERS
    except ValueError:  # not launched yet: what it will launch
        return numba.config.THREADING_LAYER in _SAFE_LAYERS + ("threadsafe",)


def kernel_guard(backend):
    """Context for a kernel call: the lock where concurrent calls are not safe."""
    if backend != "numba":
        return contextlib.nullcontext()
    prefer_threadsafe_layer()
    if _concurrent_calls_are_safe():
        return contextlib.nullcontext()
    return _lock
