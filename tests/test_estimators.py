"""The estimators: defaults that learn, the notes' arithmetic, agreement between
kernel variants, reproducibility, warm start, divergence, Ctrl-C, threads, progress, plots."""

import os
import pathlib
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

import fastnn
import kernels
from fastnn import training
from fastnn.fitting import TrainingSpec
from fastnn.progress import PlainProgress, SilentProgress

from conftest import notes, tolerance

FAST_BACKENDS = ["numpy", "numba"]


def split(X, y, seed=0):
    order = np.random.default_rng(seed).permutation(len(X))
    half = len(X) * 2 // 3
    return X[order[:half]], y[order[:half]], X[order[half:]], y[order[half:]]


def assert_parameters_close(a, b, rtol, atol=0.0):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=rtol, atol=atol, err_msg=key)


def assert_parameters_equal(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


# ---------------------------------------------------------------------------
# Defaults that work out of the box
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("backend", FAST_BACKENDS)
@pytest.mark.parametrize(
    "cls", [fastnn.MLPClassifier, fastnn.LogisticRegression], ids=lambda c: c.__name__
)
def test_default_classifier_learns_blobs(cls, backend):
    X, y = fastnn.datasets.blobs(m=300, seed=0)
    X_train, y_train, X_test, y_test = split(X, y)
    model = cls(backend=backend).fit(X_train, y_train)
    assert model.score(X_train, y_train) > 0.83
    assert model.score(X_test, y_test) > 0.83
    assert model.n_epochs_ == len(model.history_) == 200
    assert model.history_[-1] < model.history_[0]


@pytest.mark.parametrize("backend", FAST_BACKENDS)
def test_default_regressor_on_unscaled_multi_output_targets(backend):
    rng = np.random.default_rng(1)
    X = rng.normal(loc=50.0, scale=20.0, size=(200, 4))  # unscaled features
    Y = np.column_stack(
        [
            3000.0 * X[:, 0] - 500.0 * X[:, 1],  # targets of very different scale
            0.01 * X[:, 2] ** 2 + 7.0,
            -1e4 + 100.0 * np.sin(X[:, 3] / 10),
        ]
    )
    model = fastnn.MLPRegressor(backend=backend).fit(X, Y)
    assert np.isfinite(model.history_).all()
    assert model.predict(X).shape == Y.shape
    assert model.score(X, Y) > 0.8


def test_planar_flower_with_the_course_network():
    X, y = fastnn.datasets.planar(m=400, seed=1)
    model = notes(
        fastnn.MLPClassifier,
        hidden=(4,),
        activation="tanh",
        init="small",
        learning_rate=1.2,
        epochs=2000,
        backend="numpy",
        standardize=False,
    ).fit(X, y)
    assert model.score(X, y) > 0.85
    assert model.parameters_["W1"].shape == (4, 2) and model.parameters_["b2"].shape == (1, 1)


# ---------------------------------------------------------------------------
# The notes' arithmetic: one full-batch step computed by hand
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["loops", "numpy", "numba"])
def test_one_gradient_descent_step_by_hand(backend):
    # 2 inputs, 2 tanh hidden units, 1 sigmoid output; m = 3 examples (columns in the notes)
    X = np.array([[1.0, 2.0], [-1.0, 0.0], [0.5, -1.0]])  # rows are examples
    y = np.array([1, 0, 1])
    W1 = np.array([[0.1, -0.2], [0.3, 0.4]])
    b1 = np.array([[0.0], [0.1]])
    W2 = np.array([[0.5, -0.6]])
    b2 = np.array([[0.05]])
    alpha, m = 0.5, 3

    # the notes, section 3.4: forward
    A0 = X.T
    Y = y.reshape(1, m).astype(float)
    Z1 = W1 @ A0 + b1
    A1 = np.tanh(Z1)
    Z2 = W2 @ A1 + b2
    A2 = 1 / (1 + np.exp(-Z2))
    J = -np.sum(Y * np.log(A2) + (1 - Y) * np.log(1 - A2)) / m
    # backward
    dZ2 = A2 - Y
    dW2 = dZ2 @ A1.T / m
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m
    dZ1 = (W2.T @ dZ2) * (1 - A1**2)
    dW1 = dZ1 @ A0.T / m
    db1 = np.sum(dZ1, axis=1, keepdims=True) / m
    # update
    expected = {
        "W1": W1 - alpha * dW1,
        "b1": b1 - alpha * db1,
        "W2": W2 - alpha * dW2,
        "b2": b2 - alpha * db2,
    }
    # spot check of the hand arithmetic: Z1 of the first example
    assert Z1[0, 0] == pytest.approx(0.1 * 1.0 - 0.2 * 2.0 + 0.0)
    assert Z1[1, 0] == pytest.approx(0.3 * 1.0 + 0.4 * 2.0 + 0.1)

    model = notes(
        fastnn.MLPClassifier,
        hidden=(2,),
        activation="tanh",
        learning_rate=alpha,
        epochs=1,
        backend=backend,
        warm_start=True,
        standardize=False,
    )
    model.parameters_ = {"W1": W1.copy(), "b1": b1.copy(), "W2": W2.copy(), "b2": b2.copy()}
    model.fit(X, y)

    assert model.history_.shape == (1,)
    assert model.history_[0] == pytest.approx(J, rel=1e-12)
    assert_parameters_close(model.parameters_, expected, rtol=1e-12, atol=1e-15)
    assert model.parameters_["W1"] is not W1  # the user's arrays were not trained in place


# ---------------------------------------------------------------------------
# Kernel variants agree; the same seed gives the same parameters
# ---------------------------------------------------------------------------

AGREEMENT_CASES = {
    "full batch tanh": dict(hidden=(3,), activation="tanh"),
    "mini-batch momentum l2": dict(
        hidden=(4, 3), activation=("relu", "sigmoid"), batch_size=7, momentum=0.9, l2=0.1
    ),
    "softmax leaky relu": dict(hidden=(3,), activation="leaky_relu", classes=3),
    "regressor": dict(hidden=(3,), activation="tanh", regressor=True, batch_size=16),
}


@pytest.mark.parametrize("case", list(AGREEMENT_CASES))
def test_loops_numpy_numba_agree_in_float64(case):
    options = dict(AGREEMENT_CASES[case])
    classes = options.pop("classes", 2)
    regressor = options.pop("regressor", False)
    X, y = fastnn.datasets.blobs(m=40, n_features=3, centers=classes, seed=7)
    if regressor:
        cls, y = fastnn.MLPRegressor, np.column_stack([X[:, 0] * 5, X[:, 1] - X[:, 2]])
    else:
        cls = fastnn.MLPClassifier
    fitted = {}
    for backend in (name for name in kernels.VARIANTS if name != "cuda"):  # the CPU variants
        model = notes(cls, epochs=15, learning_rate=0.05, seed=11, backend=backend, **options)
        fitted[backend] = model.fit(X, y)
    for model in fitted.values():
        assert_parameters_close(
            model.parameters_, fitted["numpy"].parameters_, rtol=1e-9, atol=1e-12
        )
        np.testing.assert_allclose(model.history_, fitted["numpy"].history_, rtol=1e-9)


@pytest.mark.parametrize("backend", FAST_BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_seed_gives_bit_identical_parameters(backend, dtype):
    X, y = fastnn.datasets.planar(m=120, seed=3)
    options = dict(
        hidden=(5, 4), batch_size=16, momentum=0.5, epochs=20, backend=backend, dtype=dtype
    )
    first = notes(fastnn.MLPClassifier, seed=5, **options).fit(X, y)
    second = notes(fastnn.MLPClassifier, seed=5, **options).fit(X, y)
    assert_parameters_equal(first.parameters_, second.parameters_)
    np.testing.assert_array_equal(first.history_, second.history_)
    assert first.parameters_["W1"].dtype == np.dtype(dtype)
    other = notes(fastnn.MLPClassifier, seed=6, **options).fit(X, y)
    assert not np.array_equal(other.parameters_["W1"], first.parameters_["W1"])
    default = notes(fastnn.MLPClassifier, seed=None, **options).fit(X, y)
    zero = notes(fastnn.MLPClassifier, seed=0, **options).fit(X, y)
    assert_parameters_equal(default.parameters_, zero.parameters_)


@pytest.mark.parametrize("backend", FAST_BACKENDS)
@pytest.mark.parametrize("batch_size", [None, 9])
def test_chunking_does_not_change_the_result(backend, batch_size):
    """The run cut into chunks of 1, 3 or all epochs gives bit-identical parameters."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((3, 50))
    Y = (rng.random((1, 50)) > 0.5).astype(float)
    results = []
    for chunk in (1, 3, 12):
        weights = [
            rng_w.copy()
            for rng_w in (np.full((4, 3), 0.1) * np.arange(12).reshape(4, 3), np.full((1, 4), -0.2))
        ]
        biases = [np.zeros((4, 1)), np.zeros((1, 1))]
        spec = TrainingSpec(("tanh", "sigmoid"), 12, 0.3, batch_size, 0.9, 0.01, backend)
        result = training.run(
            spec,
            weights,
            biases,
            X,
            Y,
            np.random.default_rng(4),
            SilentProgress(),
            chunk_epochs=chunk,
        )
        assert result.chunks == [chunk] * (12 // chunk)
        results.append((weights + biases, result.costs))
    for params, costs in results[1:]:
        for p, q in zip(params, results[0][0]):
            np.testing.assert_array_equal(p, q)
        np.testing.assert_array_equal(costs, results[0][1])


class _RecordingKernels:
    """The numpy variant's kernels, recording the epochs of each ``train`` call in ``calls``."""

    def __init__(self):
        self.calls = []
        self._real = kernels.get("numpy")

    def train(self, *args, **kwargs):
        self.calls.append(args[5])
        return self._real.train(*args, **kwargs)


def test_chunks_start_small_and_grow():
    X, y = fastnn.datasets.blobs(m=30, seed=1)
    recording = _RecordingKernels()
    calls = recording.calls
    model_X = np.ascontiguousarray(X.T)
    Y = np.zeros((1, 30))
    Y[0, y == 1] = 1
    weights, biases = [np.full((1, 2), 0.1)], [np.zeros((1, 1))]
    spec = TrainingSpec(("sigmoid",), 500, 0.1, None, 0.0, 0.0, "numpy")
    result = training.run(
        spec, weights, biases, model_X, Y, None, SilentProgress(), kernel_module=recording
    )
    assert calls[0] == 1 and sum(calls) == 500 and len(result.costs) == 500
    assert all(
        b <= a * training.MAX_GROWTH or b == 500 - sum(calls[: i + 1])
        for i, (a, b) in enumerate(zip(calls, calls[1:]))
    )


def test_chunk_policy():
    """About CHUNK_SECONDS of epochs, growing at most MAX_GROWTH times a chunk, or the rest
    of the run when it fits in CHUNK_SECONDS; slow epochs in pairs while two fit in
    LONG_CHUNK_SECONDS."""
    next_chunk = training.next_chunk
    assert next_chunk(0, 1000, 0.0, 0, 0.25) == 1  # the first chunk measures (and compiles)
    assert next_chunk(1, 999, 1e-3, 1, 0.25) == training.MAX_GROWTH
    assert next_chunk(1, 999, 1e-6, 1, 0.25) == 999  # the rest takes a millisecond
    assert next_chunk(17, 100000, 1e-3, 16, 0.25) == 250
    assert next_chunk(17, 100, 1e-3, 16, 0.25) == 100  # never past the end
    assert next_chunk(3, 100, 0.66, 1, 0.25, long_chunk_seconds=1.5) == 2
    assert next_chunk(3, 100, 1.0, 1, 0.25, long_chunk_seconds=1.5) == 1


# ---------------------------------------------------------------------------
# Warm start
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("backend", FAST_BACKENDS)
def test_warm_start_continues_the_run(backend):
    X, y = fastnn.datasets.blobs(m=60, seed=2)
    options = dict(hidden=(6,), learning_rate=0.2, backend=backend, standardize=False)
    whole = notes(fastnn.MLPClassifier, epochs=10, **options).fit(X, y)
    halves = notes(fastnn.MLPClassifier, epochs=5, warm_start=True, **options).fit(X, y).fit(X, y)
    # full batch, no momentum, no scaling: exactly the same arithmetic
    assert_parameters_equal(halves.parameters_, whole.parameters_)
    np.testing.assert_array_equal(halves.history_, whole.history_)
    assert halves.n_epochs_ == 10


def test_warm_start_with_standardisation_continues_closely():
    X, y = fastnn.datasets.blobs(m=60, seed=2)
    X = X * 10 + 100
    whole = notes(fastnn.MLPRegressor, hidden=(6,), epochs=10, backend="numpy").fit(X, y)
    halves = (
        notes(fastnn.MLPRegressor, hidden=(6,), epochs=5, warm_start=True, backend="numpy")
        .fit(X, y)
        .fit(X, y)
    )
    assert_parameters_close(halves.parameters_, whole.parameters_, rtol=1e-9, atol=1e-12)


def test_cold_refit_starts_again():
    X, y = fastnn.datasets.blobs(m=60, seed=2)
    model = fastnn.MLPClassifier(hidden=(6,), epochs=5, backend="numpy").fit(X, y)
    first = {k: v.copy() for k, v in model.parameters_.items()}
    model.fit(X, y)
    assert_parameters_equal(model.parameters_, first)
    assert model.n_epochs_ == 5


# ---------------------------------------------------------------------------
# Divergence and Ctrl-C
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("backend", FAST_BACKENDS)
def test_divergence_names_the_epoch_and_keeps_finite_parameters(backend):
    rng = np.random.default_rng(0)
    X = rng.normal(loc=100.0, scale=30.0, size=(50, 3))
    y = X @ np.array([2.0, -1.0, 3.0])
    model = notes(
        fastnn.MLPRegressor,
        hidden=(),
        learning_rate=0.05,
        epochs=500,
        backend=backend,
        standardize=False,
    )
    with pytest.raises(fastnn.TrainingDivergedError, match="smaller learning_rate") as error:
        model.fit(X, y)
    epoch = error.value.epoch
    assert f"epoch {epoch}" in str(error.value)
    assert 1 <= epoch <= 500
    assert len(model.history_) == model.n_epochs_ == epoch - 1
    assert np.isfinite(model.history_).all()
    assert all(np.isfinite(p).all() for p in model.parameters_.values())
    assert np.isfinite(model.predict(X)).all()  # the model is usable


def _interrupting_progress(after_updates):
    class Interrupting(SilentProgress):
        updates = 0

        def update(self, epochs_done, cost):
            Interrupting.updates += 1
            if Interrupting.updates >= after_updates:
                raise KeyboardInterrupt

    return lambda total, verbose, description="fit": Interrupting()


def test_ctrl_c_between_chunks_stops_cleanly(monkeypatch):
    X, y = fastnn.datasets.blobs(m=60, seed=2)
    monkeypatch.setattr("fastnn.fitting.make_progress", _interrupting_progress(3))
    model = fastnn.MLPClassifier(hidden=(6,), epochs=100000, backend="numpy")
    with pytest.warns(fastnn.TrainingInterruptedWarning, match="interrupted after"):
        model.fit(X, y)
    done = model.n_epochs_
    assert 1 <= done < 100000 and len(model.history_) == done
    assert model.predict(X).shape == (60,)
    monkeypatch.undo()
    reference = fastnn.MLPClassifier(hidden=(6,), epochs=done, backend="numpy").fit(X, y)
    assert_parameters_equal(model.parameters_, reference.parameters_)


def test_ctrl_c_inside_a_kernel_call_discards_the_partial_chunk(monkeypatch):
    X, y = fastnn.datasets.blobs(m=60, seed=2)
    real = kernels.get("numpy")
    calls = []

    class HalfWay:
        forward = staticmethod(real.forward)

        @staticmethod
        def train(weights, biases, *args, **kwargs):
            calls.append(args[3])
            if len(calls) == 3:
                weights[0] += 1.0  # half an update, then Ctrl-C
                raise KeyboardInterrupt
            return real.train(weights, biases, *args, **kwargs)

    monkeypatch.setattr("fastnn._network.kernels.get", lambda name: HalfWay)
    model = fastnn.MLPClassifier(hidden=(6,), epochs=100_000, backend="numpy")
    with pytest.warns(fastnn.TrainingInterruptedWarning):
        model.fit(X, y)
    assert model.n_epochs_ == sum(calls[:2])
    monkeypatch.undo()
    reference = fastnn.MLPClassifier(hidden=(6,), epochs=model.n_epochs_, backend="numpy").fit(X, y)
    assert_parameters_equal(model.parameters_, reference.parameters_)


# ---------------------------------------------------------------------------
# Threads
# ---------------------------------------------------------------------------


def _fit_two_models_in_threads(backend):
    """Two threads fit two models at once; returns the models fitted alone and together.

    Big enough for the numba variant's products to run parallel regions
    (more than 2**21 multiply-adds each), so both threads are in one at once.
    """
    rng = np.random.default_rng(1)
    X1, X2 = rng.standard_normal((600, 64)), rng.standard_normal((700, 40))
    y1, y2 = (X1[:, 0] > 0).astype(int), (X2[:, 1] + X2[:, 2] > 0).astype(int)
    jobs = [(X1, y1, dict(hidden=(64,), seed=1)), (X2, y2, dict(hidden=(96, 8), seed=2))]
    # full batch: products large enough for parallel regions
    alone = [
        notes(fastnn.MLPClassifier, epochs=8, backend=backend, **o).fit(X, y) for X, y, o in jobs
    ]
    together = [notes(fastnn.MLPClassifier, epochs=8, backend=backend, **o) for _, _, o in jobs]
    errors = []

    def fit(model, X, y):
        try:
            model.fit(X, y)
        except Exception as error:  # reported below, in the main thread
            errors.append(error)

    threads = [
        threading.Thread(target=fit, args=(model, X, y)) for model, (X, y, _) in zip(together, jobs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    return alone, together


@pytest.mark.parametrize("backend", FAST_BACKENDS)
def test_two_threads_fit_two_models_at_once(backend):
    alone, together = _fit_two_models_in_threads(backend)
    for a, b in zip(alone, together):
        assert_parameters_close(a.parameters_, b.parameters_, rtol=1e-12, atol=1e-14)


def test_threads_are_safe_even_on_the_workqueue_layer(tmp_path):
    """Numba's workqueue layer aborts the process when two threads enter parallel regions
    at once: fastnn then serialises the kernel calls (a lock). Run in a fresh process,
    where the layer can still be chosen."""
    script = tmp_path / "threads.py"
    script.write_text(
        "import numba\n"
        "numba.config.THREADING_LAYER = 'workqueue'\n"
        "import test_estimators as t\n"
        "t._fit_two_models_in_threads('numba')\n"
        "from fastnn import _threading\n"
        # the numba variant's run opens no parallel region, so the layer may not have started:
        # what it will start is the configured one, and calls are serialised for it
        "assert numba.config.THREADING_LAYER == 'workqueue'\n"
        "assert _threading.kernel_guard('numba') is _threading._lock\n"
        "print('ok')\n"
    )
    tests = pathlib.Path(__file__).parent
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            [str(tests), str(tests.parent), os.environ.get("PYTHONPATH", "")]
        ),
    )
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")


def test_thread_safe_layer_needs_no_lock(monkeypatch):
    from fastnn import _threading

    monkeypatch.setattr(_threading, "_concurrent_calls_are_safe", lambda: True)
    assert _threading.kernel_guard("numba") is not _threading._lock
    monkeypatch.setattr(_threading, "_concurrent_calls_are_safe", lambda: False)
    assert _threading.kernel_guard("numba") is _threading._lock
    assert _threading.kernel_guard("numpy") is not _threading._lock


# ---------------------------------------------------------------------------
# Outputs, dtypes, labels
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("backend", FAST_BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_classifier_outputs_agree(backend, dtype):
    X, y = fastnn.datasets.blobs(m=90, centers=3, seed=5)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    model = fastnn.MLPClassifier(hidden=(8,), epochs=50, dtype=dtype, backend=backend)
    model.fit(X, labels)
    assert model.classes_.tolist() == ["setosa", "versicolor", "virginica"]
    proba = model.predict_proba(X)
    decision = model.decision_function(X)
    assert proba.shape == decision.shape == (90, 3) and proba.dtype == np.dtype(dtype)
    np.testing.assert_allclose(proba.sum(axis=1), 1, **tolerance(dtype))
    predicted = model.predict(X)
    np.testing.assert_array_equal(predicted, model.classes_[np.argmax(proba, axis=1)])
    np.testing.assert_array_equal(predicted, model.classes_[np.argmax(decision, axis=1)])


def test_binary_outputs_and_object_labels():
    X, y = fastnn.datasets.planar(m=100, seed=4)
    labels = np.array([-1, 1], dtype=object)[y]
    model = fastnn.LogisticRegression(epochs=30, backend="numpy").fit(X, labels)
    assert list(model.parameters_) == ["W1", "b1"]
    assert model.parameters_["W1"].shape == (1, 2)
    decision = model.decision_function(X)
    proba = model.predict_proba(X)
    assert decision.shape == (100,) and proba.shape == (100, 2)
    np.testing.assert_array_equal(model.predict(X), model.classes_[(decision > 0).astype(int)])
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-decision)), rtol=1e-12)


def test_regressor_prediction_shape_follows_y():
    X, y = fastnn.datasets.blobs(m=40, seed=1)
    one = fastnn.MLPRegressor(hidden=(4,), epochs=5, backend="numpy").fit(X, X[:, 0])
    column = fastnn.MLPRegressor(hidden=(4,), epochs=5, backend="numpy").fit(X, X[:, :1])
    assert one.predict(X).shape == (40,) and column.predict(X).shape == (40, 1)
    np.testing.assert_allclose(one.predict(X), column.predict(X)[:, 0], rtol=1e-12)
    assert one.n_outputs_ == 1 and not hasattr(one, "decision_function")


def test_standardisation_is_folded_into_the_parameters():
    """parameters_ act on raw data: the notes' forward pass on raw X gives predict."""
    X, y = fastnn.datasets.blobs(m=80, seed=3)
    X = X * np.array([100.0, 0.01]) + np.array([5000.0, -3.0])
    model = notes(
        fastnn.MLPClassifier, hidden=(5,), activation="tanh", epochs=100, backend="numpy"
    ).fit(X, y)
    p = model.parameters_
    A1 = np.tanh(p["W1"] @ X.T + p["b1"])
    Z2 = p["W2"] @ A1 + p["b2"]
    np.testing.assert_allclose(model.decision_function(X), Z2.T, rtol=1e-9, atol=1e-9)
    assert model.score(X, y) > 0.9


# ---------------------------------------------------------------------------
# Progress and plots
# ---------------------------------------------------------------------------


def test_verbose_shows_progress_with_tqdm(capsys):
    import tqdm  # noqa: F401 -- in the test extra: a broken install fails here

    X, y = fastnn.datasets.blobs(m=40, seed=1)
    fastnn.MLPClassifier(hidden=(4,), epochs=40, backend="numpy", verbose=True).fit(X, y)
    err = capsys.readouterr().err
    assert "MLPClassifier" in err and "40/40" in err and "cost=" in err


def test_verbose_plain_fallback_without_tqdm(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # makes `from tqdm import tqdm` fail
    X, y = fastnn.datasets.blobs(m=40, seed=1)
    fastnn.MLPClassifier(hidden=(4,), epochs=40, backend="numpy", verbose=1).fit(X, y)
    err = capsys.readouterr().err
    assert "MLPClassifier: epoch 40/40, cost" in err


def test_plain_progress_throttles_lines():
    import io

    stream = io.StringIO()
    progress = PlainProgress(100, "fit", stream=stream, interval=3600)
    for done in range(10, 101, 10):
        progress.update(done, 1.0 / done)
    progress.close()
    lines = stream.getvalue().splitlines()
    assert lines == ["fit: epoch 10/100, cost 0.1", "fit: epoch 100/100, cost 0.01"]


def test_plots():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, y = fastnn.datasets.planar(m=80, seed=1)
    model = fastnn.MLPClassifier(hidden=(4,), epochs=30, backend="numpy").fit(X, y)
    ax = fastnn.plot_history(model)
    assert len(ax.lines[0].get_xdata()) == 30
    ax = fastnn.plot_decision_boundary(model, X, y, resolution=20)
    assert ax.get_title().endswith("decision boundary")
    with pytest.raises(ValueError, match="2 features"):
        fastnn.plot_decision_boundary(model, np.zeros((3, 3)), [0, 1, 0])
    with pytest.raises(fastnn.NotFittedError):
        fastnn.plot_history(fastnn.MLPClassifier())
    plt.close("all")


def test_no_warning_on_an_ordinary_fit():
    X, y = fastnn.datasets.blobs(m=60, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fastnn.MLPClassifier(hidden=(4,), epochs=20, backend="numpy").fit(X, y).predict(X)


def test_cuda_chunks_are_longer(monkeypatch):
    """The CUDA variant's per-call cost (copies, graph capture) asks for longer chunks."""
    seen = []
    real_next_chunk = training.next_chunk

    def recording(done, remaining, seconds_per_epoch, previous, chunk_seconds, long_seconds):
        seen.append((chunk_seconds, long_seconds))
        return real_next_chunk(
            done, remaining, seconds_per_epoch, previous, chunk_seconds, long_seconds
        )

    monkeypatch.setattr(training, "next_chunk", recording)
    X = np.ones((2, 5))
    Y = np.zeros((1, 5))
    for backend in ("numpy", "cuda"):
        weights, biases = [np.full((1, 2), 0.1)], [np.zeros((1, 1))]
        spec = TrainingSpec(("sigmoid",), 3, 0.1, None, 0.0, 0.0, backend)
        training.run(
            spec, weights, biases, X, Y, None, SilentProgress(), kernel_module=kernels.get("numpy")
        )
    assert seen[0] == (training.CHUNK_SECONDS, training.LONG_CHUNK_SECONDS)
    assert seen[-1] == training.BACKEND_CHUNK_SECONDS["cuda"]
    assert seen[-1][0] > 10 * training.CHUNK_SECONDS


def test_the_numba_first_chunk_is_sized_from_the_work():
    """A backend with a floor on its rate (FIRST_CHUNK_RATE) starts with the epochs that fit in
    CHUNK_SECONDS at that floor: a short run of a small net is one call; a large net starts
    with one epoch."""
    assert training.next_chunk(0, 1000, 1e-4, 0, 0.25) == 1000
    assert training.next_chunk(0, 10000, 1e-4, 0, 0.25) == 2500
    assert training.next_chunk(0, 10000, 2.0, 0, 0.25) == 1
    small = [np.ones((4, 2)), np.ones((1, 4))]
    assert training.epoch_work(small, 400) == 2 * (4 * 2 * 400 * 2 + 4 * 400 * 3) + 50 * 400 * 5
    X = np.random.default_rng(0).standard_normal((2, 40))
    Y = (X[:1] > 0).astype(float)
    for backend, epochs, expected in (("numba", 300, [300]), ("numpy", 3, [1, 2])):
        weights, biases = [np.full((1, 2), 0.1)], [np.zeros((1, 1))]
        spec = TrainingSpec(("sigmoid",), epochs, 0.1, None, 0.0, 0.0, backend)
        recording = _RecordingKernels()
        training.run(spec, weights, biases, X, Y, None, SilentProgress(), kernel_module=recording)
        assert recording.calls == expected, backend
