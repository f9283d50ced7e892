"""Host side of the CUDA variant: the device check, the arena, tile choice and launches.

On a GPU the products use three tile shapes (the largest that still gives the
chip about two blocks per multiprocessor, with split-K when even the smallest
does not; the shapes and their measured rates on an H200 are in docs/gpu_results.md);
under the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``), where every
thread is a Python thread, the same code runs with tiny tiles and blocks.
"""

from functools import lru_cache

import numpy as np
from numba import config, cuda

# numba-cuda 0.30 registers an overload of np.row_stack, which NumPy 2.5 removed: its
# first kernel compilation fails without this alias (seen on the GPU machine's image).
if not hasattr(np, "row_stack"):
    np.row_stack = np.vstack

from . import cuda_kernels as ck

#: True under Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1).
SIMULATOR = bool(config.ENABLE_CUDASIM)

if not cuda.is_available():
    raise ImportError(
        "no CUDA GPU is available (numba.cuda.is_available() is False); the 'cuda' kernel "
        "variant needs an NVIDIA GPU with its driver, or the CUDA simulator "
        "(set NUMBA_ENABLE_CUDASIM=1 before numba is imported)"
    )

if SIMULATOR:
    #: Tile shapes, largest first.
    TILES = (ck.TileShape(8, 8, 4, 2, 2), ck.TileShape(4, 4, 4, 1, 1))
    TILES_FLOAT32 = TILES
    THREADS = 16  # threads per block of the element-wise and reducing kernels
    MAX_BLOCKS = 4  # grid-stride kernels use at most this many blocks
    SM_COUNT = 1
    MIN_STAGES_PER_SPLIT = 2  # so that split-K runs on the tests' small shapes
else:
    TILES = (
        ck.TileShape(128, 128, 8, 8, 8, VEC=True),
        ck.TileShape(64, 64, 16, 4, 4),
        ck.TileShape(32, 32, 32, 2, 2),
    )
    # Float32: the fastest candidate of the H200 run (63% of cuBLAS FP32 at 4096^2, two
    # blocks a multiprocessor; docs/gpu_results.md). Float64 keeps the 8-deep stage (its
    # 8x8 register tile takes twice the registers; checked on the H200, not timed).
    TILES_FLOAT32 = (ck.TileShape(128, 128, 16, 8, 8, VEC=True, MIN_BLOCKS=2),) + TILES[1:]
    THREADS = 256
    SM_COUNT = getattr(cuda.get_current_device(), "MULTIPROCESSOR_COUNT", 80)
    MAX_BLOCKS = 8 * SM_COUNT
    MIN_STAGES_PER_SPLIT = 8

#: Tile shapes the GPU check verifies (three forms) and times on a 4096^2 float32 product;
#: it then times the workloads with the fastest 128-row one as the float32 default. The
#: registers a thread in the A B form (ptxas 13.0, sm_90): 128x128x8 115, 128x128x16 114
#: (A B^T: 149; MIN_BLOCKS=2 caps it at 128 with a 24-byte spill), 128x64x16 80,
#: 64x64x16 52: two or more blocks of 256 threads a multiprocessor (64K registers).
GPU_TILES = (
    ck.TileShape(128, 128, 8, 8, 8, VEC=True),
    ck.TileShape(64, 64, 16, 4, 4),
    ck.TileShape(32, 32, 32, 2, 2),
    ck.TileShape(128, 128, 16, 8, 8, VEC=True),
    ck.TileShape(128, 128, 16, 8, 8, VEC=True, MIN_BLOCKS=2),
    ck.TileShape(128, 64, 8, 8, 4, VEC=True),
    ck.TileShape(128, 64, 16, 8, 4, VEC=True),
)

TARGET_BLOCKS = 2 * SM_COUNT  # enough blocks to fill the chip
MAX_SPLITS = 32
PARTS = min(MAX_BLOCKS, TARGET_BLOCKS)  # blocks (partial sums) of the sum-of-squares reduction
ALIGN = 32  # arena offsets are multiples of 32 elements (128 bytes in f32)


def elementwise(dtype):
    return ck.elementwise_kernels(np.dtype(dtype).type, THREADS)


def gemm_kernel(dtype, tile, trans_a=False, trans_b=False):
    return ck.gemm_kernel(np.dtype(dtype).type, tile, THREADS, bool(trans_a), bool(trans_b))


def splitk_kernel(dtype):
    return ck.epilogue_kernels(np.dtype(dtype).type, THREADS)[1]


def grid_for(n):
    """Blocks for a grid-stride loop over n elements."""
    return max(1, min(MAX_BLOCKS, ceil_div(n, THREADS)))


# ---------------------------------------------------------------------------
# The arena: every operand of a call in one device buffer, addressed by offsets
# ---------------------------------------------------------------------------


class Arena:
    """Reserve regions, put host arrays in them, upload once, read regions back."""

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        self.size = 0
        self._inputs = []
        self.device = None

    def reserve(self, n):
        offset = self.size
        self.size += ceil_div(max(int(n), 1), ALIGN) * ALIGN
        return offset

    def put(self, array, transposed=False):
        """A region holding ``array`` (``array.T`` when ``transposed``, copied straight
        into the arena: a data set is transposed once, without a temporary)."""
        offset = self.reserve(array.size)
        self._inputs.append((offset, array, transposed))
        return offset

    def upload(self, stream=0):
        host = np.empty(self.size, dtype=self.dtype)
        filled = np.zeros(self.size // ALIGN, dtype=bool)
        for offset, array, transposed in self._inputs:
            shape = array.shape[::-1] if transposed else array.shape
            view = host[offset : offset + array.size].reshape(shape)
            view[...] = array.T if transposed else array
            filled[offset // ALIGN : ceil_div(offset + array.size, ALIGN)] = True
        # Everything else is poisoned with NaN: a region read before it is written
        # shows in the result.
        for start, stop in _runs(~filled):
            host[start * ALIGN : stop * ALIGN] = np.nan
        self._inputs = []
        self.device = cuda.to_device(host, stream=stream)
        return self.device

    def read(self, offset, shape):
        n = int(np.prod(shape))
        return self.device[offset : offset + n].copy_to_host().reshape(shape)

    def write(self, offset, array):
        """Copy a host array into an uploaded arena region."""
        flat = np.ascontiguousarray(array, dtype=self.dtype).ravel()
        self.device[offset : offset + flat.size].copy_to_device(flat)


def _runs(mask):
    """(start, stop) of each run of True in a boolean array."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.view(np.int8), [0]))))
    return zip(edges[::2], edges[1::2])


def state_array(extra=None):
    """The int64 buffer I: the run state (all clear), then ``extra`` (the orders)."""
    host = np.zeros(ck.STATE_SIZE + (0 if extra is None else extra.size), dtype=np.int64)
    if extra is not None:
        host[ck.STATE_SIZE :] = extra.ravel()
    return host


# ---------------------------------------------------------------------------
# Products
# ---------------------------------------------------------------------------


def tiles_for(dtype):
    """The tile shapes, largest first, of products in ``dtype``."""
    return TILES_FLOAT32 if np.dtype(dtype) == np.float32 else TILES


@lru_cache(maxsize=4096)
def plan_product(M, NC, K, tile=None, dtype=np.float64):
    """(tile, splits, k_chunk) for an M x NC product over K.

    The largest tile shape that gives TARGET_BLOCKS blocks, splitting K (each
    split at least MIN_STAGES_PER_SPLIT stages deep) where the tiles alone are
    too few; failing that, the shape with the most blocks.
    """
    choices = []
    for candidate in tiles_for(dtype) if tile is None else (tile,):
        blocks = ceil_div(M, candidate.BM) * ceil_div(NC, candidate.BN)
        splits = 1
        if blocks < TARGET_BLOCKS:
            splits = max(
                1,
                min(
                    MAX_SPLITS,
                    ceil_div(TARGET_BLOCKS, blocks),
                    ceil_div(K, candidate.BK) // MIN_STAGES_PER_SPLIT,
                ),
            )
        if blocks * splits >= TARGET_BLOCKS:
            choices = [(blocks * splits, candidate, splits)]
            break
        choices.append((blocks * splits, candidate, splits))
    _, tile, splits = max(choices, key=lambda choice: choice[0])  # ties: the larger tile
    stages = max(1, ceil_div(K, tile.BK))
    k_chunk = ceil_div(stages, splits) * tile.BK
    splits = max(1, ceil_div(K, k_chunk))
    return tile, splits, k_chunk


class Product:
    """One planned launch (or two, with split-K) of C = op(A) op(B) + epilogue.

    The arguments are built once, so a training loop only calls ``launch``.
    ``workspace`` is the arena offset of split-K partials (``workspace_size``
    elements are needed there).
    """

    def __init__(
        self,
        dtype,
        M,
        N,
        K,
        a_op,
        b_op,
        ep,
        fp,
        bias_column=False,
        gather=(0, 0, 0),
        tile=None,
        workspace=-1,
    ):
        NC = N + 1 if bias_column else N
        self.tile, self.splits, k_chunk = plan_product(M, NC, K, tile, dtype)
        self.workspace_size = M * NC * self.splits if self.splits > 1 else 0
        # ep: 7 offsets, the work space, then an update's (scalars, s_shift); fp: 5 numbers,
        # then Adam's (beta2, 1 - beta2, eps). Products that are no update leave them out.
        ep = (
            tuple(int(x) for x in ep[:7])
            + (int(workspace),)
            + tuple(int(x) for x in _padded(ep[7:], (-1, 0)))
        )
        fp = tuple(np.dtype(dtype).type(x) for x in fp[:5] + _padded(fp[5:], (0, 1, 0)))
        self.kernel = gemm_kernel(dtype, self.tile, a_op[2], b_op[2])
        self.grid = (ceil_div(NC, self.tile.BN), ceil_div(M, self.tile.BM), self.splits)
        self.block = ck.threads_per_block(self.tile)
        self.args = (
            (int(M), int(N), int(NC), int(K), int(k_chunk)),
            tuple(int(x) for x in a_op),
            tuple(int(x) for x in b_op),
            tuple(int(x) for x in gather),
            ep,
            fp,
        )
        if self.splits > 1:
            self.reduce = splitk_kernel(dtype)
            self.reduce_grid = grid_for(M * NC)
            self.reduce_args = ((int(M), int(N), int(NC)), int(self.splits), ep, fp)

    def needs_workspace(self):
        return self.splits > 1

    def launch(self, F, I, stream=0):
        self.kernel[self.grid, self.block, stream](F, I, *self.args)
        if self.splits > 1:
            self.reduce[self.reduce_grid, THREADS, stream](F, I, *self.reduce_args)


def planned_product(
    dtype,
    arena,
    M,
    N,
    K,
    a_op,
    b_op,
    ep,
    fp=(1, 0, 0, 0, 1),
    bias_column=False,
    gather=(0, 0, 0),
    tile=None,
):
    """A Product whose split-K work space (if any) is reserved in the (not yet uploaded) arena."""
    product = Product(dtype, M, N, K, a_op, b_op, ep, fp, bias_column, gather, tile)
    if product.needs_workspace():
        workspace = arena.reserve(product.workspace_size)
        product = Product(dtype, M, N, K, a_op, b_op, ep, fp, bias_column, gather, tile, workspace)
    return product


def _padded(values, defaults):
    """``values`` followed by the ``defaults`` it lacks."""
    values = tuple(values)
    return values + tuple(defaults[len(values) :])


def ceil_div(a, b):
    return -(-a // b)
