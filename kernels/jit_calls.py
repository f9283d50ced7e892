"""Calls by address between the JIT variant's kernels, so that each compiles apart.

A Numba function that calls another links the callee's code into its own module, where LLVM
optimises and compiles it once more: measured, about a second in each of the batch step and the
run's kernel (docs/performance.md, start-up). Called by address, as a first-class function, a
kernel is compiled once, and its caller needs only its signature: the two can compile at the
same time, in different processes (``jit_compile``).

    Address(dispatcher, signature)   the kernel compiled for signature, as a first-class function
    address(dispatcher, signature)   the same, made once per process
    function_value(context, builder, function_type, address)
                                     in an intrinsic: that first-class function, from an integer
    borrowed(array)                  array itself, holding no reference: for such a call's arguments

A call by address costs about 9 ns more than a linked one (seven array and scalar arguments,
measured on this machine), so only calls that do an array's worth of work go by address.

From Python, a kernel takes the addresses as integers (``Address.__wrapper_address__``) and makes
the functions itself (``function_value``): Numba unboxes an ``Address`` argument through Python
on every call (its signature unpickled, twice), about 5 us each (docs/performance.md).
"""

import numba.experimental.function_type  # noqa: F401  (typeof of an Address, before any kernel runs)
from numba import types
from numba.core import cgutils
from numba.core.imputils import impl_ret_untracked
from numba.extending import intrinsic, typeof_impl
from numba.np.arrayobj import make_array


class Address(types.WrapperAddressProtocol):
    """``dispatcher`` compiled for ``signature`` (from the cache, where ``jit_compile`` put it),
    as the first-class function its callers take as an argument. Its Numba type and its address
    are found once: a kernel's caller types and unboxes every such argument on every call."""

    def __init__(self, dispatcher, signature):
        self._dispatcher = dispatcher
        self._signature = signature
        self.function_type = types.FunctionType(signature)
        self._address = None

    def signature(self):
        return self._signature

    def __wrapper_address__(self):
        if self._address is None:
            args = self._signature.args
            if args not in self._dispatcher.overloads:
                self._dispatcher.compile(args)
            result = self._dispatcher.overloads[args]
            if result.signature.return_type != self._signature.return_type:
                raise TypeError(
                    f"{self._dispatcher.__name__} returns {result.signature.return_type}, "
                    f"not the {self._signature.return_type} its callers expect"
                )
            wrapper = result.fndesc.llvm_cfunc_wrapper_name
            self._address = result.library.get_pointer_to_function(wrapper)
        return self._address


@typeof_impl.register(Address)
def _typeof_address(value, context):
    # (Numba's typeof of any WrapperAddressProtocol makes the FunctionType anew on each call)
    return value.function_type


def function_value(context, builder, function_type, address):
    """In an intrinsic's code: the value of ``function_type`` (a ``types.FunctionType``) that
    calls the kernel whose cfunc wrapper is at ``address`` (an integer value), as unboxing its
    ``Address`` would make it, without the Python object: such a value is called, never boxed."""
    value = cgutils.create_struct_proxy(function_type)(context, builder)
    pointer = context.get_value_type(types.voidptr)
    value.c_addr = builder.inttoptr(address, pointer)
    value.py_addr = cgutils.get_null_value(pointer)
    value.jit_addr = cgutils.get_null_value(pointer)  # none: calls take the wrapper
    return value._getvalue()


_addresses = {}


def address(dispatcher, signature):
    """The ``Address`` of ``dispatcher`` at ``signature``, one per process."""
    key = (dispatcher, signature)
    if key not in _addresses:
        _addresses[key] = Address(dispatcher, signature)
    return _addresses[key]


@intrinsic
def borrowed(typingctx, array):
    """``array`` itself holding no reference (a null meminfo, as ``jit_sweeps``' views), or None
    for None: for the arguments of a call by address, which would count one for each on every
    call, an atomic increment and decrement in a call each, that no pass can prune."""
    if isinstance(array, types.NoneType):
        return array(array), lambda context, builder, signature, args: args[0]
    if not isinstance(array, types.Array):
        return None

    def codegen(context, builder, signature, args):
        view = make_array(array)(context, builder, value=args[0])
        view.meminfo = cgutils.get_null_value(view.meminfo.type)
        return impl_ret_untracked(context, builder, array, view._getvalue())

    return array(array), codegen
