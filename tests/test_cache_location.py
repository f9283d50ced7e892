"""Where Numba's cache of the kernels goes (``kernels._cache``): always somewhere writable,
never inside an installed package.

The process tests copy ``kernels`` somewhere else, import it there in a fresh
Python with a chosen environment, and compile one small kernel (the numba
variant's ``sigmoid``): Numba raises "no locator available" when the module is
imported (decorated) if no cache directory works, and writes its ``.nbi`` index
when the function is compiled. Without ``kernels._cache``, the read-only setup
below reproduces "no locator available" (as root too).
"""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kernels import _cache

ROOT = Path(__file__).resolve().parents[1]
NOBODY = 65534

COMPILE_ONE = """
import numpy as np
import kernels, kernels._cache
print(kernels.__file__)
print(kernels._cache.decision)
kernels.get("numba").sigmoid(np.zeros((2, 3)))
print(kernels._cache.directory())
"""


def index_files(folder):
    return sorted(str(p) for p in Path(folder).rglob("*.nbi"))


def copy_package(destination):
    """``kernels`` (no cache files) under ``destination``; returns the package folder."""
    target = Path(destination) / "kernels"
    shutil.copytree(ROOT / "kernels", target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def make_read_only(folder):
    for path in [folder, *folder.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def clean_environment(**extra):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME", "HOME", "PYTHONPATH", "TMPDIR")
    }
    env.update(extra)
    return env


def run_python(code, env, cwd=None):
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def scratch(tmp_path):
    yield tmp_path
    for path in [tmp_path, *tmp_path.rglob("*")]:  # read-only folders cannot be emptied
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)


def read_only_setup(scratch):
    """A copy of the package where nothing can be written, a HOME where nothing can be
    written, and a temporary directory of its own.

    Permissions alone do not stop root, so each place is also blocked in a way that
    stops anyone: ``kernels/__pycache__`` is a plain file (Numba's in-tree cache and
    our probe both need it to be a directory), and HOME lies under a plain file."""
    package = copy_package(scratch / "lib")
    (package / "__pycache__").write_text("not a directory\n")
    make_read_only(scratch / "lib")
    blocker = scratch / "blocker"
    blocker.write_text("HOME is under this file: nothing can be created there\n")
    tmp = scratch / "tmp"
    tmp.mkdir()
    env = clean_environment(
        PYTHONPATH=str(scratch / "lib"), HOME=str(blocker / "home"), TMPDIR=str(tmp)
    )
    return package, tmp, env


def test_a_read_only_package_without_a_writable_home_caches_in_the_temporary_directory(scratch):
    package, tmp, env = read_only_setup(scratch)
    result = run_python(COMPILE_ONE, env, cwd=scratch)
    assert result.returncode == 0, result.stderr
    assert "no locator available" not in result.stderr
    assert result.stdout.splitlines()[:2] == [str(package / "__init__.py"), "cache-dir"]
    ours = tmp / f"fastnn-numba-{os.getuid()}"
    assert result.stdout.splitlines()[2] == str(ours)
    assert index_files(package) == []
    cached = index_files(tmp)
    assert cached and all(path.startswith(str(ours)) for path in cached)
    assert stat.S_IMODE((tmp / Path(cached[0]).relative_to(tmp).parts[0]).stat().st_mode) == 0o700


def test_with_no_writable_place_at_all_the_kernels_run_uncached_with_one_line(scratch):
    package, tmp, env = read_only_setup(scratch)
    no_temp = (
        "import tempfile\n"
        "def nowhere():\n"
        "    raise FileNotFoundError('No usable temporary directory found')\n"
        "tempfile.gettempdir = nowhere\n"
    )
    result = run_python(no_temp + COMPILE_ONE, env, cwd=scratch)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == ["uncached", "None"]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no writable directory for Numba's compiled-code cache" in lines[0]
    assert "NUMBA_CACHE_DIR" in lines[0]
    assert index_files(scratch) == []


def test_an_installed_package_caches_in_the_user_cache_dir_not_in_site_packages(scratch):
    site_packages = scratch / "venv" / "lib" / "site-packages"
    package = copy_package(site_packages)
    home = scratch / "home"
    env = clean_environment(PYTHONPATH=str(site_packages), HOME=str(home))
    result = run_python(COMPILE_ONE, env, cwd=scratch)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == "cache-dir"
    # nothing pip does not know of is left in the package (it would outlive an uninstall)
    assert not (package / "__pycache__").exists() or index_files(package) == []
    assert index_files(home / ".cache" / "fastnn" / "numba")
    # XDG_CACHE_HOME moves it
    env["XDG_CACHE_HOME"] = str(scratch / "xdg")
    assert run_python(COMPILE_ONE, env, cwd=scratch).returncode == 0
    assert index_files(scratch / "xdg" / "fastnn" / "numba")


def test_numba_cache_dir_set_by_the_user_wins(scratch):
    site_packages = scratch / "venv" / "lib" / "site-packages"
    copy_package(site_packages)
    mine = scratch / "mine"
    env = clean_environment(
        PYTHONPATH=str(site_packages), HOME=str(scratch / "home"), NUMBA_CACHE_DIR=str(mine)
    )
    result = run_python(COMPILE_ONE, env, cwd=scratch)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == ["user", str(mine)]
    assert index_files(mine) and not (scratch / "home").exists()


def test_a_source_checkout_keeps_numbas_default():
    assert _cache.choose(environ={}, package_dir=str(ROOT / "kernels")) == ("in-tree", None)
    if _cache.decision == "in-tree":  # this process: the checkout, unless NUMBA_CACHE_DIR is set
        assert _cache.directory() == str(ROOT / "kernels" / "__pycache__")


@pytest.mark.parametrize(
    "parent, installed",
    [
        ("lib/python3.11/site-packages", True),
        ("lib/python3/dist-packages", True),
        ("src", False),
        ("work/fastnn", False),
    ],
)
def test_is_installed(tmp_path, parent, installed):
    assert _cache.is_installed(str(tmp_path / parent / "kernels")) is installed


def test_user_cache_dir(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    assert _cache.user_cache_dir({"HOME": "/h"}) == os.path.join("/h", ".cache", "fastnn", "numba")
    assert _cache.user_cache_dir({"HOME": "/h", "XDG_CACHE_HOME": "/x"}) == os.path.join(
        "/x", "fastnn", "numba"
    )
    assert _cache.user_cache_dir({}) is None


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="needs root to make a directory owned by another user",
)
def test_a_temporary_cache_dir_owned_by_someone_else_is_not_used(tmp_path):
    theirs = tmp_path / "fastnn-numba-0"
    theirs.mkdir()
    os.chown(theirs, NOBODY, NOBODY)
    assert not _cache._writable_dir(str(theirs), private=True)
    assert _cache._writable_dir(str(tmp_path / "ours"), private=True)
