"""Data-parallel training on a Dask cluster of two local worker processes.

The cluster listens on loopback only and lives for this module. Every run is
held against the single-machine run on the concatenated data: the kernels'
``train`` (``kernels.vectorized``) or, for ``fastnn.distributed.fit``, the
estimator's own local ``fit``.
"""

import os
import signal
import threading

# dask[distributed,dataframe] is in the test extra: these import, or the tests fail
import dask.array as da
import distributed
import numpy as np
import pytest
from dask import delayed

import fastnn
import kernels.vectorized as reference
from fastnn import distributed as fastnn_distributed
from fastnn.distributed import TrainingInterrupted, WorkerLost, load_partitions, train

from conftest import notes, tolerance

ACTIVATIONS = ("tanh", "relu", "linear")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def problem(rng, m=157, n_x=5, n_out=2, dtype=np.float64):
    X = rng.standard_normal((m, n_x)).astype(dtype)
    Y = (X[:, :n_out] * 0.7 + 0.1 * rng.standard_normal((m, n_out))).astype(dtype)
    return X, Y


def initial(rng, sizes, dtype=np.float64):
    weights = [
        (rng.standard_normal((n, n_prev)) / np.sqrt(n_prev)).astype(dtype)
        for n_prev, n in zip(sizes[:-1], sizes[1:])
    ]
    biases = [(0.1 * rng.standard_normal((n, 1))).astype(dtype) for n in sizes[1:]]
    return weights, biases


def copies(arrays):
    return [a.copy() for a in arrays]


def chunked(array, rows):
    """A dask array cut into row blocks of the given sizes (awkward on purpose)."""
    return da.from_array(array, chunks=(tuple(rows),) + array.shape[1:])


ROWS = (1, 13, 31, 2, 67, 43)  # 157 rows, partitions of awkward sizes


def assert_same_run(costs, weights, biases, ref_costs, ref_weights, ref_biases, dtype):
    np.testing.assert_allclose(costs, ref_costs, **tolerance(dtype))
    for got, expected in zip(weights + biases, ref_weights + ref_biases):
        np.testing.assert_allclose(got, expected, **tolerance(dtype))


# ---------------------------------------------------------------------------
# The exact descent equals the single-machine run
# ---------------------------------------------------------------------------


@pytest.fixture(params=["in the graph", "scattered"])
def parameters_travel(request, monkeypatch):
    """Small parameters travel inside the tasks, large ones are scattered: test both."""
    if request.param == "scattered":
        monkeypatch.setattr("fastnn.distributed.trainer.SCATTER_BYTES", 0)
    return request.param


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_full_batch_equals_the_local_run(client, rng, dtype, parameters_travel):
    X, Y = problem(rng, dtype=dtype)
    parts = load_partitions(client, chunked(X, ROWS), chunked(Y, ROWS), dtype=dtype)
    assert parts.m == 157 and len(parts.futures) == len(ROWS)
    weights, biases = initial(rng, (5, 7, 3, 2), dtype)
    ref_weights, ref_biases = copies(weights), copies(biases)
    costs = train(parts, weights, biases, ACTIVATIONS, 12, 0.05, momentum=0.9, l2=0.3)
    ref_costs = reference.train(
        ref_weights, ref_biases, X.T.copy(), Y.T.copy(), ACTIVATIONS, 12, 0.05, momentum=0.9, l2=0.3
    )
    assert_same_run(costs, weights, biases, ref_costs, ref_weights, ref_biases, dtype)
    assert costs[-1] < costs[0]


def test_full_batch_float64_within_1e9_relative(client, rng):
    X, Y = problem(rng)
    parts = load_partitions(client, chunked(X, ROWS), chunked(Y, ROWS))
    weights, biases = initial(rng, (5, 7, 3, 2))
    ref_weights, ref_biases = copies(weights), copies(biases)
    train(parts, weights, biases, ACTIVATIONS, 20, 0.1, fan_in=2)
    reference.train(ref_weights, ref_biases, X.T.copy(), Y.T.copy(), ACTIVATIONS, 20, 0.1)
    for got, expected in zip(weights + biases, ref_weights + ref_biases):
        assert np.max(np.abs(got - expected)) <= 1e-9 * np.max(np.abs(expected))


def test_mini_batches_equal_the_local_run_with_the_same_orders(client, rng):
    X, Y = problem(rng)
    parts = load_partitions(client, chunked(X, ROWS), chunked(Y, ROWS))
    weights, biases = initial(rng, (5, 7, 3, 2))
    ref_weights, ref_biases = copies(weights), copies(biases)
    orders = np.stack([rng.permutation(157) for _ in range(3)])
    costs = train(
        parts,
        weights,
        biases,
        ACTIVATIONS,
        3,
        0.05,
        batch_size=32,
        momentum=0.5,
        l2=0.2,
        orders=orders,
    )
    ref_costs = reference.train(
        ref_weights,
        ref_biases,
        X.T.copy(),
        Y.T.copy(),
        ACTIVATIONS,
        3,
        0.05,
        batch_size=32,
        momentum=0.5,
        l2=0.2,
        orders=orders,
    )
    assert_same_run(costs, weights, biases, ref_costs, ref_weights, ref_biases, np.float64)


def test_numba_kernels_on_the_workers_equal_the_local_run(client, rng):
    X, Y = problem(rng)
    parts = load_partitions(client, chunked(X, ROWS), chunked(Y, ROWS))
    weights, biases = initial(rng, (5, 7, 3, 2))
    ref_weights, ref_biases = copies(weights), copies(biases)
    orders = np.stack([rng.permutation(157) for _ in range(2)])
    costs = train(
        parts,
        weights,
        biases,
        ACTIVATIONS,
        2,
        0.05,
        batch_size=40,
        momentum=0.9,
        l2=0.1,
        orders=orders,
        backend="numba",
    )
    ref_costs = reference.train(
        ref_weights,
        ref_biases,
        X.T.copy(),
        Y.T.copy(),
        ACTIVATIONS,
        2,
        0.05,
        batch_size=40,
        momentum=0.9,
        l2=0.1,
        orders=orders,
    )
    assert_same_run(costs, weights, biases, ref_costs, ref_weights, ref_biases, np.float64)


def test_mini_batches_need_orders(client, rng):
    X, Y = problem(rng)
    parts = load_partitions(client, chunked(X, ROWS), chunked(Y, ROWS))
    weights, biases = initial(rng, (5, 2))
    with pytest.raises(ValueError, match="orders"):
        train(parts, weights, biases, ("linear",), 1, 0.1, batch_size=8)


def test_divergence_stops_as_the_local_run_does(client, rng):
    X, Y = problem(rng)
    X *= 50
    parts = load_partitions(client, chunked(X, ROWS), chunked(Y, ROWS))
    weights, biases = initial(rng, (5, 7, 3, 2))
    ref_weights, ref_biases = copies(weights), copies(biases)
    costs = train(parts, weights, biases, ACTIVATIONS, 30, 5.0)
    ref_costs = reference.train(
        ref_weights, ref_biases, X.T.copy(), Y.T.copy(), ACTIVATIONS, 30, 5.0
    )
    assert np.isnan(ref_costs[-1])  # the problem does diverge
    np.testing.assert_array_equal(np.isfinite(costs), np.isfinite(ref_costs))
    assert_same_run(
        costs[np.isfinite(costs)],
        weights,
        biases,
        ref_costs[np.isfinite(ref_costs)],
        ref_weights,
        ref_biases,
        np.float64,
    )
    assert all(np.isfinite(p).all() for p in weights + biases)


def test_classification_targets_are_encoded_on_the_workers(client, rng):
    X = rng.standard_normal((60, 3))
    labels = np.array(["ant", "bee", "cat"])[rng.integers(0, 3, 60)]
    parts = load_partitions(
        client, chunked(X, (25, 35)), chunked(labels, (25, 35)), classification=True
    )
    assert parts.labels.tolist() == ["ant", "bee", "cat"] and parts.n_outputs == 3
    weights, biases = initial(rng, (3, 4, 3))
    ref_weights, ref_biases = copies(weights), copies(biases)
    one_hot = (labels[None, :] == parts.labels[:, None]).astype(np.float64)
    costs = train(parts, weights, biases, ("tanh", "softmax"), 5, 0.5)
    ref_costs = reference.train(
        ref_weights, ref_biases, X.T.copy(), one_hot, ("tanh", "softmax"), 5, 0.5
    )
    assert_same_run(costs, weights, biases, ref_costs, ref_weights, ref_biases, np.float64)


# ---------------------------------------------------------------------------
# Local epochs with parameter averaging
# ---------------------------------------------------------------------------


def test_averaging_is_the_row_weighted_mean_of_local_runs(client, rng, parameters_travel):
    X, Y = problem(rng, m=90)
    rows = (40, 50)
    parts = load_partitions(client, chunked(X, rows), chunked(Y, rows))
    weights, biases = initial(rng, (5, 4, 2))
    start = copies(weights + biases)
    costs = train(parts, weights, biases, ("tanh", "linear"), 3, 0.1, l2=0.9, local_epochs=3)
    # each partition alone, from the same start, with L2 scaled to keep l2 / (2 m) ||W||^2
    runs = []
    for lo, hi in ((0, 40), (40, 90)):
        w, b = copies(start[:2]), copies(start[2:])
        c = reference.train(
            w,
            b,
            X[lo:hi].T.copy(),
            Y[lo:hi].T.copy(),
            ("tanh", "linear"),
            3,
            0.1,
            l2=0.9 * (hi - lo) / 90,
        )
        runs.append((hi - lo, w + b, c))
    for index, got in enumerate(weights + biases):
        expected = sum(rows_ * params[index] for rows_, params, _ in runs) / 90
        np.testing.assert_allclose(got, expected, **tolerance(np.float64))
    np.testing.assert_allclose(costs, sum(r * c for r, _, c in runs) / 90, **tolerance(np.float64))


def test_averaging_with_one_partition_is_the_exact_run(client, rng):
    X, Y = problem(rng, m=50)
    parts = load_partitions(client, chunked(X, (50,)), chunked(Y, (50,)))
    weights, biases = initial(rng, (5, 4, 2))
    ref_weights, ref_biases = copies(weights), copies(biases)
    costs = train(parts, weights, biases, ("relu", "linear"), 7, 0.1, momentum=0.9, local_epochs=3)
    ref_costs = reference.train(
        ref_weights, ref_biases, X.T.copy(), Y.T.copy(), ("relu", "linear"), 7, 0.1, momentum=0.9
    )
    assert_same_run(costs, weights, biases, ref_costs, ref_weights, ref_biases, np.float64)


def test_averaging_with_mini_batches_is_seeded(client, rng):
    X, Y = problem(rng)
    parts = load_partitions(client, chunked(X, ROWS), chunked(Y, ROWS))
    start = initial(rng, (5, 4, 2))
    runs = []
    for _ in range(2):
        weights, biases = copies(start[0]), copies(start[1])
        costs = train(
            parts,
            weights,
            biases,
            ("tanh", "linear"),
            4,
            0.05,
            batch_size=16,
            local_epochs=2,
            seed=7,
        )
        runs.append((costs, weights + biases))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)
    assert runs[0][0][-1] < runs[0][0][0]


# ---------------------------------------------------------------------------
# Bad input: the errors of a local fit, before training
# ---------------------------------------------------------------------------


def ragged_columns():
    good = da.from_delayed(delayed(np.ones)((5, 3)), shape=(5, 3), dtype=float)
    # declares 3 columns but holds 4: only the partition itself can tell
    bad = da.from_delayed(delayed(np.ones)((5, 4)), shape=(5, 3), dtype=float)
    return da.concatenate([good, bad])


def test_partitions_with_different_columns_are_refused(client):
    y = da.zeros(10, chunks=5)
    with pytest.raises(ValueError, match="different numbers of columns: partition 1 has 4"):
        load_partitions(client, ragged_columns(), y)


def test_nan_in_one_partition_is_refused(client, rng):
    X, Y = problem(rng)
    X[100, 2] = np.nan
    with pytest.raises(ValueError, match=r"Input X contains NaN \(partition 4\)"):
        load_partitions(client, chunked(X, ROWS), chunked(Y, ROWS))
    X[100, 2] = 0.0
    Y[3, 1] = np.inf
    with pytest.raises(ValueError, match="Input y contains infinity"):
        load_partitions(client, chunked(X, ROWS), chunked(Y, ROWS))


def test_labels_outside_the_classes_are_refused(client, rng):
    X = rng.standard_normal((20, 2))
    y = np.array([0, 1] * 9 + [2, 1])
    with pytest.raises(ValueError, match=r"labels not in classes \[0, 1\]: \[2\]"):
        load_partitions(
            client, chunked(X, (10, 10)), chunked(y, (10, 10)), classification=True, classes=[0, 1]
        )
    with pytest.raises(ValueError, match="at least two classes"):
        load_partitions(client, chunked(X, (10, 10)), da.zeros(20, chunks=10), classification=True)


def test_shapes_and_values_are_checked(client, rng):
    X = rng.standard_normal((20, 2))
    with pytest.raises(ValueError, match="different numbers of samples"):
        load_partitions(client, chunked(X, (10, 10)), da.zeros(19, chunks=10))
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        load_partitions(client, da.zeros(20, chunks=10), da.zeros(20, chunks=10))
    words = np.array([["a", "b"]] * 20)
    with pytest.raises(ValueError, match="X must hold numbers"):
        load_partitions(client, chunked(words, (10, 10)), da.zeros(20, chunks=10))
    with pytest.raises(ValueError, match="no features"):
        load_partitions(client, da.zeros((20, 0), chunks=10), da.zeros(20, chunks=10))


# ---------------------------------------------------------------------------
# Ctrl-C and faults
# ---------------------------------------------------------------------------


def test_ctrl_c_keeps_the_last_completed_epoch(client, rng):
    X, Y = problem(rng)
    parts = load_partitions(client, chunked(X, ROWS), chunked(Y, ROWS))
    weights, biases = initial(rng, (5, 4, 2))
    ref_weights, ref_biases = copies(weights), copies(biases)

    def interrupt(epoch, cost):
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted) as caught:
        train(parts, weights, biases, ("tanh", "linear"), 10, 0.1, momentum=0.9, callback=interrupt)
    ref_costs = reference.train(
        ref_weights, ref_biases, X.T.copy(), Y.T.copy(), ("tanh", "linear"), 3, 0.1, momentum=0.9
    )
    assert_same_run(
        caught.value.costs, weights, biases, ref_costs, ref_weights, ref_biases, np.float64
    )


def test_a_killed_worker_is_recovered_and_the_fit_is_exact(client, rng):
    X, Y = problem(rng)
    parts = load_partitions(client, chunked(X, ROWS), chunked(Y, ROWS))
    holders = {
        address for addresses in client.who_has(parts.futures).values() for address in addresses
    }
    victim = sorted(holders)[0]
    pid = client.run(os.getpid, workers=[victim])[victim]
    weights, biases = initial(rng, (5, 7, 3, 2))
    ref_weights, ref_biases = copies(weights), copies(biases)

    def kill(epoch, cost):
        if epoch == 2:
            os.kill(pid, signal.SIGKILL)

    costs = train(parts, weights, biases, ACTIVATIONS, 8, 0.05, momentum=0.9, callback=kill)
    ref_costs = reference.train(
        ref_weights, ref_biases, X.T.copy(), Y.T.copy(), ACTIVATIONS, 8, 0.05, momentum=0.9
    )
    assert_same_run(costs, weights, biases, ref_costs, ref_weights, ref_biases, np.float64)
    assert all(victim not in holders_now for holders_now in client.who_has(parts.futures).values())
    client.wait_for_workers(2, timeout=60)


def test_data_lost_with_its_worker_stops_the_fit_with_a_clear_error(client, rng):
    X, Y = problem(rng, m=80)
    client.wait_for_workers(2, timeout=60)
    victim = sorted(client.scheduler_info()["workers"])[0]
    # data scattered by hand to one worker: Dask has no graph to recompute it from
    blocks = [client.scatter(block, workers=[victim]) for block in (X[:40], X[40:])]
    targets = [client.scatter(block, workers=[victim]) for block in (Y[:40], Y[40:])]
    X_lost = da.concatenate([da.from_delayed(f, (40, 5), float) for f in blocks])
    Y_lost = da.concatenate([da.from_delayed(f, (40, 2), float) for f in targets])
    parts = load_partitions(client, X_lost, Y_lost)
    pid = client.run(os.getpid, workers=[victim])[victim]
    weights, biases = initial(rng, (5, 4, 2))
    ref_weights, ref_biases = copies(weights), copies(biases)

    def kill(epoch, cost):
        if epoch == 1:
            os.kill(pid, signal.SIGKILL)

    with pytest.raises(WorkerLost, match="could not complete") as caught:
        train(parts, weights, biases, ("tanh", "linear"), 10, 0.1, callback=kill)
    done = len(caught.value.costs)
    assert done == 2
    ref_costs = reference.train(
        ref_weights, ref_biases, X.T.copy(), Y.T.copy(), ("tanh", "linear"), done, 0.1
    )
    assert_same_run(
        caught.value.costs, weights, biases, ref_costs, ref_weights, ref_biases, np.float64
    )
    client.wait_for_workers(2, timeout=60)


# ---------------------------------------------------------------------------
# fit(estimator, X, y, client): the local fit's model, an ordinary estimator
# ---------------------------------------------------------------------------


def assert_same_model(got, expected, rtol=1e-9):
    assert set(got.parameters_) == set(expected.parameters_)
    for key, value in expected.parameters_.items():
        scale = np.max(np.abs(value)) or 1.0
        assert np.max(np.abs(got.parameters_[key] - value)) <= rtol * scale, key
        assert got.parameters_[key].dtype == value.dtype
    np.testing.assert_allclose(got.history_, expected.history_, rtol=rtol, atol=0)
    assert got.n_epochs_ == expected.n_epochs_ and got.n_features_in_ == expected.n_features_in_


def flower_labels(rng, m=203):
    X, y = fastnn.datasets.planar(m, seed=4)
    X = X * [3.0, 0.5] + [10.0, -4.0]  # unscaled: the standardisation must match too
    shuffle = rng.permutation(m)  # planar() lists one class, then the other
    return X[shuffle], np.array(["red", "blue"])[y[shuffle]]


def test_fit_classifier_equals_the_local_fit_and_works_without_the_cluster(client, rng, tmp_path):
    X, y = flower_labels(rng)
    params = dict(
        hidden=(5,),
        activation="tanh",
        learning_rate=0.3,
        epochs=6,
        batch_size=50,
        momentum=0.5,
        l2=0.1,
        backend="numpy",
        seed=5,
    )
    local = notes(fastnn.MLPClassifier, **params).fit(X, y)
    model = fastnn_distributed.fit(
        notes(fastnn.MLPClassifier, **params),
        chunked(X, (67, 1, 135)),
        chunked(y, (67, 1, 135)),
        client,
    )
    assert_same_model(model, local)
    assert model.classes_.tolist() == ["blue", "red"]
    # an ordinary estimator: predict, save and load with no cluster involved
    path = tmp_path / "flower.npz"
    fastnn.save(model, path)
    loaded = fastnn.load(path)
    np.testing.assert_array_equal(loaded.predict(X), local.predict(X))
    assert loaded.get_params() == local.get_params()


def test_fit_regressor_multi_output_equals_the_local_fit(client, rng):
    X = rng.standard_normal((120, 3)) * [1.0, 10.0, 100.0] + 7.0
    Y = np.column_stack([X @ [1.0, 0.2, 0.03], np.abs(X[:, 0])]) * 50.0 + 1000.0
    params = dict(
        hidden=(6, 4),
        activation=("relu", "tanh"),
        epochs=20,
        learning_rate=0.02,
        momentum=0.9,
        backend="numpy",
    )
    local = notes(fastnn.MLPRegressor, **params).fit(X, Y)
    model = fastnn_distributed.fit(
        notes(fastnn.MLPRegressor, **params), chunked(X, (31, 89)), chunked(Y, (31, 89)), client
    )
    assert_same_model(model, local)
    assert model.n_outputs_ == 2 and model.predict(X[:3]).shape == (3, 2)


def test_fit_multiclass_warm_start_continues_as_locally(client, rng):
    X, y = fastnn.datasets.blobs(150, centers=3, seed=2)
    params = dict(
        hidden=(4,),
        epochs=4,
        learning_rate=0.2,
        backend="numpy",
        warm_start=True,
        standardize=False,
    )
    local = notes(fastnn.MLPClassifier, **params).fit(X, y).fit(X, y)
    model = notes(fastnn.MLPClassifier, **params)
    for _ in range(2):
        fastnn_distributed.fit(model, chunked(X, (70, 80)), chunked(y, (70, 80)), client)
    assert_same_model(model, local)
    assert len(model.history_) == 8


def test_fit_refuses_what_a_local_fit_refuses_before_training(client, rng):
    X, y = flower_labels(rng, m=40)
    Xd, yd = chunked(X, (20, 20)), chunked(y, (20, 20))
    model = notes(fastnn.MLPClassifier, backend="numpy", learning_rate=-1.0)
    with pytest.raises(ValueError, match="learning_rate"):
        fastnn_distributed.fit(model, Xd, yd, client)
    assert not hasattr(model, "parameters_")
    X_nan = X.copy()
    X_nan[25, 0] = np.nan
    with pytest.raises(ValueError, match=r"Input X contains NaN \(partition 1\)"):
        fastnn_distributed.fit(
            notes(fastnn.MLPClassifier, backend="numpy"), chunked(X_nan, (20, 20)), yd, client
        )
    with pytest.raises(ValueError, match="only 1 class"):
        fastnn_distributed.fit(
            notes(fastnn.MLPClassifier, backend="numpy"),
            Xd,
            da.from_array(np.array(["red"] * 40), chunks=20),
            client,
        )
    with pytest.raises(ValueError, match="different numbers of columns"):
        fastnn_distributed.fit(
            notes(fastnn.MLPRegressor, backend="numpy"),
            ragged_columns(),
            da.zeros(10, chunks=5),
            client,
        )
    # labels the fitted model has not seen: warm start refuses them, as locally
    fitted = notes(fastnn.MLPClassifier, backend="numpy", epochs=1, warm_start=True).fit(X, y)
    before = {key: value.copy() for key, value in fitted.parameters_.items()}
    green = np.where(np.arange(40) == 33, "green", y)
    with pytest.raises(ValueError, match="does not know"):
        fastnn_distributed.fit(fitted, Xd, chunked(green, (20, 20)), client)
    for key, value in before.items():
        np.testing.assert_array_equal(fitted.parameters_[key], value)


def test_fit_interrupted_keeps_the_completed_epochs(client, rng, monkeypatch):
    X, y = flower_labels(rng, m=60)
    params = dict(hidden=(3,), epochs=10, backend="numpy", learning_rate=0.5)

    class InterruptAtThree:
        def update(self, epochs_done, cost):
            if epochs_done == 3:
                raise KeyboardInterrupt

        def close(self):
            pass

    monkeypatch.setattr(
        "fastnn.distributed.estimator.make_progress", lambda *args, **kwargs: InterruptAtThree()
    )
    with pytest.warns(fastnn.TrainingInterruptedWarning, match="after 3 of 10 epochs"):
        model = fastnn_distributed.fit(
            notes(fastnn.MLPClassifier, **params),
            chunked(X, (30, 30)),
            chunked(y, (30, 30)),
            client,
        )
    local = notes(fastnn.MLPClassifier, **dict(params, epochs=3)).fit(X, y)
    assert_same_model(model, local)
    assert model.predict(X).shape == (60,)


def test_fit_stops_on_a_real_ctrl_c_in_the_middle_of_a_step(client, rng, monkeypatch):
    """SIGINT lands while the client waits on the cluster: the epoch in flight is dropped."""
    X, y = flower_labels(rng, m=400)
    params = dict(hidden=(3,), epochs=500, batch_size=8, backend="numpy", learning_rate=0.1)

    class CtrlCSoon:
        def update(self, epochs_done, cost):
            if epochs_done == 1:  # an epoch is 50 round trips: the signal lands inside one
                threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()

        def close(self):
            pass

    monkeypatch.setattr(
        "fastnn.distributed.estimator.make_progress", lambda *args, **kwargs: CtrlCSoon()
    )
    with pytest.warns(fastnn.TrainingInterruptedWarning):
        model = fastnn_distributed.fit(
            notes(fastnn.MLPClassifier, **params),
            chunked(X, (200, 200)),
            chunked(y, (200, 200)),
            client,
        )
    assert 1 <= model.n_epochs_ < 500
    local = notes(fastnn.MLPClassifier, **dict(params, epochs=model.n_epochs_)).fit(X, y)
    assert_same_model(model, local)
    # the client is still usable
    assert client.submit(sum, [1, 2], pure=False).result() == 3


def test_fit_divergence_raises_as_locally(client, rng):
    X = rng.standard_normal((80, 2))
    Y = X @ [[3.0], [-1.0]]
    params = dict(hidden=(8,), epochs=40, learning_rate=3.0, backend="numpy", standardize=False)
    with pytest.raises(fastnn.TrainingDivergedError) as local_error:
        notes(fastnn.MLPRegressor, **params).fit(X * 30, Y)
    model = notes(fastnn.MLPRegressor, **params)
    with pytest.raises(fastnn.TrainingDivergedError) as error:
        fastnn_distributed.fit(model, chunked(X * 30, (40, 40)), chunked(Y, (40, 40)), client)
    assert error.value.epoch == local_error.value.epoch
    assert len(model.history_) == error.value.epoch - 1
    assert all(np.isfinite(value).all() for value in model.parameters_.values())


def test_fit_with_local_epochs_learns(client, rng):
    X, y = flower_labels(rng)
    params = dict(hidden=(6,), activation="tanh", learning_rate=0.5, epochs=60, backend="numpy")
    model = fastnn_distributed.fit(
        notes(fastnn.MLPClassifier, **params),
        chunked(X, (100, 103)),
        chunked(y, (100, 103)),
        client,
        local_epochs=20,
    )
    local = notes(fastnn.MLPClassifier, **params).fit(X, y)
    assert model.n_epochs_ == 60 and np.isfinite(model.history_).all()
    assert model.history_[0] == pytest.approx(local.history_[0])  # the same start
    # not the local fit's path, but one as good on partitions that look alike
    assert model.history_[-1] < local.history_[-1] + 0.05
    assert model.score(X, y) > local.score(X, y) - 0.05


def test_fit_on_a_dask_dataframe_equals_the_local_fit(client, rng):
    """A dask DataFrame of named columns: its rows as partitions, its names as feature names."""
    import dask.dataframe as dd
    import pandas as pd

    X, y = flower_labels(rng)
    frame = pd.DataFrame(X, columns=["x_left", "x_right"])
    params = dict(
        hidden=(5,), activation="tanh", learning_rate=0.3, epochs=6, backend="numpy", seed=5
    )
    local = notes(fastnn.MLPClassifier, **params).fit(frame, y)
    model = fastnn_distributed.fit(
        notes(fastnn.MLPClassifier, **params),
        dd.from_pandas(frame, npartitions=3),
        chunked(y, (68, 68, 67)),
        client,
    )
    assert_same_model(model, local)
    assert list(model.feature_names_in_) == ["x_left", "x_right"]
