"""Vectorisable transcendentals for the JIT variant: exp, expm1, log, log1p, tanh, sigmoid, softplus.

``math.exp``/``math.tanh`` inside a Numba loop are scalar library calls (about 20 ns an
element on this machine); these are plain arithmetic (range reduction, a polynomial, a
bit-built power of two, selects instead of branches), so LLVM inlines them into the
caller's loop and vectorises it. Each function has a float64 and a float32 version
(``*_f64``, ``*_f32``): the float32 ones compute in float32 throughout (typed constants),
and the generic names (``exp``, ``tanh``, ...) pick one from the argument's type at
compile time.

Accuracy (tests/test_jit_math.py measures it against NumPy on wide grids):
float64 within a few ulp (relative error < 1e-15), float32 within a few ulp.
Every function is finite for finite input (no overflow in an intermediate for
|x| up to 1e4 and beyond), propagates NaN (a NaN in gives NaN out, so divergence
checks keep working), and is exact at the special values the callers meet
(tanh(+-inf) = +-1, sigmoid(-inf) = 0, exp(-inf) = 0).

How the numbers were made:

- exp/expm1: ``x = n ln2 + r`` (Cody-Waite, ``ln2`` split in a high part with trailing
  zero bits and a low part), ``|r| <= ln2/2``, ``expm1(r) = r + r^2 P(r)`` with ``P`` a
  near-minimax polynomial (degree 9 in float64, 4 in float32) fitted to the relative
  error of ``expm1`` with mpmath (Lawson-weighted least squares on Chebyshev nodes;
  fitted error 3.5e-18 and 3.1e-9), ``2^n`` built from its exponent bits. Results below
  the smallest normal number are flushed to zero (absolute error < 2.3e-308 / 1.2e-38).
- log/log1p: fdlibm's reduction ``1 + f = 2^k (1 + f')``, ``f'`` in ``[sqrt(2)/2 - 1,
  sqrt(2) - 1]``, ``log(1 + f) = f - s (f - R(s^2))`` with ``s = f/(2 + f)`` and fdlibm's
  (float64) / musl's (float32) coefficients of ``R``; log1p adds fdlibm's correction term
  for the rounding of ``1 + x``. ``log1p_unit`` (x in [0, 1], the softplus case) skips
  the bit tricks: above sqrt(2) - 1 it uses ``log(1 + x) = ln2 + log(1 + (x - 1)/2)``.
- tanh(x) = ``-expm1(-2|x|) / (2 + expm1(-2|x|))`` with the sign of x: one expm1 and one
  division, no cancellation near 0.
- sigmoid(x) = ``1 / (1 + e)`` for x >= 0 and ``e / (1 + e)`` for x < 0, ``e = exp(-|x|)``:
  the reference's formula, never overflowing.

The kernels are compiled with ``fastmath={'contract'}`` only: FMA contraction helps the
polynomials, while reassociation would undo the compensated steps (``1 - (u - x)``), and
``nnan``/``ninf`` would break the NaN propagation. LLVM inlines them into callers compiled
with other flags; the instructions keep these flags.

Numba's cache does not notice edits to this file from the cache of a kernel that calls
these functions in another module: after editing here, delete ``kernels/__pycache__``.
"""

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

_FM = {"contract"}

# --------------------------------------------------------------------------- float64

_LN2_HI = 6.93147180369123816490e-01  # fdlibm: 0x3FE62E42FEE00000, n * _LN2_HI exact for |n| < 2^11
_LN2_LO = 1.90821492927058770002e-10
_LN2 = 0.6931471805599453
_LOG2E = 1.4426950408889634
_EXP_HI = 709.782712893384  # log(DBL_MAX)
_EXP_LO = -708.3964185322641  # log(2^-1022): below, the result is flushed to zero
_SQRT2 = 1.4142135623730951
_TINY = 2.2250738585072014e-308  # smallest normal float64
# expm1(r) = r + r^2 (P0 + P1 r + ... + P9 r^9), |r| <= ln2/2
_P0 = 0.5000000000000012
_P1 = 0.16666666666666557
_P2 = 0.04166666666652076
_P3 = 0.008333333333398741
_P4 = 0.0013888888945808545
_P5 = 0.00019841269717743798
_P6 = 2.4801491055551414e-05
_P7 = 2.7557395397428196e-06
_P8 = 2.763091923468448e-07
_P9 = 2.5061029891742924e-08
# fdlibm log: R(z) = Lg1 z + Lg2 z^2 + ... + Lg7 z^7, z = s^2
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01


@njit(cache=True, fastmath=_FM, error_model="numpy")
def _expm1_poly_f64(r):
    """``expm1(r)`` for ``|r| <= ln2/2``."""
    p = _P9
    p = p * r + _P8
    p = p * r + _P7
    p = p * r + _P6
    p = p * r + _P5
    p = p * r + _P4
    p = p * r + _P3
    p = p * r + _P2
    p = p * r + _P1
    p = p * r + _P0
    return r + (r * r) * p


@njit(cache=True, fastmath=_FM, error_model="numpy")
def _reduce_f64(x, lo, hi):
    """``(n, r)`` with ``x = n ln2 + r``; x is first clamped to [lo, hi] (NaN stays NaN in r)."""
    xr = lo if x < lo else x
    xr = hi if xr > hi else xr
    n = np.floor(xr * _LOG2E + 0.5)
    n = n if n == n else 0.0  # NaN must not reach the integer conversion
    r = (xr - n * _LN2_HI) - n * _LN2_LO
    return n, r


@njit(cache=True, fastmath=_FM, error_model="numpy")
def _pow2_f64(n):
    """``2.0 ** n`` for an integral float n in [-1022, 1023], from its exponent bits.

    ``n + 1.5 * 2^52`` holds n in its low mantissa bits (exactly: |n| < 2^51), so no float to
    int64 conversion is needed: AVX2 has none for vectors, and LLVM made it four scalar ones."""
    bits = np.float64(n + 6755399441055744.0).view(np.int64)
    return np.int64((bits + 1023) << 52).view(np.float64)


@njit(cache=True, fastmath=_FM, error_model="numpy")
def exp_f64(x):
    """``exp(x)``: inf above log(DBL_MAX), 0 below log(2^-1022) (subnormals flushed)."""
    n, r = _reduce_f64(x, _EXP_LO, _EXP_HI)
    # 2^(n-1) * 2: n reaches 1024 at the top of the range
    scale = _pow2_f64(n - 1.0)
    y = (scale + scale * _expm1_poly_f64(r)) * 2.0
    y = 0.0 if x < _EXP_LO else y
    return math.inf if x > _EXP_HI else y


@njit(cache=True, fastmath=_FM, error_model="numpy")
def expm1_f64(x):
    """``exp(x) - 1``, accurate for x <= 709 (larger x is clamped to 709)."""
    n, r = _reduce_f64(x, -45.0, 709.0)
    scale = _pow2_f64(n)
    y = scale * _expm1_poly_f64(r) + (scale - 1.0)
    return -1.0 if x < -45.0 else y


@njit(cache=True, fastmath=_FM, error_model="numpy")
def _log1p_reduced_f64(f, k, c):
    """``k ln2 + log(1 + f) + c`` for ``f`` in [sqrt(2)/2 - 1, sqrt(2) - 1] (fdlibm)."""
    s = f / (2.0 + f)
    z = s * s
    R = z * (_LG1 + z * (_LG2 + z * (_LG3 + z * (_LG4 + z * (_LG5 + z * (_LG6 + z * _LG7))))))
    hfsq = 0.5 * f * f
    return k * _LN2_HI - ((hfsq - (s * (hfsq + R) + (k * _LN2_LO + c))) - f)


@njit(cache=True, fastmath=_FM, error_model="numpy")
def _split_f64(u):
    """``(k, f)`` with ``u = 2^k (1 + f)``, ``1 + f`` in [sqrt(2)/2, sqrt(2)), u positive normal."""
    bits = np.float64(u).view(np.int64)
    k = (bits >> 52) - 1023
    m = np.int64((bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000).view(np.float64)
    big = m > _SQRT2
    m = m * 0.5 if big else m
    kf = np.float64(k) + (1.0 if big else 0.0)
    return kf, m - 1.0


@njit(cache=True, fastmath=_FM, error_model="numpy")
def log_f64(x):
    """``log(x)``; -inf at 0, NaN below 0, inf at inf, NaN for NaN."""
    sub = x < _TINY
    xs = x * 18014398509481984.0 if sub else x  # 2^54: subnormals become normal
    xs = 1.0 if not (xs > 0.0) else xs  # keep garbage out of the bit tricks
    xs = 1.0 if xs == math.inf else xs
    k, f = _split_f64(xs)
    k = k - 54.0 if sub else k
    y = _log1p_reduced_f64(f, k, 0.0)
    y = -math.inf if x == 0.0 else y
    y = math.nan if x < 0.0 else y
    y = x if x == math.inf else y
    return x if x != x else y


@njit(cache=True, fastmath=_FM, error_model="numpy")
def log1p_f64(x):
    """``log(1 + x)`` for x >= -1 (-inf at -1, NaN below)."""
    u = 1.0 + x
    uu = 1.0 if not (u > 0.0) else u
    uu = 1.0 if uu == math.inf else uu
    k, f = _split_f64(uu)
    # fdlibm's correction for the rounding of 1 + x
    c = (1.0 - (uu - x)) if k > 0.0 else (x - (uu - 1.0))
    c = c / uu
    c = 0.0 if k > 53.0 else c
    near = (x < 0.41421356237309503) & (x > -0.2928932188134524)
    y = _log1p_reduced_f64(x if near else f, 0.0 if near else k, 0.0 if near else c)
    y = -math.inf if u == 0.0 else y
    y = math.nan if x < -1.0 else y
    y = x if x == math.inf else y
    return x if x != x else y


@njit(cache=True, fastmath=_FM, error_model="numpy")
def log1p_unit_f64(x):
    """``log(1 + x)`` for x in [0, 1] only (what softplus meets: x = exp(-|z|)).

    No bit tricks and no rounding of ``1 + x``: above sqrt(2) - 1, ``log(1 + x) = ln2 +
    log(1 + f)`` with ``f = (x - 1) / 2``, exact by Sterbenz's lemma (to half an ulp
    below 0.5)."""
    big = x > 0.41421356237309503
    return _log1p_reduced_f64((x - 1.0) * 0.5 if big else x, 1.0 if big else 0.0, 0.0)


@njit(cache=True, fastmath=_FM, error_model="numpy")
def tanh_f64(x):
    """``tanh(x)`` from ``expm1(-2|x|)``."""
    em = expm1_f64(-2.0 * abs(x))
    return math.copysign(-em / (2.0 + em), x)


@njit(cache=True, fastmath=_FM, error_model="numpy")
def sigmoid_f64(x):
    """``1 / (1 + exp(-x))``, the reference's two-sided formula."""
    e = exp_f64(-abs(x))
    return (1.0 if x >= 0.0 else e) / (1.0 + e)


@njit(cache=True, fastmath=_FM, error_model="numpy")
def softplus_f64(x):
    """``log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))``."""
    return (x if x > 0.0 else 0.0) + log1p_unit_f64(exp_f64(-abs(x)))


# --------------------------------------------------------------------------- float32

_F = np.float32
_LN2_HI_32 = _F(0.693145751953125)  # 15 significant bits: n * _LN2_HI_32 exact for |n| < 2^9
_LN2_LO_32 = _F(1.4286068e-06)
_LOG2E_32 = _F(1.442695)
_EXP_HI_32 = _F(88.72283)  # log(FLT_MAX), rounded down
_EXP_LO_32 = _F(-87.33654)  # log(2^-126)
_SQRT2_32 = _F(1.4142135)
_TINY_32 = _F(1.1754944e-38)
_Q0 = _F(0.4999999701976776)
_Q1 = _F(0.1666651964187622)
_Q2 = _F(0.041667308658361435)
_Q3 = _F(0.008368841372430325)
_Q4 = _F(0.0013881968334317207)
# musl logf
_LF1 = _F(0.66666662693)
_LF2 = _F(0.40000972152)
_LF3 = _F(0.28498786688)
_LF4 = _F(0.24279078841)
_ZERO_32 = _F(0.0)
_HALF_32 = _F(0.5)
_ONE_32 = _F(1.0)
_TWO_32 = _F(2.0)
_INF_32 = _F(np.inf)
_NAN_32 = _F(np.nan)


@njit(cache=True, fastmath=_FM, error_model="numpy")
def _expm1_poly_f32(r):
    p = _Q4
    p = p * r + _Q3
    p = p * r + _Q2
    p = p * r + _Q1
    p = p * r + _Q0
    return r + (r * r) * p


@njit(cache=True, fastmath=_FM, error_model="numpy")
def _reduce_f32(x, lo, hi):
    xr = lo if x < lo else x
    xr = hi if xr > hi else xr
    n = np.floor(xr * _LOG2E_32 + _HALF_32)
    n = n if n == n else _ZERO_32
    r = (xr - n * _LN2_HI_32) - n * _LN2_LO_32
    return n, r


@njit(cache=True, fastmath=_FM, error_model="numpy")
def _pow2_f32(n):
    """``2 ** n`` (float32) for an integral float32 n in [-126, 127]."""
    return np.int32((np.int32(n) + np.int32(127)) << np.int32(23)).view(np.float32)


@njit(cache=True, fastmath=_FM, error_model="numpy")
def exp_f32(x):
    n, r = _reduce_f32(x, _EXP_LO_32, _EXP_HI_32)
    scale = _pow2_f32(n - _ONE_32)
    y = (scale + scale * _expm1_poly_f32(r)) * _TWO_32
    y = _ZERO_32 if x < _EXP_LO_32 else y
    return _INF_32 if x > _EXP_HI_32 else y


@njit(cache=True, fastmath=_FM, error_model="numpy")
def expm1_f32(x):
    """``exp(x) - 1``, accurate for x <= 88 (larger x is clamped to 88)."""
    n, r = _reduce_f32(x, _F(-20.0), _F(88.0))
    scale = _pow2_f32(n)
    y = scale * _expm1_poly_f32(r) + (scale - _ONE_32)
    return -_ONE_32 if x < _F(-20.0) else y


@njit(cache=True, fastmath=_FM, error_model="numpy")
def _log1p_reduced_f32(f, k, c):
    s = f / (_TWO_32 + f)
    z = s * s
    w = z * z
    R = z * (_LF1 + w * _LF3) + w * (_LF2 + w * _LF4)
    hfsq = _HALF_32 * f * f
    return k * _LN2_HI_32 - ((hfsq - (s * (hfsq + R) + (k * _LN2_LO_32 + c))) - f)


@njit(cache=True, fastmath=_FM, error_model="numpy")
def _split_f32(u):
    bits = np.float32(u).view(np.int32)
    k = (bits >> 23) - 127
    m = np.int32((bits & 0x007FFFFF) | 0x3F800000).view(np.float32)
    big = m > _SQRT2_32
    m = m * _HALF_32 if big else m
    kf = np.float32(k) + (_ONE_32 if big else _ZERO_32)
    return kf, m - _ONE_32


@njit(cache=True, fastmath=_FM, error_model="numpy")
def log_f32(x):
    sub = x < _TINY_32
    xs = x * _F(16777216.0) if sub else x  # 2^24
    xs = _ONE_32 if not (xs > _ZERO_32) else xs
    xs = _ONE_32 if xs == _INF_32 else xs
    k, f = _split_f32(xs)
    k = k - _F(24.0) if sub else k
    y = _log1p_reduced_f32(f, k, _ZERO_32)
    y = -_INF_32 if x == _ZERO_32 else y
    y = _NAN_32 if x < _ZERO_32 else y
    y = x if x == _INF_32 else y
    return x if x != x else y


@njit(cache=True, fastmath=_FM, error_model="numpy")
def log1p_f32(x):
    u = _ONE_32 + x
    uu = _ONE_32 if not (u > _ZERO_32) else u
    uu = _ONE_32 if uu == _INF_32 else uu
    k, f = _split_f32(uu)
    c = (_ONE_32 - (uu - x)) if k > _ZERO_32 else (x - (uu - _ONE_32))
    c = c / uu
    c = _ZERO_32 if k > _F(24.0) else c
    near = (x < _F(0.41421356)) & (x > _F(-0.29289322))
    y = _log1p_reduced_f32(x if near else f, _ZERO_32 if near else k, _ZERO_32 if near else c)
    y = -_INF_32 if u == _ZERO_32 else y
    y = _NAN_32 if x < -_ONE_32 else y
    y = x if x == _INF_32 else y
    return x if x != x else y


@njit(cache=True, fastmath=_FM, error_model="numpy")
def log1p_unit_f32(x):
    """``log(1 + x)`` for x in [0, 1] only (see ``log1p_unit_f64``)."""
    big = x > _F(0.41421356)
    return _log1p_reduced_f32(
        (x - _ONE_32) * _HALF_32 if big else x, _ONE_32 if big else _ZERO_32, _ZERO_32
    )


@njit(cache=True, fastmath=_FM, error_model="numpy")
def tanh_f32(x):
    em = expm1_f32(-_TWO_32 * abs(x))
    return np.copysign(-em / (_TWO_32 + em), x)


@njit(cache=True, fastmath=_FM, error_model="numpy")
def sigmoid_f32(x):
    e = exp_f32(-abs(x))
    return (_ONE_32 if x >= _ZERO_32 else e) / (_ONE_32 + e)


@njit(cache=True, fastmath=_FM, error_model="numpy")
def softplus_f32(x):
    return (x if x > _ZERO_32 else _ZERO_32) + log1p_unit_f32(exp_f32(-abs(x)))


# --------------------------------------------------------------------------- generic names


def _generic(name, f32, f64):
    """A function usable in compiled code that picks the float32 or float64 version by type."""

    def stub(x):
        if np.asarray(x).dtype == np.float32:
            return np.float32(f32(np.float32(x)))
        return np.float64(f64(np.float64(x)))

    stub.__name__ = name
    stub.__doc__ = f"``{name}`` of a float32 or float64 scalar (compiled: chosen at typing time)."

    # the chosen version's own body, compiled with its flags: a lambda calling it was one more
    # function to compile at each use (0.15-0.27 s of a first compilation)
    @overload(stub, jit_options=dict(fastmath=_FM, error_model="numpy"))
    def _typed(x):
        if x == types.float32:
            return f32.py_func
        if x == types.float64:
            return f64.py_func
        return None

    return stub


exp = _generic("exp", exp_f32, exp_f64)
expm1 = _generic("expm1", expm1_f32, expm1_f64)
log = _generic("log", log_f32, log_f64)
log1p = _generic("log1p", log1p_f32, log1p_f64)
log1p_unit = _generic("log1p_unit", log1p_unit_f32, log1p_unit_f64)
tanh = _generic("tanh", tanh_f32, tanh_f64)
sigmoid = _generic("sigmoid", sigmoid_f32, sigmoid_f64)
softplus = _generic("softplus", softplus_f32, softplus_f64)
