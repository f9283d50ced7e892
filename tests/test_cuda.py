"""What only the CUDA variant has, under the CUDA simulator (conftest sets it): the tiled
product in its three forms, both simulator tiles and the GPU's, split-K, the gathered first
layer with the bias column; device arrays; its errors. The function-by-function comparison
with the reference is in ``test_variants.py``.

The simulator runs every GPU thread as a Python thread (milliseconds each), so shapes are
tiny and awkward (1, primes, not multiples of any tile).
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numba import cuda

# a hard import: numba-cuda is in the test extra, so a cuda variant that stops importing
# fails here rather than skipping every test below
from kernels import cuda as cuda_variant
from kernels import cuda_kernels as ck
from kernels import cuda_launch, cuda_train

from conftest import DTYPES, tolerance

ROOT = Path(__file__).resolve().parents[1]


def product_tolerance(dtype, K):
    tol = tolerance(dtype)
    return {"rtol": tol["rtol"], "atol": tol["atol"] * 10 * np.sqrt(max(K, 1))}


def random(rng, shape, dtype, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


# ---------------------------------------------------------------------------
# The product: three forms, awkward shapes, both simulator tiles, split-K
# ---------------------------------------------------------------------------

FORMS = {"nn": (False, False), "nt": (False, True), "tn": (True, False)}


def check_gemm(rng, dtype, M, N, K, form, tile=None):
    trans_a, trans_b = FORMS[form]
    A = random(rng, (K, M) if trans_a else (M, K), dtype)
    B = random(rng, (N, K) if trans_b else (K, N), dtype)
    C = cuda_variant._gemm(A, B, trans_a, trans_b, tile=tile)
    A64, B64 = A.astype(np.float64), B.astype(np.float64)
    expected = (A64.T if trans_a else A64) @ (B64.T if trans_b else B64)
    assert C.dtype == dtype and C.shape == (M, N)
    np.testing.assert_allclose(C, expected, **product_tolerance(dtype, K))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("form", sorted(FORMS))
def test_gemm_forms_on_awkward_shapes(form, dtype, rng):
    # (1,1,33): split-K; (7,13,17) and (5,6,3): edge tiles of the two simulator shapes
    for M, N, K in [(1, 1, 33), (7, 13, 17), (5, 6, 3)]:
        check_gemm(rng, dtype, M, N, K, form)


def test_gemm_plans_cover_split_k_and_both_tiles():
    tiles = {cuda_launch.plan_product(M, N, K)[0] for M, N, K in [(7, 13, 17), (5, 6, 3)]}
    assert tiles == set(cuda_launch.TILES)
    assert cuda_launch.plan_product(1, 1, 33)[1] > 1


GPU_DEFAULT_TILES = sorted(set(cuda_launch.GPU_TILES))


@pytest.mark.parametrize(
    "tile",
    GPU_DEFAULT_TILES,
    ids=lambda t: (
        f"{t.BM}x{t.BN}x{t.BK}{'v' if t.VEC else ''}{f'b{t.MIN_BLOCKS}' if t.MIN_BLOCKS else ''}"
    ),
)
def test_gemm_with_the_gpu_tiles(tile, rng):
    """The GPU's candidate tile shapes (256 threads a block) run here too, on one edge-only
    tile, each in one of the three forms."""
    form = ("nn", "nt", "tn")[GPU_DEFAULT_TILES.index(tile) % 3]
    check_gemm(rng, np.float32, 13, 7, tile.BK + 3, form, tile=tile)


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("tile", cuda_launch.TILES, ids=lambda t: f"{t.BM}x{t.BN}x{t.BK}")
def test_gemm_interior_tiles_take_the_unchecked_path(tile, form, rng):
    """Whole blocks and whole stages load without bounds checks; edge blocks, the last
    partial stage and a second split keep them: all in one product."""
    M, N = 2 * tile.BM + 1, 2 * tile.BN + 3
    check_gemm(rng, np.float64, M, N, 3 * tile.BK + 2, form, tile=tile)


@pytest.mark.parametrize("trans_b", [True, False], ids=["forward", "weight-gradient"])
def test_gathered_product_with_bias_column(trans_b, rng):
    """The two gathered forms of training (columns of a mini-batch taken from X stored one
    example per row), interior and edge blocks, the bias column, on the larger sim tile."""
    tile = cuda_launch.TILES[0]
    dtype = np.float64
    m, n_x, size, start = 40, 2 * tile.BN + 1, 2 * tile.BM + 1, 5
    XT = random(rng, (m, n_x), dtype)
    order = rng.permutation(m)
    idx = order[start : start + size]
    arena = cuda_launch.Arena(dtype)
    xt = arena.put(XT)
    gather = (1, ck.STATE_SIZE + start, m)
    if trans_b:  # Z = W X_b: op(B)(k, j) = XT[idx[j], k]
        W = random(rng, (tile.BM + 3, n_x), dtype)
        M, N, K, bias = W.shape[0], size, n_x, False
        a_op, b_op = (arena.put(W), n_x, 0), (xt, n_x, 1)
        want = W @ XT[idx].T
    else:  # dW = dZ X_b^T, db = rowsum(dZ): op(B)(k, j) = [XT[idx[k], j], 1]
        dZ = random(rng, (tile.BM + 3, size), dtype)
        M, N, K, bias = dZ.shape[0], n_x, size, True
        a_op, b_op = (arena.put(dZ), size, 0), (xt, n_x, 0)
        want = dZ @ XT[idx]
    out, vec = arena.reserve(M * N), arena.reserve(M)
    product = cuda_launch.planned_product(
        dtype,
        arena,
        M,
        N,
        K,
        a_op,
        b_op,
        (ck.GRADIENT, 0, out, -1, vec, -1, -1),
        bias_column=bias,
        gather=gather,
        tile=tile,
    )
    F = arena.upload()
    product.launch(F, cuda.to_device(cuda_launch.state_array(order)))
    np.testing.assert_allclose(arena.read(out, (M, N)), want, **product_tolerance(dtype, K))
    if bias:
        np.testing.assert_allclose(
            arena.read(vec, (M,)), dZ.sum(axis=1), **product_tolerance(dtype, K)
        )


def test_matmul_and_zero_depth(rng):
    A, B = random(rng, (3, 7), np.float64), random(rng, (7, 2), np.float64)
    np.testing.assert_allclose(cuda_variant.matmul(A, B), A @ B, **tolerance(np.float64))
    np.testing.assert_array_equal(
        cuda_variant.matmul(np.ones((2, 0)), np.ones((0, 3))), np.zeros((2, 3))
    )


# ---------------------------------------------------------------------------
# Errors, device arrays
# ---------------------------------------------------------------------------


def test_activation_errors():
    Z = np.zeros((2, 3))
    with pytest.raises(ValueError, match="activation must be one of"):
        cuda_variant.activation_forward(Z, "swish")
    with pytest.raises(ValueError, match="hidden activation"):
        cuda_variant.activation_backward(Z, Z, "softmax")
    with pytest.raises(TypeError, match="float32 or float64"):
        cuda_variant.relu(np.zeros((2, 2), dtype=np.int32))
    with pytest.raises(ValueError, match="slope"):
        cuda_variant.leaky_relu(Z, slope=0.2)


def test_device_arrays_are_accepted(rng):
    A, B = random(rng, (3, 5), np.float32), random(rng, (5, 2), np.float32)
    got = cuda_variant.matmul(cuda.to_device(A), cuda.to_device(B))
    np.testing.assert_allclose(got, A @ B, **product_tolerance(np.float32, 5))


# ---------------------------------------------------------------------------
# Training: its own errors (the runs against the reference: test_variants.py)
# ---------------------------------------------------------------------------


def test_train_rejects_bad_input(rng):
    weights = [random(rng, (3, 2), np.float64, 0.7), random(rng, (1, 3), np.float64, 0.7)]
    biases = [np.zeros((3, 1)), np.zeros((1, 1))]
    X, Y = random(rng, (2, 7), np.float64), np.zeros((1, 7))
    with pytest.raises(ValueError, match="orders"):
        cuda_variant.train(weights, biases, X, Y, ["tanh", "sigmoid"], 2, 0.1, batch_size=3)
    with pytest.raises(ValueError, match=r"shape \(2, 7\)"):  # exactly (epochs, m)
        cuda_variant.train(
            weights,
            biases,
            X,
            Y,
            ["tanh", "sigmoid"],
            2,
            0.1,
            batch_size=3,
            orders=np.stack([rng.permutation(7) for _ in range(3)]),
        )
    with pytest.raises(ValueError, match="columns"):
        cuda_variant.train(weights, biases, X[:1], Y, ["tanh", "sigmoid"], 2, 0.1)
    with pytest.raises(TypeError, match="one dtype"):
        cuda_variant.train(weights, biases, X.astype(np.float32), Y, ["tanh", "sigmoid"], 2, 0.1)
    costs = cuda_variant.train(weights, biases, X, Y, ["tanh", "sigmoid"], 0, 0.1)
    assert costs.shape == (0,)
    assert cuda_train.last_run_mode in (None, "direct")


# ---------------------------------------------------------------------------
# Without a GPU and without the simulator: a clear error
# ---------------------------------------------------------------------------


def test_no_gpu_gives_a_clear_error():
    code = (
        "import kernels\n"
        "try:\n"
        "    kernels.get('cuda')\n"
        "except (ImportError, RuntimeError) as error:\n"
        "    print('ERROR:', error)\n"
        "else:\n"
        "    print('LOADED')\n"
    )
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0", PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    if "LOADED" in out.stdout:
        pytest.skip("a CUDA GPU is present on this machine")
    assert "no CUDA GPU is available" in out.stdout, out.stdout + out.stderr


def test_kernel_constants_match_the_contract():
    from kernels.contract import ACTIVATION_CODES

    assert ck.SOFTMAX == ACTIVATION_CODES["softmax"] and ck.RELU == ACTIVATION_CODES["relu"]
