"""The asv benchmarks cannot rot: each one runs its setup and one call on its smallest sizes.

Every variant and dtype is tried; a combination the benchmark skips (asv's
NotImplementedError: a variant this machine lacks, loops on a large size) is
fine, but every benchmark must run for at least one combination.
"""

import importlib
import inspect
import itertools
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MODULES = [
    "asv_benchmarks.bench_kernels",
    "asv_benchmarks.bench_training",
    "asv_benchmarks.bench_compile",
]
PREFIXES = ("time_", "peakmem_", "track_", "timeraw_")
#: Parameters that are sizes: only the first (smallest) value is tried.
SIZE_PARAMS = {"MxKxN", "layer", "n x m", "workload"}


def benchmark_classes():
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name, cls in vars(module).items():
            if (
                inspect.isclass(cls)
                and cls.__module__ == module.__name__
                and not name.startswith("_")
                and any(attr.startswith(PREFIXES) for attr in dir(cls))
            ):
                yield pytest.param(cls, id=f"{module_name.rsplit('.', 1)[1]}.{name}")


def smallest_combinations(cls):
    values = [
        [options[0]] if name in SIZE_PARAMS else options
        for name, options in zip(cls.param_names, cls.params)
    ]
    return list(itertools.product(*values))


def check_timeraw(code_and_setup, run):
    """A timeraw benchmark's setup and timed code compile; with ``run``, the timed code
    also runs in a fresh process. Its setup is not run here: it empties the Numba cache
    on purpose, and a cold compile takes tens of seconds (the benchmark measures it)."""
    code, setup = code_and_setup
    compile(setup, "<timeraw setup>", "exec")
    compile(code, "<timeraw code>", "exec")
    if run:
        subprocess.run([sys.executable, "-c", code], check=True, timeout=600)


@pytest.mark.parametrize("cls", list(benchmark_classes()))
def test_benchmark_runs_on_smallest_sizes(cls):
    methods = sorted(attr for attr in dir(cls) if attr.startswith(PREFIXES))
    ran = dict.fromkeys(methods, 0)
    skips = []
    for params in smallest_combinations(cls):
        bench = cls()
        try:
            bench.setup(*params)
        except NotImplementedError as skip:
            skips.append(f"{params}: {skip}")
            continue
        for method in methods:
            result = getattr(bench, method)(*params)
            if method.startswith("track_"):
                assert np.isfinite(result), f"{cls.__name__}.{method}{params} gave {result}"
            if method.startswith("timeraw_"):
                check_timeraw(result, run=not any(ran.values()))
            ran[method] += 1
    # every part the benchmarks measure is in this checkout: a benchmark that runs for no
    # combination fails (it would measure nothing)
    never = [method for method, count in ran.items() if count == 0]
    assert not never, f"{cls.__name__}: {never} never ran; skips: {skips}"


def test_training_benchmarks_agree_on_the_final_cost():
    """The same workload gives the same final cost on every available variant (float64)."""
    from asv_benchmarks.bench_training import Training
    from asv_benchmarks.common import WORKLOADS_BY_KEY

    planar = WORKLOADS_BY_KEY["a"].name
    costs = {}
    for variant in Training.params[0]:
        bench = Training()
        try:
            bench.setup(variant, "float64", planar)
        except NotImplementedError:  # cuda without a GPU
            continue
        costs[variant] = bench.track_final_cost(variant, "float64", planar)
    assert {"loops", "numpy", "numba"} <= set(costs)
    for variant, cost in costs.items():
        assert cost == pytest.approx(costs["numpy"], rel=1e-9), variant
