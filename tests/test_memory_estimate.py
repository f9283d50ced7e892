"""Before a fit allocates: its memory estimated, and refused when it cannot fit.

Issue 12: a fit larger than the machine's memory failed part way (or swapped);
it is now refused up front with a ValueError giving the estimate.
"""

import tracemalloc

import numpy as np
import pytest

import fastnn
from fastnn import memory, scaling


@pytest.fixture
def little_memory(monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda: 10_000)


@pytest.mark.parametrize(
    "cls", [fastnn.MLPClassifier, fastnn.MLPRegressor, fastnn.LogisticRegression]
)
def test_a_fit_that_does_not_fit_is_refused_before_allocating(cls, little_memory, monkeypatch):
    X, y = fastnn.datasets.blobs(m=300, n_features=20, centers=2, seed=0)
    model = cls(epochs=2, backend="numpy")

    def must_not_run(*args, **kwargs):
        raise AssertionError("the fit allocated its inputs before checking its memory")

    monkeypatch.setattr(scaling, "prepare_inputs", must_not_run)
    with pytest.raises(
        ValueError,
        match=r"fit needs about [\d.]+ [KM]iB of memory \(X in the "
        r"training layout .* but only 9.8 KiB is available",
    ):
        model.fit(X, y)
    assert not hasattr(model, "parameters_")


def test_a_fit_that_fits_is_not_refused(monkeypatch):
    X, y = fastnn.datasets.blobs(m=300, n_features=20, centers=2, seed=0)
    needed = sum(memory.fit_memory((20, 100, 1), 300, np.float64, backend="numpy").values())
    monkeypatch.setattr(memory, "available_bytes", lambda: needed + 1)
    fastnn.MLPClassifier(epochs=2, backend="numpy").fit(X, y)


def test_the_error_gives_the_estimate_of_a_big_fit(monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda: 2 << 30)
    parts = memory.fit_memory((784, 4096, 4096, 10), 10**6, np.float64, backend="numba")
    assert sum(parts.values()) > 60 << 30  # 4096 x 10^6 float64 activations, twice
    with pytest.raises(ValueError, match=r"needs about \d+\.\d GiB .*only 2.0 GiB"):
        memory.check_fit_memory(
            "MLPClassifier", (784, 4096, 4096, 10), 10**6, fastnn.MLPClassifier()._config()
        )


@pytest.mark.parametrize(
    "batch_size, dtype, regression",
    [(None, np.float64, False), (None, np.float32, True), (64, np.float64, False)],
)
def test_the_estimate_is_close_to_what_a_numpy_fit_allocates(batch_size, dtype, regression):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3000, 40))
    if regression:
        y = X[:, :2] @ np.ones((2, 3))
        cls = fastnn.MLPRegressor
    else:
        y = (X[:, 0] > 0).astype(int)
        cls = fastnn.MLPClassifier
    model = cls(
        hidden=(200, 100),
        epochs=2,
        batch_size=batch_size,
        dtype=np.dtype(dtype).name,
        backend="numpy",
    )
    layer_sizes = (40, 200, 100, 3 if regression else 1)
    estimate = sum(
        memory.fit_memory(layer_sizes, 3000, dtype, batch_size, "numpy", regression).values()
    )
    model.fit(X, y)  # once untraced: imports and caches are not the fit's memory
    tracemalloc.start()
    try:
        model.fit(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert 0.5 * peak <= estimate <= 2.0 * peak, (estimate, peak)


def test_available_memory_is_known_on_linux():
    available = memory.available_bytes()
    if not __import__("sys").platform.startswith("linux"):
        pytest.skip("MemAvailable is read from /proc/meminfo (Linux)")
    assert isinstance(available, int) and available > 0


def test_available_memory_is_read_again_after_a_while(monkeypatch):
    readings = iter([1 << 30, 2 << 30])
    monkeypatch.setattr(memory, "_meminfo_available", lambda: next(readings))
    monkeypatch.setattr(memory, "_cgroup_available", lambda: None)
    monkeypatch.setattr(memory, "_address_space_available", lambda: None)
    clock = [1000.0]
    monkeypatch.setattr(memory, "_clock", lambda: clock[0])
    monkeypatch.setattr(memory, "_last_read", (-float("inf"), None))
    assert memory.available_bytes() == 1 << 30
    clock[0] += memory.AVAILABLE_SECONDS / 2
    assert memory.available_bytes() == 1 << 30  # within the interval: the last reading
    clock[0] += memory.AVAILABLE_SECONDS
    assert memory.available_bytes() == 2 << 30  # read again
