"""Standardisation inside fit: relative constant test, overflow-safe moments, dtype range.

Issue 12, point 5: a feature in small units was treated as constant (an absolute
1e-12 test), features near 1e153 overflowed the variance, targets near 1e160 gave
non-finite parameters, and a float32 model given X beyond float32's range
predicted NaN probabilities as class 0.
"""

import warnings

import numpy as np
import pytest

import fastnn
from fastnn import scaling

BIG = np.finfo(np.float64).max


def _problem(seed=0, m=200):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, 2))
    y = (X[:, 0] > 0).astype(int)
    return X, y


def _reference(column):
    """Mean and standard deviation computed on the column scaled by a power of two."""
    factor = 2.0 ** -np.frexp(np.max(np.abs(column)))[1]
    scaled = column * factor
    return scaled.mean() / factor, scaled.std() / factor


@pytest.mark.parametrize("unit", [1e-13, 1e-30, 1e-170, 1e-300, 1e153, 1e300, BIG / 4])
def test_moments_are_right_at_any_magnitude(unit):
    X, _ = _problem()
    X = X * unit
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or underflow warning either
        XT, mean, scale = scaling.prepare_inputs(X, np.float64, standardize=True)
    for j in range(X.shape[1]):
        expected_mean, expected_std = _reference(X[:, j])
        np.testing.assert_allclose(mean[j], expected_mean, rtol=1e-9, atol=1e-12 * unit)
        np.testing.assert_allclose(scale[j], expected_std, rtol=1e-9)
    np.testing.assert_allclose(XT.std(axis=1), 1.0, rtol=1e-9)


def test_largest_finite_values_standardize():
    X = np.array([[BIG, 1.0], [-BIG, 2.0], [BIG, 3.0], [-BIG, 4.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        XT, mean, scale = scaling.prepare_inputs(X, np.float64, standardize=True)
    assert mean[0] == 0 and scale[0] == BIG
    np.testing.assert_allclose(XT[0], [1, -1, 1, -1], rtol=1e-15)


@pytest.mark.parametrize("value", [3.0, 1e-200, 1e300, -BIG, 0.0])
def test_constant_features_get_scale_one(value):
    X = np.column_stack([np.full(50, value), np.arange(50.0)])
    XT, mean, scale = scaling.prepare_inputs(X, np.float64, standardize=True)
    assert scale[0] == 1 and mean[0] == value
    np.testing.assert_array_equal(XT[0], 0.0)


def test_constant_means_below_the_inputs_own_rounding():
    # a spread of one unit in the last place of 1e10 is rounding, not a feature
    values = 1e10 + np.spacing(1e10) * np.array([0, 1, 0, 1, 1, 0] * 5)
    X = np.column_stack([values, np.arange(30.0)])
    assert scaling.prepare_inputs(X, np.float64, standardize=True)[2][0] == 1
    # a spread of 1e-13 around 0 is not: constant only relative to its own magnitude
    X[:, 0] = 1e-13 * np.array([0, 1, 0, 1, 1, 0] * 5)
    assert scaling.prepare_inputs(X, np.float64, standardize=True)[2][0] == pytest.approx(
        np.std(X[:, 0])
    )


@pytest.mark.parametrize("unit", [1e-13, 1e-160, 1e153, 1e300])
def test_a_feature_in_any_units_is_learned(unit):
    """The reported case: a feature in small units (std 1e-13) was dropped (0.978 -> 0.51)."""
    X, y = _problem()
    X[:, 0] *= unit
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        model = fastnn.LogisticRegression(epochs=100, backend="numpy").fit(X, y)
        accuracy = model.score(X, y)
    assert accuracy > 0.95
    assert all(np.isfinite(p).all() for p in model.parameters_.values())


@pytest.mark.parametrize("unit", [1e160, 1e300])
def test_regressor_targets_near_1e160(unit):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((120, 3))
    y = unit * (X @ np.array([1.0, -2.0, 0.5]) + 3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        model = fastnn.MLPRegressor(hidden=(), epochs=300, backend="numpy").fit(X, y)
        predictions = model.predict(X)
    assert all(np.isfinite(p).all() for p in model.parameters_.values())
    assert model.score(X, y) > 0.99
    assert np.isfinite(predictions).all()


def test_float32_model_refuses_X_beyond_float32_at_fit():
    X, y = _problem()
    X[3, 1] = 1e39
    for standardize in (True, False):
        model = fastnn.MLPClassifier(
            hidden=(3,), epochs=2, dtype="float32", backend="numpy", standardize=standardize
        )
        with pytest.raises(ValueError, match=r"X has values .*float32"):
            model.fit(X, y)
        assert not hasattr(model, "parameters_")
    fastnn.MLPClassifier(hidden=(3,), epochs=2, backend="numpy").fit(X, y)  # float64: fine


def test_float32_model_refuses_X_beyond_float32_at_predict():
    X, y = _problem()
    model = fastnn.MLPClassifier(hidden=(3,), epochs=2, dtype="float32", backend="numpy").fit(X, y)
    X[0, 0] = -1e39
    for method in (model.predict, model.predict_proba, model.decision_function):
        with pytest.raises(ValueError, match=r"X has values .*float32"):
            method(X)


def test_float32_regressor_refuses_targets_beyond_float32():
    X, _ = _problem()
    y = X[:, 0] * 1e39
    for standardize in (True, False):
        model = fastnn.MLPRegressor(
            hidden=(3,), epochs=2, dtype="float32", backend="numpy", standardize=standardize
        )
        with pytest.raises(ValueError, match=r"y has values .*float32"):
            model.fit(X, y)


def test_parameters_the_dtype_cannot_hold_are_refused():
    # a feature of spread 1e-44 folds into W1 / 1e-44: beyond float32, fine in float64
    X, y = _problem()
    X[:, 0] *= 1e-44
    model = fastnn.LogisticRegression(epochs=20, dtype="float32", backend="numpy")
    with pytest.raises(ValueError, match="float32"):
        model.fit(X, y)
    assert not hasattr(model, "parameters_")
    assert fastnn.LogisticRegression(epochs=50, backend="numpy").fit(X, y).score(X, y) > 0.9


def test_a_float32_feature_a_few_dozen_ulps_wide_is_kept():
    # 50 float32 steps above 1e4: a coarse feature, not rounding noise
    values = np.float32(1e4) + np.spacing(np.float32(1e4)) * np.arange(50, dtype=np.float32)
    X = np.column_stack([values, values[::-1]]).astype(np.float32)
    scale = scaling.prepare_inputs(X, np.float64, standardize=True)[2]
    np.testing.assert_allclose(scale, np.std(values.astype(np.float64)), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_inputs_already_in_the_dtype_are_used_without_a_copy(dtype):
    """Not standardized, in the model's dtype and row-major: X itself (as scikit-learn does),
    still checked; otherwise a converted copy. Both fit the same model, and X is left alone."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((40, 70)).astype(dtype)
    prepared, _, _ = scaling.prepare_inputs(X, dtype, False, by_example=True)
    assert np.shares_memory(prepared, X) and prepared.shape == (70, 40)
    copied, _, _ = scaling.prepare_inputs(np.asfortranarray(X), dtype, False, by_example=True)
    assert not np.shares_memory(copied, X)
    np.testing.assert_array_equal(prepared, copied)
    read_only = X.copy()
    read_only.flags.writeable = False
    copy_of_read_only, _, _ = scaling.prepare_inputs(read_only, dtype, False, by_example=True)
    assert copy_of_read_only.base.flags.writeable
    np.testing.assert_array_equal(copy_of_read_only, prepared)
    X[3, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        scaling.prepare_inputs(X, dtype, False, by_example=True)
    X[3, 5] = 0.5
    y = (X[:, 0] > 0).astype(int)
    before = X.copy()
    params = dict(
        hidden=(5,), solver="sgd", epochs=20, standardize=False, dtype=np.dtype(dtype).name
    )
    as_is = fastnn.MLPClassifier(seed=1, **params).fit(X, y)
    np.testing.assert_array_equal(X, before)
    converted = fastnn.MLPClassifier(seed=1, **params).fit(np.asfortranarray(X), y)
    for key, value in converted.parameters_.items():
        np.testing.assert_array_equal(as_is.parameters_[key], value)


def _layouts(X):
    """X row-major, column-major, and as a strided (non-contiguous) view."""
    wide = np.zeros((X.shape[0], 2 * X.shape[1]), X.dtype)
    wide[:, ::2] = X
    return X, np.asfortranarray(X), wide[:, ::2]


@pytest.mark.parametrize("x_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_check_values_finds_each_bad_value_in_any_layout(x_dtype, dtype, bad):
    rng = np.random.default_rng(5)
    for m, n in [(1, 1), (7, 13), (131, 3)]:
        X = rng.standard_normal((m, n)).astype(x_dtype)
        for view in _layouts(X):
            scaling.check_values(view, dtype)  # finite: passes
        X[m // 2, n - 1] = bad
        for view in _layouts(X):
            with pytest.raises(ValueError, match="X contains (NaN|infinity)"):
                scaling.check_values(view, dtype)


def test_check_values_passes_large_finite_values_whose_squares_overflow():
    # the sum of squares overflows; the column ranges then decide, and all is finite
    X = np.full((5, 3), 1e200)
    X[2, 1] = -np.finfo(np.float64).max
    scaling.check_values(X, np.float64)
    X32 = np.full((5, 3), 3e38, np.float32)
    scaling.check_values(X32, np.float32)
    scaling.check_values(X32, np.float64)


def test_check_values_refuses_values_beyond_the_dtype_naming_the_column():
    X = np.ones((6, 4))
    X[4, 2] = -4e38  # fits float64, not float32
    scaling.check_values(X, np.float64)
    for view in _layouts(X):
        with pytest.raises(ValueError, match=r"X has values up to 4e\+38 .*column 2.*float32"):
            scaling.check_values(view, np.float32)
    X[4, 2] = 3e38  # within float32's range
    scaling.check_values(X, np.float32)


def test_check_values_takes_integers_and_booleans_as_they_are():
    ints = np.array([[np.iinfo(np.int64).max, np.iinfo(np.int64).min]])
    scaling.check_values(ints, np.float32)
    scaling.check_values(np.array([[np.iinfo(np.uint64).max]]), np.float32)
    scaling.check_values(np.ones((3, 2), bool), np.float32)
    half = np.ones((2, 2), np.float16)
    scaling.check_values(half, np.float32)
    half[1, 1] = np.inf
    with pytest.raises(ValueError, match="X contains infinity"):
        scaling.check_values(half, np.float32)
