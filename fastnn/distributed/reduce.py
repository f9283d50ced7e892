"""A tree reduction: partial sums are added where they live, level by level.

With ``fan_in`` f and P partitions the tree has ceil(log_f P) levels; no task
ever receives more than f inputs, so no node (and never the client) receives
every partition's result. The grouping depends only on the partitions' order,
so the sum is the same, bit for bit, however often Dask recomputes a task.

The tree is built from ``dask.delayed`` objects, so that a whole step (the
partitions' tasks and the tree above them) reaches the scheduler as one graph.
"""

from dask import delayed

from .worker import add


def tree_reduce(items, fan_in=4):
    """A delayed ``add`` of all ``items`` (delayed objects or futures), as a tree."""
    if fan_in < 2:
        raise ValueError(f"fan_in must be >= 2, got {fan_in!r}")
    level = list(items)
    if not level:
        raise ValueError("nothing to reduce")
    combine = delayed(add, pure=False)
    while len(level) > 1:
        level = [
            group[0] if len(group) == 1 else combine(*group)
            for group in (level[i : i + fan_in] for i in range(0, len(level), fan_in))
        ]
    return level[0]
