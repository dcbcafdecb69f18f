#!/bin/sh
# Run fuzz harnesses (built by build.sh) for FUZZ_SECONDS each: `make fuzz`.
#   FUZZ_SECONDS  seconds per harness (default 60)
#   FUZZ_MAX_LEN  longest input libFuzzer makes (default 131072)
#   arguments     harness names (default: every tests/fuzz/*_fuzz.c)
# Each harness starts from its seeds (tests/fuzz/seeds/NAME), the inputs
# that once failed (tests/fuzz/regress/NAME) and large inputs made by
# gen-seeds.sh, which are also run once each in full; it uses the
# dictionary tests/fuzz/dict/NAME.dict.  The corpus grows in
# tests/fuzz/work/NAME/corpus (kept between runs); a finding (crash,
# sanitizer report, leak, timeout, memory blow-up, failed check) is written
# to tests/fuzz/work/NAME/ and fails the run: fix it, then copy the input
# into tests/fuzz/regress/NAME/ so that `make check` replays it.
set -u
: "${FUZZ_SECONDS:=60}" "${FUZZ_MAX_LEN:=131072}" "${srcdir:=.}" "${builddir:=.}"
mkdir -p "$builddir/tests/fuzz/work"
bin=$(cd "$builddir/tests/fuzz/bin" 2>/dev/null && pwd) || { echo "fuzz: no harnesses built (make fuzz-build)" >&2; exit 1; }
work=$(cd "$builddir/tests/fuzz/work" && pwd)
fz=$(cd "$srcdir/tests/fuzz" && pwd)
builddir=$(cd "$builddir" && pwd)
if [ $# -eq 0 ]; then
    set -- $(cd "$fz" && ls *_fuzz.c | sed 's/\.c$//')
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=
for name in "$@"; do
    short=${name%_fuzz}
    exe="$bin/$name"
    [ -x "$exe" ] || { echo "fuzz: $exe not built (make fuzz-build)" >&2; failed="$failed $name"; continue; }
    corpus="$work/$name/corpus"
    big="$work/$name/big"
    mkdir -p "$corpus" "$big"
    for d in "$fz/seeds/$short" "$fz/regress/$short"; do
        [ -d "$d" ] && cp -p "$d"/* "$corpus"/ 2>/dev/null
    done
    sh "$fz/gen-seeds.sh" "$short" "$big" "$builddir" || { failed="$failed $name(seeds)"; continue; }
    dict=
    [ -f "$fz/dict/$short.dict" ] && dict="-dict=$fz/dict/$short.dict"
    echo "== fuzz $name: large inputs once, then ${FUZZ_SECONDS} s"
    # The large inputs, each in full (libFuzzer would cut them to max_len).
    if ls "$big"/* >/dev/null 2>&1; then
        if ! (cd "$work/$name" && "$exe" -timeout=60 -rss_limit_mb=2560 -artifact_prefix="$work/$name/" \
                "$big"/* >"$work/$name/big.log" 2>&1); then
            tail -40 "$work/$name/big.log"
            failed="$failed $name(large)"
            continue
        fi
        cp -p "$big"/* "$corpus"/
    fi
    (cd "$work/$name" && "$exe" $dict -max_total_time="$FUZZ_SECONDS" -max_len="$FUZZ_MAX_LEN" \
        -timeout=20 -rss_limit_mb=2560 -print_final_stats=1 -artifact_prefix="$work/$name/" \
        "$corpus" >"$work/$name/fuzz.log" 2>&1)
    rc=$?
    grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)' "$work/$name/fuzz.log" | tr '\n' ' '
    echo
    if [ $rc -ne 0 ]; then
        tail -60 "$work/$name/fuzz.log"
        ls "$work/$name"/crash-* "$work/$name"/leak-* "$work/$name"/timeout-* "$work/$name"/oom-* 2>/dev/null
        failed="$failed $name"
    fi
done
if [ -n "$failed" ]; then
    echo "fuzz: findings in:$failed (inputs under $work)" >&2
    exit 1
fi
echo "fuzz: no findings"
