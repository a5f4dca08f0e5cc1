#!/usr/bin/env bash
# Run the tests RUNS times while every core is kept busy, as on CI's shared machines: a test that
# only passes on an idle machine fails here. Prints each run's result and a tally at the end.
#
#   tools/stress-test.sh [RUNS] [PYTEST ARGS...]      e.g. tools/stress-test.sh 5 tests/discord
#
# The load is stress-ng (Debian's stress-ng) when installed, else one Python busy loop per core.
set -uo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
shift || true
python="${PYTHON:-.venv/bin/python}"
cores="$(nproc)"

if command -v stress-ng >/dev/null; then
    stress-ng --cpu "$cores" --quiet &
    load=($!)
else
    load=()
    for _ in $(seq "$cores"); do
        "$python" -c "while True: pass" &
        load+=($!)
    done
fi
trap 'kill "${load[@]}" 2>/dev/null' EXIT
echo "load: $cores busy cores ($(command -v stress-ng >/dev/null && echo stress-ng || echo python loops))"

passed=0
for run in $(seq "$runs"); do
    started=$SECONDS
    log="$(mktemp -t stress-run-XXXX.log)"
    if "$python" -m pytest -q -p no:cacheprovider "$@" >"$log" 2>&1; then
        passed=$((passed + 1))
        echo "run $run/$runs: passed in $((SECONDS - started)) s: $(tail -n 1 "$log")"
    else
        echo "run $run/$runs: FAILED in $((SECONDS - started)) s (log: $log)"
        grep -E "^(FAILED|ERROR) " "$log" | sed 's/^/    /'
    fi
done
echo "passed $passed of $runs runs under load"
[ "$passed" -eq "$runs" ]
