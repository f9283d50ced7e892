"""The ``fastnn`` command line: train/predict round trips on small CSV files, the
error cases with their exit status, and complete ``--help``."""

import csv
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn import cli
from fastnn.datasets import planar

needs_estimators = pytest.mark.skipif(
    not all(hasattr(fastnn, name) for name in ("MLPClassifier", "MLPRegressor", "save", "load")),
    reason="fastnn's estimators and save/load have not landed on this checkout")

# numpy backend: no compilation, so these tests stay fast; the numba backend is
# the same API and is tested by the estimator tests.
FAST = ["--backend", "numpy", "--epochs", "300", "--hidden", "4", "--activation", "tanh",
        "--learning-rate", "1.2"]


def write_csv(path, header, rows):
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def read_predictions(path):
    with open(path, newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["prediction"]
    return [row[0] for row in rows[1:]]


@pytest.fixture
def flower_csv(tmp_path):
    """The planar data with string labels, the label column in the middle."""
    X, y = planar(m=120, seed=3)
    labels = np.where(y == 1, "red", "blue")
    rows = [[a, label, b] for (a, b), label in zip(X, labels)]
    return write_csv(tmp_path / "flower.csv", ["x1", "colour", "x2"], rows), X, labels


@needs_estimators
def test_train_then_predict_round_trip(tmp_path, flower_csv, capsys):
    data, X, labels = flower_csv
    model = str(tmp_path / "model.npz")
    preds = str(tmp_path / "preds.csv")
    assert cli.main(["train", "--data", data, "--target", "colour", "--out", model] + FAST) == 0
    assert "saved to" in capsys.readouterr().out
    assert cli.main(["predict", "--model", model, "--data", data, "--out", preds]) == 0
    predicted = read_predictions(preds)
    assert len(predicted) == len(labels) and set(predicted) <= {"red", "blue"}
    # the CLI's predictions are the loaded model's, on the feature columns in order
    loaded = fastnn.load(model)
    assert list(loaded.feature_names_in_) == ["x1", "x2"]
    assert predicted == [str(p) for p in loaded.predict(X)]
    assert np.mean(np.array(predicted) == labels) > 0.7


@needs_estimators
def test_predict_takes_the_columns_by_name_and_writes_to_stdout(tmp_path, flower_csv, capsys):
    data, X, _ = flower_csv
    model = str(tmp_path / "model.npz")
    assert cli.main(["train", "--data", data, "--target", "colour", "--out", model] + FAST) == 0
    capsys.readouterr()
    # other column order, no target column, an extra column
    shuffled = write_csv(tmp_path / "new.csv", ["note", "x2", "x1"],
                         [["n", b, a] for a, b in X[:10]])
    assert cli.main(["predict", "--model", model, "--data", shuffled]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "prediction"
    assert lines[1:] == [str(p) for p in fastnn.load(model).predict(X[:10])]


@needs_estimators
def test_regression_round_trip(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 3.0
    data = write_csv(tmp_path / "reg.csv", ["a", "b", "c", "y"], np.column_stack([X, y]))
    model = str(tmp_path / "reg.npz")
    preds = str(tmp_path / "preds.csv")
    assert cli.main(["train", "--data", data, "--target", "y", "--task", "regress",
                     "--out", model, "--backend", "numpy", "--hidden", "", "--epochs", "300",
                     "--learning-rate", "0.1"]) == 0
    assert "R^2" in capsys.readouterr().out
    assert cli.main(["predict", "--model", model, "--data", data, "--out", preds]) == 0
    predicted = np.array(read_predictions(preds), dtype=float)
    np.testing.assert_allclose(predicted, y, atol=0.05 * np.abs(y).max())


def run_error(argv, capsys):
    status = cli.main(argv)
    return status, capsys.readouterr().err


def test_missing_data_file(tmp_path, capsys):
    status, err = run_error(["train", "--data", str(tmp_path / "nope.csv"), "--target", "y",
                             "--out", str(tmp_path / "m.npz")], capsys)
    assert status == 1 and "data file not found" in err and "nope.csv" in err


def test_missing_target_column_lists_the_columns(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", ["a", "b"], [[1, 0], [2, 1]])
    status, err = run_error(["train", "--data", data, "--target", "label",
                             "--out", str(tmp_path / "m.npz")], capsys)
    assert status == 1 and "'label' not found" in err and "a, b" in err


def test_non_numeric_feature_cell_is_named(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", ["a", "b", "y"], [[1, 2, 0], [3, "oops", 1]])
    status, err = run_error(["train", "--data", data, "--target", "y",
                             "--out", str(tmp_path / "m.npz")], capsys)
    assert status == 1 and "line 3" in err and "'b'" in err and "'oops'" in err


def test_empty_cell_and_ragged_row(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", ["a", "y"], [[1, 0], ["", 1]])
    status, err = run_error(["train", "--data", data, "--target", "y",
                             "--out", str(tmp_path / "m.npz")], capsys)
    assert status == 1 and "is not a finite number" in err
    ragged = tmp_path / "r.csv"
    ragged.write_text("a,y\n1,0\n2,1,5\n")
    status, err = run_error(["train", "--data", str(ragged), "--target", "y",
                             "--out", str(tmp_path / "m.npz")], capsys)
    assert status == 1 and "line 3" in err and "3 cells" in err


def test_header_only_file(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", ["a", "y"], [])
    status, err = run_error(["train", "--data", data, "--target", "y",
                             "--out", str(tmp_path / "m.npz")], capsys)
    assert status == 1 and "no rows" in err


def test_non_numeric_regression_target(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", ["a", "y"], [[1, "high"], [2, "low"]])
    status, err = run_error(["train", "--data", data, "--target", "y", "--task", "regress",
                             "--out", str(tmp_path / "m.npz")], capsys)
    assert status == 1 and "'high' is not a finite number" in err


@needs_estimators
def test_estimator_errors_are_reported_not_raised(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", ["a", "y"], [[1, 0], [2, 0], [3, 0]])
    status, err = run_error(["train", "--data", data, "--target", "y", "--backend", "numpy",
                             "--out", str(tmp_path / "m.npz")], capsys)
    assert status == 1 and "training failed" in err


def test_missing_and_corrupt_model_file(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", ["a"], [[1]])
    status, err = run_error(["predict", "--model", str(tmp_path / "none.npz"), "--data", data],
                            capsys)
    assert status == 1 and "model file not found" in err
    if not hasattr(fastnn, "load"):
        return
    corrupt = tmp_path / "bad.npz"
    corrupt.write_bytes(b"not a model at all")
    status, err = run_error(["predict", "--model", str(corrupt), "--data", data], capsys)
    assert status == 1 and "could not load the model" in err


@needs_estimators
def test_predict_with_missing_feature_column(tmp_path, flower_csv, capsys):
    data, _, _ = flower_csv
    model = str(tmp_path / "model.npz")
    assert cli.main(["train", "--data", data, "--target", "colour", "--out", model] + FAST) == 0
    only_x1 = write_csv(tmp_path / "x1.csv", ["x1"], [[0.5]])
    status, err = run_error(["predict", "--model", model, "--data", only_x1], capsys)
    assert status == 1 and "'x2' not found" in err


@pytest.mark.parametrize("argv", [
    ["train", "--data", "d.csv", "--target", "y", "--out", "m.npz", "--hidden", "4,x"],
    ["train", "--data", "d.csv", "--target", "y", "--out", "m.npz", "--epochs", "0"],
    ["train", "--data", "d.csv", "--target", "y", "--out", "m.npz", "--learning-rate", "-1"],
    ["train", "--data", "d.csv", "--target", "y"],
    ["predict", "--data", "d.csv"],
    ["compare", "--dtype", "float16"],
    [],
])
def test_usage_errors_exit_with_status_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert "usage: fastnn" in capsys.readouterr().err


@pytest.mark.parametrize("command, options", [
    (None, ["compare", "train", "predict"]),
    ("compare", ["--sizes", "--sweep", "--examples", "--hidden", "--epochs", "--dtype",
                 "--learning-rate", "--batch-size", "--variants", "--loops-limit", "--repeat",
                 "--plot"]),
    ("train", ["--data", "--target", "--out", "--task", "--hidden", "--activation", "--epochs",
               "--learning-rate", "--batch-size", "--backend", "--dtype", "--seed"]),
    ("predict", ["--model", "--data", "--out", "--drop"]),
])
def test_help_lists_every_option(command, options, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(([command] if command else []) + ["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in options:
        assert option in out


def test_runs_as_a_module_with_a_non_zero_status(tmp_path):
    result = subprocess.run([sys.executable, "-m", "fastnn.cli", "predict", "--model",
                             str(tmp_path / "m.npz"), "--data", str(tmp_path / "d.csv")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith("fastnn predict: error:")
