"""The matrix products of the JIT variant: one dispatch policy, chosen by measurement where it runs.

Every product of the numba variant (the training run's, ``forward``'s, ``matmul``'s and the dense
layer functions') is a call of the compiled ``product(form, path, A, B, C, work)``:

    form  NN: C = A @ B    NT: C = A @ B.T    TN: C = A.T @ B
    path  BLAS: OpenBLAS (``gemm``, the BLAS call of ``np.dot`` in compiled code, through SciPy)
          LOOPS: the plain loops of ``jit_gemm`` (small and degenerate products)
          TILES: the tiled kernels of ``jit_gemm``, serial (skinny products with a long side)

``work`` is a 1-D buffer of ``work_size`` elements for the TILES path, or None: the tiled kernels
take seconds to compile, so they are compiled in only where a caller passes a buffer (a run with
a product on that path); with None the TILES branch compiles to nothing.

The path of each product is decided in Python before compiled code runs, by ``choose``. Which
path is faster depends on the CPU (the hand kernels were tuned with AVX-512; with AVX2 only,
OpenBLAS's Haswell kernel wins where they won), on the BLAS build and on the thread count, so
it is measured on the machine that runs it, the way FFTW keeps "wisdom":

- the first time a shape class is met (form, dtype and each side rounded up to a power of two),
  the candidate paths are timed on the actual shape (repeated calls, about
  ``CALIBRATION_SECONDS`` per round, best of ``ROUNDS``); the fastest is kept. BLAS and LOOPS
  are candidates for every product, TILES for skinny products with a long side (one side at most
  ``SKINNY``, another at least ``LONG_SIDE``: the wide first layers, the only class where they
  ever measured faster than OpenBLAS);
- products large on every side (``LARGE_SIDE`` and up) take OpenBLAS without a measurement:
  there the hand kernels measured 0.4-0.98 of OpenBLAS with AVX-512 and less with AVX2
  (docs/performance.md), and timing them would cost a first fit a second or more;
- each choice records the machine's load when it was measured (``explain`` shows it): one made
  while other processes held the cores (OpenBLAS's threads stall then) is worth a ``reset()``
  on a quieter machine. It is not measured again by itself: a stored choice also keeps the
  machine's results the same from one process to the next (paths round differently);
- the choices are kept in memory and in ``fastnn-wisdom.json`` beside the compiled code
  (``kernels._cache.directory()``), under a key naming the CPU, its vector features, the BLAS
  core type and the thread count: a machine, or an ``NUMBA_CPU_NAME`` / ``OPENBLAS_CORETYPE``
  stand-in, has its own.

``explain()`` prints what was chosen and why, ``reset()`` forgets it (memory and file), and
``forced(path)`` (or ``FASTNN_PRODUCT_PATH=blas|loops|tiles`` in the environment) sends every product to
one path, for tests and comparisons. Both paths compute the same product; the results differ
only by rounding (the summation order), so a stored choice also keeps a machine's results the
same from one process to the next.
"""

import contextlib
import json
import os
import tempfile
import time

import numba
import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic, overload
from numba.np import linalg
from numba.np.arrayobj import make_array

from . import _cache, jit_gemm
from .jit_vectors import wide_vectors

#: the forms of a product
NN, NT, TN = 0, 1, 2
FORM_NAMES = ("nn", "nt", "tn")
#: the paths a product can take
BLAS, LOOPS, TILES = 0, 1, 2
PATH_NAMES = ("blas", "loops", "tiles")

#: every side at least this: OpenBLAS, by rule (see the module docstring)
LARGE_SIDE = 256
#: the TILES path is a candidate for products with a side at most SKINNY and one at least LONG_SIDE
SKINNY = 64
LONG_SIDE = 2048
#: seconds of repeated calls per timed round, and rounds per path (best of)
CALIBRATION_SECONDS = 0.001
ROUNDS = 5
WISDOM_FILE = "fastnn-wisdom.json"
_FORMAT = 1

# jit_gemm's flags: the LOOPS path's loops are inlined into `product` and compile with its flags
# (without reassociation their dot products did not vectorise: (a) 22 % slower on AVX2, float32)
_JIT = dict(cache=True, fastmath=jit_gemm.FASTMATH, error_model="numpy")


#: OpenBLAS takes its sizes as C ints: a product with a larger side takes the loops
BLAS_MAX_SIDE = 2**31 - 1


@intrinsic
def gemm(typingctx, A, B, C):
    """``C[:, :] = A @ B`` through Numba's BLAS call (``numba_xxgemm``, SciPy's OpenBLAS) for
    C-ordered C and C- or Fortran-ordered A and B (the transposed views ``B.T``, ``A.T``); zeros
    where a side is 0. The calls of ``np.dot(A, B, C)`` without its checks, which compiled for
    most of its 0.45 s in the products' first compilation (this: 0.13 s). The caller
    passes matching shapes, each side at most ``BLAS_MAX_SIDE`` (``choose`` sees to it)."""
    operands = (A, B)
    if not (
        all(isinstance(x, types.Array) and x.ndim == 2 for x in (A, B, C))
        and all(x.layout in "CF" and x.dtype == C.dtype for x in operands)
        and C.layout == "C"
        and C.dtype in (types.float32, types.float64)
    ):
        return None

    def codegen(context, builder, signature, args):
        linalg.ensure_blas()
        a, b, c = (make_array(t)(context, builder, v) for t, v in zip(signature.args, args))
        (m, k), (_, n) = (
            cgutils.unpack_tuple(builder, a.shape),
            cgutils.unpack_tuple(builder, b.shape),
        )
        zero = context.get_constant(types.intp, 0)
        empty = builder.or_(
            builder.icmp_signed("==", k, zero),
            builder.or_(builder.icmp_signed("==", m, zero), builder.icmp_signed("==", n, zero)),
        )
        with builder.if_else(empty, likely=False) as (when_empty, otherwise):
            with when_empty:
                cgutils.memset(builder, c.data, builder.mul(c.itemsize, c.nitems), 0)
            with otherwise:
                _blas_call(context, builder, (A, B, C), (m, k, n), (a.data, b.data, c.data))
        return context.get_dummy_value()

    return types.none(A, B, C), codegen


def _blas_call(context, builder, array_types, sides, data):
    """np.dot's BLAS calls for a product with no empty side: dot for a vector times a vector,
    gemv where C is one row or column (twice as fast as gemm there: the last layer of (d)), gemm
    otherwise."""
    A, B, C = array_types
    m, k, n = sides
    a, b, c = data
    one = context.get_constant(types.intp, 1)
    left_vector = builder.icmp_signed("==", m, one)
    right_vector = builder.icmp_signed("==", n, one)
    with builder.if_else(right_vector) as (column, not_column):
        with column:
            with builder.if_else(left_vector) as (scalar, matrix_vector):
                with scalar:
                    linalg.call_xxdot(context, builder, False, C.dtype, k, a, b, c)
                with matrix_vector:
                    linalg.call_xxgemv(context, builder, A.layout == C.layout, A, (m, k), a, b, c)
        with not_column:
            with builder.if_else(left_vector) as (row, matrix_matrix):
                with row:
                    linalg.call_xxgemv(context, builder, B.layout != C.layout, B, (k, n), b, a, c)
                with matrix_matrix:
                    linalg.call_xxgemm(context, builder, A, (m, k), a, B, (k, n), b, C, (m, n), c)


def _tiled(form, A, B, C, work):
    """The TILES path (compiled code only); nothing where ``work`` is None."""


@overload(_tiled)
def _tiled_by_work(form, A, B, C, work):
    if isinstance(work, types.NoneType):
        return lambda form, A, B, C, work: None

    def tiled(form, A, B, C, work):
        if form == NN:
            jit_gemm.tiled_nn(A, B, C, work)
        elif form == NT:
            jit_gemm.tiled_nt(A, B, C)
        else:
            jit_gemm.tiled_tn(A, B, C, work)

    return tiled


@njit(**_JIT)
def product(form, path, A, B, C, work):
    """``C[:, :] =`` the product of ``form`` through ``path``. ``work``: None, or for the TILES
    path a 1-D buffer of at least ``work_size(M, N, K)`` elements."""
    wide_vectors()
    if path == BLAS:
        if form == NN:
            gemm(A, B, C)
        elif form == NT:
            gemm(A, B.T, C)
        else:
            gemm(A.T, B, C)
    elif path == LOOPS:
        if form == NN:
            jit_gemm.loops_nn(A, B, C)
        elif form == NT:
            jit_gemm.loops_nt(A, B, C)
        else:
            jit_gemm.loops_tn(A, B, C)
    else:
        _tiled(form, A, B, C, work)


def operand_shapes(form, M, N, K):
    """Shapes of A and B for a product of ``form`` giving C (M, N) over K terms."""
    return {NN: ((M, K), (K, N)), NT: ((M, K), (N, K)), TN: ((K, M), (K, N))}[form]


def work_size(M, N, K):
    """Elements of the work buffer of the TILES path."""
    return M * K + jit_gemm.STRIP_BUFFER


# ---------------------------------------------------------------------------------------------
# Choosing a path
# ---------------------------------------------------------------------------------------------

_forced = None  # a path for every product (forced()), or None
_choices = {}  # shape-class key -> record, for this machine key
_loaded = False


def _path_from_environment():
    value = os.environ.get("FASTNN_PRODUCT_PATH", "").strip().lower()
    if not value:
        return None
    if value not in PATH_NAMES:
        raise ValueError(f"FASTNN_PRODUCT_PATH must be one of {PATH_NAMES}, got {value!r}")
    return PATH_NAMES.index(value)


@contextlib.contextmanager
def forced(path):
    """Within the block, every product of the numba variant takes ``path`` (one of PATH_NAMES)."""
    global _forced
    if path not in PATH_NAMES:
        raise ValueError(f"path must be one of {PATH_NAMES}, got {path!r}")
    previous, _forced = _forced, PATH_NAMES.index(path)
    try:
        yield
    finally:
        _forced = previous


def _side_class(n):
    """``n`` rounded up to a power of two (1, 2, 4, ...)."""
    return 1 << max(0, int(n) - 1).bit_length()


def _class_key(form, M, N, K, dtype):
    return (
        f"{np.dtype(dtype).name} {FORM_NAMES[form]} "
        f"{_side_class(M)}x{_side_class(N)}x{_side_class(K)}"
    )


def machine_key():
    """What the choices depend on: the CPU and its features as Numba compiles for them, the
    BLAS core type, the thread count, and the Numba version."""
    from llvmlite import binding as llvm

    cpu = numba.config.CPU_NAME or llvm.get_host_cpu_name()
    # NUMBA_CPU_FEATURES="" means the named CPU's own features (an AVX2 stand-in needs it:
    # NUMBA_CPU_NAME alone keeps the host's features, AVX-512 included)
    features = numba.config.CPU_FEATURES
    if features is None:
        features = llvm.get_host_cpu_features().flatten()
    vector = sorted(
        f[1:]
        for f in features.split(",")
        if f.startswith("+") and f[1:].startswith(("avx", "fma", "sse4"))
    )
    threads = (
        os.environ.get("OPENBLAS_NUM_THREADS")
        or os.environ.get("OMP_NUM_THREADS")
        or str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
    )
    return (
        f"cpu={cpu} vector={'+'.join(vector) or '(the cpu defaults)'} "
        f"openblas_coretype={os.environ.get('OPENBLAS_CORETYPE', '')} threads={threads} "
        f"numba={numba.__version__}"
    )


def wisdom_path():
    """Where the choices are kept: beside the compiled code (``kernels._cache.directory``);
    None where nothing is cached (then they are kept in memory only)."""
    directory = _cache.directory()
    if directory is None:
        return None
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError:
        return None
    return os.path.join(directory, WISDOM_FILE) if os.access(directory, os.W_OK) else None


def _read_wisdom():
    path = wisdom_path()
    if path is None or not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except (OSError, ValueError):
        return {}  # unreadable or corrupt: measure again, and rewrite it
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        return {}
    machines = data.get("machines")
    return machines if isinstance(machines, dict) else {}


def _load_average():
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def _load():
    global _loaded
    if not _loaded:
        stored = _read_wisdom().get(machine_key(), {})
        for key, record in stored.items():
            if isinstance(record, dict) and (
                record.get("path") in PATH_NAMES or "transpose_us" in record
            ):
                _choices.setdefault(key, record)
        _loaded = True


def _store():
    """Merge this machine's choices into the file (a concurrent writer may win: its choices are
    measurements too)."""
    path = wisdom_path()
    if path is not None:
        machines = _read_wisdom()
        machines[machine_key()] = dict(sorted(_choices.items()))
        _write_machines(path, machines)


def _write_machines(path, machines):
    """Write the wisdom file atomically (a temporary file, then a rename)."""
    temporary = None
    try:
        fd, temporary = tempfile.mkstemp(prefix=".fastnn-wisdom-", dir=os.path.dirname(path))
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump({"format": _FORMAT, "machines": machines}, file, indent=1)
        os.replace(temporary, path)
    except OSError:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _calls_per_round(form, path, A, B, C, work):
    """How many calls make a round of about CALIBRATION_SECONDS (after one call to warm up)."""
    product(form, path, A, B, C, work)
    start = time.perf_counter()
    product(form, path, A, B, C, work)
    once = max(time.perf_counter() - start, 1e-7)
    return range(int(min(max(CALIBRATION_SECONDS / once, 1), 10_000)))


def _measure(form, M, N, K, dtype):
    """Time the candidate paths on a product of this shape; the record of ``explain``.

    Rounds of the candidates alternate and each keeps its best round, so that a moment of load
    from another process (OpenBLAS's threads stall when a core is taken) hits every candidate
    alike or none. Each call also pays the dispatcher's fixed cost (about a microsecond), the
    same for every path: the differences, which decide, are kept."""
    rng = np.random.default_rng(0)
    shape_a, shape_b = operand_shapes(form, M, N, K)
    A = rng.standard_normal(shape_a).astype(dtype)
    B = rng.standard_normal(shape_b).astype(dtype)
    C = np.empty((M, N), dtype)
    candidates = [BLAS, LOOPS] + ([TILES] if tiles_may_pay(M, N, K) else [])
    from . import jit_compile  # (imports the run's modules, which import this one)

    jit_compile.ensure_compiled(dtype, tiles=TILES in candidates)
    work = np.empty(work_size(M, N, K), dtype) if TILES in candidates else None
    calls = {path: _calls_per_round(form, path, A, B, C, work) for path in candidates}
    best = dict.fromkeys(candidates, np.inf)
    for _ in range(ROUNDS):
        for path in candidates:
            start = time.perf_counter()
            for _ in calls[path]:
                product(form, path, A, B, C, work)
            best[path] = min(best[path], (time.perf_counter() - start) / len(calls[path]))
    record = {"shape": [M, N, K], "load": round(_load_average(), 2)}
    record.update({f"{PATH_NAMES[path]}_us": round(best[path] * 1e6, 3) for path in candidates})
    record["path"] = PATH_NAMES[min(candidates, key=best.get)]
    return record


def tiles_may_pay(M, N, K):
    """Whether the TILES path is a candidate for this shape (see the module docstring)."""
    return min(M, N, K) <= SKINNY and max(M, N, K) >= LONG_SIDE


#: ``(form, M, N, K, dtype)`` -> ``(class key, record)``: the shapes met, so that a run's
#: choices skip the class key's formatting (2-3 us each); a record counts only while
#: ``_choices`` still holds it (a reset, or a test's own dict, drops it)
_by_shape = {}


def _record(form, M, N, K, dtype):
    """The measurement of a product's shape class, made now if it is the first."""
    shape = (form, M, N, K, dtype)
    met = _by_shape.get(shape)
    if met is not None and _choices.get(met[0]) is met[1]:
        return met[1]
    _load()
    key = _class_key(form, M, N, K, dtype)
    record = _choices.get(key)
    if record is None:
        record = _measure(form, int(M), int(N), int(K), np.dtype(dtype))
        _choices[key] = record
        _store()
    _by_shape[shape] = (key, record)
    return record


def _ruled(M, N, K):
    """The path a rule gives without a measurement, or None; the forced path first, after the
    one rule no path may break: a side past a C int is not OpenBLAS's."""
    if max(M, N, K) > BLAS_MAX_SIDE:
        return LOOPS
    if _forced is not None:
        return _forced
    from_environment = _path_from_environment()
    if from_environment is not None:
        return from_environment
    if min(M, N, K) >= LARGE_SIDE:
        return BLAS
    if min(M, N, K) == 0:
        return LOOPS  # nothing to multiply: the loops write the zeros
    return None


def choose(form, M, N, K, dtype):
    """The path (BLAS, LOOPS or TILES) of a product of ``form`` giving C (M, N) over K terms."""
    ruled = _ruled(M, N, K)
    if ruled is not None:
        return ruled
    return PATH_NAMES.index(_record(form, M, N, K, dtype)["path"])


def seconds(form, M, N, K, dtype):
    """Measured seconds of the product on its chosen path; None where a rule chose it."""
    if _ruled(M, N, K) is not None:
        return None
    record = _record(form, M, N, K, dtype)
    return record[f"{record['path']}_us"] * 1e-6


#: The largest array ``transpose_seconds`` times (bytes); a larger one is timed on its first rows.
TRANSPOSE_SAMPLE_BYTES = 64 << 20


def transpose_seconds(n, m, dtype):
    """Measured seconds of building an (n, m) array's other layout (``jit_sweeps.transpose``,
    what a run does to keep X in both layouts), per shape class, kept like the choices."""
    from .jit_sweeps import transpose  # (jit_sweeps needs nothing from here)

    _load()
    key = f"{np.dtype(dtype).name} transpose {_side_class(n)}x{_side_class(m)}"
    record = _choices.get(key)
    if record is None:
        # on at most TRANSPOSE_SAMPLE_BYTES of the rows, scaled: the time grows with the size
        rows = int(min(n, max(1, TRANSPOSE_SAMPLE_BYTES // (m * np.dtype(dtype).itemsize))))
        A = np.random.default_rng(0).standard_normal((rows, m), dtype=dtype)
        AT = np.empty((m, rows), dtype)
        best = np.inf
        for _ in range(ROUNDS):
            start = time.perf_counter()
            transpose(A, AT)
            best = min(best, time.perf_counter() - start)
        record = {
            "shape": [n, m],
            "load": round(_load_average(), 2),
            "transpose_us": round(best * n / rows * 1e6, 3),
        }
        _choices[key] = record
        _store()
    return record["transpose_us"] * 1e-6


def explain():
    """What the products of this machine take and why: one line per shape class met."""
    _load()
    lines = [
        f"machine: {machine_key()}",
        f"wisdom file: {wisdom_path() or '(none writable: kept in memory)'}",
        f"rule: every side >= {LARGE_SIDE} -> blas (not measured)",
    ]
    forced_now = _forced if _forced is not None else _path_from_environment()
    if forced_now is not None:
        lines.append(f"forced: every product -> {PATH_NAMES[forced_now]}")
    for key, record in sorted(_choices.items()):
        if "transpose_us" in record:
            n, m = record.get("shape", ("?", "?"))
            lines.append(
                f"{key:28} measured on {n}x{m} at load {record.get('load', '?')}: "
                f"{record['transpose_us']} us"
            )
            continue
        M, N, K = record.get("shape", ("?", "?", "?"))
        times = ", ".join(
            f"{name} {record[name + '_us']} us" for name in PATH_NAMES if name + "_us" in record
        )
        lines.append(
            f"{key:28} -> {record['path']:5}  measured on {M}x{N}x{K} at load "
            f"{record.get('load', '?')}: {times}"
        )
    return "\n".join(lines)


def reset():
    """Forget every choice of this machine (memory and file): the next products are measured."""
    global _loaded
    _choices.clear()
    _loaded = True  # nothing to load: the file's entry for this machine is dropped below
    path = wisdom_path()
    if path is not None and os.path.exists(path):
        machines = _read_wisdom()
        machines.pop(machine_key(), None)
        _write_machines(path, machines)
