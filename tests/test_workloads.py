"""The benchmark workloads, defined once (``fastnn.workloads``) and read by every consumer."""

import subprocess
import sys
from pathlib import Path

from fastnn import compare, workloads

ROOT = Path(__file__).resolve().parents[1]


def test_the_four_workloads():
    assert list(workloads.WORKLOADS) == ["a", "b", "c", "d"]
    c = workloads.WORKLOADS["c"]
    assert c.label == "(c) 784-256-128-1 relu/sigmoid, m=60000, batches of 128"
    assert c.activations == ("relu", "relu", "sigmoid")
    assert c.with_examples(2048).examples == 2048 and c.examples == 60000
    # forward W A and dW for both layers, dA for the second only
    assert c.flops_per_epoch() == 2 * 60000 * (784 * 256 * 2 + 256 * 128 * 3 + 128 * 3)


def test_compare_runs_workload_a():
    a = workloads.WORKLOADS["a"]
    assert (compare.DEFAULT_EXAMPLES, compare.DEFAULT_HIDDEN) == (a.examples, a.sizes[1:-1])
    assert compare.DEFAULT_LEARNING_RATE == a.learning_rate


def test_asv_reads_the_same_workloads():
    sys.path.insert(0, str(ROOT))
    from asv_benchmarks import common

    assert [w.sizes for w in common.WORKLOADS.values()] == [
        w.sizes for w in workloads.WORKLOADS.values()
    ]
    assert list(common.WORKLOADS) == [w.name for w in workloads.WORKLOADS.values()]


def test_gpu_check_does_nothing_at_import():
    """Importing the script parses no arguments, imports no numba, keeps no run state."""
    script = str(ROOT / "scripts" / "gpu_check.py")
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('gpu_check', {script!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "sys.argv = ['gpu_check', '--no-such-option']\n"
        "spec.loader.exec_module(module)\n"
        "assert 'numba' not in sys.modules, 'numba imported at import'\n"
        "assert callable(module.main) and not hasattr(module, 'RESULTS')\n"
        "print('OK')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "OK", out.stderr
