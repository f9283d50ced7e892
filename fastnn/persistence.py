"""``save(model, path)`` / ``load(path)``: a versioned ``.npz``, no pickle.

The file is a NumPy ``.npz`` (a zip archive, CRC-checked member by member)
holding ``metadata`` (a JSON string: format name and version, the class, its
hyperparameters, the fitted scalars) and one array per fitted array:
``W1``, ``b1``, ..., ``history_``, ``classes_``, ``feature_names_in_``.
It is read with ``allow_pickle=False``, so loading never runs code, and
written to a temporary file in the same folder that is then renamed over
``path``, so a crash never leaves half a model behind. The file gets the mode
an ordinary new file gets (from the umask), or keeps the mode of the file it
replaces; errors name ``path``; the temporary files of saves that were killed
are removed by the next save in that folder (see ``_remove_leftovers``).

Everything is checked on load: a truncated, corrupted or foreign file, or one
written by a newer format version, raises ValueError saying so.
"""

import errno
import json
import os
import secrets
import socket
import stat
import time
import zipfile

import numpy as np

from . import estimators, exceptions
from .initialization import check_parameters

FORMAT = "fastnn-model"
VERSION = 1
CLASSES = {cls.__name__: cls for cls in (estimators.MLPClassifier, estimators.MLPRegressor,
                                         estimators.LogisticRegression)}


# ---------------------------------------------------------------------------
# Hyperparameters <-> JSON (tuples kept as tuples, NumPy scalars as Python numbers)
# ---------------------------------------------------------------------------


def _encode(value, name):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, (tuple, list)):
        items = [_encode(item, name) for item in value]
        return {"tuple": items} if isinstance(value, tuple) else items
    raise ValueError(f"cannot save hyperparameter {name}={value!r}: only None, bool, int, "
                     "float, str and tuples/lists of them are stored")


def _decode(value):
    if isinstance(value, dict):
        return tuple(_decode(item) for item in value["tuple"])
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


# ---------------------------------------------------------------------------
# Class labels: numbers and strings, without pickle
# ---------------------------------------------------------------------------


def _encode_labels(classes):
    """``(array, kind)``: an array NumPy stores without pickle, and how to restore it."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "biufU":
        return classes, "array"
    if classes.dtype.kind == "O":
        values = classes.tolist()
        if all(isinstance(v, str) for v in values):
            return np.array(values, dtype=str), "object"
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
            return np.array(values, dtype=np.int64), "object"
        if all(isinstance(v, (float, int, np.number)) for v in values):
            return np.array(values, dtype=np.float64), "object"
    raise ValueError(f"cannot save classes_ of dtype {classes.dtype} (labels must be numbers "
                     "or strings)")


def _decode_labels(array, kind):
    if kind == "object":
        restored = np.empty(len(array), dtype=object)
        restored[:] = array.tolist()
        return restored
    return array


# ---------------------------------------------------------------------------
# save
# ---------------------------------------------------------------------------


def save(model, path):
    """Write a fitted fastnn estimator to ``path`` (a ``.npz`` file), atomically."""
    name = type(model).__name__
    if CLASSES.get(name) is not type(model):
        raise TypeError(f"save expects a fastnn estimator ({', '.join(CLASSES)}), got {name}")
    if not model.__sklearn_is_fitted__():
        raise exceptions.NotFittedError(f"This {name} instance is not fitted yet: fit it "
                                        "before saving")
    layer_sizes = tuple(int(n) for n in model._layer_sizes)
    W1 = np.asarray(model.parameters_.get("W1"))
    dtype = W1.dtype if W1.dtype.name in ("float32", "float64") else np.dtype(np.float64)
    weights, biases = check_parameters(model.parameters_, layer_sizes, dtype, check_finite=False)
    arrays = {}
    for layer, (W, b) in enumerate(zip(weights, biases), start=1):
        arrays[f"W{layer}"], arrays[f"b{layer}"] = W, b
    arrays["history_"] = np.asarray(model.history_, dtype=np.float64)
    fitted = {"n_features_in_": int(model.n_features_in_), "n_epochs_": int(model.n_epochs_),
              "layer_sizes": list(layer_sizes), "activations": list(model._activations),
              "dtype": dtype.name}
    if hasattr(model, "classes_"):
        arrays["classes_"], fitted["classes_kind"] = _encode_labels(model.classes_)
    if hasattr(model, "n_outputs_"):
        fitted["n_outputs_"] = int(model.n_outputs_)
        fitted["one_dimensional_targets"] = bool(model._one_dimensional_targets)
    if hasattr(model, "feature_names_in_"):
        arrays["feature_names_in_"] = np.asarray(model.feature_names_in_, dtype=str)
    params = {key: _encode(value, key) for key, value in model.get_params(deep=False).items()}
    metadata = {"format": FORMAT, "version": VERSION, "class": name, "params": params,
                "fitted": fitted}
    arrays["metadata"] = np.array(json.dumps(metadata))

    path = os.fspath(path)
    try:
        _write_atomically(path, arrays)
    except OSError as error:
        raise _naming(error, path) from None


# ---------------------------------------------------------------------------
# Writing a file atomically, as an ordinary file would be written
# ---------------------------------------------------------------------------

#: Temporary files are ``.fastnn-<host>-<pid>-<token>.tmp`` beside the target.
TEMPORARY_PREFIX, TEMPORARY_SUFFIX = ".fastnn-", ".tmp"
#: A temporary file untouched this long (seconds) is a leftover whoever wrote it: a
#: save in progress writes continuously, and its owner's pid cannot be checked from
#: another machine sharing the folder (NFS).
STALE_SECONDS = 3600


def _host_tag():
    """This machine's name, made safe for a file name (no '-': it separates the fields)."""
    name = socket.gethostname() or "localhost"
    return "".join(c if c.isalnum() or c in "._" else "_" for c in name)[:64]


def _naming(error, path):
    """``error`` (an OSError that may name the temporary file) naming ``path`` instead,
    of the same class (FileNotFoundError, PermissionError, ...)."""
    if error.errno is None:
        return OSError(f"could not save the model to {path}: {error}")
    return OSError(error.errno, error.strerror, path)


def _process_gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError):  # another user's process: alive
        return False
    return False


def _remove_leftovers(folder, now=None):
    """Remove temporary files of saves that died (killed, out of power) in ``folder``.

    A temporary file of this machine whose process is gone is removed at once;
    any temporary file (another machine's, an older naming) is removed once it
    has not been modified for ``STALE_SECONDS``. Files of saves in progress
    (their process alive, their file written to) are left alone.
    """
    now = time.time() if now is None else now
    host = _host_tag()
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if not (name.startswith(TEMPORARY_PREFIX) and name.endswith(TEMPORARY_SUFFIX)):
            continue
        candidate = os.path.join(folder, name)
        try:
            info = os.lstat(candidate)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode):
            continue
        fields = name[len(TEMPORARY_PREFIX):-len(TEMPORARY_SUFFIX)].rsplit("-", 2)
        dead = (len(fields) == 3 and fields[0] == host and fields[1].isdigit()
                and _process_gone(int(fields[1])))
        if dead or now - info.st_mtime > STALE_SECONDS:
            try:
                os.unlink(candidate)
            except OSError:  # removed by another save meanwhile, or not ours to remove
                pass


def _write_atomically(path, arrays):
    """``np.savez(arrays)`` to a temporary file beside ``path``, renamed over it.

    The temporary file is created with mode 0o666, so the kernel applies the
    umask (and a folder's default ACL) as for any new file; an existing file's
    mode (and group, where allowed) is copied to it before the rename.
    """
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    folder = os.path.dirname(os.path.abspath(path))
    _remove_leftovers(folder)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) \
        | getattr(os, "O_NOFOLLOW", 0)
    while True:
        temporary = os.path.join(folder, f"{TEMPORARY_PREFIX}{_host_tag()}-{os.getpid()}-"
                                         f"{secrets.token_hex(6)}{TEMPORARY_SUFFIX}")
        try:
            handle = os.open(temporary, flags, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())
        try:
            existing = os.stat(path)
        except FileNotFoundError:
            existing = None
        if existing is not None:
            os.chmod(temporary, stat.S_IMODE(existing.st_mode))
            try:
                os.chown(temporary, -1, existing.st_gid)
            except OSError:  # not a member of that group: the folder's group stays
                pass
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


# ---------------------------------------------------------------------------
# load
# ---------------------------------------------------------------------------


def _refuse(path, why):
    return ValueError(f"{path} is not a valid fastnn model file: {why}")


def load(path):
    """Read a model written by ``save``; ValueError for a corrupt or foreign file."""
    path = os.fspath(path)
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise _refuse(path, "it is a single .npy array, not a .npz archive")
        with loaded as archive:
            contents = {key: archive[key] for key in archive.files}
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except ValueError as error:
        if "not a valid fastnn model file" in str(error):
            raise
        raise _refuse(path, f"it could not be read as a .npz archive ({error})") from None
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as error:
        raise _refuse(path, f"it is truncated or corrupted ({type(error).__name__}: {error})"
                      ) from None
    return _build(path, contents)


def _build(path, contents):
    try:
        metadata = json.loads(str(contents["metadata"][()]))
    except KeyError:
        raise _refuse(path, "it has no fastnn metadata") from None
    except (ValueError, TypeError, IndexError) as error:
        raise _refuse(path, f"its metadata is not JSON ({error})") from None
    found = metadata.get("format") if isinstance(metadata, dict) else None
    if found != FORMAT:
        raise _refuse(path, f"its format is {found!r}, not {FORMAT!r}")
    version = metadata.get("version")
    if not isinstance(version, int) or version < 1:
        raise _refuse(path, f"unknown format version {version!r}")
    if version > VERSION:
        raise _refuse(path, f"format version {version} is newer than this fastnn reads "
                      f"({VERSION}): upgrade fastnn")
    try:
        cls = CLASSES[metadata["class"]]
        model = cls(**{key: _decode(value) for key, value in metadata["params"].items()})
        fitted = metadata["fitted"]
        layer_sizes = tuple(int(n) for n in fitted["layer_sizes"])
        dtype = np.dtype(fitted["dtype"])
        n_layers = len(layer_sizes) - 1
        parameters = {}
        for layer in range(1, n_layers + 1):
            parameters[f"W{layer}"] = contents[f"W{layer}"]
            parameters[f"b{layer}"] = contents[f"b{layer}"]
        weights, biases = check_parameters(parameters, layer_sizes, dtype, name="parameters",
                                           check_finite=False)
        if any(W.dtype != contents[f"W{i}"].dtype for i, W in enumerate(weights, start=1)):
            raise ValueError("the stored parameters are not of the stored dtype")
        history = np.asarray(contents["history_"], dtype=np.float64)
        activations = tuple(str(a) for a in fitted["activations"])
        if len(activations) != n_layers:
            raise ValueError(f"{len(activations)} activations for {n_layers} layers")
        if history.ndim != 1 or len(history) != int(fitted["n_epochs_"]):
            raise ValueError("history_ does not match n_epochs_")
        if int(fitted["n_features_in_"]) != layer_sizes[0]:
            raise ValueError("n_features_in_ does not match the first layer")
        model.parameters_ = {key: value for layer, (W, b) in enumerate(zip(weights, biases), 1)
                             for key, value in ((f"W{layer}", W), (f"b{layer}", b))}
        model.history_ = history
        model.n_epochs_ = int(fitted["n_epochs_"])
        model.n_features_in_ = layer_sizes[0]
        model._layer_sizes = layer_sizes
        model._activations = activations
        if "classes_kind" in fitted:
            classes = _decode_labels(contents["classes_"], fitted["classes_kind"])
            expected = 1 if len(classes) == 2 else len(classes)
            if classes.ndim != 1 or len(classes) < 2 or expected != layer_sizes[-1]:
                raise ValueError("classes_ does not match the output layer")
            model.classes_ = classes
        if "n_outputs_" in fitted:
            if int(fitted["n_outputs_"]) != layer_sizes[-1]:
                raise ValueError("n_outputs_ does not match the output layer")
            model.n_outputs_ = int(fitted["n_outputs_"])
            model._one_dimensional_targets = bool(fitted["one_dimensional_targets"])
        if "feature_names_in_" in contents:
            names = contents["feature_names_in_"]
            model.feature_names_in_ = np.array(names.tolist(), dtype=object)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise _refuse(path, f"its contents are inconsistent ({type(error).__name__}: {error})"
                      ) from None
    return model
