"""What early stopping's per-epoch check costs: time per epoch with and without it.

Early stopping runs one kernel call per epoch (instead of chunks of about 0.5 s)
and a forward pass on the validation rows after each. Both fits train on the
same number of rows (the one without early stopping gets the training part of
the split), Adam on mini-batches of 32 (the defaults), numba, float64; the check
never stops the run (``n_iter_no_change`` > epochs). A few warm fits
each, the fits with and without interleaved, the fastest and the median of each
(the machine's other load makes single timings noisy: the fastest is the cleaner figure).

    python scripts/early_stopping_overhead.py
"""

import time

import numpy as np

import fastnn

PROBLEMS = {  # name: (rows, features, hidden, epochs)
    "mid-size (20000 x 100, 256-128)": (20000, 100, (256, 128), 2),
    "small (1797 x 64, 100): digits-sized": (1797, 64, (100,), 100),
}
FRACTION, REPEATS = 0.1, 5


def seconds_per_epoch(pairs, epochs):
    """``[(fastest, median)]`` seconds per epoch of each ``(model, X, y)``, fitted in turn
    (interleaved: the machine's load falls on both alike)."""
    for model, X, y in pairs:
        model.set_params(epochs=1).fit(X, y)  # compilation, caches
        model.set_params(epochs=epochs)
    times = [[] for _ in pairs]
    for _ in range(REPEATS):
        for (model, X, y), kept in zip(pairs, times):
            start = time.perf_counter()
            model.fit(X, y)
            kept.append((time.perf_counter() - start) / epochs)
    return [(min(t), float(np.median(t))) for t in times]


def main():
    print(
        "| problem | without (ms/epoch, fastest / median) | with early stopping | "
        "ratio of the fastest |"
    )
    print("|---|---|---|---|")
    for name, (m, n, hidden, epochs) in PROBLEMS.items():
        rng = np.random.default_rng(0)
        X = rng.standard_normal((m, n))
        y = (X[:, :3].sum(axis=1) + 0.5 * rng.standard_normal(m) > 0).astype(int)
        kept = m - int(round(FRACTION * m))
        plain = fastnn.MLPClassifier(hidden=hidden, seed=0)
        checked = fastnn.MLPClassifier(
            hidden=hidden,
            seed=0,
            early_stopping=True,
            validation_fraction=FRACTION,
            n_iter_no_change=10**6,
        )
        (a, a_median), (b, b_median) = seconds_per_epoch(
            [(plain, X[:kept], y[:kept]), (checked, X, y)], epochs
        )
        print(
            f"| {name} | {1e3 * a:.2f} / {1e3 * a_median:.2f} | {1e3 * b:.2f} / "
            f"{1e3 * b_median:.2f} | {b / a:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
