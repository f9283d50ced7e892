"""Where Numba keeps the compiled code of the kernels: a place that can be written.

Numba caches a ``cache=True`` function beside its source (``kernels/__pycache__``)
or, where that is not writable, in the user's cache directory (under HOME);
with neither, decorating the function raises ``RuntimeError: cannot cache
function ...: no locator available``. And an installed package should not keep
it beside the source at all: pip does not know those files, leaves them behind
at uninstall, and a ``site-packages/kernels/__pycache__`` left behind then
shadows an editable install of ``kernels`` as an empty namespace package.

So, imported by ``kernels/__init__.py`` before numba, ``configure()`` picks the
cache directory, in this order:

1. ``NUMBA_CACHE_DIR`` if the user set it (left alone);
2. Numba's default (beside the source) for a source checkout whose
   ``kernels/__pycache__`` is writable: nothing is set;
3. otherwise (an installed package, or a read-only one): ``fastnn/numba`` in the
   user's cache directory (``$XDG_CACHE_HOME`` or ``~/.cache``), else
   ``fastnn-numba-<uid>`` in the temporary directory (made private, and refused
   if someone else owns it: Numba's cache files are pickles). The choice is
   set as ``NUMBA_CACHE_DIR``, so it also applies to subprocesses and to other
   Numba code in the process (which is harmless: Numba keys the cache by the
   full path of each source file);
4. with no writable place at all, the kernels run uncached (compiled in every
   process), and one line on stderr says so.

Only the standard library here: this runs before numpy and numba are imported.
"""

import os
import sys
import sysconfig
import tempfile

ENV = "NUMBA_CACHE_DIR"
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

#: What configure() decided: "user" (NUMBA_CACHE_DIR was set), "in-tree",
#: "cache-dir" (a directory chosen here) or "uncached".
decision = None


def _writable_dir(path, private=False):
    """True where ``path`` is (or can be made) a directory we can write files in.
    ``private``: also made mode 0700, and refused unless we own it."""
    try:
        os.makedirs(path, mode=0o700 if private else 0o777, exist_ok=True)
        if private:
            if hasattr(os, "getuid") and os.stat(path).st_uid != os.getuid():
                return False  # someone else's directory in a shared /tmp: not ours to trust
            os.chmod(path, 0o700)
        # the probe Numba uses itself: a file created and deleted
        tempfile.TemporaryFile(dir=path).close()
        return True
    except OSError:
        return False


def is_installed(package_dir=PACKAGE_DIR):
    """True where the package lives in a site-packages (or dist-packages) directory."""
    package_dir = os.path.realpath(package_dir)
    roots = {sysconfig.get_paths().get(key) for key in ("purelib", "platlib")}
    roots = {os.path.realpath(root) for root in roots if root}
    parent = os.path.dirname(package_dir)
    return parent in roots or os.path.basename(parent) in ("site-packages", "dist-packages")


def user_cache_dir(environ=os.environ):
    """``fastnn/numba`` in the platform's per-user cache directory (None without a HOME)."""
    if sys.platform == "win32":
        base = environ.get("LOCALAPPDATA")
    elif sys.platform == "darwin":
        home = environ.get("HOME")
        base = os.path.join(home, "Library", "Caches") if home else None
    else:
        home = environ.get("HOME")
        base = environ.get("XDG_CACHE_HOME") or (os.path.join(home, ".cache") if home else None)
    return os.path.join(base, "fastnn", "numba") if base else None


def temporary_cache_dir():
    """``fastnn-numba-<uid>`` in the temporary directory (None where there is none)."""
    try:
        base = tempfile.gettempdir()
    except (FileNotFoundError, OSError):  # "No usable temporary directory found"
        return None
    user = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    return os.path.join(base, f"fastnn-numba-{user}")


def choose(environ=os.environ, package_dir=PACKAGE_DIR):
    """``(decision, directory)``; see the module docstring for the order."""
    if environ.get(ENV):
        return "user", environ[ENV]
    if not is_installed(package_dir) and _writable_dir(os.path.join(package_dir, "__pycache__")):
        return "in-tree", None
    candidate = user_cache_dir(environ)
    if candidate and _writable_dir(candidate):
        return "cache-dir", candidate
    candidate = temporary_cache_dir()
    if candidate and _writable_dir(candidate, private=True):
        return "cache-dir", candidate
    return "uncached", None


def configure(environ=os.environ):
    """Choose the cache directory once per process (see the module docstring)."""
    global decision
    if decision is not None:
        return decision
    decision, directory = choose(environ)
    if decision == "cache-dir":
        environ[ENV] = directory
        if "numba.core.config" in sys.modules:  # numba came first: make it read the variable
            sys.modules["numba.core.config"].reload_config()
    elif decision == "uncached":
        print(
            "fastnn: no writable directory for Numba's compiled-code cache (set "
            "NUMBA_CACHE_DIR to one): the kernels are compiled again in every process",
            file=sys.stderr,
        )
        _run_kernels_uncached()
    return decision


def directory():
    """Where the kernels' compiled code is kept in this process (None: uncached): the one
    place to ask, for anything meant to be kept beside it."""
    if configure() == "uncached":
        return None
    return os.environ.get(ENV) or os.path.join(PACKAGE_DIR, "__pycache__")


def _run_kernels_uncached():
    """Make ``cache=True`` a no-op for the functions of this package (only): Numba has
    no switch for it, and with no locator it raises at decoration."""
    from numba.core import dispatcher

    enable_caching = dispatcher.Dispatcher.enable_caching

    def enable_caching_outside_kernels(self):
        module = getattr(self.py_func, "__module__", "") or ""
        if module != __package__ and not module.startswith(__package__ + "."):
            enable_caching(self)

    dispatcher.Dispatcher.enable_caching = enable_caching_outside_kernels
