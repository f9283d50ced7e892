"""``fastnn compare`` on a tiny setting: same final cost on every variant, a table, a plot."""

import numpy as np
import pytest

import kernels
from fastnn import cli, compare

TINY = dict(examples=40, epochs=5, repeat=1)
#: Every variant but cuda, which compare runs only on a real GPU.
CPU_VARIANTS = tuple(name for name in kernels.VARIANTS if name != "cuda")


def test_every_cpu_variant_reaches_the_same_final_cost():
    results, notes = compare.compare(
        sizes=(TINY["examples"],), epochs=TINY["epochs"], repeat=1, variants=CPU_VARIANTS
    )
    ran = {r.variant: r for r in results if r.seconds_per_epoch is not None}
    assert set(ran) == set(CPU_VARIANTS)
    reference = ran["numpy"].final_cost
    for result in ran.values():
        assert result.final_cost == pytest.approx(reference, rel=1e-9), result.variant
        assert result.seconds_per_epoch > 0 and result.gflops > 0
    skipped = set(CPU_VARIANTS) - set(ran)
    assert all(any(note.startswith(name) for note in notes) for name in skipped)


def test_the_final_cost_is_the_numpy_reference_run():
    problem = compare.planar_problem(TINY["examples"], (4,), "float64", seed=1)
    weights, biases = problem.fresh_parameters()
    costs = kernels.get("numpy").train(
        weights, biases, problem.X, problem.Y, ["tanh", "sigmoid"], TINY["epochs"], 1.2
    )
    results, _ = compare.compare(
        sizes=(TINY["examples"],), epochs=TINY["epochs"], repeat=1, variants=("numpy",)
    )
    assert results[0].final_cost == costs[-1]


def test_training_flops_counts_the_three_products_of_each_layer():
    # 2-4-1 on m examples: layer 1 forward + dW (2 products of 4x2), layer 2 forward,
    # dW and dA_prev (3 products of 1x4); 2 flops per multiply-add.
    m = 10
    assert compare.training_flops((2, 4, 1), m) == 2 * m * (2 * 8 + 3 * 4)


def test_loops_is_skipped_with_a_note_when_it_would_be_slow():
    results, notes = compare.compare(
        sizes=(TINY["examples"],),
        epochs=TINY["epochs"],
        repeat=1,
        variants=("loops", "numpy"),
        loops_limit=1e-9,
    )
    loops = next(r for r in results if r.variant == "loops")
    assert loops.seconds_per_epoch is None
    assert "loops skipped" in loops.note and loops.note in notes


def test_cuda_is_skipped_with_a_note_without_a_gpu():
    if compare.gpu_present():
        pytest.skip("a real GPU is present")
    modules, notes = compare.load_variants(["numpy", "cuda"])
    assert list(modules) == ["numpy"]
    assert any(note.startswith("cuda: skipped") for note in notes)


def test_cli_prints_the_table_with_every_column(capsys):
    status = cli.main(["compare", "--examples", "40", "--epochs", "3", "--repeat", "1", "--quiet"])
    out = capsys.readouterr().out
    assert status == 0
    for column in ("variant", "time/epoch", "vs loops", "vs numpy", "GFLOP/s", "final cost"):
        assert column in out
    assert "warm-up" in out
    table = [line.split() for line in out.splitlines() if line.startswith(("loops ", "numpy "))]
    costs = {row[0]: float(row[-1]) for row in table}
    assert "numpy" in costs
    assert len(set(np.round(list(costs.values()), 8))) == 1


def test_cli_sweep_writes_a_png(tmp_path, capsys):
    path = tmp_path / "sweep.png"
    status = cli.main(
        [
            "compare",
            "--sizes",
            "20,40",
            "--epochs",
            "2",
            "--repeat",
            "1",
            "--variants",
            "numpy",
            "--plot",
            str(path),
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = [line.split() for line in out.splitlines() if line.split()[:1] in (["20"], ["40"])]
    assert [row[:2] for row in rows] == [["20", "numpy"], ["40", "numpy"]]


def test_cli_hidden_sweep_and_float32(capsys):
    status = cli.main(
        [
            "compare",
            "--sweep",
            "hidden",
            "--sizes",
            "2,3",
            "--epochs",
            "2",
            "--repeat",
            "1",
            "--variants",
            "numpy",
            "--dtype",
            "float32",
            "--examples",
            "30",
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0 and "float32" in out and "hidden width 2, 3" in out


def test_cli_rejects_an_unknown_variant(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["compare", "--variants", "numpy,fortran"])
    assert exit_info.value.code == 2
    assert "unknown variant 'fortran'" in capsys.readouterr().err


def test_cli_progress_lines_go_to_stderr_unless_quiet(capsys):
    argv = ["compare", "--examples", "30", "--epochs", "2", "--repeat", "1", "--variants", "numpy"]
    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == ["numpy at examples = 30 ..."]
    assert "numpy at" not in captured.out
    assert cli.main(argv + ["--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_cli_explains_and_resets_the_numba_product_choices(capsys, monkeypatch, tmp_path):
    from kernels import jit_products

    monkeypatch.setattr(jit_products, "wisdom_path", lambda: str(tmp_path / "wisdom.json"))
    monkeypatch.setattr(jit_products, "_choices", {})
    monkeypatch.setattr(jit_products, "_loaded", False)
    status = cli.main(
        [
            "compare",
            "--examples",
            "40",
            "--epochs",
            "2",
            "--repeat",
            "1",
            "--variants",
            "numba",
            "--explain",
            "--reset-choices",
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "product choices of this machine are forgotten" in out
    assert "The numba variant's matrix products on this machine" in out
    assert "machine: cpu=" in out and "measured on" in out
