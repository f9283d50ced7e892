"""Small data sets generated in code (nothing is downloaded).

Rows are examples, as in the estimators: ``X.shape == (m, n_features)``.
"""

from __future__ import annotations

import numpy as np


def planar(
    m: int = 400, seed: int | None = 1, noise: float = 0.2, petals: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """The notes' course "flower": two classes of points on the petals of a rose.

    Returns ``X`` of shape ``(m, 2)`` (float64) and ``y`` of shape ``(m,)``
    (int64, 0 or 1). Half the points (rounded down) are of class 0.
    """
    if int(m) != m or m < 2:
        raise ValueError(f"m must be an integer >= 2, got {m!r}")
    m = int(m)
    rng = np.random.default_rng(seed)
    X = np.empty((m, 2))
    y = np.empty(m, dtype=np.int64)
    radius = 4.0  # the longest petal
    counts = (m // 2, m - m // 2)
    start = 0
    for label, count in enumerate(counts):
        rows = slice(start, start + count)
        theta = (
            np.linspace(label * 3.12, (label + 1) * 3.12, count)
            + rng.standard_normal(count) * noise
        )
        r = radius * np.sin(petals * theta) + rng.standard_normal(count) * noise
        X[rows, 0] = r * np.sin(theta)
        X[rows, 1] = r * np.cos(theta)
        y[rows] = label
        start += count
    return X, y


def blobs(
    m: int = 300, n_features: int = 2, centers: int = 3, spread: float = 1.0, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs around ``centers`` random centres; returns ``X (m, n_features)``,
    ``y (m,)``."""
    if int(m) != m or m < 1:
        raise ValueError(f"m must be an integer >= 1, got {m!r}")
    rng = np.random.default_rng(seed)
    means = rng.uniform(-8, 8, size=(centers, n_features))
    y = rng.integers(0, centers, size=int(m))
    X = means[y] + spread * rng.standard_normal((int(m), n_features))
    return X, y
