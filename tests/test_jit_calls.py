"""Calls by address between the JIT variant's kernels (``kernels.jit_calls``): a kernel called
through its ``Address`` gives the very bits it gives called from Python (the same compiled
code), on awkward sizes in both dtypes; an address refuses a signature whose return type is not
the kernel's; ``borrowed`` is the array itself, holding no reference.
"""

import os
import subprocess
import sys

import numba
import numpy as np
import pytest
from numba import njit, types

from kernels import jit_products, jit_sweeps, jit_train
from kernels.contract import ACTIVATION_CODES
from kernels.jit_calls import Address, address, borrowed

DTYPES = [np.float32, np.float64]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@njit(cache=False)
def _through_borrowed(a, value):
    """Writes ``value`` into every element through the borrowed array; returns a copy of it."""
    b = borrowed(a)
    flat = b.ravel()
    for i in range(flat.size):
        flat[i] += value
    return b.copy()


@njit(cache=False)
def _borrowed_none(x):
    return borrowed(x) is None


@njit(cache=False)
def _call_output_sweep(sweep, Z, b, Y, dZ, db, inv_m, colmax, colsum, w):
    return sweep(
        borrowed(Z),
        borrowed(b),
        borrowed(Y),
        borrowed(dZ),
        borrowed(db),
        inv_m,
        borrowed(colmax),
        borrowed(colsum),
        borrowed(w),
    )


@njit(cache=False)
def _call_weight_squares(weight_squares, A, G, gram, basis, scratch, path, work, product):
    return weight_squares(
        borrowed(A),
        borrowed(G),
        borrowed(gram),
        borrowed(basis),
        borrowed(scratch),
        path,
        work,
        product,
    )


@njit(cache=False)
def _call_bias_activation(bias_activation, Z, b, code, slope):
    bias_activation(borrowed(Z), borrowed(b), code, slope)


_BIAS_ACTIVATION_AT = jit_train.BIAS_ACTIVATION_AT  # a global int: a literal to Numba


@njit(cache=False)
def _bias_activation_at(addresses, Z, b, code, slope):
    """``bias_activation`` made from its address, as the run's kernel makes its callees."""
    bias_activation = jit_train._callee(addresses, _BIAS_ACTIVATION_AT, Z, None)
    bias_activation(borrowed(Z), borrowed(b), code, slope)


@njit(cache=False)
def _call_product(product, form, path, A, B, C, work):
    product(form, path, borrowed(A), borrowed(B), borrowed(C), borrowed(work))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1,), (13,), (3, 7), (2, 3, 5)])
def test_borrowed_is_the_array_itself(dtype, shape):
    a = np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)
    before = a.copy()
    seen = _through_borrowed(a, dtype(2))
    np.testing.assert_array_equal(a, before + 2)  # the writes reached the array's own memory
    np.testing.assert_array_equal(seen, a)
    assert _borrowed_none(None)


def _output_sweep_arguments(rng, dtype, activation, n_out, nb, weighted):
    Z = rng.standard_normal((n_out, nb)).astype(dtype)
    if activation == "softmax":
        Y = np.ascontiguousarray(np.eye(n_out, dtype=dtype)[:, rng.integers(0, n_out, nb)])
    elif activation == "sigmoid":
        Y = (rng.random((n_out, nb)) < 0.5).astype(dtype)
    else:
        Y = rng.standard_normal((n_out, nb)).astype(dtype)
    w = rng.random(nb).astype(dtype) if weighted else np.empty(0, dtype)
    b = rng.standard_normal(n_out).astype(dtype)
    inv_m = dtype(1.0 / nb)
    return [Z, b, Y, ACTIVATION_CODES[activation], np.empty_like(Z), np.empty(n_out, dtype)] + [
        inv_m,
        np.empty(nb, dtype),
        np.empty(nb, dtype),
        w,
    ]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation,n_out", [("sigmoid", 1), ("linear", 2), ("softmax", 3)])
@pytest.mark.parametrize("nb", [1, 7, 97])
def test_the_output_sweep_by_address_is_the_same_code(dtype, activation, n_out, nb):
    rng = np.random.default_rng(nb)
    here = _output_sweep_arguments(rng, dtype, activation, n_out, nb, weighted=nb == 7)
    there = [x.copy() if isinstance(x, np.ndarray) else x for x in here]
    loss = jit_sweeps.output_sweep(*here)
    code = there.pop(3)
    loss_by_address = _call_output_sweep(jit_train.output_sweep_call(np.dtype(dtype), code), *there)
    assert isinstance(loss_by_address, float) and loss_by_address == loss
    for name, a, b in zip(("Z", "dZ", "db"), (here[0], here[4], here[5]), there[0:1] + there[3:5]):
        np.testing.assert_array_equal(b, a, err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_1,m", [(1, 1), (3, 13), (5, 64)])
def test_the_weight_squares_by_address_are_the_same_code(dtype, n_1, m):
    rng = np.random.default_rng(m)
    A = rng.standard_normal((n_1, m)).astype(dtype)
    X = rng.standard_normal((4, m)).astype(dtype)
    G = np.ascontiguousarray(X.T @ X)
    gram = rng.standard_normal(11).astype(dtype)
    basis = rng.standard_normal((2 * n_1, m)).astype(dtype)
    scratch = np.zeros((n_1, m), dtype)
    product = jit_train.product_call(np.dtype(dtype), False)
    here = (A, G, gram, basis, scratch, jit_products.LOOPS, None, product)
    direct = jit_train._gram_weight_squares(*here)
    call = jit_train.weight_squares_call(np.dtype(dtype), False)
    scratch[...] = 0
    by_address = _call_weight_squares(call, *here)
    assert by_address == direct


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "leaky_relu", "linear"])
@pytest.mark.parametrize("n,m", [(1, 1), (3, 13), (5, 97)])
def test_the_bias_activation_by_address_is_the_same_code(dtype, activation, n, m):
    rng = np.random.default_rng(n * m)
    Z = rng.standard_normal((n, m)).astype(dtype) * 3
    b = rng.standard_normal(n).astype(dtype)
    direct, by_address = Z.copy(), Z.copy()
    code, slope = ACTIVATION_CODES[activation], dtype(0.01)
    jit_sweeps.bias_activation(direct, b, code, slope)
    _call_bias_activation(
        jit_train.bias_activation_call(np.dtype(dtype)), by_address, b, code, slope
    )
    np.testing.assert_array_equal(by_address, direct)
    assert not np.array_equal(direct, Z)  # the sweep wrote


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("form", [jit_products.NN, jit_products.NT, jit_products.TN])
@pytest.mark.parametrize("path", [jit_products.BLAS, jit_products.LOOPS, jit_products.TILES])
@pytest.mark.parametrize("M,N,K", [(1, 1, 1), (7, 13, 3), (31, 5, 67)])
def test_the_product_by_address_is_the_same_code(dtype, form, path, M, N, K):
    rng = np.random.default_rng(M * N * K)
    shape_a, shape_b = jit_products.operand_shapes(form, M, N, K)
    A = rng.standard_normal(shape_a).astype(dtype)
    B = rng.standard_normal(shape_b).astype(dtype)
    tiles = path == jit_products.TILES
    work = np.empty(jit_products.work_size(M, N, K), dtype) if tiles else None
    direct, by_address = np.full((M, N), np.nan, dtype), np.full((M, N), np.nan, dtype)
    jit_products.product(form, path, A, B, direct, work)
    by_address_call = jit_train.product_call(np.dtype(dtype), tiles)
    _call_product(by_address_call, form, path, A, B, by_address, work)
    np.testing.assert_array_equal(by_address, direct)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("tiles", [False, True])
def test_the_run_takes_its_callees_addresses_in_their_order(dtype, tiles):
    dt = np.dtype(dtype)
    sigmoid = ACTIVATION_CODES["sigmoid"]
    addresses = jit_train.callee_addresses(dt, tiles, sigmoid)
    calls = {
        "step": jit_train.step_call(dt, tiles),
        "weight_squares": jit_train.weight_squares_call(dt, tiles),
        "output_sweep": jit_train.output_sweep_call(dt, sigmoid),
        "product": jit_train.product_call(dt, tiles),
        "bias_activation": jit_train.bias_activation_call(dt),
    }
    assert list(addresses) == [calls[name].__wrapper_address__() for name in jit_train.CALLEES]
    assert not addresses.flags.writeable  # a wrong address would crash the interpreter


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,m", [(1, 1), (3, 13), (5, 97)])
def test_a_callee_made_from_its_address_is_the_same_code(dtype, n, m):
    rng = np.random.default_rng(n + m)
    Z = rng.standard_normal((n, m)).astype(dtype) * 3
    b = rng.standard_normal(n).astype(dtype)
    code, slope = ACTIVATION_CODES["tanh"], dtype(0.01)
    direct, from_address = Z.copy(), Z.copy()
    jit_sweeps.bias_activation(direct, b, code, slope)
    addresses = jit_train.callee_addresses(np.dtype(dtype), False, ACTIVATION_CODES["sigmoid"])
    _bias_activation_at(addresses, from_address, b, code, slope)
    np.testing.assert_array_equal(from_address, direct)
    assert not np.array_equal(direct, Z)  # the sweep wrote


def test_an_address_refuses_a_return_type_other_than_the_kernels():
    sig = jit_train.step_signature(np.dtype(np.float64), False)
    wrong = types.Tuple((types.float64, types.float32))(*sig.args)
    with pytest.raises(TypeError, match="batch_step returns"):
        Address(jit_train.batch_step, wrong).__wrapper_address__()
    assert Address(jit_train.batch_step, sig).__wrapper_address__() != 0


def test_each_address_is_made_once():
    a = jit_train.step_call(np.float32, True)
    assert jit_train.step_call(np.dtype(np.float32), True) is a
    assert address(jit_train.batch_step, a.signature()) is a
    assert jit_train.step_call(np.float32, False) is not a


def test_an_address_is_typed_and_found_once_as_numba_would():
    # a kernel's caller types and unboxes each address argument on every call: both are kept
    sig = jit_train.step_signature(np.dtype(np.float64), False)
    step = _LookupsCounted(jit_train.batch_step)
    a = Address(step, sig)
    assert numba.typeof(a) is a.function_type == types.FunctionType(sig)
    first = a.__wrapper_address__()  # (compiles the step, or loads it, where not yet here)
    lookups = step.lookups
    found = jit_train.batch_step.overloads[sig.args]
    wrapper = found.fndesc.llvm_cfunc_wrapper_name
    assert first == found.library.get_pointer_to_function(wrapper) == a.__wrapper_address__()
    assert step.lookups == lookups


class _LookupsCounted:
    """A dispatcher that counts the lookups of its compiled overloads."""

    def __init__(self, dispatcher):
        self._dispatcher = dispatcher
        self.__name__ = dispatcher.__name__
        self.lookups = 0

    @property
    def overloads(self):
        self.lookups += 1
        return self._dispatcher.overloads

    def compile(self, args):
        return self._dispatcher.compile(args)


def test_an_address_is_typed_in_a_fresh_process_before_any_kernel_runs():
    # Numba registers the type of a first-class function only once its CPU target is set up;
    # the run types its addresses in Python first
    code = (
        "import numpy as np; from kernels import jit_train; "
        "print(jit_train.step_signature(np.dtype('float64'), False).args[-1])"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "FunctionType" in done.stdout
