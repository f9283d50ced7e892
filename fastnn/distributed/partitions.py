"""Row partitions of a training set, persisted on the Dask workers.

Two passes over the user's row blocks, each a task per block on the workers:

1. ``summarize_blocks``: each pair of blocks (``X`` rows, ``y`` rows) sends back
   a small ``Summary`` — its shape, NaN/inf, labels, column moments. The client
   checks them (``check_summaries``) and raises the errors of a local fit,
   naming the partition, before anything is trained.
2. ``persist_partitions``: each block becomes ``Partition(X (n_x, m_p), Y (n_out, m_p))``
   in the training dtype (standardised if asked), computed and kept on the
   workers; only handles come back.

The partitions are computed straight from the user's graph, so the scheduler
keeps that lineage: a partition lost with its worker is recomputed from the
source on another one. (The price is that the source is read twice.)
"""

import math

import dask.array as da
import numpy as np
from dask import delayed
from distributed import wait

from ..scaling import power_of_two_factor
from ..validation import check_label_kinds
from . import worker
from .encoding import LabelTargets, NumericTargets, TransposedInputs


class RowPartitions:
    """Handles on the persisted partitions, in row order, with their sizes.

    ``futures[p]`` holds partition ``p`` (rows ``offsets[p]:offsets[p + 1]`` of
    the training set); empty blocks are left out.
    """

    def __init__(self, client, futures, rows, n_features, n_outputs, dtype, labels=None):
        self.client = client
        self.futures = list(futures)
        self.rows = np.asarray(rows, dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.rows)]).astype(np.int64)
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
        return (
            f"RowPartitions(m={self.m}, partitions={len(self.futures)}, "
            f"n_features={self.n_features}, n_outputs={self.n_outputs}, dtype={self.dtype})"
        )


class Blocks:
    """The user's data as pairs of delayed row blocks, with their summaries."""

    def __init__(self, x_blocks, y_blocks, summaries):
        self.x_blocks, self.y_blocks, self.summaries = x_blocks, y_blocks, summaries

    @property
    def y_ndim(self):
        return self.summaries[0].y_ndim

    @property
    def y_columns(self):
        return self.summaries[0].y_columns


# ---------------------------------------------------------------------------
# From the user's arrays to blocks
# ---------------------------------------------------------------------------


def as_dask_array(data, name, chunk_rows=None):
    """A dask array of ``data``: a dask array as is, a dask DataFrame/Series through
    ``to_dask_array(lengths=True)``, anything array-like cut into ``chunk_rows`` rows."""
    if isinstance(data, da.Array):
        return data
    if hasattr(data, "to_dask_array"):
        return data.to_dask_array(lengths=True)
    if data is None:
        raise ValueError(f"{name} is None: expected a dask array or an array-like")
    array = np.asarray(data)
    if array.ndim == 0:
        raise ValueError(f"{name} must be an array, got a scalar")
    rows = max(1, array.shape[0])
    return da.from_array(array, chunks=(chunk_rows or rows,) + array.shape[1:])


def as_dask_arrays(client, X, y):
    """``X`` and ``y`` as dask arrays; in-memory arrays are cut in two blocks per worker."""
    chunk_rows = None
    if not isinstance(X, da.Array) and not hasattr(X, "to_dask_array") and X is not None:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        chunk_rows = max(1, math.ceil(len(X) / (2 * workers)))
    X = as_dask_array(X, "X", chunk_rows)
    y = as_dask_array(y, "y", X.chunks[0][0] if chunk_rows else None)
    return X, y


def row_blocks(X, y):
    """Lists of delayed row blocks of ``X`` and ``y`` that cover the same rows."""
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array (n_samples, n_features), got {X.ndim}-D")
    if y.ndim not in (1, 2):
        raise ValueError(f"y must be 1-D or 2-D (n_samples[, n_outputs]), got {y.ndim}-D")
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    if y.ndim == 2 and y.numblocks[1] > 1:
        y = y.rechunk({1: -1})
    known = not any(math.isnan(c) for c in X.chunks[0] + y.chunks[0])
    if known:
        if X.shape[0] != y.shape[0]:
            raise ValueError(
                f"X and y have different numbers of samples: X has {X.shape[0]} "
                f"rows, y has {y.shape[0]} entries"
            )
        if y.chunks[0] != X.chunks[0]:
            y = y.rechunk({0: X.chunks[0]})
    elif X.numblocks[0] != y.numblocks[0]:
        raise ValueError(
            f"X and y must be partitioned alike: {X.numblocks[0]} row blocks "
            f"in X, {y.numblocks[0]} in y"
        )
    return list(X.to_delayed().ravel()), list(y.to_delayed().ravel())


def summarize_blocks(client, X, y, classification):
    """``Blocks`` of ``X``/``y`` with the ``Summary`` of each pair (one task per pair)."""
    x_blocks, y_blocks = row_blocks(X, y)
    summaries = client.gather(
        client.compute(
            [_delayed_summary(xb, yb, classification) for xb, yb in zip(x_blocks, y_blocks)]
        )
    )
    return Blocks(x_blocks, y_blocks, summaries)


def _delayed_summary(x_block, y_block, classification):
    return delayed(worker.summarize_block, pure=True)(x_block, y_block, classification)


# ---------------------------------------------------------------------------
# Checks (on the client, from the summaries)
# ---------------------------------------------------------------------------


def _finite_error(name, p, nan, dtype="float64"):
    if nan:
        return ValueError(f"Input {name} contains NaN (partition {p}).")
    return ValueError(
        f"Input {name} contains infinity or a value too large for dtype({dtype!r}) (partition {p})."
    )


def check_summaries(summaries, classification):
    """Raise the errors of a local fit, naming the partition, before any training.

    Returns the number of columns of ``X``. Labels are checked by the caller
    (``distinct_labels``), which knows the estimator's rules.
    """
    n_features = None
    for p, s in enumerate(summaries):
        if s.x_error:
            raise ValueError(f"{s.x_error} (partition {p})")
        if n_features is None:
            n_features = s.columns
        elif s.columns != n_features:
            raise ValueError(
                f"X's partitions have different numbers of columns: partition {p} "
                f"has {s.columns}, partition 0 has {n_features}"
            )
        if s.x_nan or s.x_inf:
            raise _finite_error("X", p, s.x_nan)
        if s.y_error:
            raise ValueError(f"{s.y_error} (partition {p})")
        if s.y_rows != s.rows:
            raise ValueError(
                f"X and y have different numbers of samples in partition {p}: "
                f"X has {s.rows} rows, y has {s.y_rows} entries"
            )
        if s.y_nan or s.y_inf:
            raise _finite_error("y", p, s.y_nan)
    if n_features is None or sum(s.rows for s in summaries) == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape=(0, {n_features or 0})) while a "
            "minimum of 1 is required: X has no samples."
        )
    if n_features == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape=({summaries[0].rows}, 0)) while "
            "a minimum of 1 is required: X has no features."
        )
    y_columns = {s.y_columns for s in summaries}
    if len(y_columns) > 1:
        raise ValueError(f"y's partitions have different numbers of columns: {sorted(y_columns)}")
    if not classification and 0 in y_columns:
        raise ValueError("y has 0 targets")
    return n_features


def _label_kind(labels):
    kind = np.asarray(labels).dtype.kind
    return "number" if kind in "biufc" else {"U": "text", "S": "bytes"}.get(kind, "object")


def distinct_labels(summaries):
    """The labels found in every partition, as one array (sorted when they sort).

    Partitions of one kind (numbers, or text) are joined as NumPy joins them. Where
    the kinds differ (integers in one partition, '0'/'1' strings in another) the
    labels keep their own types, in an object array, so that the local fit's label
    rules (``validation.check_label_kinds``) see what a local fit on the
    concatenated rows would see, and refuse it; NumPy would turn them all to text.
    """
    found = [s.labels for s in summaries if s.labels is not None and len(s.labels)]
    if not found:
        return np.empty(0)
    kinds = {_label_kind(labels) for labels in found}
    if len(kinds) == 1 and kinds != {"object"}:
        return np.unique(np.concatenate(found))
    union = np.array(
        list(dict.fromkeys(v for labels in found for v in labels.tolist())), dtype=object
    )
    try:
        return np.unique(union)
    except TypeError:  # mixed kinds: keep them, the label check names the problem
        return union


def check_classes(labels, classes):
    """``classes`` (or the sorted ``labels`` found) after checking every label is known."""
    if classes is None:
        if len(labels) < 2:
            raise ValueError(f"y must hold at least two classes, got {labels.tolist()}")
        return labels
    classes = np.asarray(classes)
    unseen = [label for label in labels.tolist() if label not in set(classes.tolist())]
    if unseen:
        raise ValueError(f"y contains labels not in classes {classes.tolist()}: {unseen}")
    return classes


def column_moments(summaries, which):
    """``(mean, std, magnitude)`` per column over all partitions, from each block's
    moments (float64), overflow-safe up to the largest finite values.

    Each block sent its sums scaled by a power of two of its own magnitude; they are
    brought to the power of two of the largest magnitude (exactly), combined, and
    the mean and standard deviation scaled back (the variance is never formed).
    """
    rows = np.array([s.rows for s in summaries], dtype=np.float64)
    moments = [getattr(s, which) for s in summaries]
    magnitudes = np.array([mo[0] for mo in moments])
    peak = magnitudes.max(axis=0)
    factor = power_of_two_factor(peak)
    relative = factor / power_of_two_factor(magnitudes)  # powers of two, <= 1
    sums = np.array([mo[1] for mo in moments]) * relative
    squares = np.array([mo[2] for mo in moments]) * relative**2
    m = rows.sum()
    mean = sums.sum(axis=0) / m
    block_means = sums / np.maximum(rows, 1)[:, None]
    spread = squares.sum(axis=0) + (rows[:, None] * (block_means - mean) ** 2).sum(axis=0)
    return mean / factor, np.sqrt(spread / m) / factor, peak


# ---------------------------------------------------------------------------
# Persisting
# ---------------------------------------------------------------------------


def persist_partitions(client, blocks, inputs, targets, n_features, n_outputs, dtype, labels=None):
    """``RowPartitions``: every non-empty block made a partition and kept on the workers."""
    prepare = delayed(worker.prepare_partition, pure=True)
    kept = [
        (xb, yb, s.rows)
        for xb, yb, s in zip(blocks.x_blocks, blocks.y_blocks, blocks.summaries)
        if s.rows > 0
    ]
    futures = client.compute([prepare(xb, yb, inputs, targets) for xb, yb, _ in kept])
    wait(futures)
    for future in futures:
        if future.status == "error":
            future.result()  # the worker's exception, raised here where it can be read
    return RowPartitions(
        client, futures, [rows for _, _, rows in kept], n_features, n_outputs, dtype, labels
    )


def load_partitions(client, X, y, dtype="float64", classes=None, classification=False):
    """Checked ``RowPartitions`` of ``X``/``y`` (rows are examples) on ``client``'s workers.

    ``classification``: ``y`` holds labels, encoded as the estimators do
    (``LabelTargets`` of the sorted labels found in ``y``, or of ``classes``
    when given); otherwise ``y`` holds numbers, used as given. No
    standardisation: this is the kernels' view (``fastnn.distributed.fit``
    standardises as the estimators do). Raises ValueError before any training
    for partitions whose columns differ, NaN/inf, no samples or features, a
    single class, labels outside ``classes``.
    """
    X, y = as_dask_arrays(client, X, y)
    blocks = summarize_blocks(client, X, y, classification)
    n_features = check_summaries(blocks.summaries, classification)
    labels = None
    if classification:
        found = distinct_labels(blocks.summaries)
        check_label_kinds(found)  # the local fit's label rules and messages
        labels = check_classes(found, classes)
        targets = LabelTargets(labels, dtype)
        n_outputs = targets.n_outputs
    else:
        targets = NumericTargets(dtype)
        n_outputs = blocks.y_columns
    return persist_partitions(
        client, blocks, TransposedInputs(dtype), targets, n_features, n_outputs, dtype, labels
    )
