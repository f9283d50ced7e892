"""save/load: a versioned .npz read without pickle, written atomically; bad files refused."""

import json
import os
import zipfile

import numpy as np
import pytest

import fastnn
from fastnn import persistence

X, Y = fastnn.datasets.blobs(m=60, n_features=3, centers=3, seed=8)


def _models():
    labels = np.array(["cat", "dog", "eel"])[Y]
    object_labels = np.array([10, 20, 30], dtype=object)[Y]
    return {
        "classifier strings": (
            fastnn.MLPClassifier(
                hidden=(5, 4), activation=("tanh", "relu"), epochs=7, seed=3, backend="numpy"
            ),
            labels,
        ),
        "classifier object ints": (
            fastnn.MLPClassifier(hidden=(3,), epochs=4, dtype="float32", backend="numpy"),
            object_labels,
        ),
        "binary bool labels": (
            fastnn.MLPClassifier(hidden=(3,), epochs=4, backend="numpy"),
            Y == 1,
        ),
        "logistic regression": (fastnn.LogisticRegression(epochs=5, l2=0.1, backend="numpy"), Y),
        "regressor 1-D": (
            fastnn.MLPRegressor(hidden=[4], epochs=5, solver="sgd", momentum=0.5, backend="numpy"),
            X[:, 0] * 3,
        ),
        "regressor 2-D": (
            fastnn.MLPRegressor(hidden=(), epochs=5, backend="numpy", batch_size=8),
            X[:, :2] + 1,
        ),
    }


MODELS = _models()


@pytest.mark.parametrize("case", list(MODELS))
def test_round_trip_is_bit_identical(case, tmp_path):
    model, y = MODELS[case]
    model.fit(X, y)
    path = tmp_path / "model.npz"
    fastnn.save(model, path)
    loaded = fastnn.load(path)
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    assert repr(loaded) == repr(model)
    for key, value in model.parameters_.items():
        assert loaded.parameters_[key].dtype == value.dtype
        np.testing.assert_array_equal(loaded.parameters_[key], value)
    np.testing.assert_array_equal(loaded.history_, model.history_)
    assert loaded.n_epochs_ == model.n_epochs_ and loaded.n_features_in_ == 3
    methods = ["predict"] + (
        ["predict_proba", "decision_function"] if hasattr(model, "classes_") else []
    )
    for method in methods:
        expected, actual = getattr(model, method)(X), getattr(loaded, method)(X)
        assert actual.dtype == expected.dtype and actual.shape == expected.shape
        np.testing.assert_array_equal(actual, expected)
    if hasattr(model, "classes_"):
        assert loaded.classes_.dtype == model.classes_.dtype
        assert loaded.classes_.tolist() == model.classes_.tolist()
    assert loaded.score(X, y) == model.score(X, y)


def test_loaded_model_can_warm_start(tmp_path):
    model = fastnn.MLPClassifier(hidden=(4,), epochs=3, backend="numpy", warm_start=True).fit(X, Y)
    fastnn.save(model, tmp_path / "m.npz")
    loaded = fastnn.load(tmp_path / "m.npz").fit(X, Y)
    assert loaded.n_epochs_ == 6


def test_file_is_npz_with_json_metadata_and_no_pickle(tmp_path):
    model = fastnn.MLPClassifier(hidden=(4,), epochs=3, backend="numpy").fit(X, Y)
    path = tmp_path / "m.npz"
    fastnn.save(model, str(path))
    with np.load(path, allow_pickle=False) as archive:
        assert {"metadata", "W1", "b1", "W2", "b2", "history_", "classes_"} <= set(archive.files)
        assert all(archive[key].dtype != object for key in archive.files)
        metadata = json.loads(str(archive["metadata"]))
    assert metadata["format"] == "fastnn-model"
    assert metadata["version"] == 1  # the oldest version that holds it: older fastnn read it
    assert metadata["class"] == "MLPClassifier"
    assert metadata["params"]["hidden"] == {"tuple": [4]}


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    model = fastnn.MLPClassifier(hidden=(4,), epochs=3, backend="numpy").fit(X, Y)
    path = tmp_path / "m.npz"
    fastnn.save(model, path)
    before = path.read_bytes()

    def fail(file, **arrays):
        file.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(persistence.np, "savez", fail)
    with pytest.raises(OSError, match="disk full"):
        fastnn.save(model.set_params(epochs=4), path)
    assert path.read_bytes() == before  # the old file is untouched
    assert os.listdir(tmp_path) == ["m.npz"]  # the temporary file was removed


def test_save_refuses_unfitted_and_foreign_objects(tmp_path):
    with pytest.raises(fastnn.NotFittedError):
        fastnn.save(fastnn.MLPRegressor(), tmp_path / "m.npz")
    with pytest.raises(TypeError, match="fastnn estimator"):
        fastnn.save(object(), tmp_path / "m.npz")
    assert not os.listdir(tmp_path)


@pytest.fixture
def saved(tmp_path):
    model = fastnn.MLPClassifier(hidden=(8,), epochs=3, backend="numpy").fit(X, Y)
    path = tmp_path / "model.npz"
    fastnn.save(model, path)
    return path


def test_truncated_file_is_refused(saved):
    data = saved.read_bytes()
    for size in (0, 10, len(data) // 2, len(data) - 30):
        saved.write_bytes(data[:size])
        with pytest.raises(ValueError, match="not a valid fastnn model file"):
            fastnn.load(saved)


def test_corrupted_bytes_are_refused(saved):
    data = bytearray(saved.read_bytes())
    with zipfile.ZipFile(saved) as archive:
        info = archive.getinfo("W1.npy")
    # flip bytes inside W1's data: the zip CRC no longer matches
    offset = info.header_offset + 30 + len(info.filename) + info.extra.__len__() + 200
    data[offset : offset + 8] = bytes(b ^ 0xFF for b in data[offset : offset + 8])
    saved.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="not a valid fastnn model file"):
        fastnn.load(saved)


def test_foreign_files_are_refused(tmp_path):
    npz = tmp_path / "other.npz"
    np.savez(npz, weights=np.ones(3))
    with pytest.raises(ValueError, match="no fastnn metadata"):
        fastnn.load(npz)
    npy = tmp_path / "array.npy"
    np.save(npy, np.ones(3))
    with pytest.raises(ValueError, match="not a .npz archive"):
        fastnn.load(npy)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a valid fastnn model file"):
        fastnn.load(text)
    pickled = tmp_path / "object.npz"
    np.savez(pickled, metadata=np.array([{"format": "fastnn-model"}], dtype=object))
    with pytest.raises(ValueError, match="not a valid fastnn model file"):
        fastnn.load(pickled)  # object arrays need pickle: refused, never unpickled
    with pytest.raises(FileNotFoundError):
        fastnn.load(tmp_path / "missing.npz")


def _rewrite(path, change):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    metadata = json.loads(str(arrays["metadata"]))
    change(arrays, metadata)
    arrays["metadata"] = np.array(json.dumps(metadata))
    np.savez(path, **arrays)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a, m: m.update(format="something-else"), "format"),
        (lambda a, m: m.update(version=persistence.VERSION + 1), "newer"),
        (lambda a, m: m.update({"class": "Pipeline"}), "class 'Pipeline'"),
        (lambda a, m: a.update(W1=np.zeros((8, 2))), "W1 has shape"),
        (lambda a, m: a.pop("b2"), "no b2"),
        (lambda a, m: a.update(history_=np.zeros(2)), "history_ has shape"),
        (lambda a, m: a.update(classes_=np.arange(7)), "classes_ has shape"),
        (lambda a, m: m["params"].update(unknown=1), "hyperparameters are invalid"),
    ],
    ids=[
        "format",
        "version",
        "class",
        "W1 shape",
        "missing b2",
        "history",
        "classes",
        "unknown param",
    ],
)
def test_inconsistent_contents_are_refused(saved, change, message):
    _rewrite(saved, change)
    with pytest.raises(ValueError, match=message):  # (the folder's name holds the test's)
        fastnn.load(saved)


def test_metadata_that_is_not_json_is_refused(saved):
    with np.load(saved, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays["metadata"] = np.array("{not json")
    np.savez(saved, **arrays)
    with pytest.raises(ValueError, match="not JSON"):
        fastnn.load(saved)


# ---------------------------------------------------------------------------
# Saving as an ordinary file: mode, errors, leftovers (issue 12, point 2)
# ---------------------------------------------------------------------------


@pytest.fixture
def fitted():
    return fastnn.MLPClassifier(hidden=(4,), epochs=2, backend="numpy").fit(X, Y)


@pytest.fixture
def umask():
    """Set the process umask for one test, and put the old one back."""
    previous = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(previous)


def _mode(path):
    return os.stat(path).st_mode & 0o777


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_new_file_mode_comes_from_the_umask(fitted, tmp_path, umask, mask, mode):
    umask(mask)
    fastnn.save(fitted, tmp_path / "m.npz")
    assert _mode(tmp_path / "m.npz") == mode


def test_existing_file_keeps_its_mode(fitted, tmp_path, umask):
    path = tmp_path / "m.npz"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    umask(0o077)
    fastnn.save(fitted, path)
    assert _mode(path) == 0o640
    assert fastnn.load(path).n_features_in_ == X.shape[1]


def test_save_errors_name_the_users_path(fitted, tmp_path):
    missing = tmp_path / "no such folder" / "m.npz"
    with pytest.raises(FileNotFoundError) as caught:
        fastnn.save(fitted, missing)
    assert caught.value.filename == str(missing) and ".fastnn-" not in str(caught.value)
    folder = tmp_path / "a folder"
    folder.mkdir()
    with pytest.raises(IsADirectoryError) as caught:
        fastnn.save(fitted, folder)
    assert caught.value.filename == str(folder) and ".fastnn-" not in str(caught.value)
    assert os.listdir(folder) == [] and sorted(os.listdir(tmp_path)) == ["a folder"]


def test_write_errors_name_the_users_path(fitted, tmp_path, monkeypatch):
    import errno

    def full(file, **arrays):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(persistence.np, "savez", full)
    with pytest.raises(OSError, match="No space left on device") as caught:
        fastnn.save(fitted, tmp_path / "m.npz")
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.filename == str(tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


def _dead_pid():
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_leftovers_of_dead_saves_are_removed_by_the_next_save(fitted, tmp_path):
    host = persistence._host_tag()
    dead = tmp_path / f".fastnn-{host}-{_dead_pid()}-0badc0de.tmp"
    alive = tmp_path / f".fastnn-{host}-{os.getpid()}-feedf00d.tmp"  # a save in progress
    other_host = tmp_path / ".fastnn-elsewhere-12345-00000001.tmp"  # pid means nothing here
    old_style = tmp_path / ".fastnn-k1q_oqbq.tmp"  # mkstemp's name, from earlier versions
    unrelated = tmp_path / ".fastnn-notes.txt"
    for leftover in (dead, alive, other_host, old_style, unrelated):
        leftover.write_bytes(b"x" * 100)
    stale = os.stat(old_style).st_mtime - 2 * persistence.STALE_SECONDS
    os.utime(old_style, (stale, stale))
    fastnn.save(fitted, tmp_path / "m.npz")
    left = set(os.listdir(tmp_path))
    assert dead.name not in left and old_style.name not in left  # removed
    assert {alive.name, other_host.name, unrelated.name, "m.npz"} == left  # kept
    os.utime(other_host, (stale, stale))
    fastnn.save(fitted, tmp_path / "m.npz")
    assert other_host.name not in set(os.listdir(tmp_path))  # untouched for too long


def test_a_save_killed_half_way_leaves_nothing_after_the_next_save(fitted, tmp_path):
    """kill -9 in the middle of writing, then a save in the same folder: no leftover."""
    import signal
    import subprocess
    import sys
    import time

    fastnn.save(fitted, tmp_path / "m.npz")
    script = (
        "import sys, time, fastnn\n"
        "from fastnn import persistence\n"
        "def slow(file, **arrays):\n"
        "    file.write(b'x' * 4096); file.flush(); print('writing', flush=True); time.sleep(60)\n"
        "persistence.np.savez = slow\n"
        "fastnn.save(fastnn.load(sys.argv[1]), sys.argv[1])\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "m.npz")],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.path.dirname(os.path.dirname(fastnn.__file__)),
    )
    try:
        assert child.stdout.readline().strip() == "writing"
        assert any(name.endswith(".tmp") for name in os.listdir(tmp_path))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    time.sleep(0.01)
    fastnn.save(fitted, tmp_path / "m.npz")
    assert os.listdir(tmp_path) == ["m.npz"]


# ---------------------------------------------------------------------------
# load reads only what the metadata names, and checks every field (issue 12, point 7)
# ---------------------------------------------------------------------------


def _refused(path, message="not a valid fastnn model file"):
    """load refuses ``path`` with a ValueError naming it and saying ``message`` (a regex,
    searched in the rest of the message: the folder's name holds the test's)."""
    import re

    with pytest.raises(ValueError) as caught:
        fastnn.load(path)
    text = str(caught.value)
    assert text.startswith(f"{path} is not a valid fastnn model file: ")
    assert re.search(message, text[len(str(path)) :]), text
    return caught.value


def test_unknown_members_are_never_decompressed(saved):
    import tracemalloc

    with zipfile.ZipFile(saved, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("junk.npy", "w", force_zip64=True) as member:
            for _ in range(64):
                member.write(bytes(1 << 20))  # 64 MiB of zeros: a few hundred KiB deflated
    assert saved.stat().st_size < 2 << 20
    tracemalloc.start()
    try:
        model = fastnn.load(saved)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert model.n_features_in_ == X.shape[1]
    assert peak < 8 << 20


def _replace_member(path, name, data):
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    members[name] = data
    with zipfile.ZipFile(path, "w") as archive:
        for member, content in members.items():
            archive.writestr(member, content)


def _npy_header(shape, dtype="<f8"):
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": dtype, "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue()


def test_a_header_claiming_a_huge_array_is_refused_before_allocating(saved):
    _replace_member(saved, "W1.npy", _npy_header((10**6, 10**6)) + bytes(64))
    _refused(saved, "W1")


def test_a_member_whose_zip_size_disagrees_with_the_metadata_is_refused(saved):
    with np.load(saved) as archive:
        W1 = archive["W1"]
    longer = _npy_header(W1.shape) + W1.tobytes() + bytes(800)
    _replace_member(saved, "W1.npy", longer)
    _refused(saved, "W1")


def test_metadata_claiming_huge_layers_is_refused_without_memory_error(saved):
    _rewrite(
        saved, lambda a, m: m["fitted"].update(layer_sizes=[10**7, 10**7, 3], n_features_in_=10**7)
    )
    _refused(saved)


def test_deeply_nested_metadata_is_a_value_error(saved):
    _replace_member(
        saved,
        "metadata.npy",
        _npy_header((), "<U200000") + ("[" * 100000 + "]" * 100000).encode("utf-32-le"),
    )
    _refused(saved, "JSON")


def test_deeply_nested_hyperparameters_are_refused(saved):
    nested = {"tuple": [4]}
    for _ in range(50):
        nested = {"tuple": [nested]}
    _rewrite(saved, lambda a, m: m["params"].update(hidden=nested))
    _refused(saved)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a, m: m["fitted"].update(activations=["bogus", "softmax"]), "activation"),
        (lambda a, m: m["fitted"].update(activations=["relu", "linear"]), "activation"),
        (lambda a, m: a["W2"].__setitem__((0, 0), np.nan), "NaN"),
        (lambda a, m: a["b1"].__setitem__((0, 0), np.inf), "infinity"),
        (lambda a, m: a.update(history_=np.full(3, np.nan)), "history_"),
        (lambda a, m: a.update(feature_names_in_=np.array(["a", "b"])), "feature_names_in_"),
        (lambda a, m: a.update(classes_=np.array([0, 0, 2])), "classes_"),
        (lambda a, m: m["params"].update(backend="bogus"), "backend"),
        (lambda a, m: m["params"].update(learning_rate=-1.0), "learning_rate"),
        (lambda a, m: m["fitted"].update(dtype="float16"), "dtype"),
        (lambda a, m: m["fitted"].update(n_epochs_="three"), "n_epochs_"),
        (lambda a, m: m.update(fitted=[]), "fitted"),
    ],
    ids=[
        "unknown activation",
        "wrong output activation",
        "NaN weight",
        "inf bias",
        "NaN history",
        "feature names length",
        "duplicate classes",
        "backend",
        "learning rate",
        "dtype",
        "n_epochs_ type",
        "fitted type",
    ],
)
def test_every_field_is_checked_at_load(saved, change, message):
    _rewrite(saved, change)
    _refused(saved, message)


def test_feature_names_are_loaded_when_their_number_fits(saved):
    names = np.array(["a", "b", "c"])
    _rewrite(saved, lambda a, m: a.update(feature_names_in_=names))
    assert fastnn.load(saved).feature_names_in_.tolist() == ["a", "b", "c"]


def test_labels_beyond_int64_save_and_load(tmp_path):
    labels = np.array([10**23, 2 * 10**23, 3 * 10**23], dtype=object)[Y]
    model = fastnn.MLPClassifier(hidden=(4,), epochs=3, backend="numpy").fit(X, labels)
    fastnn.save(model, tmp_path / "m.npz")
    loaded = fastnn.load(tmp_path / "m.npz")
    assert loaded.classes_.tolist() == [10**23, 2 * 10**23, 3 * 10**23]
    assert loaded.predict(X).tolist() == model.predict(X).tolist()


def test_save_refuses_what_load_would_refuse(fitted, tmp_path):
    path = tmp_path / "m.npz"
    fitted.parameters_["W1"][0, 0] = np.nan
    with pytest.raises(ValueError, match=r"parameters_\['W1'\] contains NaN"):
        fastnn.save(fitted, path)
    fitted.parameters_["W1"][0, 0] = 0.0
    fitted.set_params(learning_rate=-1.0)
    with pytest.raises(ValueError, match="cannot save this MLPClassifier: learning_rate"):
        fastnn.save(fitted, path)
    fitted.set_params(learning_rate=0.1)
    fitted.feature_names_in_ = np.array(["a"], dtype=object)
    with pytest.raises(ValueError, match="feature_names_in_ has 1 names for 3 features"):
        fastnn.save(fitted, path)
    assert os.listdir(tmp_path) == []


# --- the validation record of a fit with early stopping --------------------------------------


def _early_stopped(model_class=fastnn.MLPClassifier, y=Y):
    model = model_class(
        hidden=(4,), epochs=40, early_stopping=True, n_iter_no_change=3, backend="numpy", seed=1
    )
    return model.fit(X, y)


@pytest.mark.parametrize(
    "model_class, y", [(fastnn.MLPClassifier, Y), (fastnn.MLPRegressor, X[:, 0])]
)
def test_the_validation_record_survives_a_round_trip(model_class, y, tmp_path):
    model = _early_stopped(model_class, y)
    assert model.best_epoch_ is not None
    fastnn.save(model, tmp_path / "m.npz")
    loaded = fastnn.load(tmp_path / "m.npz")
    for key in ("validation_history_", "validation_scores_"):
        assert getattr(loaded, key).dtype == np.float64
        np.testing.assert_array_equal(getattr(loaded, key), getattr(model, key))
    assert loaded.best_epoch_ == model.best_epoch_


def test_a_fit_without_validation_loads_with_no_record(saved):
    loaded = fastnn.load(saved)
    assert loaded.validation_history_ is None and loaded.validation_scores_ is None
    assert loaded.best_epoch_ is None


def test_a_record_with_epochs_without_validation_keeps_their_nan(tmp_path):
    model = _early_stopped().set_params(early_stopping=False, warm_start=True, epochs=2)
    model.fit(X, Y)  # two more epochs, no validation set
    assert model.best_epoch_ is None and np.isnan(model.validation_history_[-2:]).all()
    fastnn.save(model, tmp_path / "m.npz")
    loaded = fastnn.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.validation_history_, model.validation_history_)
    assert loaded.best_epoch_ is None


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a, m: a.update(validation_history_=np.zeros(2)), "validation_history_ has shape"),
        (lambda a, m: a.pop("validation_scores_"), "no validation_scores_"),
        (lambda a, m: m["fitted"].update(best_epoch_=0), "best_epoch_ is invalid"),
        (lambda a, m: m["fitted"].update(best_epoch_=10**6), "best_epoch_ is invalid"),
        (lambda a, m: m["fitted"].update(best_epoch_="3"), "best_epoch_ is invalid"),
    ],
    ids=["history shape", "missing scores", "best 0", "best beyond", "best text"],
)
def test_an_inconsistent_validation_record_is_refused(tmp_path, change, message):
    path = tmp_path / "m.npz"
    fastnn.save(_early_stopped(), path)
    _rewrite(path, change)
    with pytest.raises(ValueError, match=message):
        fastnn.load(path)


def test_a_best_epoch_without_a_record_is_refused(saved):
    _rewrite(saved, lambda a, m: m["fitted"].update(best_epoch_=1))
    with pytest.raises(ValueError, match="best_epoch_ but no validation_history_"):
        fastnn.load(saved)


def test_save_refuses_a_validation_record_of_the_wrong_length(tmp_path):
    model = _early_stopped()
    model.validation_history_ = model.validation_history_[:-1]
    with pytest.raises(ValueError, match="validation_history_ is not one float per epoch"):
        fastnn.save(model, tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


def test_save_refuses_a_best_epoch_without_a_record(fitted, tmp_path):
    fitted.best_epoch_ = 1
    with pytest.raises(ValueError, match="best_epoch_ but no validation_history_"):
        fastnn.save(fitted, tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()
