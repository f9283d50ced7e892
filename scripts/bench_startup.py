"""A new user's first fit: import, first ``fit`` and first ``predict`` in a fresh process, per dtype.

    python scripts/bench_startup.py            # cold (empty cache) and warm, float64 and float32

Each measurement runs in its own process with its own ``NUMBA_CACHE_DIR``: "cold" starts from an
empty directory (every kernel the fit needs is compiled, the product paths are measured), "warm"
reuses the one a cold run filled. The fit is the README's quickstart (the notes' planar 2-4-1 net),
10 epochs. CPU seconds (the process's and its compiling helpers') are printed beside the
wall-clock ones: on a shared machine the wall clock also counts the neighbours, and the two helpers
of a first compilation run side by side.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FIRST_FIT = textwrap.dedent("""
    import json, resource, sys, time
    def cpu_seconds():  # this process and its helpers (the first compilation runs in two)
        used = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        return sum(u.ru_utime + u.ru_stime for u in used)
    start, cpu = time.perf_counter(), cpu_seconds()
    import fastnn
    imported = time.perf_counter()
    X, y = fastnn.datasets.planar(m=400, seed=1)
    model = fastnn.MLPClassifier(hidden=(4,), activation="tanh", solver="sgd", batch_size=None,
                                 learning_rate=1.2, epochs=10, dtype=sys.argv[1])
    model.fit(X, y)
    fitted = time.perf_counter()
    model.predict(X)
    done = time.perf_counter()
    json.dump({"import": imported - start, "fit": fitted - imported, "predict": done - fitted,
               "cpu": cpu_seconds() - cpu}, sys.stdout)
""")


def first_fit(dtype, cache):
    env = dict(
        os.environ,
        NUMBA_CACHE_DIR=cache,
        PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]),
    )
    done = subprocess.run(
        [sys.executable, "-c", FIRST_FIT, dtype],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout), done.stderr.strip()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dtype", nargs="+", default=["float64", "float32"])
    args = parser.parse_args(argv)
    print(
        f"{'dtype':8} {'start':6} {'import':>8} {'first fit':>10} {'predict':>8} {'total':>8} "
        f"{'CPU':>8}"
    )
    for dtype in args.dtype:
        with tempfile.TemporaryDirectory() as cache:
            for label in ("cold", "warm"):
                times, stderr = first_fit(dtype, cache)
                total = times["import"] + times["fit"] + times["predict"]
                print(
                    f"{dtype:8} {label:6} {times['import']:7.2f}s {times['fit']:9.2f}s "
                    f"{times['predict']:7.2f}s {total:7.2f}s {times['cpu']:7.2f}s"
                    + (f"   stderr: {stderr}" if stderr else ""),
                    flush=True,
                )


if __name__ == "__main__":
    main()
