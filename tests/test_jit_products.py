"""The numba variant's product dispatch: every path gives the reference's training run, and the
choices are measured once per machine, kept beside Numba's cache, shown and reset.

(Each path's products alone, on awkward shapes: tests/test_jit_gemm.py.)
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numba import njit
from numba.core.errors import TypingError

from kernels import jit, jit_products, vectorized

from conftest import labels, random_array

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def fresh_wisdom(tmp_path, monkeypatch):
    """An empty wisdom file of this test's own; the process's choices are put back after."""
    path = tmp_path / jit_products.WISDOM_FILE
    monkeypatch.setattr(jit_products, "wisdom_path", lambda: str(path))
    saved = dict(jit_products._choices), jit_products._loaded
    jit_products._choices.clear()
    jit_products._loaded = False
    yield path
    jit_products._choices.clear()
    jit_products._choices.update(saved[0])
    jit_products._loaded = saved[1]


def network(rng, sizes, dtype):
    weights = [random_array(rng, (n, p), dtype, 1.0 / np.sqrt(p)) for p, n in zip(sizes, sizes[1:])]
    biases = [random_array(rng, (n, 1), dtype, 0.1) for n in sizes[1:]]
    return weights, biases


def train_copy(module, weights, biases, *args, **kwargs):
    W, b = [w.copy() for w in weights], [x.copy() for x in biases]
    costs = module.train(W, b, *args, **kwargs)
    return costs, W + b


#: (layer sizes, m, batch size): a small net, a wide first layer (both layouts of X, the TILES
#: path a candidate), mini-batches gathered as rows
RUNS = [((5, 7, 1), 67, None), ((2111, 13, 1), 53, None), ((37, 19, 3), 131, 32)]


@pytest.mark.parametrize("path", jit_products.PATH_NAMES + ("measured",))
@pytest.mark.parametrize("sizes, m, batch", RUNS)
def test_every_path_trains_like_the_reference(path, sizes, m, batch, rng, fresh_wisdom):
    dtype = np.float64
    weights, biases = network(rng, sizes, dtype)
    X = random_array(rng, (sizes[0], m), dtype, 1.0)
    output = "sigmoid" if sizes[-1] == 1 else "softmax"
    Y = labels(rng, output, sizes[-1], m, dtype)
    activations = ["tanh"] * (len(sizes) - 2) + [output]
    orders = np.array([rng.permutation(m) for _ in range(4)])
    args = (X, Y, activations, 4, 0.3)
    kwargs = dict(batch_size=batch, momentum=0.5, l2=0.1, orders=orders)
    expected_costs, expected = train_copy(vectorized, weights, biases, *args, **kwargs)
    if path == "measured":
        costs, got = train_copy(jit, weights, biases, *args, **kwargs)
    else:
        with jit_products.forced(path):
            costs, got = train_copy(jit, weights, biases, *args, **kwargs)
    np.testing.assert_allclose(costs, expected_costs, rtol=1e-10)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("path", jit_products.PATH_NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_path_forward_and_matmul(path, dtype, rng):
    weights, biases = network(rng, (2111, 7, 3), dtype)
    X = random_array(rng, (2111, 29), dtype, 1.0)
    with jit_products.forced(path):
        got = jit.forward(weights, biases, X, ["relu", "softmax"])
        product = jit.matmul(weights[0], X)
    tol = dict(rtol=1e-3, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        got, vectorized.forward(weights, biases, X, ["relu", "softmax"]), **tol
    )
    np.testing.assert_allclose(product, weights[0].astype(np.float64) @ X, **tol)


def test_a_shape_class_is_measured_once_and_kept_on_disk(fresh_wisdom, monkeypatch):
    calls = []
    measure = jit_products._measure
    monkeypatch.setattr(jit_products, "_measure", lambda *a: calls.append(a) or measure(*a))
    first = jit_products.choose(jit_products.NT, 13, 67, 5, np.float64)
    # the same class (each side rounded up to a power of two): no second measurement
    assert jit_products.choose(jit_products.NT, 14, 100, 6, np.float64) == first
    assert len(calls) == 1
    stored = json.loads(fresh_wisdom.read_text())
    (entries,) = stored["machines"].values()
    (record,) = entries.values()
    assert record["path"] == jit_products.PATH_NAMES[first]
    assert record["shape"] == [13, 67, 5]
    assert {"blas_us", "loops_us"} <= set(record)
    # a new process reads the file: simulated by forgetting the memory
    jit_products._choices.clear()
    jit_products._loaded = False
    assert jit_products.choose(jit_products.NT, 13, 67, 5, np.float64) == first
    assert len(calls) == 1


def test_the_tiles_are_a_candidate_only_for_skinny_products_with_a_long_side(fresh_wisdom):
    assert jit_products.tiles_may_pay(20, 209, 12288)
    assert not jit_products.tiles_may_pay(128, 128, 784)
    record = jit_products._measure(jit_products.NT, 20, 9, 2100, np.dtype(np.float32))
    assert {"blas_us", "loops_us", "tiles_us"} <= set(record)


def test_large_products_take_blas_by_rule_without_a_measurement(fresh_wisdom, monkeypatch):
    monkeypatch.setattr(jit_products, "_measure", lambda *a: pytest.fail("measured"))
    side = jit_products.LARGE_SIDE
    assert jit_products.choose(jit_products.NN, side, side, side, np.float32) == jit_products.BLAS


@njit(cache=False)
def _gemm_forms(form, A, B, C):
    if form == jit_products.NN:
        jit_products.gemm(A, B, C)
    elif form == jit_products.NT:
        jit_products.gemm(A, B.T, C)
    else:
        jit_products.gemm(A.T, B, C)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "M,N,K", [(1, 1, 1), (1, 13, 7), (13, 1, 7), (7, 13, 1), (3, 5, 0), (0, 5, 3), (97, 31, 61)]
)
@pytest.mark.parametrize("form", [jit_products.NN, jit_products.NT, jit_products.TN])
def test_the_blas_call_is_numpys_product(form, M, N, K, dtype, rng):
    a_shape, b_shape = jit_products.operand_shapes(form, M, N, K)
    A, B = random_array(rng, a_shape, dtype), random_array(rng, b_shape, dtype)
    C = np.full((M, N), np.nan, dtype)  # every element written, zeros when K is 0
    _gemm_forms(form, A, B, C)
    product = {jit_products.NN: lambda: A @ B, jit_products.NT: lambda: A @ B.T}
    expected = product.get(form, lambda: A.T @ B)()
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(C, expected, rtol=tol, atol=tol * max(K, 1))


def test_the_blas_call_refuses_arrays_of_any_layout():
    A = np.ones((4, 6))
    with pytest.raises(TypingError):
        _gemm_forms(jit_products.NN, A[:, ::2], A[:3], np.empty((4, 4)))


def test_a_side_past_a_c_int_never_takes_blas(fresh_wisdom):
    past = jit_products.BLAS_MAX_SIDE + 1
    with jit_products.forced("blas"):
        assert jit_products.choose(jit_products.NT, 1, past, 1, np.float64) == jit_products.LOOPS
        assert jit_products.choose(jit_products.NT, 1, past - 1, 1, np.float64) == jit_products.BLAS


def test_explain_and_reset(fresh_wisdom):
    jit_products.choose(jit_products.NN, 3, 5, 7, np.float32)
    report = jit_products.explain()
    assert "machine: cpu=" in report and "float32 nn 4x8x8" in report
    assert "measured on 3x5x7" in report
    jit_products.reset()
    assert "float32 nn 4x8x8" not in jit_products.explain()
    stored = json.loads(fresh_wisdom.read_text())
    assert jit_products.machine_key() not in stored["machines"]


def test_a_corrupt_wisdom_file_is_measured_again_and_rewritten(fresh_wisdom):
    fresh_wisdom.write_text("{not json")
    path = jit_products.choose(jit_products.TN, 3, 5, 7, np.float64)
    assert path in (jit_products.BLAS, jit_products.LOOPS)
    assert json.loads(fresh_wisdom.read_text())["format"] == 1


def test_the_machine_key_names_the_blas_core_type_and_the_threads(monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    one = jit_products.machine_key()
    monkeypatch.setenv("OPENBLAS_CORETYPE", "SkylakeX")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    other = jit_products.machine_key()
    assert "openblas_coretype=Haswell" in one and "threads=1" in one
    assert one != other


def test_forcing_a_path(monkeypatch):
    with pytest.raises(ValueError, match="path must be one of"):
        with jit_products.forced("fast"):
            pass
    monkeypatch.setenv("FASTNN_PRODUCT_PATH", "loops")
    assert jit_products.choose(jit_products.NN, 300, 300, 300, np.float64) == jit_products.LOOPS
    monkeypatch.setenv("FASTNN_PRODUCT_PATH", "quick")
    with pytest.raises(ValueError, match="FASTNN_PRODUCT_PATH"):
        jit_products.choose(jit_products.NN, 3, 3, 3, np.float64)


FIRST_FIT = textwrap.dedent("""
    import numpy as np
    from kernels import jit
    rng = np.random.default_rng(0)
    W = [rng.standard_normal((4, 2)).astype(np.float32), rng.standard_normal((1, 4)).astype(np.float32)]
    b = [np.zeros((4, 1), np.float32), np.zeros((1, 1), np.float32)]
    X = rng.standard_normal((2, 50)).astype(np.float32)
    Y = (rng.random((1, 50)) < 0.5).astype(np.float32)
    jit.train(W, b, X, Y, ["tanh", "sigmoid"], 2, 0.1)
    jit.train(W, b, X, Y, ["tanh", "sigmoid"], 2, 0.1)
""")


def test_a_first_compilation_says_so_once_and_a_cached_start_says_nothing(tmp_path):
    env = dict(
        os.environ,
        NUMBA_CACHE_DIR=str(tmp_path / "cache"),
        PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]),
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", FIRST_FIT],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        for _ in range(2)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr
    cold, warm = (run.stderr.splitlines() for run in runs)
    assert [line for line in cold if "compiling" in line] == [
        "fastnn: compiling the numba kernels for float32 (once; cached for later runs)"
    ]
    assert not [line for line in warm if "compiling" in line]
    # the choices of the first process were kept beside the cache, for the second
    assert (tmp_path / "cache" / jit_products.WISDOM_FILE).exists()


def test_a_choice_records_the_load_it_was_measured_at(fresh_wisdom, monkeypatch):
    monkeypatch.setattr(jit_products, "_load_average", lambda: 7.5)
    jit_products.choose(jit_products.NN, 3, 5, 7, np.float64)
    (record,) = jit_products._choices.values()
    assert record["load"] == 7.5
    assert "at load 7.5" in jit_products.explain()


def test_an_avx2_stand_in_has_its_own_machine_key(monkeypatch):
    import numba

    monkeypatch.setattr(numba.config, "CPU_NAME", "haswell")
    monkeypatch.setattr(numba.config, "CPU_FEATURES", "")
    key = jit_products.machine_key()
    assert "cpu=haswell vector=(the cpu defaults)" in key


SAME_SEED = textwrap.dedent("""
    import hashlib, sys
    import numpy as np
    from kernels import jit
    dtype = np.dtype(sys.argv[1])
    rng = np.random.default_rng(0)
    W = [rng.standard_normal((32, 64)).astype(dtype), rng.standard_normal((10, 32)).astype(dtype)]
    b = [np.zeros((32, 1), dtype), np.zeros((10, 1), dtype)]
    X = rng.standard_normal((64, 300)).astype(dtype)
    Y = np.zeros((10, 300), dtype); Y[rng.integers(0, 10, 300), np.arange(300)] = 1
    orders = np.array([rng.permutation(300) for _ in range(5)])
    costs = jit.train(W, b, X, Y, ["tanh", "softmax"], 5, 0.1, batch_size=64, orders=orders)
    A = jit.forward(W, b, X, ["tanh", "softmax"])
    print(hashlib.sha1(b"".join(a.tobytes() for a in W + b + [costs, A])).hexdigest())
""")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_same_seed_gives_the_same_bits_whether_compiled_here_or_loaded(dtype, tmp_path):
    """Issue 12, point 8: the process that meets an empty cache and the processes that load
    from it train to the same bits (Numba's in-process code and its cached code differed)."""
    env = dict(
        os.environ,
        NUMBA_CACHE_DIR=str(tmp_path / "cache"),
        PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]),
    )
    digests = []
    for _ in range(3):
        run = subprocess.run(
            [sys.executable, "-c", SAME_SEED, dtype],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, run.stderr
        digests.append(run.stdout.strip())
    assert len(set(digests)) == 1, digests


def test_a_transposition_is_measured_once_and_kept_in_the_file(fresh_wisdom):
    first = jit_products.transpose_seconds(300, 200, np.float64)
    assert first > 0
    jit_products._choices.clear()
    jit_products._loaded = False  # a new process: only the file is left
    assert jit_products.transpose_seconds(300, 200, np.float64) == first
    assert "transpose" in jit_products.explain()
