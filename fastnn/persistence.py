"""``save(model, path)`` / ``load(path)``: a versioned ``.npz``, no pickle.

The file is a NumPy ``.npz`` (a zip archive, CRC-checked member by member)
holding ``metadata`` (a JSON string: format name and version, the class, its
hyperparameters, the fitted scalars) and one array per fitted array:
``W1``, ``b1``, ..., ``history_``, ``classes_``, ``feature_names_in_``, and for a fit
with a validation set ``validation_history_`` and ``validation_scores_`` (``best_epoch_``
among the fitted scalars).
Loading never runs code: only the members the metadata names are read, by
their ``.npy`` headers, and arrays of Python objects (which need pickle) are
refused. The file is written to a temporary file in the same folder that is then renamed over
``path``, so a crash never leaves half a model behind. The file gets the mode
an ordinary new file gets (from the umask), or keeps the mode of the file it
replaces; errors name ``path``; the temporary files of saves that were killed
are removed by the next save in that folder (see ``_remove_leftovers``).

Everything is checked on load: a truncated, corrupted or foreign file, one
written by a newer format version, or one whose fields disagree (shapes, sizes,
activations, non-finite numbers, repeated classes) raises ValueError naming the
file and saying why. ``save`` refuses what ``load`` would refuse.
"""

import errno
import json
import math
import os
import secrets
import socket
import stat
import time
import zipfile
import zlib

import numpy as np

from kernels.contract import HIDDEN_ACTIVATIONS

from . import estimators, exceptions, initialization
from .initialization import check_parameters

FORMAT = "fastnn-model"
#: The newest format version this fastnn reads. ``save`` writes the oldest version
#: that holds the model (1; 2 only for labels stored as integer text), so that
#: older fastnn versions read what they can.
VERSION = 2
#: Hyperparameters are scalars or tuples/lists of them (``activation``, ``hidden``).
MAX_NESTING = 2
#: The metadata is a few KiB; a bigger one is refused before it is read.
MAX_METADATA_BYTES = 4 << 20
INT64 = np.iinfo(np.int64)
CLASSES = {
    cls.__name__: cls
    for cls in (estimators.MLPClassifier, estimators.MLPRegressor, estimators.LogisticRegression)
}


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
    if isinstance(value, dict):  # class_weight={label: weight}: pairs, keys kept as they are
        return {"dict": [[_encode(k, name), _encode(v, name)] for k, v in value.items()]}
    raise ValueError(
        f"cannot save hyperparameter {name}={value!r}: only None, bool, int, "
        "float, str and tuples/lists/dicts of them are stored"
    )


def _decode(value, depth=0):
    """A stored hyperparameter back as a value: scalars, and tuples/lists/dicts of them
    nested at most ``MAX_NESTING`` deep (what ``_encode`` writes for fastnn's own)."""
    if depth > MAX_NESTING:
        raise ValueError(f"a hyperparameter is nested more than {MAX_NESTING} deep")
    if isinstance(value, dict):
        if set(value) == {"dict"} and isinstance(value["dict"], list):
            pairs = [_decode(pair, depth + 1) for pair in value["dict"]]
            if not all(isinstance(pair, list) and len(pair) == 2 for pair in pairs):
                raise ValueError("a stored dict hyperparameter is not a list of pairs")
            try:
                return {key: item for key, item in pairs}
            except TypeError:  # a key that cannot be a dict key (a list)
                raise ValueError("a stored dict hyperparameter has an unusable key") from None
        if set(value) != {"tuple"} or not isinstance(value["tuple"], list):
            raise ValueError(f"a hyperparameter is an unknown object {sorted(value)!r}")
        return tuple(_decode(item, depth + 1) for item in value["tuple"])
    if isinstance(value, list):
        return [_decode(item, depth + 1) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(f"a hyperparameter has an unknown value {value!r}")


# ---------------------------------------------------------------------------
# Class labels: numbers and strings, without pickle
# ---------------------------------------------------------------------------


def _encode_labels(classes):
    """``(array, kind)``: an array NumPy stores without pickle, and how to restore it.

    Python integers beyond int64 (e.g. 24-digit identifiers) are stored as their
    decimal text (kind ``"integer_text"``, format version 2).
    """
    classes = np.asarray(classes)
    if classes.dtype.kind in "biufU":
        return classes, "array"
    if classes.dtype.kind == "O":
        values = classes.tolist()
        if all(isinstance(v, str) for v in values):
            return np.array(values, dtype=str), "object"
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
            if all(INT64.min <= v <= INT64.max for v in values):
                return np.array(values, dtype=np.int64), "object"
            return np.array([str(int(v)) for v in values], dtype=str), "integer_text"
        if all(isinstance(v, (float, int, np.number)) for v in values):
            return np.array(values, dtype=np.float64), "object"
    raise ValueError(
        f"cannot save classes_ of dtype {classes.dtype} (labels must be numbers or strings)"
    )


def _decode_labels(array, kind):
    if kind == "integer_text":
        if array.dtype.kind != "U":
            raise ValueError("classes_ stored as integer text are not text")
        values = array.tolist()
        if not all(v.lstrip("-").isdigit() and v.isascii() for v in values):
            raise ValueError("classes_ stored as integer text hold something else")
        restored = np.empty(len(values), dtype=object)
        restored[:] = [int(v) for v in values]
        return restored
    if kind == "object":
        restored = np.empty(len(array), dtype=object)
        restored[:] = array.tolist()
        return restored
    if kind == "array":
        return array
    raise ValueError(f"unknown classes_kind {kind!r}")


# ---------------------------------------------------------------------------
# save
# ---------------------------------------------------------------------------


def save(model, path):
    """Write a fitted fastnn estimator to ``path`` (a ``.npz`` file), atomically."""
    name = type(model).__name__
    if CLASSES.get(name) is not type(model):
        raise TypeError(f"save expects a fastnn estimator ({', '.join(CLASSES)}), got {name}")
    if not model.__sklearn_is_fitted__():
        raise exceptions.NotFittedError(
            f"This {name} instance is not fitted yet: fit it before saving"
        )
    layer_sizes = tuple(int(n) for n in model._layer_sizes)
    W1 = np.asarray(model.parameters_.get("W1"))
    dtype = W1.dtype if W1.dtype.name in ("float32", "float64") else np.dtype(np.float64)
    try:
        model._config()  # what load checks, refused here rather than in a file that won't load
    except (TypeError, ValueError) as error:
        raise ValueError(f"cannot save this {name}: {error}") from None
    weights, biases = check_parameters(model.parameters_, layer_sizes, dtype)
    if not np.isfinite(np.asarray(model.history_, dtype=np.float64)).all():
        raise ValueError(f"cannot save this {name}: its history_ holds NaN or infinity")
    names = getattr(model, "feature_names_in_", None)
    if names is not None and len(names) != layer_sizes[0]:
        raise ValueError(
            f"cannot save this {name}: feature_names_in_ has {len(names)} names "
            f"for {layer_sizes[0]} features"
        )
    arrays = {}
    for layer, (W, b) in enumerate(zip(weights, biases), start=1):
        arrays[f"W{layer}"], arrays[f"b{layer}"] = W, b
    arrays["history_"] = np.asarray(model.history_, dtype=np.float64)
    fitted = {
        "n_features_in_": int(model.n_features_in_),
        "n_epochs_": int(model.n_epochs_),
        "layer_sizes": list(layer_sizes),
        "activations": list(model._activations),
        "dtype": dtype.name,
    }
    if hasattr(model, "classes_"):
        arrays["classes_"], fitted["classes_kind"] = _encode_labels(model.classes_)
    if hasattr(model, "n_outputs_"):
        fitted["n_outputs_"] = int(model.n_outputs_)
        fitted["one_dimensional_targets"] = bool(model._one_dimensional_targets)
    if hasattr(model, "feature_names_in_"):
        arrays["feature_names_in_"] = np.asarray(model.feature_names_in_, dtype=str)
    record, best = _validation_record(model, name)
    arrays.update(record)
    if best is not None:
        fitted["best_epoch_"] = best
    params = {key: _encode(value, key) for key, value in model.get_params(deep=False).items()}
    version = 2 if fitted.get("classes_kind") == "integer_text" else 1
    metadata = {
        "format": FORMAT,
        "version": version,
        "class": name,
        "params": params,
        "fitted": fitted,
    }
    arrays["metadata"] = np.array(json.dumps(metadata))

    path = os.fspath(path)
    try:
        _write_atomically(path, arrays)
    except OSError as error:
        raise _naming(error, path) from None


def _validation_record(model, name):
    """``({"validation_history_": ..., "validation_scores_": ...}, best_epoch_)``: one float
    per epoch each (NaN for an epoch trained without a validation set), and the best epoch or
    None; ``({}, None)`` when no fit had a validation set. What ``load`` would refuse is
    refused here."""
    keys = ("validation_history_", "validation_scores_")
    record = {key: getattr(model, key, None) for key in keys}
    best = getattr(model, "best_epoch_", None)
    n_epochs = int(model.n_epochs_)
    if all(value is None for value in record.values()):
        if best is not None:
            raise ValueError(f"cannot save this {name}: it has a best_epoch_ but no {keys[0]}")
        return {}, None
    arrays = {}
    for key, value in record.items():
        value = None if value is None else np.asarray(value)
        if value is None or value.shape != (n_epochs,) or value.dtype.kind != "f":
            raise ValueError(
                f"cannot save this {name}: its {key} is not one float per epoch ({n_epochs})"
            )
        arrays[key] = value.astype(np.float64)
    if best is not None and not 1 <= int(best) <= n_epochs:
        raise ValueError(f"cannot save this {name}: its best_epoch_ {best!r} is not an epoch")
    return arrays, None if best is None else int(best)


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
    if os.name != "posix":  # os.kill(pid, 0) would terminate it on Windows: age alone decides
        return False
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
        fields = name[len(TEMPORARY_PREFIX) : -len(TEMPORARY_SUFFIX)].rsplit("-", 2)
        dead = (
            len(fields) == 3
            and fields[0] == host
            and fields[1].isdigit()
            and _process_gone(int(fields[1]))
        )
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
    flags = (
        os.O_WRONLY
        | os.O_CREAT
        | os.O_EXCL
        | getattr(os, "O_CLOEXEC", 0)
        | getattr(os, "O_NOFOLLOW", 0)
    )
    while True:
        temporary = os.path.join(
            folder,
            f"{TEMPORARY_PREFIX}{_host_tag()}-{os.getpid()}-"
            f"{secrets.token_hex(6)}{TEMPORARY_SUFFIX}",
        )
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
            except (OSError, AttributeError):  # not a member of that group (or no chown)
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


class _Refused(ValueError):
    """A check of the file's contents failed (the message says which)."""


def load(path):
    """Read a model written by ``save``.

    Only the archive members the metadata names are read, each after its size
    and its ``.npy`` header (shape, dtype) are checked against the metadata, so
    a file cannot make ``load`` decompress or allocate more than the model it
    describes. Every field is checked (hyperparameters, activations, shapes,
    finite parameters and history, class list, feature names). A missing or
    unreadable file raises the OSError of opening it (it names ``path``);
    anything wrong with its contents raises ValueError naming ``path``.
    """
    path = os.fspath(path)
    try:
        archive = zipfile.ZipFile(path)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except zipfile.BadZipFile:
        raise _refuse(
            path,
            "it is a single .npy array, not a .npz archive"
            if _starts_with_npy_magic(path)
            else "it is not a .npz archive, or it is truncated or corrupted",
        ) from None
    except (OSError, EOFError, ValueError) as error:
        raise _refuse(path, f"it could not be read as a .npz archive ({error})") from None
    try:
        with archive:
            return _read_model(archive, os.path.getsize(path))
    except _Refused as error:
        raise _refuse(path, str(error)) from None
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:
        raise _refuse(
            path, f"it is truncated or corrupted ({type(error).__name__}: {error})"
        ) from None
    except (
        KeyError,
        TypeError,
        ValueError,
        AttributeError,
        OverflowError,
        MemoryError,
        RecursionError,
    ) as error:
        raise _refuse(
            path, f"its contents are inconsistent ({type(error).__name__}: {error})"
        ) from None


def _starts_with_npy_magic(path):
    try:
        with open(path, "rb") as file:
            return file.read(6) == b"\x93NUMPY"
    except OSError:
        return False


def _read_member(archive, name, shape, kinds, file_size, itemsize=None, max_bytes=None):
    """The array ``name`` of ``archive``, refused unless its shape is ``shape`` (None:
    any 0-D) and its dtype's kind is in ``kinds`` (and of ``itemsize`` if given).

    The zip entry's sizes and the ``.npy`` header are checked before any data is
    decompressed: the entry must be exactly header plus data, and physically
    possible (stored: no larger than the file; deflated: at most deflate's
    1032:1 expansion).
    """
    try:
        info = archive.getinfo(f"{name}.npy")
    except KeyError:
        raise _Refused(f"it has no {name}") from None
    if max_bytes is not None and info.file_size > max_bytes:
        raise _Refused(f"its {name} is {info.file_size} bytes (at most {max_bytes} expected)")
    if info.compress_size > file_size or (
        info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size
    ):
        raise _Refused(f"the archive entry of {name} claims more bytes than the file holds")
    if (
        info.compress_type != zipfile.ZIP_STORED
        and info.file_size > 1100 * info.compress_size + 1024
    ):
        raise _Refused(f"the archive entry of {name} claims an impossible size")
    with archive.open(info) as stream:
        try:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                found, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
            elif version == (2, 0):
                found, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
            else:
                raise ValueError(f"unsupported .npy version {version}")
        except ValueError as error:
            raise _Refused(f"its {name} has no valid .npy header ({error})") from None
        if dtype.hasobject:
            raise _Refused(f"its {name} holds Python objects (it would need pickle)")
        if (
            dtype.kind not in kinds
            or (itemsize is not None and dtype.itemsize != itemsize)
            or dtype.itemsize == 0
            or dtype.subdtype is not None
        ):
            raise _Refused(f"its {name} has dtype {dtype}")
        if (shape is not None and tuple(found) != tuple(shape)) or (shape is None and found):
            raise _Refused(
                f"its {name} has shape {tuple(found)}, the metadata says {tuple(shape or ())}"
            )
        n_bytes = math.prod(found) * dtype.itemsize
        if info.file_size != stream.tell() + n_bytes:
            raise _Refused(
                f"the archive entry of {name} is {info.file_size} bytes, not the "
                f"{stream.tell() + n_bytes} of its header and data"
            )
        data = bytearray(n_bytes)
        view, done = memoryview(data), 0
        while done < n_bytes:
            read = stream.readinto(view[done:])
            if not read:
                raise _Refused(f"its {name} is truncated")
            done += read
        if stream.read(1):  # also makes zipfile check the CRC, at the end of the entry
            raise _Refused(f"its {name} is longer than its header says")
    array = np.frombuffer(data, dtype=dtype).reshape(found, order="F" if fortran else "C")
    return array.astype(dtype.newbyteorder("="), copy=False)


def _field(fitted, key, kind, check=lambda value: True):
    if key not in fitted:
        raise _Refused(f"its metadata has no fitted {key}")
    value = fitted[key]
    if kind is int and isinstance(value, bool) or not isinstance(value, kind) or not check(value):
        raise _Refused(f"its metadata's {key} is invalid ({value!r})")
    return value


def _read_metadata(archive, file_size):
    if "metadata.npy" not in archive.namelist():
        raise _Refused("it has no fastnn metadata")
    text = _read_member(archive, "metadata", None, "U", file_size, max_bytes=MAX_METADATA_BYTES)
    try:
        metadata = json.loads(str(text[()]))
    except (ValueError, RecursionError) as error:
        raise _Refused(f"its metadata is not JSON ({type(error).__name__}: {error})") from None
    found = metadata.get("format") if isinstance(metadata, dict) else None
    if found != FORMAT:
        raise _Refused(f"its format is {found!r}, not {FORMAT!r}")
    version = metadata.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _Refused(f"unknown format version {version!r}")
    if version > VERSION:
        raise _Refused(
            f"format version {version} is newer than this fastnn reads ({VERSION}): upgrade fastnn"
        )
    for key, kind in (("class", str), ("params", dict), ("fitted", dict)):
        if not isinstance(metadata.get(key), kind):
            raise _Refused(f"its metadata's {key} is missing or not a {kind.__name__}")
    return metadata


def _read_model(archive, file_size):
    metadata = _read_metadata(archive, file_size)
    cls = CLASSES.get(metadata["class"])
    if cls is None:
        raise _Refused(f"its class {metadata['class']!r} is not one of {sorted(CLASSES)}")
    try:
        model = cls(**{key: _decode(value) for key, value in metadata["params"].items()})
        model._config()  # every hyperparameter checked, as fit checks them
    except (TypeError, ValueError) as error:
        raise _Refused(f"its hyperparameters are invalid ({error})") from None
    fitted = metadata["fitted"]
    layer_sizes = tuple(
        _field(
            fitted,
            "layer_sizes",
            list,
            lambda v: (
                len(v) >= 2
                and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in v)
            ),
        )
    )
    n_layers = len(layer_sizes) - 1
    dtype = np.dtype(_field(fitted, "dtype", str, lambda v: v in ("float32", "float64")))
    n_epochs = _field(fitted, "n_epochs_", int, lambda v: v >= 0)
    _field(fitted, "n_features_in_", int, lambda v: v == layer_sizes[0])
    activations = tuple(
        _field(
            fitted,
            "activations",
            list,
            lambda v: len(v) == n_layers and all(isinstance(a, str) for a in v),
        )
    )
    unknown = [a for a in activations[:-1] if a not in HIDDEN_ACTIVATIONS]
    if unknown:
        raise _Refused(
            f"unknown hidden activation {unknown[0]!r} (known: {list(HIDDEN_ACTIVATIONS)})"
        )
    classifier = hasattr(model, "predict_proba")
    output = ("sigmoid" if layer_sizes[-1] == 1 else "softmax") if classifier else "linear"
    if activations[-1] != output:
        raise _Refused(
            f"the output activation is {activations[-1]!r}; a {cls.__name__} with "
            f"{layer_sizes[-1]} output(s) has {output!r}"
        )

    parameters = {}
    for layer in range(1, n_layers + 1):
        rows, columns = layer_sizes[layer], layer_sizes[layer - 1]
        for key, shape in ((f"W{layer}", (rows, columns)), (f"b{layer}", (rows, 1))):
            parameters[key] = _read_member(archive, key, shape, "f", file_size, dtype.itemsize)
    try:
        weights, biases = check_parameters(parameters, layer_sizes, dtype, name="parameters")
    except (TypeError, ValueError) as error:
        raise _Refused(str(error)) from None
    history = _read_member(archive, "history_", (n_epochs,), "f", file_size, 8)
    if not np.isfinite(history).all():
        raise _Refused("its history_ holds NaN or infinity")

    model.parameters_ = initialization.parameters_dict(weights, biases)
    model.history_ = history
    model.n_epochs_ = n_epochs
    model.n_features_in_ = layer_sizes[0]
    model._layer_sizes = layer_sizes
    model._activations = activations
    if classifier:
        kind = _field(fitted, "classes_kind", str)
        n_classes = 2 if layer_sizes[-1] == 1 else layer_sizes[-1]
        stored = _read_member(archive, "classes_", (n_classes,), "biufU", file_size)
        classes = _decode_labels(stored, kind)
        if stored.dtype.kind == "f" and not np.isfinite(stored).all():
            raise _Refused("its classes_ hold NaN or infinity")
        if len(set(classes.tolist())) != n_classes:
            raise _Refused(f"its classes_ are not distinct ({classes.tolist()!r})")
        model.classes_ = classes
    else:
        model.n_outputs_ = _field(fitted, "n_outputs_", int, lambda v: v == layer_sizes[-1])
        model._one_dimensional_targets = _field(
            fitted, "one_dimensional_targets", bool, lambda v: not v or layer_sizes[-1] == 1
        )
    if "feature_names_in_.npy" in archive.namelist():
        names = _read_member(archive, "feature_names_in_", (layer_sizes[0],), "U", file_size)
        model.feature_names_in_ = np.array(names.tolist(), dtype=object)
    model.validation_history_ = model.validation_scores_ = model.best_epoch_ = None
    if "validation_history_.npy" in archive.namelist():  # NaN: an epoch without validation
        for key in ("validation_history_", "validation_scores_"):
            setattr(model, key, _read_member(archive, key, (n_epochs,), "f", file_size, 8))
    if "best_epoch_" in fitted:
        if model.validation_history_ is None:
            raise _Refused("it has a best_epoch_ but no validation_history_")
        model.best_epoch_ = _field(fitted, "best_epoch_", int, lambda v: 1 <= v <= n_epochs)
    return model
