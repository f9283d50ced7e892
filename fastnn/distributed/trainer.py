"""The training loop on the client: the kernels' ``train``, data-parallel.

One *step* is one update of the parameters, exactly as in ``kernels.<variant>.train``:

- full batch: every partition returns the sums of its rows' gradients; the tree
  of ``add`` tasks sums them; the client divides by ``m``, adds the L2 term
  ``(l2 / m) W`` and applies ``gradient_descent_step`` once;
- mini-batches of ``batch_size``: the client holds the epoch's order
  (``orders[epoch]``, a permutation of the ``m`` global row numbers, drawn by the
  caller as for a local run); batch ``j`` is ``orders[epoch, j*batch_size:(j+1)*batch_size]``;
  each partition sums the gradients of the rows of that batch it holds (and
  partitions holding none are not asked); the client divides by the batch's
  size and scales L2 by ``m``. This is the local run's step on the same rows,
  summed in a different order: the same parameters up to rounding.

``local_epochs=k`` trades that exactness for k times fewer round trips: each
round, every partition runs ``k`` epochs of the kernels' whole-run ``train``
on its own rows from the same starting parameters (and velocities), and the
client takes the row-weighted average of the resulting parameters and
velocities. The cost recorded for an epoch is then the row-weighted average
of the partitions' own costs for that epoch.

Costs and divergence follow the kernels' ``train``: the cost of an epoch is
the mean loss of its forward passes plus ``l2 / (2 m) sum ||W||^2``; at the
first epoch whose cost (or starting parameters) is not finite the parameters
go back to the last epoch start at which they were finite and the remaining
costs are NaN.
"""

import numpy as np
from dask import delayed

import kernels

from ..fitting import TrainingSpec
from . import worker
from .reduce import tree_reduce

#: Parameters above this size are scattered to the workers once per step
#: rather than copied into each partition's task.
SCATTER_BYTES = 1 << 20


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during a distributed run. The parameters (and velocities) passed to
    ``train`` hold the state at the end of the last completed epoch; ``costs``
    holds the costs of the completed epochs."""

    def __init__(self, costs):
        super().__init__(f"training interrupted after {len(costs)} completed epoch(s)")
        self.costs = costs


class WorkerLost(RuntimeError):
    """A step could not be completed on the cluster (for example a partition lost with
    its worker that Dask could not recompute). The parameters hold the state at the end
    of the last completed epoch; ``costs`` the costs of the completed epochs."""

    def __init__(self, message, costs):
        super().__init__(message)
        self.costs = costs


def train(
    partitions,
    weights,
    biases,
    activations,
    epochs,
    learning_rate,
    batch_size=None,
    momentum=0.0,
    l2=0.0,
    orders=None,
    velocities=None,
    *,
    backend="numpy",
    local_epochs=None,
    seed=None,
    fan_in=4,
    callback=None,
):
    """Train ``weights``/``biases`` in place on ``partitions``; return each epoch's cost.

    The arguments after ``partitions`` mean what they mean in the kernels'
    ``train`` (``orders`` is ``(epochs, m)`` in the global row numbering).
    ``backend``: the kernel variant the workers use. ``local_epochs``: ``None``
    for the exact synchronous descent, ``k >= 1`` for rounds of ``k`` local
    epochs with parameter averaging (``seed`` then seeds the partitions' own
    shuffling). ``fan_in``: inputs per node of the reduction tree.
    ``callback(epoch, cost)``, if given, is called after each epoch on the client.

    Raises ``TrainingInterrupted`` on Ctrl-C and ``WorkerLost`` when the cluster
    cannot complete a step, in both cases after putting the state of the last
    completed epoch into ``weights``, ``biases`` and ``velocities``.
    """
    m = partitions.m
    full_batch = batch_size is None or batch_size >= m
    if local_epochs is None and not full_batch and orders is None:
        raise ValueError("orders (epochs, m) is required for mini-batch training")
    if local_epochs is not None and (int(local_epochs) != local_epochs or local_epochs < 1):
        raise ValueError(f"local_epochs must be None or an integer >= 1, got {local_epochs!r}")
    if velocities is None:
        velocities = ([np.zeros_like(W) for W in weights], [np.zeros_like(b) for b in biases])
    state = State.of(weights, biases, velocities)
    spec = TrainingSpec(
        tuple(activations),
        epochs,
        learning_rate,
        None if full_batch else batch_size,
        momentum,
        l2,
        backend,
    )
    if local_epochs is None:
        runner = _ExactRun(partitions, spec, orders, fan_in)
    else:
        runner = _AveragedRun(partitions, spec, local_epochs, seed, fan_in)
    costs = np.full(epochs, np.nan, dtype=np.float64)
    committed = (state, 0)  # the last consistent (state, epochs done): replaced in one go
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            while committed[1] < epochs:
                state, done = committed
                new_state, new_costs, stop = runner.advance(state, done, epochs - done)
                costs[done : done + len(new_costs)] = new_costs
                committed = (new_state, done + len(new_costs))
                for epoch in range(done, committed[1]):
                    if callback is not None and np.isfinite(costs[epoch]):
                        callback(epoch, float(costs[epoch]))
                if stop:
                    break
    except KeyboardInterrupt:
        state, done = committed
        state.store(weights, biases, velocities)
        raise TrainingInterrupted(costs[:done].copy()) from None
    except _StepFailed as failure:
        state, done = committed
        state.store(weights, biases, velocities)
        raise WorkerLost(str(failure), costs[:done].copy()) from failure.__cause__
    committed[0].store(weights, biases, velocities)
    return costs


class State:
    """Parameters and velocities as new arrays each step: the client's copy is replaced,
    never half-updated, so an interrupt leaves a consistent state."""

    def __init__(self, weights, biases, v_weights, v_biases):
        self.weights, self.biases = list(weights), list(biases)
        self.v_weights, self.v_biases = list(v_weights), list(v_biases)

    @classmethod
    def of(cls, weights, biases, velocities):
        copy = lambda arrays: [a.copy() for a in arrays]  # noqa: E731
        return cls(copy(weights), copy(biases), copy(velocities[0]), copy(velocities[1]))

    def copy(self):
        return State.of(self.weights, self.biases, (self.v_weights, self.v_biases))

    def finite(self):
        return all(np.isfinite(p).all() for p in self.weights + self.biases)

    def store(self, weights, biases, velocities):
        """Write this state into the caller's arrays (in place, as the kernels' ``train``)."""
        for target, source in zip(
            weights + biases + list(velocities[0]) + list(velocities[1]),
            self.weights + self.biases + self.v_weights + self.v_biases,
        ):
            target[...] = source


class _StepFailed(Exception):
    pass


def _send(client, arrays):
    """``arrays`` (nested tuples) for the tasks: as they are when small (they travel inside
    the graph), else scattered once to every worker (one copy each, not one per task)."""
    if _nbytes(arrays) <= SCATTER_BYTES:
        return arrays
    [future] = client.scatter([arrays], broadcast=True, hash=False)
    return future


def _nbytes(item):
    if isinstance(item, tuple):
        return sum(_nbytes(part) for part in item)
    return getattr(item, "nbytes", 0)


def _result(future, what):
    """The future's value; a cluster failure becomes ``_StepFailed`` naming ``what``."""
    try:
        return future.result()
    except KeyboardInterrupt:
        future.cancel()
        raise
    except Exception as error:  # noqa: BLE001 -- any failure of the cluster stops the run
        raise _StepFailed(
            f"the cluster could not complete {what} ({type(error).__name__}: {error}). This "
            "happens when a worker dies holding data Dask cannot recompute (data scattered or "
            "persisted by hand, rather than loaded by a graph Dask can run again), or when "
            "tasks keep failing. The parameters are those of the last completed epoch."
        ) from error


class _ExactRun:
    """Synchronous descent: one reduction per step, the update on the client."""

    def __init__(self, partitions, spec, orders, fan_in):
        self.partitions, self.client = partitions, partitions.client
        self.spec, self.orders, self.fan_in = spec, orders, fan_in
        self.kernels = kernels.get("numpy")  # the update is a few element-wise passes
        self.start = None  # the state at the start of the current epoch

    def advance(self, state, epoch, remaining):
        """One epoch from ``state``: returns ``(new_state, [cost], stop)``."""
        m = self.partitions.m
        if not state.finite():  # the previous epoch's update overflowed: back to its start
            return self.start or state, [np.nan], True
        self.start = start = state
        total = 0.0
        for rows in self._batches(epoch):
            sums = self._gradient_sums(state, rows, epoch)
            batch_m = m if rows is None else sum(len(r) for r in rows.values())
            if sums.rows != batch_m:  # never update from part of a batch
                raise _StepFailed(
                    f"epoch {epoch}: the partitions summed {sums.rows} rows of a batch of {batch_m}"
                )
            total += self.kernels.l2_penalty(state.weights, self.spec.l2, m) * batch_m
            total += sums.loss_sum
            if not np.isfinite(total):
                break
            state = self._update(state, sums, batch_m)
        cost = total / m
        if not np.isfinite(cost):
            return start, [cost], True
        if remaining == 1 and not state.finite():
            return start, [cost], True  # the last update is checked by no next epoch start
        return state, [cost], False

    def _batches(self, epoch):
        """Per step: ``None`` (full batch) or ``{partition: local row numbers}``."""
        if self.spec.batch_size is None:
            yield None
            return
        order = np.asarray(self.orders[epoch])
        offsets = self.partitions.offsets
        owner = np.searchsorted(offsets, order, side="right") - 1
        local = order - offsets[owner]
        for start in range(0, len(order), self.spec.batch_size):
            batch = slice(start, start + self.spec.batch_size)
            owners, rows = owner[batch], local[batch]
            yield {int(p): rows[owners == p] for p in np.unique(owners)}

    def _gradient_sums(self, state, rows, epoch):
        parameters = _send(self.client, (tuple(state.weights), tuple(state.biases)))
        task = delayed(worker.gradient_sums, pure=False)
        spec = self.spec
        futures = self.partitions.futures
        if rows is None:
            tasks = [task(f, parameters, spec.activations, spec.backend) for f in futures]
        else:
            tasks = [
                task(futures[p], parameters, spec.activations, spec.backend, r)
                for p, r in sorted(rows.items())
            ]
        total = self.client.compute(tree_reduce(tasks, self.fan_in))
        return _result(total, f"a step of epoch {epoch}")

    def _update(self, state, sums, batch_m):
        """The kernels' update on a copy of ``state``, with the batch's mean gradients."""
        new = state.copy()
        dtype = new.weights[0].dtype.type
        inv_m = dtype(1.0 / batch_m)
        l2_scale = dtype(self.spec.l2 / self.partitions.m)
        for layer in range(len(new.weights) - 1, -1, -1):
            dW = sums.dW[layer] * inv_m
            if self.spec.l2:
                dW += state.weights[layer] * l2_scale
            db = sums.db[layer] * inv_m
            self.kernels.gradient_descent_step(
                new.weights[layer],
                dW,
                new.v_weights[layer],
                self.spec.learning_rate,
                self.spec.momentum,
            )
            self.kernels.gradient_descent_step(
                new.biases[layer],
                db,
                new.v_biases[layer],
                self.spec.learning_rate,
                self.spec.momentum,
            )
        return new


class _AveragedRun:
    """Rounds of ``local_epochs`` epochs on each partition alone, then a weighted average."""

    def __init__(self, partitions, spec, local_epochs, seed, fan_in):
        self.partitions, self.client = partitions, partitions.client
        self.spec, self.fan_in = spec, fan_in
        self.local_epochs = int(local_epochs)
        self.seed = (
            seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        )

    def advance(self, state, epoch, remaining):
        """One round from ``state``: returns ``(new_state, costs of its epochs, stop)``."""
        epochs = min(self.local_epochs, remaining)
        if not state.finite():
            return state, [np.nan], True
        m = self.partitions.m
        client = self.client
        parameters = _send(client, (tuple(state.weights), tuple(state.biases)))
        velocities = _send(client, (tuple(state.v_weights), tuple(state.v_biases)))
        seeds = self.seed.spawn(len(self.partitions.futures))  # fresh per round and partition
        task = delayed(worker.local_epochs, pure=False)
        spec = self.spec
        tasks = [
            task(
                f,
                parameters,
                velocities,
                spec.activations,
                spec.backend,
                epochs,
                spec.learning_rate,
                spec.batch_size,
                spec.momentum,
                spec.l2 / m,
                s,
            )
            for f, s in zip(self.partitions.futures, seeds)
        ]
        total = client.compute(tree_reduce(tasks, self.fan_in))
        run = _result(total, f"the round from epoch {epoch}")
        if run.rows != m:
            raise _StepFailed(f"epoch {epoch}: the partitions trained on {run.rows} rows of {m}")
        costs = run.costs / m
        if not np.isfinite(costs).all():
            return state, list(costs[: int(np.argmin(np.isfinite(costs))) + 1]), True
        dtype = state.weights[0].dtype.type
        inv_m = dtype(1.0 / m)
        new = State(
            [W * inv_m for W in run.weights],
            [b * inv_m for b in run.biases],
            [v * inv_m for v in run.v_weights],
            [v * inv_m for v in run.v_biases],
        )
        if not new.finite():
            return state, list(costs), True
        return new, list(costs), False
