"""Device code of the CUDA variant: every kernel, built once per dtype (and tile shape).

All kernels address one flat float buffer ``F`` (the *arena*: parameters,
activations, data, work space) by element offsets, an int64 buffer ``I`` (the
run's state flags and the mini-batch orders) and, for reductions, a float64
buffer ``D`` (epoch costs, partial sums). Few array arguments keep a launch
cheap; offsets make one kernel serve every layer.

Float32 stays float32: every constant is made in the kernel's dtype by the
factory (a Python literal would promote the arithmetic to float64).
"""

import inspect
import math
from collections import namedtuple
from functools import cache

import numpy as np
from numba import config, cuda, float64, from_dtype

from .contract import ACTIVATION_CODES, LEAKY_SLOPE

LINEAR, SIGMOID, TANH, RELU, LEAKY_RELU, SOFTMAX = (
    ACTIVATION_CODES[name]
    for name in ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "softmax")
)

# 16-byte aligned shared tiles, where this numba-cuda can ask for them (the simulator cannot).
SHARED_ALIGNMENT = (
    not config.ENABLE_CUDASIM and "alignment" in inspect.signature(cuda.shared.array).parameters
)

# Slots of the run state at the start of I. Each is written by at most one kernel
# that does not read it, so no thread sees a flag change under its feet.
STOP, BAD, START_BAD, DIVERGED, EPOCH = range(5)
STATE_SIZE = 8

# What the matrix product does with each element ``v`` of op(A) op(B) (its epilogue).
# UPDATE: gradient descent (with momentum); ADAM_UPDATE: Adam. Both apply the step in place.
STORE, FORWARD, BACKWARD_DZ, GRADIENT, UPDATE, ADAM_UPDATE = range(6)

# The per-batch update scalars a training run keeps in the arena (written by batch_cost):
# the epoch's learning rate and Adam's two bias corrections 1 - beta**t.
SCALAR_LR, SCALAR_C1, SCALAR_C2 = range(3)
N_SCALARS = 3

# Element-wise operations.
EW_FORWARD, EW_DERIVATIVE, EW_BACKWARD, EW_SUBTRACT = range(4)

#: A tile shape: block tile BM x BN, depth BK per shared-memory stage, TM x TN
#: outputs per thread (register tile). Threads per block: (BM/TM) * (BN/TN).
#: VEC: each thread's rows and columns are contiguous (ty*TM + i), so that its
#: shared-memory reads can be 16-byte vector loads; else strided (ty + i*TY),
#: so that a warp's scalar reads hit consecutive banks.
#: MIN_BLOCKS: blocks a multiprocessor must hold at once (a register cap through the
#: kernel's launch bounds; 0: no cap).
TileShape = namedtuple("TileShape", "BM BN BK TM TN VEC MIN_BLOCKS", defaults=(False, 0))


def threads_per_block(tile):
    return (tile.BM // tile.TM) * (tile.BN // tile.TN)


@cache
def elementwise_kernels(dtype, reduce_threads):
    """Activation, reduction, softmax, cost and epoch-bookkeeping kernels for one dtype."""
    dtype = np.dtype(dtype).type
    ZERO, ONE, SLOPE = dtype(0), dtype(1), dtype(LEAKY_SLOPE)
    ZERO64, HALF64, ONE64 = np.float64(0), np.float64(0.5), np.float64(1)
    to_dtype = from_dtype(np.dtype(dtype))  # a cast in device code (the data's float type)
    RT = reduce_threads  # threads of a reducing block (a power of two)
    k = {}

    @cuda.jit(device=True)
    def is_finite(x):
        return not (math.isnan(x) or math.isinf(x))

    @cuda.jit(device=True)
    def sigmoid(z):
        e = math.exp(-abs(z))  # never overflows
        if z >= ZERO:
            return ONE / (ONE + e)
        return e / (ONE + e)

    @cuda.jit(device=True)
    def activate(z, act):
        if act == SIGMOID:
            return sigmoid(z)
        if act == TANH:
            return math.tanh(z)
        if act == RELU:
            return max(z, ZERO)
        if act == LEAKY_RELU:
            return z if z > ZERO else z * SLOPE
        return z

    @cuda.jit(device=True)
    def derivative_from_z(z, act):
        """g'(Z), relu'(0) = 0."""
        if act == SIGMOID:
            a = sigmoid(z)
            return a * (ONE - a)
        if act == TANH:
            a = math.tanh(z)
            return ONE - a * a
        if act == RELU:
            return ONE if z > ZERO else ZERO
        if act == LEAKY_RELU:
            return ONE if z > ZERO else SLOPE
        return ONE

    @cuda.jit(device=True)
    def derivative_from_a(a, act):
        """g'(Z) from A = g(Z): the same numbers as from Z (A > 0 exactly when Z > 0)."""
        if act == SIGMOID:
            return a * (ONE - a)
        if act == TANH:
            return ONE - a * a
        if act == RELU:
            return ONE if a > ZERO else ZERO
        if act == LEAKY_RELU:
            return ONE if a > ZERO else SLOPE
        return ONE

    @cuda.jit(device=True)
    def block_sum(shared, value):
        """Sum of ``value`` over the block's RT threads (tree order: deterministic)."""
        t = cuda.threadIdx.x
        cuda.syncthreads()  # a previous block_sum's result has been read
        shared[t] = value
        cuda.syncthreads()
        step = RT // 2
        while step > 0:
            if t < step:
                shared[t] += shared[t + step]
            cuda.syncthreads()
            step //= 2
        return shared[0]

    @cuda.jit
    def elementwise(F, n, op, act, x_off, y_off, out_off):
        """out = g(x), g'(x), x * g'(y) or x - y over n elements."""
        for i in range(cuda.grid(1), n, cuda.gridsize(1)):
            x = F[x_off + i]
            if op == EW_FORWARD:
                r = activate(x, act)
            elif op == EW_DERIVATIVE:
                r = derivative_from_z(x, act)
            elif op == EW_BACKWARD:
                r = x * derivative_from_z(F[y_off + i], act)
            else:
                r = x - F[y_off + i]
            F[out_off + i] = r

    @cuda.jit
    def momentum_step(F, n, p_off, g_off, v_off, lr, beta, one_minus_beta):
        """v = beta v + (1 - beta) g; p -= lr v (the course's form)."""
        for i in range(cuda.grid(1), n, cuda.gridsize(1)):
            v = F[v_off + i] * beta + one_minus_beta * F[g_off + i]
            F[v_off + i] = v
            F[p_off + i] -= lr * v

    @cuda.jit
    def adam_step(F, n, p_off, g_off, v_off, s_off, lr, betas, corrections, eps):
        """The course's Adam: betas = (b1, 1 - b1, b2, 1 - b2), corrections = (1 - b1^t, 1 - b2^t)."""
        b1, omb1, b2, omb2 = betas
        c1, c2 = corrections
        for i in range(cuda.grid(1), n, cuda.gridsize(1)):
            g = F[g_off + i]
            v = F[v_off + i] * b1 + omb1 * g
            s = F[s_off + i] * b2 + omb2 * (g * g)
            F[v_off + i] = v
            F[s_off + i] = s
            F[p_off + i] -= lr * (v / c1) / (math.sqrt(s / c2) + eps)

    @cuda.jit
    def softmax_columns(F, rows, m, z_off, out_off):
        """Column-wise softmax of the (rows, m) matrix at z_off, shifted by the column max."""
        for j in range(cuda.grid(1), m, cuda.gridsize(1)):
            zmax = F[z_off + j]
            for r in range(1, rows):
                zmax = max(zmax, F[z_off + r * m + j])
            s = ZERO
            for r in range(rows):
                s += math.exp(F[z_off + r * m + j] - zmax)
            for r in range(rows):
                F[out_off + r * m + j] = math.exp(F[z_off + r * m + j] - zmax) / s

    @cuda.jit
    def sum_squares(F, I, D, off, n, part_off):
        """Per-block partial sums of x**2 over F[off:off+n] into D[part_off + block]."""
        if I[STOP] != 0:
            return
        shared = cuda.shared.array(RT, float64)
        acc = ZERO64
        for i in range(cuda.grid(1), n, cuda.gridsize(1)):
            x = F[off + i]
            acc += x * x
        total = block_sum(shared, acc)
        if cuda.threadIdx.x == 0:
            D[part_off + cuda.blockIdx.x] = total

    @cuda.jit
    def batch_cost(F, I, D, shape, offsets, gather, out_act, penalty, update, betas):
        """One block: the batch's loss sum and dZ[L] = A[L] - Y; adds to the epoch's cost.

        shape = (n_out, mb); offsets = (z, yt, dz, cost, w): Z[L] is (n_out, mb), Y is
        stored transposed (one row per example, gathered through I when g_on),
        dz < 0 skips dZ; w >= 0: the sample weights (one per example, gathered like Y),
        each column's loss times its weight and dZ = (w mb / W_b) (A - Y), W_b the batch's
        weight sum (the update's 1 / mb then makes it w / W_b; 0 when W_b is 0).
        penalty = (l2 / (2 W), part_off, n_parts): the L2 term, from the partial sums of
        squares, weighted by the batch size (its weight sum W_b with weights).
        update = (scalars, rates, t0, n_batches): thread 0 writes this batch's update
        scalars at F[scalars:] (skipped if scalars < 0): the epoch's rate D[rates + epoch]
        and, for Adam (betas = (beta1, beta2) in float64), 1 - beta**t with
        t = t0 + epoch * n_batches, in float64 rounded to F's dtype.
        """
        n_out, mb = shape
        z_off, yt_off, dz_off, cost_off, w_off = offsets
        g_on, g_base, g_stride = gather
        coef, part_off, n_parts = penalty
        shared = cuda.shared.array(RT, float64)
        t = cuda.threadIdx.x
        stop = I[STOP]
        start_bad = I[START_BAD]
        epoch = I[EPOCH]
        cuda.syncthreads()  # every thread has read the flags before any is written
        if stop != 0:
            return
        if start_bad != 0:  # parameters not finite at the epoch start: stop here
            if t == 0:
                I[STOP] = 1
            return
        scalars_off, rates_off, t0, n_batches = update
        if t == 0 and scalars_off >= 0:  # read by this batch's update products, launched later
            F[scalars_off + SCALAR_LR] = D[rates_off + epoch]
            step = t0 + epoch * n_batches
            F[scalars_off + SCALAR_C1] = ONE64 - betas[0] ** step
            F[scalars_off + SCALAR_C2] = ONE64 - betas[1] ** step
        share = ZERO64 + mb  # the batch's part of the examples: its size or its weight sum
        ratio = ONE
        if w_off >= 0:
            part = ZERO64
            for j in range(t, mb, RT):
                part += F[w_off + (I[g_base + epoch * g_stride + j] if g_on else j)]
            share = block_sum(shared, part)
            ratio = to_dtype(mb / share) if share > ZERO64 else ZERO
        acc = ZERO64
        for j in range(t, mb, RT):
            col = I[g_base + epoch * g_stride + j] if g_on else j
            y_row = yt_off + col * n_out
            wl, scale = ONE64, ONE
            if w_off >= 0:
                wl = ONE64 * F[w_off + col]
                scale = F[w_off + col] * ratio
            if out_act == SOFTMAX:
                zmax = F[z_off + j]
                for r in range(1, n_out):
                    zmax = max(zmax, F[z_off + r * mb + j])
                s = ZERO
                for r in range(n_out):
                    s += math.exp(F[z_off + r * mb + j] - zmax)
                log_sum_exp = zmax + math.log(s)
                for r in range(n_out):
                    z = F[z_off + r * mb + j]
                    y = F[y_row + r]
                    acc += wl * (y * (log_sum_exp - z))
                    if dz_off >= 0:
                        F[dz_off + r * mb + j] = (math.exp(z - zmax) / s - y) * scale
            else:
                for r in range(n_out):
                    z = F[z_off + r * mb + j]
                    y = F[y_row + r]
                    if out_act == SIGMOID:
                        acc += wl * (max(z, ZERO) - y * z + math.log1p(math.exp(-abs(z))))
                        a = sigmoid(z)
                    else:  # linear output, half squared error
                        a = z
                        d = a - y
                        acc += wl * (HALF64 * (d * d))
                    if dz_off >= 0:
                        F[dz_off + r * mb + j] = (a - y) * scale
        loss = block_sum(shared, acc)
        pen = ZERO64
        if coef != ZERO64:
            part = ZERO64
            for p in range(t, n_parts, RT):
                part += D[part_off + p]
            pen = block_sum(shared, part) * coef
        if t == 0:
            total = D[cost_off + epoch] + pen * share
            total += loss
            D[cost_off + epoch] = total
            if not is_finite(total):
                I[STOP] = 1
                I[DIVERGED] = 1

    @cuda.jit
    def epoch_start(F, I, D, theta_off, saved_off, n, cost_off):
        """Keep the parameters as the epoch's restore point, or restore them if not finite."""
        if I[STOP] != 0:
            return
        bad = I[BAD]
        for i in range(cuda.grid(1), n, cuda.gridsize(1)):
            if bad != 0:
                F[theta_off + i] = F[saved_off + i]
            else:
                F[saved_off + i] = F[theta_off + i]
        if cuda.grid(1) == 0:
            I[START_BAD] = bad
            if bad == 0:
                D[cost_off + I[EPOCH]] = ZERO64

    @cuda.jit
    def epoch_end(F, I, theta_off, saved_off, n):
        """After a diverged epoch put the epoch-start parameters back; count the epoch."""
        if I[DIVERGED] != 0:
            for i in range(cuda.grid(1), n, cuda.gridsize(1)):
                F[theta_off + i] = F[saved_off + i]
        if cuda.grid(1) == 0:
            I[EPOCH] += 1

    k.update(
        elementwise=elementwise,
        momentum_step=momentum_step,
        adam_step=adam_step,
        softmax_columns=softmax_columns,
        sum_squares=sum_squares,
        batch_cost=batch_cost,
        epoch_start=epoch_start,
        epoch_end=epoch_end,
        activate=activate,
        derivative_from_a=derivative_from_a,
        is_finite=is_finite,
    )
    return k


@cache
def epilogue_kernels(dtype, reduce_threads):
    """The per-element epilogue of a product, and the split-K reduction that applies it."""
    dtype = np.dtype(dtype).type
    ZERO = dtype(0)
    ew = elementwise_kernels(dtype, reduce_threads)
    activate, derivative_from_a, is_finite = (
        ew["activate"],
        ew["derivative_from_a"],
        ew["is_finite"],
    )

    @cuda.jit(device=True)
    def epilogue(F, I, row, col, N, v, ep, fp):
        """Finish element (row, col) of an M x NC product; NC = N + 1 carries a bias column.

        ep = (mode, act, out, aux, vec, v_out, v_vec, ws, scalars, s_shift), offsets
        into F of (M, N) outputs and their length-M companions; an update reads
        its learning rate (and Adam its bias corrections) at ``scalars`` (fp's lr
        where scalars < 0), and Adam's second moments lie ``s_shift`` after the
        first. fp = (1/m, l2/m_total, lr, beta1, 1 - beta1, beta2, 1 - beta2, eps).
        """
        mode, act, out_off, aux_off, vec_off, v_off, vb_off, ws_off, sc_off, s_shift = ep
        inv_m, l2c, lr, beta, one_minus_beta, beta2, one_minus_beta2, eps = fp
        at = row * N + col
        if mode == STORE:
            F[out_off + at] = v
        elif mode == FORWARD:  # Z = W A_prev + b, A = g(Z)
            z = v + F[vec_off + row]
            if aux_off >= 0:
                F[aux_off + at] = z
            F[out_off + at] = activate(z, act)
        elif mode == BACKWARD_DZ:  # dZ_prev = (W^T dZ) * g'(Z_prev), from A_prev
            F[out_off + at] = v * derivative_from_a(F[aux_off + at], act)
        elif mode == GRADIENT:  # dW = dZ A_prev^T / m + (l2 / m_total) W, db = rowsum(dZ) / m
            if col < N:
                g = v * inv_m
                if l2c != ZERO:
                    g += F[aux_off + at] * l2c
                F[out_off + at] = g
            else:
                F[vec_off + row] = v * inv_m
        else:  # UPDATE, ADAM_UPDATE: the gradient as above, then the step, in place
            if col < N:
                p = out_off + at
                q = v_off + at
                g = v * inv_m
                if l2c != ZERO:
                    g += F[p] * l2c
            else:
                p = vec_off + row
                q = vb_off + row
                g = v * inv_m
            if sc_off >= 0:
                lr = F[sc_off + SCALAR_LR]
            vel = F[q] * beta + one_minus_beta * g
            F[q] = vel
            if mode == UPDATE:
                new = F[p] - lr * vel
            else:  # the course's Adam: vel is v; s = beta2 s + (1 - beta2) g^2
                r = q + s_shift
                sq = F[r] * beta2 + one_minus_beta2 * (g * g)
                F[r] = sq
                v_hat = vel / F[sc_off + SCALAR_C1]
                s_hat = sq / F[sc_off + SCALAR_C2]
                new = F[p] - lr * v_hat / (math.sqrt(s_hat) + eps)
            F[p] = new
            if not is_finite(new):
                I[BAD] = 1

    @cuda.jit
    def splitk_reduce(F, I, dims, splits, ep, fp):
        """Sum the split-K partial products (in split order) and apply the epilogue."""
        if I[STOP] != 0:
            return
        M, N, NC = dims
        ws_off = ep[7]
        n = M * NC
        for e in range(cuda.grid(1), n, cuda.gridsize(1)):
            v = ZERO
            for s in range(splits):
                v += F[ws_off + s * n + e]
            epilogue(F, I, e // NC, e % NC, N, v, ep, fp)

    return epilogue, splitk_reduce


@cache
def gemm_kernel(dtype, tile, reduce_threads, trans_a=False, trans_b=False):
    """The tiled shared-memory product C = op(A) op(B) with a fused epilogue.

    op(A)(i, k) is A[i, k] or, with ``trans_a``, A[k, i]; op(B)(k, j) likewise;
    the two forms are compile-time constants (one kernel per form), so staging
    addresses are a per-thread base plus one multiply-add a stage. B's storage
    rows may be gathered through I (a mini-batch taken from X stored one example
    per row). Column N of op(B), when NC = N + 1, is all ones, so that column N
    of the product is the row sum of op(A): db comes with dW.

    Each block computes a BM x BN tile of C over its share of K (blockIdx.z:
    split-K, partial sums to a work space). Tiles of op(A) and op(B) are staged
    in shared memory, BK deep, k-major, in two buffers (one barrier a stage);
    the next stage is fetched into registers while this one is used. Blocks
    and stages wholly inside the operands load without bounds checks; only
    edge tiles pay them. Each thread keeps a TM x TN register tile (see
    TileShape.VEC for its layout).
    """
    dtype = np.dtype(dtype).type
    nbtype = from_dtype(np.dtype(dtype))
    ZERO, ONE = dtype(0), dtype(1)
    BM, BN, BK, TM, TN, VEC, MIN_BLOCKS = tile
    TX, TY = BN // TN, BM // TM
    THREADS = TX * TY
    TX_SHIFT = TX.bit_length() - 1
    assert 1 << TX_SHIFT == TX and THREADS & (THREADS - 1) == 0, tile
    ACC = TM * TN  # register-tile size (a named constant: array shapes must be literals)
    A_LOADS, B_LOADS = BM * BK // THREADS, BN * BK // THREADS
    assert A_LOADS * THREADS == BM * BK and B_LOADS * THREADS == BN * BK, tile
    # Staging: consecutive threads read consecutive storage elements; each thread
    # keeps one coordinate fixed and steps the other by a constant per load.
    STEP_A = THREADS // BM if trans_a else THREADS // BK  # k (trans) or i per load
    STEP_B = THREADS // BK if trans_b else THREADS // BN  # j (trans) or k per load
    assert THREADS % (BM if trans_a else BK) == 0 and THREADS % (BK if trans_b else BN) == 0, tile
    if VEC:  # row strides keep 16-byte alignment; stores conflict at most 2-way
        LDA_S, LDB_S = BM + 4, BN + 4
        ROW_STEP, ROW_SPAN, COL_STEP, COL_SPAN = 1, TM, 1, TN
    else:  # odd row strides: transposing stores hit distinct banks
        LDA_S, LDB_S = BM + 1, BN + 1
        ROW_STEP, ROW_SPAN, COL_STEP, COL_SPAN = TY, 1, TX, 1
    ALIGN = 16 if SHARED_ALIGNMENT else None
    epilogue, _ = epilogue_kernels(dtype, reduce_threads)
    options, inline = {}, {}
    if not config.ENABLE_CUDASIM:  # fetch writes ra, rb: inlined, they stay in registers
        inline["forceinline"] = True
    if MIN_BLOCKS and not config.ENABLE_CUDASIM:  # caps registers at 64K / (THREADS * MIN_BLOCKS)
        options["launch_bounds"] = (THREADS, MIN_BLOCKS)

    @cuda.jit(device=True, **inline)
    def fetch(
        F,
        I,
        ra,
        rb,
        k0,
        fast,
        a_base,
        lda,
        a_i,
        a_k,
        M,
        b_base,
        ldb,
        brow,
        b_j,
        b_k,
        g_on,
        g_base,
        col0,
        N,
        NC,
        k_end,
    ):
        """Stage k0..k0+BK of op(A) and op(B) into the registers ra, rb."""
        if fast:  # the block's rows and columns and the whole stage are inside
            for s in range(A_LOADS):
                if trans_a:
                    ra[s] = F[a_base + (k0 + s * STEP_A) * lda]
                else:
                    ra[s] = F[a_base + s * STEP_A * lda + k0]
            for s in range(B_LOADS):
                if trans_b:
                    rb[s] = F[brow[s] + k0]
                elif g_on:
                    rb[s] = F[b_base + I[g_base + k0 + b_k + s * STEP_B] * ldb]
                else:
                    rb[s] = F[b_base + (k0 + b_k + s * STEP_B) * ldb]
            return
        for s in range(A_LOADS):
            v = ZERO
            if trans_a:
                if a_i < M and k0 + a_k + s * STEP_A < k_end:
                    v = F[a_base + (k0 + s * STEP_A) * lda]
            else:
                if a_i + s * STEP_A < M and k0 + a_k < k_end:
                    v = F[a_base + s * STEP_A * lda + k0]
            ra[s] = v
        for s in range(B_LOADS):
            v = ZERO
            if trans_b:
                j = col0 + b_j + s * STEP_B
                if j < NC and k0 + b_k < k_end:
                    v = F[brow[s] + k0] if j < N else ONE
            else:
                j = col0 + b_j
                k = k0 + b_k + s * STEP_B
                if j < NC and k < k_end:
                    if j >= N:
                        v = ONE  # the bias column
                    elif g_on:
                        v = F[b_base + I[g_base + k] * ldb]
                    else:
                        v = F[b_base + k * ldb]
            rb[s] = v

    @cuda.jit(**options)
    def gemm(F, I, dims, a_op, b_op, gather, ep, fp):
        """dims = (M, N, NC, K, k_chunk); a_op, b_op = (offset, leading dimension,
        transposed: must match the kernel's form); gather = (on, base, per-epoch
        stride); ep, fp: the epilogue's."""
        if I[STOP] != 0:
            return
        M, N, NC, K, k_chunk = dims
        g_on, g_base, g_stride = gather
        if g_on:
            g_base += I[EPOCH] * g_stride
        a_off, lda, _ = a_op
        b_off, ldb, _ = b_op
        As = cuda.shared.array((2, BK, LDA_S), nbtype, alignment=ALIGN)
        Bs = cuda.shared.array((2, BK, LDB_S), nbtype, alignment=ALIGN)
        acc = cuda.local.array(ACC, nbtype)
        fa = cuda.local.array(TM, nbtype)
        fb = cuda.local.array(TN, nbtype)
        ra = cuda.local.array(A_LOADS, nbtype)
        rb = cuda.local.array(B_LOADS, nbtype)
        brow = cuda.local.array(B_LOADS, np.int64)
        t = cuda.threadIdx.x & (THREADS - 1)  # provably in range: no negative-index wrap
        ty = t >> TX_SHIFT
        tx = t & (TX - 1)  # TX is a power of two; known low bits keep vector loads aligned
        a_first = ty * ROW_SPAN  # this thread's rows: a_first + i * ROW_STEP
        b_first = tx * COL_SPAN  # and columns: b_first + j * COL_STEP
        row0 = cuda.blockIdx.y * BM
        col0 = cuda.blockIdx.x * BN
        k_begin = cuda.blockIdx.z * k_chunk
        k_end = min(K, k_begin + k_chunk)
        # This thread's staging coordinates and base addresses (k0 added per stage).
        if trans_a:
            a_i = t % BM
            a_k = t // BM
            a_base = a_off + a_k * lda + row0 + a_i
        else:
            a_k = t % BK
            a_i = t // BK
            a_base = a_off + (row0 + a_i) * lda + a_k
        a_i += row0  # from here a row of C (fetch's bounds); a_i - row0 is the tile row
        if trans_b:
            b_k = t % BK
            b_j = t // BK
            for s in range(B_LOADS):
                j = col0 + b_j + s * STEP_B
                r = j
                if g_on and j < N:
                    r = I[g_base + j]
                brow[s] = b_off + r * ldb + b_k
            b_base = b_off
        else:
            b_j = t % BN
            b_k = t // BN
            b_base = b_off + col0 + b_j
        inner = row0 + BM <= M and col0 + BN <= N
        for i in range(TM):
            for j in range(TN):
                acc[i * TN + j] = ZERO
        n_stages = (k_end - k_begin + BK - 1) // BK
        if n_stages > 0:
            fetch(
                F,
                I,
                ra,
                rb,
                k_begin,
                inner and k_begin + BK <= k_end,
                a_base,
                lda,
                a_i,
                a_k,
                M,
                b_base,
                ldb,
                brow,
                b_j,
                b_k,
                g_on,
                g_base,
                col0,
                N,
                NC,
                k_end,
            )
        for stage in range(n_stages):
            buf = stage & 1
            # This buffer was last read two stages ago, before the previous barrier.
            if trans_a:
                for s in range(A_LOADS):
                    As[buf, a_k + s * STEP_A, a_i - row0] = ra[s]
            else:
                for s in range(A_LOADS):
                    As[buf, a_k, a_i - row0 + s * STEP_A] = ra[s]
            if trans_b:
                for s in range(B_LOADS):
                    Bs[buf, b_k, b_j + s * STEP_B] = rb[s]
            else:
                for s in range(B_LOADS):
                    Bs[buf, b_k + s * STEP_B, b_j] = rb[s]
            cuda.syncthreads()
            if stage + 1 < n_stages:  # fetch the next stage while this one is used
                k0 = k_begin + (stage + 1) * BK
                fetch(
                    F,
                    I,
                    ra,
                    rb,
                    k0,
                    inner and k0 + BK <= k_end,
                    a_base,
                    lda,
                    a_i,
                    a_k,
                    M,
                    b_base,
                    ldb,
                    brow,
                    b_j,
                    b_k,
                    g_on,
                    g_base,
                    col0,
                    N,
                    NC,
                    k_end,
                )
            for kk in range(BK):
                for i in range(TM):
                    fa[i] = As[buf, kk, a_first + i * ROW_STEP]
                for j in range(TN):
                    fb[j] = Bs[buf, kk, b_first + j * COL_STEP]
                for i in range(TM):
                    for j in range(TN):
                        acc[i * TN + j] += fa[i] * fb[j]
        # Stage the register tile in a second array, read back with run-time
        # indices: only constant indices ever touch acc, so it stays in registers
        # while the epilogue loop stays small.
        out = cuda.local.array(ACC, nbtype)
        for i in range(TM):
            for j in range(TN):
                out[i * TN + j] = acc[i * TN + j]
        split = cuda.blockIdx.z
        splits = cuda.gridDim.z
        ws_off = ep[7]
        for idx in range(ACC):
            row = row0 + a_first + (idx // TN) * ROW_STEP
            col = col0 + b_first + (idx % TN) * COL_STEP
            if row < M and col < NC:
                if splits > 1:
                    F[ws_off + (split * M + row) * NC + col] = out[idx]
                else:
                    epilogue(F, I, row, col, N, out[idx], ep, fp)

    return gemm
