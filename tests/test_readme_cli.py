"""The README's command-line example runs as written (``fastnn`` is this checkout's)."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_cli_block():
    """The bash block after "From the shell" in README.md."""
    text = (ROOT / "README.md").read_text()
    match = re.search(r"From the shell.*?```bash\n(.*?)```", text, re.S)
    assert match, "README.md has no 'From the shell' bash block"
    return match.group(1)


def test_every_line_of_the_readme_cli_example_runs(tmp_path):
    block = readme_cli_block()
    assert "fastnn example-data flower.csv" in block  # the data the other lines use
    # `fastnn` here is this checkout's command line, whatever is installed
    script = f'fastnn() {{ "{sys.executable}" -m fastnn.cli "$@"; }}\n' + block
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "validation accuracy" in result.stdout
    predictions = (tmp_path / "preds.csv").read_text().splitlines()
    assert predictions[0] == "prediction" and len(predictions) == 6
    assert set(predictions[1:]) <= {"red", "blue"}
    assert "prediction\n" + "\n".join(predictions[1:3]) + "\n" in result.stdout  # `| head -3`
    assert "usage: fastnn train" in result.stdout
