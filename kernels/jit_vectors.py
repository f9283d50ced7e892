"""The vector width of the JIT variant's loops: the widest the CPU has.

LLVM vectorises loops for 256-bit registers on Intel's AVX-512 CPUs unless told otherwise (its
tuning for them prefers 256 bits: on the first of them, 512-bit instructions lowered the core's
clock), and for 512-bit ones on AMD's. The sweeps of a small net are short and compute-bound
(``jit_math``'s transcendentals, a division per element), and there twice the lanes pay for the
clock (measured: docs/performance.md).

``wide_vectors()``, the first statement of a kernel, asks LLVM for 512-bit vectors in that kernel's
loops. Where the CPU (or the ``NUMBA_CPU_NAME`` it is compiled for) has no AVX-512, LLVM keeps to
the width it has, so the same code serves every machine. A kernel ``inline="always"`` takes the
width of the kernel it is inlined into; a kernel called or linked keeps its own, so each kernel
with loops asks for itself.
"""

from numba import types
from numba.extending import intrinsic

#: LLVM's function attribute (a string attribute, which llvmlite's ``FunctionAttributes`` does not
#: list: added to the set as LLVM's IR spells it)
PREFER_512 = '"prefer-vector-width"="512"'


@intrinsic
def wide_vectors(typingctx):
    """In compiled code: the calling kernel's loops are vectorised 512 bits wide where the CPU
    allows (see the module docstring); no code is emitted."""

    def codegen(context, builder, signature, args):
        set.add(builder.function.attributes, PREFER_512)
        return context.get_dummy_value()

    return types.none(), codegen
