"""The distributed fit refuses what the local fit refuses, with the local messages.

Issue 12, point 6: integer labels in some partitions and '0'/'1' strings in another
trained silently wrong (the local fit refuses mixed label kinds), and a complex
partition lost its imaginary part (the local fit refuses complex data).
Each partition here is built by its own task, so partitions may differ in dtype,
as those of a dask DataFrame's object column or of arrays from several files do.
"""

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
from dask import delayed  # noqa: E402

import fastnn  # noqa: E402
from fastnn.distributed import load_partitions  # noqa: E402

from conftest import notes  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _block(values):
    return values


def from_blocks(blocks, dtype):
    """A dask array of row blocks that keep their own dtypes (declared ``dtype``)."""
    parts = [
        da.from_delayed(delayed(_block)(block), shape=block.shape, dtype=dtype) for block in blocks
    ]
    return da.concatenate(parts)


def _local_error(fit, X, y):
    with pytest.raises(ValueError) as caught:
        fit(X, y)
    return str(caught.value)


RNG = np.random.default_rng(6)
X = RNG.standard_normal((40, 3))
INTS = np.array([0, 1] * 10)
STRINGS = np.array(["0", "1"] * 10)


def test_integer_and_string_labels_across_partitions_are_refused(client):
    y = from_blocks([INTS.astype(object), STRINGS.astype(object)], object)
    local = _local_error(
        notes(fastnn.MLPClassifier, hidden=(3,), epochs=2, backend="numpy").fit,
        X,
        np.concatenate([INTS.astype(object), STRINGS.astype(object)]),
    )
    assert "mixes strings and other values" in local
    model = notes(fastnn.MLPClassifier, hidden=(3,), epochs=2, backend="numpy")
    with pytest.raises(ValueError) as caught:
        fastnn.distributed.fit(model, da.from_array(X, chunks=20), y, client)
    assert str(caught.value) == local
    assert not hasattr(model, "parameters_")


def test_partitions_of_integer_and_string_dtypes_are_refused(client):
    # the blocks' own dtypes (int64 and <U1), not objects: numpy would turn both into text
    y = from_blocks([INTS, STRINGS], object)
    with pytest.raises(ValueError, match="mixes strings and other values"):
        fastnn.distributed.fit(
            notes(fastnn.LogisticRegression, epochs=2, backend="numpy"),
            da.from_array(X, chunks=20),
            y,
            client,
        )
    with pytest.raises(ValueError, match="mixes strings and other values"):
        load_partitions(client, da.from_array(X, chunks=20), y, classification=True)


def test_labels_of_one_kind_across_partitions_still_train(client):
    y = from_blocks([STRINGS, STRINGS[::-1]], STRINGS.dtype)
    model = fastnn.distributed.fit(
        notes(fastnn.LogisticRegression, epochs=2, backend="numpy"),
        da.from_array(X, chunks=20),
        y,
        client,
    )
    assert model.classes_.tolist() == ["0", "1"]


def test_a_complex_partition_of_X_is_refused(client):
    Xc = from_blocks([X[:20], X[20:] + 1j], np.float64)
    local = _local_error(
        notes(fastnn.MLPRegressor, hidden=(3,), epochs=2, backend="numpy").fit, X + 1j, X[:, 0]
    )
    assert local.startswith("Complex data not supported")
    for model, y in (
        (notes(fastnn.MLPRegressor, hidden=(3,), epochs=2, backend="numpy"), X[:, 0]),
        (notes(fastnn.MLPClassifier, hidden=(3,), epochs=2, backend="numpy"), np.tile(INTS, 2)),
    ):
        with pytest.raises(ValueError, match=r"Complex data not supported: X .*\(partition 1\)"):
            fastnn.distributed.fit(model, Xc, da.from_array(y, chunks=20), client)


def test_a_complex_partition_of_y_is_refused(client):
    targets = from_blocks([X[:20, 0], X[20:, 0] + 1j], np.float64)
    with pytest.raises(ValueError, match=r"Complex data not supported: y .*\(partition 1\)"):
        fastnn.distributed.fit(
            notes(fastnn.MLPRegressor, hidden=(3,), epochs=2, backend="numpy"),
            da.from_array(X, chunks=20),
            targets,
            client,
        )
    labels = from_blocks([INTS, INTS.astype(complex)], np.int64)
    with pytest.raises(ValueError, match="Complex data not supported: y"):
        fastnn.distributed.fit(
            notes(fastnn.MLPClassifier, hidden=(3,), epochs=2, backend="numpy"),
            da.from_array(X, chunks=20),
            labels,
            client,
        )


def test_continuous_labels_in_one_partition_are_refused(client):
    y = from_blocks([INTS.astype(float), INTS + 0.5], np.float64)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        fastnn.distributed.fit(
            notes(fastnn.MLPClassifier, hidden=(3,), epochs=2, backend="numpy"),
            da.from_array(X, chunks=20),
            y,
            client,
        )


@pytest.mark.parametrize("unit", [1e-13, 1e-170, 1e153, 1e300])
def test_moments_across_partitions_are_the_local_fits_at_any_magnitude(client, unit):
    """The partitions' moments are combined overflow-safe, as the local fit computes them."""
    Xs = X * unit
    Xs[:, 2] = 5.0  # constant: scale 1 in both
    local = notes(fastnn.LogisticRegression, epochs=3, backend="numpy").fit(Xs, np.tile(INTS, 2))
    model = fastnn.distributed.fit(
        notes(fastnn.LogisticRegression, epochs=3, backend="numpy"),
        da.from_array(Xs, chunks=(13, 3)),
        da.from_array(np.tile(INTS, 2), chunks=13),
        client,
    )
    for key, value in local.parameters_.items():
        assert np.isfinite(model.parameters_[key]).all()
        np.testing.assert_allclose(
            model.parameters_[key], value, rtol=1e-9, atol=1e-12 * abs(value).max()
        )


def test_float32_model_refuses_partitions_beyond_float32(client):
    big = X.copy()
    big[30, 1] = 1e39
    with pytest.raises(ValueError, match=r"X has values .*float32"):
        fastnn.distributed.fit(
            notes(fastnn.LogisticRegression, epochs=2, dtype="float32", backend="numpy"),
            da.from_array(big, chunks=20),
            da.from_array(np.tile(INTS, 2), chunks=20),
            client,
        )
    with pytest.raises(ValueError, match=r"y has values .*float32"):
        fastnn.distributed.fit(
            notes(fastnn.MLPRegressor, hidden=(), epochs=2, dtype="float32", backend="numpy"),
            da.from_array(X, chunks=20),
            da.from_array(big[:, 1], chunks=20),
            client,
        )
