#!/bin/sh
# make bench: run every family's benchmark (bench/*/run.sh) in turn.
# Benchmarks are not tests: they take minutes and print figures for
# bench/RESULTS.md.  Set BENCH_ONLY=hmm (a folder name) to run one.
set -e
here=$(cd "$(dirname "$0")" && pwd)
for script in "$here"/*/run.sh; do
    [ -f "$script" ] || continue
    name=$(basename "$(dirname "$script")")
    [ -n "${BENCH_ONLY:-}" ] && [ "$BENCH_ONLY" != "$name" ] && continue
    echo "== bench/$name"
    sh "$script"
done
