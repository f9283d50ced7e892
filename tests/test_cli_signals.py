"""The ``fastnn`` command as a process: Ctrl-C during training, a pipe closed early."""

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import fastnn
from fastnn.datasets import planar

ROOT = Path(__file__).resolve().parents[1]


def command(*argv):
    return [sys.executable, "-m", "fastnn.cli", *argv]


def environment():
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


@pytest.fixture
def flower_csv(tmp_path):
    X, y = planar(m=200, seed=0)
    path = tmp_path / "flower.csv"
    path.write_text("x1,x2,colour\n" + "".join(f"{a},{b},{c}\n" for (a, b), c in zip(X, y)))
    return str(path)


def wait_for(stream, text, timeout):
    """Read ``stream`` (a pipe) until ``text`` appears; everything read."""
    seen, deadline = b"", time.monotonic() + timeout
    while text.encode() not in seen:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([stream], [], [], left)[0]:
            raise AssertionError(f"{text!r} did not appear within {timeout} s: {seen!r}")
        chunk = os.read(stream.fileno(), 65536)
        if not chunk:
            raise AssertionError(f"the process ended before {text!r} appeared: {seen!r}")
        seen += chunk
    return seen


def interrupt_training(tmp_path, flower_csv, *extra):
    """Start a long numpy-backend training, Ctrl-C it once the progress shows a cost."""
    model = tmp_path / "m.npz"
    process = subprocess.Popen(
        command(
            "train",
            "--data",
            flower_csv,
            "--target",
            "colour",
            "--out",
            str(model),
            "--backend",
            "numpy",
            "--hidden",
            "8",
            "--epochs",
            "100000000",
            "--verbose",
            *extra,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment(),
        cwd=tmp_path,
    )
    try:
        wait_for(process.stderr, "cost", timeout=120)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, out.decode(), err.decode(), model


def last_line(err):
    return err.replace("\r", "\n").strip().splitlines()[-1]


def test_ctrl_c_stops_training_with_status_130_and_saves_nothing(tmp_path, flower_csv):
    status, out, err, model = interrupt_training(tmp_path, flower_csv)
    assert status == 130, err
    assert "Traceback" not in err and "Warning" not in err
    assert last_line(err).startswith("fastnn train: interrupted after ")
    assert "nothing saved" in last_line(err)
    assert out == "" and not model.exists()


def test_save_partial_keeps_the_epochs_completed(tmp_path, flower_csv):
    status, _, err, model = interrupt_training(tmp_path, flower_csv, "--save-partial")
    assert status == 130, err
    assert "Traceback" not in err
    assert f"the partly trained model is saved to {model}" in last_line(err)
    saved = fastnn.load(str(model))
    assert 0 < saved.n_epochs_ < 100000000
    assert len(saved.history_) == saved.n_epochs_ and np.all(np.isfinite(saved.history_))


def test_a_closed_pipe_ends_quietly(tmp_path, flower_csv):
    model = tmp_path / "m.npz"
    subprocess.run(
        command(
            "train",
            "--data",
            flower_csv,
            "--target",
            "colour",
            "--out",
            str(model),
            "--backend",
            "numpy",
            "--epochs",
            "5",
        ),
        check=True,
        capture_output=True,
        env=environment(),
        cwd=tmp_path,
    )
    X = np.random.default_rng(0).standard_normal((50_000, 2))  # far more than a pipe buffers
    many = tmp_path / "many.csv"
    many.write_text("x1,x2\n" + "".join(f"{a:.3f},{b:.3f}\n" for a, b in X))
    # what `fastnn predict ... | head -1` does: read one line, close the pipe
    process = subprocess.Popen(
        command("predict", "--model", str(model), "--data", str(many)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment(),
        cwd=tmp_path,
    )
    assert process.stdout.readline() == b"prediction\n"
    process.stdout.close()
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141
    assert err == ""
