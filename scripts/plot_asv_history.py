#!/usr/bin/env python3
"""Draw asv's recorded history to a PNG: commits along x, one line per benchmark and
parameter combination (variant, dtype, size), a subset chosen by regular expressions.

asv's own HTML (``asv publish``) loads its scripts from the network and shows
nothing offline; this reads the JSON results under ``.asv/results`` directly.

    python scripts/plot_asv_history.py --bench 'Training.time_train' \\
        --params 'numpy|numba' --params 'float64' --out asv_history.png

Commits are ordered by their position in ``git log`` (oldest left). Each line is
``benchmark[param, param, ...]``; a point is missing where the commit has no
result (skipped or failed).
"""

import argparse
import itertools
import json
import math
import pathlib
import re
import subprocess
import sys


def load_config(root):
    """asv.conf.json (with its // comments) as a dict."""
    text = (root / "asv.conf.json").read_text()
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    return json.loads(text)


def read_results(results_dir, machine=None, env_pattern=None):
    """``{commit: {(benchmark, environment): (params, values, unit)}}`` from asv's result
    files, for the machine and the environments (a regular expression) chosen."""
    benchmarks = json.loads((results_dir / "benchmarks.json").read_text())
    history = {}
    for path in sorted(results_dir.glob("*/*.json")):
        if path.name == "machine.json" or (machine and path.parent.name != machine):
            continue
        data = json.loads(path.read_text())
        env = data.get("env_name", "")
        if env_pattern and not re.search(env_pattern, env):
            continue
        columns = data.get("result_columns", ["result", "params"])
        per_commit = history.setdefault(data["commit_hash"], {})
        for name, row in data.get("results", {}).items():
            entry = dict(zip(columns, row))
            values, params = entry.get("result"), entry.get("params", [])
            if values is None or name not in benchmarks:
                continue
            unit = benchmarks[name].get("unit", "")
            per_commit[(name, env)] = (params, values, unit)
    return history


def commit_order(root, commits):
    """The commits in history order (oldest first), with their short hash and subject."""
    log = subprocess.run(
        ["git", "log", "--reverse", "--format=%H %h %s"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    ordered = []
    for line in log:
        full, short, subject = (line.split(" ", 2) + [""])[:3]
        if full in commits:
            ordered.append((full, short, subject))
    return ordered


def series(history, ordered, bench_pattern, param_patterns):
    """``{label: (unit, [value or None per commit])}`` for the chosen benchmarks."""
    lines = {}
    environments = {env for results in history.values() for _, env in results}
    for index, (commit, _, _) in enumerate(ordered):
        for (name, env), (params, values, unit) in history.get(commit, {}).items():
            if not re.search(bench_pattern, name):
                continue
            combos = list(itertools.product(*params)) if params else [()]
            for combo, value in zip(combos, values):
                labels = [str(p).strip("'") for p in combo]
                if not all(re.search(pattern, " ".join(labels)) for pattern in param_patterns):
                    continue
                label = name.split(".", 1)[-1] + (f"[{', '.join(labels)}]" if labels else "")
                if len(environments) > 1:  # never join points of two environments
                    label += f" ({env})"
                unit_, points = lines.setdefault(label, (unit, [None] * len(ordered)))
                if isinstance(value, (int, float)) and math.isfinite(value):  # NaN: skipped
                    points[index] = value
    return {label: line for label, line in lines.items() if any(v is not None for v in line[1])}


def drop_empty_commits(lines, ordered):
    """Leave out the commits where no chosen line has a value."""
    keep = [i for i in range(len(ordered)) if any(v[i] is not None for _, v in lines.values())]
    lines = {label: (unit, [values[i] for i in keep]) for label, (unit, values) in lines.items()}
    return lines, [ordered[i] for i in keep]


def plot(lines, ordered, out, title, log_scale):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    units = sorted({unit for unit, _ in lines.values()})
    figure, axes_list = plt.subplots(len(units), 1, figsize=(11, 4.5 * len(units)), squeeze=False)
    x = list(range(len(ordered)))
    for axes, unit in zip(axes_list[:, 0], units):
        for label, (line_unit, values) in sorted(lines.items()):
            if line_unit != unit:
                continue
            points = [(i, v) for i, v in zip(x, values) if v is not None]
            axes.plot(*zip(*points), marker="o", label=label)
        if log_scale:
            axes.set_yscale("log")
        axes.set_ylabel(unit)
        axes.set_xticks(x)
        axes.set_xticklabels(
            [f"{short}\n{subject[:18]}" for _, short, subject in ordered],
            rotation=60,
            ha="right",
            fontsize=7,
        )
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axes_list[0, 0].set_title(title)
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument(
        "--bench", default=".", metavar="REGEX", help="benchmarks whose name matches (default: all)"
    )
    parser.add_argument(
        "--params",
        action="append",
        default=[],
        metavar="REGEX",
        help="keep parameter combinations matching (repeatable, all must match)",
    )
    parser.add_argument("--out", default="asv_history.png", metavar="FILE.png")
    parser.add_argument("--machine", help="asv machine name (default: every machine)")
    parser.add_argument(
        "--env",
        metavar="REGEX",
        help="asv environments whose name matches, e.g. existing (default: all; "
        "with several, each line is one environment's)",
    )
    parser.add_argument("--linear", action="store_true", help="linear y axis (default: log)")
    parser.add_argument(
        "--max-lines",
        type=int,
        default=24,
        help="refuse to draw more lines than this (narrow the patterns)",
    )
    args = parser.parse_args(argv)

    root = pathlib.Path(
        subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    results_dir = root / load_config(root).get("results_dir", "results")
    if not (results_dir / "benchmarks.json").exists():
        sys.exit(f"no asv results in {results_dir}: run scripts/asv_history.sh first")
    history = read_results(results_dir, args.machine, args.env)
    ordered = commit_order(root, set(history))
    lines = series(history, ordered, args.bench, args.params)
    if not lines:
        sys.exit(f"no recorded results match --bench {args.bench!r} --params {args.params}")
    lines, ordered = drop_empty_commits(lines, ordered)
    if len(lines) > args.max_lines:
        sys.exit(f"{len(lines)} lines match; narrow --bench/--params (or raise --max-lines)")
    title = f"asv history: {args.bench}" + (f" [{' & '.join(args.params)}]" if args.params else "")
    plot(lines, ordered, args.out, title, not args.linear)
    print(f"{len(lines)} lines over {len(ordered)} commits written to {args.out}")


if __name__ == "__main__":
    main()
