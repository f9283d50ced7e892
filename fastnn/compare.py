"""``fastnn compare``: the same network trained by each kernel variant, side by side.

Every variant gets the same data, the same initial parameters and the same
number of epochs, and is called through its whole-run entry ``train`` (the
kernel contract). The table shows the time per epoch, the speed-up over the
explicit loops and over NumPy, the achieved GFLOP/s and the final cost, which
is the same for every variant (in float64, to rounding): the variants compute
one algorithm.

Timing rules: each variant is first called once for one epoch (the warm-up,
which is when the JIT variants compile), then the whole run is timed; a fast
run is repeated and the best taken. Compile time is not in the table.
The loops variant is skipped, with a note, where a short probe run says it
would take longer than ``loops_limit`` seconds.
"""

import dataclasses
import time

import numpy as np

import kernels

from . import datasets
from .workloads import WORKLOADS, gpu_present, training_flops

#: The variants in table order; "cuda" is only tried where a real GPU is present.
VARIANTS = tuple(kernels.VARIANTS)

#: The notes' planar example, workload (a): 2-4-1, tanh then sigmoid, learning rate 1.2.
DEFAULT_EXAMPLES = WORKLOADS["a"].examples
DEFAULT_HIDDEN = WORKLOADS["a"].sizes[1:-1]
DEFAULT_LEARNING_RATE = WORKLOADS["a"].learning_rate
DEFAULT_EPOCHS = 100

#: Runs are repeated (best taken) at least ``repeat`` times, and until they add up to
#: this many seconds (at most ``_MAX_RUNS`` runs): fast runs are noisy.
_SHORT_RUN_SECONDS = 0.3
_MAX_RUNS = 100
#: Examples in the loops probe run (the estimate scales it to the whole data).
_PROBE_EXAMPLES = 64


@dataclasses.dataclass
class Problem:
    """One training problem in the notes' layout: ``X (n_x, m)``, ``Y (1, m)``."""

    X: np.ndarray
    Y: np.ndarray
    layer_sizes: tuple
    activations: tuple
    weights: list
    biases: list

    @property
    def examples(self):
        return self.X.shape[1]

    def fresh_parameters(self):
        """Copies of the initial parameters (each run trains in place)."""
        return [W.copy() for W in self.weights], [b.copy() for b in self.biases]


@dataclasses.dataclass
class Result:
    """One variant on one problem size; ``seconds_per_epoch`` is None when not run."""

    variant: str
    size: int
    seconds_per_epoch: float = None
    gflops: float = None
    final_cost: float = None
    note: str = ""


def planar_problem(examples=DEFAULT_EXAMPLES, hidden=DEFAULT_HIDDEN, dtype="float64", seed=1):
    """The planar "flower" data and a 2-hidden-1 tanh/sigmoid net, initialised as the notes
    do (``W = randn * 0.01``, ``b = 0``) from ``seed``."""
    dtype = np.dtype(dtype)
    X_rows, y = datasets.planar(m=examples, seed=seed)
    X = np.ascontiguousarray(X_rows.T, dtype=dtype)
    Y = y.reshape(1, -1).astype(dtype)
    sizes = (X.shape[0],) + tuple(int(h) for h in hidden) + (1,)
    activations = ("tanh",) * len(hidden) + ("sigmoid",)
    rng = np.random.default_rng(seed)
    weights = [
        (rng.standard_normal((n, n_prev)) * 0.01).astype(dtype)
        for n_prev, n in zip(sizes[:-1], sizes[1:])
    ]
    biases = [np.zeros((n, 1), dtype=dtype) for n in sizes[1:]]
    return Problem(X, Y, sizes, activations, weights, biases)


def load_variants(names):
    """``(modules, notes)``: the kernel modules that import, and a note for each that does not."""
    modules, notes = {}, []
    for name in names:
        if name == "cuda" and not gpu_present():
            notes.append("cuda: skipped, no GPU present (the CUDA simulator is for tests only)")
            continue
        try:
            modules[name] = kernels.get(name)
        except ImportError as error:
            notes.append(f"{name}: skipped, not available ({str(error).strip()})")
    return modules, notes


def _run(module, problem, epochs, learning_rate, batch_size, orders):
    """One whole run from the initial parameters: ``(seconds, costs)``."""
    weights, biases = problem.fresh_parameters()
    start = time.perf_counter()
    costs = module.train(
        weights,
        biases,
        problem.X,
        problem.Y,
        list(problem.activations),
        epochs,
        learning_rate,
        batch_size=batch_size,
        orders=orders,
    )
    return time.perf_counter() - start, np.asarray(costs)


def epoch_orders(epochs, examples, batch_size, seed=0):
    """The example order of each epoch, drawn in Python (None for full batch)."""
    if batch_size is None or batch_size >= examples:
        return None
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(examples) for _ in range(epochs)]).astype(np.int64)


def estimate_loops_seconds(module, problem, epochs, learning_rate):
    """Seconds a whole loops run would take, from one epoch on a slice of the examples
    (its work grows linearly with the number of examples)."""
    m = min(problem.examples, _PROBE_EXAMPLES)
    probe = dataclasses.replace(
        problem, X=np.ascontiguousarray(problem.X[:, :m]), Y=np.ascontiguousarray(problem.Y[:, :m])
    )
    seconds = min(_run(module, probe, 1, learning_rate, None, None)[0] for _ in range(3))
    return seconds * epochs * problem.examples / m


def time_variant(
    module, problem, epochs, learning_rate=DEFAULT_LEARNING_RATE, batch_size=None, repeat=3
):
    """``(seconds_per_epoch, final_cost)`` of a whole run, warm-up excluded.

    The warm-up is one epoch on the same arrays (same dtypes and shapes, so a
    JIT variant compiles what the timed run uses)."""
    orders = epoch_orders(epochs, problem.examples, batch_size)
    warm_orders = None if orders is None else orders[:1]
    _run(module, problem, 1, learning_rate, batch_size, warm_orders)
    best, costs = _run(module, problem, epochs, learning_rate, batch_size, orders)
    total, runs = best, 1
    while runs < repeat or (total < _SHORT_RUN_SECONDS and runs < _MAX_RUNS):
        seconds, _ = _run(module, problem, epochs, learning_rate, batch_size, orders)
        best, total, runs = min(best, seconds), total + seconds, runs + 1
    return best / epochs, float(costs[-1])


def compare(
    sizes=(DEFAULT_EXAMPLES,),
    sweep="examples",
    hidden=DEFAULT_HIDDEN,
    examples=DEFAULT_EXAMPLES,
    epochs=DEFAULT_EPOCHS,
    dtype="float64",
    learning_rate=DEFAULT_LEARNING_RATE,
    batch_size=None,
    variants=VARIANTS,
    loops_limit=5.0,
    repeat=3,
    seed=1,
    log=None,
):
    """Train the planar net with each variant at each size; ``(results, notes)``.

    ``sweep="examples"``: each size is the number of examples (``hidden`` fixed);
    ``sweep="hidden"``: each size is the width of every hidden layer (``examples`` fixed).
    ``repeat``: each variant but loops runs at least this many times (and until the
    runs add up to a fraction of a second); the best run counts. Loops runs once.
    ``log``, if given, is called with a line of progress before each run.
    """
    if sweep not in ("examples", "hidden"):
        raise ValueError(f"sweep must be 'examples' or 'hidden', got {sweep!r}")
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs!r}")
    modules, notes = load_variants(variants)
    results = []
    for size in sizes:
        if sweep == "examples":
            problem = planar_problem(size, hidden, dtype, seed)
        else:
            problem = planar_problem(examples, (size,) * len(hidden), dtype, seed)
        flops = training_flops(problem.layer_sizes, problem.examples)
        for name, module in modules.items():
            result = Result(name, size)
            results.append(result)
            if name == "loops":
                estimate = estimate_loops_seconds(module, problem, epochs, learning_rate)
                if estimate > loops_limit:
                    result.note = (
                        f"loops skipped at {sweep} = {size}: about {estimate:.0f} s "
                        f"estimated (limit {loops_limit:g} s)"
                    )
                    notes.append(result.note)
                    continue
            if log:
                log(f"{name} at {sweep} = {size} ...")
            try:
                seconds, cost = time_variant(
                    module,
                    problem,
                    epochs,
                    learning_rate,
                    batch_size,
                    1 if name == "loops" else repeat,
                )
            except Exception as error:  # report the variant's failure, keep the others
                result.note = f"{name} failed at {sweep} = {size}: {type(error).__name__}: {error}"
                notes.append(result.note)
                continue
            result.seconds_per_epoch = seconds
            result.gflops = flops / seconds / 1e9
            result.final_cost = cost
    return results, notes


# ---------------------------------------------------------------------------
# The table and the plot
# ---------------------------------------------------------------------------


def format_seconds(seconds):
    """``12.3 µs``, ``4.56 ms``, ``1.23 s``."""
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _ratio(reference, seconds):
    if reference is None or seconds is None:
        return "-"
    ratio = reference / seconds
    return f"{ratio:,.0f}x" if ratio >= 1000 else f"{ratio:.3g}x"


def format_table(results, sweep="examples", show_size=False):
    """The comparison table as text: one row per variant (and size)."""
    header = ["variant", "time/epoch", "vs loops", "vs numpy", "GFLOP/s", "final cost"]
    if show_size:
        header.insert(0, "hidden" if sweep == "hidden" else "m")
    rows = []
    by_size = {}
    for result in results:
        by_size.setdefault(result.size, {})[result.variant] = result
    for size, row_results in by_size.items():
        loops = row_results.get("loops")
        numpy_ = row_results.get("numpy")
        for result in row_results.values():
            time_cell = format_seconds(result.seconds_per_epoch)
            if result.seconds_per_epoch is None:
                time_cell = "failed" if " failed " in result.note else "skipped"
            row = [
                result.variant,
                time_cell,
                _ratio(loops and loops.seconds_per_epoch, result.seconds_per_epoch),
                _ratio(numpy_ and numpy_.seconds_per_epoch, result.seconds_per_epoch),
                "-" if result.gflops is None else f"{result.gflops:.3g}",
                "-" if result.final_cost is None else f"{result.final_cost:.10f}",
            ]
            if show_size:
                row.insert(0, str(size))
            rows.append(row)
    widths = [max(len(line[i]) for line in [header] + rows) for i in range(len(header))]
    variant_column = header.index("variant")
    lines = [
        "  ".join(
            cell.ljust(width) if i == variant_column else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths))
        )
        for line in [header] + rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def plot(results, path, sweep="examples", title=None):
    """Time per epoch against size, log-log, one line per variant; saved to ``path``."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("--plot needs matplotlib: pip install 'fastnn[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    variants = dict.fromkeys(result.variant for result in results)
    for variant in variants:
        points = [
            (r.size, r.seconds_per_epoch)
            for r in results
            if r.variant == variant and r.seconds_per_epoch is not None
        ]
        if points:
            sizes, seconds = zip(*points)
            axes.loglog(sizes, seconds, marker="o", label=variant)
    axes.set_xlabel("hidden units per layer" if sweep == "hidden" else "examples (m)")
    axes.set_ylabel("seconds per epoch")
    axes.set_title(title or "fastnn compare: time per epoch by kernel variant")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
