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

# numpy backend: no compilation, so these tests stay fast; the numba backend is
# the same API and is tested by the estimator tests.
# the notes' planar network: full-batch gradient descent
FAST = [
    "--backend",
    "numpy",
    "--epochs",
    "300",
    "--hidden",
    "4",
    "--activation",
    "tanh",
    "--learning-rate",
    "1.2",
    "--solver",
    "sgd",
    "--batch-size",
    "full",
]


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


def test_predict_takes_the_columns_by_name_and_writes_to_stdout(tmp_path, flower_csv, capsys):
    data, X, _ = flower_csv
    model = str(tmp_path / "model.npz")
    assert cli.main(["train", "--data", data, "--target", "colour", "--out", model] + FAST) == 0
    capsys.readouterr()
    # other column order, no target column, an extra column
    shuffled = write_csv(
        tmp_path / "new.csv", ["note", "x2", "x1"], [["n", b, a] for a, b in X[:10]]
    )
    assert cli.main(["predict", "--model", model, "--data", shuffled]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "prediction"
    assert lines[1:] == [str(p) for p in fastnn.load(model).predict(X[:10])]


def test_regression_round_trip(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 3.0
    data = write_csv(tmp_path / "reg.csv", ["a", "b", "c", "y"], np.column_stack([X, y]))
    model = str(tmp_path / "reg.npz")
    preds = str(tmp_path / "preds.csv")
    assert (
        cli.main(
            [
                "train",
                "--data",
                data,
                "--target",
                "y",
                "--task",
                "regress",
                "--out",
                model,
                "--backend",
                "numpy",
                "--hidden",
                "",
                "--epochs",
                "300",
                "--learning-rate",
                "0.1",
            ]
        )
        == 0
    )
    assert "R^2" in capsys.readouterr().out
    assert cli.main(["predict", "--model", model, "--data", data, "--out", preds]) == 0
    predicted = np.array(read_predictions(preds), dtype=float)
    np.testing.assert_allclose(predicted, y, atol=0.05 * np.abs(y).max())


def run_error(argv, capsys):
    status = cli.main(argv)
    return status, capsys.readouterr().err


def test_missing_data_file(tmp_path, capsys):
    status, err = run_error(
        [
            "train",
            "--data",
            str(tmp_path / "nope.csv"),
            "--target",
            "y",
            "--out",
            str(tmp_path / "m.npz"),
        ],
        capsys,
    )
    assert status == 1 and "data file not found" in err and "nope.csv" in err


def test_missing_target_column_lists_the_columns(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", ["a", "b"], [[1, 0], [2, 1]])
    status, err = run_error(
        ["train", "--data", data, "--target", "label", "--out", str(tmp_path / "m.npz")], capsys
    )
    assert status == 1 and "'label' not found" in err and "a, b" in err


def test_non_numeric_feature_cell_is_named(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", ["a", "b", "y"], [[1, 2, 0], [3, "oops", 1]])
    status, err = run_error(
        ["train", "--data", data, "--target", "y", "--out", str(tmp_path / "m.npz")], capsys
    )
    assert status == 1 and "line 3" in err and "'b'" in err and "'oops'" in err


def test_empty_cell_and_ragged_row(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", ["a", "y"], [[1, 0], ["", 1]])
    status, err = run_error(
        ["train", "--data", data, "--target", "y", "--out", str(tmp_path / "m.npz")], capsys
    )
    assert status == 1 and "is not a finite number" in err
    ragged = tmp_path / "r.csv"
    ragged.write_text("a,y\n1,0\n2,1,5\n")
    status, err = run_error(
        ["train", "--data", str(ragged), "--target", "y", "--out", str(tmp_path / "m.npz")], capsys
    )
    assert status == 1 and "line 3" in err and "3 cells" in err


def test_header_only_file(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", ["a", "y"], [])
    status, err = run_error(
        ["train", "--data", data, "--target", "y", "--out", str(tmp_path / "m.npz")], capsys
    )
    assert status == 1 and "no rows" in err


def test_non_numeric_regression_target(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", ["a", "y"], [[1, "high"], [2, "low"]])
    status, err = run_error(
        [
            "train",
            "--data",
            data,
            "--target",
            "y",
            "--task",
            "regress",
            "--out",
            str(tmp_path / "m.npz"),
        ],
        capsys,
    )
    assert status == 1 and "'high' is not a finite number" in err


def test_estimator_errors_are_reported_not_raised(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", ["a", "y"], [[1, 0], [2, 0], [3, 0]])
    status, err = run_error(
        [
            "train",
            "--data",
            data,
            "--target",
            "y",
            "--backend",
            "numpy",
            "--out",
            str(tmp_path / "m.npz"),
        ],
        capsys,
    )
    assert status == 1 and "training failed" in err


def test_missing_and_corrupt_model_file(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", ["a"], [[1]])
    status, err = run_error(
        ["predict", "--model", str(tmp_path / "none.npz"), "--data", data], capsys
    )
    assert status == 1 and "model file not found" in err
    corrupt = tmp_path / "bad.npz"
    corrupt.write_bytes(b"not a model at all")
    status, err = run_error(["predict", "--model", str(corrupt), "--data", data], capsys)
    assert status == 1 and "could not load the model" in err


def test_predict_with_missing_feature_column(tmp_path, flower_csv, capsys):
    data, _, _ = flower_csv
    model = str(tmp_path / "model.npz")
    assert cli.main(["train", "--data", data, "--target", "colour", "--out", model] + FAST) == 0
    only_x1 = write_csv(tmp_path / "x1.csv", ["x1"], [[0.5]])
    status, err = run_error(["predict", "--model", model, "--data", only_x1], capsys)
    assert status == 1 and "'x2' not found" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--data", "d.csv", "--target", "y", "--out", "m.npz", "--hidden", "4,x"],
        ["train", "--data", "d.csv", "--target", "y", "--out", "m.npz", "--epochs", "0"],
        ["train", "--data", "d.csv", "--target", "y", "--out", "m.npz", "--learning-rate", "-1"],
        ["train", "--data", "d.csv", "--target", "y"],
        ["predict", "--data", "d.csv"],
        ["compare", "--dtype", "float16"],
        [],
    ],
)
def test_usage_errors_exit_with_status_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert "usage: fastnn" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command, options",
    [
        (None, ["compare", "train", "predict", "example-data", "--debug"]),
        (
            "compare",
            [
                "--sizes",
                "--sweep",
                "--examples",
                "--hidden",
                "--epochs",
                "--dtype",
                "--learning-rate",
                "--batch-size",
                "--variants",
                "--loops-limit",
                "--repeat",
                "--plot",
                "--quiet",
            ],
        ),
        (
            "train",
            [
                "--data",
                "--target",
                "--out",
                "--task",
                "--hidden",
                "--activation",
                "--epochs",
                "--learning-rate",
                "--batch-size",
                "--backend",
                "--dtype",
                "--seed",
                "--drop",
                "--momentum",
                "--l2",
                "--validation",
                "--verbose",
                "--save-partial",
                "--debug",
            ],
        ),
        ("predict", ["--model", "--data", "--out", "--drop", "--backend", "--debug"]),
        ("example-data", ["--examples", "--seed", "--no-target"]),
    ],
)
def test_help_lists_every_option(command, options, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(([command] if command else []) + ["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in options:
        assert option in out


def test_runs_as_a_module_with_a_non_zero_status(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fastnn.cli",
            "predict",
            "--model",
            str(tmp_path / "m.npz"),
            "--data",
            str(tmp_path / "d.csv"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("fastnn predict: error:")


# ---------------------------------------------------------------------------
# Every expected failure is one line on stderr and exit status 1
# ---------------------------------------------------------------------------


def one_line_error(err, *phrases):
    """The error output is a single line naming each phrase, and no traceback."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for phrase in phrases:
        assert phrase in lines[0], err


def test_a_byte_order_mark_does_not_hide_the_first_column(tmp_path, capsys):
    X, y = planar(m=60, seed=0)
    data = tmp_path / "bom.csv"
    data.write_text(
        "label,a,b\n" + "".join(f"{t},{p},{q}\n" for (p, q), t in zip(X, y)), encoding="utf-8-sig"
    )
    model = str(tmp_path / "m.npz")
    assert cli.main(["train", "--data", str(data), "--target", "label", "--out", model] + FAST) == 0
    assert list(fastnn.load(model).feature_names_in_) == ["a", "b"]


def test_an_empty_target_cell_is_refused(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", ["a", "y"], [[1, 0], [2, ""], [3, 1]])
    status, err = run_error(
        ["train", "--data", data, "--target", "y", "--out", str(tmp_path / "m.npz")], capsys
    )
    assert status == 1
    one_line_error(err, "line 3", "target column 'y' is empty")


def test_duplicate_column_names_are_refused(tmp_path, flower_csv, capsys):
    model = str(tmp_path / "m.npz")
    assert (
        cli.main(["train", "--data", flower_csv[0], "--target", "colour", "--out", model] + FAST)
        == 0
    )
    capsys.readouterr()
    data = write_csv(tmp_path / "d.csv", ["x1", "x2", "x1", "y"], [[1, 2, 3, 0], [4, 5, 6, 1]])
    for argv in (
        ["train", "--data", data, "--target", "y", "--out", str(tmp_path / "n.npz")],
        ["predict", "--model", model, "--data", data],
    ):
        status, err = run_error(argv, capsys)
        assert status == 1
        one_line_error(err, "'x1' appears twice")


def test_a_diverging_learning_rate_is_one_line_and_saves_nothing(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 2)) * 100
    data = write_csv(tmp_path / "d.csv", ["a", "b", "y"], np.column_stack([X, X @ [3, -2]]))
    model = tmp_path / "m.npz"
    status, err = run_error(
        [
            "train",
            "--data",
            data,
            "--target",
            "y",
            "--task",
            "regress",
            "--backend",
            "numpy",
            "--solver",
            "sgd",
            "--learning-rate",
            "1e6",
            "--epochs",
            "50",
            "--out",
            str(model),
        ],
        capsys,
    )
    assert status == 1 and not model.exists()
    one_line_error(err, "training diverged, nothing saved", "learning_rate")


@pytest.mark.parametrize("command", ["train", "predict"])
def test_backend_cuda_without_a_gpu(tmp_path, flower_csv, capsys, monkeypatch, command):
    monkeypatch.setattr(cli.comparison, "gpu_present", lambda: False)
    data, _, _ = flower_csv
    model = str(tmp_path / "m.npz")
    if command == "predict":
        assert cli.main(["train", "--data", data, "--target", "colour", "--out", model] + FAST) == 0
        argv = ["predict", "--model", model, "--data", data, "--backend", "cuda"]
    else:
        argv = ["train", "--data", data, "--target", "colour", "--out", model, "--backend", "cuda"]
    capsys.readouterr()
    status, err = run_error(argv, capsys)
    assert status == 1
    one_line_error(err, "--backend cuda needs a CUDA GPU")


def test_a_model_trained_on_a_gpu_predicts_on_the_cpu(tmp_path, flower_csv, capsys, monkeypatch):
    monkeypatch.setattr(cli.comparison, "gpu_present", lambda: False)
    data, X, _ = flower_csv
    model = str(tmp_path / "m.npz")
    assert cli.main(["train", "--data", data, "--target", "colour", "--out", model] + FAST) == 0
    trained = fastnn.load(model)
    fastnn.save(trained.set_params(backend="cuda"), model)  # as if fitted with backend="cuda"
    capsys.readouterr()
    assert cli.main(["predict", "--model", model, "--data", data]) == 0
    captured = capsys.readouterr()
    one_line_error(captured.err, "trained with backend 'cuda'", "predicting with 'numpy'")
    assert captured.out.splitlines()[1:] == [
        str(p) for p in trained.set_params(backend="numpy").predict(X)
    ]


@pytest.mark.parametrize("command", ["train", "predict", "example-data"])
@pytest.mark.parametrize("where", ["missing directory", "a directory"])
def test_an_output_path_that_cannot_be_written_is_refused_first(
    tmp_path, flower_csv, capsys, command, where
):
    data, _, _ = flower_csv
    model = str(tmp_path / "m.npz")
    assert cli.main(["train", "--data", data, "--target", "colour", "--out", model] + FAST) == 0
    capsys.readouterr()
    out = str(tmp_path / "no" / "such" / "file") if where == "missing directory" else str(tmp_path)
    argv = {
        "train": ["train", "--data", data, "--target", "colour", "--out", out] + FAST,
        "predict": ["predict", "--model", model, "--data", data, "--out", out],
        "example-data": ["example-data", out],
    }[command]
    status, err = run_error(argv, capsys)
    assert status == 1
    one_line_error(err, "does not exist" if where == "missing directory" else "is a directory")


def test_24_digit_labels_are_kept_exactly(tmp_path, capsys):
    X, y = planar(m=80, seed=2)
    names = np.where(y == 1, "123456789012345678901234", "123456789012345678901235")
    data = write_csv(
        tmp_path / "d.csv", ["a", "b", "id"], [[p, q, t] for (p, q), t in zip(X, names)]
    )
    model = str(tmp_path / "m.npz")
    assert cli.main(["train", "--data", data, "--target", "id", "--out", model] + FAST) == 0
    capsys.readouterr()
    assert cli.main(["predict", "--model", model, "--data", data]) == 0
    assert set(capsys.readouterr().out.splitlines()[1:]) <= set(names.tolist())


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(
    tmp_path, flower_csv, capsys, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("something\nunforeseen")

    monkeypatch.setattr(cli.MLPClassifier, "fit", broken)
    data, _, _ = flower_csv
    argv = ["train", "--data", data, "--target", "colour", "--out", str(tmp_path / "m.npz")]
    status, err = run_error(argv, capsys)
    assert status == 1
    one_line_error(err, "RuntimeError: something unforeseen", "--debug")
    for debug in (["--debug"] + argv, argv + ["--debug"]):
        with pytest.raises(RuntimeError, match="unforeseen"):
            cli.main(debug)


def test_ctrl_c_outside_training_exits_130(capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "load", interrupted)
    status, err = run_error(["predict", "--model", "m.npz", "--data", "d.csv"], capsys)
    assert status == 130
    one_line_error(err, "fastnn predict: interrupted")


# ---------------------------------------------------------------------------
# train's options: the estimators' defaults, --drop, --validation, --verbose
# ---------------------------------------------------------------------------


def test_unset_options_take_the_estimators_defaults(tmp_path, flower_csv, capsys):
    data, _, _ = flower_csv
    model = str(tmp_path / "m.npz")
    assert (
        cli.main(
            [
                "train",
                "--data",
                data,
                "--target",
                "colour",
                "--out",
                model,
                "--backend",
                "numpy",
                "--epochs",
                "2",
            ]
        )
        == 0
    )
    saved = fastnn.load(model).get_params()
    defaults = fastnn.MLPClassifier().get_params()
    for name in {h.name for h in cli.HYPERPARAMETERS} - {"backend", "epochs"}:  # given
        assert saved[name] == defaults[name], name
    # the help shows the same defaults, per task where they differ
    helps = {
        action.dest: action.help
        for action in cli.build_parser()._subparsers._group_actions[0].choices["train"]._actions
    }
    assert "(default: 0.001)" in helps["learning_rate"]
    assert "(default: adam)" in helps["solver"] and "(default: 32)" in helps["batch_size"]
    assert "(default: 100)" in helps["hidden"] and "(default: 200)" in helps["epochs"]


def test_momentum_l2_and_the_other_options_reach_the_estimator(tmp_path, flower_csv, capsys):
    data, _, _ = flower_csv
    model = str(tmp_path / "m.npz")
    assert (
        cli.main(
            [
                "train",
                "--data",
                data,
                "--target",
                "colour",
                "--out",
                model,
                "--backend",
                "numpy",
                "--epochs",
                "3",
                "--hidden",
                "5,3",
                "--momentum",
                "0.9",
                "--l2",
                "0.01",
                "--batch-size",
                "16",
                "--dtype",
                "float32",
                "--seed",
                "7",
                "--activation",
                "tanh,relu",
                "--learning-rate",
                "0.05",
                "--solver",
                "sgd",
                "--learning-rate-schedule",
                "exponential",
                "--decay-rate",
                "0.5",
                "--decay-epochs",
                "2",
            ]
        )
        == 0
    )
    params = fastnn.load(model).get_params()
    assert (
        params["momentum"],
        params["l2"],
        params["batch_size"],
        params["dtype"],
        params["seed"],
        params["hidden"],
        params["activation"],
        params["learning_rate"],
    ) == (0.9, 0.01, 16, "float32", 7, (5, 3), ("tanh", "relu"), 0.05)
    assert (
        params["solver"],
        params["learning_rate_schedule"],
        params["decay_rate"],
        params["decay_epochs"],
    ) == ("sgd", "exponential", 0.5, 2)


def test_adam_and_early_stopping_options_reach_the_estimator(tmp_path, flower_csv, capsys):
    data, _, _ = flower_csv
    model = str(tmp_path / "m.npz")
    assert (
        cli.main(
            [
                "train",
                "--data",
                data,
                "--target",
                "colour",
                "--out",
                model,
                "--backend",
                "numpy",
                "--epochs",
                "400",
                "--hidden",
                "8",
                "--learning-rate",
                "0.01",
                "--beta-1",
                "0.8",
                "--beta-2",
                "0.99",
                "--epsilon",
                "1e-7",
                "--early-stopping",
                "true",
                "--validation-fraction",
                "0.2",
                "--n-iter-no-change",
                "3",
                "--tol",
                "0",
                "--validation",
                "0.2",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    params = fastnn.load(model).get_params()
    assert (
        params["beta_1"],
        params["beta_2"],
        params["epsilon"],
        params["early_stopping"],
        params["validation_fraction"],
        params["n_iter_no_change"],
        params["tol"],
    ) == (0.8, 0.99, 1e-7, True, 0.2, 3, 0.0)
    assert "validation accuracy" in out and "early stopping kept epoch" in out


def test_batch_size_full_is_the_full_batch(tmp_path, flower_csv, capsys):
    data, _, _ = flower_csv
    model = str(tmp_path / "m.npz")
    assert (
        cli.main(
            [
                "train",
                "--data",
                data,
                "--target",
                "colour",
                "--out",
                model,
                "--backend",
                "numpy",
                "--epochs",
                "2",
                "--batch-size",
                "full",
            ]
        )
        == 0
    )
    assert fastnn.load(model).get_params()["batch_size"] is None
    with pytest.raises(SystemExit):
        cli.main(
            [
                "train",
                "--data",
                data,
                "--target",
                "colour",
                "--out",
                model,
                "--early-stopping",
                "maybe",
            ]
        )


@pytest.mark.parametrize(
    "argv",
    [
        ["--momentum", "1"],
        ["--momentum", "-0.1"],
        ["--l2", "-1"],
        ["--validation", "1"],
        ["--validation", "0"],
        ["--backend", "fortran"],
    ],
)
def test_out_of_range_options_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--data", "d.csv", "--target", "y", "--out", "m.npz"] + argv)
    assert exit_info.value.code == 2


def test_drop_leaves_columns_out_of_the_features(tmp_path, flower_csv, capsys):
    _, X, labels = flower_csv
    rows = [
        [f"id{i}", a, "2026-01-01", label, b] for i, ((a, b), label) in enumerate(zip(X, labels))
    ]
    data = write_csv(tmp_path / "ids.csv", ["id", "x1", "date", "colour", "x2"], rows)
    model = str(tmp_path / "m.npz")
    # without --drop the id column is refused (it is not a number), not used silently
    status, err = run_error(
        ["train", "--data", data, "--target", "colour", "--out", model] + FAST, capsys
    )
    assert status == 1 and "column 'id'" in err
    assert (
        cli.main(
            ["train", "--data", data, "--target", "colour", "--out", model, "--drop", "id,date"]
            + FAST
        )
        == 0
    )
    assert list(fastnn.load(model).feature_names_in_) == ["x1", "x2"]
    status, err = run_error(
        ["train", "--data", data, "--target", "colour", "--out", model, "--drop", "idd"] + FAST,
        capsys,
    )
    assert status == 1 and "'idd' not found" in err
    status, err = run_error(
        ["train", "--data", data, "--target", "colour", "--out", model, "--drop", "colour"] + FAST,
        capsys,
    )
    assert status == 1 and "target column" in err


def test_validation_holds_out_a_stratified_fraction_and_prints_its_score(
    tmp_path, flower_csv, capsys
):
    data, _, _ = flower_csv  # 60 red, 60 blue
    model = str(tmp_path / "m.npz")
    assert (
        cli.main(
            ["train", "--data", data, "--target", "colour", "--out", model, "--validation", "0.2"]
            + FAST
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "on 96 examples" in out and "validation accuracy" in out
    assert "on 24 held-out examples" in out
    train, held = cli.held_out_split(np.repeat(["a", "b"], [10, 30]), 0.2, 0, stratify=True)
    assert len(held) == 8 and len(np.intersect1d(train, held)) == 0
    assert len(train) + len(held) == 40


def test_validation_too_small_to_hold_anything_out(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", ["a", "y"], [[1, 0], [2, 1], [3, 0], [4, 1]])
    status, err = run_error(
        [
            "train",
            "--data",
            data,
            "--target",
            "y",
            "--out",
            str(tmp_path / "m.npz"),
            "--validation",
            "0.1",
        ]
        + FAST,
        capsys,
    )
    assert status == 1 and "holds out none" in err


def test_the_success_line_is_short(tmp_path, capsys):
    rng = np.random.default_rng(0)
    names = [f"feature_with_a_long_name_{j}" for j in range(30)]
    X = rng.standard_normal((40, 30))
    data = write_csv(
        tmp_path / "wide.csv", names + ["y"], [list(row) + [int(row[0] > 0)] for row in X]
    )
    assert (
        cli.main(
            ["train", "--data", data, "--target", "y", "--out", str(tmp_path / "m.npz")] + FAST
        )
        == 0
    )
    line = capsys.readouterr().out.strip()
    assert "40 examples x 30 features" in line and "feature_with" not in line
    assert len(line) < 200


def test_verbose_shows_the_progress_on_stderr(tmp_path, flower_csv, capsys):
    data, _, _ = flower_csv
    assert (
        cli.main(
            [
                "train",
                "--data",
                data,
                "--target",
                "colour",
                "--out",
                str(tmp_path / "m.npz"),
                "--verbose",
            ]
            + FAST
        )
        == 0
    )
    captured = capsys.readouterr()
    assert "MLPClassifier" in captured.err and "300" in captured.err
    assert "MLPClassifier" not in captured.out.replace("trained MLPClassifier", "")
    assert (
        cli.main(
            ["train", "--data", data, "--target", "colour", "--out", str(tmp_path / "m.npz")] + FAST
        )
        == 0
    )
    assert capsys.readouterr().err == ""


def test_example_data_writes_the_planar_flower(tmp_path, capsys):
    path = tmp_path / "flower.csv"
    assert cli.main(["example-data", str(path)]) == 0
    with open(path, newline="") as file:
        rows = list(csv.reader(file))
    X, y = planar(m=400, seed=1)
    assert rows[0] == ["x1", "x2", "colour"] and len(rows) == 401
    np.testing.assert_array_equal(np.array([r[:2] for r in rows[1:]], dtype=float), X)
    assert [r[2] for r in rows[1:]] == np.where(y == 1, "blue", "red").tolist()
    assert (
        cli.main(["example-data", str(path), "--examples", "5", "--seed", "2", "--no-target"]) == 0
    )
    assert path.read_text().splitlines()[0] == "x1,x2" and len(path.read_text().splitlines()) == 6
