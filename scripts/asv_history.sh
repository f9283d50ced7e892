#!/usr/bin/env bash
# Record asv results for each of the last N commits: one result per commit.
#
# Each commit is exported (git archive) into a temporary directory and put first on
# the benchmarks' import path with ASV_PYTHONPATH, then measured with
#   asv run --environment existing:PYTHON --set-commit-hash COMMIT
# The benchmarks themselves come from this checkout's asv_benchmarks/, so every
# commit is measured by the same benchmarks; a variant a commit lacks is skipped.
# This works offline and never installs into (or changes) the Python environment:
# asv's own environments ("virtualenv") need a build per commit, see README.md.
#
# Usage: scripts/asv_history.sh [-n COMMITS] [-b REGEX] [-p PYTHON] [-q] [REV]
#   -n COMMITS  how many commits, counting back from REV (default 10)
#   -b REGEX    which benchmarks (asv --bench, matched against 'name(param, ...)';
#               default: the training runs of workloads (a) and (b) in float64)
#   -p PYTHON   the interpreter with numpy/numba/scipy (default: python3 on PATH)
#   -q          asv --quick: one call per benchmark (a smoke test, not a measurement)
#   REV         the newest commit (default HEAD)
# Then: asv show COMMIT; asv compare OLD NEW; scripts/plot_asv_history.py
set -euo pipefail

commits=10
bench="Training.time_train\\('(loops|numpy|numba)', 'float64', '[ab]_"
python=$(command -v python3)
quick=()
while getopts "n:b:p:qh" option; do
    case $option in
        n) commits=$OPTARG ;;
        b) bench=$OPTARG ;;
        p) python=$OPTARG ;;
        q) quick=(--quick) ;;
        h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "usage: $0 [-n COMMITS] [-b REGEX] [-p PYTHON] [-q] [REV]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
rev=${1:-HEAD}

cd "$(git rev-parse --show-toplevel)"
# the interpreter itself, not a shim: asv names the environment after this path
python=$("$python" -c 'import sys; print(sys.executable)') || { echo "no such python" >&2; exit 2; }
[ -f "$HOME/.asv-machine.json" ] || asv machine --yes >/dev/null

scratch=$(mktemp -d "${TMPDIR:-/tmp}/fastnn-asv-history.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

mapfile -t shas < <(git rev-list --first-parent --max-count="$commits" --reverse "$rev")
echo "asv history: ${#shas[@]} commits, benchmarks matching '$bench', python $python"
for sha in "${shas[@]}"; do
    checkout="$scratch/${sha:0:12}"
    mkdir -p "$checkout"
    git archive "$sha" | tar -x -C "$checkout"
    echo "== $(git log -1 --format='%h %s' "$sha")"
    ASV_PYTHONPATH="$checkout" asv run "${quick[@]}" --bench "$bench" \
        --environment "existing:$python" --set-commit-hash "$sha" </dev/null \
        || echo "   (asv run failed for ${sha:0:12}; continuing)" >&2
    rm -rf "$checkout"
done
echo
echo "recorded; now try:"
echo "  asv show ${shas[-1]:0:8}"
echo "  asv compare ${shas[0]:0:8} ${shas[-1]:0:8}"
echo "  python scripts/plot_asv_history.py --bench '$bench' --out asv_history.png"
