"""A whole training run on the GPU: everything on the device, one cost read per call.

The arena holds the parameters (all W then all b, so that the L2 sum of
squares is one range), their first moments (momentum's velocities, Adam's v),
Adam's second moments, the epoch-start copy, the update scalars, the data
(X and Y stored one example per row, so a mini-batch is gathered by rows,
coalesced), the activations and dZ of every layer, and the split-K work space.
The int buffer holds the run state and the epochs' orders; the float64 buffer
the costs (NaN until an epoch writes its own), the L2 partial sums and the
learning rate of each epoch (the schedule, computed on the host).

One epoch is a fixed sequence of launches, whose arguments are built once:
``epoch_start``; for each batch the forward products (bias and activation
fused; the first gathers its columns through the orders), the cost (which also
writes dZ[L]), then per layer, last first, ``dZ_prev = (W^T dZ) * g'`` and the
update product (dW and, through a column of ones, db, then L2 and the momentum
or Adam step, applied in place: no extra pass over the parameters; the cost
kernel, once per batch, writes the batch's learning rate and Adam's bias
corrections where the update reads them); ``epoch_end``. The divergence rule of ``vectorized.train``
runs on the device through the state flags, so the host never waits inside
the run. Where the CUDA driver allows it, the first epoch runs directly and
the rest replay a CUDA graph captured from one epoch's launches.
"""

import numpy as np
from numba import cuda

from . import cuda_kernels as ck
from .contract import sample_weight_total
from .cuda_launch import (
    PARTS,
    SIMULATOR,
    THREADS,
    Arena,
    Product,
    elementwise,
    grid_for,
    plan_product,
    state_array,
)

#: Replay epochs from a captured CUDA graph (real GPU only); False launches every kernel.
USE_GRAPHS = True

#: What the last run did: "graph", "direct", or "direct (graph capture failed: ...)".
last_run_mode = None


def run(
    weights,
    biases,
    X,
    Y,
    codes,
    out_code,
    epochs,
    rates,
    batch_size,
    momentum,
    l2,
    orders,
    state,
    adam=None,
    sample_weight=None,
):
    """Train in place; return the costs of the epochs (see ``kernels.vectorized.train``).

    ``rates``: the learning rate of each epoch (float64); ``state``: the
    ``contract.OptimizerState`` (moments copied in and out; its counters are
    the caller's to advance); ``adam``: ``(beta1, beta2, epsilon)``, or None
    for gradient descent with ``momentum``; ``sample_weight``: (m,) or None (fused into
    the cost kernel, which writes dZ[L]).
    """
    global last_run_mode
    costs = np.full(epochs, np.nan, dtype=np.float64)
    if epochs == 0:
        return costs
    plan = _Plan(
        weights,
        biases,
        X,
        Y,
        codes,
        out_code,
        epochs,
        rates,
        batch_size,
        momentum,
        l2,
        orders,
        state,
        adam,
        sample_weight,
    )
    plan.launch_epoch()  # also compiles and loads every kernel
    last_run_mode = "direct"
    remaining = epochs - 1
    if remaining and USE_GRAPHS and not SIMULATOR:
        try:
            graph = _EpochGraph(plan.stream, plan.launch_epoch)
        except Exception as error:  # noqa: BLE001 - any capture failure: launch directly
            last_run_mode = f"direct (graph capture failed: {error})"
        else:
            try:
                for _ in range(remaining):
                    graph.replay()
                remaining = 0
                last_run_mode = "graph"
            finally:
                graph.close()
    for _ in range(remaining):
        plan.launch_epoch()
    plan.stream.synchronize()
    costs[:] = plan.D[:epochs].copy_to_host() / sample_weight_total(sample_weight, X.shape[1])
    plan.copy_back(weights, biases, state)
    return costs


class _Plan:
    """The arena of one run and the launches of one epoch, arguments built once."""

    def __init__(
        self,
        weights,
        biases,
        X,
        Y,
        codes,
        out_code,
        epochs,
        rates,
        batch_size,
        momentum,
        l2,
        orders,
        optimizer_state,
        adam,
        sample_weight=None,
    ):
        dtype = X.dtype.type
        n_x, m = X.shape
        L = len(weights)
        sizes = [n_x] + [W.shape[0] for W in weights]
        full_batch = batch_size is None or batch_size >= m
        step = m if full_batch else int(batch_size)
        batches = [(start, min(step, m - start)) for start in range(0, m, step)]
        self.stream = cuda.stream()

        arena = Arena(dtype)
        params = [W.ravel() for W in weights] + [b.ravel() for b in biases]
        self.n_weights = sum(W.size for W in weights)
        self.n_params = self.n_weights + sum(b.size for b in biases)
        self.theta = arena.put(np.concatenate(params))
        moments = optimizer_state
        self.velocity = arena.put(_flat(moments.v_weights, moments.v_biases))
        # Adam's s, laid out as v: one shift from a first moment to its second
        self.second = arena.put(_flat(moments.s_weights, moments.s_biases)) if adam else -1
        s_shift = self.second - self.velocity if adam else 0
        self.saved = arena.put(np.concatenate(params))
        scalars = arena.reserve(ck.N_SCALARS)
        w_off, b_off, at = [], [], 0
        for W in weights:
            w_off.append(at)
            at += W.size
        for b in biases:
            b_off.append(at)
            at += b.size
        self.w_off, self.b_off = w_off, b_off
        W_at = [self.theta + o for o in w_off]
        b_at = [self.theta + o for o in b_off]
        vW_at = [self.velocity + o for o in w_off]
        vb_at = [self.velocity + o for o in b_off]
        xt = arena.put(X, transposed=True)  # one example per row
        yt = arena.put(Y, transposed=True)
        w_at = -1 if sample_weight is None else arena.put(sample_weight)
        total_weight = sample_weight_total(sample_weight, m)
        acts = [arena.reserve(n * step) for n in sizes[1:]]
        dzs = [arena.reserve(n * step) for n in sizes[1:]]

        orders_at = ck.STATE_SIZE
        state = state_array(None if full_batch else np.asarray(orders, dtype=np.int64))
        if not all(np.isfinite(p).all() for p in params):
            state[ck.BAD] = 1
        parts_at = epochs
        rates_at = epochs + PARTS
        D = np.full(epochs + PARTS + epochs, np.nan)
        D[parts_at:rates_at] = 0.0
        D[rates_at:] = rates

        # Every product of one batch, as (M, N, K, a_op, b_op, ep, fp, bias_column, gather).
        if adam:
            beta1, beta2, eps = adam
            mode = ck.ADAM_UPDATE
            update_fp = (dtype(beta1), dtype(1 - beta1), dtype(beta2), dtype(1 - beta2), dtype(eps))
        else:
            beta1 = beta2 = 0.0  # no bias correction: batch_cost writes 1 - 0**t, unread
            mode = ck.UPDATE
            update_fp = (dtype(momentum), dtype(1 - momentum))
        lr = dtype(rates[0])  # unread: the update reads the epoch's rate at `scalars`
        l2c = dtype(l2 / total_weight) if l2 else dtype(0)
        coef = float(l2) / (2 * total_weight) if l2 else 0.0

        def products_of(start, size):
            gather = (0, 0, 0) if full_batch else (1, orders_at + start, m)
            forward, backward = [], []
            for l in range(L):
                if l == 0:
                    b_op, g = (xt, n_x, 1), gather  # X_b(k, j) = XT[col j, k]
                else:
                    b_op, g = (acts[l - 1], size, 0), (0, 0, 0)
                act = ck.LINEAR if l == L - 1 else codes[l]
                forward.append(
                    (
                        sizes[l + 1],
                        size,
                        sizes[l],
                        (W_at[l], sizes[l], 0),
                        b_op,
                        (ck.FORWARD, act, acts[l], -1, b_at[l], -1, -1),
                        (1, 0, 0, 0, 1),
                        False,
                        g,
                    )
                )
            for l in range(L - 1, -1, -1):
                if l > 0:  # dZ[l-1] = W[l]^T dZ[l] * g'(Z[l-1]), with W[l] before its update
                    backward.append(
                        (
                            sizes[l],
                            size,
                            sizes[l + 1],
                            (W_at[l], sizes[l], 1),
                            (dzs[l], size, 0),
                            (ck.BACKWARD_DZ, codes[l - 1], dzs[l - 1], acts[l - 1], -1, -1, -1),
                            (1, 0, 0, 0, 1),
                            False,
                            (0, 0, 0),
                        )
                    )
                    b_op, g = (acts[l - 1], size, 1), (0, 0, 0)
                else:
                    b_op, g = (xt, n_x, 0), gather  # X_b^T(k, j) = XT[col k, j]
                backward.append(
                    (
                        sizes[l + 1],
                        sizes[l],
                        size,
                        (dzs[l], size, 0),
                        b_op,
                        (mode, 0, W_at[l], -1, b_at[l], vW_at[l], vb_at[l], scalars, s_shift),
                        (dtype(1.0 / size), l2c, lr) + update_fp,
                        True,
                        g,
                    )
                )
            return gather, forward, backward

        specs = [(start, size) + products_of(start, size) for start, size in batches]
        betas = (np.float64(beta1), np.float64(beta2))
        workspace_size = 0
        for _, _, _, forward, backward in specs:
            for M, N, K, _a, _b, _ep, _fp, bias_column, _g in forward + backward:
                NC = N + 1 if bias_column else N
                _, splits, _ = plan_product(M, NC, K, dtype=dtype)
                if splits > 1:
                    workspace_size = max(workspace_size, M * NC * splits)
        workspace = arena.reserve(workspace_size) if workspace_size else -1

        self.F = arena.upload(self.stream)
        self.I = cuda.to_device(state, stream=self.stream)
        self.D = cuda.to_device(D, stream=self.stream)
        self.arena = arena

        k = elementwise(dtype)
        n_params, grid = self.n_params, grid_for(self.n_params)
        F, I, Dd = self.F, self.I, self.D
        steps = [(k["epoch_start"], grid, (F, I, Dd, self.theta, self.saved, n_params, 0))]
        n_out = sizes[-1]
        products = {}  # batches of one size share every product but the gathering ones

        def product(spec):
            if spec not in products:
                products[spec] = (Product(dtype, *spec, workspace=workspace), None, None)
            return products[spec]

        for batch, (_start, size, gather, forward, backward) in enumerate(specs):
            # Adam's t of this batch: step + epoch * len(batches) + batch + 1
            update = (scalars, rates_at, moments.step + batch + 1, len(batches))
            for spec in forward:
                steps.append(product(spec))
            if l2:
                steps.append(
                    (k["sum_squares"], PARTS, (F, I, Dd, self.theta, self.n_weights, parts_at))
                )
            steps.append(
                (
                    k["batch_cost"],
                    1,
                    (
                        F,
                        I,
                        Dd,
                        (n_out, size),
                        (acts[-1], yt, dzs[-1], 0, w_at),
                        gather,
                        out_code,
                        (coef, parts_at, PARTS),
                        update,
                        betas,
                    ),
                )
            )
            for spec in backward:
                steps.append(product(spec))
        steps.append((k["epoch_end"], grid, (F, I, self.theta, self.saved, n_params)))
        self.steps = steps

    def launch_epoch(self):
        stream = self.stream
        for kernel, grid, args in self.steps:
            if isinstance(kernel, Product):
                kernel.launch(self.F, self.I, stream)
            else:
                kernel[grid, THREADS, stream](*args)

    def copy_back(self, weights, biases, state):
        theta = self.F[self.theta : self.theta + self.n_params].copy_to_host()
        _scatter(theta, self.w_off, self.b_off, weights, biases)
        vel = self.F[self.velocity : self.velocity + self.n_params].copy_to_host()
        _scatter(vel, self.w_off, self.b_off, state.v_weights, state.v_biases)
        if self.second >= 0:
            second = self.F[self.second : self.second + self.n_params].copy_to_host()
            _scatter(second, self.w_off, self.b_off, state.s_weights, state.s_biases)


def _flat(weights_part, biases_part):
    """One flat array of per-layer arrays, all W then all b (the parameters' layout)."""
    return np.concatenate([a.ravel() for a in weights_part] + [a.ravel() for a in biases_part])


def _scatter(flat, w_off, b_off, weights, biases):
    for W, o in zip(weights, w_off):
        W[...] = flat[o : o + W.size].reshape(W.shape)
    for b, o in zip(biases, b_off):
        b[...] = flat[o : o + b.size].reshape(b.shape)


class _EpochGraph:
    """One epoch's launches captured from a stream into a CUDA graph, for replay."""

    def __init__(self, stream, launch_epoch):
        from cuda.bindings import driver as cu

        self._cu = cu
        handle = stream.handle
        self._stream = cu.CUstream(
            int(handle.value or 0) if hasattr(handle, "value") else int(handle)
        )
        self._graph = self._exec = None
        self._check(
            cu.cuStreamBeginCapture(
                self._stream, cu.CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_RELAXED
            ),
            "begin capture",
        )
        try:
            launch_epoch()
        finally:
            result = cu.cuStreamEndCapture(self._stream)
        self._check(result[:1], "end capture")
        self._graph = result[1]
        result = cu.cuGraphInstantiate(self._graph, 0)
        self._check(result[:1], "instantiate")
        self._exec = result[1]

    def _check(self, result, what):
        error = result[0]
        if error != self._cu.CUresult.CUDA_SUCCESS:
            raise RuntimeError(f"CUDA graph {what}: {error}")

    def replay(self):
        self._check(self._cu.cuGraphLaunch(self._exec, self._stream), "launch")

    def close(self):
        if self._exec is not None:
            self._cu.cuGraphExecDestroy(self._exec)
        if self._graph is not None:
            self._cu.cuGraphDestroy(self._graph)
