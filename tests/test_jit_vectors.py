"""The vector width of the JIT variant's loops (``kernels.jit_vectors``): ``wide_vectors()`` puts
LLVM's attribute on the kernel that calls it, the kernel's loops use 512-bit registers exactly
where the target CPU has AVX-512 (an AVX2 target keeps to 256 bits), and every kernel of the run
with loops of its own asks for it; the run's workspace starts on a cache line and each of its
buffers does too.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numba import njit

from kernels import jit_math, jit_products, jit_sweeps, jit_train
from kernels.jit_vectors import PREFER_512, wide_vectors

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@njit(cache=False, fastmath={"contract"}, error_model="numpy")
def _tanh_wide(z, out):
    wide_vectors()
    for i in range(z.size):
        out[i] = jit_math.tanh(z[i])


@njit(cache=False, fastmath={"contract"}, error_model="numpy")
def _tanh_default(z, out):
    for i in range(z.size):
        out[i] = jit_math.tanh(z[i])


def _compiled(kernel):
    z = np.linspace(-3, 3, 101)
    out = np.empty_like(z)
    kernel(z, out)
    np.testing.assert_allclose(out, np.tanh(z), rtol=1e-15, atol=1e-15)
    (llvm,) = kernel.inspect_llvm().values()
    (asm,) = kernel.inspect_asm().values()
    return llvm, asm


def _target_has_avx512():
    vector = jit_products.machine_key().split("vector=")[1].split()[0]
    return "avx512f" in vector.split("+")


def test_the_attribute_is_on_the_kernel_that_asks_only():
    wide_llvm, _ = _compiled(_tanh_wide)
    default_llvm, _ = _compiled(_tanh_default)
    assert PREFER_512 in wide_llvm
    assert PREFER_512 not in default_llvm


def test_512_bit_registers_exactly_where_the_target_has_avx512():
    _, asm = _compiled(_tanh_wide)
    assert ("zmm" in asm) == _target_has_avx512()


_AVX2_TARGET = textwrap.dedent("""
    import numpy as np
    from numba import njit
    from kernels import jit_math
    from kernels.jit_vectors import PREFER_512, wide_vectors

    @njit(cache=False, fastmath={"contract"}, error_model="numpy")
    def tanh_wide(z, out):
        wide_vectors()
        for i in range(z.size):
            out[i] = jit_math.tanh(z[i])

    z = np.linspace(-3, 3, 101)
    out = np.empty_like(z)
    tanh_wide(z, out)
    assert np.allclose(out, np.tanh(z), rtol=1e-15, atol=1e-15)
    (llvm,) = tanh_wide.inspect_llvm().values()
    (asm,) = tanh_wide.inspect_asm().values()
    assert PREFER_512 in llvm
    assert "ymm" in asm, "the loop is not vectorised for AVX2"
    assert "zmm" not in asm, "512-bit registers on a target without AVX-512"
    print("ok")
""")


def test_an_avx2_target_keeps_to_256_bits():
    env = dict(os.environ, NUMBA_CPU_NAME="haswell", NUMBA_CPU_FEATURES="", PYTHONPATH=ROOT)
    done = subprocess.run(
        [sys.executable, "-c", _AVX2_TARGET], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def _kernels_with_loops_of_their_own(module):
    """The module's Numba kernels that are compiled on their own (not ``inline="always"``)."""
    for name, value in vars(module).items():
        py_func = getattr(value, "py_func", None)
        if py_func is None or py_func.__module__ != module.__name__:
            continue
        if value.targetoptions.get("inline", "never") == "always":
            continue
        yield name, value


@pytest.mark.parametrize("module", [jit_sweeps, jit_train, jit_products])
def test_every_kernel_of_the_run_asks_for_wide_vectors(module):
    kernels = dict(_kernels_with_loops_of_their_own(module))
    assert kernels
    exempt = {"workspace_layout"}  # a loop over the layers only
    missing = [
        name
        for name, kernel in kernels.items()
        if name not in exempt and "wide_vectors" not in kernel.py_func.__code__.co_names
    ]
    assert missing == []


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [1, 7, 1000, 1 << 20])
def test_the_workspace_starts_on_a_cache_line(dtype, size):
    buffers = [jit_train._aligned_empty(size, dtype) for _ in range(5)]
    for buffer in buffers:
        assert buffer.ctypes.data % jit_train.ALIGNMENT == 0
        assert buffer.size == size and buffer.dtype == dtype
        buffer[...] = 1  # all of it is writable memory
        assert buffer.sum() == size


@pytest.mark.parametrize("full", [True, False])
def test_every_buffer_of_the_workspace_starts_on_a_cache_line(full):
    shapes = np.array([[5, 3], [7, 5], [1, 7]], np.int64)  # sizes that are multiples of nothing
    sizes = jit_train.workspace_layout(shapes, 13, 61, full)
    assert (sizes % jit_train.SEGMENT == 0).all()
    assert jit_train.SEGMENT * 4 >= jit_train.ALIGNMENT  # 64 bytes even in float32
    unpadded = [5 * 13 + 7 * 13 + 13, 7 * 13, 7 * 13, 35, 61, 0 if full else 39, 0 if full else 13]
    unpadded += [7, 13, 13]
    assert (sizes >= np.array(unpadded)).all() and (sizes - np.array(unpadded) < 16).all()
