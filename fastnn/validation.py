"""Input checks, run in Python before any kernel: a clear error naming the argument.

Hyperparameters are stored unmodified by ``__init__``/``set_params`` and
checked here, in ``fit``. Data checks follow scikit-learn's wording where its
test suite looks for set phrases ("0 feature(s)", "Reshape your data",
"Unknown label type", "X has 1 features, but ... is expecting").
"""

import math
import numbers
import sys
import warnings

import numpy as np

from kernels import VARIANTS
from kernels.contract import HIDDEN_ACTIVATIONS

INITS = ("small", "xavier", "he")
DTYPES = ("float32", "float64")


# ---------------------------------------------------------------------------
# Hyperparameters
# ---------------------------------------------------------------------------


def check_integer(value, name, minimum=None, allow_none=False):
    """``value`` as an int (``None`` passes through when allowed)."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        expected = "an integer or None" if allow_none else "an integer"
        raise TypeError(f"{name} must be {expected}, got {value!r} ({type(value).__name__})")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_real(value, name, low=None, high=None, low_open=False, high_open=False):
    """``value`` as a finite float in the given interval."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if not math.isfinite(value) or too_low or too_high:
        interval = (
            ("(" if low_open else "[")
            + ("-inf" if low is None else f"{low:g}")
            + ", "
            + ("inf" if high is None else f"{high:g}")
            + (")" if high_open else "]")
        )
        raise ValueError(f"{name} must be a finite number in {interval}, got {value!r}")
    return value


def check_choice(value, name, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def check_hidden(hidden):
    """A tuple of positive layer sizes (an int is one layer)."""
    if isinstance(hidden, numbers.Integral) and not isinstance(hidden, (bool, np.bool_)):
        hidden = (hidden,)
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, (tuple, list, np.ndarray)):
        raise TypeError(
            f"hidden must be a tuple of layer sizes (empty: no hidden layer), got {hidden!r}"
        )
    sizes = []
    for size in hidden:
        if isinstance(size, (bool, np.bool_)) or not isinstance(size, numbers.Integral):
            raise TypeError(f"hidden must hold integer layer sizes, got {hidden!r}")
        if size < 1:
            raise ValueError(f"hidden layer sizes must be >= 1, got {tuple(hidden)!r}")
        sizes.append(int(size))
    return tuple(sizes)


def check_activations(activation, n_hidden):
    """One hidden activation name per hidden layer (one name applies to all)."""
    if isinstance(activation, str):
        names = (activation,) * n_hidden
        check_choice(activation, "activation", HIDDEN_ACTIVATIONS)
        return names
    if not isinstance(activation, (tuple, list)):
        raise TypeError(
            f"activation must be a name or one name per hidden layer, got {activation!r}"
        )
    if len(activation) != n_hidden:
        raise ValueError(
            f"activation has {len(activation)} names for {n_hidden} hidden "
            f"layers: give one name, or one per hidden layer"
        )
    for name in activation:
        check_choice(name, "activation", HIDDEN_ACTIVATIONS)
    return tuple(activation)


def check_seed(seed):
    if seed is None:
        return None
    return check_integer(seed, "seed", minimum=0)


def check_dtype(dtype):
    """``"float32"``/``"float64"`` (or the NumPy type) as a NumPy dtype."""
    try:
        resolved = np.dtype(dtype) if not isinstance(dtype, (bool, numbers.Number)) else None
    except (TypeError, ValueError):
        resolved = None
    if dtype is None or resolved is None or resolved.name not in DTYPES:
        raise ValueError(f"dtype must be one of {list(DTYPES)}, got {dtype!r}")
    return resolved


def check_backend(backend):
    return check_choice(backend, "backend", tuple(VARIANTS))


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def _is_sparse(X):
    # a SciPy sparse matrix implies scipy.sparse is imported: no need to import it here
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(X)


def as_float_array(X, name):
    """``np.asarray(X)`` converted to float64, with a clear error for what is not numeric."""
    if _is_sparse(X):
        raise TypeError(
            f"{name} is a sparse matrix: sparse input is not supported; "
            f"pass a dense array ({name}.toarray())"
        )
    if X is None:
        raise ValueError(f"{name} is None: expected an array-like of numbers")
    try:
        array = np.asarray(X)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} could not be converted to an array: {error}") from None
    if array.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {array.dtype}")
    if array.dtype.kind == "O":
        if any(isinstance(value, complex) for value in array.flat):
            raise ValueError(f"Complex data not supported: {name} holds complex numbers")
    if array.dtype.kind not in "biuf":
        try:
            array = array.astype(np.float64)
        except TypeError as error:  # e.g. a dict inside an object array
            raise TypeError(f"{name} must hold numbers: {error}") from None
        except ValueError as error:  # e.g. a string that is not a number
            raise ValueError(f"{name} must hold numbers: {error}") from None
    return array


def _check_finite(array, name):
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        if np.isnan(array).any():
            raise ValueError(f"Input {name} contains NaN.")
        raise ValueError(
            f"Input {name} contains infinity or a value too large for dtype({array.dtype.name!r})."
        )


def check_X(X, name="X", n_features=None, estimator_name="the estimator", check_finite=True):
    """Rows are examples: a finite numeric 2-D array with at least one row and one column.

    ``n_features``: the number of columns expected (the fitted model's).
    ``check_finite=False`` leaves the NaN/inf check to the caller.
    Returns a NumPy array (dtype as given if numeric, else float64).
    """
    array = as_float_array(X, name)
    if array.ndim != 2:
        hint = (
            " Reshape your data either using array.reshape(-1, 1) if your data has a "
            "single feature or array.reshape(1, -1) if it contains a single sample."
            if array.ndim < 2
            else ""
        )
        raise ValueError(
            f"{name} must be a 2-D array (n_samples, n_features), got "
            f"{array.ndim}-D array of shape {array.shape}.{hint}"
        )
    n_rows, n_columns = array.shape
    if n_rows < 1:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={array.shape}) while a "
            f"minimum of 1 is required: {name} has no samples."
        )
    if n_columns < 1:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={array.shape}) while a "
            f"minimum of 1 is required: {name} has no features."
        )
    if check_finite:
        _check_finite(array, name)
    if n_features is not None and n_columns != n_features:
        raise ValueError(
            f"{name} has {n_columns} features, but {estimator_name} is expecting "
            f"{n_features} features as input."
        )
    return array


def feature_names_of(X):
    """The feature names of ``X``, as scikit-learn's ``_get_feature_names``.

    A data frame's column names as an object array when they are all strings;
    None for an array, a frame without columns or with non-string names;
    TypeError when strings are mixed with other names (scikit-learn's message).
    """
    # pandas, polars, dask and modin frames have ``columns``; pyarrow tables ``column_names``
    columns = getattr(X, "column_names", None)
    if columns is None:
        columns = getattr(X, "columns", None)
    if columns is None or isinstance(X, np.ndarray):
        return None
    names = np.asarray(list(columns), dtype=object)
    if len(names) == 0:
        return None
    types = sorted(t.__qualname__ for t in {type(name) for name in names})
    if len(types) > 1 and "str" in types:
        raise TypeError(
            "Feature names are only supported if all input features have string names, "
            f"but your input has {types} as feature name / column name types. "
            "If you want feature names to be stored and validated, you must convert "
            "them all to strings, by using X.columns = X.columns.astype(str) for "
            "example. Otherwise you can remove feature / column names from your input "
            "data, or convert them all to a non-string data type."
        )
    if types == ["str"]:
        return names
    return None


def _listed(names, most=5):
    lines = [f"- {name}\n" for name in names[:most]]
    return "".join(lines) + ("- ...\n" if len(names) > most else "")


def check_feature_names(estimator, X, stacklevel=4):
    """``X``'s feature names against the fitted ``feature_names_in_`` (scikit-learn's
    ``_check_feature_names(estimator, X, reset=False)``, its messages word for word).

    ValueError when both have names and they differ (in names or in order); a
    UserWarning when only one of them has names.
    """
    fitted = getattr(estimator, "feature_names_in_", None)
    given = feature_names_of(X)
    name = type(estimator).__name__
    if fitted is None and given is None:
        return
    if fitted is None:
        warnings.warn(
            f"X has feature names, but {name} was fitted without feature names",
            UserWarning,
            stacklevel=stacklevel,
        )
        return
    if given is None:
        warnings.warn(
            f"X does not have valid feature names, but {name} was fitted with feature names",
            UserWarning,
            stacklevel=stacklevel,
        )
        return
    fitted = np.asarray(fitted, dtype=object)
    if len(fitted) == len(given) and not np.any(fitted != given):
        return
    message = "The feature names should match those that were passed during fit.\n"
    unexpected = sorted(set(given) - set(fitted))
    missing = sorted(set(fitted) - set(given))
    if unexpected:
        message += "Feature names unseen at fit time:\n" + _listed(unexpected)
    if missing:
        message += "Feature names seen at fit time, yet now missing:\n" + _listed(missing)
    if not missing and not unexpected:
        message += "Feature names must be in the same order as they were in fit.\n"
    raise ValueError(message)


def model_dtype(estimator):
    """The dtype the fitted model predicts in: its parameters' (float32/float64)."""
    parameters = getattr(estimator, "parameters_", None)
    first = parameters.get("W1") if isinstance(parameters, dict) else None
    dtype = getattr(first, "dtype", None)
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


def check_fitted_X(estimator, X):
    """``X`` for a fitted model's forward pass: feature names as in fit, the fitted
    number of columns, finite, and within the range of the model's dtype (a
    float32 model given 1e39 would compute with infinity)."""
    check_feature_names(estimator, X, stacklevel=5)  # the warning points at predict's caller
    X = check_X(X, n_features=estimator.n_features_in_, estimator_name=type(estimator).__name__)
    dtype = model_dtype(estimator)
    if X.dtype.kind == "f" and X.dtype.itemsize > dtype.itemsize:
        largest = float(np.finfo(dtype).max)
        peak = max(abs(float(X.max())), abs(float(X.min())))
        if peak > largest:
            raise ValueError(
                f"X has values up to {peak:.3g} in magnitude, beyond the range of "
                f"the model's dtype {dtype.name} (largest {largest:.3g}): rescale "
                "X as it was in fit, or fit with dtype='float64'"
            )
    return X


def fit_feature_names(estimator, X, warm_start):
    """The ``feature_names_in_`` a fit on ``X`` leaves, as scikit-learn's MLP does.

    A fresh fit takes ``X``'s names (None: the attribute is removed). A fit that
    continues from fitted parameters (``warm_start``) checks ``X`` against the
    names it was fitted with, and keeps them.
    """
    if warm_start and hasattr(estimator, "parameters_"):
        check_feature_names(estimator, X)
        return getattr(estimator, "feature_names_in_", None)
    return feature_names_of(X)


def check_y_present(y, estimator_name):
    if y is None:
        raise ValueError(f"{estimator_name} requires y to be passed, but the target y is None.")


def check_same_length(X, y):
    if len(X) != len(y):
        raise ValueError(
            f"X and y have different numbers of samples: X has {len(X)} rows, "
            f"y has {len(y)} entries"
        )


def warn_column_vector():
    from . import exceptions  # DataConversionWarning is built on first use

    warnings.warn(
        "A column-vector y was passed when a 1d array was expected. Please change "
        "the shape of y to (n_samples, ), for example using ravel().",
        exceptions.DataConversionWarning,
        stacklevel=5,
    )


def check_labels(y):
    """Class labels: a 1-D array (a column vector is raveled, with a warning).

    Any labels that sort (ints, strings, bools, integral floats). Returns
    ``(classes, indices)``: the sorted distinct labels and each example's
    index into them.
    """
    if _is_sparse(y):
        raise TypeError("y is a sparse matrix: sparse input is not supported")
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        warn_column_vector()
        labels = labels.ravel()
    if labels.ndim != 1:
        raise ValueError(
            f"y must be a 1-D array of class labels, got shape {labels.shape}: "
            "multi-output and multi-label classification are not supported"
        )
    if labels.size == 0:
        raise ValueError("y has no labels (0 samples)")
    check_label_kinds(labels)
    classes, indices = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(
            f"y has only 1 class ({classes[0]!r}): a classifier needs at least "
            "2 classes to learn from"
        )
    return classes, indices.reshape(-1)


def check_label_kinds(labels):
    """The label rules of ``check_labels`` on a 1-D array (any number of classes):
    labels of one kind (numbers or strings), not complex, integral if numeric."""
    kind = labels.dtype.kind
    if kind == "c" or (kind == "O" and any(isinstance(v, complex) for v in labels)):
        raise ValueError("Complex data not supported: y holds complex numbers")
    if kind == "O":
        numeric = [v for v in labels if not isinstance(v, str)]
        if numeric:
            if len(numeric) != len(labels):
                raise ValueError(
                    "Unknown label type: y mixes strings and other values; use labels of one kind"
                )
            try:
                values = np.asarray(numeric, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(
                    "Unknown label type: y must hold numbers or strings, "
                    f"got values of type {type(numeric[0]).__name__}"
                ) from None
            _check_class_values(values)
    elif kind == "f":
        _check_class_values(labels)
    elif kind not in "biuUS":
        raise ValueError(f"Unknown label type: y has dtype {labels.dtype}")


def _check_class_values(values):
    _check_finite(values, "y")
    if not np.array_equal(values, np.round(values)):
        raise ValueError(
            "Unknown label type: continuous. A classifier needs class labels "
            "(integers or strings), y holds non-integer numbers; use a regressor "
            "for continuous targets"
        )


def check_targets(y):
    """Regression targets: float64 ``(m, n_outputs)`` and whether y was 1-D."""
    if _is_sparse(y):
        raise TypeError("y is a sparse matrix: sparse input is not supported")
    array = as_float_array(y, "y")
    if array.ndim not in (1, 2):
        raise ValueError(
            f"y must be 1-D (one target) or 2-D (n_samples, n_targets), got shape {array.shape}"
        )
    if array.shape[0] == 0:
        raise ValueError("y has no targets (0 samples)")
    if array.ndim == 2 and array.shape[1] == 0:
        raise ValueError(f"y has 0 targets (shape={array.shape})")
    _check_finite(array.astype(np.float64, copy=False), "y")
    one_dimensional = array.ndim == 1
    return array.reshape(len(array), -1).astype(np.float64, copy=False), one_dimensional
