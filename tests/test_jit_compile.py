"""The first compilation of the numba variant: two helper processes fill the cache, and the process
that asked loads every kernel of its run from there, each compiled once.

(That a first compilation says so once, and a cached start says nothing:
tests/test_jit_products.py.)
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from kernels import jit_compile
from kernels.jit_compile import PARTS, PRODUCTS_HELPER, SWEEPS_HELPER
from kernels.jit_products import WISDOM_FILE

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FIRST_RUN = textwrap.dedent("""
    import json, os, sys, warnings
    import numpy as np
    def warn_of_forks():  # as JAX does once imported
        warnings.warn("os.fork() was called. os.fork() is incompatible with multithreaded code",
                      RuntimeWarning, stacklevel=2)
    os.register_at_fork(before=warn_of_forks)
    from numba.core.registry import CPUDispatcher
    from kernels import jit, jit_compile, jit_gemm, jit_math, jit_products, jit_sweeps, jit_train
    started = []
    start_helper = jit_compile._helper
    def recorded(key, parts, *args, **kwargs):
        started.append(list(parts))
        return start_helper(key, parts, *args, **kwargs)
    jit_compile._helper = recorded
    preloaded = []  # the product's cache loads by the time each preload returns
    preload = jit_compile._preload
    def counted(key):
        preload(key)
        preloaded.append(sum(jit_products.product.stats.cache_hits.values()))
    jit_compile._preload = counted
    if sys.argv[2] == "no helpers":
        def refused(*args, **kwargs):
            raise OSError("no helper here")
        jit_compile._helper = refused
    if "one core" in sys.argv[2]:
        jit_compile._cores = lambda: 1
    if "spawned" in sys.argv[2]:  # helpers as new interpreters, as where none can be forked
        jit_compile._forks = lambda: False
    dtype, output = np.dtype(sys.argv[1]), sys.argv[3]
    rng = np.random.default_rng(0)
    n_out = 3 if output == "softmax" else 1
    W = [rng.standard_normal((4, 2)).astype(dtype), rng.standard_normal((n_out, 4)).astype(dtype)]
    b = [np.zeros((4, 1), dtype), np.zeros((n_out, 1), dtype)]
    X = rng.standard_normal((2, 30)).astype(dtype)
    if output == "softmax":
        Y = np.eye(3, dtype=dtype)[:, rng.integers(0, 3, 30)]
    else:
        Y = (rng.random((1, 30)) < 0.5).astype(dtype)
    costs = jit.train(W, b, X, Y, ["tanh", output], 3, 0.5)
    costs = costs.tolist() + jit.forward(W, b, X, ["tanh", output]).ravel().tolist()
    trained = len(started)  # a classifier's predict: the same net, a linear output
    costs += jit.forward(W, b, X, ["tanh", "linear"]).ravel().tolist()
    compiled_here = sorted(
        f"{module.__name__}.{name}"
        for module in (jit_gemm, jit_math, jit_products, jit_sweeps, jit_train)
        for name, value in vars(module).items()
        if isinstance(value, CPUDispatcher) and any(value.stats.cache_misses.values())
    )
    product_index = jit_products.product._cache._cache_file._load_index()
    json.dump({"costs": costs, "compiled_here": compiled_here, "helpers": started,
               "product_signatures": len(product_index), "preloaded": preloaded,
               "forward_helpers": started[trained:]}, sys.stdout)
""")


def first_run(tmp_path, dtype, helpers, paths_of=None, cwd=ROOT, output="sigmoid"):
    """A fresh process's first ``train`` (and ``forward``: its "costs" are both), of a 2-4-n net
    with ``output`` activation, with its cache in ``tmp_path``; ``paths_of``: an earlier
    run's directory whose measured product paths it takes (paths round differently, so runs
    compared bit for bit must take the same ones); ``cwd``: its working directory (it runs as a
    script, so that directory is not on its path)."""
    if paths_of is not None:
        (tmp_path / "cache").mkdir(parents=True)
        shutil.copy(paths_of / "cache" / WISDOM_FILE, tmp_path / "cache" / WISDOM_FILE)
    env = dict(
        os.environ,
        NUMBA_CACHE_DIR=str(tmp_path / "cache"),
        PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]),
    )
    script = tmp_path / "first_run.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(FIRST_RUN)
    done = subprocess.run(
        [sys.executable, str(script), dtype, helpers, output],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout), stderr=done.stderr)


@pytest.mark.parametrize(
    "dtype,helpers", [("float64", "helpers"), ("float32", "helpers"), ("float64", "spawned")]
)
def test_the_helpers_cache_every_kernel_of_the_run_once(tmp_path, dtype, helpers):
    cold = first_run(tmp_path, dtype, helpers)
    side_by_side = [list(PRODUCTS_HELPER), list(SWEEPS_HELPER)]
    two = jit_compile._cores() >= 2
    assert cold["helpers"] == (side_by_side if two else [list(PARTS)])
    # nothing compiled in the process that asked: every kernel came from the helpers' cache,
    # the product while the helpers compiled the rest
    assert cold["compiled_here"] == []
    # the forward pass of another output code needs no sweep of its own
    assert cold["forward_helpers"] == []
    # one line says what is compiling; no warning of the helpers' forks reaches the user
    assert cold["stderr"].splitlines() == [
        f"fastnn: compiling the numba kernels for {dtype} (once; cached for later runs)"
    ]
    assert cold["preloaded"] == ([1] if two else [])
    # the run calls its product with int64 forms: one compilation serves all three forms
    assert cold["product_signatures"] == 1
    warm = first_run(tmp_path, dtype, helpers)
    assert warm["compiled_here"] == [] and warm["helpers"] == [] and warm["preloaded"] == []
    assert warm["costs"] == cold["costs"]


@pytest.mark.parametrize("output", ["softmax", "linear"])
def test_a_new_output_code_compiles_only_its_sweep(tmp_path, output):
    first_run(tmp_path, "float32", "helpers")  # a sigmoid output's run: the rest is cached
    cold = first_run(tmp_path, "float32", "helpers", output=output)
    assert cold["helpers"] == [["output_sweep"]]
    assert cold["compiled_here"] == [] and cold["preloaded"] == []
    warm = first_run(tmp_path, "float32", "helpers", output=output)
    assert warm["compiled_here"] == [] and warm["helpers"] == []
    assert warm["costs"] == cold["costs"]


def test_with_one_core_one_helper_caches_it_all(tmp_path):
    # run from a folder with a `kernels` package of its own, as a user's project may have: the
    # helper must still compile this one (`python -c` puts the working directory first)
    decoy = tmp_path / "project" / "kernels"
    decoy.mkdir(parents=True)
    (decoy / "__init__.py").write_text("raise ImportError('a project of its own')\n")
    one = first_run(tmp_path / "one", "float32", "one core, spawned", cwd=decoy.parent)
    assert one["helpers"] == [list(PARTS)]
    assert one["compiled_here"] == [] and one["product_signatures"] == 1
    assert one["preloaded"] == []
    two = first_run(tmp_path / "two", "float32", "helpers", paths_of=tmp_path / "one")
    assert one["costs"] == two["costs"]


def test_without_helpers_the_run_compiles_here_and_agrees(tmp_path):
    with_helpers = first_run(tmp_path / "a", "float64", "helpers")
    alone = first_run(tmp_path / "b", "float64", "no helpers", paths_of=tmp_path / "a")
    assert "kernels.jit_train.train_kernel" in alone["compiled_here"]
    assert alone["costs"] == pytest.approx(with_helpers["costs"], rel=1e-12)


def test_no_helper_is_forked_beside_another_thread_or_numba_s_pool():
    # a Python thread could hold a lock (Numba's compiler lock, an import's) that a forked child
    # would wait on for ever, and a child forked after Numba started its thread pool would lack
    # the pool's workers: helpers are then new interpreters. A fresh process, as this one's
    # state depends on the tests run before it
    done = subprocess.run(
        [sys.executable, "-c", WHEN_IT_FORKS],
        env=dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    linux = str(sys.platform.startswith("linux"))
    assert done.stdout.split() == [linux, "False", linux, "False"]


WHEN_IT_FORKS = textwrap.dedent("""
    import threading
    import numba
    import numpy as np
    from kernels import jit_compile
    print(jit_compile._forks())
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    print(jit_compile._forks())
    stop.set()
    other.join()
    print(jit_compile._forks())
    @numba.njit(parallel=True, cache=False)
    def doubled(x):
        for i in numba.prange(x.size):
            x[i] *= 2
    doubled(np.ones(8))
    print(jit_compile._forks())
""")
