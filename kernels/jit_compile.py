"""The first compilation of the numba variant's training kernels, in a helper process.

Numba's code for a kernel compiled in this process and the same kernel loaded from its cache
give results that differ in the last bits (measured: a 64-32-10 tanh/softmax run, forced onto one
product path, differed at 1 ulp after 5 epochs; heap state and array alignment ruled out). A seed
must give the same parameters in every process, so the kernels that ``train`` and ``forward``
run are never used as compiled in-process where there is a cache: the first time a process
needs them and the cache lacks them, helper processes compile them into the cache (and this one
says so on stderr, once), and this process loads them from there, like every later one.

Two helpers work side by side (``PARTS``, ``PRODUCTS_HELPER``, ``SWEEPS_HELPER``): one compiles
the run's small kernels, the products, the hidden layers' backward sweep and the batch step; the
other the hidden layers' forward sweep, the output layer's sweep and the run's kernel. Only the
output code in use has its sweep compiled; a later run with another output code compiles that
one sweep, in one helper. Neither helper waits for the other: the run's kernel calls the step,
and the step the products and the forward and output sweeps, by address (``jit_calls``), so each
needs only the other's signature. Meanwhile this process loads the products from the cache,
which pays Numba's first cache load beside the compilation.

A helper is forked from this process where that is safe (``_forks``: Linux, no other Python
thread, Numba's thread pool not started), so it starts with Python, NumPy, Numba and its
registries loaded; elsewhere it is a new interpreter, which spends most of a second getting
that far (docs/performance.md, first fit). Without a cache (``kernels._cache`` found nowhere
writable) every process compiles for itself, and they agree among themselves. Should a helper
fail (no ``sys.executable``, say), what it did not cache compiles here as usual.
"""

import inspect
import os
import signal
import subprocess
import sys
import threading
import time
import warnings

import numpy as np

from . import _cache

_ready = set()  # (dtype name, tiles, output code) settled in this process
_helping = []  # not empty in a helper: it compiles for itself and starts no other
#: seconds a helper may take before it is let go
HELPER_TIMEOUT = 900
#: the folder that holds this ``kernels`` package: first on a helper's path
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _index(dispatcher):
    """The keys of ``dispatcher``'s cache index: its cached signatures (none when unreadable)."""
    cache = getattr(dispatcher, "_cache", None)
    try:
        return cache._cache_file._load_index() if cache is not None else {}
    except Exception:  # an unreadable index: the compilation will say so itself
        return {}


def _index_has(dtype_name, tiles):
    """Whether the cache holds the run's kernel and its step for this dtype and kind of work
    buffer."""
    from . import jit_train

    return all(
        _holds(kernel, dtype_name, tiles)
        for kernel in (jit_train.train_kernel, jit_train.batch_step)
    )


def _holds(kernel, dtype_name, tiles=None, typed_by="params"):
    """Whether ``kernel``'s cache index has an entry of this dtype (that of its argument
    ``typed_by``) and, unless ``tiles`` is None, kind of work buffer."""
    from numba import types

    arguments = list(inspect.signature(kernel.py_func).parameters)
    typed_at = arguments.index(typed_by)
    work_at = None if tiles is None else arguments.index("work")
    for key in _index(kernel):
        signature = key[0]
        if str(signature[typed_at].dtype) == dtype_name and (
            work_at is None or isinstance(signature[work_at], types.NoneType) != tiles
        ):
            return True
    return False


def _sweep_cached(dtype_name, output):
    """Whether the cache holds the output sweep of code ``output`` (None: none is needed) for
    this dtype, and softmax's columns for a softmax output (``forward`` calls them)."""
    from . import jit_sweeps

    if output is None:
        return True
    kernels = [jit_sweeps.OUTPUT_SWEEPS[output]]
    if output == jit_sweeps.SOFTMAX:
        kernels.append(jit_sweeps.softmax_columns)
    return all(_holds(kernel, dtype_name, typed_by="Z") for kernel in kernels)


def ensure_compiled(dtype, tiles=False, output=None):
    """Make sure the kernels of ``train`` and ``forward`` for ``dtype`` (with the TILES path's
    buffer when ``tiles``), and the output sweep of activation code ``output`` (None: no output
    layer's), come from the cache (see the module docstring)."""
    key = (np.dtype(dtype).name, bool(tiles), output)
    if _helping or key in _ready:
        return
    _ready.add(key)
    if _cache.directory() is None:
        return
    run_cached = _index_has(*key[:2])
    if run_cached and _sweep_cached(key[0], output):
        return
    print(
        f"fastnn: compiling the numba kernels for {key[0]} (once; cached for later runs)",
        file=sys.stderr,
        flush=True,
    )
    # two helpers side by side (a third less time than one: docs/performance.md, start-up);
    # the kernels call each other by address (jit_calls), so neither waits for the other. The
    # products' helper says on stdout when the products are cached. With one core, one helper;
    # with the run cached, one for the output sweep of a code not met before.
    helpers = []
    try:
        if run_cached:
            helpers.append(_helper(key, ("output_sweep",)))
        elif _cores() < 2:
            helpers.append(_helper(key, PARTS))
        else:
            helpers.append(_helper(key, PRODUCTS_HELPER, announce=True))
            helpers.append(_helper(key, SWEEPS_HELPER))
    except OSError:
        pass  # what no helper compiles compiles here instead, on first use
    try:
        if len(helpers) == 2:
            _products_done(helpers[0])
            _preload(key[:2])
        for helper in helpers:
            _finish(helper)
    finally:  # interrupted: no helper is left behind
        for helper in helpers:
            if helper.poll() is None:
                helper.kill()
                helper.wait()


def _products_done(helper):
    """Wait for the line the products' helper writes once they are cached (or for its end: a
    helper that fails writes none; what it did not cache compiles here, on first use)."""
    reader = threading.Thread(target=helper.stdout.readline, daemon=True)
    reader.start()
    reader.join(HELPER_TIMEOUT)


def _preload(key):
    """While the helpers compile the rest, load from the cache the product the first one
    cached, in this process: Numba's first cache load here (its target registries, SciPy's BLAS
    bindings, about 0.3 s) then runs beside them, not after. Only a kernel the cache holds is
    loaded: nothing compiles here."""
    from . import jit_products

    if _holds(jit_products.product, *key, typed_by="A") and not jit_products.product.signatures:
        A = np.ones((2, 2), key[0])
        jit_products.product(jit_products.NN, jit_products.LOOPS, A, A, np.empty_like(A), None)


def _cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _helper(key, parts, announce=False):
    """A helper process that compiles ``parts`` for ``key`` into the cache: forked from this one
    where that is safe (``_forks``), else a new interpreter (which first loads Python, NumPy,
    Numba and its registries)."""
    if _forks():
        _warm_numba()
        return _Forked(key, parts, announce)
    return _spawned(key, parts, announce)


def _forks():
    """Whether a helper may be forked from this process: on Linux, with no other Python thread
    (one could hold a lock the child would wait on for ever: Numba's compiler lock, an
    import's) and Numba's thread pool not started (its workers would be missing in the child,
    which runs the parallel products it compiles). Native threads (OpenBLAS's, which it stops
    around a fork, or another library's) hold no lock the child takes: it only compiles with
    Numba, writes to the cache and ends."""
    from numba.np.ufunc import parallel

    return (
        sys.platform.startswith("linux")
        and threading.active_count() == 1
        and not getattr(parallel, "_is_initialized", True)
    )


def _warm_numba():
    """Numba's typing and target registries, loaded here once before a fork, so that each
    helper starts with them; this process needs them anyway to load the kernels."""
    from numba.core.registry import cpu_target

    cpu_target.typing_context.refresh()
    cpu_target.target_context.refresh()


class _Forked:
    """A helper forked from this process, with what ``ensure_compiled`` uses of
    ``subprocess.Popen``: ``stdout`` (the products' line), ``poll``, ``wait`` and ``kill``."""

    def __init__(self, key, parts, announce):
        read, write = os.pipe()
        # Python 3.12+ warns of any native thread, and JAX, once imported, of every fork: the
        # child runs none of their code, only Numba's compiler (see _forks), then os._exit
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.filterwarnings("ignore", r"os\.fork\(\) was called", RuntimeWarning)
            pid = os.fork()
        if pid == 0:
            _compile_in_child(key, parts, announce, read, write)
        os.close(write)
        self.pid = pid
        self.returncode = None
        self.stdout = os.fdopen(read)

    def poll(self):
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere (SIGCHLD ignored): as Popen, 0
                pid, status = self.pid, 0
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"helper {self.pid}", timeout)
            time.sleep(0.005)
        return self.returncode

    def kill(self):
        if self.poll() is None:
            os.kill(self.pid, signal.SIGKILL)


def _compile_in_child(key, parts, announce, read, write):
    """A forked helper's whole life: ``compile_here``, its products' line to the pipe, nothing
    to this process's terminal; it ends without running this process's exit handlers or
    flushing the output buffers it inherited."""
    status = 1
    try:
        os.close(read)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        sys.stdout = os.fdopen(write, "w") if announce else open(os.devnull, "w")
        sys.stderr = open(os.devnull, "w")
        compile_here(key[0], key[1], parts, key[2], announce)
        status = 0
    finally:
        os._exit(status)


def _spawned(key, parts, announce):
    # `python -c` puts the working directory first on sys.path: a `kernels` folder there (any
    # project's) would be imported instead of this one, and the wrong kernels cached
    code = (
        f"import sys; sys.path.insert(0, {_ROOT!r}); from kernels import jit_compile; "
        f"jit_compile.compile_here({key[0]!r}, {key[1]}, {parts!r}, {key[2]!r}, {announce})"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if announce else subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _finish(helper):
    """Wait for a helper; one that fails or hangs is let go: what it did not cache compiles
    here, on first use."""
    try:
        helper.wait(timeout=HELPER_TIMEOUT)
    except subprocess.TimeoutExpired:
        helper.kill()
        helper.wait()
    if helper.stdout is not None:
        helper.stdout.close()


#: What the helpers compile, in this order: the small kernels the run's kernel links (first, so
#: that they are cached when the other helper reaches that kernel); the products (and the Gram
#: form's weight squares, which call one by address); the hidden layers' backward sweep; the
#: batch step, which links it and the update, so it comes after them; the hidden layers' forward
#: sweep; the output layer's sweep of the run's output code; the run's kernel. Called by
#: address: the step (by the run's kernel), the weight squares (likewise), the products, the
#: forward sweep and the output sweep (by the step). A kernel linked in compiles where its
#: caller compiles, if not cached before.
PARTS = (
    "run_callees",
    "products",
    "backward_sweep",
    "step",
    "forward_sweep",
    "output_sweep",
    "run",
)
#: The two helpers' shares of ``PARTS``, balanced by their compile times (docs/performance.md):
#: the forward and output sweeps share the math kernels they link.
PRODUCTS_HELPER = ("run_callees", "products", "backward_sweep", "step")
SWEEPS_HELPER = ("forward_sweep", "output_sweep", "run")


def compile_here(dtype_name, tiles, parts=PARTS, output=None, announce=False):
    """Compile (into the cache) the kernels ``train`` and ``forward`` call for this dtype and
    kind of work buffer, on tiny problems: a helper process's whole job. ``parts``: which of
    ``PARTS``; ``output``: the output code whose sweep "output_sweep" compiles (None: none);
    ``announce``: write a line to standard output once the products are cached."""
    from . import jit_products, jit_train

    _helping.append(True)  # no helper of a helper
    dtype = np.dtype(dtype_name)
    rng = np.random.default_rng(0)
    work = np.empty(jit_products.work_size(4, 4, 4), dtype) if tiles else None
    A = rng.standard_normal((4, 4)).astype(dtype)
    weights = [rng.standard_normal((3, 2)).astype(dtype), rng.standard_normal((1, 3)).astype(dtype)]
    biases = [np.zeros((3, 1), dtype), np.zeros((1, 1), dtype)]
    params, offsets, shapes = jit_train.flatten(weights, biases)
    if "run_callees" in parts:
        _compile_run_callees(dtype, params, shapes)
    if "products" in parts:
        for form in (jit_products.NN, jit_products.NT, jit_products.TN):
            for path in (jit_products.BLAS, jit_products.LOOPS) + (
                (jit_products.TILES,) if tiles else ()
            ):
                jit_products.product(form, path, A, A, np.empty((4, 4), dtype), work)
        if announce:
            print("products", flush=True)
        _compile_weight_squares(dtype, work)
    if "backward_sweep" in parts:
        _compile_backward_sweep(dtype)
    if "step" in parts:
        _compile_step_callees(dtype)
        jit_train.batch_step.compile(jit_train.step_signature(dtype, tiles).args)
    if "forward_sweep" in parts:
        _compile_forward_sweep(dtype)
    if "output_sweep" in parts and output is not None:
        _compile_output_sweep(dtype, output)
    if "run" in parts:
        _compile_run(dtype, tiles, params, offsets, shapes)


def _compile_forward_sweep(dtype):
    """The hidden layers' forward sweep, with the types the step calls it with."""
    from . import jit_sweeps
    from .contract import ACTIVATION_CODES

    A = np.ones((4, 4), dtype)
    jit_sweeps.bias_activation(A, np.ones(4, dtype), ACTIVATION_CODES["tanh"], dtype.type(0.01))


def _compile_backward_sweep(dtype):
    """The hidden layers' backward sweep (the step links it), with the types the step calls
    it with."""
    from . import jit_sweeps
    from .contract import ACTIVATION_CODES

    dt = dtype.type
    A = np.ones((4, 4), dtype)
    row = np.ones(4, dtype)
    tanh = ACTIVATION_CODES["tanh"]
    jit_sweeps.derivative_from_output(A.copy(), A.copy(), tanh, dt(0.01), row.copy(), dt(1))


def _compile_output_sweep(dtype, output):
    """The output layer's sweep of code ``output``, as the step calls it by address, and for
    softmax the columns' softmax (``forward`` calls it)."""
    from . import jit_sweeps

    A = np.ones((4, 4), dtype)
    row = np.ones(4, dtype)
    sweep = jit_sweeps.OUTPUT_SWEEPS[output]
    sweep(
        A.copy(),
        row.copy(),
        A.copy(),
        A.copy(),
        row.copy(),
        dtype.type(1),
        row.copy(),
        row.copy(),
        row[:0].copy(),
    )
    if output == jit_sweeps.SOFTMAX:
        jit_sweeps.softmax_columns(A.copy(), A.copy(), row.copy(), row.copy())


def _compile_weight_squares(dtype, work):
    """The Gram form's weight squares (they call a product; the run calls them by address)."""
    from . import jit_products, jit_train

    A = np.ones((4, 4), dtype)
    path = jit_products.TILES if work is not None else jit_products.LOOPS
    gram, basis = np.ones(11, dtype), np.ones((8, 4), dtype)
    product = jit_train.product_call(dtype, work is not None)
    jit_train._gram_weight_squares(A, A.copy(), gram, basis, A.copy(), path, work, product)


def _compile_step_callees(dtype):
    """The kernel the batch step links besides the backward sweep: the update."""
    from . import jit_train

    dt = dtype.type
    rule = (False, dt(0), dt(1), dt(0), dt(0), dt(1), dt(1), dt(0))
    flat = np.ones(20, dtype)  # slices of flat arrays, as the run passes them
    jit_train.update(
        flat[0:4], flat[4:8], flat[8:12], flat[12:16], flat[16:20], True, dt(1), dt(0), dt(1), rule
    )


def _compile_run_callees(dtype, params, shapes):
    """The small kernels the run's kernel links (some are called from Python too)."""
    from . import jit_sweeps, jit_train

    A = np.ones((4, 4), dtype)
    row = np.ones(4, dtype)
    jit_sweeps.sum_squares(row.copy())  # also the Gram form's set-up (jit_gram)
    jit_sweeps.finite_check(row.copy())
    jit_train._restore(row.copy(), row.copy(), row.copy())
    jit_train._gather_columns(A, np.zeros((2, 4), np.intp)[0, 0:4], A.copy())
    jit_train.workspace_layout(shapes, 5, params.size, True)
    jit_sweeps.transpose(A, A.copy())  # also the layout measurement's (jit_products)


def _addresses_like():
    """An array of the kind ``jit_train.callee_addresses`` returns (read-only)."""
    from . import jit_train

    addresses = np.zeros(len(jit_train.CALLEES), np.intp)
    addresses.flags.writeable = False
    return addresses


def _compile_run(dtype, tiles, params, offsets, shapes):
    """The run's kernel, for the types of a one-epoch 2-3-1 problem. Compiled, not run: what it
    calls by address may still be compiling in the other helper."""
    from numba import typeof

    from . import jit_products, jit_train
    from .contract import ACTIVATION_CODES

    dt = dtype.type
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 5)).astype(dtype)
    Y = (rng.random((1, 5)) < 0.5).astype(dtype)
    paths = np.full((2, 3), jit_products.TILES if tiles else jit_products.LOOPS, np.int64)
    example = (
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
        np.empty(0, dtype),  # no sample weights: an empty array; the total weight m
        5.0,
        np.empty(0, dtype),
        np.empty((0, 0), dtype),
        np.empty(int(jit_train.workspace_layout(shapes, 5, params.size, True).sum()), dtype),
        _addresses_like(),  # the callees' addresses: typed, not called
    )
    jit_train.train_kernel.compile(tuple(typeof(value) for value in example))
