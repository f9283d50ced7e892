"""A tree reduction of futures: partial sums are added where they live, level by level.

With ``fan_in`` f and P partitions, the tree has ceil(log_f P) levels; no task
ever receives more than f inputs, so no node (and never the client) receives
every partition's result. The grouping depends only on the partitions' order,
so the sum is the same, bit for bit, however often Dask recomputes a task.
"""

from .worker import add


def tree_reduce(client, futures, fan_in=4):
    """One future holding ``add`` of all ``futures`` (the future itself when there is one)."""
    if fan_in < 2:
        raise ValueError(f"fan_in must be >= 2, got {fan_in!r}")
    level = list(futures)
    if not level:
        raise ValueError("nothing to reduce")
    while len(level) > 1:
        level = [group[0] if len(group) == 1 else client.submit(add, *group, pure=False)
                 for group in (level[i:i + fan_in] for i in range(0, len(level), fan_in))]
    return level[0]
