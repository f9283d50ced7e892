"""Row partitions of a training set, persisted on the Dask workers.

``load_partitions`` turns ``X`` (rows are examples) and ``y`` into one
``Partition(X (n_x, m_p), Y (n_out, m_p))`` per row block, computed and kept
on the workers; only small summaries (shape, finiteness, labels) come back to
the client, which checks them before any training starts. The partitions are
computed from the user's graph, and the scheduler keeps that lineage: a
partition lost with its worker is recomputed from the source on another one.
"""

import math

import numpy as np
from dask import delayed
import dask.array as da
from distributed import wait

from . import worker


class RowPartitions:
    """Handles on the persisted partitions, in row order, with their sizes.

    ``futures[p]`` holds partition ``p`` (rows ``offsets[p]:offsets[p + 1]`` of
    the training set); empty blocks are left out.
    """

    def __init__(self, client, futures, rows, n_features, n_outputs, dtype, labels=None):
        self.client = client
        self.futures = list(futures)
        self.rows = np.asarray(rows, dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.rows)])
        self.n_features = int(n_features)
        self.n_outputs = int(n_outputs)
        self.dtype = np.dtype(dtype)
        self.labels = labels

    @property
    def m(self):
        """Examples in the training set."""
        return int(self.offsets[-1])

    def release(self):
        """Let the workers drop the partitions."""
        self.futures = []

    def __repr__(self):
        return (f"RowPartitions(m={self.m}, partitions={len(self.futures)}, "
                f"n_features={self.n_features}, n_outputs={self.n_outputs}, dtype={self.dtype})")


# ---------------------------------------------------------------------------
# Targets: how y becomes Y (n_out, m) on the workers (picklable callables)
# ---------------------------------------------------------------------------


class NumericTargets:
    """Targets used as given: ``y (m,)`` or ``(m, k)`` -> ``Y (k, m)`` in ``dtype``."""

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)

    def __call__(self, y):
        y = np.asarray(y, dtype=self.dtype)
        return np.ascontiguousarray(y.reshape(y.shape[0], -1).T)


class LabelTargets:
    """Class labels -> ``Y``: one row ``y == classes[1]`` for two classes (sigmoid
    output), one-hot rows in the order of ``classes`` for more (softmax)."""

    def __init__(self, classes, dtype):
        self.classes = np.asarray(classes)
        self.dtype = np.dtype(dtype)

    @property
    def n_outputs(self):
        return 1 if len(self.classes) == 2 else len(self.classes)

    def __call__(self, y):
        y = np.asarray(y).ravel()
        if len(self.classes) == 2:
            return (y == self.classes[1]).astype(self.dtype)[None, :]
        index = np.searchsorted(self.classes, y)
        Y = np.zeros((len(self.classes), y.shape[0]), dtype=self.dtype)
        Y[index, np.arange(y.shape[0])] = 1
        return Y


# ---------------------------------------------------------------------------
# From the user's arrays to checked, persisted partitions
# ---------------------------------------------------------------------------


def as_dask_array(data, name, chunk_rows=None):
    """A dask array of ``data``: a dask array as is, a dask DataFrame/Series through
    ``to_dask_array(lengths=True)``, anything array-like cut into ``chunk_rows`` rows."""
    if isinstance(data, da.Array):
        return data
    if hasattr(data, "to_dask_array"):
        return data.to_dask_array(lengths=True)
    try:
        array = np.asarray(data)
    except Exception as error:  # noqa: BLE001 -- whatever the object, say which argument
        raise TypeError(f"{name} must be a dask array or array-like, got {type(data).__name__}") \
            from error
    if array.ndim == 0:
        raise ValueError(f"{name} must be an array, got a scalar")
    rows = max(1, array.shape[0])
    return da.from_array(array, chunks=(chunk_rows or rows,) + array.shape[1:])


def row_blocks(X, y):
    """Pairs of delayed row blocks of ``X`` and ``y`` that cover the same rows."""
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got {X.ndim} dimension(s)")
    if y.ndim not in (1, 2):
        raise ValueError(f"y must be 1-D or 2-D (n_samples[, n_outputs]), got {y.ndim} dimensions")
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    if y.ndim == 2 and y.numblocks[1] > 1:
        y = y.rechunk({1: -1})
    known = not (any(math.isnan(c) for c in X.chunks[0]) or any(math.isnan(c) for c in y.chunks[0]))
    if known:
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"X and y have different numbers of samples: "
                             f"{X.shape[0]} and {y.shape[0]}")
        if y.chunks[0] != X.chunks[0]:
            y = y.rechunk({0: X.chunks[0]})
    elif X.numblocks[0] != y.numblocks[0]:
        raise ValueError(f"X and y must be partitioned alike: {X.numblocks[0]} row blocks "
                         f"in X, {y.numblocks[0]} in y")
    return list(X.to_delayed().ravel()), list(y.to_delayed().ravel())


def load_blocks(client, X, y, dtype, classification):
    """Compute and keep each row block on the workers; return its futures and summaries."""
    x_blocks, y_blocks = row_blocks(X, y)
    load = delayed(worker.load_block, pure=True)
    futures = client.compute([load(xb, yb, np.dtype(dtype).name)
                              for xb, yb in zip(x_blocks, y_blocks)])
    summaries = client.gather([client.submit(worker.summarize, f, classification, pure=False)
                               for f in futures])
    return futures, summaries


def check_summaries(summaries, classification, classes=None):
    """Raise the errors of a local fit, naming the partition, before any training.

    Returns ``(n_features, labels)``: the number of columns of ``X`` and, for a
    classifier, the sorted labels found in ``y`` (``classes`` when given, after
    checking that every label of ``y`` is among them).
    """
    n_features = None
    for p, s in enumerate(summaries):
        if s.x_error:
            raise ValueError(f"X must be a 2-D array of numbers; partition {p} holds {s.x_error}")
        if n_features is None:
            n_features = s.columns
        elif s.columns != n_features:
            raise ValueError(f"X's partitions have different numbers of columns: partition {p} "
                             f"has {s.columns}, partition 0 has {n_features}")
        if not s.x_finite:
            raise ValueError(f"X contains NaN or infinity (partition {p})")
        if s.y_error:
            raise ValueError(f"y must hold numbers or labels; partition {p} holds {s.y_error}")
        if s.y_rows != s.rows:
            raise ValueError(f"X and y have different numbers of samples in partition {p}: "
                             f"{s.rows} and {s.y_rows}")
        if not s.y_finite:
            raise ValueError(f"y contains NaN or infinity (partition {p})")
    if sum(s.rows for s in summaries) == 0:
        raise ValueError("X has no samples: at least one row is required")
    if n_features == 0:
        raise ValueError("X has no features: at least one column is required")
    y_columns = {s.y_columns for s in summaries}
    if len(y_columns) > 1:
        raise ValueError(f"y's partitions have different numbers of columns: {sorted(y_columns)}")
    if not classification:
        return n_features, None
    found = np.unique(np.concatenate([s.labels for s in summaries if len(s.labels)]))
    if classes is not None:
        classes = np.asarray(classes)
        unseen = np.setdiff1d(found, classes)
        if len(unseen):
            raise ValueError(f"y contains labels not in classes {classes.tolist()}: "
                             f"{unseen.tolist()}")
        return n_features, classes
    if len(found) < 2:
        raise ValueError(f"y must hold at least two classes, got {found.tolist()}")
    return n_features, found


def load_partitions(client, X, y, dtype="float64", classes=None, classification=False):
    """Checked ``RowPartitions`` of ``X``/``y`` on ``client``'s workers.

    ``classification``: ``y`` holds labels, encoded by ``LabelTargets`` (sorted
    labels found in ``y``, or ``classes`` when given); otherwise ``y`` holds
    numbers, used as given (``NumericTargets``). Raises ValueError before any
    training for columns that differ between partitions, NaN/inf, too few
    samples or classes, labels outside ``classes``.
    """
    chunk_rows = None
    if not isinstance(X, da.Array) and not hasattr(X, "to_dask_array"):
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        chunk_rows = max(1, math.ceil(len(X) / (2 * workers)))
    X = as_dask_array(X, "X", chunk_rows)
    y = as_dask_array(y, "y", X.chunks[0][0] if chunk_rows else None)
    futures, summaries = load_blocks(client, X, y, dtype, classification)
    n_features, labels = check_summaries(summaries, classification, classes)
    if classification:
        targets = LabelTargets(labels, dtype)
        n_outputs = targets.n_outputs
    else:
        targets = NumericTargets(dtype)
        n_outputs = summaries[0].y_columns
    kept = [(f, s.rows) for f, s in zip(futures, summaries) if s.rows > 0]
    parts = [client.submit(worker.finish_partition, f, targets, pure=False) for f, _ in kept]
    wait(parts)
    for p, part in enumerate(parts):
        if part.status == "error":
            part.result()  # raises the worker's exception here, where it can be read
    return RowPartitions(client, parts, [rows for _, rows in kept], n_features, n_outputs, dtype,
                         labels)
