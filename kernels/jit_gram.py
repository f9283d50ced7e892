"""A wide first layer trained through the Gram matrix of its inputs, when that costs less.

With a full batch and gradient descent (with or without momentum and L2), every change to the
first layer's weights lies in the span of the examples: ``dW = dZ X^T / m + (l2 / m) W``. So
``W`` and its velocity ``V`` keep the form

    W = c W0 + f V0 + A X^T,        V = d W0 + e V0 + B X^T

with ``W0``/``V0`` their values when the call starts, scalars ``c, f, d, e`` (1, 0, 0, 1 at the
start) and coefficient matrices ``A``/``B`` (n1, m), zero at the start. The forward product is
then ``W X = c (W0 X) + f (V0 X) + A G`` with ``G = X^T X`` (m, m), and the update of ``W``
becomes the same update applied to ``A`` with ``dZ`` in place of ``dZ X^T``, and to ``c, f``
with a gradient of 0 (only the L2 term and the momentum act on them). It is the same descent,
step for step; only the rounding differs.

Per epoch the first layer then costs ``2 n1 m^2`` FLOPs instead of ``4 n1 n0 m``; once per call,
``G``, ``W0 X`` (and ``V0 X``) are computed and ``W``, ``V`` formed at the end. With m examples
well below n0 inputs (the notes' 12288-pixel images, m = 209) that is about ``m / 2 n0`` of the
work. The choice is a rule on FLOP counts, not a measurement: the saving it asks for (``GAIN``)
is far above any difference between the paths of two BLAS-bound products. Adam's update is not
linear in the gradient, so it keeps the usual form, as do mini-batches.

``forced(True/False)`` (or ``FASTNN_GRAM=always|never`` in the environment) overrides the rule,
for tests and comparisons.
"""

import contextlib
import os

import numpy as np

from .jit_products import BLAS, NN, NT, product
from .jit_sweeps import sum_squares

#: the Gram form is taken when it needs at most this fraction of the first layer's FLOPs
GAIN = 0.5
#: the largest G kept (bytes)
MAX_GRAM_BYTES = 256 << 20

_forced = None


@contextlib.contextmanager
def forced(use):
    """Within the block, take the Gram form always (True) or never (False), where allowed."""
    global _forced
    before, _forced = _forced, bool(use)
    try:
        yield
    finally:
        _forced = before


def _override():
    if _forced is not None:
        return _forced
    value = os.environ.get("FASTNN_GRAM", "").strip().lower()
    return {"always": True, "never": False}.get(value)


def flops(n_1, n_x, m, epochs, l2, momentum):
    """``(usual, gram)``: the first layer's product FLOPs over a call of ``epochs`` full-batch
    epochs in each form (the Gram form's setup and final products included)."""
    usual = epochs * 4 * n_1 * n_x * m
    per_epoch = 2 * n_1 * m * m * (2 if l2 else 1)  # with L2, |W|^2 takes a second A G
    # G counted as a full product (syrk does half): the rule errs towards the usual form
    setup = 2 * m * m * n_x + 2 * n_1 * n_x * m * (2 if momentum else 1)
    finish = 2 * n_1 * m * n_x * 2
    return usual, setup + epochs * per_epoch + finish


def pays(n_1, n_x, m, epochs, batch, adam, l2, momentum, dtype):
    """Whether a call trains its first layer in the Gram form (see the module docstring)."""
    allowed = batch >= m and not adam and m * m * np.dtype(dtype).itemsize <= MAX_GRAM_BYTES
    if not allowed or m == 0:
        return False
    override = _override()
    if override is not None:
        return override
    usual, gram = flops(n_1, n_x, m, epochs, l2, momentum)
    return gram <= GAIN * usual


def _layout(X):
    """``(rows, array)``: X (n_x, m) as a C-contiguous array, of examples (``X.T``) when
    ``rows``, without a copy where either layout already is one."""
    if X.flags.c_contiguous:
        return False, X
    if X.T.flags.c_contiguous:
        return True, X.T
    return False, np.ascontiguousarray(X)


def gram_matrix(X, rows, inputs):
    """``G = X^T X`` (m, m), C-ordered, by SciPy's ``syrk``: half a product's FLOPs, and the
    OpenBLAS the compiled products use (NumPy's own copy of OpenBLAS would keep a second pool
    of threads spinning against it)."""
    from scipy.linalg import blas  # here: importing scipy.linalg takes 0.15 s of a start-up

    syrk = blas.dsyrk if X.dtype == np.float64 else blas.ssyrk
    if rows:  # inputs = X.T (m, n_x) C-ordered: X itself is Fortran-ordered
        upper = syrk(1.0, inputs.T, trans=1)
    else:  # inputs = X (n_x, m) C-ordered: X.T is Fortran-ordered
        upper = syrk(1.0, inputs.T, trans=0)
    return np.ascontiguousarray(np.triu(upper) + np.triu(upper, 1).T)


class GramForm:
    """The first layer of one call in the Gram form: what the kernel takes (``coefficients``,
    ``G``, ``gram``, ``basis``) and ``formed``, which forms ``W`` and ``V`` again. ``moving``:
    whether ``V0`` enters ``W`` (a momentum and a nonzero ``V0``; else its coefficient stays 0)."""

    def __init__(self, W0, V0, X, moving):
        dtype = X.dtype
        n_1 = W0.shape[0]
        m = X.shape[1]
        self.rows, self.inputs = _layout(X)
        self.W0 = np.ascontiguousarray(W0)
        self.V0 = np.ascontiguousarray(V0)
        self.G = gram_matrix(X, self.rows, self.inputs)
        self.basis = np.zeros((2 * n_1, m), dtype)
        self._times_inputs(self.W0, self.basis[:n_1])
        if moving:
            self._times_inputs(self.V0, self.basis[n_1:])
        self.gram = np.zeros(11, dtype)
        self.gram[0] = 1  # c
        self.gram[3] = 1  # e
        self.gram[8] = sum_squares(self.W0.reshape(-1))  # no NumPy BLAS call (see gram_matrix)
        if moving:
            self.gram[9] = np.sum(self.W0 * self.V0)
            self.gram[10] = sum_squares(self.V0.reshape(-1))
        # A and B, stacked: one product forms both W and V at the end
        self._stacked = np.zeros((2 * n_1, m), dtype)
        self.coefficients, self.velocity = self._stacked[:n_1], self._stacked[n_1:]

    def _times_inputs(self, W, out):
        """``out = W X``."""
        if self.rows:
            product(NT, BLAS, W, self.inputs, out, None)
        else:
            product(NN, BLAS, W, self.inputs, out, None)

    def usable(self):
        """Whether the set-up is finite (``W0``, ``V0``, ``G`` and the basis): where it is not,
        the usual form keeps the reference's rules for non-finite values."""
        arrays = (self.W0, self.V0, self.G, self.basis)
        return all(np.isfinite(a).all() for a in arrays)

    def formed(self, A, B):
        """``(W, V)`` as new arrays, ``W = c W0 + f V0 + A X^T`` and ``V = d W0 + e V0 + B X^T``,
        from the coefficients (flat, as the kernel left them) and the scalars; None when one is
        not finite (the usual form's divergence rule then decides)."""
        n_1, m = self.coefficients.shape
        self._stacked[:n_1] = A.reshape(n_1, m)
        self._stacked[n_1:] = B.reshape(n_1, m)
        spanned = np.empty((2 * n_1, self.W0.shape[1]), self.W0.dtype)  # [A; B] X^T
        if self.rows:
            product(NN, BLAS, self._stacked, self.inputs, spanned, None)
        else:
            product(NT, BLAS, self._stacked, self.inputs, spanned, None)
        c, f, d, e = (self.gram[i] for i in range(4))
        for part, w0, v0 in ((spanned[:n_1], c, f), (spanned[n_1:], d, e)):
            for coefficient, basis in ((w0, self.W0), (v0, self.V0)):
                if coefficient:  # a zero one adds nothing
                    part += coefficient * basis
        if not np.isfinite(spanned).all():
            return None
        return spanned[:n_1], spanned[n_1:]
