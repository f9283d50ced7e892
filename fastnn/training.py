"""A whole fit as a few calls of the kernels' ``train``, in chunks of epochs.

Each chunk is sized (adaptively, from the time per epoch measured so far) to
take about ``CHUNK_SECONDS``, so the progress bar moves and Ctrl-C is honoured
between chunks, while the calls stay few enough to cost nothing measurable.
Where one epoch alone takes longer than that, a chunk holds as many epochs as
fit in ``LONG_CHUNK_SECONDS``: a kernel call has a fixed cost (the Numba
variant allocates its work buffers per call: about 0.1 s for a 1024-1024-1024
net on 8192 examples). Measured for the 784-256-128-1 net on 60000 examples
(about 1 s an epoch): one epoch per call made fit 1.13-1.26x the single kernel
call; with several epochs per call (5 s chunks) it is within 1.1x. Ctrl-C is then
honoured within about 5 s.
One ``kernels.contract.OptimizerState`` (momentum velocities or Adam's
moments, Adam's update count and the schedule's epoch) is carried from chunk to
chunk, and the mini-batch orders are drawn one epoch after the other from one
Generator, so the result does not depend on where the chunks fall: the same
seed gives the same parameters however the run is cut.

The first chunk is one epoch, which measures the time per epoch (and waits for a first
compilation), except for a backend with a floor on its rate (``FIRST_CHUNK_RATE``): its
first chunk holds the epochs that fit in ``CHUNK_SECONDS`` at that floor, so a short run of
a small net is one call, not three (each call of the Numba variant has a fixed cost beside its
epochs: docs/performance.md).

With a validation monitor (early stopping) every chunk is one epoch, and the
monitor looks at the parameters after each; it may end the run.
"""

import time
from dataclasses import dataclass, field

import numpy as np

import kernels
from kernels.contract import OptimizerState

from ._threading import kernel_guard
from .workloads import training_flops

#: Wall-clock target of one chunk, in seconds.
CHUNK_SECONDS = 0.5
#: Longest chunk of several epochs, where a single epoch exceeds CHUNK_SECONDS.
LONG_CHUNK_SECONDS = 5.0
#: Backends whose ``train`` call has a larger fixed cost get longer chunks: the
#: CUDA variant copies the data to the device and captures a CUDA graph per call
#: (0.9 s for the 784-256-128-1 workload on an H200, see docs/gpu_results.md), so
#: it needs chunks of about 9 times that to keep the overhead under 10 %.
BACKEND_CHUNK_SECONDS = {"cuda": (10.0, 30.0)}
#: A chunk is at most this many times longer (in epochs) than the one before, unless it
#: ends the run within CHUNK_SECONDS.
MAX_GROWTH = 16
#: Backends whose first chunk is sized from an epoch's work (``epoch_work``) at this rate, in
#: units of work a second: a floor, well below every rate measured (docs/performance.md), so
#: that such a chunk takes a fraction of CHUNK_SECONDS. Other backends start with one epoch.
FIRST_CHUNK_RATE = {"numba": 1e9}
#: Units of work per element of an activation in an epoch, besides the products' FLOPs: the
#: sweeps (a transcendental forward, a derivative backward) cost about as much as this many
#: FLOPs of a product.
ELEMENT_WORK = 50


@dataclass
class RunResult:
    """What a chunked run did: ``costs`` of the epochs completed (all finite),
    ``diverged_epoch`` (0-based, counted in this run) or None, ``interrupted``,
    and the length of each chunk called."""

    costs: np.ndarray
    diverged_epoch: int | None = None
    interrupted: bool = False
    chunks: list = field(default_factory=list)

    @property
    def epochs_done(self):
        return len(self.costs)


def draw_orders(rng, n_epochs, m):
    """``(n_epochs, m)`` int64: one permutation of the examples per epoch, in sequence
    (the same numbers as ``n_epochs`` calls of ``rng.permutation(m)``)."""
    return rng.permuted(np.broadcast_to(np.arange(m, dtype=np.int64), (n_epochs, m)), axis=1)


def epoch_work(weights, m):
    """The work of one epoch of a net with these weights on ``m`` examples: the products'
    FLOPs (``workloads.training_flops``) and ``ELEMENT_WORK`` per activation element."""
    sizes = [weights[0].shape[1]] + [W.shape[0] for W in weights]
    return training_flops(sizes, m) + ELEMENT_WORK * m * sum(sizes[1:])


def next_chunk(
    done,
    remaining,
    seconds_per_epoch,
    previous,
    chunk_seconds,
    long_chunk_seconds=LONG_CHUNK_SECONDS,
):
    """Epochs in the next chunk: about ``chunk_seconds`` of work, growing gradually
    (several slow epochs up to ``long_chunk_seconds``); the rest of the run at once when it
    fits in ``chunk_seconds`` (a call has fixed costs: the Numba variant's Gram form of a wide
    first layer is set up once per call). The first chunk (``previous`` 0) is one epoch, or,
    where ``seconds_per_epoch`` is an estimate (an upper bound: ``FIRST_CHUNK_RATE``), the
    epochs that fit in ``chunk_seconds`` by it."""
    if previous == 0:
        if seconds_per_epoch <= 0:
            return min(remaining, 1)
        return max(1, min(remaining, int(chunk_seconds / seconds_per_epoch)))
    if 0 < seconds_per_epoch and remaining * seconds_per_epoch <= chunk_seconds:
        return remaining
    if seconds_per_epoch <= 0:
        wanted = remaining
    elif seconds_per_epoch <= chunk_seconds:
        wanted = int(chunk_seconds / seconds_per_epoch)
    else:
        wanted = int(long_chunk_seconds / seconds_per_epoch)
    return max(1, min(remaining, wanted, previous * MAX_GROWTH))


def state_arrays(state):
    """The arrays of an optimiser state (its moments), for a snapshot."""
    groups = [state.v_weights, state.v_biases, state.s_weights or [], state.s_biases or []]
    return [a for group in groups for a in group]


def _weighted(sample_weight):
    """The kernels' ``sample_weight`` argument, passed only when there are weights."""
    return {} if sample_weight is None else {"sample_weight": sample_weight}


class _ChunkSizer:
    """Epochs in the next kernel call: ``chunk_epochs`` if fixed (tests), else adapted to the
    time per epoch measured so far (``next_chunk``)."""

    def __init__(self, backend, chunk_seconds, chunk_epochs, work):
        short, self.long = BACKEND_CHUNK_SECONDS.get(backend, (CHUNK_SECONDS, LONG_CHUNK_SECONDS))
        self.short = short if chunk_seconds is None else chunk_seconds
        self.fixed = chunk_epochs
        rate = FIRST_CHUNK_RATE.get(backend)
        # before the first chunk: an upper bound on the time per epoch, or none (0)
        self.previous, self.seconds_per_epoch = 0, (0.0 if rate is None else work / rate)

    def next(self, done, remaining):
        if self.fixed is not None:
            return min(remaining, self.fixed)
        return next_chunk(
            done, remaining, self.seconds_per_epoch, self.previous, self.short, self.long
        )

    def measured(self, epochs, seconds):
        # the first chunk includes compilation: an overestimate, corrected by the next
        self.seconds_per_epoch, self.previous = seconds / epochs, epochs


def run(
    spec,
    weights,
    biases,
    X,
    Y,
    order_rng,
    progress,
    *,
    kernel_module=None,
    chunk_seconds=None,
    chunk_epochs=None,
    monitor=None,
    sample_weight=None,
    optimizer_state=None,
) -> RunResult:
    """Train ``weights``/``biases`` in place on ``X (n_x, m)``, ``Y (n_out, m)`` as ``spec``
    (a ``fitting.TrainingSpec``) says; mini-batch orders from ``order_rng``.

    ``kernel_module`` stands in for ``spec.backend``'s kernels (tests).
    ``chunk_epochs`` fixes the chunk length (tests); by default it adapts to
    ``chunk_seconds`` (default: by backend, ``BACKEND_CHUNK_SECONDS``).
    ``monitor``: an ``early_stopping.ValidationMonitor``, called after every epoch
    (chunks are then one epoch long); the run ends when it says so.
    Stops early at divergence (the kernel puts back the last finite parameters)
    or at KeyboardInterrupt (the parameters of the last completed chunk are put
    back; the interrupted chunk is discarded).
    ``sample_weight``: the examples' weights (m,) in the data's dtype, or None (the
    kernels' ``train``); ``optimizer_state``: a ``kernels.contract.OptimizerState`` to
    continue (updated in place: ``partial_fit`` keeps it), or None for a fresh one.
    """
    if kernel_module is None:
        kernel_module = kernels.get(spec.backend)
    m = X.shape[1]
    batch_size = spec.mini_batch(m)
    sizer = _ChunkSizer(
        spec.backend,
        chunk_seconds,
        1 if monitor is not None else chunk_epochs,
        epoch_work(weights, m),
    )
    # one state for every chunk: a chunked run is the same numbers as one call
    carried = optimizer_state is not None
    state = (
        optimizer_state if carried else OptimizerState.zeros(weights, biases, spec.optimizer.name)
    )
    params = weights + biases
    if carried:  # the caller keeps them (partial_fit): an interrupted chunk puts them back too
        params = params + state_arrays(state)
    committed = []  # the costs of each completed chunk; appending one commits it
    chunks, diverged_epoch, interrupted, done = [], None, False, 0
    snapshot, pending = None, -1  # the parameters before the chunk in progress, its index
    try:
        while done < spec.epochs:
            n = sizer.next(done, spec.epochs - done)
            orders = None if batch_size is None else draw_orders(order_rng, n, m)
            snapshot, pending = [p.copy() for p in params], len(committed)
            start = time.perf_counter()
            with kernel_guard(spec.backend):
                chunk_costs = kernel_module.train(
                    weights,
                    biases,
                    X,
                    Y,
                    list(spec.activations),
                    n,
                    spec.learning_rate,
                    batch_size=batch_size,
                    momentum=spec.momentum,
                    l2=spec.l2,
                    orders=orders,
                    state=state,
                    **spec.optimizer_arguments(),
                    **_weighted(sample_weight),
                )
            sizer.measured(n, time.perf_counter() - start)
            chunk_costs = np.asarray(chunk_costs, dtype=np.float64)[:n]
            chunks.append(n)
            bad = np.flatnonzero(~np.isfinite(chunk_costs))
            if bad.size:
                diverged_epoch = done + int(bad[0])
                committed.append(chunk_costs[: bad[0]])
                break
            committed.append(chunk_costs)
            done += n
            progress.update(done, float(chunk_costs[-1]))
            if monitor is not None and monitor.observe(weights, biases, spec.activations):
                break
    except KeyboardInterrupt:
        interrupted = True
        if snapshot is not None and len(committed) == pending:
            # the interrupted chunk may have stopped half way (NumPy variants): put back
            # the parameters of the last completed chunk, which match the costs kept
            for p, saved in zip(params, snapshot):
                p[...] = saved
    costs = np.concatenate(committed) if committed else np.empty(0)
    return RunResult(costs, diverged_epoch, interrupted, chunks)
