"""fastnn's defaults against scikit-learn's on scikit-learn's bundled data sets.

For each data set (digits, breast_cancer, wine: classifiers, accuracy; diabetes:
regressor, R^2) and each setting, 5 seeds of a 75/25 split (stratified for the
classifiers); the test score's mean ± sd and the median time of a warm fit (a
first fit of each setting is run and discarded: Numba's compilation or cache load).
Each library is used as its user would: fastnn standardizes inside ``fit`` (its
default); scikit-learn's MLP gets the StandardScaler pipeline its docs recommend.

    python scripts/real_data.py            # the table of docs/real_data.md (minutes)
    python scripts/real_data.py --seeds 2  # quicker

Times are wall-clock on whatever machine runs it (shared machines are noisy).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import fastnn

DATA_SETS = {
    "digits": (datasets.load_digits, "classify"),
    "breast_cancer": (datasets.load_breast_cancer, "classify"),
    "wine": (datasets.load_wine, "classify"),
    "diabetes": (datasets.load_diabetes, "regress"),
}

#: The notes' full-batch gradient descent, one argument set away from the defaults.
NOTES_GD = dict(solver="sgd", learning_rate=0.1, batch_size=None)


def settings(task, seed):
    """``{name: estimator}`` for one task and seed."""
    fast = fastnn.MLPClassifier if task == "classify" else fastnn.MLPRegressor
    sk = SkClassifier if task == "classify" else SkRegressor
    notes = dict(NOTES_GD, learning_rate=0.1 if task == "classify" else 0.01)
    return {
        "fastnn defaults": fast(seed=seed),
        "fastnn early_stopping=True": fast(seed=seed, early_stopping=True),
        "fastnn notes' full-batch GD": fast(seed=seed, **notes),
        "scikit-learn defaults": make_pipeline(StandardScaler(), sk(random_state=seed)),
    }


def run(seeds):
    rows = []
    for name, (load, task) in DATA_SETS.items():
        X, y = load(return_X_y=True)
        scores, times = {}, {}
        for seed in range(seeds):
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=0.25, random_state=seed, stratify=y if task == "classify" else None
            )
            for label, model in settings(task, seed).items():
                if seed == 0:  # warm up: compilation, caches
                    _fit(settings(task, seed)[label], X_train, y_train)
                start = time.perf_counter()
                _fit(model, X_train, y_train)
                times.setdefault(label, []).append(time.perf_counter() - start)
                scores.setdefault(label, []).append(model.score(X_test, y_test))
        for label in scores:
            s = np.array(scores[label])
            rows.append(
                (
                    name,
                    "accuracy" if task == "classify" else "R²",
                    label,
                    s.mean(),
                    s.std(ddof=1) if len(s) > 1 else 0.0,
                    float(np.median(times[label])),
                )
            )
            print(_row(rows[-1]), flush=True)
    return rows


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # scikit-learn's max_iter note
        model.fit(X, y)


def _row(row):
    data, measure, label, mean, sd, seconds = row
    return f"| {data} | {measure} | {label} | {mean:.3f} ± {sd:.3f} | {seconds:.3f} |"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    print("| data set | score | settings | test score (mean ± sd) | warm fit (s, median) |")
    print("|---|---|---|---|---|")
    run(args.seeds)


if __name__ == "__main__":
    main()
